// DescribeProducers (key 61), version 0 (KIP-664; KafkaApis.handleDescribeProducersRequest, Partition.activeProducerState).
// - Per requested partition, the producers the partition's producer state holds (log/producer-state.ts
//   activeProducers: producers with written batches or markers, until producer.id.expiration.ms forgets them):
//   producerId, producerEpoch, lastSequence (-1 when only markers are left), lastTimestamp, coordinatorEpoch (-1
//   before any marker) and currentTxnStartOffset (the first offset of its open transaction, else -1).
// - Errors, topic first, then partition (each requested partition answers, duplicates included):
//   | condition                                           | code                          | errorMessage           |
//   |-----------------------------------------------------|-------------------------------|------------------------|
//   | illegal topic name (Topic.validate)                 | INVALID_TOPIC_EXCEPTION       | the reason             |
//   | topic unknown                                       | UNKNOWN_TOPIC_OR_PARTITION    | Kafka's message        |
//   | partition unknown, or its log not (yet) there       | UNKNOWN_TOPIC_OR_PARTITION    | null                   |
//   | partition offline                                   | KAFKA_STORAGE_ERROR           | null                   |
//   A partition of a known topic without a log is UNKNOWN_TOPIC_OR_PARTITION here (partition-lookup.ts) where
//   Kafka, which may host the partition on another broker, answers NOT_LEADER_OR_FOLLOWER.
// - ACLs (auth/authorizer.ts): READ on the topic, after the name check (TOPIC_AUTHORIZATION_FAILED for every partition).
// - throttleTimeMs is always 0 (no quotas).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeProducersResponse,
  type DescribeProducersRequest,
  type DescribeProducersResponse,
  type DescribeProducersResponsePartitionResponse,
  type DescribeProducersResponseProducerState,
} from '../protocol/generated/describe-producers.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { topicNameProblem } from '../metadata/topic-registry.js';
import type { PartitionLog } from '../log/partition-log.js';
import { lookupPartition, partitionErrorCode } from './partition-lookup.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';

/** Errors.UNKNOWN_TOPIC_OR_PARTITION.message(), which Kafka's ApiError carries for an unknown topic. */
const UNKNOWN_TOPIC_MESSAGE = 'This server does not host this topic-partition.';

function partitionError(partitionIndex: number, errorCode: number, errorMessage: string | null): DescribeProducersResponsePartitionResponse {
  return { partitionIndex, errorCode, errorMessage, activeProducers: [] };
}

function activeProducers(log: PartitionLog): DescribeProducersResponseProducerState[] {
  const states: DescribeProducersResponseProducerState[] = [];
  for (const [producerId, entry] of log.producers.activeProducers()) {
    states.push({
      producerId,
      producerEpoch: entry.producerEpoch,
      lastSequence: entry.lastSeq,
      lastTimestamp: entry.lastTimestamp,
      coordinatorEpoch: entry.coordinatorEpoch,
      currentTxnStartOffset: entry.currentTxnFirstOffset ?? -1n,
    });
  }
  return states;
}

function describePartition(ctx: RequestContext, topicName: string, partitionIndex: number): DescribeProducersResponsePartitionResponse {
  try {
    const log = lookupPartition(ctx.broker, ctx.broker.topics.get(topicName), partitionIndex);
    return { partitionIndex, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: activeProducers(log) };
  } catch (err) {
    const code = partitionErrorCode(err, ctx.log, { topic: topicName, partition: partitionIndex, api: 'DescribeProducers', clientId: ctx.clientId });
    return partitionError(partitionIndex, code, null);
  }
}

export const describeProducersHandler: ApiHandler<DescribeProducersRequest, DescribeProducersResponse> = {
  apiKey: ApiKey.DescribeProducers,
  name: 'DescribeProducers',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    const res = makeDescribeProducersResponse();
    res.topics = request.topics.map((t) => {
      const invalid = topicNameProblem(t.name);
      const topicError: [number, string] | undefined =
        invalid !== null ? [ErrorCode.INVALID_TOPIC_EXCEPTION, invalid]
        : !authorize(ctx, AclOperation.READ, ResourceType.TOPIC, t.name) ? [ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Topic authorization failed.']
        : ctx.broker.topics.get(t.name) === undefined ? [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, UNKNOWN_TOPIC_MESSAGE]
        : undefined;
      return {
        name: t.name,
        partitions: t.partitionIndexes.map((p) => (topicError !== undefined ? partitionError(p, topicError[0], topicError[1]) : describePartition(ctx, t.name, p))),
      };
    });
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDescribeProducersResponse();
    res.topics = request.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((p) => partitionError(p, errorCode, null)) }));
    return res;
  },
};
