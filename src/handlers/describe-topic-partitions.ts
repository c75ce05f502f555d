// DescribeTopicPartitions (key 75), version 0 (KIP-966).
// Kafka 3.9's broker path (DescribeTopicPartitionsRequestHandler); the paging rules are in
// metadata/topic-partition-paging.ts:
// - Topics: the named ones (deduplicated), or every topic for an empty list, sorted by name, from the cursor on;
//   at most ResponsePartitionLimit partitions (clamped to [1, 2000], Kafka's max.request.partition.size.limit
//   default), with NextCursor naming the first topic partition left out (null when everything fit).
// - A named topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION for a name Kafka
//   refuses; with no names, only existing topics are listed.
// - A cursor whose topic is not among the named ones, or with a negative partition: INVALID_REQUEST for every named
//   topic (DescribeTopicPartitionsRequest.getErrorResponse), nothing else.
// - Each partition: leader = this broker, leader epoch 0, replicas = ISR = [this broker], empty ELR and last known
//   ELR (KIP-966; no ELR without replication), offline replicas = [this broker] while its log is offline.
// - isInternal is Kafka's Topic.isInternal by name; TopicAuthorizedOperations is every TOPIC operation (3576, no
//   authorizer) on every entry, error entries included, as Kafka sets it.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeTopicPartitionsResponse,
  type DescribeTopicPartitionsRequest,
  type DescribeTopicPartitionsResponse,
} from '../protocol/generated/describe-topic-partitions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import { pageTopicPartitions, type TopicPartitionsEntry } from '../metadata/topic-partition-paging.js';
import { ALL_TOPIC_OPERATIONS, NO_AUTHORIZED_OPERATIONS } from './acl-operations.js';
import { LEADER_EPOCH } from './partition-lookup.js';
import type { ApiHandler, BrokerServices } from './types.js';

type ResponseTopic = DescribeTopicPartitionsResponse['topics'][number];
type ResponsePartition = ResponseTopic['partitions'][number];

const ZERO_UUID = Buffer.alloc(16);

function describeEntry(entry: TopicPartitionsEntry, broker: BrokerServices): ResponseTopic {
  if (entry.topic === undefined) {
    return {
      errorCode: entry.errorCode,
      name: entry.name,
      topicId: ZERO_UUID,
      isInternal: isInternalTopic(entry.name),
      partitions: [],
      topicAuthorizedOperations: ALL_TOPIC_OPERATIONS,
    };
  }
  const nodeId = broker.nodeId;
  const partitions: ResponsePartition[] = [];
  for (let p = entry.firstPartition; p < entry.endPartition; p++) {
    partitions.push({
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: nodeId,
      leaderEpoch: LEADER_EPOCH,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
      offlineReplicas: broker.logs.isOffline(entry.name, p) ? [nodeId] : [],
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: entry.name,
    topicId: entry.topic.topicId,
    isInternal: isInternalTopic(entry.name),
    partitions,
    topicAuthorizedOperations: ALL_TOPIC_OPERATIONS,
  };
}

function failAll(request: DescribeTopicPartitionsRequest, errorCode: number): DescribeTopicPartitionsResponse {
  const res = makeDescribeTopicPartitionsResponse();
  res.topics = request.topics.map((t) => ({
    errorCode,
    name: t.name,
    topicId: ZERO_UUID,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
  }));
  return res;
}

export const describeTopicPartitionsHandler: ApiHandler<DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse> = {
  apiKey: ApiKey.DescribeTopicPartitions,
  name: 'DescribeTopicPartitions',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    const names = request.topics.length === 0 ? null : request.topics.map((t) => t.name);
    let page;
    try {
      page = pageTopicPartitions(ctx.broker.topics, names, request.cursor, request.responsePartitionLimit);
    } catch (err) {
      if (err instanceof KafkaError) {
        ctx.log.debug({ reason: err.message }, 'DescribeTopicPartitions refused');
        return failAll(request, err.errorCode);
      }
      throw err;
    }
    const res = makeDescribeTopicPartitionsResponse();
    res.topics = page.topics.map((entry) => describeEntry(entry, ctx.broker));
    res.nextCursor = page.nextCursor;
    return res;
  },
  errorResponse(request, errorCode) {
    return failAll(request, errorCode);
  },
};
