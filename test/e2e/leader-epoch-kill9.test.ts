/**
 * The leader-epoch checkpoint survives kill -9 of a real broker process (dist/cli/main.js) and stays consistent with
 * the log: written once acks=-1 data is fsynced, moved by DeleteRecords, rebuilt for a partition that was never
 * flushed, cut back with a torn tail. OffsetForLeaderEpoch and ListOffsets EARLIEST answer the same before and after,
 * and a librdkafka consumer (confluent-kafka-python) resumes from an offset committed with leader epoch 0.
 */
import { existsSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { describeResult, runProcess } from './support/kcat.js';

const ARGS = ['--flush-on-ack-all', 'true'];

let broker: SpawnedBroker | undefined;
let client: TestClient | undefined;
let dataDirToRemove: string | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await broker?.stop().catch(() => undefined);
  broker = undefined;
  if (dataDirToRemove) rmSync(dataDirToRemove, { recursive: true, force: true });
  dataDirToRemove = undefined;
});

async function connect(): Promise<TestClient> {
  client?.close();
  client = await TestClient.connect(broker!.port);
  return client;
}

async function produce(topic: string, records: number, acks: number): Promise<void> {
  const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: Array.from({ length: records }, (_, i) => ({ key: `k${i}`, value: `value-${i}` })) });
  const res = await client!.send(ApiKey.Produce, 7, { acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
}

async function endOffsetForEpoch(topic: string, leaderEpoch: number) {
  const res = await client!.send(ApiKey.OffsetForLeaderEpoch, 4, {
    replicaId: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch }] }],
  });
  return res.topics[0].partitions[0] as { errorCode: number; leaderEpoch: number; endOffset: bigint };
}

async function earliest(topic: string) {
  const res = await client!.send(ApiKey.ListOffsets, 9, {
    replicaId: -1, isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }],
  });
  return res.topics[0].partitions[0] as { errorCode: number; offset: bigint; leaderEpoch: number };
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** confluent-kafka-python in group `g`, no offset reset allowed: prints the offsets it reads, up to `count`. */
const CONSUMER = `
import sys, json
from confluent_kafka import Consumer
bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = Consumer({'bootstrap.servers': bootstrap, 'group.id': 'g', 'auto.offset.reset': 'error',
              'enable.auto.commit': False, 'session.timeout.ms': 6000})
c.subscribe([topic])
offsets, errors = [], []
for _ in range(300):
    m = c.poll(0.1)
    if m is None:
        continue
    if m.error():
        errors.append(str(m.error()))
        break
    offsets.append(m.offset())
    if len(offsets) >= count:
        break
c.close()
print(json.dumps({'offsets': offsets, 'errors': errors}))
`;

describe('leader-epoch checkpoint under kill -9', () => {
  test('the checkpoint and OffsetForLeaderEpoch answers are the same after kill -9 and restart', { timeout: 120_000 }, async () => {
    broker = await spawnBroker({ keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
    const dataDir = broker.dataDir;
    dataDirToRemove = dataDir;
    const checkpoint = (topic: string) => join(dataDir, `${topic}-0`, 'leader-epoch-checkpoint');
    await connect();
    const created = await client!.send(ApiKey.CreateTopics, 4, {
      topics: ['durable', 'unflushed', 'torn'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 5000,
    });
    expect(created.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual([0, 0, 0]);

    // acks=-1 (fsynced): the checkpoint is on disk once the first batch is.
    for (let i = 0; i < 4; i++) await produce('durable', 5, -1);
    expect(readFileSync(checkpoint('durable'), 'utf8')).toBe('0\n1\n0 0\n');
    // DeleteRecords moves the first entry (written in the background).
    const del = await client!.send(ApiKey.DeleteRecords, 2, { topics: [{ name: 'durable', partitions: [{ partitionIndex: 0, offset: 3n }] }], timeoutMs: 1000 });
    expect(del.topics[0].partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 3n });
    await until('the checkpoint to follow DeleteRecords', () => readFileSync(checkpoint('durable'), 'utf8') === '0\n1\n0 3\n');
    // A committed offset carrying leader epoch 0 (OffsetCommit v8, KIP-320).
    const commit = await client!.send(ApiKey.OffsetCommit, 8, {
      groupId: 'g', generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'durable', partitions: [{ partitionIndex: 0, committedOffset: 12n, committedLeaderEpoch: 0, committedMetadata: null }] }],
    });
    expect(commit.topics[0].partitions[0].errorCode).toBe(0);

    // acks=1 without fsync: nothing written for the cache yet; recovery rebuilds it.
    for (let i = 0; i < 3; i++) await produce('unflushed', 4, 1);
    expect(existsSync(checkpoint('unflushed'))).toBe(false);

    // Fsynced, then a torn tail: recovery cuts the log and the epoch's end follows.
    for (let i = 0; i < 3; i++) await produce('torn', 4, -1);
    expect(await endOffsetForEpoch('torn', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 12n });

    expect(await endOffsetForEpoch('durable', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 20n });
    expect(await earliest('durable')).toMatchObject({ errorCode: 0, offset: 3n, leaderEpoch: 0 });

    client!.close();
    await broker.kill9();
    const tornLog = join(dataDir, 'torn-0', '00000000000000000000.log');
    truncateSync(tornLog, statSync(tornLog).size - 7);
    broker = await spawnBroker({ dataDir, keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
    await connect();

    expect(readFileSync(checkpoint('durable'), 'utf8')).toBe('0\n1\n0 3\n');
    expect(await endOffsetForEpoch('durable', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 20n });
    expect(await endOffsetForEpoch('durable', 1)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n });
    expect(await earliest('durable')).toMatchObject({ errorCode: 0, offset: 3n, leaderEpoch: 0 });
    expect(await endOffsetForEpoch('unflushed', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 12n });
    expect(await earliest('unflushed')).toMatchObject({ errorCode: 0, offset: 0n, leaderEpoch: 0 });
    expect(await endOffsetForEpoch('torn', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 8n });

    // New data after the restart keeps epoch 0 from its first offset; a flush writes the rebuilt cache.
    await produce('unflushed', 4, -1);
    expect(readFileSync(checkpoint('unflushed'), 'utf8')).toBe('0\n1\n0 0\n');
    expect(await endOffsetForEpoch('unflushed', 0)).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 16n });

    // librdkafka resumes group `g` from its committed offset (12, leader epoch 0) with no reset.
    const run = await runProcess('/usr/bin/python3', ['-c', CONSUMER, broker.bootstrap, 'durable', '8'], { timeoutMs: 60_000 });
    expect(run.code, describeResult(run)).toBe(0);
    const verdict = JSON.parse(run.stdout.toString('utf8').trim().split('\n').at(-1)!) as { offsets: number[]; errors: string[] };
    expect(verdict.errors).toEqual([]);
    expect(verdict.offsets).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);

    // A clean stop and start leaves the same answers.
    client!.close();
    client = undefined;
    await broker.stop();
    broker = await spawnBroker({ dataDir, keepDataDir: true, logLevel: 'warn', extraArgs: ARGS });
    await connect();
    expect(await endOffsetForEpoch('torn', 0)).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 8n });
    expect(readFileSync(checkpoint('torn'), 'utf8')).toBe('0\n1\n0 0\n');
    expect(await earliest('durable')).toMatchObject({ errorCode: 0, offset: 3n, leaderEpoch: 0 });
  });
});
