// The cluster controller: one broker at a time, elected through etcd (Kafka's QuorumController, minus the Raft log,
// which etcd replaces).
//
// Election: every broker tries to create `<p>/controller` on its own lease, create-if-absent, whenever the image
// shows no controller. The winner's epoch is that key's create_revision. The key goes with the lease (a lost or
// revoked broker), and the others then race again. A broker is the active controller while the image (or its own
// winning txn) shows the key with its id and epoch, and its lease is not lost.
//
// While active, every change it writes is a txn conditioned on both `create_revision(<p>/controller) == epoch` and
// the partition key's mod_revision, so two brokers that both believe they are controller for a moment can never
// both write (Kafka fences a stale controller by its epoch the same way), and no write races AlterPartition.
//
// What it does (ReplicationControlManager), each time the image changes and on a timer:
// - Reconcile every partition against the live brokers (PartitionChangeBuilder rules, partition-change.ts): ISR
//   members that are not active (key gone = lease expired = fenced, or in controlled shutdown) are removed from
//   the ISR (never emptying it) and a partition whose leader is not active gets a new one from the ISR, in replica
//   order; unclean election only where the topic's unclean.leader.election.enable (default from the options) is
//   true. A broker that comes back leads again the leaderless partitions whose ISR still holds it (Kafka's
//   handleBrokerUnfenced), and otherwise rejoins ISRs only through its leaders' AlterPartition.
//   This one rule covers Kafka's handleBrokerFenced, handleBrokerInControlledShutdown and handleBrokerUnfenced.
// - Every `leader.imbalance.check.interval.seconds`, when auto.leader.rebalance.enable: a PREFERRED election for
//   each partition whose leader is not replicas[0] (Kafka's maybeBalancePartitionLeaders).
// - A write that loses its CAS is not retried blindly: the image will show the newer state, and the next
//   reconcile (triggered by that change, or the timer) decides again from it.
import type { Logger } from 'pino';
import type { EtcdStore } from './etcd/etcd-store.js';
import type { MetadataImage, MetadataLoader, PartitionImage } from './metadata-image.js';
import type { Membership } from './membership.js';
import { controllerKey, encodeControllerRecord, encodePartitionRecord, partitionKey, type PartitionRecord } from './metadata-records.js';
import { buildPartitionChange, type Election } from './partition-change.js';

export interface ControllerOptions {
  /** auto.leader.rebalance.enable (default true). */
  autoLeaderRebalanceEnable?: boolean;
  /** leader.imbalance.check.interval.seconds, in ms (default 300 000). */
  leaderImbalanceCheckIntervalMs?: number;
  /** The broker default of unclean.leader.election.enable (default false). */
  uncleanLeaderElectionEnable?: boolean;
  /** How often the controller re-checks (campaign, pending reconcile); default 1000 ms. */
  tickIntervalMs?: number;
}

interface ControllerDeps {
  store: EtcdStore;
  loader: MetadataLoader;
  membership: Membership;
  prefix: string;
  nodeId: number;
  logger: Logger;
}

const WRITE_CONCURRENCY = 16;

/** The topic's unclean.leader.election.enable, else the broker default. */
export function uncleanElectionEnabled(image: MetadataImage, topicId: string, brokerDefault: boolean): boolean {
  const value = image.topicById(topicId)?.configs['unclean.leader.election.enable'];
  return value === undefined ? brokerDefault : value === 'true';
}

export class Controller {
  private activeEpoch = -1;
  private closed = false;
  private campaigning = false;
  private reconciling = false;
  private reconcileRequested = false;
  private readonly unsubscribe: () => void;
  private readonly tickTimer: NodeJS.Timeout;
  private readonly imbalanceTimer: NodeJS.Timeout | undefined;
  private readonly options: Required<ControllerOptions>;

  constructor(private readonly deps: ControllerDeps, options: ControllerOptions = {}) {
    this.options = {
      autoLeaderRebalanceEnable: options.autoLeaderRebalanceEnable ?? true,
      leaderImbalanceCheckIntervalMs: options.leaderImbalanceCheckIntervalMs ?? 300_000,
      uncleanLeaderElectionEnable: options.uncleanLeaderElectionEnable ?? false,
      tickIntervalMs: options.tickIntervalMs ?? 1000,
    };
    this.unsubscribe = deps.loader.onChange((image) => this.onImage(image));
    deps.membership.on('fenced', () => this.resign('lease lost'));
    deps.membership.on('registered', () => void this.maybeCampaign());
    this.tickTimer = setInterval(() => this.tick(), this.options.tickIntervalMs);
    this.tickTimer.unref?.();
    if (this.options.autoLeaderRebalanceEnable) {
      this.imbalanceTimer = setInterval(() => void this.balanceLeaders(), this.options.leaderImbalanceCheckIntervalMs);
      this.imbalanceTimer.unref?.();
    }
  }

  /** Starts campaigning (call once the broker is registered). */
  async start(): Promise<void> {
    await this.maybeCampaign();
  }

  /** True while this broker is the elected controller and its lease is alive. */
  get isActive(): boolean {
    return this.activeEpoch >= 0 && !this.deps.membership.isFenced && !this.closed;
  }

  /** The controller epoch while active, else -1. */
  get epoch(): number {
    return this.isActive ? this.activeEpoch : -1;
  }

