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
// - ACLs (auth/authorizer.ts): only topics the principal may DESCRIBE; with no names the others are left out, named
//   ones answer TOPIC_AUTHORIZATION_FAILED (zero id, isInternal false) after the page, existence not disclosed.
// - isInternal is Kafka's Topic.isInternal by name; TopicAuthorizedOperations is the TOPIC operations the principal
//   may do (every one, 3576, without an authorizer) on every paged entry, error entries included, as Kafka sets it.
// - Deliberate difference: with an authorizer, a cursor naming a topic the principal may not describe answers
//   INVALID_REQUEST as if it had not been named (Kafka checks the cursor before authorizing).
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
import { reportedPartition } from './cluster-view.js';
import { AclOperation, ResourceType, authorize, authorizedOperations } from '../auth/index.js';
import { ALL_TOPIC_OPERATIONS, NO_AUTHORIZED_OPERATIONS } from './acl-operations.js';
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
  const partitions: ResponsePartition[] = [];
  for (let p = entry.firstPartition; p < entry.endPartition; p++) {
    const reported = reportedPartition(broker, entry.topic, p);
    partitions.push({
      errorCode: reported.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE,
      partitionIndex: p,
      ...reported,
      eligibleLeaderReplicas: [],
      lastKnownElr: [],
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
    let names = request.topics.length === 0 ? null : request.topics.map((t) => t.name);
    const describable = (name: string) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
    let refused: string[] = [];
    if (ctx.broker.authorizer !== undefined) {
      if (names === null) names = ctx.broker.topics.list().map((t) => t.name).filter(describable);
      else {
        refused = [...new Set(names.filter((n) => !describable(n)))].sort();
        names = names.filter((n) => !refused.includes(n));
      }
    }
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
    res.topics = page.topics.map((entry) => ({ ...describeEntry(entry, ctx.broker), topicAuthorizedOperations: authorizedOperations(ctx, ResourceType.TOPIC, entry.name) }));
    for (const name of refused) {
      res.topics.push({ errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, topicId: ZERO_UUID, isInternal: false, partitions: [], topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS });
    }
    res.nextCursor = page.nextCursor;
    return res;
  },
  errorResponse(request, errorCode) {
    return failAll(request, errorCode);
  },
};
