// Issue 7, divergences 4 and 5: Fetch with unknown or deleted partitions, error answers, sessions and leader epochs,
// as Kafka 3.9 answers them (KafkaApis.handleFetchRequest, ReplicaManager.fetchMessages, DelayedFetch.tryComplete,
// FetchManager.newContext, FetchRequest.optionalEpoch). Every request goes over a real socket.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { LogManager, waitForAppend } from '../../src/log/log-manager.js';
import { fetchHandler } from '../../src/handlers/fetch.js';
import { makeFetchRequest } from '../../src/protocol/generated/fetch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { kafkaClient } from '../e2e/support/in-process.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { rmSync } from 'node:fs';

let tb: TestBroker;
let client: TestClient;
const others: TestClient[] = [];

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  for (const c of others.splice(0)) c.close();
  await tb.stop();
});

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(tb.port);
  others.push(c);
  return c;
}

async function createTopic(name: string, numPartitions = 1, configs: Array<{ name: string; value: string }> = []) {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function deleteTopic(name: string) {
  const res = await client.send(ApiKey.DeleteTopics, 4, { topicNames: [name], timeoutMs: 5000 });
  expect(res.responses[0].errorCode).toBe(ErrorCode.NONE);
}

async function produce(topic: string, count = 1) {
  const records = buildRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: `v${i}` })) });
  const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

function partition(index: number, fetchOffset = 0n, currentLeaderEpoch = -1) {
  return { partition: index, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch, logStartOffset: -1n, lastFetchedEpoch: -1 };
}

function fetchRequest(topics: Array<{ topic: string; partitions: unknown[] }>, extra: Record<string, unknown> = {}) {
  return { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics, forgottenTopicsData: [], rackId: '', ...extra };
}

/** Sends a Fetch and tracks whether it has been answered. */
function pendingFetch(on: TestClient, body: Record<string, unknown>, version = 11) {
  const state = { answered: false };
  const response = on.send(ApiKey.Fetch, version, body).then((r) => {
    state.answered = true;
    return r;
  });
  return { state, response };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ERROR_OFFSETS = { highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n };

describe('issue 7: a Fetch naming unknown partitions still long-polls for the others', () => {
  it('a Fetch for [unknown topic, valid] is not answered until an append to the valid partition, and then carries it', async () => {
    await createTopic('valid');
    const waiter = await connect();
    const fetch = pendingFetch(waiter, fetchRequest([
      { topic: 'missing', partitions: [partition(0)] },
      { topic: 'valid', partitions: [partition(0)] },
    ], { maxWaitMs: 20_000, minBytes: 1 }));
    await sleep(300);
    expect(fetch.state.answered).toBe(false);
    await produce('valid', 2);
    const res = await fetch.response;
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS });
    expect(res.responses[0].partitions[0].records.length).toBe(0);
    expect(res.responses[1].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 2n });
    expect(res.responses[1].partitions[0].records.length).toBeGreaterThan(0);
  });

  it('a partition index beyond the topic and an unknown topic id (v13) do not end the wait either', async () => {
    await createTopic('valid');
    const md = await client.send(ApiKey.Metadata, 12, { topics: [{ name: 'valid', topicId: Buffer.alloc(16) }] });
    const topicId = md.topics[0].topicId as Buffer;
    const waiter = await connect();
    const fetch = pendingFetch(waiter, fetchRequest([
      { topicId: Buffer.alloc(16, 7), partitions: [partition(0)] },
      { topicId, partitions: [partition(0), partition(5)] },
    ] as never, { maxWaitMs: 20_000, minBytes: 1 }), 13);
    await sleep(300);
    expect(fetch.state.answered).toBe(false);
    await produce('valid');
    const res = await fetch.response;
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_ID, ...ERROR_OFFSETS });
    expect(res.responses[1].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 1n });
    expect(res.responses[1].partitions[1]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS });
  });

  it('with only unknown partitions the Fetch is answered at once', async () => {
    const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 'missing', partitions: [partition(0)] }], { maxWaitMs: 60_000, minBytes: 1 }));
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS });
  });

  it('an error while reading (OFFSET_OUT_OF_RANGE) still answers at once, with the other partitions', async () => {
    await createTopic('valid');
    const res = await client.send(ApiKey.Fetch, 11, fetchRequest([
      { topic: 'missing', partitions: [partition(0)] },
      { topic: 'valid', partitions: [partition(0, 5n)] },
    ], { maxWaitMs: 60_000, minBytes: 1 }));
    expect(res.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect(res.responses[1].partitions[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...ERROR_OFFSETS });
  });
});

