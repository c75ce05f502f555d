// The versions past Kafka 3.9 that modern clients take when offered (issue 12): Produce 12–13, Fetch 18,
// ListOffsets 10–11, Metadata 13, OffsetCommit/OffsetFetch 10, DescribeGroups 6, ConsumerGroupDescribe 1, over TCP
// against the in-process broker. EndTxn 5 and TxnOffsetCommit 5 (transactions v2) are in
// test/handlers/transactions-v2.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

const UNKNOWN_ID = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

async function createTopic(name: string, numPartitions = 1): Promise<Buffer> {
  const res = await client.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
  const md = await client.send(ApiKey.Metadata, 13, { topics: [{ name, topicId: Buffer.alloc(16) }] });
  return md.topics[0].topicId as Buffer;
}

function batchOf(count: number, prefix = 'v'): Buffer {
  return buildRecordBatch({
    baseTimestamp: 1_700_000_000_000n,
    records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, timestampDelta: i })),
  });
}

function produceById(topicId: Buffer, partition: number, records: Buffer, acks = -1) {
  return client.send(ApiKey.Produce, 13, { acks, timeoutMs: 5000, topicData: [{ topicId, partitionData: [{ index: partition, records }] }] });
}

function fetchById(topicId: Buffer, partition: number, fetchOffset: bigint, version = 18, partitionExtra: Record<string, unknown> = {}) {
  return client.send(ApiKey.Fetch, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topicId, partitions: [{ partition, fetchOffset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1, ...partitionExtra }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
}

describe('ApiVersions past Kafka 3.9', () => {
  it('advertises Produce 13, Fetch 18, ListOffsets 11, Metadata 13, OffsetCommit/OffsetFetch 10, DescribeGroups 6, ConsumerGroupDescribe 1, EndTxn 5', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'franz-go', clientSoftwareVersion: '1.21.5' });
    const max = (key: number) => res.apiKeys.find((k: { apiKey: number }) => k.apiKey === key)?.maxVersion;
    const keys = [ApiKey.Produce, ApiKey.Fetch, ApiKey.ListOffsets, ApiKey.Metadata, ApiKey.OffsetCommit, ApiKey.OffsetFetch, ApiKey.DescribeGroups, ApiKey.ConsumerGroupDescribe, ApiKey.EndTxn];
    expect(keys.map(max)).toEqual([13, 18, 11, 13, 10, 10, 6, 1, 5]);
    // transaction.version 2 finalized: clients use transactions v2 (transactions-v2.test.ts).
    expect(res.finalizedFeatures.map((f: { name: string }) => f.name)).toContain('transaction.version');
  });
});

