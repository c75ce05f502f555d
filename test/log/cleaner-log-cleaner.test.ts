// The log cleaner (src/log/cleaner/) on real files: compaction of a keyed log, tombstones and their delete horizon,
// compressed batches of every codec (recompressed with their codec), transactions (aborted data removed, committed kept, markers), and the dirty-ratio rule.
import { readdir, stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import type { PartitionLog } from '../../src/log/partition-log.js';
import type { LogCleaner } from '../../src/log/cleaner/log-cleaner.js';
import { DEFAULT_CLEANER_CONFIG } from '../../src/log/cleaner/log-cleaner.js';
import { batchCrcIsValid, readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch, type BuildRecord } from '../protocol/records/batch-builder.js';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { compressBatch, withRecordsPayload, type TestCodec } from '../protocol/records/compressed-batch.js';
import { captureLogger, makeTempDir } from './helpers.js';
import { readAll, type ReadRecord } from './cleaner-support.js';

let dataDir: string;
let cleanup: () => Promise<void>;
let manager: LogManager | undefined;
let now = 1_700_000_000_000;

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
  now = 1_700_000_000_000;
});

afterEach(async () => {
  await manager?.close().catch(() => undefined);
  manager = undefined;
  await cleanup();
});

const COMPACT: Partial<LogConfig> = { compact: true, segmentBytes: 16 * 1024, indexIntervalBytes: 1024, deleteRetentionMs: 60_000 };

async function open(config: Partial<LogConfig> = {}): Promise<{ log: PartitionLog; cleaner: LogCleaner }> {
  manager = await LogManager.open({ dataDir, logger: captureLogger().logger, defaultConfig: { ...COMPACT, ...config }, clock: () => now });
  const log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG, ...COMPACT, ...config });
  const cleaner = await manager.startCleaner({ ...DEFAULT_CLEANER_CONFIG, enable: false });
  return { log, cleaner };
}

function keyed(records: Array<{ key: string | null; value: string | null }>, options: { producerId?: bigint; seq?: number; transactional?: boolean } = {}): Buffer {
  const built: BuildRecord[] = records.map((r, i) => ({ key: r.key, value: r.value, timestampDelta: i }));
  return buildRecordBatch({
    records: built,
    baseTimestamp: BigInt(now),
    producerId: options.producerId ?? -1n,
    producerEpoch: options.producerId === undefined ? -1 : 0,
    baseSequence: options.seq ?? -1,
    attributes: options.transactional ? 0x10 : 0,
  });
}

async function append(log: PartitionLog, batch: Buffer): Promise<bigint> {
  return (await log.append(batch, readBatchHeader(batch), { durable: false })).baseOffset;
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) if (name.endsWith('.log')) total += (await stat(`${dir}/${name}`)).size;
  return total;
}

/** The last value per key over the records, in offset order (a consumer's compacted view). */
function latestByKey(records: ReadRecord[]): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const r of records) if (r.key !== null) out.set(r.key, r.value);
  return out;
}

