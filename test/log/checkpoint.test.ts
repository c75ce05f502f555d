import { describe, expect, it } from 'vitest';
import { decodeOffsetCheckpoint, encodeOffsetCheckpoint } from '../../src/log/checkpoint.js';

describe('recovery-point-offset-checkpoint', () => {
  it("round-trips Kafka's text format", () => {
    const data = encodeOffsetCheckpoint([
      { topic: 'a-b', partition: 0, offset: 42n },
      { topic: 'c', partition: 7, offset: 9_007_199_254_740_993n },
    ]);
    expect(data.toString()).toBe('0\n2\na-b 0 42\nc 7 9007199254740993\n');
    expect(decodeOffsetCheckpoint(data)).toEqual(
      new Map([
        ['a-b-0', 42n],
        ['c-7', 9_007_199_254_740_993n],
      ]),
    );
  });

  it('rejects an unknown version, a wrong count or a malformed line', () => {
    expect(decodeOffsetCheckpoint(Buffer.from('1\n0\n'))).toBeUndefined();
    expect(decodeOffsetCheckpoint(Buffer.from('0\n2\na 0 1\n'))).toBeUndefined();
    expect(decodeOffsetCheckpoint(Buffer.from('0\n1\na zero 1\n'))).toBeUndefined();
    expect(decodeOffsetCheckpoint(Buffer.from('0\n0\n'))).toEqual(new Map());
  });
});
