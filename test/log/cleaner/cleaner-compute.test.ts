// Where the log cleaner's CPU work runs (src/log/cleaner/cleaner-compute.ts): in a worker thread by default, inline
// on the event loop as the fallback. Both write byte-identical cleaned segments; with the worker the event loop's
// longest turn during a cleaning of compressed batches stays far below the inline cleaner's; the worker reads the
// segments itself, on its own thread; a worker is reused by the next cleaner of the process and replaced when it died.
import { readFile, readdir, unlink } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import type { Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../../src/log/log-config.js';
import type { PartitionLog } from '../../../src/log/partition-log.js';
import { nodeLogFs, type LogFs } from '../../../src/log/fs.js';
import { DEFAULT_CLEANER_CONFIG, DEFAULT_CLEANER_THREAD_NICE, LogCleaner } from '../../../src/log/cleaner/log-cleaner.js';
import { WorkerCompute } from '../../../src/log/cleaner/cleaner-compute.js';
import { threadScheduling } from '../../../src/log/cleaner/thread-priority.js';
import { readBatchHeader } from '../../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../../protocol/records/batch-builder.js';
import { withRecordsPayload } from '../../protocol/records/compressed-batch.js';
import { captureLogger, makeTempDir } from '../helpers.js';
import { readAll } from '../cleaner-support.js';

const NOW = 1_700_000_000_000;
/** Linux's SCHED_OTHER and SCHED_IDLE (sched.h). */
const SCHED_OTHER_POLICY = 0;
const SCHED_IDLE_POLICY = 5;

/** Every thread of this process: its scheduling policy and nice value, as the kernel reports them. */
async function threads(): Promise<Array<{ policy: number; nice: number }>> {
  return (await readdir('/proc/self/task')).map((tid) => threadScheduling(Number(tid))).filter((t) => t !== undefined);
}
/**
 * Bytes this process's threads have read through read(2) and its kin (the kernel's per-thread rchar,
 * /proc/self/task/TID/io): those at `nice` (with their count) and all the others.
 */
async function bytesReadByThreads(nice: number): Promise<{ threads: number; rchar: number; others: number }> {
  let threads = 0;
  let rchar = 0;
  let others = 0;
  for (const tid of await readdir('/proc/self/task')) {
    const io = await readFile(`/proc/self/task/${tid}/io`, 'utf8').catch(() => '');
    const match = /^rchar: (\d+)$/m.exec(io);
    if (match === null) continue;
    if (threadScheduling(Number(tid))?.nice === nice) {
      threads++;
      rchar += Number(match[1]);
    } else others += Number(match[1]);
  }
  return { threads, rchar, others };
}

/** nodeLogFs whose files do not expose their descriptor (as a LogFs wrapped by a fault-injecting test). */
const fsWithoutDescriptors: LogFs = {
  ...nodeLogFs,
  async open(path, flags) {
    const file = await nodeLogFs.open(path, flags);
    return {
      read: (b, o, l, p) => file.read(b, o, l, p),
      writev: (b, p) => file.writev(b, p),
      sync: () => file.sync(),
      truncate: (l) => file.truncate(l),
      size: () => file.size(),
      close: () => file.close(),
    };
  },
};

const COMPACT: Partial<LogConfig> = { compact: true, segmentBytes: 1024 * 1024, indexIntervalBytes: 4096, deleteRetentionMs: 60_000, minCleanableDirtyRatio: 0.01 };

const managers: LogManager[] = [];
const cleaners: LogCleaner[] = [];
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of cleaners.splice(0)) await c.close();
  for (const m of managers.splice(0)) await m.close().catch(() => undefined);
  for (const c of cleanups.splice(0)) await c();
});