describe('log cleaner', () => {
  it('keeps the latest value per live key in offset order with unchanged offsets, and the log shrinks', async () => {
    const { log, cleaner } = await open();
    const produced = new Map<bigint, { key: string | null; value: string | null }>();
    for (let round = 0; round < 1000; round++) {
      const records = Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `k${k}-${round}` }));
      const base = await append(log, keyed(records));
      records.forEach((r, i) => produced.set(base + BigInt(i), r));
    }
    const tombstoneOffset = await append(log, keyed([{ key: 'k3', value: null }]));
    produced.set(tombstoneOffset, { key: 'k3', value: null });
    // Roll past the tombstone so it lies in a sealed segment.
    const segmentsBefore = log.segmentCount;
    while (log.segmentCount === segmentsBefore) {
      const base = await append(log, keyed([{ key: 'k0', value: 'k0-final' }]));
      produced.set(base, { key: 'k0', value: 'k0-final' });
    }
    const expected = latestByKey([...produced.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([offset, r]) => ({ offset, ...r, timestamp: 0n, attributes: 0 })));
    const before = await dirBytes(log.dir);

    const stats = await cleaner.cleanOnce();
    expect(stats).toBeDefined();
    expect(stats!.segmentsCleaned).toBeGreaterThan(1);
    const after = await dirBytes(log.dir);
    expect(after).toBeLessThan(before / 10);

    const records = await readAll(log);
    // Offsets strictly increase, each record is the one produced at that offset.
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
    for (const r of records) expect({ key: r.key, value: r.value }).toEqual(produced.get(r.offset));
    expect(latestByKey(records)).toEqual(expected);
    // In the cleaned segments every key appears once: its latest record (the tombstone for k3).
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const cleaned = records.filter((r) => r.offset < activeBase);
    expect(new Set(cleaned.map((r) => r.key)).size).toBe(cleaned.length);
    expect(cleaned.find((r) => r.key === 'k3')).toMatchObject({ offset: tombstoneOffset, value: null });
    expect(cleaner.firstDirtyOffset('t', 0)).toBe(stats!.endOffset);
    // Nothing is left of the swap.
    expect((await readdir(log.dir)).filter((n) => /\.(cleaned|swap|deleted)$/.test(n))).toEqual([]);
  });

  it('removes a tombstone once delete.retention.ms has passed since it was first cleaned', async () => {
    const { log, cleaner } = await open({ minCleanableDirtyRatio: 0.01 });
    for (let round = 0; round < 50; round++) await append(log, keyed(Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value: `v${round}` }))));
    await append(log, keyed([{ key: 'k3', value: null }]));
    const roll = async () => {
      const n = log.segmentCount;
      while (log.segmentCount === n) await append(log, keyed([{ key: 'filler', value: 'x'.repeat(500) }]));
    };
    await roll();
    await cleaner.cleanOnce();
    let records = await readAll(log);
    expect(records.filter((r) => r.key === 'k3')).toEqual([expect.objectContaining({ value: null })]);
    // The batch holding the tombstone now carries a delete horizon (KIP-534: attributes bit 6).
    expect(records.find((r) => r.key === 'k3')!.attributes & 0x40).toBe(0x40);

    // Before the horizon another cleaning keeps it.
    now += 30_000;
    await roll();
    await cleaner.cleanOnce();
    expect((await readAll(log)).filter((r) => r.key === 'k3')).toHaveLength(1);

    now += 31_000;
    await roll();
    expect(await cleaner.cleanOnce()).toBeDefined();
    records = await readAll(log);
    expect(records.filter((r) => r.key === 'k3')).toEqual([]);
    expect(latestByKey(records).get('k2')).toBe('v49');
  });

  it('leaves a log alone while its dirty ratio is at or below min.cleanable.dirty.ratio', async () => {
    const { log, cleaner } = await open({ minCleanableDirtyRatio: 0.99 });
    for (let round = 0; round < 200; round++) await append(log, keyed([{ key: 'a', value: `v${round}` }]));
    const n = log.segmentCount;
    while (log.segmentCount === n) await append(log, keyed([{ key: 'b', value: 'x'.repeat(1000) }]));
    // Everything sealed is dirty (ratio 1 > 0.99) the first time …
    expect(await cleaner.cleanOnce()).toBeDefined();
    // … and nothing is the second time.
    expect(await cleaner.cleanOnce()).toBeUndefined();
  });

  it('does not clean records newer than min.compaction.lag.ms', async () => {
    const { log, cleaner } = await open({ minCompactionLagMs: 60_000 });
    for (let round = 0; round < 200; round++) await append(log, keyed([{ key: 'a', value: `v${round}` }]));
    const n = log.segmentCount;
    while (log.segmentCount === n) await append(log, keyed([{ key: 'b', value: 'x'.repeat(1000) }]));
    expect(await cleaner.cleanOnce()).toBeUndefined();
    now += 61_000;
    expect(await cleaner.cleanOnce()).toBeDefined();
    expect((await readAll(log)).filter((r) => r.key === 'a').map((r) => r.value)).toEqual(['v199']);
  });

  const codecs = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
  it.each(codecs)('keeps the latest values of %s-compressed batches and rewrites them with the same codec', async (codec) => {
    const { log, cleaner } = await open();
    const codecId = { gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec];
    // The producer's side: test encoders for gzip/snappy/lz4 (compressed-batch.ts), zstd through libzstd.
    const compress = async (batch: Buffer): Promise<Buffer> =>
      codec === 'zstd' ? withRecordsPayload(batch, 4, await zstdCompress(batch.subarray(61), 3)) : compressBatch(batch, codec as TestCodec);
    for (let round = 0; round < 300; round++) {
      const batch = keyed([
        { key: 'a', value: `a-${round}-${'p'.repeat(100)}` },
        { key: `u${round}`, value: `unique-${round}` },
        { key: 'b', value: `b-${round}` },
      ]);
      await append(log, await compress(batch));
    }
    const n = log.segmentCount;
    while (log.segmentCount === n) await append(log, await compress(keyed([{ key: 'c', value: 'z'.repeat(1000) }])));
    await cleaner.cleanOnce();
    const records = await readAll(log);
    const latest = latestByKey(records);
    expect(latest.get('a')).toBe(`a-299-${'p'.repeat(100)}`);
    expect(latest.get('b')).toBe('b-299');
    for (let round = 0; round < 300; round++) expect(latest.get(`u${round}`)).toBe(`unique-${round}`);
    const activeBase = log.segmentBaseOffsets().at(-1)!;
    const cleaned = records.filter((r) => r.offset < activeBase);
    expect(cleaned.filter((r) => r.key === 'a')).toHaveLength(1);
    // Rewritten batches (rounds before the last lost 'a' and 'b') keep their codec (Kafka's
    // buildRetainedRecordsInto), decoded above by the broker's own decoders.
    const rewritten = cleaned.filter((r) => r.key !== null && /^u\d+$/.test(r.key) && r.key !== 'u299');
    expect(rewritten).toHaveLength(299);
    expect([...new Set(rewritten.map((r) => r.attributes & 7))]).toEqual([codecId]);
    // The last round's batch keeps every record, so it is copied with its codec.
    expect(cleaned.filter((r) => r.key === 'a').map((r) => r.attributes & 7)).toEqual([codecId]);
    // Every batch of the cleaned segments is a valid batch (CRC over the recompressed payload).
    const raw = await log.read(0n, 1 << 24, true);
    for (let pos = 0; pos < raw!.length; pos += 12 + raw!.readInt32BE(pos + 8)) expect(batchCrcIsValid(raw!, pos)).toBe(true);
  });

  it('removes aborted transactions, keeps committed ones, and an aborted value never hides the committed one', async () => {
    const { log, cleaner } = await open({ minCleanableDirtyRatio: 0.01 });
    let seq7 = 0;
    let seq8 = 0;
    for (let round = 0; round < 100; round++) {
      await append(log, keyed([{ key: 'a', value: `committed-${round}` }], { producerId: 7n, seq: seq7++, transactional: true }));
      await log.appendMarker(7n, 0, { commit: true, coordinatorEpoch: 0 }, { durable: false });
      await append(log, keyed([{ key: 'a', value: `aborted-${round}` }], { producerId: 8n, seq: seq8++, transactional: true }));
      await log.appendMarker(8n, 0, { commit: false, coordinatorEpoch: 0 }, { durable: false });
    }
    expect(log.abortedTransactionIndex()).toHaveLength(100);
    const n = log.segmentCount;
    while (log.segmentCount === n) await append(log, keyed([{ key: 'pad', value: 'x'.repeat(1000) }]));
    await cleaner.cleanOnce();
    const records = await readAll(log);
    const dataOf = (key: string) => records.filter((r) => r.key === key && (r.attributes & 0x20) === 0);
    expect(dataOf('a').map((r) => r.value)).toEqual(['committed-99']);
    // The first cleaning removed the aborted data: the markers (and their .txnindex entries) stay for now.
    expect(log.abortedTransactionIndex()).toHaveLength(100);
    const roll = async () => {
      const count = log.segmentCount;
      while (log.segmentCount === count) await append(log, keyed([{ key: 'pad', value: 'x'.repeat(1000) }]));
    };
    // The next finds aborted transactions without data: read_committed consumers no longer need them, and their
    // markers get a delete horizon; once it has passed they go too.
    await roll();
    await cleaner.cleanOnce();
    // All but producer 8's last one, whose (empty) data batch is kept for the producer's state, as in Kafka.
    expect(log.abortedTransactionIndex().map((t) => t.producerId)).toEqual([8n]);
    const markersBefore = (await readAll(log)).filter((r) => (r.attributes & 0x20) !== 0).length;
    now += 61_000;
    await roll();
    await cleaner.cleanOnce();
    const after = await readAll(log);
    const markersAfter = after.filter((r) => (r.attributes & 0x20) !== 0).length;
    expect(markersAfter).toBeLessThan(markersBefore);
    expect(after.filter((r) => r.key === 'a' && (r.attributes & 0x20) === 0).map((r) => r.value)).toEqual(['committed-99']);
    // Producer 8's last data batch survives as an empty batch (its sequence state: Kafka's RETAIN_EMPTY).
    const raw = await log.read(0n, 1 << 24, true);
    const batches: Array<{ producerId: bigint; recordCount: number }> = [];
    for (let pos = 0; pos < raw!.length; pos += 12 + raw!.readInt32BE(pos + 8)) batches.push(readBatchHeader(raw!, pos));
    expect(batches.some((b) => b.producerId === 8n && b.recordCount === 0)).toBe(true);
  });

  it('reads running while segments are swapped always get whole, valid batches', async () => {
    const { log, cleaner } = await open({ indexIntervalBytes: 256 });
    for (let round = 0; round < 600; round++) await append(log, keyed([{ key: `k${round % 20}`, value: `v${round}-${'x'.repeat(50)}` }]));
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        for (const offset of [0n, 100n, 250n, 400n, 599n]) {
          const buf = await log.read(offset, 8192, true);
          reads++;
          expect(buf).not.toBeNull();
          let pos = 0;
          while (pos < buf!.length) {
            expect(batchCrcIsValid(buf!, pos)).toBe(true);
            pos += 12 + buf!.readInt32BE(pos + 8);
          }
          expect(pos).toBe(buf!.length);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const stats = await cleaner.cleanOnce();
    stop = true;
    await reader;
    expect(stats!.segmentsCleaned).toBeGreaterThan(1);
    expect(reads).toBeGreaterThan(5);
    expect(latestByKey(await readAll(log)).get('k19')).toBe(`v599-${'x'.repeat(50)}`);
  });

  it('survives a restart: cleaned segments load with their indexes and the checkpoint is kept', async () => {
    const { log, cleaner } = await open();
    for (let round = 0; round < 400; round++) await append(log, keyed([{ key: `k${round % 5}`, value: `v${round}` }]));
    const n = log.segmentCount;
    while (log.segmentCount === n) await append(log, keyed([{ key: 'pad', value: 'x'.repeat(1000) }]));
    const stats = await cleaner.cleanOnce();
    const view = latestByKey(await readAll(log));
    await manager!.close();
    manager = await LogManager.open({ dataDir, logger: captureLogger().logger, defaultConfig: COMPACT, clock: () => now, topicConfigs: new Map([['t', { ...DEFAULT_LOG_CONFIG, ...COMPACT }]]) });
    const reopened = manager.getLog('t', 0)!;
    expect(latestByKey(await readAll(reopened))).toEqual(view);
    const again = await manager.startCleaner({ ...DEFAULT_CLEANER_CONFIG, enable: false });
    expect(again.firstDirtyOffset('t', 0)).toBe(stats!.endOffset);
  });
});
