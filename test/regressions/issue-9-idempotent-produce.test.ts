// Issue 9, idempotent producer, raw protocol: InitProducerId and Produce with producer ids over a real socket,
// batches built by hand (test/protocol/records/batch-builder.ts), as Kafka 3.9 answers them
// (UnifiedLog.analyzeAndValidateProducerState, ProducerAppendInfo.checkProducerEpoch/checkSequence):
// - a retried batch (same producer id, epoch and sequence range as one of the last 5) is not appended again and
//   is answered with the original offsets, and the original batch's timestamp as logAppendTimeMs
//   (UnifiedLog.append sets logAppendTime = duplicate.timestamp);
// - a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER (45), an older epoch INVALID_PRODUCER_EPOCH (47);
// - producer ids are never reused across a restart, clean or kill -9 (the id block is persisted before use);
// - producer state is rebuilt from snapshot + log after a restart, clean or kill -9 of the real process, so a
//   retry sent after the restart is still recognised as a duplicate.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';

const TOPIC = 'idem';
// Batch timestamps are recent, as a real producer's: a producer whose last timestamp is producer.id.expiration.ms
// (1 day) old is expired when a snapshot is loaded (the last test here).
const BASE_TIMESTAMP = BigInt(Date.now() - 60_000);

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function inProcess(dataDir: string): Promise<TestBroker> {
  const tb = await startTestBroker({ dataDir });
  cleanups.push(() => tb.stop({ keepData: true }));
  return tb;
}

async function spawned(dataDir?: string): Promise<SpawnedBroker> {
  const broker = await spawnBroker(dataDir === undefined ? { keepDataDir: true } : { dataDir });
  cleanups.push(() => broker.stop());
  return broker;
}

async function connect(port: number): Promise<TestClient> {
  const client = await TestClient.connect(port);
  cleanups.push(() => client.close());
  return client;
}

function tempDir(): string {
  const dir = makeTempDir('eddy-issue9-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function createTopic(client: TestClient): Promise<void> {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: TOPIC, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function initProducerId(client: TestClient): Promise<{ producerId: bigint; producerEpoch: number }> {
  const res = await client.send(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return { producerId: res.producerId, producerEpoch: res.producerEpoch };
}

interface Batch {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  records: number;
  /** Distinguishes batches' contents and timestamps. */
  tag: number;
  /** Overrides the batch's base timestamp. */
  baseTimestamp?: bigint;
}

/** The batch's maxTimestamp: BASE_TIMESTAMP + tag * 1000 + (records - 1). */
function maxTimestampOf(b: Batch): bigint {
  return baseTimestampOf(b) + BigInt(b.records - 1);
}

function baseTimestampOf(b: Batch): bigint {
  return b.baseTimestamp ?? BASE_TIMESTAMP + BigInt(b.tag * 1000);
}

function encode(b: Batch): Buffer {
  return buildRecordBatch({
    producerId: b.producerId,
    producerEpoch: b.producerEpoch,
    baseSequence: b.baseSequence,
    baseTimestamp: baseTimestampOf(b),
    records: Array.from({ length: b.records }, (_, i) => ({ key: `k${i}`, value: `batch ${b.tag} record ${i}`, timestampDelta: i })),
  });
}

interface ProduceAnswer {
  errorCode: number;
  baseOffset: bigint;
  logAppendTimeMs: bigint;
}

async function produce(client: TestClient, b: Batch): Promise<ProduceAnswer> {
  const res = await client.send(ApiKey.Produce, 9, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: TOPIC, partitionData: [{ index: 0, records: encode(b) }] }],
  });
  const p = res.responses[0].partitionResponses[0];
  return { errorCode: p.errorCode, baseOffset: p.baseOffset, logAppendTimeMs: p.logAppendTimeMs };
}

async function highWatermark(client: TestClient): Promise<bigint> {
  const res = await client.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, forgottenTopicsData: [], rackId: '',
    topics: [{ topic: TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
  });
  return res.responses[0].partitions[0].highWatermark as bigint;
}

