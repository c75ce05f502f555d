// A follower's appends (PartitionLog.appendAsFollower, follower-append.ts): a leader's batches written unchanged
// with their offsets and epochs, refused when misplaced or corrupt, producer state and transactions rebuilt as
// Kafka's AppendOrigin.REPLICATION; and the leader-epoch cache when the log becomes leader (leaderEpoch) and as
// OffsetsForLeaderEpoch reads it (endOffsetForEpoch).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { LogDirs, allBatches, headersOf, leaderBatch, leaderMarker, produced } from './replication-support.js';

const dirs = new LogDirs();
beforeEach(() => dirs.setUp());
afterEach(() => dirs.tearDown());

async function errorOf(promise: Promise<unknown>): Promise<KafkaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  return err as KafkaError;
}

describe('appendAsFollower', () => {
  it('writes a leader’s batches byte for byte, keeping offsets and epochs, and caches each epoch at its first batch', async () => {
    const leader = await dirs.create('leader');
    leader.leaderEpoch = 3;
    for (let i = 0; i < 3; i++) {
      const { bytes, header } = produced(4);
      await leader.append(bytes, header, { durable: false });
    }
    leader.leaderEpoch = 5;
    const { bytes, header } = produced(2);
    await leader.append(bytes, header, { durable: false });
    const fromLeader = await allBatches(leader);

    const follower = await dirs.create('follower');
    const result = await follower.appendAsFollower(fromLeader);
    expect(result).toEqual({ firstOffset: 0n, lastOffset: 13n });
    expect(follower.logEndOffset).toBe(14n);
    expect(follower.highWatermark).toBe(14n);
    expect((await allBatches(follower)).equals(fromLeader)).toBe(true);
    expect(follower.leaderEpochEntries()).toEqual([
      { epoch: 3, startOffset: 0n },
      { epoch: 5, startOffset: 12n },
    ]);
    expect(follower.latestEpoch()).toBe(5);
    expect(follower.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 12n });
  });

  it('refuses a first batch below the log end offset with OFFSET_OUT_OF_RANGE and writes nothing', async () => {
    const follower = await dirs.create('f');
    await follower.appendAsFollower(Buffer.concat([leaderBatch(0n, 3, 1), leaderBatch(3n, 3, 1)]));
    const err = await errorOf(follower.appendAsFollower(leaderBatch(4n, 2, 1)));
    expect(err.errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(err.message).toMatch(/First offset 4 is less than the next offset 6/);
    expect(follower.logEndOffset).toBe(6n);
  });

  it('accepts a gap before the first batch, as a compacted leader’s log has', async () => {
    const follower = await dirs.create('f');
    await follower.appendAsFollower(leaderBatch(0n, 2, 1));
    await follower.appendAsFollower(Buffer.concat([leaderBatch(7n, 1, 1), leaderBatch(9n, 1, 1)]));
    expect(follower.logEndOffset).toBe(10n);
    expect(headersOf(await follower.read(2n, 1 << 20, true)).map((h) => h.baseOffset)).toEqual([7n, 9n]);
  });

  it('refuses a corrupt CRC and offsets that go backwards with CORRUPT_MESSAGE, writing none of the batches', async () => {
    const follower = await dirs.create('f');
    const good = leaderBatch(0n, 2, 1);
    const bad = leaderBatch(2n, 2, 1);
    bad[bad.length - 1] ^= 0xff;
    expect((await errorOf(follower.appendAsFollower(Buffer.concat([good, bad])))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const backwards = Buffer.concat([leaderBatch(0n, 2, 1), leaderBatch(1n, 2, 1)]);
    const err = await errorOf(follower.appendAsFollower(backwards));
    expect(err.errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(err.message).toMatch(/out of order offsets/);
    const legacy = Buffer.from(leaderBatch(0n, 1, 1));
    legacy.writeInt8(1, 16);
    expect((await errorOf(follower.appendAsFollower(legacy))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(follower.logEndOffset).toBe(0n);
  });

  it('ignores a partial trailing batch (a fetch may end inside one)', async () => {
    const follower = await dirs.create('f');
    const second = leaderBatch(2n, 2, 1);
    const result = await follower.appendAsFollower(Buffer.concat([leaderBatch(0n, 2, 1), second.subarray(0, second.length - 5)]));
    expect(result).toEqual({ firstOffset: 0n, lastOffset: 1n });
    expect(follower.logEndOffset).toBe(2n);
    expect(await follower.appendAsFollower(Buffer.alloc(0))).toEqual({ firstOffset: -1n, lastOffset: -1n });
  });

  it('starts an empty log at the first batch’s base offset when the leader’s log start falls inside that batch', async () => {
    const follower = await dirs.create('f');
    await follower.truncateFullyAndStartAt(12n);
    await follower.appendAsFollower(leaderBatch(10n, 5, 2));
    expect(follower.logStartOffset).toBe(10n);
    expect(follower.logEndOffset).toBe(15n);
    expect(follower.segmentBaseOffsets()).toEqual([10n]);
  });

  it('rebuilds producer state: after becoming leader it answers a retry of a replicated batch as a duplicate', async () => {
    const follower = await dirs.create('f');
    await follower.appendAsFollower(
      Buffer.concat([
        leaderBatch(0n, 3, 4, { producerId: 42n, producerEpoch: 1, baseSequence: 0 }),
        leaderBatch(3n, 2, 4, { producerId: 42n, producerEpoch: 1, baseSequence: 3 }),
      ]),
    );
    expect(follower.producers.activeProducers().get(42n)?.lastSeq).toBe(4);
    follower.leaderEpoch = 5;
    const retry = produced(2, { producerId: 42n, producerEpoch: 1, baseSequence: 3 });
    expect(await follower.append(retry.bytes, retry.header, { durable: false })).toMatchObject({ baseOffset: 3n, lastOffset: 4n });
    expect(follower.logEndOffset).toBe(5n);
    const next = produced(1, { producerId: 42n, producerEpoch: 1, baseSequence: 5 });
    expect((await follower.append(next.bytes, next.header, { durable: false })).baseOffset).toBe(5n);
    const gap = produced(1, { producerId: 42n, producerEpoch: 1, baseSequence: 9 });
    expect((await errorOf(follower.append(gap.bytes, gap.header, { durable: false }))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    // The new leader's batches carry its epoch, recorded where its leadership began.
    expect(follower.leaderEpochEntries()).toEqual([
      { epoch: 4, startOffset: 0n },
      { epoch: 5, startOffset: 5n },
    ]);
  });

  it('replicated markers end transactions without checks, and an ABORT reaches the aborted-transaction index', async () => {
    const follower = await dirs.create('f');
    await follower.appendAsFollower(
      Buffer.concat([
        leaderBatch(0n, 2, 1, { producerId: 7n, transactional: true }),
        leaderBatch(2n, 2, 1),
        leaderMarker(4n, 1, 7n, false),
        leaderBatch(5n, 1, 1, { producerId: 8n, transactional: true }),
      ]),
    );
    expect(follower.abortedTransactionIndex()).toEqual([{ producerId: 7n, firstOffset: 0n, lastOffset: 4n, lastStableOffset: 5n }]);
    expect(follower.lastStableOffset).toBe(5n);
    await follower.appendAsFollower(leaderMarker(6n, 1, 8n, true));
    expect(follower.lastStableOffset).toBe(7n);
    expect(follower.abortedTransactions(0n, 7n)).toEqual([{ producerId: 7n, firstOffset: 0n }]);
  });

  it('is refused while the log is closed', async () => {
    const follower = await dirs.create('f');
    await follower.close();
    expect((await errorOf(follower.appendAsFollower(leaderBatch(0n, 1, 0)))).errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });
});

describe('the leader-epoch cache of a replica', () => {
  it('becoming leader with epoch E records E at the log end offset before any append', async () => {
    const log = await dirs.create('t');
    await log.appendAsFollower(leaderBatch(0n, 4, 2));
    expect(log.endOffsetForEpoch(3)).toBeNull();
    log.leaderEpoch = 3;
    expect(log.leaderEpochEntries()).toEqual([
      { epoch: 2, startOffset: 0n },
      { epoch: 3, startOffset: 4n },
    ]);
    expect(log.endOffsetForEpoch(3)).toEqual({ leaderEpoch: 3, endOffset: 4n });
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 2, endOffset: 4n });
    // Survives a clean restart once data of the epoch exists.
    const { bytes, header } = produced(1);
    await log.append(bytes, header, { durable: false });
    await log.close();
    const again = await dirs.load('t', { clean: true });
    expect(again.leaderEpochEntries()).toEqual([
      { epoch: 2, startOffset: 0n },
      { epoch: 3, startOffset: 4n },
    ]);
  });

  it('a single broker keeps epoch 0 from offset 0', async () => {
    const log = await dirs.create('t');
    expect(log.leaderEpoch).toBe(0);
    const { bytes, header } = produced(2);
    await log.append(bytes, header, { durable: false });
    expect(log.leaderEpochEntries()).toEqual([{ epoch: 0, startOffset: 0n }]);
    expect(headersOf(await log.read(0n, 1 << 20, true))[0]!.partitionLeaderEpoch).toBe(0);
  });

  it('answers OffsetsForLeaderEpoch as Kafka for a follower’s divergence check', async () => {
    const log = await dirs.create('t');
    await log.appendAsFollower(Buffer.concat([leaderBatch(0n, 5, 1), leaderBatch(5n, 5, 3), leaderBatch(10n, 5, 6)]));
    expect(log.endOffsetForEpoch(7)).toBeNull(); // above the latest: UNDEFINED (-1, -1)
    expect(log.endOffsetForEpoch(6)).toEqual({ leaderEpoch: 6, endOffset: 15n }); // the latest: the log end
    expect(log.endOffsetForEpoch(4)).toEqual({ leaderEpoch: 3, endOffset: 10n }); // between: the next epoch's start
    expect(log.endOffsetForEpoch(2)).toEqual({ leaderEpoch: 1, endOffset: 5n });
    expect(log.endOffsetForEpoch(0)).toEqual({ leaderEpoch: 0, endOffset: 0n }); // below the first entry
    expect(log.endOffsetForEpoch(-1)).toBeNull();
  });
});
