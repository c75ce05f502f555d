// RecordBatch v2 header helpers: parse, validate (produce path), and the three in-place rewrites the log makes.
// Pure functions on Buffers; no fs, and records inside a batch are never decoded (compressed or not).
//
// RecordBatch v2 (Kafka docs "Record Batch"), big-endian, byte offsets from the start of the batch:
//
//   off  size  field                  notes
//   0    8     baseOffset   int64     assigned by the broker (0 from clients)
//   8    4     batchLength  int32     bytes after this field (total size = 12 + batchLength)
//   12   4     partitionLeaderEpoch   set by the broker
//   16   1     magic        int8      2 (also at byte 16 in legacy v0/v1 message sets)
//   17   4     crc          uint32    CRC-32C of bytes 21..end (attributes to the last record)
//   21   2     attributes   int16     bits 0-2 compression, 3 timestampType (1 = LogAppendTime),
//                                     4 isTransactional, 5 isControl, 6 hasDeleteHorizonMs
//   23   4     lastOffsetDelta int32
//   27   8     baseTimestamp  int64
//   35   8     maxTimestamp   int64
//   43   8     producerId     int64
//   51   2     producerEpoch  int16
//   53   4     baseSequence   int32
//   57   4     recordCount    int32
//   61   ...   records
//
// baseOffset, batchLength and partitionLeaderEpoch sit before the CRC'd range, so the broker can rewrite the
// first and last without recomputing it; a LogAppendTime rewrite touches CRC'd bytes and recomputes it.
import { crc32c } from '@node-rs/crc32';
import { KafkaError } from '../../errors.js';
import { ErrorCode } from '../error-codes.js';

export const RECORD_BATCH_HEADER_SIZE = 61;
/** baseOffset + batchLength: the framing in front of every batch in a log file. */
export const LOG_OVERHEAD = 12;
/** The smallest legal batchLength: the header without the LOG_OVERHEAD prefix. */
export const MIN_BATCH_LENGTH = RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD;

export const MAGIC_OFFSET = 16;
export const CRC_OFFSET = 17;
export const ATTRIBUTES_OFFSET = 21;
export const LAST_OFFSET_DELTA_OFFSET = 23;
export const BASE_TIMESTAMP_OFFSET = 27;
export const MAX_TIMESTAMP_OFFSET = 35;
export const PRODUCER_ID_OFFSET = 43;
export const BASE_SEQUENCE_OFFSET = 53;
export const RECORD_COUNT_OFFSET = 57;
export const PARTITION_LEADER_EPOCH_OFFSET = 12;

const COMPRESSION_MASK = 0x07;
const TIMESTAMP_TYPE_BIT = 0x08;
const TRANSACTIONAL_BIT = 0x10;
const CONTROL_BIT = 0x20;

/** Compression codec ids in attributes bits 0-2. */
export const CompressionType = { NONE: 0, GZIP: 1, SNAPPY: 2, LZ4: 3, ZSTD: 4 } as const;
export type CompressionType = (typeof CompressionType)[keyof typeof CompressionType];

export interface RecordBatchHeader {
  baseOffset: bigint;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  baseTimestamp: bigint;
  maxTimestamp: bigint;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/** Parses the 61-byte header at `pos`. The caller guarantees the bytes exist. */
export function readBatchHeader(buf: Buffer, pos = 0): RecordBatchHeader {
  return {
    baseOffset: buf.readBigInt64BE(pos),
    batchLength: buf.readInt32BE(pos + 8),
    partitionLeaderEpoch: buf.readInt32BE(pos + PARTITION_LEADER_EPOCH_OFFSET),
    magic: buf.readInt8(pos + MAGIC_OFFSET),
    crc: buf.readUInt32BE(pos + CRC_OFFSET),
    attributes: buf.readInt16BE(pos + ATTRIBUTES_OFFSET),
    lastOffsetDelta: buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET),
    baseTimestamp: buf.readBigInt64BE(pos + BASE_TIMESTAMP_OFFSET),
    maxTimestamp: buf.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET),
    producerId: buf.readBigInt64BE(pos + PRODUCER_ID_OFFSET),
    producerEpoch: buf.readInt16BE(pos + 51),
    baseSequence: buf.readInt32BE(pos + BASE_SEQUENCE_OFFSET),
    recordCount: buf.readInt32BE(pos + RECORD_COUNT_OFFSET),
  };
}

