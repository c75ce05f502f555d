// A rate over sampled windows, as Kafka's quota sensors measure it (clients/.../metrics/stats/SampledStat.java,
// Rate.java, WindowedSum; kafka/utils/QuotaUtils.scala), and the throttle time derived from it.
//
// - `samples` windows of `windowMs` each (quota.window.num = 11, quota.window.size.seconds = 1), kept in a ring of
//   samples + 1 (the extra one overlaps the start of the monitored span). A value is added to the current window;
//   a window older than windowMs is complete and the next value opens a new one (the oldest slot is reused).
// - A window whose last value is samples × windowMs old or more is obsolete: reset before measuring.
// - rate = sum of the windows / window span, where the span is now − the oldest window's start, but never less than
//   samples − 1 full windows (so the first requests of a fresh client are not measured over a few milliseconds:
//   with Kafka's defaults a new client may send 10 s worth of quota before being throttled), and at least 1 ms.
// - throttle time, when the rate after recording is above the bound: (rate − bound) / bound × span, rounded
//   (QuotaUtils.throttleTime: the delay X that makes rate × span / (span + X) = bound); the request quota and the
//   connection-creation rate cap it at one window (boundedThrottleTime), byte rates do not.
//
// Values are recorded first and the bound checked after, as Sensor.record(value, timeMs, checkQuotas) does, so a
// request that makes the rate exceed the quota is itself answered (with the throttle time) and the client is muted
// after it. `record` with a negative value is Kafka's unrecord (a throttled Fetch, a throttled connection).

export interface RateWindows {
  /** quota.window.num */
  readonly samples: number;
  /** quota.window.size.seconds × 1000 */
  readonly windowMs: number;
}

export const DEFAULT_RATE_WINDOWS: RateWindows = { samples: 11, windowMs: 1000 };

export class SampledRate {
  private readonly starts: number[] = [];
  private readonly lastEvents: number[] = [];
  private readonly values: number[] = [];
  private current = 0;
  /** When a value was last recorded (Date.now()); idle rates are dropped by their owner. */
  lastRecordMs = 0;

  constructor(readonly windows: RateWindows) {}

  /** Adds `value` at `nowMs` (Kafka's SampledStat.record). */
  record(value: number, nowMs: number): void {
    if (this.starts.length === 0) this.addSample(nowMs);
    else if (nowMs - this.starts[this.current]! >= this.windows.windowMs) this.advance(nowMs);
    this.values[this.current]! += value;
    this.lastEvents[this.current] = nowMs;
    this.lastRecordMs = nowMs;
  }

  /** The rate per second at `nowMs` (Rate.measure). */
  measure(nowMs: number): number {
    const spanMs = this.windowSpanMs(nowMs);
    let sum = 0;
    for (const v of this.values) sum += v;
    return sum / (spanMs / 1000);
  }

  /** The span the rate is computed over (Rate.windowSize): obsolete windows purged first. */
  windowSpanMs(nowMs: number): number {
    this.purgeObsolete(nowMs);
    if (this.starts.length === 0) this.addSample(nowMs);
    let oldest = this.starts[0]!;
    for (const s of this.starts) if (s < oldest) oldest = s;
    const { samples, windowMs } = this.windows;
    let spanMs = nowMs - oldest;
    const fullWindows = Math.floor(spanMs / windowMs);
    if (fullWindows < samples - 1) spanMs += (samples - 1 - fullWindows) * windowMs;
    return Math.max(spanMs, 1);
  }

  /**
   * Records `value` and returns how long the client must wait for the rate to come back to `bound`, 0 when it is
   * within it (Sensor.record + checkQuotas + QuotaUtils.throttleTime / boundedThrottleTime).
   */
  recordAndGetThrottleTimeMs(value: number, nowMs: number, bound: number, maxThrottleTimeMs = Infinity): number {
    this.record(value, nowMs);
    return this.throttleTimeMs(nowMs, bound, maxThrottleTimeMs);
  }

  /** The throttle time for the rate as it stands (0 within `bound`). */
  throttleTimeMs(nowMs: number, bound: number, maxThrottleTimeMs = Infinity): number {
    const spanMs = this.windowSpanMs(nowMs);
    let sum = 0;
    for (const v of this.values) sum += v;
    const rate = sum / (spanMs / 1000);
    if (rate <= bound) return 0;
    return Math.min(Math.round(((rate - bound) / bound) * spanMs), maxThrottleTimeMs);
  }

  private addSample(nowMs: number): void {
    this.starts.push(nowMs);
    this.lastEvents.push(nowMs);
    this.values.push(0);
  }

  private advance(nowMs: number): void {
    this.current = (this.current + 1) % (this.windows.samples + 1);
    if (this.current >= this.starts.length) {
      this.addSample(nowMs);
      return;
    }
    this.reset(this.current, nowMs);
  }

  private reset(i: number, nowMs: number): void {
    this.starts[i] = nowMs;
    this.lastEvents[i] = nowMs;
    this.values[i] = 0;
  }

  private purgeObsolete(nowMs: number): void {
    const expireMs = this.windows.samples * this.windows.windowMs;
    for (let i = 0; i < this.starts.length; i++) {
      if (nowMs - this.lastEvents[i]! >= expireMs) this.reset(i, nowMs);
    }
  }
}
