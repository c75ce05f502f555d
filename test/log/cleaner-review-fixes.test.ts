// The log cleaner review's findings (issue 10), each on real files: cleaned segments stay within segment.bytes,
// the SkimpyOffsetMap-layout offset map (sizing, clamping, release after a cleaning), the event loop keeps
// turning while a compressed log is cleaned, the cleanable range never passes the bound inside the segment
// holding the first dirty offset, the map's latest offset moves to the end of each fully mapped segment, a map
// full inside the first batch does not move the checkpoint past uncleaned records, and close() cuts a throttled
// sleep short.
import { readdir, rm, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import type { PartitionLog } from '../../src/log/partition-log.js';
import { nodeLogFs } from '../../src/log/fs.js';
import { CLEANER_OFFSET_CHECKPOINT_FILE, DEFAULT_CLEANER_CONFIG, LogCleaner, type CleanerConfig } from '../../src/log/cleaner/log-cleaner.js';
import { BYTES_PER_ENTRY, LOAD_FACTOR, OffsetMap, offsetMapBytes } from '../../src/log/cleaner/offset-map.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { withRecordsPayload } from '../protocol/records/compressed-batch.js';
import { captureLogger, makeTempDir } from './helpers.js';
import { readAll } from './cleaner-support.js';

let dataDir: string;
let cleanup: () => Promise<void>;
let manager: LogManager | undefined;
const extraCleaners: LogCleaner[] = [];
let now = 1_700_000_000_000;

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
  now = 1_700_000_000_000;
});

afterEach(async () => {
  for (const c of extraCleaners.splice(0)) await c.close();
  await manager?.close().catch(() => undefined);
  manager = undefined;
  await cleanup();
});

const COMPACT: Partial<LogConfig> = { compact: true, segmentBytes: 16 * 1024, indexIntervalBytes: 1024, deleteRetentionMs: 60_000 };

async function open(config: Partial<LogConfig> = {}, cleanerConfig: Partial<CleanerConfig> = {}): Promise<{ log: PartitionLog; cleaner: LogCleaner }> {
  manager = await LogManager.open({ dataDir, logger: captureLogger().logger, defaultConfig: { ...COMPACT, ...config }, clock: () => now });
  const log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG, ...COMPACT, ...config });
  const cleaner = await manager.startCleaner({ ...DEFAULT_CLEANER_CONFIG, enable: false, ...cleanerConfig });
  return { log, cleaner };
}

/** A second cleaner over the same logs, reading the checkpoint file as it is now (a restart's cleaner). */
async function freshCleaner(cleanerConfig: Partial<CleanerConfig> = {}): Promise<LogCleaner> {
  const cleaner = await LogCleaner.open({
    dataDir,
    fs: nodeLogFs,
    logs: () => manager!.listLogs(),
    config: { ...DEFAULT_CLEANER_CONFIG, enable: false, ...cleanerConfig },
    logger: captureLogger().logger,
    clock: () => now,
  });
  extraCleaners.push(cleaner);
  return cleaner;
}

function keyed(records: Array<{ key: string | null; value: string | null }>): Buffer {
  return buildRecordBatch({ records: records.map((r, i) => ({ key: r.key, value: r.value, timestampDelta: i })), baseTimestamp: BigInt(now) });
}

async function append(log: PartitionLog, batch: Buffer): Promise<bigint> {
  return (await log.append(batch, readBatchHeader(batch), { durable: false })).baseOffset;
}

async function roll(log: PartitionLog): Promise<void> {
  const n = log.segmentCount;
  for (let i = 0; i < 10_000 && log.segmentCount === n; i++) await append(log, keyed([{ key: 'pad', value: 'x'.repeat(1000) }]));
}

async function logFileSizes(dir: string): Promise<number[]> {
  const sizes: number[] = [];
  for (const name of (await readdir(dir)).sort()) if (name.endsWith('.log')) sizes.push((await stat(`${dir}/${name}`)).size);
  return sizes;
}

