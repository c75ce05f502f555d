import { readFile, readdir, stat } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { LogManager, PartitionLog, waitForAppend } from '../../src/log/log-manager.js';
import { batchCrcIsValid, readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { compressBatch, withRecordsPayload } from '../protocol/records/compressed-batch.js';
import { batchHeaders, captureLogger, countingFs, makeTempDir, producedBatch, type CountingFs } from './helpers.js';

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

async function openManager(
  options: { fs?: CountingFs; clock?: () => number; config?: Partial<LogConfig> } = {},
): Promise<{ manager: LogManager; warnings: () => Array<Record<string, unknown>> }> {
  const captured = captureLogger();
  const manager = await LogManager.open({
    dataDir: dir,
    logger: captured.logger,
    defaultConfig: options.config,
    fs: options.fs,
    clock: options.clock,
  });
  managers.push(manager);
  return { manager, warnings: captured.warnings };
}

function config(overrides: Partial<LogConfig> = {}): LogConfig {
  return { ...DEFAULT_LOG_CONFIG, ...overrides };
}

async function appendN(log: PartitionLog, n: number, recordsPerBatch = 1, valueBytes?: number) {
  const results = [];
  for (let i = 0; i < n; i++) {
    const { batch, header } = producedBatch(recordsPerBatch, { valueBytes, tag: `b${i}` });
    results.push(await log.append(batch, header, { durable: false }));
  }
  return results;
}

async function expectKafkaError(p: Promise<unknown>, code: number) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  expect((err as KafkaError).errorCode).toBe(code);
}

