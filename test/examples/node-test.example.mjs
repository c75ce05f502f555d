// The README's node:test example, run in CI by examples.test.ts (`node --test` on this file). It imports Eddy by
// its package name, as a user's suite does (the package's `exports` map, built into dist/).
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createBroker } from 'eddy';

let broker;
let kafka;

before(async () => {
  broker = await createBroker(); // port 0, temporary data dir, silent logs
  await broker.start();
  kafka = new Kafka({ clientId: 'node-test-example', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
after(() => broker.close());
beforeEach(() => broker.reset()); // every test starts with no topics, groups or fault rules

test('a produced record is stored', async () => {
  await broker.createTopic('orders', { partitions: 1 });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ key: 'id-1', value: 'created' }] });
  await producer.disconnect();
  await broker.waitForOffset('orders', 0, 1);
  const [record] = await broker.records('orders', 0);
  assert.equal(record.key.toString(), 'id-1');
  assert.equal(record.value.toString(), 'created');
});

test('the producer retries through an injected NOT_LEADER_OR_FOLLOWER', async () => {
  await broker.createTopic('orders', { partitions: 1 });
  const id = broker.faults.add({ api: 'Produce', topic: 'orders', error: 'NOT_LEADER_OR_FOLLOWER', count: 2 });
  const producer = kafka.producer({ retry: { retries: 5, initialRetryTime: 50 } });
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ value: 'eventually' }] });
  await producer.disconnect();
  assert.equal(broker.faults.list().find((r) => r.id === id).fired, 2);
  assert.equal((await broker.records('orders', 0)).length, 1);
});
