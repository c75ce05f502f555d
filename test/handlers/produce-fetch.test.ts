import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch, fixCrc } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

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

async function createTopic(name: string, numPartitions = 1, configs: Array<{ name: string; value: string }> = []) {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

function batchOf(count: number, prefix = 'v', extra: Partial<Parameters<typeof buildRecordBatch>[0]> = {}): Buffer {
  return buildRecordBatch({
    baseTimestamp: 1_700_000_000_000n,
    records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, timestampDelta: i })),
    ...extra,
  });
}

function produce(topic: string, partition: number, records: Buffer | null, acks = 1, version = 7) {
  return client.send(ApiKey.Produce, version, { acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
}

function fetch(topic: string, partition: number, fetchOffset: bigint, extra: Record<string, unknown> = {}, version = 11) {
  return client.send(ApiKey.Fetch, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 10 * 1024 * 1024,
    isolationLevel: 0,
    topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition, fetchOffset, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [],
    rackId: '',
    ...extra,
  });
}

describe('Produce and Fetch', () => {
  it('assigns consecutive offsets and serves the batches back byte for byte with rewritten base offsets', async () => {
    await createTopic('t');
    const first = batchOf(3, 'a');
    const second = batchOf(2, 'b');
    const p1 = await produce('t', 0, Buffer.from(first));
    const p2 = await produce('t', 0, Buffer.from(second));
    expect(p1.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0n, logStartOffset: 0n, logAppendTimeMs: -1n });
    expect(p2.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 3n });

    const res = await fetch('t', 0, 0n);
    const part = res.responses[0].partitions[0];
    expect(part).toMatchObject({ errorCode: 0, highWatermark: 5n, lastStableOffset: 5n, logStartOffset: 0n });
    const expected = Buffer.concat([first, second]);
    expected.writeBigInt64BE(3n, first.length); // second batch's base offset
    // The broker stamps its partition leader epoch (0) into each batch header; it is outside the CRC.
    expected.writeInt32BE(0, 12);
    expected.writeInt32BE(0, first.length + 12);
    expect(Buffer.compare(part.records, expected)).toBe(0);
  });

  it('fetches from the middle of the log starting at the batch that holds the offset', async () => {
    await createTopic('t');
    for (let i = 0; i < 5; i++) await produce('t', 0, batchOf(2, `x${i}`));
    const res = await fetch('t', 0, 5n);
    const header = readBatchHeader(res.responses[0].partitions[0].records, 0);
    expect(header.baseOffset).toBe(4n);
  });

  it('fetches by topic id from v13, and answers UNKNOWN_TOPIC_ID for an unknown id', async () => {
    await createTopic('ids');
    await produce('ids', 0, batchOf(1));
    const md = await client.send(ApiKey.Metadata, 12, { topics: [{ name: 'ids', topicId: Buffer.alloc(16) }] });
    const topicId = md.topics[0].topicId;
    const ok = await fetch('', 0, 0n, { topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 65536, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }] }, 13);
    expect(ok.responses[0].partitions[0].errorCode).toBe(0);
    expect(ok.responses[0].partitions[0].records.length).toBeGreaterThan(0);
    const bad = await fetch('', 0, 0n, { topics: [{ topicId: Buffer.alloc(16, 9), partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 65536, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }] }, 13);
    expect(bad.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
  });

  it('answers OFFSET_OUT_OF_RANGE above the log end offset and an empty answer at it', async () => {
    await createTopic('t');
    await produce('t', 0, batchOf(2));
    expect((await fetch('t', 0, 3n)).responses[0].partitions[0].errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    const atEnd = (await fetch('t', 0, 2n)).responses[0].partitions[0];
    expect(atEnd.errorCode).toBe(0);
    expect(atEnd.records.length).toBe(0);
  });

  it('returns at least one whole batch even when it is larger than the partition max bytes (KIP-74)', async () => {
    await createTopic('t');
    const big = batchOf(50, 'a-fairly-long-value-to-make-the-batch-large');
    await produce('t', 0, big);
    await produce('t', 0, batchOf(1));
    const res = await fetch('t', 0, 0n, { topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 10, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }] });
    expect(res.responses[0].partitions[0].records.length).toBe(big.length);
  });

  it('long-polls: a fetch waiting for min_bytes is answered when a produce arrives', async () => {
    await createTopic('t');
    const waiter = await TestClient.connect(tb.port);
    try {
      const pending = waiter.send(ApiKey.Fetch, 11, {
        maxWaitMs: 20_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 1,
        topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      await new Promise((r) => setTimeout(r, 50));
      await produce('t', 0, batchOf(1));
      const res = await pending;
      expect(res.responses[0].partitions[0].records.length).toBeGreaterThan(0);
      expect(res.responses[0].partitions[0].abortedTransactions).toEqual([]);
    } finally {
      waiter.close();
    }
  });

  it('long-polls until max_wait_ms when nothing arrives, then answers empty', async () => {
    await createTopic('t');
    const res = await fetch('t', 0, 0n, { maxWaitMs: 100, minBytes: 1 });
    expect(res.responses[0].partitions[0].errorCode).toBe(0);
    expect(res.responses[0].partitions[0].records.length).toBe(0);
  });

  it('acks=0 gets no response; the next request on the connection is answered in order', async () => {
    await createTopic('t');
    client.sendNoResponse(ApiKey.Produce, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batchOf(2) }] }] });
    const res = await fetch('t', 0, 0n, { maxWaitMs: 2000, minBytes: 1 });
    expect(res.responses[0].partitions[0].highWatermark).toBe(2n);
  });

  it('acks=0 with a failing partition closes the connection so the client refreshes metadata', async () => {
    client.sendNoResponse(ApiKey.Produce, 7, { acks: 0, timeoutMs: 1000, topicData: [{ name: 'missing', partitionData: [{ index: 0, records: batchOf(1) }] }] });
    await client.closed;
    expect(client.isOpen).toBe(false);
  });

  it('acks=-1 is acknowledged (after fsync under the default policy)', async () => {
    await createTopic('t');
    const res = await produce('t', 0, batchOf(3), -1);
    expect(res.responses[0].partitionResponses[0]).toMatchObject({ errorCode: 0, baseOffset: 0n });
  });

  it('rejects acks other than -1, 0, 1 with INVALID_REQUIRED_ACKS', async () => {
    await createTopic('t');
    const res = await produce('t', 0, batchOf(1), 2);
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_REQUIRED_ACKS);
  });

  it('answers UNKNOWN_TOPIC_OR_PARTITION for an unknown topic or a partition out of range', async () => {
    await createTopic('t', 2);
    expect((await produce('nope', 0, batchOf(1))).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await produce('t', 2, batchOf(1))).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await fetch('t', 5, 0n)).responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('rejects a batch with a bad CRC with CORRUPT_MESSAGE and stores nothing', async () => {
    await createTopic('t');
    const corrupt = batchOf(2);
    corrupt[corrupt.length - 1] ^= 0xff;
    expect((await produce('t', 0, corrupt)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const good = await produce('t', 0, batchOf(1));
    expect(good.responses[0].partitionResponses[0].baseOffset).toBe(0n);
  });

  it('rejects two batches in one partition with INVALID_RECORD', async () => {
    await createTopic('t');
    const res = await produce('t', 0, Buffer.concat([batchOf(1), batchOf(1)]));
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a control batch from a client with INVALID_RECORD', async () => {
    await createTopic('t');
    const res = await produce('t', 0, batchOf(1, 'c', { attributes: 0x20 }));
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('answers CORRUPT_MESSAGE for a v2 batch relabelled magic 1 on Produce v2: read as a message set, its CRC fails', async () => {
    await createTopic('t');
    const legacy = batchOf(1);
    legacy.writeInt8(1, 16);
    const res = await produce('t', 0, legacy, 1, 2);
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('answers UNSUPPORTED_COMPRESSION_TYPE for zstd before Produce v7', async () => {
    await createTopic('t');
    const zstd = fixCrc(batchOf(1, 'z', { attributes: 4 }));
    const res = await produce('t', 0, zstd, 1, 5);
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
  });

  it('answers MESSAGE_TOO_LARGE above the topic max.message.bytes', async () => {
    await createTopic('small', 1, [{ name: 'max.message.bytes', value: '200' }]);
    const res = await produce('small', 0, batchOf(20, 'this value is long enough to pass two hundred bytes'));
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
  });

  it('stamps LogAppendTime on topics configured for it', async () => {
    await createTopic('lat', 1, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const before = BigInt(Date.now());
    const res = await produce('lat', 0, batchOf(2));
    const appendTime = res.responses[0].partitionResponses[0].logAppendTimeMs;
    expect(appendTime).toBeGreaterThanOrEqual(before);
    const header = readBatchHeader((await fetch('lat', 0, 0n)).responses[0].partitions[0].records, 0);
    expect(header.maxTimestamp).toBe(appendTime);
  });

  it('keeps every acknowledged batch across a clean restart', async () => {
    await createTopic('t');
    await produce('t', 0, batchOf(3));
    await produce('t', 0, batchOf(4));
    client.close();
    const dataDir = tb.dataDir;
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir });
    client = await TestClient.connect(tb.port);
    const res = await fetch('t', 0, 0n);
    expect(res.responses[0].partitions[0].highWatermark).toBe(7n);
    expect((await produce('t', 0, batchOf(1))).responses[0].partitionResponses[0].baseOffset).toBe(7n);
  });

  it('answers UNSUPPORTED_VERSION to a Fetch v3 that would need down-conversion on a topic with message.downconversion.enable=false', async () => {
    await createTopic('t', 1, [{ name: 'message.downconversion.enable', value: 'false' }]);
    await produce('t', 0, batchOf(1));
    const res = await client.send(ApiKey.Fetch, 3, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] });
    expect(res.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('fills a multi-partition fetch in request order without going past the response max bytes', async () => {
    await createTopic('multi', 3);
    const sizes: number[] = [];
    for (let p = 0; p < 3; p++) {
      for (let i = 0; i < 4; i++) {
        const batch = batchOf(5, `p${p}-b${i}-${'x'.repeat(40)}`);
        sizes.push(batch.length);
        await produce('multi', p, batch);
      }
    }
    const batchSize = sizes[0]!;
    const partition = (index: number) => ({ partition: index, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 });
    const ask = (maxBytes: number) => fetch('multi', 0, 0n, { maxBytes, topics: [{ topic: 'multi', partitions: [partition(0), partition(1), partition(2)] }] });

    const all = (await ask(1 << 20)).responses[0].partitions.map((p: { records: Buffer }) => p.records.length);
    expect(all).toEqual([4 * batchSize, 4 * batchSize, 4 * batchSize]);

    // 6 batches' worth: partition 0 gets its 4, partition 1 the 2 that still fit, partition 2 nothing.
    const limited = (await ask(6 * batchSize + 10)).responses[0].partitions.map((p: { records: Buffer }) => p.records.length);
    expect(limited).toEqual([4 * batchSize, 2 * batchSize, 0]);

    // Smaller than one batch: the first partition still gets one whole batch (KIP-74), the others nothing.
    const tiny = (await ask(10)).responses[0].partitions.map((p: { records: Buffer }) => p.records.length);
    expect(tiny).toEqual([batchSize, 0, 0]);
  });

  it('long-polls until min_bytes have arrived, across several small appends', async () => {
    await createTopic('t');
    const one = batchOf(2, 'small');
    const waiter = await TestClient.connect(tb.port);
    try {
      let answered = false;
      const pending = waiter.send(ApiKey.Fetch, 11, {
        maxWaitMs: 20_000, minBytes: Math.floor(one.length * 2.5), maxBytes: 1 << 20, isolationLevel: 0,
        topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      }).then((r) => {
        answered = true;
        return r;
      });
      await produce('t', 0, batchOf(2, 'small'));
      await produce('t', 0, batchOf(2, 'small'));
      await new Promise((r) => setTimeout(r, 100));
      expect(answered).toBe(false);
      await produce('t', 0, batchOf(2, 'small'));
      const res = await pending;
      expect(res.responses[0].partitions[0].records.length).toBe(3 * one.length);
    } finally {
      waiter.close();
    }
  });
});
