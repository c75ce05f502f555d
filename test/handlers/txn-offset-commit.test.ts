// TxnOffsetCommit over a real socket: per-partition and group-level validation at each version, and pending
// transactional offsets as OffsetFetch sees them (invisible; UNSTABLE_OFFSET_COMMIT with require_stable, v7+).
// Completing the transaction (EndTxn and its marker) is covered in test/regressions/issue-9-txn-offsets.test.ts
// and, driven directly, in test/group/txn-offsets.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let c: TestClient;

beforeAll(async () => {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, offsetMetadataMaxBytes: 8 });
  c = await TestClient.connect(tb.port);
  const r = await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(r.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  c.close();
  await tb.stop();
});

type Codes = Array<[string, number, number]>;
const codesOf = (res: { topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; errorCode: number }> }> }): Codes =>
  res.topics.flatMap((t) => t.partitions.map((p): [string, number, number] => [t.name, p.partitionIndex, p.errorCode]));

const part = (partitionIndex: number, committedOffset: bigint, committedMetadata: string | null = 'md') => ({ partitionIndex, committedOffset, committedLeaderEpoch: 2, committedMetadata });

let nextProducerId = 9000n;
const txnOffsetCommit = (version: number, groupId: string, topics: unknown[], fields: Record<string, unknown> = {}) =>
  c.send(ApiKey.TxnOffsetCommit, version, { transactionalId: 'tx', groupId, producerId: nextProducerId++, producerEpoch: 0, topics, ...fields });

