// Topic registry durability edges: what a crash between its steps leaves behind must never be served.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { placePartitions } from '../../src/metadata/topic-registry.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
});

describe('topic registry', () => {
  it('removes at start the logs of a topic whose deletion was interrupted, so a recreated topic starts empty', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'ghost', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'ghost', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'old' }, { value: 'data' }] }) }] }] });
    client.close();
    const dataDir = tb.dataDir;
    await tb.stop({ keepData: true });

    // A crash after the metadata file was rewritten but before the partition directories were removed.
    const file = path.join(dataDir, 'topic-metadata.json');
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.topics = doc.topics.filter((t: { name: string }) => t.name !== 'ghost');
    writeFileSync(file, JSON.stringify(doc));

    tb = await startTestBroker({ dataDir });
    expect(existsSync(path.join(dataDir, 'ghost-0'))).toBe(false);
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'ghost', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    const offsets = await client.send(ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'ghost', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    expect(offsets.topics[0].partitions[0].offset).toBe(0n);
  });

  it('loads existing logs with their topic\'s settings, not the broker defaults', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'dense', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'index.interval.bytes', value: '1' }] }] });
    const produceOne = (i: number) => client!.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'dense', partitionData: [{ index: 0, records: buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ value: `v${i}` }] }) }] }] });
    for (let i = 0; i < 5; i++) await produceOne(i);
    client.close();
    const dataDir = tb.dataDir;
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir });
    client = await TestClient.connect(tb.port);
    for (let i = 5; i < 10; i++) await produceOne(i);
    client.close();
    client = undefined;
    await tb.stop({ keepData: true });
    // index.interval.bytes=1: one index entry (8 bytes) per batch, also for the batches appended after the restart.
    const index = statSync(path.join(dataDir, 'dense-0', '00000000000000000000.index')).size;
    expect(index / 8).toBeGreaterThanOrEqual(9);
    tb = await startTestBroker({ dataDir });
  });
});

describe('placePartitions (ReplicationControlManager.createTopic rules)', () => {
  const twoBrokers = { brokerIds: [1, 2], defaultNumPartitions: 3 };
  const manual = (...replicas: number[][]) => ({
    name: 't',
    numPartitions: -1,
    replicationFactor: -1,
    configs: {},
    assignments: replicas.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
  });

  it('refuses partitions whose replica counts differ, with Kafka\'s message', () => {
    expect(() => placePartitions(manual([1, 2], [1]), twoBrokers)).toThrow(
      expect.objectContaining({
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: 'The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).',
      }),
    );
  });

  it('checks replica ids in ascending order, so the lowest unregistered one is named', () => {
    expect(() => placePartitions(manual([9, 7, 1]), twoBrokers)).toThrow('includes broker 7, but no such broker is registered.');
  });

  it('takes the partition count from the assignment and the default for -1', () => {
    expect(placePartitions(manual([1, 2], [2, 1]), twoBrokers)).toBe(2);
    expect(placePartitions({ ...manual(), numPartitions: -1 }, twoBrokers)).toBe(3);
  });
});