describe('Produce v13 and Fetch v18 by topic id (KIP-516)', () => {
  it('appends to the topic named by its id and answers under that id; Fetch v18 reads the batch back', async () => {
    const topicId = await createTopic('by-id', 2);
    const batch = batchOf(3, 'a');
    const res = await produceById(topicId, 1, Buffer.from(batch));
    expect(res.responses).toHaveLength(1);
    expect(res.responses[0].topicId).toEqual(topicId);
    expect(res.responses[0].partitionResponses[0]).toMatchObject({ index: 1, errorCode: ErrorCode.NONE, baseOffset: 0n, logStartOffset: 0n });

    const f = await fetchById(topicId, 1, 0n);
    expect(f.errorCode).toBe(ErrorCode.NONE);
    expect(f.responses[0].topicId).toEqual(topicId);
    const p = f.responses[0].partitions[0];
    expect(p).toMatchObject({ partitionIndex: 1, errorCode: ErrorCode.NONE, highWatermark: 3n, lastStableOffset: 3n });
    // The batch as produced (base offset 0 already), byte for byte apart from the partition leader epoch the log
    // stamps on it (bytes 12–15, outside the CRC).
    const expected = Buffer.from(batch);
    expected.writeInt32BE(0, 12);
    expect(Buffer.compare(p.records, expected)).toBe(0);
  });

  it('an unknown topic id answers UNKNOWN_TOPIC_ID for each of its partitions and appends nothing', async () => {
    const known = await createTopic('known');
    const res = await client.send(ApiKey.Produce, 13, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [
        { topicId: UNKNOWN_ID, partitionData: [{ index: 0, records: batchOf(1) }, { index: 1, records: batchOf(1) }] },
        { topicId: known, partitionData: [{ index: 0, records: batchOf(2) }] },
      ],
    });
    expect(res.responses.map((t: { topicId: Buffer; partitionResponses: Array<{ index: number; errorCode: number; baseOffset: bigint }> }) => [
      t.topicId.toString('hex'),
      t.partitionResponses.map((p) => [p.index, p.errorCode, p.baseOffset]),
    ])).toEqual([
      [UNKNOWN_ID.toString('hex'), [[0, ErrorCode.UNKNOWN_TOPIC_ID, -1n], [1, ErrorCode.UNKNOWN_TOPIC_ID, -1n]]],
      [known.toString('hex'), [[0, ErrorCode.NONE, 0n]]],
    ]);
    // The zero id names no topic either.
    const zero = await produceById(Buffer.alloc(16), 0, batchOf(1));
    expect(zero.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('acks=0 with an unknown topic id closes the connection, as for any failed partition', async () => {
    client.sendNoResponse(ApiKey.Produce, 13, { acks: 0, timeoutMs: 5000, topicData: [{ topicId: UNKNOWN_ID, partitionData: [{ index: 0, records: batchOf(1) }] }] });
    await client.closed;
    expect(true).toBe(true);
  });

  it('Produce v12 names topics by name and answers as v11', async () => {
    await createTopic('v12');
    const res = await client.send(ApiKey.Produce, 12, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'v12', partitionData: [{ index: 0, records: batchOf(2) }] }] });
    expect(res.responses[0].name).toBe('v12');
    expect(res.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const missing = await client.send(ApiKey.Produce, 12, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'nope', partitionData: [{ index: 0, records: batchOf(1) }] }] });
    expect(missing.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('Fetch v18 ignores a partition high watermark a client sets (KIP-1166 is for followers) and answers as v17', async () => {
    const topicId = await createTopic('hw');
    await produceById(topicId, 0, batchOf(4));
    const v18 = await fetchById(topicId, 0, 2n, 18, { highWatermark: 1n });
    const v17 = await fetchById(topicId, 0, 2n, 17);
    expect(v18.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 4n });
    expect(v18.responses[0].partitions[0].records).toEqual(v17.responses[0].partitions[0].records);
    const unknown = await fetchById(UNKNOWN_ID, 0, 0n, 18);
    expect(unknown.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });
});

