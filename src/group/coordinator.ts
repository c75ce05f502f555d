// The group coordinator: group id → Group, the checks Kafka makes before touching a group, committed offsets and
// their durability, offset expiry, and the admin views (describe, list, delete).
//
// A single broker coordinates every group. Loading: `GroupCoordinator.open()` replays `__consumer_offsets`
// (offsets-topic.ts, which first migrates an older data dir's groups.log) before it returns, and `createBroker`
// opens it before the server listens, so clients never see a half-loaded coordinator; the COORDINATOR_LOAD_IN_PROGRESS answers below exist for the window Kafka has, and
// are exercised by tests that call the coordinator before `load()` finishes.
//
// In a cluster (`replication`; Kafka's GroupCoordinator.onElection / onResignation) this broker coordinates the
// groups of the `__consumer_offsets` partitions it leads, and only while it leads them:
// | leadership event (cluster/replica-manager.ts)  | what happens                                                |
// |------------------------------------------------|-------------------------------------------------------------|
// | becomes leader of partition P at epoch E       | P's groups answer COORDINATOR_LOAD_IN_PROGRESS while P is   |
// |                                                | read from its log (loads run one after another), then are   |
// |                                                | served; a load overtaken by a newer event is dropped         |
// | stops leading P                                | P's groups are unloaded: waiting JoinGroup/SyncGroup answer |
// |                                                | NOT_COORDINATOR, timers stop, the state is forgotten (the   |
// |                                                | new leader reloads it from the replicated log)              |
// A group whose partition this broker does not lead answers NOT_COORDINATOR. Writes wait for the ISR
// (internal-topic-log.ts) and fail as GroupMetadataManager maps them: NOT_LEADER_OR_FOLLOWER → NOT_COORDINATOR,
// NOT_ENOUGH_REPLICAS(_AFTER_APPEND) → COORDINATOR_NOT_AVAILABLE, REQUEST_TIMED_OUT → itself for offsets and
// REBALANCE_IN_PROGRESS for group metadata.
//
// Group status checks (Kafka's validateGroupStatus), in order:
// | condition                                                           | error                          |
// |---------------------------------------------------------------------|--------------------------------|
// | empty group id (allowed for OffsetCommit/OffsetFetch/Describe/Delete) | INVALID_GROUP_ID             |
// | coordinator shut down                                               | COORDINATOR_NOT_AVAILABLE      |
// | offsets still loading (cluster: the group's partition is loading)   | COORDINATOR_LOAD_IN_PROGRESS   |
// | cluster: this broker does not lead the group's partition            | NOT_COORDINATOR                |
// SyncGroup turns LOAD_IN_PROGRESS into REBALANCE_IN_PROGRESS and Heartbeat into NONE, as Kafka does (old clients
// do not expect the error there).
//
// Durability: a commit is acknowledged only after its record is written to `__consumer_offsets` (and fsynced under
// the broker's acks=all fsync rule, flush.on.ack.all); the in-memory offset changes only then,
// so OffsetFetch never returns an offset that a crash could take back. Group metadata (generation, members,
// assignments) is written when a generation's assignment is stored and when a group becomes empty, as Kafka
// does; after a restart a Stable group is loaded with its members, whose sessions restart, so consumers that
// still heartbeat continue without a rebalance and the others expire.
//
// Offset expiry (offsets.retention.minutes, Kafka 2.1+ / KIP-211), checked every
// offsets.retention.check.interval.ms:
// | group                                      | an offset expires when                                           |
// |--------------------------------------------|------------------------------------------------------------------|
// | Empty, with a protocol type                | retention has passed since the group became Empty                |
// | no protocol type (simple consumer commits) | retention has passed since the offset was committed              |
// | Stable "consumer" group, known subscription| topic not subscribed and retention passed since its commit       |
// | anything else                              | never                                                            |
// An offset committed with an explicit retention (OffsetCommit v2–v4 retention_time_ms) expires at its expire
// timestamp instead, within the same rows, even when that is negative (an overflowed now + retention, as in Kafka).
// A v1 commit_timestamp only replaces the commit time the rows measure from (Kafka 3.9 GroupCoordinatorAdapter).
// Commits in flight never expire. An Empty group left with no offsets becomes Dead and is removed (a tombstone is
// written).
//
// A deleted topic's committed offsets are removed from every group (removeOffsetsOfTopic, called by DeleteTopics,
// as Kafka's handleDeletedPartitions), with any transactional offset still pending for its partitions.
//
// Transactional offset commits (TxnOffsetCommit, KIP-98; Kafka's handleTxnCommitOffsets): validated as Kafka's
// validateOffsetCommit(isTransactional = true) does (Group.validateTxnOffsetCommit), a group that does not exist is
// created Empty, and the offsets are appended to the group's `__consumer_offsets` partition as a transactional
// batch of the producer before the answer; they stay pending for (group, producerId) until the transaction's
// marker is written to that partition: completeTransaction then makes them current (COMMIT) or drops them (ABORT).
// A restart in between reloads them as pending (offsets-topic.ts). Which commit of a partition wins and how zombie
// producers are fenced: pending-txn-offsets.ts. OffsetFetch with require_stable (KIP-447) answers
// UNSTABLE_OFFSET_COMMIT for a partition with a pending transactional offset or a commit still being written
// (Kafka's hasPendingOffsetCommitsForTopicPartition).
//
// Consumer-protocol groups (KIP-848; consumer-group/manager.ts) share the group id space with classic groups, as
// Kafka's groups map does: a group id is a consumer group while consumer-group/manager.ts has it, and its
// committed offsets still live in the `Group` object here (which then has no members and no protocol). Routing:
// | request                              | classic group (or none)              | consumer group                         |
// |--------------------------------------|--------------------------------------|----------------------------------------|
// | ConsumerGroupHeartbeat epoch 0       | none or Empty: becomes a consumer    | the heartbeat                          |
// |                                      |   group (the classic metadata is     |                                        |
// |                                      |   tombstoned, offsets kept); with    |                                        |
// |                                      |   members: the online upgrade when   |                                        |
// |                                      |   the policy allows it (below), else |                                        |
// |                                      |   GROUP_ID_NOT_FOUND                 |                                        |
// | JoinGroup                            | classic                              | Empty: deleted, then the classic join; |
// |                                      |                                      |   else a classic member of it          |
// | SyncGroup / Heartbeat / LeaveGroup   | classic                              | its classic members (classic-members)  |
// | OffsetCommit / TxnOffsetCommit       | classic rules                        | member epoch rules (STALE_MEMBER_EPOCH;|
// |                                      |                                      |   classic members ILLEGAL_GENERATION)  |
// | OffsetFetch v9 with member id/epoch  | ignored                              | checked (STALE_MEMBER_EPOCH)           |
// | DescribeGroups                       | classic                              | "Dead", as Kafka 3.9 describes it      |
// | ListGroups                           | type classic                         | type consumer, its state               |
// | DeleteGroups                         | Empty only                           | Empty only (all its records tombstoned)|
// Offsets of a consumer group expire as Kafka 3.9's do: retention after their commit, for topics no member
// subscribes to; an Empty consumer group left without offsets is removed.
// Mixed groups follow Kafka 4.0 (consumer-group/classic-members.ts), with group.consumer.migration.policy
// (bidirectional by default, as 4.0): upgrade — a ConsumerGroupHeartbeat joining a classic group of the "consumer"
// protocol type that fits group.consumer.max.size converts it, its members kept as classic members; downgrade — the
// last consumer-protocol member leaving a group of classic members turns it back into a classic group that
// rebalances. Either is written in one append with the classic group's record (tombstone or metadata).
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import type { LogManager } from '../log/log-manager.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { BrokerConfig } from '../metadata/broker-config.js';
import { CONSUMER_PROTOCOL_TYPE } from './consumer-protocol.js';
import { Group, GROUP_STATES, partitionKey, type GroupHooks, type GroupSettings, type GroupState, type GroupSummary, type JoinParams, type LeaveResult, type SyncParams } from './group.js';
import { joinError, syncError, type JoinResult, type SyncResult } from './member.js';
import { NO_EXPIRE_TIMESTAMP, type StoredOffset, type StoreRecord } from './group-records.js';
import { OffsetsTopicStore, type LoadedGroupState } from './offsets-topic.js';
import type { InternalTopicReplication } from '../metadata/internal-topic-log.js';
import type { PendingTxnOffset } from './pending-txn-offsets.js';
import { configuredAssignors } from './consumer-group/assignors.js';
import type { ConsumerGroup } from './consumer-group/consumer-group.js';
import { loadTopicRegexEngine } from './consumer-group/topic-regex.js';
import { ClassicMembers, type ClassicGroupView } from './consumer-group/classic-members.js';
import { ConsumerGroupManager, type DescribedConsumerGroup, type HeartbeatParams, type HeartbeatResult } from './consumer-group/manager.js';

