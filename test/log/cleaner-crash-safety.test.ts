// Crash safety of the cleaner's segment swap (src/log/cleaner/segment-swap.ts): the process "dies" after the
// N-th file-system change of a cleaning (every later write, rename, unlink or fsync fails, as after kill -9),
// for every N until a cleaning completes; the data dir is then loaded again. Each time: every key's latest
// value is there, no offset appears twice, offsets increase, no .cleaned/.swap/.deleted file is left, and the
// log can be cleaned again.
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeLogFs, type LogFile, type LogFs } from '../../src/log/fs.js';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { DEFAULT_CLEANER_CONFIG } from '../../src/log/cleaner/log-cleaner.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { captureLogger, makeTempDir } from './helpers.js';
import { readAll } from './cleaner-support.js';

const CONFIG: LogConfig = { ...DEFAULT_LOG_CONFIG, compact: true, segmentBytes: 1024, indexIntervalBytes: 256, minCleanableDirtyRatio: 0.01 };

class Killed extends Error {}

/** A LogFs that counts changes once armed and fails every change after `limit` of them. */
function mortalFs(): LogFs & { armed: boolean; limit: number; changes: number; dead: boolean } {
  const state = { armed: false, limit: Infinity, changes: 0, dead: false };
  const change = (): void => {
    if (state.dead) throw new Killed('process is dead');
    if (!state.armed) return;
    if (state.changes >= state.limit) {
      state.dead = true;
      throw new Killed('killed');
    }
    state.changes++;
  };
  const fs: LogFs & typeof state = Object.assign(state, {
    ...nodeLogFs,
    async open(path: string, flags: 'r' | 'r+' | 'w+') {
      if (flags === 'w+') change();
      else if (state.dead) throw new Killed('process is dead');
      const file = await nodeLogFs.open(path, flags);
      const wrapped: LogFile = {
        read: (b, o, l, p) => file.read(b, o, l, p),
        writev: async (buffers, position) => {
          change();
          return file.writev(buffers, position);
        },
        sync: async () => {
          change();
          return file.sync();
        },
        truncate: async (l) => {
          change();
          return file.truncate(l);
        },
        size: () => file.size(),
        close: () => file.close(),
      };
      return wrapped;
    },
    async writeFileAtomic(path: string, data: Buffer) {
      change();
      return nodeLogFs.writeFileAtomic(path, data);
    },
    async touch(path: string) {
      change();
      return nodeLogFs.touch(path);
    },
    async rename(from: string, to: string) {
      change();
      return nodeLogFs.rename(from, to);
    },
    async unlink(path: string) {
      change();
      return nodeLogFs.unlink(path);
    },
    async syncDir(path: string) {
      change();
      return nodeLogFs.syncDir(path);
    },
  });
  return fs;
}

let dataDir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
});

afterEach(async () => {
  await cleanup();
});

async function buildLog(dir: string, fs: LogFs): Promise<{ manager: LogManager; latest: Map<string, string> }> {
  const manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: CONFIG, fs });
  const log = await manager.createLog('t', 0, CONFIG);
  const latest = new Map<string, string>();
  for (let round = 0; round < 60; round++) {
    const records = Array.from({ length: 4 }, (_, k) => ({ key: `k${(round + k) % 7}`, value: `r${round}-${k}` }));
    const batch = buildRecordBatch({ records, baseTimestamp: 1_700_000_000_000n });
    await log.append(batch, readBatchHeader(batch), { durable: false });
    for (const r of records) latest.set(r.key, r.value);
  }
  await log.flush();
  return { manager, latest };
}

describe('cleaner swap crash safety', () => {
  it('a kill after any file-system change of a cleaning loses no latest value and duplicates no offset', async () => {
    let completed = false;
    let crashPoints = 0;
    for (let limit = 0; limit < 300 && !completed; limit++) {
      const dir = `${dataDir}/run-${limit}`;
      const fs = mortalFs();
      const { manager, latest } = await buildLog(dir, fs);
      const cleaner = await manager.startCleaner({ ...DEFAULT_CLEANER_CONFIG, enable: false });
      fs.armed = true;
      fs.limit = limit;
      try {
        const stats = await cleaner.cleanOnce();
        completed = !fs.dead;
        if (completed) expect(stats!.segmentsCleaned).toBeGreaterThan(3);
      } catch (err) {
        if (!fs.dead) throw err;
      }
      if (fs.dead) crashPoints++;
      // The dead process's close changes nothing on disk (every change fails), like a kill -9.
      fs.dead = true;
      await manager.close().catch(() => undefined);

      const restarted = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: CONFIG, topicConfigs: new Map([['t', CONFIG]]) });
      try {
        const log = restarted.getLog('t', 0)!;
        expect(log.isOffline).toBe(false);
        const records = await readAll(log);
        for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
        const view = new Map<string, string>();
        for (const r of records) view.set(r.key!, r.value!);
        expect(view).toEqual(latest);
        expect(log.logEndOffset).toBe(240n);
        expect((await readdir(log.dir)).filter((n) => /\.(cleaned|swap|deleted)$/.test(n))).toEqual([]);
        // And it cleans (again) fine.
        const again = await restarted.startCleaner({ ...DEFAULT_CLEANER_CONFIG, enable: false });
        await again.cleanOnce();
        const view2 = new Map<string, string>();
        for (const r of await readAll(log)) view2.set(r.key!, r.value!);
        expect(view2).toEqual(latest);
      } finally {
        await restarted.close();
      }
    }
    expect(completed).toBe(true);
    expect(crashPoints).toBeGreaterThan(10);
    // ~90 crash points, each a fresh log built, cleaned, reopened and cleaned again: bounded, but slow on a busy
    // machine.
  }, 180_000);
});
