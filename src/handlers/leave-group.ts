// LeaveGroup (key 13), versions 0–5.
// - Removes members at once (no session timeout wait) and rebalances the rest.
// - v0–2: one member id; its outcome is the top-level error code.
// - v3+ (KIP-345): a batch of members, each by member id and/or group instance id, each with its own code; an empty
//   member id with a group instance id removes that static member (admin removal). An unknown group answers
//   UNKNOWN_MEMBER_ID per member with top-level NONE, as Kafka.
// - v4 is the first flexible version; v5 (KIP-800) adds a reason per member, which is logged.
// - Classic members of a consumer-protocol group (Kafka 4.0, KIP-848) leave once their records are written; a
//   member id that uses the consumer protocol is UNKNOWN_MEMBER_ID (src/group/consumer-group/classic-members.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { makeLeaveGroupResponse, type LeaveGroupRequest, type LeaveGroupResponse } from '../protocol/generated/leave-group.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function leavingMembers(request: LeaveGroupRequest, apiVersion: number) {
  if (apiVersion < 3) return [{ memberId: request.memberId ?? '', groupInstanceId: null, reason: null }];
  return (request.members ?? []).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, reason: m.reason ?? null }));
}

function toResponse(errorCode: number, members: Array<{ memberId: string; groupInstanceId: string | null; errorCode: number }>, apiVersion: number): LeaveGroupResponse {
  const res = makeLeaveGroupResponse();
  if (apiVersion >= 3) {
    res.errorCode = errorCode;
    res.members = members;
  } else {
    // Kafka's LeaveGroupResponse below v3: the top-level code, else the (single) member's code.
    res.errorCode = errorCode !== ErrorCode.NONE ? errorCode : (members.find((m) => m.errorCode !== ErrorCode.NONE)?.errorCode ?? ErrorCode.NONE);
    res.members = undefined;
  }
  return res;
}

export const leaveGroupHandler: ApiHandler<LeaveGroupRequest, LeaveGroupResponse> = {
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const members = leavingMembers(request, ctx.apiVersion);
    const result = await ctx.broker.groups.leave(request.groupId, members);
    ctx.log.debug({ groupId: request.groupId, members: members.map((m) => m.memberId), errorCode: result.errorCode }, 'LeaveGroup');
    return toResponse(result.errorCode, result.members, ctx.apiVersion);
  },
  errorResponse(request, errorCode, apiVersion) {
    return toResponse(errorCode, apiVersion >= 3 ? leavingMembers(request, apiVersion).map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode })) : [], apiVersion);
  },
};
