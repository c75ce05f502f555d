// The group coordinator and the classic rebalance protocol, driven directly (no sockets) with fake timers, against
// real logs (`__consumer_offsets`) in a temporary directory.
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { GroupCoordinator } from '../../src/group/coordinator.js';
import type { JoinParams } from '../../src/group/group.js';
import type { JoinResult } from '../../src/group/member.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { openGroupCoordinator, type GroupCoordinatorHarness } from '../helpers/group-coordinator.js';
import { makeTempDir } from '../helpers/in-process-broker.js';

let dataDir: string;
const open: GroupCoordinatorHarness[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  dataDir = makeTempDir('eddy-group-');
});

afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  vi.useRealTimers();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * Lets a coordinator promise settle under fake timers: runs due timers (a zero rebalance delay is a zero-delay
 * timer) and real event-loop turns (file writes), a bounded number of times; then returns the promise as it is
 * (still pending when it waits for simulated time, which the test then advances).
 */
async function done<T>(p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(() => (settled = true), () => (settled = true));
  for (let i = 0; i < 200 && !settled; i++) {
    await vi.advanceTimersByTimeAsync(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return p;
}

/** The coordinator, with every promise-returning method wrapped in done(). */
function settling(c: GroupCoordinator): GroupCoordinator {
  return new Proxy(c, {
    get(target, key) {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        return r instanceof Promise ? done(r) : r;
      };
    },
  });
}

async function coordinator(options: BrokerOptions = {}): Promise<GroupCoordinator> {
  const h = await done(openGroupCoordinator(dataDir, { broker: options }));
  open.push(h);
  return settling(h.coordinator);
}

const META = Buffer.from([0, 0, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 0]); // consumer subscription v0: topics ["t"]

function params(overrides: Partial<JoinParams> = {}): JoinParams {
  return {
    memberId: '',
    groupInstanceId: null,
    requireKnownMemberId: false,
    supportSkippingAssignment: false,
    clientId: 'client',
    clientHost: '/127.0.0.1',
    rebalanceTimeoutMs: 10_000,
    sessionTimeoutMs: 6_000,
    protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: META }],
    reason: null,
    ...overrides,
  };
}

/** Lets promise callbacks and the group metadata file writes run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await vi.advanceTimersByTimeAsync(0);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** One member joins an empty group and syncs; returns its member id and generation. */
async function stableSingleMember(c: GroupCoordinator, groupId: string, overrides: Partial<JoinParams> = {}) {
  const join = await c.joinGroup(groupId, params(overrides));
  expect(join.errorCode).toBe(ErrorCode.NONE);
  const sync = await c.syncGroup(groupId, { generationId: join.generationId, memberId: join.memberId, groupInstanceId: overrides.groupInstanceId ?? null, protocolType: null, protocolName: null, assignments: [{ memberId: join.memberId, assignment: Buffer.from('all') }] });
  expect(sync.errorCode).toBe(ErrorCode.NONE);
  return { memberId: join.memberId, generationId: join.generationId };
}