/** A compacted log of 40 gzip (or zstd) batches of 1000 records (100 keys, ~1 MB of records each) and a tombstone, rolled. */
async function buildLog(codec: 'gzip' | 'zstd' = 'gzip'): Promise<{ manager: LogManager; log: PartitionLog; dataDir: string }> {
  const { dir: dataDir, cleanup } = await makeTempDir();
  cleanups.push(cleanup);
  const manager = await LogManager.open({ dataDir, logger: captureLogger().logger, defaultConfig: COMPACT, clock: () => NOW });
  managers.push(manager);
  const log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG, ...COMPACT });
  const value = 'v'.repeat(1000);
  const append = async (batch: Buffer): Promise<void> => {
    await log.append(batch, readBatchHeader(batch), { durable: false });
  };
  for (let b = 0; b < 40; b++) {
    const batch = buildRecordBatch({
      records: Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 100}`, value: `${value}${b}`, timestampDelta: i })),
      baseTimestamp: BigInt(NOW),
    });
    await append(codec === 'gzip' ? withRecordsPayload(batch, 1, gzipSync(batch.subarray(61), { level: 9 })) : withRecordsPayload(batch, 4, await zstdCompress(batch.subarray(61), 3)));
  }
  await append(buildRecordBatch({ records: [{ key: 'k7', value: null }], baseTimestamp: BigInt(NOW) }));
  await roll(log);
  return { manager, log, dataDir };
}

/** Appends `count` small keyed records (keys k0..k9), then rolls the segment. */
async function appendAndRoll(log: PartitionLog, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const batch = buildRecordBatch({ records: [{ key: `k${i % 10}`, value: `${prefix}-${i}` }], baseTimestamp: BigInt(NOW) });
    await log.append(batch, readBatchHeader(batch), { durable: false });
  }
  await roll(log);
}

/** Appends padding until a new segment starts. */
async function roll(log: PartitionLog): Promise<void> {
  const n = log.segmentCount;
  for (let i = 0; i < 10_000 && log.segmentCount === n; i++) {
    const batch = buildRecordBatch({ records: [{ key: 'pad', value: 'x'.repeat(1000) }], baseTimestamp: BigInt(NOW) });
    await log.append(batch, readBatchHeader(batch), { durable: false });
  }
}

async function cleanerFor(
  manager: LogManager,
  dataDir: string,
  compute: 'worker' | 'inline',
  priority: { threadNice?: number; threadSchedIdle?: boolean; chrtCommand?: string; logger?: Logger; fs?: LogFs; ioMaxBytesPerSecond?: number } = {},
): Promise<LogCleaner> {
  const cleaner = await LogCleaner.open({
    dataDir,
    fs: priority.fs ?? nodeLogFs,
    logs: () => manager.listLogs(),
    config: {
      ...DEFAULT_CLEANER_CONFIG,
      enable: false,
      threadNice: priority.threadNice,
      threadSchedIdle: priority.threadSchedIdle,
      ioMaxBytesPerSecond: priority.ioMaxBytesPerSecond ?? DEFAULT_CLEANER_CONFIG.ioMaxBytesPerSecond,
    },
    logger: priority.logger ?? captureLogger().logger,
    ...(priority.chrtCommand !== undefined ? { chrtCommand: priority.chrtCommand } : {}),
    clock: () => NOW,
    compute,
  });
  cleaners.push(cleaner);
  return cleaner;
}

/** The longest gap between 1 ms interval ticks while `run` runs. */
async function longestTurnMs(run: () => Promise<unknown>): Promise<number> {
  let maxGapMs = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    maxGapMs = Math.max(maxGapMs, t - last);
    last = t;
  }, 1);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return maxGapMs;
}

async function logFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) if (/\.(log|index|timeindex|txnindex)$/.test(name)) files.set(name, await readFile(`${dir}/${name}`));
  return files;
}

describe('cleaner compute placement', () => {
  it('the worker and the inline compute write byte-identical cleaned segments and indexes', async () => {
    const a = await buildLog();
    const b = await buildLog();
    const viaWorker = await (await cleanerFor(a.manager, a.dataDir, 'worker')).cleanOnce();
    const inline = await (await cleanerFor(b.manager, b.dataDir, 'inline')).cleanOnce();
    expect(viaWorker).toMatchObject({ segmentsCleaned: inline!.segmentsCleaned, endOffset: inline!.endOffset, recordsRead: inline!.recordsRead, recordsKept: inline!.recordsKept, bytesWritten: inline!.bytesWritten });
    expect(viaWorker!.recordsRead).toBeGreaterThanOrEqual(40_000);
    const filesA = await logFiles(a.log.dir);
    const filesB = await logFiles(b.log.dir);
    expect([...filesA.keys()]).toEqual([...filesB.keys()]);
    for (const [name, bytes] of filesA) expect(bytes.equals(filesB.get(name)!), name).toBe(true);
    // The latest value per key, the tombstone kept (its horizon is in the future).
    const records = await readAll(a.log);
    expect(records.filter((r) => r.key === 'k5').map((r) => r.value)).toEqual([`${'v'.repeat(1000)}39`]);
    expect(records.filter((r) => r.key === 'k7').map((r) => r.value)).toEqual([null]);
  });

  it('zstd batches (streamed frames without a declared size) clean the same through the worker\'s decoder as inline', async () => {
    const a = await buildLog('zstd');
    const b = await buildLog('zstd');
    const viaWorker = await (await cleanerFor(a.manager, a.dataDir, 'worker')).cleanOnce();
    const inline = await (await cleanerFor(b.manager, b.dataDir, 'inline')).cleanOnce();
    expect(viaWorker).toMatchObject({ recordsRead: inline!.recordsRead, recordsKept: inline!.recordsKept, bytesWritten: inline!.bytesWritten });
    const filesA = await logFiles(a.log.dir);
    const filesB = await logFiles(b.log.dir);
    for (const [name, bytes] of filesA) expect(bytes.equals(filesB.get(name)!), name).toBe(true);
    expect((await readAll(a.log)).filter((r) => r.key === 'k5').map((r) => r.value)).toEqual([`${'v'.repeat(1000)}39`]);
  });

  it('the worker runs at nice 10 by default (Linux) and reads the segments itself; the event loop keeps the process\'s priority', async () => {
    const mainThread = threadScheduling(process.pid)!;
    const { manager, log, dataDir } = await buildLog();
    const first = await cleanerFor(manager, dataDir, 'worker');
    expect((await first.cleanOnce())!.recordsRead).toBeGreaterThanOrEqual(40_000);
    // The worker is started and warm; the next cleaning re-reads the cleaned segment and maps a new one.
    await appendAndRoll(log, 'again', 3000);
    const before = await bytesReadByThreads(DEFAULT_CLEANER_THREAD_NICE);
    const stats = (await first.cleanOnce())!;
    const compute = (first as unknown as { compute: WorkerCompute }).compute;
    expect(compute.appliedPriority).toEqual({ schedIdle: false, nice: DEFAULT_CLEANER_THREAD_NICE });
    // Read back from the kernel: a thread of this process at nice 10 under the normal policy, the main thread unchanged.
    expect(await threads()).toContainEqual({ policy: SCHED_OTHER_POLICY, nice: DEFAULT_CLEANER_THREAD_NICE });
    expect(threadScheduling(process.pid)).toEqual(mainThread);
    // Every chunk was read by the worker's thread (the kernel counts each thread's reads), none on the event loop
    // or in libuv's pool: no chunk buffer crossed to the worker.
    const after = await bytesReadByThreads(DEFAULT_CLEANER_THREAD_NICE);
    expect(after.threads).toBe(1);
    expect(stats.bytesRead).toBeGreaterThan(1024 * 1024);
    expect(after.rchar - before.rchar).toBeGreaterThanOrEqual(stats.bytesRead);
    // The other threads (the event loop, libuv's pool) read less than half as much: the swap's index loads only.
    expect(after.others - before.others).toBeLessThan(stats.bytesRead / 2);
    expect((compute as unknown as { spareChunks: ArrayBuffer[] }).spareChunks).toEqual([]);
    expect(new Map((await readAll(log)).map((r) => [r.key, r.value])).get('k9')).toBe('again-2999');
  });

  it('with a LogFs whose files expose no descriptor, the chunks are read on the event loop and cross to the worker and back by transfer; the cleaned files are the same', async () => {
    const a = await buildLog();
    const b = await buildLog();
    const transferred = await cleanerFor(a.manager, a.dataDir, 'worker', { fs: fsWithoutDescriptors });
    const viaTransfer = (await transferred.cleanOnce())!;
    const spareChunks = (transferred as unknown as { compute: { spareChunks: ArrayBuffer[] } }).compute.spareChunks;
    expect(spareChunks.length).toBeGreaterThanOrEqual(1);
    expect(spareChunks.every((chunk) => chunk.byteLength >= 512 * 1024)).toBe(true);
    const inline = (await (await cleanerFor(b.manager, b.dataDir, 'inline')).cleanOnce())!;
    expect(viaTransfer).toMatchObject({ bytesRead: inline.bytesRead, recordsRead: inline.recordsRead, recordsKept: inline.recordsKept, bytesWritten: inline.bytesWritten });
    const filesA = await logFiles(a.log.dir);
    const filesB = await logFiles(b.log.dir);
    expect([...filesA.keys()]).toEqual([...filesB.keys()]);
    for (const [name, bytes] of filesA) expect(bytes.equals(filesB.get(name)!), name).toBe(true);
  });

  it('out of descriptors (EMFILE) for its own, the cleaner walks the segment through its cached handle instead, and cleans', async () => {
    const { logger, records: logLines } = captureLogger();
    const { manager, log, dataDir } = await buildLog();
    let refused = 0;
    const exhausted: LogFs = {
      ...nodeLogFs,
      open: (path, flags) => {
        if (flags !== 'r') return nodeLogFs.open(path, flags);
        refused++;
        return Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
      },
    };
    const cleaner = await cleanerFor(manager, dataDir, 'worker', { logger, fs: exhausted });
    const stats = (await cleaner.cleanOnce())!;
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(stats.recordsRead).toBeGreaterThanOrEqual(40_000);
    // The chunks were read on the event loop and transferred (the worker had no descriptor to read).
    expect((cleaner as unknown as { compute: { spareChunks: ArrayBuffer[] } }).compute.spareChunks.length).toBeGreaterThanOrEqual(1);
    expect(new Map((await readAll(log)).map((r) => [r.key, r.value])).get('k5')).toBe(`${'v'.repeat(1000)}39`);
    expect(logLines.filter((r) => (r.level as number) >= 50)).toEqual([]);
  });

  it('retention renaming a segment during a cleaning, its file then unlinked, ends that cleaning without an error; the next one cleans', async () => {
    const { logger, records: logLines } = captureLogger();
    const errors = () => logLines.filter((r) => (r.level as number) >= 50);
    const { manager, log, dataDir } = await buildLog();
    await appendAndRoll(log, 'second', 300);
    const [first, second] = log.cleanerSegments();
    // Throttled to ~1 MB/s, so the walk of the first segment (~1 MiB) is under way when retention comes.
    const cleaner = await cleanerFor(manager, dataDir, 'worker', { logger, ioMaxBytesPerSecond: 1_000_000 });
    const cleaning = cleaner.cleanOnce().then(
      (stats) => ({ stats }),
      (err: Error) => ({ err }),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(log.deleteRecordsOnLeader(second!.baseOffset)).toBe(second!.baseOffset);
    expect(await log.deleteOldSegments()).toBe(1);
    expect(first!.logPath.endsWith('.log.deleted')).toBe(true);
    // As if file.delete.delay.ms had passed: the renamed files go while the worker is walking the .log through its
    // descriptor, and before the clean pass would open it again.
    for (const name of await readdir(log.dir)) if (name.endsWith('.deleted')) await unlink(`${log.dir}/${name}`);
    const outcome = await cleaning;
    // The swap of a group whose segment left the log is refused: the cleaning is abandoned, not failed.
    expect(outcome).toEqual({ err: expect.objectContaining({ constructor: expect.objectContaining({ name: 'CleaningAborted' }) }) });
    expect(errors()).toEqual([]);
    const next = await cleaner.cleanOnce();
    expect(next).toMatchObject({ firstDirtyOffset: second!.baseOffset, segmentsCleaned: 1 });
    const latest = new Map((await readAll(log)).map((r) => [r.key, r.value]));
    expect(latest.get('k9')).toBe('second-299');
    expect(errors()).toEqual([]);
  });

  it("a replica's truncation during a cleaning (segments unlinked, the walked one cut short) ends that cleaning without an error", async () => {
    const { logger, records: logLines } = captureLogger();
    const { manager, log, dataDir } = await buildLog();
    await appendAndRoll(log, 'second', 300);
    const cleaner = await cleanerFor(manager, dataDir, 'worker', { logger, ioMaxBytesPerSecond: 1_000_000 });
    const cleaning = cleaner.cleanOnce().then(
      (stats) => ({ stats }),
      (err: Error) => ({ err }),
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    // Batch 20 of the first segment: it is cut there, the later segments are unlinked.
    await log.truncateTo(20_000n);
    expect(log.logEndOffset).toBe(20_000n);
    const outcome = await cleaning;
    expect(outcome).toEqual({ err: expect.objectContaining({ constructor: expect.objectContaining({ name: 'CleaningAborted' }) }) });
    expect(logLines.filter((r) => (r.level as number) >= 50)).toEqual([]);
    // The partition is still cleaned: new data, rolled, and the next pass takes it.
    await appendAndRoll(log, 'third', 300);
    expect(await cleaner.cleanOnce()).toMatchObject({ firstDirtyOffset: 0n });
    expect(new Map((await readAll(log)).map((r) => [r.key, r.value])).get('k9')).toBe('third-299');
    expect(logLines.filter((r) => (r.level as number) >= 50)).toEqual([]);
  });

  it('with SCHED_IDLE asked for, the worker runs under it; a cleaner wanting another priority gets a new worker (a thread is never raised back)', async () => {
    const mainThread = threadScheduling(process.pid)!;
    const { manager, log, dataDir } = await buildLog();
    const first = await cleanerFor(manager, dataDir, 'worker', { threadSchedIdle: true });
    expect((await first.cleanOnce())!.recordsRead).toBeGreaterThanOrEqual(40_000);
    const compute = (first as unknown as { compute: WorkerCompute }).compute;
    expect(compute.appliedPriority).toEqual({ schedIdle: true, nice: DEFAULT_CLEANER_THREAD_NICE });
    expect(await threads()).toContainEqual({ policy: SCHED_IDLE_POLICY, nice: DEFAULT_CLEANER_THREAD_NICE });
    expect(threadScheduling(process.pid)).toEqual(mainThread);

    await first.close();
    const second = await cleanerFor(manager, dataDir, 'worker', { threadNice: 19 });
    await appendAndRoll(log, 'again', 300);
    expect(await second.cleanOnce()).toBeDefined();
    const replaced = (second as unknown as { compute: WorkerCompute }).compute;
    expect(replaced).not.toBe(compute);
    expect(replaced.appliedPriority).toEqual({ schedIdle: false, nice: 19 });
    expect(await threads()).toContainEqual({ policy: SCHED_OTHER_POLICY, nice: 19 });
    expect(threadScheduling(process.pid)).toEqual(mainThread);
    expect(new Map((await readAll(log)).map((r) => [r.key, r.value])).get('k9')).toBe('again-299');
  });

  it('without chrt, or with one that cannot even be spawned, the worker still starts at its nice value and cleans; the broker says why at warn, once', async () => {
    const { logger, warnings } = captureLogger();
    const { manager, log, dataDir } = await buildLog();
    const missing = await cleanerFor(manager, dataDir, 'worker', { threadNice: 12, threadSchedIdle: true, chrtCommand: '/nonexistent/chrt', logger });
    expect((await missing.cleanOnce())!.recordsRead).toBeGreaterThanOrEqual(40_000);
    const compute = (missing as unknown as { compute: WorkerCompute }).compute;
    expect(compute.appliedPriority).toEqual({ schedIdle: false, nice: 12, schedIdleFailure: '/nonexistent/chrt (util-linux) is not installed' });
    expect(await threads()).toContainEqual({ policy: SCHED_OTHER_POLICY, nice: 12 });
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ reason: '/nonexistent/chrt (util-linux) is not installed', nice: 12 });
    expect(String(warnings()[0]!.msg)).toContain('cannot run under SCHED_IDLE; it runs at its nice value');

    // A command execFile refuses synchronously (a NUL byte; ENOMEM would be the same path): the worker is replaced
    // (the failed one is not kept), starts all the same, and the warning is not repeated.
    await missing.close();
    const invalid = await cleanerFor(manager, dataDir, 'worker', { threadNice: 12, threadSchedIdle: true, chrtCommand: 'ch\u0000rt', logger });
    await appendAndRoll(log, 'again', 300);
    expect(await invalid.cleanOnce()).toBeDefined();
    const second = (invalid as unknown as { compute: WorkerCompute }).compute;
    expect(second).not.toBe(compute);
    expect(second.appliedPriority).toMatchObject({ schedIdle: false, nice: 12, schedIdleFailure: expect.stringContaining('could not be started') });
    expect(warnings()).toHaveLength(1);
    expect(new Map((await readAll(log)).map((r) => [r.key, r.value])).get('k9')).toBe('again-299');
  });

  it('with the worker the event loop keeps turning while a megabyte of gzip records per batch is cleaned', async () => {
    const { manager, log, dataDir } = await buildLog();
    const cleaner = await cleanerFor(manager, dataDir, 'worker');
    let stats;
    const maxGapMs = await longestTurnMs(async () => {
      stats = await cleaner.cleanOnce();
    });
    expect(stats!.recordsRead).toBeGreaterThanOrEqual(40_000);
    // Inline, each batch is one slice of ~5-10 ms of parsing and hashing (the review test allows 60 ms); with the
    // worker the event loop only copies 512 KiB chunks and writes: a loaded machine still stays well below.
    expect(maxGapMs).toBeLessThan(30);
    expect((await readAll(log)).filter((r) => r.key === 'k5')).toHaveLength(1);
  });

  it("a closed cleaner's worker is reused by the next cleaner; a dead one is replaced", async () => {
    const { manager, log, dataDir } = await buildLog();
    const first = await cleanerFor(manager, dataDir, 'worker');
    await first.cleanOnce();
    const worker = (first as unknown as { compute: WorkerCompute }).compute;
    expect(worker).toBeInstanceOf(WorkerCompute);
    await first.close();

    const second = await cleanerFor(manager, dataDir, 'worker');
    await appendAndRoll(log, 'again', 300);
    expect(await second.cleanOnce()).toBeDefined();
    expect((second as unknown as { compute: WorkerCompute }).compute).toBe(worker);

    // Kill it: the next cleaning starts another worker and succeeds.
    await (worker as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (let i = 0; i < 100 && worker.alive; i++) await new Promise((r) => setTimeout(r, 10));
    expect(worker.alive).toBe(false);
    await appendAndRoll(log, 'third', 300);
    expect(await second.cleanOnce()).toBeDefined();
    const replaced = (second as unknown as { compute: WorkerCompute }).compute;
    expect(replaced).toBeInstanceOf(WorkerCompute);
    expect(replaced).not.toBe(worker);
    expect(replaced.alive).toBe(true);
    const latest = new Map((await readAll(log)).map((r) => [r.key, r.value]));
    expect(latest.get('k9')).toBe('third-299');
  });
});
