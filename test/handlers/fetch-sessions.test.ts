// Incremental fetch sessions (KIP-227) over the wire: a raw client on our codec against an in-process broker.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import type { BrokerOptions } from '../../src/broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tb?.stop();
  tb = undefined;
});

async function start(options: BrokerOptions = {}): Promise<TestClient> {
  tb = await startTestBroker(options);
  return connect();
}

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(tb!.port);
  clients.push(c);
  return c;
}

async function createTopic(client: TestClient, name: string, numPartitions = 1): Promise<Buffer> {
  const res = await client.send(ApiKey.CreateTopics, 7, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
  return res.topics[0].topicId;
}

async function deleteTopic(client: TestClient, name: string): Promise<void> {
  const res = await client.send(ApiKey.DeleteTopics, 5, { topicNames: [name], timeoutMs: 5000 });
  expect(res.responses[0].errorCode).toBe(ErrorCode.NONE);
}

async function produce(client: TestClient, topic: string, partition: number, count = 1): Promise<void> {
  const records = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
  const res = await client.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records }] }] });
  expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
}

interface Part {
  partition: number;
  fetchOffset?: bigint;
}

const part = ({ partition, fetchOffset = 0n }: Part) => ({ partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 });

/** A Fetch naming topics by name (v12) or id (v13+); `topics` maps name-or-id-hex to partitions. */
function fetch(
  client: TestClient,
  sessionId: number,
  sessionEpoch: number,
  topics: Array<{ topic?: string; topicId?: Buffer; partitions: Part[] }>,
  extra: Record<string, unknown> = {},
  version = 12,
) {
  return client.send(ApiKey.Fetch, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 10 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics: topics.map((t) => ({ topic: t.topic ?? '', topicId: t.topicId ?? Buffer.alloc(16), partitions: t.partitions.map(part) })),
    forgottenTopicsData: [],
    rackId: '',
    ...extra,
  });
}

/** [partition, errorCode, record bytes] of each partition answered, in response order. */
function answered(res: any): Array<[number, number, number]> {
  return res.responses.flatMap((t: any) => t.partitions.map((p: any) => [p.partitionIndex, p.errorCode, p.records?.length ?? 0]));
}

const stats = () => tb!.broker.stats().fetchSessions;

