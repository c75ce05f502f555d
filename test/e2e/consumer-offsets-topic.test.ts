/**
 * Issue 9: committed offsets live in `__consumer_offsets`, as in Kafka, so operators' lag tools can read them.
 * With kafkajs 2.2.4 against an in-process broker: the topic appears (internal, 50 partitions) once a group
 * coordinator is looked up; a consumer reading it from the beginning decodes the group's OffsetCommit records with
 * Kafka's schemas and finds the offsets the group committed; clients cannot produce to it.
 */
import { afterEach, expect, test } from 'vitest';
import { decodeGroupRecordKey, decodeOffsetCommitValue } from '../../src/group/group-records.js';
import { errorTypes, kafkaClient, rejection, startInProcessBroker } from './support/in-process.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

test('a lag tool reads the committed offsets of a group from __consumer_offsets; producing to it is refused', { timeout: 60_000 }, async () => {
  const broker = await startInProcessBroker();
  cleanups.push(() => broker.close());
  const kafka = kafkaClient(broker.bootstrap, 'offsets-topic-test');
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 2 }] });
  expect(await admin.listTopics()).not.toContain('__consumer_offsets');

  // setOffsets: FindCoordinator for the group (which creates the topic, as Kafka does), then OffsetCommit.
  await admin.setOffsets({ groupId: 'billing', topic: 'orders', partitions: [{ partition: 0, offset: '17' }, { partition: 1, offset: '42' }] });
  const [meta] = (await admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] })).topics;
  expect(meta!.partitions).toHaveLength(50);

  const seen = new Map<number, bigint>();
  const reader = kafka.consumer({ groupId: 'lag-tool', maxWaitTimeInMs: 100 });
  await reader.connect();
  cleanups.push(() => reader.disconnect());
  await reader.subscribe({ topic: '__consumer_offsets', fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      const key = decodeGroupRecordKey(message.key!);
      if (key.kind !== 'offset' || key.groupId !== 'billing' || message.value === null) return;
      seen.set(key.partition, decodeOffsetCommitValue(key.groupId, key.topic, key.partition, message.value).offset);
    },
  });
  const deadline = Date.now() + 30_000;
  while (seen.size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(Object.fromEntries(seen)).toEqual({ 0: 17n, 1: 42n });

  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const refused = await rejection(() => producer.send({ topic: '__consumer_offsets', messages: [{ key: 'k', value: 'v' }] }));
  expect(errorTypes(refused)).toContain('INVALID_TOPIC_EXCEPTION');
});
