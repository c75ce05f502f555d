// Record validation of a produced batch, as Kafka 3.9's LogValidator does for client appends
// (storage/.../log/LogValidator.java: assignOffsetsNonCompressed, validateMessagesAndAssignOffsetsCompressed,
// validateRecord, validateKey, validateTimestamp, processRecordErrors). It runs after the batch header, length and
// CRC were checked (protocol/records/batch.ts validateProducedRecords: offset range, record count, control batches,
// producer id without a base sequence, as LogValidator.validateBatch) and before offsets are assigned.
//
// Every record is read once (protocol/records/record-walker.ts): uncompressed batches in place, compressed ones as
// a stream (RecordStream over decompressRecordStream, protocol/records/compression.ts): the records section is
// decompressed in bounded pieces (64 KiB for gzip, one block for lz4 and zstd, one chunk for xerial snappy; raw
// snappy alone is decoded whole, its format does not allow less) and walked as they come, so a batch holds one
// piece, never its whole decompressed records, and a bomb is refused as soon as its output passes the cap. The
// outcome is the one of decompressing first and walking after (the table below): a decompression error or the cap
// wins over a malformed record, so after a malformed record the rest of the stream is still decompressed (and
// only counted). The usual batch costs one pass and no object per record; per-record errors, and timestamp deltas
// too wide for a number, are read on a second pass (compressed batches: decompressed again) only when needed.
//
//   check (in this order)                                           outcome
//   codec id 5-7                                                    UNKNOWN_SERVER_ERROR "Unknown compression type
//                                                                   id: N" (Kafka: IllegalArgumentException)
//   compressed payload that does not decompress                     UNKNOWN_SERVER_ERROR "Failed to decompress
//                                                                   record stream" (Kafka: KafkaException)
//   a malformed record (record-walker.ts has the list), fewer or
//     more records than recordCount, offsetDelta != index           INVALID_RECORD, no record errors (Kafka:
//                                                                   InvalidRecordException from the record reader)
//   per record, the first that applies (all records are checked):
//     compacted topic, null key                                     "Compacted topic cannot accept message without
//                                                                   key in topic partition <tp>"
//     CreateTime topic, timestamp != -1, outside
//       [now - before.max.ms, now + after.max.ms]                   "Timestamp T of message with offset O is out of
//                                                                   range. The timestamp should be within [a, b]"
//     the producer set the LogAppendTime bit, on a LogAppendTime
//       topic (or on a CreateTime topic with maxTimestamp -1)       "Invalid timestamp type in message …"
//   any record error: a timestamp one among them                    INVALID_TIMESTAMP "One or more records have been
//                                                                   rejected due to invalid timestamp"
//                     else                                          INVALID_RECORD "One or more records have been
//                                                                   rejected due to N record errors in total, …"
//   (both with record_errors, RecordValidationError)
//
// Timestamps. A record's timestamp is baseTimestamp + timestampDelta, or the batch maxTimestamp when the batch has
// the LogAppendTime bit (DefaultRecordBatch.RecordIterator). before/after are LogConfig's effective values (KIP-937:
// difference.max.ms stands in for one left at its default); the comparison is Java's, in wrapping int64
// arithmetic (`now - ts > before || -(now - ts) > after`). On a CreateTime topic the batch's maxTimestamp is then
// recomputed from the records, the largest timestamp above -1 (else -1), and written into the header when it
// differs (setMaxTimestamp, which also clears a producer-set LogAppendTime bit and recomputes the CRC), as
// LogValidator does: the header is never trusted. On a LogAppendTime topic the log sets it (setLogAppendTime).
//
// Deliberate differences from Kafka:
// - offsetDelta must equal the record's index. Kafka leaves uncompressed deltas as sent and, for compressed
//   batches, rebuilds and recompresses the batch with fresh offsets; Eddy stores batches as received, so a batch
//   whose records would read back at other offsets than the log assigns is refused. Every real client writes
//   0, 1, 2, … .
// - Compressed records are read with the full readFrom rules (length, header count, fields ending at the length).
//   Kafka's in-place path for compressed batches (readPartiallyFrom) skips fields without checking them against the
//   record's length; consumers then fail on such a record, so Eddy refuses it up front.
// - Malformed-record and batch errors carry their text in the partition's errorMessage; Kafka sends null there
//   except for RecordValidationException (the produce handler decides).
import { KafkaError, RecordValidationError, type RecordError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  compressionOf,
  isLogAppendTime,
  setMaxTimestamp,
  type RecordBatchHeader,
} from '../protocol/records/batch.js';
import { decompressRecordStream } from '../protocol/records/compression.js';
import { RecordStream, forEachRecord, makeRecordWalk, walkRecords, type RecordView } from '../protocol/records/record-walker.js';
import { LONG_MAX_VALUE, effectiveTimestampAfterMaxMs, effectiveTimestampBeforeMaxMs, type LogConfig } from './log-config.js';

