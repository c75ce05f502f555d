// Incremental fetch sessions (KIP-227), as Kafka 3.9's FetchSession.scala keeps them: one FetchSessionCache per
// broker (BrokerServices.fetchSessions), consulted by handlers/fetch.ts at the start of every Fetch
// (newContext, Kafka's FetchManager.newContext) and again when its response is built (an incremental response
// leaves out what did not change; a full fetch may open a session).
//
// A session remembers, per partition, what the fetcher last asked (fetch offset, partition max bytes, leader
// epochs, its log start offset) and what it was last told (high watermark, log start offset). An incremental
// request carries only the partitions whose request fields changed, plus forgotten ones to drop; the others are read
// with their cached fields. The response carries only the partitions that must be sent (CachedPartition
// maybeUpdateResponseData):
//
//   partition's answer this time                       sent?   cached state afterwards
//   records (non-empty)                                yes     moved to the end of the session's order (fairness:
//                                                              the next read starts with the partitions that got
//                                                              nothing), hw / log start as below
//   high watermark differs from the cached one         yes     cached high watermark = this one
//   log start offset differs from the cached one       yes     cached log start offset = this one
//   an error code                                      yes     cached high watermark = -1, so the partition is sent
//                                                              again once the error is gone
//   none of these                                      no      unchanged
//
// (Kafka also always sends a preferred read replica or a diverging epoch; Eddy has neither. Kafka 3.9 does not
// compare the last stable offset, and neither do we: an LSO move comes with a high watermark move or records.)
//
// Which context a request gets (FetchManager.newContext; epoch and id from the request, v7+; older versions are
// sessionless: id 0, epoch -1):
//
//   session epoch       session id    outcome
//   0 (INITIAL)         any           the named session (if any) is removed; full fetch, and a session is created
//                                     when the response is built if there is room (below); response id = new id or 0
//   -1 (FINAL)          any           the named session (if any) is removed; full fetch, sessionless (id 0)
//   other               unknown       FETCH_SESSION_ID_NOT_FOUND, id 0, no partitions
//   other               known         != the session's epoch: INVALID_FETCH_SESSION_EPOCH, id 0, no partitions;
//                                     topic ids used (v13+) but the session was opened without them, or the
//                                     reverse: FETCH_SESSION_TOPIC_ID_ERROR, id 0, no partitions;
//                                     else the request's partitions are added/updated and the forgotten ones
//                                     removed; a session left empty is removed and the request answered
//                                     sessionless; otherwise the session is touched, its epoch moves to
//                                     nextEpoch, and the response (same id) carries only what changed — unless the
//                                     epoch moved again meanwhile (a duplicate request on another connection):
//                                     INVALID_FETCH_SESSION_EPOCH with the session id
//
// Room for a new session (FetchSessionCacheShard.maybeCreateSession / tryEvict): fewer than
// `max.incremental.fetch.session.cache.slots` sessions, or one can be evicted:
//   1. the least recently used session, if unused for more than `min.incremental.fetch.session.eviction.ms`; else
//   2. the first of the evictable sessions ordered by (privileged, partitions, id), when the new session's
//      (privileged, partitions, 0) is not below it. A session is evictable by a privileged (follower, replica id
//      >= 0) newcomer when it is unprivileged or older than the eviction time, by an unprivileged one only when
//      older than the eviction time, both as of its last use (Kafka's evictableByPrivileged / evictableByAll).
// Kafka keeps the last-used and evictable orders in three TreeMaps; we keep the same membership as two flags set
// at each touch and find the first entry with a scan, which happens only when a full fetch meets a full cache.
//
// Deliberate differences: one cache, not Kafka's 8 shards with slots/8 each and round-robin placement (KAFKA-9401
// shards for lock contention on many I/O threads; a shard can refuse a session while others have room, and fewer
// than 8 slots means no sessions at all). min.incremental.fetch.session.eviction.ms is a constant (120000) in
// Kafka 3.9 (KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS); here it is a broker option with that default.
// The clock is monotonic (performance.now), Kafka's the wall clock.
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/error-codes.js';
import { ownBytes } from '../protocol/own-bytes.js';

/** FetchMetadata: the session id of a fetcher without a session, and the two epochs of full requests. */
export const INVALID_SESSION_ID = 0;
export const INITIAL_EPOCH = 0;
export const FINAL_EPOCH = -1;
/** Request versions from which Fetch has session fields (v7) and names topics by id (v13). */
const FIRST_TOPIC_ID_VERSION = 13;
const ZERO_UUID = Buffer.alloc(16);

