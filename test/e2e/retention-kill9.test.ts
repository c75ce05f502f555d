/**
 * The log start offset survives kill -9 of a real broker process (dist/cli/main.js, retention checked every
 * second): segments deleted by retention never come back, an offset set by DeleteRecords inside a segment is kept
 * (log-start-offset-checkpoint), and no `.deleted` file outlives the restart.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Kafka } from 'kafkajs';
import { afterEach, describe, expect, test } from 'vitest';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { kafkaClient } from './support/in-process.js';

const ARGS = ['--log-retention-check-interval-ms', '1000', '--file-delete-delay-ms', '60000', '--flush-on-ack-all', 'true'];

let broker: SpawnedBroker | undefined;

afterEach(async () => {
  await broker?.stop().catch(() => undefined);
  broker = undefined;
});

async function offsets(kafka: Kafka, topic: string): Promise<{ low: bigint; high: bigint }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [p] = await admin.fetchTopicOffsets(topic);
    return { low: BigInt(p!.low), high: BigInt(p!.high) };
  } finally {
    await admin.disconnect();
  }
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function restart(dataDir: string): Promise<Kafka> {
  await broker!.kill9();
  broker = await spawnBroker({ dataDir, keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
  return kafkaClient(broker.bootstrap, 'retention-kill9');
}

describe('retention under kill -9', () => {
  test('the log start offset moved by retention and by DeleteRecords is the same after kill -9 and restart', { timeout: 120_000 }, async () => {
    broker = await spawnBroker({ keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
    const dataDir = broker.dataDir;
    let kafka = kafkaClient(broker.bootstrap, 'retention-kill9');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: 'by-time', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '2000' }, { name: 'segment.bytes', value: '65536' }] },
        { topic: 'by-request', numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'segment.bytes', value: '65536' }] },
      ],
    });
    await admin.fetchTopicMetadata({ topics: ['by-time', 'by-request'] });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const value = 'x'.repeat(2000);
    const startedMs = Date.now();
    while (Date.now() - startedMs < 4_000) {
      await producer.send({ topic: 'by-time', acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value })) });
    }
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'by-request', acks: -1, messages: Array.from({ length: 10 }, (_, k) => ({ key: `k${k}`, value })) });
    await producer.disconnect();

    // DeleteRecords to an offset inside a segment (10 records a batch, about 30 a segment): acknowledged = durable.
    await admin.deleteTopicRecords({ topic: 'by-request', partitions: [{ partition: 0, offset: '77' }] });
    await admin.disconnect();
    const timeBefore = await until('retention to start', () => offsets(kafka, 'by-time'), (o) => o.low > 0n);
    const requestBefore = await offsets(kafka, 'by-request');
    expect(requestBefore).toEqual({ low: 77n, high: 200n });

    kafka = await restart(dataDir);
    const timeAfter = await offsets(kafka, 'by-time');
    expect(timeAfter.high).toBe(timeBefore.high);
    // Never back (retention may have moved on since, never below what was deleted).
    expect(timeAfter.low).toBeGreaterThanOrEqual(timeBefore.low);
    expect(await offsets(kafka, 'by-request')).toEqual({ low: 77n, high: 200n });

    // Once everything expired the active segment is rolled and deleted too: start = end, also after kill -9.
    const drained = await until('every record to expire', () => offsets(kafka, 'by-time'), (o) => o.low === o.high);
    kafka = await restart(dataDir);
    expect(await offsets(kafka, 'by-time')).toEqual(drained);
    expect(await offsets(kafka, 'by-request')).toEqual({ low: 77n, high: 200n });
    // The renamed files of deleted segments did not survive the restarts (file.delete.delay.ms is a minute here).
    expect(readdirSync(join(dataDir, 'by-time-0')).filter((n) => n.endsWith('.deleted'))).toEqual([]);
  });
});
