// Group membership APIs over a real socket, with bad input: each gets Kafka's error code, nothing crashes, and a
// healthy group on another connection is undisturbed throughout.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let healthy: TestClient;
let healthyMember: { memberId: string; generationId: number };

const protocols = [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 0]) }];
const join = (client: TestClient, version: number, fields: Record<string, unknown>) =>
  client.send(version >= 0 ? ApiKey.JoinGroup : 0, version, { sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, protocolType: 'consumer', protocols, ...fields });

beforeAll(async () => {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, socketRequestMaxBytes: 1 << 20 });
  healthy = await TestClient.connect(tb.port);
  const j = await join(healthy, 5, { groupId: 'healthy', groupInstanceId: 'h-1' });
  expect(j.errorCode).toBe(0);
  const s = await healthy.send(ApiKey.SyncGroup, 3, { groupId: 'healthy', generationId: j.generationId, memberId: j.memberId, groupInstanceId: 'h-1', assignments: [{ memberId: j.memberId, assignment: Buffer.from('A') }] });
  expect(s.errorCode).toBe(0);
  healthyMember = { memberId: j.memberId, generationId: j.generationId };
});

afterAll(async () => {
  healthy.close();
  await tb.stop();
});

async function expectHealthyUndisturbed(): Promise<void> {
  const hb = await healthy.send(ApiKey.Heartbeat, 3, { groupId: 'healthy', generationId: healthyMember.generationId, memberId: healthyMember.memberId, groupInstanceId: 'h-1' });
  expect(hb.errorCode).toBe(ErrorCode.NONE);
}

