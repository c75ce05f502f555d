// Record batches (v2) that pass the CRC check but carry hostile contents: counts, deltas, varints, timestamps,
// producer fields, attribute bits and lengths at their extremes or inconsistent with each other. Built byte by
// byte here (not with the broker's code) so any field can hold any value; the CRC-32C is recomputed last, so
// the broker has to look past it.
//
// RecordBatch v2 layout (Kafka's DefaultRecordBatch): baseOffset int64 | batchLength int32 |
// partitionLeaderEpoch int32 | magic int8 | crc uint32 (CRC-32C of attributes..end) | attributes int16 |
// lastOffsetDelta int32 | baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16 |
// baseSequence int32 | recordCount int32 | records…
// Record: length varint | attributes int8 | timestampDelta varlong | offsetDelta varint | keyLength varint |
// key | valueLength varint | value | headerCount varint | (keyLength varint, key, valueLength varint, value)*
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import type { Rng } from './rng.js';

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

/** Zig-zag varint/varlong over any int64 (bigint keeps the full range). */
export function zigzag(value: bigint | number): Buffer {
  const v = BigInt.asIntN(64, BigInt(value));
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n));
  const out: number[] = [];
  do {
    let byte = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) byte |= 0x80;
    out.push(byte);
  } while (u !== 0n);
  return Buffer.from(out);
}

const EXTREME_64 = [INT64_MAX, INT64_MIN, INT64_MAX - 1n, -1n, 0n, 1n, -2n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 62n, 2n ** 32n];
const EXTREME_32 = [INT32_MAX, INT32_MIN, -1, 0, 1, 0x7ffe, 0xffff, 1 << 24, 1_000_000];
const EXTREME_16 = [0x7fff, -0x8000, -1, 0, 1, 0x7ffe];

/** A varint that is malformed on the wire: overlong, unterminated, or 10 continuation bytes of 0xff. */
function badVarint(rng: Rng): Buffer {
  switch (rng.int(4)) {
    case 0:
      return Buffer.alloc(rng.range(6, 12), 0xff); // never terminates within 5/10 bytes
    case 1:
      return Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // 11 bytes
    case 2:
      return Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]); // 5-byte varint outside int32
    default:
      return Buffer.from([0x80]); // truncated
  }
}

interface RecordSpec {
  attributes: number;
  timestampDelta: bigint;
  offsetDelta: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: Buffer; value: Buffer | null }>;
}

function encodeRecord(spec: RecordSpec, rng: Rng, hostile: boolean): Buffer {
  const parts: Buffer[] = [];
  parts.push(Buffer.from([spec.attributes & 0xff]));
  parts.push(hostile && rng.chance(0.15) ? badVarint(rng) : zigzag(spec.timestampDelta));
  parts.push(hostile && rng.chance(0.1) ? badVarint(rng) : zigzag(spec.offsetDelta));
  const lengthOf = (b: Buffer | null): Buffer => {
    if (hostile && rng.chance(0.1)) return rng.chance(0.5) ? badVarint(rng) : zigzag(rng.pick([-2, -1000, INT32_MAX, INT32_MIN, 1 << 20, (b?.length ?? 0) + 1]));
    return zigzag(b === null ? -1 : b.length);
  };
  parts.push(lengthOf(spec.key));
  if (spec.key !== null) parts.push(spec.key);
  parts.push(lengthOf(spec.value));
  if (spec.value !== null) parts.push(spec.value);
  parts.push(hostile && rng.chance(0.1) ? zigzag(rng.pick([-1, -5, INT32_MAX, 1_000_000, spec.headers.length + 3])) : zigzag(spec.headers.length));
  for (const h of spec.headers) {
    parts.push(lengthOf(h.key), h.key, lengthOf(h.value));
    if (h.value !== null) parts.push(h.value);
  }
  const body = Buffer.concat(parts);
  let length: Buffer = zigzag(body.length);
  if (hostile && rng.chance(0.12)) length = rng.chance(0.3) ? badVarint(rng) : zigzag(rng.pick([0, -1, body.length + 1, body.length - 1, INT32_MAX, INT32_MIN, 1 << 30]));
  return Buffer.concat([length, body]);
}

export interface HostileBatch {
  bytes: Buffer;
  /** Which fields were made hostile, for the saved frame's JSON. */
  mutations: string[];
}

