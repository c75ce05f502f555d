import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;

async function start(options: Parameters<typeof startTestBroker>[0] = {}) {
  tb = await startTestBroker(options);
  client = await TestClient.connect(tb.port);
  return client;
}
afterEach(async () => {
  client?.close();
  await tb?.stop();
  tb = undefined;
  client = undefined;
});

async function createTopic(c: TestClient, name: string, numPartitions = 1) {
  const res = await c.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

describe('Metadata', () => {
  it('names this broker as the only broker and the controller, at the advertised address', async () => {
    const c = await start({ advertisedHost: 'kafka.local', advertisedPort: 19092, nodeId: 7 });
    const res = await c.send(ApiKey.Metadata, 9, { topics: [] });
    expect(res.brokers).toEqual([{ nodeId: 7, host: 'kafka.local', port: 19092, rack: null }]);
    expect(res.controllerId).toBe(7);
    expect(res.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('v0 with an empty topic list returns all topics; v1 null returns all and v1 [] returns none', async () => {
    const c = await start();
    await createTopic(c, 'alpha', 2);
    await createTopic(c, 'beta', 1);
    const v0 = await c.send(ApiKey.Metadata, 0, { topics: [] });
    expect(v0.topics.map((t: { name: string }) => t.name).sort()).toEqual(['alpha', 'beta']);
    const all = await c.send(ApiKey.Metadata, 1, { topics: null });
    expect(all.topics).toHaveLength(2);
    const none = await c.send(ApiKey.Metadata, 1, { topics: [] });
    expect(none.topics).toHaveLength(0);
  });

  it('describes each partition with this broker as leader, replica and ISR', async () => {
    const c = await start({ nodeId: 3 });
    await createTopic(c, 'parts', 3);
    const res = await c.send(ApiKey.Metadata, 9, { topics: [{ name: 'parts' }] });
    expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(res.topics[0].partitions).toEqual([0, 1, 2].map((p) => ({
      errorCode: 0, partitionIndex: p, leaderId: 3, leaderEpoch: 0, replicaNodes: [3], isrNodes: [3], offlineReplicas: [],
    })));
  });

  it('auto-creates an unknown topic with num.partitions when allowed', async () => {
    const c = await start({ numPartitions: 4 });
    const res = await c.send(ApiKey.Metadata, 4, { topics: [{ name: 'auto' }], allowAutoTopicCreation: true });
    expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(res.topics[0].partitions).toHaveLength(4);
  });

  it('auto-creates for Metadata v1 (no allow flag: the schema default true applies)', async () => {
    const c = await start();
    const res = await c.send(ApiKey.Metadata, 1, { topics: [{ name: 'kafka-python-topic' }] });
    expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
  });

  it('does not auto-create when the request says no or the broker disables it', async () => {
    const c = await start();
    const denied = await c.send(ApiKey.Metadata, 4, { topics: [{ name: 'nope' }], allowAutoTopicCreation: false });
    expect(denied.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    client!.close();
    await tb!.stop();
    const c2 = await start({ autoCreateTopics: false });
    const off = await c2.send(ApiKey.Metadata, 4, { topics: [{ name: 'nope' }], allowAutoTopicCreation: true });
    expect(off.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('answers INVALID_TOPIC_EXCEPTION for a name Kafka rejects', async () => {
    const c = await start();
    const res = await c.send(ApiKey.Metadata, 4, { topics: [{ name: 'bad/name' }], allowAutoTopicCreation: true });
    expect(res.topics[0].errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
  });

  it('returns topic ids from v10 and looks topics up by id from v12', async () => {
    const c = await start();
    await createTopic(c, 'ids', 1);
    const byName = await c.send(ApiKey.Metadata, 12, { topics: [{ name: 'ids', topicId: Buffer.alloc(16) }] });
    const topicId: Buffer = byName.topics[0].topicId;
    expect(topicId.equals(Buffer.alloc(16))).toBe(false);
    const byId = await c.send(ApiKey.Metadata, 12, { topics: [{ name: null, topicId }] });
    expect(byId.topics[0].name).toBe('ids');
    const unknown = await c.send(ApiKey.Metadata, 12, { topics: [{ name: null, topicId: Buffer.alloc(16, 1) }] });
    expect(unknown.topics[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('keeps topics, topic ids and the cluster id across a restart', async () => {
    const c = await start();
    await createTopic(c, 'durable-topic', 2);
    const before = await c.send(ApiKey.Metadata, 12, { topics: null });
    c.close();
    const dataDir = tb!.dataDir;
    await tb!.stop({ keepData: true });
    const c2 = await start({ dataDir });
    const after = await c2.send(ApiKey.Metadata, 12, { topics: null });
    expect(after.clusterId).toBe(before.clusterId);
    expect(after.topics).toEqual(before.topics);
  });
});
