// The check of a follower's append (Kafka's UnifiedLog.appendAsFollower → analyzeAndValidateRecords with
// validateAndAssignOffsets = false, origin REPLICATION): the records of one Fetch answer, whole v2 batches exactly
// as the leader wrote them (offsets and partitionLeaderEpoch set), are checked batch by batch and then written
// unchanged (PartitionLog.appendAsFollower). Records are not decoded: only headers, the CRC, and the single record
// of a control batch (its COMMIT/ABORT marker, as Kafka's ProducerAppendInfo reads it).
//
//   condition (in order, per batch)                                 outcome
//   fewer bytes left than a batch header, or than batchLength says  the rest is ignored (a fetch may end in a
//                                                                   partial batch; Kafka's batch iterator stops)
//   magic != 2                                                      CORRUPT_MESSAGE (legacy batches never reach
//                                                                   here: the leader wrote them as v2)
//   batchLength < 49, lastOffsetDelta < 0                           CORRUPT_MESSAGE
//   CRC-32C mismatch                                                CORRUPT_MESSAGE (Kafka: ensureValid)
//   baseOffset <= the previous batch's last offset                  CORRUPT_MESSAGE (Kafka: OffsetsOutOfOrder)
//   the first batch's baseOffset below the log end offset           OFFSET_OUT_OF_RANGE (Kafka: UnexpectedAppend-
//                                                                   OffsetException), checked by the caller
//
// Gaps between batches, and a first batch starting above the log end offset, are accepted, as Kafka does: a
// compacted leader's log has them. Deliberate difference: max.message.bytes is not checked (Kafka skips it for
// replication too, ignoreRecordSize).
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MIN_BATCH_LENGTH,
  RECORD_BATCH_HEADER_SIZE,
  batchCrcIsValid,
  isControlBatch,
  readBatchHeader,
  type RecordBatchHeader,
} from '../protocol/records/batch.js';
import { readEndTxnMarker, type EndTxnMarker } from '../protocol/records/control-batch.js';

/** One checked batch of a follower's append: where it is in the records buffer, its header, its marker. */
export interface ReplicatedBatch {
  position: number;
  size: number;
  header: RecordBatchHeader;
  /** The COMMIT/ABORT marker of a control batch with a producer id (undefined otherwise). */
  marker: EndTxnMarker | undefined;
}

/** Checks the batches of `records` (the table above); an empty array when it holds no whole batch. */
export function checkReplicatedBatches(records: Buffer, topic: string, partition: number): ReplicatedBatch[] {
  const out: ReplicatedBatch[] = [];
  let pos = 0;
  let previousLast = -1n;
  while (pos + RECORD_BATCH_HEADER_SIZE <= records.length) {
    const batchLength = records.readInt32BE(pos + 8);
    const magic = records.readInt8(pos + MAGIC_OFFSET);
    if (magic !== 2) throw corrupt(topic, partition, `unsupported magic ${magic} at position ${pos}`);
    if (batchLength < MIN_BATCH_LENGTH) throw corrupt(topic, partition, `batchLength ${batchLength} at position ${pos} is smaller than the header`);
    const size = LOG_OVERHEAD + batchLength;
    if (pos + size > records.length) break;
    const header = readBatchHeader(records, pos);
    if (header.lastOffsetDelta < 0) throw corrupt(topic, partition, `negative lastOffsetDelta at offset ${header.baseOffset}`);
    if (!batchCrcIsValid(records, pos)) throw corrupt(topic, partition, `record batch CRC mismatch at offset ${header.baseOffset}`);
    if (header.baseOffset <= previousLast) {
      throw corrupt(topic, partition, `out of order offsets: batch at ${header.baseOffset} follows one ending at ${previousLast}`);
    }
    previousLast = header.baseOffset + BigInt(header.lastOffsetDelta);
    const marker = isControlBatch(header.attributes) && header.producerId >= 0n ? readEndTxnMarker(records, pos) : undefined;
    out.push({ position: pos, size, header, marker });
    pos += size;
  }
  return out;
}

function corrupt(topic: string, partition: number, message: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, `replicated records for ${topic}-${partition}: ${message}`);
}
