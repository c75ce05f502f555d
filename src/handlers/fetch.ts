// Fetch (key 1), versions 0–18.
// - Topics by name up to v12 and by topic id from v13 (UNKNOWN_TOPIC_ID when the id is unknown), consistent with
//   Metadata returning topic ids from v10.
// - Incremental fetch sessions (KIP-227, v7+), kept by the broker's FetchSessionCache (fetch/fetch-session-cache.ts
//   has the rules, after Kafka's FetchSession.scala). The context comes first, then the partitions are answered:
//
//     session epoch   session id          partitions read                    answer
//     -1 (FINAL)      any (closed)        the request's                      sessionless: id 0, every partition
//     0 (INITIAL)     any (closed)        the request's                      every partition; id = a new session
//                                                                            when the cache has room, else 0
//     other           unknown             none                               FETCH_SESSION_ID_NOT_FOUND, id 0
//     other           known, other epoch  none                               INVALID_FETCH_SESSION_EPOCH, id 0
//     other           known, v13+ vs not  none                               FETCH_SESSION_TOPIC_ID_ERROR, id 0
//     other           known, same epoch   all of the session's, in its       the session id; only partitions with
//                                         order, after adding the request's  records, a new high watermark or log
//                                         and removing the forgotten ones    start offset, or an error
//                                         (none left: closed, sessionless)
//
//   A session's partition is resolved each time: by topic id in a v13+ session (UNKNOWN_TOPIC_ID while the id is
//   unknown; once resolved, by name: a deleted topic answers UNKNOWN_TOPIC_OR_PARTITION and a topic recreated under
//   the same name INCONSISTENT_TOPIC_ID, as ReplicaManager.readFromLog checks the log's id, at once), by name in an
//   older one (a recreated topic is simply read). Before v7 there are no session fields: sessionless. Sessionless
//   requests cost nothing more than before (no lookup); an incremental one costs one map lookup plus its named
//   partitions, then the session's partitions are read as a full request's would be. Records stay the bytes read.
//
// - Partitions are answered in two steps, as in Kafka (KafkaApis.handleFetchRequest, then
//   ReplicaManager.fetchMessages/readFromLog):
//
//     step          outcome for the partition                               effect on the long poll
//     resolve       UNKNOWN_TOPIC_ID (v13+ id not known),                   answered with the error; not read, never
//                   TOPIC_AUTHORIZATION_FAILED (no READ; mayFetch),         ends the wait: the others still wait
//                   UNKNOWN_TOPIC_OR_PARTITION (not in the metadata)
//     read          leader epoch check (KIP-320; any negative = none),      respond at once
//                   OFFSET_OUT_OF_RANGE outside [logStartOffset,
//                   logEndOffset], a closed or deleted log, I/O errors
//     read          whole batches from one segment, up to the partition's   counts toward min_bytes
//                   max bytes and what is left of the response's max
//                   bytes, never past the high watermark; the first
//                   partition with data gets at least one whole batch
//                   even if it is larger (KIP-74)
//
//   Every error answer carries high watermark, last stable offset and log start offset -1 and no records
//   (FetchResponse.partitionResponse, ReplicaManager.createLogReadResult); aborted transactions are [] for an
//   error found while resolving and null for one found while reading, as Kafka's two paths build them.
// - Records are passed through as the bytes read from disk (the response writer references them, no copy).
// - The response's max bytes is the request's (v3+; before v3 unlimited) capped by the broker's `fetch.max.bytes`
//   (55 MiB by default), as KafkaApis.handleFetchRequest caps it (before the quota cap, which Eddy has not), and
//   min_bytes is capped by the result. Because Eddy reads records into memory (Kafka sends FileRecords slices with
//   sendfile), this is also what bounds the memory of one Fetch: every partition read is at most what is left of
//   that max, except KIP-74's one first batch, which is bounded by the topic's max.message.bytes when it was
//   written. A Fetch asking INT32_MAX bytes per partition and in all reads at most fetch.max.bytes (+ one batch).
//   `replica.fetch.max.bytes` is the follower's own per-partition max (replica-fetcher.ts sends it).
// - Cluster mode (cluster/): partitions this broker does not lead answer NOT_LEADER_OR_FOLLOWER (FENCED_LEADER_EPOCH
//   / UNKNOWN_LEADER_EPOCH for a stale / newer currentLeaderEpoch). A follower's fetch (replica id >= 0; from v15 in
//   ReplicaState with its broker epoch) is Kafka's Partition.fetchRecords: a lastFetchedEpoch whose end on the
//   leader is before the fetch offset answers divergingEpoch at once, with no records; otherwise the fetch offset is
//   recorded as the follower's log end offset (moving the HW and the ISR, leader-partition.ts; a broker that is not
//   a replica, or an older incarnation of one, is NOT_LEADER_OR_FOLLOWER), and the read goes up to the log end
//   offset instead of the HW. A follower's long poll wakes on writes, not HW moves. On a single broker no other
//   broker is a replica: a replica id >= 0 answers UNKNOWN_LEADER_EPOCH when the partition carries a leader epoch,
//   NOT_LEADER_OR_FOLLOWER otherwise, as Kafka's followerReplicaOrThrow (a fetch session is still opened for it).
// - Long polling: when nothing failed while reading, max_wait_ms > 0, some partition was read and fewer than
//   min_bytes (capped at max_bytes, as Kafka caps it) were read, wait on the partitions that were read for
//   appends, the timeout or broker shutdown; read again once the bytes appended since the last read could meet
//   min_bytes, or when the wait ends. When a waited-on log closes (its topic deleted) the wait ends at once and the
//   read answers UNKNOWN_TOPIC_OR_PARTITION for it (DelayedFetch.tryComplete case C). The log wakes us; nothing
//   polls, and small appends cause no re-reads.
// - Transactions (v4+): lastStableOffset is the partition's LSO; read_committed reads stop there and carry the
//   aborted transactions overlapping the returned batches (PartitionLog.abortedTransactions, Kafka's
//   collectAbortedTxns); read_uncommitted carries null.
// - v0–v3 readers expect magic 0/1 message sets (v0–1 magic 0, v2–3 magic 1): each partition's records are
//   down-converted once the read and wait are over, within what was read for it and its partition max bytes, at
//   whole messages (legacy-fetch.ts, protocol/records/legacy/down-convert.ts; Kafka's LazyDownConversionRecords).
//   With message.downconversion.enable=false (topic, else broker) a partition with data answers
//   UNSUPPORTED_VERSION there instead. As in Kafka the conversion comes after the read: the bytes read count
//   toward min_bytes and the conversion does not end the wait.
// - v18 (KIP-1166) adds the follower's high watermark as tag 1 of a partition (default INT64_MAX, "not
//   supported"); consumers leave it at the default and Eddy has no follower fetches, so it is decoded and unused.
//   v17's ReplicaDirectoryId (KIP-853) is likewise a follower field. The v18 response is v17's.
// - Deliberate difference: partitions are answered in request order (an incremental request's in the session's order,
//   as Kafka). Kafka lists the ones answered while resolving
//   after all the others (repeating a topic entry when needed); clients match answers by topic and partition.
import { ApiKey } from '../protocol/generated/index.js';
import { makeFetchResponse, type FetchRequest, type FetchResponse } from '../protocol/generated/fetch.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ownBytes } from '../protocol/own-bytes.js';
import { KafkaError } from '../errors.js';
import { waitForAppend, type WakeReason } from '../log/log-manager.js';
import { LAST_OFFSET_DELTA_OFFSET, RECORD_BATCH_HEADER_SIZE, batchSizeAt, wholeBatchesWithin } from '../protocol/records/batch.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { LeaderPartition } from '../cluster/leader-partition.js';
import type { TopicInfo } from '../metadata/topic-registry.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';
import { isKnownPartition, lookupLeaderLog, partitionErrorCode } from './partition-lookup.js';
import { downConversionEnabled, downConvertFetchedSlots } from './legacy-fetch.js';
import {
  FINAL_EPOCH,
  INVALID_SESSION_ID,
  cachedPartition,
  partitionKey,
  topicKeyOf,
  type CachedPartition,
  type FetchContext,
  type FetchSession,
} from '../fetch/fetch-session-cache.js';

