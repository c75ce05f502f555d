// Transactions v2 (KIP-890 part 2) over a real socket, as a client of transaction.version 2 (the Java client 4.x,
// franz-go) drives them: no AddPartitionsToTxn (Produce v12 adds its partitions), no AddOffsetsToTxn
// (TxnOffsetCommit v5 adds the group's partition), and EndTxn v5, which bumps the producer epoch of every
// transaction and answers the epoch to go on with. The markers carry the bumped epoch; aborted records stay
// hidden from read_committed; a restart reloads the state from the v1 transaction log with its tagged fields.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;

let tb: TestBroker;
let client: TestClient;

async function connect(): Promise<void> {
  client = await TestClient.connect(tb.port, 'tv2-test');
}

beforeEach(async () => {
  tb = await startTestBroker();
  await connect();
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'tv2', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterEach(async () => {
  client.close();
  await tb.stop();
});

interface Producer {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
}

async function initTransactions(transactionalId: string): Promise<Producer> {
  expect((await client.send(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: [transactionalId] })).coordinators[0].errorCode).toBe(ErrorCode.NONE);
  const res = await client.send(ApiKey.InitProducerId, 5, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return { transactionalId, producerId: res.producerId, producerEpoch: res.producerEpoch };
}

function batch(p: Producer, baseSequence: number, values: string[], producerId = p.producerId): Buffer {
  return buildRecordBatch({
    producerId,
    producerEpoch: p.producerEpoch,
    baseSequence,
    attributes: TRANSACTIONAL,
    baseTimestamp: BigInt(Date.now()),
    records: values.map((value) => ({ value })),
  });
}

/** Produce v12 of one batch per partition: [partition, errorCode, errorMessage] for each. */
async function produceV12(p: Producer, partitions: Array<{ partition: number; records: Buffer }>, transactionalId: string | null = p.transactionalId) {
  const res = await client.send(ApiKey.Produce, 12, {
    transactionalId,
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'tv2', partitionData: partitions.map((x) => ({ index: x.partition, records: x.records })) }],
  });
  return res.responses[0].partitionResponses.map((r: { index: number; errorCode: number; errorMessage: string | null }) => [r.index, r.errorCode, r.errorMessage]);
}

async function endTxnV5(p: Producer, committed: boolean, epoch = p.producerEpoch) {
  return client.send(ApiKey.EndTxn, 5, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: epoch, committed });
}

async function describeTxn(transactionalId: string) {
  return (await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] })).transactionStates[0];
}

