// Transactions through the handlers, over a real socket, with the real transaction coordinator
// (txn/transaction-coordinator.ts), marker writer and group coordinator behind them: FindCoordinator key type 1 →
// InitProducerId → AddPartitionsToTxn → Produce (transactional batch) → EndTxn, and what DescribeTransactions,
// ListTransactions, DescribeProducers and AddPartitionsToTxn verifyOnly report along the way.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { internalPartitionFor } from '../../src/metadata/internal-topics.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const TRANSACTIONAL = 0x10;

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
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

async function findTransactionCoordinator(transactionalId: string) {
  return client.send(ApiKey.FindCoordinator, 3, { key: transactionalId, keyType: 1 });
}

async function initTransactions(transactionalId: string, transactionTimeoutMs = 60_000): Promise<Producer> {
  expect((await findTransactionCoordinator(transactionalId)).errorCode).toBe(ErrorCode.NONE);
  const res = await client.send(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return { transactionalId, producerId: res.producerId, producerEpoch: res.producerEpoch };
}

async function addPartitions(p: Producer, topics: Array<{ name: string; partitions: number[] }>, version = 3, epoch = p.producerEpoch) {
  const res = await client.send(ApiKey.AddPartitionsToTxn, version, {
    v3AndBelowTransactionalId: p.transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: epoch,
    v3AndBelowTopics: topics,
  });
  return res.resultsByTopicV3AndBelow.flatMap((t: { name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }) =>
    t.resultsByPartition.map((r) => [t.name, r.partitionIndex, r.partitionErrorCode]),
  );
}

async function produceTransactional(p: Producer, partition: number, baseSequence: number, values: string[]) {
  const records = buildRecordBatch({
    producerId: p.producerId,
    producerEpoch: p.producerEpoch,
    baseSequence,
    attributes: TRANSACTIONAL,
    baseTimestamp: BigInt(Date.now()),
    records: values.map((value) => ({ value })),
  });
  const res = await client.send(ApiKey.Produce, 9, { transactionalId: p.transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: partition, records }] }] });
  return res.responses[0].partitionResponses[0];
}

async function endTxn(p: Producer, committed: boolean, version = 3, epoch = p.producerEpoch) {
  return (await client.send(ApiKey.EndTxn, version, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: epoch, committed })).errorCode;
}

async function describeTxn(transactionalId: string) {
  return (await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [transactionalId] })).transactionStates[0];
}

