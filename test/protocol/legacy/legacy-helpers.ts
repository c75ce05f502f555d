// Test helpers for legacy message sets, built by hand from the format (Kafka's protocol guide "Messagesets" and
// LegacyRecord.java), independent of src/protocol/records/legacy: each byte is written here field by field.
import { crc32 } from '@node-rs/crc32';
import { gunzipSync, gzipSync } from 'node:zlib';

export interface MessageSpec {
  offset: bigint;
  magic: 0 | 1;
  attributes?: number;
  timestamp?: bigint;
  key: Buffer | string | null;
  value: Buffer | string | null;
}

function bytesField(v: Buffer | string | null): Buffer {
  if (v === null) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(-1);
    return b;
  }
  const data = typeof v === 'string' ? Buffer.from(v) : v;
  const b = Buffer.alloc(4 + data.length);
  b.writeInt32BE(data.length);
  data.copy(b, 4);
  return b;
}

/** offset(8) size(4) crc(4) magic(1) attributes(1) [timestamp(8)] key value. */
export function message(spec: MessageSpec): Buffer {
  const head = Buffer.alloc(spec.magic === 1 ? 10 : 2);
  head.writeInt8(spec.magic, 0);
  head.writeInt8(spec.attributes ?? 0, 1);
  if (spec.magic === 1) head.writeBigInt64BE(spec.timestamp ?? -1n, 2);
  const body = Buffer.concat([head, bytesField(spec.key), bytesField(spec.value)]);
  const framed = Buffer.alloc(16 + body.length);
  framed.writeBigInt64BE(spec.offset, 0);
  framed.writeInt32BE(4 + body.length, 8);
  framed.writeUInt32BE(crc32(body) >>> 0, 12);
  body.copy(framed, 16);
  return framed;
}

export function messageSet(specs: MessageSpec[]): Buffer {
  return Buffer.concat(specs.map(message));
}

/** A wrapper message whose value is `compressed` (key null). */
export function wrapper(offset: bigint, magic: 0 | 1, codec: number, compressed: Buffer, timestamp = -1n, logAppendTime = false): Buffer {
  return message({ offset, magic, attributes: codec | (logAppendTime ? 0x08 : 0), timestamp, key: null, value: compressed });
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);
export const gunzip = (b: Buffer): Buffer => gunzipSync(b);

/** xxHash32 (seed 0) written out from the spec, for LZ4 frame descriptors. */
export function xxh32(buf: Buffer): number {
  const P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P4 = 668265263, P5 = 374761393;
  const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
  const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;
  let p = 0;
  let h: number;
  const len = buf.length;
  if (len >= 16) {
    let v1 = (P1 + P2) >>> 0, v2 = P2, v3 = 0, v4 = (0 - P1) >>> 0;
    const round = (v: number, lane: number) => mul(rotl((v + mul(lane, P2)) >>> 0, 13), P1);
    while (p + 16 <= len) {
      v1 = round(v1, buf.readUInt32LE(p));
      v2 = round(v2, buf.readUInt32LE(p + 4));
      v3 = round(v3, buf.readUInt32LE(p + 8));
      v4 = round(v4, buf.readUInt32LE(p + 12));
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = P5;
  }
  h = (h + len) >>> 0;
  while (p + 4 <= len) {
    h = mul(rotl((h + mul(buf.readUInt32LE(p), P3)) >>> 0, 17), P4);
    p += 4;
  }
  while (p < len) {
    h = mul(rotl((h + mul(buf[p]!, P5)) >>> 0, 11), P1);
    p++;
  }
  h = (h ^ (h >>> 15)) >>> 0;
  h = mul(h, P2);
  h = (h ^ (h >>> 13)) >>> 0;
  h = mul(h, P3);
  h = (h ^ (h >>> 16)) >>> 0;
  return h;
}

/**
 * An LZ4 frame with one stored (uncompressed) block: magic, FLG 0x60, BD 0x40, the descriptor checksum (over FLG+BD,
 * or, `brokenChecksum`, over the magic too as Kafka's magic-0 writer does), block size | 0x80000000, data, end mark.
 */
export function lz4StoredFrame(data: Buffer, brokenChecksum = false): Buffer {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40]);
  const hc = (xxh32(brokenChecksum ? header : header.subarray(4)) >>> 8) & 0xff;
  const size = Buffer.alloc(4);
  size.writeUInt32LE((data.length | 0x80000000) >>> 0);
  return Buffer.concat([header, Buffer.from([hc]), size, data, Buffer.alloc(4)]);
}

