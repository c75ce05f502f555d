// Memory per partition, in-process: N empty partition logs created through LogManager (10 per topic), then closed
// and loaded again from disk (a clean start). Prints heap, external (typed arrays, buffers) and RSS growth per
// partition after a full GC. Needs --expose-gc:
//
//   node --expose-gc --import tsx scripts/bench/partition-memory.ts [N=10000] [--with-batch]
//
// --with-batch appends one small batch (one 100-byte record) to every partition before closing.
//
// It opens up to N files at once only if the fd limit allows (the handle cache caps it at half the soft limit).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { LogManager } from '../../src/log/log-manager.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../../test/protocol/records/batch-builder.js';

const N = Number(process.argv[2] ?? 10000);
const withBatch = process.argv.includes('--with-batch');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');
const mem = (): { heap: number; rss: number; ext: number } => {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, ext: m.external + m.arrayBuffers };
};
const perPartition = (a: { heap: number; rss: number; ext: number }, b: typeof a): string =>
  `heap ${Math.round((b.heap - a.heap) / N)} B, external ${Math.round((b.ext - a.ext) / N)} B, RSS ${Math.round((b.rss - a.rss) / N)} B per partition`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-partition-memory-'));
const logger = pino({ level: 'silent' });
try {
  let logs = await LogManager.open({ dataDir: dir, logger });
  const base = mem();
  const started = performance.now();
  for (let i = 0; i < N; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => logs.createLog(`t${Math.floor((i + j) / 10)}`, (i + j) % 10, logs.defaultConfig)));
  }
  const createdMs = performance.now() - started;
  console.log(`created ${N} partitions in ${Math.round(createdMs)} ms: ${perPartition(base, mem())}`);
  if (withBatch) {
    for (const log of logs.listLogs()) {
      const batch = buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: 'k', value: Buffer.alloc(100, 1) }] });
      await log.append(batch, readBatchHeader(batch), { durable: false });
    }
    console.log(`appended one batch to each: ${perPartition(base, mem())}`);
  }
  await logs.close();
  const loadStarted = performance.now();
  logs = await LogManager.open({ dataDir: dir, logger });
  const loadedMs = performance.now() - loadStarted;
  console.log(`loaded ${N} partitions in ${Math.round(loadedMs)} ms: ${perPartition(base, mem())}`);
  await logs.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
