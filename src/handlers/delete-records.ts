// DeleteRecords (key 21), versions 0–2 (v1 is v0; v2 is the first flexible version).
// Kafka 3.9's path (KafkaApis.handleDeleteRecordsRequest → ReplicaManager.deleteRecords → Partition
// .deleteRecordsOnLeader → UnifiedLog.maybeIncrementLogStartOffset), one answer per partition, checks in this order:
//
//   condition                                            error_code                    low_watermark
//   partition unknown to the metadata                    UNKNOWN_TOPIC_OR_PARTITION    -1
//   internal topic (__consumer_offsets, …)               INVALID_TOPIC_EXCEPTION       -1
//   log offline                                          KAFKA_STORAGE_ERROR           -1
//   cleanup.policy without `delete`                      POLICY_VIOLATION              -1
//   offset -1                                            (the high watermark is used)
//   offset < -1, or above the high watermark             OFFSET_OUT_OF_RANGE           -1
//   otherwise                                            NONE                          the new log start offset
//
// - The log start offset moves to the offset (never back; an offset at or below it changes nothing and answers
//   the current one) and the answer waits for log-start-offset-checkpoint (LogManager.deleteRecords), so an
//   acknowledged deletion survives a crash. Fetches below it get OFFSET_OUT_OF_RANGE and ListOffsets EARLIEST
//   returns it at once; the segments wholly below it are deleted by the next retention pass.
// - Cluster mode (Kafka's DelayedDeleteRecords): once the leader's log start moved, the answer waits until every
//   follower on a live broker reported a log start offset at or above it in its fetches (the low watermark,
//   LeaderPartition.lowWatermark), up to timeout_ms: then NONE with the low watermark, or REQUEST_TIMED_OUT with the
//   leader's new log start offset; NOT_LEADER_OR_FOLLOWER if leadership moves meanwhile. A single broker has no
//   followers, so it answers at once, as Kafka does.
// - A partition named twice gets one answer with the last offset, and a topic named twice one topic entry, as
//   Kafka keys the request by partition and groups the answers by topic.
// - ACLs (auth/authorizer.ts): each partition needs DELETE on its topic, otherwise TOPIC_AUTHORIZATION_FAILED (checked
//   before the topic is looked up).
// - Deliberate difference: answers come in request order (Kafka's come out of a hash map).
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteRecordsResponse, type DeleteRecordsRequest, type DeleteRecordsResponse } from '../protocol/generated/delete-records.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';
import { isKnownPartition, lookupLeaderLog, partitionErrorCode } from './partition-lookup.js';

type TopicResult = DeleteRecordsResponse['topics'][number];
type PartitionResult = TopicResult['partitions'][number];

const INVALID_LOW_WATERMARK = -1n;

function partitionResult(partitionIndex: number, errorCode: number, lowWatermark = INVALID_LOW_WATERMARK): PartitionResult {
  return { partitionIndex, lowWatermark, errorCode } as PartitionResult;
}

async function deletePartition(ctx: RequestContext, topicName: string, partitionIndex: number, offset: bigint, timeoutMs: number): Promise<PartitionResult> {
  if (!authorize(ctx, AclOperation.DELETE, ResourceType.TOPIC, topicName)) return partitionResult(partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const topic = ctx.broker.topics.get(topicName);
  if (!isKnownPartition(topic, partitionIndex)) return partitionResult(partitionIndex, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  if (isInternalTopic(topicName)) return partitionResult(partitionIndex, ErrorCode.INVALID_TOPIC_EXCEPTION);
  try {
    // Cluster mode: the leader only (followers take its log start offset from their fetches).
    const { log, leader } = lookupLeaderLog(ctx.broker, topic, partitionIndex, undefined, 'only-minus-one', true);
    const logStartOffset = await ctx.broker.logs.deleteRecords(log, offset);
    if (leader === undefined) return partitionResult(partitionIndex, ErrorCode.NONE, logStartOffset);
    try {
      return partitionResult(partitionIndex, ErrorCode.NONE, await leader.waitForLowWatermark(logStartOffset, timeoutMs));
    } catch (err) {
      if (err instanceof KafkaError && err.errorCode === ErrorCode.REQUEST_TIMED_OUT) return partitionResult(partitionIndex, ErrorCode.REQUEST_TIMED_OUT, logStartOffset);
      throw err;
    }
  } catch (err) {
    if (err instanceof KafkaError) ctx.log.debug({ topic: topicName, partition: partitionIndex, offset: offset.toString(), err: err.message }, 'DeleteRecords refused');
    return partitionResult(partitionIndex, partitionErrorCode(err, ctx.log, { api: 'DeleteRecords', topic: topicName, partition: partitionIndex }));
  }
}

/** The request's partitions grouped by topic, in order of first appearance, the last offset of a repeated partition winning. */
function collectPartitions(request: DeleteRecordsRequest): Map<string, Map<number, bigint>> {
  const byTopic = new Map<string, Map<number, bigint>>();
  for (const t of request.topics) {
    let partitions = byTopic.get(t.name);
    if (partitions === undefined) byTopic.set(t.name, (partitions = new Map()));
    for (const p of t.partitions) partitions.set(p.partitionIndex, p.offset);
  }
  return byTopic;
}

export const deleteRecordsHandler: ApiHandler<DeleteRecordsRequest, DeleteRecordsResponse> = {
  apiKey: ApiKey.DeleteRecords,
  name: 'DeleteRecords',
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    const res = makeDeleteRecordsResponse();
    // All partitions at once: every log start offset moves before the first checkpoint write runs, so one write
    // covers them all (later ones find nothing changed).
    res.topics = await Promise.all(
      [...collectPartitions(request)].map(async ([name, partitions]) => ({
        name,
        partitions: await Promise.all([...partitions].map(([partitionIndex, offset]) => deletePartition(ctx, name, partitionIndex, offset, request.timeoutMs))),
      })),
    ) as TopicResult[];
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDeleteRecordsResponse();
    res.topics = [...collectPartitions(request)].map(([name, partitions]) => ({
      name,
      partitions: [...partitions.keys()].map((partitionIndex) => partitionResult(partitionIndex, errorCode)),
    })) as DeleteRecordsResponse['topics'];
    return res;
  },
};
