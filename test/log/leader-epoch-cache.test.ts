// The leader-epoch cache (Kafka's LeaderEpochFileCache) alone, then as PartitionLog keeps it: assigned on append,
// written before the recovery point passes it, truncated at recovery and when the log start offset moves, rebuilt
// from the batch headers when its file is missing, unreadable or stale.
import { existsSync } from 'node:fs';
import { readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { LogManager, type PartitionLog } from '../../src/log/log-manager.js';
import {
  LEADER_EPOCH_CHECKPOINT_FILE,
  LeaderEpochCache,
  decodeLeaderEpochCheckpoint,
  encodeLeaderEpochCheckpoint,
} from '../../src/log/leader-epoch-cache.js';
import { nodeLogFs } from '../../src/log/fs.js';
import { captureLogger, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let managers: LogManager[];

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  managers = [];
});

afterEach(async () => {
  for (const m of managers) await m.close().catch(() => undefined);
  await cleanup();
});

function cacheWith(entries: Array<[number, bigint]>): LeaderEpochCache {
  const cache = LeaderEpochCache.empty(nodeLogFs, dir);
  for (const [epoch, start] of entries) cache.assign(epoch, start);
  return cache;
}

const pairs = (cache: { entries(): readonly { epoch: number; startOffset: bigint }[] } | PartitionLog) =>
  ('leaderEpochEntries' in cache ? cache.leaderEpochEntries() : cache.entries()).map((e) => [e.epoch, e.startOffset]);

describe('LeaderEpochCache', () => {
  it('assign adds an entry for a new epoch and ignores the latest epoch at a later offset', () => {
    const cache = cacheWith([[0, 0n]]);
    expect(cache.assign(0, 10n)).toBe(false);
    expect(cache.assign(2, 10n)).toBe(true);
    expect(cache.assign(2, 15n)).toBe(false);
    expect(pairs(cache)).toEqual([[0, 0n], [2, 10n]]);
    expect(cache.latestEpoch).toBe(2);
  });

  it('assign removes the entries that would break monotonicity (an epoch or start offset at or above the new one)', () => {
    const cache = cacheWith([[0, 0n], [1, 10n], [3, 20n]]);
    expect(cache.assign(2, 5n)).toBe(true);
    expect(pairs(cache)).toEqual([[0, 0n], [2, 5n]]);
    // The latest epoch again at an earlier offset moves it back.
    expect(cache.assign(2, 3n)).toBe(true);
    expect(pairs(cache)).toEqual([[0, 0n], [2, 3n]]);
    expect(() => cache.assign(-1, 0n)).toThrow(RangeError);
  });

  it('endOffsetFor answers as Kafka: latest → log end offset, between → next start, below first → first start, -1 or above → undefined', () => {
    const cache = cacheWith([[1, 0n], [3, 100n], [5, 200n]]);
    const end = (epoch: number) => cache.endOffsetFor(epoch, 250n);
    expect(end(5)).toEqual({ epoch: 5, endOffset: 250n });
    expect(end(3)).toEqual({ epoch: 3, endOffset: 200n });
    expect(end(4)).toEqual({ epoch: 3, endOffset: 200n });
    expect(end(2)).toEqual({ epoch: 1, endOffset: 100n });
    expect(end(1)).toEqual({ epoch: 1, endOffset: 100n });
    expect(end(0)).toEqual({ epoch: 0, endOffset: 0n });
    expect(end(6)).toEqual({ epoch: -1, endOffset: -1n });
    expect(end(-1)).toEqual({ epoch: -1, endOffset: -1n });
    expect(LeaderEpochCache.empty(nodeLogFs, dir).endOffsetFor(0, 10n)).toEqual({ epoch: -1, endOffset: -1n });
  });

  it('truncateFromEnd drops entries starting at or after the end; truncateFromStart moves the last entry at or below the start to it', () => {
    const cache = cacheWith([[1, 0n], [3, 100n], [5, 200n]]);
    cache.truncateFromEnd(201n);
    expect(pairs(cache)).toEqual([[1, 0n], [3, 100n], [5, 200n]]);
    cache.truncateFromEnd(200n);
    expect(pairs(cache)).toEqual([[1, 0n], [3, 100n]]);
    cache.truncateFromStart(50n);
    expect(pairs(cache)).toEqual([[1, 50n], [3, 100n]]);
    cache.truncateFromStart(100n);
    expect(pairs(cache)).toEqual([[3, 100n]]);
    cache.truncateFromStart(150n);
    expect(pairs(cache)).toEqual([[3, 150n]]);
  });

  it('the checkpoint is Kafka’s text format and an unusable file decodes to undefined', () => {
    const bytes = encodeLeaderEpochCheckpoint([{ epoch: 1, startOffset: 0n }, { epoch: 3, startOffset: 100n }]);
    expect(bytes.toString('utf8')).toBe('0\n2\n1 0\n3 100\n');
    expect(decodeLeaderEpochCheckpoint(bytes)).toEqual([{ epoch: 1, startOffset: 0n }, { epoch: 3, startOffset: 100n }]);
    expect(decodeLeaderEpochCheckpoint(Buffer.from('0\n0\n'))).toEqual([]);
    expect(decodeLeaderEpochCheckpoint(Buffer.from('1\n1\n0 0\n'))).toBeUndefined();
    expect(decodeLeaderEpochCheckpoint(Buffer.from('0\n2\n0 0\n'))).toBeUndefined();
    expect(decodeLeaderEpochCheckpoint(Buffer.from('0\n1\n0 x\n'))).toBeUndefined();
    expect(decodeLeaderEpochCheckpoint(Buffer.from('0\n1\n-1 0\n'))).toBeUndefined();
  });

  it('write() replaces the file atomically and needsWrite is false until some entry starts below the log end offset', async () => {
    const cache = cacheWith([[0, 0n]]);
    expect(cache.needsWrite(0n)).toBe(false);
    expect(cache.needsWrite(1n)).toBe(true);
    await cache.write();
    expect(await readFile(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, 'utf8')).toBe('0\n1\n0 0\n');
    expect(cache.needsWrite(1n)).toBe(false);
    expect(existsSync(`${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}.tmp`)).toBe(false);
  });
});

