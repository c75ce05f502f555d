// SyncGroup (key 14), versions 0–5.
// - Members send SyncGroup after JoinGroup; the leader's request carries the assignments. The answers wait until the
//   leader's assignments are stored (fsynced), then every member gets its own; a member the leader left out gets
//   an empty assignment. Assignments from followers are ignored, as in Kafka. Assignments are opaque bytes.
// - Errors, as Kafka: unknown group or member UNKNOWN_MEMBER_ID; wrong generation ILLEGAL_GENERATION; a group
//   instance id owned by another member FENCED_INSTANCE_ID; a rebalance started meanwhile REBALANCE_IN_PROGRESS.
// - v3+ (KIP-345): group instance id. v4 is the first flexible version.
// - v5 (KIP-559): protocol type and name must be present and match the group's (else INCONSISTENT_GROUP_PROTOCOL);
//   the answer carries both.
// - A classic member of a consumer-protocol group (Kafka 4.0, KIP-848) gets at once the partitions the broker
//   assigned it, as a ConsumerProtocolAssignment; REBALANCE_IN_PROGRESS when it must rejoin first
//   (src/group/consumer-group/classic-members.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { makeSyncGroupResponse, type SyncGroupRequest, type SyncGroupResponse } from '../protocol/generated/sync-group.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { syncError, type SyncResult } from '../group/member.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function toResponse(r: SyncResult, apiVersion: number): SyncGroupResponse {
  const res = makeSyncGroupResponse();
  res.errorCode = r.errorCode;
  res.protocolType = apiVersion >= 5 ? r.protocolType : undefined;
  res.protocolName = apiVersion >= 5 ? r.protocolName : undefined;
  res.assignment = r.assignment;
  return res;
}

export const syncGroupHandler: ApiHandler<SyncGroupRequest, SyncGroupResponse> = {
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    const v = ctx.apiVersion;
    const protocolType = v >= 5 ? (request.protocolType ?? null) : null;
    const protocolName = v >= 5 ? (request.protocolName ?? null) : null;
    if (v >= 5 && (protocolType === null || protocolName === null)) {
      return toResponse(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL), v);
    }
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const result = await ctx.broker.groups.syncGroup(request.groupId, {
      generationId: request.generationId,
      memberId: request.memberId,
      groupInstanceId: v >= 3 ? (request.groupInstanceId ?? null) : null,
      protocolType,
      protocolName,
      assignments: request.assignments,
    });
    return toResponse(result, v);
  },
  errorResponse(_request, errorCode, apiVersion) {
    return toResponse(syncError(errorCode), apiVersion);
  },
};