/** Total bytes of the batch at `pos` (LOG_OVERHEAD + batchLength). */
export function batchSizeAt(buf: Buffer, pos = 0): number {
  return LOG_OVERHEAD + buf.readInt32BE(pos + 8);
}

/** The codec id (0-7; ids above 4 are not defined by Kafka). */
export function compressionOf(attributes: number): number {
  return attributes & COMPRESSION_MASK;
}

export function isControlBatch(attributes: number): boolean {
  return (attributes & CONTROL_BIT) !== 0;
}

export function isTransactional(attributes: number): boolean {
  return (attributes & TRANSACTIONAL_BIT) !== 0;
}

export function isLogAppendTime(attributes: number): boolean {
  return (attributes & TIMESTAMP_TYPE_BIT) !== 0;
}

/** CRC-32C over attributes..end of the batch at `pos`; the batch must be entirely inside `buf`. */
export function computeBatchCrc(buf: Buffer, pos = 0): number {
  const end = pos + batchSizeAt(buf, pos);
  return crc32c(buf.subarray(pos + ATTRIBUTES_OFFSET, end)) >>> 0;
}

export function batchCrcIsValid(buf: Buffer, pos = 0): boolean {
  return computeBatchCrc(buf, pos) === buf.readUInt32BE(pos + CRC_OFFSET);
}

export function setBaseOffset(buf: Buffer, pos: number, offset: bigint): void {
  buf.writeBigInt64BE(offset, pos);
}

export function setPartitionLeaderEpoch(buf: Buffer, pos: number, epoch: number): void {
  buf.writeInt32BE(epoch, pos + PARTITION_LEADER_EPOCH_OFFSET);
}

/**
 * Rewrites the batch for a LogAppendTime topic as Kafka's LogValidator does (setMaxTimestamp): sets the
 * timestamp-type bit and maxTimestamp to `timestampMs`, and recomputes the CRC. baseTimestamp and the record
 * deltas are left as the producer wrote them: readers take every record's timestamp from maxTimestamp when the
 * bit is set (record.ts, and every Kafka client).
 */
export function setLogAppendTime(buf: Buffer, pos: number, timestampMs: bigint): void {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  buf.writeInt16BE(attributes | TIMESTAMP_TYPE_BIT, pos + ATTRIBUTES_OFFSET);
  buf.writeBigInt64BE(timestampMs, pos + MAX_TIMESTAMP_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, pos), pos + CRC_OFFSET);
}

/**
 * Kafka's DefaultRecordBatch.setMaxTimestamp(CREATE_TIME, timestampMs), for a CreateTime topic whose batch header
 * disagrees with its records (log-validator.ts): clears the timestamp-type bit, sets maxTimestamp, recomputes the
 * CRC. Does nothing (and returns false) when both already hold, so the usual batch keeps its CRC untouched.
 */
export function setMaxTimestamp(buf: Buffer, pos: number, timestampMs: bigint): boolean {
  const attributes = buf.readInt16BE(pos + ATTRIBUTES_OFFSET);
  if ((attributes & TIMESTAMP_TYPE_BIT) === 0 && buf.readBigInt64BE(pos + MAX_TIMESTAMP_OFFSET) === timestampMs) return false;
  buf.writeInt16BE(attributes & ~TIMESTAMP_TYPE_BIT, pos + ATTRIBUTES_OFFSET);
  buf.writeBigInt64BE(timestampMs, pos + MAX_TIMESTAMP_OFFSET);
  buf.writeUInt32BE(computeBatchCrc(buf, pos), pos + CRC_OFFSET);
  return true;
}