type ResponseTopic = FetchResponse['responses'][number];
type PartitionData = ResponseTopic['partitions'][number];
type RequestPartition = FetchRequest['topics'][number]['partitions'][number];

const EMPTY = Buffer.alloc(0);
/** The outcome of a read that is not made (one settled promise, shared). */
const NOTHING_READ: Promise<Buffer | null> = Promise.resolve(null);
const ZERO_UUID = Buffer.alloc(16);
const READ_COMMITTED = 1;
const FIRST_MAGIC_2_VERSION = 4;
const FIRST_REPLICA_STATE_VERSION = 15;
const MAX_BYTES_UNLIMITED = 0x7fffffff;

function dataResult(partitionIndex: number, log: PartitionLog, fetchOffset: bigint, records: Buffer, readCommitted: boolean): PartitionData {
  const hw = log.highWatermark;
  return {
    partitionIndex,
    errorCode: ErrorCode.NONE,
    highWatermark: hw,
    lastStableOffset: log.lastStableOffset,
    logStartOffset: log.logStartOffset,
    abortedTransactions: readCommitted ? abortedTransactionsIn(log, fetchOffset, records) : null,
    preferredReadReplica: -1,
    records,
  } as PartitionData;
}

/**
 * read_committed: the aborted transactions overlapping the records returned (Kafka's LocalLog
 * addAbortedTransactions), from the fetch offset to just past the last batch; none when no records are returned.
 */
