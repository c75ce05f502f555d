// Transactional offset commits in the group coordinator, driven directly (no sockets) against real logs in a
// temporary data dir (`__consumer_offsets`): pending offsets, markers (COMMIT / ABORT) written as the transaction
// coordinator writes them, the order in which transactional and ordinary commits of one partition win,
// producer-epoch fencing by the partition, and what survives a restart.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { GroupCoordinator, OffsetToCommit } from '../../src/group/coordinator.js';
import type { JoinParams } from '../../src/group/group.js';
import { NO_EXPIRE_TIMESTAMP } from '../../src/group/group-records.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';
import { DEFAULT_OFFSETS_TOPIC_PARTITIONS, internalPartitionFor } from '../../src/metadata/internal-topics.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { openGroupCoordinator, type GroupCoordinatorHarness, type GroupCoordinatorHarnessOptions } from '../helpers/group-coordinator.js';
import { countingFs } from '../log/helpers.js';

let dataDir: string;
const harnesses = new Map<GroupCoordinator, GroupCoordinatorHarness>();

beforeEach(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-txn-offsets-'));
});

afterEach(async () => {
  for (const h of harnesses.values()) await h.close();
  harnesses.clear();
  rmSync(dataDir, { recursive: true, force: true });
});

async function coordinator(options: BrokerOptions = {}, now?: () => number, more: GroupCoordinatorHarnessOptions = {}): Promise<GroupCoordinator> {
  const h = await openGroupCoordinator(dataDir, { broker: options, ...(now === undefined ? {} : { now }), ...more });
  harnesses.set(h.coordinator, h);
  return h.coordinator;
}

/** Closes `c` and opens a new coordinator on the same data dir (a restart). */
async function reopen(c: GroupCoordinator): Promise<GroupCoordinator> {
  await harnesses.get(c)!.close();
  harnesses.delete(c);
  return coordinator();
}

/** The transaction coordinator's marker for `producerId` in the group's `__consumer_offsets` partition. */
async function end(c: GroupCoordinator, producerId: bigint, groupId: string, commit: boolean, producerEpoch = 0): Promise<void> {
  expect(await harnesses.get(c)!.endTransaction(producerId, groupId, commit, producerEpoch)).toBe(ErrorCode.NONE);
}

const offset = (partition: number, value: bigint, metadata: string | null = 'md', leaderEpoch = -1): OffsetToCommit => ({
  topic: 't',
  partition,
  offset: value,
  leaderEpoch,
  metadata,
  commitTimestampMs: 1000,
  expireTimestampMs: NO_EXPIRE_TIMESTAMP,
});

const PID = 4000n;
const txnCommit = (c: GroupCoordinator, groupId: string, entries: OffsetToCommit[], producerId = PID, producerEpoch = 0) =>
  c.commitTransactionalOffsets(groupId, producerId, producerEpoch, '', null, -1, entries);

/** The committed offset of t-`partition` as OffsetFetch answers it (with require_stable when asked). */
function fetched(c: GroupCoordinator, groupId: string, partition: number, requireStable = false) {
  const r = c.fetchOffsets(groupId, [{ name: 't', partitionIndexes: [partition] }], requireStable);
  expect(r.errorCode).toBe(ErrorCode.NONE);
  const p = r.topics[0]!.partitions[0]!;
  return { offset: p.offset, errorCode: p.errorCode };
}

/** Group ids: `count` of them on one `__consumer_offsets` partition, found by a bounded search. */
function groupsOnOnePartition(count: number): string[] {
  const byPartition = new Map<number, string[]>();
  for (let i = 0; i < 10_000; i++) {
    const id = `g-${i}`;
    const p = internalPartitionFor(id, DEFAULT_OFFSETS_TOPIC_PARTITIONS);
    const list = byPartition.get(p) ?? [];
    list.push(id);
    byPartition.set(p, list);
    if (list.length === count) return list;
  }
  throw new Error('no partition with enough groups');
}