export interface BatchSummary {
  /** The batch's maxTimestamp after validation (what its header now says; the log rewrites it on LogAppendTime). */
  maxTimestamp: bigint;
  /** offsetDelta of the first record carrying maxTimestamp; -1 when none does (LogAppendTime topic, or all ≤ -1). */
  offsetOfMaxTimestampDelta: number;
  /** True when the header's maxTimestamp (and the LogAppendTime bit, and the CRC) were rewritten. */
  maxTimestampRewritten: boolean;
}

const NO_TIMESTAMP = -1n;
/** Deltas beyond this are not exact as numbers; such batches take the exact (bigint) path. */
const SAFE = Number.MAX_SAFE_INTEGER;
/** |now - ts| below this cannot wrap in int64, so the range check is monotonic in ts (checking min and max suffices). */
const NO_WRAP = 1n << 62n;

const walk = makeRecordWalk();
/** The streaming walk of compressed batches (validation is synchronous: one batch at a time). */
const stream = new RecordStream();
const pushPiece = (piece: Buffer): void => stream.push(piece);

/**
 * Validates the records of the produced batch `batch` (the whole batch at 0, header already checked and parsed
 * into `header`) for `topic`/`partition` under `config` at broker time `nowMs`. On a CreateTime topic it rewrites
 * the batch's maxTimestamp (and `header.maxTimestamp`, `header.attributes`, `header.crc`) when the records say
 * otherwise. Throws KafkaError, or RecordValidationError carrying per-record errors (the header has the table).
 */
