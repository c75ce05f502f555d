/**
 * Durability of acknowledged writes across a crash, against the real broker process (compiled CLI,
 * `--flush-on-ack-all true`):
 *
 * - kill -9 in the middle of an acks=-1 load: after a restart on the same data dir every acknowledged message
 *   is present at its acknowledged offset, offsets are contiguous from 0, nothing is duplicated, and new
 *   writes continue at the recovered log end offset.
 * - a torn tail of the active segment (cut mid-batch, a corrupt last batch, garbage or zeros after the last
 *   batch): the broker truncates at the first bad batch and serves everything before it, and what is written
 *   after recovery survives a further restart.
 *
 * Records are read back with kcat (librdkafka), independently of the broker's own code.
 */
import { closeSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { kafkaClient } from './support/in-process.js';
import { byPartition, kcatAvailable, kcatConsume, offsetGaps } from './support/kcat.js';
import { activeSegment, scanBatches } from './support/segments.js';

const FLUSH_ARGS = ['--flush-on-ack-all', 'true'];
const brokers: SpawnedBroker[] = [];
const dataDirs: string[] = [];
const clients: Array<{ disconnect(): Promise<void> }> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.disconnect().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop();
  for (const d of dataDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir?: string, extraArgs: string[] = []): Promise<SpawnedBroker> {
  const broker = await spawnBroker({ ...(dataDir === undefined ? {} : { dataDir }), keepDataDir: true, extraArgs: [...FLUSH_ARGS, ...extraArgs] });
  brokers.push(broker);
  if (!dataDirs.includes(broker.dataDir)) dataDirs.push(broker.dataDir);
  return broker;
}

function connectKafka(broker: SpawnedBroker, clientId: string): Kafka {
  // No retries anywhere: a resent Produce could legitimately duplicate, which would hide a broker bug.
  return kafkaClient(broker.bootstrap, clientId, { retry: { retries: 0 }, connectionTimeout: 1000, requestTimeout: 10_000 });
}

async function connectedProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  clients.push(producer);
  return producer;
}

async function createTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions }] })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

function logTail(broker: SpawnedBroker): string {
  return broker.logs().split('\n').slice(-30).join('\n');
}

interface Acked {
  partition: number;
  offset: number;
  key: string;
  value: string;
}

