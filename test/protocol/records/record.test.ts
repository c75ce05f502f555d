import { describe, expect, it } from 'vitest';
import { findRecordAtTimestamp } from '../../../src/protocol/records/record.js';
import { buildRecordBatch, fixCrc } from './batch-builder.js';

describe('findRecordAtTimestamp', () => {
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
    expect(findRecordAtTimestamp(batch, 0, 0n)).toEqual({ offset: 100n, timestamp: 1_700_000_000_000n });
    expect(findRecordAtTimestamp(batch, 0, 1_700_000_000_001n)).toEqual({ offset: 101n, timestamp: 1_700_000_070_000n });
    expect(findRecordAtTimestamp(batch, 0, 1_700_000_070_001n)).toEqual({ offset: 103n, timestamp: 1_709_000_000_000n });
    expect(findRecordAtTimestamp(batch, 0, 1_800_000_000_000n)).toBeUndefined();
  });

  it('declines compressed and LogAppendTime batches and malformed records', () => {
    const compressed = Buffer.from(batch);
    compressed.writeInt16BE(2, 21);
    expect(findRecordAtTimestamp(fixCrc(compressed), 0, 0n)).toBeUndefined();
    const logAppend = Buffer.from(batch);
    logAppend.writeInt16BE(8, 21);
    expect(findRecordAtTimestamp(logAppend, 0, 0n)).toBeUndefined();
    const malformed = Buffer.from(batch);
    malformed[61] = 0xfe; // record length varint claims far more bytes than the batch has
    malformed[62] = 0x7f;
    expect(findRecordAtTimestamp(malformed, 0, 0n)).toBeUndefined();
  });
});
