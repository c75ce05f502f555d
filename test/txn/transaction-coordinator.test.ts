// The transaction coordinator against a real LogManager, TopicRegistry and ProducerIdManager in a temp data dir,
// with a recording TransactionMarkerWriter in place of the partitions' marker writer (the seam the broker wires).
// Flows follow Kafka 3.9 TransactionCoordinator.scala; restarts reopen everything on the same data dir.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { resolveBrokerConfig, type BrokerOptions } from '../../src/metadata/broker-config.js';
import { internalPartitionFor, TRANSACTION_STATE_TOPIC_NAME } from '../../src/metadata/internal-topics.js';
import { ProducerIdManager } from '../../src/metadata/producer-id-manager.js';
import { TopicRegistry } from '../../src/metadata/topic-registry.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { TransactionMarkerRequest, TransactionMarkerResult, TransactionMarkerWriter } from '../../src/txn/marker-writer.js';
import { TransactionCoordinator } from '../../src/txn/transaction-coordinator.js';
import { encodeTransactionLogKey, encodeTransactionLogValue, TransactionLog } from '../../src/txn/transaction-log.js';
import { makeTempDir } from '../log/helpers.js';

const logger = pino({ level: 'silent' });
const START_MS = 1_700_000_000_000;

/** Records every writeMarkers call; answers NONE unless `answer` says otherwise; `hold()` parks calls until released. */
class RecordingMarkerWriter implements TransactionMarkerWriter {
  readonly requests: TransactionMarkerRequest[] = [];
  answer: (req: TransactionMarkerRequest, call: number) => TransactionMarkerResult[] = (req) => req.partitions.map((p) => ({ ...p, errorCode: ErrorCode.NONE }));
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async writeMarkers(request: TransactionMarkerRequest): Promise<TransactionMarkerResult[]> {
    const copy = { ...request, partitions: request.partitions.map((p) => ({ ...p })) };
    this.requests.push(copy);
    const call = this.requests.length;
    if (this.gate) await this.gate;
    return this.answer(copy, call);
  }
}

interface Env {
  coordinator: TransactionCoordinator;
  markers: RecordingMarkerWriter;
  logs: LogManager;
  topics: TopicRegistry;
  clock: { now: number };
  close(): Promise<void>;
}

let dataDir: string;
let cleanup: () => Promise<void>;
const open: Env[] = [];

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
});

afterEach(async () => {
  for (const env of open.splice(0)) await env.close();
  await cleanup();
});

async function openEnv(options: { config?: BrokerOptions; markers?: RecordingMarkerWriter; clock?: { now: number }; start?: boolean } = {}): Promise<Env> {
  const config = resolveBrokerConfig({ dataDir, ...options.config });
  const topicConfigs = await TopicRegistry.readLogConfigs(dataDir, DEFAULT_LOG_CONFIG);
  const logs = await LogManager.open({ dataDir, logger, topicConfigs });
  const topics = await TopicRegistry.open({ dataDir, logs, logger, defaultLogConfig: DEFAULT_LOG_CONFIG, messageMaxBytes: config.messageMaxBytes });
  const producerIds = await ProducerIdManager.open({ dataDir, logger });
  const markers = options.markers ?? new RecordingMarkerWriter();
  const clock = options.clock ?? { now: START_MS };
  const coordinator = new TransactionCoordinator({ logs, topics, producerIds, markers, config, logger, now: () => clock.now });
  let closed = false;
  const env: Env = {
    coordinator,
    markers,
    logs,
    topics,
    clock,
    async close() {
      if (closed) return;
      closed = true;
      markers.release();
      await coordinator.close();
      await logs.close();
    },
  };
  open.push(env);
  if (options.start !== false) await coordinator.start();
  return env;
}

async function reopen(env: Env, options: { markers?: RecordingMarkerWriter } = {}): Promise<Env> {
  await env.close();
  return openEnv({ clock: env.clock, markers: options.markers });
}

async function createTopic(env: Env, name: string, partitions: number): Promise<void> {
  await env.topics.createTopic({ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs: {} }, { brokerIds: [1], defaultNumPartitions: 1 });
}

/** Polls `check` every 10 ms, at most 500 times. */
/**
 * A coordinator that loads `transactionalId` at producer 42, epoch 32766, CompleteCommit (written in Kafka's format
 * to __transaction_state before it starts), last ended by a client of `clientTransactionVersion`.
 */
