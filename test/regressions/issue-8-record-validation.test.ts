// Issue 8, defect 4: a batch with a valid header and CRC but malformed records (a record count of 3 holding 1
// record, garbage varints) was acknowledged; afterwards kcat never finished, the confluent consumer stalled at that
// offset and kafka-python raised CorruptRecordException. Kafka's LogValidator reads every record on produce and
// refuses such batches; it also enforces key presence on compacted topics and message.timestamp.* limits
// (record_errors), refuses a producer-set LogAppendTime bit on LogAppendTime topics, and recomputes maxTimestamp.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch, fixCrc } from '../protocol/records/batch-builder.js';
import { withRecordsPayload } from '../protocol/records/compressed-batch.js';
import { kcatConsume } from '../e2e/support/kcat.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
  tb = undefined;
  client = undefined;
});

async function start(): Promise<TestClient> {
  tb = await startTestBroker({ autoCreateTopics: false });
  client = await TestClient.connect(tb.port);
  return client;
}

async function createTopic(c: TestClient, name: string, configs: Record<string, string> = {}): Promise<void> {
  const res = await c.send(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: Object.entries(configs).map(([n, value]) => ({ name: n, value })) }],
  });
  expect([res.topics[0].errorCode, res.topics[0].errorMessage]).toEqual([0, null]);
}

interface PartitionResult {
  errorCode: number;
  baseOffset: bigint;
  recordErrors: Array<{ batchIndex: number; batchIndexErrorMessage: string | null }>;
  errorMessage: string | null;
}

async function produce(c: TestClient, topic: string, batch: Buffer, version = 9): Promise<PartitionResult> {
  const res = await c.send(ApiKey.Produce, version, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  return res.responses[0].partitionResponses[0];
}

/** The issue's batch: header and CRC valid, recordCount 3, one real record followed by garbage varints. */
function issueBatch(): Buffer {
  const one = buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ value: 'only-record' }] });
  const records = Buffer.concat([one.subarray(61), Buffer.alloc(9, 0xff)]);
  const batch = withRecordsPayload(one, 0, records);
  batch.writeInt32BE(3, 57); // recordCount
  batch.writeInt32BE(2, 23); // lastOffsetDelta, consistent with the count
  return fixCrc(batch);
}

