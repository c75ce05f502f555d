// ConsumerGroupHeartbeat (key 68), versions 0–1 (KIP-848: the consumer group protocol; the broker computes the
// assignment and members reconcile towards it without stopping the group).
// - One request is a join (member epoch 0), a heartbeat (the member's current epoch, with the fields that changed
//   since the last one), or a leave (-1; a static member's temporary leave -2). The answer carries the member id,
//   its epoch, the heartbeat interval (group.consumer.heartbeat.interval.ms) and, when it changed or the request
//   was a full one, the member's assignment as topic ids and partitions. Rules and errors:
//   src/group/consumer-group/manager.ts; classic ↔ consumer conversion: src/group/coordinator.ts.
// - The answer is sent once the group's records are written to `__consumer_offsets`.
// - v1 (Kafka 4.0, KIP-848 SubscribedTopicRegex): a regular-expression subscription, matched against the whole
//   topic name with RE2 syntax and semantics (re2js, the port of the RE2/J engine Kafka uses; loaded on the first
//   regex: src/group/consumer-group/topic-regex.ts); an expression RE2 refuses answers INVALID_REGULAR_EXPRESSION.
// - Versions: v0 is Kafka 3.9's; v1 comes from Kafka's source tree after 3.9 (scripts/kafka-protocol/README.md).
//   librdkafka 2.12+ only starts its consumer protocol when v1 is advertised.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeConsumerGroupHeartbeatResponse,
  type ConsumerGroupHeartbeatRequest,
  type ConsumerGroupHeartbeatResponse,
} from '../protocol/generated/consumer-group-heartbeat.js';
import { assignmentToList } from '../group/consumer-group/assignment.js';
import type { HeartbeatResult } from '../group/consumer-group/manager.js';
import { clientHost } from './group-common.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function toResponse(result: HeartbeatResult): ConsumerGroupHeartbeatResponse {
  const res = makeConsumerGroupHeartbeatResponse();
  res.errorCode = result.errorCode;
  res.errorMessage = result.errorMessage;
  res.memberId = result.memberId;
  res.memberEpoch = result.memberEpoch;
  res.heartbeatIntervalMs = result.heartbeatIntervalMs;
  res.assignment = result.assignment === null ? null : { topicPartitions: assignmentToList(result.assignment) };
  return res;
}

export const consumerGroupHeartbeatHandler: ApiHandler<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse> = {
  apiKey: ApiKey.ConsumerGroupHeartbeat,
  name: 'ConsumerGroupHeartbeat',
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const result = await ctx.broker.groups.consumerGroupHeartbeat({
      groupId: request.groupId,
      memberId: request.memberId,
      memberEpoch: request.memberEpoch,
      instanceId: request.instanceId,
      rackId: request.rackId,
      rebalanceTimeoutMs: request.rebalanceTimeoutMs,
      subscribedTopicNames: request.subscribedTopicNames,
      subscribedTopicRegex: ctx.apiVersion >= 1 ? (request.subscribedTopicRegex ?? null) : null,
      serverAssignor: request.serverAssignor,
      topicPartitions: request.topicPartitions,
      clientId: ctx.clientId ?? '',
      clientHost: clientHost(ctx),
    });
    return toResponse(result);
  },
  errorResponse(_request, errorCode) {
    const res = makeConsumerGroupHeartbeatResponse();
    res.errorCode = errorCode;
    return res;
  },
};