async function atExhaustedEpoch(transactionalId: string, clientTransactionVersion: number): Promise<Env> {
  const first = await openEnv({ start: false });
  const stateLog = new TransactionLog({ logs: first.logs, topics: first.topics, logger, durable: true });
  await stateLog.ensureTopic(50);
  const value = encodeTransactionLogValue({
    producerId: 42n,
    lastProducerId: 42n,
    producerEpoch: 32766,
    lastProducerEpoch: -1,
    txnTimeoutMs: 60000,
    txnState: 'CompleteCommit',
    topicPartitions: new Map(),
    txnStartTimestamp: START_MS - 10,
    txnLastUpdateTimestamp: START_MS - 5,
    nextProducerId: -1n,
    clientTransactionVersion,
  });
  await stateLog.append(internalPartitionFor(transactionalId, 50), [{ key: encodeTransactionLogKey(transactionalId), value }], START_MS);
  return reopen(first);
}

async function waitFor(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function stateOf(env: Env, id: string): string {
  return env.coordinator.describe([id])[0]!.state;
}

/** A ready coordinator with topic `orders` (3 partitions) and an initialised transactional id. */
async function ready(id = 'tx', options: Parameters<typeof openEnv>[0] = {}): Promise<{ env: Env; producerId: bigint; producerEpoch: number }> {
  const env = await openEnv(options);
  await createTopic(env, 'orders', 3);
  await env.coordinator.ensureStateTopic();
  const init = await env.coordinator.initProducerId(id, 60000, -1n, -1);
  expect(init.errorCode).toBe(ErrorCode.NONE);
  return { env, producerId: init.producerId, producerEpoch: init.producerEpoch };
}

function stateLogEnd(env: Env, id: string): bigint {
  return env.logs.getLog(TRANSACTION_STATE_TOPIC_NAME, env.coordinator.partitionFor(id))!.logEndOffset;
}

describe('TransactionCoordinator: InitProducerId', () => {
  it('answers NOT_COORDINATOR until FindCoordinator created __transaction_state, then a new producer id at epoch 0', async () => {
    const env = await openEnv();
    expect(await env.coordinator.initProducerId('tx', 60000, -1n, -1)).toEqual({ errorCode: ErrorCode.NOT_COORDINATOR, producerId: -1n, producerEpoch: -1 });
    await env.coordinator.ensureStateTopic();
    const topic = env.topics.get(TRANSACTION_STATE_TOPIC_NAME)!;
    expect(topic.partitions).toBe(50);
    expect(topic.configs).toMatchObject({ 'cleanup.policy': 'compact', 'segment.bytes': '104857600', 'compression.type': 'uncompressed' });
    expect(await env.coordinator.initProducerId('tx', 60000, -1n, -1)).toEqual({ errorCode: ErrorCode.NONE, producerId: 0n, producerEpoch: 0 });
    expect(env.coordinator.partitionFor('tx')).toBe(internalPartitionFor('tx', 50));
    expect(stateLogEnd(env, 'tx')).toBe(1n);
  });

  it('bumps the epoch of the same producer id on every InitProducerId without an expected epoch', async () => {
    const { env, producerId } = await ready();
    expect(await env.coordinator.initProducerId('tx', 60000, -1n, -1)).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    expect(await env.coordinator.initProducerId('tx', 30000, -1n, -1)).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 2 });
    expect(env.coordinator.describe(['tx'])[0]).toMatchObject({ state: 'Empty', transactionTimeoutMs: 30000, producerEpoch: 2, transactionStartTimeMs: -1n });
  });

  it('refuses an empty transactional id, a bad timeout and a half-given producer id/epoch', async () => {
    const env = await openEnv({ config: { transactionMaxTimeoutMs: 1000 } });
    await env.coordinator.ensureStateTopic();
    expect((await env.coordinator.initProducerId('', 1000, -1n, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect((await env.coordinator.initProducerId('tx', 0, -1n, -1)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await env.coordinator.initProducerId('tx', 1001, -1n, -1)).errorCode).toBe(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    expect((await env.coordinator.initProducerId('tx', 1000, 5n, -1)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('follows KIP-360: the expected epoch bumps once, its retry gets the same epoch, a stale one is PRODUCER_FENCED', async () => {
    const { env, producerId } = await ready();
    expect(await env.coordinator.initProducerId('tx', 60000, producerId, 0)).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    expect(await env.coordinator.initProducerId('tx', 60000, producerId, 0)).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 1 });
    expect((await env.coordinator.initProducerId('tx', 60000, producerId, 7)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await env.coordinator.initProducerId('tx', 60000, producerId + 100n, 1)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('lets one of two concurrent InitProducerId calls for a new id write, the other gets CONCURRENT_TRANSACTIONS', async () => {
    const env = await openEnv();
    await env.coordinator.ensureStateTopic();
    const [a, b] = await Promise.all([env.coordinator.initProducerId('tx', 60000, -1n, -1), env.coordinator.initProducerId('tx', 60000, -1n, -1)]);
    expect([a.errorCode, b.errorCode].sort()).toEqual([ErrorCode.NONE, ErrorCode.CONCURRENT_TRANSACTIONS].sort());
    expect(stateLogEnd(env, 'tx')).toBe(1n);
  });

  it('fences an ongoing transaction: aborts it with the bumped epoch, answers CONCURRENT_TRANSACTIONS, then bumps again', async () => {
    const { env, producerId } = await ready();
    expect((await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0] }])).errorCode).toBe(ErrorCode.NONE);
    expect((await env.coordinator.initProducerId('tx', 60000, -1n, -1)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    await waitFor('the fenced transaction to be aborted', () => stateOf(env, 'tx') === 'CompleteAbort');
    expect(env.markers.requests).toEqual([{ producerId, producerEpoch: 1, coordinatorEpoch: 0, commit: false, partitions: [{ topic: 'orders', partition: 0 }] }]);
    expect(await env.coordinator.initProducerId('tx', 60000, -1n, -1)).toEqual({ errorCode: ErrorCode.NONE, producerId, producerEpoch: 2 });
    // The fenced producer (epoch 0) can neither end nor extend a transaction.
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [1] }])).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('moves to a new producer id at epoch 0 once the epoch is exhausted', async () => {
    // A transactional id at epoch 32766, written in Kafka's format before the coordinator starts.
    const env = await atExhaustedEpoch('old', 0);
    // The producer holding epoch 32766 asks for a bump (KIP-360): a new producer id at epoch 0.
    const init = await env.coordinator.initProducerId('old', 60000, 42n, 32766);
    expect(init.errorCode).toBe(ErrorCode.NONE);
    expect(init.producerId).not.toBe(42n);
    expect(init.producerEpoch).toBe(0);
    // Its retry (the answer was lost) names the previous producer id and gets the same answer.
    expect(await env.coordinator.initProducerId('old', 60000, 42n, 32766)).toEqual(init);
    // A producer that never saw the rotation, asking with another epoch of the old id, is fenced.
    expect((await env.coordinator.initProducerId('old', 60000, 42n, 5)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });
});

describe('TransactionCoordinator: transactions v2 at an exhausted epoch', () => {
  it('an EndTxn v5 at epoch 32766 names the next producer id: the client gets it at epoch 0, the markers go out at 32767', async () => {
    const env = await atExhaustedEpoch('v2-old', 2);
    // Produce v12's implicit add opens the transaction at the exhausted epoch.
    expect(await env.coordinator.addPartitionsImplicitly('v2-old', 42n, 32766, new Map([['orders', new Set([1])]]))).toBe(ErrorCode.NONE);
    const ended = await env.coordinator.endTransaction('v2-old', 42n, 32766, true, 2);
    expect(ended.errorCode).toBe(ErrorCode.NONE);
    expect(ended.producerId).not.toBe(42n);
    expect(ended.producerEpoch).toBe(0);
    await waitFor('the commit completes', () => stateOf(env, 'v2-old') === 'CompleteCommit');
    expect(env.markers.requests.at(-1)).toMatchObject({ producerId: 42n, producerEpoch: 32767, commit: true });
    expect(env.coordinator.describe(['v2-old'])[0]).toMatchObject({ producerId: ended.producerId, producerEpoch: 0 });
    // The retry of that EndTxn (old id, epoch 32766) is done, answered with the new id.
    expect(await env.coordinator.endTransaction('v2-old', 42n, 32766, true, 2)).toEqual(ended);
    // The next transaction runs under the new id; the old one is no longer this transactional id's.
    expect(await env.coordinator.addPartitionsImplicitly('v2-old', ended.producerId, 0, new Map([['orders', new Set([0])]]))).toBe(ErrorCode.NONE);
    expect(await env.coordinator.addPartitionsImplicitly('v2-old', 42n, 32767, new Map([['orders', new Set([0])]]))).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    // And the state survives a restart with the new id (PreviousProducerId and the client version from the v1 log).
    const again = await reopen(env);
    expect(again.coordinator.describe(['v2-old'])[0]).toMatchObject({ state: 'Ongoing', producerId: ended.producerId, producerEpoch: 0 });
  });
});

describe('TransactionCoordinator: AddPartitionsToTxn and AddOffsetsToTxn', () => {
  it('adds partitions, making the transaction Ongoing, and writes nothing when they are all in it already', async () => {
    const { env, producerId } = await ready();
    const res = await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0, 2] }]);
    expect(res).toEqual({ errorCode: ErrorCode.NONE, results: [{ topic: 'orders', partitions: [{ partition: 0, errorCode: 0 }, { partition: 2, errorCode: 0 }] }] });
    expect(env.coordinator.describe(['tx'])[0]).toEqual({
      transactionalId: 'tx',
      errorCode: 0,
      state: 'Ongoing',
      transactionTimeoutMs: 60000,
      transactionStartTimeMs: BigInt(START_MS),
      producerId,
      producerEpoch: 0,
      topics: [{ topic: 'orders', partitions: [0, 2] }],
    });
    const end = stateLogEnd(env, 'tx');
    expect((await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [2] }])).errorCode).toBe(ErrorCode.NONE);
    expect(stateLogEnd(env, 'tx')).toBe(end);
  });

  it('answers INVALID_PRODUCER_ID_MAPPING for an unknown id or another producer id, PRODUCER_FENCED for another epoch', async () => {
    const { env, producerId } = await ready();
    const add = (id: string, pid: bigint, epoch: number) => env.coordinator.addPartitions(id, pid, epoch, [{ topic: 'orders', partitions: [1] }]);
    expect(await add('nobody', producerId, 0)).toEqual({ errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING, results: [{ topic: 'orders', partitions: [{ partition: 1, errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING }] }] });
    expect((await add('tx', producerId + 1n, 0)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    expect((await add('tx', producerId, 1)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
    expect((await add('', producerId, 0)).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('refuses the whole request when a topic is unknown or internal: those partitions get their error, the rest OPERATION_NOT_ATTEMPTED', async () => {
    const { env, producerId } = await ready();
    const res = await env.coordinator.addPartitions('tx', producerId, 0, [
      { topic: 'orders', partitions: [0, 9] },
      { topic: 'missing', partitions: [0] },
      { topic: '__consumer_offsets', partitions: [1] },
    ]);
    expect(res.results).toEqual([
      { topic: 'orders', partitions: [{ partition: 0, errorCode: ErrorCode.OPERATION_NOT_ATTEMPTED }, { partition: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
      { topic: 'missing', partitions: [{ partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
      { topic: '__consumer_offsets', partitions: [{ partition: 1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED }] },
    ]);
    expect(stateOf(env, 'tx')).toBe('Empty');
  });

  it('adds the group\'s __consumer_offsets partition for AddOffsetsToTxn and sends it a marker on commit', async () => {
    const { env, producerId } = await ready();
    expect(await env.coordinator.addOffsetsPartition('tx', producerId, 0, 'my-group')).toBe(ErrorCode.NONE);
    const partition = internalPartitionFor('my-group', 50);
    expect(env.coordinator.describe(['tx'])[0]!.topics).toEqual([{ topic: '__consumer_offsets', partitions: [partition] }]);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    await waitFor('commit', () => stateOf(env, 'tx') === 'CompleteCommit');
    expect(env.markers.requests[0]!.partitions).toEqual([{ topic: '__consumer_offsets', partition }]);
  });
});

describe('TransactionCoordinator: EndTxn', () => {
  it('writes PrepareCommit, answers, writes the COMMIT markers, then CompleteCommit; a retry of the commit is NONE', async () => {
    const { env, producerId } = await ready();
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0, 1] }]);
    env.markers.hold();
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    // Markers in flight: the id is busy.
    expect(stateOf(env, 'tx')).toBe('PrepareCommit');
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect((await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [2] }])).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    expect((await env.coordinator.initProducerId('tx', 60000, -1n, -1)).errorCode).toBe(ErrorCode.CONCURRENT_TRANSACTIONS);
    env.markers.release();
    await waitFor('CompleteCommit', () => stateOf(env, 'tx') === 'CompleteCommit');
    expect(env.markers.requests).toEqual([
      { producerId, producerEpoch: 0, coordinatorEpoch: 0, commit: true, partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 1 }] },
    ]);
    expect(env.coordinator.describe(['tx'])[0]!.topics).toEqual([]);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, false)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    // PrepareCommit, then CompleteCommit, after the InitProducerId and AddPartitions records.
    expect(stateLogEnd(env, 'tx')).toBe(4n);
  });

  it('answers INVALID_TXN_STATE for an EndTxn with no transaction, and for the other result while one completes', async () => {
    const { env, producerId } = await ready();
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0] }]);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, false)).errorCode).toBe(ErrorCode.NONE);
    await waitFor('CompleteAbort', () => stateOf(env, 'tx') === 'CompleteAbort');
    expect(env.markers.requests[0]!.commit).toBe(false);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, false)).errorCode).toBe(ErrorCode.NONE);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.INVALID_TXN_STATE);
    expect((await env.coordinator.endTransaction('tx', producerId + 1n, 0, true)).errorCode).toBe(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  });

  it('retries the partitions whose marker failed, with a backoff, and drops a partition of a deleted topic', async () => {
    const { env, producerId } = await ready();
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0, 1, 2] }]);
    env.markers.answer = (req, call) =>
      req.partitions.map((p) => ({
        ...p,
        errorCode: call === 1 && p.partition === 1 ? ErrorCode.KAFKA_STORAGE_ERROR : call === 1 && p.partition === 2 ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.NONE,
      }));
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    await waitFor('CompleteCommit', () => stateOf(env, 'tx') === 'CompleteCommit');
    expect(env.markers.requests.map((r) => r.partitions.map((p) => p.partition))).toEqual([[0, 1, 2], [1]]);
  });
});

