// Test helper: builds a valid, uncompressed RecordBatch v2 by hand (independent of src/ encoders), so tests
// exercise the broker against real bytes. Shared with other test suites; keep the signature stable.
import { crc32c } from '@node-rs/crc32';

export interface BuildRecord {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Array<{ key: string; value: Buffer | string | null }>;
  timestampDelta?: number;
  offsetDelta?: number;
}

export interface BuildBatchOptions {
  baseOffset?: bigint;
  partitionLeaderEpoch?: number;
  records: BuildRecord[];
  baseTimestamp?: bigint;
  /** Defaults to baseTimestamp + the largest timestampDelta. */
  maxTimestamp?: bigint;
  attributes?: number;
  /** Defaults to records.length - 1. */
  lastOffsetDelta?: number;
  /** Defaults to records.length. */
  recordCount?: number;
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
}

function toBuf(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** Zig-zag varint (Kafka's varint/varlong for values that fit in a double). */
export function encodeVarint(value: number | bigint): Buffer {
  let v = BigInt(value);
  v = v >= 0n ? v << 1n : (-v << 1n) - 1n;
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

function encodeBytes(v: Buffer | string | null | undefined): Buffer {
  if (v === null || v === undefined) return encodeVarint(-1);
  const b = toBuf(v);
  return Buffer.concat([encodeVarint(b.length), b]);
}

function encodeRecord(r: BuildRecord, index: number): Buffer {
  const headers = r.headers ?? [];
  const body = Buffer.concat([
    Buffer.from([0]), // attributes
    encodeVarint(r.timestampDelta ?? 0),
    encodeVarint(r.offsetDelta ?? index),
    encodeBytes(r.key ?? null),
    encodeBytes(r.value),
    encodeVarint(headers.length),
    ...headers.flatMap((h) => [encodeBytes(h.key), encodeBytes(h.value)]),
  ]);
  return Buffer.concat([encodeVarint(body.length), body]);
}

export function buildRecordBatch(options: BuildBatchOptions): Buffer {
  const records = options.records.map(encodeRecord);
  const payload = Buffer.concat(records);
  const baseTimestamp = options.baseTimestamp ?? 1_700_000_000_000n;
  const maxDelta = options.records.reduce((m, r) => Math.max(m, r.timestampDelta ?? 0), 0);
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(options.baseOffset ?? 0n, 0);
  header.writeInt32BE(61 - 12 + payload.length, 8);
  header.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE(options.attributes ?? 0, 21);
  header.writeInt32BE(options.lastOffsetDelta ?? options.records.length - 1, 23);
  header.writeBigInt64BE(baseTimestamp, 27);
  header.writeBigInt64BE(options.maxTimestamp ?? baseTimestamp + BigInt(maxDelta), 35);
  header.writeBigInt64BE(options.producerId ?? -1n, 43);
  header.writeInt16BE(options.producerEpoch ?? -1, 51);
  header.writeInt32BE(options.baseSequence ?? -1, 53);
  header.writeInt32BE(options.recordCount ?? options.records.length, 57);
  const batch = Buffer.concat([header, payload]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** Recomputes the CRC of a hand-modified batch at `pos`. */
export function fixCrc(batch: Buffer, pos = 0): Buffer {
  const end = pos + 12 + batch.readInt32BE(pos + 8);
  batch.writeUInt32BE(crc32c(batch.subarray(pos + 21, end)) >>> 0, pos + 17);
  return batch;
}