function abortedTransactionsIn(log: PartitionLog, fetchOffset: bigint, records: Buffer): PartitionData['abortedTransactions'] {
  // Most partitions never saw an aborted transaction: skip the walk over the returned batch headers.
  if (records.length === 0 || log.abortedTransactionIndex().length === 0) return [];
  let pos = 0;
  let upperBound = fetchOffset;
  while (pos + RECORD_BATCH_HEADER_SIZE <= records.length) {
    upperBound = records.readBigInt64BE(pos) + BigInt(records.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET)) + 1n;
    pos += batchSizeAt(records, pos);
  }
  return log.abortedTransactions(fetchOffset, upperBound) as PartitionData['abortedTransactions'];
}

/**
 * An error answer: no offsets, no records. `whileResolving` (KafkaApis' FetchResponse.partitionResponse) has an
 * empty aborted-transactions list; a failed read (ReplicaManager.createLogReadResult) has none (null).
 */
function errorResult(partitionIndex: number, errorCode: number, whileResolving: boolean): PartitionData {
  return {
    partitionIndex,
    errorCode,
    highWatermark: -1n,
    lastStableOffset: -1n,
    logStartOffset: -1n,
    abortedTransactions: whileResolving ? [] : null,
    preferredReadReplica: -1,
    records: EMPTY,
  } as PartitionData;
}

/** KafkaApis: min(request max_bytes, fetch.max.bytes); before v3 the request has no max_bytes. */
function responseMaxBytes(ctx: RequestContext, request: FetchRequest): number {
  const requested = ctx.apiVersion >= 3 ? request.maxBytes ?? MAX_BYTES_UNLIMITED : MAX_BYTES_UNLIMITED;
  return Math.min(requested, ctx.broker.config.fetchMaxBytes);
}

/** FetchRequest.isFromFollower: a replica id >= 0 (in ReplicaState from v15). Such sessions are privileged. */
function isFromFollower(apiVersion: number, request: FetchRequest): boolean {
  return (apiVersion >= FIRST_REPLICA_STATE_VERSION ? request.replicaState?.replicaId ?? -1 : request.replicaId ?? -1) >= 0;
}

/** A follower's identity in a cluster (replica id, and from v15 its broker epoch; -1 = not sent). */
interface FollowerIdentity {
  replicaId: number;
  brokerEpoch: bigint;
}

/** The replica id of a follower's fetch (in ReplicaState from v15). */
function replicaIdOf(apiVersion: number, request: FetchRequest): number {
  return apiVersion >= FIRST_REPLICA_STATE_VERSION ? request.replicaState!.replicaId : request.replicaId!;
}

