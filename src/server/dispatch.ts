// One request frame in, at most one response out (as a list of buffers, size prefix included).
//
//   header → handler (unknown key: close) → version check → decode (failure: close) → handle → encode
//
// | condition                                   | outcome                                                   |
// |---------------------------------------------|-----------------------------------------------------------|
// | api key with no handler                     | warn, close the connection (Kafka closes too)             |
// | ApiVersions at a version we don't support   | v0 body: UNSUPPORTED_VERSION + our ranges (KIP-511)       |
// | other API, version outside our range but    | decode, answer errorResponse(UNSUPPORTED_VERSION)         |
// |   inside the schema's range                 |                                                           |
// | version outside the schema's range          | warn, close (nothing can decode it)                       |
// | body does not decode                        | warn, close                                               |
// | bytes left after the version's last field   | ignored (debug log), as Kafka's generated parsers do:     |
// |                                             |   librdkafka 2.15.1's all-topics Metadata v12/v13 carries |
// |                                             |   3 such bytes                                            |
// | handler throws KafkaError                   | errorResponse(its code)                                   |
// | handler throws anything else                | error log, errorResponse(UNKNOWN_SERVER_ERROR or          |
// |                                             |   KAFKA_STORAGE_ERROR for I/O failures)                   |
// | handler returns null                        | no response (acks=0)                                      |
// | response cannot be encoded (a bug)          | error log, errorResponse(UNKNOWN_SERVER_ERROR)            |
// | a fault rule is armed (faults/)             | the injector runs the request instead of `handle`: it may |
// |                                             |   answer an error, delay, stall or drop (no response and  |
// |                                             |   close); with no rule, one flag check per request        |
// | every request that reached its handler      | counted and timed once, at the end (http/metrics.ts       |
// |                                             |   kafka_network_request_*), when the broker has metrics   |
// | a client quota exists (quota/)              | Fetch max bytes capped before `handle`; after it, bytes   |
// |                                             |   and handler time recorded (quota/request-throttle.ts);  |
// |                                             |   over quota: throttle_time_ms in the response and the    |
// |                                             |   outcome's throttleTimeMs, for which connection.ts mutes |
// |                                             |   the channel (KIP-219); with no quota, one flag check    |
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';
import { readRequestHeader, responseHeaderVersion, writeResponseHeader, type ParsedRequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError, isStorageError } from '../errors.js';
import { HANDLERS } from '../handlers/index.js';
import { unsupportedApiVersionsResponse } from '../handlers/api-versions.js';
import type { ApiHandler, RequestContext } from '../handlers/types.js';
import { capFetchMaxBytes, recordEncodeTime, requestThrottleTimeMs, throttledResponse, type QuotaClient } from '../quota/request-throttle.js';
import type { FetchRequest } from '../protocol/generated/fetch.js';
import type { QuotaManager } from '../quota/index.js';
// BrokerServices.faults is declared by faults/ (a module augmentation until handlers/types.ts names it).

/** throttleTimeMs: a client quota was exceeded; mute the channel this long once the response is written (KIP-219). */
export type DispatchOutcome =
  | { kind: 'respond'; buffers: Buffer[]; closeAfter: boolean; throttleTimeMs?: number }
  | { kind: 'no-response'; closeAfter: boolean; throttleTimeMs?: number }
  | { kind: 'close'; reason: string; header?: ParsedRequestHeader; /** Logged at info, not warn: an authentication outcome. */ quiet?: boolean };

export type ContextFactory = (header: ParsedRequestHeader, onClose: () => void) => RequestContext;

/** Encodes a response frame: size prefix, response header, body. */
export function encodeResponseFrame(apiKey: number, apiVersion: number, correlationId: number, body: unknown, headerVersion?: number): Buffer[] {
  const codec = API_CODECS.get(apiKey)!;
  const w = new Writer();
  w.writeInt32(0);
  writeResponseHeader(w, correlationId, headerVersion ?? responseHeaderVersion(apiKey, apiVersion));
  codec.writeResponse(w, apiVersion, body);
  const buffers = w.toBuffers();
  buffers[0]!.writeInt32BE(w.length - 4, 0);
  return buffers;
}

