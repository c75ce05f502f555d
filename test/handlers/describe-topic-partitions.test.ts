// DescribeTopicPartitions (KIP-966) over the wire (our codec), against Kafka 3.9's answers
// (DescribeTopicPartitionsRequestHandler, KRaftMetadataCache.getTopicMetadataForDescribeTopicResponse): sorted
// topics, the partition budget and the cursor, errors per topic and for a bad cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
const topicIds = new Map<string, Buffer>();
beforeAll(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  // Created out of order: answers are sorted by name.
  for (const [name, numPartitions] of [['t-c', 2], ['t-a', 3], ['t-b', 1]] as const) {
    const res = await client.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
    topicIds.set(name, res.topics[0].topicId);
  }
});
afterAll(async () => {
  client.close();
  await tb.stop();
});

type Topic = { errorCode: number; name: string; topicId: Buffer; isInternal: boolean; partitions: Array<Record<string, unknown>>; topicAuthorizedOperations: number };

function describeTopics(topics: string[], responsePartitionLimit = 2000, cursor: { topicName: string; partitionIndex: number } | null = null) {
  return client.send(ApiKey.DescribeTopicPartitions, 0, { topics: topics.map((name) => ({ name })), responsePartitionLimit, cursor });
}

/** [name, error code, partition indexes…] of each topic in an answer. */
function shape(topics: Topic[]): Array<[string, number, ...number[]]> {
  return topics.map((t) => [t.name, t.errorCode, ...t.partitions.map((p) => p.partitionIndex as number)]);
}

describe('DescribeTopicPartitions', () => {
  it('describes every topic, sorted by name, with leader, replicas, ISR, empty ELR lists, topic ids and operations', async () => {
    const res = await describeTopics([]);
    expect(res.nextCursor).toBeNull();
    expect(shape(res.topics)).toEqual([
      ['t-a', 0, 0, 1, 2],
      ['t-b', 0, 0],
      ['t-c', 0, 0, 1],
    ]);
    const a: Topic = res.topics[0];
    expect(a.topicId.equals(topicIds.get('t-a')!)).toBe(true);
    expect(a).toMatchObject({ isInternal: false, topicAuthorizedOperations: 3576 });
    expect(a.partitions[1]).toEqual({
      errorCode: 0,
      partitionIndex: 1,
      leaderId: 1,
      leaderEpoch: 0,
      replicaNodes: [1],
      isrNodes: [1],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: [],
    });
  });

  it('pages by the partition limit: the cursor names the first partition left out, and the next request continues there', async () => {
    const first = await describeTopics([], 2);
    expect(shape(first.topics)).toEqual([['t-a', 0, 0, 1]]);
    expect(first.nextCursor).toEqual({ topicName: 't-a', partitionIndex: 2 });
    const second = await describeTopics([], 2, first.nextCursor);
    expect(shape(second.topics)).toEqual([
      ['t-a', 0, 2],
      ['t-b', 0, 0],
    ]);
    // The budget ran out exactly at the end of t-b: the cursor points at the start of the next topic.
    expect(second.nextCursor).toEqual({ topicName: 't-c', partitionIndex: 0 });
    const third = await describeTopics([], 2, second.nextCursor);
    expect(shape(third.topics)).toEqual([['t-c', 0, 0, 1]]);
    expect(third.nextCursor).toBeNull();
  });

  it('a limit below 1 is taken as 1', async () => {
    const res = await describeTopics(['t-b', 't-a'], 0);
    expect(shape(res.topics)).toEqual([['t-a', 0, 0]]);
    expect(res.nextCursor).toEqual({ topicName: 't-a', partitionIndex: 1 });
  });

  it('named topics: deduplicated and sorted; missing ones get UNKNOWN_TOPIC_OR_PARTITION, illegal names INVALID_TOPIC_EXCEPTION', async () => {
    const res = await describeTopics(['t-c', 'missing', 't-c', 'bad name']);
    expect(shape(res.topics)).toEqual([
      ['bad name', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['t-c', 0, 0, 1],
    ]);
    expect(res.topics[1]).toMatchObject({ topicId: Buffer.alloc(16), isInternal: false, topicAuthorizedOperations: 3576 });
  });

  it('a cursor inside the named topics starts there; names before it are skipped', async () => {
    const res = await describeTopics(['t-a', 't-c'], 2000, { topicName: 't-c', partitionIndex: 1 });
    expect(shape(res.topics)).toEqual([['t-c', 0, 1]]);
    expect(res.nextCursor).toBeNull();
  });

  it('a cursor topic that is not among the named topics, or a negative cursor partition, is INVALID_REQUEST for every named topic', async () => {
    const notNamed = await describeTopics(['t-a', 't-b'], 2000, { topicName: 't-aa', partitionIndex: 0 });
    expect(notNamed.topics.map((t: Topic) => [t.name, t.errorCode, t.partitions.length])).toEqual([
      ['t-a', ErrorCode.INVALID_REQUEST, 0],
      ['t-b', ErrorCode.INVALID_REQUEST, 0],
    ]);
    expect(notNamed.nextCursor).toBeNull();
    // With no names the error answer lists nothing, where the same cursor at partition 0 lists the topics.
    const negative = await describeTopics([], 2000, { topicName: 't-a', partitionIndex: -1 });
    expect(negative.topics).toEqual([]);
    expect((await describeTopics([], 2000, { topicName: 't-a', partitionIndex: 0 })).topics).toHaveLength(3);
  });
});