describe('issue 7: a long poll on a topic deleted during the wait', () => {
  it('completes at once with UNKNOWN_TOPIC_OR_PARTITION and -1 offsets, not after max_wait_ms', async () => {
    await createTopic('doomed');
    await produce('doomed', 3);
    const waiter = await connect();
    const fetch = pendingFetch(waiter, fetchRequest([{ topic: 'doomed', partitions: [partition(0, 3n)] }], { maxWaitMs: 120_000, minBytes: 1 }));
    await sleep(200);
    expect(fetch.state.answered).toBe(false);
    await deleteTopic('doomed');
    const res = await fetch.response;
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS, abortedTransactions: null });
    expect(res.responses[0].partitions[0].records.length).toBe(0);
  }, 15_000);

  it('answers the other partitions with what they have when one topic of the request is deleted', async () => {
    await createTopic('doomed');
    await createTopic('kept');
    await produce('kept', 2);
    const waiter = await connect();
    const fetch = pendingFetch(waiter, fetchRequest([
      { topic: 'doomed', partitions: [partition(0)] },
      { topic: 'kept', partitions: [partition(0, 2n)] },
    ], { maxWaitMs: 120_000, minBytes: 1 }));
    await sleep(200);
    await deleteTopic('doomed');
    const res = await fetch.response;
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS });
    expect(res.responses[1].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 2n, logStartOffset: 0n });
  }, 15_000);

  it('waitForAppend ends with "closed" when a log closes, and at once when it is already closed', async () => {
    const dataDir = makeTempDir();
    const manager = await LogManager.open({ dataDir, logger: pino({ level: 'silent' }) });
    try {
      const log = await manager.createLog('w', 0, manager.defaultConfig);
      const wait = waitForAppend([log], 60_000);
      await manager.deleteLogs('w');
      expect(await wait.promise).toBe('closed');
      expect(await waitForAppend([log], 60_000).promise).toBe('closed');
    } finally {
      await manager.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('issue 7: a kafkajs consumer whose topic is deleted', () => {
  it('gets its in-flight long poll answered at the deletion, not at max wait, and keeps consuming the other topic', async () => {
    const maxWaitTimeInMs = 5_000;
    const kafka = kafkaClient(`127.0.0.1:${tb.port}`, 'issue-7-deleted-topic');
    const admin = kafka.admin();
    const consumer = kafka.consumer({ groupId: 'issue-7', maxWaitTimeInMs });
    const fetches: Array<{ sentAt: number; duration: number }> = [];
    let fetchStarts = 0;
    const received: string[] = [];
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'kept', numPartitions: 1 }, { topic: 'doomed', numPartitions: 1 }] });
      consumer.on(consumer.events.FETCH_START, () => void fetchStarts++);
      consumer.on(consumer.events.REQUEST, (e) => {
        if (e.payload.apiName === 'Fetch') fetches.push({ sentAt: e.payload.sentAt, duration: e.payload.duration });
      });
      await consumer.connect();
      await consumer.subscribe({ topics: ['kept', 'doomed'], fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void received.push(String(message.value)) });
      for (let i = 0; i < 100 && fetchStarts === 0; i++) await sleep(100);
      expect(fetchStarts).toBeGreaterThan(0);
      await sleep(500);
      expect(fetches).toEqual([]); // the first long poll (kept + doomed, both empty) is still waiting

      const deletingAt = Date.now();
      await admin.deleteTopics({ topics: ['doomed'] });
      for (let i = 0; i < 150 && fetches.length === 0; i++) await sleep(100);
      const inFlight = fetches[0]!;
      expect(inFlight.sentAt).toBeLessThan(deletingAt);
      // Kafka completes a delayed fetch whose partition is deleted (DelayedFetch case C); Eddy used to let it run
      // to max wait.
      expect(inFlight.duration).toBeLessThan(maxWaitTimeInMs / 2);

      await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'kept', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'after the deletion' }] }) }] }] });
      for (let i = 0; i < 150 && received.length === 0; i++) await sleep(100);
      expect(received).toEqual(['after the deletion']);
    } finally {
      await consumer.disconnect();
      await admin.disconnect();
    }
  }, 40_000);
});

