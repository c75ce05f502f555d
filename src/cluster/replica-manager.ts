// This broker's replicas (Kafka's ReplicaManager.applyDelta / makeLeaders / makeFollowers): the partition states the
// cluster metadata gives it are applied to local logs, follower fetchers and leader states, in the order given.
//
//   assignment for a partition we host      what happens
//   leader = us, new leadership or epoch    stop fetching it; its log's HW becomes managed by the leader state;
//                                           the log's epoch is set (recorded at its LEO in the epoch cache); a
//                                           LeaderPartition tracks the followers from now on
//   leader = us, same epoch                 the leader state takes the new ISR / partition epoch
//   leader = another broker                 leader state resigned (acks=all waiters answer NOT_LEADER_OR_FOLLOWER,
//                                           long polls on the partition read again at once and answer the move);
//                                           the partition joins the fetcher of that leader with the new epoch
//                                           (a fetcher per leader broker, created on demand, closed when empty)
//   leader = -1 (offline)                   nothing fetched, nothing served, until a leader is elected
//   no longer a replica / topic deleted     leader or follower state dropped; the caller deletes the log
//
// Handlers ask `leaderOf(topic, partition, currentLeaderEpoch)` (one decision for Produce, Fetch, ListOffsets,
// OffsetForLeaderEpoch …): the leader state, or NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH
// as Kafka's Partition.checkCurrentLeaderEpoch and ReplicaManager.getPartitionOrException answer.
// Every replica.lag.time.max.ms / 2 each leader checks its ISR for followers that fell behind (Kafka's
// isr-expiration task); an ISR change goes through `alterPartition` (the cluster metadata's compare-and-swap).
import type { ClientSecurity } from '../client/security.js';
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { PartitionLog } from '../log/partition-log.js';
import { LeaderPartition, type LeaderAssignment } from './leader-partition.js';
import { ReplicaFetcher, type FollowerLog } from './replica-fetcher.js';

/** One partition's state in the cluster metadata (Kafka's PartitionRecord / PartitionRegistration). */
export interface PartitionAssignment {
  topic: string;
  topicId: Buffer;
  partition: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** -1: no leader (offline). */
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
}

/** What an ISR change needs from the cluster metadata (ClusterMetadata.alterPartition). */
export type AlterPartition = (change: {
  topicId: Buffer;
  partition: number;
  leaderId: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
}) => Promise<unknown>;

/** onLeadershipChange's listener. */
export type LeadershipListener = (topic: string, partition: number, isLeader: boolean, leaderEpoch: number) => void;

/** The log a replica needs: PartitionLog with the replication primitives. */
export type ReplicaLog = PartitionLog & FollowerLog;

export interface ReplicaManagerOptions {
  nodeId: number;
  /** The local log of a partition this broker hosts (created by the caller before it assigns the partition). */
  log: (topic: string, partition: number) => ReplicaLog | undefined;
  /** Where a broker's inter-broker listener is (its registration's endpoint of that listener). */
  brokerEndpoint: (brokerId: number) => { host: string; port: number } | undefined;
  /** How fetch connections are secured (inter-broker-security.ts); undefined: PLAINTEXT. */
  security?: ClientSecurity;
  brokerEpoch: () => bigint;
  alterPartition: AlterPartition;
  /** Whether a broker may join an ISR: registered, not fenced, not in controlled shutdown (Kafka's isReplicaIsrEligible). */
  isReplicaEligible: (brokerId: number) => boolean;
  /** The topic's effective min.insync.replicas (for the UnderMinIsr gauge). */
  minInSyncReplicas: (topic: string) => number;
  /** replica.lag.time.max.ms (30000). */
  replicaLagTimeMaxMs: number;
  /** The high watermark the last run checkpointed for a partition (high-watermark-checkpoint.ts). */
  checkpointedHighWatermark?: (topic: string, partition: number) => bigint | undefined;
  /** replica.fetch.wait.max.ms (500), replica.fetch.min.bytes (1), replica.fetch.max.bytes (1 MiB),
   *  replica.fetch.response.max.bytes (10 MiB), replica.fetch.backoff.ms (1000), replica.socket.timeout.ms (30000). */
  fetch: { maxWaitMs: number; minBytes: number; partitionMaxBytes: number; maxBytes: number; backoffMs: number; requestTimeoutMs: number };
  logger: Logger;
}