describe('append and read', () => {
  it('append then read round-trips the batch byte-exact except base offset and leader epoch', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('orders', 0, config());
    const { batch, header } = producedBatch(3);
    const original = Buffer.from(batch);
    const r1 = await log.append(batch, header, { durable: false });
    expect(r1).toEqual({ baseOffset: 0n, lastOffset: 2n, logAppendTimeMs: -1n, logStartOffset: 0n });
    const second = producedBatch(2);
    const original2 = Buffer.from(second.batch);
    const r2 = await log.append(second.batch, second.header, { durable: false });
    expect(r2.baseOffset).toBe(3n);
    expect(log.logEndOffset).toBe(5n);
    expect(log.highWatermark).toBe(5n);

    const read = await log.read(0n, 1 << 20, true);
    expect(read).not.toBeNull();
    const expected1 = Buffer.from(original);
    expected1.writeBigInt64BE(0n, 0);
    expected1.writeInt32BE(0, 12);
    const expected2 = Buffer.from(original2);
    expected2.writeBigInt64BE(3n, 0);
    expected2.writeInt32BE(0, 12);
    expect(read!.equals(Buffer.concat([expected1, expected2]))).toBe(true);
    expect(batchCrcIsValid(read!, 0)).toBe(true);

    // Reading from an offset inside the second batch starts at that batch.
    const fromMiddle = await log.read(4n, 1 << 20, true);
    expect(fromMiddle!.equals(expected2)).toBe(true);
    // At the high watermark there is nothing to read.
    expect(await log.read(5n, 1 << 20, true)).toBeNull();
  });

  it('coalesces queued appends into a few writes', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    const before = fs.writes;
    await Promise.all(Array.from({ length: 100 }, () => {
      const { batch, header } = producedBatch(1);
      return log.append(batch, header, { durable: false });
    }));
    expect(fs.writes - before).toBeLessThanOrEqual(2);
    expect(batchHeaders((await log.read(0n, 1 << 20, true))!)).toHaveLength(100);
  });

  it('retries short writes until every byte is in the file', async () => {
    const fs = countingFs();
    fs.shortWrites = true;
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    const batches = Array.from({ length: 5 }, (_, i) => producedBatch(3, { tag: `s${i}` }));
    const copies = batches.map((b) => Buffer.from(b.batch));
    await Promise.all(batches.map((b) => log.append(b.batch, b.header, { durable: false })));
    const read = await log.read(0n, 1 << 20, true);
    const expected = copies.map((c, i) => {
      c.writeBigInt64BE(BigInt(i * 3), 0);
      c.writeInt32BE(0, 12);
      return c;
    });
    expect(read!.equals(Buffer.concat(expected))).toBe(true);
  });

  it('a write failure rejects the append and everything queued behind it', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    await appendN(log, 1);
    fs.fault = (op, path) => {
      if (op === 'writev' && path.endsWith('.log')) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => {
        const { batch, header } = producedBatch(1);
        return log.append(batch, header, { durable: false });
      }),
    );
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(log.highWatermark).toBe(1n);
    expect(log.isOffline).toBe(true);
  });

  it('assigns increasing offsets in call order to concurrent appends', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    const batches = Array.from({ length: 50 }, (_, i) => producedBatch((i % 3) + 1, { tag: `c${i}` }));
    const results = await Promise.all(batches.map((b, i) => log.append(b.batch, b.header, { durable: i % 2 === 0 })));
    let expected = 0n;
    for (let i = 0; i < results.length; i++) {
      expect(results[i]!.baseOffset).toBe(expected);
      expected += BigInt((i % 3) + 1);
    }
    const all = await log.read(0n, 1 << 24, true);
    const headers = batchHeaders(all!);
    expect(headers.map((h) => h.baseOffset)).toEqual(results.map((r) => r.baseOffset));
    expect(log.logEndOffset).toBe(expected);
  });

  it('throws OFFSET_OUT_OF_RANGE below the log start offset and above the log end offset', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 200 }));
    await appendN(log, 5);
    await expectKafkaError(log.read(-1n, 1000, true), ErrorCode.OFFSET_OUT_OF_RANGE);
    await expectKafkaError(log.read(6n, 1000, true), ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await log.read(5n, 1000, true)).toBeNull();
  });

  it('returns whole batches up to maxBytes and the first batch whole when it is larger (KIP-74)', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    await appendN(log, 4, 1, 100);
    const size = 12 + batchHeaders((await log.read(0n, 1 << 20, true))!)[0]!.batchLength;
    const two = await log.read(0n, size * 2 + size - 1, true);
    expect(batchHeaders(two!).map((h) => h.baseOffset)).toEqual([0n, 1n]);
    expect(two!.length).toBe(size * 2);
    const tiny = await log.read(1n, 10, true);
    expect(batchHeaders(tiny!).map((h) => h.baseOffset)).toEqual([1n]);
    expect((await log.read(1n, 10, false))!.length).toBe(0);
  });

  it('never returns bytes past the high watermark while a durable append waits for its fsync', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    await appendN(log, 2);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let syncStarted!: () => void;
    const started = new Promise<void>((resolve) => (syncStarted = resolve));
    fs.fault = async (op, path) => {
      if (op === 'sync' && path.endsWith('.log')) {
        syncStarted();
        await held;
      }
    };
    const { batch, header } = producedBatch(1);
    const pending = log.append(batch, header, { durable: true });
    await started;
    // Written but not yet fsynced: the log end offset moved, the high watermark did not.
    expect(log.logEndOffset).toBe(3n);
    expect(log.highWatermark).toBe(2n);
    expect(await log.read(2n, 1000, true)).toBeNull();
    expect(batchHeaders((await log.read(0n, 1 << 20, true))!).map((h) => h.baseOffset)).toEqual([0n, 1n]);
    release();
    await pending;
    expect(log.highWatermark).toBe(3n);
    expect(batchHeaders((await log.read(2n, 1000, true))!)[0]!.baseOffset).toBe(2n);
  });
});

