// Rewriting one RecordBatch v2 for the log cleaner (Kafka's MemoryRecords.filterTo with the LogCleaner's
// RecordFilter): the records of a batch are read (decompressed when compressed), each is kept or dropped by the
// caller's rule, and the batch is written out again keeping its offsets, producer id, epoch, base sequence and
// last offset delta (Kafka's builder.overrideLastOffset, so the producer's last sequence survives).
//
//   outcome for a batch (BatchRetention)        written
//   DELETE                                      nothing
//   every record kept, no delete horizon to set the original bytes, untouched (its codec and CRC included)
//   some records kept, or a horizon to set      a new batch of the kept records (below)
//   no record kept, RETAIN_EMPTY                a 61-byte header with recordCount 0 (Kafka's writeEmptyHeader:
//                                               no compression, baseTimestamp -1, the original maxTimestamp),
//                                               so the state of the producer's last batch survives
//   no record kept, DELETE_EMPTY                nothing
//
// A new batch of kept records: the original header fields (baseOffset, partitionLeaderEpoch, lastOffsetDelta,
// producerId, producerEpoch, baseSequence, timestamp type, transactional and control bits), recordCount = kept
// records, maxTimestamp = the largest kept record timestamp (the original for LogAppendTime), the records' bytes
// copied as they were (their offset deltas are the original ones, so offsets do not change), CRC-32C recomputed.
//
// Delete horizon (KIP-534): when a kept batch holds a tombstone (a record with a null value) or is a marker of a
// transaction with no data left, and has no horizon yet, the cleaner sets one: attributes bit 6
// (hasDeleteHorizonMs) and baseTimestamp = now + delete.retention.ms; each record's timestampDelta is re-encoded
// so that its timestamp (old base + old delta) is unchanged. A later cleaning drops those tombstones and markers
// once the horizon has passed. Where the arithmetic would not be exact (timestamps beyond 2^53 ms, Eddy keeps
// deltas as numbers) no horizon is set and the tombstones stay: safe, only less compact.
//
// Compression of a new batch: the original batch's codec, as Kafka's MemoryRecords.buildRetainedRecordsInto
// (gzip, snappy, lz4, zstd in Kafka's framing: compressRecords in src/protocol/records/compression.ts, off the
// event loop). A recompressed batch can come out larger than the original (another compressor, another level);
// the caller passes the most bytes the batch may take (`maxBytes`, log-cleaner.ts keeps a cleaned segment within
// min(segment.bytes, 2^31 - 1)), and a rewritten batch above it is replaced by the original bytes, which always
// fit: keeping superseded records is only less compact, while a segment past 2^31 - 1 bytes breaks its 32-bit
// index positions.
//
// Deliberate difference from Kafka: a rewritten batch keeps the original baseTimestamp (unless a horizon is set)
// and the records' bytes, where Kafka's builder re-bases timestamps on the first kept record. Readers compute
// base + delta either way.
import { crc32c } from '@node-rs/crc32';
import {
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  CRC_OFFSET,
  CompressionType,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  RECORD_COUNT_OFFSET,
  compressionOf,
  isControlBatch,
  isLogAppendTime,
  isTransactional,
} from '../../protocol/records/batch.js';
import { compressRecords, decompressRecordsAsync } from '../../protocol/records/compression.js';
import { readEndTxnMarker } from '../../protocol/records/control-batch.js';

export const DELETE_HORIZON_BIT = 0x40;
/** The smallest record: length, attributes, timestampDelta, offsetDelta, key length, value length, header count. */
const MIN_RECORD_BYTES = 7;
const PRODUCER_EPOCH_OFFSET = 51;
const BASE_SEQUENCE_OFFSET = 53;
/** |timestamp arithmetic| must stay below this to be exact in a double. */
const SAFE_MS = 2 ** 53;

export type BatchRetention = 'DELETE' | 'DELETE_EMPTY' | 'RETAIN_EMPTY';

/** The header fields the cleaner decides on, for the whole batch at 0 in a buffer. */
export interface BatchView {
  baseOffset: bigint;
  lastOffset: bigint;
  attributes: number;
  producerId: bigint;
  producerEpoch: number;
  recordCount: number;
  isControl: boolean;
  isTransactional: boolean;
  /** Present when attributes bit 6 is set (the baseTimestamp). */
  deleteHorizonMs: number | undefined;
  /** For a control batch: COMMIT (true), ABORT (false), or undefined (empty, or not a transaction marker). */
  controlCommit: boolean | undefined;
}

