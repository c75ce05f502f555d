/**
 * Compaction with a real client: kafkajs 2.2.4 produces 10 keys × 1,000 updates and a tombstone to a
 * cleanup.policy=compact topic with small segments on an in-process broker whose cleaner runs every 100 ms; the
 * partition shrinks on disk, and a kafkajs consumer reading from the beginning sees the compacted view: the latest
 * value of every live key, each key's records in offset order, far fewer records than were produced.
 */
import { readdir, stat } from 'node:fs/promises';
import { CompressionTypes, ConfigResourceTypes, type Admin, type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { kafkaClient, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  env = await startInProcessBroker({ logCleanerBackoffMs: 100, logCleanerDeleteRetentionMs: 1000 });
  kafka = kafkaClient(env.bootstrap, 'e2e-compaction');
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await env?.close();
});

/**
 * Bytes of the partition's .log files, or undefined while a swap is in flight (a .cleaned, .swap or .deleted file is
 * there, or a file vanished between readdir and stat): the size is then not that of a settled log.
 */
async function partitionBytes(topic: string): Promise<number | undefined> {
  const dir = `${env.dataDir}/${topic}-0`;
  const names = await readdir(dir);
  if (names.some((n) => /\.(cleaned|swap|deleted)$/.test(n))) return undefined;
  let total = 0;
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const size = await stat(`${dir}/${name}`).then(
      (st) => st.size,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      },
    );
    if (size === undefined) return undefined;
    total += size;
  }
  return total;
}

async function consumeAll(topic: string, groupId: string): Promise<Array<{ offset: bigint; key: string; value: string | null }>> {
  const [{ high }] = await admin.fetchTopicOffsets(topic);
  const end = BigInt(high);
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const seen: Array<{ offset: bigint; key: string; value: string | null }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push({ offset: BigInt(message.offset), key: message.key!.toString(), value: message.value === null ? null : message.value.toString() });
        if (BigInt(message.offset) >= end - 1n) done();
      },
    });
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${seen.length} records, not up to ${end}`)), 30_000))]);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('compaction with kafkajs', () => {
  test.each([
    ['none', CompressionTypes.None, '16384'],
    // Compressed batches are small: smaller segments, so that there are sealed ones to clean.
    ['gzip', CompressionTypes.GZIP, '1024'],
  ] as const)('a consumer from the beginning sees the latest value per key after cleaning (%s batches)', async (name, compression, segmentBytes) => {
    const topic = `compacted-${name}`;
    // Created with cleanup.policy=delete and turned to compact once everything is written and measured, so the
    // "before" size is taken before any cleaning (the cleaner runs every 100 ms here and a cleaning's .deleted files
    // then linger for file.delete.delay.ms).
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }, { name: 'segment.bytes', value: segmentBytes }] }],
    });
    const latest = new Map<string, string | null>();
    for (let round = 0; round < 1000; round += 50) {
      const messages = [];
      for (let r = round; r < round + 50; r++) {
        for (let k = 0; k < 10; k++) {
          messages.push({ key: `k${k}`, value: `k${k}-${r}` });
          latest.set(`k${k}`, `k${k}-${r}`);
        }
      }
      await producer.send({ topic, compression, messages });
    }
    await producer.send({ topic, messages: [{ key: 'k3', value: null }] });
    latest.set('k3', null);
    // Roll the tombstone into a sealed segment: more updates of one key.
    for (let i = 0; i < 10; i++) {
      await producer.send({ topic, compression, messages: Array.from({ length: 50 }, (_, j) => ({ key: 'k0', value: `k0-tail-${i}-${j}-${'x'.repeat(100)}` })) });
    }
    latest.set('k0', `k0-tail-9-49-${'x'.repeat(100)}`);
    const before = await partitionBytes(topic);
    expect(before).toBeGreaterThan(0);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'cleanup.policy', value: 'compact' }, { name: 'segment.bytes', value: segmentBytes }] }],
    });
    // The cleaner runs every 100 ms: wait (bounded) until the settled partition has shrunk.
    let after: number | undefined = before;
    for (let i = 0; i < 200 && (after === undefined || after > before! / 4); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await partitionBytes(topic);
    }
    expect(after).toBeLessThan(before! / 4);

    const records = await consumeAll(topic, `g-${name}`);
    for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
    const view = new Map<string, string | null>();
    for (const r of records) view.set(r.key, r.value);
    // The tombstoned key is either still a tombstone or gone (once delete.retention.ms passed and it was cleaned again).
    if (!view.has('k3')) latest.delete('k3');
    expect(view).toEqual(latest);
    expect(records.length).toBeLessThan(600);
    for (let k = 1; k < 10; k++) {
      if (k === 3) continue;
      expect(records.filter((r) => r.key === `k${k}`).map((r) => r.value)).toEqual([`k${k}-999`]);
    }
  });
});
