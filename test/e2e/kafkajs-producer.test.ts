/**
 * kafkajs 2.2.4 producer against an in-process broker. kafkajs cannot consume without consumer groups, so what
 * was stored is checked independently: admin.fetchTopicOffsets for the watermarks and kcat (librdkafka) for the
 * records themselves, each at the exact offset the Produce response acknowledged.
 */
import { CompressionTypes, Partitioners, type Admin, type Kafka, type Message, type PartitionMetadata, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kcatAvailable, kcatConsume, type KcatRecord } from './support/kcat.js';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

const PARTITIONS = 3;
const partitionMetadata: PartitionMetadata[] = Array.from({ length: PARTITIONS }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
  offlineReplicas: [],
}));
/** The same partitioner the producer uses (Java-compatible murmur2 on the key), to predict each message's partition. */
const partitionOf = (topic: string, message: Message): number =>
  Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message });

beforeAll(async () => {
  expect(kcatAvailable(), 'kcat must be installed (apt-get install kcat)').toBe(true);
  env = await startInProcessBroker();
  kafka = kafkaClient(env.bootstrap, 'e2e-kafkajs-producer');
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await env?.close();
});

async function createTopic(topic: string, numPartitions = PARTITIONS): Promise<void> {
  expect(await admin.createTopics({ topics: [{ topic, numPartitions }] })).toBe(true);
}

function makeMessages(prefix: string, count: number, withKeys = true): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    key: withKeys ? `${prefix}-key-${i % 17}` : null,
    value: `${prefix}#${i}|${'xyzé日"\\\t'.repeat(i % 40)}|${i}`,
    headers: { h1: 'v1', idx: String(i), multi: ['a', `b${i % 3}`] },
  }));
}

interface Placed {
  message: Message;
  partition: number;
  offset: number;
}

/**
 * Sends `messages` in chunks of `chunk` per send() and returns where each one must be: kafkajs groups a send's
 * messages by partition in order, so message k of partition p gets baseOffset(p) + k.
 */
async function sendAndPlace(topic: string, messages: Message[], acks: number, chunk = 100, compression?: CompressionTypes): Promise<Placed[]> {
  const placed: Placed[] = [];
  for (let start = 0; start < messages.length; start += chunk) {
    const slice = messages.slice(start, start + chunk);
    const result = await producer.send({ topic, acks, messages: slice, ...(compression === undefined ? {} : { compression }) });
    const nextOffset = new Map<number, number>();
    for (const r of result) {
      expect(r.errorCode).toBe(0);
      expect(r.topicName).toBe(topic);
      nextOffset.set(r.partition, Number(r.baseOffset));
    }
    for (const message of slice) {
      const partition = message.partition ?? partitionOf(topic, message);
      const offset = nextOffset.get(partition);
      expect(offset, `no Produce result for partition ${partition}`).toBeDefined();
      placed.push({ message, partition, offset: offset as number });
      nextOffset.set(partition, (offset as number) + 1);
    }
  }
  return placed;
}

function headerPairs(message: Message): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) pairs.push([name, v === undefined ? '' : v.toString()]);
  }
  return pairs;
}

/** Reads the topic back with kcat and checks every placed message at its exact (partition, offset). */
async function expectStoredExactly(topic: string, placed: Placed[]): Promise<KcatRecord[]> {
  const records = await kcatConsume(env.bootstrap, topic, { timeoutMs: 60_000 });
  const at = new Map(records.map((r) => [`${r.partition}@${r.offset}`, r]));
  const problems: string[] = [];
  for (const p of placed) {
    const r = at.get(`${p.partition}@${p.offset}`);
    const wantKey = p.message.key === null || p.message.key === undefined ? null : p.message.key.toString();
    const wantValue = p.message.value === null ? null : p.message.value.toString();
    if (r === undefined) problems.push(`missing ${p.partition}@${p.offset}`);
    else if (r.key !== wantKey || r.payload !== wantValue || JSON.stringify(r.headers) !== JSON.stringify(headerPairs(p.message))) {
      problems.push(`${p.partition}@${p.offset}: got ${JSON.stringify([r.key, r.payload?.slice(0, 50), r.headers])}`);
    }
    if (problems.length >= 5) break;
  }
  expect(problems).toEqual([]);
  expect(records).toHaveLength(placed.length);
  return records;
}

async function expectWatermarks(topic: string, placed: Placed[]): Promise<void> {
  const counts = new Array<number>(PARTITIONS).fill(0);
  for (const p of placed) counts[p.partition] = (counts[p.partition] ?? 0) + 1;
  const offsets = await admin.fetchTopicOffsets(topic);
  const got = offsets.sort((a, b) => a.partition - b.partition).map((o) => [o.partition, Number(o.low), Number(o.high)]);
  expect(got).toEqual(counts.map((c, partition) => [partition, 0, c]));
}

