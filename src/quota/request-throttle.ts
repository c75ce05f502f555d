// What server/dispatch.ts asks of the quotas for one request, once QuotaManager.enabled (KafkaApis
// handleProduceRequest / handleFetchRequest / RequestHandlerHelper.sendResponseMaybeThrottle):
//
//   API              recorded                                                 throttle time
//   Produce          the request's size (producer_byte_rate), and its         max of the two; acks=0 records the
//                    request time (request_percentage) unless acks=0          bytes only and has no response to carry
//                                                                             it, but the channel is still muted
//   Fetch (consumer) before the read: max bytes capped at consumer_byte_rate  max of the two; when > 0 the response
//                    × (quota.window.num − 1) × window seconds; after it,     is replaced by an empty one (no
//                    the encoded response size (consumer_byte_rate) and the   partitions, session id 0 for a full
//                    request time                                             fetch) and its bytes are unrecorded
//   Fetch (follower) nothing (Eddy has no replication quota)                  0
//   anything else    the request time (request_percentage)                    that
//
// The throttle time goes into the response's throttle_time_ms (every response that has the field) and the
// connection mutes the channel for that long after writing the response (KIP-219; server/connection.ts).
//
// Request time: Kafka charges a request the time a request handler thread spent on it, as a percentage of one
// thread (request_percentage 100 = one thread). Eddy has one thread, so a request is charged the time the event loop
// spent running its handler up to its first wait (the synchronous part: decoding the batches, CRCs, building the
// response) — time spent waiting for a disk write or a long poll is not charged, as a Kafka handler thread is free
// while a request sits in purgatory. Encoding the response is charged afterwards without a throttle check, as Kafka
// records network-thread time (recordNoThrottle). The request-time throttle is capped at one window.
import { ApiKey } from '../protocol/generated/index.js';
import type { FetchRequest, FetchResponse } from '../protocol/generated/fetch.js';
import type { ProduceRequest } from '../protocol/generated/produce.js';
import type { QuotaManager } from './index.js';

const FIRST_REPLICA_STATE_VERSION = 15;

/** Who a rate is kept for: the principal's name and the client id ('' when none). */
export interface QuotaClient {
  readonly user: string;
  readonly clientId: string;
}

function isFromFollower(apiVersion: number, request: FetchRequest): boolean {
  return (apiVersion >= FIRST_REPLICA_STATE_VERSION ? request.replicaState?.replicaId ?? -1 : request.replicaId ?? -1) >= 0;
}

/** Before a consumer Fetch runs: no more bytes than the quota could ever allow at once (getMaxValueInQuotaWindow). */
export function capFetchMaxBytes(quotas: QuotaManager, client: QuotaClient, apiVersion: number, request: FetchRequest): void {
  if (apiVersion < 3 || isFromFollower(apiVersion, request)) return;
  const max = quotas.fetch.maxValueInQuotaWindow(client.user, client.clientId);
  if (max >= (request.maxBytes ?? Infinity)) return;
  request.maxBytes = Math.max(1, Math.floor(max));
  if (request.minBytes > request.maxBytes) request.minBytes = request.maxBytes;
}

/** The throttle time for a request whose response is `responseBytes` long (0 when there is none), 0 within quota. */
export function requestThrottleTimeMs(
  quotas: QuotaManager,
  client: QuotaClient,
  apiKey: number,
  apiVersion: number,
  request: unknown,
  requestBytes: number,
  responseBytes: number,
  handlerMs: number,
  nowMs: number,
): number {
  const { user, clientId } = client;
  // nanos × 100 / 1e9 (NanosToPercentagePerSecond): a percentage of one thread, per second.
  const requestTime = handlerMs / 10;
  if (apiKey === ApiKey.Produce) {
    const bytesThrottle = quotas.produce.recordAndGetThrottleTimeMs(user, clientId, requestBytes, nowMs);
    const timeThrottle = (request as ProduceRequest).acks === 0 ? 0 : quotas.request.recordAndGetThrottleTimeMs(user, clientId, requestTime, nowMs);
    return Math.max(bytesThrottle, timeThrottle);
  }
  if (apiKey === ApiKey.Fetch) {
    if (isFromFollower(apiVersion, request as FetchRequest)) return 0;
    const timeThrottle = quotas.request.recordAndGetThrottleTimeMs(user, clientId, requestTime, nowMs);
    const bytesThrottle = quotas.fetch.recordAndGetThrottleTimeMs(user, clientId, responseBytes, nowMs);
    const throttle = Math.max(bytesThrottle, timeThrottle);
    // The response will be an empty one: its bytes are not charged (unrecordQuotaSensor).
    if (throttle > 0) quotas.fetch.recordNoThrottle(user, clientId, -responseBytes, nowMs);
    return throttle;
  }
  return quotas.request.recordAndGetThrottleTimeMs(user, clientId, requestTime, nowMs);
}

/** Charges the time spent encoding a response, unchecked (Kafka's network-thread time). */
export function recordEncodeTime(quotas: QuotaManager, client: QuotaClient, encodeMs: number, nowMs: number): void {
  quotas.request.recordNoThrottle(client.user, client.clientId, encodeMs / 10, nowMs);
}

/**
 * The response to send once throttled: a copy carrying throttle_time_ms (handlers may share response objects); for
 * a Fetch, an empty one (FetchContext.getThrottledResponse: a full fetch loses its new session, id 0; an
 * incremental one keeps its id and sends no partitions).
 */
export function throttledResponse(apiKey: number, request: unknown, response: object, throttleTimeMs: number): object {
  if (apiKey === ApiKey.Fetch) {
    const fetch = response as FetchResponse;
    const incremental = ((request as FetchRequest).sessionEpoch ?? -1) > 0;
    // A session error (errorCode set) already has no partitions and keeps its code.
    return { ...fetch, throttleTimeMs, sessionId: incremental || (fetch.errorCode ?? 0) !== 0 ? fetch.sessionId : 0, responses: [] } satisfies FetchResponse;
  }
  return { ...response, throttleTimeMs };
}
