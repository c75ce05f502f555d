// Short run of the network fuzzer (scripts/fuzz, `npm run fuzz`) against the compiled broker process: mutated
// client frames, hostile record batches with valid CRCs and size-prefix abuse must not crash or hang the
// broker, SIGTERM must exit 0, and the broker must restart on the data dir it leaves behind and still serve a
// record acknowledged before the run. The full run's figures are in RELIABILITY.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSummary, runFuzz } from '../../scripts/fuzz/run.js';
import { STRATEGIES } from '../../scripts/fuzz/strategies.js';
import { ensureBuilt } from '../helpers/spawn-broker.js';

const outDir = mkdtempSync(path.join(tmpdir(), 'eddy-fuzz-smoke-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('fuzz smoke run', () => {
  it('survives 30,000 fuzzed frames without a crash or hang, shuts down cleanly and restarts on its data', { timeout: 180_000 }, async () => {
    ensureBuilt();
    const lines: string[] = [];
    const summary = await runFuzz({ frames: 30_000, seed: 8, outDir, timeLimitS: 90, connections: 16, log: (l) => lines.push(l) });
    const report = `${formatSummary(summary)}\n${lines.join('\n')}`;
    expect(summary.framesSent, report).toBeGreaterThanOrEqual(2_000);
    for (const strategy of STRATEGIES) expect(summary.byStrategy[strategy], `${strategy} frames sent\n${report}`).toBeGreaterThan(0);
    expect(summary.crashes, report).toBe(0);
    expect(summary.hangs, report).toBe(0);
    expect(summary.restartFailures, report).toBe(0);
    expect(summary.probe.count, report).toBeGreaterThan(0);
    expect(summary.cleanShutdown.exit?.code, report).toBe(0);
    expect(summary.restart.ok, report).toBe(true);
    expect(summary.ok, report).toBe(true);
  });
});
