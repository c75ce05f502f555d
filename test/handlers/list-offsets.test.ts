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
  await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  // Three batches: offsets 0-1 at t=1000.., 2-3 at t=5000.., 4 at t=3000 (timestamps need not be monotonic).
  for (const [base, count] of [[1000n, 2], [5000n, 2], [3000n, 1]] as const) {
    const records = Array.from({ length: count }, (_, i) => ({ value: `v${i}`, timestampDelta: i * 10 }));
    const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: buildRecordBatch({ baseTimestamp: base, records }) }] }] });
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
  }
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

function listOffsets(timestamp: bigint, version = 7, partitionIndex = 0, topic = 't') {
  return client.send(ApiKey.ListOffsets, version, {
    replicaId: -1, isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 }] }],
  }).then((res) => res.topics[0].partitions[0]);
}

describe('ListOffsets', () => {
  it('answers the log start offset for EARLIEST (-2) and the high watermark for LATEST (-1)', async () => {
    expect(await listOffsets(-2n)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets(-1n)).toMatchObject({ errorCode: 0, offset: 5n, timestamp: -1n });
  });

  it('finds the first offset whose timestamp is at or after the target', async () => {
    const found = await listOffsets(4000n);
    expect(found.errorCode).toBe(0);
    expect(found.offset).toBe(2n);
    expect(found.timestamp).toBeGreaterThanOrEqual(4000n);
  });

  it('answers -1/-1 when no record is that recent', async () => {
    expect(await listOffsets(99_999_999_999n)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n });
  });

  it('answers the largest timestamp for MAX_TIMESTAMP (-3, v7+)', async () => {
    const max = await listOffsets(-3n);
    expect(max.errorCode).toBe(0);
    expect(max.timestamp).toBe(5010n);
    expect([2n, 3n]).toContain(max.offset);
  });

  it('v0 answers with old-style offsets', async () => {
    const res = await listOffsets(-1n, 0);
    expect(res.errorCode).toBe(0);
    expect(res.oldStyleOffsets).toEqual([5n]);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown partition', async () => {
    expect((await listOffsets(-1n, 5, 3)).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await listOffsets(-1n, 5, 0, 'unknown')).errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('answers FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for a stale or future leader epoch', async () => {
    const ask = (currentLeaderEpoch: number) => client.send(ApiKey.ListOffsets, 5, {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: -1n }] }],
    }).then((r) => r.topics[0].partitions[0].errorCode);
    expect(await ask(0)).toBe(0);
    expect(await ask(5)).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
  });
});
