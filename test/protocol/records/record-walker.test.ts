import { describe, expect, it } from 'vitest';
import { forEachRecord, makeRecordWalk, walkRecords, type RecordView } from '../../../src/protocol/records/record-walker.js';
import { decompressRecords } from '../../../src/protocol/records/compression.js';
import { buildRecordBatch, encodeVarint, fixCrc } from './batch-builder.js';
import { compressBatch, type TestCodec } from './compressed-batch.js';

/** Walks the records of an uncompressed batch built by batch-builder (records from byte 61). */
function walk(batch: Buffer, count = batch.readInt32BE(57), skip = NaN) {
  return { ...walkRecords(batch, 61, batch.length, count, skip, makeRecordWalk()) };
}

/** A batch whose records section is `records` verbatim (header count `count`). */
function rawBatch(records: Buffer, count: number): Buffer {
  const header = buildRecordBatch({ records: [{ value: 'x' }] }).subarray(0, 61);
  const batch = Buffer.concat([header, records]);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(count, 57);
  batch.writeInt32BE(count - 1, 23);
  return fixCrc(batch);
}

/** One record body from its fields (length prefix added). */
function record(fields: Buffer[]): Buffer {
  const body = Buffer.concat(fields);
  return Buffer.concat([encodeVarint(body.length), body]);
}

const v = encodeVarint;