/** The fetching follower in cluster mode; undefined for consumers and on a single broker (no replication). */
function followerOf(ctx: RequestContext, request: FetchRequest): FollowerIdentity | undefined {
  if (ctx.broker.replicas === undefined || !isFromFollower(ctx.apiVersion, request)) return undefined;
  if (ctx.apiVersion >= FIRST_REPLICA_STATE_VERSION) return { replicaId: request.replicaState!.replicaId, brokerEpoch: request.replicaState!.replicaEpoch };
  return { replicaId: request.replicaId!, brokerEpoch: -1n };
}

/**
 * Kafka's Partition.fetchRecords for a follower sending lastFetchedEpoch (v12+): when the leader's log ends that
 * epoch earlier than the follower's fetch offset, or the leader has no such epoch, the answer is the leader's end
 * of the last epoch it has at or below it, and no records; the follower truncates there (replica-fetcher.ts).
 */
function divergingEpoch(log: PartitionLog, request: RequestPartition): { epoch: number; endOffset: bigint } | undefined {
  const lastFetchedEpoch = request.lastFetchedEpoch ?? -1;
  if (lastFetchedEpoch < 0) return undefined;
  const end = log.endOffsetForEpoch(lastFetchedEpoch);
  const epoch = end?.leaderEpoch ?? -1;
  const endOffset = end?.endOffset ?? -1n;
  // Partition.readRecords: no epoch at or below the follower's, or a fetch offset below the log start, is
  // OFFSET_OUT_OF_RANGE (the follower then asks ListOffsets where to start), whatever the epochs say.
  if (epoch < 0 || endOffset < 0n) {
    throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Could not determine the end offset of the last fetched epoch ${lastFetchedEpoch} from the request`);
  }
  if (request.fetchOffset < log.logStartOffset) {
    throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Received request for offset ${request.fetchOffset}, but we only have log segments from ${log.logStartOffset}`);
  }
  if (epoch < lastFetchedEpoch || endOffset < request.fetchOffset) return { epoch, endOffset };
  return undefined;
}

/** The session context (fetch/fetch-session-cache.ts); before v7 the fields are absent: sessionless. */
function fetchContext(ctx: RequestContext, request: FetchRequest): FetchContext {
  return ctx.broker.fetchSessions.newContext(
    ctx.apiVersion,
    request.sessionId ?? INVALID_SESSION_ID,
    request.sessionEpoch ?? FINAL_EPOCH,
    isFromFollower(ctx.apiVersion, request),
    request.topics,
    request.forgottenTopicsData ?? [],
    ctx.broker.topics,
  );
}

/** A requested partition: its topic as resolved when the request arrived, and its latest answer. */
interface Slot {
  request: RequestPartition;
  topic: TopicInfo | undefined;
  /** Answered while resolving (unknown to the metadata): keeps that answer and is never read. */
  resolved: boolean;
  log: PartitionLog | null;
  result: PartitionData | undefined;
  /** Cluster mode, a follower's fetch: the partition's leader state, told the follower's offset after the read. */
  leader?: LeaderPartition;
}

interface TopicSlots {
  request: FetchRequest['topics'][number];
  topic: TopicInfo | undefined;
  slots: Slot[];
}

/**
 * ACLs (auth/authorizer.ts; KafkaApis.handleFetchRequest): a consumer needs READ on the topic, a follower
 * (replica id >= 0) CLUSTER_ACTION on the cluster; otherwise the partition answers TOPIC_AUTHORIZATION_FAILED while
 * resolving (after UNKNOWN_TOPIC_ID, before UNKNOWN_TOPIC_OR_PARTITION).
 */
function mayFetch(ctx: RequestContext, fromFollower: boolean, topicName: string): boolean {
  return fromFollower ? authorizeCluster(ctx, AclOperation.CLUSTER_ACTION) : authorize(ctx, AclOperation.READ, ResourceType.TOPIC, topicName);
}

