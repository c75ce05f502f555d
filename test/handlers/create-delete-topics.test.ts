import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker({ numPartitions: 2 });
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

type Topic = { name: string; numPartitions?: number; replicationFactor?: number; assignments?: unknown[]; configs?: unknown[] };
function create(topics: Topic[], version = 7, validateOnly = false) {
  return client.send(ApiKey.CreateTopics, version, {
    topics: topics.map((t) => ({ numPartitions: 1, replicationFactor: 1, assignments: [], configs: [], ...t })),
    timeoutMs: 5000,
    validateOnly,
  }).then((r) => r.topics);
}

describe('CreateTopics', () => {
  it('creates a topic and reports partitions, replication factor, configs and topic id (v7)', async () => {
    const [res] = await create([{ name: 'orders', numPartitions: 3, configs: [{ name: 'retention.ms', value: '1000' }] }]);
    expect(res).toMatchObject({ name: 'orders', errorCode: 0, numPartitions: 3, replicationFactor: 1 });
    expect(res.topicId.equals(Buffer.alloc(16))).toBe(false);
    expect(res.configs).toEqual([{ name: 'retention.ms', value: '1000', readOnly: false, configSource: 1, isSensitive: false }]);
  });

  it('uses num.partitions and replication 1 for -1 (KIP-464)', async () => {
    const [res] = await create([{ name: 'defaults', numPartitions: -1, replicationFactor: -1 }]);
    expect(res).toMatchObject({ errorCode: 0, numPartitions: 2, replicationFactor: 1 });
  });

  it('answers every Kafka error: exists, bad name, partitions, replication, config, and one entry for a duplicate', async () => {
    await create([{ name: 'exists' }]);
    const results = await create([
      { name: 'exists' },
      { name: 'has space' },
      { name: 'a'.repeat(250) },
      { name: 'zero', numPartitions: 0 },
      { name: 'rf3', replicationFactor: 3 },
      { name: 'badcfg', configs: [{ name: 'no.such.config', value: '1' }] },
      { name: 'badval', configs: [{ name: 'segment.bytes', value: 'lots' }] },
      { name: 'dup' },
      { name: 'dup' },
    ]);
    expect(results.map((r: { name: string; errorCode: number }) => [r.name.slice(0, 10), r.errorCode])).toEqual([
      ['exists', ErrorCode.TOPIC_ALREADY_EXISTS],
      ['has space', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['aaaaaaaaaa', ErrorCode.INVALID_TOPIC_EXCEPTION],
      ['zero', ErrorCode.INVALID_PARTITIONS],
      ['rf3', ErrorCode.INVALID_REPLICATION_FACTOR],
      ['badcfg', ErrorCode.INVALID_CONFIG],
      ['badval', ErrorCode.INVALID_CONFIG],
      ['dup', ErrorCode.INVALID_REQUEST],
    ]);
    expect(results[1].errorMessage).toBe("Topic name is invalid: 'has space' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'");
    expect(results[7].errorMessage).toBe('Duplicate topic name.');
  });

  it('rejects a name that collides with an existing one through . and _', async () => {
    await create([{ name: 'a.b' }]);
    const [res] = await create([{ name: 'a_b' }]);
    expect(res.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('validateOnly checks everything and creates nothing', async () => {
    const [ok] = await create([{ name: 'dry', numPartitions: 4 }], 7, true);
    expect(ok).toMatchObject({ errorCode: 0, numPartitions: 4 });
    const md = await client.send(ApiKey.Metadata, 9, { topics: null });
    expect(md.topics).toHaveLength(0);
    const [bad] = await create([{ name: 'dry', numPartitions: 0 }], 7, true);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });

  it('accepts a manual assignment naming this broker and rejects one naming another', async () => {
    const [ok] = await create([{ name: 'manual', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1] }, { partitionIndex: 1, brokerIds: [1] }] }]);
    expect(ok).toMatchObject({ errorCode: 0, numPartitions: 2 });
    const [bad] = await create([{ name: 'manual2', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [2] }] }]);
    expect(bad.errorCode).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
  });

  it('works at v0 (no validateOnly, no error message)', async () => {
    const [res] = await create([{ name: 'old' }], 0);
    expect(res.errorCode).toBe(0);
  });
});

describe('DeleteTopics', () => {
  it('deletes by name (v1) and answers UNKNOWN_TOPIC_OR_PARTITION for an unknown name', async () => {
    await create([{ name: 'gone' }]);
    const res = await client.send(ApiKey.DeleteTopics, 1, { topicNames: ['gone', 'never'], timeoutMs: 5000 });
    expect(res.responses.map((r: { name: string; errorCode: number }) => [r.name, r.errorCode])).toEqual([
      ['gone', 0],
      ['never', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const md = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'gone' }], allowAutoTopicCreation: false });
    expect(md.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('deletes by topic id (v6) and answers UNKNOWN_TOPIC_ID for an unknown id', async () => {
    const [created] = await create([{ name: 'by-id' }]);
    const res = await client.send(ApiKey.DeleteTopics, 6, {
      topics: [{ name: null, topicId: created.topicId }, { name: null, topicId: Buffer.alloc(16, 3) }],
      timeoutMs: 5000,
    });
    expect(res.responses.map((r: { errorCode: number }) => r.errorCode)).toEqual([0, ErrorCode.UNKNOWN_TOPIC_ID]);
    expect(res.responses[0].name).toBe('by-id');
  });

  it('lets a deleted topic be created again, empty', async () => {
    await create([{ name: 'again' }]);
    await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [] });
    await client.send(ApiKey.DeleteTopics, 4, { topicNames: ['again'], timeoutMs: 5000 });
    const [res] = await create([{ name: 'again' }]);
    expect(res.errorCode).toBe(0);
    const offsets = await client.send(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'again', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(offsets.topics[0].partitions[0].offset).toBe(0n);
  });

  it('removes the topic\'s committed offsets from every group, so a recreated topic starts clean', async () => {
    await create([{ name: 'offsets-go' }]);
    const commit = await client.send(ApiKey.OffsetCommit, 8, { groupId: 'g', generationIdOrMemberEpoch: -1, topics: [{ name: 'offsets-go', partitions: [{ partitionIndex: 0, committedOffset: 42n, committedMetadata: '' }] }] });
    expect(commit.topics[0].partitions[0].errorCode).toBe(0);
    await client.send(ApiKey.DeleteTopics, 4, { topicNames: ['offsets-go'], timeoutMs: 5000 });
    await create([{ name: 'offsets-go' }]);
    const fetched = await client.send(ApiKey.OffsetFetch, 5, { groupId: 'g', topics: [{ name: 'offsets-go', partitionIndexes: [0] }] });
    expect(fetched.topics[0].partitions[0].committedOffset).toBe(-1n);
  });
});