export function viewBatch(batch: Buffer): BatchView {
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  const baseOffset = batch.readBigInt64BE(0);
  const recordCount = batch.readInt32BE(RECORD_COUNT_OFFSET);
  const control = isControlBatch(attributes);
  return {
    baseOffset,
    lastOffset: baseOffset + BigInt(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET)),
    attributes,
    producerId: batch.readBigInt64BE(PRODUCER_ID_OFFSET),
    producerEpoch: batch.readInt16BE(PRODUCER_EPOCH_OFFSET),
    recordCount,
    isControl: control,
    isTransactional: isTransactional(attributes),
    deleteHorizonMs: (attributes & DELETE_HORIZON_BIT) !== 0 ? Number(batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET)) : undefined,
    controlCommit: control && recordCount > 0 ? readEndTxnMarker(batch, 0)?.commit : undefined,
  };
}

/**
 * The records of one batch, parsed into reusable typed arrays (nothing allocated per record): where each record
 * starts and ends in `source`, where its timestampDelta varlong ends, its delta, offset delta, key and whether it
 * has a value.
 */
export class BatchRecords {
  /**
   * Without `decompressHere` (the event loop's cleaner) gzip and zstd are decoded off the event loop, on libuv's
   * pool; with it (the worker: cleaner-worker.ts) every batch is decoded synchronously on this thread, so that the
   * cleaner's decompression does not queue on the pool the request path's file I/O shares and runs at the worker's
   * low priority.
   */
  constructor(private readonly decompressHere?: (codec: number, payload: Buffer) => Buffer) {}

  source: Buffer = Buffer.alloc(0);
  count = 0;
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  /** Position of the timestampDelta varlong (right after the record's attributes byte). */
  timestampPos = new Int32Array(64);
  /** Position right after the timestampDelta varlong. */
  afterTimestamp = new Int32Array(64);
  timestampDeltas = new Float64Array(64);
  offsetDeltas = new Int32Array(64);
  keyStarts = new Int32Array(64);
  /** Negative: null key. */
  keyLengths = new Int32Array(64);
  /** 1 when the value is not null. */
  hasValue = new Uint8Array(64);
  /** Some timestampDelta took more than 7 varint bytes (not exact as a number). */
  wideTimestamp = false;

  /** Bytes of records parsed by the last parse (decompressed size for a compressed batch). */
  sourceBytes = 0;

  /**
   * Parses the records of the whole batch at 0 in `batch` (decompressing it first; gzip off the event loop);
   * throws on a malformed record (the cleaner then leaves the log alone: Kafka's cleaner fails the partition the
   * same way).
   */
  async parse(batch: Buffer): Promise<void> {
    const end = LOG_OVERHEAD + batch.readInt32BE(8);
    const codec = compressionOf(batch.readInt16BE(ATTRIBUTES_OFFSET));
    if (codec === CompressionType.NONE) this.parseRecords(batch, batch, RECORD_BATCH_HEADER_SIZE, end);
    else {
      const payload = batch.subarray(RECORD_BATCH_HEADER_SIZE, end);
      const source = this.decompressHere !== undefined ? this.decompressHere(codec, payload) : await decompressRecordsAsync(codec, payload);
      this.parseRecords(batch, source, 0, source.length);
    }
  }