describe('ListOffsets v10 and Metadata v13', () => {
  it('ListOffsets v10 (KIP-1075) answers at once whatever TimeoutMs says: nothing is tiered', async () => {
    const topicId = await createTopic('lo');
    await produceById(topicId, 0, batchOf(5));
    const res = await client.send(ApiKey.ListOffsets, 10, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 1,
      topics: [{ name: 'lo', partitions: [
        { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n },
        { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n },
      ] }, { name: 'lo2', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -4n }, { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -6n }] }],
    });
    // The same partition twice is INVALID_REQUEST for both, as at v1+; a separate request reads them.
    expect(res.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
    // -6 (EARLIEST_PENDING_UPLOAD) is v11's: UNSUPPORTED_VERSION at v10.
    expect(res.topics[1].partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.UNSUPPORTED_VERSION]);
    const latest = await client.send(ApiKey.ListOffsets, 10, { replicaId: -1, isolationLevel: 0, timeoutMs: 30000, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(latest.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 5n, timestamp: -1n, leaderEpoch: 0 });
    const earliest = await client.send(ApiKey.ListOffsets, 10, { replicaId: -1, isolationLevel: 0, timeoutMs: 30000, topics: [{ name: 'lo', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] });
    expect(earliest.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 0n });
  });

  it('Metadata v13 answers the top-level error code NONE (KIP-1102) and otherwise as v12', async () => {
    const topicId = await createTopic('md', 2);
    const byName = await client.send(ApiKey.Metadata, 13, { topics: [{ name: 'md', topicId: Buffer.alloc(16) }, { name: 'absent', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
    expect(byName.errorCode).toBe(ErrorCode.NONE);
    expect(byName.topics.map((t: { name: string; errorCode: number; partitions: unknown[] }) => [t.name, t.errorCode, t.partitions.length])).toEqual([
      ['md', ErrorCode.NONE, 2],
      ['absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0],
    ]);
    const byId = await client.send(ApiKey.Metadata, 13, { topics: [{ name: null, topicId }, { name: null, topicId: UNKNOWN_ID }] });
    expect(byId.errorCode).toBe(ErrorCode.NONE);
    expect(byId.topics.map((t: { name: string | null; errorCode: number }) => [t.name, t.errorCode])).toEqual([
      [null, ErrorCode.UNKNOWN_TOPIC_ID],
      ['md', ErrorCode.NONE],
    ]);
    const v12 = await client.send(ApiKey.Metadata, 12, { topics: null });
    const v13 = await client.send(ApiKey.Metadata, 13, { topics: null });
    expect({ ...v13, errorCode: undefined }).toEqual({ ...v12, errorCode: undefined });
  });
});

describe('OffsetCommit and OffsetFetch v10 by topic id', () => {
  function commitById(groupId: string, topics: Array<{ topicId: Buffer; partitions: Array<[number, bigint]> }>) {
    return client.send(ApiKey.OffsetCommit, 10, {
      groupId,
      generationIdOrMemberEpoch: -1,
      memberId: '',
      topics: topics.map((t) => ({
        topicId: t.topicId,
        partitions: t.partitions.map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: 0, committedMetadata: 'm' })),
      })),
    });
  }

  it('commits by id, unknown ids answer UNKNOWN_TOPIC_ID, and the offsets are the topic name\'s offsets', async () => {
    const a = await createTopic('oa', 2);
    const res = await commitById('g10', [
      { topicId: a, partitions: [[0, 5n], [1, 7n], [2, 1n]] },
      { topicId: UNKNOWN_ID, partitions: [[0, 3n]] },
    ]);
    expect(res.topics.map((t: { topicId: Buffer; partitions: Array<{ partitionIndex: number; errorCode: number }> }) => [
      t.topicId.toString('hex'),
      t.partitions.map((p) => [p.partitionIndex, p.errorCode]),
    ])).toEqual([
      [a.toString('hex'), [[0, ErrorCode.NONE], [1, ErrorCode.NONE], [2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      [UNKNOWN_ID.toString('hex'), [[0, ErrorCode.UNKNOWN_TOPIC_ID]]],
    ]);
    // A v9 client reads them by name.
    const v9 = await client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'g10', memberId: null, memberEpoch: -1, topics: [{ name: 'oa', partitionIndexes: [0, 1] }] }], requireStable: false });
    expect(v9.groups[0].topics[0].partitions.map((p: { committedOffset: bigint }) => p.committedOffset)).toEqual([5n, 7n]);
  });

  it('a commit whose every topic id is unknown answers UNKNOWN_TOPIC_ID without asking the group', async () => {
    const res = await commitById('nobody', [{ topicId: UNKNOWN_ID, partitions: [[0, 1n], [1, 2n]] }]);
    expect(res.topics[0].partitions.map((p: { errorCode: number }) => p.errorCode)).toEqual([ErrorCode.UNKNOWN_TOPIC_ID, ErrorCode.UNKNOWN_TOPIC_ID]);
    const listed = await client.send(ApiKey.ListGroups, 4, { statesFilter: [] });
    expect(listed.groups.map((g: { groupId: string }) => g.groupId)).not.toContain('nobody');
  });

  it('OffsetFetch v10 answers named ids under the request\'s id, unknown ids UNKNOWN_TOPIC_ID after the others', async () => {
    const a = await createTopic('fa');
    const b = await createTopic('fb');
    await commitById('gf', [{ topicId: a, partitions: [[0, 11n]] }, { topicId: b, partitions: [[0, 22n]] }]);
    const res = await client.send(ApiKey.OffsetFetch, 10, {
      groups: [{ groupId: 'gf', memberId: null, memberEpoch: -1, topics: [{ topicId: UNKNOWN_ID, partitionIndexes: [0] }, { topicId: b, partitionIndexes: [0, 1] }] }],
      requireStable: false,
    });
    expect(res.groups[0].errorCode).toBe(ErrorCode.NONE);
    expect(res.groups[0].topics.map((t: { topicId: Buffer; partitions: Array<{ partitionIndex: number; committedOffset: bigint; errorCode: number }> }) => [
      t.topicId.toString('hex'),
      t.partitions.map((p) => [p.partitionIndex, p.committedOffset, p.errorCode]),
    ])).toEqual([
      [b.toString('hex'), [[0, 22n, ErrorCode.NONE], [1, -1n, ErrorCode.NONE]]],
      [UNKNOWN_ID.toString('hex'), [[0, -1n, ErrorCode.UNKNOWN_TOPIC_ID]]],
    ]);
  });

  it('OffsetFetch v10 for all topics answers each under its current id and leaves out deleted topics', async () => {
    const a = await createTopic('keep');
    const b = await createTopic('gone');
    await commitById('gall', [{ topicId: a, partitions: [[0, 4n]] }, { topicId: b, partitions: [[0, 9n]] }]);
    const del = await client.send(ApiKey.DeleteTopics, 6, { topics: [{ name: 'gone', topicId: Buffer.alloc(16) }], timeoutMs: 5000 });
    expect(del.responses[0].errorCode).toBe(ErrorCode.NONE);
    const v10 = await client.send(ApiKey.OffsetFetch, 10, { groups: [{ groupId: 'gall', memberId: null, memberEpoch: -1, topics: null }], requireStable: false });
    expect(v10.groups[0].topics.map((t: { topicId: Buffer; partitions: Array<{ committedOffset: bigint }> }) => [t.topicId.toString('hex'), t.partitions[0]!.committedOffset])).toEqual([
      [a.toString('hex'), 4n],
    ]);
    // A v9 reader still sees what the group holds by name.
    const v9 = await client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'gall', memberId: null, memberEpoch: -1, topics: null }], requireStable: false });
    expect(v9.groups[0].topics.map((t: { name: string }) => t.name).sort()).toContain('keep');
  });
});

