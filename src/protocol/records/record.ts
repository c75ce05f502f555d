// Minimal reading of the records inside a RecordBatch v2 for ListOffsets (by timestamp and MAX_TIMESTAMP): one
// batch per lookup, decompressed here when compressed (compression.ts). Produce validates records with
// record-walker.ts; Fetch never decodes them.
//
// Record layout (Kafka docs "Record"), varints are zig-zag encoded (protobuf style):
//
//   length          varint   bytes after this field
//   attributes      int8     unused
//   timestampDelta  varlong  record timestamp = baseTimestamp + timestampDelta (CreateTime); in a LogAppendTime
//                            batch every record's timestamp is the batch maxTimestamp (Kafka rewrites only that)
//   offsetDelta     varint   record offset = baseOffset + offsetDelta
//   keyLength varint, key, valueLength varint, value, headerCount varint, headers …   (skipped via length)
import { KafkaError } from '../../errors.js';
import { ErrorCode } from '../error-codes.js';
import { decompressRecords } from './compression.js';
import {
  ATTRIBUTES_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  batchSizeAt,
  compressionOf,
  isLogAppendTime,
} from './batch.js';

/** Results of readVarint (module scratch, so the record walk allocates nothing per record). */
let varValue = 0;
let varNext = 0;

/** Zig-zag varint/varlong at `pos` into varValue/varNext (exact up to 2^53); false when malformed. */
function readVarint(buf: Buffer, pos: number, end: number): boolean {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return false;
    const byte = buf[pos++]!;
    raw += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      varValue = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      varNext = pos;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/**
 * Walks the `count` records in records[start, end) and returns the index of the first for which
 * `match(timestampDelta, offsetDelta)` is true, or -1. A record that does not parse throws INVALID_RECORD, as
 * Kafka's DefaultRecord.readFrom throws InvalidRecordException.
 */
function findRecord(
  records: Buffer,
  start: number,
  end: number,
  count: number,
  match: (timestampDelta: number, offsetDelta: number) => boolean,
): number {
  let p = start;
  for (let i = 0; i < count; i++) {
    if (!readVarint(records, p, end) || varValue < 0 || varNext + varValue > end) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, `record ${i} of the batch has an invalid size`);
    }
    const recordEnd = varNext + varValue;
    if (!readVarint(records, varNext + 1, recordEnd)) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Found invalid record structure');
    const timestampDelta = varValue;
    if (!readVarint(records, varNext, recordEnd)) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Found invalid record structure');
    if (match(timestampDelta, varValue)) return i;
    p = recordEnd;
  }
  return -1;
}

/** Where the records of the whole batch `batch` (at 0) are: in the batch, or decompressed when it is compressed. */
function recordsOf(batch: Buffer, maxDecompressedBytes: number | undefined): { source: Buffer; start: number; end: number } {
  const end = batchSizeAt(batch, 0);
  const codec = compressionOf(batch.readInt16BE(ATTRIBUTES_OFFSET));
  if (codec === 0) return { source: batch, start: RECORD_BATCH_HEADER_SIZE, end };
  const records = decompressRecords(codec, batch.subarray(RECORD_BATCH_HEADER_SIZE, end), maxDecompressedBytes);
  return { source: records, start: 0, end: records.length };
}

/** Beyond ±(2^63 - 2^53) a base timestamp plus an int32-range delta may leave the int64 range. */
const WRAP_ZONE = 0x7fffffffffffffffn - (1n << 53n);

/** Offset delta found by the last findRecord match (module scratch, as above). */
let matchedOffsetDelta = 0;
let matchedTimestampDelta = 0;

/**
 * Whether the batch at 0 holds every offset from its base offset to its last offset (recordCount = lastOffsetDelta
 * + 1, so the offset deltas are 0, 1, 2, …). Compaction keeps a batch's base offset while removing records, so a
 * cleaned batch may not; then only its records tell which offsets it still has.
 */
function hasContiguousOffsets(batch: Buffer): boolean {
  const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
  return count > 0 && count === batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET) + 1;
}

/** The offset of the first record of the batch at 0 whose offset delta is >= `minOffsetDelta`, or undefined. */
function firstOffsetFrom(batch: Buffer, minOffsetDelta: number, maxDecompressedBytes: number | undefined): bigint | undefined {
  const { source, start, end } = recordsOf(batch, maxDecompressedBytes);
  const index = findRecord(source, start, end, batch.readInt32BE(RECORD_COUNT_OFFSET), (_timestampDelta, offsetDelta) => {
    if (offsetDelta < minOffsetDelta) return false;
    matchedOffsetDelta = offsetDelta;
    return true;
  });
  return index < 0 ? undefined : batch.readBigInt64BE(0) + BigInt(matchedOffsetDelta);
}

