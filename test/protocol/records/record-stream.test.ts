import { describe, expect, it } from 'vitest';
import { RecordStream, forEachRecord, makeRecordWalk, walkRecords, type RecordView } from '../../../src/protocol/records/record-walker.js';
import { buildRecordBatch, encodeVarint } from './batch-builder.js';

// RecordStream must give exactly what walkRecords gives over the whole records, wherever the pieces split them.

const v = encodeVarint;

/** The walk's result to compare (wideTimestampDelta only matters when no record is malformed). */
function comparable(walk: ReturnType<typeof makeRecordWalk>) {
  const { wideTimestampDelta, ...rest } = walk;
  return walk.errorIndex >= 0 ? rest : { ...rest, wideTimestampDelta };
}

/** walkRecords over the whole records section. */
function whole(records: Buffer, count: number, skip = NaN) {
  return comparable(walkRecords(records, 0, records.length, count, skip, makeRecordWalk()));
}

/** RecordStream over `records` cut at `cuts` (ascending offsets). */
function streamed(records: Buffer, count: number, cuts: number[], skip = NaN) {
  const stream = new RecordStream();
  stream.begin(count, skip, makeRecordWalk());
  let from = 0;
  for (const cut of [...cuts, records.length]) {
    stream.push(records.subarray(from, cut));
    from = cut;
  }
  return comparable(stream.end());
}

/** Every single cut, every pair of neighbouring cuts, and one-byte pieces. */
function splits(length: number): number[][] {
  const out: number[][] = [[], Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1)];
  for (let i = 0; i <= length; i++) {
    out.push([i]);
    if (i + 1 <= length) out.push([i, i + 1]);
  }
  return out;
}

function recordsOf(records: Parameters<typeof buildRecordBatch>[0]['records']): Buffer {
  return Buffer.from(buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records }).subarray(61));
}

/** One record body from its fields (length prefix added, or `length` when given). */
function record(fields: Buffer[], length?: number): Buffer {
  const body = Buffer.concat(fields);
  return Buffer.concat([v(length ?? body.length), body]);
}

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WELL_FORMED = recordsOf([
  { key: 'k0', value: 'v'.repeat(200), headers: [{ key: 'h', value: 'x' }, { key: '', value: null }], timestampDelta: 0 },
  { key: null, value: null, timestampDelta: 2 ** 40 },
  { key: 'k2', value: 'value-2', timestampDelta: -5 },
  { key: 'k'.repeat(130), value: 'w'.repeat(300), headers: [{ key: 'header-key', value: 'y'.repeat(140) }], timestampDelta: 7 },
]);

