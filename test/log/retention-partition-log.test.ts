// Retention and DeleteRecords on a real PartitionLog in a temp dir (log/retention.ts, PartitionLog.deleteOldSegments,
// deleteRecordsOnLeader) and the log start offset checkpoint kept by LogManager.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { nodeLogFs, type LogFs } from '../../src/log/fs.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { LogManager, PartitionLog } from '../../src/log/log-manager.js';
import { LOG_START_OFFSET_CHECKPOINT_FILE } from '../../src/log/checkpoint.js';
import { batchHeaders, captureLogger, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const opened: Array<{ close(): Promise<void> }> = [];
let now = 1_700_000_100_000;
const clock = (): number => now;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  now = 1_700_000_100_000;
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  await cleanup();
});

function config(overrides: Partial<LogConfig> = {}): LogConfig {
  // segment.bytes 1: every batch after the first rolls, so each batch is a segment of its own.
  return { ...DEFAULT_LOG_CONFIG, segmentBytes: 1, fileDeleteDelayMs: 20, ...overrides };
}

async function createLog(overrides: Partial<LogConfig> = {}, fs: LogFs = nodeLogFs): Promise<PartitionLog> {
  const log = await PartitionLog.create({ dir: `${dir}/t-0`, topic: 't', partition: 0, config: config(overrides), fs, logger: captureLogger().logger, clock });
  opened.push(log);
  return log;
}

/** Appends one batch of `records` records per timestamp; returns the batches' bytes as written. */
async function appendBatches(log: PartitionLog, timestamps: number[], records = 1): Promise<Buffer[]> {
  const written: Buffer[] = [];
  for (const [i, ts] of timestamps.entries()) {
    const { batch, header } = producedBatch(records, { baseTimestamp: BigInt(ts), tag: `b${i}`, timestampStep: 0 });
    await log.append(batch, header, { durable: false });
    written.push(Buffer.from(batch));
  }
  return written;
}

async function errorCodeOf(p: Promise<unknown> | (() => unknown)): Promise<number | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(KafkaError);
    return (err as KafkaError).errorCode;
  }
}

async function files(): Promise<string[]> {
  return (await readdir(`${dir}/t-0`)).sort();
}

/** Polls (bounded) until `check` holds. */
async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('retention.ms', () => {
  it('removes the expired sealed segments, moves the log start offset, renames their files .deleted and unlinks them after file.delete.delay.ms', async () => {
    const log = await createLog({ retentionMs: 5_000 });
    const old = now - 10_000;
    const written = await appendBatches(log, [old, old, old, old, now - 100, now - 50]);
    expect(log.segmentBaseOffsets()).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);

    expect(await log.deleteOldSegments()).toBe(4);
    expect(log.logStartOffset).toBe(4n);
    expect(log.segmentBaseOffsets()).toEqual([4n, 5n]);
    const names = await files();
    expect(names).toContain('00000000000000000000.log.deleted');
    expect(names).toContain('00000000000000000003.log.deleted');
    expect(names).not.toContain('00000000000000000000.log');
    expect(await errorCodeOf(log.read(3n, 1 << 20, true))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    // What remains is byte-exact (base offsets were assigned at append: compare from the batch's offset 4 copy).
    const kept = await log.read(4n, 1 << 20, true);
    expect(batchHeaders(kept!).map((h) => h.baseOffset)).toEqual([4n]);
    expect(kept!.subarray(12)).toEqual(written[4]!.subarray(12));

    await eventually(async () => !(await files()).some((n) => n.endsWith('.deleted')));
    expect(log.pendingSegmentDeletions).toBe(0);
    expect(await files()).toContain('00000000000000000004.log');
  });

  it('when every segment is past retention the active segment is rolled and goes too; appends continue at the log end offset', async () => {
    const log = await createLog({ retentionMs: 5_000 });
    await appendBatches(log, [now - 9_000, now - 8_000, now - 7_000]);
    expect(await log.deleteOldSegments()).toBe(3);
    expect(log.segmentBaseOffsets()).toEqual([3n]);
    expect(log.logStartOffset).toBe(3n);
    expect(log.logEndOffset).toBe(3n);
    expect(log.highWatermark).toBe(3n);
    expect(await log.read(3n, 1 << 20, true)).toBeNull();
    const [next] = await appendBatches(log, [now]);
    expect(next).toBeDefined();
    expect(log.logEndOffset).toBe(4n);
    // A second pass finds only the fresh segment and the log start offset stays.
    expect(await log.deleteOldSegments()).toBe(0);
    expect(log.logStartOffset).toBe(3n);
  });

  it('an empty active segment is never rolled or deleted: only the older segments go', async () => {
    const log = await createLog({ retentionMs: 5_000 });
    await appendBatches(log, [now - 9_000, now - 8_000]);
    // The first pass rolls the active segment and deletes both; the empty one left must survive the next pass.
    expect(await log.deleteOldSegments()).toBe(2);
    expect(log.segmentCount).toBe(1);
    expect(await log.deleteOldSegments()).toBe(0);
    expect(log.segmentBaseOffsets()).toEqual([2n]);
  });

  it('retention.ms -1 keeps everything, and a compact-only topic is not aged out', async () => {
    const unlimited = await createLog({ retentionMs: -1 });
    await appendBatches(unlimited, [0, 0, 0]);
    expect(await unlimited.deleteOldSegments()).toBe(0);
    expect(unlimited.logStartOffset).toBe(0n);
    unlimited.updateConfig({ ...unlimited.logConfig, retentionMs: 1, retentionBytes: 0, delete: false, compact: true });
    expect(await unlimited.deleteOldSegments()).toBe(0);
    expect(unlimited.segmentCount).toBe(3);
  });
});

