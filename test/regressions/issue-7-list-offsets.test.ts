// Issue 7, ListOffsets divergences from Kafka 3.9 (each over a real socket):
// - by timestamp on compressed batches: the first record at or after the target, not the batch's first offset
//   (UnifiedLog.fetchOffsetByTimestamp → LogSegment.findOffsetByTimestamp → FileRecords.searchForTimestamp);
// - MAX_TIMESTAMP (-3): the earliest record carrying the largest timestamp (RecordBatch.offsetOfMaxTimestamp);
// - negative timestamps the version does not know: UNSUPPORTED_VERSION; "not found" carries leaderEpoch -1
//   (KafkaApis.handleListOffsetRequestV0/V1AndAbove);
// - v0 max_num_offsets: log end offset plus segment base offsets, newest first (UnifiedLog.legacyFetchOffsetsBefore).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { compressBatch, withRecordsPayload } from '../protocol/records/compressed-batch.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { describeResult, runProcess } from '../e2e/support/kcat.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

async function createTopic(name: string, configs: Array<{ name: string; value: string }> = []): Promise<void> {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }], timeoutMs: 5000 });
  expect(res.topics[0].errorCode).toBe(0);
}

async function produce(topic: string, records: Buffer): Promise<void> {
  const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
}

function listOffsets(topic: string, timestamp: bigint, version = 7, maxNumOffsets = 1, replicaId = -1) {
  return client.send(ApiKey.ListOffsets, version, {
    replicaId, isolationLevel: 0,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp, maxNumOffsets }] }],
  }).then((res) => res.topics[0].partitions[0]);
}

const T = 1_700_000_000_000n;

/** confluent-kafka-python (librdkafka 2.0.2) producing 100 messages at T+10·i, in one compressed batch. */
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

describe('issue 7: ListOffsets by timestamp on compressed batches', () => {
  it.each(['lz4', 'gzip', 'snappy', 'zstd'])(
    'a librdkafka %s producer’s 100 messages at T+10·i: ListOffsets(T+500) answers offset 50',
    async (codec) => {
      await createTopic('c');
      const run = await runProcess('/usr/bin/python3', ['-c', PRODUCER, `127.0.0.1:${tb.port}`, 'c', codec, T.toString()], { timeoutMs: 40_000 });
      expect(run.code, describeResult(run)).toBe(0);
      // The messages really are in compressed batches.
      const fetched = await client.send(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'c', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const records: Buffer = fetched.responses[0].partitions[0].records;
      expect(records.readInt16BE(21) & 0x07).toBe({ gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[codec]);
      expect(await listOffsets('c', T + 500n)).toMatchObject({ errorCode: 0, offset: 50n, timestamp: T + 500n, leaderEpoch: 0 });
      expect(await listOffsets('c', T + 495n)).toMatchObject({ errorCode: 0, offset: 50n, timestamp: T + 500n });
      expect(await listOffsets('c', T)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: T });
      expect(await listOffsets('c', T + 990n)).toMatchObject({ errorCode: 0, offset: 99n, timestamp: T + 990n });
      expect(await listOffsets('c', T + 991n)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
    },
    60_000,
  );

  it.each(['gzip', 'snappy', 'snappy-xerial', 'lz4'] as const)('hand-built %s batches: the record at or after the target', async (codec) => {
    await createTopic('h');
    for (let b = 0; b < 3; b++) {
      const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `value-${b}-${i}`.repeat(10), timestampDelta: i * 10 }));
      await produce('h', compressBatch(buildRecordBatch({ records, baseTimestamp: T + BigInt(b * 1000) }), codec));
    }
    expect(await listOffsets('h', T + 1055n)).toMatchObject({ errorCode: 0, offset: 26n, timestamp: T + 1060n, leaderEpoch: 0 });
    expect(await listOffsets('h', T + 2190n)).toMatchObject({ errorCode: 0, offset: 59n, timestamp: T + 2190n });
  });

  it('hand-built zstd batch (a frame made by the zstd CLI): the record at or after the target', async () => {
    await createTopic('z');
    // 10 records, timestamps T+10·i (compression.test.ts holds the same fixture and its source).
    const source = buildRecordBatch({
      baseTimestamp: T,
      records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `zstd-value-${i}-`.repeat(8), timestampDelta: i * 10 })),
    });
    const frame = Buffer.from('KLUv/QRY5QQA1AXiAQAAAARrMNABenN0ZC12YWx1ZS0wLQDiAQAUAgRrMTEoBARrMjI8BgRrMzNQCARrNDRkCgRrNTV4DARrNjYA5AEAjAEOBGs3NwDkAQCgARAEazg4tAESBGs5OQAiINBTsRqNAnevAmgoAHfvAzsKgLu2DmwUuOs0iEaBu6eDaBS4expEQ4G7p0E0Crh7GkSjQNy193EiTKQJ2+UBPQ==', 'base64');
    await produce('z', withRecordsPayload(source, 4, frame));
    expect(await listOffsets('z', T + 41n)).toMatchObject({ errorCode: 0, offset: 5n, timestamp: T + 50n });
    expect(await listOffsets('z', T + 91n)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
  });

  it('a compressed batch that cannot be decompressed is refused at produce (UNKNOWN_SERVER_ERROR, as Kafka), so no seek meets it', async () => {
    await createTopic('bad');
    const source = buildRecordBatch({ baseTimestamp: T, records: [{ value: 'a' }, { value: 'b', timestampDelta: 5 }] });
    const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'bad', partitionData: [{ index: 0, records: withRecordsPayload(source, 3, Buffer.from('definitely not lz4')) }] }] });
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(await listOffsets('bad', T + 1n)).toMatchObject({ errorCode: 0, offset: -1n, leaderEpoch: -1 });
  });
});