describe('kafkajs producer', () => {
  test('acks=-1: keyed messages with headers land at the acknowledged offsets, byte-exact', async () => {
    const topic = 'kjs-acks-all';
    await createTopic(topic);
    const placed = await sendAndPlace(topic, makeMessages('all', 600), -1);
    await expectWatermarks(topic, placed);
    await expectStoredExactly(topic, placed);
  });

  test('acks=1: messages land at the acknowledged offsets', async () => {
    const topic = 'kjs-acks-one';
    await createTopic(topic);
    const placed = await sendAndPlace(topic, makeMessages('one', 300), 1, 50);
    await expectWatermarks(topic, placed);
    await expectStoredExactly(topic, placed);
  });

  test('acks=0: no response is awaited, yet every message is stored in send order per partition', async () => {
    const topic = 'kjs-acks-zero';
    await createTopic(topic);
    const messages = makeMessages('zero', 300).map((m, i) => ({ ...m, partition: i % PARTITIONS }));
    for (let start = 0; start < messages.length; start += 50) {
      await producer.send({ topic, acks: 0, messages: messages.slice(start, start + 50) });
    }
    const deadline = Date.now() + 15_000;
    let total = 0;
    while (Date.now() < deadline) {
      const offsets = await admin.fetchTopicOffsets(topic);
      total = offsets.reduce((sum, o) => sum + Number(o.high), 0);
      if (total >= messages.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(total).toBe(messages.length);
    // With explicit partitions and one connection, partition p holds messages p, p+3, p+6, … in order.
    const placed: Placed[] = messages.map((message, i) => ({ message, partition: i % PARTITIONS, offset: Math.floor(i / PARTITIONS) }));
    await expectStoredExactly(topic, placed);
  });

  test('acks=-1 with gzip compression: stored batches decompress to the same records', async () => {
    const topic = 'kjs-gzip';
    await createTopic(topic);
    const placed = await sendAndPlace(topic, makeMessages('gz', 500), -1, 250, CompressionTypes.GZIP);
    await expectWatermarks(topic, placed);
    await expectStoredExactly(topic, placed);
  });

  test('null keys and null values (tombstones) round-trip as null', async () => {
    const topic = 'kjs-nulls';
    await createTopic(topic, 1);
    const messages: Message[] = [
      { key: null, value: 'no key', headers: {} },
      { key: 'tomb', value: null, headers: {} },
      { key: 'k', value: 'v', headers: { empty: '' } },
    ];
    const placed = await sendAndPlace(topic, messages.map((m) => ({ ...m, partition: 0 })), -1);
    expect(placed.map((p) => p.offset)).toEqual([0, 1, 2]);
    await expectStoredExactly(topic, placed);
  });

  test('sendBatch to two topics acknowledges each topic separately', async () => {
    await createTopic('kjs-batch-a', 1);
    await createTopic('kjs-batch-b', 2);
    const result = await producer.sendBatch({
      acks: -1,
      topicMessages: [
        { topic: 'kjs-batch-a', messages: [{ value: 'a0', partition: 0 }, { value: 'a1', partition: 0 }] },
        { topic: 'kjs-batch-b', messages: [{ value: 'b0', partition: 1 }] },
      ],
    });
    const summary = result.map((r) => [r.topicName, r.partition, r.errorCode, Number(r.baseOffset)]).sort();
    expect(summary).toEqual([
      ['kjs-batch-a', 0, 0, 0],
      ['kjs-batch-b', 1, 0, 0],
    ]);
    const b = await kcatConsume(env.bootstrap, 'kjs-batch-b');
    expect(b.map((r) => [r.partition, r.offset, r.payload])).toEqual([[1, 0, 'b0']]);
  });

  test('a 900 KB message is accepted and read back whole', async () => {
    const topic = 'kjs-large';
    await createTopic(topic, 1);
    const value = 'L'.repeat(900 * 1024);
    const placed = await sendAndPlace(topic, [{ key: 'big', value, partition: 0 }], -1);
    const [record] = await expectStoredExactly(topic, placed);
    expect(record?.payload?.length).toBe(value.length);
  });

  test('a batch above message.max.bytes is rejected with MESSAGE_TOO_LARGE and nothing is stored', async () => {
    const topic = 'kjs-too-large';
    await createTopic(topic, 1);
    const tight = kafkaClient(env.bootstrap, 'e2e-kafkajs-too-large', { retry: { retries: 0 } }).producer({
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await tight.connect();
    try {
      const error = await rejection(() =>
        tight.send({ topic, acks: -1, messages: [{ value: Buffer.alloc(2 * 1024 * 1024, 7), partition: 0 }] }),
      );
      expect(errorTypes(error)).toContain('MESSAGE_TOO_LARGE');
    } finally {
      await tight.disconnect();
    }
    const [offsets] = await admin.fetchTopicOffsets(topic);
    expect(Number(offsets?.high)).toBe(0);
  });

  test('producing to a missing topic with allowAutoTopicCreation=false fails with UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const strict = kafkaClient(env.bootstrap, 'e2e-kafkajs-no-autocreate', {
      retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 },
    }).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await strict.connect();
    try {
      const error = await rejection(() => strict.send({ topic: 'kjs-never-created', acks: -1, messages: [{ value: 'x' }] }));
      expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    } finally {
      await strict.disconnect();
    }
    expect(await admin.listTopics()).not.toContain('kjs-never-created');
  });

  test('producing to a missing topic with allowAutoTopicCreation=true auto-creates it (broker default on)', async () => {
    const auto = kafkaClient(env.bootstrap, 'e2e-kafkajs-autocreate').producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: true,
    });
    await auto.connect();
    try {
      const result = await auto.send({ topic: 'kjs-auto-created', acks: -1, messages: [{ key: 'k', value: 'first' }] });
      expect(result.map((r) => [r.errorCode, Number(r.baseOffset)])).toEqual([[0, 0]]);
    } finally {
      await auto.disconnect();
    }
    expect(await admin.listTopics()).toContain('kjs-auto-created');
    const records = await kcatConsume(env.bootstrap, 'kjs-auto-created');
    expect(records.map((r) => [r.key, r.payload])).toEqual([['k', 'first']]);
  });
});
