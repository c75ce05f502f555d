/**
 * kafkajs 2.2.4 admin createPartitions (CreatePartitions v1) and describeCluster (Metadata) against an in-process
 * broker, asserting Kafka 3.9's answers; and partition growth under load: a producer that keeps producing sees the
 * new partitions at its next metadata refresh, and a consumer group rebalances onto them. Every wait is bounded.
 */
import { Partitioners, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  env = await startInProcessBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 });
  kafka = kafkaClient(env.bootstrap, 'e2e-kafkajs-partitions', { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
  admin = kafka.admin();
  await admin.connect();
});

afterAll(async () => {
  await admin?.disconnect();
  await env?.close();
});

async function partitionIds(topic: string): Promise<number[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
}

/** Waits (bounded) until `predicate` holds, polling every 50 ms. */
async function until(predicate: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('kafkajs admin: createPartitions', () => {
  test('grows a topic from 2 to 5 partitions; each new partition has this broker as leader, replica and ISR', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-grow', numPartitions: 2 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'cp-grow', count: 5 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: ['cp-grow'] });
    const partitions = [...topics[0]!.partitions].sort((a, b) => a.partitionId - b.partitionId);
    expect(partitions.map((p) => p.partitionId)).toEqual([0, 1, 2, 3, 4]);
    for (const p of partitions) expect(p).toMatchObject({ partitionErrorCode: 0, leader: 1, replicas: [1], isr: [1] });
    // The new partitions take writes at once.
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const [meta] = await producer.send({ topic: 'cp-grow', messages: [{ value: 'on-4', partition: 4 }] });
      expect(meta).toMatchObject({ partition: 4, errorCode: 0, baseOffset: '0' });
    } finally {
      await producer.disconnect();
    }
  });

  test('a manual assignment naming this broker for each new partition is accepted', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-manual', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'cp-manual', count: 3, assignments: [[1], [1]] }] });
    expect(await partitionIds('cp-manual')).toEqual([0, 1, 2]);
  });

  test('validateOnly succeeds and adds nothing', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-dry', numPartitions: 1 }] });
    await admin.createPartitions({ validateOnly: true, topicPartitions: [{ topic: 'cp-dry', count: 4 }] });
    expect(await partitionIds('cp-dry')).toEqual([0]);
  });

  // kafkajs reports the error code's own text, not the broker's message (test/handlers/create-partitions.test.ts
  // checks the messages).
  test('shrinking or keeping the count is INVALID_PARTITIONS; the topic keeps its partitions', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-shrink', numPartitions: 3 }] });
    const shrink = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-shrink', count: 2 }] }));
    expect(errorTypes(shrink)).toContain('INVALID_PARTITIONS');
    const same = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-shrink', count: 3 }] }));
    expect(errorTypes(same)).toContain('INVALID_PARTITIONS');
    expect(await partitionIds('cp-shrink')).toEqual([0, 1, 2]);
  });

  test('an unknown topic is UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const error = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-nope', count: 2 }] }));
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });

  test('an assignment naming another broker, or too few assignments, is INVALID_REPLICA_ASSIGNMENT', async () => {
    await admin.createTopics({ topics: [{ topic: 'cp-badassign', numPartitions: 1 }] });
    const otherBroker = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-badassign', count: 2, assignments: [[2]] }] }));
    expect(errorTypes(otherBroker)).toContain('INVALID_REPLICA_ASSIGNMENT');
    const tooFew = await rejection(() => admin.createPartitions({ topicPartitions: [{ topic: 'cp-badassign', count: 3, assignments: [[1]] }] }));
    expect(errorTypes(tooFew)).toContain('INVALID_REPLICA_ASSIGNMENT');
    expect(await partitionIds('cp-badassign')).toEqual([0]);
  });
});

describe('kafkajs admin: describeCluster', () => {
  test('names this broker at its listen address, as the controller, with the cluster id', async () => {
    const cluster = await admin.describeCluster();
    const port = Number(env.bootstrap.split(':')[1]);
    expect(cluster.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port }]);
    expect(cluster.controller).toBe(1);
    expect(cluster.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});

describe('growing a topic under load', () => {
  test('a producer that keeps producing reaches the new partitions after a metadata refresh; a group rebalances onto them', async () => {
    const topic = 'cp-live';
    const OLD = 2;
    const NEW = 6;
    await admin.createTopics({ topics: [{ topic, numPartitions: OLD }] });
    const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, metadataMaxAge: 300 });
    const consumer: Consumer = kafka.consumer({ groupId: 'cp-live-g', sessionTimeout: 6000, rebalanceTimeout: 10000, heartbeatInterval: 300, maxWaitTimeInMs: 100, metadataMaxAge: 300 });
    const assignments: number[][] = [];
    consumer.on(consumer.events.GROUP_JOIN, (e) => assignments.push([...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)));
    const consumed = new Map<number, Set<string>>();
    await producer.connect();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          let values = consumed.get(partition);
          if (values === undefined) consumed.set(partition, (values = new Set()));
          values.add(message.value!.toString());
        },
      });
      await until(() => assignments.length > 0, 15000, () => 'the first assignment');
      expect(assignments[0]).toEqual([0, 1]);

      // Keeps producing keyed messages (new keys every round) throughout, recording what was acknowledged.
      const produced = new Set<string>();
      const writtenAfterGrowth = new Set<number>();
      let growthRound: number | undefined;
      let stop = false;
      let round = 0;
      const producing = (async () => {
        while (!stop && round < 2000) {
          const r = round++;
          const grown = growthRound !== undefined;
          const messages = Array.from({ length: 10 }, (_, i) => ({ key: `k-${r}-${i}`, value: `${r}:${i}` }));
          const results = await producer.send({ topic, messages });
          for (const m of messages) produced.add(m.value);
          if (grown) for (const result of results) writtenAfterGrowth.add(result.partition);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();

      await until(() => round >= 10, 15000, () => 'producing to start');
      await admin.createPartitions({ topicPartitions: [{ topic, count: NEW }] });
      growthRound = round;

      await until(() => [...writtenAfterGrowth].some((p) => p >= OLD), 20000, () => `writes to a new partition (written: ${[...writtenAfterGrowth]})`);
      await until(() => assignments.at(-1)!.length === NEW, 20000, () => `a rebalance onto ${NEW} partitions (assignments: ${JSON.stringify(assignments)})`);
      stop = true;
      await producing;
      const consumedCount = () => [...consumed.values()].reduce((n, values) => n + values.size, 0);
      await until(() => consumedCount() >= produced.size, 20000, () => `every acknowledged message consumed (${consumedCount()} of ${produced.size})`);

      expect(assignments.at(-1)).toEqual([0, 1, 2, 3, 4, 5]);
      // The producer spread over all six partitions once it saw them (four rounds of ten keys each at least).
      expect([...writtenAfterGrowth].filter((p) => p >= OLD).length).toBeGreaterThan(0);
      // The group read everything that was acknowledged, and nothing else; the new partitions only hold messages
      // sent once they existed.
      const all = new Set([...consumed.values()].flatMap((values) => [...values]));
      expect(all).toEqual(produced);
      const onNew = [...consumed].filter(([p]) => p >= OLD).flatMap(([, values]) => [...values]);
      expect(onNew.length).toBeGreaterThan(0);
      for (const value of onNew) expect(Number(value.split(':')[0])).toBeGreaterThanOrEqual(growthRound! - 1);
    } finally {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    }
  }, 90_000);
});
