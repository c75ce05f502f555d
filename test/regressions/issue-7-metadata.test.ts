// Issue 7, divergence 8: Metadata as Kafka 3.9 answers it (KafkaApis.handleTopicMetadataRequest,
// AuthHelper.authorizedOperations, AclEntry.supportedOperations, MetadataRequest.getErrorResponse), over sockets.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
let ordersId: Buffer;
const NOT_REQUESTED = -2147483648;

beforeEach(async () => {
  tb = await startTestBroker({ autoCreateTopics: false });
  client = await TestClient.connect(tb.port);
  const res = await client.send(ApiKey.CreateTopics, 7, {
    topics: [{ name: 'orders', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  ordersId = res.topics[0].topicId;
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

describe('issue 7: Metadata authorized operations', () => {
  it('cluster authorized operations are 8096 (v8–v10, when asked), Kafka\'s supported cluster operations', async () => {
    for (const version of [8, 9, 10]) {
      const res = await client.send(ApiKey.Metadata, version, { topics: [], includeClusterAuthorizedOperations: true });
      expect(res.clusterAuthorizedOperations, `v${version}`).toBe(8096);
    }
    const notAsked = await client.send(ApiKey.Metadata, 10, { topics: [], includeClusterAuthorizedOperations: false });
    expect(notAsked.clusterAuthorizedOperations).toBe(NOT_REQUESTED);
  });

  it('topic authorized operations are 3576 on existing and missing named topics when asked', async () => {
    const res = await client.send(ApiKey.Metadata, 9, {
      topics: [{ name: 'orders' }, { name: 'missing' }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: true,
    });
    expect(res.topics.map((t: { name: string; errorCode: number; topicAuthorizedOperations: number }) => [t.name, t.errorCode, t.topicAuthorizedOperations])).toEqual([
      ['orders', ErrorCode.NONE, 3576],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 3576],
    ]);
  });
});

describe('issue 7: Metadata topic lists', () => {
  it('a topic named twice is answered once', async () => {
    const res = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'orders' }, { name: 'orders' }], allowAutoTopicCreation: false });
    expect(res.topics.map((t: { name: string }) => t.name)).toEqual(['orders']);
  });

  it('existing topics come before missing ones, as Kafka orders them', async () => {
    const res = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 'missing' }, { name: 'orders' }, { name: 'missing' }], allowAutoTopicCreation: false });
    expect(res.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode])).toEqual([
      ['orders', ErrorCode.NONE],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
  });

  it('v10 returns topic ids', async () => {
    const res = await client.send(ApiKey.Metadata, 10, { topics: [{ name: 'orders', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
    expect(res.topics[0].topicId.equals(ordersId)).toBe(true);
  });

  it('v12 looks topics up by id, twice-named ids answered once, unknown ids first', async () => {
    const unknown = Buffer.alloc(16, 9);
    const res = await client.send(ApiKey.Metadata, 12, {
      topics: [{ name: null, topicId: ordersId }, { name: null, topicId: unknown }, { name: null, topicId: ordersId }],
      allowAutoTopicCreation: false,
    });
    expect(res.topics.map((t: { name: string | null; errorCode: number; isInternal: boolean }) => [t.name, t.errorCode, t.isInternal])).toEqual([
      [null, ErrorCode.UNKNOWN_TOPIC_ID, false],
      ['orders', ErrorCode.NONE, false],
    ]);
  });
});

describe('issue 7: Metadata v10/v11 with topic ids', () => {
  for (const version of [10, 11]) {
    it(`v${version} with a null name and a topic id answers INVALID_REQUEST for the whole request`, async () => {
      const res = await client.send(ApiKey.Metadata, version, {
        topics: [{ name: 'orders', topicId: Buffer.alloc(16) }, { name: null, topicId: ordersId }],
        allowAutoTopicCreation: false,
      });
      expect(res.brokers).toEqual([]);
      expect(res.topics.map((t: { name: string; errorCode: number; topicId: Buffer; partitions: unknown[] }) => [t.name, t.errorCode, t.topicId.equals(ordersId), t.partitions.length])).toEqual([
        ['orders', ErrorCode.INVALID_REQUEST, false, 0],
        ['', ErrorCode.INVALID_REQUEST, true, 0],
      ]);
    });
  }

  it('v11 with a name and a non-zero topic id answers INVALID_REQUEST too', async () => {
    const res = await client.send(ApiKey.Metadata, 11, { topics: [{ name: 'orders', topicId: ordersId }], allowAutoTopicCreation: false });
    expect(res.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual([ErrorCode.INVALID_REQUEST]);
  });
});
