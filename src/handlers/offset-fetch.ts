// OffsetFetch (key 9), versions 0–10.
// - Answers the committed offset, leader epoch (v5+) and metadata per partition; a partition without a committed
//   offset (or an unknown group or topic) answers offset -1, metadata "" and no error, as Kafka does.
// - v0 reads the offsets v0–9 commits store (deliberate difference: Kafka 3.9 in KRaft mode answers v0
//   UNSUPPORTED_VERSION, and ZooKeeper-era brokers read v0 offsets from ZooKeeper, apart from the v1+ ones).
// - v0–1: named partitions only; a group-level error (INVALID_GROUP_ID never: an empty group id is allowed,
//   COORDINATOR_LOAD_IN_PROGRESS, COORDINATOR_NOT_AVAILABLE) is put on every requested partition.
// - Only committed offsets are answered: a transactional offset (TxnOffsetCommit) stays invisible until its
//   transaction commits (src/group/pending-txn-offsets.ts).
// - v2+: topics null means every committed offset of the group; a group-level error is the top-level error code
//   with no topics. v6 is the first flexible version.
// - v7+ (KIP-447) require_stable: a partition with a pending transactional offset, or a commit still being
//   written, answers UNSTABLE_OFFSET_COMMIT (retriable) with offset -1 instead of its committed offset, per
//   partition, as Kafka's GroupMetadataManager.getOffsets does; the flag is per request, for every group at v8+.
//   Below v7 the field does not exist and the committed offset is answered.
// - v8+ (KIP-709): several groups per request, each with its own error code.
// - v9 (KIP-848): member id and epoch are for consumer-protocol groups; classic groups ignore them (as Kafka's
//   ClassicGroup.validateOffsetFetch does). For a consumer group, a null member id with epoch < 0 is an admin
//   fetch; otherwise an unknown member answers UNKNOWN_MEMBER_ID and an epoch other than the member's
//   STALE_MEMBER_EPOCH, as the group's error code (ConsumerGroup.validateOffsetFetch).
// - v10 (KIP-848, KAFKA-19186; Kafka 4.2) names a group's topics by id, as KafkaApis.fetchOffsetsForGroup and
//   fetchAllOffsetsForGroup do:
//
//     request topics   topic                          answer
//     named by id      id known to the registry       its offsets (by the topic's name), under the request's id
//                      id unknown (or zero)           UNKNOWN_TOPIC_ID, offset -1, on each partition asked, with
//                                                     the other error entries (in request order) after the answers
//     null (all)       committed topic that exists    its offsets under the topic's current id
//                      committed topic that does not  left out (an answer without a name needs an id)
//
//   A group-level error still answers the group's error code with no topics.
import { ApiKey } from '../protocol/generated/index.js';
import { makeOffsetFetchResponse, type OffsetFetchRequest, type OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { FetchOffsetsResult } from '../group/coordinator.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';

type Topics = Array<{ name: string; partitionIndexes: number[] }> | null;
/** A requested topic; v10 also carries its id, and name null when the id is unknown. */
type RequestedTopic = { name: string | null; topicId?: Buffer; partitionIndexes: number[] };
/** An answered topic; v10 answers it under `topicId`. */
type AnsweredTopic = FetchOffsetsResult['topics'][number] & { topicId?: Buffer };
type Answer = { errorCode: number; topics: AnsweredTopic[] };

/** The first version that names topics by id (KIP-848). */
const FIRST_TOPIC_ID_VERSION = 10;
const ZERO_UUID = Buffer.alloc(16);

/**
 * ACLs (auth/authorizer.ts; KafkaApis.handleOffsetFetchRequestFromCoordinator): DESCRIBE on the group, else the
 * group answers GROUP_AUTHORIZATION_FAILED; then DESCRIBE on each topic: named topics not allowed answer
 * TOPIC_AUTHORIZATION_FAILED (offset -1) after the others, and with all topics requested they are left out.
 * v10: a topic whose id is unknown (name null) answers UNKNOWN_TOPIC_ID the same way, checked before the ACL.
 */
function fetchAuthorized(ctx: RequestContext, groupId: string, topics: RequestedTopic[] | null, requireStable: boolean, member?: { memberId: string | null; memberEpoch: number }): Answer {
  if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return { errorCode: ErrorCode.GROUP_AUTHORIZATION_FAILED, topics: [] };
  const describable = (name: string) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  if (topics === null) {
    const result = ctx.broker.groups.fetchOffsets(groupId, null, requireStable, member);
    return result.errorCode !== ErrorCode.NONE || ctx.broker.authorizer === undefined ? result : { ...result, topics: result.topics.filter((t) => describable(t.name)) };
  }
  const codes = topics.map((t) => (t.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : describable(t.name) ? ErrorCode.NONE : ErrorCode.TOPIC_AUTHORIZATION_FAILED));
  const asked = topics.filter((_, i) => codes[i] === ErrorCode.NONE);
  const result: Answer = ctx.broker.groups.fetchOffsets(groupId, asked as Topics, requireStable, member);
  if (result.errorCode !== ErrorCode.NONE) return result;
  // The answers keep the request's order (coordinator.fetchOffsets answers each asked topic in order).
  asked.forEach((t, i) => {
    if (t.topicId !== undefined && result.topics[i] !== undefined) result.topics[i] = { ...result.topics[i]!, topicId: t.topicId };
  });
  if (asked.length === topics.length) return result;
  const failed = topics.flatMap((t, i) =>
    codes[i] === ErrorCode.NONE
      ? []
      : [{
          name: t.name ?? '',
          topicId: t.topicId,
          partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: codes[i]! })),
        }],
  );
  return { ...result, topics: [...result.topics, ...failed] };
}

