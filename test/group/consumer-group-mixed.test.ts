// Mixed groups as Kafka 4.0 defines them (src/group/consumer-group/classic-members.ts), over real sockets with raw
// requests: the online upgrade of a classic group with members when a consumer-protocol member joins, classic
// members inside a consumer group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup), the downgrade when the last
// consumer-protocol member leaves, group.consumer.migration.policy, and a restart of a mixed group.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { decodeConsumerProtocolAssignment, encodeConsumerProtocolAssignment } from '../../src/group/consumer-group/embedded-protocol.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;

async function start(options: BrokerOptions = {}): Promise<TestClient> {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, ...options });
  client = await TestClient.connect(tb.port, 'mixed-test');
  return client;
}

afterEach(async () => {
  client?.close();
  await tb?.stop();
  client = undefined;
  tb = undefined;
});

/** ConsumerProtocolSubscription v1: topics, null user data, owned partitions. */
function subscription(topics: string[], owned: Array<{ topic: string; partitions: number[] }> = []): Buffer {
  const parts: Buffer[] = [];
  const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  const str = (s: string) => Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)]);
  parts.push(i16(1), i32(topics.length), ...topics.map(str), i32(-1), i32(owned.length));
  for (const o of owned) parts.push(str(o.topic), i32(o.partitions.length), ...o.partitions.map(i32));
  return Buffer.concat(parts);
}

function protocols(topics: string[], owned: Array<{ topic: string; partitions: number[] }> = []) {
  return [{ name: 'range', metadata: subscription(topics, owned) }];
}

/** JoinGroup v5 with MEMBER_ID_REQUIRED handled (KIP-394). */
async function classicJoin(c: TestClient, groupId: string, topics: string[], memberId = '', owned: Array<{ topic: string; partitions: number[] }> = []): Promise<any> {
  const fields = { groupId, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, protocolType: 'consumer', protocols: protocols(topics, owned) };
  const first = await c.send(ApiKey.JoinGroup, 5, { ...fields, memberId });
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
  return c.send(ApiKey.JoinGroup, 5, { ...fields, memberId: first.memberId });
}

function syncGroup(c: TestClient, groupId: string, j: any, assignments: Array<{ memberId: string; assignment: Buffer }> = []): Promise<any> {
  return c.send(ApiKey.SyncGroup, 5, { groupId, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments });
}

function classicHeartbeat(c: TestClient, groupId: string, memberId: string, generationId: number): Promise<number> {
  return c.send(ApiKey.Heartbeat, 4, { groupId, generationId, memberId, groupInstanceId: null }).then((r: any) => r.errorCode);
}

function cghb(c: TestClient, fields: Record<string, unknown>): Promise<any> {
  return c.send(ApiKey.ConsumerGroupHeartbeat, 1, fields);
}

/** Sorted partitions of a SyncGroup answer's ConsumerProtocolAssignment. */
function syncedPartitions(res: any, topic: string): number[] {
  return (decodeConsumerProtocolAssignment(res.assignment).find((t) => t.topic === topic)?.partitions ?? []).sort((a, b) => a - b);
}

function cgPartitions(assignment: any): number[] {
  return (assignment?.topicPartitions ?? []).flatMap((t: any) => t.partitions).sort((a: number, b: number) => a - b);
}

async function listed(c: TestClient): Promise<any[]> {
  return (await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] })).groups;
}

/** A Stable classic group "g" of one member holding partitions 0–3 of "mix". */
async function stableClassicGroup(c: TestClient, groupId: string): Promise<any> {
  const j = await classicJoin(c, groupId, ['mix']);
  expect(j.errorCode).toBe(ErrorCode.NONE);
  const s = await syncGroup(c, groupId, j, [{ memberId: j.memberId, assignment: encodeConsumerProtocolAssignment(1, [{ topic: 'mix', partitions: [0, 1, 2, 3] }]) }]);
  expect(s.errorCode).toBe(ErrorCode.NONE);
  return j;
}