describe('segments and indexes', () => {
  it('rolls a segment when the next batch would exceed segment.bytes and reads across segments', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1000 }));
    await appendN(log, 10, 1, 200); // ~280 bytes each: 3 per segment
    expect(log.segmentBaseOffsets()).toEqual([0n, 3n, 6n, 9n]);
    const files = (await readdir(`${dir}/t-0`)).sort();
    expect(files).toContain('00000000000000000003.log');
    expect(files).toContain('00000000000000000003.index');
    expect(files).toContain('00000000000000000003.timeindex');
    for (const f of files.filter((n) => n.endsWith('.log'))) {
      expect((await stat(`${dir}/t-0/${f}`)).size).toBeLessThanOrEqual(1000);
    }
    // A read returns batches from one segment only.
    const r = await log.read(4n, 1 << 20, true);
    expect(batchHeaders(r!).map((h) => h.baseOffset)).toEqual([4n, 5n]);
  });

  it('seals a rolled segment: its time index ends with the segment max timestamp', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 1000 }));
    for (let i = 0; i < 4; i++) {
      const { batch, header } = producedBatch(1, { baseTimestamp: 5000n + BigInt(i), valueBytes: 200 });
      await log.append(batch, header, { durable: false });
    }
    expect(log.segmentBaseOffsets()).toEqual([0n, 3n]);
    await log.flush();
    const timeIndex = await readFile(`${dir}/t-0/00000000000000000000.timeindex`);
    expect(timeIndex.length).toBe(12);
    expect(timeIndex.readBigInt64BE(0)).toBe(5002n);
    expect(timeIndex.readInt32BE(8)).toBe(2);
  });

  it('rolls a segment when its first batch is older than segment.ms (injected clock)', async () => {
    let now = 1_000_000;
    const { manager } = await openManager({ clock: () => now });
    const log = await manager.createLog('t', 0, config({ segmentMs: 60_000 }));
    await appendN(log, 2);
    now += 30_000;
    await appendN(log, 1);
    expect(log.segmentBaseOffsets()).toEqual([0n]);
    now += 30_001;
    await appendN(log, 1);
    expect(log.segmentBaseOffsets()).toEqual([0n, 3n]);
  });

  it('rolls a segment when its offset index is full', async () => {
    const { manager } = await openManager();
    // 40 bytes: 5 offset-index entries (8 bytes) or 3 time-index entries (12 bytes). Every batch after the
    // first adds one of each, so the time index fills after batch 3 and the segment rolls before batch 4.
    const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 1, segmentIndexBytes: 40 }));
    for (let i = 0; i < 8; i++) {
      const { batch, header } = producedBatch(1, { baseTimestamp: 1000n + BigInt(i) });
      await log.append(batch, header, { durable: false });
    }
    expect(log.segmentBaseOffsets()).toEqual([0n, 4n]);
  });

  it('writes one sparse index entry per index.interval.bytes and looks up from the middle of a segment', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 1000 }));
    await appendN(log, 40, 1, 200); // ~280 bytes per batch
    await log.flush();
    const index = await readFile(`${dir}/t-0/00000000000000000000.index`);
    expect(index.length % 8).toBe(0);
    const entries = [];
    for (let p = 0; p < index.length; p += 8) entries.push([index.readInt32BE(p), index.readInt32BE(p + 4)]);
    expect(entries.length).toBeGreaterThan(5);
    expect(entries.length).toBeLessThan(15);
    const size = 12 + batchHeaders((await log.read(0n, 1 << 20, true))!)[0]!.batchLength;
    for (const [relativeOffset, position] of entries) expect(position).toBe(relativeOffset! * size);
    for (const offset of [0n, 7n, 13n, 26n, 39n]) {
      const r = await log.read(offset, 1, true);
      expect(batchHeaders(r!)[0]!.baseOffset).toBe(offset);
    }
  });

  it('writes index files at flush, not per append, while lookups use the in-memory index at once', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 1000 }));
    await appendN(log, 40, 1, 200);
    const indexPath = `${dir}/t-0/00000000000000000000.index`;
    const timeIndexPath = `${dir}/t-0/00000000000000000000.timeindex`;
    // Not written yet (index files are created by the first write that has entries).
    const sizeOf = (path: string) => stat(path).then((s) => s.size, () => 0);
    expect(await sizeOf(indexPath)).toBe(0);
    expect(await sizeOf(timeIndexPath)).toBe(0);
    expect(batchHeaders((await log.read(26n, 1, true))!)[0]!.baseOffset).toBe(26n);
    await log.flush();
    const entries = (await stat(indexPath)).size / 8;
    expect(entries).toBeGreaterThan(5);
    expect((await stat(timeIndexPath)).size).toBeGreaterThan(0);
    // Entries added later are appended at the next flush.
    await appendN(log, 40, 1, 200);
    await log.flush();
    expect((await stat(indexPath)).size / 8).toBeGreaterThan(entries + 5);
  });
});

