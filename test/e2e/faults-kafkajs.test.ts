// kafkajs against injected faults, recovering as it does against Kafka: a retriable Produce error is retried after
// a metadata refresh, a dropped connection reconnects, latency shows in its timing, a stall ends when the rule is
// cleared, and a consumer rides over Fetch errors. A latency-1 ms rule on Metadata doubles as a request counter.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createBroker, type Broker } from '../../src/index.js';
import { kafkaClient } from './support/in-process.js';

let broker: Broker;
let kafka: Kafka;

beforeEach(async () => {
  broker = await createBroker();
  await broker.start();
  kafka = kafkaClient(broker.bootstrap, 'faults-kafkajs', { retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 500 } });
  await broker.createTopic('t', { partitions: 2 });
});
afterEach(async () => {
  await broker.close();
});

function fired(id: number): number {
  return broker.faults.list().find((r) => r.id === id)!.fired;
}

describe('kafkajs under fault injection', () => {
  it('retries a Produce answered NOT_LEADER_OR_FOLLOWER after refreshing metadata, and writes the record once', async () => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: 't', messages: [{ partition: 0, value: 'warm-up' }] });
      const metadata = broker.faults.add({ api: 'Metadata', latencyMs: 1 });
      const notLeader = broker.faults.add({ api: 'Produce', topic: 't', partition: 0, error: 'NOT_LEADER_OR_FOLLOWER', count: 2 });
      const [result] = await producer.send({ topic: 't', messages: [{ partition: 0, value: 'after-retries' }] });
      expect(result).toMatchObject({ topicName: 't', partition: 0, errorCode: 0, baseOffset: '1' });
      expect(fired(notLeader)).toBe(2);
      expect(fired(metadata)).toBeGreaterThanOrEqual(1);
      expect((await broker.records('t', 0)).map((r) => r.value!.toString())).toEqual(['warm-up', 'after-retries']);
    } finally {
      await producer.disconnect();
    }
  });

  it('surfaces a non-retriable Produce error to the caller without retrying', async () => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      const rule = broker.faults.add({ api: 'Produce', error: 'TOPIC_AUTHORIZATION_FAILED' });
      await expect(producer.send({ topic: 't', messages: [{ partition: 0, value: 'x' }] })).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
      expect(fired(rule)).toBe(1);
    } finally {
      await producer.disconnect();
    }
  });

  it('reconnects after a dropped connection and delivers the record', async () => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: 't', messages: [{ partition: 1, value: 'before' }] });
      const connectionsBefore = broker.connectionCount;
      expect(connectionsBefore).toBeGreaterThan(0);
      const drop = broker.faults.add({ api: 'Produce', drop: true, count: 1 });
      await producer.send({ topic: 't', messages: [{ partition: 1, value: 'after-drop' }] });
      expect(fired(drop)).toBe(1);
      expect((await broker.records('t', 1)).map((r) => r.value!.toString())).toEqual(['before', 'after-drop']);
    } finally {
      await producer.disconnect();
    }
  });

  it('shows added latency in the time a send takes', async () => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: 't', messages: [{ value: 'warm-up' }] });
      broker.faults.add({ api: 'Produce', latencyMs: 400, count: 1 });
      let start = Date.now();
      await producer.send({ topic: 't', messages: [{ value: 'slow' }] });
      expect(Date.now() - start).toBeGreaterThanOrEqual(390);
      start = Date.now();
      await producer.send({ topic: 't', messages: [{ value: 'fast' }] });
      expect(Date.now() - start).toBeLessThan(300);
    } finally {
      await producer.disconnect();
    }
  });

  it('holds a stalled send until the rule is cleared, then completes it', async () => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: 't', messages: [{ value: 'warm-up' }] });
      broker.faults.add({ api: 'Produce', stall: true });
      let done = false;
      const sending = producer.send({ topic: 't', messages: [{ partition: 0, value: 'stalled' }] }).then((r) => {
        done = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(done).toBe(false);
      broker.faults.clear();
      const [result] = await sending;
      expect(result!.errorCode).toBe(0);
      expect((await broker.records('t', 0)).map((r) => r.value!.toString())).toContain('stalled');
    } finally {
      await producer.disconnect();
    }
  });

  it('a consumer keeps consuming through Fetch answers of NOT_LEADER_OR_FOLLOWER', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 't', messages: [0, 1, 2].map((i) => ({ partition: 0, value: `m${i}` })) });
    await producer.disconnect();
    const rule = broker.faults.add({ api: 'Fetch', topic: 't', partition: 0, error: 'NOT_LEADER_OR_FOLLOWER', count: 3 });
    const consumer = kafka.consumer({ groupId: 'fault-consumer', maxWaitTimeInMs: 100, retry: { retries: 10, initialRetryTime: 50, maxRetryTime: 500 } });
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: ['t'], fromBeginning: true });
      const seen: string[] = [];
      let all!: () => void;
      const complete = new Promise<void>((resolve) => (all = resolve));
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value!.toString());
          if (seen.length === 3) all();
        },
      });
      await Promise.race([complete, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed only ${seen.join(',')}`)), 20_000))]);
      expect(seen).toEqual(['m0', 'm1', 'm2']);
      expect(fired(rule)).toBe(3);
    } finally {
      await consumer.disconnect();
    }
  });
});