/** KafkaApis' first step: partitions unknown to the metadata get their error; the others are to be read. */
function resolve(ctx: RequestContext, request: FetchRequest): { topics: TopicSlots[]; toRead: Slot[] } {
  const useIds = ctx.apiVersion >= 13;
  const fromFollower = isFromFollower(ctx.apiVersion, request);
  const toRead: Slot[] = [];
  const topics = request.topics.map((t): TopicSlots => {
    const topic = useIds ? ctx.broker.topics.getById(t.topicId ?? ZERO_UUID) : ctx.broker.topics.get(t.topic ?? '');
    const allowed = (useIds && topic === undefined) || mayFetch(ctx, fromFollower, useIds ? topic!.name : (t.topic ?? ''));
    const slots = t.partitions.map((p): Slot => {
      const slot: Slot = { request: p, topic, resolved: false, log: null, result: undefined };
      if (useIds && topic === undefined) {
        slot.resolved = true;
        slot.result = errorResult(p.partition, ErrorCode.UNKNOWN_TOPIC_ID, true);
      } else if (!allowed) {
        slot.resolved = true;
        slot.result = errorResult(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED, true);
      } else if (!isKnownPartition(topic, p.partition)) {
        slot.resolved = true;
        slot.result = errorResult(p.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true);
      } else {
        toRead.push(slot);
      }
      return slot;
    });
    return { request: t, topic, slots };
  });
  return { topics, toRead };
}

/**
 * The first step for an incremental request: every partition of the session, in the session's order (consecutive
 * partitions of one topic share a topic entry), resolved as in the header. `readFailed` when one already failed
 * as a read would (INCONSISTENT_TOPIC_ID), which answers at once.
 */
function resolveSession(ctx: RequestContext, session: FetchSession): { topics: TopicSlots[]; toRead: Slot[]; readFailed: boolean } {
  const registry = ctx.broker.topics;
  const topics: TopicSlots[] = [];
  const toRead: Slot[] = [];
  let readFailed = false;
  let current: TopicSlots | undefined;
  for (const cached of session.partitions.values()) {
    if (session.usesTopicIds && cached.topic === null) cached.topic = registry.getById(cached.topicId)?.name ?? null;
    const topic = cached.topic === null ? undefined : registry.get(cached.topic);
    // Partitions of one topic share one topicId Buffer (fetch-session-cache.ts), so identity is enough here.
    if (current === undefined || current.request.topic !== (cached.topic ?? '') || current.request.topicId !== cached.topicId) {
      current = { request: { topic: cached.topic ?? '', topicId: cached.topicId, partitions: [] }, topic, slots: [] };
      topics.push(current);
    }
    const slot: Slot = { request: cached, topic, resolved: true, log: null, result: undefined };
    if (cached.topic === null) {
      slot.result = errorResult(cached.partition, ErrorCode.UNKNOWN_TOPIC_ID, true);
    } else if (!mayFetch(ctx, session.privileged, cached.topic)) {
      slot.result = errorResult(cached.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED, true);
    } else if (!isKnownPartition(topic, cached.partition)) {
      slot.result = errorResult(cached.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, true);
    } else if (session.usesTopicIds && !topic.topicId.equals(cached.topicId)) {
      slot.result = errorResult(cached.partition, ErrorCode.INCONSISTENT_TOPIC_ID, false);
      readFailed = true;
    } else {
      slot.resolved = false;
      toRead.push(slot);
    }
    current.slots.push(slot);
  }
  return { topics, toRead, readFailed };
}

/** A full fetch's partitions with their answers, for a new session (FullFetchContext's createNewSession). */
function sessionPartitions(topics: TopicSlots[], usesTopicIds: boolean): CachedPartition[] {
  const out: CachedPartition[] = [];
  for (const { request: t, topic, slots } of topics) {
    const name = usesTopicIds ? (topic?.name ?? null) : (t.topic ?? '');
    // The registry's id when the topic resolved; a copy the session may keep otherwise (own-bytes.ts).
    const topicId = usesTopicIds ? (topic?.topicId ?? ownBytes(t.topicId ?? ZERO_UUID)) : ZERO_UUID;
    const topicKey = topicKeyOf(usesTopicIds, name, topicId);
    for (const slot of slots) {
      const result = slot.result!;
      out.push(cachedPartition(partitionKey(topicKey, slot.request.partition), name, topicId, slot.request, result.highWatermark ?? -1n, result.logStartOffset ?? -1n));
    }
  }
  return out;
}

