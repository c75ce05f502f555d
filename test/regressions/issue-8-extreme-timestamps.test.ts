// Issue 8, defect 1: a valid batch whose maxTimestamp is near 2^63-1 (Long.MAX_VALUE, which some clients send
// for "no timestamp") was accepted, then its time-index entry overflowed when encoded (the number rounds to 2^63),
// the partition went offline, and the next start failed for every partition. Timestamps at both int64 extremes
// must be stored, indexed, answered and survive a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
  tb = undefined;
});

async function produce(c: TestClient, topic: string, batch: Buffer): Promise<number> {
  const res = await c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  return res.responses[0].partitionResponses[0].errorCode;
}

async function fetchAll(c: TestClient, topic: string): Promise<{ errorCode: number; highWatermark: bigint; records: Buffer }> {
  const res = await c.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  return res.responses[0].partitions[0];
}

describe('issue 8: timestamps at the int64 extremes', () => {
  for (const [label, maxTimestamp] of [['Long.MAX_VALUE', INT64_MAX], ['Long.MAX_VALUE - 1', INT64_MAX - 1n], ['Long.MIN_VALUE', INT64_MIN]] as const) {
    it(`a batch with maxTimestamp ${label} is stored, indexed across segment rolls, and the broker restarts with it`, async () => {
      tb = await startTestBroker();
      client = await TestClient.connect(tb.port);
      // Tiny segments and index interval: every batch writes index entries and several segments are sealed.
      const created = await client.send(ApiKey.CreateTopics, 4, {
        topics: [{ name: 'ts', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'segment.bytes', value: '1024' }, { name: 'index.interval.bytes', value: '1' }] }],
      });
      expect([created.topics[0].errorCode, created.topics[0].errorMessage]).toEqual([0, null]);
      const now = BigInt(Date.now());
      expect(await produce(client, 'ts', Buffer.from(buildRecordBatch({ baseTimestamp: now, records: [{ value: 'before' }] })))).toBe(0);
      // The header alone claiming the extreme (the broker recomputes maxTimestamp from the records, as Kafka's
      // LogValidator does), then records that really carry it.
      expect(await produce(client, 'ts', Buffer.from(buildRecordBatch({ baseTimestamp: now, maxTimestamp, records: [{ value: 'claims' }] })))).toBe(0);
      expect(await produce(client, 'ts', Buffer.from(buildRecordBatch({ baseTimestamp: maxTimestamp, maxTimestamp, records: [{ value: 'extreme' }] })))).toBe(0);
      for (let i = 0; i < 19; i++) {
        expect(await produce(client, 'ts', Buffer.from(buildRecordBatch({ baseTimestamp: now, records: [{ value: 'x'.repeat(200) }] })))).toBe(0);
      }
      expect((await fetchAll(client, 'ts')).highWatermark).toBe(22n);
      client.close();

      await tb.stop({ keepData: true });
      tb = await startTestBroker({ dataDir: tb.dataDir });
      client = await TestClient.connect(tb.port);
      const fetched = await fetchAll(client, 'ts');
      expect(fetched.errorCode).toBe(ErrorCode.NONE);
      expect(fetched.highWatermark).toBe(22n);
      // Still writable after the restart.
      expect(await produce(client, 'ts', Buffer.from(buildRecordBatch({ baseTimestamp: now, records: [{ value: 'after' }] })))).toBe(0);
      // ListOffsets answers without failing: by a timestamp between the extremes and by max timestamp (v7+).
      for (const timestamp of [now, -3n]) {
        const res = await client.send(ApiKey.ListOffsets, 7, {
          replicaId: -1, isolationLevel: 0,
          topics: [{ name: 'ts', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp }] }],
        });
        expect(res.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
      }
    });
  }

  it('producer ids, epochs and sequences at their extremes are answered and survive a restart; an extreme base offset is INVALID_RECORD', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'ids', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    const now = BigInt(Date.now());
    const extremes = [
      { producerId: INT64_MAX, producerEpoch: 0x7fff, baseSequence: 0 },
      { producerId: 0n, producerEpoch: 0, baseSequence: 0x7fffffff },
      { producerId: -1n, producerEpoch: -1, baseSequence: -1 },
    ];
    const codes: number[] = [];
    for (const e of extremes) codes.push(await produce(client, 'ids', Buffer.from(buildRecordBatch({ baseTimestamp: now, ...e, records: [{ value: 'v' }] }))));
    // Without idempotence these are stored as sent; exactly-once will judge them. Either way: an answer, no fault.
    for (const code of codes) expect([ErrorCode.NONE, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, ErrorCode.UNKNOWN_PRODUCER_ID, ErrorCode.INVALID_PRODUCER_EPOCH]).toContain(code);
    // Kafka (UnifiedLog.analyzeAndValidateRecords): a client's v2 batch must have baseOffset 0.
    expect(await produce(client, 'ids', Buffer.from(buildRecordBatch({ baseOffset: INT64_MAX, baseTimestamp: now, records: [{ value: 'v' }] })))).toBe(ErrorCode.INVALID_RECORD);
    const stored = (await fetchAll(client, 'ids')).highWatermark;
    client.close();
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir: tb.dataDir });
    client = await TestClient.connect(tb.port);
    const after = await fetchAll(client, 'ids');
    expect([after.errorCode, after.highWatermark]).toEqual([ErrorCode.NONE, stored]);
  });
});
