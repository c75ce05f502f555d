// Truncation of a replica's log (PartitionLog.truncateTo / truncateFullyAndStartAt, truncation.ts): inside a
// segment, at a segment boundary, across segments and below the recovery point, each followed by appends and by
// loads from disk with and without the clean-shutdown marker; the epoch cache, producer state and aborted
// transactions follow the cut; an I/O error part-way leaves a log that loads consistently; the owner's recovery
// point checkpoint is lowered before the next append.
import { readFile, readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { RECOVERY_POINT_CHECKPOINT_FILE, readOffsetCheckpoint, tpKey } from '../../src/log/checkpoint.js';
import { nodeLogFs } from '../../src/log/fs.js';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import type { PartitionLog } from '../../src/log/partition-log.js';
import { batchCrcIsValid } from '../../src/protocol/records/batch.js';
import { captureLogger, countingFs } from './helpers.js';
import { LogDirs, allBatches, headersOf, leaderBatch, leaderMarker, produced } from './replication-support.js';

const dirs = new LogDirs();
beforeEach(() => dirs.setUp());
afterEach(() => dirs.tearDown());

/** Two records of 200 bytes per batch (about 480 bytes): two batches per segment with segmentBytes 1000. */
const SMALL_SEGMENTS = { segmentBytes: 1000 };

/** `batches` batches of two records, from offset `from`, stamped with `epoch`, as one Fetch answer's records. */
function leaderRecords(from: bigint, batches: number, epoch: number, options: { producerId?: bigint; firstSequence?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < batches; i++) {
    const baseOffset = from + BigInt(2 * i);
    parts.push(
      leaderBatch(baseOffset, 2, epoch, {
        valueBytes: 200,
        producerId: options.producerId,
        baseSequence: options.producerId !== undefined ? (options.firstSequence ?? 0) + 2 * i : undefined,
      }),
    );
  }
  return Buffer.concat(parts);
}

async function follower(name: string, config = {}): Promise<PartitionLog> {
  const log = await dirs.create(name, config);
  await log.appendAsFollower(leaderRecords(0n, 6, 1)); // offsets 0..11
  return log;
}

/** Every batch is whole with a valid CRC, offsets increase, and the bytes are a prefix of `expected` up to `end`. */
async function expectConsistent(log: PartitionLog, expected: Buffer): Promise<void> {
  const bytes = await allBatches(log);
  let pos = 0;
  let next = log.logStartOffset;
  for (const h of headersOf(bytes)) {
    expect(batchCrcIsValid(bytes, pos)).toBe(true);
    expect(h.baseOffset >= next).toBe(true);
    next = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    pos += 12 + h.batchLength;
  }
  expect(pos).toBe(bytes.length);
  expect(next).toBe(log.logEndOffset);
  expect(expected.subarray(0, bytes.length).equals(bytes)).toBe(true);
}

describe('truncateTo', () => {
  it('in the middle of a segment: later batches go, appends continue there, and clean and unclean loads agree', async () => {
    const log = await follower('t');
    const original = await allBatches(log);
    await log.truncateTo(6n);
    expect(log.logEndOffset).toBe(6n);
    expect(log.highWatermark).toBe(6n);
    expect(log.recoveryPoint <= 6n).toBe(true);
    expect(headersOf(await log.readForReplica(0n, 1 << 20)).map((h) => h.baseOffset)).toEqual([0n, 2n, 4n]);
    expect((await allBatches(log)).equals(original.subarray(0, (await allBatches(log)).length))).toBe(true);
    const tail = leaderRecords(6n, 2, 2);
    await log.appendAsFollower(tail);
    expect(log.logEndOffset).toBe(10n);
    const expected = Buffer.concat([original.subarray(0, 3 * (original.length / 6)), tail]);
    expect((await allBatches(log)).equals(expected)).toBe(true);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0n },
      { epoch: 2, startOffset: 6n },
    ]);

    await dirs.snapshotDir('t', 'crashed');
    await log.close();
    const clean = await dirs.load('t', { clean: true });
    expect((await allBatches(clean)).equals(expected)).toBe(true);
    const unclean = await dirs.load('crashed', { clean: false });
    expect(unclean.logEndOffset).toBe(10n);
    expect((await allBatches(unclean)).equals(expected)).toBe(true);
    expect(unclean.leaderEpochEntries()).toEqual(clean.leaderEpochEntries());
  });

  it('at a segment boundary: the later segments go and the segment starting there is emptied and active', async () => {
    const log = await follower('t', SMALL_SEGMENTS);
    expect(log.segmentBaseOffsets()).toEqual([0n, 4n, 8n]);
    await log.truncateTo(4n);
    expect(log.segmentBaseOffsets()).toEqual([0n, 4n]);
    expect(log.logEndOffset).toBe(4n);
    const files = await readdir(`${dirs.base}/t-0`);
    expect(files.filter((f) => f.startsWith('00000000000000000008'))).toEqual([]);
    await log.appendAsFollower(leaderRecords(4n, 3, 2));
    expect(log.segmentBaseOffsets()).toEqual([0n, 4n, 8n]);
    const expected = await allBatches(log);
    await dirs.snapshotDir('t', 'crashed');
    await log.close();
    expect((await allBatches(await dirs.load('t', { clean: true }, SMALL_SEGMENTS))).equals(expected)).toBe(true);
    const unclean = await dirs.load('crashed', { clean: false }, SMALL_SEGMENTS);
    expect((await allBatches(unclean)).equals(expected)).toBe(true);
  });

  it('across segments: a sealed segment becomes the active one again, rolls and reloads correctly', async () => {
    const log = await follower('t', SMALL_SEGMENTS);
    const original = await allBatches(log);
    await log.truncateTo(2n);
    expect(log.segmentBaseOffsets()).toEqual([0n]);
    expect(log.logEndOffset).toBe(2n);
    expect((await readdir(`${dirs.base}/t-0`)).filter((f) => f.endsWith('.log'))).toEqual(['00000000000000000000.log']);
    expect((await allBatches(log)).equals(original.subarray(0, original.length / 6))).toBe(true);
    await log.appendAsFollower(leaderRecords(2n, 4, 3));
    expect(log.segmentBaseOffsets()).toEqual([0n, 4n, 8n]);
    // The reactivated segment's indexes and timestamps answer lookups.
    expect(await log.offsetForTimestamp(0n)).toMatchObject({ offset: 0n });
    const expected = await allBatches(log);
    await dirs.snapshotDir('t', 'crashed');
    await log.close();
    const clean = await dirs.load('t', { clean: true }, SMALL_SEGMENTS);
    expect((await allBatches(clean)).equals(expected)).toBe(true);
    expect(clean.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0n },
      { epoch: 3, startOffset: 2n },
    ]);
    expect((await allBatches(await dirs.load('crashed', { clean: false }, SMALL_SEGMENTS))).equals(expected)).toBe(true);
  });

  it('below the recovery point: the recovery point drops to the cut, and an unclean load with the old checkpoint is consistent', async () => {
    const log = await follower('t', SMALL_SEGMENTS);
    await log.flush();
    const staleRecoveryPoint = log.recoveryPoint;
    expect(staleRecoveryPoint).toBe(12n);
    await log.truncateTo(6n);
    expect(log.recoveryPoint <= 6n).toBe(true);
    await log.appendAsFollower(leaderRecords(6n, 4, 2));
    const expected = await allBatches(log);
    await dirs.snapshotDir('t', 'stale');
    await dirs.snapshotDir('t', 'current');
    const stale = await dirs.load('stale', { clean: false, recoveryPoint: staleRecoveryPoint }, SMALL_SEGMENTS);
    await expectConsistent(stale, expected);
    expect(stale.logEndOffset).toBe(14n);
    const current = await dirs.load('current', { clean: false, recoveryPoint: log.recoveryPoint }, SMALL_SEGMENTS);
    expect((await allBatches(current)).equals(expected)).toBe(true);
  });

  it('cuts the leader-epoch cache at the offset and writes the checkpoint', async () => {
    const log = await dirs.create('t');
    await log.appendAsFollower(Buffer.concat([leaderRecords(0n, 2, 1), leaderRecords(4n, 2, 4), leaderRecords(8n, 2, 7)]));
    await log.truncateTo(6n);
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 1, startOffset: 0n },
      { epoch: 4, startOffset: 4n },
    ]);
    expect(await readFile(`${dirs.base}/t-0/leader-epoch-checkpoint`, 'utf8')).toBe('0\n2\n1 0\n4 4\n');
    expect(log.endOffsetForEpoch(7)).toBeNull();
    expect(log.latestEpoch()).toBe(4);
  });

  it('at or past the log end removes nothing but the epoch entries starting there', async () => {
    const log = await follower('t');
    log.leaderEpoch = 5; // became leader at 12, wrote nothing
    expect(log.leaderEpochEntries().at(-1)).toEqual({ epoch: 5, startOffset: 12n });
    await log.truncateTo(12n);
    expect(log.logEndOffset).toBe(12n);
    expect(log.leaderEpochEntries()).toEqual([{ epoch: 1, startOffset: 0n }]);
    await log.truncateTo(50n);
    expect(log.logEndOffset).toBe(12n);
  });

  it('truncates producer state and reloads it from the snapshot at or below the cut', async () => {
    const log = await dirs.create('t', SMALL_SEGMENTS);
    // Producer 42: sequences 0..11 at offsets 0..11; segment rolls at 4 and 8 leave snapshots there.
    await log.appendAsFollower(leaderRecords(0n, 6, 1, { producerId: 42n }));
    await log.flush();
    expect(log.producers.snapshotOffsets()).toContain(8n);
    await log.truncateTo(6n);
    expect(log.producers.snapshotOffsets().every((o) => o <= 6n)).toBe(true);
    expect(log.producers.activeProducers().get(42n)?.lastSeq).toBe(5);
    log.leaderEpoch = 2;
    // A retry of the last kept batch is a duplicate; the next sequence (a batch the cut removed) is new.
    const retry = produced(2, { producerId: 42n, producerEpoch: 0, baseSequence: 4 });
    expect(await log.append(retry.bytes, retry.header, { durable: false })).toMatchObject({ baseOffset: 4n, lastOffset: 5n });
    const next = produced(2, { producerId: 42n, producerEpoch: 0, baseSequence: 6 });
    expect((await log.append(next.bytes, next.header, { durable: false })).baseOffset).toBe(6n);
    expect(log.logEndOffset).toBe(8n);
  });

  it('removes aborted transactions whose marker is cut, in memory and in the .txnindex file', async () => {
    const log = await dirs.create('t');
    await log.appendAsFollower(Buffer.concat([leaderBatch(0n, 2, 1, { producerId: 7n, transactional: true }), leaderMarker(2n, 1, 7n, false), leaderBatch(3n, 2, 1)]));
    expect(log.abortedTransactionIndex()).toHaveLength(1);
    await log.truncateTo(2n);
    expect(log.abortedTransactionIndex()).toEqual([]);
    expect((await readFile(`${dirs.base}/t-0/00000000000000000000.txnindex`)).length).toBe(0);
    // The transaction is open again: it holds the last stable offset.
    expect(log.lastStableOffset).toBe(0n);
    await log.appendAsFollower(leaderMarker(2n, 2, 7n, true));
    expect(log.lastStableOffset).toBe(3n);
    expect(log.abortedTransactionIndex()).toEqual([]);
    await dirs.snapshotDir('t', 'crashed');
    const unclean = await dirs.load('crashed', { clean: false });
    expect(unclean.abortedTransactionIndex()).toEqual([]);
    expect(unclean.lastStableOffset).toBe(3n);
  });

  it('refuses appends while it runs and makes reads wait for the cut', async () => {
    const log = await follower('t');
    const truncation = log.truncateTo(4n);
    const { bytes, header } = produced(1);
    const refused = await log.append(bytes, header, { durable: false }).catch((err: unknown) => err);
    expect((refused as KafkaError).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const read = log.readForReplica(0n, 1 << 20);
    await truncation;
    expect(headersOf(await read).map((h) => h.baseOffset)).toEqual([0n, 2n]);
    expect((await log.append(bytes, header, { durable: false })).baseOffset).toBe(4n);
  });

  it('an I/O error part-way takes the log offline and leaves files that load as a consistent log', async () => {
    const fs = countingFs();
    let unlinks = 0;
    let armed = false;
    const failing = {
      ...fs,
      unlink: async (path: string) => {
        // The newest segment's three files go, then unlinking the next segment's .log fails.
        if (armed && ++unlinks === 5) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
        return nodeLogFs.unlink(path);
      },
    };
    const log = await dirs.create('t', SMALL_SEGMENTS, failing);
    await log.appendAsFollower(leaderRecords(0n, 6, 1));
    armed = true;
    const original = await allBatches(log);
    await expect(log.truncateTo(2n)).rejects.toThrow(/EIO/);
    expect(log.isOffline).toBe(true);
    await dirs.snapshotDir('t', 'crashed');
    const loaded = await dirs.load('crashed', { clean: false }, SMALL_SEGMENTS);
    await expectConsistent(loaded, original);
    expect([2n, 8n, 12n]).toContain(loaded.logEndOffset);
  });
});