describe('ListOffsets v11, DescribeGroups v6 and ConsumerGroupDescribe v1', () => {
  it('ListOffsets v11 answers -6 (EARLIEST_PENDING_UPLOAD, KIP-1023) with -1/-1/-1: nothing waits for tiered storage', async () => {
    const topicId = await createTopic('lo11');
    await produceById(topicId, 0, batchOf(3));
    const res = await client.send(ApiKey.ListOffsets, 11, {
      replicaId: -1,
      isolationLevel: 0,
      timeoutMs: 30000,
      topics: [{ name: 'lo11', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -6n }] }],
    });
    expect(res.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
    // A timestamp below -6 is still no timestamp Kafka knows.
    const below = await client.send(ApiKey.ListOffsets, 11, { replicaId: -1, isolationLevel: 0, timeoutMs: 30000, topics: [{ name: 'lo11', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -7n }] }] });
    expect(below.topics[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const latest = await client.send(ApiKey.ListOffsets, 11, { replicaId: -1, isolationLevel: 0, timeoutMs: 30000, topics: [{ name: 'lo11', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(latest.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 3n });
  });

  it('DescribeGroups v6 (KIP-1043) answers GROUP_ID_NOT_FOUND with a message for an unknown or a consumer-protocol group; v5 does not', async () => {
    await createTopic('dg6');
    const cg = await client.send(ApiKey.ConsumerGroupHeartbeat, 1, { groupId: 'dg6-consumer', memberId: 'm1', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['dg6'], topicPartitions: [] });
    expect(cg.errorCode).toBe(ErrorCode.NONE);
    const commit = await client.send(ApiKey.OffsetCommit, 8, { groupId: 'dg6-classic', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'dg6', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    expect(commit.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    const groups = ['dg6-absent', 'dg6-consumer', 'dg6-classic'];
    const v6 = await client.send(ApiKey.DescribeGroups, 6, { groups, includeAuthorizedOperations: false });
    expect(v6.groups.map((g: { groupId: string; errorCode: number; errorMessage: string | null; groupState: string }) => [g.groupId, g.errorCode, g.errorMessage, g.groupState])).toEqual([
      ['dg6-absent', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg6-absent not found.', 'Dead'],
      ['dg6-consumer', ErrorCode.GROUP_ID_NOT_FOUND, 'Group dg6-consumer is not a classic group.', 'Dead'],
      ['dg6-classic', ErrorCode.NONE, null, 'Empty'],
    ]);
    const v5 = await client.send(ApiKey.DescribeGroups, 5, { groups, includeAuthorizedOperations: false });
    expect(v5.groups.map((g: { errorCode: number; groupState: string }) => [g.errorCode, g.groupState])).toEqual([
      [ErrorCode.NONE, 'Dead'],
      [ErrorCode.NONE, 'Dead'],
      [ErrorCode.NONE, 'Empty'],
    ]);
  });

  it('ConsumerGroupDescribe v1 (KIP-1099) gives each member its type: 1 consumer protocol, 0 classic; a classic group is "not a consumer group"', async () => {
    await createTopic('cgd1');
    await client.send(ApiKey.ConsumerGroupHeartbeat, 1, { groupId: 'cgd1', memberId: 'consumer-member', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['cgd1'], topicPartitions: [] });
    const metadata = Buffer.from('000100000001000463676431ffffffff00000000', 'hex'); // ConsumerProtocolSubscription v1 of "cgd1"
    const joinFields = { groupId: 'cgd1', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, protocolType: 'consumer', protocols: [{ name: 'range', metadata }] };
    const first = await client.send(ApiKey.JoinGroup, 5, { ...joinFields, memberId: '' });
    const joined = await client.send(ApiKey.JoinGroup, 5, { ...joinFields, memberId: first.memberId });
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    const v1 = await client.send(ApiKey.ConsumerGroupDescribe, 1, { groupIds: ['cgd1', 'cgd1-absent'], includeAuthorizedOperations: false });
    const types = Object.fromEntries(v1.groups[0].members.map((m: { memberId: string; memberType: number }) => [m.memberId, m.memberType]));
    expect(types).toEqual({ 'consumer-member': 1, [joined.memberId]: 0 });
    expect(v1.groups[1]).toMatchObject({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: 'Group cgd1-absent not found.' });
    await client.send(ApiKey.OffsetCommit, 8, { groupId: 'cgd1-classic', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: 'cgd1', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    const classic = await client.send(ApiKey.ConsumerGroupDescribe, 1, { groupIds: ['cgd1-classic'], includeAuthorizedOperations: false });
    expect(classic.groups[0]).toMatchObject({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: 'Group cgd1-classic is not a consumer group.' });
    // v0 has no member type field: the same members, without it.
    const v0 = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['cgd1'], includeAuthorizedOperations: false });
    expect(v0.groups[0].members).toHaveLength(2);
  });
});
