import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { compressBatch } from '../protocol/records/compressed-batch.js';
import { describeResult, runProcess } from '../e2e/support/kcat.js';
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

// ---- issue 10: lookups from the log start offset, MAX_TIMESTAMP and EARLIEST's epoch, through compressed batches -

const T = 1_700_000_000_000n;

/** confluent-kafka-python (librdkafka 2.0.2) producing 100 messages at T+10·i into partition 0, in one compressed batch. */
const PRODUCER = `
import sys
from confluent_kafka import Producer
bootstrap, topic, codec, base = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
errors = []
p = Producer({'bootstrap.servers': bootstrap, 'compression.type': codec, 'linger.ms': 1000,
              'batch.num.messages': 1000, 'acks': 1, 'message.timeout.ms': 20000})
for i in range(100):
    p.produce(topic, value=(('message-%d ' % i) * 20).encode(), partition=0, timestamp=base + 10 * i,
              on_delivery=lambda err, msg: errors.append(err) if err else None)
left = p.flush(25)
sys.exit(1 if left or errors else 0)
`;

async function createTopic(name: string, configs: Array<{ name: string; value: string }> = []): Promise<void> {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000 });
  expect(res.topics[0].errorCode).toBe(0);
}

async function deleteRecords(topic: string, offset: bigint): Promise<void> {
  const res = await client.send(ApiKey.DeleteRecords, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs: 1000 });
  expect(res.topics[0].partitions[0]).toMatchObject({ errorCode: 0, lowWatermark: offset });
}

async function storedCodec(topic: string): Promise<number> {
  const fetched = await client.send(ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return (fetched.responses[0].partitions[0].records as Buffer).readInt16BE(21) & 0x07;
}

describe('ListOffsets from the log start offset, MAX_TIMESTAMP and EARLIEST through compressed batches (issue 10)', () => {
  it.each(['gzip', 'snappy', 'lz4', 'zstd'])(
    'a librdkafka %s batch straddling the log start offset: by timestamp answers the first record at or after it, MAX_TIMESTAMP the last',
    async (codec) => {
      await createTopic('c');
      const run = await runProcess('/usr/bin/python3', ['-c', PRODUCER, `127.0.0.1:${tb.port}`, 'c', codec, T.toString()], { timeoutMs: 40_000 });
      expect(run.code, describeResult(run)).toBe(0);
      expect(await storedCodec('c')).toBe({ gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec]);
      expect(await listOffsets(-3n, 7, 0, 'c')).toMatchObject({ errorCode: 0, offset: 99n, timestamp: T + 990n, leaderEpoch: 0 });
      // The one batch (offsets 0–99) now straddles the log start offset 37: Kafka's searchForTimestamp looks inside
      // it from startingOffset = 37 (record 37 has T+370), it does not skip the batch.
      await deleteRecords('c', 37n);
      expect(await listOffsets(T, 7, 0, 'c')).toMatchObject({ errorCode: 0, offset: 37n, timestamp: T + 370n, leaderEpoch: 0 });
      expect(await listOffsets(T + 365n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 37n, timestamp: T + 370n, leaderEpoch: 0 });
      expect(await listOffsets(T + 371n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 38n, timestamp: T + 380n });
      expect(await listOffsets(T + 990n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 99n, timestamp: T + 990n });
      expect(await listOffsets(T + 991n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
      expect(await listOffsets(-3n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 99n, timestamp: T + 990n, leaderEpoch: 0 });
      expect(await listOffsets(-2n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 37n, timestamp: -1n, leaderEpoch: 0 });
      expect(await listOffsets(-4n, 9, 0, 'c')).toMatchObject({ errorCode: 0, offset: 37n, timestamp: -1n, leaderEpoch: 0 });
    },
    60_000,
  );

  it.each(['gzip', 'snappy', 'snappy-xerial', 'lz4'] as const)('a hand-built %s batch straddling the log start offset is searched from it', async (codec) => {
    await createTopic('h');
    const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`.repeat(10), timestampDelta: i * 10 }));
    const produced = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'h', partitionData: [{ index: 0, records: compressBatch(buildRecordBatch({ records, baseTimestamp: T }), codec) }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(0);
    await deleteRecords('h', 12n);
    expect(await listOffsets(T, 9, 0, 'h')).toMatchObject({ errorCode: 0, offset: 12n, timestamp: T + 120n });
    expect(await listOffsets(T + 155n, 9, 0, 'h')).toMatchObject({ errorCode: 0, offset: 16n, timestamp: T + 160n });
  });

  it('a LogAppendTime batch straddling the log start offset answers the log start offset itself', async () => {
    await createTopic('la', [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const batch = compressBatch(buildRecordBatch({ baseTimestamp: T, records: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) }), 'gzip');
    const produced = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'la', partitionData: [{ index: 0, records: batch }] }] });
    const appendTime = produced.responses[0].partitionResponses[0].logAppendTimeMs as bigint;
    expect(appendTime).toBeGreaterThan(0n);
    expect(await listOffsets(0n, 9, 0, 'la')).toMatchObject({ errorCode: 0, offset: 0n, timestamp: appendTime });
    await deleteRecords('la', 4n);
    expect(await listOffsets(0n, 9, 0, 'la')).toMatchObject({ errorCode: 0, offset: 4n, timestamp: appendTime, leaderEpoch: 0 });
    expect(await listOffsets(appendTime + 1n, 9, 0, 'la')).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n });
    expect(await listOffsets(-3n, 9, 0, 'la')).toMatchObject({ errorCode: 0, offset: 0n, timestamp: appendTime });
  });

  it('EARLIEST on an empty partition reports leader epoch 0 (the partition became leader at offset 0)', async () => {
    await createTopic('empty');
    expect(await listOffsets(-2n, 9, 0, 'empty')).toMatchObject({ errorCode: 0, offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets(-1n, 9, 0, 'empty')).toMatchObject({ errorCode: 0, offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets(-3n, 9, 0, 'empty')).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
  });
});