describe('cleaned segment size', () => {
  it('a cleaned segment stays within segment.bytes when rewritten batches grow (delete horizons re-encode deltas)', async () => {
    const { log, cleaner } = await open();
    // Segments of tombstone batches: setting a delete horizon moves every record's timestampDelta from 1 varint
    // byte to 3, so each rewritten batch is 40 bytes larger than the original.
    let key = 0;
    while (log.segmentCount < 3) {
      await append(log, keyed(Array.from({ length: 20 }, () => ({ key: `t${key++}`, value: null }))));
    }
    await roll(log);
    const before = await logFileSizes(log.dir);
    expect(Math.max(...before)).toBeLessThanOrEqual(16 * 1024);
    const stats = await cleaner.cleanOnce();
    expect(stats!.segmentsCleaned).toBeGreaterThanOrEqual(3);
    for (const size of await logFileSizes(log.dir)) expect(size).toBeLessThanOrEqual(16 * 1024);
    // No tombstone lost; batches got their horizon while the segment had room, the others were kept as they were
    // (nothing in these segments is superseded, so there is only the slack below segment.bytes).
    const records = await readAll(log);
    const tombstones = records.filter((r) => r.key !== null && r.key.startsWith('t'));
    expect(tombstones).toHaveLength(key);
    expect(tombstones.every((r) => r.value === null)).toBe(true);
    const withHorizon = tombstones.filter((r) => (r.attributes & 0x40) !== 0).length;
    expect(withHorizon).toBeGreaterThan(0);
    expect(withHorizon).toBeLessThan(key);
  });

  it('every tombstone gets its horizon when the cleaning frees room in the segment (the usual case)', async () => {
    const { log, cleaner } = await open();
    let key = 0;
    while (log.segmentCount < 3) {
      await append(log, keyed(Array.from({ length: 20 }, () => ({ key: `t${key++}`, value: null }))));
      await append(log, keyed(Array.from({ length: 5 }, (_, k) => ({ key: `live${k}`, value: 'y'.repeat(40) }))));
    }
    await roll(log);
    await cleaner.cleanOnce();
    for (const size of await logFileSizes(log.dir)) expect(size).toBeLessThanOrEqual(16 * 1024);
    const tombstones = (await readAll(log)).filter((r) => r.key !== null && r.key.startsWith('t'));
    expect(tombstones).toHaveLength(key);
    expect(tombstones.every((r) => (r.attributes & 0x40) !== 0)).toBe(true);
  });
});

