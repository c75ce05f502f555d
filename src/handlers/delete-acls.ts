// DeleteAcls (key 31), versions 0–3, as a Kafka 3.9 broker answers it (AclApis.handleDeleteAcls, then the
// controller's AclControlManager.deleteAcls):
// - ALTER on the CLUSTER first: without it every filter answers CLUSTER_AUTHORIZATION_FAILED.
// - No authorizer (`--authorizer acl` not given): every filter answers SECURITY_DISABLED "No Authorizer is
//   configured."
// - Each filter (auth/acl.ts filterMatches; ANY and MATCH allowed) answers the ACLs it matched, each with code NONE;
//   all matched ACLs go in one durable write (auth/acl-store.ts) before the response. An ACL matched by two filters
//   is listed under both. A filter matching nothing answers NONE with no ACLs.
// - v0 knows only LITERAL patterns: a v0 filter with pattern type ANY is read as LITERAL.
// - Deliberate differences: a filter with UNKNOWN or out-of-range codes (or a v0 filter with MATCH or PREFIXED) is
//   rejected by Kafka's request parser and the connection closes; here that filter answers INVALID_REQUEST and the
//   other filters still run. A failed write of the ACL file answers UNKNOWN_SERVER_ERROR for the valid filters.
// - Version notes: v1 adds the pattern type filter (KIP-290); v2 is flexible; v3 is the same as v2.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteAclsResponse, type DeleteAclsRequest, type DeleteAclsResponse, type DeleteAclsResponseDeleteAclsFilterResult } from '../protocol/generated/delete-acls.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, PatternType, authorizeCluster, validateFilter, type AclBindingFilter } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const deleteAclsHandler: ApiHandler<DeleteAclsRequest, DeleteAclsResponse> = {
  apiKey: ApiKey.DeleteAcls,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) {
      const res = this.errorResponse(request, ErrorCode.SECURITY_DISABLED, ctx.apiVersion);
      for (const r of res.filterResults) r.errorMessage = 'No Authorizer is configured.';
      return res;
    }
    const res = makeDeleteAclsResponse();
    const filters: AclBindingFilter[] = [];
    const results: DeleteAclsResponseDeleteAclsFilterResult[] = [];
    for (const f of request.filters) {
      let patternType = f.patternTypeFilter ?? PatternType.LITERAL;
      if (ctx.apiVersion === 0 && patternType === PatternType.ANY) patternType = PatternType.LITERAL;
      const filter: AclBindingFilter = {
        resourceType: f.resourceTypeFilter,
        resourceName: f.resourceNameFilter,
        patternType,
        principal: f.principalFilter,
        host: f.hostFilter,
        operation: f.operation,
        permissionType: f.permissionType,
      };
      const problem =
        ctx.apiVersion === 0 && patternType !== PatternType.LITERAL
          ? `Version 0 does not support pattern type ${patternType} (only LITERAL and ANY are supported)`
          : validateFilter(filter);
      const result: DeleteAclsResponseDeleteAclsFilterResult = { errorCode: ErrorCode.NONE, errorMessage: null, matchingAcls: [] };
      if (problem !== undefined) {
        result.errorCode = ErrorCode.INVALID_REQUEST;
        result.errorMessage = problem;
      } else {
        filters.push(filter);
        results.push(result);
      }
      res.filterResults.push(result);
    }
    if (filters.length > 0) {
      try {
        const matched = await authorizer.store.delete(filters);
        matched.forEach((acls, i) => {
          results[i]!.matchingAcls = acls.map((acl) => ({ errorCode: ErrorCode.NONE, errorMessage: null, ...acl }));
        });
      } catch (err) {
        ctx.log.error({ err, api: 'DeleteAcls', clientId: ctx.clientId }, 'writing the ACL file failed');
        for (const r of results) {
          r.errorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
          r.errorMessage = 'Writing the ACLs failed';
        }
      }
    }
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDeleteAclsResponse();
    res.filterResults = request.filters.map(() => ({ errorCode, errorMessage: errorName(errorCode), matchingAcls: [] }));
    return res;
  },
};
