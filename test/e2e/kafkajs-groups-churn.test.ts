/**
 * Rebalance correctness under churn (kafkajs 2.2.4): members join and leave repeatedly while a producer keeps
 * writing. At the end, per partition: the committed offsets recorded in __consumer_offsets never go
 * backwards, and the union of the offsets the members consumed covers everything produced.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { kafkaClient } from './support/in-process.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { decodeGroupRecordKey, decodeOffsetCommitValue } from '../../src/group/group-records.js';
import { DEFAULT_OFFSETS_TOPIC_PARTITIONS, OFFSETS_TOPIC_NAME, internalPartitionFor } from '../../src/metadata/internal-topics.js';
import { forEachKeyValueRecord } from '../../src/protocol/records/key-value-batch.js';

const TOPIC = 'churn';
const GROUP = 'churn-g';
const PARTITIONS = 6;

let tb: TestBroker;
let kafka: Kafka;
let producer: Producer;

beforeAll(async () => {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 });
  kafka = kafkaClient(`127.0.0.1:${tb.port}`, 'e2e-churn');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await tb?.stop();
});

/** Every offset commit of GROUP in its `__consumer_offsets` partition, in log order (read from the segment files). */
function committedHistory(): Array<{ partition: number; offset: bigint }> {
  const dir = path.join(tb.dataDir, `${OFFSETS_TOPIC_NAME}-${internalPartitionFor(GROUP, DEFAULT_OFFSETS_TOPIC_PARTITIONS)}`);
  const out: Array<{ partition: number; offset: bigint }> = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    forEachKeyValueRecord(readFileSync(path.join(dir, file)), {
      record: ({ key, value }) => {
        const k = decodeGroupRecordKey(key!);
        if (k.kind !== 'offset' || k.groupId !== GROUP || value === null) return;
        out.push({ partition: k.partition, offset: decodeOffsetCommitValue(k.groupId, k.topic, k.partition, value).offset });
      },
    });
  }
  return out;
}

test('members joining and leaving while producing: commits monotonic per partition, every produced offset consumed', async () => {
  const consumed = new Set<string>();
  let progress: () => void = () => undefined;
  const members: Consumer[] = [];
  const joined = new Map<Consumer, number>();
  const start = async (): Promise<Consumer> => {
    const c = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, rebalanceTimeout: 15000, heartbeatInterval: 300, maxWaitTimeInMs: 100 });
    c.on(c.events.GROUP_JOIN, () => {
      joined.set(c, (joined.get(c) ?? 0) + 1);
      progress();
    });
    await c.connect();
    await c.subscribe({ topic: TOPIC, fromBeginning: true });
    await c.run({
      eachMessage: async ({ partition, message }) => {
        consumed.add(`${partition}:${message.offset}`);
        progress();
      },
    });
    members.push(c);
    return c;
  };
  const until = async (predicate: () => boolean, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        progress = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };

  let producing = true;
  let produced = 0;
  const producerLoop = (async () => {
    while (producing) {
      await producer.send({ topic: TOPIC, messages: Array.from({ length: 20 }, (_, i) => ({ key: `k${produced + i}`, value: `v${produced + i}` })) });
      produced += 20;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();

  const first = await start();
  await until(() => (joined.get(first) ?? 0) >= 1, 30_000, 'first member joined');
  for (let round = 0; round < 4; round++) {
    const added = await start();
    await until(() => (joined.get(added) ?? 0) >= 1, 30_000, `round ${round}: new member joined`);
    const leaving = members.shift()!;
    await leaving.disconnect();
    const before = consumed.size;
    await until(() => consumed.size > before + 20, 30_000, `round ${round}: consumption continues`);
  }
  producing = false;
  await producerLoop;

  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const covered = () => ends.every((e) => Array.from({ length: Number(e.high) }, (_, o) => consumed.has(`${e.partition}:${o}`)).every(Boolean));
  await until(covered, 60_000, 'every produced offset consumed');
  expect(ends.reduce((sum, e) => sum + Number(e.high), 0)).toBe(produced);
  for (const m of members.splice(0)) await m.disconnect();

  const history = committedHistory();
  expect(history.length).toBeGreaterThan(0);
  const last = new Map<number, bigint>();
  for (const { partition, offset } of history) {
    expect(offset, `partition ${partition} went back`).toBeGreaterThanOrEqual(last.get(partition) ?? -1n);
    last.set(partition, offset);
  }
  for (const e of ends) expect(last.get(e.partition)).toBe(BigInt(e.high));
}, 180_000);
