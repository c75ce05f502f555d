/**
 * kafkajs 2.2.4 admin describeConfigs (DescribeConfigs v2) and alterConfigs (AlterConfigs v1) against an in-process
 * broker: the values, sources, synonyms and read-only flags Kafka 3.9 reports, validation with Kafka's codes, changes
 * applied to running logs, and both topic and dynamic broker configs kept across a restart.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigResourceTypes, ConfigSource, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';
import { makeTempDir } from '../helpers/in-process-broker.js';

let env: InProcessBroker;
let admin: Admin;
let producer: Producer;

async function connect(): Promise<void> {
  const kafka = kafkaClient(env.bootstrap, 'e2e-kafkajs-configs', { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
}

async function disconnect(): Promise<void> {
  await producer?.disconnect();
  await admin?.disconnect();
}

beforeAll(async () => {
  env = await startInProcessBroker({ dataDir: makeTempDir('eddy-e2e-configs-') });
  await connect();
});

afterAll(async () => {
  await disconnect();
  await env?.close();
});

type Entry = { configName: string; configValue: string | null; readOnly: boolean; isDefault: boolean; configSource: number; isSensitive: boolean; configSynonyms: Array<{ configName: string; configValue: string | null; configSource: number }> };

async function topicConfigs(topic: string, configNames?: string[]): Promise<Map<string, Entry>> {
  const { resources } = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames }] });
  expect(resources).toHaveLength(1);
  expect(resources[0]!.errorCode).toBe(0);
  return new Map((resources[0]!.configEntries as Entry[]).map((e) => [e.configName, e]));
}

async function brokerConfigs(configNames?: string[]): Promise<Map<string, Entry>> {
  const { resources } = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configNames }] });
  expect(resources[0]!.errorCode).toBe(0);
  return new Map((resources[0]!.configEntries as Entry[]).map((e) => [e.configName, e]));
}

function segmentFiles(topic: string, partition = 0): string[] {
  return readdirSync(path.join(env.dataDir, `${topic}-${partition}`)).filter((f) => f.endsWith('.log'));
}

describe('kafkajs admin: describeConfigs', () => {
  test('a topic reports all 36 Kafka topic configs: its own value as DYNAMIC_TOPIC_CONFIG, the rest as Kafka defaults with their broker synonyms', async () => {
    await admin.createTopics({ topics: [{ topic: 'cfg-describe', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    const configs = await topicConfigs('cfg-describe');
    expect(configs.size).toBe(36);
    expect(configs.get('retention.ms')).toMatchObject({
      configValue: '60000',
      configSource: ConfigSource.TOPIC_CONFIG,
      isDefault: false,
      readOnly: false,
      isSensitive: false,
      configSynonyms: [{ configName: 'retention.ms', configValue: '60000', configSource: ConfigSource.TOPIC_CONFIG }],
    });
    expect(configs.get('segment.bytes')).toMatchObject({
      configValue: '1073741824',
      configSource: ConfigSource.DEFAULT_CONFIG,
      isDefault: true,
      configSynonyms: [{ configName: 'log.segment.bytes', configValue: '1073741824', configSource: ConfigSource.DEFAULT_CONFIG }],
    });
    expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'delete', configSource: ConfigSource.DEFAULT_CONFIG });
    expect(configs.get('max.message.bytes')?.configSynonyms).toEqual([{ configName: 'message.max.bytes', configValue: '1048588', configSource: ConfigSource.DEFAULT_CONFIG }]);
    expect(configs.get('flush.messages')?.configValue).toBe('9223372036854775807');
    expect(configs.get('min.cleanable.dirty.ratio')?.configValue).toBe('0.5');
    expect(configs.get('message.timestamp.type')?.configValue).toBe('CreateTime');
  });

  test('configNames picks configs; an unknown name is left out without an error', async () => {
    const configs = await topicConfigs('cfg-describe', ['segment.ms', 'no.such.config']);
    expect([...configs.keys()]).toEqual(['segment.ms']);
    // Kafka: segment.ms falls back to log.roll.ms, then log.roll.hours; only the hours default exists, so no synonym.
    expect(configs.get('segment.ms')).toMatchObject({ configValue: '604800000', configSource: ConfigSource.DEFAULT_CONFIG, configSynonyms: [] });
  });

  test('an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const error = await rejection(() => admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-missing' }] }));
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('the broker reports its configs with Kafka names, defaults, and read-only unless Kafka updates them dynamically', async () => {
    const configs = await brokerConfigs();
    expect(configs.get('message.max.bytes')).toMatchObject({ configValue: '1048588', readOnly: false, configSource: ConfigSource.DEFAULT_CONFIG });
    expect(configs.get('log.retention.hours')).toMatchObject({ configValue: '168', readOnly: true, configSource: ConfigSource.DEFAULT_CONFIG });
    expect(configs.get('log.retention.ms')).toMatchObject({ configValue: null, readOnly: false });
    expect(configs.get('num.partitions')).toMatchObject({ configValue: '1', readOnly: true });
    expect(configs.get('node.id')).toMatchObject({ configValue: '1', readOnly: true, configSource: ConfigSource.STATIC_BROKER_CONFIG });
    // createBroker's library default (no initial rebalance delay) differs from Kafka's, so it is a static setting.
    expect(configs.get('group.initial.rebalance.delay.ms')).toMatchObject({ configValue: '0', configSource: ConfigSource.STATIC_BROKER_CONFIG });
  });
});

describe('kafkajs admin: alterConfigs', () => {
  test('a topic alteration replaces the whole set: names left out return to the broker default', async () => {
    await admin.createTopics({ topics: [{ topic: 'cfg-replace', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-replace', configEntries: [{ name: 'cleanup.policy', value: 'compact,delete' }] }] });
    const configs = await topicConfigs('cfg-replace', ['retention.ms', 'cleanup.policy']);
    expect(configs.get('cleanup.policy')).toMatchObject({ configValue: 'compact,delete', configSource: ConfigSource.TOPIC_CONFIG });
    expect(configs.get('retention.ms')).toMatchObject({ configValue: '604800000', configSource: ConfigSource.DEFAULT_CONFIG });
  });

  test('validateOnly checks and changes nothing', async () => {
    await admin.alterConfigs({ validateOnly: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-replace', configEntries: [{ name: 'retention.ms', value: '1000' }] }] });
    const configs = await topicConfigs('cfg-replace', ['retention.ms', 'cleanup.policy']);
    expect(configs.get('retention.ms')?.configValue).toBe('604800000');
    expect(configs.get('cleanup.policy')?.configValue).toBe('compact,delete');
  });

  test('retention.ms=-5, cleanup.policy=bogus and an unknown name are INVALID_CONFIG; retention.ms=-1 is accepted', async () => {
    for (const entry of [{ name: 'retention.ms', value: '-5' }, { name: 'cleanup.policy', value: 'bogus' }, { name: 'no.such.config', value: '1' }]) {
      const error = await rejection(() => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-replace', configEntries: [entry] }] }));
      expect(errorTypes(error), entry.name).toContain('INVALID_CONFIG');
    }
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-replace', configEntries: [{ name: 'retention.ms', value: '-1' }] }] });
    expect((await topicConfigs('cfg-replace', ['retention.ms'])).get('retention.ms')?.configValue).toBe('-1');
  });

  test('altering an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const error = await rejection(() =>
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-missing', configEntries: [{ name: 'retention.ms', value: '1000' }] }] }),
    );
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('a new segment.bytes applies to the running partition log at once: the next appends roll small segments', async () => {
    await admin.createTopics({ topics: [{ topic: 'cfg-live' }] });
    await producer.send({ topic: 'cfg-live', messages: [{ value: 'x'.repeat(600) }] });
    expect(segmentFiles('cfg-live')).toHaveLength(1);
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-live', configEntries: [{ name: 'segment.bytes', value: '1024' }] }] });
    for (let i = 0; i < 4; i++) await producer.send({ topic: 'cfg-live', messages: [{ value: 'y'.repeat(600) }] });
    expect(segmentFiles('cfg-live').length).toBeGreaterThanOrEqual(4);
  });

  test('a dynamic broker message.max.bytes changes the effective max.message.bytes of topics without an override, and produce enforces it', async () => {
    await admin.createTopics({ topics: [{ topic: 'cfg-broker-default' }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'message.max.bytes', value: '2000' }] }] });
    const configs = await topicConfigs('cfg-broker-default', ['max.message.bytes']);
    expect(configs.get('max.message.bytes')).toMatchObject({
      configValue: '2000',
      configSource: ConfigSource.DYNAMIC_BROKER_CONFIG,
      configSynonyms: [
        { configName: 'message.max.bytes', configValue: '2000', configSource: ConfigSource.DYNAMIC_BROKER_CONFIG },
        { configName: 'message.max.bytes', configValue: '1048588', configSource: ConfigSource.DEFAULT_CONFIG },
      ],
    });
    const error = await rejection(() => producer.send({ topic: 'cfg-broker-default', messages: [{ value: 'z'.repeat(5000) }] }));
    expect(errorTypes(error)).toContain('MESSAGE_TOO_LARGE');
    expect((await brokerConfigs(['message.max.bytes'])).get('message.max.bytes')).toMatchObject({ configValue: '2000', configSource: ConfigSource.DYNAMIC_BROKER_CONFIG });
  });

  test('a read-only broker config (log.retention.hours) is INVALID_REQUEST', async () => {
    const readOnly = await rejection(() =>
      admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'log.retention.hours', value: '1' }] }] }),
    );
    expect(errorTypes(readOnly)).toContain('INVALID_REQUEST');
  });

  test('topic and broker configs set by alterConfigs survive a restart', async () => {
    await admin.createTopics({ topics: [{ topic: 'cfg-restart' }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-restart', configEntries: [{ name: 'retention.bytes', value: '123456' }] }] });
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.BROKER, name: '1', configEntries: [{ name: 'log.segment.bytes', value: '2048' }] }] });
    await disconnect();
    const dataDir = env.dataDir;
    await env.broker.close();
    env = await startInProcessBroker({ dataDir });
    await connect();
    const configs = await topicConfigs('cfg-restart', ['retention.bytes', 'segment.bytes']);
    expect(configs.get('retention.bytes')).toMatchObject({ configValue: '123456', configSource: ConfigSource.TOPIC_CONFIG });
    expect(configs.get('segment.bytes')).toMatchObject({ configValue: '2048', configSource: ConfigSource.DYNAMIC_BROKER_CONFIG });
    // The restored broker default applies to the log: 600-byte records roll a 2048-byte segment every few appends.
    for (let i = 0; i < 8; i++) await producer.send({ topic: 'cfg-restart', messages: [{ value: 'r'.repeat(600) }] });
    expect(segmentFiles('cfg-restart').length).toBeGreaterThanOrEqual(2);
  });
});
