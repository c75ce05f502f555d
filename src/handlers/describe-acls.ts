// DescribeAcls (key 29), versions 0–3, as a Kafka 3.9 broker answers it (AclApis.handleDescribeAcls,
// StandardAuthorizer.acls(filter)):
// - DESCRIBE on the CLUSTER first: without it the response carries CLUSTER_AUTHORIZATION_FAILED.
// - No authorizer (`--authorizer acl` not given): SECURITY_DISABLED "No Authorizer is configured on the broker".
// - Otherwise every ACL matching the filter (auth/acl.ts filterMatches: resource type ANY, pattern type ANY /
//   MATCH / LITERAL / PREFIXED, null name, principal and host meaning any), grouped by resource pattern in the
//   order the patterns were first created (Kafka's order is a hash map's).
// - v0 knows only LITERAL patterns: a v0 filter with pattern type ANY is read as LITERAL (DescribeAclsRequest
//   normalizeAndValidate).
// - Deliberate difference: a filter with UNKNOWN or out-of-range codes (or a v0 filter with MATCH or PREFIXED) is
//   rejected by Kafka's request parser and the connection closes; here the response carries INVALID_REQUEST.
// - Version notes: v1 adds the pattern type filter (KIP-290); v2 is flexible; v3 is the same as v2.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeAclsResponse,
  type DescribeAclsRequest,
  type DescribeAclsResponse,
  type DescribeAclsResponseDescribeAclsResource,
} from '../protocol/generated/describe-acls.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, PatternType, authorizeCluster, validateFilter, type AclBindingFilter } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function failed(errorCode: number, errorMessage: string): DescribeAclsResponse {
  const res = makeDescribeAclsResponse();
  res.errorCode = errorCode;
  res.errorMessage = errorMessage;
  return res;
}

export const describeAclsHandler: ApiHandler<DescribeAclsRequest, DescribeAclsResponse> = {
  apiKey: ApiKey.DescribeAcls,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 3,
  handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return failed(ErrorCode.CLUSTER_AUTHORIZATION_FAILED, errorName(ErrorCode.CLUSTER_AUTHORIZATION_FAILED));
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) return failed(ErrorCode.SECURITY_DISABLED, 'No Authorizer is configured on the broker');
    let patternType = request.patternTypeFilter ?? PatternType.LITERAL;
    if (ctx.apiVersion === 0) {
      if (patternType === PatternType.ANY) patternType = PatternType.LITERAL;
      else if (patternType !== PatternType.LITERAL) return failed(ErrorCode.INVALID_REQUEST, 'Version 0 only supports literal resource pattern types');
    }
    const filter: AclBindingFilter = {
      resourceType: request.resourceTypeFilter,
      resourceName: request.resourceNameFilter,
      patternType,
      principal: request.principalFilter,
      host: request.hostFilter,
      operation: request.operation,
      permissionType: request.permissionType,
    };
    const problem = validateFilter(filter);
    if (problem !== undefined) return failed(ErrorCode.INVALID_REQUEST, problem);
    const res = makeDescribeAclsResponse();
    res.errorMessage = null;
    const byPattern = new Map<string, DescribeAclsResponseDescribeAclsResource>();
    for (const acl of authorizer.store.find(filter)) {
      const key = `${acl.resourceType}\u0000${acl.patternType}\u0000${acl.resourceName}`;
      let resource = byPattern.get(key);
      if (resource === undefined) {
        resource = { resourceType: acl.resourceType, resourceName: acl.resourceName, patternType: acl.patternType, acls: [] };
        byPattern.set(key, resource);
        res.resources.push(resource);
      }
      resource.acls.push({ principal: acl.principal, host: acl.host, operation: acl.operation, permissionType: acl.permissionType });
    }
    return res;
  },
  errorResponse(_request, errorCode) {
    return failed(errorCode, errorName(errorCode));
  },
};
