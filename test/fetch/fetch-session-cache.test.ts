// FetchSessionCache rules (Kafka 3.9 FetchSession.scala) with an injected clock: contexts, epochs, eviction.
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import {
  FetchSessionCache,
  cachedPartition,
  nextEpoch,
  partitionKey,
  type FetchSession,
  type RequestTopicFields,
} from '../../src/fetch/fetch-session-cache.js';

const NO_IDS = { getById: () => undefined };

function cacheWithClock(maxSlots: number, evictionMs: number) {
  const clock = { ms: 1_000_000 };
  const cache = new FetchSessionCache({ maxSlots, evictionMs, now: () => clock.ms });
  return { cache, clock };
}

/** A session with `partitions` partitions of topic "t", as a full fetch (v12) would create it. */
function createSession(cache: FetchSessionCache, partitions: number, privileged = false): number {
  return cache.maybeCreateSession(privileged, false, partitions, () =>
    Array.from({ length: partitions }, (_, p) => cachedPartition(partitionKey('t', p), 't', Buffer.alloc(16), { partition: p, fetchOffset: 0n, partitionMaxBytes: 1024 }, 0n, 0n)),
  );
}

function topic(name: string, partitions: number[], fetchOffset = 0n): RequestTopicFields {
  return { topic: name, partitions: partitions.map((partition) => ({ partition, fetchOffset, partitionMaxBytes: 1024 })) };
}