describe('pending transactional offsets', () => {
  test('a transactional offset is invisible until COMMIT; require_stable answers UNSTABLE_OFFSET_COMMIT meanwhile', async () => {
    const c = await coordinator();
    expect(await c.commitOffsets('g', '', null, -1, [offset(0, 5n)])).toEqual([ErrorCode.NONE]);
    expect(await txnCommit(c, 'g', [offset(0, 9n, 'txn', 3)])).toEqual([ErrorCode.NONE]);

    expect(fetched(c, 'g', 0)).toEqual({ offset: 5n, errorCode: ErrorCode.NONE });
    expect(fetched(c, 'g', 0, true)).toEqual({ offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    expect(fetched(c, 'g', 1, true)).toEqual({ offset: -1n, errorCode: ErrorCode.NONE }); // another partition is stable

    await end(c, PID, 'g', true);
    const all = c.fetchOffsets('g', null, true);
    expect(all.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, offset: 9n, leaderEpoch: 3, metadata: 'txn', errorCode: ErrorCode.NONE }] }]);
  });

  test('a committed transactional offset is durable: it is there after a restart', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 9n), offset(1, 10n, null)]);
    await end(c, PID, 'g', true);
    const again = await reopen(c);
    expect(again.fetchOffsets('g', null).topics[0]!.partitions.map((p) => [p.partitionIndex, p.offset, p.metadata])).toEqual([
      [0, 9n, 'md'],
      [1, 10n, ''],
    ]);
  });

  test('ABORT drops the pending offsets: the previous offset stays and require_stable is answered again', async () => {
    const c = await coordinator();
    await c.commitOffsets('g', '', null, -1, [offset(0, 5n)]);
    await txnCommit(c, 'g', [offset(0, 9n)]);
    await end(c, PID, 'g', false);
    expect(fetched(c, 'g', 0, true)).toEqual({ offset: 5n, errorCode: ErrorCode.NONE });
    // A later COMMIT for the same producer has nothing left to apply.
    await end(c, PID, 'g', true);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 5n, errorCode: ErrorCode.NONE });
    expect((await reopen(c)).fetchOffsets('g', null).topics[0]!.partitions[0]!.offset).toBe(5n);
  });

  test('the marker completes only the groups of its __consumer_offsets partition', async () => {
    const c = await coordinator();
    const [a] = groupsOnOnePartition(1);
    const b = ['other-1', 'other-2', 'other-3'].find((id) => c.partitionFor(id) !== c.partitionFor(a!))!;
    await txnCommit(c, a!, [offset(0, 1n)]);
    await txnCommit(c, b, [offset(0, 2n)]);
    await end(c, PID, a!, true);
    expect(fetched(c, a!, 0, true)).toEqual({ offset: 1n, errorCode: ErrorCode.NONE });
    expect(fetched(c, b, 0, true)).toEqual({ offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    await end(c, PID, b, true);
    expect(fetched(c, b, 0, true)).toEqual({ offset: 2n, errorCode: ErrorCode.NONE });
  });

  test('one marker completes every group of its partition that the producer committed to', async () => {
    const c = await coordinator();
    const [a, b] = groupsOnOnePartition(2);
    await txnCommit(c, a!, [offset(0, 1n)]);
    await txnCommit(c, b!, [offset(0, 2n)]);
    await end(c, PID, a!, true);
    expect([fetched(c, a!, 0, true), fetched(c, b!, 0, true)]).toEqual([
      { offset: 1n, errorCode: ErrorCode.NONE },
      { offset: 2n, errorCode: ErrorCode.NONE },
    ]);
  });

  test("a marker for one producer leaves another producer's pending offsets of the same group pending", async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 1n)], 1n);
    await txnCommit(c, 'g', [offset(1, 2n)], 2n);
    await end(c, 1n, 'g', true);
    expect(fetched(c, 'g', 0, true)).toEqual({ offset: 1n, errorCode: ErrorCode.NONE });
    expect(fetched(c, 'g', 1, true)).toEqual({ offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
  });
});

