// A fault rule as users write it (JS API, HTTP JSON, `eddy fault add`), validated into one normalized shape.
//
//   field        meaning
//   api          the API it applies to: Kafka's name ("Produce") or key (0)
//   topic        only requests naming this topic (the APIs in partitions.ts: Produce, Fetch, ListOffsets)
//   partition    only this partition of `topic` (needs `topic`)
//   clientId     only requests whose header carries this client id
//   — exactly one action —
//   error        answer with this error code (name or number): per matched partition where the API has
//                partitions, otherwise the API's whole-request error response
//   latencyMs    answer normally after this delay
//   drop         close the connection without answering
//   stall        hold the request until the rule is removed or its window ends (at most MAX_STALL_MS), then
//                answer normally
//   — lifetime (both optional; neither = until removed) —
//   count        the next N matching requests, then the rule is exhausted (it stays listed, no longer matches)
//   durationMs   a window from the moment the rule is added, then the rule is expired (listed, no longer matches)
import { BrokerError } from '../errors.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';

/** What a caller writes. */
export interface FaultRuleSpec {
  api: string | number;
  topic?: string;
  partition?: number;
  clientId?: string;
  error?: string | number;
  latencyMs?: number;
  drop?: boolean;
  stall?: boolean;
  count?: number;
  durationMs?: number;
}

export type FaultAction = 'error' | 'latency' | 'drop' | 'stall';

/** A validated rule, before it gets an id. */
export interface NormalizedFaultRule {
  api: string;
  apiKey: number;
  topic: string | null;
  partition: number | null;
  clientId: string | null;
  action: FaultAction;
  /** The error's name and code (action 'error'), else null. */
  error: string | null;
  errorCode: number | null;
  latencyMs: number | null;
  count: number | null;
  durationMs: number | null;
}

/** A rule as list() reports it. */
export interface FaultRuleInfo extends NormalizedFaultRule {
  id: number;
  /** How many requests it acted on. */
  fired: number;
  /** Requests left before it is exhausted (null: no count). */
  remaining: number | null;
  state: 'active' | 'exhausted' | 'expired';
  /** ISO times. */
  addedAt: string;
  expiresAt: string | null;
}

/** A stalled request waits at most this long, whatever the rule says (a client gives up long before). */
export const MAX_STALL_MS = 10 * 60_000;
/** The longest latency one rule may add. */
export const MAX_LATENCY_MS = 10 * 60_000;

const FIELDS: ReadonlySet<string> = new Set(['api', 'topic', 'partition', 'clientId', 'error', 'latencyMs', 'drop', 'stall', 'count', 'durationMs']);

function invalid(message: string): never {
  throw new BrokerError('INVALID_FAULT_RULE', message);
}

function apiKeyOf(api: unknown): number {
  if (typeof api === 'number' && API_CODECS.has(api)) return api;
  if (typeof api === 'string') {
    if (/^\d+$/.test(api) && API_CODECS.has(Number(api))) return Number(api);
    const key = (ApiKey as Record<string, number>)[api];
    if (key !== undefined) return key;
    const lower = api.toLowerCase();
    for (const [name, k] of Object.entries(ApiKey)) if (name.toLowerCase() === lower) return k;
  }
  return invalid(`api ${JSON.stringify(api)}: expected a Kafka API name (e.g. "Produce") or key`);
}

function errorCodeOf(error: unknown): number {
  if (typeof error === 'number' && Number.isInteger(error) && error !== ErrorCode.NONE && errorName(error) !== `UNKNOWN_CODE_${error}`) return error;
  if (typeof error === 'string') {
    if (/^-?\d+$/.test(error)) return errorCodeOf(Number(error));
    const code = (ErrorCode as Record<string, number>)[error.toUpperCase()];
    if (code !== undefined && code !== ErrorCode.NONE) return code;
  }
  return invalid(`error ${JSON.stringify(error)}: expected a Kafka error name (e.g. "NOT_LEADER_OR_FOLLOWER") or code other than NONE`);
}

function positiveInt(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) invalid(`${name} ${JSON.stringify(value)}: expected an integer in [1, ${max}]`);
  return value;
}

/**
 * Validates a rule; throws BrokerError('INVALID_FAULT_RULE') naming the field. `partitionedApis` are the API keys
 * on which topic and partition filters work (partitions.ts).
 */
export function normalizeFaultRule(spec: unknown, partitionedApis: ReadonlySet<number>): NormalizedFaultRule {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) invalid('a fault rule is an object, e.g. { api: "Produce", error: "NOT_LEADER_OR_FOLLOWER", count: 1 }');
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!FIELDS.has(key) && s[key] !== undefined) invalid(`unknown field ${JSON.stringify(key)} (fields: ${[...FIELDS].join(', ')})`);
  if (s.api === undefined) invalid('api is required');
  const apiKey = apiKeyOf(s.api);
  const api = API_CODECS.get(apiKey)!.name;
  const present = (k: string) => s[k] !== undefined && s[k] !== null && s[k] !== false;
  const actions = (['error', 'latencyMs', 'drop', 'stall'] as const).filter(present);
  if (actions.length !== 1) invalid(`give exactly one action of error, latencyMs, drop, stall (got ${actions.length === 0 ? 'none' : actions.join(', ')})`);
  const topic = s.topic ?? null;
  if (topic !== null && (typeof topic !== 'string' || topic.length === 0)) invalid(`topic ${JSON.stringify(topic)}: expected a topic name`);
  const partition = s.partition ?? null;
  if (partition !== null) {
    if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) invalid(`partition ${JSON.stringify(partition)}: expected an integer >= 0`);
    if (topic === null) invalid('partition needs topic');
  }
  if (topic !== null && !partitionedApis.has(apiKey)) {
    const names = [...partitionedApis].map((k) => API_CODECS.get(k)!.name).join(', ');
    invalid(`topic and partition filters work on ${names}, not on ${api}`);
  }
  const clientId = s.clientId ?? null;
  if (clientId !== null && typeof clientId !== 'string') invalid(`clientId ${JSON.stringify(clientId)}: expected a string`);
  for (const flag of ['drop', 'stall'] as const) {
    if (s[flag] !== undefined && typeof s[flag] !== 'boolean') invalid(`${flag} ${JSON.stringify(s[flag])}: expected true`);
  }
  const action: FaultAction = actions[0] === 'latencyMs' ? 'latency' : actions[0]!;
  const errorCode = action === 'error' ? errorCodeOf(s.error) : null;
  return {
    api,
    apiKey,
    topic,
    partition,
    clientId,
    action,
    error: errorCode === null ? null : errorName(errorCode),
    errorCode,
    latencyMs: action === 'latency' ? positiveInt('latencyMs', s.latencyMs, MAX_LATENCY_MS) : null,
    count: s.count === undefined || s.count === null ? null : positiveInt('count', s.count, 2 ** 31 - 1),
    durationMs: s.durationMs === undefined || s.durationMs === null ? null : positiveInt('durationMs', s.durationMs, 2 ** 31 - 1),
  };
}
