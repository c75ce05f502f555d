// Test helpers for the log cleaner tests: read every record of a partition log (decoded independently of
// src/log/cleaner), and list the records of raw batch bytes.
import type { PartitionLog } from '../../src/log/partition-log.js';
import { decompressRecords } from '../../src/protocol/records/compression.js';

export interface ReadRecord {
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: bigint;
  /** The attributes of the batch holding the record. */
  attributes: number;
}

function varint(buf: Buffer, pos: number): { value: number; next: number } {
  let raw = 0;
  let scale = 1;
  for (;;) {
    const b = buf[pos++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) break;
    scale *= 128;
  }
  return { value: raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2, next: pos };
}

/** The records of whole batches in `buf`. */
export function decodeBatches(buf: Buffer): ReadRecord[] {
  const out: ReadRecord[] = [];
  for (let pos = 0; pos + 61 <= buf.length; pos += 12 + buf.readInt32BE(pos + 8)) {
    const end = pos + 12 + buf.readInt32BE(pos + 8);
    const baseOffset = buf.readBigInt64BE(pos);
    const attributes = buf.readInt16BE(pos + 21);
    const baseTimestamp = buf.readBigInt64BE(pos + 27);
    const count = buf.readInt32BE(pos + 57);
    const codec = attributes & 7;
    const records = codec === 0 ? buf.subarray(pos + 61, end) : decompressRecords(codec, buf.subarray(pos + 61, end));
    let p = 0;
    for (let i = 0; i < count; i++) {
      const length = varint(records, p);
      const recordEnd = length.next + length.value;
      const ts = varint(records, length.next + 1);
      const offsetDelta = varint(records, ts.next);
      const keyLength = varint(records, offsetDelta.next);
      const key = keyLength.value < 0 ? null : records.toString('utf8', keyLength.next, keyLength.next + keyLength.value);
      const valueAt = keyLength.next + Math.max(keyLength.value, 0);
      const valueLength = varint(records, valueAt);
      const value = valueLength.value < 0 ? null : records.toString('utf8', valueLength.next, valueLength.next + valueLength.value);
      out.push({ offset: baseOffset + BigInt(offsetDelta.value), key, value, timestamp: baseTimestamp + BigInt(ts.value), attributes });
      p = recordEnd;
    }
  }
  return out;
}

/** Every record of `log` from its start to the high watermark, as a consumer reads them. */
export async function readAll(log: PartitionLog): Promise<ReadRecord[]> {
  const out: ReadRecord[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 100_000 && offset < log.highWatermark; i++) {
    const buf = await log.read(offset, 1 << 20, true);
    if (buf === null || buf.length === 0) break;
    out.push(...decodeBatches(buf));
    let pos = 0;
    let next = offset;
    while (pos + 61 <= buf.length) {
      next = buf.readBigInt64BE(pos) + BigInt(buf.readInt32BE(pos + 23)) + 1n;
      pos += 12 + buf.readInt32BE(pos + 8);
    }
    offset = next;
  }
  return out;
}
