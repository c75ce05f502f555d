// One etcd lease kept alive on a schedule, and the decision that it is lost.
//
// - A keepalive is sent every `keepaliveIntervalMs` (broker.heartbeat.interval.ms). Each one is a short stream with
//   a deadline, so a paused or partitioned etcd makes it fail rather than hang.
// - The lease is LOST when etcd answers TTL 0 (it expired or was revoked), or when no keepalive has succeeded for
//   longer than the granted TTL. That second clock starts when the last successful keepalive was *sent*: etcd
//   renews from when it *receives* it, which is later, so we always decide "lost" no later than etcd expires the
//   lease and deletes its keys. An owner that stops writing on `lost` never writes while another broker could
//   already have taken its place (Kafka's broker fences itself the same way when its session times out).
// - `lost` is emitted once; the keeper stops. The owner grants a new lease to come back (membership.ts).
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { EtcdStore } from './etcd-store.js';

export interface LeaseKeeperOptions {
  ttlMs: number;
  keepaliveIntervalMs: number;
  logger: Logger;
}

export class LeaseKeeper extends EventEmitter<{ lost: [reason: string] }> {
  readonly id: string;
  readonly ttlMs: number;
  private lastRenewedAtMs: number;
  private timer: NodeJS.Timeout | undefined;
  private lostReason: string | undefined;
  private stopped = false;
  private suspended = false;
  private inFlight = false;

  private constructor(
    private readonly store: EtcdStore,
    id: string,
    ttlMs: number,
    grantedAtMs: number,
    private readonly keepaliveIntervalMs: number,
    private readonly logger: Logger,
  ) {
    super();
    this.id = id;
    this.ttlMs = ttlMs;
    this.lastRenewedAtMs = grantedAtMs;
  }

  /** Grants a lease of ceil(ttlMs / 1000) seconds and starts keeping it alive. */
  static async grant(store: EtcdStore, options: LeaseKeeperOptions): Promise<LeaseKeeper> {
    const sentAtMs = Date.now();
    const granted = await store.grantLease(Math.max(1, Math.ceil(options.ttlMs / 1000)));
    const keeper = new LeaseKeeper(store, granted.id, granted.ttlSeconds * 1000, sentAtMs, options.keepaliveIntervalMs, options.logger);
    keeper.schedule();
    return keeper;
  }

  get isLost(): boolean {
    return this.lostReason !== undefined;
  }

  /**
   * Stops sending keepalives without revoking (the lease then expires in etcd): for tests that simulate a broker
   * that stopped heartbeating. The local TTL clock keeps running, so `lost` still fires.
   */
  suspendKeepalives(): void {
    this.suspended = true;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.keepaliveIntervalMs);
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    if (Date.now() - this.lastRenewedAtMs > this.ttlMs) {
      this.markLost(`no keepalive succeeded for ${Date.now() - this.lastRenewedAtMs} ms (lease TTL ${this.ttlMs} ms)`);
      return;
    }
    if (!this.suspended && !this.inFlight) {
      this.inFlight = true;
      const sentAtMs = Date.now();
      // The next check must come no later than the TTL deadline even if this keepalive hangs until its deadline.
      this.schedule();
      try {
        const ttlSeconds = await this.store.keepAliveOnce(this.id);
        if (ttlSeconds <= 0) {
          this.markLost('etcd reports the lease expired');
          return;
        }
        if (!this.stopped) this.lastRenewedAtMs = Math.max(this.lastRenewedAtMs, sentAtMs);
      } catch (err) {
        this.logger.warn({ leaseId: this.id, err: (err as Error).message }, 'etcd lease keepalive failed');
      } finally {
        this.inFlight = false;
      }
      return;
    }
    this.schedule();
  }

  private markLost(reason: string): void {
    if (this.stopped) return;
    this.lostReason = reason;
    this.stop();
    this.emit('lost', reason);
  }

  /** Stops the keepalives; the lease expires on its own. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Stops the keepalives and revokes the lease (its keys are deleted at once). */
  async revoke(): Promise<void> {
    this.stop();
    await this.store.revokeLease(this.id);
  }
}