describe('retention.bytes', () => {
  it('bounds the partition size: the oldest segments go until it is at most retention.bytes', async () => {
    const log = await createLog({ retentionBytes: 1 });
    await appendBatches(log, Array.from({ length: 10 }, () => now));
    const segmentSize = log.size / 10;
    log.updateConfig({ ...log.logConfig, retentionBytes: 3 * segmentSize });
    expect(await log.deleteOldSegments()).toBe(7);
    expect(log.size).toBeLessThanOrEqual(3 * segmentSize);
    expect(log.logStartOffset).toBe(7n);
    expect(log.segmentBaseOffsets()).toEqual([7n, 8n, 9n]);
  });
});

describe('reads and removal', () => {
  it('a read in flight holds the segment: the removal waits for it, and the files are renamed only after it returned', async () => {
    let blockReads = false;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let readsBlocked = 0;
    const fs: LogFs = {
      ...nodeLogFs,
      async open(path, flags) {
        const file = await nodeLogFs.open(path, flags);
        return {
          ...file,
          read: async (b, o, l, p) => {
            if (blockReads && path.endsWith('00000000000000000000.log')) {
              readsBlocked++;
              await released;
            }
            return file.read(b, o, l, p);
          },
          writev: (buffers, position) => file.writev(buffers, position),
          sync: () => file.sync(),
          truncate: (l) => file.truncate(l),
          size: () => file.size(),
          close: () => file.close(),
        };
      },
    };
    const log = await createLog({ retentionMs: 5_000 }, fs);
    const written = await appendBatches(log, [now - 9_000, now - 9_000, now]);
    blockReads = true;
    const read = log.read(0n, 1 << 20, true);
    await eventually(() => readsBlocked > 0);
    const pass = log.deleteOldSegments();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await files()).toContain('00000000000000000000.log');
    expect(log.logStartOffset).toBe(0n);
    release();
    const bytes = await read;
    expect(bytes!.subarray(12)).toEqual(written[0]!.subarray(12));
    expect(await pass).toBe(2);
    expect(log.logStartOffset).toBe(2n);
    expect(await files()).toContain('00000000000000000000.log.deleted');
  });

  it('ListOffsets by timestamp never answers an offset below the log start offset', async () => {
    const log = await createLog({ retentionMs: -1 });
    await appendBatches(log, [now - 3_000, now - 2_000, now - 1_000], 5);
    log.deleteRecordsOnLeader(7n);
    expect((await log.offsetForTimestamp(0n))!.offset).toBe(7n); // searched from the log start inside the straddling batch, as Kafka does
    expect((await log.offsetForTimestamp(BigInt(now - 1_000)))!.offset).toBe(10n);
    expect(log.legacyFetchOffsetsBefore(-2n, 1, true)).toEqual([7n]);
  });
});