describe('which commit of a partition wins (Kafka orders them by their position in __consumer_offsets)', () => {
  test('an ordinary commit made after the TxnOffsetCommit wins over it, also after a restart', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 9n), offset(1, 9n)]);
    await c.commitOffsets('g', '', null, -1, [offset(0, 20n)]);
    await end(c, PID, 'g', true);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 20n, errorCode: ErrorCode.NONE });
    expect(fetched(c, 'g', 1)).toEqual({ offset: 9n, errorCode: ErrorCode.NONE }); // not superseded
    const again = await reopen(c);
    expect([fetched(again, 'g', 0).offset, fetched(again, 'g', 1).offset]).toEqual([20n, 9n]);
  });

  test('an ordinary commit made before the TxnOffsetCommit is replaced by it, also after a restart', async () => {
    const c = await coordinator();
    await c.commitOffsets('g', '', null, -1, [offset(0, 20n)]);
    await txnCommit(c, 'g', [offset(0, 9n)]);
    await end(c, PID, 'g', true);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 9n, errorCode: ErrorCode.NONE });
    expect(fetched(await reopen(c), 'g', 0).offset).toBe(9n);
  });

  test('an ordinary commit still being written when the COMMIT marker arrives wins if it came after the TxnOffsetCommit', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 9n)]);
    const ordinary = c.commitOffsets('g', '', null, -1, [offset(0, 20n)]); // queued, not yet fsynced
    expect(fetched(c, 'g', 0, true).errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    const completion = end(c, PID, 'g', true);
    expect(await ordinary).toEqual([ErrorCode.NONE]);
    await completion;
    expect(fetched(c, 'g', 0, true)).toEqual({ offset: 20n, errorCode: ErrorCode.NONE });
    expect(fetched(await reopen(c), 'g', 0).offset).toBe(20n);
  });

  test('an ordinary commit queued before the TxnOffsetCommit and written after the COMMIT marker does not win', async () => {
    const c = await coordinator();
    const ordinary = c.commitOffsets('g', '', null, -1, [offset(0, 20n)]); // queued first
    await txnCommit(c, 'g', [offset(0, 9n)]);
    const completion = end(c, PID, 'g', true);
    await Promise.all([ordinary, completion]);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 9n, errorCode: ErrorCode.NONE });
    expect(fetched(await reopen(c), 'g', 0).offset).toBe(9n);
  });

  test('of two producers, the later TxnOffsetCommit wins whichever transaction commits first', async () => {
    for (const firstToComplete of [1n, 2n]) {
      const groupId = `two-producers-${firstToComplete}`;
      const c = await coordinator();
      await txnCommit(c, groupId, [offset(0, 100n)], 1n);
      await txnCommit(c, groupId, [offset(0, 200n)], 2n);
      await end(c, firstToComplete, groupId, true);
      await end(c, firstToComplete === 1n ? 2n : 1n, groupId, true);
      expect(fetched(c, groupId, 0, true)).toEqual({ offset: 200n, errorCode: ErrorCode.NONE });
      const again = await reopen(c);
      expect(fetched(again, groupId, 0).offset).toBe(200n);
      await harnesses.get(again)!.close();
      harnesses.delete(again);
    }
  });

  test('a second TxnOffsetCommit of the same partition by the same producer replaces the first', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 1n)]);
    await txnCommit(c, 'g', [offset(0, 2n)]);
    await end(c, PID, 'g', true);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 2n, errorCode: ErrorCode.NONE });
  });
});