interface HostedPartition {
  assignment: PartitionAssignment;
  leader: LeaderPartition | undefined;
  /** Removes the log's LEO listener that feeds the leader state. */
  unlisten: (() => void) | undefined;
  /** The fetcher's leader while following. */
  followingLeader: number | undefined;
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class ReplicaManager {
  private readonly hosted = new Map<string, HostedPartition>();
  private readonly fetchers = new Map<number, ReplicaFetcher>();
  private readonly isrTimer: NodeJS.Timeout;
  /** Set while this broker's registration is lost (fenced): it accepts no writes (NOT_LEADER_OR_FOLLOWER). */
  private fenced = false;
  /** onLeadershipChange listeners (the group and transaction coordinators follow their internal partitions). */
  private readonly leadershipListeners = new Set<LeadershipListener>();
  private closed = false;

  constructor(private readonly options: ReplicaManagerOptions) {
    this.isrTimer = setInterval(() => this.checkIsrs(), Math.max(50, Math.floor(options.replicaLagTimeMaxMs / 2)));
    this.isrTimer.unref();
  }

  /**
   * Apply partition states in metadata order; partitions not naming this broker as a replica are dropped. Resolves
   * once each is applied (a partition leaving a fetcher waits for the response being applied to it).
   */
  async apply(assignments: readonly PartitionAssignment[]): Promise<void> {
    if (this.closed) return;
    for (const a of assignments) {
      if (a.replicas.includes(this.options.nodeId)) await this.applyOne(a);
      else await this.remove(a.topic, a.partition);
    }
  }

  private async applyOne(a: PartitionAssignment): Promise<void> {
    const k = key(a.topic, a.partition);
    const log = this.options.log(a.topic, a.partition);
    if (log === undefined) {
      this.options.logger.warn({ topic: a.topic, partition: a.partition }, 'assigned a partition whose log is not open; skipped');
      return;
    }
    let hosted = this.hosted.get(k);
    if (hosted === undefined) {
      hosted = { assignment: a, leader: undefined, unlisten: undefined, followingLeader: undefined };
      this.hosted.set(k, hosted);
    }
    const previous = hosted.assignment;
    hosted.assignment = a;
    if (a.leader === this.options.nodeId) {
      if (hosted.leader !== undefined && hosted.leader.leaderEpoch === a.leaderEpoch) {
        hosted.leader.updateAssignment(toLeaderAssignment(a));
        return;
      }
      await this.makeLeader(hosted, log, a);
      return;
    }
    this.resignLeadership(hosted);
    if (a.leader < 0) {
      await this.stopFollowing(hosted);
      return;
    }
    const endpoint = this.options.brokerEndpoint(a.leader);
    const fetcher = this.fetchers.get(a.leader);
    const sameEndpoint = fetcher !== undefined && endpoint !== undefined && fetcher.leaderHost === endpoint.host && fetcher.leaderPort === endpoint.port;
    if (hosted.followingLeader === a.leader && previous.leaderEpoch === a.leaderEpoch && sameEndpoint && fetcher.has(a.topic, a.partition)) return;
    await this.makeFollower(hosted, log, a);
  }

  /**
   * The log's high watermark becomes managed here. The first time (at startup the log's HW is its LEO, which may hold
   * records the ISR never had) it starts at its checkpointed value (high-watermark-checkpoint.ts), bounded by the
   * log start and end offsets, or at the log start offset without one, as Kafka's; a leader moves it up as soon as
   * its followers' offsets are known, a follower takes its leader's.
   */
  private manageHighWatermark(log: ReplicaLog): void {
    if (log.isHighWatermarkManaged) return;
    const checkpointed = this.options.checkpointedHighWatermark?.(log.topic, log.partition);
    let start = checkpointed ?? log.logStartOffset;
    if (start < log.logStartOffset) start = log.logStartOffset;
    if (start > log.logEndOffset) start = log.logEndOffset;
    log.setHighWatermarkManaged(true, start);
  }

  /** The high watermark of every partition replicated here, for the checkpoint file. */
  highWatermarks(): Array<{ topic: string; partition: number; offset: bigint }> {
    const out: Array<{ topic: string; partition: number; offset: bigint }> = [];
    for (const hosted of this.hosted.values()) {
      const { topic, partition } = hosted.assignment;
      const log = this.options.log(topic, partition);
      if (log !== undefined && log.isHighWatermarkManaged) out.push({ topic, partition, offset: log.highWatermark });
    }
    return out;
  }

  private async makeLeader(hosted: HostedPartition, log: ReplicaLog, a: PartitionAssignment): Promise<void> {
    await this.stopFollowing(hosted);
    this.resignLeadership(hosted);
    this.manageHighWatermark(log);
    log.leaderEpoch = a.leaderEpoch;
    const leader = new LeaderPartition(
      a.topic,
      a.partition,
      this.options.nodeId,
      log,
      toLeaderAssignment(a),
      (newIsr) => this.proposeIsr(hosted, leader, newIsr),
      undefined,
      (id) => this.options.isReplicaEligible(id),
    );
    hosted.leader = leader;
    hosted.unlisten = log.onLogEndOffsetAdvanced(() => leader.onLocalWrite());
    this.options.logger.info({ topic: a.topic, partition: a.partition, leaderEpoch: a.leaderEpoch, isr: a.isr }, 'became leader');
    this.notifyLeadership(a.topic, a.partition, true, a.leaderEpoch);
  }

  private async makeFollower(hosted: HostedPartition, log: ReplicaLog, a: PartitionAssignment): Promise<void> {
    await this.stopFollowing(hosted);
    // A follower's epochs come with the leader's batches (appendAsFollower); its own epoch is never set here.
    this.manageHighWatermark(log);
    const endpoint = this.options.brokerEndpoint(a.leader);
    if (endpoint === undefined) {
      // Applied again when the leader's registration shows up (cluster-member.ts re-applies on broker changes).
      this.options.logger.warn({ topic: a.topic, partition: a.partition, leader: a.leader }, 'the leader has no known endpoint on the inter-broker listener; not fetching');
      return;
    }
    let fetcher = this.fetchers.get(a.leader);
    if (fetcher !== undefined && (fetcher.leaderHost !== endpoint.host || fetcher.leaderPort !== endpoint.port)) {
      // The leader registered again elsewhere: its partitions move to a fetcher for the new endpoint.
      this.fetchers.delete(a.leader);
      void fetcher.close();
      for (const h of this.hosted.values()) if (h !== hosted && h.followingLeader === a.leader) h.followingLeader = undefined;
      fetcher = undefined;
    }
    if (fetcher === undefined) {
      const f = this.options.fetch;
      fetcher = new ReplicaFetcher({
        leaderId: a.leader,
        leaderHost: endpoint.host,
        leaderPort: endpoint.port,
        localBrokerId: this.options.nodeId,
        brokerEpoch: this.options.brokerEpoch,
        clusterClientId: `broker-${this.options.nodeId}-fetcher-${a.leader}`,
        maxWaitMs: f.maxWaitMs,
        minBytes: f.minBytes,
        maxBytes: f.maxBytes,
        partitionMaxBytes: f.partitionMaxBytes,
        backoffMs: f.backoffMs,
        requestTimeoutMs: f.requestTimeoutMs,
        security: this.options.security,
        logger: this.options.logger,
      });
      this.fetchers.set(a.leader, fetcher);
    }
    fetcher.addPartition({ topic: a.topic, topicId: a.topicId, partition: a.partition, leaderEpoch: a.leaderEpoch, log });
    hosted.followingLeader = a.leader;
    this.options.logger.info({ topic: a.topic, partition: a.partition, leader: a.leader, leaderEpoch: a.leaderEpoch }, 'became follower');
  }

  private async stopFollowing(hosted: HostedPartition): Promise<void> {
    const leaderId = hosted.followingLeader;
    if (leaderId === undefined) return;
    hosted.followingLeader = undefined;
    const fetcher = this.fetchers.get(leaderId);
    if (fetcher === undefined) return;
    await fetcher.removePartition(hosted.assignment.topic, hosted.assignment.partition);
    if (fetcher.partitionCount === 0 && this.fetchers.get(leaderId) === fetcher) {
      this.fetchers.delete(leaderId);
      void fetcher.close();
    }
  }

  private resignLeadership(hosted: HostedPartition): void {
    hosted.unlisten?.();
    hosted.unlisten = undefined;
    const leader = hosted.leader;
    if (leader === undefined) return;
    leader.resign();
    hosted.leader = undefined;
    // Long polls on the partition (consumers, and followers fetching from here) read again now and learn of the
    // move, instead of waiting out their max_wait_ms (Kafka completes such a DelayedFetch at once).
    this.options.log(leader.topic, leader.partition)?.leadershipChanged();
    this.notifyLeadership(leader.topic, leader.partition, false, leader.leaderEpoch);
  }

  /**
   * Calls `listener(topic, partition, isLeader, leaderEpoch)` each time this broker becomes leader of a partition
   * (after its leader state exists, so leaderOf() answers it) and each time it stops leading one (after the leader
   * state is resigned): Kafka's onElection / onResignation of the coordinators. A new leader epoch while leading is
   * a resignation then an election. Returns a function that removes the listener.
   */
  onLeadershipChange(listener: LeadershipListener): () => void {
    this.leadershipListeners.add(listener);
    return () => this.leadershipListeners.delete(listener);
  }

  private notifyLeadership(topic: string, partition: number, isLeader: boolean, leaderEpoch: number): void {
    for (const listener of this.leadershipListeners) {
      try {
        listener(topic, partition, isLeader, leaderEpoch);
      } catch (err) {
        this.options.logger.error({ err, topic, partition, isLeader }, 'a leadership listener failed');
      }
    }
  }

  /** The partition is no longer ours (deleted, or moved away): stop serving and fetching it. */
  async remove(topic: string, partition: number): Promise<void> {
    const k = key(topic, partition);
    const hosted = this.hosted.get(k);
    if (hosted === undefined) return;
    this.hosted.delete(k);
    this.resignLeadership(hosted);
    await this.stopFollowing(hosted);
  }

  /** Partitions hosted here that follow `leaderId` or wait for it (re-applied when its registration changes). */
  partitionsLedBy(leaderId: number): PartitionAssignment[] {
    return [...this.hosted.values()].filter((h) => h.assignment.leader === leaderId).map((h) => h.assignment);
  }

  private proposeIsr(hosted: HostedPartition, leader: LeaderPartition, newIsr: readonly number[]): void {
    const a = hosted.assignment;
    this.options
      .alterPartition({ topicId: a.topicId, partition: a.partition, leaderId: this.options.nodeId, leaderEpoch: a.leaderEpoch, partitionEpoch: a.partitionEpoch, newIsr: [...newIsr] })
      .catch((err: unknown) => {
        // Overtaken by another change (the metadata brings it) or refused: tried again after a pause. Only this
        // proposal's failure clears it (Kafka ignores a failure when the partition state moved on).
        if (hosted.leader === leader) leader.isrChangeFailed(newIsr);
        this.options.logger.info({ err, topic: a.topic, partition: a.partition, newIsr }, 'ISR change not applied');
      });
  }

  private checkIsrs(): void {
    if (this.fenced) return;
    for (const hosted of this.hosted.values()) {
      const removed = hosted.leader?.maybeShrinkIsr(this.options.replicaLagTimeMaxMs);
      if (removed !== undefined && removed.length > 0) {
        this.options.logger.info({ topic: hosted.assignment.topic, partition: hosted.assignment.partition, removed }, 'shrinking the ISR: followers out of sync');
      }
    }
  }

  /** The lease was lost (or found again): a fenced broker accepts no writes and does not change ISRs. */
  setFenced(fenced: boolean): void {
    this.fenced = fenced;
  }

  get isFenced(): boolean {
    return this.fenced;
  }

  /**
   * The leader state for a request addressed to `topic`-`partition`, checking the client's leader epoch (KIP-320;
   * undefined = none: the caller maps the API's "no epoch" values to undefined). Throws NOT_LEADER_OR_FOLLOWER when this broker is not the leader (or is fenced
   * and `forWrite`), FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH for an older / newer epoch.
   */
  leaderOf(topic: string, partition: number, currentLeaderEpoch?: number, forWrite = false): LeaderPartition {
    const hosted = this.hosted.get(key(topic, partition));
    const ourEpoch = hosted?.assignment.leaderEpoch;
    if (currentLeaderEpoch !== undefined && ourEpoch !== undefined && currentLeaderEpoch !== ourEpoch) {
      throw new KafkaError(currentLeaderEpoch < ourEpoch ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH);
    }
    const leader = hosted?.leader;
    if (leader === undefined || (forWrite && this.fenced)) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `this broker (${this.options.nodeId}) is not the leader of ${topic}-${partition}`);
    }
    return leader;
  }

  /** The partition's assignment as last applied (undefined when not hosted here). */
  assignment(topic: string, partition: number): PartitionAssignment | undefined {
    return this.hosted.get(key(topic, partition))?.assignment;
  }

  /** Leaders here whose ISR is smaller than their replica set (Kafka's UnderReplicatedPartitions). */
  get underReplicatedCount(): number {
    let n = 0;
    for (const h of this.hosted.values()) if (h.leader?.isUnderReplicated) n++;
    return n;
  }

  /** Leaders here whose ISR is below the topic's min.insync.replicas (Kafka's UnderMinIsrPartitionCount). */
  get underMinIsrCount(): number {
    let n = 0;
    for (const h of this.hosted.values()) if (h.leader !== undefined && h.leader.isr.length < this.options.minInSyncReplicas(h.assignment.topic)) n++;
    return n;
  }

  get leaderCount(): number {
    let n = 0;
    for (const h of this.hosted.values()) if (h.leader !== undefined) n++;
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.isrTimer);
    for (const hosted of this.hosted.values()) this.resignLeadership(hosted);
    this.hosted.clear();
    await Promise.all([...this.fetchers.values()].map((f) => f.close()));
    this.fetchers.clear();
  }
}

function toLeaderAssignment(a: PartitionAssignment): LeaderAssignment {
  return { leaderEpoch: a.leaderEpoch, partitionEpoch: a.partitionEpoch, replicas: a.replicas, isr: a.isr };
}