describe('offset map (SkimpyOffsetMap layout)', () => {
  it('maps keys of any length to their last offset, updating in place, with open addressing', () => {
    const map = new OffsetMap(24 * 1024 * 1024);
    map.reset(300_000);
    const keys = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `key-${i}-${i % 7 === 0 ? 'a-longer-key-past-16-bytes' : ''}|`).join(''));
    const spans: Array<[number, number]> = [];
    for (let start = 0; start < keys.length; ) {
      const end = keys.indexOf(0x7c, start);
      spans.push([start, end - start]);
      start = end + 1;
    }
    spans.forEach(([s, l], i) => map.put(keys, s, l, i));
    spans.forEach(([s, l], i) => map.put(keys, s, l, i + 2 ** 40));
    expect(map.size).toBe(200_000);
    expect(map.latestOffset).toBe(199_999 + 2 ** 40);
    for (let i = 0; i < spans.length; i += 997) expect(map.get(keys, spans[i]![0], spans[i]![1])).toBe(i + 2 ** 40);
    expect(map.get(Buffer.from('absent'), 0, 6)).toBe(-1);
    // Empty keys are keys too.
    map.put(Buffer.alloc(0), 0, 0, 5);
    expect(map.get(Buffer.alloc(0), 0, 0)).toBe(5);
  });

  it("is full at Kafka's 0.9 load factor of the setting's slots, and allocates no more than the dirty range needs", () => {
    const map = new OffsetMap(24 * 1000);
    expect(map.maxSlots).toBe(1000);
    expect(map.capacity).toBe(900);
    map.reset(10);
    expect(map.allocatedBytes).toBe((Math.ceil(10 / LOAD_FACTOR) + 1) * BYTES_PER_ENTRY);
    map.reset(1_000_000);
    expect(map.allocatedBytes).toBe(1000 * BYTES_PER_ENTRY);
    const key = Buffer.alloc(4);
    let i = 0;
    for (; !map.isFull; i++) {
      key.writeUInt32BE(i);
      map.put(key, 0, 4, i);
    }
    expect(i).toBe(900);
    expect(() => map.put(key, 0, 4, 0)).toThrow(/full/);
    map.release();
    expect(map.allocatedBytes).toBe(0);
  });

  it('clamps a setting to 2^31 - 1 bytes and to a quarter of the machine memory', () => {
    expect(offsetMapBytes(128 * 1024 * 1024, 64 * 1024 ** 3)).toBe(128 * 1024 * 1024);
    expect(offsetMapBytes(8 * 1024 ** 3, 64 * 1024 ** 3)).toBe(2 ** 31 - 1);
    expect(offsetMapBytes(1024 ** 3, 1024 ** 3)).toBe(256 * 1024 ** 2);
  });

  it('the cleaner sizes the map from log.cleaner.dedupe.buffer.size and releases it after each cleaning', async () => {
    const { log, cleaner } = await open({}, { dedupeBufferSize: 1024 ** 3 });
    expect(cleaner.offsetMapUsage.capacity).toBe(Math.floor(Math.floor(Math.min(1024 ** 3, offsetMapBytes(1024 ** 3)) / 24) * 0.9));
    for (let round = 0; round < 300; round++) await append(log, keyed([{ key: `k${round % 10}`, value: `v${round}` }]));
    await roll(log);
    expect(await cleaner.cleanOnce()).toBeDefined();
    expect(cleaner.offsetMapUsage.allocatedBytes).toBe(0);
    const latest = new Map((await readAll(log)).map((r) => [r.key, r.value]));
    expect(latest.get('k9')).toBe('v299');
  });
});

describe('reconfigure (dynamic broker configs)', () => {
  it('a new log.cleaner.dedupe.buffer.size sizes the offset map of the next cleaning', async () => {
    // A map of 50 entries would stop the cleaning at offset 50; the new 1 MiB one maps all 200 keys.
    const { log, cleaner } = await open({ segmentBytes: 64 * 1024, minCleanableDirtyRatio: 0.01 }, { dedupeBufferSize: 24 * 56 });
    for (let i = 0; i < 200; i++) await append(log, keyed([{ key: `u${i}`, value: `v${i}` }]));
    await roll(log);
    await roll(log);
    expect(cleaner.offsetMapUsage.capacity).toBe(50);
    cleaner.reconfigure({ dedupeBufferSize: 1024 * 1024, ioMaxBytesPerSecond: Number.MAX_VALUE });
    expect(cleaner.offsetMapUsage.capacity).toBe(50);
    const stats = await cleaner.cleanOnce();
    expect(stats!.endOffset).toBeGreaterThanOrEqual(200n);
    expect(cleaner.offsetMapUsage.capacity).toBe(Math.floor(Math.floor((1024 * 1024) / BYTES_PER_ENTRY) * LOAD_FACTOR));
  });
});