export interface GroupCoordinatorOptions {
  dataDir: string;
  config: BrokerConfig;
  /** The broker's logs and topics: the coordinator's state is the internal topic `__consumer_offsets`. */
  logs: LogManager;
  topics: TopicRegistry;
  logger: Logger;
  /** Clock for commit timestamps and expiry (tests). */
  now?: () => number;
  /**
   * Cluster mode: the groups of a `__consumer_offsets` partition are served only while this broker leads it
   * (onElection / onResignation), and writes wait for the ISR.
   */
  replication?: InternalTopicReplication;
}

/** One offset to commit, already checked against the topic registry by the handler. */
export type OffsetToCommit = Omit<StoredOffset, 'groupId'>;

/**
 * The expire timestamp of a commit with an explicit retention (OffsetCommit v2–v4 retention_time_ms ≠ -1): now +
 * retention in Java long arithmetic, wrapping on overflow as Kafka's GroupCoordinatorAdapter.commitOffsets does, so
 * Long.MAX gives a time long past (the offset expires at the next check). A result equal to the "no expiry"
 * sentinel becomes -2, which is just as far in the past.
 */
export function explicitExpireTimestampMs(nowMs: number, retentionTimeMs: bigint): number {
  const expire = Number(BigInt.asIntN(64, BigInt(nowMs) + retentionTimeMs));
  return expire === NO_EXPIRE_TIMESTAMP ? NO_EXPIRE_TIMESTAMP - 1 : expire;
}

export interface FetchedOffset {
  partitionIndex: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string;
  errorCode: number;
}

export interface FetchOffsetsResult {
  errorCode: number;
  topics: Array<{ name: string; partitions: FetchedOffset[] }>;
}

export interface ListedGroup {
  groupId: string;
  protocolType: string;
  /** Kafka's state names: the classic ones, or a consumer group's (Empty, Assigning, Reconciling, Stable). */
  state: string;
  /** ListGroups v5's group type (KIP-848). */
  groupType: typeof CLASSIC_GROUP_TYPE | typeof CONSUMER_GROUP_TYPE;
}