/** FetchMetadata.nextEpoch: -1 stays -1, INT32_MAX wraps to 1 (0 is never an incremental epoch). */
export function nextEpoch(prevEpoch: number): number {
  if (prevEpoch < 0) return FINAL_EPOCH;
  if (prevEpoch === 0x7fffffff) return 1;
  return prevEpoch + 1;
}

/**
 * One partition of a session. The request-side fields carry the names of a Fetch request partition, so the
 * handler reads a cached partition exactly like one from the request.
 */
export interface CachedPartition {
  /** Key in the session's map: topic id (hex) or name, and the partition. */
  readonly key: string;
  /** The topic's name; null while a topic id (v13+) has not resolved to one (Kafka's maybeResolveUnknownName). */
  topic: string | null;
  /** The topic id the session was told (all zeros in a session that names topics). */
  readonly topicId: Buffer;
  readonly partition: number;
  fetchOffset: bigint;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** The fetcher's log start offset (followers only; -1 from consumers). */
  logStartOffset: bigint;
  lastFetchedEpoch: number;
  /** What the fetcher was last told: high watermark (-1 after an error) and the partition's log start offset. */
  highWatermark: bigint;
  localLogStartOffset: bigint;
}

/** The partition fields of a Fetch request, as newContext reads them. */
export interface RequestPartitionFields {
  readonly partition: number;
  readonly fetchOffset: bigint;
  readonly partitionMaxBytes: number;
  readonly currentLeaderEpoch?: number;
  readonly logStartOffset?: bigint;
  readonly lastFetchedEpoch?: number;
}

export interface RequestTopicFields {
  readonly topic?: string;
  readonly topicId?: Buffer;
  readonly partitions: readonly RequestPartitionFields[];
}

export interface ForgottenTopicFields {
  readonly topic?: string;
  readonly topicId?: Buffer;
  readonly partitions: readonly number[];
}

/** Resolves a v13+ topic id to its topic, for partitions added to a session (the TopicRegistry). */
export interface TopicIdResolver {
  getById(topicId: Buffer): { readonly name: string } | undefined;
}

/** A partition's answer, as far as the session compares it. */
export interface PartitionAnswer {
  readonly errorCode: number;
  readonly highWatermark?: bigint;
  readonly logStartOffset?: bigint;
  readonly records?: Buffer | null;
}

export class FetchSession {
  /** Partitions in the session's order: read in this order, and those that return records move to the end. */
  readonly partitions = new Map<string, CachedPartition>();
  lastUsedMs: number;
  /** The epoch the next incremental request must carry. */
  epoch: number;
  /** Partition count as of the last touch; -1 while not in the cache. */
  cachedSize = -1;
  /** Membership of Kafka's evictableByPrivileged / evictableByAll, as of the last touch. */
  evictableByPrivileged = false;
  evictableByAll = false;

  constructor(
    readonly id: number,
    /** Created by a follower (replica id >= 0). */
    readonly privileged: boolean,
    readonly usesTopicIds: boolean,
    readonly creationMs: number,
  ) {
    this.lastUsedMs = creationMs;
    this.epoch = nextEpoch(INITIAL_EPOCH);
  }

  /** Moves a partition that returned records to the end of the session's order. */
  moveToEnd(partition: CachedPartition): void {
    if (this.partitions.delete(partition.key)) this.partitions.set(partition.key, partition);
  }
}

export type FetchContext =
  | { readonly kind: 'sessionless' }
  | { readonly kind: 'error'; readonly errorCode: number }
  | { readonly kind: 'full'; readonly usesTopicIds: boolean; readonly privileged: boolean }
  | { readonly kind: 'incremental'; readonly session: FetchSession; readonly requestEpoch: number };

const SESSIONLESS: FetchContext = Object.freeze({ kind: 'sessionless' });
const SESSION_ID_NOT_FOUND: FetchContext = Object.freeze({ kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND });
const INVALID_EPOCH: FetchContext = Object.freeze({ kind: 'error', errorCode: ErrorCode.INVALID_FETCH_SESSION_EPOCH });
const TOPIC_ID_ERROR: FetchContext = Object.freeze({ kind: 'error', errorCode: ErrorCode.FETCH_SESSION_TOPIC_ID_ERROR });