describe('DeleteRecords', () => {
  it('moves the log start offset inside a segment; the next pass deletes only the segments wholly below it', async () => {
    const log = await createLog({ retentionMs: -1 });
    await appendBatches(log, [now, now, now], 5);
    expect(log.segmentBaseOffsets()).toEqual([0n, 5n, 10n]);
    expect(log.deleteRecordsOnLeader(7n)).toBe(7n);
    expect(log.logStartOffset).toBe(7n);
    expect(await errorCodeOf(log.read(6n, 1 << 20, true))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    // A fetch at the log start offset gets the whole batch holding it (the consumer skips the records before).
    expect(batchHeaders((await log.read(7n, 1 << 20, true))!)[0]!.baseOffset).toBe(5n);
    expect(await log.deleteOldSegments()).toBe(1);
    expect(log.segmentBaseOffsets()).toEqual([5n, 10n]);
    expect(log.logStartOffset).toBe(7n);
    // Never backwards; -1 is the high watermark.
    expect(log.deleteRecordsOnLeader(3n)).toBe(7n);
    expect(log.deleteRecordsOnLeader(-1n)).toBe(15n);
    // The active segment stays (Kafka's deleteLogStartOffsetBreachedSegments never covers it), empty of readable data.
    expect(await log.deleteOldSegments()).toBe(1);
    expect(log.segmentBaseOffsets()).toEqual([10n]);
    expect(log.logStartOffset).toBe(15n);
    expect(await log.read(15n, 1 << 20, true)).toBeNull();
  });

  it('refuses offsets past the high watermark or below -1 (OFFSET_OUT_OF_RANGE) and compact-only topics (POLICY_VIOLATION)', async () => {
    const log = await createLog({ retentionMs: -1 });
    await appendBatches(log, [now, now], 5);
    expect(await errorCodeOf(() => log.deleteRecordsOnLeader(11n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await errorCodeOf(() => log.deleteRecordsOnLeader(-2n))).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(log.logStartOffset).toBe(0n);
    log.updateConfig({ ...log.logConfig, delete: false, compact: true });
    expect(await errorCodeOf(() => log.deleteRecordsOnLeader(5n))).toBe(ErrorCode.POLICY_VIOLATION);
  });
});

describe('loading', () => {
  it('unlinks leftover .deleted files and takes the log start offset from the checkpoint, at least the first segment base', async () => {
    const log = await createLog({ retentionMs: -1 });
    await appendBatches(log, [now, now, now], 5);
    await log.close();
    opened.length = 0;
    await writeFile(`${dir}/t-0/00000000000000000099.log.deleted`, 'x');
    await writeFile(`${dir}/t-0/00000000000000000099.index.deleted`, 'x');
    const load = (logStartOffset?: bigint) =>
      PartitionLog.load({ dir: `${dir}/t-0`, topic: 't', partition: 0, config: config(), fs: nodeLogFs, logger: captureLogger().logger, clock, clean: true, recoveryPoint: undefined, logStartOffset });
    const reloaded = await load(8n);
    expect((await files()).filter((n) => n.endsWith('.deleted'))).toEqual([]);
    expect(reloaded.logStartOffset).toBe(8n);
    await reloaded.close();
    const beyond = await load(99n);
    expect(beyond.logStartOffset).toBe(15n);
    await beyond.close();
    const none = await load(undefined);
    expect(none.logStartOffset).toBe(0n);
    await none.close();
  });
});

describe('LogManager', () => {
  async function openManager(options: { retentionCheckIntervalMs?: number } = {}): Promise<LogManager> {
    const manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, clock, ...options });
    opened.push(manager);
    return manager;
  }

  it('deleteRecords answers once log-start-offset-checkpoint holds the new offset, and a reopened log starts there', async () => {
    const manager = await openManager();
    const log = await manager.createLog('t', 0, config({ retentionMs: -1 }));
    await appendBatches(log, [now, now, now], 5);
    expect(await manager.deleteRecords(log, 7n)).toBe(7n);
    expect((await readFile(`${dir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`, 'utf8')).split('\n')).toEqual(['0', '1', 't 0 7', '']);
    // Without a clean close (the first manager is left open, as after kill -9): the checkpoint alone restores it.
    const second = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, clock, topicConfigs: new Map([['t', config({ retentionMs: -1 })]]) });
    opened.push(second);
    expect(second.getLog('t', 0)!.logStartOffset).toBe(7n);
  });

  it('runs retention every log.retention.check.interval.ms', async () => {
    const manager = await openManager({ retentionCheckIntervalMs: 20 });
    const log = await manager.createLog('t', 0, config({ retentionMs: 5_000 }));
    await appendBatches(log, [now - 9_000, now - 9_000, now]);
    await eventually(() => log.logStartOffset === 2n);
    expect(log.segmentBaseOffsets()).toEqual([2n]);
  });
});