describe('JoinGroup', () => {
  test('an empty protocol list or protocol type gets INCONSISTENT_GROUP_PROTOCOL (v0, v5, v9)', async () => {
    const c = await TestClient.connect(tb.port);
    for (const v of [0, 5, 9]) {
      const r = await join(c, v, { groupId: `bad-${v}`, protocols: [] });
      expect(r.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
      expect(r.generationId).toBe(-1);
      expect(r.protocolName).toBe(v >= 7 ? null : '');
      expect((await join(c, v, { groupId: `bad-${v}`, protocolType: '' })).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    c.close();
    await expectHealthyUndisturbed();
  });

  test('a large protocol list is accepted as opaque data; a frame over socket.request.max.bytes closes only that connection', async () => {
    const c = await TestClient.connect(tb.port);
    const many = Array.from({ length: 500 }, (_, i) => ({ name: `p${i}`, metadata: Buffer.alloc(1000, i) }));
    const first = await join(c, 4, { groupId: 'big', protocols: many });
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    const r = await join(c, 4, { groupId: 'big', memberId: first.memberId, protocols: many });
    expect(r.errorCode).toBe(ErrorCode.NONE);
    expect(r.protocolName).toBe('p0');
    expect(r.members[0].metadata).toEqual(many[0]!.metadata);
    const huge = Array.from({ length: 2000 }, (_, i) => ({ name: `p${i}`, metadata: Buffer.alloc(1000) }));
    const tooBig = await TestClient.connect(tb.port);
    await expect(join(tooBig, 4, { groupId: 'huge', protocols: huge })).rejects.toThrow(/connection closed/);
    c.close();
    await expectHealthyUndisturbed();
  });

  test('INVALID_GROUP_ID for an empty group id, INVALID_SESSION_TIMEOUT outside group.min/max.session.timeout.ms', async () => {
    const c = await TestClient.connect(tb.port);
    expect((await join(c, 2, { groupId: '' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await join(c, 2, { groupId: 'g', sessionTimeoutMs: 1000 })).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    c.close();
  });
});

describe('SyncGroup, Heartbeat, LeaveGroup', () => {
  test('a SyncGroup from a non-leader carrying assignments is ignored: it gets what the leader assigned', async () => {
    const leader = await TestClient.connect(tb.port);
    const follower = await TestClient.connect(tb.port);
    const a = await join(leader, 5, { groupId: 'sync-g', groupInstanceId: 'L' });
    const syncA = await leader.send(ApiKey.SyncGroup, 3, { groupId: 'sync-g', generationId: a.generationId, memberId: a.memberId, groupInstanceId: 'L', assignments: [{ memberId: a.memberId, assignment: Buffer.from('solo') }] });
    expect(syncA.errorCode).toBe(0);
    // b joins; the leader rejoins; generation 2.
    const bJoin = join(follower, 5, { groupId: 'sync-g', groupInstanceId: 'F' });
    const aJoin = join(leader, 5, { groupId: 'sync-g', groupInstanceId: 'L', memberId: a.memberId });
    const [a2, b2] = await Promise.all([aJoin, bJoin]);
    expect(a2.leader).toBe(a.memberId);
    expect(b2.members).toEqual([]);
    const bSync = follower.send(ApiKey.SyncGroup, 5, { groupId: 'sync-g', generationId: b2.generationId, memberId: b2.memberId, groupInstanceId: 'F', protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: b2.memberId, assignment: Buffer.from('grab everything') }, { memberId: a.memberId, assignment: Buffer.from('nothing') }] });
    const aSync = leader.send(ApiKey.SyncGroup, 5, { groupId: 'sync-g', generationId: a2.generationId, memberId: a.memberId, groupInstanceId: 'L', protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: a.memberId, assignment: Buffer.from('A') }, { memberId: b2.memberId, assignment: Buffer.from('B') }] });
    const [ra, rb] = await Promise.all([aSync, bSync]);
    expect(ra).toMatchObject({ errorCode: 0, protocolType: 'consumer', protocolName: 'range' });
    expect(ra.assignment.toString()).toBe('A');
    expect(rb.assignment.toString()).toBe('B');
    // SyncGroup v5 without protocol type/name: INCONSISTENT_GROUP_PROTOCOL.
    const missing = await leader.send(ApiKey.SyncGroup, 5, { groupId: 'sync-g', generationId: a2.generationId, memberId: a.memberId, groupInstanceId: 'L', assignments: [] });
    expect(missing.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // Batched LeaveGroup (v3+): both members, one unknown.
    const left = await leader.send(ApiKey.LeaveGroup, 4, { groupId: 'sync-g', members: [
      { memberId: a.memberId, groupInstanceId: 'L' },
      { memberId: b2.memberId, groupInstanceId: 'F' },
      { memberId: 'ghost', groupInstanceId: null },
    ] });
    expect(left.errorCode).toBe(0);
    expect(left.members.map((m: { errorCode: number }) => m.errorCode)).toEqual([0, 0, ErrorCode.UNKNOWN_MEMBER_ID]);
    leader.close();
    follower.close();
    await expectHealthyUndisturbed();
  });

  test('a heartbeat for an unknown group gets UNKNOWN_MEMBER_ID; a LeaveGroup v0 for one too (top-level code)', async () => {
    const c = await TestClient.connect(tb.port);
    for (const v of [0, 3, 4]) {
      expect((await c.send(ApiKey.Heartbeat, v, { groupId: 'no-such-group', generationId: 1, memberId: 'm' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    expect((await c.send(ApiKey.Heartbeat, 0, { groupId: '', generationId: 1, memberId: 'm' })).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await c.send(ApiKey.LeaveGroup, 0, { groupId: 'no-such-group', memberId: 'm' })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    c.close();
    await expectHealthyUndisturbed();
  });
});

describe('FindCoordinator', () => {
  test('group and transaction keys name this broker (v0–3 single key, v4+ batched); unknown key types INVALID_REQUEST', async () => {
    const c = await TestClient.connect(tb.port);
    const v0 = await c.send(ApiKey.FindCoordinator, 0, { key: 'g' });
    expect(v0).toMatchObject({ errorCode: 0, nodeId: 1, host: '127.0.0.1', port: tb.port });
    const v2 = await c.send(ApiKey.FindCoordinator, 2, { key: 'g', keyType: 0 });
    expect(v2).toMatchObject({ errorCode: 0, errorMessage: 'NONE', nodeId: 1, port: tb.port });
    const txn = await c.send(ApiKey.FindCoordinator, 1, { key: 'tx', keyType: 1 });
    expect(txn).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: 1, host: '127.0.0.1', port: tb.port });
    expect((await c.send(ApiKey.FindCoordinator, 3, { key: 'x', keyType: 7 })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const v4 = await c.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((x: { key: string; errorCode: number; port: number }) => [x.key, x.errorCode, x.port])).toEqual([['a', 0, tb.port], ['b', 0, tb.port]]);
    c.close();
  });
});
