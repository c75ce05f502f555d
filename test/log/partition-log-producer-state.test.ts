// Producer state as PartitionLog uses it (producer-state.ts wired into append, roll, close and load): duplicates
// answered without writing, snapshots at roll and close, the rebuild after a crash, and a failed write.
import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { PartitionLog } from '../../src/log/partition-log.js';
import { decodeProducerSnapshot, snapshotFileName } from '../../src/log/producer-state.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { readFile } from 'node:fs/promises';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { captureLogger, countingFs, makeTempDir, type CountingFs } from './helpers.js';

let base: string;
let cleanup: () => Promise<void>;
const opened: PartitionLog[] = [];

beforeEach(async () => {
  ({ dir: base, cleanup } = await makeTempDir());
});

afterEach(async () => {
  for (const log of opened.splice(0)) await log.close({ flush: false }).catch(() => undefined);
  await cleanup();
});

const NOW = Date.now();

function options(fs: CountingFs, config: Partial<LogConfig> = {}) {
  return {
    dir: `${base}/t-0`,
    topic: 't',
    partition: 0,
    config: { ...DEFAULT_LOG_CONFIG, ...config },
    fs,
    logger: captureLogger().logger,
    clock: () => NOW,
  };
}

async function create(fs = countingFs(), config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  const log = await PartitionLog.create(options(fs, config));
  opened.push(log);
  return log;
}

async function load(clean: boolean, fs = countingFs(), config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  const log = await PartitionLog.load({ ...options(fs, config), clean, recoveryPoint: undefined });
  opened.push(log);
  return log;
}

function batch(producerId: bigint, producerEpoch: number, baseSequence: number, count: number) {
  const bytes = buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    baseTimestamp: BigInt(NOW),
    records: Array.from({ length: count }, (_, i) => ({ value: `v${baseSequence + i}`.padEnd(40, '.') })),
  });
  return { bytes, header: readBatchHeader(bytes) };
}

function append(log: PartitionLog, producerId: bigint, epoch: number, seq: number, count: number, durable = false) {
  const { bytes, header } = batch(producerId, epoch, seq, count);
  return log.append(bytes, header, { durable });
}

