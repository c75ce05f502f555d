// Issue 7: CreateTopics and DeleteTopics as Kafka 3.9's controller answers them (ControllerApis.createTopics /
// deleteTopics, ReplicationControlManager.createTopic / validateManualPartitionAssignment), over real sockets.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
const ZERO = Buffer.alloc(16);

beforeEach(async () => {
  tb = await startTestBroker({ numPartitions: 1 });
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

type Topic = { name: string; numPartitions?: number; replicationFactor?: number; assignments?: Array<{ partitionIndex: number; brokerIds: number[] }> };
async function create(topics: Topic[]) {
  const res = await client.send(ApiKey.CreateTopics, 7, {
    topics: topics.map((t) => ({ numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...t })),
    timeoutMs: 5000,
  });
  return res.topics as Array<{ name: string; errorCode: number; errorMessage: string | null; numPartitions: number; topicId: Buffer }>;
}
async function existing(): Promise<string[]> {
  const res = await client.send(ApiKey.Metadata, 9, { topics: null });
  return res.topics.map((t: { name: string }) => t.name).sort();
}
async function deleteV6(topics: Array<{ name: string | null; topicId: Buffer }>) {
  const res = await client.send(ApiKey.DeleteTopics, 6, { topics, timeoutMs: 5000 });
  return (res.responses as Array<{ name: string | null; topicId: Buffer; errorCode: number; errorMessage: string | null }>).map((r) => ({
    name: r.name,
    topicId: r.topicId.toString('hex'),
    errorCode: r.errorCode,
    errorMessage: r.errorMessage,
  }));
}

describe('issue 7: CreateTopics with a topic named twice', () => {
  it('answers one INVALID_REQUEST "Duplicate topic name." entry, creates nothing for it, and creates the others', async () => {
    const results = await create([{ name: 'x' }, { name: 'y' }, { name: 'x' }]);
    expect(results.map((r) => [r.name, r.errorCode, r.errorMessage])).toEqual([
      ['x', ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'],
      ['y', ErrorCode.NONE, null],
    ]);
    expect(await existing()).toEqual(['y']);
  });

  it('a duplicated __cluster_metadata is a duplicate first', async () => {
    const results = await create([{ name: '__cluster_metadata' }, { name: '__cluster_metadata' }]);
    expect(results.map((r) => [r.errorCode, r.errorMessage])).toEqual([[ErrorCode.INVALID_REQUEST, 'Duplicate topic name.']]);
  });
});

describe('issue 7: DeleteTopics with a topic named twice', () => {
  it('v1 [x, x]: one INVALID_REQUEST "Duplicate topic name." entry with a zero id, and x is not deleted', async () => {
    await create([{ name: 'x' }]);
    const res = await client.send(ApiKey.DeleteTopics, 1, { topicNames: ['x', 'x'], timeoutMs: 5000 });
    expect(res.responses.map((r: { name: string; errorCode: number }) => [r.name, r.errorCode])).toEqual([['x', ErrorCode.INVALID_REQUEST]]);
    expect(await existing()).toEqual(['x']);
    const v5 = await client.send(ApiKey.DeleteTopics, 5, { topicNames: ['x', 'x'], timeoutMs: 5000 });
    expect(v5.responses.map((r: { errorMessage: string | null }) => r.errorMessage)).toEqual(['Duplicate topic name.']);
  });

  it('v6 by name [x, x] and by id [id, id]: one entry each, nothing deleted', async () => {
    const [created] = await create([{ name: 'x' }]);
    const id = created!.topicId;
    expect(await deleteV6([{ name: 'x', topicId: ZERO }, { name: 'x', topicId: ZERO }])).toEqual([
      { name: 'x', topicId: ZERO.toString('hex'), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' },
    ]);
    expect(await deleteV6([{ name: null, topicId: id }, { name: null, topicId: id }])).toEqual([
      { name: null, topicId: id.toString('hex'), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic id.' },
    ]);
    expect(await existing()).toEqual(['x']);
  });

  it('v6: a name and the id of the same topic get one INVALID_REQUEST entry, and the topic stays', async () => {
    const [created] = await create([{ name: 'x' }]);
    const id = created!.topicId;
    expect(await deleteV6([{ name: null, topicId: id }, { name: 'x', topicId: ZERO }])).toEqual([
      { name: 'x', topicId: id.toString('hex'), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'The provided topic name maps to an ID that was already supplied.' },
    ]);
    expect(await existing()).toEqual(['x']);
  });

  it('v6: both name and id, or neither, are INVALID_REQUEST with Kafka\'s messages; unknowns get the default messages', async () => {
    const [created] = await create([{ name: 'x' }, { name: 'y' }]);
    const other = Buffer.alloc(16, 7);
    expect(await deleteV6([
      { name: 'x', topicId: created!.topicId },
      { name: null, topicId: ZERO },
      { name: 'nope', topicId: ZERO },
      { name: null, topicId: other },
      { name: 'y', topicId: ZERO },
    ])).toEqual([
      { name: 'x', topicId: created!.topicId.toString('hex'), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'You may not specify both topic name and topic id.' },
      { name: null, topicId: ZERO.toString('hex'), errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Neither topic name nor id were specified.' },
      { name: 'nope', topicId: ZERO.toString('hex'), errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.' },
      { name: null, topicId: other.toString('hex'), errorCode: ErrorCode.UNKNOWN_TOPIC_ID, errorMessage: 'This server does not host this topic ID.' },
      { name: 'y', topicId: expect.any(String), errorCode: ErrorCode.NONE, errorMessage: null },
    ]);
    expect(await existing()).toEqual(['x']);
  });
});

describe('issue 7: manual replica assignments validated as Kafka validates them', () => {
  const manual = (assignments: Array<[number, number[]]>, extra: Partial<Topic> = {}) =>
    create([{ name: 'm', numPartitions: -1, replicationFactor: -1, assignments: assignments.map(([partitionIndex, brokerIds]) => ({ partitionIndex, brokerIds })), ...extra }]).then((r) => r[0]!);

  it('an assignment naming only this broker is accepted and fixes the partition count', async () => {
    const res = await manual([[1, [1]], [0, [1]]]);
    expect([res.errorCode, res.numPartitions]).toEqual([ErrorCode.NONE, 2]);
  });

  const refusals: Array<[string, Array<[number, number[]]>, Partial<Topic>, number, string]> = [
    ['an unregistered broker id', [[0, [0, 1]]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes broker 0, but no such broker is registered.'],
    ['a broker twice in one partition', [[0, [1, 1]]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes the broker 1 more than once.'],
    ['an empty replica list', [[0, [1]], [1, []]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.'],
    ['a partition assigned twice', [[0, [1]], [0, [1]]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Found multiple manual partition assignments for partition 0'],
    ['partitions not numbered from 0', [[1, [1]]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence'],
    ['a gap in the partition numbers', [[0, [1]], [2, [1]]], {}, ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence'],
    ['an assignment with a replication factor', [[0, [1]]], { replicationFactor: 1, numPartitions: 1 }, ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replication factor was not set to -1.'],
    ['an assignment with a partition count', [[0, [1]]], { numPartitions: 1 }, ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.'],
  ];
  for (const [what, assignments, extra, code, message] of refusals) {
    it(`refuses ${what}: ${message}`, async () => {
      const res = await manual(assignments, extra);
      expect([res.errorCode, res.errorMessage]).toEqual([code, message]);
    });
  }

  it('counts: replication factor 0 or < -1, partitions 0 or < -1, and replication above one broker, with Kafka\'s messages', async () => {
    const results = await create([
      { name: 'rf0', replicationFactor: 0 },
      { name: 'p-2', numPartitions: -2 },
      { name: 'rf3', replicationFactor: 3 },
    ]);
    expect(results.map((r) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.'],
      [ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.'],
      [ErrorCode.INVALID_REPLICATION_FACTOR, 'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 1 broker(s) are registered.'],
    ]);
  });
});