describe('concurrency', () => {
  it('concurrent appends and reads across many rolls see every offset once, in order, with valid CRCs', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 2000, indexIntervalBytes: 300 }));
    const appends: Promise<unknown>[] = [];
    for (let i = 0; i < 300; i++) {
      const { batch, header } = producedBatch((i % 4) + 1, { tag: `x${i}` });
      appends.push(log.append(batch, header, { durable: i % 7 === 0 }));
      if (i % 25 === 0) await new Promise((r) => setImmediate(r));
    }
    // A reader follows the high watermark while appends are in flight.
    let next = 0n;
    const reader = (async () => {
      for (;;) {
        if (next >= log.highWatermark) {
          if (next === 750n) return;
          await new Promise((r) => setImmediate(r));
          continue;
        }
        const data = await log.read(next, 700, true);
        expect(data).not.toBeNull();
        let pos = 0;
        while (pos < data!.length) {
          const h = readBatchHeader(data!, pos);
          expect(h.baseOffset <= next && next <= h.baseOffset + BigInt(h.lastOffsetDelta)).toBe(true);
          expect(batchCrcIsValid(data!, pos)).toBe(true);
          next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
          pos += 12 + h.batchLength;
        }
      }
    })();
    await Promise.all(appends);
    await reader;
    expect(log.logEndOffset).toBe(750n);
    expect(log.segmentCount).toBeGreaterThan(10);
  });
});

