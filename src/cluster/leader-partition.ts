// The leader's side of one replicated partition (Kafka's Partition.scala as leader): what each follower has
// fetched, the high watermark that follows from it, ISR changes, and the acks=all produce requests waiting for it.
//
//   event                                   what happens (Kafka 3.9)
//   follower fetches at offset F            its log end offset (LEO) is F; it is caught up when F reaches the
//                                           leader's LEO now (or the LEO the leader had at its previous fetch)
//                                           (Replica.updateFetchStateOrThrow)
//   a write or a follower fetch             HW = min LEO over the ISR, the leader included; it only moves up
//                                           (Partition.maybeIncrementLeaderHW); acks=all waiters at or below it
//                                           are answered (DelayedProduce)
//   follower out of the ISR reaches HW,     AlterPartition adds it (Partition.maybeExpandIsr; it must also have
//   at or past this epoch's start offset    reached the leader epoch's start offset)
//   an ISR follower not caught up for       AlterPartition removes it (Partition.maybeShrinkIsr, checked every
//   replica.lag.time.max.ms                 replica.lag.time.max.ms / 2 by the replica manager)
//
// While an AlterPartition is in flight the HW is computed over the "maximal ISR" (the committed ISR plus a follower
// being added), as Kafka's PendingExpandIsr does, and no second change starts. acks=all answers with the ISR known
// when the write was appended: fewer than min.insync.replicas before the append is NOT_ENOUGH_REPLICAS (checked by
// the caller before appending), after it NOT_ENOUGH_REPLICAS_AFTER_APPEND (DelayedProduce's check).
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';

/** What the leader knows of one follower (Kafka's ReplicaState). */
interface FollowerState {
  logEndOffset: bigint;
  /** When it was last caught up with the leader's LEO (ms); -1 never (a follower starts "lagging since now"). */
  lastCaughtUpTimeMs: number;
  lastFetchTimeMs: number;
  /** The leader's LEO at this follower's previous fetch (Kafka's lastFetchLeaderLogEndOffset). */
  lastFetchLeaderLogEndOffset: bigint;
  /** The broker epoch it sent in ReplicaState (v15+): a fetch from an older incarnation is refused. */
  brokerEpoch: bigint;
  /** The log start offset its last fetch reported (-1 until it fetched), for the low watermark. */
  logStartOffset: bigint;
}

