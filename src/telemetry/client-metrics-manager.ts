// Client telemetry (KIP-714) as a Kafka 3.9 broker without a metrics reporter answers it: Kafka's
// ClientMetricsManager and ClientMetricsInstance (server/src/main/java/org/apache/kafka/server/). There are no
// client-metrics subscriptions (Eddy has no CLIENT_METRICS config resources), so every client gets the empty
// subscription: no requested metrics, Kafka's default push interval (5 minutes), and a client instance id; the
// metrics a client pushes anyway are accepted and dropped (Kafka hands them to its receiver plugins: none here).
//
// GetTelemetrySubscriptions (checked in this order)
//   client instance id zero            a new random id (never the zero or the metadata topic id, never starting
//                                      with '-' in base64: Uuid.randomUuid); any other id is used as given
//   a request for this instance less   THROTTLING_QUOTA_EXCEEDED (only the code; Kafka's condition that was meant
//   than the push interval after its   to exempt UNKNOWN_SUBSCRIPTION_ID / UNSUPPORTED_COMPRESSION_TYPE is always
//   last Get or Push                   true, so nothing is exempt)
//   otherwise                          NONE: the instance id, subscription id, requested metrics [], accepted
//                                      compression types zstd, lz4, gzip, snappy, the push interval,
//                                      telemetry.max.bytes (1 MiB) and delta temporality
// PushTelemetry (checked in this order; the instance's `terminating` is set from the request whatever the outcome)
//   instance id zero or the metadata   INVALID_REQUEST
//   topic id (Uuid.RESERVED)
//   an earlier push was terminating    INVALID_REQUEST
//   not terminating, and less than     THROTTLING_QUOTA_EXCEEDED (a push right after a Get is always accepted: the
//   the push interval since the last   client jitters its interval)
//   accepted push
//   subscription id not the instance's UNKNOWN_SUBSCRIPTION_ID (an instance unknown here — e.g. after a restart —
//                                      is created on the spot, and its subscription id is a function of its id)
//   compression type not 0-4           UNSUPPORTED_COMPRESSION_TYPE
//   metrics longer than 1 MiB          TELEMETRY_TOO_LARGE
//   otherwise                          NONE (the metrics are dropped)
//
// Instances are kept in an LRU of 16384 and forgotten after max(60 s, 3 × push interval) without a request
// (Kafka's cache and its expiration timer). No timer runs here: every lookup first drops the expired instances at
// the LRU's old end (all share one push interval, so the LRU order is the expiry order and the sweep stops at the
// first live one), and an instance found expired is replaced. An instance keeps no Buffer: its id lives as the
// map key. A 16-byte copy kept from a request would be a slice of Node's shared 8 KiB allocation pool and keep that
// whole slab alive (issue 8: 5,441 instances held 10 MiB of slabs after 300,000 fuzzed frames; at the LRU's cap,
// up to 128 MiB).
// The subscription id is Kafka's: CRC-32C of the subscribed metrics set's toString() and the push interval
// ("[]300000"), XORed with the Java hash of the instance id.
import { randomBytes } from 'node:crypto';
import { crc32c } from '@node-rs/crc32';
import { ErrorCode } from '../protocol/error-codes.js';

/** ClientMetricsConfigs.DEFAULT_INTERVAL_MS. */
export const DEFAULT_PUSH_INTERVAL_MS = 5 * 60 * 1000;
/** telemetry.max.bytes (MetricConfigs.CLIENT_TELEMETRY_MAX_BYTES_DEFAULT). */
export const TELEMETRY_MAX_BYTES = 1024 * 1024;
/** CompressionType ids in Kafka's order of preference: zstd, lz4, gzip, snappy. */
export const ACCEPTED_COMPRESSION_TYPES: readonly number[] = [4, 3, 1, 2];
const MAX_COMPRESSION_TYPE = 4;
const CACHE_MAX_SIZE = 16384;
const CACHE_EXPIRY_MS = 60_000;
const METADATA_TOPIC_ID = Buffer.from('00000000000000000000000000000001', 'hex');

interface ClientInstance {
  readonly subscriptionId: number;
  readonly pushIntervalMs: number;
  lastGetRequestMs: number;
  lastPushRequestMs: number;
  terminating: boolean;
  lastSeenMs: number;
}

export interface TelemetrySubscription {
  errorCode: number;
  clientInstanceId: Buffer;
  subscriptionId: number;
  acceptedCompressionTypes: number[];
  pushIntervalMs: number;
  telemetryMaxBytes: number;
  deltaTemporality: boolean;
  requestedMetrics: string[];
}

export interface TelemetryPush {
  readonly clientInstanceId: Buffer;
  readonly subscriptionId: number;
  readonly terminating: boolean;
  readonly compressionType: number;
  readonly metrics: Buffer;
}

export class ClientMetricsManager {
  /** Instance id (hex) → instance, least recently used first. */
  private readonly instances = new Map<string, ClientInstance>();
  private readonly now: () => number;
  private readonly telemetryMaxBytes: number;
  private pushesDropped = 0;

  constructor(options: { now?: () => number; telemetryMaxBytes?: number } = {}) {
    // Wall-clock milliseconds, as Kafka's: a new instance's first request is always past its interval.
    this.now = options.now ?? Date.now;
    this.telemetryMaxBytes = options.telemetryMaxBytes ?? TELEMETRY_MAX_BYTES;
  }

  /** Instances known (tests, debugging). */
  get size(): number {
    return this.instances.size;
  }

  /** Pushes accepted whose metrics were dropped (no receiver). */
  get droppedPushes(): number {
    return this.pushesDropped;
  }