describe('truncateFullyAndStartAt', () => {
  it('drops every segment and starts empty at the offset; appends and loads continue from there', async () => {
    const log = await dirs.create('t', SMALL_SEGMENTS);
    await log.appendAsFollower(leaderRecords(0n, 6, 1, { producerId: 3n }));
    await log.flush();
    await log.truncateFullyAndStartAt(100n);
    expect(log.segmentBaseOffsets()).toEqual([100n]);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.recoveryPoint]).toEqual([100n, 100n, 100n, 100n]);
    expect(log.leaderEpochEntries()).toEqual([]);
    expect(log.producers.activeProducers().size).toBe(0);
    expect(log.producers.snapshotOffsets()).toEqual([]);
    expect((await readdir(`${dirs.base}/t-0`)).filter((f) => f.endsWith('.log'))).toEqual(['00000000000000000100.log']);
    const error = await log.read(0n, 100, true).catch((err: unknown) => err);
    expect((error as KafkaError).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    await log.appendAsFollower(leaderRecords(100n, 3, 9));
    const expected = await allBatches(log);
    await dirs.snapshotDir('t', 'crashed');
    await log.close();
    const clean = await dirs.load('t', { clean: true }, SMALL_SEGMENTS);
    expect(clean.logStartOffset).toBe(100n);
    expect((await allBatches(clean)).equals(expected)).toBe(true);
    const unclean = await dirs.load('crashed', { clean: false }, SMALL_SEGMENTS);
    expect(unclean.logStartOffset).toBe(100n);
    expect((await allBatches(unclean)).equals(expected)).toBe(true);
    expect(unclean.leaderEpochEntries()).toEqual([{ epoch: 9, startOffset: 100n }]);
  });

  it('truncateTo below the first segment does the same', async () => {
    const log = await dirs.create('t');
    await log.truncateFullyAndStartAt(50n);
    await log.appendAsFollower(leaderRecords(50n, 2, 1));
    await log.truncateTo(10n);
    expect(log.segmentBaseOffsets()).toEqual([10n]);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([10n, 10n]);
  });
});

describe('truncation under LogManager', () => {
  it('checkpoints the lowered recovery point before the log takes another append', async () => {
    const captured = captureLogger();
    const dataDir = `${dirs.base}/data`;
    const manager = await LogManager.open({ dataDir, logger: captured.logger });
    try {
      const log = await manager.createLog('r', 0, { ...DEFAULT_LOG_CONFIG });
      await log.appendAsFollower(leaderRecords(0n, 6, 1));
      await manager.flushAll();
      const path = `${dataDir}/${RECOVERY_POINT_CHECKPOINT_FILE}`;
      expect((await readOffsetCheckpoint(nodeLogFs, path)).offsets.get(tpKey('r', 0))).toBe(12n);
      await log.truncateTo(4n);
      expect((await readOffsetCheckpoint(nodeLogFs, path)).offsets.get(tpKey('r', 0))).toBe(4n);
    } finally {
      await manager.close();
    }
  });
});
