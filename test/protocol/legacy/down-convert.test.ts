import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { KafkaError } from '../../../src/errors.js';
import { decompressRecords } from '../../../src/protocol/records/compression.js';
import { downConvertRecords } from '../../../src/protocol/records/legacy/down-convert.js';
import { buildRecordBatch, encodeVarint, fixCrc } from '../records/batch-builder.js';
import { decodeMessageSet, gunzip, message, messageSet, xxh32 } from './legacy-helpers.js';

const T = 1_700_000_000_000n;

function v2Batch(count: number, extra: Partial<Parameters<typeof buildRecordBatch>[0]> = {}, valueSize = 5): Buffer {
  return buildRecordBatch({
    baseTimestamp: T,
    records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}`.padEnd(valueSize, '.'), timestampDelta: i })),
    ...extra,
  });
}

/** `batch` with its records section gzip-compressed (attributes codec 1), CRC fixed. */
function gzipBatch(batch: Buffer): Buffer {
  const compressed = gzipSync(batch.subarray(61));
  const out = Buffer.concat([batch.subarray(0, 61), compressed]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(out.readInt16BE(21) | 1, 21);
  return fixCrc(out);
}

describe('down-conversion of RecordBatch v2 to magic 0 and 1', () => {
  it('writes a v2 batch with headers as magic-0 messages, byte for byte, headers dropped', async () => {
    const batch = buildRecordBatch({
      baseOffset: 7n,
      baseTimestamp: T,
      records: [
        { key: 'a', value: 'one', headers: [{ key: 'h', value: 'x' }] },
        { key: null, value: 'two', headers: [{ key: 'h2', value: null }], timestampDelta: 1, offsetDelta: 1 },
      ],
    });
    const out = await downConvertRecords(batch, 0, 7n, 1 << 20);
    const expected = messageSet([
      { offset: 7n, magic: 0, key: 'a', value: 'one' },
      { offset: 8n, magic: 0, key: null, value: 'two' },
    ]);
    expect(out.records.toString('hex')).toBe(expected.toString('hex'));
    expect(out).toMatchObject({ nextOffset: 9n, complete: true });
  });

  it('writes magic-1 messages with the record timestamps (CreateTime) byte for byte', async () => {
    const out = await downConvertRecords(v2Batch(2, { baseOffset: 3n }), 1, 3n, 1 << 20);
    const expected = messageSet([
      { offset: 3n, magic: 1, timestamp: T, key: 'k0', value: 'v0...' },
      { offset: 4n, magic: 1, timestamp: T + 1n, key: 'k1', value: 'v1...' },
    ]);
    expect(out.records.toString('hex')).toBe(expected.toString('hex'));
  });

  it('gives magic-1 messages of a LogAppendTime batch the append time and the timestamp-type bit', async () => {
    const out = await downConvertRecords(v2Batch(2, { attributes: 0x08, maxTimestamp: T + 500n }), 1, 0n, 1 << 20);
    expect(decodeMessageSet(out.records).map((m) => [m.attributes, m.timestamp])).toEqual([[8, T + 500n], [8, T + 500n]]);
  });

  it('drops records below the fetch offset from an uncompressed batch', async () => {
    const out = await downConvertRecords(v2Batch(5, { baseOffset: 10n }), 1, 12n, 1 << 20);
    expect(decodeMessageSet(out.records).map((m) => m.offset)).toEqual([12n, 13n, 14n]);
  });

  it('splits a large batch at the byte limit at whole messages, and always returns the first message', async () => {
    const batch = v2Batch(10, {}, 100);
    const one = message({ offset: 0n, magic: 1, timestamp: T, key: 'k0', value: 'v0'.padEnd(100, '.') }).length;
    const out = await downConvertRecords(batch, 1, 0n, one * 3 + one - 1);
    expect(decodeMessageSet(out.records).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    expect(out.records.length).toBe(one * 3);
    expect(out).toMatchObject({ complete: false, nextOffset: 0n });
    const first = await downConvertRecords(batch, 1, 0n, 10);
    expect(decodeMessageSet(first.records).map((m) => m.offset)).toEqual([0n]);
  });

  it('writes a gzip batch as one magic-1 wrapper with relative inner offsets and the last offset outside', async () => {
    const out = await downConvertRecords(gzipBatch(v2Batch(3, { baseOffset: 20n })), 1, 21n, 1 << 20);
    const [w, ...rest] = decodeMessageSet(out.records);
    expect(rest).toEqual([]);
    expect(w).toMatchObject({ offset: 22n, magic: 1, attributes: 1, timestamp: T + 2n, key: null, crcValid: true });
    const expectedInner = messageSet([
      { offset: 0n, magic: 1, timestamp: T, key: 'k0', value: 'v0...' },
      { offset: 1n, magic: 1, timestamp: T + 1n, key: 'k1', value: 'v1...' },
      { offset: 2n, magic: 1, timestamp: T + 2n, key: 'k2', value: 'v2...' },
    ]);
    expect(gunzip(w!.value!).toString('hex')).toBe(expectedInner.toString('hex'));
  });

  it('writes a magic-0 wrapper with absolute inner offsets, and lz4 with the broken descriptor checksum', async () => {
    const gz = decodeMessageSet((await downConvertRecords(gzipBatch(v2Batch(2, { baseOffset: 5n })), 0, 5n, 1 << 20)).records);
    expect(decodeMessageSet(gunzip(gz[0]!.value!)).map((m) => m.offset)).toEqual([5n, 6n]);

    const lz4Batch = v2Batch(2, { baseOffset: 5n });
    const frame = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
    frame[6] = (xxh32(frame.subarray(4, 6)) >>> 8) & 0xff;
    const size = Buffer.alloc(4);
    const section = lz4Batch.subarray(61);
    size.writeUInt32LE((section.length | 0x80000000) >>> 0);
    const lz4 = Buffer.concat([lz4Batch.subarray(0, 61), frame, size, section, Buffer.alloc(4)]);
    lz4.writeInt32BE(lz4.length - 12, 8);
    lz4.writeInt16BE(3, 21);
    const [w] = decodeMessageSet((await downConvertRecords(fixCrc(lz4), 0, 5n, 1 << 20)).records);
    expect(w).toMatchObject({ offset: 6n, magic: 0, attributes: 3 });
    expect(w!.value![6]).toBe((xxh32(w!.value!.subarray(0, 6)) >>> 8) & 0xff);
    expect(w!.value![6]).not.toBe((xxh32(w!.value!.subarray(4, 6)) >>> 8) & 0xff);
  });

  it('skips control batches and converts the data around them', async () => {
    const marker = buildRecordBatch({ baseOffset: 2n, attributes: 0x30, producerId: 9n, producerEpoch: 0, records: [{ key: Buffer.from([0, 0, 0, 0]), value: Buffer.alloc(6) }] });
    const input = Buffer.concat([v2Batch(2, { baseOffset: 0n }), marker, v2Batch(1, { baseOffset: 3n })]);
    const out = await downConvertRecords(input, 1, 0n, 1 << 20);
    expect(decodeMessageSet(out.records).map((m) => m.offset)).toEqual([0n, 1n, 3n]);
    expect(out.nextOffset).toBe(4n);
    const onlyMarker = await downConvertRecords(marker, 1, 2n, 1 << 20);
    expect(onlyMarker).toMatchObject({ records: Buffer.alloc(0), nextOffset: 3n, complete: true });
  });

  it('answers UNSUPPORTED_COMPRESSION_TYPE for a zstd batch first, and stops before one later', async () => {
    const zstd = v2Batch(1, { baseOffset: 1n, attributes: 4 });
    const err = await downConvertRecords(zstd, 1, 1n, 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    const out = await downConvertRecords(Buffer.concat([v2Batch(1), zstd]), 1, 0n, 1 << 20);
    expect(decodeMessageSet(out.records).map((m) => m.offset)).toEqual([0n]);
    expect(out).toMatchObject({ complete: false, nextOffset: 1n });
  });

  it('writes a varint-heavy record (long key) correctly', async () => {
    const key = 'k'.repeat(300);
    const batch = buildRecordBatch({ baseTimestamp: T, records: [{ key, value: 'v' }] });
    const [m] = decodeMessageSet((await downConvertRecords(batch, 1, 0n, 1 << 20)).records);
    expect(m!.key!.toString()).toBe(key);
    expect(encodeVarint(300).length).toBe(2);
    expect(decompressRecords(0, batch)).toBe(batch);
  });
});