export async function dispatch(frame: Buffer, makeContext: ContextFactory): Promise<DispatchOutcome> {
  const arrivedAt = performance.now();
  const reader = new Reader(frame);
  let header: ParsedRequestHeader;
  try {
    header = readRequestHeader(reader);
  } catch (err) {
    return { kind: 'close', reason: `undecodable request header: ${(err as Error).message}` };
  }
  const { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId } = header;
  const handler: ApiHandler | undefined = HANDLERS.get(apiKey);
  const codec = API_CODECS.get(apiKey);
  if (handler === undefined || codec === undefined) {
    return { kind: 'close', reason: `unsupported api key ${apiKey}`, header };
  }

  const supported = apiVersion >= handler.minVersion && apiVersion <= handler.maxVersion;
  if (!supported && apiKey === ApiKey.ApiVersions) {
    return {
      kind: 'respond',
      buffers: encodeResponseFrame(apiKey, 0, correlationId, unsupportedApiVersionsResponse(), 0),
      closeAfter: false,
    };
  }
  if (apiVersion < codec.minVersion || apiVersion > codec.maxVersion) {
    return { kind: 'close', reason: `${handler.name} v${apiVersion} is outside every known version`, header };
  }

  let request: unknown;
  try {
    request = codec.readRequest(reader, apiVersion);
  } catch (err) {
    return { kind: 'close', reason: `undecodable ${handler.name} v${apiVersion} request: ${(err as Error).message}`, header };
  }

  let closeAfter = false;
  const ctx = makeContext(header, () => {
    closeAfter = true;
  });
  const trailingBytes = reader.remaining();
  if (trailingBytes !== 0 && ctx.log.isLevelEnabled('debug')) {
    ctx.log.debug({ api: handler.name, apiVersion, trailingBytes }, 'ignored bytes after the request body');
  }
  if (!supported) {
    const body = handler.errorResponse(request, ErrorCode.UNSUPPORTED_VERSION, apiVersion);
    return { kind: 'respond', buffers: encodeResponseFrame(apiKey, apiVersion, correlationId, body), closeAfter };
  }

  // Client quotas' one check: `enabled` is false until a user/client-id quota exists.
  const quotas = ctx.broker.quotas.enabled ? ctx.broker.quotas : undefined;
  let quotaClient: QuotaClient | undefined;
  let handlerMs = 0;
  let response: unknown;
  try {
    if (quotas !== undefined) {
      quotaClient = { user: ctx.principal.name, clientId: header.clientId ?? '' };
      if (apiKey === ApiKey.Fetch) capFetchMaxBytes(quotas, quotaClient, apiVersion, request as FetchRequest);
    }
    // Fault injection's one hook: `armed` is false whenever no rule can match.
    const faults = ctx.broker.faults;
    const handleStart = quotas !== undefined ? performance.now() : 0;
    const pending = faults !== undefined && faults.armed ? faults.handle(ctx, handler, request) : handler.handle(ctx, request);
    if (quotas !== undefined) handlerMs = performance.now() - handleStart;
    response = await pending;
  } catch (err) {
    let code: number;
    if (err instanceof KafkaError) {
      code = err.errorCode;
    } else {
      code = isStorageError(err) ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_SERVER_ERROR;
      ctx.log.error({ err, api: handler.name, apiVersion, clientId: header.clientId }, 'request failed');
    }
    response = handler.errorResponse(request, code, apiVersion);
  }
  let outcome: DispatchOutcome;
  const encodeStart = quotas !== undefined ? performance.now() : 0;
  if (response === null) {
    outcome = { kind: 'no-response', closeAfter };
  } else {
    try {
      outcome = { kind: 'respond', buffers: encodeResponseFrame(apiKey, apiVersion, correlationId, response), closeAfter };
    } catch (err) {
      // A value the response cannot carry is a broker bug; the client still gets an answer, not a closed socket.
      ctx.log.error({ err, api: handler.name, apiVersion, clientId: header.clientId }, 'response could not be encoded');
      const fallback = handler.errorResponse(request, ErrorCode.UNKNOWN_SERVER_ERROR, apiVersion);
      outcome = { kind: 'respond', buffers: encodeResponseFrame(apiKey, apiVersion, correlationId, fallback), closeAfter };
    }
  }
  if (quotas !== undefined) outcome = throttleOutcome(ctx, quotas, quotaClient!, request, response, frame.length, handlerMs, performance.now() - encodeStart, outcome);
  // controller_mutation_rate (KIP-599): CreateTopics, CreatePartitions and DeleteTopics put their own throttle in
  // throttle_time_ms; the channel is muted for the larger of it and the request quota's, as Kafka's
  // sendResponseMaybeThrottleWithControllerQuota does.
  if (outcome.kind !== 'close' && CONTROLLER_MUTATION_APIS.has(apiKey)) {
    const controllerThrottleMs = (response as { throttleTimeMs?: number } | null)?.throttleTimeMs ?? 0;
    if (controllerThrottleMs > (outcome.throttleTimeMs ?? 0)) outcome = { ...outcome, throttleTimeMs: controllerThrottleMs };
  }
  // Request metrics' one hook: a count and a histogram observation per request (http/metrics.ts).
  ctx.broker.metrics?.requestDone(apiKey, handler.name, arrivedAt);
  return outcome;
}

