// OffsetCommit (key 8), versions 0–10.
// - Commits are durable: the answer is sent after the commit record is fsynced (src/group/offsets-topic.ts).
// - Per partition: a topic or partition this broker does not have gets UNKNOWN_TOPIC_OR_PARTITION (checked first,
//   as Kafka's KafkaApis does); metadata longer than offset.metadata.max.bytes OFFSET_METADATA_TOO_LARGE; null
//   metadata is stored as "".
// - Group checks (src/group/group.ts validateOffsetCommit): generation -1 with an empty member id is a simple
//   consumer or admin commit, accepted while the group has no members (and creating the group if needed); a
//   commit from an unknown member UNKNOWN_MEMBER_ID, from another generation ILLEGAL_GENERATION (also for a group
//   that does not exist, below v9), during CompletingRebalance REBALANCE_IN_PROGRESS, with a group instance id
//   owned by another member FENCED_INSTANCE_ID.
// - v0: no generation or member id (a simple commit). Deliberate difference: Kafka 3.9 in KRaft mode answers v0
//   UNSUPPORTED_VERSION ("Version 0 offset commit requests", KafkaApis.commitOffsetsToZookeeper needs ZooKeeper),
//   and ZooKeeper-era brokers kept v0 offsets in ZooKeeper, apart from the v1+ ones and without group checks;
//   Eddy stores them with the others, so 0.8-era clients keep working and see one set of offsets. v1: per-partition commit timestamp (-1: now), stored as
//   sent; as in Kafka 3.9 it sets no expiry of its own but is the base the retention rules measure from where they
//   use the commit time. v2–v4: retention_time_ms, the per-request retention (-1: the broker's rule, KIP-211);
//   the offset expires at now + retention computed in 64-bit arithmetic, which wraps as Java's long does
//   (GroupCoordinatorAdapter.commitOffsets), so Long.MAX is accepted and expires at the next check. v5 drops it.
//   v6 (KIP-320): leader epoch, returned by OffsetFetch v5+.
//   v7 (KIP-345): group instance id. v8 is the first flexible version.
// - v9 (KIP-848) changes nothing for classic groups, except that a commit with a generation to a group that does
//   not exist gets GROUP_ID_NOT_FOUND instead of ILLEGAL_GENERATION, as Kafka 3.9's coordinator answers.
// - v10 (KIP-848, KAFKA-19186; Kafka 4.2) names topics by id instead of name: each id is resolved through the topic
//   registry first, and an id it does not know (or the zero id) answers UNKNOWN_TOPIC_ID for every partition of
//   its entry, before the ACL check, as KafkaApis.handleOffsetCommitRequest does; the others take the path above by
//   their name (offsets are stored by name, as Kafka stores them). The answer names topics by the request's ids.
// - Consumer-protocol groups (KIP-848): generation_id_or_member_epoch is the member epoch. Epoch < 0 with no members
//   is an admin commit; otherwise an unknown member UNKNOWN_MEMBER_ID, a consumer-protocol member below v9
//   UNSUPPORTED_VERSION, an epoch other than the member's current one STALE_MEMBER_EPOCH (ILLEGAL_GENERATION for
//   a classic member), as Kafka's ConsumerGroup.validateOffsetCommit.
import { ApiKey } from '../protocol/generated/index.js';
import { makeOffsetCommitResponse, type OffsetCommitRequest, type OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { explicitExpireTimestampMs } from '../group/coordinator.js';
import { NO_EXPIRE_TIMESTAMP } from '../group/group-records.js';
import { commitEachPartition } from './group-common.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

/** The first version that names topics by id (KIP-848). */
const FIRST_TOPIC_ID_VERSION = 10;
const ZERO_UUID = Buffer.alloc(16);

function uniformResponse(request: OffsetCommitRequest, errorCode: number): OffsetCommitResponse {
  const res = makeOffsetCommitResponse();
  res.topics = request.topics.map((t) => ({
    name: t.name ?? '',
    topicId: t.topicId ?? ZERO_UUID,
    partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode })),
  }));
  return res;
}

export const offsetCommitHandler: ApiHandler<OffsetCommitRequest, OffsetCommitResponse> = {
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 10,
  async handle(ctx, request) {
    const v = ctx.apiVersion;
    // ACLs (auth/authorizer.ts): READ on the group (every partition GROUP_AUTHORIZATION_FAILED); READ on each topic
    // is checked per topic in commitEachPartition (TOPIC_AUTHORIZATION_FAILED).
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, v);
    const groups = ctx.broker.groups;
    const now = groups.now();
    const generationId = v >= 1 ? (request.generationIdOrMemberEpoch ?? -1) : -1;
    const memberId = v >= 1 ? (request.memberId ?? '') : '';
    const groupInstanceId = v >= 7 ? (request.groupInstanceId ?? null) : null;
    const retentionTimeMs = v >= 2 && v <= 4 ? (request.retentionTimeMs ?? -1n) : -1n;
    // v10: the name of each topic entry, undefined for an id the registry does not know.
    const names = request.topics.map((t) => (v >= FIRST_TOPIC_ID_VERSION ? ctx.broker.topics.getById(t.topicId ?? ZERO_UUID)?.name : (t.name ?? '')));
    const known = request.topics.flatMap((t, i) => (names[i] === undefined ? [] : [{ name: names[i]!, partitions: t.partitions }]));

    const knownCodes = await commitEachPartition(
      ctx,
      known,
      (topic, p) => {
        const customTimestamp = v === 1 && p.commitTimestamp !== undefined && p.commitTimestamp !== -1n ? Number(p.commitTimestamp) : undefined;
        return {
          topic,
          partition: p.partitionIndex,
          offset: p.committedOffset,
          leaderEpoch: v >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
          metadata: p.committedMetadata,
          commitTimestampMs: customTimestamp ?? now,
          expireTimestampMs: retentionTimeMs === -1n ? NO_EXPIRE_TIMESTAMP : explicitExpireTimestampMs(now, retentionTimeMs),
        };
      },
      async (entries) =>
        // v9+ (KIP-848): a generation for a group that does not exist is GROUP_ID_NOT_FOUND.
        v >= 9 && generationId >= 0 && groups.group(request.groupId) === undefined && !groups.isLoading
          ? entries.map(() => ErrorCode.GROUP_ID_NOT_FOUND)
          : groups.commitOffsets(request.groupId, memberId, groupInstanceId, generationId, entries, v),
    );
    let k = 0;
    const codes = request.topics.map((t, i) => (names[i] === undefined ? t.partitions.map(() => ErrorCode.UNKNOWN_TOPIC_ID) : knownCodes[k++]!));
    const res = makeOffsetCommitResponse();
    res.topics = request.topics.map((t, ti) => ({
      name: t.name ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: codes[ti]![pi]! })),
    }));
    return res;
  },
  errorResponse(request, errorCode) {
    return uniformResponse(request, errorCode);
  },
};
