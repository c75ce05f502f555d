// KIP-848 consumer groups over real sockets: ConsumerGroupHeartbeat joins, reconciliation with revocation before
// assignment, epoch fencing, static members, leaving, session expiry, regex subscriptions, new partitions, offset
// commits with member epochs, a restart, classic ↔ consumer conversion of empty groups and Kafka's answers to bad
// input. Mixed groups (classic members in consumer groups, the online upgrade and downgrade): consumer-group-mixed.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';


let tb: TestBroker;
let client: TestClient;

async function start(options: BrokerOptions = {}): Promise<void> {
  tb = await startTestBroker(options);
  client = await TestClient.connect(tb.port, 'cg-test');
}

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

interface Owned {
  topicId: Buffer;
  partitions: number[];
}

function hb(fields: Record<string, unknown>, version = 1, c: TestClient = client): Promise<any> {
  return c.send(ApiKey.ConsumerGroupHeartbeat, version, fields);
}

function join(groupId: string, topics: string[], extra: Record<string, unknown> = {}): Promise<any> {
  return hb({ groupId, memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: topics, topicPartitions: [], ...extra });
}

/** Sorted "hex:partition" strings of an answer's assignment (or of owned partitions). */
function parts(assignment: { topicPartitions: Owned[] } | Owned[] | null): string[] {
  if (assignment === null) return [];
  const list = Array.isArray(assignment) ? assignment : assignment.topicPartitions;
  return list.flatMap((t) => t.partitions.map((p) => `${t.topicId.toString('hex')}:${p}`)).sort();
}