/**
 * One read of the partitions to read (ReplicaManager.readFromLog). Returns the bytes gathered and whether a read
 * failed. Each slot's log is looked up again, so a partition deleted since the last read answers
 * UNKNOWN_TOPIC_OR_PARTITION.
 *
 * Reads run concurrently in waves: a wave takes partitions in request order while their partition max bytes
 * still fit in what is left of the response's max bytes, so no read in a wave can push the response over it.
 * Results are then taken in request order, which keeps Kafka's rules: the first partition with data may return
 * one oversized batch (KIP-74); any later oversized batch is left out, and nothing goes past max bytes.
 */
async function readAll(ctx: RequestContext, request: FetchRequest, slots: Slot[]): Promise<{ totalBytes: number; readError: boolean }> {
  const readCommitted = (request.isolationLevel ?? 0) === READ_COMMITTED;
  let bytesLeft = responseMaxBytes(ctx, request);
  let totalBytes = 0;
  let readError = false;
  const fail = (slot: Slot, err: unknown) => {
    readError = true;
    const code = partitionErrorCode(err, ctx.log, { api: 'Fetch', topic: slot.topic?.name, partition: slot.request.partition });
    slot.result = errorResult(slot.request.partition, code, false);
  };

  const follower = followerOf(ctx, request);
  const strangerReplicaId = follower === undefined && isFromFollower(ctx.apiVersion, request) ? replicaIdOf(ctx.apiVersion, request) : undefined;
  const toRead: Slot[] = [];
  for (const slot of slots) {
    try {
      const { log, leader } = lookupLeaderLog(ctx.broker, slot.topic, slot.request.partition, slot.request.currentLeaderEpoch, 'any-negative');
      slot.log = log;
      if (strangerReplicaId !== undefined) {
        throw new KafkaError(
          (slot.request.currentLeaderEpoch ?? -1) >= 0 ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER,
          `Received fetch request from broker ${strangerReplicaId} for partition ${slot.topic?.name ?? ''}-${slot.request.partition} which is not a replica`,
        );
      }
      if (follower !== undefined) {
        const diverging = divergingEpoch(log, slot.request);
        if (diverging !== undefined) {
          // Answered at once (DelayedFetch completes on a diverging epoch): the follower must truncate first.
          slot.result = { ...dataResult(slot.request.partition, log, slot.request.fetchOffset, EMPTY, false), divergingEpoch: diverging };
          readError = true;
          continue;
        }
        // The fetch offset is checked against the log before it counts as the follower's log end offset (Kafka
        // updates the follower's state only after a successful read).
        if (slot.request.fetchOffset > log.logEndOffset) {
          throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `Received request for offset ${slot.request.fetchOffset}, but the log ends at ${log.logEndOffset}`);
        }
        leader!.checkReplica(follower.replicaId, (slot.request.currentLeaderEpoch ?? -1) >= 0);
        slot.leader = leader;
      }
      toRead.push(slot);
    } catch (err) {
      fail(slot, err);
    }
  }

  let next = 0;
  while (next < toRead.length) {
    const wave: Array<{ slot: Slot; maxBytes: number; read: Promise<Buffer | null> }> = [];
    let planned = 0;
    while (next < toRead.length) {
      const slot = toRead[next]!;
      const wanted = Math.max(0, Math.min(slot.request.partitionMaxBytes, bytesLeft));
      if (wave.length > 0 && planned + wanted > bytesLeft) break;
      planned += wanted;
      next++;
      // A zero budget still reads when nothing has been gathered yet: KIP-74's "at least one batch".
      // read_committed reads stop at the last stable offset (Kafka's FetchIsolation.TXN_COMMITTED).
      const maxOffset = readCommitted ? slot.log!.lastStableOffset : undefined;
      // A caught-up partition (fetch offset at the high watermark of an open log) has nothing to read: PartitionLog.read
      // would answer null after its checks, which this offset passes. Skipping it keeps the reads of a session's idle
      // partitions (and of an idle sessionless consumer's) to a comparison each.
      const log = slot.log!;
      // A follower reads what is written (up to the log end offset), a consumer what is committed (the HW).
      const readEnd = follower !== undefined ? log.logEndOffset : log.highWatermark;
      const caughtUp = slot.request.fetchOffset === readEnd && !log.isClosed;
      const read =
        (wanted > 0 || totalBytes === 0) && !caughtUp
          ? follower !== undefined
            ? log.readForReplica(slot.request.fetchOffset, wanted)
            : log.read(slot.request.fetchOffset, wanted, true, maxOffset)
          : NOTHING_READ;
      wave.push({ slot, maxBytes: wanted, read });
    }
    const outcomes = await Promise.allSettled(wave.map((w) => w.read));
    outcomes.forEach((outcome, i) => {
      const { slot, maxBytes } = wave[i]!;
      if (outcome.status === 'rejected') return fail(slot, outcome.reason);
      if (follower !== undefined && slot.leader !== undefined) {
        try {
          slot.leader.recordFollowerFetch(follower.replicaId, follower.brokerEpoch, slot.request.fetchOffset, slot.request.logStartOffset ?? -1n);
        } catch (err) {
          return fail(slot, err);
        }
      }
      let records = outcome.value ?? EMPTY;
      if (totalBytes > 0 && records.length > Math.min(maxBytes, bytesLeft)) {
        records = records.subarray(0, wholeBatchesWithin(records, Math.min(maxBytes, bytesLeft)));
      }
      totalBytes += records.length;
      bytesLeft -= records.length;
      slot.result =
        records.length > 0 && ctx.apiVersion < FIRST_MAGIC_2_VERSION && !downConversionEnabled(ctx, slot.topic)
          ? errorResult(slot.request.partition, ErrorCode.UNSUPPORTED_VERSION, true)
          : dataResult(slot.request.partition, slot.log!, slot.request.fetchOffset, records, readCommitted);
    });
  }
  return { totalBytes, readError };
}

