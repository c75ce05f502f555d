// Reads back a partition for the crash loop's check, with our own codec client and an independent decoder of
// uncompressed RecordBatch v2 bytes (not the broker's code), so a broker bug cannot hide itself.
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../../test/helpers/kafka-test-client.js';

function readVarint(buf: Buffer, pos: number): [number, number] {
  let shift = 0;
  let raw = 0n;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos++];
    if (b === undefined) throw new Error('varint past the end');
    raw |= BigInt(b & 0x7f) << BigInt(shift);
    if ((b & 0x80) === 0) return [Number((raw >> 1n) ^ -(raw & 1n)), pos];
    shift += 7;
  }
  throw new Error('varint too long');
}

/** Calls `onRecord(offset, value)` for every record of every whole batch in `records`. */
export function decodeRecords(records: Buffer, onRecord: (offset: bigint, value: Buffer | null) => void): void {
  let pos = 0;
  while (pos + 61 <= records.length) {
    const baseOffset = records.readBigInt64BE(pos);
    const batchLength = records.readInt32BE(pos + 8);
    const end = pos + 12 + batchLength;
    if (end > records.length) break; // a partial batch at the end of a fetch
    const attributes = records.readInt16BE(pos + 21);
    if ((attributes & 7) !== 0) throw new Error(`batch at ${baseOffset} is compressed (attributes ${attributes}); the crash loop sends uncompressed`);
    const count = records.readInt32BE(pos + 57);
    let p = pos + 61;
    for (let i = 0; i < count; i++) {
      let length: number;
      [length, p] = readVarint(records, p);
      const recordEnd = p + length;
      p += 1; // attributes
      [, p] = readVarint(records, p); // timestamp delta
      let offsetDelta: number;
      [offsetDelta, p] = readVarint(records, p);
      let keyLength: number;
      [keyLength, p] = readVarint(records, p);
      if (keyLength > 0) p += keyLength;
      let valueLength: number;
      [valueLength, p] = readVarint(records, p);
      const value = valueLength < 0 ? null : records.subarray(p, p + valueLength);
      onRecord(baseOffset + BigInt(offsetDelta), value);
      p = recordEnd;
    }
    pos = end;
  }
}

/** Every record of `topic`/`partition` from offset 0 up to `untilOffset` (exclusive) or the high watermark. */
export async function readPartition(port: number, topic: string, partition: number, untilOffset: bigint): Promise<{ values: Map<bigint, Buffer | null>; highWatermark: bigint }> {
  const client = await TestClient.connect(port, 'eddy-crashloop-check');
  const values = new Map<bigint, Buffer | null>();
  let highWatermark = -1n;
  try {
    let offset = 0n;
    for (let round = 0; round < 100_000; round++) {
      const response = await client.send(ApiKey.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 8 << 20,
        isolationLevel: 0,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 8 << 20 }] }],
      });
      const p = response.responses[0].partitions[0];
      if (p.errorCode !== 0) throw new Error(`Fetch ${topic}-${partition} at ${offset}: error ${p.errorCode}`);
      highWatermark = p.highWatermark;
      let last = offset - 1n;
      if (p.records !== null) {
        decodeRecords(p.records, (o, v) => {
          if (o >= offset) values.set(o, v);
          if (o > last) last = o;
        });
      }
      if (last < offset) break; // nothing new: at the high watermark
      offset = last + 1n;
      if (offset >= untilOffset || offset >= highWatermark) break;
    }
  } finally {
    client.close();
  }
  return { values, highWatermark };
}
