// The bounded cache of open log files (file-handle-cache.ts), on real files: the cap, reopening after eviction,
// durability of evicted files with unsynced writes, pinning during an operation, EMFILE retries, and many
// partitions through LogManager under a small cap.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHandleCache, defaultMaxOpenFiles, softFdLimit } from '../../src/log/file-handle-cache.js';
import { nodeLogFs, type LogFs } from '../../src/log/fs.js';
import { LogManager } from '../../src/log/log-manager.js';
import { captureLogger, countingFs, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

/** An fs that counts the files open through it right now. */
function openCountingFs(base: LogFs = nodeLogFs): LogFs & { open_: number; maxOpen: number } {
  const fs = {
    ...base,
    open_: 0,
    maxOpen: 0,
    async open(path: string, flags: 'r' | 'r+' | 'w+') {
      const file = await base.open(path, flags);
      fs.open_++;
      fs.maxOpen = Math.max(fs.maxOpen, fs.open_);
      return {
        read: file.read.bind(file),
        writev: file.writev.bind(file),
        sync: file.sync.bind(file),
        truncate: file.truncate.bind(file),
        size: file.size.bind(file),
        close: async () => {
          fs.open_--;
          await file.close();
        },
      };
    },
  };
  return fs;
}

describe('FileHandleCache', () => {
  it('never holds more than maxOpenFiles open, and an evicted file reopens with its data', async () => {
    const fs = openCountingFs();
    const cache = new FileHandleCache(fs, 4);
    const files = [];
    for (let i = 0; i < 20; i++) {
      const f = await cache.create(`${dir}/f${i}`);
      await f.writev([Buffer.from(`file ${i}`)], 0);
      files.push(f);
    }
    expect(fs.maxOpen).toBeLessThanOrEqual(4);
    expect(cache.openFiles).toBeLessThanOrEqual(4);
    for (let i = 0; i < 20; i++) {
      const buf = Buffer.alloc(16);
      const n = await files[i]!.read(buf, 0, 16, 0);
      // Reopened with 'r+', never 'w+': nothing was truncated.
      expect(buf.subarray(0, n).toString()).toBe(`file ${i}`);
    }
    expect(fs.maxOpen).toBeLessThanOrEqual(4);
    expect(cache.stats().evictions).toBeGreaterThan(0);
    await Promise.all(files.map((f) => f.close()));
    expect(fs.open_).toBe(0);
  });

  it('evicts clean files before ones with unsynced writes, and a later sync reopens and fsyncs the evicted file', async () => {
    const counting = countingFs();
    const cache = new FileHandleCache(counting, 2);
    const dirty = await cache.create(`${dir}/dirty.log`);
    await dirty.writev([Buffer.from('unsynced bytes')], 0);
    const clean = await cache.create(`${dir}/clean.log`);
    await clean.sync();
    // A third file needs room: the clean one goes although the dirty one is older.
    const third = await cache.create(`${dir}/third.log`);
    expect(clean.isOpen).toBe(false);
    expect(dirty.isOpen).toBe(true);
    await third.writev([Buffer.from('x')], 0);
    await (await cache.create(`${dir}/fourth.log`)).writev([Buffer.from('y')], 0);
    // Now every open file has unsynced data: the least recently used one is closed, its dirty state kept.
    expect(dirty.isOpen).toBe(false);
    expect(dirty.unsynced).toBe(true);
    const syncsBefore = counting.syncs;
    await dirty.sync();
    expect(counting.syncs).toBe(syncsBefore + 1);
    expect(dirty.unsynced).toBe(false);
    expect(readFileSync(`${dir}/dirty.log`, 'utf8')).toBe('unsynced bytes');
    await cache.closeAll();
    expect(cache.openFiles).toBe(0);
  });

  it('does not close a file while an operation on it is in flight: an open over the cap waits for it', async () => {
    const counting = countingFs();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    counting.fault = async (op, path) => {
      if (op === 'writev' && path.endsWith('slow.log')) await gate;
    };
    const cache = new FileHandleCache(counting, 1);
    const slow = await cache.create(`${dir}/slow.log`);
    const writing = slow.writev([Buffer.from('pinned')], 0);
    await new Promise((resolve) => setImmediate(resolve));
    // The cap is 1 and the only open file is busy: the new file's open waits instead of closing it.
    let opened = false;
    const creating = cache.create(`${dir}/other.log`).then((f) => {
      opened = true;
      return f;
    });
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(opened).toBe(false);
    expect(slow.isOpen).toBe(true);
    release();
    expect(await writing).toBe(6);
    const other = await creating;
    await other.writev([Buffer.from('z')], 0);
    expect(cache.openFiles).toBe(1);
    expect(slow.isOpen).toBe(false);
    expect(readFileSync(`${dir}/slow.log`, 'utf8')).toBe('pinned');
    await cache.closeAll();
  });

  it('an open refused with EMFILE closes idle files and retries', async () => {
    let refuse = 0;
    const fs: LogFs = {
      ...nodeLogFs,
      open: (path, flags) => (refuse-- > 0 ? Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' })) : nodeLogFs.open(path, flags)),
    };
    const { logger, warnings } = captureLogger();
    const cache = new FileHandleCache(fs, 100, logger);
    const idle = await cache.create(`${dir}/idle.log`);
    refuse = 1;
    const f = await cache.create(`${dir}/new.log`);
    expect(f.isOpen).toBe(true);
    expect(idle.isOpen).toBe(false);
    expect(cache.stats().fdExhausted).toBe(1);
    expect(warnings().some((w) => /out of file descriptors/.test(w.msg))).toBe(true);
    // Still refused after the retries: the error reaches the caller.
    refuse = 10;
    await expect(cache.create(`${dir}/never.log`)).rejects.toMatchObject({ code: 'EMFILE' });
    await cache.closeAll();
  });

  it('derives its default cap from the fd soft limit in /proc/self/limits', async () => {
    const soft = await softFdLimit(nodeLogFs);
    expect(soft).toBeGreaterThan(0);
    expect(await defaultMaxOpenFiles(nodeLogFs)).toBe(Math.floor(soft! / 2));
    const noProc: LogFs = { ...nodeLogFs, readFile: () => Promise.reject(new Error('ENOENT')) };
    expect(await defaultMaxOpenFiles(noProc)).toBe(256);
  });
});

describe('many partitions under a small cap', () => {
  it('200 partitions with maxOpenFiles 16: appends, fsyncs and reads all work, at most 16 files open at once', async () => {
    const fs = openCountingFs();
    const { logger } = captureLogger();
    const logs = await LogManager.open({ dataDir: dir, logger, fs, maxOpenFiles: 16 });
    const partitions = Array.from({ length: 200 }, (_, p) => p);
    for (const p of partitions) await logs.createLog('t', p, logs.defaultConfig);
    for (let round = 0; round < 2; round++) {
      await Promise.all(partitions.map(async (p) => {
        const { batch, header } = producedBatch(3, { tag: `p${p}-r${round}` });
        const result = await logs.getLog('t', p)!.append(batch, header, { durable: true });
        expect(result.baseOffset).toBe(BigInt(round * 3));
      }));
    }
    for (const p of partitions) {
      const read = await logs.getLog('t', p)!.read(0n, 1 << 20, true);
      expect(read!.includes(Buffer.from(`p${p}-r1-2`))).toBe(true);
    }
    expect(fs.maxOpen).toBeLessThanOrEqual(16);
    expect(logs.fileHandleStats().open).toBeLessThanOrEqual(16);
    await logs.close();
    expect(fs.open_).toBe(0);

    // A clean restart reads them back without opening more than the cap.
    fs.maxOpen = 0;
    const reopened = await LogManager.open({ dataDir: dir, logger, fs, maxOpenFiles: 16, topicConfigs: new Map() });
    for (const p of partitions) expect(reopened.getLog('t', p)!.logEndOffset).toBe(6n);
    expect(fs.maxOpen).toBeLessThanOrEqual(16);
    await reopened.close();
  });
});