  /** processGetTelemetrySubscriptionRequest (table in the header). Only errorCode is meaningful on an error. */
  getSubscriptions(requestedId: Buffer): TelemetrySubscription | { errorCode: number } {
    const now = this.now();
    const id = requestedId.equals(ZERO_ID) ? this.newClientInstanceId() : requestedId;
    const instance = this.instance(id, now);
    // ClientMetricsInstance.maybeUpdateGetRequestTimestamp.
    if (now - Math.max(instance.lastGetRequestMs, instance.lastPushRequestMs) < instance.pushIntervalMs) {
      return { errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED };
    }
    instance.lastGetRequestMs = now;
    return {
      errorCode: ErrorCode.NONE,
      clientInstanceId: id,
      subscriptionId: instance.subscriptionId,
      acceptedCompressionTypes: [...ACCEPTED_COMPRESSION_TYPES],
      pushIntervalMs: instance.pushIntervalMs,
      telemetryMaxBytes: this.telemetryMaxBytes,
      deltaTemporality: true,
      requestedMetrics: [],
    };
  }

  /** processPushTelemetryRequest (table in the header): the error code. */
  push(request: TelemetryPush): number {
    if (request.clientInstanceId.equals(ZERO_ID) || request.clientInstanceId.equals(METADATA_TOPIC_ID)) return ErrorCode.INVALID_REQUEST;
    const now = this.now();
    const instance = this.instance(request.clientInstanceId, now);
    const code = this.validatePush(instance, request, now);
    instance.terminating = request.terminating;
    if (code !== ErrorCode.NONE) return code;
    if (request.metrics.length > 0) this.pushesDropped++;
    return ErrorCode.NONE;
  }

  private validatePush(instance: ClientInstance, request: TelemetryPush, now: number): number {
    if (instance.terminating) return ErrorCode.INVALID_REQUEST;
    // ClientMetricsInstance.maybeUpdatePushRequestTimestamp: the first push after a Get is always on time.
    const canAccept = instance.lastGetRequestMs > instance.lastPushRequestMs || now - instance.lastPushRequestMs >= instance.pushIntervalMs;
    if (canAccept) instance.lastPushRequestMs = now;
    else if (!request.terminating) return ErrorCode.THROTTLING_QUOTA_EXCEEDED;
    if (request.subscriptionId !== instance.subscriptionId) return ErrorCode.UNKNOWN_SUBSCRIPTION_ID;
    if (request.compressionType < 0 || request.compressionType > MAX_COMPRESSION_TYPE) return ErrorCode.UNSUPPORTED_COMPRESSION_TYPE;
    if (request.metrics.length > this.telemetryMaxBytes) return ErrorCode.TELEMETRY_TOO_LARGE;
    return ErrorCode.NONE;
  }

  /** The cached instance (moved to most recently used), or a new one when unknown or expired. */
  private instance(id: Buffer, now: number): ClientInstance {
    this.expireInstances(now);
    const key = id.toString('hex');
    let instance = this.instances.get(key);
    if (instance !== undefined) {
      this.instances.delete(key);
      if (isExpired(instance, now)) instance = undefined;
    }
    instance ??= {
      subscriptionId: subscriptionIdOf(DEFAULT_PUSH_INTERVAL_MS, id),
      pushIntervalMs: DEFAULT_PUSH_INTERVAL_MS,
      lastGetRequestMs: 0,
      lastPushRequestMs: 0,
      terminating: false,
      lastSeenMs: now,
    };
    instance.lastSeenMs = now;
    this.instances.set(key, instance);
    if (this.instances.size > CACHE_MAX_SIZE) this.instances.delete(this.instances.keys().next().value!);
    return instance;
  }

  /** Kafka's ExpirationTimerTask, run at lookups: drops instances idle past their expiry from the LRU's old end. */
  private expireInstances(now: number): void {
    for (const [key, instance] of this.instances) {
      if (!isExpired(instance, now)) return;
      this.instances.delete(key);
    }
  }

  /** Uuid.randomUuid, also unused here (generateNewClientId). */
  private newClientInstanceId(): Buffer {
    for (;;) {
      const id = randomBytes(16);
      // A version 4 UUID, as java.util.UUID.randomUUID makes.
      id[6] = (id[6]! & 0x0f) | 0x40;
      id[8] = (id[8]! & 0x3f) | 0x80;
      if (id.equals(ZERO_ID) || id.equals(METADATA_TOPIC_ID) || id[0]! >> 2 === 62) continue;
      if (!this.instances.has(id.toString('hex'))) return id;
    }
  }
}

const ZERO_ID = Buffer.alloc(16);

/** Idle for longer than max(60 s, 3 × its push interval) (ClientMetricsManager's cache expiry). */
function isExpired(instance: ClientInstance, now: number): boolean {
  return now - instance.lastSeenMs > Math.max(CACHE_EXPIRY_MS, 3 * instance.pushIntervalMs);
}

/** ClientMetricsManager.computeSubscriptionId for the empty metrics set: CRC-32C("[]" + interval) ^ Uuid.hashCode. */
export function subscriptionIdOf(pushIntervalMs: number, clientInstanceId: Buffer): number {
  const crc = crc32c(Buffer.from(`[]${pushIntervalMs}`, 'utf8')) | 0;
  const hash = clientInstanceId.readInt32BE(0) ^ clientInstanceId.readInt32BE(4) ^ clientInstanceId.readInt32BE(8) ^ clientInstanceId.readInt32BE(12);
  return crc ^ hash;
}
