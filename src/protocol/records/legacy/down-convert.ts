// Down-conversion of stored RecordBatch v2 to magic 0 or 1 messages for old readers (Fetch v0–3), as Kafka 3.9's
// RecordsUtil.downConvert and MemoryRecordsBuilder write them, driven lazily as LazyDownConversionRecords does:
// batch by batch, over only the bytes a fetch read, stopping once the reader's budget is used.
//
//   stored batch                         converted to (message-set.ts has the format)
//   control batch (transaction marker)   nothing: old formats cannot express it (Kafka skips it)
//   zstd                                 UNSUPPORTED_COMPRESSION_TYPE when it comes first; otherwise the conversion
//                                        stops before it, and the reader meets the error on its next fetch (Kafka
//                                        sends an overflow batch there for the same effect)
//   uncompressed                         one message per record, absolute offsets; records below the fetch offset
//                                        are dropped (some librdkafka versions rely on it, RecordsUtil's javadoc)
//   gzip / snappy / lz4                  one wrapper per batch with the batch's codec and every record of the batch:
//                                        magic 1 inner offsets relative (0, 1, …), magic 0 absolute; the wrapper's
//                                        offset is the last record's; magic-0 lz4 with Kafka's broken descriptor
//                                        checksum (message-set.ts)
//   transactional data                   converted like any batch (old readers are read_uncommitted)
//
// Every record: key and value as stored, headers dropped (neither format has them), attributes = codec none plus,
// for magic 1 on a LogAppendTime batch, the timestamp-type bit. Timestamps: magic 0 has none; magic 1 carries the
// record's (baseTimestamp + delta; a value below -1 becomes -1) or, on a LogAppendTime batch, the batch maxTimestamp.
// A magic-1 wrapper carries the largest record timestamp (CreateTime) or the log append time.
//
// Budget: the output stops at whole messages (a wrapper counts as one) within `limitBytes`, except that the first
// message is always returned (KIP-74: a reader must make progress). Kafka sizes its answer before converting and
// then cuts the converted bytes there, possibly mid-message, or pads them with an overflow batch; Eddy converts
// before encoding the response, so its answer is whole messages only.
import { KafkaError } from '../../../errors.js';
import { ErrorCode } from '../../error-codes.js';
import {
  BASE_TIMESTAMP_OFFSET,
  CompressionType,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  compressionOf,
  isControlBatch,
  isLogAppendTime,
} from '../batch.js';
import { compressRecords, decompressRecords } from '../compression.js';
import { LEGACY_TIMESTAMP_TYPE_BIT, NO_TIMESTAMP, framedMessageSize, setBrokenLz4Checksum, writeMessage } from './message-set.js';

export type LegacyMagic = 0 | 1;

export interface DownConverted {
  /** The converted messages (possibly empty). */
  records: Buffer;
  /** Offset after the last stored batch the conversion went through (skipped batches included). */
  nextOffset: bigint;
  /** True when every batch of the input was gone through (nothing was left out for the budget). */
  complete: boolean;
}

/** Where one v2 record's fields are (reused: no object per record). */
const rec = { end: 0, timestampDelta: 0, offsetDelta: 0, keyStart: 0, keyLength: -1, valueStart: 0, valueLength: -1 };
let varValue = 0;
let varNext = 0;

/**
 * Zig-zag varint/varlong at `pos`, bounded by `end`, as a number (exact up to 2^53: timestamp deltas of stored
 * batches were checked on produce and lengths are small); false when malformed.
 */
function readVarlong(buf: Buffer, pos: number, end: number): boolean {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return false;
    const b = buf[pos++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) {
      varValue = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      varNext = pos;
      return true;
    }
    scale *= 128;
  }
  return false;
}

