// Minimal reading of the records inside an *uncompressed* RecordBatch v2, for the few places the broker needs
// per-record information (ListOffsets by timestamp). Produce and Fetch never decode records.
//
// Record layout (Kafka docs "Record"), varints are zig-zag encoded (protobuf style):
//
//   length          varint   bytes after this field
//   attributes      int8     unused
//   timestampDelta  varlong  record timestamp = baseTimestamp + timestampDelta
//   offsetDelta     varint   record offset = baseOffset + offsetDelta
//   keyLength varint, key, valueLength varint, value, headerCount varint, headers …   (skipped via length)
import {
  BASE_TIMESTAMP_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  batchSizeAt,
  compressionOf,
  isLogAppendTime,
} from './batch.js';

/** Zig-zag varint at `pos` as a number (exact up to 2^53); undefined when it runs past `end` or is too long. */
function readVarlong(buf: Buffer, pos: number, end: number): { value: number; next: number } | undefined {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return undefined;
    const byte = buf[pos++]!;
    raw += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      // zig-zag: even → raw/2, odd → -(raw+1)/2
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return { value, next: pos };
    }
    scale *= 128;
  }
  return undefined;
}

/**
 * The offset and timestamp of the first record whose timestamp is >= `targetMs` in the uncompressed,
 * CreateTime batch at `pos`. Returns undefined for compressed or LogAppendTime batches (the caller falls back to
 * batch-level values), when no record qualifies, or when the records are malformed.
 */
export function findRecordAtTimestamp(
  batch: Buffer,
  pos: number,
  targetMs: bigint,
): { offset: bigint; timestamp: bigint } | undefined {
  const attributes = batch.readInt16BE(pos + 21);
  if (compressionOf(attributes) !== 0 || isLogAppendTime(attributes)) return undefined;
  const end = pos + batchSizeAt(batch, pos);
  if (end > batch.length) return undefined;
  const baseOffset = batch.readBigInt64BE(pos);
  const baseTimestamp = batch.readBigInt64BE(pos + BASE_TIMESTAMP_OFFSET);
  const count = batch.readInt32BE(pos + RECORD_COUNT_OFFSET);
  let p = pos + RECORD_BATCH_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const length = readVarlong(batch, p, end);
    if (!length || length.value < 0) return undefined;
    const recordEnd = length.next + length.value;
    if (recordEnd > end) return undefined;
    const timestampDelta = readVarlong(batch, length.next + 1, recordEnd);
    if (!timestampDelta) return undefined;
    const offsetDelta = readVarlong(batch, timestampDelta.next, recordEnd);
    if (!offsetDelta) return undefined;
    const timestamp = baseTimestamp + BigInt(timestampDelta.value);
    if (timestamp >= targetMs) return { offset: baseOffset + BigInt(offsetDelta.value), timestamp };
    p = recordEnd;
  }
  return undefined;
}
