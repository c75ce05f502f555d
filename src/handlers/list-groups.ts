// ListGroups (key 16), versions 0–5.
// - Every group this broker coordinates that is not Dead, with its protocol type ("" for groups that only hold
//   committed offsets, as Kafka lists them).
// - ACLs (auth/authorizer.ts; KafkaApis.handleListGroupsRequest): DESCRIBE on the CLUSTER lists every group;
//   otherwise only the groups the principal may DESCRIBE.
// - v4+ (KIP-518): states filter (case-insensitive, empty = all) and each group's state.
// - v5 (KIP-848): types filter (case-insensitive) and each group's type: "classic", or "consumer" for a
//   consumer-protocol group, which is listed with protocol type "consumer" and its own state (Empty, Assigning,
//   Reconciling, Stable), as Kafka 3.9 lists it. v3 is the first flexible version.
import { ApiKey } from '../protocol/generated/index.js';
import { makeListGroupsResponse, type ListGroupsRequest, type ListGroupsResponse } from '../protocol/generated/list-groups.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const listGroupsHandler: ApiHandler<ListGroupsRequest, ListGroupsResponse> = {
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, request) {
    const v = ctx.apiVersion;
    const result = ctx.broker.groups.listGroups(v >= 4 ? (request.statesFilter ?? []) : [], v >= 5 ? (request.typesFilter ?? []) : []);
    const res = makeListGroupsResponse();
    res.errorCode = result.errorCode;
    const all = authorizeCluster(ctx, AclOperation.DESCRIBE);
    res.groups = result.groups.filter((g) => all || authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, g.groupId)).map((g) => ({
      groupId: g.groupId,
      protocolType: g.protocolType,
      groupState: v >= 4 ? g.state : undefined,
      groupType: v >= 5 ? g.groupType : undefined,
    }));
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeListGroupsResponse();
    res.errorCode = errorCode;
    return res;
  },
};
