/**
 * Issue 9, idempotent producer: kafkajs 2.2.4 with `idempotent: true` against an in-process broker, through a TCP
 * proxy (test/helpers/idempotence-proxy.ts) that the broker advertises, so kafkajs only talks through it.
 *
 * While sends are running the proxy lets a Produce reach the broker, swallows the broker's answer and drops every
 * connection; kafkajs retries the same batch with the same sequence numbers, and the broker must answer it as a
 * duplicate. What was stored is read back with kcat (kafkajs cannot consume without a group) and from the .log
 * files: every message exactly once, in send order per partition, every batch with the producer's id and
 * gap-free sequences.
 */
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { DroppingProxy, type DropResult } from '../helpers/idempotence-proxy.js';
import { checkIdempotentBatches } from './support/idempotent-batches.js';
import { kafkaClient, startInProcessBroker, type InProcessBroker } from './support/in-process.js';
import { byPartition, kcatAvailable, kcatConsume, offsetGaps } from './support/kcat.js';

const PARTITIONS = 3;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setUp(topic: string): Promise<{ env: InProcessBroker; proxy: DroppingProxy; kafka: Kafka }> {
  const proxy = await DroppingProxy.start(1);
  cleanups.push(() => proxy.close());
  const env = await startInProcessBroker({ advertisedHost: '127.0.0.1', advertisedPort: proxy.port });
  cleanups.push(() => env.close());
  proxy.setUpstream(Number(env.bootstrap.split(':')[1]));
  const kafka = kafkaClient(proxy.bootstrap, 'e2e-kafkajs-idempotent', { retry: { retries: 8, initialRetryTime: 50, maxRetryTime: 500 } });
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })).toBe(true);
  } finally {
    await admin.disconnect();
  }
  return { env, proxy, kafka };
}

async function idempotentProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return producer;
}

const value = (i: number): string => `#${i}|${'x'.repeat(i % 50)}`;

describe('kafkajs 2.2.4 idempotent producer', () => {
  test('retries of Produce requests whose answers were lost to dropped connections are stored once: every message exactly once, in send order, batches with one producer id and gap-free sequences', async () => {
    expect(kcatAvailable(), 'kcat must be installed (apt-get install kcat)').toBe(true);
    const topic = 'kafkajs-idem';
    const { env, proxy, kafka } = await setUp(topic);
    const producer = await idempotentProducer(kafka);
    const SENDS = 30;
    const PER_SEND = 100;
    const drops: DropResult[] = [];
    for (let s = 0; s < SENDS; s++) {
      const messages = Array.from({ length: PER_SEND }, (_, j) => {
        const i = s * PER_SEND + j;
        return { key: `key-${i % 37}`, value: value(i) };
      });
      if (s % 10 === 5) {
        // Armed before the send, so the drop hits this send's Produce.
        const drop = proxy.dropAfterProduce({ maxWaitMs: 3000 });
        const [dropped] = await Promise.all([drop, producer.send({ topic, acks: -1, messages })]);
        drops.push(dropped);
      } else {
        await producer.send({ topic, acks: -1, messages });
      }
    }
    expect(drops.map((d) => d.afterProduce && d.answered)).toEqual([true, true, true]);
    for (const drop of drops) {
      expect(drop.batches.length).toBeGreaterThan(0);
      for (const batch of drop.batches) expect(proxy.produced.get(batch), `${batch} sent again`).toBeGreaterThanOrEqual(2);
    }

    const records = await kcatConsume(proxy.bootstrap, topic);
    const indices = records.map((r) => Number(/^#(\d+)\|/.exec(r.payload ?? '')?.[1] ?? -1));
    expect(indices.length).toBe(SENDS * PER_SEND);
    expect([...new Set(indices)].length).toBe(SENDS * PER_SEND);
    expect(Math.min(...indices)).toBe(0);
    expect(Math.max(...indices)).toBe(SENDS * PER_SEND - 1);
    for (const r of records) expect(r.payload).toBe(value(Number(/^#(\d+)\|/.exec(r.payload ?? '')![1])));
    expect(offsetGaps(records)).toEqual([]);
    for (const [partition, list] of byPartition(records)) {
      const order = list.map((r) => Number(/^#(\d+)\|/.exec(r.payload ?? '')![1]));
      expect(order, `partition ${partition} in send order`).toEqual([...order].sort((a, b) => a - b));
    }

    const producers = new Set<string>();
    for (let p = 0; p < PARTITIONS; p++) {
      const report = checkIdempotentBatches(env.dataDir, topic, p);
      expect(report.problems, `${topic}-${p}`).toEqual([]);
      for (const id of report.producers) producers.add(id);
    }
    expect([...producers]).toHaveLength(1);
  });

  test('two idempotent producers get different producer ids and each keeps its own gap-free sequences in a shared partition', async () => {
    const topic = 'kafkajs-idem-two';
    const { env, kafka } = await setUp(topic);
    const a = await idempotentProducer(kafka);
    const b = await idempotentProducer(kafka);
    for (let s = 0; s < 10; s++) {
      await Promise.all([
        a.send({ topic, acks: -1, messages: [{ key: 'same', value: `a${s}`, partition: 0 }, { value: `a${s}'`, partition: 0 }] }),
        b.send({ topic, acks: -1, messages: [{ key: 'same', value: `b${s}`, partition: 0 }] }),
      ]);
    }
    const report = checkIdempotentBatches(env.dataDir, topic, 0);
    expect(report.problems).toEqual([]);
    expect(report.records).toBe(30);
    expect(report.producers).toHaveLength(2);
    expect(new Set(report.producers.map((p) => p.split('/')[0])).size).toBe(2);
  });
});
