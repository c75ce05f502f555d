import { describe, expect, it } from 'vitest';
import { OffsetIndex } from '../../src/log/offset-index.js';
import { TimeIndex } from '../../src/log/time-index.js';

function entries(pairs: Array<[number, number]>): Buffer {
  const buf = Buffer.alloc(pairs.length * 8);
  pairs.forEach(([o, p], i) => {
    buf.writeInt32BE(o, i * 8);
    buf.writeInt32BE(p, i * 8 + 4);
  });
  return buf;
}

describe('OffsetIndex', () => {
  it('looks up the floor entry and returns position 0 below the first entry', () => {
    const index = new OffsetIndex(100, 2);
    index.append(10, 4100);
    index.append(20, 8300);
    index.append(35, 12_500);
    expect(index.lookup(0)).toBe(0);
    expect(index.lookup(9)).toBe(0);
    expect(index.lookup(10)).toBe(4100);
    expect(index.lookup(34)).toBe(8300);
    expect(index.lookup(1000)).toBe(12_500);
    expect(OffsetIndex.parse(index.serialize(), 100, 20_000)!.lookup(25)).toBe(8300);
  });

  it('rejects a file whose size is not a multiple of 8', () => {
    expect(OffsetIndex.parse(Buffer.alloc(12), 100, 1000)).toBeUndefined();
  });

  it('rejects entries that do not increase or point past the end of the log', () => {
    expect(OffsetIndex.parse(entries([[5, 100], [5, 200]]), 100, 1000)).toBeUndefined();
    expect(OffsetIndex.parse(entries([[5, 300], [6, 200]]), 100, 1000)).toBeUndefined();
    expect(OffsetIndex.parse(entries([[5, 100], [6, 1000]]), 100, 1000)).toBeUndefined();
    expect(OffsetIndex.parse(entries([[5, 100], [6, 999]]), 100, 1000)?.entries).toBe(2);
  });

  it('is full at segment.index.bytes / 8 entries', () => {
    const index = new OffsetIndex(2);
    index.append(1, 10);
    expect(index.isFull()).toBe(false);
    index.append(2, 20);
    expect(index.isFull()).toBe(true);
  });
});

describe('TimeIndex', () => {
  it('only appends growing timestamps and looks up the floor entry', () => {
    const index = new TimeIndex(100, 1);
    index.maybeAppend(1000, 3);
    index.maybeAppend(1000, 5);
    index.maybeAppend(900, 6);
    index.maybeAppend(2000, 9);
    expect(index.entries).toBe(2);
    expect(index.lookup(999)).toBe(-1);
    expect(index.lookup(1500)).toBe(3);
    expect(index.lookup(2000)).toBe(9);
    const parsed = TimeIndex.parse(index.serialize(), 100)!;
    expect(parsed.lastTimestamp()).toBe(2000);
    expect(parsed.lastRelativeOffset()).toBe(9);
  });

  it('rejects a torn or out-of-order file', () => {
    expect(TimeIndex.parse(Buffer.alloc(13), 100)).toBeUndefined();
    const bad = Buffer.alloc(24);
    bad.writeBigInt64BE(2000n, 0);
    bad.writeBigInt64BE(1000n, 12);
    expect(TimeIndex.parse(bad, 100)).toBeUndefined();
  });
});
