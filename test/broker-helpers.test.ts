// The in-process broker's test-suite helpers, used only through the documented API (createBroker from the
// package entry) with kafkajs as the client: bootstrap, createTopic, records, waitForOffset, reset, several
// brokers in one process.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBroker, BrokerError, KafkaError, ErrorCode, type Broker } from '../src/index.js';

let broker: Broker;
let kafka: Kafka;

beforeEach(async () => {
  broker = await createBroker();
  await broker.start();
  kafka = new Kafka({ clientId: 'helpers-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
});
afterEach(async () => {
  await broker.close();
});

describe('in-process helpers', () => {
  it('bootstrap is host:port of the bound listener', () => {
    expect(broker.bootstrap).toBe(`127.0.0.1:${broker.port}`);
  });

  it('createTopic makes a topic kafkajs sees with its partitions and configs', async () => {
    const created = await broker.createTopic('orders', { partitions: 3, configs: { 'cleanup.policy': 'compact' } });
    expect(created).toMatchObject({ name: 'orders', partitions: 3, topicId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const admin = kafka.admin();
    await admin.connect();
    try {
      const md = await admin.fetchTopicMetadata({ topics: ['orders'] });
      expect(md.topics[0]!.partitions).toHaveLength(3);
      const configs = await admin.describeConfigs({ resources: [{ type: 2, name: 'orders', configNames: ['cleanup.policy'] }], includeSynonyms: false });
      expect(configs.resources[0]!.configEntries[0]!.configValue).toBe('compact');
    } finally {
      await admin.disconnect();
    }
  });

  it('createTopic refuses an existing topic with Kafka\'s TOPIC_ALREADY_EXISTS', async () => {
    await broker.createTopic('dup');
    const err = await broker.createTopic('dup').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
  });

  it('records returns what a kafkajs producer wrote: offsets, keys, values, headers, timestamps', async () => {
    await broker.createTopic('events');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'events',
      messages: [
        { key: 'a', value: 'one', headers: { h: 'x' }, timestamp: '1700000000000' },
        { key: null, value: 'two', timestamp: '1700000000001' },
      ],
    });
    await producer.send({ topic: 'events', messages: [{ key: 'c', value: null }] });
    await producer.disconnect();
    const records = await broker.records('events', 0);
    expect(records.map((r) => [r.offset, r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      [0n, 'a', 'one'],
      [1n, null, 'two'],
      [2n, 'c', null],
    ]);
    expect(records[0]!.headers).toEqual([{ key: 'h', value: Buffer.from('x') }]);
    expect(records[0]!.timestamp).toBe(1700000000000n);
    expect(records[1]!.timestamp).toBe(1700000000001n);
  });

  it('records of an unknown partition is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const err = await broker.records('missing', 0).catch((e: unknown) => e);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('waitForOffset resolves once a producer has written up to the offset, even for a topic created later', async () => {
    const waiting = broker.waitForOffset('later', 0, 2, { timeoutMs: 10_000 });
    await broker.createTopic('later');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'later', messages: [{ value: '1' }] });
    await producer.send({ topic: 'later', messages: [{ value: '2' }] });
    await producer.disconnect();
    expect(await waiting).toBe(2n);
    expect(await broker.waitForOffset('later', 0, 1n)).toBe(2n);
  });

  it('waitForOffset rejects with TIMEOUT when the offset is not reached in time', async () => {
    await broker.createTopic('quiet');
    const start = Date.now();
    const err = await broker.waitForOffset('quiet', 0, 1, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('TIMEOUT');
    expect(Date.now() - start).toBeGreaterThanOrEqual(190);
  });

  it('reset drops topics, groups and fault rules in milliseconds, and the broker keeps serving', async () => {
    await broker.createTopic('a', { partitions: 4 });
    await broker.createTopic('b');
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'a', messages: [{ value: 'x' }] });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'g', topic: 'a', partitions: [{ partition: 0, offset: '1' }] });
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toEqual(['g']);
    // A kafkajs client keeps refreshing the topics it used; clients live within one test, as with a real broker.
    await admin.disconnect();
    broker.faults.add({ api: 'Produce', drop: true });

    const start = process.hrtime.bigint();
    await broker.reset();
    const resetMs = Number(process.hrtime.bigint() - start) / 1e6;
    expect(resetMs).toBeLessThan(1000);

    const after = kafka.admin();
    await after.connect();
    try {
      expect((await after.listTopics()).filter((t) => !t.startsWith('__'))).toEqual([]);
      expect((await after.listGroups()).groups).toEqual([]);
      expect(broker.faults.list()).toEqual([]);
      await broker.createTopic('a');
      expect(await broker.records('a', 0)).toEqual([]);
    } finally {
      await after.disconnect();
    }
  });

  it('reset names a group that still has members and drops everything else', async () => {
    await broker.createTopic('busy');
    const consumer = kafka.consumer({ groupId: 'live', sessionTimeout: 6000, heartbeatInterval: 500 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['busy'], fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({ eachMessage: async () => undefined });
    try {
      await Promise.race([ready, new Promise((_, reject) => setTimeout(() => reject(new Error('consumer did not join')), 15_000))]);
      const err = await broker.reset().catch((e: unknown) => e);
      expect((err as BrokerError).code).toBe('GROUPS_NOT_EMPTY');
      expect((err as Error).message).toMatch(/live/);
    } finally {
      await consumer.disconnect();
    }
  });

  it('several brokers run in one process, each with its own topics', async () => {
    const other = await createBroker();
    await other.start();
    try {
      await other.createTopic('only-here');
      expect(other.bootstrap).not.toBe(broker.bootstrap);
      expect(await other.records('only-here', 0)).toEqual([]);
      expect(((await broker.records('only-here', 0).catch((e: unknown) => e)) as KafkaError).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    } finally {
      await other.close();
    }
  });

  it('the helpers refuse to run before start() with NOT_STARTED', async () => {
    const idle = await createBroker();
    try {
      await expect(idle.createTopic('x')).rejects.toMatchObject({ code: 'NOT_STARTED' });
      await expect(idle.reset()).rejects.toMatchObject({ code: 'NOT_STARTED' });
    } finally {
      await idle.close();
    }
  });
});
