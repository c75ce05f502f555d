// JoinGroup (key 11), versions 0–9.
// - The classic rebalance protocol as Kafka's GroupCoordinator runs it (src/group/group.ts): the answer waits until
//   the rebalance completes (every member rejoined, or the rebalance timeout, or group.initial.rebalance.delay.ms
//   for a group that was Empty). The leader's answer lists every member with its metadata for the selected
//   protocol; member metadata is opaque.
// - Errors, as Kafka: empty group id INVALID_GROUP_ID; session timeout outside group.min/max.session.timeout.ms
//   INVALID_SESSION_TIMEOUT; a protocol type or protocol list the group cannot use (also an empty protocol list or
//   type) INCONSISTENT_GROUP_PROTOCOL; a known member id for an unknown group UNKNOWN_MEMBER_ID; group.max.size
//   GROUP_MAX_SIZE_REACHED; a group instance id owned by another member id FENCED_INSTANCE_ID.
// - v0 has no rebalance timeout: the session timeout is used, as Kafka does.
// - v4+ (KIP-394): a dynamic member without a member id gets MEMBER_ID_REQUIRED with its new id and must rejoin.
// - A JoinGroup to a consumer-protocol group with members (Kafka 4.0, KIP-848) makes the client a classic member
//   of it: answered at once, the broker computes its assignment (src/group/consumer-group/classic-members.ts).
// - v5+ (KIP-345): static membership with group.instance.id.
// - v7+ (KIP-559): the answer carries the protocol type; protocol name is nullable (null on errors). Below v7 an
//   absent protocol name is "".
// - v8+ (KIP-800): the join reason is logged. v9 (KIP-814): a static leader rejoining a Stable group is told to
//   skip the assignment.
import { ApiKey } from '../protocol/generated/index.js';
import { makeJoinGroupResponse, type JoinGroupRequest, type JoinGroupResponse } from '../protocol/generated/join-group.js';
import type { JoinResult } from '../group/member.js';
import { joinError } from '../group/member.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import { clientHost } from './group-common.js';

function toResponse(r: JoinResult, apiVersion: number): JoinGroupResponse {
  const res = makeJoinGroupResponse();
  res.errorCode = r.errorCode;
  res.generationId = r.generationId;
  res.protocolType = apiVersion >= 7 ? r.protocolType : undefined;
  res.protocolName = apiVersion >= 7 ? r.protocolName : (r.protocolName ?? '');
  res.leader = r.leader;
  res.skipAssignment = apiVersion >= 9 ? r.skipAssignment : undefined;
  res.memberId = r.memberId;
  res.members = r.members.map((m) => ({ memberId: m.memberId, groupInstanceId: apiVersion >= 5 ? m.groupInstanceId : undefined, metadata: m.metadata }));
  return res;
}

export const joinGroupHandler: ApiHandler<JoinGroupRequest, JoinGroupResponse> = {
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  async handle(ctx, request) {
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const v = ctx.apiVersion;
    const groupInstanceId = v >= 5 ? (request.groupInstanceId ?? null) : null;
    const rebalanceTimeoutMs = v >= 1 ? (request.rebalanceTimeoutMs ?? request.sessionTimeoutMs) : request.sessionTimeoutMs;
    // Kafka keeps the first metadata of a protocol named twice (its protocol set is keyed by name).
    const seen = new Set<string>();
    const protocols = request.protocols.filter((p) => !seen.has(p.name) && seen.add(p.name));
    const result = await ctx.broker.groups.joinGroup(request.groupId, {
      memberId: request.memberId,
      groupInstanceId,
      requireKnownMemberId: v >= 4 && groupInstanceId === null,
      supportSkippingAssignment: v >= 9,
      clientId: ctx.clientId ?? '',
      clientHost: clientHost(ctx),
      rebalanceTimeoutMs,
      sessionTimeoutMs: request.sessionTimeoutMs,
      protocolType: request.protocolType,
      protocols,
      reason: v >= 8 ? (request.reason ?? null) : null,
    });
    ctx.log.debug({ groupId: request.groupId, memberId: result.memberId, errorCode: result.errorCode, generationId: result.generationId }, 'JoinGroup answered');
    return toResponse(result, v);
  },
  errorResponse(request, errorCode, apiVersion) {
    return toResponse(joinError(request.memberId, errorCode), apiVersion);
  },
};
