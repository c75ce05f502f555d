// CreateAcls (key 30), versions 0–3, as a Kafka 3.9 broker answers it (AclApis.handleCreateAcls, then the
// controller's AclControlManager.createAcls):
// - ALTER on the CLUSTER first: without it every creation answers CLUSTER_AUTHORIZATION_FAILED.
// - No authorizer (`--authorizer acl` not given): every creation answers SECURITY_DISABLED "No Authorizer is
//   configured."
// - Each creation is validated on its own (auth/acl.ts validateNewAcl): a resource type other than TOPIC, GROUP,
//   CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER; a pattern type other than LITERAL or PREFIXED; operation
//   UNKNOWN or ANY; permission other than ALLOW or DENY; an empty name; a CLUSTER name other than "kafka-cluster";
//   a principal that is not "Type:name" → INVALID_REQUEST with the reason. The valid ones are added together, in
//   one durable write (auth/acl-store.ts) before the response; an ACL that already exists succeeds and is kept
//   once.
// - Deliberate differences: Kafka's request parser rejects UNKNOWN codes (and non-LITERAL patterns at v0) before the
//   handler, and the connection closes; here those creations answer INVALID_REQUEST. A principal without ':' is
//   stored by Kafka and fails later; here it is INVALID_REQUEST. A failed write of the ACL file answers
//   UNKNOWN_SERVER_ERROR for the valid creations.
// - Version notes: v1 adds resourcePatternType (KIP-290, PREFIXED); v2 is flexible; v3 is the same as v2.
import { ApiKey } from '../protocol/generated/index.js';
import { makeCreateAclsResponse, type CreateAclsRequest, type CreateAclsResponse } from '../protocol/generated/create-acls.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, PatternType, authorizeCluster, validateNewAcl, type AclBinding } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const createAclsHandler: ApiHandler<CreateAclsRequest, CreateAclsResponse> = {
  apiKey: ApiKey.CreateAcls,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const authorizer = ctx.broker.authorizer;
    if (authorizer === undefined) {
      const res = this.errorResponse(request, ErrorCode.SECURITY_DISABLED, ctx.apiVersion);
      for (const r of res.results) r.errorMessage = 'No Authorizer is configured.';
      return res;
    }
    const res = makeCreateAclsResponse();
    const valid: AclBinding[] = [];
    const validResults: Array<{ errorCode: number; errorMessage: string | null }> = [];
    for (const c of request.creations) {
      const acl: AclBinding = {
        resourceType: c.resourceType,
        resourceName: c.resourceName,
        patternType: c.resourcePatternType ?? PatternType.LITERAL,
        principal: c.principal,
        host: c.host,
        operation: c.operation,
        permissionType: c.permissionType,
      };
      const problem =
        ctx.apiVersion === 0 && acl.patternType !== PatternType.LITERAL ? 'Version 0 only supports literal resource pattern types' : validateNewAcl(acl);
      const result = problem === undefined ? { errorCode: ErrorCode.NONE, errorMessage: null } : { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
      if (problem === undefined) {
        valid.push(acl);
        validResults.push(result);
      }
      res.results.push(result);
    }
    if (valid.length > 0) {
      try {
        await authorizer.store.create(valid);
      } catch (err) {
        ctx.log.error({ err, api: 'CreateAcls', clientId: ctx.clientId }, 'writing the ACL file failed');
        for (const r of validResults) {
          r.errorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
          r.errorMessage = 'Writing the ACLs failed';
        }
      }
    }
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeCreateAclsResponse();
    res.results = request.creations.map(() => ({ errorCode, errorMessage: errorName(errorCode) }));
    return res;
  },
};
