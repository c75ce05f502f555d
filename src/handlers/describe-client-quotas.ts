// DescribeClientQuotas (key 48), versions 0–1 (KIP-546; v1 flexible), as a Kafka 3.9 KRaft broker answers it from
// its metadata image (ClientQuotasImage.describe):
// - The filter is a list of components, each an entity type (user, client-id, ip) with a match type: 0 EXACT (the
//   named entity; `match` must be set), 1 DEFAULT (the type's default entity; `match` must be null), 2 SPECIFIED
//   (any entity of that type; `match` must be null). An entity matches when it has every component's type with the
//   right name; `strict` also requires it to have no other types. No components matches every entity (not strict).
// - Every matching entity comes back with all its values (a null entity name is the default).
// - Top-level errors, entries null: INVALID_REQUEST for an empty type, a type given twice, a match string that does
//   not fit its match type, an unknown match type, or ip combined with user/client-id; UNSUPPORTED_VERSION for
//   another entity type ("Unsupported entity type …").
// - ACLs (auth/authorizer.ts; KafkaApis.handleDescribeClientQuotasRequest): DESCRIBE_CONFIGS on the CLUSTER,
//   otherwise CLUSTER_AUTHORIZATION_FAILED.
// - Deliberate difference: entities come in store order (oldest first), their entries sorted by type; Kafka's come in
//   hash-map order.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDescribeClientQuotasResponse, type DescribeClientQuotasRequest, type DescribeClientQuotasResponse } from '../protocol/generated/describe-client-quotas.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import { CLIENT_ID, ENTITY_TYPES, IP, USER, entityFromKey } from '../quota/index.js';
import type { ApiHandler } from './types.js';

const MATCH_TYPE_EXACT = 0;
const MATCH_TYPE_DEFAULT = 1;
const MATCH_TYPE_SPECIFIED = 2;

interface Filter {
  /** type → name (null: the default entity). */
  exact: Map<string, string | null>;
  /** Types that must be present, with any name. */
  specified: Set<string>;
}

/** The filter, or the top-level error to answer. */
function parseFilter(request: DescribeClientQuotasRequest): Filter | { code: number; message: string } {
  const exact = new Map<string, string | null>();
  const specified = new Set<string>();
  for (const c of request.components) {
    const type = c.entityType;
    if (type === '') return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid empty entity type.' };
    if (exact.has(type) || specified.has(type)) return { code: ErrorCode.INVALID_REQUEST, message: `Entity type ${type} cannot appear more than once in the filter.` };
    if (!ENTITY_TYPES.includes(type)) return { code: ErrorCode.UNSUPPORTED_VERSION, message: `Unsupported entity type ${type}` };
    switch (c.matchType) {
      case MATCH_TYPE_EXACT:
        if (c.match === null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_EXACT, but set match string to null.' };
        exact.set(type, c.match);
        break;
      case MATCH_TYPE_DEFAULT:
        if (c.match !== null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_DEFAULT, but also specified a match string.' };
        exact.set(type, null);
        break;
      case MATCH_TYPE_SPECIFIED:
        if (c.match !== null) return { code: ErrorCode.INVALID_REQUEST, message: 'Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.' };
        specified.add(type);
        break;
      default:
        return { code: ErrorCode.INVALID_REQUEST, message: `Unknown match type ${c.matchType}` };
    }
  }
  const has = (t: string) => exact.has(t) || specified.has(t);
  if (has(IP) && (has(USER) || has(CLIENT_ID))) {
    return { code: ErrorCode.INVALID_REQUEST, message: 'Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component.' };
  }
  return { exact, specified };
}

function matches(entity: ReadonlyMap<string, string | null>, filter: Filter, strict: boolean): boolean {
  if (strict && entity.size !== filter.exact.size + filter.specified.size) return false;
  for (const [type, name] of filter.exact) if (!entity.has(type) || entity.get(type) !== name) return false;
  for (const type of filter.specified) if (!entity.has(type)) return false;
  return true;
}

export const describeClientQuotasHandler: ApiHandler<DescribeClientQuotasRequest, DescribeClientQuotasResponse> = {
  apiKey: ApiKey.DescribeClientQuotas,
  name: 'DescribeClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.DESCRIBE_CONFIGS)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const filter = parseFilter(request);
    if ('code' in filter) {
      const res = makeDescribeClientQuotasResponse();
      res.errorCode = filter.code;
      res.errorMessage = filter.message;
      res.entries = null;
      return res;
    }
    const res = makeDescribeClientQuotasResponse();
    res.errorMessage = null;
    res.entries = [];
    for (const [key, values] of ctx.broker.quotas.all()) {
      const entity = entityFromKey(key);
      if (!matches(entity, filter, request.strict)) continue;
      res.entries.push({
        entity: [...entity].map(([entityType, entityName]) => ({ entityType, entityName })),
        values: [...values].map(([k, value]) => ({ key: k, value })),
      });
    }
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeDescribeClientQuotasResponse();
    res.errorCode = errorCode;
    res.errorMessage = errorName(errorCode);
    res.entries = null;
    return res;
  },
};
