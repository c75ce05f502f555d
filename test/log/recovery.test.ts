import { readdir, readFile, stat, truncate, unlink, writeFile, open as openFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { LogManager, type PartitionLog } from '../../src/log/log-manager.js';
import { batchHeaders, captureLogger, countingFs, makeTempDir, producedBatch, type CountingFs } from './helpers.js';

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

/** Simulates a crash: the process dies without close(); files stay as written (page cache survives). */
async function crash(manager: LogManager) {
  for (const log of manager.listLogs()) await log.flush();
  open = open.filter((m) => m !== manager);
  // Drop file handles without the clean-shutdown path.
  for (const log of manager.listLogs()) await log.close({ flush: false });
}

const SEG = '00000000000000000000';

describe('recovery after an unclean shutdown', () => {
  async function writeAndCrash(n: number, overrides: Partial<LogConfig> = {}) {
    const { manager } = await openManager({ config: overrides });
    const log = await manager.createLog('t', 0, config(overrides));
    await appendN(log, n);
    const size = (await stat(`${dir}/t-0/${SEG}.log`)).size;
    await crash(manager);
    return { batchSize: size / n };
  }

  it('truncates a torn tail and keeps every complete batch', async () => {
    const { batchSize } = await writeAndCrash(10);
    await truncate(`${dir}/t-0/${SEG}.log`, batchSize * 7 + 100);
    const { manager, warnings } = await openManager();
    const log = manager.getLog('t', 0)!;
    expect(log.logEndOffset).toBe(14n);
    expect((await stat(`${dir}/t-0/${SEG}.log`)).size).toBe(batchSize * 7);
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toMatchObject({ topic: 't', partition: 0, position: batchSize * 7, reason: 'torn batch' });
    const r = await log.append(producedBatch(1).batch, producedBatch(1).header, { durable: false });
    expect(r.baseOffset).toBe(14n);
    expect(batchHeaders((await log.read(0n, 1 << 20, true))!)).toHaveLength(7);
    expect(batchHeaders((await log.read(14n, 1 << 20, true))!)[0]!.baseOffset).toBe(14n);
  });

  it('does not fsync the recovered active segment at startup; the recovery point moves at the next flush', async () => {
    await writeAndCrash(10);
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = manager.getLog('t', 0)!;
    expect(log.logEndOffset).toBe(20n);
    expect(fs.syncs).toBe(0);
    expect(log.recoveryPoint).toBe(0n);
    expect(batchHeaders((await log.read(0n, 1 << 20, true))!)).toHaveLength(10);
    await log.flush();
    expect(fs.syncs).toBe(1);
    expect(log.recoveryPoint).toBe(20n);
  });

  it('a second crash before any flush walks the recovered segment again and loses nothing', async () => {
    await writeAndCrash(10);
    const first = await openManager();
    const log = first.manager.getLog('t', 0)!;
    open = open.filter((m) => m !== first.manager);
    await log.close({ flush: false });
    const second = await openManager();
    expect(second.manager.getLog('t', 0)!.logEndOffset).toBe(20n);
    expect(second.warnings()).toHaveLength(0);
  });

  it('drops everything from a batch with a bad CRC in the middle of a segment', async () => {
    const { batchSize } = await writeAndCrash(10);
    const fh = await openFile(`${dir}/t-0/${SEG}.log`, 'r+');
    const pos = batchSize * 4 + 80;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, pos);
    b[0] ^= 0xff;
    await fh.write(b, 0, 1, pos);
    await fh.close();
    const { manager, warnings } = await openManager();
    const log = manager.getLog('t', 0)!;
    expect(log.logEndOffset).toBe(8n);
    expect(warnings()[0]).toMatchObject({ reason: 'CRC mismatch', position: batchSize * 4 });
    expect((await stat(`${dir}/t-0/${SEG}.log`)).size).toBe(batchSize * 4);
  });

  it('deletes segments after a corrupt one', async () => {
    const { manager } = await openManager({ config: { segmentBytes: 1000 } });
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1000 }));
    await appendN(log, 12);
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(2);
    await crash(manager);
    const second = bases[1]!.toString().padStart(20, '0');
    await truncate(`${dir}/t-0/${second}.log`, 100);
    const reopened = await openManager({ config: { segmentBytes: 1000 } });
    const log2 = reopened.manager.getLog('t', 0)!;
    expect(log2.segmentBaseOffsets()).toEqual([0n, bases[1]!]);
    expect(log2.logEndOffset).toBe(bases[1]!);
    expect(reopened.warnings()[0]!.deletedSegments).toEqual(bases.slice(2).map(String));
    expect(await readdir(`${dir}/t-0`)).not.toContain(`${bases[2]!.toString().padStart(20, '0')}.log`);
  });

  it('rebuilds a missing index from the log', async () => {
    await writeAndCrash(30, { indexIntervalBytes: 300 });
    const index = await readFile(`${dir}/t-0/${SEG}.index`);
    expect(index.length).toBeGreaterThan(0);
    await unlink(`${dir}/t-0/${SEG}.index`);
    const { manager } = await openManager({ config: { indexIntervalBytes: 300 } });
    const log = manager.getLog('t', 0)!;
    expect(log.logEndOffset).toBe(60n);
    expect((await readFile(`${dir}/t-0/${SEG}.index`)).equals(index)).toBe(true);
    expect(batchHeaders((await log.read(33n, 1, true))!)[0]!.baseOffset).toBe(32n);
  });

  it('rebuilds a corrupt index even after a clean shutdown', async () => {
    const { manager } = await openManager({ config: { indexIntervalBytes: 300 } });
    const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 300 }));
    await appendN(log, 30);
    await closeManager(manager);
    const index = await readFile(`${dir}/t-0/${SEG}.index`);
    await writeFile(`${dir}/t-0/${SEG}.index`, Buffer.concat([index, Buffer.from([1, 2, 3])]));
    const second = await openManager({ config: { indexIntervalBytes: 300 } });
    expect(second.warnings().map((w) => w.msg)).toEqual(['missing or corrupt index; rebuilding it from the log']);
    expect((await readFile(`${dir}/t-0/${SEG}.index`)).equals(index)).toBe(true);
    // An index pointing past the end of the log is corrupt too.
    await closeManager(second.manager);
    const bad = Buffer.from(index);
    bad.writeInt32BE(1 << 30, bad.length - 4);
    await writeFile(`${dir}/t-0/${SEG}.index`, bad);
    const third = await openManager({ config: { indexIntervalBytes: 300 } });
    expect(third.warnings()).toHaveLength(1);
    expect(third.manager.getLog('t', 0)!.logEndOffset).toBe(60n);
  });

  it('only walks segments from the recovery point', async () => {
    const { manager } = await openManager({ config: { segmentBytes: 1000 } });
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1000 }));
    await appendN(log, 20);
    await manager.flushAll();
    await appendN(log, 2);
    await crash(manager);
    const fs = countingFs();
    const second = await openManager({ fs, config: { segmentBytes: 1000 } });
    expect(second.manager.getLog('t', 0)!.logEndOffset).toBe(44n);
    // 22 batches of ~300 bytes in ~7 segments; only the last one or two are walked.
    expect(fs.logBytesRead).toBeLessThan(2500);
  });
});