function owned(keys: string[]): Owned[] {
  const byTopic = new Map<string, number[]>();
  for (const k of keys) {
    const [id, p] = k.split(':');
    byTopic.set(id!, [...(byTopic.get(id!) ?? []), Number(p)]);
  }
  return [...byTopic].map(([id, ps]) => ({ topicId: Buffer.from(id, 'hex'), partitions: ps }));
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 500; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('ConsumerGroupHeartbeat: joining and reconciling', () => {
  it('a first heartbeat creates the group, hands out a member id, epoch 1 and every partition', async () => {
    const t = await tb.broker.createTopic('orders', { partitions: 3 });
    const res = await join('g-join', ['orders']);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.memberId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(res.memberEpoch).toBe(1);
    expect(res.heartbeatIntervalMs).toBe(5000);
    expect(parts(res.assignment)).toEqual([0, 1, 2].map((p) => `${t.topicId}:${p}`));
    // A plain heartbeat with nothing changed carries no assignment.
    const again = await hb({ groupId: 'g-join', memberId: res.memberId, memberEpoch: 1 });
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(again.memberEpoch).toBe(1);
    expect(again.assignment).toBeNull();
  });

  it('keeps a member id the client generated (KIP-1082 clients send their own)', async () => {
    await tb.broker.createTopic('t', { partitions: 1 });
    const res = await join('g-own-id', ['t'], { memberId: 'client-made-id' });
    expect(res.memberId).toBe('client-made-id');
  });

  it('two members split the partitions, and a partition goes to the new member only after the old one revoked it', async () => {
    const t = await tb.broker.createTopic('split', { partitions: 4 });
    const a = await join('g-split', ['split']);
    expect(parts(a.assignment)).toHaveLength(4);
    const all = parts(a.assignment);

    const b = await join('g-split', ['split']);
    expect(b.memberEpoch).toBe(2);
    // B's target partitions are still held by A: B waits at the new epoch with nothing.
    expect(parts(b.assignment)).toEqual([]);

    // A still owns all four: it is asked to revoke two and stays at epoch 1 (UNREVOKED_PARTITIONS).
    const a2 = await hb({ groupId: 'g-split', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(all) });
    expect(a2.memberEpoch).toBe(1);
    const kept = parts(a2.assignment);
    expect(kept).toHaveLength(2);

    // While A has not acknowledged, B still gets nothing.
    const b2 = await hb({ groupId: 'g-split', memberId: b.memberId, memberEpoch: 2, topicPartitions: [] });
    expect(b2.errorCode).toBe(ErrorCode.NONE);
    expect(parts(b2.assignment)).toEqual([]);
    const a3 = await hb({ groupId: 'g-split', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(all) });
    expect(a3.memberEpoch).toBe(1);

    // A reports only the kept partitions: it moves to epoch 2, and B then receives the released two.
    const a4 = await hb({ groupId: 'g-split', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(kept) });
    expect(a4.memberEpoch).toBe(2);
    const b3 = await hb({ groupId: 'g-split', memberId: b.memberId, memberEpoch: 2, topicPartitions: [] });
    expect(b3.memberEpoch).toBe(2);
    const bParts = parts(b3.assignment);
    expect(bParts).toHaveLength(2);
    expect([...kept, ...bParts].sort()).toEqual([0, 1, 2, 3].map((p) => `${t.topicId}:${p}`));

    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-split'] });
    const g = d.groups[0];
    expect(g.errorCode).toBe(ErrorCode.NONE);
    expect(g.groupState).toBe('Stable');
    expect(g.groupEpoch).toBe(2);
    expect(g.assignmentEpoch).toBe(2);
    expect(g.assignorName).toBe('uniform');
    expect(g.members).toHaveLength(2);
    expect(g.members.every((m: any) => m.memberEpoch === 2 && m.assignment.topicPartitions[0].topicName === 'split')).toBe(true);
  });

  it('the range assignor gives contiguous ranges when the members ask for it', async () => {
    const t = await tb.broker.createTopic('ranged', { partitions: 4 });
    const a = await join('g-range', ['ranged'], { memberId: 'a', serverAssignor: 'range' });
    await join('g-range', ['ranged'], { memberId: 'b', serverAssignor: 'range' });
    const a2 = await hb({ groupId: 'g-range', memberId: 'a', memberEpoch: 1, topicPartitions: owned(parts(a.assignment)) });
    expect(parts(a2.assignment)).toEqual([`${t.topicId}:0`, `${t.topicId}:1`]);
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-range'] });
    expect(d.groups[0].assignorName).toBe('range');
  });
});

describe('ConsumerGroupHeartbeat: epochs, static members, leaving and expiry', () => {
  it('fences a member whose epoch is ahead, or behind and not the previous one (FENCED_MEMBER_EPOCH)', async () => {
    await tb.broker.createTopic('f', { partitions: 2 });
    const a = await join('g-fence', ['f']);
    const ahead = await hb({ groupId: 'g-fence', memberId: a.memberId, memberEpoch: 5 });
    expect(ahead.errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
    expect(ahead.errorMessage).toContain('greater member epoch');
    // Epoch 2 after a second member joins: the previous epoch (1) with owned ⊆ assignment is still accepted.
    await join('g-fence', ['f']);
    const a2 = await hb({ groupId: 'g-fence', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(parts(a.assignment)) });
    const a3 = await hb({ groupId: 'g-fence', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(parts(a2.assignment)) });
    expect(a3.memberEpoch).toBe(2);
    const lost = await hb({ groupId: 'g-fence', memberId: a.memberId, memberEpoch: 1, topicPartitions: owned(parts(a2.assignment)) });
    expect(lost.errorCode).toBe(ErrorCode.NONE);
    const stale = await hb({ groupId: 'g-fence', memberId: a.memberId, memberEpoch: 0 + 1, topicPartitions: owned([...parts(a.assignment)]) });
    expect(stale.errorCode).toBe(ErrorCode.FENCED_MEMBER_EPOCH);
  });

  it('a static member leaves with epoch -2 and its instance id rejoins under a new member id with its partitions', async () => {
    const t = await tb.broker.createTopic('s', { partitions: 2 });
    const first = await join('g-static', ['s'], { memberId: 'm1', instanceId: 'i1' });
    expect(first.memberEpoch).toBe(1);
    // The instance id is held while m1 has not left: another member id cannot take it.
    const taken = await join('g-static', ['s'], { memberId: 'm2', instanceId: 'i1' });
    expect(taken.errorCode).toBe(ErrorCode.UNRELEASED_INSTANCE_ID);
    const left = await hb({ groupId: 'g-static', memberId: 'm1', memberEpoch: -2, instanceId: 'i1' });
    expect(left.errorCode).toBe(ErrorCode.NONE);
    expect(left.memberEpoch).toBe(-2);
    const d1 = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-static'] });
    expect(d1.groups[0].members.map((m: any) => [m.memberId, m.memberEpoch])).toEqual([['m1', -2]]);

    const back = await join('g-static', ['s'], { memberId: 'm2', instanceId: 'i1' });
    expect(back.errorCode).toBe(ErrorCode.NONE);
    expect(back.memberId).toBe('m2');
    expect(back.memberEpoch).toBe(1);
    expect(parts(back.assignment)).toEqual([`${t.topicId}:0`, `${t.topicId}:1`]);
    const d2 = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-static'] });
    expect(d2.groups[0].members.map((m: any) => [m.memberId, m.instanceId])).toEqual([['m2', 'i1']]);
    // The old member id is gone; using the instance id with it is fenced.
    const old = await hb({ groupId: 'g-static', memberId: 'm1', memberEpoch: 1, instanceId: 'i1' });
    expect(old.errorCode).toBe(ErrorCode.FENCED_INSTANCE_ID);
  });

  it('a member leaving with epoch -1 bumps the group epoch and the other member takes its partitions', async () => {
    await tb.broker.createTopic('l', { partitions: 2 });
    const a = await join('g-leave', ['l'], { memberId: 'a' });
    const b = await join('g-leave', ['l'], { memberId: 'b' });
    let aOwned = parts(a.assignment);
    for (let i = 0; i < 3; i++) aOwned = parts((await hb({ groupId: 'g-leave', memberId: 'a', memberEpoch: 1, topicPartitions: owned(aOwned) })).assignment ?? { topicPartitions: owned(aOwned) });
    const left = await hb({ groupId: 'g-leave', memberId: 'b', memberEpoch: -1 });
    expect(left).toMatchObject({ errorCode: ErrorCode.NONE, memberId: 'b', memberEpoch: -1 });
    expect(b.errorCode).toBe(ErrorCode.NONE);
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-leave'] });
    expect(d.groups[0].members.map((m: any) => m.memberId)).toEqual(['a']);
    expect(d.groups[0].groupEpoch).toBe(3);
    const current = d.groups[0].members[0];
    const a2 = await hb({ groupId: 'g-leave', memberId: 'a', memberEpoch: current.memberEpoch, topicPartitions: owned(parts(current.assignment)) });
    expect(a2.memberEpoch).toBe(3);
    expect(parts(a2.assignment)).toHaveLength(2);
    // Leaving again: the member is unknown now.
    expect((await hb({ groupId: 'g-leave', memberId: 'b', memberEpoch: -1 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('a member that stops heartbeating is fenced after group.consumer.session.timeout.ms', async () => {
    client.close();
    await tb.stop();
    await start({ groupConsumerMinSessionTimeoutMs: 100, groupConsumerSessionTimeoutMs: 400 });
    await tb.broker.createTopic('e', { partitions: 2 });
    await join('g-expire', ['e'], { memberId: 'a' });
    await join('g-expire', ['e'], { memberId: 'quiet' });
    // `a` keeps heartbeating; `quiet` does not.
    const result = await waitFor('the quiet member to expire', async () => {
      const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-expire'] });
      const m = d.groups[0].members.find((x: any) => x.memberId === 'a');
      await hb({ groupId: 'g-expire', memberId: 'a', memberEpoch: m.memberEpoch, topicPartitions: owned(parts(m.assignment)) });
      return d.groups[0].members.length === 1 ? d.groups[0] : undefined;
    });
    expect(result.members[0].memberId).toBe('a');
    const a = await waitFor('a to own both partitions', async () => {
      const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-expire'] });
      const m = d.groups[0].members[0];
      const r = await hb({ groupId: 'g-expire', memberId: 'a', memberEpoch: m.memberEpoch, topicPartitions: owned(parts(m.assignment)) });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      return parts(m.assignment).length === 2 ? d.groups[0] : undefined;
    });
    expect(a).toMatchObject({ groupState: 'Stable', groupEpoch: 3 });
  });
});

describe('ConsumerGroupHeartbeat: subscriptions that change with the topics', () => {
  it('a regular expression (v1) subscribes to the whole-name matches and picks up a topic created later', async () => {
    const a = await tb.broker.createTopic('orders-a', { partitions: 1 });
    await tb.broker.createTopic('payments', { partitions: 1 });
    await tb.broker.createTopic('orders-archive-x', { partitions: 1 });
    const res = await hb({ groupId: 'g-regex', memberId: 'r', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicRegex: 'orders-[a-z]', topicPartitions: [] });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(parts(res.assignment)).toEqual([`${a.topicId}:0`]);
    const b = await tb.broker.createTopic('orders-b', { partitions: 2 });
    const next = await hb({ groupId: 'g-regex', memberId: 'r', memberEpoch: 1, topicPartitions: owned(parts(res.assignment)) });
    expect(next.memberEpoch).toBe(2);
    expect(parts(next.assignment)).toEqual([`${a.topicId}:0`, `${b.topicId}:0`, `${b.topicId}:1`].sort());
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-regex'] });
    expect(d.groups[0].members[0].subscribedTopicRegex).toBe('orders-[a-z]');
  });

  it('an expression RE2 rejects (unclosed group, lookahead, backreference, possessive, repeat over 1000) answers INVALID_REGULAR_EXPRESSION', async () => {
    for (const regex of ['orders-(', '(?=orders)x', '(a)\\1', 'orders-a++', 'a{1001}', '\\Z']) {
      const res = await hb({ groupId: 'g-bad-regex', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicRegex: regex, topicPartitions: [] });
      expect(res.errorCode).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
    }
  });

  it('partitions added to a subscribed topic bump the group epoch and are assigned at the next heartbeat', async () => {
    const t = await tb.broker.createTopic('grow', { partitions: 1 });
    const a = await join('g-grow', ['grow'], { memberId: 'a' });
    const cp = await client.send(ApiKey.CreatePartitions, 3, { topics: [{ name: 'grow', count: 3, assignments: null }], timeoutMs: 5000, validateOnly: false });
    expect(cp.results[0].errorCode).toBe(ErrorCode.NONE);
    const next = await hb({ groupId: 'g-grow', memberId: 'a', memberEpoch: 1, topicPartitions: owned(parts(a.assignment)) });
    expect(next.memberEpoch).toBe(2);
    expect(parts(next.assignment)).toEqual([0, 1, 2].map((p) => `${t.topicId}:${p}`));
  });
});

describe('offsets of consumer groups', () => {
  it('OffsetCommit v9 checks the member epoch: STALE_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION below v9', async () => {
    await tb.broker.createTopic('c', { partitions: 1 });
    const a = await join('g-commit', ['c'], { memberId: 'a' });
    const commit = (version: number, memberId: string, epoch: number, offset: bigint) =>
      client.send(ApiKey.OffsetCommit, version, {
        groupId: 'g-commit',
        generationIdOrMemberEpoch: epoch,
        memberId,
        topics: [{ name: 'c', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: null }] }],
      });
    expect((await commit(9, 'a', a.memberEpoch, 5n)).topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await commit(9, 'a', a.memberEpoch + 1, 6n)).topics[0].partitions[0].errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await commit(9, 'nobody', 1, 6n)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await commit(8, 'a', a.memberEpoch, 6n)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);

    const fetch = (memberId: string | null, memberEpoch: number) =>
      client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'g-commit', memberId, memberEpoch, topics: [{ name: 'c', partitionIndexes: [0] }] }], requireStable: true });
    const ok = await fetch('a', a.memberEpoch);
    expect(ok.groups[0].errorCode).toBe(ErrorCode.NONE);
    expect(ok.groups[0].topics[0].partitions[0].committedOffset).toBe(5n);
    expect((await fetch('a', a.memberEpoch + 3)).groups[0].errorCode).toBe(ErrorCode.STALE_MEMBER_EPOCH);
    expect((await fetch('nobody', 1)).groups[0].errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // An admin fetch (no member id, epoch -1) is always answered.
    expect((await fetch(null, -1)).groups[0].topics[0].partitions[0].committedOffset).toBe(5n);
  });

  it('a broker restart reloads the group from __consumer_offsets: members keep epoch and assignment', async () => {
    const t = await tb.broker.createTopic('r', { partitions: 2 });
    const a = await join('g-restart', ['r'], { memberId: 'a', instanceId: 'ia' });
    await client.send(ApiKey.OffsetCommit, 9, {
      groupId: 'g-restart',
      generationIdOrMemberEpoch: 1,
      memberId: 'a',
      topics: [{ name: 'r', partitions: [{ partitionIndex: 1, committedOffset: 42n, committedLeaderEpoch: -1, committedMetadata: 'm' }] }],
    });
    const dataDir = tb.dataDir;
    client.close();
    await tb.stop({ keepData: true });
    await start({ dataDir });
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-restart'] });
    const g = d.groups[0];
    expect(g).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Stable', groupEpoch: 1, assignmentEpoch: 1 });
    expect(g.members.map((m: any) => [m.memberId, m.instanceId, m.memberEpoch, m.clientId])).toEqual([['a', 'ia', 1, 'cg-test']]);
    expect(parts(g.members[0].assignment)).toEqual([`${t.topicId}:0`, `${t.topicId}:1`]);
    const again = await hb({ groupId: 'g-restart', memberId: 'a', memberEpoch: 1, instanceId: 'ia', topicPartitions: owned(parts(a.assignment)) });
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1 });
    const fetched = await client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'g-restart', memberId: 'a', memberEpoch: 1, topics: null }], requireStable: false });
    expect(fetched.groups[0].topics[0].partitions[0]).toMatchObject({ partitionIndex: 1, committedOffset: 42n, metadata: 'm' });
    const listed = await client.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['consumer'] });
    expect(listed.groups).toEqual([{ groupId: 'g-restart', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }]);
  });

  it('after a restart, a member loaded in UNREVOKED_PARTITIONS that keeps heartbeating without revoking is fenced after its rebalance timeout and the waiting member gets its partitions', async () => {
    const t = await tb.broker.createTopic('rv', { partitions: 2 });
    const all = [0, 1].map((p) => `${t.topicId}:${p}`);
    const a = await join('g-revoke-restart', ['rv'], { memberId: 'a', rebalanceTimeoutMs: 1500 });
    expect(parts(a.assignment)).toEqual(all);
    const b = await join('g-revoke-restart', ['rv'], { memberId: 'b' });
    expect(b.memberEpoch).toBe(2);
    // `a` still reports both partitions: it is asked to revoke one and stays at epoch 1 (UNREVOKED_PARTITIONS).
    const a2 = await hb({ groupId: 'g-revoke-restart', memberId: 'a', memberEpoch: 1, topicPartitions: owned(all) });
    expect(a2.memberEpoch).toBe(1);
    expect(parts(a2.assignment)).toHaveLength(1);

    const dataDir = tb.dataDir;
    client.close();
    await tb.stop({ keepData: true });
    await start({ dataDir });
    const loaded = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-revoke-restart'] });
    expect(loaded.groups[0].members.map((m: any) => [m.memberId, m.memberEpoch]).sort()).toEqual([['a', 1], ['b', 2]]);

    // Both keep heartbeating (the session timeout, 45 s, never runs out); `a` never gives its partition up.
    const fencedCode = await waitFor(
      'a to be fenced by its rebalance timeout',
      async () => {
        const r = await hb({ groupId: 'g-revoke-restart', memberId: 'a', memberEpoch: 1, topicPartitions: owned(all) });
        await hb({ groupId: 'g-revoke-restart', memberId: 'b', memberEpoch: 2, topicPartitions: [] });
        return r.errorCode === ErrorCode.NONE ? undefined : r.errorCode;
      },
      10000,
    );
    expect(fencedCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const g = await waitFor('b to own both partitions', async () => {
      const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-revoke-restart'] });
      const m = d.groups[0].members.find((x: any) => x.memberId === 'b');
      const r = await hb({ groupId: 'g-revoke-restart', memberId: 'b', memberEpoch: m.memberEpoch, topicPartitions: owned(parts(m.assignment)) });
      expect(r.errorCode).toBe(ErrorCode.NONE);
      return parts(m.assignment).length === 2 ? d.groups[0] : undefined;
    });
    expect(g.members.map((m: any) => m.memberId)).toEqual(['b']);
    expect(parts(g.members[0].assignment)).toEqual(all);
  });
});