// ---- as PartitionLog keeps it ----------------------------------------------------------------------------------

async function openManager(config: Partial<LogConfig> = {}) {
  const captured = captureLogger();
  const manager = await LogManager.open({ dataDir: dir, logger: captured.logger, defaultConfig: config });
  managers.push(manager);
  return { manager, warnings: captured.warnings };
}

async function closeManager(manager: LogManager): Promise<void> {
  await manager.close();
  managers = managers.filter((m) => m !== manager);
}

/** A process crash: handles dropped without the clean-shutdown path; written bytes stay (page cache). */
async function crash(manager: LogManager): Promise<void> {
  managers = managers.filter((m) => m !== manager);
  for (const log of manager.listLogs()) await log.close({ flush: false });
}

function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

async function append(log: PartitionLog, batches: number, records = 2): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const { batch, header } = producedBatch(records, { valueBytes: 100 });
    await log.append(batch, header, { durable: false });
  }
}

const checkpointPath = (partitionDir = 't-0') => `${dir}/${partitionDir}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
const checkpoint = () => readFile(checkpointPath(), 'utf8');

describe('PartitionLog and its leader-epoch cache', () => {
  it('a new partition is leader at epoch 0 from offset 0 but writes no checkpoint while it holds no data', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    expect(pairs(log)).toEqual([[0, 0n]]);
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 0n });
    expect(log.earliestOffsetAndEpoch()).toEqual({ offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    await closeManager(manager);
    expect(existsSync(checkpointPath())).toBe(false);
    const { manager: reopened } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, 0n]]);
  });

  it('the checkpoint is written before the recovery point passes the entry (flush), not on each append', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 3);
    expect(existsSync(checkpointPath())).toBe(false);
    await log.flush();
    expect(log.recoveryPoint).toBe(6n);
    expect(await checkpoint()).toBe('0\n1\n0 0\n');
  });

  it('a batch appended with a new leader epoch adds an entry at its base offset; endOffsetForEpoch answers per epoch', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 2);
    log.leaderEpoch = 3;
    await append(log, 3);
    expect(pairs(log)).toEqual([[0, 0n], [3, 4n]]);
    expect(log.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 10n });
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 4n });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 0, endOffset: 4n });
    expect(log.endOffsetForEpoch(4)).toBeNull();
    expect(log.endOffsetForEpoch(-1)).toBeNull();
    await closeManager(manager);
    expect(await checkpoint()).toBe('0\n2\n0 0\n3 4\n');
    const { manager: reopened } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, 0n], [3, 4n]]);
  });

  it('rebuilds the cache from the batch headers when the checkpoint is missing (epoch changes inside and between segments)', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1500 }));
    await append(log, 7); // about 5 batches a segment
    log.leaderEpoch = 2;
    await append(log, 4);
    log.leaderEpoch = 5;
    await append(log, 9);
    expect(log.segmentCount).toBeGreaterThan(3);
    const expected = [[0, 0n], [2, 14n], [5, 22n]];
    expect(pairs(log)).toEqual(expected);
    await closeManager(manager);
    // As a partition written before Eddy kept the cache.
    await unlink(checkpointPath());
    const { manager: reopened, warnings } = await openManager();
    const again = reopened.getLog('t', 0)!;
    again.leaderEpoch = 5;
    expect(pairs(again)).toEqual(expected);
    expect(warnings()).toEqual([]);
    // Written at the next close (the rebuilt entries cover data).
    await closeManager(reopened);
    expect(await checkpoint()).toBe('0\n3\n0 0\n2 14\n5 22\n');
  });

  it('an unreadable checkpoint is logged and the cache rebuilt from the log', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 3);
    await closeManager(manager);
    await writeFile(checkpointPath(), '7\nnonsense\n');
    const { manager: reopened, warnings } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, 0n]]);
    expect(warnings().map((w) => w.msg)).toContain('unreadable leader epoch checkpoint; rebuilding the cache from the log');
  });

  it('after a crash, a checkpoint behind the log (recovery meets an epoch it lacks) is rebuilt from the segments', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1500 }));
    await append(log, 3);
    log.leaderEpoch = 4;
    await append(log, 12); // epoch 4 starts at offset 6, in the first segment; the last segment holds the recovery point
    await log.flush();
    expect(log.segmentCount).toBeGreaterThan(2);
    expect(pairs(log)).toEqual([[0, 0n], [4, 6n]]);
    await crash(manager);
    // A file that missed epoch 4: recovery walks only the last segment, so on its own it would place epoch 4 there.
    await writeFile(checkpointPath(), '0\n1\n0 0\n');
    const { manager: reopened, warnings } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, 0n], [4, 6n]]);
    expect(warnings().map((w) => w.msg)).toContain('recovery found a leader epoch the checkpoint does not have; rebuilding the cache from the log');
  });

  it('recovery that truncates the log drops the entries of the lost offsets (truncateFromEnd), also from the file', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 3);
    log.leaderEpoch = 1;
    await append(log, 1);
    await log.flush();
    expect(await checkpoint()).toBe('0\n2\n0 0\n1 6\n');
    const segment = `${dir}/t-0/00000000000000000000.log`;
    const size = (await stat(segment)).size;
    await crash(manager);
    // Tear the last batch (the only one of epoch 1).
    await truncate(segment, size - 10);
    const { manager: reopened } = await openManager();
    const again = reopened.getLog('t', 0)!;
    expect(again.logEndOffset).toBe(6n);
    expect(pairs(again)).toEqual([[0, 0n]]);
    expect(again.endOffsetForEpoch(1)).toBeNull();
    await append(again, 1);
    await again.flush();
    expect(await checkpoint()).toBe('0\n1\n0 0\n');
  });

  it('after a crash before any flush the cache is rebuilt and then written', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    log.leaderEpoch = 2;
    await append(log, 5);
    await crash(manager);
    expect(existsSync(checkpointPath())).toBe(false);
    const { manager: reopened } = await openManager();
    const again = reopened.getLog('t', 0)!;
    again.leaderEpoch = 2;
    expect(pairs(again)).toEqual([[2, 0n]]);
    expect(again.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 10n });
    expect(again.endOffsetForEpoch(1)).toEqual({ leaderEpoch: 1, endOffset: 0n });
    await again.flush();
    expect(await checkpoint()).toBe('0\n1\n2 0\n');
  });

  it('DeleteRecords moves the first entry to the new log start offset (truncateFromStart), in memory, on disk and after a restart', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 3);
    log.leaderEpoch = 1;
    await append(log, 3);
    await log.flush();
    expect(await manager.deleteRecords(log, 4n)).toBe(4n);
    expect(pairs(log)).toEqual([[0, 4n], [1, 6n]]);
    expect(log.earliestOffsetAndEpoch()).toEqual({ offset: 4n, timestamp: -1n, leaderEpoch: 0 });
    expect(await manager.deleteRecords(log, 8n)).toBe(8n);
    expect(pairs(log)).toEqual([[1, 8n]]);
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 8n });
    await expect.poll(() => checkpoint()).toBe('0\n1\n1 8\n');
    await crash(manager);
    const { manager: reopened } = await openManager();
    const again = reopened.getLog('t', 0)!;
    expect(again.logStartOffset).toBe(8n);
    expect(pairs(again)).toEqual([[1, 8n]]);
  });

  it('a stale checkpoint below the log start offset is truncated at load (a crash before its background write)', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await append(log, 5);
    await log.flush();
    expect(await manager.deleteRecords(log, 6n)).toBe(6n);
    await expect.poll(() => checkpoint()).toBe('0\n1\n0 6\n');
    await crash(manager);
    await writeFile(checkpointPath(), '0\n1\n0 0\n');
    const { manager: reopened } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, 6n]]);
  });

  it('retention deleting whole segments moves the first entry to the new first segment', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1500, retentionBytes: 2000, fileDeleteDelayMs: 0 }));
    await append(log, 12);
    await log.flush();
    expect(await log.deleteOldSegments()).toBeGreaterThan(0);
    const start = log.logStartOffset;
    expect(start).toBeGreaterThan(0n);
    expect(pairs(log)).toEqual([[0, start]]);
    await append(log, 2);
    await log.flush();
    expect(await checkpoint()).toBe(`0\n1\n0 ${start}\n`);
    await closeManager(manager);
    const { manager: reopened } = await openManager();
    expect(pairs(reopened.getLog('t', 0)!)).toEqual([[0, start]]);
  });
});
