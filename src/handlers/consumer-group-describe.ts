// ConsumerGroupDescribe (key 69), versions 0–1 (KIP-848; v1 adds each member's type, KIP-1099).
// - Per group id, in request order: the consumer-protocol group's state (Empty, Assigning, Reconciling, Stable),
//   group epoch, target assignment epoch, assignor (the one most members ask for, else the first of
//   group.consumer.assignors) and each member: ids, epoch, client, subscription, current assignment and target
//   assignment, with topic names (a topic deleted meanwhile is left out, as Kafka does).
// - A group id that is not a consumer group answers GROUP_ID_NOT_FOUND, as Kafka's consumerGroupDescribe: "Group
//   <id> not found." when unknown, "Group <id> is not a consumer group." for a classic group; an empty group id is
//   looked up like any other (not found).
// - v1: MemberType 0 for a classic-protocol member of the group (JoinGroup/SyncGroup), 1 for a consumer-protocol one.
// - Authorized operations when asked: without an authorizer every group operation is allowed (READ, DELETE,
//   DESCRIBE), else -2147483648.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeConsumerGroupDescribeResponse,
  type ConsumerGroupDescribeRequest,
  type ConsumerGroupDescribeResponse,
  type ConsumerGroupDescribeResponseTopicPartitions,
} from '../protocol/generated/consumer-group-describe.js';
import { assignmentToList, EMPTY_ASSIGNMENT, type Assignment } from '../group/consumer-group/assignment.js';
import type { DescribedConsumerGroup } from '../group/consumer-group/manager.js';
import { usesClassicProtocol } from '../group/consumer-group/member.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { ALL_GROUP_OPERATIONS, NO_AUTHORIZED_OPERATIONS } from './group-common.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize, authorizedOperations } from '../auth/index.js';
import type { ApiHandler } from './types.js';

type DescribedGroup = ConsumerGroupDescribeResponse['groups'][number];

/** ConsumerGroupDescribe v1's MemberType (KIP-1099); the codec leaves it out below v1. */
const CLASSIC_MEMBER_TYPE = 0;
const CONSUMER_MEMBER_TYPE = 1;

function topicPartitions(a: Assignment, topics: TopicRegistry): ConsumerGroupDescribeResponseTopicPartitions[] {
  const out: ConsumerGroupDescribeResponseTopicPartitions[] = [];
  for (const t of assignmentToList(a)) {
    const topic = topics.getById(t.topicId);
    if (topic !== undefined) out.push({ topicId: t.topicId, topicName: topic.name, partitions: t.partitions });
  }
  return out;
}

function describedGroup(d: DescribedConsumerGroup, includeOperations: boolean, topics: TopicRegistry): DescribedGroup {
  const g = d.group;
  return {
    errorCode: d.errorCode,
    errorMessage: d.errorMessage,
    groupId: d.groupId,
    groupState: g?.state ?? '',
    groupEpoch: g?.groupEpoch ?? 0,
    assignmentEpoch: g?.assignmentEpoch ?? 0,
    assignorName: d.assignorName,
    members:
      g === undefined
        ? []
        : [...g.members.values()].map((m) => ({
            memberId: m.memberId,
            instanceId: m.instanceId,
            rackId: m.rackId,
            memberEpoch: m.memberEpoch,
            clientId: m.clientId,
            clientHost: m.clientHost,
            subscribedTopicNames: [...m.subscribedTopicNames],
            subscribedTopicRegex: m.subscribedTopicRegex,
            assignment: { topicPartitions: topicPartitions(m.assignedPartitions, topics) },
            targetAssignment: { topicPartitions: topicPartitions(g.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT, topics) },
            memberType: usesClassicProtocol(m) ? CLASSIC_MEMBER_TYPE : CONSUMER_MEMBER_TYPE,
          })),
    authorizedOperations: g !== undefined && includeOperations ? ALL_GROUP_OPERATIONS : NO_AUTHORIZED_OPERATIONS,
  };
}

export const consumerGroupDescribeHandler: ApiHandler<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse> = {
  apiKey: ApiKey.ConsumerGroupDescribe,
  name: 'ConsumerGroupDescribe',
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, request) {
    const res = makeConsumerGroupDescribeResponse();
    res.groups = request.groupIds.map((groupId) => {
      // ACLs (auth/authorizer.ts): DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED; operations when asked.
      if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return { ...this.errorResponse({ ...request, groupIds: [groupId] }, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion).groups[0]! };
      const described = describedGroup(ctx.broker.groups.describeConsumerGroup(groupId), request.includeAuthorizedOperations, ctx.broker.topics);
      if (request.includeAuthorizedOperations && described.errorCode === ErrorCode.NONE) described.authorizedOperations = authorizedOperations(ctx, ResourceType.GROUP, groupId);
      return described;
    });
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeConsumerGroupDescribeResponse();
    res.groups = request.groupIds.map((groupId) => ({
      errorCode,
      errorMessage: null,
      groupId,
      groupState: '',
      groupEpoch: 0,
      assignmentEpoch: 0,
      assignorName: '',
      members: [],
      authorizedOperations: NO_AUTHORIZED_OPERATIONS,
    }));
    return res;
  },
};
