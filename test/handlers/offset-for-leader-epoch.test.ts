// OffsetForLeaderEpoch over a real socket, every row of the handler's table and every version (Kafka 3.9:
// KafkaApis.handleOffsetForLeaderEpochRequest → Partition.lastOffsetForLeaderEpoch → LeaderEpochFileCache.endOffsetFor).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  const res = await client.send(ApiKey.CreateTopics, 4, {
    topics: [
      { name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] },
      { name: 'empty', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 5000,
  });
  expect(res.topics.map((t: { errorCode: number }) => t.errorCode)).toEqual([0, 0]);
  await produce('t', 0, 5);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

async function produce(topic: string, partition: number, records: number): Promise<void> {
  const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: Array.from({ length: records }, (_, i) => ({ value: `v${i}` })) });
  const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
}

interface Ask {
  topic?: string;
  partition?: number;
  leaderEpoch: number;
  currentLeaderEpoch?: number;
  version?: number;
  replicaId?: number;
}

async function ask({ topic = 't', partition = 0, leaderEpoch, currentLeaderEpoch = -1, version = 4, replicaId = -1 }: Ask) {
  const res = await client.send(ApiKey.OffsetForLeaderEpoch, version, {
    replicaId,
    topics: [{ topic, partitions: [{ partition, currentLeaderEpoch, leaderEpoch }] }],
  });
  expect(res.topics).toHaveLength(1);
  expect(res.topics[0].topic).toBe(topic);
  return res.topics[0].partitions[0] as { errorCode: number; partition: number; leaderEpoch: number; endOffset: bigint };
}