describe('TxnOffsetCommit validation', () => {
  test('an unknown topic or partition gets UNKNOWN_TOPIC_OR_PARTITION; the valid partitions of the request are accepted', async () => {
    const r = await txnOffsetCommit(3, 'val-topics', [
      { name: 't', partitions: [part(0, 5n), part(7, 1n), part(-1, 1n)] },
      { name: 'no-such-topic', partitions: [part(0, 1n)] },
    ]);
    expect(codesOf(r)).toEqual([
      ['t', 0, ErrorCode.NONE],
      ['t', 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['t', -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['no-such-topic', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
  });

  test('an empty group id gets INVALID_GROUP_ID on every partition, at v0 and v3', async () => {
    for (const version of [0, 3]) {
      const r = await txnOffsetCommit(version, '', [{ name: 't', partitions: [part(0, 1n), part(1, 1n)] }]);
      expect(codesOf(r)).toEqual([['t', 0, ErrorCode.INVALID_GROUP_ID], ['t', 1, ErrorCode.INVALID_GROUP_ID]]);
    }
  });

  test('metadata over offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE per partition; null metadata is accepted', async () => {
    const r = await txnOffsetCommit(2, 'val-metadata', [{ name: 't', partitions: [part(0, 1n, '123456789'), part(1, 1n, '12345678'), part(2, 1n, null)] }]);
    expect(codesOf(r)).toEqual([['t', 0, ErrorCode.OFFSET_METADATA_TOO_LARGE], ['t', 1, ErrorCode.NONE], ['t', 2, ErrorCode.NONE]]);
  });

  test('v3+ member checks against a real group: unknown member, stale generation, fenced instance; the current member is accepted', async () => {
    const member = await TestClient.connect(tb.port);
    try {
      const join = await member.send(ApiKey.JoinGroup, 5, {
        groupId: 'val-members', sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 30_000, memberId: '', groupInstanceId: 'inst-1', protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 0]) }],
      });
      expect(join.errorCode).toBe(ErrorCode.NONE);
      const sync = await member.send(ApiKey.SyncGroup, 3, { groupId: 'val-members', generationId: join.generationId, memberId: join.memberId, groupInstanceId: 'inst-1', assignments: [{ memberId: join.memberId, assignment: Buffer.alloc(0) }] });
      expect(sync.errorCode).toBe(ErrorCode.NONE);
      const topics = [{ name: 't', partitions: [part(0, 1n)] }];
      const code = async (version: number, fields: Record<string, unknown>) => codesOf(await txnOffsetCommit(version, 'val-members', topics, fields))[0]![2];
      expect(await code(3, { generationId: join.generationId, memberId: 'someone-else', groupInstanceId: null })).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
      expect(await code(3, { generationId: join.generationId + 1, memberId: join.memberId, groupInstanceId: 'inst-1' })).toBe(ErrorCode.ILLEGAL_GENERATION);
      expect(await code(4, { generationId: join.generationId, memberId: 'someone-else', groupInstanceId: 'inst-1' })).toBe(ErrorCode.FENCED_INSTANCE_ID);
      expect(await code(4, { generationId: join.generationId, memberId: join.memberId, groupInstanceId: 'inst-1' })).toBe(ErrorCode.NONE);
      // Without member fields (v0-2, or a v3 client that names only the group) the commit is accepted in a Stable group.
      expect(await code(3, { generationId: -1, memberId: '', groupInstanceId: null })).toBe(ErrorCode.NONE);
      expect(await code(1, {})).toBe(ErrorCode.NONE);
    } finally {
      member.close();
    }
  });

  test('a generation for a group that does not exist: the group is created Empty and the member is unknown', async () => {
    const r = await txnOffsetCommit(3, 'val-missing', [{ name: 't', partitions: [part(0, 1n)] }], { generationId: 4, memberId: 'm', groupInstanceId: null });
    expect(codesOf(r)).toEqual([['t', 0, ErrorCode.UNKNOWN_MEMBER_ID]]);
    const d = await c.send(ApiKey.DescribeGroups, 5, { groups: ['val-missing'], includeAuthorizedOperations: false });
    expect(d.groups[0]).toMatchObject({ groupId: 'val-missing', groupState: 'Empty', errorCode: 0 });
  });
});

describe('pending transactional offsets as OffsetFetch sees them', () => {
  test('a pending offset is invisible: OffsetFetch without require_stable answers the committed offset', async () => {
    await c.send(ApiKey.OffsetCommit, 8, { groupId: 'pend', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: 1, committedMetadata: 'plain' }] }] });
    const r = await txnOffsetCommit(3, 'pend', [{ name: 't', partitions: [part(0, 50n), part(1, 60n)] }]);
    expect(codesOf(r)).toEqual([['t', 0, 0], ['t', 1, 0]]);
    for (const version of [1, 5, 7]) {
      const f = await c.send(ApiKey.OffsetFetch, version, { groupId: 'pend', topics: [{ name: 't', partitionIndexes: [0, 1] }], requireStable: false });
      expect(f.topics[0].partitions.map((p: { committedOffset: bigint; errorCode: number }) => [p.committedOffset, p.errorCode])).toEqual([[3n, 0], [-1n, 0]]);
    }
    const all = await c.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId: 'pend', topics: null }], requireStable: false });
    // The codec fills v10's topicId with its default (the zero id) at every version.
    expect(all.groups[0].topics).toEqual([{ name: 't', topicId: Buffer.alloc(16), partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: 1, metadata: 'plain', errorCode: 0 }] }]);
  });

  test('require_stable (v7, v8, v9) answers UNSTABLE_OFFSET_COMMIT with offset -1 for pending partitions only', async () => {
    await txnOffsetCommit(3, 'stable', [{ name: 't', partitions: [part(1, 60n)] }]);
    await c.send(ApiKey.OffsetCommit, 8, { groupId: 'stable', generationIdOrMemberEpoch: -1, memberId: '', topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: 1, committedMetadata: 'plain' }] }] });
    const v7 = await c.send(ApiKey.OffsetFetch, 7, { groupId: 'stable', topics: [{ name: 't', partitionIndexes: [0, 1, 2] }], requireStable: true });
    expect(v7.errorCode).toBe(0);
    expect(v7.topics[0].partitions).toEqual([
      { partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: 1, metadata: 'plain', errorCode: 0 },
      { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT },
      { partitionIndex: 2, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
    ]);
    for (const version of [8, 9]) {
      const f = await c.send(ApiKey.OffsetFetch, version, { groups: [{ groupId: 'stable', topics: [{ name: 't', partitionIndexes: [1, 0] }] }, { groupId: 'pend', topics: [{ name: 't', partitionIndexes: [0, 1] }] }], requireStable: true });
      expect(f.groups.map((g: { groupId: string; topics: Array<{ partitions: Array<{ errorCode: number }> }> }) => [g.groupId, g.topics[0]!.partitions.map((p) => p.errorCode)])).toEqual([
        ['stable', [ErrorCode.UNSTABLE_OFFSET_COMMIT, 0]],
        ['pend', [ErrorCode.UNSTABLE_OFFSET_COMMIT, ErrorCode.UNSTABLE_OFFSET_COMMIT]],
      ]);
    }
  });
});