/** The APIs whose handlers apply the controller mutation quota themselves (quota/controller-mutation-quota.ts). */
const CONTROLLER_MUTATION_APIS: ReadonlySet<number> = new Set([ApiKey.CreateTopics, ApiKey.CreatePartitions, ApiKey.DeleteTopics]);

/** Records the request against the client's quotas; over quota, the response carries throttle_time_ms (quota/). */
function throttleOutcome(
  ctx: RequestContext,
  quotas: QuotaManager,
  client: QuotaClient,
  request: unknown,
  response: unknown,
  requestBytes: number,
  handlerMs: number,
  encodeMs: number,
  outcome: DispatchOutcome,
): DispatchOutcome {
  if (outcome.kind === 'close') return outcome;
  let responseBytes = 0;
  if (outcome.kind === 'respond') for (const b of outcome.buffers) responseBytes += b.length;
  const nowMs = Date.now();
  const requestThrottleMs = requestThrottleTimeMs(quotas, client, ctx.apiKey, ctx.apiVersion, request, requestBytes, responseBytes, handlerMs, nowMs);
  recordEncodeTime(quotas, client, encodeMs, nowMs);
  // A controller-mutation throttle the handler already set (KIP-599) is kept when it is the larger.
  const handlerThrottleMs = CONTROLLER_MUTATION_APIS.has(ctx.apiKey) ? ((response as { throttleTimeMs?: number } | null)?.throttleTimeMs ?? 0) : 0;
  if (requestThrottleMs <= handlerThrottleMs) return outcome;
  const throttleTimeMs = requestThrottleMs;
  if (outcome.kind === 'no-response') return { ...outcome, throttleTimeMs };
  let buffers: Buffer[];
  try {
    buffers = encodeResponseFrame(ctx.apiKey, ctx.apiVersion, ctx.correlationId, throttledResponse(ctx.apiKey, request, response as object, throttleTimeMs));
  } catch {
    // Only a response that could not be encoded in the first place (logged above); its fallback goes out unchanged.
    return { ...outcome, throttleTimeMs };
  }
  if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ apiKey: ctx.apiKey, throttleTimeMs }, 'client quota exceeded; throttling');
  return { kind: 'respond', buffers, closeAfter: outcome.closeAfter, throttleTimeMs };
}