describe('cleanable range and checkpoint', () => {
  it('cleans nothing when the bound (min.compaction.lag.ms) falls inside the segment holding the first dirty offset', async () => {
    // A map of 50 entries: the first cleaning stops at offset 50, inside segment 0.
    const { log, cleaner } = await open({ segmentBytes: 64 * 1024, minCleanableDirtyRatio: 0.01 }, { dedupeBufferSize: 24 * 56 });
    for (let i = 0; i < 200; i++) await append(log, keyed([{ key: `u${i}`, value: `v${i}` }]));
    await roll(log);
    await roll(log);
    const first = await cleaner.cleanOnce();
    expect(first!.endOffset).toBe(50n);
    expect(log.segmentBaseOffsets()[1]).toBeGreaterThan(200n);
    // Now every record is younger than the lag: the bound is segment 0's base, below the first dirty offset.
    manager!.updateConfig('t', { ...log.logConfig, minCompactionLagMs: 60_000 });
    expect(await cleaner.cleanOnce()).toBeUndefined();
    expect(cleaner.firstDirtyOffset('t', 0)).toBe(50n);
    expect((await readAll(log)).filter((r) => r.key?.startsWith('u'))).toHaveLength(200);
  });

  it("moves the map's latest offset to the end of each fully mapped segment, past a gap at its end", async () => {
    const { log, cleaner } = await open({ minCleanableDirtyRatio: 0.01 });
    for (let round = 0; round < 20; round++) await append(log, keyed(Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `v${round}` }))));
    // A tombstone as the last batch of the last sealed segment.
    const pad = keyed([{ key: 'pad', value: 'x'.repeat(1000) }]);
    const tomb = keyed([{ key: 'k0', value: null }]);
    const active = () => log.cleanerSegments().at(-1)!;
    for (let i = 0; i < 1000 && active().size + pad.length + tomb.length <= 16 * 1024; i++) await append(log, pad);
    const tombOffset = await append(log, tomb);
    await append(log, pad);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    expect(activeBase).toBe(tombOffset + 1n);
    await cleaner.cleanOnce();
    // Past the horizon, a cleaning from the log start (checkpoint lost) removes the tombstone: the segment now
    // ends in an offset gap.
    now += 61_000;
    await rm(`${dataDir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`);
    const second = await freshCleaner();
    expect((await second.cleanOnce())!.endOffset).toBe(activeBase);
    expect((await readAll(log)).some((r) => r.offset === tombOffset)).toBe(false);
    // Mapping that segment again ends at the next segment's base, not at the last batch before the gap.
    await rm(`${dataDir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`);
    const third = await freshCleaner();
    expect((await third.cleanOnce())!.endOffset).toBe(activeBase);
    expect(third.firstDirtyOffset('t', 0)).toBe(activeBase);
  });

  it('a map full inside the first dirty batch checkpoints the records mapped, not past the uncleaned ones', async () => {
    // 2 slots: the map takes one entry.
    const { log, cleaner } = await open({}, { dedupeBufferSize: 48 });
    await append(log, keyed(Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `v${k}` }))));
    await roll(log);
    const stats = await cleaner.cleanOnce();
    expect(stats!.endOffset).toBe(1n);
    expect(cleaner.firstDirtyOffset('t', 0)).toBe(1n);
    const records = await readAll(log);
    for (let k = 0; k < 10; k++) expect(records.find((r) => r.key === `k${k}`)?.value).toBe(`v${k}`);
  });
});

describe('event loop and close', () => {
  it('keeps the event loop turning while gzip batches of a megabyte of records each are cleaned', async () => {
    const { log, cleaner } = await open({ segmentBytes: 1024 * 1024, indexIntervalBytes: 4096 });
    const value = 'v'.repeat(1000);
    for (let b = 0; b < 40; b++) {
      const batch = keyed(Array.from({ length: 1000 }, (_, i) => ({ key: `k${i % 100}`, value })));
      await append(log, withRecordsPayload(batch, 1, gzipSync(batch.subarray(61), { level: 9 })));
    }
    await roll(log);
    let maxGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      maxGapMs = Math.max(maxGapMs, t - last);
      last = t;
    }, 1);
    let stats;
    try {
      stats = await cleaner.cleanOnce();
    } finally {
      clearInterval(timer);
    }
    expect(stats!.recordsRead).toBeGreaterThanOrEqual(40_000);
    // The 40 batches (~40 MB of records) sit in one 512 KiB read; each batch is one slice of work now.
    expect(maxGapMs).toBeLessThan(60);
    expect((await readAll(log)).filter((r) => r.key === 'k5')).toHaveLength(1);
  });

  it("close() cuts short the throttler's sleep", async () => {
    const { log } = await open();
    for (let round = 0; round < 300; round++) await append(log, keyed([{ key: `k${round % 10}`, value: 'x'.repeat(100) }]));
    await roll(log);
    // 1 KB/s: the first read of a segment already means seconds of sleep (10 s at most per sleep).
    const cleaner = await freshCleaner({ enable: true, ioMaxBytesPerSecond: 1000, backoffMs: 60_000 });
    cleaner.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    await cleaner.close();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