/**
 * Kafka's FileRecords.searchForTimestamp inside one batch (the whole batch at 0 in `batch`): the offset and
 * timestamp of the first record whose timestamp is >= `targetMs` and whose offset is >= `startingOffset` (the log
 * start offset: a batch may straddle it, and its records below it are gone for readers), or undefined. Compressed
 * batches are decompressed (at most `maxDecompressedBytes`, see compression.ts). In a LogAppendTime batch every
 * record has the batch maxTimestamp, so when its offsets are contiguous the answer is the base offset or
 * `startingOffset`, whichever is later, without decompressing anything.
 */
export function searchBatchForTimestamp(
  batch: Buffer,
  targetMs: bigint,
  startingOffset?: bigint,
  maxDecompressedBytes?: number,
): { offset: bigint; timestamp: bigint } | undefined {
  const baseOffset = batch.readBigInt64BE(0);
  const lastOffset = baseOffset + BigInt(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET));
  if (startingOffset !== undefined && startingOffset > lastOffset) return undefined;
  // Records with an offset delta below this are below startingOffset.
  const minOffsetDelta = startingOffset !== undefined && startingOffset > baseOffset ? Number(startingOffset - baseOffset) : 0;
  if (isLogAppendTime(batch.readInt16BE(ATTRIBUTES_OFFSET))) {
    const maxTimestamp = batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET);
    if (maxTimestamp < targetMs) return undefined;
    if (hasContiguousOffsets(batch)) return { offset: baseOffset + BigInt(minOffsetDelta), timestamp: maxTimestamp };
    const offset = firstOffsetFrom(batch, minOffsetDelta, maxDecompressedBytes);
    return offset === undefined ? undefined : { offset, timestamp: maxTimestamp };
  }
  const baseTimestamp = batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET);
  // Deltas compared as numbers: the target relative to baseTimestamp (exact for any real timestamp gap). Near
  // the ends of the int64 range base + delta wraps as a Java long does, so there each candidate is checked exactly.
  const targetDelta = Number(targetMs - baseTimestamp);
  const mayWrap = baseTimestamp > WRAP_ZONE || baseTimestamp < -WRAP_ZONE;
  const { source, start, end } = recordsOf(batch, maxDecompressedBytes);
  const index = findRecord(source, start, end, batch.readInt32BE(RECORD_COUNT_OFFSET), (timestampDelta, offsetDelta) => {
    if (timestampDelta < targetDelta || offsetDelta < minOffsetDelta) return false;
    if (mayWrap && BigInt.asIntN(64, baseTimestamp + BigInt(timestampDelta)) < targetMs) return false;
    matchedTimestampDelta = timestampDelta;
    matchedOffsetDelta = offsetDelta;
    return true;
  });
  if (index < 0) return undefined;
  return { offset: baseOffset + BigInt(matchedOffsetDelta), timestamp: BigInt.asIntN(64, baseTimestamp + BigInt(matchedTimestampDelta)) };
}

/**
 * Kafka's RecordBatch.offsetOfMaxTimestamp for the whole batch at 0 in `batch`: the offset of the first record
 * whose timestamp equals the batch maxTimestamp (so of three records with the same largest timestamp, the
 * earliest), or undefined when none does. LogAppendTime: the first record (the base offset, without decompressing,
 * when the offsets are contiguous).
 */
export function offsetOfMaxTimestamp(batch: Buffer, maxDecompressedBytes?: number): bigint | undefined {
  const baseOffset = batch.readBigInt64BE(0);
  if (isLogAppendTime(batch.readInt16BE(ATTRIBUTES_OFFSET))) {
    return hasContiguousOffsets(batch) ? baseOffset : firstOffsetFrom(batch, 0, maxDecompressedBytes);
  }
  const maxDelta = Number(batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET) - batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET));
  const { source, start, end } = recordsOf(batch, maxDecompressedBytes);
  const index = findRecord(source, start, end, batch.readInt32BE(RECORD_COUNT_OFFSET), (timestampDelta, offsetDelta) => {
    if (timestampDelta !== maxDelta) return false;
    matchedOffsetDelta = offsetDelta;
    return true;
  });
  return index < 0 ? undefined : baseOffset + BigInt(matchedOffsetDelta);
}
