// Issue 8, defect 3 and the "no file stops the broker from starting" rule, at the LogManager level with faults
// injected through log/fs.ts: an I/O error takes one partition offline, the others keep working, and the
// partition comes back by itself once its disk takes writes again.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { nodeLogFs, type LogFs } from '../../src/log/fs.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { LogManager, type PartitionLog } from '../../src/log/log-manager.js';
import { OfflinePartitions, probeWritable } from '../../src/log/offline-partitions.js';
import { CLEAN_SHUTDOWN_FILE } from '../../src/log/checkpoint.js';
import { captureLogger, countingFs, makeTempDir, producedBatch, type CountingFs } from './helpers.js';

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

async function open(fs: LogFs) {
  const captured = captureLogger();
  const manager = await LogManager.open({ dataDir: dir, logger: captured.logger, fs });
  managers.push(manager);
  return { manager, captured };
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
const eio = () => Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' });

async function append(log: PartitionLog, tag: string) {
  // Current timestamps: a reloaded segment rolls by segment.ms from its records' timestamps, as Kafka's do.
  const { batch, header } = producedBatch(2, { tag, baseTimestamp: BigInt(Date.now()) });
  return log.append(batch, header, { durable: true });
}

/** Polls `check` every 50 ms for at most `timeoutMs`; the offline retry starts after 500 ms. */
async function eventually(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('offline partitions', () => {
  it('a write error takes only its partition offline; it keeps serving reads and comes back by itself', async () => {
    const fs: CountingFs = countingFs();
    const { manager, captured } = await open(fs);
    const bad = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG });
    const good = await manager.createLog('t', 1, { ...DEFAULT_LOG_CONFIG });
    await append(bad, 'before');

    let diskFull = true;
    fs.fault = (op, path) => {
      if (diskFull && path.includes('/t-0/')) throw enospc();
    };
    await expect(append(bad, 'lost')).rejects.toThrow('ENOSPC');
    expect(manager.isOffline('t', 0)).toBe(true);
    await expect(append(bad, 'refused')).rejects.toMatchObject({ errorCode: 56 }); // KAFKA_STORAGE_ERROR
    // The other partition is unaffected, and the offline one still serves what it acknowledged.
    expect((await append(good, 'fine')).baseOffset).toBe(0n);
    expect((await bad.read(0n, 1 << 20, true))!.length).toBeGreaterThan(0);
    expect(captured.records.filter((r) => r.level === 50 && r.msg === 'I/O error: partition log is offline')).toHaveLength(1);

    diskFull = false;
    await eventually(() => !manager.isOffline('t', 0));
    const back = manager.getLog('t', 0)!;
    expect(back).not.toBe(bad);
    // Offsets continue right after the last acknowledged batch: the failed append left nothing behind.
    expect(back.logEndOffset).toBe(2n);
    expect((await append(back, 'after')).baseOffset).toBe(2n);
    expect(captured.records.some((r) => r.msg === 'partition log is back online')).toBe(true);
  });

  it('a torn write left by the failure is cut before the partition comes back', async () => {
    const fs: CountingFs = countingFs();
    const { manager } = await open(fs);
    const log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG });
    await append(log, 'a');
    let failing = true;
    // The write reaches the disk half-way (as ENOSPC does part-way through), then fails.
    fs.fault = async (op, path) => {
      if (failing && op === 'writev' && path.endsWith('.log')) {
        failing = false;
        const file = await nodeLogFs.open(path, 'r+');
        await file.writev([Buffer.alloc(17, 0xab)], await file.size());
        await file.close();
        throw enospc();
      }
    };
    await expect(append(log, 'torn')).rejects.toThrow('ENOSPC');
    await eventually(() => !manager.isOffline('t', 0));
    const back = manager.getLog('t', 0)!;
    expect(back.logEndOffset).toBe(2n);
    expect((await append(back, 'b')).baseOffset).toBe(2n);
    const all = await back.read(0n, 1 << 20, true);
    // Two whole batches, nothing of the 17 torn bytes.
    expect(all!.length).toBe(2 * producedBatch(2, { tag: 'a', baseTimestamp: BigInt(Date.now()) }).batch.length);
  });

  it('a partition whose files fail to load is offline while the others load; it loads once its disk recovers', async () => {
    const first = await open(nodeLogFs);
    await append(await first.manager.createLog('bad', 0, { ...DEFAULT_LOG_CONFIG }), 'x');
    await append(await first.manager.createLog('ok', 0, { ...DEFAULT_LOG_CONFIG }), 'y');
    await first.manager.close();

    let broken = true;
    const fs: LogFs = {
      ...nodeLogFs,
      open: (path, flags) => (broken && path.includes('/bad-0/') ? Promise.reject(eio()) : nodeLogFs.open(path, flags)),
    };
    const { manager, captured } = await open(fs);
    expect(manager.getLog('ok', 0)!.logEndOffset).toBe(2n);
    expect(manager.getLog('bad', 0)).toBeUndefined();
    expect(manager.isOffline('bad', 0)).toBe(true);
    expect(manager.offlinePartitions().map((p) => [p.topic, p.partition])).toEqual([['bad', 0]]);
    const error = captured.records.find((r) => r.msg === 'partition log failed to load; it stays offline and is retried');
    expect(error).toMatchObject({ level: 50, topic: 'bad', partition: 0 });
    // A registered partition that is offline is not re-created over its files.
    await expect(manager.createLog('bad', 0, { ...DEFAULT_LOG_CONFIG })).rejects.toMatchObject({ errorCode: 56 });

    broken = false;
    await eventually(() => manager.getLog('bad', 0) !== undefined);
    expect(manager.getLog('bad', 0)!.logEndOffset).toBe(2n);
  });

  it('shutdown completes with an offline partition and leaves no clean-shutdown marker', async () => {
    const fs: CountingFs = countingFs();
    const { manager, captured } = await open(fs);
    const log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG });
    fs.fault = () => {
      throw eio();
    };
    await expect(append(log, 'x')).rejects.toThrow('EIO');
    await manager.close();
    managers = [];
    expect(await readdir(dir)).not.toContain(CLEAN_SHUTDOWN_FILE);
    expect(captured.records.some((r) => r.msg === 'logs closed; no clean-shutdown marker written')).toBe(true);
  });

  it('deleting a topic with an offline partition removes its directory and stops the retries', async () => {
    const first = await open(nodeLogFs);
    await append(await first.manager.createLog('gone', 0, { ...DEFAULT_LOG_CONFIG }), 'x');
    await first.manager.close();
    const fs: LogFs = {
      ...nodeLogFs,
      open: (path, flags) => (path.includes('/gone-0/') ? Promise.reject(eio()) : nodeLogFs.open(path, flags)),
    };
    const { manager } = await open(fs);
    expect(manager.isOffline('gone', 0)).toBe(true);
    await manager.deleteLogs('gone');
    expect(manager.isOffline('gone', 0)).toBe(false);
    expect((await readdir(dir)).filter((n) => n.startsWith('gone-0'))).toEqual([]);
  });
});

describe('OfflinePartitions', () => {
  it('retries with a doubling backoff until the attempt succeeds', async () => {
    const captured = captureLogger();
    const offline = new OfflinePartitions(captured.logger, { minMs: 10, maxMs: 40 });
    const at: number[] = [];
    const started = Date.now();
    offline.markOffline('t-0', { topic: 't', partition: 0, cause: new Error('x'), recoveryPoint: 0n }, async () => {
      at.push(Date.now() - started);
      if (at.length < 4) throw new Error('still failing');
    });
    await eventually(() => !offline.has('t-0'), 5000);
    expect(at).toHaveLength(4);
    // 10, +20, +40, +40 (capped): each wait at least as long as the backoff says.
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(18);
    expect(at[3]! - at[2]!).toBeGreaterThanOrEqual(38);
    offline.close();
  });

  it('probeWritable throws while the directory refuses writes, and leaves no file behind', async () => {
    await probeWritable(nodeLogFs, dir);
    expect(await readdir(dir)).toEqual([]);
    const full: LogFs = { ...nodeLogFs, open: () => Promise.reject(enospc()) };
    await expect(probeWritable(full, dir)).rejects.toThrow('ENOSPC');
  });
});