interface LowWatermarkWaiter {
  /** Answered once the low watermark reaches this offset. */
  offset: bigint;
  resolve(lowWatermark: bigint): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface HighWatermarkWaiter {
  /** Answered once the HW is above this offset. */
  offset: bigint;
  /** min.insync.replicas: an ISR smaller than this when the HW gets there is NOT_ENOUGH_REPLICAS_AFTER_APPEND. */
  minInSyncReplicas: number;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The partition's state in the cluster metadata as this leader last saw it. */
export interface LeaderAssignment {
  leaderEpoch: number;
  partitionEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
}

/** The log operations the leader state needs (PartitionLog in managed-high-watermark mode). */
export interface ReplicatedLog {
  readonly logEndOffset: bigint;
  readonly logStartOffset: bigint;
  readonly highWatermark: bigint;
  updateHighWatermark(offset: bigint): void;
}

/** How an ISR change is proposed (the replica manager turns it into ClusterMetadata.alterPartition). */
export type IsrChangeProposer = (newIsr: readonly number[], reason: 'expand' | 'shrink') => void;

/** Pause after a refused ISR change before the next proposal (Kafka retries AlterPartition with a backoff). */
const ISR_CHANGE_RETRY_BACKOFF_MS = 500;

export class LeaderPartition {
  private assignment: LeaderAssignment;
  /** The offset this leader epoch started at (its LEO when it became leader): followers must reach it to join. */
  private readonly epochStartOffset: bigint;
  private readonly followers = new Map<number, FollowerState>();
  /** An ISR change sent and not yet seen in the metadata: [the proposed ISR]. */
  private pendingIsr: readonly number[] | undefined;
  private readonly waiters = new Set<HighWatermarkWaiter>();
  private readonly lowWatermarkWaiters = new Set<LowWatermarkWaiter>();
  private resigned = false;
  /** After a refused ISR change, none is proposed again before this time (ms). */
  private isrChangeRetryAtMs = 0;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly localBrokerId: number,
    private readonly log: ReplicatedLog,
    assignment: LeaderAssignment,
    private readonly proposeIsrChange: IsrChangeProposer,
    private readonly clock: () => number = Date.now,
    /** Whether a broker may join the ISR now (registered, not fenced, not shutting down); default: any replica. */
    private readonly isEligible: (brokerId: number) => boolean = () => true,
  ) {
    this.assignment = assignment;
    this.epochStartOffset = log.logEndOffset;
    const now = this.clock();
    for (const id of assignment.replicas) {
      if (id === localBrokerId) continue;
      // Kafka's makeLeader resets every follower: unknown LEO, caught up "now" if in the ISR (so it is not
      // removed before it has had replica.lag.time.max.ms to fetch), never otherwise.
      const inIsr = assignment.isr.includes(id);
      this.followers.set(id, {
        logEndOffset: -1n,
        logStartOffset: -1n,
        lastCaughtUpTimeMs: inIsr ? now : -1,
        lastFetchTimeMs: -1,
        lastFetchLeaderLogEndOffset: -1n,
        brokerEpoch: -1n,
      });
    }
    this.maybeIncrementHighWatermark();
  }

  get leaderEpoch(): number {
    return this.assignment.leaderEpoch;
  }

  get isr(): readonly number[] {
    return this.assignment.isr;
  }

  get replicas(): readonly number[] {
    return this.assignment.replicas;
  }

  /** The ISR the HW is computed over: the committed one plus a follower being added (Kafka's maximalIsr). */
  private get maximalIsr(): readonly number[] {
    return this.pendingIsr !== undefined && this.pendingIsr.length > this.assignment.isr.length ? this.pendingIsr : this.assignment.isr;
  }

  /** The metadata moved on (same leader epoch): a new ISR or partition epoch. Clears a pending change it settles. */
  updateAssignment(assignment: LeaderAssignment): void {
    this.assignment = assignment;
    this.pendingIsr = undefined;
    for (const id of assignment.replicas) {
      if (id !== this.localBrokerId && !this.followers.has(id)) {
        this.followers.set(id, { logEndOffset: -1n, logStartOffset: -1n, lastCaughtUpTimeMs: -1, lastFetchTimeMs: -1, lastFetchLeaderLogEndOffset: -1n, brokerEpoch: -1n });
      }
    }
    for (const id of this.followers.keys()) if (!assignment.replicas.includes(id)) this.followers.delete(id);
    this.maybeIncrementHighWatermark();
  }

  /**
   * The AlterPartition proposing `proposed` failed or was overtaken. Cleared only if it is still the pending one (a
   * late failure must not clear a newer proposal, Partition.handleAlterPartitionError); the next attempt waits a
   * little, so a refused change is not proposed again on every fetch.
   */
  isrChangeFailed(proposed: readonly number[]): void {
    if (this.pendingIsr !== proposed) return;
    this.pendingIsr = undefined;
    this.isrChangeRetryAtMs = this.clock() + ISR_CHANGE_RETRY_BACKOFF_MS;
  }

  /**
   * Before a follower's read (Kafka's Partition.followerReplicaOrThrow): a broker that is not a replica is
   * UNKNOWN_LEADER_EPOCH when its request carries a leader epoch (it may be a replica being added, and retries),
   * NOT_LEADER_OR_FOLLOWER otherwise.
   */
  checkReplica(replicaId: number, requestHasLeaderEpoch: boolean): void {
    if (this.followers.has(replicaId)) return;
    throw new KafkaError(
      requestHasLeaderEpoch ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.NOT_LEADER_OR_FOLLOWER,
      `Received fetch request from broker ${replicaId} for partition ${this.topic}-${this.partition} which is not a replica`,
    );
  }

  /**
   * A follower fetched at `fetchOffset`, its log starting at `followerLogStartOffset` (Kafka's
   * Partition.updateFollowerFetchState). Throws NOT_LEADER_OR_FOLLOWER for a broker that is not a replica, or whose
   * broker epoch is older than one it already fetched with.
   */
  recordFollowerFetch(replicaId: number, brokerEpoch: bigint, fetchOffset: bigint, followerLogStartOffset = -1n): void {
    const follower = this.followers.get(replicaId);
    if (follower === undefined) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Received fetch request from broker ${replicaId} for partition ${this.topic}-${this.partition} which is not a replica`,
      );
    }
    if (brokerEpoch >= 0n && follower.brokerEpoch > brokerEpoch) {
      throw new KafkaError(
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
        `Received fetch request from broker ${replicaId} for partition ${this.topic}-${this.partition} with a stale broker epoch ${brokerEpoch}`,
      );
    }
    const now = this.clock();
    const leaderEnd = this.log.logEndOffset;
    if (fetchOffset >= leaderEnd) follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, now);
    else if (fetchOffset >= follower.lastFetchLeaderLogEndOffset && follower.lastFetchTimeMs >= 0) {
      follower.lastCaughtUpTimeMs = Math.max(follower.lastCaughtUpTimeMs, follower.lastFetchTimeMs);
    }
    follower.logEndOffset = fetchOffset;
    follower.logStartOffset = followerLogStartOffset;
    follower.lastFetchTimeMs = now;
    follower.lastFetchLeaderLogEndOffset = leaderEnd;
    if (brokerEpoch >= 0n) follower.brokerEpoch = brokerEpoch;
    this.maybeExpandIsr(replicaId, follower);
    this.maybeIncrementHighWatermark();
    this.answerLowWatermarkWaiters();
  }

  /**
   * Kafka's Partition.lowWatermarkIfLeader: the lowest log start offset of the leader and of every follower on a
   * live broker (-1 for one that has not fetched yet), i.e. the offset below which every live replica has deleted.
   */
  get lowWatermark(): bigint {
    let low = this.log.logStartOffset;
    for (const [id, f] of this.followers) {
      if (id === this.localBrokerId || !this.isEligible(id)) continue;
      if (f.logStartOffset < low) low = f.logStartOffset;
    }
    return low;
  }

  /**
   * DeleteRecords (Kafka's DelayedDeleteRecords): resolves with the low watermark once it reaches `offset`, i.e. every
   * live replica moved its log start there; REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if
   * leadership moves first. The leader's own log start offset must already be there.
   */
  waitForLowWatermark(offset: bigint, timeoutMs: number): Promise<bigint> {
    if (this.resigned) return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `no longer the leader of ${this.topic}-${this.partition}`));
    const now = this.lowWatermark;
    if (now >= offset) return Promise.resolve(now);
    return new Promise<bigint>((resolve, reject) => {
      const waiter: LowWatermarkWaiter = {
        offset,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.lowWatermarkWaiters.delete(waiter);
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the replicas of ${this.topic}-${this.partition} did not delete below ${offset} in ${timeoutMs} ms`));
        }, Math.max(0, Math.min(timeoutMs, 0x7fffffff))),
      };
      this.lowWatermarkWaiters.add(waiter);
    });
  }

  private answerLowWatermarkWaiters(): void {
    if (this.lowWatermarkWaiters.size === 0) return;
    const low = this.lowWatermark;
    for (const waiter of [...this.lowWatermarkWaiters]) {
      if (low >= waiter.offset) {
        this.lowWatermarkWaiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve(low);
      }
    }
  }

  /** The leader's own log end offset moved (a write completed). */
  onLocalWrite(): void {
    this.maybeIncrementHighWatermark();
  }

  private maybeExpandIsr(replicaId: number, follower: FollowerState): void {
    if (this.pendingIsr !== undefined || this.assignment.isr.includes(replicaId)) return;
    if (this.clock() < this.isrChangeRetryAtMs) return;
    const hw = this.log.highWatermark;
    if (follower.logEndOffset < hw || follower.logEndOffset < this.epochStartOffset) return;
    if (!this.isEligible(replicaId)) return;
    const proposed = [...this.assignment.isr, replicaId];
    this.pendingIsr = proposed;
    this.proposeIsrChange(proposed, 'expand');
  }

  /**
   * Followers in the ISR that have not caught up for `maxLagMs` leave it (Kafka's maybeShrinkIsr/getOutOfSyncReplicas).
   * Returns the ids removed, if a change was proposed.
   */
  maybeShrinkIsr(maxLagMs: number): number[] {
    if (this.pendingIsr !== undefined || this.clock() < this.isrChangeRetryAtMs) return [];
    const now = this.clock();
    const leaderEnd = this.log.logEndOffset;
    const outOfSync = this.assignment.isr.filter((id) => {
      if (id === this.localBrokerId) return false;
      const f = this.followers.get(id);
      if (f === undefined) return true;
      // Kafka's Replica.isCaughtUp: a follower at the leader's log end is in sync however long ago it fetched.
      if (f.logEndOffset === leaderEnd) return false;
      return now - f.lastCaughtUpTimeMs > maxLagMs;
    });
    if (outOfSync.length === 0) return [];
    const newIsr = this.assignment.isr.filter((id) => !outOfSync.includes(id));
    this.pendingIsr = newIsr;
    this.proposeIsrChange(newIsr, 'shrink');
    return outOfSync;
  }

  /** HW = min LEO over the (maximal) ISR; moves up only (Partition.maybeIncrementLeaderHW). */
  private maybeIncrementHighWatermark(): void {
    let hw = this.log.logEndOffset;
    for (const id of this.maximalIsr) {
      if (id === this.localBrokerId) continue;
      const f = this.followers.get(id);
      const leo = f === undefined ? -1n : f.logEndOffset;
      if (leo < hw) hw = leo;
    }
    if (hw > this.log.highWatermark) {
      this.log.updateHighWatermark(hw);
      this.answerWaiters();
    }
  }

  private answerWaiters(): void {
    if (this.waiters.size === 0) return;
    const hw = this.log.highWatermark;
    for (const waiter of [...this.waiters]) {
      if (waiter.offset < hw) {
        this.waiters.delete(waiter);
        clearTimeout(waiter.timer);
        if (this.assignment.isr.length < waiter.minInSyncReplicas) waiter.reject(this.notEnoughReplicasAfterAppend(waiter.minInSyncReplicas));
        else waiter.resolve();
      }
    }
  }

  /**
   * acks=all: resolves once the HW is above `lastOffset` (every ISR member has it); REQUEST_TIMED_OUT after
   * `timeoutMs`, NOT_LEADER_OR_FOLLOWER if leadership moves first.
   */
  waitForHighWatermark(lastOffset: bigint, timeoutMs: number, minInSyncReplicas: number): Promise<void> {
    if (this.resigned) return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `no longer the leader of ${this.topic}-${this.partition}`));
    if (lastOffset < this.log.highWatermark) {
      return this.assignment.isr.length < minInSyncReplicas ? Promise.reject(this.notEnoughReplicasAfterAppend(minInSyncReplicas)) : Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: HighWatermarkWaiter = {
        offset: lastOffset,
        minInSyncReplicas,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `the in-sync replicas of ${this.topic}-${this.partition} did not acknowledge in ${timeoutMs} ms`));
        }, Math.max(0, Math.min(timeoutMs, 0x7fffffff))),
      };
      this.waiters.add(waiter);
    });
  }

  /**
   * acks=all before the append (Partition.appendRecordsToLeader): an ISR smaller than min.insync.replicas refuses
   * the write with NOT_ENOUGH_REPLICAS.
   */
  checkEnoughReplicas(minInSyncReplicas: number): void {
    const size = this.assignment.isr.length;
    if (size < minInSyncReplicas) {
      throw new KafkaError(
        ErrorCode.NOT_ENOUGH_REPLICAS,
        `The size of the current ISR Set(${this.assignment.isr.join(', ')}) is insufficient to satisfy the min.isr requirement of ${minInSyncReplicas} for partition ${this.topic}-${this.partition}`,
      );
    }
  }

  private notEnoughReplicasAfterAppend(minInSyncReplicas: number): KafkaError {
    return new KafkaError(
      ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      `The size of the current ISR Set(${this.assignment.isr.join(', ')}) is insufficient to satisfy the min.isr requirement of ${minInSyncReplicas} for partition ${this.topic}-${this.partition}`,
    );
  }

  /** Leadership moved away or the partition is closing: every waiter fails as Kafka's DelayedProduce does. */
  resign(): void {
    this.resigned = true;
    for (const waiter of [...this.waiters, ...this.lowWatermarkWaiters]) {
      clearTimeout(waiter.timer);
      waiter.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `no longer the leader of ${this.topic}-${this.partition}`));
    }
    this.waiters.clear();
    this.lowWatermarkWaiters.clear();
  }

  /** Replicas lagging behind the leader's LEO that are out of the ISR (for under-replicated counts). */
  get isUnderReplicated(): boolean {
    return this.assignment.isr.length < this.assignment.replicas.length;
  }

  /** Each follower's LEO as the leader knows it (-1: not fetched yet), for DescribeProducers-like diagnostics. */
  followerEndOffsets(): Map<number, bigint> {
    return new Map([...this.followers].map(([id, f]) => [id, f.logEndOffset]));
  }
}