  private parseRecords(batch: Buffer, source: Buffer, from: number, limit: number): void {
    let p = from;
    // The header's count bounds nothing: no more records than the bytes can hold.
    const declared = Math.min(batch.readInt32BE(RECORD_COUNT_OFFSET), Math.ceil((limit - p) / MIN_RECORD_BYTES));
    this.source = source;
    this.sourceBytes = limit - from;
    this.wideTimestamp = false;
    if (declared > this.starts.length) this.grow(declared);
    let i = 0;
    for (; i < declared && p < limit; i++) {
      this.starts[i] = p;
      const length = readVarint(source, p, limit);
      const bodyStart = cursor;
      const recordEnd = bodyStart + length;
      if (length < 0 || recordEnd > limit) throw new Error(`record ${i} of the batch at offset ${batch.readBigInt64BE(0)} runs past the batch`);
      this.timestampPos[i] = bodyStart + 1;
      this.timestampDeltas[i] = readVarint(source, bodyStart + 1, recordEnd);
      // More than 7 varint bytes: |delta| may be beyond 2^53, not exact as a number.
      if (cursor - (bodyStart + 1) > 7) this.wideTimestamp = true;
      this.afterTimestamp[i] = cursor;
      this.offsetDeltas[i] = readVarint(source, cursor, recordEnd);
      const keyLength = readVarint(source, cursor, recordEnd);
      this.keyStarts[i] = cursor;
      this.keyLengths[i] = keyLength;
      const afterKey = cursor + (keyLength > 0 ? keyLength : 0);
      if (afterKey > recordEnd) throw new Error(`record ${i} of the batch at offset ${batch.readBigInt64BE(0)} has a key past its end`);
      const valueLength = readVarint(source, afterKey, recordEnd);
      this.hasValue[i] = valueLength >= 0 ? 1 : 0;
      this.ends[i] = recordEnd;
      p = recordEnd;
    }
    this.count = i;
  }

  private grow(n: number): void {
    const size = Math.max(n, this.starts.length * 2);
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    this.timestampPos = new Int32Array(size);
    this.afterTimestamp = new Int32Array(size);
    this.timestampDeltas = new Float64Array(size);
    this.offsetDeltas = new Int32Array(size);
    this.keyStarts = new Int32Array(size);
    this.keyLengths = new Int32Array(size);
    this.hasValue = new Uint8Array(size);
  }
}

/** What the caller decided for a batch: which records stay (indexes into BatchRecords) and the batch's fate. */
export interface BatchDecision {
  retention: BatchRetention;
  /** The batch is a marker of a transaction with no data left (Kafka's containsMarkerForEmptyTxn). */
  markerForEmptyTxn: boolean;
  /** The most bytes the written batch may take; a rewritten batch above it is replaced by the original. */
  maxBytes?: number;
}

/**
 * Writes the filtered form of `batch` (whole, at 0) — see the table at the top. `kept[i]` is 1 for each record
 * kept (records.count entries). Returns undefined when nothing is written.
 */
