import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { LogManager, parseLogDirName, type PartitionLog } from '../../src/log/log-manager.js';
import { captureLogger, countingFs, makeTempDir, producedBatch, type CountingFs } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let open: LogManager[];

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  open = [];
});

afterEach(async () => {
  for (const m of open) await m.close().catch(() => undefined);
  await cleanup();
});

async function openManager(options: { fs?: CountingFs; config?: Partial<LogConfig> } = {}) {
  const captured = captureLogger();
  const manager = await LogManager.open({ dataDir: dir, logger: captured.logger, defaultConfig: options.config, fs: options.fs });
  open.push(manager);
  return { manager, warnings: captured.warnings };
}

async function closeManager(manager: LogManager) {
  await manager.close();
  open = open.filter((m) => m !== manager);
}

function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

async function appendN(log: PartitionLog, n: number, valueBytes = 100) {
  for (let i = 0; i < n; i++) {
    const { batch, header } = producedBatch(2, { valueBytes, baseTimestamp: 1000n + BigInt(i * 10) });
    await log.append(batch, header, { durable: false });
  }
}

describe('LogManager', () => {
  it('splits directory names at the last dash', () => {
    expect(parseLogDirName('my-topic-12')).toEqual({ topic: 'my-topic', partition: 12 });
    expect(parseLogDirName('t-0')).toEqual({ topic: 't', partition: 0 });
    expect(parseLogDirName('nodash')).toBeUndefined();
    expect(parseLogDirName('t-x')).toBeUndefined();
    expect(parseLogDirName('t-0.abc-delete')).toBeUndefined();
  });

  it('createLog is idempotent and listLogs/getLog find the log', async () => {
    const { manager } = await openManager();
    const [a, b] = await Promise.all([manager.createLog('t', 0, config()), manager.createLog('t', 0, config())]);
    expect(a).toBe(b);
    expect(await manager.createLog('t', 0, config())).toBe(a);
    expect(manager.getLog('t', 0)).toBe(a);
    expect(manager.getLog('t', 1)).toBeUndefined();
    expect(manager.listLogs()).toHaveLength(1);
  });

  it('restarts after a clean close with the same offsets and data, without walking the logs', async () => {
    const first = await openManager();
    const log = await first.manager.createLog('my-topic', 3, config({ segmentBytes: 4000, indexIntervalBytes: 500 }));
    await appendN(log, 50);
    const before = await log.read(20n, 1 << 20, true);
    await closeManager(first.manager);
    expect((await readdir(dir)).sort()).toEqual(['.boot-id', '.kafka_cleanshutdown', 'my-topic-3', 'recovery-point-offset-checkpoint']);
    expect(await readFile(`${dir}/recovery-point-offset-checkpoint`, 'utf8')).toBe('0\n1\nmy-topic 3 100\n');

    const fs = countingFs();
    const second = await openManager({ fs, config: { segmentBytes: 4000, indexIntervalBytes: 500 } });
    // Only the active segment's first and last batch headers are read: far less than the data.
    expect(fs.logBytesRead).toBeLessThan(20_000);
    const reopened = second.manager.getLog('my-topic', 3)!;
    expect(reopened.logEndOffset).toBe(100n);
    expect(reopened.highWatermark).toBe(100n);
    expect(reopened.logStartOffset).toBe(0n);
    expect(reopened.segmentCount).toBe(log.segmentCount);
    expect((await reopened.read(20n, 1 << 20, true))!.equals(before!)).toBe(true);
    expect(second.warnings()).toEqual([]);
    // The marker is gone once loaded, so a crash from now on is detected.
    expect(await readdir(dir)).not.toContain('.kafka_cleanshutdown');
    const r = await reopened.append(producedBatch(1).batch, producedBatch(1).header, { durable: true });
    expect(r.baseOffset).toBe(100n);
    expect(await reopened.offsetForTimestamp(1485n)).toEqual({ offset: 98n, timestamp: 1490n, leaderEpoch: 0 });
  });

  it('deleteLogs closes and removes every partition directory of the topic', async () => {
    const { manager } = await openManager();
    for (let p = 0; p < 3; p++) await appendN(await manager.createLog('gone', p, config()), 2);
    await appendN(await manager.createLog('kept', 0, config()), 2);
    await manager.deleteLogs('gone');
    expect(manager.getLog('gone', 0)).toBeUndefined();
    expect(manager.listLogs().map((l) => l.topic)).toEqual(['kept']);
    expect((await readdir(dir)).filter((n) => !n.startsWith('.') && n !== 'recovery-point-offset-checkpoint')).toEqual(['kept-0']);
    // Re-creating the topic starts from offset 0.
    const again = await manager.createLog('gone', 0, config());
    expect(again.logEndOffset).toBe(0n);
  });

  it('ignores unknown files and removes leftover -delete directories at startup', async () => {
    await writeFile(`${dir}/README`, 'not a log');
    await mkdir(`${dir}/t-0.0123abc-delete`);
    await mkdir(`${dir}/not_a_partition`);
    const { manager } = await openManager();
    expect(manager.listLogs()).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['.boot-id', 'README', 'not_a_partition', 'recovery-point-offset-checkpoint']);
  });
});