/** The group types ListGroups v5 reports (KIP-848). */
export const CLASSIC_GROUP_TYPE = 'classic';
export const CONSUMER_GROUP_TYPE = 'consumer';

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private store: OffsetsTopicStore | undefined;
  private loading = true;
  private active = true;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly settings: GroupSettings;
  private readonly hooks: GroupHooks;
  private readonly log: Logger;
  readonly now: () => number;
  /** Consumer-protocol groups (KIP-848). */
  readonly consumerGroups: ConsumerGroupManager;
  /** JoinGroup/SyncGroup/Heartbeat/LeaveGroup for the classic members of consumer groups. */
  private readonly classicMembers: ClassicMembers;

  /**
   * Orders offset writes (commits and deletions) as they are queued to the store; see Group.offsetWriteSeq. A
   * TxnOffsetCommit takes a value too: its position among the partition's commits (pending-txn-offsets.ts).
   */
  private nextWriteSeq = 0;
  /** producerId → ids of the groups holding its pending transactional offsets (Kafka's openGroupsForProducer). */
  private readonly openGroupsForProducer = new Map<bigint, Set<string>>();
  /** Cluster mode: partitions served (→ the leader epoch they were loaded at), and those being loaded. */
  private readonly ownedPartitions = new Map<number, number>();
  private readonly loadingPartitions = new Map<number, number>();
  /** Cluster mode: partition loads run one after another. */
  private loadChain: Promise<void> = Promise.resolve();

  constructor(private readonly options: GroupCoordinatorOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'group-coordinator' });
    this.settings = { initialRebalanceDelayMs: options.config.groupInitialRebalanceDelayMs, maxSize: options.config.groupMaxSize };
    this.hooks = {
      logger: this.log,
      now: this.now,
      storeGroup: async (group, assignment) => {
        try {
          await this.store!.append([{ type: 'group', value: group.toStored(assignment) }]);
          return ErrorCode.NONE;
        } catch (err) {
          return this.writeErrorCode(err, true);
        }
      },
    };
    const c = options.config;
    this.consumerGroups = new ConsumerGroupManager(
      {
        heartbeatIntervalMs: c.groupConsumerHeartbeatIntervalMs,
        sessionTimeoutMs: c.groupConsumerSessionTimeoutMs,
        maxSize: c.groupConsumerMaxSize,
        assignors: configuredAssignors(c.groupConsumerAssignors),
        migrationPolicy: c.groupConsumerMigrationPolicy,
        classicMaxSize: c.groupMaxSize,
      },
      {
        logger: this.log,
        topics: options.topics,
        now: this.now,
        write: async (groupId, records, conversion) => {
          // A conversion changes the classic group in the same write, in Kafka's record order: the classic
          // tombstone before the consumer group records (upgrade), the classic metadata after its tombstones
          // (downgrade). When the write fails the classic side is undone with it, as the consumer group's is.
          const out: StoreRecord[] = [];
          const classic = this.groups.get(groupId);
          if (conversion?.kind === 'upgrade') {
            out.push({ type: 'group-delete', groupId });
            classic?.answerWaitingMembersForUpgrade();
          }
          for (const record of records) out.push({ type: 'consumer-group', record });
          let downgradedInto: Group | undefined;
          if (conversion?.kind === 'downgrade') {
            downgradedInto = classic ?? this.createGroup(groupId);
            const { generationId, members, rebalance } = conversion.group;
            out.push({ type: 'group', value: downgradedInto.adoptDowngradedMembers(generationId, members, rebalance) });
            this.log.info({ groupId, generationId, members: members.length }, 'consumer group downgraded to a classic group');
          }
          try {
            await this.store!.append(out);
          } catch (err) {
            downgradedInto?.dropAllMembers();
            return this.writeErrorCode(err);
          }
          if (conversion?.kind === 'upgrade') classic?.dropAllMembers();
          return ErrorCode.NONE;
        },
        onGroupCreated: (groupId) => {
          if (!this.groups.has(groupId)) this.createGroup(groupId);
        },
        onGroupRolledBack: (groupId) => {
          // The placeholder made by onGroupCreated goes when nothing else uses it (no offsets, no classic members).
          const placeholder = this.groups.get(groupId);
          if (placeholder !== undefined && placeholder.is('Empty') && placeholder.size === 0 && placeholder.protocolType === null && !placeholder.hasOffsets) {
            placeholder.markDead();
            this.groups.delete(groupId);
          }
        },
      },
    );
    this.classicMembers = new ClassicMembers(this.consumerGroups, options.topics);
  }

  /** Creates the coordinator and loads every group and offset before returning. */
  static async open(options: GroupCoordinatorOptions): Promise<GroupCoordinator> {
    const coordinator = new GroupCoordinator(options);
    await coordinator.load();
    return coordinator;
  }

  async load(): Promise<void> {
    const startedAt = this.now();
    const { config, dataDir, logs, topics } = this.options;
    const { store, state } = await OffsetsTopicStore.open({
      dataDir,
      logs,
      topics,
      logger: this.log,
      numPartitions: config.offsetsTopicNumPartitions,
      segmentBytes: config.offsetsTopicSegmentBytes,
      durable: config.flushOnAckAll,
      replication: this.options.replication,
      now: this.now,
    });
    this.store = store;
    // A cluster broker leads nothing yet (its topics come from the cluster once it joins): partitions are loaded
    // as it becomes their leader.
    const { groups, offsets: offsetCount } = await this.install(state);
    this.loading = false;
    for (const group of groups) group.onLoaded();
    this.consumerGroups.onLoaded();
    this.expiryTimer = setInterval(() => void this.cleanupExpiredOffsets(), this.options.config.offsetsRetentionCheckIntervalMs);
    this.expiryTimer.unref();
    this.log.info({ groups: this.groups.size, consumerGroups: state.consumerGroups.size, offsets: offsetCount, loadMs: this.now() - startedAt }, 'group metadata loaded');
  }

  /** Adds loaded groups, offsets and pending transactional offsets; returns the groups added. */
  private async install(state: LoadedGroupState): Promise<{ groups: Group[]; offsets: number }> {
    const added = new Map<string, Group>();
    const createLoaded = (groupId: string): Group => {
      const group = this.createGroup(groupId);
      added.set(groupId, group);
      return group;
    };
    for (const stored of state.groups.values()) {
      const group = Group.load(stored, this.settings, this.hooks);
      this.groups.set(stored.groupId, group);
      added.set(stored.groupId, group);
    }
    let offsetCount = 0;
    for (const [groupId, offsets] of state.offsets) {
      const group = this.groups.get(groupId) ?? createLoaded(groupId);
      for (const o of offsets) group.offsets.set(partitionKey(o.topic, o.partition), o);
      offsetCount += offsets.length;
    }
    // Open transactions' offsets, waiting for their markers (Kafka's pendingTransactionalOffsetCommits).
    for (const [groupId, pending] of state.pendingTxnOffsets) {
      const group = this.groups.get(groupId) ?? createLoaded(groupId);
      for (const p of pending) {
        group.pendingTxnOffsets.prepare(p.producerId, partitionKey(p.offset.topic, p.offset.partition), { offset: p.offset, position: p.position, superseded: p.superseded });
        this.addOpenGroup(p.producerId, groupId);
      }
    }
    for (const [groupId, records] of state.consumerGroups) {
      this.consumerGroups.loadGroup(groupId, records);
      if (this.consumerGroups.group(groupId) !== undefined && !this.groups.has(groupId)) createLoaded(groupId);
    }
    this.nextWriteSeq = Math.max(this.nextWriteSeq, state.nextPosition);
    if (this.consumerGroups.hasRegexSubscriptions()) await loadTopicRegexEngine();
    return { groups: [...added.values()], offsets: offsetCount };
  }

  // ---- cluster mode: leadership of `__consumer_offsets` partitions ------------------------------------------------

  /**
   * This broker became leader of `__consumer_offsets` partition `partition` at `leaderEpoch` (Kafka's
   * GroupCoordinator.onElection → GroupMetadataManager.scheduleLoadGroupAndOffsets): its groups are loaded from
   * the log, answering COORDINATOR_LOAD_IN_PROGRESS meanwhile. Resolves once this load has run (tests).
   */
  onElection(partition: number, leaderEpoch: number): Promise<void> {
    if (this.options.replication === undefined || !this.active) return Promise.resolve();
    if (this.ownedPartitions.has(partition)) this.unloadPartition(partition);
    this.loadingPartitions.set(partition, leaderEpoch);
    const run = this.loadChain.then(() => this.loadPartition(partition, leaderEpoch));
    this.loadChain = run.catch((err: unknown) => {
      this.log.error({ err, partition, leaderEpoch }, 'loading a __consumer_offsets partition failed');
      if (this.loadingPartitions.get(partition) === leaderEpoch) this.loadingPartitions.delete(partition);
    });
    return this.loadChain;
  }

  /** This broker no longer leads the partition (Kafka's onResignation → removeGroupsForPartition). */
  onResignation(partition: number): void {
    if (this.options.replication === undefined) return;
    this.loadingPartitions.delete(partition);
    if (this.ownedPartitions.has(partition)) this.unloadPartition(partition);
  }

  /** Whether the groups of a `__consumer_offsets` partition are served here (always, on a single broker). */
  isCoordinatorForPartition(partition: number): boolean {
    return this.options.replication === undefined || this.ownedPartitions.has(partition);
  }

  private async loadPartition(partition: number, leaderEpoch: number): Promise<void> {
    if (!this.active || this.loadingPartitions.get(partition) !== leaderEpoch) return;
    const startedAt = this.now();
    const state = await this.store!.load([partition], this.nextWriteSeq);
    // Resigned, or elected again, while reading: this load is stale.
    if (!this.active || this.loadingPartitions.get(partition) !== leaderEpoch) return;
    const { groups, offsets } = await this.install(state);
    if (!this.active || this.loadingPartitions.get(partition) !== leaderEpoch) {
      for (const group of groups) this.unloadGroup(group);
      return;
    }
    this.loadingPartitions.delete(partition);
    this.ownedPartitions.set(partition, leaderEpoch);
    for (const group of groups) group.onLoaded();
    this.consumerGroups.onLoaded(groups.map((g) => g.groupId));
    this.log.info({ partition, leaderEpoch, groups: groups.length, offsets, loadMs: this.now() - startedAt }, 'loaded the groups of a __consumer_offsets partition');
  }

  private unloadPartition(partition: number): void {
    this.ownedPartitions.delete(partition);
    let unloaded = 0;
    for (const group of [...this.groups.values()]) {
      if (this.partitionFor(group.groupId) !== partition) continue;
      this.unloadGroup(group);
      unloaded++;
    }
    this.log.info({ partition, groups: unloaded }, 'unloaded the groups of a __consumer_offsets partition');
  }

  /** Kafka's onGroupUnloaded: waiting members answer NOT_COORDINATOR, then the group is forgotten here. */
  private unloadGroup(group: Group): void {
    group.markDead(ErrorCode.NOT_COORDINATOR);
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
    this.consumerGroups.unloadGroup(group.groupId);
    for (const [producerId, groupIds] of this.openGroupsForProducer) {
      groupIds.delete(group.groupId);
      if (groupIds.size === 0) this.openGroupsForProducer.delete(producerId);
    }
  }

  get isLoading(): boolean {
    return this.loading;
  }

  /** For tests and tools: the group, if this coordinator knows it. */
  group(groupId: string): Group | undefined {
    return this.groups.get(groupId);
  }

  /** The `__consumer_offsets` partition that owns the group (Kafka's GroupCoordinator.partitionFor). */
  partitionFor(groupId: string): number {
    return this.store!.partitionFor(groupId);
  }

  /** Creates `__consumer_offsets` unless it exists (FindCoordinator for a group, as Kafka does). */
  ensureOffsetsTopic(): Promise<void> {
    return this.store!.ensureTopic();
  }

  /**
   * The error a failed write to `__consumer_offsets` answers (Kafka's GroupMetadataManager.storeOffsets mapping):
   * the client rediscovers the coordinator and retries, or learns its commit is too large.
   */
  private writeErrorCode(err: unknown, groupMetadata = false): number {
    const code = err instanceof KafkaError ? err.errorCode : ErrorCode.KAFKA_STORAGE_ERROR;
    switch (code) {
      case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
      case ErrorCode.NOT_ENOUGH_REPLICAS:
      case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE;
      case ErrorCode.REQUEST_TIMED_OUT:
        // Cluster mode: the ISR did not acknowledge within the timeout (storeGroup answers REBALANCE_IN_PROGRESS).
        return groupMetadata ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.REQUEST_TIMED_OUT;
      case ErrorCode.NOT_LEADER_OR_FOLLOWER:
      case ErrorCode.KAFKA_STORAGE_ERROR:
        return ErrorCode.NOT_COORDINATOR;
      case ErrorCode.MESSAGE_TOO_LARGE:
      case ErrorCode.RECORD_LIST_TOO_LARGE:
        return ErrorCode.INVALID_COMMIT_OFFSET_SIZE;
      default:
        this.log.warn({ err }, 'writing to __consumer_offsets failed');
        return code === ErrorCode.NONE ? ErrorCode.UNKNOWN_SERVER_ERROR : code;
    }
  }

  private addOpenGroup(producerId: bigint, groupId: string): void {
    let groups = this.openGroupsForProducer.get(producerId);
    if (groups === undefined) this.openGroupsForProducer.set(producerId, (groups = new Set()));
    groups.add(groupId);
  }

  private createGroup(groupId: string): Group {
    const group = new Group(groupId, this.settings, this.hooks);
    this.groups.set(groupId, group);
    return group;
  }

  private groupStatusError(groupId: string, allowEmptyGroupId: boolean): number {
    if (!allowEmptyGroupId && groupId === '') return ErrorCode.INVALID_GROUP_ID;
    if (!this.active) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (this.loading) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
    if (this.options.replication !== undefined) {
      const partition = this.partitionFor(groupId);
      if (this.loadingPartitions.has(partition)) return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS;
      if (!this.ownedPartitions.has(partition)) return ErrorCode.NOT_COORDINATOR;
    }
    return ErrorCode.NONE;
  }

  // ---- membership ----------------------------------------------------------------------------------------------

  async joinGroup(groupId: string, p: JoinParams): Promise<JoinResult> {
    const status = this.groupStatusError(groupId, false);
    if (status !== ErrorCode.NONE) return joinError(p.memberId, status);
    const { groupMinSessionTimeoutMs: min, groupMaxSessionTimeoutMs: max } = this.options.config;
    if (p.sessionTimeoutMs < min || p.sessionTimeoutMs > max) return joinError(p.memberId, ErrorCode.INVALID_SESSION_TIMEOUT);
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined) {
      // Kafka's classicGroupJoinToConsumerGroup: a classic member of the consumer group.
      if (!consumerGroup.isEmpty) return this.classicMembers.join(consumerGroup, p);
      // Kafka's maybeDeleteEmptyConsumerGroup: an Empty consumer group gives way to the classic join.
      const deleted = await this.removeConsumerGroup(consumerGroup);
      if (deleted !== ErrorCode.NONE) return joinError(p.memberId, deleted);
    }
    let group = this.groups.get(groupId);
    if (group === undefined) {
      // Only a member without an id may create a group; a known id for an unknown group is stale.
      if (p.memberId !== '') return joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID);
      group = this.createGroup(groupId);
    }
    return group.join(p);
  }

  async syncGroup(groupId: string, p: SyncParams): Promise<SyncResult> {
    const status = this.groupStatusError(groupId, false);
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return syncError(ErrorCode.REBALANCE_IN_PROGRESS);
    if (status !== ErrorCode.NONE) return syncError(status);
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined) return this.classicMembers.sync(consumerGroup, p);
    const group = this.groups.get(groupId);
    if (group === undefined) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    return group.sync(p);
  }

  heartbeat(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number): number {
    const status = this.groupStatusError(groupId, false);
    if (status === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS) return ErrorCode.NONE;
    if (status !== ErrorCode.NONE) return status;
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined) return this.classicMembers.heartbeat(consumerGroup, memberId, groupInstanceId, generationId);
    const group = this.groups.get(groupId);
    if (group === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    return group.heartbeat(memberId, groupInstanceId, generationId);
  }

  /** LeaveGroup: a consumer group's classic members leave once their records are written (Kafka's classicGroupLeave). */
  async leave(groupId: string, members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): Promise<{ errorCode: number; members: LeaveResult[] }> {
    const consumerGroup = this.consumerGroups.group(groupId);
    if (this.groupStatusError(groupId, false) === ErrorCode.NONE && consumerGroup !== undefined && !consumerGroup.isEmpty) {
      return { errorCode: ErrorCode.NONE, members: await this.classicMembers.leave(consumerGroup, members) };
    }
    return this.leaveGroup(groupId, members);
  }

  /** LeaveGroup of a classic group (a consumer group answers UNKNOWN_MEMBER_ID here; leave() serves its members). */
  leaveGroup(groupId: string, members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): { errorCode: number; members: LeaveResult[] } {
    const status = this.groupStatusError(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, members: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || this.consumerGroups.group(groupId) !== undefined) {
      return { errorCode: ErrorCode.NONE, members: members.map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: ErrorCode.UNKNOWN_MEMBER_ID })) };
    }
    const results = group.leave(members);
    if (results === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, members: [] };
    return { errorCode: ErrorCode.NONE, members: results };
  }

  // ---- offsets -------------------------------------------------------------------------------------------------

  /** Commits offsets; returns one error code per entry, in order. Resolves after the commit is fsynced. */
  async commitOffsets(groupId: string, memberId: string, groupInstanceId: string | null, generationId: number, entries: OffsetToCommit[], apiVersion = 9): Promise<number[]> {
    const all = (code: number) => entries.map(() => code);
    const status = this.groupStatusError(groupId, true);
    if (status !== ErrorCode.NONE) return all(status);
    let group = this.groups.get(groupId);
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined) {
      // KIP-848: the member epoch rules of Kafka's ConsumerGroup.validateOffsetCommit (generationIdOrMemberEpoch).
      const validation = this.consumerGroups.validateOffsetCommit(consumerGroup, memberId, generationId, false, apiVersion);
      if (validation !== ErrorCode.NONE) return all(validation);
      group ??= this.createGroup(groupId);
    } else {
      if (group === undefined) {
        // A negative generation means the group does not use the coordinator for membership (simple consumer,
        // admin resetOffsets): create it. Otherwise the commit comes from a generation that no longer exists.
        if (generationId >= 0) return all(ErrorCode.ILLEGAL_GENERATION);
        group = this.createGroup(groupId);
      }
      const validation = group.validateOffsetCommit(memberId, groupInstanceId, generationId);
      if (validation !== ErrorCode.NONE) return all(validation);
    }

    // offset.metadata.max.bytes is compared with Java's String.length() (UTF-16 code units), not a byte count
    // (GroupMetadataManager.validateOffsetMetadataLength); JS string length counts the same units.
    const maxMetadata = this.options.config.offsetMetadataMaxBytes;
    const codes = entries.map((e): number => (e.metadata !== null && e.metadata.length > maxMetadata ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE));
    const accepted: StoredOffset[] = [];
    entries.forEach((e, i) => {
      if (codes[i] !== ErrorCode.NONE) return;
      accepted.push({ groupId, ...e, metadata: e.metadata ?? '' });
    });
    if (accepted.length === 0) return codes;

    const seq = this.nextWriteSeq++;
    // This commit comes after every pending transactional offset of these partitions in Kafka's log order.
    for (const o of accepted) group.pendingTxnOffsets.supersede(partitionKey(o.topic, o.partition), seq);
    const written = await this.writeOffsets(group, accepted, seq);
    entries.forEach((_, i) => {
      if (codes[i] === ErrorCode.NONE) codes[i] = written;
    });
    return codes;
  }

  /**
   * Writes offset commit records at write sequence `seq` and, once they are written, makes them the group's
   * committed offsets, except where a later write of the same partition (a commit, an OffsetDelete, an expiry)
   * was applied meanwhile. Returns the commit's error code (NONE, or writeErrorCode's answer).
   */
  private async writeOffsets(group: Group, offsets: StoredOffset[], seq: number): Promise<number> {
    const keys = offsets.map((o) => partitionKey(o.topic, o.partition));
    for (const k of keys) group.pendingOffsetCommits.set(k, (group.pendingOffsetCommits.get(k) ?? 0) + 1);
    let errorCode: number = ErrorCode.NONE;
    try {
      await this.store!.append(offsets.map((value): StoreRecord => ({ type: 'offset', value })));
    } catch (err) {
      errorCode = this.writeErrorCode(err);
    }
    const failed = errorCode !== ErrorCode.NONE;
    for (const k of keys) {
      const n = group.pendingOffsetCommits.get(k)! - 1;
      if (n === 0) group.pendingOffsetCommits.delete(k);
      else group.pendingOffsetCommits.set(k, n);
    }
    if (!failed) this.applyCommitted(group, offsets, seq);
    return errorCode;
  }

  /** Makes written offsets current, except where a later write of the same partition was applied meanwhile. */
  private applyCommitted(group: Group, offsets: readonly StoredOffset[], seq: number): void {
    if (group.is('Dead')) return;
    for (const o of offsets) {
      const key = partitionKey(o.topic, o.partition);
      if ((group.offsetWriteSeq.get(key) ?? -1) > seq) continue; // deleted (or recommitted) after this write
      group.offsets.set(key, o);
      group.offsetWriteSeq.set(key, seq);
    }
  }

  // ---- transactional offsets ---------------------------------------------------------------------------------

  /**
   * TxnOffsetCommit: validates the commit and makes the offsets pending for (group, producerId); they become
   * visible when completeTransaction sees the COMMIT marker. Returns one error code per entry, in order.
   */
  async commitTransactionalOffsets(
    groupId: string,
    producerId: bigint,
    producerEpoch: number,
    memberId: string,
    groupInstanceId: string | null,
    generationId: number,
    entries: OffsetToCommit[],
  ): Promise<number[]> {
    const all = (code: number) => entries.map(() => code);
    const status = this.groupStatusError(groupId, false);
    if (status !== ErrorCode.NONE) return all(status);
    // Unlike an ordinary commit, a transactional one creates the group whatever its generation (handleTxnCommitOffsets).
    const group = this.groups.get(groupId) ?? this.createGroup(groupId);
    const consumerGroup = this.consumerGroups.group(groupId);
    const validation =
      consumerGroup !== undefined
        ? this.consumerGroups.validateOffsetCommit(consumerGroup, memberId, generationId, true, 9)
        : group.validateTxnOffsetCommit(memberId, groupInstanceId, generationId);
    if (validation !== ErrorCode.NONE) return all(validation);

    const maxMetadata = this.options.config.offsetMetadataMaxBytes;
    const codes = entries.map((e): number => (e.metadata !== null && e.metadata.length > maxMetadata ? ErrorCode.OFFSET_METADATA_TOO_LARGE : ErrorCode.NONE));
    if (codes.every((c) => c !== ErrorCode.NONE)) return codes;

    // Pending from the moment the batch is queued (its position is its place in the log), so a commit queued
    // after it supersedes it; taken back if the write fails.
    const position = this.nextWriteSeq++;
    const prepared: Array<{ key: string; pending: PendingTxnOffset }> = [];
    entries.forEach((e, i) => {
      if (codes[i] !== ErrorCode.NONE) return;
      const pending: PendingTxnOffset = { offset: { groupId, ...e, metadata: e.metadata ?? '' }, position, superseded: false };
      const key = partitionKey(e.topic, e.partition);
      group.pendingTxnOffsets.prepare(producerId, key, pending);
      prepared.push({ key, pending });
    });
    this.addOpenGroup(producerId, groupId);
    try {
      await this.store!.appendTransactional(groupId, { producerId, producerEpoch }, prepared.map((p) => p.pending.offset));
    } catch (err) {
      for (const p of prepared) group.pendingTxnOffsets.discard(producerId, p.key, p.pending);
      // A fenced epoch (the partition's producer state: INVALID_PRODUCER_EPOCH) passes through, as in Kafka.
      const code = this.writeErrorCode(err);
      if (code === ErrorCode.INVALID_PRODUCER_EPOCH) this.log.info({ groupId, producerId: producerId.toString(), producerEpoch }, 'transactional offset commit from a fenced producer epoch');
      return codes.map((c) => (c === ErrorCode.NONE ? code : c));
    }
    return codes;
  }

  /**
   * The transaction of `producerId` has its marker written to `__consumer_offsets` partition `offsetsPartition`
   * (Kafka's handleTxnCompletion, called once the marker is in the log: the marker is what makes the offsets
   * durable): every group of that partition applies (COMMIT) or drops (ABORT) the producer's pending offsets.
   */
  completeTransaction(producerId: bigint, offsetsPartition: number, commit: boolean): void {
    if (!this.active) return;
    const groupIds = this.openGroupsForProducer.get(producerId);
    if (groupIds === undefined) return;
    for (const groupId of [...groupIds]) {
      if (this.partitionFor(groupId) !== offsetsPartition) continue;
      groupIds.delete(groupId);
      const group = this.groups.get(groupId);
      if (group === undefined || group.is('Dead')) continue;
      const pending = group.pendingTxnOffsets.take(producerId);
      if (pending === undefined) continue;
      if (commit) this.applyTxnOffsets(group, producerId, pending);
      else this.log.debug({ groupId, producerId: producerId.toString(), offsets: pending.size }, 'transactional offsets aborted');
    }
    if (groupIds.size === 0) this.openGroupsForProducer.delete(producerId);
  }

  /** COMMIT of one group's pending offsets of a producer: Kafka's completePendingTxnOffsetCommit. */
  private applyTxnOffsets(group: Group, producerId: bigint, pending: Map<string, PendingTxnOffset>): void {
    const winners: StoredOffset[] = [];
    for (const [key, p] of pending) {
      if (p.superseded) continue;
      winners.push(p.offset);
      // Another producer's offset appended before this one must not replace it when its own marker comes.
      group.pendingTxnOffsets.supersede(key, p.position);
    }
    if (winners.length === 0) return;
    this.applyCommitted(group, winners, this.nextWriteSeq++);
    this.log.debug({ groupId: group.groupId, producerId: producerId.toString(), offsets: winners.length }, 'transactional offsets committed');
  }

  /**
   * Committed offsets of a group, for the requested partitions or (null) all of them: only what is committed, never
   * a pending transactional offset. A partition without a committed offset answers offset -1 with no error, as
   * Kafka does. With `requireStable` (OffsetFetch v7+, KIP-447) a partition with a pending transactional offset or
   * a commit still being written answers UNSTABLE_OFFSET_COMMIT with offset -1 instead (GroupMetadataManager
   * .getOffsets); with topics null only partitions that have a committed offset are listed, so one with only a
   * pending transactional offset does not appear.
   */
  fetchOffsets(
    groupId: string,
    topics: Array<{ name: string; partitionIndexes: number[] }> | null,
    requireStable = false,
    member?: { memberId: string | null; memberEpoch: number },
  ): FetchOffsetsResult {
    const status = this.groupStatusError(groupId, true);
    if (status !== ErrorCode.NONE) return { errorCode: status, topics: [] };
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined && member !== undefined) {
      // OffsetFetch v9 (KIP-848): Kafka's ConsumerGroup.validateOffsetFetch; classic groups ignore the fields.
      const validation = this.consumerGroups.validateOffsetFetch(consumerGroup, member.memberId, member.memberEpoch);
      if (validation !== ErrorCode.NONE) return { errorCode: validation, topics: [] };
    }
    const group = this.groups.get(groupId);
    const answer = (partitionIndex: number, key: string, o: StoredOffset | undefined): FetchedOffset => {
      if (requireStable && group !== undefined && (group.pendingOffsetCommits.has(key) || group.pendingTxnOffsets.hasPendingForPartition(key))) {
        return { partitionIndex, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.UNSTABLE_OFFSET_COMMIT };
      }
      return o === undefined
        ? { partitionIndex, offset: -1n, leaderEpoch: -1, metadata: '', errorCode: ErrorCode.NONE }
        : { partitionIndex, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata ?? '', errorCode: ErrorCode.NONE };
    };
    if (topics === null) {
      const byTopic = new Map<string, FetchedOffset[]>();
      for (const [key, o] of group?.offsets ?? []) {
        let list = byTopic.get(o.topic);
        if (list === undefined) byTopic.set(o.topic, (list = []));
        list.push(answer(o.partition, key, o));
      }
      return {
        errorCode: ErrorCode.NONE,
        topics: [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a.partitionIndex - b.partitionIndex) })),
      };
    }
    return {
      errorCode: ErrorCode.NONE,
      topics: topics.map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((p) => {
          const key = partitionKey(t.name, p);
          return answer(p, key, group?.offsets.get(key));
        }),
      })),
    };
  }

  /** OffsetDelete (KIP-496): per-partition codes, or a group-level error. */
  async deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<{ errorCode: number; codes: number[] }> {
    const status = this.groupStatusError(groupId, false);
    if (status !== ErrorCode.NONE) return { errorCode: status, codes: [] };
    const group = this.groups.get(groupId);
    if (group === undefined || group.is('Dead')) return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, codes: [] };
    let codes: number[];
    const consumerGroup = this.consumerGroups.group(groupId);
    if (consumerGroup !== undefined) {
      // A consumer group refuses the topics its members subscribe to (Kafka's OffsetMetadataManager.deleteOffsets).
      const subscribed = this.consumerGroups.subscribedTopics(consumerGroup);
      codes = partitions.map((p) => (subscribed.has(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE));
    } else if (group.is('Empty')) {
      codes = partitions.map(() => ErrorCode.NONE);
    } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE) {
      codes = partitions.map((p) => (group.isSubscribedToTopic(p.topic) ? ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC : ErrorCode.NONE));
    } else {
      return { errorCode: ErrorCode.NON_EMPTY_GROUP, codes: [] };
    }
    const removed = partitions.filter((_, i) => codes[i] === ErrorCode.NONE).map((p) => partitionKey(p.topic, p.partition));
    group.pendingTxnOffsets.removePartitions(removed); // Kafka's GroupMetadata.removeOffsets
    const ok = await this.cleanupGroupMetadata(group, removed);
    if (!ok) codes = codes.map((c) => (c === ErrorCode.NONE ? ErrorCode.NOT_COORDINATOR : c));
    return { errorCode: ErrorCode.NONE, codes };
  }

  /**
   * Removes the given offsets, and the group itself when it is Empty with no offsets left; writes the tombstones.
   * Returns false when the tombstones could not be written.
   */
  private async cleanupGroupMetadata(group: Group, offsetKeys: string[], deleteGroup = false): Promise<boolean> {
    const records: StoreRecord[] = [];
    const seq = this.nextWriteSeq++;
    for (const key of offsetKeys) {
      const o = group.offsets.get(key);
      if (o === undefined) continue;
      group.offsets.delete(key);
      group.offsetWriteSeq.set(key, seq);
      records.push({ type: 'offset-delete', groupId: group.groupId, topic: o.topic, partition: o.partition });
    }
    const consumerGroup = this.consumerGroups.group(group.groupId);
    if ((deleteGroup || (group.is('Empty') && !group.hasOffsets)) && (consumerGroup === undefined || consumerGroup.isEmpty)) {
      this.log.info({ groupId: group.groupId, generationId: group.generationId }, 'removing the group');
      if (consumerGroup !== undefined) for (const record of this.consumerGroups.deleteGroup(consumerGroup)) records.push({ type: 'consumer-group', record });
      group.markDead();
      if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
      if (consumerGroup === undefined) records.push({ type: 'group-delete', groupId: group.groupId });
    }
    try {
      await this.store!.append(records);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A deleted topic takes its committed offsets with it in every group, and an Empty group left without offsets
   * goes away (Kafka's GroupMetadataManager.cleanupGroupMetadata on topic deletion), so a topic recreated under
   * the same name does not inherit stale positions.
   */
  async removeOffsetsOfTopic(topic: string): Promise<void> {
    if (this.loading || !this.active) return;
    for (const group of [...this.groups.values()]) {
      const keys = [...group.offsets.values()].filter((o) => o.topic === topic).map((o) => partitionKey(o.topic, o.partition));
      const droppedPending = group.pendingTxnOffsets.removePartitions(group.pendingTxnOffsets.partitionsOfTopic(topic));
      if (keys.length > 0 || droppedPending > 0) await this.cleanupGroupMetadata(group, keys);
    }
  }

  /** Removes the offsets that offsets.retention.minutes has expired (see the table above); returns how many. */
  async cleanupExpiredOffsets(): Promise<number> {
    if (this.loading || !this.active) return 0;
    const now = this.now();
    const retentionMs = this.options.config.offsetsRetentionMinutes * 60_000;
    let removed = 0;
    const work: Array<Promise<boolean>> = [];
    for (const group of [...this.groups.values()]) {
      let base: ((o: StoredOffset) => number) | undefined;
      let subscribed: Set<string> | undefined;
      const consumerGroup = this.consumerGroups.group(group.groupId);
      if (consumerGroup !== undefined) {
        // Kafka's ConsumerGroup.offsetExpirationCondition: from the commit, for topics no member subscribes to.
        base = (o) => o.commitTimestampMs;
        subscribed = this.consumerGroups.subscribedTopics(consumerGroup);
      } else if (group.protocolType !== null && group.is('Empty')) {
        base = () => group.currentStateTimestampMs;
      } else if (group.protocolType === CONSUMER_PROTOCOL_TYPE && group.subscribedTopics !== undefined && group.is('Stable')) {
        base = (o) => o.commitTimestampMs;
        subscribed = group.subscribedTopics;
      } else if (group.protocolType === null) {
        base = (o) => o.commitTimestampMs;
      }
      const expired: string[] = [];
      if (base !== undefined) {
        for (const [key, o] of group.offsets) {
          if (subscribed?.has(o.topic) || group.pendingOffsetCommits.has(key)) continue;
          const due = o.expireTimestampMs !== NO_EXPIRE_TIMESTAMP ? now >= o.expireTimestampMs : now - base(o) >= retentionMs;
          if (due) expired.push(key);
        }
      }
      removed += expired.length;
      if (expired.length > 0 || (group.is('Empty') && !group.hasOffsets)) work.push(this.cleanupGroupMetadata(group, expired));
    }
    await Promise.all(work);
    if (removed > 0) this.log.info({ removed }, 'removed expired offsets');
    return removed;
  }

  // ---- consumer-protocol groups (KIP-848) ------------------------------------------------------------------------

  /** ConsumerGroupHeartbeat: the coordinator's checks and the classic-group side, then consumer-group/manager.ts. */
  async consumerGroupHeartbeat(p: HeartbeatParams): Promise<HeartbeatResult> {
    const status = this.groupStatusError(p.groupId, true);
    if (status !== ErrorCode.NONE) return { errorCode: status, errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
    const classic = this.groups.get(p.groupId);
    if (classic !== undefined && this.consumerGroups.group(p.groupId) === undefined && p.memberEpoch === 0 && p.groupId.trim() !== '') {
      if (classic.size > 0 || !classic.is('Empty')) {
        // Kafka's getOrMaybeCreateConsumerGroup: the online upgrade when validateOnlineUpgrade allows it.
        const policy = this.consumerGroups.migrationPolicy;
        const upgradable =
          (policy === 'upgrade' || policy === 'bidirectional') &&
          classic.protocolType === CONSUMER_PROTOCOL_TYPE &&
          classic.protocolName !== null &&
          classic.size <= this.consumerGroups.maxSize;
        if (!upgradable) {
          this.log.info({ groupId: p.groupId, policy, protocolType: classic.protocolType, members: classic.size }, 'cannot upgrade the classic group to a consumer group');
          return { errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${p.groupId} is not a consumer group`, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
        }
        const view: ClassicGroupView = { generationId: classic.generationId, protocolName: classic.protocolName!, members: [...classic.members.values()] };
        return this.consumerGroups.heartbeat(p, view);
      }
      if (classic.protocolType !== null) {
        // Kafka's maybeDeleteEmptyClassicGroup: the empty classic group's metadata goes; its offsets stay.
        try {
          await this.store!.append([{ type: 'group-delete', groupId: p.groupId }]);
        } catch (err) {
          return { errorCode: this.writeErrorCode(err), errorMessage: null, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
        }
        classic.protocolType = null;
        classic.protocolName = null;
        classic.leaderId = null;
        this.log.info({ groupId: p.groupId }, 'empty classic group converted to a consumer group');
      }
    }
    return this.consumerGroups.heartbeat(p);
  }

  /** ConsumerGroupDescribe for one group id. */
  describeConsumerGroup(groupId: string): DescribedConsumerGroup {
    const status = this.groupStatusError(groupId, true);
    if (status !== ErrorCode.NONE) return { groupId, errorCode: status, errorMessage: null, group: undefined, assignorName: '' };
    const described = this.consumerGroups.describe(groupId);
    // Kafka's consumerGroup() lookup: a classic group of that id is "not a consumer group".
    if (described.group === undefined && this.groups.has(groupId)) return { ...described, errorMessage: `Group ${groupId} is not a consumer group.` };
    return described;
  }

  /** Removes an Empty consumer group's records (before a classic group of that id is created). */
  private async removeConsumerGroup(group: ConsumerGroup): Promise<number> {
    const records = this.consumerGroups.deleteGroup(group);
    this.log.info({ groupId: group.groupId }, 'empty consumer group converted to a classic group');
    try {
      await this.store!.append(records.map((record): StoreRecord => ({ type: 'consumer-group', record })));
      return ErrorCode.NONE;
    } catch (err) {
      return this.writeErrorCode(err);
    }
  }

  // ---- admin ---------------------------------------------------------------------------------------------------

  /**
   * DescribeGroups of one group. An unknown group and a consumer-protocol group are described as Kafka's
   * classicGroup() lookup fails for them: state Dead, and `notFound` says why (DescribeGroups v6 answers it as
   * GROUP_ID_NOT_FOUND with that message, older versions with no error).
   */
  describeGroup(groupId: string): { errorCode: number; summary: GroupSummary | undefined; notFound?: string } {
    const status = this.groupStatusError(groupId, true);
    if (status !== ErrorCode.NONE) return { errorCode: status, summary: undefined };
    const group = this.groups.get(groupId);
    const dead: GroupSummary = { state: 'Dead', protocolType: '', protocolData: '', members: [] };
    if (this.consumerGroups.group(groupId) !== undefined) return { errorCode: ErrorCode.NONE, summary: dead, notFound: `Group ${groupId} is not a classic group.` };
    if (group === undefined) return { errorCode: ErrorCode.NONE, summary: dead, notFound: `Group ${groupId} not found.` };
    return { errorCode: ErrorCode.NONE, summary: group.summary() };
  }

  /** Groups whose state (and type) pass the filters; filters are case-insensitive, empty means all. */
  listGroups(statesFilter: string[], typesFilter: string[]): { errorCode: number; groups: ListedGroup[] } {
    if (!this.active) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = new Set(statesFilter.map((s) => s.toLowerCase()));
    const types = new Set(typesFilter.map((s) => s.toLowerCase()));
    const groups: ListedGroup[] = [];
    for (const g of this.groups.values()) {
      if (g.is('Dead')) continue;
      const consumerGroup = this.consumerGroups.group(g.groupId);
      const listed: ListedGroup =
        consumerGroup !== undefined
          ? { groupId: g.groupId, protocolType: CONSUMER_PROTOCOL_TYPE, state: consumerGroup.state, groupType: CONSUMER_GROUP_TYPE }
          : { groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state, groupType: CLASSIC_GROUP_TYPE };
      if (types.size > 0 && !types.has(listed.groupType)) continue;
      if (states.size > 0 && !states.has(listed.state.toLowerCase())) continue;
      groups.push(listed);
    }
    return { errorCode: this.loading || this.loadingPartitions.size > 0 ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE, groups };
  }

  /** DeleteGroups: only Empty groups (or groups with only committed offsets) can be deleted. */
  async deleteGroups(groupIds: string[]): Promise<number[]> {
    const codes: number[] = [];
    const work: Array<Promise<void>> = [];
    groupIds.forEach((groupId, i) => {
      const status = this.groupStatusError(groupId, true);
      const group = this.groups.get(groupId);
      if (status !== ErrorCode.NONE) codes[i] = status;
      else if (group === undefined || group.is('Dead')) codes[i] = ErrorCode.GROUP_ID_NOT_FOUND;
      else if (!group.is('Empty') || this.consumerGroups.group(groupId)?.isEmpty === false) codes[i] = ErrorCode.NON_EMPTY_GROUP;
      else {
        codes[i] = ErrorCode.NONE;
        const removed = group.offsets.size;
        work.push(
          this.cleanupGroupMetadata(group, [...group.offsets.keys()], true).then((ok) => {
            if (!ok) codes[i] = ErrorCode.NOT_COORDINATOR;
            else this.log.info({ groupId, offsetsRemoved: removed }, 'group deleted');
          }),
        );
      }
    });
    await Promise.all(work);
    return codes;
  }

  /** Stops answering: waiting JoinGroup/SyncGroup requests get NOT_COORDINATOR and every timer stops. */
  shutdown(): void {
    if (!this.active) return;
    this.active = false;
    if (this.expiryTimer !== undefined) clearInterval(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const group of this.groups.values()) group.markDead(ErrorCode.NOT_COORDINATOR);
    this.consumerGroups.shutdown();
  }

  /** After shutdown() and once no request is in flight. Writes in flight finish in the logs, which close later. */
  async close(): Promise<void> {
    this.shutdown();
  }
}

export { GROUP_STATES };