describe('issue 7: Fetch error answers, sessions and leader epochs', () => {
  it('OFFSET_OUT_OF_RANGE carries high watermark, last stable offset and log start offset -1, and no records', async () => {
    await createTopic('t');
    await produce('t', 2);
    const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0, 9n)] }], { isolationLevel: 1 }));
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, ...ERROR_OFFSETS, abortedTransactions: null });
    expect(res.responses[0].partitions[0].records.length).toBe(0);
  });

  it('an unknown partition is answered as KafkaApis answers it: -1 offsets and an empty aborted-transactions list', async () => {
    const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 'missing', partitions: [partition(0)] }]));
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ...ERROR_OFFSETS, abortedTransactions: [] });
  });

  it('serves a full fetch for session epoch 0 or -1 whatever the session id: -1 sessionless (id 0), 0 opens a session (KIP-227)', async () => {
    await createTopic('t');
    await produce('t', 2);
    for (const [sessionId, sessionEpoch] of [[1234, -1], [1234, 0], [0, -1], [0, 0]] as const) {
      const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0)] }], { sessionId, sessionEpoch }));
      expect({ sessionId, sessionEpoch, errorCode: res.errorCode, opensSession: res.sessionId !== 0 }).toEqual({ sessionId, sessionEpoch, errorCode: 0, opensSession: sessionEpoch === 0 });
      expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 2n });
      expect(res.responses[0].partitions[0].records.length).toBeGreaterThan(0);
    }
  });

  it('answers FETCH_SESSION_ID_NOT_FOUND with no partitions for an incremental fetch (epoch > 0), session id 0 included', async () => {
    await createTopic('t');
    for (const [sessionId, sessionEpoch] of [[1234, 1], [1234, 7], [0, 1]] as const) {
      const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0)] }], { sessionId, sessionEpoch }));
      expect({ sessionId, sessionEpoch, errorCode: res.errorCode, responses: res.responses }).toEqual({ sessionId, sessionEpoch, errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, responses: [] });
    }
  });

  it('treats any negative currentLeaderEpoch as "no epoch" in Fetch; a newer epoch is UNKNOWN_LEADER_EPOCH', async () => {
    await createTopic('t');
    await produce('t');
    for (const epoch of [-2, -1, -100]) {
      const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0, 0n, epoch)] }]));
      expect({ epoch, errorCode: res.responses[0].partitions[0].errorCode }).toEqual({ epoch, errorCode: 0 });
      expect(res.responses[0].partitions[0].records.length).toBeGreaterThan(0);
    }
    const future = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0, 0n, 3)] }]));
    expect(future.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, ...ERROR_OFFSETS });
  });

  it('ListOffsets keeps Kafka\'s rule: only -1 is "no epoch", so -2 is FENCED_LEADER_EPOCH', async () => {
    await createTopic('t');
    const ask = (currentLeaderEpoch: number) => client.send(ApiKey.ListOffsets, 5, {
      replicaId: -1, isolationLevel: 0,
      topics: [{ name: 't', partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: -1n }] }],
    }).then((r) => r.topics[0].partitions[0].errorCode);
    expect(await ask(-1)).toBe(0);
    expect(await ask(-2)).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  });

  it('min_bytes above max_bytes is capped at max_bytes: max_bytes of data is answered at once', async () => {
    await createTopic('t');
    const batch = buildRecordBatch({ records: [{ value: 'one batch' }] });
    await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }] });
    const res = await client.send(ApiKey.Fetch, 11, fetchRequest([{ topic: 't', partitions: [partition(0)] }], { maxWaitMs: 120_000, minBytes: 10 * batch.length, maxBytes: batch.length }));
    expect(res.responses[0].partitions[0].errorCode).toBe(0);
    expect(res.responses[0].partitions[0].records.length).toBe(batch.length);
  }, 15_000);

  it('a Fetch v3 that needs down-conversion, with message.downconversion.enable=false, answers UNSUPPORTED_VERSION with -1 offsets', async () => {
    await createTopic('t', 1, [{ name: 'message.downconversion.enable', value: 'false' }]);
    await produce('t');
    const res = await client.send(ApiKey.Fetch, 3, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] });
    expect(res.responses[0].partitions[0]).toMatchObject({ errorCode: ErrorCode.UNSUPPORTED_VERSION, highWatermark: -1n });
  });

  it('the whole-request error answer is Kafka\'s: partitions before v13, none from v13, the session id echoed', () => {
    const request = { ...makeFetchRequest(), sessionId: 42, topics: [{ topic: 't', topicId: Buffer.alloc(16), partitions: [partition(0)] }] } as never;
    const v12 = fetchHandler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, 12);
    expect(v12).toMatchObject({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, sessionId: 42 });
    expect(v12.responses[0]!.partitions[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, ...ERROR_OFFSETS });
    const v13 = fetchHandler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, 13);
    expect(v13).toMatchObject({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, sessionId: 42, responses: [] });
  });
});
