/**
 * kill -9 of a real broker process (dist/cli/main.js) while its log cleaner compacts a topic, for 20 cycles (issue 10):
 * each cycle produces more updates (acks=-1), lets the cleaner (backoff 20 ms, any dirty ratio) run for a random
 * moment, kills the process, restarts it on the same data dir and reads the partition from the beginning with
 * kafkajs: every key's last acknowledged value is there and offsets strictly increase (none twice). (Leftover
 * swap files are checked by test/log/cleaner-crash-safety.test.ts: here a new cleaning may already be running.)
 */
import { type Kafka } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { kafkaClient } from './support/in-process.js';

const TOPIC = 'compacted-kill9';
const CYCLES = 20;
const ARGS = ['--log-cleaner-backoff-ms', '20', '--log-cleaner-min-cleanable-ratio', '0.01', '--flush-on-ack-all', 'true'];

let broker: SpawnedBroker | undefined;

afterEach(async () => {
  await broker?.stop().catch(() => undefined);
  broker = undefined;
});

async function readPartition(kafka: Kafka): Promise<Array<{ offset: bigint; key: string; value: string }>> {
  const admin = kafka.admin();
  await admin.connect();
  const [{ high }] = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const end = BigInt(high);
  const out: Array<{ offset: bigint; key: string; value: string }> = [];
  if (end === 0n) return out;
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        out.push({ offset: BigInt(message.offset), key: message.key!.toString(), value: message.value!.toString() });
        if (BigInt(message.offset) >= end - 1n) done();
      },
    });
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`read ${out.length} records, not up to ${end}`)), 30_000))]);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe('compaction under kill -9', () => {
  test(`no acknowledged latest value is lost and no offset is duplicated over ${CYCLES} kills during cleaning`, { timeout: 600_000 }, async () => {
    broker = await spawnBroker({ keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
    const dataDir = broker.dataDir;
    let kafka = kafkaClient(broker.bootstrap, 'compaction-kill9');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: TOPIC, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: '4096' }] }],
    });
    await admin.disconnect();
    const acknowledged = new Map<string, string>();
    let round = 0;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      for (let i = 0; i < 30; i++, round++) {
        const messages = Array.from({ length: 20 }, (_, k) => ({ key: `k${(round + k) % 13}`, value: `c${cycle}-r${round}-${k}-${'v'.repeat(40)}` }));
        await producer.send({ topic: TOPIC, acks: -1, messages });
        for (const m of messages) acknowledged.set(m.key, m.value);
      }
      await producer.disconnect();
      // Let the cleaner work for a random moment, then kill the process mid-whatever.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
      await broker.kill9();
      broker = await spawnBroker({ dataDir, keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
      kafka = kafkaClient(broker.bootstrap, 'compaction-kill9');
      const records = await readPartition(kafka);
      for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
      const view = new Map<string, string>();
      for (const r of records) view.set(r.key, r.value);
      expect(view).toEqual(acknowledged);
    }
    // Compaction did happen: far fewer records than produced.
    const records = await readPartition(kafka);
    expect(records.length).toBeLessThan(round * 20);
  });
});
