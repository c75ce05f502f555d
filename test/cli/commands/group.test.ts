// `eddy group …`, run as the compiled binary against an in-process broker; the group's members and commits come
// from kafkajs (a real consumer), so describe is checked against what another client did.
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../../src/client/client.js';
import { buildRecordBatch } from '../../../src/client/records.js';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { ensureBuilt, runCli } from './run-cli.js';

let broker: TestBroker;
let b: string[];
let client: KafkaClient;
let kafka: Kafka;

beforeAll(async () => {
  ensureBuilt();
  broker = await startTestBroker({ groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 });
  b = ['--bootstrap', `127.0.0.1:${broker.port}`];
  client = new KafkaClient({ bootstrap: `127.0.0.1:${broker.port}` });
  kafka = new Kafka({ clientId: 'cli-group-test', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
}, 150_000);

afterAll(async () => {
  await client?.close();
  await broker?.stop();
});

async function topicWithRecords(name: string, counts: number[]): Promise<void> {
  const [r] = await client.createTopics([{ name, numPartitions: counts.length, replicationFactor: 1, configs: {} }]);
  expect(r!.errorCode).toBe(0);
  for (let p = 0; p < counts.length; p++) {
    if (counts[p]! === 0) continue;
    const records = Array.from({ length: counts[p]! }, (_, i) => ({ key: null, value: Buffer.from(`v${i}`) }));
    await client.produce(name, p, buildRecordBatch(records), -1);
  }
}

/** Waits (bounded) until kafkajs's consumer has joined and been assigned partitions. */
async function joinedConsumer(groupId: string, topic: string): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  let joined!: () => void;
  const ready = new Promise<void>((resolve) => (joined = resolve));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({ autoCommit: false, eachMessage: async () => undefined });
  await Promise.race([ready, new Promise((_, reject) => setTimeout(() => reject(new Error('kafkajs consumer did not join')), 15_000))]);
  return consumer;
}

describe('eddy group', () => {
  it('describe shows the member, its decoded assignment, and lag = log end offset − committed offset', async () => {
    await topicWithRecords('lagging', [5, 3]);
    const consumer = await joinedConsumer('lag-group', 'lagging');
    try {
      await consumer.commitOffsets([
        { topic: 'lagging', partition: 0, offset: '2' },
        { topic: 'lagging', partition: 1, offset: '3' },
      ]);
      const r = await runCli(['group', 'describe', 'lag-group', '--json', ...b]);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      const d = JSON.parse(r.stdout);
      expect(d).toMatchObject({ groupId: 'lag-group', state: 'Stable', protocolType: 'consumer', totalLag: 3 });
      expect(d.members).toHaveLength(1);
      expect(d.members[0].clientId).toBe('cli-group-test');
      expect(d.members[0].assignment).toEqual([{ topic: 'lagging', partitions: expect.arrayContaining([0, 1]) }]);
      expect(d.offsets.map((o: Record<string, unknown>) => [o.topic, o.partition, o.committedOffset, o.logEndOffset, o.lag, o.memberId])).toEqual([
        ['lagging', 0, 2, 5, 3, d.members[0].memberId],
        ['lagging', 1, 3, 3, 0, d.members[0].memberId],
      ]);

      const table = await runCli(['group', 'describe', 'lag-group', ...b]);
      expect(table.stdout).toMatch(/^STATE\s+Stable$/m);
      expect(table.stdout).toMatch(/^TOTAL-LAG\s+3$/m);
      expect(table.stdout).toMatch(/^TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+MEMBER-ID\s+CLIENT-ID\s+HOST$/m);
      expect(table.stdout).toMatch(/^lagging\s+0\s+2\s+5\s+3\s+\S+\s+cli-group-test\s+\S+$/m);
      expect(table.stdout).toMatch(/lagging:0,1/);

      const list = await runCli(['group', 'list', '--json', ...b]);
      expect(JSON.parse(list.stdout)).toContainEqual({ groupId: 'lag-group', state: 'Stable', protocolType: 'consumer', coordinator: 1 });

      const busy = await runCli(['group', 'delete', 'lag-group', ...b]);
      expect(busy).toMatchObject({ status: 1, stderr: 'eddy: NON_EMPTY_GROUP: The group is not empty.\n' });
      const reset = await runCli(['group', 'reset-offsets', 'lag-group', '--topic', 'lagging', '--to-earliest', ...b]);
      expect(reset.status).toBe(1);
      expect(reset.stderr).toBe("eddy: Assignments can only be reset if the group 'lag-group' is inactive, but the current state is Stable.\n");
    } finally {
      await consumer.disconnect();
    }

    // Once the member left: reset (dry run, then --execute) and delete.
    const plan = await runCli(['group', 'reset-offsets', 'lag-group', '--topic', 'lagging', '--shift-by', '-1', ...b]);
    expect(plan.status).toBe(0);
    expect(plan.stdout).toMatch(/^lagging\s+0\s+2\s+1$/m);
    expect(plan.stdout).toMatch(/Dry run/);
    expect((await client.committedOffsets('lag-group', null)).map((c) => c.offset)).toEqual([2n, 3n]);
    const executed = await runCli(['group', 'reset-offsets', 'lag-group', '--topic', 'lagging', '--to-earliest', '--execute', '--json', ...b]);
    expect(JSON.parse(executed.stdout)).toMatchObject({ executed: true, offsets: [{ partition: 0, previousOffset: 2, newOffset: 0 }, { partition: 1, previousOffset: 3, newOffset: 0 }] });
    expect((await client.committedOffsets('lag-group', null)).map((c) => c.offset)).toEqual([0n, 0n]);
    const lagAfter = JSON.parse((await runCli(['group', 'describe', 'lag-group', '--json', ...b])).stdout);
    expect(lagAfter).toMatchObject({ state: 'Empty', members: [], totalLag: 8 });

    expect(await runCli(['group', 'delete', 'lag-group', ...b])).toMatchObject({ status: 0, stdout: 'Deleted group lag-group.\n' });
  });

  it('describing a group that does not exist exits 1 with GROUP_ID_NOT_FOUND', async () => {
    const r = await runCli(['group', 'describe', 'never-seen', ...b]);
    expect(r).toMatchObject({ status: 1, stderr: 'eddy: GROUP_ID_NOT_FOUND: The group id does not exist. (never-seen)\n' });
  });

  it('reset-offsets without a mode is a usage error (exit 2)', async () => {
    const r = await runCli(['group', 'reset-offsets', 'g', '--topic', 'lagging', ...b]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('eddy: give exactly one of --to-earliest, --to-latest, --to-offset, --to-timestamp and --shift-by\n');
  });
});
