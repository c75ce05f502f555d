// DeleteGroups (key 42), versions 0–2.
// - Deletes groups that have no members (Empty, including groups that only hold committed offsets): their
//   committed offsets and metadata are removed and tombstones are fsynced before the answer.
// - Per group, in request order: a group with members NON_EMPTY_GROUP; an unknown group GROUP_ID_NOT_FOUND;
//   COORDINATOR_LOAD_IN_PROGRESS while loading. An empty group id is allowed, as in Kafka.
// - v1 changes nothing for the broker; v2 is the first flexible version.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteGroupsResponse, type DeleteGroupsRequest, type DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import type { ApiHandler } from './types.js';

export const deleteGroupsHandler: ApiHandler<DeleteGroupsRequest, DeleteGroupsResponse> = {
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    const codes = await ctx.broker.groups.deleteGroups(request.groupsNames);
    const res = makeDeleteGroupsResponse();
    res.results = request.groupsNames.map((groupId, i) => ({ groupId, errorCode: codes[i]! }));
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDeleteGroupsResponse();
    res.results = request.groupsNames.map((groupId) => ({ groupId, errorCode }));
    return res;
  },
};
