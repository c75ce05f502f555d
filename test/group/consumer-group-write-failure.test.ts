// A KIP-848 group change whose `__consumer_offsets` write fails is rolled back, as Kafka reverts its timeline
// snapshot (src/group/consumer-group/manager.ts, apply/rollBack): on a real, small tmpfs data dir filled up, a
// joining member is answered with the write's error and the group is as before (epoch, members, ListGroups); a
// group whose creating write failed does not exist; a classic group whose upgrade failed keeps its member. Once
// space is freed the same joins succeed, and a restart loads exactly what memory held. Mounting needs root, as CI.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { encodeConsumerProtocolAssignment } from '../../src/group/consumer-group/embedded-protocol.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { fillDisk, useSmallTmpfs } from '../helpers/small-tmpfs.js';

const tmpfs = useSmallTmpfs('eddy-cg-full-');

// A subscription of this many long (absent) topic names makes the member's record larger than a page, so its
// write needs space the full disk does not have (a small record could still fit in the log's last page).
const BIG_SUBSCRIPTION = ['cg', ...Array.from({ length: 80 }, (_, i) => `absent-topic-with-a-rather-long-name-to-fill-a-page-${i}`)];

function cghb(c: TestClient, fields: Record<string, unknown>): Promise<any> {
  return c.send(ApiKey.ConsumerGroupHeartbeat, 1, fields);
}

function join(c: TestClient, groupId: string, memberId: string, topics: string[]): Promise<any> {
  return cghb(c, { groupId, memberId, memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: topics, topicPartitions: [] });
}

async function describeGroup(c: TestClient, groupId: string): Promise<{ errorCode: number; groupEpoch: number; members: string[]; state: string }> {
  const g = (await c.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId] })).groups[0];
  return { errorCode: g.errorCode, groupEpoch: g.groupEpoch, members: g.members.map((m: any) => m.memberId).sort(), state: g.groupState };
}

async function listedIds(c: TestClient): Promise<string[]> {
  return (await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] })).groups.map((g: any) => g.groupId).sort();
}

/** ConsumerProtocolSubscription v1 of the topics, no user data, nothing owned. */
function subscription(topics: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, 1])];
  const i32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    return b;
  };
  parts.push(i32(topics.length));
  for (const t of topics) parts.push(Buffer.from([0, Buffer.byteLength(t)]), Buffer.from(t));
  parts.push(i32(-1), i32(0));
  return Buffer.concat(parts);
}

async function stableClassicMember(c: TestClient, groupId: string): Promise<{ memberId: string; generationId: number }> {
  const fields = { groupId, sessionTimeoutMs: 30000, rebalanceTimeoutMs: 30000, protocolType: 'consumer', protocols: [{ name: 'range', metadata: subscription(['cg']) }] };
  const first = await c.send(ApiKey.JoinGroup, 5, { ...fields, memberId: '' });
  const j = first.errorCode === ErrorCode.MEMBER_ID_REQUIRED ? await c.send(ApiKey.JoinGroup, 5, { ...fields, memberId: first.memberId }) : first;
  expect(j.errorCode).toBe(ErrorCode.NONE);
  const assignment = encodeConsumerProtocolAssignment(1, [{ topic: 'cg', partitions: [0, 1, 2, 3] }]);
  const s = await c.send(ApiKey.SyncGroup, 5, { groupId, generationId: j.generationId, memberId: j.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [{ memberId: j.memberId, assignment }] });
  expect(s.errorCode).toBe(ErrorCode.NONE);
  return { memberId: j.memberId, generationId: j.generationId };
}

describe('a consumer group write that fails is rolled back', () => {
  it('joins refused on a full disk leave the group, a new group and an upgrading classic group as they were', async () => {
    const dataDir = path.join(tmpfs.dir(), 'data');
    const filler = path.join(tmpfs.dir(), 'filler');
    let tb: TestBroker = await startTestBroker({ dataDir, groupInitialRebalanceDelayMs: 0 });
    let c = await TestClient.connect(tb.port, 'rollback-test');
    try {
      await tb.broker.createTopic('cg', { partitions: 4 });
      const a = await join(c, 'g', 'member-a', ['cg']);
      expect(a.errorCode).toBe(ErrorCode.NONE);
      const classic = await stableClassicMember(c, 'g-classic');
      const before = await describeGroup(c, 'g');
      expect(before).toMatchObject({ errorCode: ErrorCode.NONE, members: ['member-a'] });

      fillDisk(filler, { toLastPage: true });

      // A second member: the write fails, the answer carries its error, the group is unchanged.
      const b = await join(c, 'g', 'member-b', BIG_SUBSCRIPTION);
      expect(b.errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      expect(await describeGroup(c, 'g')).toEqual(before);
      // member-a is still at its epoch: a heartbeat with it is accepted (nothing to write).
      expect((await cghb(c, { groupId: 'g', memberId: 'member-a', memberEpoch: a.memberEpoch, topicPartitions: null })).errorCode).toBe(ErrorCode.NONE);

      // A new group whose creating write fails does not exist afterwards.
      expect((await join(c, 'g-new', 'member-n', BIG_SUBSCRIPTION)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      expect((await describeGroup(c, 'g-new')).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      expect(await listedIds(c)).toEqual(['g', 'g-classic']);

      // An upgrade whose write fails leaves the classic group with its member, at its generation.
      expect((await join(c, 'g-classic', 'member-u', BIG_SUBSCRIPTION)).errorCode).toBe(ErrorCode.NOT_COORDINATOR);
      expect((await describeGroup(c, 'g-classic')).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      const classicDescribed = (await c.send(ApiKey.DescribeGroups, 5, { groups: ['g-classic'], includeAuthorizedOperations: false })).groups[0];
      expect(classicDescribed).toMatchObject({ groupState: 'Stable', protocolType: 'consumer' });
      expect(classicDescribed.members.map((m: any) => m.memberId)).toEqual([classic.memberId]);
      const classicHeartbeat = await c.send(ApiKey.Heartbeat, 4, { groupId: 'g-classic', generationId: classic.generationId, memberId: classic.memberId, groupInstanceId: null });
      expect(classicHeartbeat.errorCode).toBe(ErrorCode.NONE);

      // Space comes back: the same join succeeds once the partition takes writes again.
      rmSync(filler);
      let joined: any;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        joined = await join(c, 'g', 'member-b', BIG_SUBSCRIPTION);
        if (joined.errorCode !== ErrorCode.NOT_COORDINATOR) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(joined.errorCode).toBe(ErrorCode.NONE);
      const after = await describeGroup(c, 'g');
      expect(after.members).toEqual(['member-a', 'member-b']);
      expect(after.groupEpoch).toBe(before.groupEpoch + 1);

      // What memory holds is what a restart loads.
      c.close();
      await tb.stop({ keepData: true });
      tb = await startTestBroker({ dataDir, groupInitialRebalanceDelayMs: 0 });
      c = await TestClient.connect(tb.port, 'rollback-test');
      expect(await describeGroup(c, 'g')).toEqual(after);
      expect((await describeGroup(c, 'g-new')).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
      expect(await listedIds(c)).toEqual(['g', 'g-classic']);
    } finally {
      c.close();
      await tb.stop({ keepData: true });
    }
  }, 60_000);
});