describe('issue 7: ListOffsets MAX_TIMESTAMP (-3)', () => {
  it('answers the earliest of three records with the same max timestamp (offset 0, not 2)', async () => {
    await createTopic('m');
    await produce('m', buildRecordBatch({ baseTimestamp: T, records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] }));
    expect(await listOffsets('m', -3n)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: T, leaderEpoch: 0 });
  });

  it('looks inside a compressed batch for the earliest record carrying the max timestamp', async () => {
    await createTopic('mc');
    await produce('mc', buildRecordBatch({ baseTimestamp: T, records: [{ value: 'a' }] }));
    const records = [0, 70, 90, 90, 20].map((d) => ({ value: 'x', timestampDelta: d }));
    await produce('mc', compressBatch(buildRecordBatch({ baseTimestamp: T, records }), 'gzip'));
    expect(await listOffsets('mc', -3n)).toMatchObject({ errorCode: 0, offset: 3n, timestamp: T + 90n, leaderEpoch: 0 });
  });

  it('answers -1/-1 with leaderEpoch -1 on an empty partition', async () => {
    await createTopic('e');
    expect(await listOffsets('e', -3n)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
  });
});

describe('issue 7: ListOffsets negative timestamps per version', () => {
  beforeEach(async () => {
    await createTopic('t');
    await produce('t', buildRecordBatch({ baseTimestamp: T, records: [{ value: 'a' }, { value: 'b' }] }));
  });

  it.each([
    [1, -3n], [6, -3n], [7, -4n], [8, -5n], [9, -6n], [9, -100n], [4, -3n],
  ])('v%i with timestamp %s answers UNSUPPORTED_VERSION with -1 offset and timestamp', async (version, timestamp) => {
    const p = await listOffsets('t', timestamp, version);
    expect(p).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION, offset: -1n, timestamp: -1n });
    if (version >= 4) expect(p.leaderEpoch).toBe(-1);
  });

  it('checks the timestamp before the partition: an unknown topic with -3 at v1 is UNSUPPORTED_VERSION', async () => {
    expect(await listOffsets('nope', -3n, 1)).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION });
  });

  it('v0 answers UNSUPPORTED_VERSION with no offsets for a timestamp below -2', async () => {
    for (const timestamp of [-3n, -4n, -5n]) {
      expect(await listOffsets('t', timestamp, 0)).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION, oldStyleOffsets: [] });
    }
  });

  it('answers each supported timestamp with Kafka’s leaderEpoch: 0 when found, -1 otherwise', async () => {
    expect(await listOffsets('t', -1n, 9)).toMatchObject({ errorCode: 0, offset: 2n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets('t', -2n, 9)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets('t', -4n, 9)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: -1n, leaderEpoch: 0 });
    expect(await listOffsets('t', -5n, 9)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
    expect(await listOffsets('t', T, 9)).toMatchObject({ errorCode: 0, offset: 0n, timestamp: T, leaderEpoch: 0 });
    expect(await listOffsets('t', T + 1n, 9)).toMatchObject({ errorCode: 0, offset: -1n, timestamp: -1n, leaderEpoch: -1 });
  });
});

describe('issue 7: ListOffsets v0 max_num_offsets', () => {
  it('answers the log end offset and segment base offsets, newest first, up to max_num_offsets', async () => {
    await createTopic('s', [{ name: 'segment.bytes', value: '300' }]);
    for (let i = 0; i < 6; i++) {
      await produce('s', buildRecordBatch({ baseTimestamp: T + BigInt(i), records: [{ value: Buffer.alloc(150, i) }] }));
    }
    // Segment base offsets from the partition directory's <20-digit base offset>.log files.
    const bases = readdirSync(path.join(tb.dataDir, 's-0')).filter((f) => f.endsWith('.log')).map((f) => BigInt(f.slice(0, 20))).sort((a, b) => (a < b ? -1 : 1));
    expect(bases.length).toBeGreaterThanOrEqual(3);
    const newestFirst = [6n, ...[...bases].reverse()];
    expect((await listOffsets('s', -1n, 0, 100)).oldStyleOffsets).toEqual(newestFirst);
    expect((await listOffsets('s', -1n, 0, 3)).oldStyleOffsets).toEqual(newestFirst.slice(0, 3));
    expect((await listOffsets('s', -1n, 0, 1)).oldStyleOffsets).toEqual([6n]);
    expect((await listOffsets('s', -2n, 0, 100)).oldStyleOffsets).toEqual([0n]);
    expect((await listOffsets('s', T - 1n, 0, 100)).oldStyleOffsets).toEqual([]);
  });
});