describe('OffsetForLeaderEpoch', () => {
  it.each([0, 1, 2, 3, 4])('v%i: the current epoch (0) ends at the log end offset', async (version) => {
    const answer = await ask({ leaderEpoch: 0, version });
    // v0 has no leader_epoch field: it decodes as the default -1.
    expect(answer).toEqual({ errorCode: 0, partition: 0, leaderEpoch: version === 0 ? -1 : 0, endOffset: 5n });
  });

  it('an epoch above every cached one, and -1, answer UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET with no error', async () => {
    expect(await ask({ leaderEpoch: 1 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n });
    expect(await ask({ leaderEpoch: -1 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n });
  });

  it('an empty partition is leader at epoch 0 from offset 0: epoch 0 ends at 0', async () => {
    expect(await ask({ topic: 'empty', leaderEpoch: 0 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 0n });
    expect(await ask({ partition: 1, leaderEpoch: 0 })).toEqual({ errorCode: 0, partition: 1, leaderEpoch: 0, endOffset: 0n });
  });

  it('follows the log end offset as records are appended', async () => {
    await produce('t', 0, 3);
    expect(await ask({ leaderEpoch: 0 })).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 8n });
  });

  it('an older epoch ends where the next one starts; one between two answers the lower; one below every entry answers itself with the first start', async () => {
    // A log written by two leader epochs, as a leader change would leave it: the second batch (offsets 5–8) is
    // restamped with epoch 3 while the broker is down and the checkpoint removed, so the restart rebuilds the cache
    // from the batch headers.
    await produce('t', 0, 4);
    client.close();
    await tb.stop({ keepData: true });
    const segment = path.join(tb.dataDir, 't-0', '00000000000000000000.log');
    const bytes = readFileSync(segment);
    const second = 12 + bytes.readInt32BE(8);
    expect(bytes.readBigInt64BE(second)).toBe(5n);
    bytes.writeInt32BE(3, second + 12);
    writeFileSync(segment, bytes);
    rmSync(path.join(tb.dataDir, 't-0', 'leader-epoch-checkpoint'), { force: true });
    tb = await startTestBroker({ dataDir: tb.dataDir });
    client = await TestClient.connect(tb.port);

    expect(await ask({ leaderEpoch: 3 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 3, endOffset: 9n });
    expect(await ask({ leaderEpoch: 0 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5n });
    expect(await ask({ leaderEpoch: 2 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5n });
    expect(await ask({ leaderEpoch: 4 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n });
    // DeleteRecords past epoch 0's records: the cache keeps only epoch 3, from the new log start offset.
    const del = await client.send(ApiKey.DeleteRecords, 2, { topics: [{ name: 't', partitions: [{ partitionIndex: 0, offset: 7n }] }], timeoutMs: 1000 });
    expect(del.topics[0].partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: 7n });
    expect(await ask({ leaderEpoch: 0 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 7n });
    expect(await ask({ leaderEpoch: 3 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 3, endOffset: 9n });
    // ListOffsets EARLIEST reports the epoch of the first entry (Kafka's UnifiedLog.fetchOffsetByTimestamp).
    const earliest = await client.send(ApiKey.ListOffsets, 9, {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }],
    });
    expect(earliest.topics[0].partitions[0]).toMatchObject({ errorCode: 0, offset: 7n, timestamp: -1n, leaderEpoch: 3 });
  });

  it('current_leader_epoch (v2+): -1 is not checked, older is FENCED_LEADER_EPOCH (also -2), newer is UNKNOWN_LEADER_EPOCH', async () => {
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: 0 })).toMatchObject({ errorCode: 0, endOffset: 5n });
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: -1 })).toMatchObject({ errorCode: 0, endOffset: 5n });
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: 1 })).toEqual({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, partition: 0, leaderEpoch: -1, endOffset: -1n });
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: -2 })).toEqual({ errorCode: ErrorCode.FENCED_LEADER_EPOCH, partition: 0, leaderEpoch: -1, endOffset: -1n });
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: 7, version: 2 })).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH });
  });

  it('v0–1 carry no current_leader_epoch, so nothing is fenced', async () => {
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: 9, version: 1 })).toMatchObject({ errorCode: 0, leaderEpoch: 0, endOffset: 5n });
    expect(await ask({ leaderEpoch: 0, currentLeaderEpoch: 9, version: 0 })).toMatchObject({ errorCode: 0, endOffset: 5n });
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or partition, before the epoch check', async () => {
    const unknown = { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, leaderEpoch: -1, endOffset: -1n };
    expect(await ask({ topic: 'nope', leaderEpoch: 0 })).toMatchObject(unknown);
    expect(await ask({ partition: 2, leaderEpoch: 0, currentLeaderEpoch: 5 })).toMatchObject({ ...unknown, partition: 2 });
    expect(await ask({ partition: -1, leaderEpoch: 0, version: 0 })).toMatchObject({ ...unknown, partition: -1 });
  });

  it('replica_id (v3+) is not looked at: a consumer (-1), the debug id (-2) and a broker id get the same answer', async () => {
    for (const replicaId of [-1, -2, 1, 42]) {
      expect(await ask({ leaderEpoch: 0, replicaId, version: 3 })).toEqual({ errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5n });
    }
  });

  it('answers every partition of every topic in request order, a topic named twice twice', async () => {
    const res = await client.send(ApiKey.OffsetForLeaderEpoch, 4, {
      replicaId: -1,
      topics: [
        { topic: 't', partitions: [{ partition: 1, currentLeaderEpoch: -1, leaderEpoch: 0 }, { partition: 0, currentLeaderEpoch: 3, leaderEpoch: 0 }, { partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
        { topic: 'nope', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] },
        { topic: 't', partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 5 }] },
      ],
    });
    expect(res.topics).toEqual([
      {
        topic: 't',
        partitions: [
          { errorCode: 0, partition: 1, leaderEpoch: 0, endOffset: 0n },
          { errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, partition: 0, leaderEpoch: -1, endOffset: -1n },
          { errorCode: 0, partition: 0, leaderEpoch: 0, endOffset: 5n },
        ],
      },
      { topic: 'nope', partitions: [{ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, partition: 0, leaderEpoch: -1, endOffset: -1n }] },
      { topic: 't', partitions: [{ errorCode: 0, partition: 0, leaderEpoch: -1, endOffset: -1n }] },
    ]);
  });

  it('is advertised in ApiVersions as versions 0–4', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1.0' });
    expect(res.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.OffsetForLeaderEpoch)).toMatchObject({ minVersion: 0, maxVersion: 4 });
  });
});
