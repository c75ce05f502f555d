// OffsetDelete (key 47), version 0 (KIP-496).
// - Deletes committed offsets of a group. Empty group: every named partition. A "consumer" group with members: only
//   partitions of topics no member subscribes to; the others get GROUP_SUBSCRIBED_TO_TOPIC. A group with members of
//   another protocol type: NON_EMPTY_GROUP at the top level. Unknown group: GROUP_ID_NOT_FOUND at the top level;
//   empty group id INVALID_GROUP_ID. A topic or partition this broker does not have: UNKNOWN_TOPIC_OR_PARTITION.
// - ACLs (auth/authorizer.ts): DELETE on the group (GROUP_AUTHORIZATION_FAILED at the top level), then READ on each
//   topic (TOPIC_AUTHORIZATION_FAILED for its partitions, before the topic is looked up).
// - Tombstones are fsynced before the answer; an Empty group left with no offsets is removed, as in Kafka.
import { ApiKey } from '../protocol/generated/index.js';
import { makeOffsetDeleteResponse, type OffsetDeleteRequest, type OffsetDeleteResponse } from '../protocol/generated/offset-delete.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const offsetDeleteHandler: ApiHandler<OffsetDeleteRequest, OffsetDeleteResponse> = {
  apiKey: ApiKey.OffsetDelete,
  name: 'OffsetDelete',
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, request) {
    if (!authorize(ctx, AclOperation.DELETE, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const codes = request.topics.map((t) => t.partitions.map((): number => ErrorCode.NONE));
    const known: Array<{ topic: string; partition: number; ti: number; pi: number }> = [];
    request.topics.forEach((t, ti) => {
      const topic = ctx.broker.topics.get(t.name);
      const readable = authorize(ctx, AclOperation.READ, ResourceType.TOPIC, t.name);
      t.partitions.forEach((p, pi) => {
        if (!readable) codes[ti]![pi] = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        else if (topic === undefined || p.partitionIndex < 0 || p.partitionIndex >= topic.partitions) codes[ti]![pi] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        else known.push({ topic: t.name, partition: p.partitionIndex, ti, pi });
      });
    });
    const result = await ctx.broker.groups.deleteOffsets(request.groupId, known);
    const res = makeOffsetDeleteResponse();
    if (result.errorCode !== ErrorCode.NONE) {
      res.errorCode = result.errorCode;
      return res;
    }
    result.codes.forEach((code, i) => {
      codes[known[i]!.ti]![known[i]!.pi] = code;
    });
    res.topics = request.topics.map((t, ti) => ({ name: t.name, partitions: t.partitions.map((p, pi) => ({ partitionIndex: p.partitionIndex, errorCode: codes[ti]![pi]! })) }));
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeOffsetDeleteResponse();
    res.errorCode = errorCode;
    return res;
  },
};