describe('TransactionCoordinator: timeouts and expiration', () => {
  it('aborts a transaction open longer than its timeout with a bumped epoch, fencing its producer', async () => {
    const env = await openEnv();
    await createTopic(env, 'orders', 1);
    await env.coordinator.ensureStateTopic();
    const { producerId } = await env.coordinator.initProducerId('tx', 1000, -1n, -1);
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0] }]);
    env.clock.now += 1000;
    await env.coordinator.abortTimedOutTransactions();
    expect(stateOf(env, 'tx')).toBe('Ongoing');
    env.clock.now += 1;
    await env.coordinator.abortTimedOutTransactions();
    await waitFor('the timed-out transaction to be aborted', () => stateOf(env, 'tx') === 'CompleteAbort');
    expect(env.markers.requests).toEqual([{ producerId, producerEpoch: 1, coordinatorEpoch: 0, commit: false, partitions: [{ topic: 'orders', partition: 0 }] }]);
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.PRODUCER_FENCED);
  });

  it('forgets a transactional id idle for transactional.id.expiration.ms, with a tombstone that survives a restart', async () => {
    const { env } = await ready('tx', { config: { transactionalIdExpirationMs: 5000 } });
    await env.coordinator.initProducerId('busy', 60000, -1n, -1);
    env.clock.now += 4000;
    await env.coordinator.initProducerId('busy', 60000, -1n, -1);
    env.clock.now += 1000;
    await env.coordinator.removeExpiredTransactionalIds();
    expect(env.coordinator.describe(['tx', 'busy']).map((d) => d.errorCode)).toEqual([ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, ErrorCode.NONE]);
    const again = await reopen(env);
    expect(again.coordinator.describe(['tx', 'busy']).map((d) => d.errorCode)).toEqual([ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, ErrorCode.NONE]);
  });
});

