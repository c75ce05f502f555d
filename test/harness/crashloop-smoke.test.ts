// Short run of the kill -9 harness (scripts/crashloop, `npm run crashloop`): three SIGKILLs of the compiled
// broker under acks=all kafkajs load; after every restart each acknowledged record must be at its acknowledged
// offset with its value. The full run's figures are in RELIABILITY.md.
import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../scripts/crashloop/records.js';
import { formatCrashLoopSummary, runCrashLoop } from '../../scripts/crashloop/run.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { ensureBuilt } from '../helpers/spawn-broker.js';

describe('crash loop smoke run', () => {
  it("the checker's record decoder reads offsets and values of concatenated batches", () => {
    const batches = Buffer.concat([
      buildRecordBatch({ baseOffset: 10n, records: [{ value: 'a' }, { value: 'b', key: 'k' }] }),
      buildRecordBatch({ baseOffset: 12n, records: [{ value: null }, { value: 'd', headers: [{ key: 'h', value: 'v' }] }] }),
    ]);
    const seen: Array<[bigint, string | null]> = [];
    decodeRecords(batches, (offset, value) => seen.push([offset, value === null ? null : value.toString()]));
    expect(seen).toEqual([
      [10n, 'a'],
      [11n, 'b'],
      [12n, null],
      [13n, 'd'],
    ]);
  });

  it('loses and misplaces no acknowledged record over 3 kill -9 cycles under acks=all load', { timeout: 180_000 }, async () => {
    ensureBuilt();
    const lines: string[] = [];
    const summary = await runCrashLoop({ cycles: 3, seed: 3, timeLimitS: 120, log: (l) => lines.push(l) });
    const report = `${formatCrashLoopSummary(summary)}\n${lines.join('\n')}`;
    expect(summary.cyclesRun, report).toBe(3);
    expect(summary.ackedRecords, report).toBeGreaterThan(500);
    for (const c of summary.cycles) expect(c.verified, report).toBe(summary.cycles.slice(0, c.cycle + 1).reduce((n, x) => n + x.acked, 0));
    expect(summary.lost, report).toBe(0);
    expect(summary.misplaced, report).toBe(0);
    expect(summary.problems, report).toEqual([]);
    expect(summary.ok, report).toBe(true);
  });
});
