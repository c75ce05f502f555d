// InitProducerId over a real socket, and the idempotent Produce path it enables (producer-state.ts wired into
// PartitionLog.append).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
const extraBrokers: TestBroker[] = [];
const extraClients: TestClient[] = [];

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});

afterEach(async () => {
  for (const c of extraClients.splice(0)) c.close();
  client.close();
  for (const b of extraBrokers.splice(0)) await b.stop();
  await tb.stop();
});

function initProducerId(version: number, fields: Record<string, unknown> = {}, on: TestClient = client) {
  return on.send(ApiKey.InitProducerId, version, { transactionalId: null, transactionTimeoutMs: 60_000, ...fields });
}

describe('InitProducerId', () => {
  it('is advertised in ApiVersions as versions 0-5', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1' });
    expect(res.apiKeys.find((k: { apiKey: number }) => k.apiKey === ApiKey.InitProducerId)).toMatchObject({ minVersion: 0, maxVersion: 5 });
  });

  it('gives an idempotent producer a new id with epoch 0 at every version, ids increasing from 0', async () => {
    const ids: bigint[] = [];
    for (let v = 0; v <= 5; v++) {
      const res = await initProducerId(v);
      expect(res).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0, throttleTimeMs: 0 });
      ids.push(res.producerId);
    }
    expect(ids).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
  });

  it('ignores a producerId and epoch sent with a null transactional id (v3+): a new id, epoch 0, as Kafka', async () => {
    const first = await initProducerId(4);
    const again = await initProducerId(4, { producerId: first.producerId, producerEpoch: 0 });
    expect(again).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: 0 });
    expect(again.producerId).toBeGreaterThan(first.producerId);
  });

  it('answers INVALID_REQUEST when only one of producerId and producerEpoch is -1', async () => {
    expect(await initProducerId(3, { producerId: -1n, producerEpoch: 2 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
    expect(await initProducerId(5, { producerId: 17n, producerEpoch: -1 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
  });

  it('answers a transactional id NOT_COORDINATOR until FindCoordinator has created __transaction_state, after Kafka checks for an empty id and the timeout', async () => {
    expect(await initProducerId(4, { transactionalId: 'tx-1' })).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR, producerId: -1n, producerEpoch: -1 });
    expect(await initProducerId(1, { transactionalId: 'tx-1' })).toMatchObject({ errorCode: ErrorCode.NOT_COORDINATOR });
    expect(await initProducerId(4, { transactionalId: '' })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n });
    expect(await initProducerId(4, { transactionalId: 'tx-1', transactionTimeoutMs: 900_001 })).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
    expect(await initProducerId(4, { transactionalId: 'tx-1', transactionTimeoutMs: 0 })).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
  });

  it('never hands out an id again after a restart', async () => {
    const before = await initProducerId(4);
    client.close();
    await tb.stop({ keepData: true });
    const restarted = await startTestBroker({ dataDir: tb.dataDir });
    extraBrokers.push(restarted);
    const c = await TestClient.connect(restarted.port);
    extraClients.push(c);
    const after = await initProducerId(4, {}, c);
    expect(after.errorCode).toBe(ErrorCode.NONE);
    expect(after.producerId).toBe(1000n);
    expect(after.producerId).toBeGreaterThan(before.producerId);
  });
});

// ---- idempotent Produce -----------------------------------------------------------------------------------------

async function createTopic(name: string, on: TestClient = client) {
  const res = await on.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

/**
 * A batch timestamped now: producer state expires a producer producer.id.expiration.ms (a day) after its last
 * batch's timestamp, so older timestamps would make it expire at the next load.
 */
function batch(producerId: bigint, producerEpoch: number, baseSequence: number, count: number): Buffer {
  return buildRecordBatch({
    producerId,
    producerEpoch,
    baseSequence,
    baseTimestamp: BigInt(Date.now()),
    records: Array.from({ length: count }, (_, i) => ({ value: `v${baseSequence + i}`, timestampDelta: i })),
  });
}

async function produce(records: Buffer, on: TestClient = client, acks = -1) {
  const res = await on.send(ApiKey.Produce, 9, { acks, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] });
  return res.responses[0].partitionResponses[0];
}

async function fetchAll(on: TestClient = client): Promise<{ records: Buffer; highWatermark: bigint }> {
  const res = await on.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  const p = res.responses[0].partitions[0];
  return { records: p.records ?? Buffer.alloc(0), highWatermark: p.highWatermark };
}

/** Base offsets of the batches in a fetched record set. */
function baseOffsets(records: Buffer): bigint[] {
  const out: bigint[] = [];
  for (let pos = 0; pos + 12 <= records.length; pos += 12 + records.readInt32BE(pos + 8)) out.push(records.readBigInt64BE(pos));
  return out;
}

describe('idempotent Produce', () => {
  it('appends a retried batch once and answers the retry with the original offsets', async () => {
    await createTopic('t');
    const { producerId } = await initProducerId(4);
    expect(await produce(batch(producerId, 0, 0, 3))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect(await produce(batch(producerId, 0, 3, 2))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3n });
    const retry = await produce(batch(producerId, 0, 0, 3));
    expect(retry).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n, logStartOffset: 0n, errorMessage: null });
    const { records, highWatermark } = await fetchAll();
    expect(highWatermark).toBe(5n);
    expect(baseOffsets(records)).toEqual([0n, 3n]);
  });

  it('answers a retry sent while the original is still being written with the same offsets, after it', async () => {
    await createTopic('t');
    const { producerId } = await initProducerId(4);
    const b = batch(producerId, 0, 0, 4);
    const [first, second] = await Promise.all([
      produce(Buffer.from(b)),
      (async () => {
        const other = await TestClient.connect(tb.port);
        extraClients.push(other);
        return produce(Buffer.from(b), other);
      })(),
    ]);
    expect(first).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect(second).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect((await fetchAll()).highWatermark).toBe(4n);
  });

  it('answers OUT_OF_ORDER_SEQUENCE_NUMBER for a gap, INVALID_PRODUCER_EPOCH for an older epoch, and writes neither', async () => {
    await createTopic('t');
    const { producerId } = await initProducerId(4);
    await produce(batch(producerId, 1, 0, 2));
    const gap = await produce(batch(producerId, 1, 5, 1));
    expect(gap).toMatchObject({ errorCode: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, baseOffset: -1n, logAppendTimeMs: -1n, logStartOffset: 0n, errorMessage: null });
    const stale = await produce(batch(producerId, 0, 2, 1));
    expect(stale).toMatchObject({ errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, baseOffset: -1n, logStartOffset: 0n });
    // A bumped epoch must start at 0 (KIP-360: how an idempotent producer recovers from the gap).
    expect((await produce(batch(producerId, 2, 3, 1))).errorCode).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(await produce(batch(producerId, 2, 0, 1))).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
    expect((await fetchAll()).highWatermark).toBe(3n);
  });

  it('still recognises a retry of the last batch after a restart', async () => {
    await createTopic('t');
    const { producerId } = await initProducerId(4);
    await produce(batch(producerId, 0, 0, 2));
    await produce(batch(producerId, 0, 2, 2));
    client.close();
    await tb.stop({ keepData: true });
    const restarted = await startTestBroker({ dataDir: tb.dataDir });
    extraBrokers.push(restarted);
    const c = await TestClient.connect(restarted.port);
    extraClients.push(c);
    expect(await produce(batch(producerId, 0, 2, 2), c)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 2n });
    expect(await produce(batch(producerId, 0, 4, 1), c)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 4n });
    expect(baseOffsets((await fetchAll(c)).records)).toEqual([0n, 2n, 4n]);
  });
});