/** A raw snappy block of literals only (format_description.txt), in xerial framing. */
export function snappyXerialLiterals(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  const lengthVarint: number[] = [];
  let n = data.length;
  do {
    lengthVarint.push((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  parts.push(Buffer.from(lengthVarint));
  for (let p = 0; p < data.length; p += 65536) {
    const chunk = data.subarray(p, p + 65536);
    const l = chunk.length - 1;
    if (l < 60) parts.push(Buffer.from([l << 2]));
    else if (l < 256) parts.push(Buffer.from([60 << 2, l]));
    else parts.push(Buffer.from([61 << 2, l & 0xff, l >>> 8]));
    parts.push(chunk);
  }
  const block = Buffer.concat(parts);
  const head = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(block.length);
  return Buffer.concat([head, len, block]);
}

/** A record read back from a RecordBatch v2 (decoded here field by field). */
export interface DecodedRecord {
  offset: bigint;
  timestamp: bigint;
  key: string | null;
  value: string | null;
  headerCount: number;
}

function varlong(buf: Buffer, pos: number): [bigint, number] {
  let raw = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7n;
  }
  return [(raw >> 1n) ^ -(raw & 1n), pos];
}

/** Decodes the records of an uncompressed records section (`records`) of a batch with `base` offset/timestamp. */
export function decodeRecords(records: Buffer, baseOffset: bigint, baseTimestamp: bigint): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  let p = 0;
  while (p < records.length) {
    let len: bigint;
    [len, p] = varlong(records, p);
    const end = p + Number(len);
    p += 1;
    let td: bigint, od: bigint, kl: bigint, vl: bigint, hc: bigint;
    [td, p] = varlong(records, p);
    [od, p] = varlong(records, p);
    [kl, p] = varlong(records, p);
    const key = kl < 0n ? null : records.subarray(p, p + Number(kl)).toString();
    p += Math.max(0, Number(kl));
    [vl, p] = varlong(records, p);
    const value = vl < 0n ? null : records.subarray(p, p + Number(vl)).toString();
    p += Math.max(0, Number(vl));
    [hc, p] = varlong(records, p);
    out.push({ offset: baseOffset + od, timestamp: baseTimestamp + td, key, value, headerCount: Number(hc) });
    p = end;
  }
  return out;
}

/** Message fields read back from a message set (field by field). */
export interface DecodedMessage {
  offset: bigint;
  magic: number;
  attributes: number;
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  crcValid: boolean;
}

export function decodeMessageSet(buf: Buffer): DecodedMessage[] {
  const out: DecodedMessage[] = [];
  let p = 0;
  while (p + 12 <= buf.length) {
    const offset = buf.readBigInt64BE(p);
    const size = buf.readInt32BE(p + 8);
    if (p + 12 + size > buf.length) break;
    const body = buf.subarray(p + 12, p + 12 + size);
    const magic = body.readInt8(4);
    const attributes = body.readInt8(5);
    let q = 6;
    let timestamp = -1n;
    if (magic === 1) {
      timestamp = body.readBigInt64BE(q);
      q += 8;
    }
    const kl = body.readInt32BE(q);
    q += 4;
    const key = kl < 0 ? null : body.subarray(q, q + kl);
    q += Math.max(0, kl);
    const vl = body.readInt32BE(q);
    q += 4;
    const value = vl < 0 ? null : body.subarray(q, q + vl);
    out.push({ offset, magic, attributes, timestamp, key, value, crcValid: (crc32(body.subarray(4)) >>> 0) === body.readUInt32BE(0) });
    p += 12 + size;
  }
  return out;
}
