// The cleaner bench's windowing of one latency.c trace (scripts/bench/windowed-probe.ts): messages are assigned to
// windows by send time, a window may span several intervals, lost messages are counted apart, and the percentiles
// are nearest-rank as latency.c's own.
import { describe, expect, it } from 'vitest';
import { cutWindows } from '../../scripts/bench/windowed-probe.js';

/** latency.c's trace: per message, send time and latency (ns; 0 = never received), little-endian uint64 each. */
function trace(messages: Array<[sentNs: number, latencyNs: number]>): Buffer {
  const out = Buffer.alloc(messages.length * 16);
  messages.forEach(([sent, latency], i) => {
    out.writeBigUInt64LE(BigInt(sent), i * 16);
    out.writeBigUInt64LE(BigInt(latency), i * 16 + 8);
  });
  return out;
}

describe('cutWindows', () => {
  it('assigns each message to the windows its send time falls in, [from, to), and counts lost ones apart', () => {
    // 300 messages sent 1 ms apart; latency 1 ms in [0, 100), 5 ms in [100, 200), 2 ms in [200, 300); message 150 lost.
    const messages: Array<[number, number]> = [];
    for (let i = 0; i < 300; i++) messages.push([i * 1e6, i === 150 ? 0 : (i < 100 ? 1 : i < 200 ? 5 : 2) * 1e6]);
    const ms = (n: number): bigint => BigInt(n * 1e6);
    const [before, during, after, idle] = cutWindows(trace(messages), [
      [[ms(0), ms(100)]],
      [[ms(100), ms(200)]],
      [[ms(200), ms(300)]],
      [
        [ms(0), ms(100)],
        [ms(200), ms(300)],
      ],
    ]);
    expect(before).toEqual({ sent: 100, lost: 0, p50Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1 });
    expect(during).toEqual({ sent: 100, lost: 1, p50Ms: 5, p99Ms: 5, p999Ms: 5, maxMs: 5 });
    expect(after).toMatchObject({ sent: 100, lost: 0, p50Ms: 2, maxMs: 2 });
    // Both idle windows together: 100 at 1 ms, 100 at 2 ms.
    expect(idle).toMatchObject({ sent: 200, lost: 0, p50Ms: 2, p99Ms: 2, maxMs: 2 });
  });

  it('takes nearest-rank percentiles: the p99 of 1..100 ms is 99 ms', () => {
    const messages: Array<[number, number]> = Array.from({ length: 100 }, (_, i) => [1e9 + i, (100 - i) * 1e6]);
    const [w] = cutWindows(trace(messages), [[[0n, 2n * 10n ** 9n]]]);
    expect(w).toEqual({ sent: 100, lost: 0, p50Ms: 51, p99Ms: 99, p999Ms: 100, maxMs: 100 });
  });

  it('gives an empty window NaN percentiles rather than a number', () => {
    const [w] = cutWindows(trace([[5, 1e6]]), [[[10n, 20n]]]);
    expect(w!.sent).toBe(0);
    expect(w!.p99Ms).toBeNaN();
  });
});
