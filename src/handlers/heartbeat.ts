// Heartbeat (key 12), versions 0–4.
// - Keeps a member's session alive. Answers, as Kafka: NONE when Stable or between JoinGroup and SyncGroup
//   (CompletingRebalance); REBALANCE_IN_PROGRESS while the group rebalances (the member must rejoin); unknown group
//   or member UNKNOWN_MEMBER_ID; wrong generation ILLEGAL_GENERATION; a group instance id owned by another member
//   FENCED_INSTANCE_ID; empty group id INVALID_GROUP_ID.
// - v3+ (KIP-345): group instance id. v4 is the first flexible version.
// - A classic member of a consumer-protocol group (Kafka 4.0, KIP-848) gets REBALANCE_IN_PROGRESS when the broker
//   has a new assignment for it (src/group/consumer-group/classic-members.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { makeHeartbeatResponse, type HeartbeatRequest, type HeartbeatResponse } from '../protocol/generated/heartbeat.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function toResponse(errorCode: number): HeartbeatResponse {
  const res = makeHeartbeatResponse();
  res.errorCode = errorCode;
  return res;
}

export const heartbeatHandler: ApiHandler<HeartbeatRequest, HeartbeatResponse> = {
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, request) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const groupInstanceId = ctx.apiVersion >= 3 ? (request.groupInstanceId ?? null) : null;
    return toResponse(ctx.broker.groups.heartbeat(request.groupId, request.memberId, groupInstanceId, request.generationId));
  },
  errorResponse(_request, errorCode) {
    return toResponse(errorCode);
  },
};
