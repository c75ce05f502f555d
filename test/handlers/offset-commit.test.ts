// OffsetCommit / OffsetFetch / OffsetDelete / DescribeGroups / ListGroups / DeleteGroups over a real socket, with
// the version-dependent shapes Kafka uses.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let c: TestClient;

beforeAll(async () => {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0 });
  c = await TestClient.connect(tb.port);
  await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
});

afterAll(async () => {
  c.close();
  await tb.stop();
});

const part = (partitionIndex: number, committedOffset: bigint, extra: Record<string, unknown> = {}) => ({ partitionIndex, committedOffset, committedMetadata: 'md', ...extra });

describe('OffsetCommit / OffsetFetch', () => {
  test('a commit for a nonexistent topic or partition gets UNKNOWN_TOPIC_OR_PARTITION; the valid ones are stored', async () => {
    const r = await c.send(ApiKey.OffsetCommit, 8, { groupId: 'oc', generationIdOrMemberEpoch: -1, topics: [
      { name: 't', partitions: [part(0, 10n, { committedLeaderEpoch: 4 }), part(5, 1n)] },
      { name: 'no-such-topic', partitions: [part(0, 1n)] },
    ] });
    expect(r.topics.map((t: { partitions: Array<{ errorCode: number }> }) => t.partitions.map((p) => p.errorCode))).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
    const f = await c.send(ApiKey.OffsetFetch, 5, { groupId: 'oc', topics: [{ name: 't', partitionIndexes: [0, 1] }] });
    expect(f.errorCode).toBe(0);
    expect(f.topics[0].partitions).toEqual([
      { partitionIndex: 0, committedOffset: 10n, committedLeaderEpoch: 4, metadata: 'md', errorCode: 0 },
      { partitionIndex: 1, committedOffset: -1n, committedLeaderEpoch: -1, metadata: '', errorCode: 0 },
    ]);
  });

  test('v0 commits (no generation) and v1 fetches; a stale generation gets ILLEGAL_GENERATION, and GROUP_ID_NOT_FOUND at v9', async () => {
    expect((await c.send(ApiKey.OffsetCommit, 0, { groupId: 'v0', topics: [{ name: 't', partitions: [part(1, 3n)] }] })).topics[0].partitions[0].errorCode).toBe(0);
    const f = await c.send(ApiKey.OffsetFetch, 1, { groupId: 'v0', topics: [{ name: 't', partitionIndexes: [1] }] });
    expect(f.topics[0].partitions[0]).toMatchObject({ committedOffset: 3n, metadata: 'md', errorCode: 0 });
    const stale = await c.send(ApiKey.OffsetCommit, 2, { groupId: 'nobody', generationIdOrMemberEpoch: 4, memberId: 'm', topics: [{ name: 't', partitions: [part(0, 1n)] }] });
    expect(stale.topics[0].partitions[0].errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    const v9 = await c.send(ApiKey.OffsetCommit, 9, { groupId: 'nobody', generationIdOrMemberEpoch: 4, memberId: 'm', topics: [{ name: 't', partitions: [part(0, 1n)] }] });
    expect(v9.topics[0].partitions[0].errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
  });

  test('OffsetFetch v8 answers several groups at once; topics null means every committed offset', async () => {
    await c.send(ApiKey.OffsetCommit, 8, { groupId: 'multi-a', topics: [{ name: 't', partitions: [part(0, 1n), part(1, 2n)] }] });
    const f = await c.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId: 'multi-a', topics: null }, { groupId: 'multi-b', topics: [{ name: 't', partitionIndexes: [0] }] }], requireStable: true });
    expect(f.groups.map((g: { groupId: string; errorCode: number }) => [g.groupId, g.errorCode])).toEqual([['multi-a', 0], ['multi-b', 0]]);
    expect(f.groups[0].topics[0].partitions.map((p: { committedOffset: bigint }) => p.committedOffset)).toEqual([1n, 2n]);
    expect(f.groups[1].topics[0].partitions[0].committedOffset).toBe(-1n);
  });
});

describe('admin APIs', () => {
  test('ListGroups filters by state (v4) and type (v5); DescribeGroups reports unknown groups as Dead; DeleteGroups and OffsetDelete', async () => {
    await c.send(ApiKey.OffsetCommit, 8, { groupId: 'adm', topics: [{ name: 't', partitions: [part(0, 1n), part(1, 1n)] }] });
    const all = await c.send(ApiKey.ListGroups, 4, { statesFilter: [] });
    expect(all.groups.find((g: { groupId: string }) => g.groupId === 'adm')).toMatchObject({ groupId: 'adm', protocolType: '', groupState: 'Empty' });
    expect((await c.send(ApiKey.ListGroups, 4, { statesFilter: ['Stable'] })).groups).toEqual([]);
    expect((await c.send(ApiKey.ListGroups, 5, { statesFilter: ['empty'], typesFilter: ['consumer'] })).groups).toEqual([]);
    expect((await c.send(ApiKey.ListGroups, 5, { typesFilter: ['Classic'] })).groups.map((g: { groupType: string }) => g.groupType)).toContain('classic');
    const d = await c.send(ApiKey.DescribeGroups, 5, { groups: ['adm', 'unknown'], includeAuthorizedOperations: true });
    expect(d.groups.map((g: { groupId: string; groupState: string; errorCode: number }) => [g.groupId, g.groupState, g.errorCode])).toEqual([['adm', 'Empty', 0], ['unknown', 'Dead', 0]]);
    expect(d.groups[0].authorizedOperations).toBe((1 << 3) | (1 << 6) | (1 << 8));
    const od = await c.send(ApiKey.OffsetDelete, 0, { groupId: 'adm', topics: [{ name: 't', partitions: [{ partitionIndex: 1 }] }, { name: 'nope', partitions: [{ partitionIndex: 0 }] }] });
    expect(od.errorCode).toBe(0);
    expect(od.topics.map((t: { partitions: Array<{ errorCode: number }> }) => t.partitions[0]!.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    expect((await c.send(ApiKey.OffsetDelete, 0, { groupId: 'missing', topics: [] })).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND);
    const del = await c.send(ApiKey.DeleteGroups, 2, { groupsNames: ['adm', 'adm-missing'] });
    expect(del.results).toEqual([{ groupId: 'adm', errorCode: 0 }, { groupId: 'adm-missing', errorCode: ErrorCode.GROUP_ID_NOT_FOUND }]);
  });
});
