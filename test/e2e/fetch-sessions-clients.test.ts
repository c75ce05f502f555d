/**
 * What real clients send for KIP-227 fetch sessions, counted by the broker's FetchSessionCache (broker.stats()),
 * not mocked: librdkafka 2.0.2 (kcat) and kafkajs 2.2.4 both fetch sessionless — every Fetch carries session id 0
 * and epoch -1 (librdkafka: "KIP-227 not supported"; kafkajs: hard-coded in its Fetch request builders), so the
 * broker opens no session for them and they consume everything as before. Clients that do open sessions (the Java
 * consumer, franz-go) are covered by the raw protocol tests in test/handlers/fetch-sessions.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { kcatAvailable, parseKcatJson, runProcess } from './support/kcat.js';
import { kafkaClient, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let client: TestClient;
const PARTITIONS = 4;
const BATCHES = 10;
const PER_BATCH = 10;

beforeAll(async () => {
  expect(kcatAvailable(), 'kcat must be installed (apt-get install kcat)').toBe(true);
  env = await startInProcessBroker();
  client = await TestClient.connect(Number(env.bootstrap.split(':')[1]));
});

afterAll(async () => {
  client?.close();
  await env?.close();
});

async function fillTopic(topic: string): Promise<void> {
  const created = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: topic, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(created.topics[0].errorCode).toBe(0);
  for (let b = 0; b < BATCHES; b++) {
    for (let p = 0; p < PARTITIONS; p++) {
      const records = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: Array.from({ length: PER_BATCH }, (_, i) => ({ key: `k${i}`, value: `${p}-${b * PER_BATCH + i}` })) });
      const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: p, records }] }] });
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
    }
  }
}

const expectedValues = (): string[] =>
  Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: BATCHES * PER_BATCH }, (_, i) => `${p}-${i}`)).flat().sort();

describe('real clients and fetch sessions', () => {
  test('kcat (librdkafka 2.0.2) fetches sessionless (session id 0, epoch -1) and consumes every record', async () => {
    await fillTopic('kcat-sessions');
    const before = env.broker.stats().fetchSessions;
    // Small fetches, so the consume takes many Fetch requests.
    const result = await runProcess(
      'kcat',
      ['-C', '-b', env.bootstrap, '-t', 'kcat-sessions', '-e', '-o', 'beginning', '-J', '-X', 'fetch.message.max.bytes=200', '-X', 'message.max.bytes=1000', '-X', 'fetch.max.bytes=1000', '-d', 'fetch,protocol'],
      { timeoutMs: 60_000 },
    );
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const values = parseKcatJson(result.stdout).map((r) => r.payload as string);
    expect(values.sort()).toEqual(expectedValues());
    const after = env.broker.stats().fetchSessions;
    const fetches = after.sessionlessFetches - before.sessionlessFetches;
    expect(fetches).toBeGreaterThan(PARTITIONS);
    expect(after.fullFetches - before.fullFetches).toBe(0);
    expect(after.incrementalFetches - before.incrementalFetches).toBe(0);
    expect(after.sessions).toBe(0);
    // librdkafka 2.0.2 does not know KIP-714: it sends no telemetry requests although both are advertised.
    expect(result.stderr).not.toMatch(/GetTelemetrySubscriptions|PushTelemetry/);
  });

  test('kafkajs 2.2.4 fetches sessionless (session id 0, epoch -1) and consumes every record in a group', async () => {
    await fillTopic('kafkajs-sessions');
    const before = env.broker.stats().fetchSessions;
    const kafka = kafkaClient(env.bootstrap, 'fetch-sessions-kafkajs');
    const consumer = kafka.consumer({ groupId: 'fetch-sessions', maxBytesPerPartition: 200, maxBytes: 1000, maxWaitTimeInMs: 100 });
    const values: string[] = [];
    const total = PARTITIONS * BATCHES * PER_BATCH;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: 'kafkajs-sessions', fromBeginning: true });
      const done = new Promise<void>((resolve) => {
        void consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length === total) resolve();
          },
        });
      });
      await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${values.length} of ${total}`)), 30_000))]);
    } finally {
      await consumer.disconnect();
    }
    expect(values.sort()).toEqual(expectedValues());
    const after = env.broker.stats().fetchSessions;
    expect(after.sessionlessFetches - before.sessionlessFetches).toBeGreaterThan(PARTITIONS);
    expect(after.fullFetches - before.fullFetches).toBe(0);
    expect(after.incrementalFetches - before.incrementalFetches).toBe(0);
    expect(after.sessions).toBe(0);
  });
});