describe('TxnOffsetCommit validation', () => {
  const join = (c: GroupCoordinator, groupId: string, overrides: Partial<JoinParams> = {}) =>
    c.joinGroup(groupId, {
      memberId: '',
      groupInstanceId: null,
      requireKnownMemberId: false,
      supportSkippingAssignment: false,
      clientId: 'client',
      clientHost: '/127.0.0.1',
      rebalanceTimeoutMs: 10_000,
      sessionTimeoutMs: 10_000,
      protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      reason: null,
      ...overrides,
    });

  test('an empty group id gets INVALID_GROUP_ID; an unknown group is created Empty', async () => {
    const c = await coordinator();
    expect(await txnCommit(c, '', [offset(0, 1n)])).toEqual([ErrorCode.INVALID_GROUP_ID]);
    expect(await txnCommit(c, 'new', [offset(0, 1n)])).toEqual([ErrorCode.NONE]);
    expect(c.group('new')?.state).toBe('Empty');
  });

  test('member checks: unknown member, wrong generation and fenced instance; no member fields pass in any state', async () => {
    const c = await coordinator();
    const j = await join(c, 'g', { groupInstanceId: 'i-1' });
    expect(j.errorCode).toBe(ErrorCode.NONE);
    expect(c.group('g')!.state).toBe('CompletingRebalance');
    const commit = (memberId: string, instance: string | null, generation: number) => c.commitTransactionalOffsets('g', PID, 0, memberId, instance, generation, [offset(0, 1n)]);
    expect(await commit('nobody', null, j.generationId)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await commit(j.memberId, 'i-1', j.generationId + 1)).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await commit('impostor', 'i-1', j.generationId)).toEqual([ErrorCode.FENCED_INSTANCE_ID]);
    expect(await commit('m', 'unknown-instance', j.generationId)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    // Unlike OffsetCommit, CompletingRebalance does not refuse it, and no member fields (v0-2) are accepted too.
    expect(await commit(j.memberId, 'i-1', j.generationId)).toEqual([ErrorCode.NONE]);
    expect(await commit('', null, -1)).toEqual([ErrorCode.NONE]);
    // A generation for a group that does not exist: the group is created, then the member is unknown.
    expect(await c.commitTransactionalOffsets('fresh', PID, 0, 'm', null, 3, [offset(0, 1n)])).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
  });

  test('metadata over offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE; the other partitions become pending', async () => {
    const c = await coordinator({ offsetMetadataMaxBytes: 4 });
    expect(await txnCommit(c, 'g', [offset(0, 1n, 'abcde'), offset(1, 2n, 'abcd')])).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE]);
    expect(fetched(c, 'g', 0, true).errorCode).toBe(ErrorCode.NONE);
    expect(fetched(c, 'g', 1, true).errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
  });

  test('a producer epoch older than one the partition has seen (a fenced zombie) gets INVALID_PRODUCER_EPOCH, also after a restart', async () => {
    const c = await coordinator();
    expect(await txnCommit(c, 'g', [offset(0, 1n)], PID, 5)).toEqual([ErrorCode.NONE]);
    // InitProducerId fenced epoch 5: the coordinator aborts its transaction with a marker at epoch 6.
    await end(c, PID, 'g', false, 6);
    expect(await txnCommit(c, 'g', [offset(0, 2n)], PID, 5)).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH]);
    expect(fetched(c, 'g', 0, true).errorCode).toBe(ErrorCode.NONE);
    expect(await txnCommit(c, 'g', [offset(0, 3n)], PID, 6)).toEqual([ErrorCode.NONE]);
    expect(await txnCommit(c, 'g', [offset(0, 3n)], PID, 5)).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH]);
    // The partition's producer state is durable with its log.
    const again = await reopen(c);
    expect(await txnCommit(again, 'g', [offset(0, 4n)], PID, 5)).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH]);
  });
});

