// Issue 7: Kafka's reserved topic names (Topic.java, ControllerApis.createTopics, KafkaApis.getTopicMetadata,
// AutoTopicCreationManager), over real sockets. Metadata used to auto-create an ordinary `__consumer_offsets`.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker({ autoCreateTopics: true });
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

async function metadata(names: string[], allowAutoTopicCreation = true) {
  const res = await client.send(ApiKey.Metadata, 9, { topics: names.map((name) => ({ name })), allowAutoTopicCreation });
  return res.topics as Array<{ name: string; errorCode: number; isInternal: boolean; partitions: unknown[] }>;
}
async function allTopicNames(): Promise<string[]> {
  const res = await client.send(ApiKey.Metadata, 9, { topics: null });
  return res.topics.map((t: { name: string }) => t.name).sort();
}
async function create(name: string) {
  const res = await client.send(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 5000,
  });
  return res.topics[0] as { name: string; errorCode: number; errorMessage: string | null };
}

describe('issue 7: Metadata never auto-creates the broker\'s internal topics', () => {
  it('__consumer_offsets and __transaction_state answer UNKNOWN_TOPIC_OR_PARTITION, isInternal, and are not created', async () => {
    const topics = await metadata(['__consumer_offsets', '__transaction_state']);
    expect(topics.map((t) => [t.name, t.errorCode, t.isInternal, t.partitions.length])).toEqual([
      ['__consumer_offsets', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true, 0],
      ['__transaction_state', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true, 0],
    ]);
    expect(await allTopicNames()).toEqual([]);
  });

  it('the same without auto-creation allowed', async () => {
    const [t] = await metadata(['__consumer_offsets'], false);
    expect([t!.errorCode, t!.isInternal]).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true]);
  });

  it('__cluster_metadata is never a topic: UNKNOWN_TOPIC_OR_PARTITION, not internal by Kafka\'s rule', async () => {
    const [t] = await metadata(['__cluster_metadata']);
    expect([t!.errorCode, t!.isInternal]).toEqual([ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, false]);
    expect(await allTopicNames()).toEqual([]);
  });

  it('any other __ name is an ordinary topic and is auto-created, as Kafka does (e.g. __debezium-heartbeat)', async () => {
    const topics = await metadata(['__debezium-heartbeat.db1', '__share_group_state']);
    expect(topics.map((t) => [t.name, t.errorCode, t.isInternal])).toEqual([
      ['__debezium-heartbeat.db1', ErrorCode.NONE, false],
      // Kafka's Topic.isInternal is by name: true even for an ordinary topic of that name.
      ['__share_group_state', ErrorCode.NONE, true],
    ]);
  });

  it('an auto-creation that would collide through . and _ answers UNKNOWN_TOPIC_OR_PARTITION', async () => {
    expect((await create('a.b')).errorCode).toBe(ErrorCode.NONE);
    const [t] = await metadata(['a_b']);
    expect(t!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(await allTopicNames()).toEqual(['a.b']);
  });
});

describe('issue 7: CreateTopics refuses reserved names as Kafka does', () => {
  it('__cluster_metadata is INVALID_REQUEST "Creation of internal topic __cluster_metadata is prohibited."', async () => {
    const res = await create('__cluster_metadata');
    expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.INVALID_REQUEST, 'Creation of internal topic __cluster_metadata is prohibited.']);
  });

  it('__consumer_offsets and __transaction_state already exist (the broker owns them)', async () => {
    for (const name of ['__consumer_offsets', '__transaction_state']) {
      const res = await create(name);
      expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`]);
    }
    expect(await allTopicNames()).toEqual([]);
  });

  it('a name that collides with an internal topic through . and _ is INVALID_TOPIC_EXCEPTION', async () => {
    const res = await create('__consumer.offsets');
    expect([res.errorCode, res.errorMessage]).toEqual([
      ErrorCode.INVALID_TOPIC_EXCEPTION,
      "Topic '__consumer.offsets' collides with existing topic: __consumer_offsets",
    ]);
  });

  it('a name that collides with an existing topic is INVALID_TOPIC_EXCEPTION with Kafka\'s message', async () => {
    expect((await create('a_b')).errorCode).toBe(ErrorCode.NONE);
    const res = await create('a.b');
    expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic 'a.b' collides with existing topic: a_b"]);
  });

  it('an arbitrary __ name is created as an ordinary topic', async () => {
    expect((await create('__foo')).errorCode).toBe(ErrorCode.NONE);
    const [t] = await metadata(['__foo'], false);
    expect([t!.errorCode, t!.isInternal]).toEqual([ErrorCode.NONE, false]);
  });
});
