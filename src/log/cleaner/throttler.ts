// Bounds the cleaner's I/O rate (Kafka's Throttler with `log.cleaner.io.max.bytes.per.second`): bytes read and
// written are counted over a window, and when they run ahead of the rate the cleaner sleeps until they don't.
// An infinite or Double.MAX_VALUE rate (Kafka's default) never sleeps.

/** Kafka's Throttler checks the rate at most this often. */
const CHECK_INTERVAL_MS = 300;

export class Throttler {
  private windowStartMs: number;
  private bytesInWindow = 0;

  constructor(
    private bytesPerSecond: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.windowStartMs = clock();
  }

  /** A new rate (log.cleaner.io.max.bytes.per.second changed at runtime); the current window starts over. */
  setRate(bytesPerSecond: number): void {
    this.bytesPerSecond = bytesPerSecond;
    this.windowStartMs = this.clock();
    this.bytesInWindow = 0;
  }

  get unlimited(): boolean {
    return !Number.isFinite(this.bytesPerSecond) || this.bytesPerSecond >= Number.MAX_VALUE;
  }

  async maybeThrottle(bytes: number): Promise<void> {
    if (this.unlimited) return;
    this.bytesInWindow += bytes;
    const now = this.clock();
    const elapsedMs = now - this.windowStartMs;
    const neededMs = (this.bytesInWindow * 1000) / this.bytesPerSecond;
    if (neededMs > elapsedMs) await this.sleep(Math.min(neededMs - elapsedMs, 10_000));
    if (elapsedMs >= CHECK_INTERVAL_MS || neededMs > elapsedMs) {
      this.windowStartMs = this.clock();
      this.bytesInWindow = 0;
    }
  }
}
