// DescribeGroups (key 15), versions 0–6.
// - Per group, in request order: state (Kafka's names), protocol type, and the selected protocol plus each member's
//   metadata and assignment only when Stable (Kafka's GroupMetadata.summary); other states list members without
//   them. A group this broker does not know is answered as Kafka does: state "Dead", nothing else; before v6 with
//   no error, from v6 (KIP-1043) with GROUP_ID_NOT_FOUND and "Group <id> not found.".
// - An empty group id is allowed (Kafka allows it here so such groups can be inspected).
// - A consumer-protocol group (KIP-848) is answered as Kafka answers it: state "Dead", no members (its
//   classicGroup() lookup fails); from v6 GROUP_ID_NOT_FOUND "Group <id> is not a classic group.".
//   ConsumerGroupDescribe describes it.
// - ACLs (auth/authorizer.ts): a group the principal may not DESCRIBE answers GROUP_AUTHORIZATION_FAILED.
// - v3+ (KIP-430): authorized operations when asked, on groups answered without error: the group operations the
//   principal may do (READ, DELETE, DESCRIBE; all of them without an authorizer), else -2147483648. v4+ (KIP-345): member group instance ids. v5 is flexible.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDescribeGroupsResponse, type DescribeGroupsRequest, type DescribeGroupsResponse } from '../protocol/generated/describe-groups.js';
import type { GroupSummary } from '../group/group.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize, authorizedOperations } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import { ALL_GROUP_OPERATIONS, NO_AUTHORIZED_OPERATIONS } from './group-common.js';

type DescribedGroup = DescribeGroupsResponse['groups'][number];

function describedGroup(groupId: string, errorCode: number, summary: GroupSummary | undefined, includeOperations: boolean, apiVersion: number, errorMessage: string | null = null): DescribedGroup {
  return {
    errorCode,
    errorMessage: apiVersion >= 6 ? errorMessage : undefined,
    groupId,
    groupState: summary?.state ?? '',
    protocolType: summary?.protocolType ?? '',
    protocolData: summary?.protocolData ?? '',
    members: (summary?.members ?? []).map((m) => ({
      memberId: m.memberId,
      groupInstanceId: apiVersion >= 4 ? m.groupInstanceId : undefined,
      clientId: m.clientId,
      clientHost: m.clientHost,
      memberMetadata: m.metadata,
      memberAssignment: m.assignment,
    })),
    authorizedOperations: apiVersion >= 3 ? (includeOperations ? ALL_GROUP_OPERATIONS : NO_AUTHORIZED_OPERATIONS) : undefined,
  };
}

export const describeGroupsHandler: ApiHandler<DescribeGroupsRequest, DescribeGroupsResponse> = {
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 6,
  handle(ctx, request) {
    const include = ctx.apiVersion >= 3 && (request.includeAuthorizedOperations ?? false);
    const res = makeDescribeGroupsResponse();
    res.groups = request.groups.map((groupId) => {
      if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, groupId)) return describedGroup(groupId, ErrorCode.GROUP_AUTHORIZATION_FAILED, undefined, false, ctx.apiVersion);
      const { errorCode, summary, notFound } = ctx.broker.groups.describeGroup(groupId);
      if (notFound !== undefined && ctx.apiVersion >= 6) return describedGroup(groupId, ErrorCode.GROUP_ID_NOT_FOUND, summary, false, ctx.apiVersion, notFound);
      const described = describedGroup(groupId, errorCode, summary, include, ctx.apiVersion);
      if (include && errorCode === ErrorCode.NONE) described.authorizedOperations = authorizedOperations(ctx, ResourceType.GROUP, groupId);
      return described;
    });
    return res;
  },
  errorResponse(request, errorCode, apiVersion) {
    const res = makeDescribeGroupsResponse();
    res.groups = request.groups.map((groupId) => describedGroup(groupId, errorCode, undefined, false, apiVersion));
    return res;
  },
};