/** Polls DescribeTransactions (bounded) until the transaction reaches `state`. */
async function waitForState(transactionalId: string, state: string) {
  for (let i = 0; i < 200; i++) {
    const d = await describeTxn(transactionalId);
    if (d.transactionState === state) return d;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${transactionalId} never reached ${state}: ${JSON.stringify((await describeTxn(transactionalId)).transactionState)}`);
}

async function verify(p: Producer, topics: Array<{ name: string; partitions: number[] }>, overrides: Partial<Producer> = {}) {
  const res = await client.send(ApiKey.AddPartitionsToTxn, 4, {
    transactions: [{ transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, verifyOnly: true, topics, ...overrides }],
  });
  expect(res.errorCode).toBe(ErrorCode.NONE);
  return res.resultsByTransaction[0].topicResults.flatMap((t: { name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }) =>
    t.resultsByPartition.map((r) => [t.name, r.partitionIndex, r.partitionErrorCode]),
  );
}

describe('FindCoordinator key type 1', () => {
  it('answers this broker at every version and creates __transaction_state with 50 partitions', async () => {
    for (const v of [1, 2, 3]) {
      const res = await client.send(ApiKey.FindCoordinator, v, { key: 'tx-find', keyType: 1 });
      expect(res).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: 'NONE', nodeId: 1, host: '127.0.0.1', port: tb.port });
    }
    for (const v of [4, 5]) {
      const res = await client.send(ApiKey.FindCoordinator, v, { keyType: 1, coordinatorKeys: ['tx-a', 'tx-b'] });
      expect(res.coordinators).toEqual([
        { key: 'tx-a', nodeId: 1, host: '127.0.0.1', port: tb.port, errorCode: ErrorCode.NONE, errorMessage: null },
        { key: 'tx-b', nodeId: 1, host: '127.0.0.1', port: tb.port, errorCode: ErrorCode.NONE, errorMessage: null },
      ]);
    }
    for (let p = 0; p < 50; p++) expect(existsSync(path.join(tb.dataDir, `__transaction_state-${p}`))).toBe(true);
    expect(existsSync(path.join(tb.dataDir, '__transaction_state-50'))).toBe(false);
  });

  it('does not validate the key, as Kafka: an empty transactional id is answered like any other', async () => {
    expect(await client.send(ApiKey.FindCoordinator, 3, { key: '', keyType: 1 })).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: 1, port: tb.port });
  });
});

describe('a committed transaction', () => {
  it('goes Empty → Ongoing → CompleteCommit, with the partitions, producer and timestamps reported on the way', async () => {
    const p = await initTransactions('tx-flow');
    expect(p.producerEpoch).toBe(0);
    expect(await describeTxn('tx-flow')).toMatchObject({ errorCode: ErrorCode.NONE, transactionState: 'Empty', producerId: p.producerId, producerEpoch: 0, transactionTimeoutMs: 60_000, topics: [] });

    const before = BigInt(Date.now());
    expect(await addPartitions(p, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, ErrorCode.NONE]]);
    const produced = await produceTransactional(p, 0, 0, ['a', 'b', 'c']);
    expect(produced).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });

    const ongoing = await describeTxn('tx-flow');
    expect(ongoing).toMatchObject({ errorCode: ErrorCode.NONE, transactionalId: 'tx-flow', transactionState: 'Ongoing', producerId: p.producerId, producerEpoch: 0, topics: [{ topic: 't', partitions: [0] }] });
    expect(ongoing.transactionStartTimeMs).toBeGreaterThanOrEqual(before - 1000n);

    const producers = await client.send(ApiKey.DescribeProducers, 0, { topics: [{ name: 't', partitionIndexes: [0] }] });
    expect(producers.topics[0].partitions[0].activeProducers).toEqual([
      expect.objectContaining({ producerId: p.producerId, producerEpoch: 0, lastSequence: 2, currentTxnStartOffset: 0n }),
    ]);

    expect(await endTxn(p, true)).toBe(ErrorCode.NONE);
    const done = await waitForState('tx-flow', 'CompleteCommit');
    expect(done).toMatchObject({ producerId: p.producerId, topics: [] });

    // The COMMIT marker is on the partition: the producer has no open transaction and the offsets moved past it.
    const after = await client.send(ApiKey.DescribeProducers, 0, { topics: [{ name: 't', partitionIndexes: [0] }] });
    expect(after.topics[0].partitions[0].activeProducers).toEqual([expect.objectContaining({ producerId: p.producerId, currentTxnStartOffset: -1n })]);
    const offsets = await client.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 1, topics: [{ name: 't', partitions: [{ partitionIndex: 0, timestamp: -1n, currentLeaderEpoch: -1 }] }] });
    expect(offsets.topics[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.NONE, offset: 4n });
  });

  it('answers a retried commit NONE once complete, and an abort of it INVALID_TXN_STATE', async () => {
    const p = await initTransactions('tx-retry');
    expect(await addPartitions(p, [{ name: 't', partitions: [1] }])).toEqual([['t', 1, ErrorCode.NONE]]);
    expect((await produceTransactional(p, 1, 0, ['x'])).errorCode).toBe(ErrorCode.NONE);
    expect(await endTxn(p, true)).toBe(ErrorCode.NONE);
    await waitForState('tx-retry', 'CompleteCommit');
    expect(await endTxn(p, true)).toBe(ErrorCode.NONE);
    expect(await endTxn(p, false)).toBe(ErrorCode.INVALID_TXN_STATE);
  });
});

describe('an aborted transaction', () => {
  it('reaches CompleteAbort; ending an Empty transaction is INVALID_TXN_STATE', async () => {
    const p = await initTransactions('tx-abort');
    expect(await endTxn(p, true)).toBe(ErrorCode.INVALID_TXN_STATE);
    expect(await addPartitions(p, [{ name: 't', partitions: [0, 1] }])).toEqual([['t', 0, ErrorCode.NONE], ['t', 1, ErrorCode.NONE]]);
    expect((await produceTransactional(p, 1, 0, ['gone'])).errorCode).toBe(ErrorCode.NONE);
    expect(await endTxn(p, false)).toBe(ErrorCode.NONE);
    await waitForState('tx-abort', 'CompleteAbort');
    expect(await endTxn(p, false)).toBe(ErrorCode.NONE);
  });
});

describe('AddPartitionsToTxn verifyOnly (v4)', () => {
  it('answers NONE for partitions in the transaction, TRANSACTION_ABORTABLE for the others, and fences other producers', async () => {
    const p = await initTransactions('tx-verify');
    expect(await addPartitions(p, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, ErrorCode.NONE]]);
    expect(await verify(p, [{ name: 't', partitions: [0, 1] }])).toEqual([['t', 0, ErrorCode.NONE], ['t', 1, ErrorCode.TRANSACTION_ABORTABLE]]);
    expect(await verify(p, [{ name: 't', partitions: [0] }], { producerEpoch: p.producerEpoch + 1 })).toEqual([['t', 0, ErrorCode.PRODUCER_FENCED]]);
    expect(await verify(p, [{ name: 't', partitions: [0] }], { producerId: p.producerId + 1000n })).toEqual([['t', 0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]);
    expect(await verify(p, [{ name: 't', partitions: [0] }], { transactionalId: 'tx-never-seen' })).toEqual([['t', 0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]);
    expect(await verify(p, [{ name: 't', partitions: [0] }], { transactionalId: '' })).toEqual([['t', 0, ErrorCode.INVALID_REQUEST]]);
    // Verifying adds nothing.
    expect((await describeTxn('tx-verify')).topics).toEqual([{ topic: 't', partitions: [0] }]);
  });
});

describe('AddOffsetsToTxn', () => {
  it("adds the group's __consumer_offsets partition to the transaction", async () => {
    const p = await initTransactions('tx-offsets');
    const res = await client.send(ApiKey.AddOffsetsToTxn, 3, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, groupId: 'txn-group' });
    expect(res).toEqual({ throttleTimeMs: 0, errorCode: ErrorCode.NONE });
    const d = await describeTxn('tx-offsets');
    expect(d).toMatchObject({ transactionState: 'Ongoing', topics: [{ topic: '__consumer_offsets', partitions: [internalPartitionFor('txn-group', 50)] }] });
    expect(await endTxn(p, false)).toBe(ErrorCode.NONE);
    await waitForState('tx-offsets', 'CompleteAbort');
  });
});

describe('coordinator errors', () => {
  it('answers an unknown transactional id INVALID_PRODUCER_ID_MAPPING and an empty one INVALID_REQUEST', async () => {
    await findTransactionCoordinator('tx-unknown');
    const stranger: Producer = { transactionalId: 'tx-unknown', producerId: 77n, producerEpoch: 0 };
    expect(await addPartitions(stranger, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, ErrorCode.INVALID_PRODUCER_ID_MAPPING]]);
    expect(await endTxn(stranger, true)).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect((await client.send(ApiKey.AddOffsetsToTxn, 3, { transactionalId: 'tx-unknown', producerId: 77n, producerEpoch: 0, groupId: 'g' })).errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const empty: Producer = { transactionalId: '', producerId: 77n, producerEpoch: 0 };
    expect(await addPartitions(empty, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, ErrorCode.INVALID_REQUEST]]);
    expect(await endTxn(empty, true)).toBe(ErrorCode.INVALID_REQUEST);
    expect((await client.send(ApiKey.AddOffsetsToTxn, 3, { transactionalId: '', producerId: 77n, producerEpoch: 0, groupId: 'g' })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });
});

describe('InitProducerId with a transactional id', () => {
  it('keeps the producer id and bumps the epoch on every call; a stale expected epoch (v3+) is fenced', async () => {
    const first = await initTransactions('tx-epochs');
    const second = await client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-epochs', transactionTimeoutMs: 60_000 });
    expect(second).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: first.producerEpoch + 1 });
    // Resuming with the current producer id and epoch (KIP-360) bumps again.
    const resumed = await client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-epochs', transactionTimeoutMs: 60_000, producerId: first.producerId, producerEpoch: second.producerEpoch });
    expect(resumed).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: second.producerEpoch + 1 });
  });
});

describe('DescribeTransactions and ListTransactions', () => {
  it('describe answers unknown ids TRANSACTIONAL_ID_NOT_FOUND and empty ones INVALID_REQUEST, with default fields', async () => {
    const p = await initTransactions('tx-desc');
    const res = await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tx-desc', 'tx-nobody', ''] });
    expect(res.transactionStates[0]).toMatchObject({ errorCode: ErrorCode.NONE, transactionalId: 'tx-desc', producerId: p.producerId, transactionState: 'Empty' });
    const defaults = { transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [] };
    expect(res.transactionStates[1]).toEqual({ errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, transactionalId: 'tx-nobody', ...defaults });
    expect(res.transactionStates[2]).toEqual({ errorCode: ErrorCode.INVALID_REQUEST, transactionalId: '', ...defaults });
  });

  it('list filters by state, producer id and (v1) duration, and reports unknown state names', async () => {
    const a = await initTransactions('tx-list-a');
    const b = await initTransactions('tx-list-b');
    expect(await addPartitions(b, [{ name: 't', partitions: [0] }])).toEqual([['t', 0, ErrorCode.NONE]]);
    expect((await produceTransactional(b, 0, 0, ['v'])).errorCode).toBe(ErrorCode.NONE);

    const ids = (res: { transactionStates: Array<{ transactionalId: string }> }) => res.transactionStates.map((s) => s.transactionalId).sort();
    const all = await client.send(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] });
    expect(all).toMatchObject({ errorCode: ErrorCode.NONE, unknownStateFilters: [] });
    expect(ids(all)).toEqual(['tx-list-a', 'tx-list-b']);
    expect(all.transactionStates.find((s: { transactionalId: string }) => s.transactionalId === 'tx-list-a')).toEqual({ transactionalId: 'tx-list-a', producerId: a.producerId, transactionState: 'Empty' });

    const ongoing = await client.send(ApiKey.ListTransactions, 1, { stateFilters: ['Ongoing', 'Bogus', 'Bogus'], producerIdFilters: [], durationFilter: -1n });
    expect(ongoing.unknownStateFilters).toEqual(['Bogus']);
    expect(ids(ongoing)).toEqual(['tx-list-b']);

    const onlyUnknown = await client.send(ApiKey.ListTransactions, 0, { stateFilters: ['Bogus'], producerIdFilters: [] });
    expect(onlyUnknown).toMatchObject({ unknownStateFilters: ['Bogus'], transactionStates: [] });

    expect(ids(await client.send(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [a.producerId] }))).toEqual(['tx-list-a']);
    // The duration is measured from the transaction's start time, which is -1 while no transaction is open: as in
    // Kafka (listTransactionStates), an Empty transactional id passes any duration filter; the one started now does not.
    expect(ids(await client.send(ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: 3_600_000n }))).toEqual(['tx-list-a']);
    expect(ids(await client.send(ApiKey.ListTransactions, 0, { stateFilters: [], producerIdFilters: [] }))).toEqual(['tx-list-a', 'tx-list-b']);
    expect(await endTxn(b, false)).toBe(ErrorCode.NONE);
  });
});

describe('WriteTxnMarkers from a client', () => {
  it('writes the marker to a partition, as Kafka does for a caller without an authorizer', async () => {
    const p = await initTransactions('tx-markers');
    expect(await addPartitions(p, [{ name: 't', partitions: [1] }])).toEqual([['t', 1, ErrorCode.NONE]]);
    expect((await produceTransactional(p, 1, 0, ['m1', 'm2'])).errorCode).toBe(ErrorCode.NONE);
    const res = await client.send(ApiKey.WriteTxnMarkers, 1, {
      markers: [{ producerId: p.producerId, producerEpoch: p.producerEpoch, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 't', partitionIndexes: [1] }, { name: 'missing', partitionIndexes: [0] }] }],
    });
    expect(res.markers).toEqual([
      {
        producerId: p.producerId,
        topics: [
          { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
          { name: 't', partitions: [{ partitionIndex: 1, errorCode: ErrorCode.NONE }] },
        ],
      },
    ]);
    const producers = await client.send(ApiKey.DescribeProducers, 0, { topics: [{ name: 't', partitionIndexes: [1] }] });
    expect(producers.topics[0].partitions[0].activeProducers).toEqual([expect.objectContaining({ producerId: p.producerId, currentTxnStartOffset: -1n })]);
  });
});