/** Reads the v2 record at `pos` (headers skipped) into `rec`; throws CORRUPT_MESSAGE for a malformed record. */
function readRecord(buf: Buffer, pos: number, end: number): void {
  if (!readVarlong(buf, pos, end)) throw malformed();
  const recordEnd = varNext + varValue;
  if (recordEnd > end || varValue < 0) throw malformed();
  if (!readVarlong(buf, varNext + 1, recordEnd)) throw malformed();
  rec.timestampDelta = varValue;
  if (!readVarlong(buf, varNext, recordEnd)) throw malformed();
  rec.offsetDelta = varValue;
  if (!readVarlong(buf, varNext, recordEnd)) throw malformed();
  rec.keyLength = varValue < 0 ? -1 : varValue;
  rec.keyStart = varNext;
  const afterKey = varNext + Math.max(0, rec.keyLength);
  if (!readVarlong(buf, afterKey, recordEnd)) throw malformed();
  rec.valueLength = varValue < 0 ? -1 : varValue;
  rec.valueStart = varNext;
  if (varNext + Math.max(0, rec.valueLength) > recordEnd) throw malformed();
  rec.end = recordEnd;
}

function malformed(): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, 'stored record could not be read for down-conversion');
}

/** Output being built: one buffer grown by doubling. */
class MessageSink {
  buf: Buffer;
  pos = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function slice(buf: Buffer, start: number, length: number): Buffer | null {
  return length < 0 ? null : buf.subarray(start, start + length);
}

/**
 * Converts the whole v2 batches in `input` (as a fetch read them) to messages of `toMagic` (header table), from
 * `fetchOffset`, within `limitBytes` (whole messages; the first always). Throws KafkaError
 * UNSUPPORTED_COMPRESSION_TYPE when the first batch to convert is zstd.
 */
export async function downConvertRecords(input: Buffer, toMagic: LegacyMagic, fetchOffset: bigint, limitBytes: number): Promise<DownConverted> {
  const out = new MessageSink(Math.min(input.length + 1024, Math.max(limitBytes, 1024)));
  let nextOffset = fetchOffset;
  let pos = 0;
  while (input.length - pos >= RECORD_BATCH_HEADER_SIZE) {
    const size = LOG_OVERHEAD + input.readInt32BE(pos + 8);
    if (pos + size > input.length) break;
    const batch = input.subarray(pos, pos + size);
    const baseOffset = batch.readBigInt64BE(0);
    const lastOffset = baseOffset + BigInt(batch.readInt32BE(23));
    const attributes = batch.readInt16BE(21);
    const codec = compressionOf(attributes);
    if (isControlBatch(attributes)) {
      pos += size;
      nextOffset = lastOffset + 1n;
      continue;
    }
    if (codec === CompressionType.ZSTD) {
      if (out.pos === 0) throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'Down-conversion of zstandard-compressed batches is not supported');
      return { records: out.bytes(), nextOffset, complete: false };
    }
    const fits = codec === CompressionType.NONE
      ? convertUncompressed(batch, toMagic, fetchOffset, limitBytes, out)
      : await convertCompressed(batch, codec, toMagic, limitBytes, out);
    if (!fits) return { records: out.bytes(), nextOffset, complete: false };
    pos += size;
    nextOffset = lastOffset + 1n;
  }
  return { records: out.bytes(), nextOffset, complete: true };
}

/** A LogAppendTime batch's time, else undefined (records keep their own). */
function logAppendTimeOf(batch: Buffer): bigint | undefined {
  return isLogAppendTime(batch.readInt16BE(21)) ? batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET) : undefined;
}

function recordTimestamp(baseTimestamp: bigint, logAppendTime: bigint | undefined): bigint {
  if (logAppendTime !== undefined) return logAppendTime;
  const timestamp = BigInt.asIntN(64, baseTimestamp + BigInt(rec.timestampDelta));
  return timestamp < NO_TIMESTAMP ? NO_TIMESTAMP : timestamp;
}