describe('durability: kill -9 under acks=-1 load', () => {
  test('every acknowledged message survives at its acknowledged offset; offsets contiguous; no duplicates', { timeout: 120_000 }, async () => {
    expect(kcatAvailable(), 'kcat must be installed').toBe(true);
    const topic = 'durable';
    const partitions = 3;
    // Small segments so the load rolls a few of them and recovery has to find the active one.
    const segmentArgs = ['--log-segment-bytes', String(256 * 1024)];
    const first = await start(undefined, segmentArgs);
    const kafka = connectKafka(first, 'e2e-durability');
    await createTopic(kafka, topic, partitions);
    const producer = await connectedProducer(kafka);

    const acked = new Map<string, Acked>();
    const sendErrors: string[] = [];
    let stopped = false;
    const loadDeadline = Date.now() + 8_000;
    const WORKERS = 6;
    const MAX_PER_WORKER = 50_000;
    const worker = async (w: number): Promise<void> => {
      const partition = w % partitions;
      let seq = 0;
      while (!stopped && Date.now() < loadDeadline && seq < MAX_PER_WORKER) {
        const size = 1 + ((seq * 7 + w) % 25);
        const messages = Array.from({ length: size }, (_, i) => {
          const id = `w${w}-s${seq + i}`;
          return { key: `k${w}-${(seq + i) % 10}`, value: `${id}|${'d'.repeat((seq + i) % 300)}`, partition };
        });
        seq += size;
        try {
          const [result] = await producer.send({ topic, acks: -1, messages });
          if (result === undefined || result.errorCode !== 0) throw new Error(`bad result ${JSON.stringify(result)}`);
          const base = Number(result.baseOffset);
          messages.forEach((m, i) => acked.set(m.value.split('|')[0] as string, { partition, offset: base + i, key: m.key, value: m.value }));
        } catch (error) {
          sendErrors.push(String(error));
          return; // the broker is gone (or broke): this worker is done
        }
      }
    };
    const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));

    // Let the load run until a good amount is acknowledged, then pull the plug while sends are in flight.
    const killDeadline = Date.now() + 5_000;
    while (acked.size < 10_000 && Date.now() < killDeadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const ackedBeforeKill = acked.size;
    await first.kill9();
    const settle = await Promise.race([
      Promise.allSettled(workers).then(() => 'settled'),
      new Promise((resolve) => setTimeout(() => resolve('timeout'), 20_000)),
    ]);
    stopped = true;
    expect(settle, 'producer workers did not finish after the broker was killed').toBe('settled');
    expect(ackedBeforeKill, `too little was acknowledged before the kill; broker log:\n${logTail(first)}`).toBeGreaterThan(200);
    expect(first.exitInfo()?.signal).toBe('SIGKILL');

    const second = await start(first.dataDir, segmentArgs);
    const records = await kcatConsume(second.bootstrap, topic, { timeoutMs: 60_000 });
    const problems: string[] = [];
    const gaps = offsetGaps(records);
    if (gaps.length > 0) problems.push(`offsets not contiguous: ${gaps.join('; ')}`);
    const seen = new Map<string, string>();
    const at = new Map<string, { key: string | null; payload: string | null }>();
    for (const r of records) {
      const id = (r.payload ?? '').split('|')[0] as string;
      if (seen.has(id)) problems.push(`duplicate ${id} at p${r.partition}@${r.offset} and ${seen.get(id)}`);
      seen.set(id, `p${r.partition}@${r.offset}`);
      at.set(`${r.partition}@${r.offset}`, r);
    }
    let lost = 0;
    for (const [id, a] of acked) {
      const r = at.get(`${a.partition}@${a.offset}`);
      if (r === undefined || r.payload !== a.value || r.key !== a.key) {
        lost++;
        if (lost <= 5) problems.push(`acknowledged ${id} at p${a.partition}@${a.offset} is ${r === undefined ? 'missing' : `now ${JSON.stringify(r.payload?.slice(0, 30))}`}`);
      }
    }
    if (lost > 0) problems.push(`${lost} of ${acked.size} acknowledged messages lost or moved`);
    expect(problems, `broker log after restart:\n${logTail(second)}`).toEqual([]);
    expect(records.length).toBeGreaterThanOrEqual(acked.size);

    // New writes continue at the recovered log end offset of each partition.
    const ends = new Map<number, number>();
    for (const [partition, list] of byPartition(records)) ends.set(partition, list.length);
    const kafka2 = connectKafka(second, 'e2e-durability-after');
    const producer2 = await connectedProducer(kafka2);
    for (let partition = 0; partition < partitions; partition++) {
      const [result] = await producer2.send({ topic, acks: -1, messages: [{ key: 'after', value: `after-${partition}`, partition }] });
      expect(Number(result?.baseOffset)).toBe(ends.get(partition) ?? 0);
    }
  });
});

type Damage = 'cut-mid-batch' | 'corrupt-last-batch' | 'garbage-after-last-batch' | 'zeros-after-last-batch';