describe('TransactionCoordinator: restart', () => {
  it('loads every transactional id back from __transaction_state after a close', async () => {
    const { env, producerId } = await ready();
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [1] }]);
    const other = await env.coordinator.initProducerId('done', 60000, -1n, -1);
    await env.coordinator.addPartitions('done', other.producerId, 0, [{ topic: 'orders', partitions: [0] }]);
    await env.coordinator.endTransaction('done', other.producerId, 0, true);
    await waitFor('commit', () => stateOf(env, 'done') === 'CompleteCommit');
    const before = env.coordinator.describe(['tx', 'done']);
    const again = await reopen(env);
    expect(again.coordinator.describe(['tx', 'done'])).toEqual(before);
    expect(before.map((d) => d.state)).toEqual(['Ongoing', 'CompleteCommit']);
    // The Ongoing transaction goes on where it was: it can be committed with the same producer epoch.
    expect((await again.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    await waitFor('commit after restart', () => stateOf(again, 'tx') === 'CompleteCommit');
    // And new producer ids do not repeat those handed out before the restart.
    const fresh = await again.coordinator.initProducerId('fresh', 60000, -1n, -1);
    expect([producerId, other.producerId]).not.toContain(fresh.producerId);
  });

  it('completes a transaction left in PrepareCommit: writes its markers again, then CompleteCommit', async () => {
    const { env, producerId } = await ready();
    await env.coordinator.addPartitions('tx', producerId, 0, [{ topic: 'orders', partitions: [0, 2] }]);
    env.markers.hold();
    expect((await env.coordinator.endTransaction('tx', producerId, 0, true)).errorCode).toBe(ErrorCode.NONE);
    await waitFor('the marker request', () => env.markers.requests.length === 1);
    // Stop before any marker is acknowledged: the log holds PrepareCommit.
    const markers = new RecordingMarkerWriter();
    const again = await reopen(env, { markers });
    await waitFor('CompleteCommit after restart', () => stateOf(again, 'tx') === 'CompleteCommit');
    expect(markers.requests).toEqual([
      { producerId, producerEpoch: 0, coordinatorEpoch: 0, commit: true, partitions: [{ topic: 'orders', partition: 0 }, { topic: 'orders', partition: 2 }] },
    ]);
    const third = await reopen(again);
    expect(third.coordinator.describe(['tx'])[0]).toMatchObject({ state: 'CompleteCommit', topics: [] });
    expect(third.markers.requests).toEqual([]);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS before start()', async () => {
    const env = await openEnv({ start: false });
    expect((await env.coordinator.initProducerId('tx', 60000, -1n, -1)).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    expect(env.coordinator.describe(['tx'])[0]!.errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    expect(() => env.coordinator.list([], [], -1n)).toThrow(expect.objectContaining({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }));
  });
});

describe('TransactionCoordinator: DescribeTransactions and ListTransactions', () => {
  it('lists transactional ids filtered by state, producer id and duration', async () => {
    const { env, producerId } = await ready('a');
    const b = await env.coordinator.initProducerId('b', 60000, -1n, -1);
    await env.coordinator.addPartitions('b', b.producerId, 0, [{ topic: 'orders', partitions: [0] }]);
    const names = (l: Array<{ transactionalId: string }>) => l.map((t) => t.transactionalId).sort();
    expect(names(env.coordinator.list([], [], -1n))).toEqual(['a', 'b']);
    expect(env.coordinator.list(['Ongoing'], [], -1n)).toEqual([{ transactionalId: 'b', producerId: b.producerId, transactionState: 'Ongoing' }]);
    expect(names(env.coordinator.list([], [producerId], -1n))).toEqual(['a']);
    expect(env.coordinator.list(['NoSuchState'], [], -1n)).toEqual([]);
    env.clock.now += 1000;
    // Empty has start time -1, so it always counts as long-running; b started 1000 ms ago.
    expect(names(env.coordinator.list([], [], 1000n))).toEqual(['a']);
    expect(names(env.coordinator.list([], [], 999n))).toEqual(['a', 'b']);
  });

  it('describes an unknown id as TRANSACTIONAL_ID_NOT_FOUND and an empty one as INVALID_REQUEST', async () => {
    const { env } = await ready();
    expect(env.coordinator.describe(['nope', ''])).toEqual([
      { transactionalId: 'nope', errorCode: ErrorCode.TRANSACTIONAL_ID_NOT_FOUND, state: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [] },
      { transactionalId: '', errorCode: ErrorCode.INVALID_REQUEST, state: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [] },
    ]);
  });
});