describe('pending offsets and the rest of the group lifecycle', () => {
  test('an Empty group holding only pending transactional offsets is not removed by offset expiry', async () => {
    let nowMs = 1_000_000;
    const c = await coordinator({ offsetsRetentionMinutes: 1 }, () => nowMs);
    await txnCommit(c, 'g', [offset(0, 1n)]);
    nowMs += 10 * 60_000;
    await c.cleanupExpiredOffsets();
    expect(c.group('g')?.state).toBe('Empty');
    await end(c, PID, 'g', true);
    expect(fetched(c, 'g', 0)).toEqual({ offset: 1n, errorCode: ErrorCode.NONE });
  });

  test('OffsetDelete and topic deletion drop the pending offsets of their partitions', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 1n), offset(1, 2n)]);
    await txnCommit(c, 'h', [offset(0, 3n)]);
    expect((await c.deleteOffsets('g', [{ topic: 't', partition: 0 }])).codes).toEqual([ErrorCode.NONE]);
    expect(fetched(c, 'g', 0, true).errorCode).toBe(ErrorCode.NONE);
    expect(fetched(c, 'g', 1, true).errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    await c.removeOffsetsOfTopic('t');
    expect(fetched(c, 'g', 1, true).errorCode).toBe(ErrorCode.NONE);
    expect(fetched(c, 'h', 0, true).errorCode).toBe(ErrorCode.NONE);
    await end(c, PID, 'g', true);
    await end(c, PID, 'h', true);
    expect([fetched(c, 'g', 0).offset, fetched(c, 'g', 1).offset, fetched(c, 'h', 0).offset]).toEqual([-1n, -1n, -1n]);
  });

  test('a TxnOffsetCommit whose batch cannot be written answers NOT_COORDINATOR and leaves nothing pending', async () => {
    const fs = countingFs();
    const c = await coordinator({}, undefined, { fs });
    await c.ensureOffsetsTopic();
    fs.fault = (op, file) => {
      if (op === 'writev' && file.includes('__consumer_offsets')) throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    };
    expect(await txnCommit(c, 'g', [offset(0, 7n)])).toEqual([ErrorCode.NOT_COORDINATOR]);
    expect(fetched(c, 'g', 0, true)).toEqual({ offset: -1n, errorCode: ErrorCode.NONE });
  });
});

describe('pending transactional offsets across a restart (they are transactional records in __consumer_offsets)', () => {
  test('offsets pending at a restart are pending after it, and the COMMIT marker written after it makes them current', async () => {
    const c = await coordinator();
    await c.commitOffsets('g', '', null, -1, [offset(0, 5n)]);
    await txnCommit(c, 'g', [offset(0, 9n), offset(1, 10n)]);
    const again = await reopen(c);
    expect(fetched(again, 'g', 0)).toEqual({ offset: 5n, errorCode: ErrorCode.NONE });
    expect(fetched(again, 'g', 0, true)).toEqual({ offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    await end(again, PID, 'g', true);
    expect([fetched(again, 'g', 0, true), fetched(again, 'g', 1, true)]).toEqual([
      { offset: 9n, errorCode: ErrorCode.NONE },
      { offset: 10n, errorCode: ErrorCode.NONE },
    ]);
    const third = await reopen(again);
    expect([fetched(third, 'g', 0).offset, fetched(third, 'g', 1).offset]).toEqual([9n, 10n]);
  });

  test('an ABORT marker after a restart drops them; an ordinary commit after the TxnOffsetCommit still wins at COMMIT', async () => {
    const c = await coordinator();
    await txnCommit(c, 'g', [offset(0, 9n)], 1n);
    await txnCommit(c, 'g', [offset(1, 9n)], 2n);
    await c.commitOffsets('g', '', null, -1, [offset(1, 20n)]);
    const again = await reopen(c);
    await end(again, 1n, 'g', false);
    await end(again, 2n, 'g', true);
    expect([fetched(again, 'g', 0, true), fetched(again, 'g', 1, true)]).toEqual([
      { offset: -1n, errorCode: ErrorCode.NONE },
      { offset: 20n, errorCode: ErrorCode.NONE },
    ]);
  });
});