describe('FetchSessionCache', () => {
  it('nextEpoch wraps INT32_MAX to 1 and keeps -1 at -1, as FetchMetadata.nextEpoch', () => {
    expect(nextEpoch(0)).toBe(1);
    expect(nextEpoch(41)).toBe(42);
    expect(nextEpoch(0x7fffffff)).toBe(1);
    expect(nextEpoch(-1)).toBe(-1);
    expect(nextEpoch(-7)).toBe(-1);
  });

  it('a session starts at epoch 1 with a random positive id, and each incremental request moves the epoch on', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const id = createSession(cache, 2);
    expect(id).toBeGreaterThan(0);
    expect(id).toBeLessThanOrEqual(0x7fffffff);
    const ctx = cache.newContext(12, id, 1, false, [], [], NO_IDS);
    expect(ctx.kind).toBe('incremental');
    expect(cache.get(id)!.epoch).toBe(2);
    expect(cache.newContext(12, id, 1, false, [], [], NO_IDS)).toMatchObject({ kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH });
    expect(cache.newContext(12, id + 1, 2, false, [], [], NO_IDS)).toMatchObject({ kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
    expect(cache.newContext(13, id, 2, false, [], [], NO_IDS)).toMatchObject({ kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR });
    expect(cache.stats()).toMatchObject({ sessions: 1, partitionsCached: 2, created: 1, incrementalFetches: 1, sessionErrors: 3 });
  });

  it('adds the request\'s new partitions, updates known ones and removes forgotten ones', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const id = createSession(cache, 2);
    cache.newContext(12, id, 1, false, [topic('t', [1], 7n), topic('u', [0])], [{ topic: 't', partitions: [0] }], NO_IDS);
    const session = cache.get(id)!;
    expect([...session.partitions.keys()]).toEqual(['t:1', 'u:0']);
    expect(session.partitions.get('t:1')!.fetchOffset).toBe(7n);
    expect(session.partitions.get('u:0')).toMatchObject({ topic: 'u', highWatermark: -1n, localLogStartOffset: -1n });
    expect(cache.totalPartitions).toBe(2);
  });

  it('closes a session whose last partition is forgotten and answers sessionless', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const id = createSession(cache, 1);
    expect(cache.newContext(12, id, 1, false, [], [{ topic: 't', partitions: [0] }], NO_IDS).kind).toBe('sessionless');
    expect(cache.size).toBe(0);
    expect(cache.totalPartitions).toBe(0);
  });

  it('a full fetch (epoch 0 or -1) naming a session closes it', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const a = createSession(cache, 1);
    const b = createSession(cache, 1);
    expect(cache.newContext(12, a, 0, false, [], [], NO_IDS).kind).toBe('full');
    expect(cache.newContext(12, b, -1, false, [], [], NO_IDS).kind).toBe('sessionless');
    expect(cache.size).toBe(0);
  });

  it('mustRespond: records, a new high watermark or log start offset, or an error; an error resets the cached high watermark', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const id = createSession(cache, 3);
    const session = cache.get(id)! as FetchSession;
    const p = (n: number) => session.partitions.get(`t:${n}`)!;
    const none = { errorCode: 0, highWatermark: 0n, logStartOffset: 0n, records: Buffer.alloc(0) };
    expect(cache.mustRespond(session, p(0), none)).toBe(false);
    expect(cache.mustRespond(session, p(1), { ...none, highWatermark: 5n })).toBe(true);
    expect(p(1).highWatermark).toBe(5n);
    expect(cache.mustRespond(session, p(1), { ...none, highWatermark: 5n })).toBe(false);
    expect(cache.mustRespond(session, p(2), { ...none, logStartOffset: 3n })).toBe(true);
    expect(cache.mustRespond(session, p(0), { ...none, errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, highWatermark: -1n, logStartOffset: -1n })).toBe(true);
    expect(p(0).highWatermark).toBe(-1n);
    // Once the error is gone the partition is sent again (its high watermark differs from -1).
    expect(cache.mustRespond(session, p(0), none)).toBe(true);
    // Records always go, and move the partition to the end of the session's order.
    expect(cache.mustRespond(session, p(0), { ...none, records: Buffer.alloc(10) })).toBe(true);
    expect([...session.partitions.keys()]).toEqual(['t:1', 't:2', 't:0']);
  });

  it('with no room and nothing evictable, no session is created (id 0)', () => {
    const { cache, clock } = cacheWithClock(1, 1000);
    const first = createSession(cache, 5);
    clock.ms += 500;
    expect(createSession(cache, 100)).toBe(0);
    expect(cache.get(first)).toBeDefined();
    expect(cache.stats().evictions).toBe(0);
  });

  it('evicts the least recently used session once it is unused for longer than the eviction time', () => {
    const { cache, clock } = cacheWithClock(2, 1000);
    const a = createSession(cache, 5);
    clock.ms += 10;
    const b = createSession(cache, 5);
    clock.ms += 1001;
    cache.newContext(12, b, 1, false, [], [], NO_IDS);
    const c = createSession(cache, 1);
    expect(c).toBeGreaterThan(0);
    expect(cache.get(a)).toBeUndefined();
    expect(cache.get(b)).toBeDefined();
    expect(cache.stats().evictions).toBe(1);
  });

  it('a larger session evicts a smaller one older than the eviction time even if recently used; an equal one does not', () => {
    const { cache, clock } = cacheWithClock(1, 1000);
    const a = createSession(cache, 2);
    clock.ms += 1500;
    // Used now, so not stale, but touched when older than the eviction time: evictable by all.
    cache.newContext(12, a, 1, false, [], [], NO_IDS);
    expect(createSession(cache, 2)).toBe(0);
    const b = createSession(cache, 3);
    expect(b).toBeGreaterThan(0);
    expect(cache.get(a)).toBeUndefined();
  });

  it('a privileged (follower) session evicts a new unprivileged one at once; an unprivileged one cannot evict a young privileged one', () => {
    const { cache } = cacheWithClock(1, 120_000);
    const consumer = createSession(cache, 50);
    const follower = createSession(cache, 1, true);
    expect(follower).toBeGreaterThan(0);
    expect(cache.get(consumer)).toBeUndefined();
    expect(createSession(cache, 1000)).toBe(0);
    expect(cache.get(follower)).toBeDefined();
  });

  it('max slots 0 never creates a session', () => {
    const { cache } = cacheWithClock(0, 0);
    expect(createSession(cache, 1)).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('a v13 session keys partitions by topic id and resolves names lazily', () => {
    const { cache } = cacheWithClock(10, 120_000);
    const id = cache.maybeCreateSession(false, true, 0, () => []);
    const topicId = Buffer.alloc(16, 7);
    const known = { getById: (tid: Buffer) => (tid.equals(topicId) ? { name: 'named' } : undefined) };
    cache.newContext(13, id, 1, false, [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 }] }, { topicId: Buffer.alloc(16, 9), partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 }] }], [], known);
    const session = cache.get(id)!;
    expect(session.partitions.get(`${topicId.toString('hex')}:0`)!.topic).toBe('named');
    expect(session.partitions.get(`${Buffer.alloc(16, 9).toString('hex')}:0`)!.topic).toBeNull();
    cache.newContext(13, id, 2, false, [], [{ topicId, partitions: [0] }], known);
    expect(session.partitions.size).toBe(1);
  });
});