describe('issue 8: records are validated on produce', () => {
  it('the malformed-record batch is refused with INVALID_RECORD, and kcat then reads the topic to its end', async () => {
    const c = await start();
    await createTopic(c, 'corrupt');
    const bad = await produce(c, 'corrupt', issueBatch());
    expect(bad.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(bad.baseOffset).toBe(-1n);
    expect(bad.recordErrors).toEqual([]);
    const now = BigInt(Date.now());
    for (const value of ['first', 'second']) {
      const ok = await produce(c, 'corrupt', buildRecordBatch({ baseTimestamp: now, records: [{ key: 'k', value }] }));
      expect(ok.errorCode).toBe(ErrorCode.NONE);
    }
    const consumed = await kcatConsume(`127.0.0.1:${tb!.port}`, 'corrupt', { timeoutMs: 30_000 });
    expect(consumed.map((r) => [r.offset, r.payload])).toEqual([[0, 'first'], [1, 'second']]);
  });

  it('a compacted topic refuses a record without a key: INVALID_RECORD with record_errors and the error message', async () => {
    const c = await start();
    await createTopic(c, 'compacted', { 'cleanup.policy': 'compact' });
    const res = await produce(c, 'compacted', buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: 'k', value: 'a' }, { value: 'no key' }] }));
    const msg = 'Compacted topic cannot accept message without key in topic partition compacted-0';
    expect(res.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(res.recordErrors).toEqual([{ batchIndex: 1, batchIndexErrorMessage: msg }]);
    expect(res.errorMessage).toBe(`One or more records have been rejected due to 1 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='${msg}')]`);
    const keyed = await produce(c, 'compacted', buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: 'k', value: 'a' }] }));
    expect([keyed.errorCode, keyed.baseOffset]).toEqual([ErrorCode.NONE, 0n]);
  });

  it('message.timestamp.before.max.ms / after.max.ms refuse out-of-range records with INVALID_TIMESTAMP and record_errors', async () => {
    const c = await start();
    await createTopic(c, 'recent', { 'message.timestamp.before.max.ms': '60000', 'message.timestamp.after.max.ms': '60000' });
    const now = BigInt(Date.now());
    const res = await produce(c, 'recent', buildRecordBatch({ baseTimestamp: now, records: [{ value: 'now' }, { value: 'old', timestampDelta: -3_600_000 }, { value: 'future', timestampDelta: 3_600_000 }] }));
    expect(res.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(res.errorMessage).toBe('One or more records have been rejected due to invalid timestamp');
    expect(res.recordErrors.map((e) => e.batchIndex)).toEqual([1, 2]);
    expect(res.recordErrors[0]!.batchIndexErrorMessage).toMatch(new RegExp(`^Timestamp ${now - 3_600_000n} of message with offset 1 is out of range\\. The timestamp should be within \\[\\d+, \\d+\\]$`));
    expect((await produce(c, 'recent', buildRecordBatch({ baseTimestamp: now, records: [{ value: 'now' }] }))).errorCode).toBe(ErrorCode.NONE);
  });

  it('message.timestamp.difference.max.ms is enforced while before/after keep their defaults (KIP-937)', async () => {
    const c = await start();
    await createTopic(c, 'diff', { 'message.timestamp.difference.max.ms': '60000' });
    const res = await produce(c, 'diff', buildRecordBatch({ baseTimestamp: BigInt(Date.now()) - 3_600_000n, records: [{ value: 'old' }] }));
    expect([res.errorCode, res.recordErrors.map((e) => e.batchIndex)]).toEqual([ErrorCode.INVALID_TIMESTAMP, [0]]);
  });

  it('a producer-set LogAppendTime bit is refused on a LogAppendTime topic', async () => {
    const c = await start();
    await createTopic(c, 'lat', { 'message.timestamp.type': 'LogAppendTime' });
    const res = await produce(c, 'lat', buildRecordBatch({ attributes: 0x08, baseTimestamp: BigInt(Date.now()), records: [{ value: 'a' }] }));
    expect(res.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(res.recordErrors[0]!.batchIndexErrorMessage).toMatch(/Producer should not set timestamp type to LogAppendTime\.$/);
  });

  it('a header maxTimestamp of -1 over records at T+100/T+300 is recomputed, so ListOffsets finds them', async () => {
    const c = await start();
    await createTopic(c, 'maxts');
    const t = BigInt(Date.now()) - 10_000n;
    const res = await produce(c, 'maxts', buildRecordBatch({ baseTimestamp: t, maxTimestamp: -1n, records: [{ value: 'a' }, { value: 'b', timestampDelta: 100 }, { value: 'c', timestampDelta: 300 }] }));
    expect(res.errorCode).toBe(ErrorCode.NONE);
    const lookup = async (timestamp: bigint) => {
      const r = await c.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'maxts', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }] });
      const p = r.topics[0].partitions[0];
      return [p.errorCode, p.offset, p.timestamp];
    };
    expect(await lookup(t + 200n)).toEqual([0, 2n, t + 300n]);
    expect(await lookup(-3n)).toEqual([0, 2n, t + 300n]); // MAX_TIMESTAMP (KIP-734)
  });

  it('undefined codec ids and undecodable compressed payloads are refused with UNKNOWN_SERVER_ERROR, as Kafka answers', async () => {
    const c = await start();
    await createTopic(c, 'codecs');
    const plain = buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ value: 'a' }] });
    for (const codec of [1, 2, 3, 4, 5, 6, 7]) {
      const res = await produce(c, 'codecs', withRecordsPayload(plain, codec, Buffer.from('not a compressed stream at all')));
      expect([codec, res.errorCode]).toEqual([codec, ErrorCode.UNKNOWN_SERVER_ERROR]);
    }
    // Nothing was stored, and the broker still takes good batches.
    const ok = await produce(c, 'codecs', plain);
    expect([ok.errorCode, ok.baseOffset]).toEqual([ErrorCode.NONE, 0n]);
  });
});
