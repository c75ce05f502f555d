// Issue 9, transactional offset commits, raw protocol over a real socket, the way a read-process-write
// application uses them (KIP-98 / KIP-447): InitProducerId with a transactional id, AddOffsetsToTxn,
// TxnOffsetCommit, EndTxn, and OffsetFetch with require_stable as a read_committed consumer sends it:
// - the offsets are invisible and require_stable answers UNSTABLE_OFFSET_COMMIT until the transaction completes;
// - after a COMMIT the group's offset is the transaction's, also after a restart; after an ABORT it is unchanged;
// - a producer fenced by a new InitProducerId (a zombie) gets INVALID_PRODUCER_EPOCH from TxnOffsetCommit, and its
//   offsets never become the group's.
// EndTxn answers once the transaction is PrepareCommit/PrepareAbort; the markers follow, so the checks after it
// poll OffsetFetch (bounded) until the partition is stable, as a consumer retrying UNSTABLE_OFFSET_COMMIT does.
import { afterEach, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function broker(dataDir?: string): Promise<{ tb: TestBroker; c: TestClient }> {
  const tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, ...(dataDir === undefined ? {} : { dataDir }) });
  cleanups.push(() => tb.stop());
  const c = await TestClient.connect(tb.port);
  cleanups.push(() => c.close());
  return { tb, c };
}

async function createTopic(c: TestClient): Promise<void> {
  const r = await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'in', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(r.topics[0].errorCode).toBe(ErrorCode.NONE);
}

interface Producer {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
}

/**
 * FindCoordinator for the transactional id (which creates __transaction_state, as a client's first call does), then
 * InitProducerId, retried (bounded) while the coordinator loads or completes an earlier transaction.
 */
async function initProducer(c: TestClient, transactionalId: string): Promise<Producer> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const r = await c.send(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: [transactionalId] });
    if (r.coordinators[0].errorCode === ErrorCode.NONE) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (let attempt = 0; attempt < 100; attempt++) {
    const r = await c.send(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    if (r.errorCode === ErrorCode.NONE) return { transactionalId, producerId: r.producerId, producerEpoch: r.producerEpoch };
    expect([ErrorCode.CONCURRENT_TRANSACTIONS, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS]).toContain(r.errorCode);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('InitProducerId did not succeed');
}

/** AddOffsetsToTxn, retried (bounded) while the previous transaction is still completing, as clients do. */
async function addOffsets(c: TestClient, p: Producer, groupId: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const r = await c.send(ApiKey.AddOffsetsToTxn, 3, { ...p, groupId });
    if (r.errorCode === ErrorCode.NONE) return;
    expect(r.errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('AddOffsetsToTxn did not succeed');
}

async function txnOffsetCommit(c: TestClient, p: Producer, groupId: string, offset: bigint): Promise<number> {
  const r = await c.send(ApiKey.TxnOffsetCommit, 3, {
    ...p, groupId, generationId: -1, memberId: '', groupInstanceId: null,
    topics: [{ name: 'in', partitions: [{ partitionIndex: 0, committedOffset: offset, committedLeaderEpoch: -1, committedMetadata: '' }] }],
  });
  return r.topics[0].partitions[0].errorCode;
}

async function endTxn(c: TestClient, p: Producer, committed: boolean): Promise<void> {
  const r = await c.send(ApiKey.EndTxn, 3, { ...p, committed });
  expect(r.errorCode).toBe(ErrorCode.NONE);
}

async function fetchStable(c: TestClient, groupId: string): Promise<{ offset: bigint; errorCode: number }> {
  const r = await c.send(ApiKey.OffsetFetch, 8, { groups: [{ groupId, topics: [{ name: 'in', partitionIndexes: [0] }] }], requireStable: true });
  const p = r.groups[0].topics[0].partitions[0];
  return { offset: p.committedOffset, errorCode: p.errorCode };
}

/** The committed offset once the partition is stable (bounded wait for the transaction's markers). */
async function stableOffset(c: TestClient, groupId: string): Promise<bigint> {
  for (let attempt = 0; attempt < 250; attempt++) {
    const r = await fetchStable(c, groupId);
    if (r.errorCode === ErrorCode.NONE) return r.offset;
    expect(r.errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`group ${groupId} stayed unstable`);
}

describe('issue 9: transactional offset commits', () => {
  test('offsets committed in a transaction become the group offset only when it commits, and survive a restart; an aborted transaction leaves them unchanged', async () => {
    const { tb, c } = await broker();
    await createTopic(c);
    const p = await initProducer(c, 'rpw-1');

    await addOffsets(c, p, 'rpw-group');
    expect(await txnOffsetCommit(c, p, 'rpw-group', 10n)).toBe(ErrorCode.NONE);
    expect(await fetchStable(c, 'rpw-group')).toEqual({ offset: -1n, errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT });
    await endTxn(c, p, true);
    expect(await stableOffset(c, 'rpw-group')).toBe(10n);

    await addOffsets(c, p, 'rpw-group');
    expect(await txnOffsetCommit(c, p, 'rpw-group', 20n)).toBe(ErrorCode.NONE);
    expect((await fetchStable(c, 'rpw-group')).errorCode).toBe(ErrorCode.UNSTABLE_OFFSET_COMMIT);
    await endTxn(c, p, false);
    expect(await stableOffset(c, 'rpw-group')).toBe(10n);

    // Restart on the same data dir: the committed transactional offset was written durably.
    const dataDir = tb.dataDir;
    await tb.stop({ keepData: true });
    const again = await broker(dataDir);
    expect(await stableOffset(again.c, 'rpw-group')).toBe(10n);
  });

  test('a producer fenced by a new InitProducerId gets INVALID_PRODUCER_EPOCH from TxnOffsetCommit and its offsets never become the group\'s', async () => {
    const { c } = await broker();
    await createTopic(c);
    const zombie = await initProducer(c, 'rpw-2');
    await addOffsets(c, zombie, 'fenced-group');
    expect(await txnOffsetCommit(c, zombie, 'fenced-group', 30n)).toBe(ErrorCode.NONE);

    // A new instance with the same transactional id: the zombie's transaction is aborted with a bumped epoch.
    const current = await initProducer(c, 'rpw-2');
    expect(current.producerId).toBe(zombie.producerId);
    expect(current.producerEpoch).toBeGreaterThan(zombie.producerEpoch);
    expect(await stableOffset(c, 'fenced-group')).toBe(-1n);
    expect(await txnOffsetCommit(c, zombie, 'fenced-group', 31n)).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);

    await addOffsets(c, current, 'fenced-group');
    expect(await txnOffsetCommit(c, current, 'fenced-group', 40n)).toBe(ErrorCode.NONE);
    await endTxn(c, current, true);
    expect(await stableOffset(c, 'fenced-group')).toBe(40n);
  });
});