/** Three batches of 2, 3 and 4 records from one producer, sequences 0, 2, 5: offsets 0, 2, 5, log end 9. */
async function writeThree(client: TestClient): Promise<Batch[]> {
  const { producerId, producerEpoch } = await initProducerId(client);
  const batches: Batch[] = [
    { producerId, producerEpoch, baseSequence: 0, records: 2, tag: 1 },
    { producerId, producerEpoch, baseSequence: 2, records: 3, tag: 2 },
    { producerId, producerEpoch, baseSequence: 5, records: 4, tag: 3 },
  ];
  const offsets: bigint[] = [];
  for (const b of batches) {
    const answer = await produce(client, b);
    expect(answer.errorCode).toBe(ErrorCode.NONE);
    offsets.push(answer.baseOffset);
  }
  expect(offsets).toEqual([0n, 2n, 5n]);
  expect(await highWatermark(client)).toBe(9n);
  return batches;
}

/** A retry of `b` (written at `offset`) is answered with its original offsets and appends nothing. */
async function expectDuplicate(client: TestClient, b: Batch, offset: bigint, logEnd: bigint): Promise<void> {
  const answer = await produce(client, b);
  expect(answer).toEqual({ errorCode: ErrorCode.NONE, baseOffset: offset, logAppendTimeMs: maxTimestampOf(b) });
  expect(await highWatermark(client)).toBe(logEnd);
}