let gzipBomb: Buffer | undefined;
/** 160 MB of zeros, gzipped once (about 160 KB): decompresses past the broker's 128 MB cap. */
function bomb(): Buffer {
  gzipBomb ??= gzipSync(Buffer.alloc(160 * 1024 * 1024), { level: 9 });
  return gzipBomb;
}

/**
 * One batch: a valid batch of 1–6 small records with 1–4 hostile changes (rarely none, rarely more), CRC
 * recomputed (except, rarely, on purpose).
 */
export function hostileBatch(rng: Rng): HostileBatch {
  const mutations: string[] = [];
  const n = rng.range(1, 6);
  const baseTimestamp = 1_700_000_000_000n + BigInt(rng.int(1_000_000));
  const records: RecordSpec[] = [];
  for (let i = 0; i < n; i++) {
    records.push({
      attributes: 0,
      timestampDelta: BigInt(i * rng.int(50)),
      offsetDelta: BigInt(i),
      key: rng.chance(0.5) ? Buffer.from(`k${rng.int(100)}`) : null,
      value: rng.chance(0.05) ? null : rng.bytes(rng.int(64)),
      headers: rng.chance(0.2) ? [{ key: Buffer.from('h'), value: Buffer.from('v') }] : [],
    });
  }
  const header = {
    baseOffset: 0n,
    partitionLeaderEpoch: -1,
    magic: 2,
    attributes: 0,
    lastOffsetDelta: n - 1,
    baseTimestamp,
    maxTimestamp: baseTimestamp + records.reduce((m, r) => (r.timestampDelta > m ? r.timestampDelta : m), 0n),
    producerId: -1n,
    producerEpoch: -1,
    baseSequence: -1,
    recordCount: n,
    batchLengthDelta: 0,
  };
  let hostileRecords = false;
  let payloadOverride: Buffer | null = null;
  let tail: Buffer | null = null;
  const count = rng.chance(0.05) ? 0 : rng.chance(0.1) ? rng.range(5, 10) : rng.range(1, 4);
  for (let m = 0; m < count; m++) {
    switch (rng.int(16)) {
      case 0:
        header.recordCount = rng.pick([0, -1, n + 1, n - 1, n + 2, INT32_MAX, INT32_MIN, 1_000_000]);
        mutations.push(`recordCount=${header.recordCount}`);
        break;
      case 1:
        header.lastOffsetDelta = rng.pick([-1, n, n + 5, INT32_MAX, INT32_MIN, 0, 0x7ffffffe]);
        mutations.push(`lastOffsetDelta=${header.lastOffsetDelta}`);
        break;
      case 2:
        header.maxTimestamp = rng.pick(EXTREME_64);
        mutations.push(`maxTimestamp=${header.maxTimestamp}`);
        break;
      case 3:
        header.baseTimestamp = rng.pick(EXTREME_64);
        if (rng.chance(0.5)) header.maxTimestamp = header.baseTimestamp;
        mutations.push(`baseTimestamp=${header.baseTimestamp}`);
        break;
      case 4: {
        const r = records[rng.int(n)]!;
        r.timestampDelta = rng.pick(EXTREME_64);
        mutations.push(`timestampDelta=${r.timestampDelta}`);
        break;
      }
      case 5: {
        const r = records[rng.int(n)]!;
        r.offsetDelta = rng.pick([-1n, 0n, BigInt(n), BigInt(INT32_MAX), BigInt(INT32_MIN), INT64_MAX]);
        mutations.push(`offsetDelta=${r.offsetDelta}`);
        break;
      }
      case 6:
        header.producerId = rng.pick(EXTREME_64);
        header.producerEpoch = rng.pick(EXTREME_16);
        header.baseSequence = rng.pick(EXTREME_32);
        mutations.push(`producer=${header.producerId}/${header.producerEpoch}/${header.baseSequence}`);
        break;
      case 7:
        // Compression codec bits (1–4 real codecs over an uncompressed payload, 5–7 undefined), the timestamp
        // type bit (LogAppendTime set by a producer), transactional and control bits, or any 16 bits.
        header.attributes = rng.chance(0.2) ? rng.int(0x10000) - 0x8000 : rng.pick([1, 2, 3, 4, 5, 6, 7, 0x08, 0x10, 0x20, 0x30, 0x40, 0x18]);
        mutations.push(`attributes=0x${(header.attributes & 0xffff).toString(16)}`);
        break;
      case 8:
        hostileRecords = true;
        mutations.push('record-varints');
        break;
      case 9:
        header.batchLengthDelta = rng.pick([1, -1, 4, -4, 100, -49, 1 << 20]);
        mutations.push(`batchLengthDelta=${header.batchLengthDelta}`);
        break;
      case 10:
        header.magic = rng.pick([0, 1, 3, 0xff]);
        mutations.push(`magic=${header.magic}`);
        break;
      case 11:
        header.partitionLeaderEpoch = rng.pick(EXTREME_32);
        header.baseOffset = rng.pick(EXTREME_64);
        mutations.push(`baseOffset=${header.baseOffset},epoch=${header.partitionLeaderEpoch}`);
        break;
      case 12: {
        // A real compressed payload (gzip) whose records are themselves hostile, or a gzip bomb.
        header.attributes = (header.attributes & ~7) | 1;
        if (rng.chance(0.02)) {
          payloadOverride = bomb();
          mutations.push('gzip-bomb-160MB');
        } else {
          payloadOverride = gzipSync(Buffer.concat(records.map((r) => encodeRecord(r, rng, true))));
          mutations.push('gzip-hostile-records');
        }
        break;
      }
      case 13:
        payloadOverride = rng.bytes(rng.int(200));
        mutations.push('random-payload');
        break;
      case 14:
        tail = rng.chance(0.5) ? rng.bytes(rng.range(1, 40)) : Buffer.alloc(rng.range(1, 40));
        mutations.push('trailing-bytes');
        break;
      default: {
        const r = records[rng.int(n)]!;
        r.attributes = rng.int(256);
        r.key = rng.chance(0.5) ? null : r.key;
        mutations.push(`record-attributes=${r.attributes},key=${r.key === null ? 'null' : 'set'}`);
        break;
      }
    }
  }
  const payload = payloadOverride ?? Buffer.concat([...records.map((r) => encodeRecord(r, rng, hostileRecords)), ...(tail ? [tail] : [])]);
  const head = Buffer.alloc(61);
  head.writeBigInt64BE(BigInt.asIntN(64, header.baseOffset), 0);
  head.writeInt32BE((49 + payload.length + header.batchLengthDelta) | 0, 8);
  head.writeInt32BE(header.partitionLeaderEpoch | 0, 12);
  head.writeUInt8(header.magic & 0xff, 16);
  head.writeInt16BE(((header.attributes << 16) >> 16), 21);
  head.writeInt32BE(header.lastOffsetDelta | 0, 23);
  head.writeBigInt64BE(BigInt.asIntN(64, header.baseTimestamp), 27);
  head.writeBigInt64BE(BigInt.asIntN(64, header.maxTimestamp), 35);
  head.writeBigInt64BE(BigInt.asIntN(64, header.producerId), 43);
  head.writeInt16BE(((header.producerEpoch << 16) >> 16), 51);
  head.writeInt32BE(header.baseSequence | 0, 53);
  head.writeInt32BE(header.recordCount | 0, 57);
  const bytes = Buffer.concat([head, payload]);
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)) >>> 0, 17);
  if (rng.chance(0.03)) {
    bytes.writeUInt32BE((bytes.readUInt32BE(17) ^ 1) >>> 0, 17);
    mutations.push('bad-crc');
  }
  return { bytes, mutations };
}

/** A plain, valid batch of `n` records (for the structure strategy's records fields and for contrast). */
export function validBatch(rng: Rng, n = rng.range(1, 4)): Buffer {
  const records: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    records.push(encodeRecord({ attributes: 0, timestampDelta: BigInt(i), offsetDelta: BigInt(i), key: null, value: rng.bytes(rng.int(32)), headers: [] }, rng, false));
  }
  const payload = Buffer.concat(records);
  const head = Buffer.alloc(61);
  const ts = 1_700_000_000_000n;
  head.writeInt32BE(49 + payload.length, 8);
  head.writeInt32BE(-1, 12);
  head.writeUInt8(2, 16);
  head.writeInt32BE(n - 1, 23);
  head.writeBigInt64BE(ts, 27);
  head.writeBigInt64BE(ts + BigInt(n - 1), 35);
  head.writeBigInt64BE(-1n, 43);
  head.writeInt16BE(-1, 51);
  head.writeInt32BE(-1, 53);
  head.writeInt32BE(n, 57);
  const bytes = Buffer.concat([head, payload]);
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)) >>> 0, 17);
  return bytes;
}