/** v10: the request's topics with their names resolved from their ids (null for an unknown id). */
function resolveTopicIds(ctx: RequestContext, topics: NonNullable<OffsetFetchRequest['groups']>[number]['topics']): RequestedTopic[] | null {
  if (topics === null) return null;
  return topics.map((t) => ({ name: ctx.broker.topics.getById(t.topicId ?? ZERO_UUID)?.name ?? null, topicId: t.topicId ?? ZERO_UUID, partitionIndexes: t.partitionIndexes }));
}

/** v10 answers every topic under an id: the request's, else the topic's current one; a topic without one is left out. */
function withTopicIds(ctx: RequestContext, answer: Answer): Answer {
  const topics: AnsweredTopic[] = [];
  for (const t of answer.topics) {
    const topicId = t.topicId ?? ctx.broker.topics.get(t.name)?.topicId;
    if (topicId !== undefined) topics.push({ ...t, topicId });
  }
  return { ...answer, topics };
}

/** v0–7: the single group's answer. */
function singleGroupResponse(result: FetchOffsetsResult, requested: Topics, apiVersion: number): OffsetFetchResponse {
  const res = makeOffsetFetchResponse();
  res.groups = undefined;
  let topics = result.topics;
  if (result.errorCode !== ErrorCode.NONE) {
    // Below v2 there is no top-level error: every requested partition carries it.
    topics = apiVersion < 2 ? (requested ?? []).map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => ({ partitionIndex: p, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: result.errorCode })) })) : [];
  }
  res.errorCode = apiVersion >= 2 ? result.errorCode : undefined;
  res.topics = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({
      partitionIndex: p.partitionIndex,
      committedOffset: p.offset,
      committedLeaderEpoch: apiVersion >= 5 ? p.leaderEpoch : undefined,
      metadata: p.metadata,
      errorCode: p.errorCode,
    })),
  }));
  return res;
}

function groupsResponse(groups: Array<{ groupId: string; result: Answer }>): OffsetFetchResponse {
  const res = makeOffsetFetchResponse();
  res.topics = undefined;
  res.errorCode = undefined;
  res.groups = groups.map(({ groupId, result }) => ({
    groupId,
    errorCode: result.errorCode,
    topics: result.topics.map((t) => ({
      name: t.name,
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, committedOffset: p.offset, committedLeaderEpoch: p.leaderEpoch, metadata: p.metadata, errorCode: p.errorCode })),
    })),
  }));
  return res;
}

export const offsetFetchHandler: ApiHandler<OffsetFetchRequest, OffsetFetchResponse> = {
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 0,
  maxVersion: 10,
  handle(ctx, request) {
    const requireStable = ctx.apiVersion >= 7 && request.requireStable === true;
    if (ctx.apiVersion >= 8) {
      const v9 = ctx.apiVersion >= 9;
      const useIds = ctx.apiVersion >= FIRST_TOPIC_ID_VERSION;
      return groupsResponse(
        (request.groups ?? []).map((g) => {
          const topics = useIds ? resolveTopicIds(ctx, g.topics) : (g.topics as Topics);
          const result = fetchAuthorized(ctx, g.groupId, topics, requireStable, v9 ? { memberId: g.memberId ?? null, memberEpoch: g.memberEpoch ?? -1 } : undefined);
          return { groupId: g.groupId, result: useIds ? withTopicIds(ctx, result) : result };
        }),
      );
    }
    const topics = request.topics ?? null;
    return singleGroupResponse(fetchAuthorized(ctx, request.groupId ?? '', topics, requireStable), topics, ctx.apiVersion);
  },
  errorResponse(request, errorCode, apiVersion) {
    const failed: FetchOffsetsResult = { errorCode, topics: [] };
    if (apiVersion >= 8) return groupsResponse((request.groups ?? []).map((g) => ({ groupId: g.groupId, result: failed })));
    return singleGroupResponse(failed, request.topics ?? null, apiVersion);
  },
};