  private onImage(image: MetadataImage): void {
    if (this.closed) return;
    const c = image.controller;
    if (this.activeEpoch >= 0 && image.revision >= this.activeEpoch && (c === null || c.epoch !== this.activeEpoch)) {
      this.resign(c === null ? 'controller key gone' : `broker ${c.brokerId} is controller`);
    }
    if (c === null) void this.maybeCampaign();
    else if (c.brokerId === this.deps.nodeId && this.activeEpoch < 0 && c.leaseId === this.deps.membership.leaseId) {
      // Our own win, seen in the image before the txn answer (or after a restart of this object).
      this.activeEpoch = c.epoch;
    }
    if (this.isActive) this.requestReconcile();
  }

  private tick(): void {
    if (this.closed) return;
    if (this.deps.loader.image.controller === null) void this.maybeCampaign();
    if (this.isActive && this.reconcileRequested && !this.reconciling) this.requestReconcile();
  }

  private resign(reason: string): void {
    if (this.activeEpoch < 0) return;
    this.deps.logger.info({ nodeId: this.deps.nodeId, epoch: this.activeEpoch, reason }, 'no longer the controller');
    this.activeEpoch = -1;
  }

  private async maybeCampaign(): Promise<void> {
    const { store, loader, membership, prefix, nodeId, logger } = this.deps;
    if (this.closed || this.campaigning || this.activeEpoch >= 0) return;
    const leaseId = membership.leaseId;
    if (leaseId === undefined || loader.image.controller !== null) return;
    this.campaigning = true;
    try {
      const key = controllerKey(prefix);
      const res = await store.txn(
        [{ key, target: 'create', result: '=', value: 0 }],
        [{ type: 'put', key, value: encodeControllerRecord({ brokerId: nodeId }), lease: leaseId }],
      );
      if (res.succeeded && !this.closed && membership.leaseId === leaseId) {
        this.activeEpoch = res.revision;
        logger.info({ nodeId, epoch: res.revision }, 'elected controller');
        this.requestReconcile();
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'controller campaign failed; retrying on the next tick');
    } finally {
      this.campaigning = false;
    }
  }

  /** Runs a reconcile now, or right after the one running. */
  requestReconcile(): void {
    this.reconcileRequested = true;
    if (this.reconciling || !this.isActive) return;
    this.reconciling = true;
    void (async () => {
      try {
        // Bounded: each round handles the image of its start; a new request during a round runs one more.
        while (this.reconcileRequested && this.isActive) {
          this.reconcileRequested = false;
          const ok = await this.reconcile();
          if (!ok) {
            // A failed or lost write: the tick retries (after the image shows the newer state).
            this.reconcileRequested = true;
            break;
          }
        }
      } finally {
        this.reconciling = false;
      }
    })();
  }

  /** One pass over every partition; true when every needed write succeeded. */
  private async reconcile(): Promise<boolean> {
    const image = this.deps.loader.image;
    const changes: Array<{ before: PartitionImage; after: Omit<PartitionRecord, 'version'> }> = [];
    for (const p of image.allPartitions()) {
      const election: Election = uncleanElectionEnabled(image, p.topicId, this.options.uncleanLeaderElectionEnable) ? 'unclean' : 'online';
      const after = buildPartitionChange(p, {
        election,
        isAcceptable: (id) => image.isActive(id),
        targetIsr: p.isr.filter((id) => image.isActive(id)),
      });
      if (after !== undefined) changes.push({ before: p, after });
    }
    return this.writeChanges(changes, 'reconcile');
  }

  /** PREFERRED elections for every partition not led by its preferred replica (auto leader rebalance). */
  async balanceLeaders(): Promise<boolean> {
    if (!this.isActive) return false;
    const image = this.deps.loader.image;
    const changes: Array<{ before: PartitionImage; after: Omit<PartitionRecord, 'version'> }> = [];
    for (const p of image.allPartitions()) {
      if (p.leader === p.replicas[0]) continue;
      const after = buildPartitionChange(p, { election: 'preferred', isAcceptable: (id) => image.isActive(id) });
      if (after !== undefined && after.leader === p.replicas[0]) changes.push({ before: p, after });
    }
    return this.writeChanges(changes, 'preferred leader election');
  }

  private async writeChanges(changes: Array<{ before: PartitionImage; after: Omit<PartitionRecord, 'version'> }>, why: string): Promise<boolean> {
    const { store, prefix, logger } = this.deps;
    const epoch = this.activeEpoch;
    let allOk = true;
    for (let i = 0; i < changes.length && this.isActive; i += WRITE_CONCURRENCY) {
      const batch = changes.slice(i, i + WRITE_CONCURRENCY);
      const results = await Promise.all(
        batch.map(async ({ before, after }) => {
          const key = partitionKey(prefix, before.topicId, before.partition);
          try {
            const res = await store.txn(
              [
                { key: controllerKey(prefix), target: 'create', result: '=', value: epoch },
                { key, target: 'mod', result: '=', value: before.modRevision },
              ],
              [{ type: 'put', key, value: encodePartitionRecord(after) }],
            );
            if (res.succeeded) {
              logger.info(
                { topicId: before.topicId, partition: before.partition, leader: after.leader, leaderEpoch: after.leaderEpoch, isr: after.isr, why },
                'partition leader/isr changed',
              );
            }
            return res.succeeded;
          } catch (err) {
            logger.warn({ topicId: before.topicId, partition: before.partition, err: (err as Error).message }, 'controller write failed');
            return false;
          }
        }),
      );
      if (results.includes(false)) allOk = false;
    }
    return allOk;
  }

  close(): void {
    this.closed = true;
    this.activeEpoch = -1;
    this.unsubscribe();
    clearInterval(this.tickTimer);
    if (this.imbalanceTimer !== undefined) clearInterval(this.imbalanceTimer);
  }
}