export interface FetchSessionCacheOptions {
  /** `max.incremental.fetch.session.cache.slots` (Kafka: 1000). 0: no sessions. */
  maxSlots: number;
  /** `min.incremental.fetch.session.eviction.ms` (Kafka: 120000). */
  evictionMs: number;
  logger?: Logger;
  /** Milliseconds, monotonic; tests pass their own clock. */
  now?: () => number;
}

/** Counters for metrics, tests and debugging; a snapshot. */
export interface FetchSessionStats {
  /** Sessions in the cache (Kafka NumIncrementalFetchSessions). */
  sessions: number;
  /** Partitions cached over all sessions (Kafka NumIncrementalFetchPartitionsCached). */
  partitionsCached: number;
  /** Sessions created since start. */
  created: number;
  /** Sessions evicted to make room (Kafka IncrementalFetchSessionEvictionsPerSec, as a total). */
  evictions: number;
  /** Requests by context: sessionless (epoch -1), full (epoch 0), incremental (answered from a session), error. */
  sessionlessFetches: number;
  fullFetches: number;
  incrementalFetches: number;
  sessionErrors: number;
  /** The highest epoch an incremental request carried since start (0 when none did). */
  highestIncrementalEpoch: number;
}

const monotonicMs = (): number => Math.floor(performance.now());

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private readonly maxSlots: number;
  private readonly evictionMs: number;
  private readonly logger: Logger | undefined;
  private readonly now: () => number;
  private numPartitions = 0;
  private readonly counts = {
    created: 0,
    evictions: 0,
    sessionlessFetches: 0,
    fullFetches: 0,
    incrementalFetches: 0,
    sessionErrors: 0,
    highestIncrementalEpoch: 0,
  };

  constructor(options: FetchSessionCacheOptions) {
    this.maxSlots = options.maxSlots;
    this.evictionMs = options.evictionMs;
    this.logger = options.logger;
    this.now = options.now ?? monotonicMs;
  }

  get size(): number {
    return this.sessions.size;
  }

  get totalPartitions(): number {
    return this.numPartitions;
  }

  get(sessionId: number): FetchSession | undefined {
    return this.sessions.get(sessionId);
  }

  stats(): FetchSessionStats {
    return { sessions: this.sessions.size, partitionsCached: this.numPartitions, ...this.counts };
  }

  /**
   * FetchManager.newContext (table in the header). For an incremental request this already updates the session
   * (partitions, forgotten topics, last use, epoch).
   */
  newContext(
    apiVersion: number,
    sessionId: number,
    epoch: number,
    privileged: boolean,
    topics: readonly RequestTopicFields[],
    forgotten: readonly ForgottenTopicFields[],
    topicIds: TopicIdResolver,
  ): FetchContext {
    const usesTopicIds = apiVersion >= FIRST_TOPIC_ID_VERSION;
    if (epoch === INITIAL_EPOCH || epoch === FINAL_EPOCH) {
      // Any session named in a full fetch is closed.
      if (sessionId !== INVALID_SESSION_ID) {
        const removed = this.remove(sessionId);
        if (removed !== undefined) this.logger?.debug({ sessionId }, 'fetch session closed by a full fetch');
      }
      if (epoch === FINAL_EPOCH) {
        this.counts.sessionlessFetches++;
        return SESSIONLESS;
      }
      this.counts.fullFetches++;
      return { kind: 'full', usesTopicIds, privileged };
    }
    const session = this.sessions.get(sessionId);
    let error: FetchContext | undefined;
    if (session === undefined) error = SESSION_ID_NOT_FOUND;
    else if (session.epoch !== epoch) error = INVALID_EPOCH;
    else if (session.usesTopicIds !== usesTopicIds) error = TOPIC_ID_ERROR;
    if (error !== undefined) {
      this.counts.sessionErrors++;
      if (this.logger?.isLevelEnabled('debug')) {
        this.logger.debug({ sessionId, epoch, expectedEpoch: session?.epoch, apiVersion }, 'fetch session error');
      }
      return error;
    }
    const s = session!;
    this.update(s, topics, forgotten, topicIds);
    if (s.partitions.size === 0) {
      // After the forgotten partitions went, nothing is left: the session closes and this request is sessionless.
      this.remove(s.id);
      this.counts.sessionlessFetches++;
      return SESSIONLESS;
    }
    this.touch(s, this.now());
    s.epoch = nextEpoch(s.epoch);
    this.counts.incrementalFetches++;
    if (epoch > this.counts.highestIncrementalEpoch) this.counts.highestIncrementalEpoch = epoch;
    return { kind: 'incremental', session: s, requestEpoch: epoch };
  }

  /**
   * FullFetchContext.updateAndGenerateResponseData: a session for a full fetch's partitions when there is room
   * (header). `build` makes its partitions, in response order; called only when the session is created. Returns
   * the new session id, or INVALID_SESSION_ID.
   */
  maybeCreateSession(privileged: boolean, usesTopicIds: boolean, size: number, build: () => CachedPartition[]): number {
    const now = this.now();
    if (this.sessions.size >= this.maxSlots && !this.tryEvict(privileged, size, now)) {
      this.logger?.debug({ privileged, size }, 'no fetch session created: the cache is full');
      return INVALID_SESSION_ID;
    }
    const session = new FetchSession(this.newSessionId(), privileged, usesTopicIds, now);
    for (const p of build()) session.partitions.set(p.key, p);
    this.sessions.set(session.id, session);
    this.touch(session, now);
    this.counts.created++;
    this.logger?.debug({ sessionId: session.id, privileged, partitions: session.partitions.size }, 'fetch session created');
    return session.id;
  }

  /**
   * IncrementalFetchContext.updateAndGenerateResponseData's first check: the session's epoch must still be the
   * one this request moved it to.
   */
  epochStillCurrent(session: FetchSession, requestEpoch: number): boolean {
    return session.epoch === nextEpoch(requestEpoch);
  }

  /**
   * CachedPartition.maybeUpdateResponseData (table in the header): whether the partition's answer goes into the
   * incremental response; updates the cached high watermark and log start offset, and moves a partition that
   * returned records to the end of the session's order.
   */
  mustRespond(session: FetchSession, cached: CachedPartition, answer: PartitionAnswer): boolean {
    let must = false;
    const hasRecords = (answer.records?.length ?? 0) > 0;
    if (hasRecords) must = true;
    const highWatermark = answer.highWatermark ?? -1n;
    const logStartOffset = answer.logStartOffset ?? -1n;
    if (cached.highWatermark !== highWatermark) {
      must = true;
      cached.highWatermark = highWatermark;
    }
    if (cached.localLogStartOffset !== logStartOffset) {
      must = true;
      cached.localLogStartOffset = logStartOffset;
    }
    if (answer.errorCode !== ErrorCode.NONE) {
      cached.highWatermark = -1n;
      must = true;
    }
    if (hasRecords) session.moveToEnd(cached);
    return must;
  }

  /** Removes a session (closed by its fetcher, evicted, or left empty). */
  remove(sessionId: number): FetchSession | undefined {
    const session = this.sessions.get(sessionId);
    if (session === undefined) return undefined;
    this.sessions.delete(sessionId);
    if (session.cachedSize > 0) this.numPartitions -= session.cachedSize;
    session.cachedSize = -1;
    return session;
  }

  /** FetchSession.update: the request's partitions added or updated, then the forgotten ones removed. */
  private update(session: FetchSession, topics: readonly RequestTopicFields[], forgotten: readonly ForgottenTopicFields[], topicIds: TopicIdResolver): void {
    const usesTopicIds = session.usesTopicIds;
    for (const t of topics) {
      const topicKey = usesTopicIds ? (t.topicId ?? ZERO_UUID).toString('hex') : (t.topic ?? '');
      let name: string | null | undefined;
      let topicId: Buffer | undefined;
      for (const p of t.partitions) {
        const key = partitionKey(topicKey, p.partition);
        const cached = session.partitions.get(key);
        if (cached !== undefined) {
          cached.fetchOffset = p.fetchOffset;
          cached.partitionMaxBytes = p.partitionMaxBytes;
          cached.currentLeaderEpoch = p.currentLeaderEpoch ?? -1;
          cached.logStartOffset = p.logStartOffset ?? -1n;
          cached.lastFetchedEpoch = p.lastFetchedEpoch ?? -1;
          continue;
        }
        if (name === undefined) {
          // Once per topic: its name, and a copy of the id that the session may keep (own-bytes.ts: the 1,000
          // sessions of a fuzz run naming random topic ids held 497 pool slabs, 3.9 MiB, through the ids).
          name = usesTopicIds ? (topicIds.getById(t.topicId ?? ZERO_UUID)?.name ?? null) : (t.topic ?? '');
          topicId = usesTopicIds ? ownBytes(t.topicId ?? ZERO_UUID) : ZERO_UUID;
        }
        session.partitions.set(key, cachedPartition(key, name, topicId!, p, -1n, -1n));
      }
    }
    for (const f of forgotten) {
      const topicKey = usesTopicIds ? (f.topicId ?? ZERO_UUID).toString('hex') : (f.topic ?? '');
      for (const partition of f.partitions) session.partitions.delete(partitionKey(topicKey, partition));
    }
  }

  /** FetchSessionCacheShard.touch: last use, partition count and evictable membership as of now. */
  private touch(session: FetchSession, now: number): void {
    session.lastUsedMs = now;
    if (session.cachedSize !== -1) this.numPartitions -= session.cachedSize;
    session.cachedSize = session.partitions.size;
    this.numPartitions += session.cachedSize;
    const old = now - session.creationMs > this.evictionMs;
    session.evictableByPrivileged = !session.privileged || old;
    session.evictableByAll = old;
  }

  /** FetchSessionCacheShard.tryEvict (header, "Room for a new session"). */
  private tryEvict(privileged: boolean, size: number, now: number): boolean {
    let leastRecent: FetchSession | undefined;
    let firstEvictable: FetchSession | undefined;
    for (const s of this.sessions.values()) {
      if (leastRecent === undefined || s.lastUsedMs < leastRecent.lastUsedMs || (s.lastUsedMs === leastRecent.lastUsedMs && s.id < leastRecent.id)) {
        leastRecent = s;
      }
      if (privileged ? s.evictableByPrivileged : s.evictableByAll) {
        if (firstEvictable === undefined || compareEvictable(s.privileged, s.cachedSize, s.id, firstEvictable) < 0) firstEvictable = s;
      }
    }
    if (leastRecent === undefined) return false;
    if (now - leastRecent.lastUsedMs > this.evictionMs) {
      this.logger?.debug({ sessionId: leastRecent.id }, 'evicting a stale fetch session');
      this.evict(leastRecent);
      return true;
    }
    if (firstEvictable === undefined) return false;
    if (compareEvictable(privileged, size, 0, firstEvictable) < 0) return false;
    this.logger?.debug({ sessionId: firstEvictable.id, privileged, size }, 'evicting a fetch session for a more valuable one');
    this.evict(firstEvictable);
    return true;
  }

  private evict(session: FetchSession): void {
    this.remove(session.id);
    this.counts.evictions++;
  }

  /** A random positive id not in use (FetchSessionCacheShard.newSessionId). */
  private newSessionId(): number {
    let id: number;
    do id = randomInt(1, 0x7fffffff);
    while (this.sessions.has(id));
    return id;
  }
}