export async function rewriteBatch(
  batch: Buffer,
  records: BatchRecords,
  kept: Uint8Array,
  decision: BatchDecision,
  nowMs: number,
  deleteRetentionMs: number,
): Promise<Buffer | undefined> {
  if (decision.retention === 'DELETE') return undefined;
  const attributes = batch.readInt16BE(ATTRIBUTES_OFFSET);
  let keptCount = 0;
  let tombstones = false;
  for (let i = 0; i < records.count; i++) {
    if (kept[i] === 0) continue;
    keptCount++;
    if (records.hasValue[i] === 0) tombstones = true;
  }
  if (keptCount === 0) return decision.retention === 'RETAIN_EMPTY' ? emptyBatch(batch, attributes) : undefined;

  const hasHorizon = (attributes & DELETE_HORIZON_BIT) !== 0;
  const originalBase = batch.readBigInt64BE(BASE_TIMESTAMP_OFFSET);
  let horizon: number | undefined;
  if ((tombstones || decision.markerForEmptyTxn) && !hasHorizon) {
    const candidate = nowMs + deleteRetentionMs;
    const shift = Number(originalBase) - candidate;
    // Exact only when every number involved stays below 2^53 (see the header); otherwise keep the tombstones.
    if (!records.wideTimestamp && Math.abs(Number(originalBase)) < SAFE_MS && Math.abs(candidate) < SAFE_MS && Math.abs(shift) < SAFE_MS) {
      horizon = candidate;
    }
  }
  if (keptCount === records.count && horizon === undefined) return batch.subarray(0, LOG_OVERHEAD + batch.readInt32BE(8));

  // The kept records, re-encoding timestampDelta only when the base moves to the horizon.
  const source = records.source;
  const parts: Buffer[] = [];
  let maxDelta = -Infinity;
  const shift = horizon === undefined ? 0 : Number(originalBase) - horizon;
  for (let i = 0; i < records.count; i++) {
    if (kept[i] === 0) continue;
    const delta = records.timestampDeltas[i]!;
    if (delta > maxDelta) maxDelta = delta;
    if (horizon === undefined) {
      parts.push(source.subarray(records.starts[i]!, records.ends[i]!));
      continue;
    }
    parts.push(reencodeRecord(source, records, i, delta + shift));
  }
  const codec = compressionOf(attributes);
  const payload = await compressRecords(codec, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  const originalSize = LOG_OVERHEAD + batch.readInt32BE(8);
  if (decision.maxBytes !== undefined && RECORD_BATCH_HEADER_SIZE + payload.length > decision.maxBytes) return batch.subarray(0, originalSize);
  const out = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
  batch.copy(out, 0, 0, RECORD_BATCH_HEADER_SIZE);
  out.writeInt32BE(RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD + payload.length, 8);
  let outAttributes = attributes;
  if (horizon !== undefined) {
    outAttributes |= DELETE_HORIZON_BIT;
    out.writeBigInt64BE(BigInt(horizon), BASE_TIMESTAMP_OFFSET);
  }
  out.writeInt16BE(outAttributes, ATTRIBUTES_OFFSET);
  if (!isLogAppendTime(attributes)) out.writeBigInt64BE(BigInt.asIntN(64, originalBase + BigInt(maxDelta)), MAX_TIMESTAMP_OFFSET);
  out.writeInt32BE(keptCount, RECORD_COUNT_OFFSET);
  payload.copy(out, RECORD_BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return out;
}

/** Kafka's DefaultRecordBatch.writeEmptyHeader for `batch`. */
function emptyBatch(batch: Buffer, attributes: number): Buffer {
  const out = Buffer.alloc(RECORD_BATCH_HEADER_SIZE);
  batch.copy(out, 0, 0, 17); // baseOffset, batchLength (rewritten below), partitionLeaderEpoch, magic
  out.writeInt32BE(RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD, 8);
  // Timestamp type, transactional and control bits; no compression, no delete horizon.
  out.writeInt16BE(attributes & 0x38, ATTRIBUTES_OFFSET);
  out.writeInt32BE(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET), LAST_OFFSET_DELTA_OFFSET);
  out.writeBigInt64BE(-1n, BASE_TIMESTAMP_OFFSET);
  batch.copy(out, MAX_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET, MAX_TIMESTAMP_OFFSET + 8);
  batch.copy(out, PRODUCER_ID_OFFSET, PRODUCER_ID_OFFSET, BASE_SEQUENCE_OFFSET + 4); // producerId, epoch, baseSequence
  out.writeInt32BE(0, RECORD_COUNT_OFFSET);
  out.writeUInt32BE(crc32c(out.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return out;
}

/** Record `i` with its timestampDelta replaced by `delta` (length prefix recomputed). */
function reencodeRecord(source: Buffer, records: BatchRecords, i: number, delta: number): Buffer {
  const attributesPos = records.timestampPos[i]! - 1;
  const rest = source.subarray(records.afterTimestamp[i]!, records.ends[i]!);
  const bodyLength = 1 + varlongSize(delta) + rest.length;
  const out = Buffer.allocUnsafe(varlongSize(bodyLength) + bodyLength);
  let p = writeVarlong(out, 0, bodyLength);
  out[p++] = source[attributesPos]!;
  p = writeVarlong(out, p, delta);
  rest.copy(out, p);
  return out;
}

// ---- varints (zig-zag), as numbers exact below 2^53 -----------------------------------------------------------

/** Position after the last read (module scratch). */
let cursor = 0;

function readVarint(buf: Buffer, pos: number, end: number): number {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new Error('record varint runs past the end of the records');
    const b = buf[pos++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor = pos;
      return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
    }
    scale *= 128;
  }
  throw new Error('record varint longer than 10 bytes');
}

function varlongSize(value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  let n = 1;
  while (raw >= 128) {
    raw = Math.floor(raw / 128);
    n++;
  }
  return n;
}

function writeVarlong(buf: Buffer, pos: number, value: number): number {
  let raw = value >= 0 ? value * 2 : -value * 2 - 1;
  while (raw >= 128) {
    buf[pos++] = (raw % 128) | 0x80;
    raw = Math.floor(raw / 128);
  }
  buf[pos++] = raw;
  return pos;
}