/** One message per record; false when a record did not fit in the budget (the batch is left unfinished). */
function convertUncompressed(batch: Buffer, toMagic: LegacyMagic, fetchOffset: bigint, limitBytes: number, out: MessageSink): boolean {
  const baseOffset = batch.readBigInt64BE(0);
  const baseTimestamp = batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET);
  const logAppendTime = logAppendTimeOf(batch);
  const attributes = toMagic === 1 && logAppendTime !== undefined ? LEGACY_TIMESTAMP_TYPE_BIT : 0;
  const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
  let p = RECORD_BATCH_HEADER_SIZE;
  for (let i = 0; i < count && p < batch.length; i++) {
    readRecord(batch, p, batch.length);
    p = rec.end;
    const offset = baseOffset + BigInt(rec.offsetDelta);
    if (offset < fetchOffset) continue;
    const size = framedMessageSize(toMagic, rec.keyLength, rec.valueLength);
    if (out.pos > 0 && out.pos + size > limitBytes) return false;
    out.ensure(size);
    out.pos = writeMessage(
      out.buf,
      out.pos,
      offset,
      toMagic,
      attributes,
      toMagic === 1 ? recordTimestamp(baseTimestamp, logAppendTime) : NO_TIMESTAMP,
      slice(batch, rec.keyStart, rec.keyLength),
      slice(batch, rec.valueStart, rec.valueLength),
    );
  }
  return true;
}

/** One wrapper for the whole batch; false when it did not fit in the budget (nothing written). */
async function convertCompressed(batch: Buffer, codec: number, toMagic: LegacyMagic, limitBytes: number, out: MessageSink): Promise<boolean> {
  const baseOffset = batch.readBigInt64BE(0);
  const baseTimestamp = batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET);
  const logAppendTime = logAppendTimeOf(batch);
  const innerAttributes = toMagic === 1 && logAppendTime !== undefined ? LEGACY_TIMESTAMP_TYPE_BIT : 0;
  const count = batch.readInt32BE(RECORD_COUNT_OFFSET);
  const records = decompressRecords(codec, batch.subarray(RECORD_BATCH_HEADER_SIZE));

  // The inner message set: sized first, then written in one buffer.
  let innerSize = 0;
  let p = 0;
  for (let i = 0; i < count && p < records.length; i++) {
    readRecord(records, p, records.length);
    p = rec.end;
    innerSize += framedMessageSize(toMagic, rec.keyLength, rec.valueLength);
  }
  if (innerSize === 0) return true;
  const inner = Buffer.allocUnsafe(innerSize);
  let firstOffset = -1n;
  let lastOffset = 0n;
  let maxTimestamp = NO_TIMESTAMP;
  let w = 0;
  p = 0;
  for (let i = 0; i < count && p < records.length; i++) {
    readRecord(records, p, records.length);
    p = rec.end;
    const offset = baseOffset + BigInt(rec.offsetDelta);
    if (firstOffset < 0n) firstOffset = offset;
    lastOffset = offset;
    const timestamp = toMagic === 1 ? recordTimestamp(baseTimestamp, logAppendTime) : NO_TIMESTAMP;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    // MemoryRecordsBuilder.toInnerOffset: relative for magic 1, absolute for magic 0.
    const innerOffset = toMagic === 1 ? offset - firstOffset : offset;
    w = writeMessage(inner, w, innerOffset, toMagic, innerAttributes, timestamp, slice(records, rec.keyStart, rec.keyLength), slice(records, rec.valueStart, rec.valueLength));
  }
  const compressed = await compressRecords(codec, inner);
  if (toMagic === 0 && codec === CompressionType.LZ4) setBrokenLz4Checksum(compressed);
  const size = framedMessageSize(toMagic, -1, compressed.length);
  if (out.pos > 0 && out.pos + size > limitBytes) return false;
  out.ensure(size);
  const wrapperAttributes = codec | (toMagic === 1 && logAppendTime !== undefined ? LEGACY_TIMESTAMP_TYPE_BIT : 0);
  const wrapperTimestamp = toMagic === 1 ? (logAppendTime ?? maxTimestamp) : NO_TIMESTAMP;
  out.pos = writeMessage(out.buf, out.pos, lastOffset, toMagic, wrapperAttributes, wrapperTimestamp, null, compressed);
  return true;
}