/** EvictableKey ordering: (privileged, size, id), false before true. */
function compareEvictable(privileged: boolean, size: number, id: number, other: FetchSession): number {
  if (privileged !== other.privileged) return privileged ? 1 : -1;
  if (size !== other.cachedSize) return size - other.cachedSize;
  return id - other.id;
}

export function partitionKey(topicKey: string, partition: number): string {
  return `${topicKey}:${partition}`;
}

/** The key of a topic in a session: its id in hex for sessions that use topic ids, else its name. */
export function topicKeyOf(usesTopicIds: boolean, name: string | null, topicId: Buffer): string {
  return usesTopicIds ? topicId.toString('hex') : (name ?? '');
}

/** A cached partition from a request partition and (for a full fetch) the answer it got. */
export function cachedPartition(
  key: string,
  topic: string | null,
  topicId: Buffer,
  p: RequestPartitionFields,
  highWatermark: bigint,
  localLogStartOffset: bigint,
): CachedPartition {
  return {
    key,
    topic,
    topicId,
    partition: p.partition,
    fetchOffset: p.fetchOffset,
    partitionMaxBytes: p.partitionMaxBytes,
    currentLeaderEpoch: p.currentLeaderEpoch ?? -1,
    logStartOffset: p.logStartOffset ?? -1n,
    lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
    highWatermark,
    localLogStartOffset,
  };
}