export function validateAndSummarize(
  batch: Buffer,
  header: RecordBatchHeader,
  config: LogConfig,
  topic: string,
  partition: number,
  nowMs: number,
): BatchSummary {
  const size = LOG_OVERHEAD + header.batchLength;
  const codec = compressionOf(header.attributes);
  const baseTimestamp = header.baseTimestamp;
  const noTimestamp = NO_TIMESTAMP - baseTimestamp;
  const skipDelta = noTimestamp >= -SAFE && noTimestamp <= SAFE ? Number(noTimestamp) : NaN;
  if (codec === 0) {
    walkRecords(batch, RECORD_BATCH_HEADER_SIZE, size, header.recordCount, skipDelta, walk);
  } else {
    stream.begin(header.recordCount, skipDelta, walk);
    // Throws for an undefined codec, a corrupt stream, or output past the cap (compression.ts).
    decompressRecordStream(codec, batch.subarray(RECORD_BATCH_HEADER_SIZE, size), pushPiece);
    stream.end();
  }
  if (walk.errorIndex >= 0) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `${walk.error} (record ${walk.errorIndex} of the batch in topic partition ${topic}-${partition})`,
    );
  }

  const logAppendTimeTopic = config.messageTimestampType === 'LogAppendTime';
  const logAppendTimeBatch = isLogAppendTime(header.attributes);
  const before = effectiveTimestampBeforeMaxMs(config);
  const after = effectiveTimestampAfterMaxMs(config);
  const checkRange = !logAppendTimeTopic && (before !== LONG_MAX_VALUE || after !== LONG_MAX_VALUE);

  // Fast decision: can any record fail? (exact unless deltas are wide, which takes the record-by-record path)
  let suspect = (config.compact && walk.keylessCount > 0) || walk.wideTimestampDelta;
  if (!suspect && logAppendTimeBatch) {
    suspect = logAppendTimeTopic || header.maxTimestamp === NO_TIMESTAMP ||
      (checkRange && timestampInvalid(header.maxTimestamp, BigInt(nowMs), before, after));
  } else if (!suspect && checkRange) {
    suspect = rangeMayFail(walk.minTimestampDelta, walk.maxTimestampDelta, skipDelta, baseTimestamp, BigInt(nowMs), before, after);
  }
  let exactMaxDelta: bigint | undefined;
  let exactMaxIndex = -1;
  if (suspect) {
    const result = checkRecords(codec, batch, size, header, config, topic, partition, BigInt(nowMs), before, after, checkRange);
    exactMaxDelta = result.maxDelta;
    exactMaxIndex = result.maxIndex;
  }

  if (logAppendTimeTopic) return { maxTimestamp: header.maxTimestamp, offsetOfMaxTimestampDelta: -1, maxTimestampRewritten: false };

  // CreateTime: the largest record timestamp above -1 (LogValidator starts from NO_TIMESTAMP), else -1.
  let maxTimestamp: bigint;
  let offsetOfMaxTimestampDelta: number;
  if (logAppendTimeBatch) {
    maxTimestamp = header.maxTimestamp > NO_TIMESTAMP ? header.maxTimestamp : NO_TIMESTAMP;
    offsetOfMaxTimestampDelta = maxTimestamp > NO_TIMESTAMP ? 0 : -1;
  } else {
    const maxDelta = exactMaxDelta ?? BigInt(walk.maxTimestampDelta);
    const recordMax = BigInt.asIntN(64, baseTimestamp + maxDelta);
    maxTimestamp = recordMax > NO_TIMESTAMP ? recordMax : NO_TIMESTAMP;
    offsetOfMaxTimestampDelta = recordMax > NO_TIMESTAMP ? (exactMaxDelta !== undefined ? exactMaxIndex : walk.maxTimestampIndex) : -1;
  }
  const maxTimestampRewritten = setMaxTimestamp(batch, 0, maxTimestamp);
  if (maxTimestampRewritten) {
    header.maxTimestamp = maxTimestamp;
    header.attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
    header.crc = batch.readUInt32BE(CRC_OFFSET);
  }
  return { maxTimestamp, offsetOfMaxTimestampDelta, maxTimestampRewritten };
}

/** LogValidator.recordHasInvalidTimestamp, in Java's wrapping int64 arithmetic. */
function timestampInvalid(timestamp: bigint, now: bigint, before: bigint, after: bigint): boolean {
  const diff = BigInt.asIntN(64, now - timestamp);
  return diff > before || BigInt.asIntN(64, -diff) > after;
}

/**
 * Whether some record's timestamp may be out of range, from the smallest and largest deltas (records with
 * timestamp -1 are exempt, and minDelta already leaves them out). Answers true whenever it cannot be sure.
 */
function rangeMayFail(
  minDelta: number,
  maxDelta: number,
  skipDelta: number,
  baseTimestamp: bigint,
  now: bigint,
  before: bigint,
  after: bigint,
): boolean {
  if (minDelta === Infinity) return false; // every record has timestamp -1
  if (maxDelta === skipDelta) return true; // the largest is exempt: the largest checked one is unknown here
  const min = BigInt.asIntN(64, baseTimestamp + BigInt(minDelta));
  const max = BigInt.asIntN(64, baseTimestamp + BigInt(maxDelta));
  const dMin = now - min;
  const dMax = now - max;
  if (dMin >= NO_WRAP || dMin <= -NO_WRAP || dMax >= NO_WRAP || dMax <= -NO_WRAP) return true;
  return timestampInvalid(min, now, before, after) || timestampInvalid(max, now, before, after);
}

