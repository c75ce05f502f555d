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
