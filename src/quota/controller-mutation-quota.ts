// controller_mutation_rate (KIP-599): how many partitions a client may create or delete per second, Kafka's
// ControllerMutationQuotaManager (core/.../server/ControllerMutationQuotaManager.scala) with its TokenBucket
// (clients/.../metrics/stats/TokenBucket.java).
//
// - Which quota applies and which clients share a bucket: the same precedence and metric tags as the other client
//   quotas (client-quota-manager.ts; Kafka's ControllerMutationQuotaManager extends ClientQuotaManager).
// - A bucket holds at most burst = quota × quota.window.num × quota.window.size.seconds tokens and refills at quota
//   tokens per second; a new bucket starts full. Recording N partitions takes N tokens, and the balance may go
//   negative; while it is negative the quota is violated, for -tokens / quota seconds (the throttle time).
// - Two ways to apply it, by request version (ControllerApis.newQuotaFor's strictSinceVersion: CreateTopics v6,
//   CreatePartitions v3, DeleteTopics v5):
//     strict      check first: with a negative balance the topic is refused (THROTTLING_QUOTA_EXCEEDED "The
//                 throttling quota has been exceeded.") and nothing is recorded; otherwise record it, even if that
//                 takes the balance below zero (so one large request is admitted, and the next ones wait)
//     permissive  record, then check: the topic always goes ahead, and the response is only throttled
//   Either way the response's throttle_time_ms is the throttle time of the last violation, less the time since it
//   was recorded (AbstractControllerMutationQuota.throttleTime).
// - validateOnly requests record nothing (ZkAdminManager: `if (validateOnly) … else record`).
import { ClientQuotaManager, type EntityPart } from './client-quota-manager.js';
import { CONTROLLER_MUTATION_RATE } from './quota-entity.js';
import type { RateWindows } from './sampled-rate.js';

/** Versions from which a request is refused per topic instead of only throttled (ControllerApis). */
export const STRICT_SINCE_VERSION = { CreateTopics: 6, CreatePartitions: 3, DeleteTopics: 5 } as const;

/** Kafka's Errors.THROTTLING_QUOTA_EXCEEDED message. */
export const THROTTLING_QUOTA_EXCEEDED_MESSAGE = 'The throttling quota has been exceeded.';

class TokenBucket {
  private tokens = 0;
  private lastUpdateMs = 0;
  lastUsedMs = 0;

  /** The balance after refilling to `nowMs` (TokenBucket.measure). */
  measure(quota: number, burst: number, nowMs: number): number {
    this.refill(quota, burst, nowMs);
    return this.tokens;
  }

  record(quota: number, burst: number, permits: number, nowMs: number): void {
    this.refill(quota, burst, nowMs);
    this.tokens = Math.min(burst, this.tokens - permits);
    this.lastUsedMs = nowMs;
  }

  private refill(quota: number, burst: number, nowMs: number): void {
    this.tokens = Math.min(burst, this.tokens + (quota * (nowMs - this.lastUpdateMs)) / 1000);
    this.lastUpdateMs = nowMs;
  }
}

/** The quota of one request (ControllerMutationQuota): record its partitions topic by topic, then read the throttle. */
export interface ControllerMutationQuota {
  /** False when no controller_mutation_rate applies to the client (nothing is recorded, nothing refused). */
  readonly bounded: boolean;
  /** Takes `permits` partitions; false when a strict quota refuses them (the topic gets THROTTLING_QUOTA_EXCEEDED). */
  tryRecord(permits: number, nowMs?: number): boolean;
  /** The response's throttle_time_ms: the last violation's throttle time less the time since (0 without one). */
  throttleTimeMs(nowMs?: number): number;
}

const UNBOUNDED: ControllerMutationQuota = { bounded: false, tryRecord: () => true, throttleTimeMs: () => 0 };

const INACTIVE_BUCKET_EXPIRATION_MS = 3_600_000;
const EXPIRY_SWEEP_INTERVAL_MS = 60_000;

export class ControllerMutationQuotaManager {
  readonly quotaKey = CONTROLLER_MUTATION_RATE;
  /** Precedence and metric tags only: its own rates are never used. */
  private readonly quotas: ClientQuotaManager;
  private readonly buckets = new Map<string, TokenBucket>();
  private lastSweepMs = 0;

  constructor(private readonly windows: RateWindows) {
    this.quotas = new ClientQuotaManager(CONTROLLER_MUTATION_RATE, windows);
  }

  get quotasEnabled(): boolean {
    return this.quotas.quotasEnabled;
  }

  updateQuota(user: EntityPart, clientId: EntityPart, value: number | null): void {
    this.quotas.updateQuota(user, clientId, value);
  }

  /** The quota object for one request: strict (refuse over quota) or permissive (throttle only). */
  newQuotaFor(user: string, clientId: string, strict: boolean): ControllerMutationQuota {
    if (!this.quotasEnabled) return UNBOUNDED;
    const [u, c] = this.quotas.metricTags(user, clientId);
    const limit = this.quotas.quotaLimit(u, c);
    if (limit === undefined) return UNBOUNDED;
    const bucket = this.bucketFor(`${u}\u0000${c}`, Date.now());
    const burst = limit * this.windows.samples * (this.windows.windowMs / 1000);
    let lastThrottleTimeMs = 0;
    let lastRecordedMs = 0;
    const violation = (tokens: number, nowMs: number) => {
      lastThrottleTimeMs = Math.round((-tokens / limit) * 1000);
      lastRecordedMs = nowMs;
    };
    return {
      bounded: true,
      tryRecord(permits, nowMs = Date.now()) {
        if (strict) {
          const tokens = bucket.measure(limit, burst, nowMs);
          if (tokens < 0) {
            violation(tokens, nowMs);
            return false;
          }
          bucket.record(limit, burst, permits, nowMs);
          return true;
        }
        bucket.record(limit, burst, permits, nowMs);
        const tokens = bucket.measure(limit, burst, nowMs);
        if (tokens < 0) violation(tokens, nowMs);
        return true;
      },
      throttleTimeMs(nowMs = Date.now()) {
        return Math.max(0, lastThrottleTimeMs - (nowMs - lastRecordedMs));
      },
    };
  }

  private bucketFor(key: string, nowMs: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (nowMs - this.lastSweepMs >= EXPIRY_SWEEP_INTERVAL_MS) this.sweep(nowMs);
      bucket = new TokenBucket();
      bucket.lastUsedMs = nowMs;
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [key, b] of this.buckets) if (nowMs - b.lastUsedMs >= INACTIVE_BUCKET_EXPIRATION_MS) this.buckets.delete(key);
  }
}