/**
 * IncrementalFetchContext.updateAndGenerateResponseData: the session id and only the partitions that must be sent
 * (fetch-session-cache.ts' table), or INVALID_FETCH_SESSION_EPOCH when another request moved the epoch meanwhile.
 */
function incrementalResponse(ctx: RequestContext, res: FetchResponse, session: FetchSession, requestEpoch: number, topics: TopicSlots[]): FetchResponse {
  const sessions = ctx.broker.fetchSessions;
  res.sessionId = session.id;
  if (!sessions.epochStillCurrent(session, requestEpoch)) {
    ctx.log.info({ sessionId: session.id, requestEpoch, epoch: session.epoch }, 'incremental fetch session epoch moved during the request: possible duplicate request');
    res.errorCode = ErrorCode.INVALID_FETCH_SESSION_EPOCH;
    return res;
  }
  const responses: FetchResponse['responses'] = [];
  for (const { request: t, slots } of topics) {
    let partitions: PartitionData[] | undefined;
    for (const slot of slots) {
      if (!sessions.mustRespond(session, slot.request as CachedPartition, slot.result!)) continue;
      (partitions ??= []).push(slot.result!);
    }
    if (partitions !== undefined) responses.push({ topic: t.topic ?? '', topicId: t.topicId ?? ZERO_UUID, partitions } as ResponseTopic);
  }
  res.responses = responses;
  return res;
}

/**
 * A follower's long poll: waitForAppend's endings (closed, shutdown, timeout), and 'append' as soon as any of the
 * logs writes something (onLogEndOffsetAdvanced), since a follower reads past the high watermark.
 */
