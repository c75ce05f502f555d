// ElectLeaders over the wire (our codec), against Kafka 3.9's controller answers
// (ReplicationControlManager.electLeaders / electLeader) on a single broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
beforeAll(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  for (const [name, numPartitions] of [['e1', 2], ['e2', 1]] as const) {
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
  }
});
afterAll(async () => {
  client.close();
  await tb.stop();
});

const NOT_NEEDED = { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' };

describe('ElectLeaders', () => {
  it.each([
    [0, 0],
    [1, 0],
    [1, 1],
    [2, 0],
    [2, 1],
  ])('v%i election type %i: ELECTION_NOT_NEEDED for existing partitions, UNKNOWN_TOPIC_OR_PARTITION with Kafka\'s messages otherwise', async (version, electionType) => {
    const res = await client.send(ApiKey.ElectLeaders, version, {
      electionType,
      topicPartitions: [
        { topic: 'e1', partitions: [0, 1, 5, 0] },
        { topic: 'nope', partitions: [0] },
      ],
      timeoutMs: 1000,
    });
    expect(res.errorCode ?? 0).toBe(ErrorCode.NONE);
    expect(res.replicaElectionResults).toEqual([
      {
        topic: 'e1',
        partitionResult: [
          { partitionId: 0, ...NOT_NEEDED },
          { partitionId: 1, ...NOT_NEEDED },
          { partitionId: 5, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such partition as e1-5' },
          { partitionId: 0, ...NOT_NEEDED },
        ],
      },
      { topic: 'nope', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such topic as nope' }] },
    ]);
  });

  it('null topic partitions lists every topic with no partition results (elections not needed are left out)', async () => {
    const res = await client.send(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: null, timeoutMs: 1000 });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.replicaElectionResults.map((t: { topic: string }) => t.topic).sort()).toEqual(['e1', 'e2']);
    for (const t of res.replicaElectionResults) expect(t.partitionResult).toEqual([]);
  });

  it('an empty topic partitions list answers nothing', async () => {
    const res = await client.send(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [], timeoutMs: 1000 });
    expect(res).toMatchObject({ errorCode: ErrorCode.NONE, replicaElectionResults: [] });
  });

  it('an unknown election type fails the request and every partition with INVALID_REQUEST', async () => {
    const res = await client.send(ApiKey.ElectLeaders, 2, { electionType: 5, topicPartitions: [{ topic: 'e1', partitions: [0] }], timeoutMs: 1000 });
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(res.replicaElectionResults).toEqual([
      { topic: 'e1', partitionResult: [{ partitionId: 0, errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Unknown election type 5' }] },
    ]);
  });
});
