// DescribeUserScramCredentials (key 50), version 0 (KIP-554), as a Kafka 3.9 KRaft broker answers it from its
// metadata image (ScramImage.describe):
// - No users (null or empty): every user that has a SCRAM credential, each with one credentialInfo per mechanism
//   (mechanism 1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512, and its iterations). Salts and keys are never returned.
// - Named users, each answered once: a user with credentials → its credentialInfos; one without →
//   RESOURCE_NOT_FOUND "Attempt to describe a user credential that does not exist: <user>"; a name listed more
//   than once → DUPLICATE_RESOURCE "Cannot describe SCRAM credentials for the same user twice in a single request:
//   <user>".
// - ACLs (auth/authorizer.ts): DESCRIBE on the CLUSTER first, otherwise CLUSTER_AUTHORIZATION_FAILED for the request
//   and every user named.
// - Deliberate difference: results come in request order (or store order for all users); Kafka's come in hash-map
//   order.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeUserScramCredentialsResponse,
  type DescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../protocol/generated/describe-user-scram-credentials.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const describeUserScramCredentialsHandler: ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> = {
  apiKey: ApiKey.DescribeUserScramCredentials,
  name: 'DescribeUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const all = ctx.broker.credentials.list();
    const byUser = new Map(all.map((u) => [u.user, u.credentials]));
    const res = makeDescribeUserScramCredentialsResponse();
    res.errorMessage = null;
    const requested = request.users ?? [];
    const names = requested.length === 0 ? all.map((u) => u.user) : requested.map((u) => u.name);
    const counts = new Map<string, number>();
    for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
    for (const [user, count] of counts) {
      const credentials = byUser.get(user);
      if (count > 1) {
        res.results.push({ user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] });
      } else if (credentials === undefined || credentials.length === 0) {
        res.results.push({ user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] });
      } else {
        res.results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: credentials.map((c) => ({ mechanism: c.mechanism.type, iterations: c.iterations })) });
      }
    }
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDescribeUserScramCredentialsResponse();
    res.errorCode = errorCode;
    res.errorMessage = errorName(errorCode);
    res.results = (request.users ?? []).map((u) => ({ user: u.name, errorCode, errorMessage: errorName(errorCode), credentialInfos: [] }));
    return res;
  },
};