/**
 * Produce-path validation of one partition's `records` (Kafka's ProduceRequest.validateRecords, then
 * UnifiedLog.analyzeAndValidateRecords and LogValidator.validateBatch for client appends). Checks, in order:
 *
 *   condition                                             error
 *   fewer than 17 bytes (no magic byte)                   CORRUPT_MESSAGE
 *   magic 0 or 1 (legacy message sets; not supported)     UNSUPPORTED_FOR_MESSAGE_FORMAT
 *   magic other than 2                                    CORRUPT_MESSAGE
 *   shorter than the 61-byte header, batchLength < 49,
 *     or batchLength runs past the buffer                 CORRUPT_MESSAGE
 *   bytes left after the first batch (v3+: one batch)     INVALID_RECORD
 *   batch size > maxMessageBytes                          MESSAGE_TOO_LARGE
 *   CRC-32C mismatch                                      CORRUPT_MESSAGE
 *   baseOffset != 0                                       INVALID_RECORD
 *   recordCount < 1 or lastOffsetDelta != recordCount-1   INVALID_RECORD
 *   control batch (clients may not write them)            INVALID_RECORD
 *   producerId >= 0 with baseSequence < 0                 INVALID_RECORD
 *
 * Returns the parsed header of the single batch.
 */
export function validateProducedRecords(records: Buffer, maxMessageBytes: number): RecordBatchHeader {
  if (records.length <= MAGIC_OFFSET) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `record set of ${records.length} bytes is too short`);
  }
  const magic = records.readInt8(MAGIC_OFFSET);
  if (magic === 0 || magic === 1) {
    throw new KafkaError(
      ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
      `message format v${magic} is not supported; use RecordBatch v2 (produce v3+)`,
    );
  }
  if (magic !== 2) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `unknown magic ${magic}`);
  if (records.length < RECORD_BATCH_HEADER_SIZE) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `record batch of ${records.length} bytes is shorter than its header`);
  }
  const batchLength = records.readInt32BE(8);
  if (batchLength < MIN_BATCH_LENGTH) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `batchLength ${batchLength} is smaller than the header`);
  }
  const size = LOG_OVERHEAD + batchLength;
  if (size > records.length) {
    throw new KafkaError(
      ErrorCode.CORRUPT_MESSAGE,
      `batchLength ${batchLength} runs past the ${records.length}-byte record set`,
    );
  }
  if (size < records.length) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, 'produce requests (v3+) must carry exactly one record batch');
  }
  if (size > maxMessageBytes) {
    throw new KafkaError(
      ErrorCode.MESSAGE_TOO_LARGE,
      `record batch of ${size} bytes exceeds max.message.bytes ${maxMessageBytes}`,
    );
  }
  if (!batchCrcIsValid(records, 0)) {
    throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'record batch CRC mismatch');
  }
  const header = readBatchHeader(records, 0);
  if (header.baseOffset !== 0n) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `baseOffset of a produced batch must be 0, got ${header.baseOffset}`);
  }
  if (header.recordCount < 1 || header.lastOffsetDelta !== header.recordCount - 1) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `recordCount ${header.recordCount} does not match lastOffsetDelta ${header.lastOffsetDelta}`,
    );
  }
  if (isControlBatch(header.attributes)) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, 'clients are not allowed to write control records');
  }
  if (header.producerId >= 0n && header.baseSequence < 0) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `invalid baseSequence ${header.baseSequence} for producerId ${header.producerId}`);
  }
  return header;
}

/** Length of the longest prefix of `buf` made of whole batches and at most `limit` bytes long (per-batch walk). */
export function wholeBatchesWithin(buf: Buffer, limit: number): number {
  let pos = 0;
  while (pos + LOG_OVERHEAD <= buf.length) {
    const size = batchSizeAt(buf, pos);
    if (pos + size > buf.length || pos + size > limit) break;
    pos += size;
  }
  return pos;
}
