/**
 * Retention and DeleteRecords with kafkajs against an in-process broker (retention check every second, deleted
 * files unlinked after 200 ms): time retention advances the earliest offset while a producer keeps writing and
 * keeps the latest records byte-exact, a fetch below the log start offset is OFFSET_OUT_OF_RANGE, retention.bytes
 * bounds the partition's size on disk, and admin.deleteTopicRecords moves the low watermark.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let broker: InProcessBroker;

beforeEach(async () => {
  broker = await startInProcessBroker({ logRetentionCheckIntervalMs: 1000, fileDeleteDelayMs: 200 });
});

afterEach(async () => {
  await broker.close();
});

/** The value of message `n`: deterministic, `bytes` long, different for every n. */
function valueOf(n: number, bytes: number): Buffer {
  const v = Buffer.alloc(bytes, n % 251);
  v.write(`m${n}:`, 0);
  return v;
}

async function offsets(kafka: ReturnType<typeof kafkaClient>, topic: string): Promise<{ low: bigint; high: bigint }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topic);
    return { low: BigInt(p!.low), high: BigInt(p!.high) };
  } finally {
    await admin.disconnect();
  }
}

async function fetchErrorAt(port: number, topic: string, fetchOffset: bigint): Promise<number> {
  const client = await TestClient.connect(port);
  try {
    const res = await client.send(ApiKey.Fetch, 11, {
      maxWaitMs: 0,
      minBytes: 0,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
    return res.responses[0].partitions[0].errorCode;
  } finally {
    client.close();
  }
}

/** Bytes of the partition's live segment files (.log), and how many `.deleted` files wait. */
function diskUsage(dataDir: string, topic: string): { logBytes: number; deletedFiles: number } {
  const dir = join(dataDir, `${topic}-0`);
  let logBytes = 0;
  let deletedFiles = 0;
  for (const name of readdirSync(dir)) {
    if (name.endsWith('.deleted')) deletedFiles++;
    else if (name.endsWith('.log')) logBytes += statSync(join(dir, name)).size;
  }
  return { logBytes, deletedFiles };
}

/** Reads [from, to) with a kafkajs consumer positioned by seek; bounded. */
async function readRange(kafka: ReturnType<typeof kafkaClient>, topic: string, from: bigint, to: bigint) {
  const out: Array<{ offset: bigint; key: string; value: Buffer }> = [];
  const consumer = kafka.consumer({ groupId: `reader-${Date.now()}-${Math.random()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic });
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        const offset = BigInt(message.offset);
        if (offset < to) out.push({ offset, key: message.key!.toString(), value: Buffer.from(message.value!) });
        if (offset >= to - 1n) done();
      },
    });
    consumer.seek({ topic, partition: 0, offset: from.toString() });
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error(`read ${out.length} records of [${from}, ${to})`)), 20_000))]);
  } finally {
    await consumer.disconnect();
  }
  return out;
}

describe('retention with kafkajs', () => {
  test('retention.ms=2000 with 1 MiB segments: the earliest offset advances while producing, the latest records stay byte-exact, and a fetch below the start is OFFSET_OUT_OF_RANGE', { timeout: 60_000 }, async () => {
    const topic = 'retained-by-time';
    const kafka = kafkaClient(broker.bootstrap, 'retention-time');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '2000' }, { name: 'segment.bytes', value: String(1 << 20) }] }] });
    await admin.disconnect();

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const VALUE_BYTES = 8 * 1024;
    const sent: Buffer[] = [];
    const lows: bigint[] = [];
    const startedMs = Date.now();
    // About 2 MiB a second for 7 s: segments roll every half second and expire 2 s later.
    while (Date.now() - startedMs < 7_000) {
      const messages = Array.from({ length: 16 }, () => {
        const n = sent.length;
        sent.push(valueOf(n, VALUE_BYTES));
        return { key: `k${n}`, value: sent[n]! };
      });
      await producer.send({ topic, acks: -1, messages });
      lows.push((await offsets(kafka, topic)).low);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await producer.disconnect();

    const { low, high } = await offsets(kafka, topic);
    expect(high).toBe(BigInt(sent.length));
    // The earliest offset moved forward during production (more than once) and never went back.
    expect(low).toBeGreaterThan(0n);
    expect(new Set(lows.filter((l) => l > 0n)).size).toBeGreaterThan(1);
    for (let i = 1; i < lows.length; i++) expect(lows[i]!).toBeGreaterThanOrEqual(lows[i - 1]!);
    expect(await fetchErrorAt(broker.broker.port, topic, 0n)).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await fetchErrorAt(broker.broker.port, topic, low)).toBe(ErrorCode.NONE);

    // The last 64 records (under a second old) are certainly still there: byte for byte what was produced.
    const from = high - 64n;
    const records = await readRange(kafka, topic, from, high);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 64 }, (_, i) => from + BigInt(i)));
    for (const r of records) {
      expect(r.key).toBe(`k${r.offset}`);
      expect(r.value.equals(sent[Number(r.offset)]!)).toBe(true);
    }
  });

  test('retention.bytes bounds the partition size on disk, and the .deleted files go after file.delete.delay.ms', { timeout: 60_000 }, async () => {
    const topic = 'retained-by-size';
    const SEGMENT = 64 * 1024;
    const RETAINED = 256 * 1024;
    const kafka = kafkaClient(broker.bootstrap, 'retention-size');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.bytes', value: String(RETAINED) }, { name: 'segment.bytes', value: String(SEGMENT) }] }],
    });
    await admin.disconnect();
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let n = 0;
    for (let i = 0; i < 64; i++) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 8 }, () => ({ key: `k${n}`, value: valueOf(n++, 4096) })) });
    }
    await producer.disconnect();
    expect(diskUsage(broker.dataDir, topic).logBytes).toBeGreaterThan(1024 * 1024);

    // After a retention pass (every second) the live segments fit retention.bytes plus at most one segment.
    const deadline = Date.now() + 10_000;
    while (diskUsage(broker.dataDir, topic).logBytes > RETAINED + SEGMENT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(diskUsage(broker.dataDir, topic).logBytes).toBeLessThanOrEqual(RETAINED + SEGMENT);
    const { low, high } = await offsets(kafka, topic);
    expect(high).toBe(BigInt(n));
    expect(low).toBeGreaterThan(0n);
    while (diskUsage(broker.dataDir, topic).deletedFiles > 0 && Date.now() < deadline + 5_000) await new Promise((r) => setTimeout(r, 50));
    expect(diskUsage(broker.dataDir, topic).deletedFiles).toBe(0);
  });
});

describe('DeleteRecords with kafkajs', () => {
  test('admin.deleteTopicRecords moves the low watermark; past the high watermark it fails with OFFSET_OUT_OF_RANGE', { timeout: 30_000 }, async () => {
    const topic = 'delete-records';
    const kafka = kafkaClient(broker.bootstrap, 'delete-records');
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      await producer.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      await producer.disconnect();
      // kafkajs' admin finds partition leaders in its cached metadata only: load the new topic's first.
      await admin.fetchTopicMetadata({ topics: [topic] });

      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] });
      expect(await admin.fetchTopicOffsets(topic)).toEqual([expect.objectContaining({ partition: 0, low: '4', high: '10' })]);
      const records = await readRange(kafka, topic, 4n, 10n);
      expect(records.map((r) => r.value.toString())).toEqual(['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);

      const error = await rejection(() => admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '11' }] }));
      // kafkajs wraps the per-partition broker errors in KafkaJSDeleteTopicRecordsError.partitions.
      const wrapped = (error as { cause?: { partitions?: Array<{ error: unknown }> } }).cause ?? (error as { partitions?: Array<{ error: unknown }> });
      expect(errorTypes(error)).toContain('KafkaJSDeleteTopicRecordsError');
      expect(wrapped.partitions!.flatMap((p) => errorTypes(p.error))).toContain('OFFSET_OUT_OF_RANGE');
      // -1: everything up to the high watermark.
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] });
      expect((await admin.fetchTopicOffsets(topic))[0]).toMatchObject({ low: '10', high: '10' });
    } finally {
      await admin.disconnect();
    }
  });
});
