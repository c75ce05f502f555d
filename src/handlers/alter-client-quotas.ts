// AlterClientQuotas (key 49), versions 0–1 (KIP-546; v1 flexible), as a Kafka 3.9 KRaft controller applies it
// (ControllerApis.handleAlterClientQuotas → ClientQuotaControlManager.alterClientQuotas):
// - Each entry names an entity (user, client-id, ip; a null name is the type's default) and ops: set key to value,
//   or remove the key (remove=true; removing a key that is not set does nothing). An entity left with no values is
//   gone (DescribeClientQuotas no longer lists it).
// - Per-entry checks, each failure INVALID_REQUEST with Kafka's message for that entry only (quota/quota-entity.ts):
//   empty entity, a type twice, an unknown type ("Unhandled client quota entity type: …"), an empty name, ip mixed
//   with user/client-id, an ip that is not an address, a key the entity cannot have ("Invalid configuration key …"),
//   a value <= 0, a fractional or too large value for an integral key, a key twice in one entry ("Duplicate quota
//   key …"), the same entity twice in one request ("Ignoring duplicate entity …").
// - The valid entries are applied together (one durable write, quota/quota-store.ts) before the response is sent,
//   and enforced from then on; validate_only checks without applying.
// - ACLs (auth/authorizer.ts): ALTER_CONFIGS on the CLUSTER, otherwise CLUSTER_AUTHORIZATION_FAILED for every entry.
// - Deliberate differences: Kafka answers one entry per distinct entity (a hash map) and, for a duplicated entity,
//   still applies its first occurrence; Eddy answers every entry in request order and applies neither occurrence.
//   Kafka accepts an ip that resolves as a host name; Eddy wants an IP address (no DNS on the request path).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeAlterClientQuotasResponse,
  type AlterClientQuotasRequest,
  type AlterClientQuotasRequestEntryData,
  type AlterClientQuotasResponse,
} from '../protocol/generated/alter-client-quotas.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import { entityFromEntries, entityKey, keysForEntity, validateQuotaValue, type QuotaAlteration, type QuotaEntity } from '../quota/index.js';
import type { ApiHandler } from './types.js';

/** Kafka's ClientQuotaEntity.toString, used in its messages. */
function describeEntity(entry: AlterClientQuotasRequestEntryData): string {
  return `ClientQuotaEntity(entries={${entry.entity.map((e) => `${e.entityType}=${e.entityName}`).join(', ')}})`;
}

/** The entry's alteration, or its INVALID_REQUEST message. */
function validateEntry(entry: AlterClientQuotasRequestEntryData): QuotaAlteration | string {
  const entity: QuotaEntity | string = entityFromEntries(entry.entity);
  if (typeof entity === 'string') return entity;
  const values = new Map<string, number | null>();
  for (const op of entry.ops) {
    if (values.has(op.key)) return `Duplicate quota key ${op.key} not updating quota for this entity ${describeEntity(entry)}`;
    values.set(op.key, op.remove ? null : op.value);
  }
  const keys = keysForEntity(entity);
  if (typeof keys === 'string') return keys;
  for (const [key, value] of values) {
    if (value === null) continue;
    const problem = validateQuotaValue(keys, key, value);
    if (problem !== null) return problem;
  }
  return { entity, values };
}

export const alterClientQuotasHandler: ApiHandler<AlterClientQuotasRequest, AlterClientQuotasResponse> = {
  apiKey: ApiKey.AlterClientQuotas,
  name: 'AlterClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.ALTER_CONFIGS)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const results = request.entries.map(validateEntry);
    // The same entity twice: neither occurrence is applied.
    const seen = new Map<string, number>();
    for (const r of results) if (typeof r !== 'string') seen.set(entityKey(r.entity), (seen.get(entityKey(r.entity)) ?? 0) + 1);
    const res = makeAlterClientQuotasResponse();
    const alterations: QuotaAlteration[] = [];
    request.entries.forEach((entry, i) => {
      let r = results[i]!;
      if (typeof r !== 'string' && seen.get(entityKey(r.entity))! > 1) r = `Ignoring duplicate entity ${describeEntity(entry)}`;
      if (typeof r !== 'string') alterations.push(r);
      res.entries.push({
        errorCode: typeof r === 'string' ? ErrorCode.INVALID_REQUEST : ErrorCode.NONE,
        errorMessage: typeof r === 'string' ? r : null,
        entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })),
      });
    });
    if (!request.validateOnly && alterations.length > 0) await ctx.broker.quotas.alter(alterations);
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeAlterClientQuotasResponse();
    res.entries = request.entries.map((entry) => ({
      errorCode,
      errorMessage: errorName(errorCode),
      entity: entry.entity.map((e) => ({ entityType: e.entityType, entityName: e.entityName })),
    }));
    return res;
  },
};