describe('PartitionLog with producer state', () => {
  it('answers a duplicate with the original offsets and writes nothing', async () => {
    const log = await create();
    expect((await append(log, 7n, 0, 0, 3)).baseOffset).toBe(0n);
    expect((await append(log, 7n, 0, 3, 3)).baseOffset).toBe(3n);
    const retry = await append(log, 7n, 0, 0, 3);
    expect(retry).toMatchObject({ baseOffset: 0n, lastOffset: 2n, logStartOffset: 0n, logAppendTimeMs: BigInt(NOW) });
    expect(log.logEndOffset).toBe(6n);
  });

  it('rejects a gap with OUT_OF_ORDER_SEQUENCE_NUMBER before assigning any offset', async () => {
    const log = await create();
    await append(log, 7n, 0, 0, 3);
    const err = await append(log, 7n, 0, 5, 1).catch((e: unknown) => e);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect((await append(log, 7n, 0, 3, 1)).baseOffset).toBe(3n);
  });

  it('a retry of a batch still queued resolves after the original, with its offsets', async () => {
    const fs = countingFs();
    const log = await create(fs);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    fs.fault = async (op, path) => {
      if (op === 'writev' && path.endsWith('.log')) await gate;
    };
    const order: string[] = [];
    const original = append(log, 7n, 0, 0, 2).then((r) => (order.push('original'), r));
    const retry = append(log, 7n, 0, 0, 2).then((r) => (order.push('retry'), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual([]);
    fs.fault = undefined;
    release();
    expect((await original).baseOffset).toBe(0n);
    expect(await retry).toMatchObject({ baseOffset: 0n, lastOffset: 1n });
    expect(order).toEqual(['original', 'retry']);
    expect(log.logEndOffset).toBe(2n);
  });

  it('snapshots at each roll hold the state below the new segment only', async () => {
    const log = await create(countingFs(), { segmentBytes: 300 });
    for (let i = 0; i < 6; i++) await append(log, 7n, 0, i * 2, 2);
    const bases = log.segmentBaseOffsets();
    expect(bases.length).toBeGreaterThan(2);
    await log.flush();
    // Snapshot writes follow the old segment's fsync in the background; give them a moment.
    await new Promise((r) => setTimeout(r, 50));
    const names = (await readdir(`${base}/t-0`)).filter((n) => n.endsWith('.snapshot')).sort();
    expect(names).toEqual(bases.slice(1).map(snapshotFileName));
    for (const b of bases.slice(1)) {
      const [entry] = decodeProducerSnapshot(await readFile(`${base}/t-0/${snapshotFileName(b)}`));
      expect(entry!.lastDataOffset).toBe(b - 1n);
    }
  });

  it('after a crash (no close) rebuilds the state from the roll snapshot and the log after it', async () => {
    const before = await create(countingFs(), { segmentBytes: 400 });
    for (let i = 0; i < 8; i++) await append(before, 7n, 0, i * 2, 2, true);
    await new Promise((r) => setTimeout(r, 50));
    const lastBase = before.segmentBaseOffsets().at(-1)!;
    expect(lastBase).toBeGreaterThan(0n);
    // Abandoned without close(): the state at the log end is only in memory.
    const after = await load(false, countingFs(), { segmentBytes: 400 });
    expect(after.logEndOffset).toBe(16n);
    // Kafka's snapshot holds each producer's last batch before it; every batch after it is replayed from the log.
    for (let i = 0; i < 8; i++) {
      const first = BigInt(i * 2);
      const retained = first >= lastBase || first + 2n === lastBase;
      const outcome = await append(after, 7n, 0, i * 2, 2).then(
        (r) => r.baseOffset,
        (e: unknown) => (e as KafkaError).errorCode,
      );
      expect(outcome).toBe(retained ? first : ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    }
    expect((await append(after, 7n, 0, 16, 1)).baseOffset).toBe(16n);
  });

  it('a clean close snapshots at the log end offset, and a clean load restores the state from it', async () => {
    const log = await create();
    await append(log, 7n, 0, 0, 2);
    await append(log, 8n, 3, 10, 1);
    await log.close();
    opened.splice(opened.indexOf(log), 1);
    expect((await readdir(`${base}/t-0`)).filter((n) => n.endsWith('.snapshot'))).toEqual([snapshotFileName(3n)]);
    const again = await load(true);
    expect(await append(again, 7n, 0, 0, 2)).toMatchObject({ baseOffset: 0n });
    expect(await append(again, 8n, 3, 10, 1)).toMatchObject({ baseOffset: 2n });
    expect((await append(again, 8n, 3, 11, 1)).baseOffset).toBe(3n);
  });

  it('a failed write rejects the batches behind it too; the reloaded log knows only what reached the disk', async () => {
    const fs = countingFs();
    const log = await create(fs);
    await append(log, 7n, 0, 0, 2);
    fs.fault = (op, path) => {
      if (op === 'writev' && path.endsWith('.log')) throw Object.assign(new Error('EIO'), { code: 'EIO' });
    };
    const a = append(log, 7n, 0, 2, 2).catch((e: unknown) => e);
    const b = append(log, 7n, 0, 4, 2).catch((e: unknown) => e);
    expect(((await a) as NodeJS.ErrnoException).code).toBe('EIO');
    expect(((await b) as NodeJS.ErrnoException).code).toBe('EIO');
    fs.fault = undefined;
    await log.discardUnwrittenTail();
    // close() reports the failure that took the log offline; LogManager.reload then loads it from disk.
    await expect(log.close({ flush: false })).rejects.toMatchObject({ code: 'EIO' });
    opened.splice(opened.indexOf(log), 1);
    const reloaded = await load(false, fs);
    // The retry of the failed batch is new to the reloaded state, not a duplicate of a batch that was never written.
    expect((await append(reloaded, 7n, 0, 2, 2)).baseOffset).toBe(2n);
    expect(reloaded.logEndOffset).toBe(4n);
  });
});