describe('walkRecords', () => {
  it('reports count, largest and smallest timestamp deltas with the first record carrying the largest, and null keys', () => {
    const batch = buildRecordBatch({
      records: [
        { key: 'a', value: 'x', timestampDelta: 5 },
        { key: null, value: 'y', timestampDelta: 300, headers: [{ key: 'h', value: 'v' }, { key: 'n', value: null }] },
        { key: 'c', value: null, timestampDelta: 300 },
        { key: null, value: Buffer.alloc(1000), timestampDelta: -7 },
      ],
    });
    expect(walk(batch)).toEqual({
      count: 4,
      maxTimestampDelta: 300,
      maxTimestampIndex: 1,
      minTimestampDelta: -7,
      keylessCount: 2,
      wideTimestampDelta: false,
      errorIndex: -1,
      error: '',
    });
  });

  it('leaves the "no timestamp" delta out of the smallest delta', () => {
    const batch = buildRecordBatch({ records: [{ value: 'a', timestampDelta: -5 }, { value: 'b', timestampDelta: 10 }] });
    expect(walk(batch, 2, -5).minTimestampDelta).toBe(10);
    expect(walk(batch, 2, NaN).minTimestampDelta).toBe(-5);
  });

  it('the issue-8 batch: recordCount 3 holding 1 record is a premature EOF at record 1', () => {
    const batch = buildRecordBatch({ records: [{ value: 'only' }], recordCount: 3, lastOffsetDelta: 2 });
    expect(walk(batch)).toMatchObject({ count: 1, errorIndex: 1, error: 'Incorrect declared batch size, premature EOF reached' });
  });

  it('garbage varints are an invalid record structure', () => {
    // A length varint of 0xff bytes: more than 5 bytes.
    expect(walk(rawBatch(Buffer.alloc(12, 0xff), 1))).toMatchObject({ errorIndex: 0, error: 'Found invalid record structure' });
    // A timestamp varlong running past the records.
    expect(walk(rawBatch(Buffer.from([0x06, 0x00, 0xff, 0xff, 0xff]), 1))).toMatchObject({ errorIndex: 0 });
    // A 5-byte varint whose last byte has its continuation bit set.
    const longKey = record([Buffer.from([0]), v(0), v(0), Buffer.from([0x80, 0x80, 0x80, 0x80, 0x81, 0x00]), v(-1), v(0)]);
    expect(walk(rawBatch(longKey, 1))).toMatchObject({ errorIndex: 0, error: 'Found invalid record structure' });
  });

  it('reads a 5-byte varint as Java does: bits beyond 32 dropped', () => {
    // 0xff 0xff 0xff 0xff 0x7f: raw 0xffffffff → zig-zag -2147483648 → a negative key length: null key.
    const rec = record([Buffer.from([0]), v(0), v(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), v(-1), v(0)]);
    expect(walk(rawBatch(rec, 1))).toMatchObject({ errorIndex: -1, keylessCount: 1 });
  });

  it('a length larger than the bytes left is refused with the sizes', () => {
    const rec = Buffer.concat([v(100), Buffer.from([0, 0, 0, 1, 1, 0])]);
    expect(walk(rawBatch(rec, 1)).error).toBe('Invalid record size: expected 100 bytes in record payload, but instead the buffer has only 6 remaining bytes.');
  });

  it('fields that do not end at the record length are refused', () => {
    const fields = [Buffer.from([0]), v(0), v(0), v(-1), v(1), Buffer.from('x'), v(0)];
    const body = Buffer.concat(fields);
    const tooLong = Buffer.concat([v(body.length + 2), body, Buffer.from([0, 0])]);
    expect(walk(rawBatch(tooLong, 1)).error).toBe(`Invalid record size: expected to read ${body.length + 2} bytes in record payload, but instead read ${body.length}`);
    // A key length that runs past the record but not past the records is caught the same way.
    const next = record([Buffer.from([0]), v(0), v(1), v(-1), v(-1), v(0)]);
    const overlapping = Buffer.concat([record([Buffer.from([0]), v(0), v(0), v(3), Buffer.from('ab')]), next]);
    expect(walk(rawBatch(overlapping, 2))).toMatchObject({ errorIndex: 0 });
  });

  it('negative or oversized header counts and negative header key lengths are refused', () => {
    const base = [Buffer.from([0]), v(0), v(0), v(-1), v(-1)];
    expect(walk(rawBatch(record([...base, v(-1)]), 1)).error).toBe('Found invalid number of record headers -1');
    expect(walk(rawBatch(record([...base, v(50)]), 1)).error).toBe('Found invalid number of record headers. 50 is larger than the remaining size of the buffer');
    expect(walk(rawBatch(record([...base, v(1), v(-2), v(-1)]), 1)).error).toBe('Invalid negative header key size -2');
  });

  it('bytes left after the declared records are refused', () => {
    const batch = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], recordCount: 1, lastOffsetDelta: 0 });
    expect(walk(batch)).toMatchObject({ count: 1, errorIndex: 0, error: 'Incorrect declared batch size, records still remaining in file' });
  });

  it('an offset delta other than the record index is refused', () => {
    const batch = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b', offsetDelta: 5 }] });
    expect(walk(batch)).toMatchObject({ errorIndex: 1, error: "Record 1 has offset delta 5: the offset deltas of a batch's records must be 0, 1, 2, ..." });
  });

  it('flags timestamp deltas too long to be exact as numbers, and forEachRecord reads them exactly', () => {
    const delta = 2n ** 60n + 3n;
    const batch = rawBatch(Buffer.concat([
      record([Buffer.from([0]), v(1), v(0), v(-1), v(1), Buffer.from('a'), v(0)]),
      record([Buffer.from([0]), v(delta), v(1), v(-1), v(1), Buffer.from('b'), v(0)]),
    ]), 2);
    expect(walk(batch).wideTimestampDelta).toBe(true);
    const seen: Array<Omit<RecordView, 'index'> & { index: number }> = [];
    expect(forEachRecord(batch, 61, batch.length, 2, (r) => seen.push({ ...r }))).toBe('');
    expect(seen.map((r) => r.timestampDelta)).toEqual([1n, delta]);
    expect(seen.map((r) => [r.index, r.offsetDelta, r.keyLength, r.valueLength])).toEqual([[0, 0, -1, 1], [1, 1, -1, 1]]);
  });

  it('forEachRecord stops at a malformed record with its reason', () => {
    const batch = buildRecordBatch({ records: [{ value: 'only' }], recordCount: 3, lastOffsetDelta: 2 });
    const seen: number[] = [];
    expect(forEachRecord(batch, 61, batch.length, 3, (r) => seen.push(r.index))).toBe('Incorrect declared batch size, premature EOF reached');
    expect(seen).toEqual([0]);
  });

  for (const codec of ['gzip', 'snappy', 'snappy-xerial', 'lz4'] as TestCodec[]) {
    it(`walks the decompressed records of a ${codec} batch, and finds the same malformed record`, () => {
      const good = compressBatch(buildRecordBatch({ records: Array.from({ length: 50 }, (_, i) => ({ key: i % 2 ? null : `k${i}`, value: 'v'.repeat(100), timestampDelta: i * 3 })) }), codec);
      const records = decompressRecords(good.readInt16BE(21) & 7, good.subarray(61));
      expect(walkRecords(records, 0, records.length, 50, NaN, makeRecordWalk())).toMatchObject({ count: 50, maxTimestampDelta: 147, maxTimestampIndex: 49, keylessCount: 25, errorIndex: -1 });
      const bad = compressBatch(buildRecordBatch({ records: [{ value: 'only' }], recordCount: 3, lastOffsetDelta: 2 }), codec);
      const badRecords = decompressRecords(bad.readInt16BE(21) & 7, bad.subarray(61));
      expect(walkRecords(badRecords, 0, badRecords.length, 3, NaN, makeRecordWalk())).toMatchObject({ errorIndex: 1, error: 'Incorrect declared batch size, premature EOF reached' });
    });
  }
});