describe('creating partition logs outside the serialised section (issue 8)', () => {
  const topic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });
  const BIG = 4000;

  async function waitUntilListed(c: TestClient, name: string): Promise<void> {
    for (let i = 0; i < 400; i++) {
      const md = await c.send(ApiKey.Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      if (md.topics[0].errorCode === ErrorCode.NONE) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${name} never appeared`);
  }

  it('a small CreateTopics, a DeleteTopics and an auto-creating Metadata complete while a large CreateTopics is still creating its logs', async () => {
    tb = await startTestBroker({ autoCreateTopics: true });
    client = await TestClient.connect(tb.port);
    const other = await TestClient.connect(tb.port);
    try {
      await other.send(ApiKey.CreateTopics, 4, { topics: [topic('doomed', 1)] });
      let bigDone = false;
      const big = client.send(ApiKey.CreateTopics, 4, { topics: [topic('big', BIG)], timeoutMs: 60_000 }).finally(() => (bigDone = true));
      await waitUntilListed(other, 'big');
      const small = await other.send(ApiKey.CreateTopics, 4, { topics: [topic('small', 2)] });
      expect(small.topics[0].errorCode).toBe(ErrorCode.NONE);
      const deleted = await other.send(ApiKey.DeleteTopics, 4, { topicNames: ['doomed'], timeoutMs: 5000 });
      expect(deleted.responses[0].errorCode).toBe(ErrorCode.NONE);
      const auto = await other.send(ApiKey.Metadata, 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
      expect(auto.topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(bigDone).toBe(false);
      // Meanwhile the big topic is listed, and its answer waits until every partition has a log.
      const res = await big;
      expect(res.topics[0]).toMatchObject({ name: 'big', errorCode: ErrorCode.NONE });
      const produced = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: BIG - 1, records: buildRecordBatch({ records: [{ value: 'last' }] }) }] }] });
      expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    } finally {
      other.close();
    }
  });

  it('deleting a topic whose logs are still being created stops the creation and leaves no log or directory', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    const other = await TestClient.connect(tb.port);
    try {
      const big = client.send(ApiKey.CreateTopics, 4, { topics: [topic('big', BIG)], timeoutMs: 60_000 });
      await waitUntilListed(other, 'big');
      const deleted = await other.send(ApiKey.DeleteTopics, 4, { topicNames: ['big'], timeoutMs: 5000 });
      expect(deleted.responses[0].errorCode).toBe(ErrorCode.NONE);
      await big;
      const { readdirSync } = await import('node:fs');
      expect(readdirSync(tb.dataDir).filter((n) => n.startsWith('big-'))).toEqual([]);
      // The name can be used again at once, and the new topic starts empty.
      const again = await other.send(ApiKey.CreateTopics, 4, { topics: [topic('big', 2)] });
      expect(again.topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(readdirSync(tb.dataDir).filter((n) => n.startsWith('big-')).sort()).toEqual(['big-0', 'big-1']);
      const produced = await other.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: 1, records: buildRecordBatch({ records: [{ value: 'new' }] }) }] }] });
      expect(produced.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    } finally {
      other.close();
    }
  });

  it('a CreateTopics past max.broker.partitions is refused up front with the limit named, also for validateOnly and auto-creation', async () => {
    tb = await startTestBroker({ maxBrokerPartitions: 10, autoCreateTopics: true, numPartitions: 4 });
    client = await TestClient.connect(tb.port);
    const res = await client.send(ApiKey.CreateTopics, 4, { topics: [topic('a', 6), topic('b', 5), topic('c', 4)], validateOnly: false });
    expect(res.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode])).toEqual([
      ['a', ErrorCode.NONE],
      ['b', ErrorCode.INVALID_PARTITIONS],
      ['c', ErrorCode.NONE],
    ]);
    expect(res.topics[1].errorMessage).toBe("Creating 5 partition(s) would exceed the broker's partition limit: max.broker.partitions is 10 and 6 partition(s) exist.");
    expect(existsSync(path.join(tb.dataDir, 'b-0'))).toBe(false);
    const dry = await client.send(ApiKey.CreateTopics, 4, { topics: [topic('d', 1)], validateOnly: true });
    expect(dry.topics[0].errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    // Auto-creation is refused too (Metadata answers UNKNOWN_TOPIC_OR_PARTITION, as for any refused auto-creation).
    const md = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
    expect(md.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    // Deleting a topic gives its partitions back.
    await client.send(ApiKey.DeleteTopics, 4, { topicNames: ['a'], timeoutMs: 5000 });
    const retry = await client.send(ApiKey.CreateTopics, 4, { topics: [topic('b', 5)] });
    expect(retry.topics[0].errorCode).toBe(ErrorCode.NONE);
  });
});