describe('RecordStream', () => {
  it('gives walkRecords\' result at every split of well-formed records, varints split included', () => {
    const expected = whole(WELL_FORMED, 4, 5);
    expect(expected.errorIndex).toBe(-1);
    for (const cuts of splits(WELL_FORMED.length)) expect(streamed(WELL_FORMED, 4, cuts, 5)).toEqual(expected);
  });

  it('flags wide timestamp deltas across pieces, and a visitor sees the exact deltas forEachRecord sees', () => {
    const records = Buffer.concat([
      record([Buffer.from([0]), v(2n ** 60n), v(0), v(-1), v(-1), v(0)]),
      record([Buffer.from([0]), v(-(2n ** 62n)), v(1), v(1), Buffer.from('k'), v(0), v(0)]),
    ]);
    const reference: RecordView[] = [];
    forEachRecord(records, 0, records.length, 2, (r) => reference.push({ ...r }));
    for (const cuts of splits(records.length)) {
      const seen: RecordView[] = [];
      const stream = new RecordStream();
      const out = makeRecordWalk();
      stream.begin(2, NaN, out, (r) => seen.push({ ...r }));
      let from = 0;
      for (const cut of [...cuts, records.length]) {
        stream.push(records.subarray(from, cut));
        from = cut;
      }
      expect(stream.end()).toMatchObject({ errorIndex: -1, count: 2, wideTimestampDelta: true });
      expect(seen).toEqual(reference);
    }
  });

  const malformed: Array<[string, Buffer, number]> = [
    ['premature EOF (count 3 holding 2)', recordsOf([{ value: 'a' }, { value: 'b' }]), 3],
    ['records left after the count', recordsOf([{ value: 'a' }, { value: 'b' }]), 1],
    ['records in a batch of count 0', recordsOf([{ value: 'a' }]), 0],
    ['a length larger than the bytes left', record([Buffer.from([0]), v(0), v(0), v(-1), v(1), Buffer.from('x'), v(0)], 50), 1],
    ['fields short of the length', record([Buffer.from([0]), v(0), v(0), v(-1), v(1), Buffer.from('x'), v(0)], 6), 1],
    ['fields past the length', Buffer.concat([record([Buffer.from([0]), v(0), v(0), v(-1), v(3), Buffer.from('xyz'), v(0)], 4), Buffer.alloc(8)]), 1],
    ['a key running past the end', record([Buffer.from([0]), v(0), v(0), v(1000), Buffer.from('k')]), 1],
    ['a negative header count', record([Buffer.from([0]), v(0), v(0), v(-1), v(-1), v(-3)]), 1],
    ['a header count larger than the bytes left', record([Buffer.from([0]), v(0), v(0), v(-1), v(-1), v(90)]), 1],
    ['a header count too large with a bad header key size', record([Buffer.from([0]), v(0), v(0), v(-1), v(-1), v(90), v(-2)]), 1],
    ['a negative header key size', record([Buffer.from([0]), v(0), v(0), v(-1), v(-1), v(1), v(-2), v(0)]), 1],
    ['an overlong varint', record([Buffer.from([0]), v(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), v(-1), v(-1), v(0)]), 1],
    ['an overlong varlong', record([Buffer.from([0]), Buffer.alloc(10, 0xff), v(0), v(-1), v(-1), v(0)]), 1],
    ['an overlong length varint', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1],
    ['a truncated length varint', Buffer.from([0xff, 0xff]), 1],
    ['an offset delta other than the index', record([Buffer.from([0]), v(0), v(5), v(-1), v(-1), v(0)]), 1],
    ['a huge declared length', Buffer.concat([v(0x7fffffff), Buffer.alloc(20)]), 1],
  ];
  it.each(malformed)('finds the same malformed record and reason at every split: %s', (_name, records, count) => {
    const expected = whole(records, count);
    expect(expected.errorIndex).toBeGreaterThanOrEqual(0);
    for (const cuts of splits(records.length)) expect(streamed(records, count, cuts)).toEqual(expected);
  });

  it('agrees with walkRecords on 3,000 randomly damaged record sections cut at random places', () => {
    const next = rng(20261201);
    const base = Buffer.concat([WELL_FORMED, recordsOf([{ key: 'a', value: 'b', headers: [{ key: 'c', value: 'd' }] }])]);
    let malformedSeen = 0;
    for (let n = 0; n < 3000; n++) {
      const records = Buffer.from(base);
      const edits = 1 + Math.floor(next() * 3);
      let damaged: Buffer = records;
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * damaged.length);
        const kind = next();
        if (kind < 0.5) damaged[at] = Math.floor(next() * 256);
        else if (kind < 0.7) damaged = damaged.subarray(0, at);
        else if (kind < 0.85) damaged = Buffer.concat([damaged.subarray(0, at), Buffer.from([Math.floor(next() * 256)]), damaged.subarray(at)]);
        else damaged = Buffer.concat([damaged.subarray(0, at), damaged.subarray(at + 1)]);
      }
      const count = 5 + Math.floor(next() * 3) - 1;
      const expected = whole(damaged, count, 5);
      if (expected.errorIndex >= 0) malformedSeen++;
      const cuts = Array.from({ length: Math.floor(next() * 6) }, () => Math.floor(next() * (damaged.length + 1))).sort((a, b) => a - b);
      expect(streamed(damaged, count, cuts, 5)).toEqual(expected);
    }
    expect(malformedSeen).toBeGreaterThan(1000);
  });
});
