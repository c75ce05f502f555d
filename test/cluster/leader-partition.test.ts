// The leader's side of a replicated partition on a real partition log (managed high watermark): the HW is the
// smallest log end offset over the ISR, a follower that catches up joins the ISR, one that stops fetching leaves it,
// and acks=all waiters are answered (or timed out, or failed on resignation) as Kafka's DelayedProduce.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaderPartition } from '../../src/cluster/leader-partition.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { KafkaError } from '../../src/errors.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { LogDirs } from '../log/replication-support.js';
import type { PartitionLog } from '../../src/log/partition-log.js';

const dirs = new LogDirs();
beforeEach(() => dirs.setUp());
afterEach(() => dirs.tearDown());

async function append(log: PartitionLog, n = 1): Promise<bigint> {
  const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: Array.from({ length: n }, (_, i) => ({ key: 'k', value: `v${i}`, timestampDelta: 0 })) });
  const result = await log.append(batch, readBatchHeader(batch, 0), { durable: false });
  return result.lastOffset;
}

async function leaderOn(isr: number[], replicas = [1, 2, 3]) {
  const log = await dirs.create('p');
  log.setHighWatermarkManaged(true);
  log.leaderEpoch = 1;
  const proposals: Array<{ isr: readonly number[]; reason: string }> = [];
  let now = 1_000_000;
  const leader = new LeaderPartition('p', 0, 1, log, { leaderEpoch: 1, partitionEpoch: 0, replicas, isr }, (newIsr, reason) => proposals.push({ isr: newIsr, reason }), () => now);
  log.onLogEndOffsetAdvanced(() => leader.onLocalWrite());
  return { log, leader, proposals, advance: (ms: number) => (now += ms) };
}

describe('LeaderPartition', () => {
  it('moves the high watermark to the smallest log end offset over the ISR, never down', async () => {
    const { log, leader } = await leaderOn([1, 2, 3]);
    await append(log, 5);
    expect(log.logEndOffset).toBe(5n);
    expect(log.highWatermark).toBe(0n);
    leader.recordFollowerFetch(2, 10n, 5n);
    expect(log.highWatermark).toBe(0n);
    leader.recordFollowerFetch(3, 10n, 3n);
    expect(log.highWatermark).toBe(3n);
    leader.recordFollowerFetch(3, 10n, 5n);
    expect(log.highWatermark).toBe(5n);
    // A follower fetching from an older offset (after its own truncation) does not move the HW back.
    leader.recordFollowerFetch(3, 10n, 4n);
    expect(log.highWatermark).toBe(5n);
  });

  it('answers an acks=all waiter once every ISR member has its batch, and with NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below the minimum', async () => {
    const { log, leader } = await leaderOn([1, 2]);
    const last = await append(log);
    let done = false;
    const waiting = leader.waitForHighWatermark(last, 5000, 2).then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    leader.recordFollowerFetch(2, 10n, last + 1n);
    await waiting;
    expect(done).toBe(true);

    const next = await append(log);
    const shrunk = leader.waitForHighWatermark(next, 5000, 2);
    leader.updateAssignment({ leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2, 3], isr: [1] });
    await expect(shrunk).rejects.toMatchObject({ errorCode: ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND });
  });

  it('refuses acks=all before the append when the ISR is below min.insync.replicas', async () => {
    const { leader } = await leaderOn([1]);
    expect(() => leader.checkEnoughReplicas(2)).toThrow(KafkaError);
    try {
      leader.checkEnoughReplicas(2);
    } catch (err) {
      expect((err as KafkaError).errorCode).toBe(ErrorCode.NOT_ENOUGH_REPLICAS);
    }
    expect(() => leader.checkEnoughReplicas(1)).not.toThrow();
  });

  it('times out an acks=all waiter with REQUEST_TIMED_OUT and fails the rest with NOT_LEADER_OR_FOLLOWER on resignation', async () => {
    const { log, leader } = await leaderOn([1, 2]);
    const last = await append(log);
    await expect(leader.waitForHighWatermark(last, 20, 1)).rejects.toMatchObject({ errorCode: ErrorCode.REQUEST_TIMED_OUT });
    const pending = leader.waitForHighWatermark(last, 5000, 1);
    leader.resign();
    await expect(pending).rejects.toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    await expect(leader.waitForHighWatermark(last, 5000, 1)).rejects.toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
  });

  it('proposes adding a follower that reached the high watermark, one change at a time', async () => {
    const { log, leader, proposals } = await leaderOn([1, 2]);
    await append(log, 3);
    leader.recordFollowerFetch(2, 10n, 3n);
    expect(log.highWatermark).toBe(3n);
    leader.recordFollowerFetch(3, 10n, 1n);
    expect(proposals).toEqual([]);
    leader.recordFollowerFetch(3, 10n, 3n);
    expect(proposals).toEqual([{ isr: [1, 2, 3], reason: 'expand' }]);
    // Pending: no second proposal until the metadata answers.
    leader.recordFollowerFetch(3, 10n, 3n);
    expect(proposals).toHaveLength(1);
    leader.updateAssignment({ leaderEpoch: 1, partitionEpoch: 1, replicas: [1, 2, 3], isr: [1, 2, 3] });
    expect(leader.isr).toEqual([1, 2, 3]);
  });

  it('proposes removing an ISR follower that has not caught up for replica.lag.time.max.ms', async () => {
    const { log, leader, proposals, advance } = await leaderOn([1, 2, 3]);
    await append(log, 2);
    leader.recordFollowerFetch(2, 10n, 2n);
    advance(5_000);
    leader.recordFollowerFetch(2, 10n, 2n);
    expect(leader.maybeShrinkIsr(30_000)).toEqual([]);
    advance(30_001);
    leader.recordFollowerFetch(2, 10n, 2n);
    expect(leader.maybeShrinkIsr(30_000)).toEqual([3]);
    expect(proposals).toEqual([{ isr: [1, 2], reason: 'shrink' }]);
  });

  it('refuses fetches from a broker that is not a replica and from an older incarnation of a replica', async () => {
    const { leader } = await leaderOn([1, 2], [1, 2]);
    expect(() => leader.recordFollowerFetch(7, 1n, 0n)).toThrow(/not a replica/);
    expect(() => leader.checkReplica(7, true)).toThrow(expect.objectContaining({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH }));
    expect(() => leader.checkReplica(7, false)).toThrow(expect.objectContaining({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER }));
    expect(() => leader.checkReplica(2, true)).not.toThrow();
    leader.recordFollowerFetch(2, 20n, 0n);
    expect(() => leader.recordFollowerFetch(2, 19n, 0n)).toThrow(/stale broker epoch/);
  });
});