describe('durability: torn tail of the active segment', () => {
  test.each<[Damage, 'drops last batch' | 'keeps all']>([
    ['cut-mid-batch', 'drops last batch'],
    ['corrupt-last-batch', 'drops last batch'],
    ['garbage-after-last-batch', 'keeps all'],
    ['zeros-after-last-batch', 'keeps all'],
  ])('%s: the broker truncates the torn tail, serves every batch before it (%s), and later writes persist', { timeout: 90_000 }, async (damage, outcome) => {
    expect(kcatAvailable(), 'kcat must be installed').toBe(true);
    const topic = 'torn';
    const first = await start();
    const kafka = connectKafka(first, `e2e-torn-${damage}`);
    await createTopic(kafka, topic, 1);
    const producer = await connectedProducer(kafka);
    const sent: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const values = Array.from({ length: 10 }, (_, i) => `b${batch}-m${i}|${'t'.repeat((batch * 10 + i) % 120)}`);
      const [result] = await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value, partition: 0 })) });
      expect(Number(result?.baseOffset)).toBe(sent.length);
      sent.push(...values);
    }
    await first.kill9();

    const segment = activeSegment(first.dataDir, topic, 0);
    const batches = scanBatches(readFileSync(segment));
    const last = batches[batches.length - 1];
    expect(last, `no batches found in ${segment}`).toBeDefined();
    if (last === undefined) return;
    expect(last.lastOffset).toBe(sent.length - 1);
    const fd = openSync(segment, 'r+');
    try {
      const end = last.position + last.size;
      if (damage === 'cut-mid-batch') {
        truncateSync(segment, last.position + Math.floor(last.size / 2));
      } else if (damage === 'corrupt-last-batch') {
        // Flip a byte inside the records (covered by the CRC-32C), leaving the length intact.
        const at = last.position + last.size - 3;
        const byte = Buffer.alloc(1);
        byte[0] = (readFileSync(segment)[at] ?? 0) ^ 0xff;
        writeSync(fd, byte, 0, 1, at);
      } else if (damage === 'garbage-after-last-batch') {
        // A plausible header (next offset, a length that fits) followed by junk: only the CRC can tell.
        const junk = Buffer.alloc(600);
        for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 17) & 0xff;
        junk.writeBigInt64BE(BigInt(sent.length), 0);
        junk.writeInt32BE(400, 8);
        junk[16] = 2; // magic 2
        writeSync(fd, junk, 0, junk.length, end);
      } else {
        writeSync(fd, Buffer.alloc(4096), 0, 4096, end);
      }
    } finally {
      closeSync(fd);
    }
    const expectedEnd = outcome === 'keeps all' ? sent.length : last.baseOffset;

    const second = await start(first.dataDir);
    const records = await kcatConsume(second.bootstrap, topic, { timeoutMs: 30_000 });
    expect(
      records.map((r) => `${r.offset}:${r.payload}`),
      `broker log after restart:\n${logTail(second)}`,
    ).toEqual(sent.slice(0, expectedEnd).map((v, i) => `${i}:${v}`));

    // Writes after recovery go right after the recovered end, and survive another (graceful) restart.
    const kafka2 = connectKafka(second, `e2e-torn-${damage}-after`);
    const producer2 = await connectedProducer(kafka2);
    const [result] = await producer2.send({ topic, acks: -1, messages: [{ value: 'after-1', partition: 0 }, { value: 'after-2', partition: 0 }] });
    expect(Number(result?.baseOffset)).toBe(expectedEnd);
    await producer2.disconnect();
    await second.stop();

    const third = await start(first.dataDir);
    const again = await kcatConsume(third.bootstrap, topic, { timeoutMs: 30_000 });
    expect(again.map((r) => `${r.offset}:${r.payload}`), `broker log after 2nd restart:\n${logTail(third)}`).toEqual(
      [...sent.slice(0, expectedEnd), 'after-1', 'after-2'].map((v, i) => `${i}:${v}`),
    );
  });
});

describe('durability: topic metadata across kill -9', () => {
  test('created topics keep their partition count, a deleted topic stays deleted and its name can be reused', { timeout: 60_000 }, async () => {
    const first = await start();
    const kafka = connectKafka(first, 'e2e-topics-crash');
    await createTopic(kafka, 'keep-me', 4);
    await createTopic(kafka, 'delete-me', 2);
    const producer = await connectedProducer(kafka);
    await producer.send({ topic: 'delete-me', acks: -1, messages: [{ value: 'old', partition: 1 }] });
    await producer.send({ topic: 'keep-me', acks: -1, messages: [{ value: 'kept', partition: 3 }] });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: ['delete-me'] });
    } finally {
      await admin.disconnect();
    }
    await first.kill9();

    const second = await start(first.dataDir);
    const kafka2 = connectKafka(second, 'e2e-topics-crash-after');
    const admin2 = kafka2.admin();
    await admin2.connect();
    try {
      const topics = await admin2.listTopics();
      expect(topics, `broker log after restart:\n${logTail(second)}`).toContain('keep-me');
      expect(topics).not.toContain('delete-me');
      const { topics: described } = await admin2.fetchTopicMetadata({ topics: ['keep-me'] });
      expect(described[0]?.partitions).toHaveLength(4);
      expect(await admin2.createTopics({ topics: [{ topic: 'delete-me', numPartitions: 2 }] })).toBe(true);
      const offsets = await admin2.fetchTopicOffsets('delete-me');
      expect(offsets.map((o) => Number(o.high))).toEqual([0, 0]);
    } finally {
      await admin2.disconnect();
    }
    const kept = await kcatConsume(second.bootstrap, 'keep-me');
    expect(kept.map((r) => [r.partition, r.offset, r.payload])).toEqual([[3, 0, 'kept']]);
  });
});