describe('classic and consumer groups', () => {
  /** JoinGroup v5: MEMBER_ID_REQUIRED, then the join with the given member id (KIP-394). */
  async function classicJoin(groupId: string, protocols: Array<{ name: string; metadata: Buffer }>, protocolType = 'consumer'): Promise<any> {
    const fields = { groupId, sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, protocolType, protocols };
    const first = await client.send(ApiKey.JoinGroup, 5, { ...fields, memberId: '' });
    if (first.errorCode !== ErrorCode.MEMBER_ID_REQUIRED) return first;
    const j = await client.send(ApiKey.JoinGroup, 5, { ...fields, memberId: first.memberId });
    expect(j.errorCode).toBe(ErrorCode.NONE);
    return j;
  }

  async function classicJoinAndLeave(groupId: string): Promise<void> {
    const protocols = [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 99, 0, 0, 0, 0]) }];
    const j1 = await classicJoin(groupId, protocols);
    const s = await client.send(ApiKey.SyncGroup, 3, { groupId, generationId: j1.generationId, memberId: j1.memberId, assignments: [{ memberId: j1.memberId, assignment: Buffer.alloc(0) }] });
    expect(s.errorCode).toBe(ErrorCode.NONE);
    await client.send(ApiKey.OffsetCommit, 5, { groupId, generationIdOrMemberEpoch: j1.generationId, memberId: j1.memberId, topics: [{ name: 'c', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedLeaderEpoch: -1, committedMetadata: '' }] }] });
    const l = await client.send(ApiKey.LeaveGroup, 3, { groupId, members: [{ memberId: j1.memberId, groupInstanceId: null }] });
    expect(l.errorCode).toBe(ErrorCode.NONE);
  }

  it('an Empty classic group becomes a consumer group on the first ConsumerGroupHeartbeat and keeps its offsets', async () => {
    await tb.broker.createTopic('c', { partitions: 1 });
    await classicJoinAndLeave('g-convert');
    const before = await client.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    expect(before.groups).toEqual([{ groupId: 'g-convert', protocolType: 'consumer', groupState: 'Empty', groupType: 'classic' }]);
    const res = await join('g-convert', ['c'], { memberId: 'm' });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    const after = await client.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    expect(after.groups).toEqual([{ groupId: 'g-convert', protocolType: 'consumer', groupState: 'Stable', groupType: 'consumer' }]);
    expect((await client.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: ['classic'] })).groups).toEqual([]);
    const fetched = await client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'g-convert', memberId: 'm', memberEpoch: 1, topics: [{ name: 'c', partitionIndexes: [0] }] }], requireStable: false });
    expect(fetched.groups[0].topics[0].partitions[0].committedOffset).toBe(7n);
    // Kafka 3.9's DescribeGroups does not describe consumer groups: Dead, as for an unknown group.
    const described = await client.send(ApiKey.DescribeGroups, 5, { groups: ['g-convert'], includeAuthorizedOperations: false });
    expect(described.groups[0]).toMatchObject({ errorCode: ErrorCode.NONE, groupState: 'Dead', members: [] });
  });

  it('a classic group of another protocol type refuses ConsumerGroupHeartbeat; a consumer group with members refuses a JoinGroup of another protocol type', async () => {
    await tb.broker.createTopic('c', { partitions: 1 });
    const protocols = [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 99, 0, 0, 0, 0]) }];
    await classicJoin('g-classic', protocols, 'connect');
    expect((await join('g-classic', ['c'])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);

    await join('g-modern', ['c'], { memberId: 'm' });
    const refused = await client.send(ApiKey.JoinGroup, 5, { groupId: 'g-modern', sessionTimeoutMs: 10000, rebalanceTimeoutMs: 10000, memberId: '', protocolType: 'connect', protocols });
    expect(refused.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-classic', 'unknown-group'] });
    expect(d.groups.map((g: any) => g.errorCode)).toEqual([ErrorCode.GROUP_ID_NOT_FOUND, ErrorCode.GROUP_ID_NOT_FOUND]);
    expect((await client.send(ApiKey.DeleteGroups, 2, { groupsNames: ['g-modern'] })).results[0].errorCode).toBe(ErrorCode.NON_EMPTY_GROUP);

    // Once the last member leaves, the Empty consumer group gives way to a classic join.
    await hb({ groupId: 'g-modern', memberId: 'm', memberEpoch: -1 });
    const accepted = await classicJoin('g-modern', protocols);
    expect(accepted.errorCode).toBe(ErrorCode.NONE);
    expect((await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-modern'] })).groups[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });
});

describe('ConsumerGroupHeartbeat: bad input answers as Kafka does', () => {
  it('missing required fields on the first heartbeat are INVALID_REQUEST', async () => {
    const base = { groupId: 'g-bad', memberId: '', memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: ['x'], topicPartitions: [] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ rebalanceTimeoutMs: -1 }, 'RebalanceTimeoutMs must be provided in first request.'],
      [{ subscribedTopicNames: null }, 'SubscribedTopicNames or SubscribedTopicRegex must be set in first request.'],
      [{ subscribedTopicNames: [] }, 'SubscribedTopicNames or SubscribedTopicRegex must be set in first request.'],
      [{ topicPartitions: null }, 'TopicPartitions must be empty when (re-)joining.'],
      [{ groupId: '  ' }, "GroupId can't be empty."],
      [{ instanceId: '' }, "InstanceId can't be empty."],
      [{ memberEpoch: -3 }, 'MemberEpoch is invalid.'],
      [{ memberEpoch: 3 }, "MemberId can't be empty."],
    ];
    for (const [override, message] of cases) {
      const res = await hb({ ...base, ...override });
      expect(res.errorCode, message).toBe(ErrorCode.INVALID_REQUEST);
      expect(res.errorMessage).toBe(message);
    }
  });

  it('an unknown assignor, group, member or instance id gets Kafka\'s codes', async () => {
    await tb.broker.createTopic('x', { partitions: 1 });
    expect((await join('g-x', ['x'], { serverAssignor: 'sticky' })).errorCode).toBe(ErrorCode.UNSUPPORTED_ASSIGNOR);
    expect((await hb({ groupId: 'no-such-group', memberId: 'm', memberEpoch: 1 })).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    await join('g-x', ['x'], { memberId: 'a' });
    expect((await hb({ groupId: 'g-x', memberId: 'stranger', memberEpoch: 1 })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await hb({ groupId: 'g-x', memberId: 'a', memberEpoch: -2, instanceId: 'nope' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    // v0 has no regex field: the same checks apply.
    const v0 = await hb({ groupId: 'g-x', memberId: 'a', memberEpoch: 1 }, 0);
    expect(v0).toMatchObject({ errorCode: ErrorCode.NONE, memberEpoch: 1 });
  });

  it('group.consumer.max.size refuses a new member with GROUP_MAX_SIZE_REACHED', async () => {
    client.close();
    await tb.stop();
    await start({ groupConsumerMaxSize: 1 });
    await tb.broker.createTopic('x', { partitions: 1 });
    expect((await join('g-max', ['x'], { memberId: 'a' })).errorCode).toBe(ErrorCode.NONE);
    expect((await join('g-max', ['x'], { memberId: 'b' })).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
  });
});