/**
 * The record-by-record path (errors and wide deltas): every record checked exactly as LogValidator.validateRecord,
 * throwing RecordValidationError when any fails; otherwise returns the exact largest delta and its record.
 */
function checkRecords(
  codec: number,
  batch: Buffer,
  size: number,
  header: RecordBatchHeader,
  config: LogConfig,
  topic: string,
  partition: number,
  now: bigint,
  before: bigint,
  after: bigint,
  checkRange: boolean,
): { maxDelta: bigint | undefined; maxIndex: number } {
  const logAppendTimeBatch = isLogAppendTime(header.attributes);
  const logAppendTimeTopic = config.messageTimestampType === 'LogAppendTime';
  const errors: RecordError[] = [];
  let timestampErrors = false;
  let maxDelta: bigint | undefined;
  let maxIndex = -1;
  const visit = (record: RecordView): void => {
    if (maxDelta === undefined || record.timestampDelta > maxDelta) {
      maxDelta = record.timestampDelta;
      maxIndex = record.index;
    }
    const offset = header.baseOffset + BigInt(record.offsetDelta);
    const timestamp = logAppendTimeBatch ? header.maxTimestamp : BigInt.asIntN(64, header.baseTimestamp + record.timestampDelta);
    let message: string | undefined;
    if (config.compact && record.keyLength < 0) {
      message = `Compacted topic cannot accept message without key in topic partition ${topic}-${partition}`;
    } else if (!logAppendTimeTopic && timestamp !== NO_TIMESTAMP) {
      if (checkRange && timestampInvalid(timestamp, now, before, after)) {
        timestampErrors = true;
        message =
          `Timestamp ${timestamp} of message with offset ${offset} is out of range. The timestamp should be within ` +
          `[${BigInt.asIntN(64, now - before)}, ${BigInt.asIntN(64, now + after)}]`;
      }
    } else if (logAppendTimeBatch) {
      timestampErrors = true;
      const keyBytes = record.keyLength < 0 ? 0 : record.keyLength;
      const valueBytes = record.valueLength < 0 ? 0 : record.valueLength;
      message =
        `Invalid timestamp type in message DefaultRecord(offset=${offset}, timestamp=${timestamp}, key=${keyBytes} bytes, ` +
        `value=${valueBytes} bytes). Producer should not set timestamp type to LogAppendTime.`;
    }
    if (message !== undefined) errors.push({ batchIndex: record.index, batchIndexErrorMessage: message });
  };
  // The records were walked without error already, so this pass meets none.
  if (codec === 0) {
    forEachRecord(batch, RECORD_BATCH_HEADER_SIZE, size, header.recordCount, visit);
  } else {
    stream.begin(header.recordCount, NaN, makeRecordWalk(), visit);
    decompressRecordStream(codec, batch.subarray(RECORD_BATCH_HEADER_SIZE, size), pushPiece);
    stream.end();
  }
  if (errors.length === 0) return { maxDelta, maxIndex };
  if (timestampErrors) {
    throw new RecordValidationError(ErrorCode.INVALID_TIMESTAMP, 'One or more records have been rejected due to invalid timestamp', errors);
  }
  const shown = errors
    .slice(0, 3)
    .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.batchIndexErrorMessage}')`)
    .join(', ');
  throw new RecordValidationError(
    ErrorCode.INVALID_RECORD,
    `One or more records have been rejected due to ${errors.length} record errors in total, and only showing the first three errors at most: [${shown}]`,
    errors,
  );
}