describe('timestamps', () => {
  it('finds the first batch whose max timestamp reaches the target (offsetForTimestamp)', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 100, segmentBytes: 2000 }));
    for (let i = 0; i < 30; i++) {
      const { batch, header } = producedBatch(2, { baseTimestamp: 10_000n + BigInt(i * 100), valueBytes: 50 });
      await log.append(batch, header, { durable: false });
    }
    // Batch i holds offsets 2i, 2i+1 with timestamps 10000+100i and 10000+100i+1.
    expect(await log.offsetForTimestamp(0n)).toEqual({ offset: 0n, timestamp: 10_000n, leaderEpoch: 0 });
    expect(await log.offsetForTimestamp(10_550n)).toEqual({ offset: 12n, timestamp: 10_600n, leaderEpoch: 0 });
    // Record-level inside an uncompressed batch: the second record is the first at or after the target.
    expect(await log.offsetForTimestamp(10_601n)).toEqual({ offset: 13n, timestamp: 10_601n, leaderEpoch: 0 });
    expect(await log.offsetForTimestamp(12_901n)).toEqual({ offset: 59n, timestamp: 12_901n, leaderEpoch: 0 });
    expect(await log.offsetForTimestamp(12_902n)).toBeNull();
    expect(await log.maxTimestampAndOffset()).toEqual({ offset: 59n, timestamp: 12_901n, leaderEpoch: 0 });
  });

  it.each(['gzip', 'snappy', 'snappy-xerial', 'lz4'] as const)(
    'finds the first record at or after the target inside %s batches, decompressing only the batch that can hold it',
    async (codec) => {
      const { manager } = await openManager();
      const log = await manager.createLog('t', 0, config({ indexIntervalBytes: 100 }));
      // Batch i: offsets 10i..10i+9 at 1000*(i+1) + 10*j.
      for (let i = 0; i < 5; i++) {
        const records = Array.from({ length: 10 }, (_, j) => ({ value: `v${i}-${j}`, timestampDelta: j * 10 }));
        const batch = compressBatch(buildRecordBatch({ records, baseTimestamp: BigInt(1000 * (i + 1)) }), codec);
        await log.append(batch, readBatchHeader(batch), { durable: false });
      }
      expect(await log.offsetForTimestamp(3045n)).toEqual({ offset: 25n, timestamp: 3050n, leaderEpoch: 0 });
      expect(await log.offsetForTimestamp(3000n)).toEqual({ offset: 20n, timestamp: 3000n, leaderEpoch: 0 });
      expect(await log.offsetForTimestamp(3091n)).toEqual({ offset: 30n, timestamp: 4000n, leaderEpoch: 0 });
      expect(await log.offsetForTimestamp(5091n)).toBeNull();
    },
  );

  it('gives the earliest record carrying the max timestamp, also inside a compressed batch (MAX_TIMESTAMP)', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    const first = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b', timestampDelta: 9 }], baseTimestamp: 100n });
    await log.append(first, readBatchHeader(first), { durable: false });
    // Offsets 2-5: timestamps 500, 900, 900, 900: Kafka answers offset 3, not the batch's last offset 5.
    const equal = compressBatch(
      buildRecordBatch({ records: [0, 400, 400, 400].map((d) => ({ value: 'x', timestampDelta: d })), baseTimestamp: 500n }),
      'lz4',
    );
    await log.append(equal, readBatchHeader(equal), { durable: false });
    const later = buildRecordBatch({ records: [{ value: 'c' }], baseTimestamp: 700n });
    await log.append(later, readBatchHeader(later), { durable: false });
    expect(await log.maxTimestampAndOffset()).toEqual({ offset: 3n, timestamp: 900n, leaderEpoch: 0 });
  });

  it('takes record timestamps from maxTimestamp in LogAppendTime batches without reading their records', async () => {
    let now = 50_000;
    const { manager } = await openManager({ clock: () => now });
    const log = await manager.createLog('t', 0, config({ messageTimestampType: 'LogAppendTime' }));
    for (let i = 0; i < 3; i++) {
      now = 50_000 + i * 1000;
      // Producer timestamps far in the past; corrupt gzip payload: a record-level read would fail.
      const batch = withRecordsPayload(
        buildRecordBatch({ records: [{ value: 'a' }, { value: 'b', timestampDelta: 5 }], baseTimestamp: 1n }),
        1,
        Buffer.from('not gzip'),
      );
      batch.writeInt32BE(1, 23); // lastOffsetDelta stays 1 after the payload swap
      await log.append(batch, readBatchHeader(batch), { durable: false });
    }
    expect(await log.offsetForTimestamp(50_500n)).toEqual({ offset: 2n, timestamp: 51_000n, leaderEpoch: 0 });
    expect(await log.maxTimestampAndOffset()).toEqual({ offset: 4n, timestamp: 52_000n, leaderEpoch: 0 });
  });

  it('answers legacy (v0) offsets: log end offset and segment base offsets, newest first, at most maxNumOffsets', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config({ segmentBytes: 400 }));
    for (let i = 0; i < 9; i++) {
      const { batch, header } = producedBatch(1, { baseTimestamp: 5000n + BigInt(i), valueBytes: 100 });
      await log.append(batch, header, { durable: false });
    }
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(2);
    const all = [9n, ...[...bases].reverse()];
    expect(log.legacyFetchOffsetsBefore(-1n, 100, true)).toEqual(all);
    expect(log.legacyFetchOffsetsBefore(-1n, 2, true)).toEqual(all.slice(0, 2));
    expect(log.legacyFetchOffsetsBefore(-2n, 100, true)).toEqual([0n]);
    expect(log.legacyFetchOffsetsBefore(-1n, 0, true)).toEqual([]);
    // By time: segments whose largest timestamp is <= the target (the log end offset pairs with now).
    expect(log.legacyFetchOffsetsBefore(4999n, 100, true)).toEqual([]);
    expect(log.legacyFetchOffsetsBefore(BigInt(Date.now() + 60_000), 1, true)).toEqual([9n]);
  });

  it('rewrites timestamps on LogAppendTime topics and reports logAppendTimeMs', async () => {
    const now = 5_000_000;
    const { manager } = await openManager({ clock: () => now });
    const log = await manager.createLog('t', 0, config({ messageTimestampType: 'LogAppendTime' }));
    const { batch, header } = producedBatch(2, { baseTimestamp: 1n });
    const r = await log.append(batch, header, { durable: false });
    expect(r.logAppendTimeMs).toBe(5_000_000n);
    const read = await log.read(0n, 1000, true);
    const h = readBatchHeader(read!);
    expect(h.maxTimestamp).toBe(5_000_000n);
    expect(h.attributes & 0x08).toBe(0x08);
    expect(batchCrcIsValid(read!)).toBe(true);
  });

  it('maxTimestampAndOffset is null for an empty log', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    expect(await log.maxTimestampAndOffset()).toBeNull();
    expect(await log.offsetForTimestamp(0n)).toBeNull();
    expect(log.legacyFetchOffsetsBefore(-1n, 10, true)).toEqual([0n]);
  });
});