describe('online upgrade of a classic group (group.consumer.migration.policy)', () => {
  it('a consumer-protocol member joining a Stable classic group converts it; the classic member keeps its partitions until it rejoins', async () => {
    const c = await start();
    const topic = await tb!.broker.createTopic('mix', { partitions: 4 });
    const a = await stableClassicGroup(c, 'g-up');

    const b = await cghb(c, { groupId: 'g-up', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    expect(b.errorCode).toBe(ErrorCode.NONE);
    // The classic member still holds all four partitions: b gets none until they are revoked.
    expect(cgPartitions(b.assignment)).toEqual([]);
    expect(await listed(c)).toEqual([{ groupId: 'g-up', protocolType: 'consumer', groupState: 'Reconciling', groupType: 'consumer' }]);
    const described = (await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-up'] })).groups[0];
    expect(described.members.map((m: any) => m.memberId).sort()).toEqual([a.memberId, 'b'].sort());

    // The classic member is told to rejoin; its JoinGroup (owning nothing, as an eager client) revokes.
    expect(await classicHeartbeat(c, 'g-up', a.memberId, a.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await classicJoin(c, 'g-up', ['mix'], a.memberId);
    expect(rejoined).toMatchObject({ errorCode: ErrorCode.NONE, memberId: a.memberId, protocolName: 'range', leader: '', members: [] });
    expect(rejoined.generationId).toBe(described.groupEpoch);
    const synced = await syncGroup(c, 'g-up', rejoined);
    expect(synced.errorCode).toBe(ErrorCode.NONE);
    const aParts = syncedPartitions(synced, 'mix');
    expect(aParts).toHaveLength(2);
    expect(await classicHeartbeat(c, 'g-up', a.memberId, rejoined.generationId)).toBe(ErrorCode.NONE);

    const b2 = await cghb(c, { groupId: 'g-up', memberId: 'b', memberEpoch: b.memberEpoch, topicPartitions: [] });
    const bParts = cgPartitions(b2.assignment);
    expect(bParts).toHaveLength(2);
    expect([...aParts, ...bParts].sort()).toEqual([0, 1, 2, 3]);
    expect(b2.assignment.topicPartitions[0].topicId.toString('hex')).toBe(topic.topicId);
  });

  it('a JoinGroup waiting in a rebalance is answered REBALANCE_IN_PROGRESS by the upgrade', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    const a = await stableClassicGroup(c, 'g-wait');
    const other = await TestClient.connect(tb!.port, 'mixed-other');
    try {
      // A second classic member starts a rebalance; its JoinGroup waits for a to rejoin.
      const waiting = classicJoin(other, 'g-wait', ['mix']);
      await new Promise((r) => setTimeout(r, 200));
      const b = await cghb(c, { groupId: 'g-wait', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
      expect(b.errorCode).toBe(ErrorCode.NONE);
      expect((await waiting).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
      expect(a.errorCode).toBe(ErrorCode.NONE);
    } finally {
      other.close();
    }
  });

  it('policy disabled (or downgrade): the classic group refuses the consumer-protocol member with GROUP_ID_NOT_FOUND', async () => {
    for (const policy of ['disabled', 'downgrade'] as const) {
      const c = await start({ groupConsumerMigrationPolicy: policy });
      await tb!.broker.createTopic('mix', { partitions: 4 });
      await stableClassicGroup(c, 'g-policy');
      const b = await cghb(c, { groupId: 'g-policy', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
      expect(b.errorCode, policy).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      expect((await listed(c))[0].groupType).toBe('classic');
      client!.close();
      await tb!.stop();
    }
    tb = undefined;
    client = undefined;
  });
});

describe('classic members of a consumer group', () => {
  it('join, sync and heartbeat as Kafka 4.0: assigned by the broker, rejoin on REBALANCE_IN_PROGRESS, leave hands the partitions back', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 4 });
    const b = await cghb(c, { groupId: 'g-mixed', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    expect(cgPartitions(b.assignment)).toEqual([0, 1, 2, 3]);

    // JoinGroup v5 from a dynamic member without id: MEMBER_ID_REQUIRED first, then the member joins.
    const first = await c.send(ApiKey.JoinGroup, 5, { groupId: 'g-mixed', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'consumer', protocols: protocols(['mix']) });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const j = await classicJoin(c, 'g-mixed', ['mix'], first.memberId);
    expect(j).toMatchObject({ errorCode: ErrorCode.NONE, memberId: first.memberId, leader: '' });
    // b still holds everything, so the classic member gets nothing yet and must come back.
    const s1 = await syncGroup(c, 'g-mixed', j);
    expect(s1.errorCode).toBe(ErrorCode.NONE);
    expect(syncedPartitions(s1, 'mix')).toEqual([]);
    expect(await classicHeartbeat(c, 'g-mixed', j.memberId, j.generationId + 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(await classicHeartbeat(c, 'g-mixed', 'nobody', j.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await classicHeartbeat(c, 'g-mixed', 'b', b.memberEpoch)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);

    // b revokes two partitions (heartbeat reporting what it still owns).
    const revoke = await cghb(c, { groupId: 'g-mixed', memberId: 'b', memberEpoch: b.memberEpoch, topicPartitions: b.assignment.topicPartitions });
    const kept = cgPartitions(revoke.assignment);
    expect(kept).toHaveLength(2);
    const acked = await cghb(c, {
      groupId: 'g-mixed',
      memberId: 'b',
      memberEpoch: revoke.memberEpoch,
      topicPartitions: [{ topicId: b.assignment.topicPartitions[0].topicId, partitions: kept }],
    });
    expect(acked.errorCode).toBe(ErrorCode.NONE);

    // The classic member learns it may now collect its partitions: it rejoins and syncs.
    expect(await classicHeartbeat(c, 'g-mixed', j.memberId, j.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const j2 = await classicJoin(c, 'g-mixed', ['mix'], j.memberId);
    const s2 = await syncGroup(c, 'g-mixed', j2);
    expect(syncedPartitions(s2, 'mix')).toEqual([0, 1, 2, 3].filter((p) => !kept.includes(p)));
    expect(await classicHeartbeat(c, 'g-mixed', j.memberId, j2.generationId)).toBe(ErrorCode.NONE);
    // A classic member commits with its generation (ILLEGAL_GENERATION otherwise), as Kafka's validateOffsetCommit.
    const commit = (gen: number) =>
      c.send(ApiKey.OffsetCommit, 5, { groupId: 'g-mixed', generationIdOrMemberEpoch: gen, memberId: j.memberId, topics: [{ name: 'mix', partitions: [{ partitionIndex: 0, committedOffset: 3n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    expect((await commit(j2.generationId)).topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await commit(j2.generationId - 1)).topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);

    // A wrong protocol name in SyncGroup is INCONSISTENT_GROUP_PROTOCOL.
    const wrong = await c.send(ApiKey.SyncGroup, 5, { groupId: 'g-mixed', generationId: j2.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    expect(wrong.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    // LeaveGroup removes the classic member; b takes all four partitions at its next heartbeat.
    const left = await c.send(ApiKey.LeaveGroup, 4, { groupId: 'g-mixed', members: [{ memberId: j.memberId, groupInstanceId: null }] });
    expect(left.members).toEqual([{ memberId: j.memberId, groupInstanceId: null, errorCode: ErrorCode.NONE }]);
    const after = await cghb(c, { groupId: 'g-mixed', memberId: 'b', memberEpoch: acked.memberEpoch, topicPartitions: acked.assignment?.topicPartitions ?? [{ topicId: b.assignment.topicPartitions[0].topicId, partitions: kept }] });
    expect(cgPartitions(after.assignment)).toEqual([0, 1, 2, 3]);
    const d = (await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-mixed'] })).groups[0];
    expect(d.members.map((m: any) => m.memberId)).toEqual(['b']);
  });

  it('a classic member of another protocol type, or with protocols the others lack, is INCONSISTENT_GROUP_PROTOCOL', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    await cghb(c, { groupId: 'g-proto', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    const j = await classicJoin(c, 'g-proto', ['mix']);
    expect(j.errorCode).toBe(ErrorCode.NONE);
    const other = await c.send(ApiKey.JoinGroup, 5, { groupId: 'g-proto', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: 'x', protocolType: 'consumer', protocols: [{ name: 'roundrobin', metadata: subscription(['mix']) }] });
    expect(other.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });
});

describe('online downgrade when the last consumer-protocol member leaves', () => {
  it('the classic members form a classic group again, rebalance and keep consuming as a classic group', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    const b = await cghb(c, { groupId: 'g-down', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    const j = await classicJoin(c, 'g-down', ['mix']);
    expect(j.errorCode).toBe(ErrorCode.NONE);
    await c.send(ApiKey.OffsetCommit, 9, { groupId: 'g-down', generationIdOrMemberEpoch: b.memberEpoch, memberId: 'b', topics: [{ name: 'mix', partitions: [{ partitionIndex: 1, committedOffset: 11n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });

    const left = await cghb(c, { groupId: 'g-down', memberId: 'b', memberEpoch: -1 });
    expect(left.errorCode).toBe(ErrorCode.NONE);
    expect(await listed(c)).toEqual([{ groupId: 'g-down', protocolType: 'consumer', groupState: 'PreparingRebalance', groupType: 'classic' }]);
    expect((await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-down'] })).groups[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);

    // The classic member, told to rejoin, completes the classic rebalance as its leader.
    expect(await classicHeartbeat(c, 'g-down', j.memberId, j.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await classicJoin(c, 'g-down', ['mix'], j.memberId);
    expect(rejoined).toMatchObject({ errorCode: ErrorCode.NONE, leader: j.memberId, memberId: j.memberId });
    expect(rejoined.generationId).toBeGreaterThan(j.generationId);
    const s = await syncGroup(c, 'g-down', rejoined, [{ memberId: j.memberId, assignment: encodeConsumerProtocolAssignment(1, [{ topic: 'mix', partitions: [0, 1] }]) }]);
    expect(syncedPartitions(s, 'mix')).toEqual([0, 1]);
    expect(await listed(c)).toEqual([{ groupId: 'g-down', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }]);
    // The group's committed offsets survive both conversions.
    const fetched = await c.send(ApiKey.OffsetFetch, 5, { groupId: 'g-down', topics: [{ name: 'mix', partitionIndexes: [1] }], requireStable: false });
    expect(fetched.topics[0].partitions[0].committedOffset).toBe(11n);
  });

  it('the downgrade is durable: after a restart the classic group is loaded with the classic member, the consumer group is gone', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    await cghb(c, { groupId: 'g-down2', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    const j = await classicJoin(c, 'g-down2', ['mix']);
    await cghb(c, { groupId: 'g-down2', memberId: 'b', memberEpoch: -1 });
    const dataDir = tb!.dataDir;
    c.close();
    await tb!.stop({ keepData: true });
    const c2 = await start({ dataDir });
    expect(await listed(c2)).toEqual([{ groupId: 'g-down2', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }]);
    expect((await c2.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-down2'] })).groups[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const d = (await c2.send(ApiKey.DescribeGroups, 5, { groups: ['g-down2'], includeAuthorizedOperations: false })).groups[0];
    expect(d.members.map((m: any) => m.memberId)).toEqual([j.memberId]);
    // The classic generation is the consumer group's epoch at the downgrade (the leave does not bump it), which is
    // j's member epoch: its generation still holds.
    expect(await classicHeartbeat(c2, 'g-down2', j.memberId, j.generationId)).toBe(ErrorCode.NONE);
  });

  it('with policy upgrade the group stays a consumer group of classic members', async () => {
    const c = await start({ groupConsumerMigrationPolicy: 'upgrade' });
    await tb!.broker.createTopic('mix', { partitions: 2 });
    await cghb(c, { groupId: 'g-stay', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    await classicJoin(c, 'g-stay', ['mix']);
    await cghb(c, { groupId: 'g-stay', memberId: 'b', memberEpoch: -1 });
    const groups = await listed(c);
    expect(groups).toHaveLength(1);
    expect(groups[0].groupType).toBe('consumer');
  });
});

describe('a mixed group across a restart', () => {
  it('reloads the classic member with its JoinGroup metadata: it heartbeats and syncs at its generation', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    await stableClassicGroup(c, 'g-reload');
    const j = (await c.send(ApiKey.DescribeGroups, 5, { groups: ['g-reload'], includeAuthorizedOperations: false })).groups[0].members[0];
    const b = await cghb(c, { groupId: 'g-reload', memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    const rejoined = await classicJoin(c, 'g-reload', ['mix'], j.memberId);
    expect(rejoined.errorCode).toBe(ErrorCode.NONE);
    const dataDir = tb!.dataDir;
    c.close();
    await tb!.stop({ keepData: true });
    const c2 = await start({ dataDir });
    const d = (await c2.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-reload'] })).groups[0];
    expect(d.members.map((m: any) => m.memberId).sort()).toEqual([j.memberId, 'b'].sort());
    const synced = await syncGroup(c2, 'g-reload', rejoined);
    expect(synced.errorCode).toBe(ErrorCode.NONE);
    expect([ErrorCode.NONE, ErrorCode.REBALANCE_IN_PROGRESS]).toContain(await classicHeartbeat(c2, 'g-reload', j.memberId, rejoined.generationId));
    expect(b.errorCode).toBe(ErrorCode.NONE);
  });
});

/** Classic Heartbeat every 100 ms until it answers `code` (or 3 s pass); returns the last answer. */
async function heartbeatUntil(c: TestClient, groupId: string, memberId: string, generationId: number, code: number): Promise<number> {
  const deadline = Date.now() + 3000;
  let last = await classicHeartbeat(c, groupId, memberId, generationId);
  while (last !== code && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 100));
    last = await classicHeartbeat(c, groupId, memberId, generationId);
  }
  return last;
}

async function consumerGroupMembers(c: TestClient, groupId: string): Promise<string[]> {
  return (await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId] })).groups[0].members.map((m: any) => m.memberId).sort();
}

/** JoinGroup v5 of a classic member with its own timeouts (MEMBER_ID_REQUIRED handled). */
async function timedClassicJoin(c: TestClient, groupId: string, rebalanceTimeoutMs: number, memberId = ''): Promise<any> {
  const fields = { groupId, sessionTimeoutMs: 30000, rebalanceTimeoutMs, protocolType: 'consumer', protocols: protocols(['mix']) };
  const first = await c.send(ApiKey.JoinGroup, 5, { ...fields, memberId });
  if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
  return c.send(ApiKey.JoinGroup, 5, { ...fields, memberId: first.memberId });
}

describe("classic members' join and sync timeouts (Kafka 4.0: their rebalance timeout)", () => {
  it('a member that never sends SyncGroup after its JoinGroup is fenced; one that syncs stays while its session lives', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    for (const groupId of ['g-nosync', 'g-sync']) {
      const b = await cghb(c, { groupId, memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
      expect(b.errorCode).toBe(ErrorCode.NONE);
    }
    const silent = await timedClassicJoin(c, 'g-nosync', 300);
    const prompt = await timedClassicJoin(c, 'g-sync', 300);
    expect((await syncGroup(c, 'g-sync', prompt)).errorCode).toBe(ErrorCode.NONE);

    // Heartbeats keep both sessions alive; only the member that never synced is fenced after 300 ms.
    expect(await heartbeatUntil(c, 'g-nosync', silent.memberId, silent.generationId, ErrorCode.UNKNOWN_MEMBER_ID)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await consumerGroupMembers(c, 'g-nosync')).toEqual(['b']);
    // The prompt member waits for b's partitions (nothing to rejoin for): NONE throughout, and it is still there.
    expect(await heartbeatUntil(c, 'g-sync', prompt.memberId, prompt.generationId, ErrorCode.UNKNOWN_MEMBER_ID)).toBe(ErrorCode.NONE);
    expect(await consumerGroupMembers(c, 'g-sync')).toEqual(['b', prompt.memberId].sort());
  });

  it('a member told to rejoin that does not send JoinGroup within its rebalance timeout is fenced; one that rejoins stays', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    const joined: Record<string, any> = {};
    for (const groupId of ['g-norejoin', 'g-rejoin']) {
      await cghb(c, { groupId, memberId: 'b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
      joined[groupId] = await timedClassicJoin(c, groupId, 300);
      expect((await syncGroup(c, groupId, joined[groupId])).errorCode).toBe(ErrorCode.NONE);
      // A new consumer-protocol member bumps the group epoch: the classic member must rejoin.
      await cghb(c, { groupId, memberId: 'c', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
      expect(await classicHeartbeat(c, groupId, joined[groupId].memberId, joined[groupId].generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    const stale = joined['g-norejoin'];
    expect(await heartbeatUntil(c, 'g-norejoin', stale.memberId, stale.generationId, ErrorCode.UNKNOWN_MEMBER_ID)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await consumerGroupMembers(c, 'g-norejoin')).toEqual(['b', 'c']);

    const rejoined = await timedClassicJoin(c, 'g-rejoin', 300, joined['g-rejoin'].memberId);
    expect(rejoined.errorCode).toBe(ErrorCode.NONE);
    expect((await syncGroup(c, 'g-rejoin', rejoined)).errorCode).toBe(ErrorCode.NONE);
    expect(await heartbeatUntil(c, 'g-rejoin', rejoined.memberId, rejoined.generationId, ErrorCode.UNKNOWN_MEMBER_ID)).not.toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect(await consumerGroupMembers(c, 'g-rejoin')).toEqual(['b', 'c', rejoined.memberId].sort());
  });
});

describe('online downgrade by static member replacement', () => {
  it('a classic static member replacing the last consumer-protocol member downgrades the group, takes its partitions, no rebalance', async () => {
    const c = await start();
    await tb!.broker.createTopic('mix', { partitions: 2 });
    const b = await cghb(c, { groupId: 'g-replace', memberId: 'b', instanceId: 'instance-b', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['mix'], topicPartitions: [] });
    expect(cgPartitions(b.assignment)).toEqual([0, 1]);
    const x = await classicJoin(c, 'g-replace', ['mix']);
    expect((await syncGroup(c, 'g-replace', x)).errorCode).toBe(ErrorCode.NONE);

    // b leaves for a moment as a static member (epoch -2), and comes back as a classic client with the same instance.
    expect((await cghb(c, { groupId: 'g-replace', memberId: 'b', instanceId: 'instance-b', memberEpoch: -2 })).errorCode).toBe(ErrorCode.NONE);
    const replacement = await c.send(ApiKey.JoinGroup, 5, {
      groupId: 'g-replace', sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, memberId: '', groupInstanceId: 'instance-b', protocolType: 'consumer', protocols: protocols(['mix']),
    });
    expect(replacement.errorCode).toBe(ErrorCode.NONE);
    expect(replacement.memberId).not.toBe('b');

    expect(await listed(c)).toEqual([{ groupId: 'g-replace', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }]);
    expect((await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-replace'] })).groups[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const d = (await c.send(ApiKey.DescribeGroups, 5, { groups: ['g-replace'], includeAuthorizedOperations: false })).groups[0];
    expect(d.members.map((m: any) => m.memberId).sort()).toEqual([replacement.memberId, x.memberId].sort());
    // The replacement syncs into b's target partitions (x's JoinGroup gave x one of them), x into its own; the
    // group carries on at its generation without a rebalance.
    const synced = await c.send(ApiKey.SyncGroup, 5, { groupId: 'g-replace', generationId: replacement.generationId, memberId: replacement.memberId, groupInstanceId: 'instance-b', protocolType: 'consumer', protocolName: 'range', assignments: [] });
    expect(synced.errorCode).toBe(ErrorCode.NONE);
    const xSynced = await syncGroup(c, 'g-replace', { ...x, generationId: replacement.generationId });
    expect(xSynced.errorCode).toBe(ErrorCode.NONE);
    expect(syncedPartitions(synced, 'mix')).toHaveLength(1);
    expect([...syncedPartitions(synced, 'mix'), ...syncedPartitions(xSynced, 'mix')].sort()).toEqual([0, 1]);
    expect(await classicHeartbeat(c, 'g-replace', x.memberId, replacement.generationId)).toBe(ErrorCode.NONE);
    expect(await classicHeartbeat(c, 'g-replace', replacement.memberId, replacement.generationId)).toBe(ErrorCode.NONE);
  });
});
