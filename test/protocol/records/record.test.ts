import { describe, expect, it } from 'vitest';
import { offsetOfMaxTimestamp, searchBatchForTimestamp } from '../../../src/protocol/records/record.js';
import { buildRecordBatch } from './batch-builder.js';

describe('searchBatchForTimestamp', () => {
  const batch = buildRecordBatch({
    baseOffset: 100n,
    baseTimestamp: 1_700_000_000_000n,
    records: [
      { key: 'a', value: 'x', timestampDelta: 0 },
      { key: 'b', value: Buffer.alloc(300), timestampDelta: 70_000, headers: [{ key: 'h', value: null }] },
      { value: null, timestampDelta: 20 },
      { value: 'late', timestampDelta: 9_000_000_000 },
    ],
  });

  it('returns the first record at or after the target, with its own timestamp', () => {
    expect(searchBatchForTimestamp(batch, 0n)).toEqual({ offset: 100n, timestamp: 1_700_000_000_000n });
    expect(searchBatchForTimestamp(batch, 1_700_000_000_001n)).toEqual({ offset: 101n, timestamp: 1_700_000_070_000n });
    expect(searchBatchForTimestamp(batch, 1_700_000_070_001n)).toEqual({ offset: 103n, timestamp: 1_709_000_000_000n });
    expect(searchBatchForTimestamp(batch, 1_800_000_000_000n)).toBeUndefined();
  });

  it('answers a LogAppendTime batch from its maxTimestamp without reading records, and refuses malformed records', () => {
    const logAppend = Buffer.from(batch);
    logAppend.writeInt16BE(8, 21);
    expect(searchBatchForTimestamp(logAppend, 0n)).toEqual({ offset: 100n, timestamp: logAppend.readBigInt64BE(35) });
    const malformed = Buffer.from(batch);
    malformed[61] = 0xfe; // record length varint claims far more bytes than the batch has
    malformed[62] = 0x7f;
    expect(() => searchBatchForTimestamp(malformed, 1n)).toThrow();
  });
});

describe('timestamps near Long.MAX_VALUE wrap as Java longs do', () => {
  const INT64_MAX = 0x7fffffffffffffffn;
  // Stored before produce-time validation existed, or by any writer: base near the top, a positive delta.
  const batch = buildRecordBatch({
    baseTimestamp: INT64_MAX - 2n,
    maxTimestamp: INT64_MAX,
    records: [{ value: 'a', timestampDelta: 0 }, { value: 'b', timestampDelta: 5 }],
  });

  it('a record whose base + delta passes 2^63-1 has a negative timestamp, never an out-of-range one', () => {
    // Unwrapped, record 1 would be 2^63 + 2 and could not be written into a ListOffsets answer.
    expect(searchBatchForTimestamp(batch, INT64_MAX - 1n)).toBeUndefined();
    expect(searchBatchForTimestamp(batch, INT64_MAX - 2n)).toEqual({ offset: 0n, timestamp: INT64_MAX - 2n });
    expect(searchBatchForTimestamp(batch, -0x8000000000000000n)).toEqual({ offset: 0n, timestamp: INT64_MAX - 2n });
  });
});

describe('searching from a starting offset (the log start offset inside a batch) and batches with offset gaps', () => {
  const batch = buildRecordBatch({
    baseOffset: 100n,
    baseTimestamp: 1000n,
    records: [0, 10, 20, 30, 40].map((d) => ({ value: `r${d}`, timestampDelta: d })),
  });

  it('skips the records below startingOffset and answers none when it is past the batch', () => {
    expect(searchBatchForTimestamp(batch, 0n, 102n)).toEqual({ offset: 102n, timestamp: 1020n });
    expect(searchBatchForTimestamp(batch, 1031n, 102n)).toEqual({ offset: 104n, timestamp: 1040n });
    expect(searchBatchForTimestamp(batch, 0n, 99n)).toEqual({ offset: 100n, timestamp: 1000n });
    expect(searchBatchForTimestamp(batch, 0n, 105n)).toBeUndefined();
  });

  it('a LogAppendTime batch with contiguous offsets answers the later of its base offset and startingOffset', () => {
    const logAppend = Buffer.from(batch);
    logAppend.writeInt16BE(8, 21);
    expect(searchBatchForTimestamp(logAppend, 0n, 103n)).toEqual({ offset: 103n, timestamp: 1040n });
    expect(offsetOfMaxTimestamp(logAppend)).toBe(100n);
  });

  it('a LogAppendTime batch whose first records were compacted away answers its first remaining record', () => {
    // As the cleaner leaves it: base offset kept, records 0 and 1 removed (offset deltas 2, 4; lastOffsetDelta 4).
    const cleaned = buildRecordBatch({
      baseOffset: 100n,
      baseTimestamp: 1000n,
      attributes: 8,
      lastOffsetDelta: 4,
      records: [{ value: 'a', offsetDelta: 2, timestampDelta: 0 }, { value: 'b', offsetDelta: 4, timestampDelta: 0 }],
    });
    expect(searchBatchForTimestamp(cleaned, 0n)).toEqual({ offset: 102n, timestamp: cleaned.readBigInt64BE(35) });
    expect(searchBatchForTimestamp(cleaned, 0n, 103n)).toEqual({ offset: 104n, timestamp: cleaned.readBigInt64BE(35) });
    expect(offsetOfMaxTimestamp(cleaned)).toBe(102n);
  });
});
