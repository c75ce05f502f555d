// DeleteGroups (key 42), versions 0–2.
// - Deletes groups that have no members (Empty, including groups that only hold committed offsets): their
//   committed offsets and metadata are removed and tombstones are fsynced before the answer.
// - Per group, in request order: a group with members NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND;
//   COORDINATOR_LOAD_IN_PROGRESS while loading. An empty group id is allowed, as in Kafka.
// - ACLs (auth/authorizer.ts): a group the principal may not DELETE answers GROUP_AUTHORIZATION_FAILED and is kept.
// - v1 changes nothing for the broker; v2 is the first flexible version.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteGroupsResponse, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    const allowed = request.groupsNames.map((groupId) => authorize(ctx, AclOperation.DELETE, ResourceType.GROUP, groupId));
    const deleted = await ctx.broker.groups.deleteGroups(request.groupsNames.filter((_, i) => allowed[i]));
    let next = 0;
    const res = makeDeleteGroupsResponse();
    res.results = request.groupsNames.map((groupId, i) => ({ groupId, errorCode: allowed[i] ? deleted[next++]! : ErrorCode.GROUP_AUTHORIZATION_FAILED }));
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDeleteGroupsResponse();
    res.results = request.groupsNames.map((groupId) => ({ groupId, errorCode }));
    return res;
  },
};