async function waitForState(transactionalId: string, state: string) {
  for (let i = 0; i < 300; i++) {
    const d = await describeTxn(transactionalId);
    if (d.transactionState === state) return d;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${transactionalId} never reached ${state}`);
}

/** Fetch v11 of a partition from offset 0: the stable offset, aborted transactions and each batch's kind and epoch. */
async function fetchPartition(partition: number, isolationLevel: 0 | 1) {
  const res = await client.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel, sessionId: 0, sessionEpoch: -1,
    topics: [{ topic: 'tv2', partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [], rackId: '',
  });
  const p = res.responses[0].partitions[0];
  const batches: Array<{ control: boolean; producerEpoch: number; baseOffset: bigint }> = [];
  const bytes: Buffer = p.records ?? Buffer.alloc(0);
  for (let pos = 0; pos + 61 <= bytes.length; ) {
    const size = 12 + bytes.readInt32BE(pos + 8);
    const attributes = bytes.readInt16BE(pos + 21);
    batches.push({ control: (attributes & CONTROL) !== 0, producerEpoch: bytes.readInt16BE(pos + 51), baseOffset: bytes.readBigInt64BE(pos) });
    pos += size;
  }
  return { lastStableOffset: p.lastStableOffset as bigint, highWatermark: p.highWatermark as bigint, abortedTransactions: p.abortedTransactions ?? [], batches };
}

describe('transactions v2 (KIP-890 part 2)', () => {
  it('ApiVersions finalizes transaction.version 2 and advertises Produce 12+, TxnOffsetCommit 5 and EndTxn 5', async () => {
    const res = await client.send(ApiKey.ApiVersions, 4, { clientSoftwareName: 'apache-kafka-java', clientSoftwareVersion: '4.0.0' });
    expect(res.finalizedFeatures).toContainEqual({ name: 'transaction.version', minVersionLevel: 2, maxVersionLevel: 2 });
    const max = (key: number) => res.apiKeys.find((k: { apiKey: number }) => k.apiKey === key)?.maxVersion;
    expect([max(ApiKey.Produce)!, max(ApiKey.TxnOffsetCommit), max(ApiKey.EndTxn)]).toEqual([13, 5, 5]);
  });

  it('a commit without AddPartitionsToTxn or AddOffsetsToTxn: partitions joined by Produce v12, the group by TxnOffsetCommit v5, epoch bumped', async () => {
    const p = await initTransactions('tv2-commit');
    expect(await produceV12(p, [{ partition: 0, records: batch(p, 0, ['a', 'b']) }, { partition: 1, records: batch(p, 0, ['c']) }])).toEqual([
      [0, ErrorCode.NONE, null],
      [1, ErrorCode.NONE, null],
    ]);
    const ongoing = await describeTxn('tv2-commit');
    expect(ongoing.transactionState).toBe('Ongoing');
    expect(ongoing.topics).toEqual([{ topic: 'tv2', partitions: [0, 1] }]);

    const commit = await client.send(ApiKey.TxnOffsetCommit, 5, {
      transactionalId: p.transactionalId, groupId: 'tv2-group', producerId: p.producerId, producerEpoch: p.producerEpoch,
      generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'tv2', partitions: [{ partitionIndex: 0, committedOffset: 2n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    expect(commit.topics[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await describeTxn('tv2-commit')).topics.map((t: { topic: string }) => t.topic).sort()).toEqual(['__consumer_offsets', 'tv2']);

    const ended = await endTxnV5(p, true);
    expect(ended).toMatchObject({ errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: p.producerEpoch + 1 });
    await waitForState('tv2-commit', 'CompleteCommit');
    // The retried EndTxn (its answer lost) names the old epoch: it is done, and answers the epoch to go on with.
    expect(await endTxnV5(p, true)).toMatchObject({ errorCode: ErrorCode.NONE, producerId: p.producerId, producerEpoch: p.producerEpoch + 1 });
    // The old epoch cannot start anything: the coordinator fences it, answered as INVALID_PRODUCER_EPOCH.
    expect(await produceV12(p, [{ partition: 0, records: batch(p, 2, ['late']) }])).toEqual([[0, ErrorCode.INVALID_PRODUCER_EPOCH, null]]);

    // The markers carry the bumped epoch; read_committed sees everything committed.
    const read = await fetchPartition(0, 1);
    expect(read.lastStableOffset).toBe(read.highWatermark);
    expect(read.batches.map((b) => [b.control, b.producerEpoch])).toEqual([
      [false, p.producerEpoch],
      [true, p.producerEpoch + 1],
    ]);
    const offsets = await client.send(ApiKey.OffsetFetch, 7, { groupId: 'tv2-group', topics: [{ name: 'tv2', partitionIndexes: [0] }], requireStable: true });
    expect(offsets.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, committedOffset: 2n });
  });

  it('every transaction goes on with the bumped epoch: an abort after a commit, sequences from 0, aborted records hidden', async () => {
    const p = await initTransactions('tv2-next');
    expect(await produceV12(p, [{ partition: 0, records: batch(p, 0, ['one']) }])).toEqual([[0, ErrorCode.NONE, null]]);
    const first = await endTxnV5(p, true);
    await waitForState('tv2-next', 'CompleteCommit');
    const next: Producer = { ...p, producerEpoch: first.producerEpoch };
    // A new epoch starts at sequence 0, on this partition and on one the first transaction never touched.
    expect(await produceV12(next, [{ partition: 0, records: batch(next, 0, ['two']) }, { partition: 1, records: batch(next, 0, ['three']) }])).toEqual([
      [0, ErrorCode.NONE, null],
      [1, ErrorCode.NONE, null],
    ]);
    const aborted = await endTxnV5(next, false);
    expect(aborted).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: next.producerEpoch + 1 });
    await waitForState('tv2-next', 'CompleteAbort');
    const read = await fetchPartition(0, 1);
    expect(read.abortedTransactions).toEqual([{ producerId: p.producerId, firstOffset: 2n }]);
    expect(read.batches.map((b) => [b.control, b.producerEpoch])).toEqual([
      [false, p.producerEpoch],
      [true, p.producerEpoch + 1],
      [false, p.producerEpoch + 1],
      [true, p.producerEpoch + 2],
    ]);
    // An EndTxn v4 (transactions v0/v1) from the same producer keeps its epoch; v4 has no ProducerId/Epoch fields.
    const third: Producer = { ...p, producerEpoch: aborted.producerEpoch };
    expect(await produceV12(third, [{ partition: 1, records: batch(third, 0, ['four']) }])).toEqual([[1, ErrorCode.NONE, null]]);
    const v4 = await client.send(ApiKey.EndTxn, 4, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: third.producerEpoch, committed: true });
    expect(v4.errorCode).toBe(ErrorCode.NONE);
    const done = await waitForState('tv2-next', 'CompleteCommit');
    expect(done.producerEpoch).toBe(third.producerEpoch);
  });

  it('a retried EndTxn while the markers are pending, a wrong outcome, and the state across a restart', async () => {
    const p = await initTransactions('tv2-restart');
    await produceV12(p, [{ partition: 0, records: batch(p, 0, ['x']) }]);
    const ended = await endTxnV5(p, false);
    expect(ended.errorCode).toBe(ErrorCode.NONE);
    const retry = await endTxnV5(p, false);
    expect([ErrorCode.NONE, ErrorCode.CONCURRENT_TRANSACTIONS]).toContain(retry.errorCode);
    await waitForState('tv2-restart', 'CompleteAbort');
    // Commit where the last transaction aborted: INVALID_TXN_STATE, with -1/-1.
    expect(await endTxnV5(p, true)).toMatchObject({ errorCode: ErrorCode.INVALID_TXN_STATE, producerId: -1n, producerEpoch: -1 });
    // The epoch one above the bumped one was never handed out: fenced.
    expect((await endTxnV5(p, false, p.producerEpoch + 2)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);

    const dataDir = tb.dataDir;
    client.close();
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir });
    await connect();
    const reloaded = await describeTxn('tv2-restart');
    expect(reloaded).toMatchObject({ transactionState: 'CompleteAbort', producerId: p.producerId, producerEpoch: ended.producerEpoch });
    // The reloaded state still knows the client is on transactions v2: the retry of the old EndTxn is done.
    expect(await endTxnV5(p, false)).toMatchObject({ errorCode: ErrorCode.NONE, producerEpoch: ended.producerEpoch });
    const next: Producer = { ...p, producerEpoch: ended.producerEpoch };
    expect(await produceV12(next, [{ partition: 0, records: batch(next, 0, ['y']) }])).toEqual([[0, ErrorCode.NONE, null]]);
  });

  it("Produce v12 answers the coordinator's refusals per partition, and two producer ids in one request fail it whole", async () => {
    const p = await initTransactions('tv2-errors');
    const unknown: Producer = { transactionalId: 'tv2-unknown', producerId: p.producerId, producerEpoch: p.producerEpoch };
    expect(await produceV12(unknown, [{ partition: 0, records: batch(unknown, 0, ['u']) }])).toEqual([[0, ErrorCode.INVALID_PRODUCER_ID_MAPPING, null]]);
    const mixed = await client.send(ApiKey.Produce, 12, {
      transactionalId: p.transactionalId, acks: -1, timeoutMs: 5000,
      topicData: [{ name: 'tv2', partitionData: [{ index: 0, records: batch(p, 0, ['a']) }, { index: 1, records: batch(p, 0, ['b'], p.producerId + 1n) }] }],
    });
    expect(mixed.responses[0].partitionResponses.map((r: { errorCode: number }) => r.errorCode)).toEqual([ErrorCode.INVALID_PRODUCER_ID_MAPPING, ErrorCode.INVALID_PRODUCER_ID_MAPPING]);
    // Nothing of either was written, and the transaction never started.
    expect((await fetchPartition(0, 0)).highWatermark).toBe(0n);
    expect((await describeTxn('tv2-errors')).transactionState).toBe('Empty');
    // While the transaction's markers are written, a batch for it waits: NOT_ENOUGH_REPLICAS (retriable), then NONE.
    await produceV12(p, [{ partition: 0, records: batch(p, 0, ['c']) }]);
    const ended = await endTxnV5(p, true);
    const next: Producer = { ...p, producerEpoch: ended.producerEpoch };
    let answer: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      answer = await produceV12(next, [{ partition: 1, records: batch(next, 0, ['d']) }]);
      if ((answer[0] as unknown[])[1] !== ErrorCode.NOT_ENOUGH_REPLICAS) break;
      expect((answer[0] as unknown[])[2]).toBe('Unable to verify the partition has been added to the transaction. Underlying error: CONCURRENT_TRANSACTIONS');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(answer).toEqual([[1, ErrorCode.NONE, null]]);
    // Produce v11 (transactions v1) still trusts the client's AddPartitionsToTxn, as before: nothing is added for it.
    const v11 = await client.send(ApiKey.Produce, 11, { transactionalId: p.transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: 'tv2', partitionData: [{ index: 0, records: batch(next, 0, ['e']) }] }] });
    expect(v11.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    expect((await describeTxn('tv2-errors')).topics).toEqual([{ topic: 'tv2', partitions: [1] }]);
  });

  it('TxnOffsetCommit v5 from a fenced epoch answers INVALID_PRODUCER_EPOCH for every partition', async () => {
    const p = await initTransactions('tv2-offsets');
    await initTransactions('tv2-offsets'); // a new incarnation bumps the epoch
    const res = await client.send(ApiKey.TxnOffsetCommit, 5, {
      transactionalId: p.transactionalId, groupId: 'tv2-fenced', producerId: p.producerId, producerEpoch: p.producerEpoch,
      generationId: -1, memberId: '', groupInstanceId: null,
      topics: [{ name: 'tv2', partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }, { partitionIndex: 1, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
    });
    expect(res.topics[0].partitions.map((x: { errorCode: number }) => x.errorCode)).toEqual([ErrorCode.INVALID_PRODUCER_EPOCH, ErrorCode.INVALID_PRODUCER_EPOCH]);
  });
});
