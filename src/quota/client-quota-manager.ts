// One kind of client quota (produce bytes, fetch bytes, or request time) for every client: Kafka's
// ClientQuotaManager with its DefaultQuotaCallback (core/.../server/ClientQuotaManager.scala).
//
// Which quota applies to a client (its principal's user name and its client id) — the most specific entity set:
//
//   1. user=<user>,    client-id=<client-id>        5. user=<default>, client-id=<default>
//   2. user=<user>,    client-id=<default>          6. user=<default>
//   3. user=<user>                                  7. client-id=<client-id>
//   4. user=<default>, client-id=<client-id>        8. client-id=<default>
//
// Clients share a rate when they share the metric tags of the level that applies (Kafka's quotaMetricTags): a
// user-level quota (3, 6) is one rate per user across its client ids, a client-id-level quota (7, 8) one rate per
// client id across users, a (user, client-id) quota one per pair. When quotas exist at one level only, the tags
// are that level's without looking at which entity exists (Kafka's single-level optimisation, which also means a
// client with no matching quota is measured but never throttled). Once a level has been used it stays enabled
// until the broker restarts, as in Kafka.
//
// Rates are SampledRate (sampled-rate.ts) with quota.window.num × quota.window.size.seconds. A rate unused for an
// hour is dropped (InactiveSensorExpirationTimeSeconds = 3600).
import { SampledRate, type RateWindows } from './sampled-rate.js';

const NO_QUOTAS = 0;
const CLIENT_ID_QUOTA = 1;
const USER_QUOTA = 2;
const USER_CLIENT_ID_QUOTA = 4;
const INACTIVE_RATE_EXPIRATION_MS = 3_600_000;
const EXPIRY_SWEEP_INTERVAL_MS = 60_000;

/** A user or client-id part of an entity: undefined absent, null the default, else the name. */
export type EntityPart = string | null | undefined;

function overrideKey(user: EntityPart, clientId: EntityPart): string {
  const part = (p: EntityPart) => (p === undefined ? '-' : p === null ? 'd' : `n${p}`);
  return `${part(user)}\u0000${part(clientId)}`;
}

interface ClientRate {
  readonly rate: SampledRate;
  /** The quota bound for these tags, computed at `generation`; undefined when none applies. */
  limit: number | undefined;
  generation: number;
}

export class ClientQuotaManager {
  private enabledTypes = NO_QUOTAS;
  private readonly overridden = new Map<string, number>();
  private readonly rates = new Map<string, ClientRate>();
  /** Bumped on every quota change: cached limits are recomputed. */
  private generation = 0;
  private lastSweepMs = 0;

  constructor(
    /** The quota key this manager enforces (producer_byte_rate …). */
    readonly quotaKey: string,
    private readonly windows: RateWindows,
    /** The request quota caps throttle time at one window (ClientRequestQuotaManager.maxThrottleTimeMs). */
    private readonly maxThrottleTimeMs = Infinity,
  ) {}

  /** True once any quota of this kind was set since the start (quotasEnabled). */
  get quotasEnabled(): boolean {
    return this.enabledTypes !== NO_QUOTAS;
  }

  /** Sets (or with null removes) the quota of an entity (updateQuota). */
  updateQuota(user: EntityPart, clientId: EntityPart, value: number | null): void {
    if (user !== undefined) this.enabledTypes |= clientId !== undefined ? USER_CLIENT_ID_QUOTA : USER_QUOTA;
    else if (clientId !== undefined) this.enabledTypes |= CLIENT_ID_QUOTA;
    const key = overrideKey(user, clientId);
    if (value === null) this.overridden.delete(key);
    else this.overridden.set(key, value);
    this.generation++;
  }

  /** The [user, client-id] tags the client's rate is kept under (quotaMetricTags). */
  metricTags(user: string, clientId: string): [string, string] {
    switch (this.enabledTypes) {
      case NO_QUOTAS:
      case CLIENT_ID_QUOTA:
        return ['', clientId];
      case USER_QUOTA:
        return [user, ''];
      case USER_CLIENT_ID_QUOTA:
        return [user, clientId];
    }
    const has = (u: EntityPart, c: EntityPart) => this.overridden.has(overrideKey(u, c));
    if (has(user, clientId) || has(user, null)) return [user, clientId];
    if (has(user, undefined)) return [user, ''];
    if (has(null, clientId) || has(null, null)) return [user, clientId];
    if (has(null, undefined)) return [user, ''];
    return ['', clientId];
  }

  /** The bound for a rate's tags, undefined when no quota applies (DefaultQuotaCallback.quotaLimit). */
  quotaLimit(userTag: string, clientIdTag: string): number | undefined {
    const get = (u: EntityPart, c: EntityPart) => this.overridden.get(overrideKey(u, c));
    if (userTag !== '' && clientIdTag !== '') return get(userTag, clientIdTag) ?? get(userTag, null) ?? get(null, clientIdTag) ?? get(null, null);
    if (userTag !== '') return get(userTag, undefined) ?? get(null, undefined);
    if (clientIdTag !== '') return get(undefined, clientIdTag) ?? get(undefined, null);
    return undefined;
  }

  /** The quota that applies to a client, undefined when none (for tests and DescribeClientQuotas users). */
  quotaFor(user: string, clientId: string): number | undefined {
    const [u, c] = this.metricTags(user, clientId);
    return this.quotaLimit(u, c);
  }

  /** Records `value` for the client and returns its throttle time in ms (recordAndGetThrottleTimeMs). */
  recordAndGetThrottleTimeMs(user: string, clientId: string, value: number, nowMs: number): number {
    const r = this.rateFor(user, clientId, nowMs);
    r.rate.record(value, nowMs);
    return r.limit === undefined ? 0 : r.rate.throttleTimeMs(nowMs, r.limit, this.maxThrottleTimeMs);
  }

  /** Records without checking the quota (recordNoThrottle, unrecordQuotaSensor with a negative value). */
  recordNoThrottle(user: string, clientId: string, value: number, nowMs: number): void {
    this.rateFor(user, clientId, nowMs).rate.record(value, nowMs);
  }

  /**
   * The most that can be recorded at once without being throttled for sure, Infinity without a quota
   * (getMaxValueInQuotaWindow: bound × (samples − 1) × window seconds); caps a Fetch's max bytes.
   */
  maxValueInQuotaWindow(user: string, clientId: string): number {
    if (!this.quotasEnabled) return Infinity;
    const limit = this.quotaFor(user, clientId);
    return limit === undefined ? Infinity : limit * (this.windows.samples - 1) * (this.windows.windowMs / 1000);
  }

  private rateFor(user: string, clientId: string, nowMs: number): ClientRate {
    const [u, c] = this.metricTags(user, clientId);
    const key = `${u}\u0000${c}`;
    let r = this.rates.get(key);
    if (r === undefined) {
      if (nowMs - this.lastSweepMs >= EXPIRY_SWEEP_INTERVAL_MS) this.sweep(nowMs);
      r = { rate: new SampledRate(this.windows), limit: this.quotaLimit(u, c), generation: this.generation };
      this.rates.set(key, r);
    } else if (r.generation !== this.generation) {
      r.limit = this.quotaLimit(u, c);
      r.generation = this.generation;
    }
    return r;
  }

  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [key, r] of this.rates) if (nowMs - r.rate.lastRecordMs >= INACTIVE_RATE_EXPIRATION_MS) this.rates.delete(key);
  }
}
