import { describe, expect, it } from 'vitest';
import { searchBatchForTimestamp } from '../../../src/protocol/records/record.js';
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
