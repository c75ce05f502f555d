// DeleteRecords (key 21) against the in-process broker, every version, with Kafka 3.9's per-partition outcomes.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

async function createTopic(name: string, configs: Array<{ name: string; value: string }> = [], numPartitions = 1): Promise<void> {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }] });
  expect(res.topics[0].errorCode).toBe(0);
}

async function produce(topic: string, count: number): Promise<void> {
  const records = Array.from({ length: count }, (_, i) => ({ value: `v${i}`, timestampDelta: i }));
  const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records }) }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
}

function deleteRecords(topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; offset: bigint }> }>, version = 2) {
  return client.send(ApiKey.DeleteRecords, version, { topics, timeoutMs: 1000 });
}

async function earliest(topic: string): Promise<bigint> {
  const res = await client.send(ApiKey.ListOffsets, 7, {
    replicaId: -1,
    isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n, maxNumOffsets: 1 }] }],
  });
  return res.topics[0].partitions[0].offset;
}

async function fetchAt(topic: string, fetchOffset: bigint) {
  const res = await client.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition: 0, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  return res.responses[0].partitions[0];
}

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  await createTopic('t');
  await produce('t', 5);
  await produce('t', 5);
});

afterEach(async () => {
  client.close();
  await tb.stop();
});

describe('DeleteRecords', () => {
  for (const version of [0, 1, 2]) {
    it(`v${version} moves the log start offset and answers it as the low watermark; fetches below get OFFSET_OUT_OF_RANGE`, async () => {
      const res = await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: 7n }] }], version);
      expect(res.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 7n, errorCode: ErrorCode.NONE }] }]);
      expect(await earliest('t')).toBe(7n);
      expect((await fetchAt('t', 6n)).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
      const at = await fetchAt('t', 7n);
      expect(at.errorCode).toBe(ErrorCode.NONE);
      expect(at.logStartOffset).toBe(7n);
    });
  }

  it('offset -1 deletes up to the high watermark', async () => {
    const res = await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: -1n }] }]);
    expect(res.topics[0].partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 10n, errorCode: ErrorCode.NONE });
    expect(await earliest('t')).toBe(10n);
  });

  it('an offset beyond the high watermark, or below -1, is OFFSET_OUT_OF_RANGE with low watermark -1', async () => {
    const res = await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: 11n }] }]);
    expect(res.topics[0].partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: -1n, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE });
    const negative = await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: -2n }] }]);
    expect(negative.topics[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await earliest('t')).toBe(0n);
  });

  it('an offset at or below the log start offset changes nothing and answers the current one', async () => {
    await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: 6n }] }]);
    const res = await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: 2n }] }]);
    expect(res.topics[0].partitions[0]).toEqual({ partitionIndex: 0, lowWatermark: 6n, errorCode: ErrorCode.NONE });
  });

  it('unknown topics and partitions are UNKNOWN_TOPIC_OR_PARTITION, internal topics INVALID_TOPIC_EXCEPTION, compact topics POLICY_VIOLATION', async () => {
    await createTopic('compacted', [{ name: 'cleanup.policy', value: 'compact' }]);
    await client.send(ApiKey.FindCoordinator, 2, { key: 'g', keyType: 0 });
    const res = await deleteRecords([
      { name: 'nope', partitions: [{ partitionIndex: 0, offset: 1n }] },
      { name: 't', partitions: [{ partitionIndex: 3, offset: 1n }] },
      { name: '__consumer_offsets', partitions: [{ partitionIndex: 0, offset: 0n }] },
      { name: 'compacted', partitions: [{ partitionIndex: 0, offset: 0n }] },
    ]);
    expect(res.topics.map((t: { name: string; partitions: Array<{ errorCode: number; lowWatermark: bigint }> }) => [t.name, t.partitions[0]!.errorCode, t.partitions[0]!.lowWatermark])).toEqual([
      ['nope', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
      ['t', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, -1n],
      ['__consumer_offsets', ErrorCode.INVALID_TOPIC_EXCEPTION, -1n],
      ['compacted', ErrorCode.POLICY_VIOLATION, -1n],
    ]);
  });

  it('a partition named twice is answered once, with the last offset', async () => {
    const res = await deleteRecords([
      { name: 't', partitions: [{ partitionIndex: 0, offset: 3n }] },
      { name: 't', partitions: [{ partitionIndex: 0, offset: 4n }] },
    ]);
    expect(res.topics).toEqual([{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 4n, errorCode: ErrorCode.NONE }] }]);
  });

  it('the new log start offset is in log-start-offset-checkpoint when the answer arrives, and survives a restart', async () => {
    await deleteRecords([{ name: 't', partitions: [{ partitionIndex: 0, offset: 8n }] }]);
    expect(readFileSync(`${tb.dataDir}/log-start-offset-checkpoint`, 'utf8')).toContain('t 0 8\n');
    const dataDir = tb.dataDir;
    client.close();
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir });
    client = await TestClient.connect(tb.port);
    expect(await earliest('t')).toBe(8n);
  });
});