describe('issue 9: idempotent Produce over the raw protocol', () => {
  it('appends a batch sent twice only once and answers the retry with the original offsets (also a retry of an older batch among the last five, and one sent before the first was answered)', async () => {
    const tb = await inProcess(tempDir());
    const client = await connect(tb.port);
    await createTopic(client);
    const batches = await writeThree(client);
    await expectDuplicate(client, batches[2]!, 5n, 9n);
    await expectDuplicate(client, batches[0]!, 0n, 9n);

    // Pipelined on one connection: the copy arrives while the original may still be being written.
    const next: Batch = { ...batches[0]!, baseSequence: 9, records: 2, tag: 4 };
    const [first, second] = await Promise.all([produce(client, next), produce(client, next)]);
    expect(first).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 9n, logAppendTimeMs: -1n });
    expect(second).toEqual({ errorCode: ErrorCode.NONE, baseOffset: 9n, logAppendTimeMs: maxTimestampOf(next) });
    expect(await highWatermark(client)).toBe(11n);
  });

  it('answers a sequence gap with OUT_OF_ORDER_SEQUENCE_NUMBER (45), appends nothing, and still accepts the right next sequence', async () => {
    const tb = await inProcess(tempDir());
    const client = await connect(tb.port);
    await createTopic(client);
    const batches = await writeThree(client);
    const gap: Batch = { ...batches[0]!, baseSequence: 10, records: 1, tag: 5 };
    expect((await produce(client, gap)).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER).toBe(45);
    expect(await highWatermark(client)).toBe(9n);
    const next = await produce(client, { ...gap, baseSequence: 9 });
    expect(next).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 9n });
  });

  it('answers a batch with an older epoch than the producer last used with INVALID_PRODUCER_EPOCH (47) and appends nothing', async () => {
    const tb = await inProcess(tempDir());
    const client = await connect(tb.port);
    await createTopic(client);
    const { producerId } = await initProducerId(client);
    expect((await produce(client, { producerId, producerEpoch: 0, baseSequence: 0, records: 1, tag: 1 })).errorCode).toBe(ErrorCode.NONE);
    // A bumped epoch starts again at sequence 0 (KIP-360).
    expect((await produce(client, { producerId, producerEpoch: 1, baseSequence: 0, records: 1, tag: 2 })).errorCode).toBe(ErrorCode.NONE);
    const stale = await produce(client, { producerId, producerEpoch: 0, baseSequence: 1, records: 1, tag: 3 });
    expect(stale.errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(ErrorCode.INVALID_PRODUCER_EPOCH).toBe(47);
    expect(await highWatermark(client)).toBe(2n);
  });

  it('never hands out a producer id again after a clean restart on the same data dir', async () => {
    const dataDir = tempDir();
    const first = await startTestBroker({ dataDir });
    const c1 = await TestClient.connect(first.port);
    const before: bigint[] = [];
    for (let i = 0; i < 3; i++) before.push((await initProducerId(c1)).producerId);
    c1.close();
    await first.stop({ keepData: true });
    expect(new Set(before).size).toBe(3);

    const second = await inProcess(dataDir);
    const c2 = await connect(second.port);
    const after = (await initProducerId(c2)).producerId;
    expect(after > before.reduce((a, b) => (a > b ? a : b))).toBe(true);
  });

  it('never hands out a producer id again after kill -9 of the broker process', async () => {
    const broker = await spawned();
    const c1 = await connect(broker.port);
    const before: bigint[] = [];
    for (let i = 0; i < 3; i++) before.push((await initProducerId(c1)).producerId);
    await broker.kill9();
    cleanups.push(() => rmSync(broker.dataDir, { recursive: true, force: true }));

    const restarted = await spawned(broker.dataDir);
    const c2 = await connect(restarted.port);
    const after = (await initProducerId(c2)).producerId;
    expect(before.includes(after)).toBe(false);
    expect(after > before.reduce((a, b) => (a > b ? a : b))).toBe(true);
  });

  it('still recognises a retry of the last batch as a duplicate after a clean restart (producer state from the shutdown snapshot), and keeps checking sequences', async () => {
    const dataDir = tempDir();
    const first = await startTestBroker({ dataDir });
    const c1 = await TestClient.connect(first.port);
    await createTopic(c1);
    const batches = await writeThree(c1);
    c1.close();
    await first.stop({ keepData: true });

    const second = await inProcess(dataDir);
    const client = await connect(second.port);
    await expectDuplicate(client, batches[2]!, 5n, 9n);
    expect((await produce(client, { ...batches[0]!, baseSequence: 12, records: 1, tag: 6 })).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(client, { ...batches[0]!, baseSequence: 9, records: 1, tag: 7 })).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 9n });
  });

  it('forgets at a clean restart a producer whose last batch is older than producer.id.expiration.ms, so its retry is appended again, as Kafka (ProducerStateManager.loadFromSnapshot skips expired entries)', async () => {
    const dataDir = tempDir();
    const first = await startTestBroker({ dataDir });
    const c1 = await TestClient.connect(first.port);
    await createTopic(c1);
    const { producerId, producerEpoch } = await initProducerId(c1);
    const old: Batch = { producerId, producerEpoch, baseSequence: 0, records: 2, tag: 1, baseTimestamp: BigInt(Date.now() - 2 * 86_400_000) };
    expect(await produce(c1, old)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    await expectDuplicate(c1, old, 0n, 2n);
    c1.close();
    await first.stop({ keepData: true });

    const second = await inProcess(dataDir);
    const client = await connect(second.port);
    // An unknown producer accepts any sequence (ProducerAppendInfo.checkSequence).
    expect(await produce(client, old)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
    expect(await highWatermark(client)).toBe(4n);
  });

  it('still recognises retries as duplicates after kill -9 of the broker process (producer state rebuilt from the log), and keeps checking sequences', async () => {
    const broker = await spawned();
    const c1 = await connect(broker.port);
    await createTopic(c1);
    const batches = await writeThree(c1);
    await broker.kill9();
    cleanups.push(() => rmSync(broker.dataDir, { recursive: true, force: true }));

    const restarted = await spawned(broker.dataDir);
    const client = await connect(restarted.port);
    await expectDuplicate(client, batches[2]!, 5n, 9n);
    // Replayed from the log, all of the producer's last five batches are known again, as in Kafka.
    await expectDuplicate(client, batches[0]!, 0n, 9n);
    expect((await produce(client, { ...batches[0]!, baseSequence: 12, records: 1, tag: 6 })).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(client, { ...batches[0]!, baseSequence: 9, records: 1, tag: 7 })).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 9n });
    expect(await highWatermark(client)).toBe(10n);
  });
});