async function waitForWrite(logs: PartitionLog[], timeoutMs: number, signal: AbortSignal): Promise<WakeReason> {
  const wait = waitForAppend(logs, timeoutMs, signal);
  const unsubscribes = logs.map((log) => log.onLogEndOffsetAdvanced(() => wait.cancel()));
  try {
    const reason = await wait.promise;
    return reason === 'cancelled' ? 'append' : reason;
  } finally {
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 18,
  async handle(ctx, request) {
    const res = makeFetchResponse();
    const context = fetchContext(ctx, request);
    if (context.kind === 'error') {
      res.errorCode = context.errorCode;
      return res;
    }
    const { topics, toRead, readFailed } = context.kind === 'incremental' ? resolveSession(ctx, context.session) : { ...resolve(ctx, request), readFailed: false };
    const maxBytes = responseMaxBytes(ctx, request);
    const minBytes = Math.min(request.minBytes, maxBytes);
    const deadline = Date.now() + Math.max(0, request.maxWaitMs);

    // The logs are looked up before readAll's first await, so the byte count taken here is from before the read:
    // bytes appended while it runs count as arrived (at worst one extra read, never a missed one).
    const firstPass = readAll(ctx, request, toRead);
    const logs = toRead.flatMap((slot) => (slot.log === null ? [] : [slot.log]));
    // A follower waits for writes (its reads go up to the log end offset), a consumer for the HW to move. For a
    // follower the measure of what arrived is offsets written, not bytes: min_bytes is 1 for followers (Kafka's
    // replica.fetch.min.bytes default), so "something was written" is what counts.
    const fromFollower = followerOf(ctx, request) !== undefined;
    const visibleBytes = fromFollower
      ? () => logs.reduce((sum, log) => sum + Number(log.logEndOffset), 0)
      : () => logs.reduce((sum, log) => sum + log.visibleBytesAppended, 0);
    let visibleAtPass = visibleBytes();
    let pass = await firstPass;
    while (!pass.readError && !readFailed && pass.totalBytes < minBytes && logs.length > 0) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      const wake = await (fromFollower ? waitForWrite(logs, remainingMs, ctx.broker.shutdownSignal) : waitForAppend(logs, remainingMs, ctx.broker.shutdownSignal).promise);
      // A closed log, or leadership that moved ('moved', cluster), ends the wait whatever the read finds (Kafka
      // force-completes the delayed fetch).
      const ending = wake === 'closed' || wake === 'moved';
      if (!ending) {
        // Read again only once enough has arrived for min_bytes, or when the wait is over and something arrived.
        const arrived = visibleBytes() - visibleAtPass;
        const waitOver = wake !== 'append' || Date.now() >= deadline;
        if (arrived === 0 && waitOver) break;
        if (pass.totalBytes + arrived < minBytes && !waitOver) continue;
      }
      visibleAtPass = visibleBytes();
      pass = await readAll(ctx, request, toRead);
      if (ending) break;
    }
    if (ctx.apiVersion < FIRST_MAGIC_2_VERSION) await downConvertFetchedSlots(ctx, toRead, maxBytes);
    ctx.broker.metrics?.fetched(toRead);
    if (context.kind === 'incremental') return incrementalResponse(ctx, res, context.session, context.requestEpoch, topics);
    if (context.kind === 'full') {
      const partitionCount = topics.reduce((n, t) => n + t.slots.length, 0);
      res.sessionId = ctx.broker.fetchSessions.maybeCreateSession(context.privileged, context.usesTopicIds, partitionCount, () =>
        sessionPartitions(topics, context.usesTopicIds),
      );
    }
    res.responses = topics.map(({ request: t, topic, slots }) => ({
      topic: t.topic ?? topic?.name ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: slots.map((slot) => slot.result!),
    })) as FetchResponse['responses'];
    return res;
  },
  // FetchRequest.getErrorResponse: the top-level code and the request's session id; from v13 no partitions, before
  // that every requested partition with the code.
  errorResponse(request, errorCode, apiVersion) {
    const res = makeFetchResponse();
    res.errorCode = errorCode;
    res.sessionId = request.sessionId ?? 0;
    if (apiVersion >= 13) return res;
    res.responses = request.topics.map((t) => ({
      topic: t.topic ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => errorResult(p.partition, errorCode, true)),
    })) as FetchResponse['responses'];
    return res;
  },
};