describe('Fetch sessions (KIP-227)', () => {
  it('a v11 sessionless fetch (epoch -1) gets session id 0 and creates no session; v6 has no session fields', async () => {
    const client = await start();
    await createTopic(client, 't');
    const res = await fetch(client, 0, -1, [{ topic: 't', partitions: [{ partition: 0 }] }], {}, 11);
    expect(res.sessionId).toBe(0);
    expect(answered(res)).toEqual([[0, 0, 0]]);
    const v6 = await client.send(ApiKey.Fetch, 6, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }] });
    expect(v6.responses[0].partitions[0].errorCode).toBe(0);
    expect(stats()).toMatchObject({ sessions: 0, sessionlessFetches: 2, fullFetches: 0 });
  });

  it('a full fetch with epoch 0 opens a session; incremental fetches omit unchanged partitions and carry changed ones', async () => {
    const client = await start();
    await createTopic(client, 't', 3);
    await produce(client, 't', 0);
    const full = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }, { partition: 2 }] }]);
    expect(full.errorCode).toBe(0);
    expect(full.sessionId).not.toBe(0);
    expect(answered(full).map(([p]) => p)).toEqual([0, 1, 2]);
    expect(stats()).toMatchObject({ sessions: 1, partitionsCached: 3, created: 1 });
    const id = full.sessionId;

    // Partition 0 moves to offset 1 (the client consumed the record); nothing else changed.
    const quiet = await fetch(client, id, 1, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 1n }] }]);
    expect(quiet).toMatchObject({ errorCode: 0, sessionId: id });
    expect(quiet.responses).toEqual([]);

    await produce(client, 't', 2, 3);
    const changed = await fetch(client, id, 2, []);
    expect(changed.sessionId).toBe(id);
    expect(answered(changed)).toEqual([[2, 0, expect.any(Number)]]);
    expect(answered(changed)[0]![2]).toBeGreaterThan(0);
    expect(changed.responses[0].partitions[0].highWatermark).toBe(3n);

    // The client moves partition 2 to offset 3: no records and the same high watermark, so it is left out.
    const after = await fetch(client, id, 3, [{ topic: 't', partitions: [{ partition: 2, fetchOffset: 3n }] }]);
    expect(after.responses).toEqual([]);
    expect(stats()).toMatchObject({ sessions: 1, incrementalFetches: 3, highestIncrementalEpoch: 3 });
  });

  it('an epoch that skips answers INVALID_FETCH_SESSION_EPOCH with session id 0 and no partitions; the session goes on', async () => {
    const client = await start();
    await createTopic(client, 't');
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    const skipped = await fetch(client, sessionId, 2, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(skipped).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId: 0, responses: [] });
    const repeated = await fetch(client, sessionId, 0x7fffffff, []);
    expect(repeated.errorCode).toBe(ErrorCode.INVALID_FETCH_SESSION_EPOCH);
    const ok = await fetch(client, sessionId, 1, []);
    expect(ok).toMatchObject({ errorCode: 0, sessionId });
  });

  it('an unknown session id answers FETCH_SESSION_ID_NOT_FOUND with session id 0 and no partitions', async () => {
    const client = await start();
    await createTopic(client, 't');
    const res = await fetch(client, 12345, 1, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(res).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0, responses: [] });
    expect(stats()).toMatchObject({ sessions: 0, sessionErrors: 1 });
  });

  it('epoch -1 closes the session and answers sessionless; epoch 0 with the id replaces it with a new one', async () => {
    const client = await start();
    await createTopic(client, 't');
    const first = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    const second = await fetch(client, first.sessionId, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(second.sessionId).not.toBe(0);
    expect(second.sessionId).not.toBe(first.sessionId);
    expect((await fetch(client, first.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    const closed = await fetch(client, second.sessionId, -1, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(closed.sessionId).toBe(0);
    expect(answered(closed)).toEqual([[0, 0, 0]]);
    expect((await fetch(client, second.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expect(stats().sessions).toBe(0);
  });

  it('forgotten topics leave the session; forgetting the last partition closes it and the answer is sessionless', async () => {
    const client = await start();
    await createTopic(client, 't', 2);
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]);
    await fetch(client, sessionId, 1, [], { forgottenTopicsData: [{ topic: 't', partitions: [0] }] });
    expect(stats().partitionsCached).toBe(1);
    await produce(client, 't', 0);
    await produce(client, 't', 1);
    const res = await fetch(client, sessionId, 2, []);
    expect(answered(res).map(([p]) => p)).toEqual([1]);
    const last = await fetch(client, sessionId, 3, [], { forgottenTopicsData: [{ topic: 't', partitions: [1] }] });
    expect(last).toMatchObject({ errorCode: 0, sessionId: 0, responses: [] });
    expect(stats()).toMatchObject({ sessions: 0, partitionsCached: 0 });
  });

  it('partitions that returned records move to the end of the session\'s order', async () => {
    const client = await start();
    await createTopic(client, 't', 3);
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }, { partition: 2 }] }]);
    await produce(client, 't', 0);
    expect(answered(await fetch(client, sessionId, 1, [])).map(([p]) => p)).toEqual([0]);
    await produce(client, 't', 0);
    await produce(client, 't', 1);
    // Session order is now 1, 2, 0.
    const res = await fetch(client, sessionId, 2, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 1n }] }]);
    expect(answered(res).map(([p]) => p)).toEqual([1, 0]);
  });

  it('an incremental fetch long-polls on the session\'s partitions and answers with the one that got data', async () => {
    const client = await start();
    await createTopic(client, 't', 2);
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]);
    const pending = fetch(client, sessionId, 1, [], { maxWaitMs: 5000, minBytes: 1 });
    const producer = await connect();
    await new Promise((r) => setTimeout(r, 50));
    await produce(producer, 't', 1);
    const res = await pending;
    expect(answered(res).map(([p]) => p)).toEqual([1]);
  });

  it('a request whose session epoch moved while it waited (a duplicate on another connection) answers INVALID_FETCH_SESSION_EPOCH with the session id', async () => {
    const client = await start();
    await createTopic(client, 't');
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    const waiting = fetch(client, sessionId, 1, [], { maxWaitMs: 5000, minBytes: 1 });
    const other = await connect();
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(other, sessionId, 2, [])).errorCode).toBe(0);
    await produce(other, 't', 0);
    expect(await waiting).toMatchObject({ errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH, sessionId, responses: [] });
  });

  it('a full cache creates no session (id 0) until the least recently used one is older than the eviction time', async () => {
    const client = await start({ maxIncrementalFetchSessionCacheSlots: 1, minIncrementalFetchSessionEvictionMs: 200 });
    await createTopic(client, 't', 2);
    const a = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(a.sessionId).not.toBe(0);
    const refused = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]);
    expect(refused.sessionId).toBe(0);
    expect(answered(refused).map(([p]) => p)).toEqual([0, 1]);
    await new Promise((r) => setTimeout(r, 250));
    const b = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 1 }] }]);
    expect(b.sessionId).not.toBe(0);
    expect((await fetch(client, a.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    expect(stats()).toMatchObject({ sessions: 1, evictions: 1 });
  });

  it('a follower fetch (replica id >= 0) is privileged: it evicts a consumer\'s session from a full cache at once', async () => {
    const client = await start({ maxIncrementalFetchSessionCacheSlots: 1 });
    await createTopic(client, 't');
    const consumer = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    const follower = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }], { replicaId: 7 });
    expect(follower.sessionId).not.toBe(0);
    // No other broker replicates a single broker's partitions: Kafka's followerReplicaOrThrow answer.
    expect(follower.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    expect((await fetch(client, consumer.sessionId, 1, [])).errorCode).toBe(ErrorCode.FETCH_SESSION_ID_NOT_FOUND);
    // A consumer cannot evict the young privileged session.
    expect((await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }])).sessionId).toBe(0);
  });

  it('max.incremental.fetch.session.cache.slots=0 means every full fetch is answered without a session', async () => {
    const client = await start({ maxIncrementalFetchSessionCacheSlots: 0 });
    await createTopic(client, 't');
    expect((await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }])).sessionId).toBe(0);
  });

  it('a session opened with topic ids (v13) refuses a v12 incremental request, and the reverse: FETCH_SESSION_TOPIC_ID_ERROR', async () => {
    const client = await start();
    const topicId = await createTopic(client, 't');
    const v13 = await fetch(client, 0, 0, [{ topicId, partitions: [{ partition: 0 }] }], {}, 13);
    expect(v13.sessionId).not.toBe(0);
    expect(await fetch(client, v13.sessionId, 1, [], {}, 12)).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR, sessionId: 0 });
    const v12 = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }], {}, 12);
    expect((await fetch(client, v12.sessionId, 1, [], {}, 17)).errorCode).toBe(ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR);
    // Both sessions are still usable at their own versions.
    expect((await fetch(client, v13.sessionId, 1, [], {}, 16)).errorCode).toBe(0);
    expect((await fetch(client, v12.sessionId, 1, [], {}, 12)).errorCode).toBe(0);
  });

  it('v13 session: an unknown topic id answers UNKNOWN_TOPIC_ID; a deleted topic UNKNOWN_TOPIC_OR_PARTITION; recreated under its name INCONSISTENT_TOPIC_ID', async () => {
    const client = await start();
    const topicId = await createTopic(client, 't');
    await produce(client, 't', 0);
    const { sessionId } = await fetch(client, 0, 0, [{ topicId, partitions: [{ partition: 0, fetchOffset: 1n }] }], {}, 13);
    const unknownId = Buffer.alloc(16, 9);
    const added = await fetch(client, sessionId, 1, [{ topicId: unknownId, partitions: [{ partition: 0 }] }], {}, 13);
    expect(added.responses.map((t: any) => [t.topicId.toString('hex'), t.partitions[0].errorCode])).toEqual([[unknownId.toString('hex'), ErrorCode.UNKNOWN_TOPIC_ID]]);
    // Still unknown, still answered (errors are always sent).
    expect(answered(await fetch(client, sessionId, 2, [], {}, 13))).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_ID, 0]]);
    await fetch(client, sessionId, 3, [], { forgottenTopicsData: [{ topicId: unknownId, partitions: [0] }] }, 13);

    await deleteTopic(client, 't');
    const deleted = await fetch(client, sessionId, 4, [], {}, 13);
    expect(deleted.responses[0].topicId.equals(topicId)).toBe(true);
    expect(answered(deleted)).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]]);
    const newId = await createTopic(client, 't');
    expect(newId.equals(topicId)).toBe(false);
    expect(answered(await fetch(client, sessionId, 5, [], {}, 13))).toEqual([[0, ErrorCode.INCONSISTENT_TOPIC_ID, 0]]);
  });

  it('v12 session: a deleted topic answers UNKNOWN_TOPIC_OR_PARTITION, and once recreated under its name it is read again', async () => {
    const client = await start();
    await createTopic(client, 't');
    await produce(client, 't', 0);
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 1n }] }]);
    await deleteTopic(client, 't');
    expect(answered(await fetch(client, sessionId, 1, []))).toEqual([[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 0]]);
    await createTopic(client, 't');
    const back = await fetch(client, sessionId, 2, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n }] }]);
    expect(answered(back)).toEqual([[0, 0, 0]]);
    expect(back.responses[0].partitions[0].highWatermark).toBe(0n);
  });

  it('/metrics shows the sessions in the cache, the partitions cached and the incremental fetches', async () => {
    const client = await start({ httpPort: 0 });
    await createTopic(client, 't', 2);
    const { sessionId } = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }, { partition: 1 }] }]);
    await fetch(client, sessionId, 1, []);
    await fetch(client, sessionId, 2, []);
    const text = await (await globalThis.fetch(`http://127.0.0.1:${tb!.broker.httpPort}/metrics`)).text();
    const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(sample('kafka_server_fetchsessioncache_numincrementalfetchsessions')).toBe(1);
    expect(sample('kafka_server_fetchsessioncache_numincrementalfetchpartitionscached')).toBe(2);
    expect(sample('kafka_server_fetchsessioncache_incrementalfetches_total')).toBe(2);
    expect(sample('kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total')).toBe(0);
  });

  it('after a broker restart the session is gone: FETCH_SESSION_ID_NOT_FOUND, then a full fetch opens a new one and consuming goes on', async () => {
    let client = await start();
    const dataDir = tb!.dataDir;
    await createTopic(client, 't');
    await produce(client, 't', 0, 2);
    const first = await fetch(client, 0, 0, [{ topic: 't', partitions: [{ partition: 0 }] }]);
    expect(first.responses[0].partitions[0].highWatermark).toBe(2n);
    client.close();
    await tb!.stop({ keepData: true });
    tb = await startTestBroker({ dataDir });
    client = await connect();
    await produce(client, 't', 0, 1);
    const lost = await fetch(client, first.sessionId, 1, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 2n }] }]);
    expect(lost).toMatchObject({ errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND, sessionId: 0 });
    const again = await fetch(client, first.sessionId, 0, [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 2n }] }]);
    expect(again.sessionId).not.toBe(0);
    expect(again.responses[0].partitions[0]).toMatchObject({ errorCode: 0, highWatermark: 3n });
    expect(again.responses[0].partitions[0].records.length).toBeGreaterThan(0);
  });
});