describe('flush policy', () => {
  it('concurrent durable appends share fsyncs (group commit)', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    const before = fs.syncs;
    const n = 20;
    await Promise.all(Array.from({ length: n }, () => {
      const { batch, header } = producedBatch(1);
      return log.append(batch, header, { durable: true });
    }));
    const used = fs.syncs - before;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(n);
    expect(log.recoveryPoint).toBe(20n);
  });

  it('durable appends arriving while an fsync runs share the next one', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    const before = fs.syncs;
    const first = producedBatch(1);
    const p1 = log.append(first.batch, first.header, { durable: true });
    await new Promise((r) => setImmediate(r));
    const rest = Array.from({ length: 10 }, () => {
      const { batch, header } = producedBatch(1);
      return log.append(batch, header, { durable: true });
    });
    await Promise.all([p1, ...rest]);
    expect(fs.syncs - before).toBeLessThanOrEqual(2);
  });

  it('non-durable appends do not fsync by default', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    const before = fs.syncs;
    await appendN(log, 10);
    expect(fs.syncs).toBe(before);
    expect(log.recoveryPoint).toBe(0n);
    expect(log.highWatermark).toBe(10n);
  });

  it('flush.messages triggers an fsync after that many messages', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config({ flushMessages: 5 }));
    const before = fs.syncs;
    await appendN(log, 4);
    expect(fs.syncs).toBe(before);
    await appendN(log, 1);
    expect(fs.syncs).toBe(before + 1);
    expect(log.recoveryPoint).toBe(5n);
    await appendN(log, 4);
    expect(fs.syncs).toBe(before + 1);
  });

  it('flush.ms flushes unflushed data from a timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const fs = countingFs();
      const { manager } = await openManager({ fs });
      const log = await manager.createLog('t', 0, config({ flushMs: 1000 }));
      await appendN(log, 3);
      expect(log.recoveryPoint).toBe(0n);
      await vi.advanceTimersByTimeAsync(1001);
      await vi.waitFor(() => expect(log.recoveryPoint).toBe(3n));
    } finally {
      vi.useRealTimers();
    }
  });

  it('an fsync failure rejects the append and takes the log offline', async () => {
    const fs = countingFs();
    const { manager } = await openManager({ fs });
    const log = await manager.createLog('t', 0, config());
    await appendN(log, 1);
    fs.fault = (op) => {
      if (op === 'sync') throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    };
    const { batch, header } = producedBatch(1);
    await expect(log.append(batch, header, { durable: true })).rejects.toThrow(/EIO/);
    expect(log.isOffline).toBe(true);
    expect(log.highWatermark).toBe(1n);
    const next = producedBatch(1);
    await expectKafkaError(log.append(next.batch, next.header, { durable: false }), ErrorCode.KAFKA_STORAGE_ERROR);
    fs.fault = undefined;
    expect(batchHeaders((await log.read(0n, 1000, true))!)).toHaveLength(1);
  });
});

describe('append listeners', () => {
  it('onAppend is called after an append moves the high watermark and stops after unsubscribe', async () => {
    const { manager } = await openManager();
    const log = await manager.createLog('t', 0, config());
    const seen: bigint[] = [];
    const off = log.onAppend(() => seen.push(log.highWatermark));
    await appendN(log, 2);
    off();
    await appendN(log, 1);
    expect(seen).toEqual([1n, 2n]);
  });

  it('waitForAppend resolves on an append to any of the logs', async () => {
    const { manager } = await openManager();
    const a = await manager.createLog('a', 0, config());
    const b = await manager.createLog('b', 0, config());
    const wait = waitForAppend([a, b], 60_000);
    let woke = false;
    void wait.promise.then(() => (woke = true));
    await appendN(b, 1);
    await wait.promise;
    expect(woke).toBe(true);
  });

  it('waitForAppend resolves after the timeout, and cancel clears it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const { manager } = await openManager();
      const a = await manager.createLog('a', 0, config());
      const wait = waitForAppend([a], 500);
      let woke = false;
      void wait.promise.then(() => (woke = true));
      await vi.advanceTimersByTimeAsync(499);
      expect(woke).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(woke).toBe(true);

      const cancelled = waitForAppend([a], 500);
      cancelled.cancel();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
