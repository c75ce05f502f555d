// This broker's registration in the cluster (Kafka's BrokerLifecycleManager + the controller's
// ClusterControlManager.registerBroker, over etcd).
//
// - register: a lease of broker.session.timeout.ms (rounded up to whole seconds), kept alive every
//   broker.heartbeat.interval.ms (etcd/lease-keeper.ts); then `<p>/brokers/<id>` is created on that lease,
//   create-if-absent. The broker epoch is the key's create_revision.
// - The id is already registered:
//     same incarnation id (our own registration from before a lease loss)  → revoke that lease, register again
//     another incarnation                                                  → wait for it to expire (a broker
//       restarted after kill -9 finds its previous session still alive for up to one session timeout); still
//       there after `registrationWaitMs` → BrokerError DUPLICATE_BROKER_REGISTRATION: the broker must not start
//       (Kafka answers DUPLICATE_BROKER_REGISTRATION "Another broker is registered with that broker id.").
// - Lease lost (etcd says expired, or no keepalive succeeded for a TTL): `isFenced` becomes true and 'fenced' is
//   emitted once; the broker stops accepting writes. Then it registers again every heartbeat interval until etcd
//   answers (a new lease, so a new broker epoch), and emits 'registered'.
// - Controlled shutdown: the key is rewritten with inControlledShutdown=true (CAS on its mod_revision); the
//   controller then moves this broker's leaderships away and drops it from every ISR. `beginControlledShutdown`
//   resolves when the image shows it leads no partition, or after its timeout. `close()` revokes the lease, which
//   deletes the key at once.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import type { EtcdStore } from './etcd/etcd-store.js';
import { LeaseKeeper } from './etcd/lease-keeper.js';
import type { MetadataImage, MetadataLoader } from './metadata-image.js';
import { brokerKey, decodeBrokerRecord, encodeBrokerRecord, type BrokerEndpoint } from './metadata-records.js';

export interface MembershipOptions {
  store: EtcdStore;
  loader: MetadataLoader;
  prefix: string;
  nodeId: number;
  incarnationId: string;
  endpoints: BrokerEndpoint[];
  rack: string | null;
  /** broker.session.timeout.ms: the lease TTL (default 9000). */
  sessionTimeoutMs: number;
  /** broker.heartbeat.interval.ms: the keepalive period (default 2000). */
  heartbeatIntervalMs: number;
  /** How long to wait for another incarnation's registration of this id to expire (default session timeout + 2 s). */
  registrationWaitMs?: number;
  logger: Logger;
}

