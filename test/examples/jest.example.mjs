// The README's jest example, run in CI by examples.test.ts (jest with --experimental-vm-modules, since Eddy is an
// ES module). It imports Eddy by its package name, as a user's suite does (the package's `exports` map, built into
// dist/). jest's globals (beforeAll, afterAll, beforeEach, test, expect) need no import.
import { Kafka, logLevel } from 'kafkajs';
import { createBroker } from 'eddy';

let broker;
let kafka;

beforeAll(async () => {
  broker = await createBroker(); // port 0, temporary data dir, silent logs
  await broker.start();
  kafka = new Kafka({ clientId: 'jest-example', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(() => broker.close());
beforeEach(() => broker.reset()); // every test starts with no topics, groups or fault rules

test('a produced record is stored', async () => {
  await broker.createTopic('orders', { partitions: 1 });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', messages: [{ key: 'id-1', value: 'created' }] });
  await producer.disconnect();
  await broker.waitForOffset('orders', 0, 1);
  const [record] = await broker.records('orders', 0);
  expect(record.key.toString()).toBe('id-1');
  expect(record.value.toString()).toBe('created');
});

test('reset() gave this test an empty broker', async () => {
  const admin = kafka.admin();
  await admin.connect();
  expect(await admin.listTopics()).not.toContain('orders');
  await admin.disconnect();
});