describe('JoinGroup / SyncGroup', () => {
  test('v4+ dynamic member: MEMBER_ID_REQUIRED first, then the join completes after group.initial.rebalance.delay.ms', async () => {
    const c = await coordinator({ groupInitialRebalanceDelayMs: 3000 });
    const first = await c.joinGroup('g', params({ requireKnownMemberId: true }));
    expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
    expect(first.memberId).toMatch(/^client-/);
    let joined: JoinResult | undefined;
    const pending = c.joinGroup('g', params({ memberId: first.memberId, requireKnownMemberId: true })).then((r) => (joined = r));
    await vi.advanceTimersByTimeAsync(2999);
    expect(joined).toBeUndefined();
    expect(c.group('g')!.state).toBe('PreparingRebalance');
    await vi.advanceTimersByTimeAsync(1);
    const done = await pending;
    expect(done).toMatchObject({ errorCode: 0, generationId: 1, leader: first.memberId, memberId: first.memberId, protocolName: 'range' });
    expect(done!.members).toEqual([{ memberId: first.memberId, groupInstanceId: null, metadata: META }]);
    expect(c.group('g')!.state).toBe('CompletingRebalance');
  });

  test('members arriving during the initial delay extend it and land in the same generation', async () => {
    const c = await coordinator({ groupInitialRebalanceDelayMs: 1000 });
    const a = c.joinGroup('g', params({ clientId: 'a' }));
    await vi.advanceTimersByTimeAsync(900);
    const b = c.joinGroup('g', params({ clientId: 'b' }));
    // b arrived during the delay: the delay is extended once more (Kafka's InitialDelayedJoin).
    await vi.advanceTimersByTimeAsync(1000);
    expect(c.group('g')!.state).toBe('PreparingRebalance');
    await vi.advanceTimersByTimeAsync(200);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.generationId).toBe(1);
    expect(rb.generationId).toBe(1);
    expect([ra.members.length, rb.members.length].sort()).toEqual([0, 2]);
  });

  test('a new member rebalances a Stable group; the follower gets the leader assignment and its own assignments are ignored', async () => {
    const c = await coordinator();
    const leader = await stableSingleMember(c, 'g');
    const joiningB = c.joinGroup('g', params({ clientId: 'b' }));
    await settle();
    expect(c.group('g')!.state).toBe('PreparingRebalance');
    expect(c.heartbeat('g', leader.memberId, null, leader.generationId)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoin = c.joinGroup('g', params({ memberId: leader.memberId }));
    const [ra, rb] = await Promise.all([rejoin, joiningB]);
    expect(ra.generationId).toBe(2);
    expect(ra.leader).toBe(leader.memberId);
    expect(ra.members).toHaveLength(2);
    expect(rb.members).toHaveLength(0);
    // Heartbeats between JoinGroup and SyncGroup are fine (CompletingRebalance).
    expect(c.heartbeat('g', rb.memberId, null, 2)).toBe(ErrorCode.NONE);
    // A commit before the sync: REBALANCE_IN_PROGRESS.
    expect(await c.commitOffsets('g', rb.memberId, null, 2, [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: '', commitTimestampMs: 0, expireTimestampMs: -1 }])).toEqual([ErrorCode.REBALANCE_IN_PROGRESS]);

    const followerSync = c.syncGroup('g', { generationId: 2, memberId: rb.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: rb.memberId, assignment: Buffer.from('mine!') }] });
    const leaderSync = c.syncGroup('g', { generationId: 2, memberId: ra.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [{ memberId: ra.memberId, assignment: Buffer.from('A') }, { memberId: rb.memberId, assignment: Buffer.from('B') }] });
    expect((await followerSync).assignment.toString()).toBe('B');
    expect((await leaderSync).assignment.toString()).toBe('A');
    expect(c.group('g')!.state).toBe('Stable');
  });

  test('errors: INVALID_GROUP_ID, INVALID_SESSION_TIMEOUT, INCONSISTENT_GROUP_PROTOCOL, UNKNOWN_MEMBER_ID, GROUP_MAX_SIZE_REACHED', async () => {
    const c = await coordinator({ groupMaxSize: 2 });
    expect((await c.joinGroup('', params())).errorCode).toBe(ErrorCode.INVALID_GROUP_ID);
    expect((await c.joinGroup('g', params({ sessionTimeoutMs: 10 }))).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await c.joinGroup('g', params({ protocols: [] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup('g', params({ protocolType: '' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup('nope', params({ memberId: 'stale' }))).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    await stableSingleMember(c, 'g');
    expect((await c.joinGroup('g', params({ protocolType: 'connect' }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await c.joinGroup('g', params({ protocols: [{ name: 'other', metadata: META }] }))).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    // group.max.size=2: two members are waiting in the rebalance, a third is turned away.
    // (Straight on the coordinator: the three joins must all land before the zero-delay join timer runs.)
    const raw = open[open.length - 1]!.coordinator;
    const waiting = [raw.joinGroup('m', params()), raw.joinGroup('m', params())];
    expect((await raw.joinGroup('m', params())).errorCode).toBe(ErrorCode.GROUP_MAX_SIZE_REACHED);
    expect((await done(Promise.all(waiting))).map((r) => r.errorCode)).toEqual([0, 0]);
    expect(c.heartbeat('unknown-group', 'm', null, 1)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    expect((await c.syncGroup('unknown-group', { generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  test('generation fencing: old generation ILLEGAL_GENERATION, unknown member UNKNOWN_MEMBER_ID, protocol mismatch on SyncGroup v5', async () => {
    const c = await coordinator();
    const m = await stableSingleMember(c, 'g');
    expect(c.heartbeat('g', m.memberId, null, m.generationId - 1)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(c.heartbeat('g', 'someone-else', null, m.generationId)).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
    const commit = (gen: number, member: string) => c.commitOffsets('g', member, null, gen, [{ topic: 't', partition: 0, offset: 5n, leaderEpoch: -1, metadata: null, commitTimestampMs: 0, expireTimestampMs: -1 }]);
    expect(await commit(m.generationId - 1, m.memberId)).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    expect(await commit(m.generationId, 'ghost')).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]);
    expect(await commit(-1, '')).toEqual([ErrorCode.UNKNOWN_MEMBER_ID]); // the group has members
    expect(await commit(m.generationId, m.memberId)).toEqual([ErrorCode.NONE]);
    expect(await c.commitOffsets('never-existed', 'x', null, 3, [])).toEqual([]);
    expect(await c.commitOffsets('never-existed', 'x', null, 3, [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: null, commitTimestampMs: 0, expireTimestampMs: -1 }])).toEqual([ErrorCode.ILLEGAL_GENERATION]);
    const sync = await c.syncGroup('g', { generationId: m.generationId, memberId: m.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'roundrobin', assignments: [] });
    expect(sync.errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
  });
});

describe('timeouts', () => {
  test('a member that stops heartbeating is removed after its session timeout and the group rebalances', async () => {
    const c = await coordinator();
    const a = await stableSingleMember(c, 'g', { clientId: 'a' });
    // b joins; a rejoins; both stable at generation 2.
    const jb = c.joinGroup('g', params({ clientId: 'b' }));
    await settle();
    const ja = c.joinGroup('g', params({ memberId: a.memberId }));
    const [ra, rb] = await Promise.all([ja, jb]);
    const sa = c.syncGroup('g', { generationId: 2, memberId: ra.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    const sb = c.syncGroup('g', { generationId: 2, memberId: rb.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    await Promise.all([sa, sb]);
    // Only a keeps heartbeating.
    for (let t = 0; t < 5; t++) {
      await vi.advanceTimersByTimeAsync(2000);
      expect(c.heartbeat('g', a.memberId, null, 2)).toBe(t < 2 ? ErrorCode.NONE : ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect([...c.group('g')!.members.keys()]).toEqual([a.memberId]);
    const rejoined = await c.joinGroup('g', params({ memberId: a.memberId }));
    expect(rejoined.generationId).toBe(3);
    expect(rejoined.members).toHaveLength(1);
  });

  test('a member that does not rejoin within the rebalance timeout is dropped; one that does not sync is dropped too', async () => {
    const c = await coordinator();
    const a = await stableSingleMember(c, 'g', { clientId: 'a', rebalanceTimeoutMs: 5000, sessionTimeoutMs: 30_000 });
    const jb = c.joinGroup('g', params({ clientId: 'b', rebalanceTimeoutMs: 5000, sessionTimeoutMs: 30_000 }));
    await vi.advanceTimersByTimeAsync(5000);
    const rb = await jb;
    expect(rb.errorCode).toBe(ErrorCode.NONE);
    expect(rb.generationId).toBe(2);
    expect(c.group('g')!.members.has(a.memberId)).toBe(false);
    expect(rb.leader).toBe(rb.memberId);
    // b never sends SyncGroup: after the rebalance timeout it is removed and the group is empty.
    await vi.advanceTimersByTimeAsync(5000);
    await settle();
    expect(c.group('g')!.state).toBe('Empty');
  });

  test('shutdown answers waiting joins with NOT_COORDINATOR and leaves no timer behind', async () => {
    const c = await coordinator({ groupInitialRebalanceDelayMs: 3000 });
    const waiting = c.joinGroup('g', params());
    await c.commitOffsets('h', '', null, -1, [{ topic: 't', partition: 0, offset: 1n, leaderEpoch: -1, metadata: null, commitTimestampMs: 0, expireTimestampMs: -1 }]);
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    c.shutdown();
    expect((await waiting).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
    // The logs' own timers (checkpoints, producer expiry) go when they close; none of the coordinator's remain.
    await done(open[open.length - 1]!.logs.close());
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('static membership (KIP-345)', () => {
  test('a static member rejoining with a new member id takes over without a rebalance; the old id is fenced', async () => {
    const c = await coordinator();
    const first = await stableSingleMember(c, 'g', { groupInstanceId: 'inst-1' });
    const again = await c.joinGroup('g', params({ groupInstanceId: 'inst-1' }));
    expect(again.errorCode).toBe(ErrorCode.NONE);
    expect(again.memberId).not.toBe(first.memberId);
    expect(again.generationId).toBe(first.generationId);
    // Below v9 the answer names the old leader id, so the new id does not run an assignment.
    expect(again.leader).toBe(first.memberId);
    expect(c.group('g')!.state).toBe('Stable');
    expect(c.heartbeat('g', first.memberId, 'inst-1', first.generationId)).toBe(ErrorCode.FENCED_INSTANCE_ID);
    expect(c.heartbeat('g', again.memberId, 'inst-1', first.generationId)).toBe(ErrorCode.NONE);
    const sync = await c.syncGroup('g', { generationId: first.generationId, memberId: again.memberId, groupInstanceId: 'inst-1', protocolType: null, protocolName: null, assignments: [] });
    expect(sync.assignment.toString()).toBe('all');
    // v9: the static leader is told it leads but must skip the assignment (KIP-814).
    const v9 = await c.joinGroup('g', params({ groupInstanceId: 'inst-1', supportSkippingAssignment: true }));
    expect(v9).toMatchObject({ errorCode: 0, skipAssignment: true, leader: v9.memberId });
    expect(v9.members).toHaveLength(1);
    // LeaveGroup by instance id alone (admin removal).
    const left = c.leaveGroup('g', [{ memberId: '', groupInstanceId: 'inst-1', reason: null }]);
    expect(left.members[0]!.errorCode).toBe(ErrorCode.NONE);
    await settle();
    expect(c.group('g')!.state).toBe('Empty');
  });
});

describe('offsets', () => {
  const at = (topic: string, partition: number, offset: bigint, commitTimestampMs = Date.now()) => ({ topic, partition, offset, leaderEpoch: 3, metadata: 'meta', commitTimestampMs, expireTimestampMs: -1 });

  test('simple-consumer commits are accepted, fsynced, and survive a restart; group metadata is restored', async () => {
    let c = await coordinator();
    expect(await c.commitOffsets('simple', '', null, -1, [at('t', 0, 42n), at('t', 1, 7n)])).toEqual([0, 0]);
    const m = await stableSingleMember(c, 'g');
    expect(await c.commitOffsets('g', m.memberId, null, m.generationId, [at('t', 0, 9n)])).toEqual([0]);
    await c.close();
    open.splice(0);
    c = await coordinator();
    expect(c.fetchOffsets('simple', null).topics).toEqual([{ name: 't', partitions: [
      { partitionIndex: 0, offset: 42n, leaderEpoch: 3, metadata: 'meta', errorCode: 0 },
      { partitionIndex: 1, offset: 7n, leaderEpoch: 3, metadata: 'meta', errorCode: 0 },
    ] }]);
    expect(c.fetchOffsets('g', [{ name: 't', partitionIndexes: [0, 5] }]).topics[0]!.partitions.map((p) => p.offset)).toEqual([9n, -1n]);
    // The member is back, Stable, with its assignment; it keeps going with heartbeats and no rebalance.
    const g = c.group('g')!;
    expect(g.state).toBe('Stable');
    expect(c.heartbeat('g', m.memberId, null, m.generationId)).toBe(ErrorCode.NONE);
    const sync = await c.syncGroup('g', { generationId: m.generationId, memberId: m.memberId, groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] });
    expect(sync.assignment.toString()).toBe('all');
    // A member that never comes back expires after its session timeout.
    await vi.advanceTimersByTimeAsync(6000);
    await settle();
    expect(c.group('g')!.state).toBe('Empty');
  });

  test('OFFSET_METADATA_TOO_LARGE per partition; the others are committed', async () => {
    const c = await coordinator({ offsetMetadataMaxBytes: 4 });
    const codes = await c.commitOffsets('g', '', null, -1, [{ ...at('t', 0, 1n), metadata: 'too long' }, { ...at('t', 1, 1n), metadata: 'ok' }]);
    expect(codes).toEqual([ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.NONE]);
  });

  test('offsets expire only once the group is Empty for offsets.retention.minutes; then the group is removed', async () => {
    const c = await coordinator({ offsetsRetentionMinutes: 1 });
    const m = await stableSingleMember(c, 'g');
    await c.commitOffsets('g', m.memberId, null, m.generationId, [at('t', 0, 5n)]);
    await c.commitOffsets('simple', '', null, -1, [at('t', 0, 1n)]);
    // Stable and subscribed to "t": nothing expires however old the commit is.
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(5000);
      c.heartbeat('g', m.memberId, null, m.generationId);
    }
    await vi.setSystemTime(Date.now() + 120_000);
    for (let i = 0; i < 3; i++) c.heartbeat('g', m.memberId, null, m.generationId);
    expect(await c.cleanupExpiredOffsets()).toBe(1); // only the simple group's offset
    expect(c.group('simple')).toBeUndefined();
    expect(c.fetchOffsets('g', null).topics).toHaveLength(1);
    c.leaveGroup('g', [{ memberId: m.memberId, groupInstanceId: null, reason: null }]);
    await settle();
    expect(c.group('g')!.state).toBe('Empty');
    expect(await c.cleanupExpiredOffsets()).toBe(0);
    await vi.setSystemTime(Date.now() + 61_000);
    expect(await c.cleanupExpiredOffsets()).toBe(1);
    expect(c.group('g')).toBeUndefined();
    expect(c.listGroups([], []).groups).toEqual([]);
  });

  test('COORDINATOR_LOAD_IN_PROGRESS until the offsets are loaded (SyncGroup: REBALANCE_IN_PROGRESS, Heartbeat: NONE)', async () => {
    const h = await done(openGroupCoordinator(dataDir, { broker: { groupInitialRebalanceDelayMs: 3000 }, load: false }));
    open.push(h);
    const c = settling(h.coordinator);
    expect((await c.joinGroup('g', params())).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect((await c.syncGroup('g', { generationId: 1, memberId: 'm', groupInstanceId: null, protocolType: null, protocolName: null, assignments: [] })).errorCode).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    expect(c.heartbeat('g', 'm', null, 1)).toBe(ErrorCode.NONE);
    expect(c.fetchOffsets('g', null).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(await c.commitOffsets('g', '', null, -1, [at('t', 0, 1n)])).toEqual([ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]);
    expect(c.listGroups([], []).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    await c.load();
    expect(c.fetchOffsets('g', null).errorCode).toBe(ErrorCode.NONE);
  });

  test('DeleteGroups and OffsetDelete follow Kafka: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC', async () => {
    const c = await coordinator();
    const m = await stableSingleMember(c, 'g');
    await c.commitOffsets('g', m.memberId, null, m.generationId, [at('t', 0, 5n), at('other', 0, 5n)]);
    expect(await c.deleteGroups(['g', 'missing'])).toEqual([ErrorCode.NON_EMPTY_GROUP, ErrorCode.GROUP_ID_NOT_FOUND]);
    expect(await c.deleteOffsets('g', [{ topic: 't', partition: 0 }, { topic: 'other', partition: 0 }])).toEqual({ errorCode: 0, codes: [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ErrorCode.NONE] });
    expect((await c.deleteOffsets('missing', [])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    c.leaveGroup('g', [{ memberId: m.memberId, groupInstanceId: null, reason: null }]);
    await settle();
    expect(await c.deleteGroups(['g'])).toEqual([ErrorCode.NONE]);
    expect(c.describeGroup('g').summary!.state).toBe('Dead');
    expect(c.fetchOffsets('g', null).topics).toEqual([]);
  });
});

describe('offset writes racing each other', () => {
  test('an OffsetDelete queued while a commit is in flight wins, in memory as in the file (after a restart)', async () => {
    const c = await coordinator();
    const entry = (offset: bigint) => [{ topic: 't', partition: 0, offset, leaderEpoch: -1, metadata: null, commitTimestampMs: 0, expireTimestampMs: -1 }];
    expect(await c.commitOffsets('race', '', null, -1, entry(1n))).toEqual([ErrorCode.NONE]);
    // The second commit and the delete are queued back to back; the commit's fsync completes first in time, but
    // the delete was queued after it, so the offset must end up deleted.
    const commit = c.commitOffsets('race', '', null, -1, entry(2n));
    const deletion = c.deleteOffsets('race', [{ topic: 't', partition: 0 }]);
    await Promise.all([commit, deletion]);
    const inMemory = c.fetchOffsets('race', [{ name: 't', partitionIndexes: [0] }]).topics[0]!.partitions[0]!;
    expect(inMemory.offset).toBe(-1n);

    await done(open.pop()!.close());
    const reopened = await coordinator();
    const fromFile = reopened.fetchOffsets('race', [{ name: 't', partitionIndexes: [0] }]).topics[0]!.partitions[0]!;
    expect(fromFile.offset).toBe(-1n);
  });
});