export interface ControlledShutdownResult {
  /** True when the image showed no partition led by this broker before the timeout. */
  completed: boolean;
  /** Partitions still led at the end. */
  remainingLeaderships: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Membership extends EventEmitter<{ fenced: [reason: string]; registered: [brokerEpoch: number] }> {
  private lease: LeaseKeeper | undefined;
  private epoch = -1;
  private fenced = true;
  private closed = false;
  private inControlledShutdown = false;
  private reregistering: Promise<void> | undefined;
  private readonly registrationWaitMs: number;

  private constructor(private readonly options: MembershipOptions) {
    super();
    this.registrationWaitMs = options.registrationWaitMs ?? options.sessionTimeoutMs + 2000;
  }

  /** Registers the broker; rejects with BrokerError DUPLICATE_BROKER_REGISTRATION when the id stays taken. */
  static async register(options: MembershipOptions): Promise<Membership> {
    const membership = new Membership(options);
    await membership.registerOnce();
    return membership;
  }

  get nodeId(): number {
    return this.options.nodeId;
  }

  /** The current registration's epoch (create_revision of the broker key); -1 before the first registration. */
  get brokerEpoch(): number {
    return this.epoch;
  }

  /** True while the broker has no live registration: it must not accept writes. */
  get isFenced(): boolean {
    return this.fenced;
  }

  /** The lease of the current registration (the controller key is put on it too). */
  get leaseId(): string | undefined {
    return this.fenced ? undefined : this.lease?.id;
  }

  private key(): string {
    return brokerKey(this.options.prefix, this.options.nodeId);
  }

  private value(inControlledShutdown: boolean): Buffer {
    return encodeBrokerRecord({
      brokerId: this.options.nodeId,
      incarnationId: this.options.incarnationId,
      endpoints: this.options.endpoints,
      rack: this.options.rack,
      fenced: false,
      inControlledShutdown,
    });
  }

  private async registerOnce(): Promise<void> {
    const { store, logger, nodeId } = this.options;
    const lease = await LeaseKeeper.grant(store, {
      ttlMs: this.options.sessionTimeoutMs,
      keepaliveIntervalMs: this.options.heartbeatIntervalMs,
      logger,
    });
    const deadline = Date.now() + this.registrationWaitMs;
    try {
      // Bounded by `deadline`: one attempt per 250 ms while another incarnation holds the id.
      for (;;) {
        if (this.closed) throw new BrokerError('CLUSTER_CLOSED', 'membership closed while registering');
        const key = this.key();
        const res = await store.txn(
          [{ key, target: 'create', result: '=', value: 0 }],
          [{ type: 'put', key, value: this.value(false), lease: lease.id }],
          [{ type: 'get', key }],
        );
        if (res.succeeded) {
          this.lease = lease;
          this.epoch = res.revision;
          this.fenced = false;
          this.inControlledShutdown = false;
          lease.once('lost', (reason) => this.handleLeaseLost(lease, reason));
          await this.options.loader.waitForRevision(res.revision);
          logger.info({ nodeId, brokerEpoch: this.epoch, leaseId: lease.id, ttlMs: lease.ttlMs }, 'broker registered in the cluster');
          return;
        }
        const existing = res.gets[0];
        if (existing === undefined) continue;
        let incarnationId: string | undefined;
        try {
          incarnationId = decodeBrokerRecord(existing.value).incarnationId;
        } catch {
          incarnationId = undefined;
        }
        if (incarnationId === this.options.incarnationId && existing.lease !== lease.id) {
          // Our own earlier registration, on a lease we already consider lost: free it now.
          logger.info({ nodeId, leaseId: existing.lease }, 'revoking this broker\'s previous registration');
          await store.revokeLease(existing.lease);
          continue;
        }
        if (Date.now() >= deadline) {
          throw new BrokerError(
            'DUPLICATE_BROKER_REGISTRATION',
            `Another broker is registered with that broker id: node id ${nodeId} is held by a live broker ` +
              `(incarnation ${incarnationId ?? 'unreadable'}, since etcd revision ${existing.createRevision}) in etcd at ` +
              `${store.endpoints.join(',')} under ${this.options.prefix}; waited ${this.registrationWaitMs} ms for it to expire`,
          );
        }
        await sleep(250);
      }
    } catch (err) {
      if (this.lease !== lease) await lease.revoke().catch(() => lease.stop());
      throw err;
    }
  }

  private handleLeaseLost(lease: LeaseKeeper, reason: string): void {
    if (this.closed || this.lease !== lease) return;
    this.fenced = true;
    this.options.logger.error({ nodeId: this.options.nodeId, brokerEpoch: this.epoch, reason }, 'broker lease lost: fenced');
    this.emit('fenced', reason);
    this.reregistering ??= this.reregister().finally(() => {
      this.reregistering = undefined;
    });
  }

  /** Registers again after a lost lease, once etcd answers (bounded by close()). */
  private async reregister(): Promise<void> {
    while (!this.closed && this.fenced) {
      try {
        await this.registerOnce();
        this.emit('registered', this.epoch);
        return;
      } catch (err) {
        this.options.logger.warn({ nodeId: this.options.nodeId, err: (err as Error).message }, 'broker re-registration failed; retrying');
        await sleep(this.options.heartbeatIntervalMs);
      }
    }
  }

  /**
   * Sets inControlledShutdown and waits until the image shows this broker leads no partition (the controller moves
   * the leaderships), or `timeoutMs` passes.
   */
  async beginControlledShutdown(timeoutMs = 30_000): Promise<ControlledShutdownResult> {
    const { store, loader, nodeId, logger } = this.options;
    if (!this.fenced && !this.inControlledShutdown && this.lease !== undefined) {
      // Bounded: a conflict means our own key changed under us, which only this broker does.
      for (let attempt = 0; attempt < 5; attempt++) {
        const current = await store.get(this.key());
        if (current === undefined || current.lease !== this.lease.id) break;
        const res = await store.txn(
          [{ key: this.key(), target: 'mod', result: '=', value: current.modRevision }],
          [{ type: 'put', key: this.key(), value: this.value(true), lease: this.lease.id }],
        );
        if (res.succeeded) {
          this.inControlledShutdown = true;
          logger.info({ nodeId }, 'controlled shutdown requested');
          break;
        }
      }
    }
    const ledBy = (image: MetadataImage): number => image.partitionsLedBy(nodeId).length;
    if (ledBy(loader.image) === 0) return { completed: true, remainingLeaderships: 0 };
    return new Promise<ControlledShutdownResult>((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve({ completed: false, remainingLeaderships: ledBy(loader.image) });
      }, timeoutMs);
      const unsubscribe = loader.onChange((image) => {
        if (ledBy(image) > 0) return;
        clearTimeout(timer);
        unsubscribe();
        resolve({ completed: true, remainingLeaderships: 0 });
      });
    });
  }

  /** Test hook: stop heartbeating without revoking, as a paused process would; the lease then expires. */
  suspendKeepalives(): void {
    this.lease?.suspendKeepalives();
  }

  /** Test hook: stop everything without revoking, as a process killed with -9 would; the lease expires in etcd. */
  abandon(): void {
    this.closed = true;
    this.fenced = true;
    this.lease?.stop();
  }

  /** Revokes the lease (the broker key and any controller key on it are deleted at once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const lease = this.lease;
    this.fenced = true;
    if (lease === undefined) return;
    try {
      await lease.revoke();
    } catch (err) {
      lease.stop();
      this.options.logger.warn({ err: (err as Error).message }, 'could not revoke the broker lease; it will expire');
    }
  }
}
