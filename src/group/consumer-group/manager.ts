// Consumer-protocol groups (KIP-848): the ConsumerGroupHeartbeat state machine of Kafka 3.9's GroupMetadataManager
// (consumerGroupHeartbeat, consumerGroupLeave, the session and rebalance timeouts, ConsumerGroupDescribe) for the
// groups whose type is "consumer". The coordinator (../coordinator.ts) routes a group id here when it names a
// consumer group, or when a ConsumerGroupHeartbeat creates one; committed offsets stay with the coordinator.
//
// A heartbeat, in Kafka's three steps, computed from the current state into records (records.ts) that are then
// replayed into the group (consumer-group.ts) and written to `__consumer_offsets`; the answer goes out after the
// write:
//   1. the member is created or updated (ConsumerGroupMemberMetadata); a changed subscription, or a change of the
//      subscribed topics' metadata (a topic created, deleted or given more partitions, or a regular expression
//      matching a new topic), bumps the group epoch (ConsumerGroupPartitionMetadata, ConsumerGroupMetadata);
//   2. when the group epoch is ahead of the target assignment epoch, the assignor computes a new target assignment
//      (ConsumerGroupTargetAssignmentMember per changed member, ConsumerGroupTargetAssignmentMetadata);
//   3. the member is reconciled towards its target (reconciliation.ts; ConsumerGroupCurrentMemberAssignment).
// The assignment is in the answer when the request was a full one (epoch 0, or rebalance timeout, subscription and
// owned partitions all sent) or the member's assigned partitions changed.
//
// Checks, in Kafka's order (throwIfConsumerGroupHeartbeatRequestIsInvalid, then the member checks):
// | condition                                                                  | error                        |
// |----------------------------------------------------------------------------|------------------------------|
// | empty group id, empty instance id or rack id (when sent)                   | INVALID_REQUEST              |
// | epoch > 0 or -1 with an empty member id; -2 without member id or instance  | INVALID_REQUEST              |
// | epoch 0 without rebalance timeout, with owned partitions not [], or with   | INVALID_REQUEST              |
// |   neither topic names nor a regex; any other negative epoch                |                              |
// | server assignor not in group.consumer.assignors                            | UNSUPPORTED_ASSIGNOR         |
// | regex that does not compile (topic-regex.ts)                               | INVALID_REGULAR_EXPRESSION   |
// | epoch ≠ 0 and no consumer group of that id (epoch 0 and a classic group    | GROUP_ID_NOT_FOUND           |
// |   with members that cannot be upgraded: the coordinator answers)           |                              |
// | group.consumer.max.size members and a new member                           | GROUP_MAX_SIZE_REACHED       |
// | epoch ≠ 0, unknown member (or unknown static instance)                     | UNKNOWN_MEMBER_ID            |
// | static instance id owned by another member id (epoch ≠ 0)                  | FENCED_INSTANCE_ID           |
// | epoch 0 with an instance id held by a member that has not left (-2)        | UNRELEASED_INSTANCE_ID       |
// | epoch ahead of the member's, or behind it unless it is the previous epoch  | FENCED_MEMBER_EPOCH          |
// |   and the owned partitions are a subset of the assignment (a lost answer)  |                              |
//
// Leaving: epoch -1 removes the member (fenceMember: its records are tombstoned, the group epoch is bumped so the
// others rebalance; when only classic members remain the group is downgraded instead, fenceMemberChange); epoch -2 (a static member) keeps it with epoch -2 and its partitions, so the same instance id
// can rejoin within the session timeout and take them back under a new member id.
//
// Timers (unref'd, cleared when the member goes): session (group.consumer.session.timeout.ms, reset by every
// heartbeat) fences the member; rebalance (the member's rebalance timeout, armed while it is UNREVOKED_PARTITIONS at
// an epoch) fences it if it does not revoke in time. After a restart every loaded member gets a fresh session, so
// members that keep heartbeating keep their assignment and the others expire, and a member loaded in
// UNREVOKED_PARTITIONS a fresh rebalance timeout (Kafka's onLoaded).
//
// A failed write to `__consumer_offsets` answers the mapped error and rolls the change back (apply, rollBack), as
// Kafka reverts its timeline snapshot.
//
// Deliberate differences from Kafka: the subscription metadata is compared
// with the topic registry on every heartbeat instead of after each metadata image (same outcome: the next
// heartbeat after a topic change bumps the group epoch); rack-aware assignment is not done (no racks here).
// Classic members (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) of these groups and the online upgrade/downgrade:
// classic-members.ts.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KafkaError } from '../../errors.js';
import type { TopicRegistry } from '../../metadata/topic-registry.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { assignmentsEqual, EMPTY_ASSIGNMENT, isSubset, topicIdHex, type Assignment } from './assignment.js';
import type { ConsumerGroupAssignor } from './assignors.js';
import { ConsumerGroup, type ConsumerGroupSnapshot } from './consumer-group.js';
import {
  isReconciledTo,
  JOIN_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_MEMBER_EPOCH,
  LEAVE_GROUP_STATIC_MEMBER_EPOCH,
  MemberState,
  newMember,
  sortedTopicNames,
  subscriptionChanged,
  subscriptionFieldsDiffer,
  usesClassicProtocol,
  type ConsumerGroupMember,
} from './member.js';
import { MemberTimers } from './member-timers.js';
import { reconcileMember, type OwnedTopicPartitions } from './reconciliation.js';
import type { ConsumerGroupRecord, SubscribedTopicMetadata } from './records.js';
import { compileTopicRegex, isRegexExcludedTopic, loadTopicRegexEngine } from './topic-regex.js';
import { classicGroupFromConsumer, consumerGroupFromClassic, type ClassicGroupView, type DowngradedGroup } from './classic-members.js';

export interface ConsumerGroupSettings {
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  maxSize: number;
  /** group.consumer.assignors, the first being the default. */
  assignors: readonly ConsumerGroupAssignor[];
  /** group.consumer.migration.policy: which online conversions of non-empty groups are allowed. */
  migrationPolicy: 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';
  /** group.max.size: a downgrade to a classic group larger than this is not done. */
  classicMaxSize: number;
}

/**
 * A classic group changing type in the same write as the consumer group records (classic-members.ts):
 * `upgrade`: the classic group's members became this consumer group's (its metadata is tombstoned);
 * `downgrade`: the consumer group's classic members form the classic group again (its metadata is written).
 */
export type ClassicGroupConversion = { kind: 'upgrade' } | { kind: 'downgrade'; group: DowngradedGroup };

export interface ConsumerGroupHooks {
  readonly logger: Logger;
  readonly topics: TopicRegistry;
  now(): number;
  /**
   * Writes the records to `__consumer_offsets` (with the classic group's side of a conversion, applied to the
   * classic group before the write); resolves with NONE or the error code to answer.
   */
  write(groupId: string, records: readonly ConsumerGroupRecord[], conversion?: ClassicGroupConversion): Promise<number>;
  /** A consumer group was created (the coordinator keeps its committed offsets). */
  onGroupCreated(groupId: string): void;
  /** The write that created (or kept) the group failed and it is gone again: an unused placeholder may go too. */
  onGroupRolledBack(groupId: string): void;
}

export interface HeartbeatParams {
  groupId: string;
  memberId: string;
  memberEpoch: number;
  instanceId: string | null;
  rackId: string | null;
  rebalanceTimeoutMs: number;
  subscribedTopicNames: string[] | null;
  /** v1+; null when not sent. */
  subscribedTopicRegex: string | null;
  serverAssignor: string | null;
  topicPartitions: OwnedTopicPartitions;
  clientId: string;
  clientHost: string;
}

export interface HeartbeatResult {
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  /** null: not in this answer. */
  assignment: Assignment | null;
}

export interface DescribedConsumerGroup {
  groupId: string;
  errorCode: number;
  errorMessage: string | null;
  group: ConsumerGroup | undefined;
  assignorName: string;
}

/** Kafka's Uuid.randomUuid().toString(): 16 random bytes, URL-safe base64 without padding. */
export function newMemberId(): string {
  return randomBytes(16).toString('base64url');
}

function isBlank(s: string | null): boolean {
  return s !== null && s.trim() === '';
}

function invalidRequest(message: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_REQUEST, message);
}

/** One apply whose write has not settled, or whose write succeeded behind one still in flight. */
interface GroupChange {
  readonly records: readonly ConsumerGroupRecord[];
  /** Records before this index were replayed before the apply (an upgrade's conversion records). */
  readonly replayFrom: number;
  status: 'pending' | 'written' | 'failed';
}

/** A group's state as of its last written change (Kafka's last committed snapshot), and its changes since. */
interface UncommittedGroup {
  base: ConsumerGroupSnapshot;
  baseRegistered: boolean;
  changes: GroupChange[];
}

/** A group with this many changes in flight folds its written ones into its base (settle). */
const FOLD_UNCOMMITTED_AT = 32;

function removesGroup(records: readonly ConsumerGroupRecord[]): boolean {
  return records.some((r) => r.type === 'epoch' && r.value === null);
}

/**
 * Replays changes into a group as apply does, without side effects; returns whether the group is registered after
 * them (a change registers a group that is not Dead; a tombstoned epoch removes it).
 */
function replayChanges(group: ConsumerGroup, changes: readonly GroupChange[], registered: boolean, nowMs: number): boolean {
  for (const change of changes) {
    if (!registered && group.state !== 'Dead') registered = true;
    for (let i = change.replayFrom; i < change.records.length; i++) group.replay(change.records[i]!, nowMs);
    if (removesGroup(change.records)) {
      registered = false;
      group.markDead();
    }
  }
  return registered;
}

export class ConsumerGroupManager {
  private readonly groups = new Map<string, ConsumerGroup>();
  private readonly sessionTimers = new MemberTimers();
  private readonly rebalanceTimers = new MemberTimers();
  /** Classic members of consumer groups: JoinGroup after REBALANCE_IN_PROGRESS, SyncGroup after JoinGroup. */
  private readonly joinTimers = new MemberTimers();
  private readonly syncTimers = new MemberTimers();
  /** Groups with writes in flight: their state before them, for rolling a failed one back. */
  private readonly uncommitted = new Map<ConsumerGroup, UncommittedGroup>();
  private readonly log: Logger;
  private active = true;

  constructor(
    private readonly settings: ConsumerGroupSettings,
    private readonly hooks: ConsumerGroupHooks,
  ) {
    this.log = hooks.logger.child({ component: 'consumer-groups' });
  }

  get defaultAssignor(): ConsumerGroupAssignor {
    return this.settings.assignors[0]!;
  }

  group(groupId: string): ConsumerGroup | undefined {
    return this.groups.get(groupId);
  }

  allGroups(): IterableIterator<ConsumerGroup> {
    return this.groups.values();
  }

  // ---- load ----------------------------------------------------------------------------------------------------

  /** Replays a loaded group's records (offsets-topic.ts hands them over, latest per key, in log order). */
  loadGroup(groupId: string, records: readonly ConsumerGroupRecord[]): void {
    const group = new ConsumerGroup(groupId, this.hooks.now());
    for (const r of records) group.replay(r, this.hooks.now());
    // A group whose epoch record is gone was deleted; leftovers without it are ignored.
    if (records.some((r) => r.type === 'epoch' && r.value !== null)) this.groups.set(groupId, group);
  }

  /** Some loaded member subscribes with a regex (the coordinator then loads re2js before it answers requests). */
  hasRegexSubscriptions(): boolean {
    for (const group of this.groups.values()) for (const m of group.members.values()) if (m.subscribedTopicRegex !== null) return true;
    return false;
  }

  /**
   * After the load (Kafka's GroupMetadataManager.onLoaded): every member's session starts now, and a member loaded in
   * UNREVOKED_PARTITIONS gets its rebalance timeout again, so one that never revokes is still fenced and the
   * members waiting for its partitions get them. `groupIds`: only those groups (a cluster loads one
   * `__consumer_offsets` partition at a time).
   */
  onLoaded(groupIds?: readonly string[]): void {
    const loaded = groupIds === undefined ? [...this.groups.values()] : groupIds.map((id) => this.groups.get(id)).filter((g) => g !== undefined);
    for (const group of loaded) {
      for (const member of group.members.values()) {
        this.scheduleSessionTimeout(group.groupId, member.memberId, this.sessionTimeoutOf(member));
        if (member.state === MemberState.UNREVOKED_PARTITIONS) this.scheduleRebalanceTimeout(group.groupId, member.memberId, member.memberEpoch, member.rebalanceTimeoutMs);
      }
    }
  }

  private sessionTimeoutOf(member: ConsumerGroupMember): number {
    return member.classicMemberMetadata?.sessionTimeoutMs ?? this.settings.sessionTimeoutMs;
  }

  // ---- applying records ------------------------------------------------------------------------------------------

  /**
   * Replays the records into `group` (registering it if it is new, dropping it when its epoch is tombstoned) and
   * writes them; resolves with NONE or the write's error code. A failed write is rolled back (rollBack), as Kafka
   * reverts its timeline snapshot when an append fails: the group is as it was before, with only the changes whose
   * writes succeeded or are still in flight, so memory never holds what a restart would not load.
   */
  async apply(group: ConsumerGroup, records: readonly ConsumerGroupRecord[], options: { replayFrom?: number; conversion?: ClassicGroupConversion } = {}): Promise<number> {
    if (records.length === 0) return ErrorCode.NONE;
    const change: GroupChange = { records, replayFrom: options.replayFrom ?? 0, status: 'pending' };
    let uncommitted = this.uncommitted.get(group);
    if (uncommitted === undefined) {
      uncommitted = { base: group.snapshot(), baseRegistered: this.groups.get(group.groupId) === group, changes: [] };
      this.uncommitted.set(group, uncommitted);
    }
    uncommitted.changes.push(change);
    this.replayChange(group, change);
    const code = await this.hooks.write(group.groupId, records, options.conversion);
    change.status = code === ErrorCode.NONE ? 'written' : 'failed';
    if (code !== ErrorCode.NONE) this.rollBack(group, uncommitted);
    this.settle(group, uncommitted);
    return code;
  }

  /** One change applied to the live group: registration, timers of a removed group, the replay, the removal. */
  private replayChange(group: ConsumerGroup, change: GroupChange): void {
    const now = this.hooks.now();
    if (!this.groups.has(group.groupId) && group.state !== 'Dead') {
      this.groups.set(group.groupId, group);
      this.hooks.onGroupCreated(group.groupId);
    }
    const removing = removesGroup(change.records);
    if (removing) for (const memberId of group.members.keys()) this.cancelTimers(group.groupId, memberId);
    for (let i = change.replayFrom; i < change.records.length; i++) group.replay(change.records[i]!, now);
    if (removing) this.removeGroup(group);
  }

  /**
   * A write failed: the group goes back to its last written state plus the changes not failed, in order (a later
   * change computed on top of the failed one keeps its records, which are what the log holds). Its registration
   * follows, so a group whose creating write failed is gone again and a removal that failed brings the group back.
   * Timers follow the members: the members gone lose theirs, every member left gets a fresh session (as after a
   * load) and, in UNREVOKED_PARTITIONS, its rebalance timeout if it had none.
   */
  private rollBack(group: ConsumerGroup, uncommitted: UncommittedGroup): void {
    const groupId = group.groupId;
    const membersBefore = [...group.members.keys()];
    uncommitted.changes = uncommitted.changes.filter((c) => c.status !== 'failed');
    group.restore(uncommitted.base);
    let registered = replayChanges(group, uncommitted.changes, uncommitted.baseRegistered, this.hooks.now());
    const holder = this.groups.get(groupId);
    if (registered && holder === undefined) this.groups.set(groupId, group);
    else if (registered && holder !== group) registered = false; // the id was taken by a new group meanwhile
    if (!registered) {
      if (holder === group) this.groups.delete(groupId);
      group.markDead();
      if (holder === group || holder === undefined) this.hooks.onGroupRolledBack(groupId);
    }
    for (const memberId of membersBefore) if (!registered || !group.members.has(memberId)) this.cancelTimers(groupId, memberId);
    if (registered) {
      for (const member of group.members.values()) {
        this.scheduleSessionTimeout(groupId, member.memberId, this.sessionTimeoutOf(member));
        if (member.state === MemberState.UNREVOKED_PARTITIONS && !this.rebalanceTimers.has(groupId, member.memberId)) {
          this.scheduleRebalanceTimeout(groupId, member.memberId, member.memberEpoch, member.rebalanceTimeoutMs);
        }
      }
    }
    this.log.warn({ groupId, groupEpoch: group.groupEpoch, members: group.members.size, registered }, 'a consumer group write failed: its change was rolled back');
  }

  /**
   * Forgets the changes once none is in flight; a group that always has a write in flight folds its written
   * leading changes into the base now and then, so the list stays short.
   */
  private settle(group: ConsumerGroup, uncommitted: UncommittedGroup): void {
    if (uncommitted.changes.every((c) => c.status !== 'pending')) {
      if (this.uncommitted.get(group) === uncommitted) this.uncommitted.delete(group);
      return;
    }
    if (uncommitted.changes.length < FOLD_UNCOMMITTED_AT) return;
    let written = 0;
    while (written < uncommitted.changes.length && uncommitted.changes[written]!.status === 'written') written++;
    if (written === 0) return;
    const scratch = new ConsumerGroup(group.groupId, 0);
    scratch.restore(uncommitted.base);
    uncommitted.baseRegistered = replayChanges(scratch, uncommitted.changes.slice(0, written), uncommitted.baseRegistered, this.hooks.now());
    uncommitted.base = scratch.snapshot();
    uncommitted.changes.splice(0, written);
  }

  get migrationPolicy(): ConsumerGroupSettings['migrationPolicy'] {
    return this.settings.migrationPolicy;
  }

  get maxSize(): number {
    return this.settings.maxSize;
  }

  get heartbeatIntervalMs(): number {
    return this.settings.heartbeatIntervalMs;
  }

  private removeGroup(group: ConsumerGroup): void {
    for (const memberId of group.members.keys()) this.cancelTimers(group.groupId, memberId);
    group.markDead();
    if (this.groups.get(group.groupId) === group) this.groups.delete(group.groupId);
  }

  /** Cluster mode: the group's partition moved to another coordinator; its timers stop and it is forgotten here. */
  unloadGroup(groupId: string): void {
    const group = this.groups.get(groupId);
    if (group !== undefined) this.removeGroup(group);
  }

  /** Removes the group with tombstones for all its records (DeleteGroups, expiry, conversion to a classic group). */
  deleteGroup(group: ConsumerGroup): ConsumerGroupRecord[] {
    const records = group.tombstoneRecords();
    for (const memberId of group.members.keys()) this.cancelTimers(group.groupId, memberId);
    this.removeGroup(group);
    return records;
  }

  // ---- ConsumerGroupHeartbeat ------------------------------------------------------------------------------------

  /** Kafka's throwIfConsumerGroupHeartbeatRequestIsInvalid (with Kafka 4.0's regex rules). */
  private validate(p: HeartbeatParams): void {
    if (isBlank(p.groupId)) throw invalidRequest("GroupId can't be empty.");
    if (isBlank(p.instanceId)) throw invalidRequest("InstanceId can't be empty.");
    if (isBlank(p.rackId)) throw invalidRequest("RackId can't be empty.");
    if (p.memberEpoch > 0 || p.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH) {
      if (isBlank(p.memberId)) throw invalidRequest("MemberId can't be empty.");
    } else if (p.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
      if (p.rebalanceTimeoutMs === -1) throw invalidRequest('RebalanceTimeoutMs must be provided in first request.');
      if (p.topicPartitions === null || p.topicPartitions.length > 0) throw invalidRequest('TopicPartitions must be empty when (re-)joining.');
      const noNames = p.subscribedTopicNames === null || p.subscribedTopicNames.length === 0;
      const noRegex = p.subscribedTopicRegex === null || p.subscribedTopicRegex === '';
      if (noNames && noRegex) throw invalidRequest('SubscribedTopicNames or SubscribedTopicRegex must be set in first request.');
    } else if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      if (isBlank(p.memberId)) throw invalidRequest("MemberId can't be empty.");
      if (p.instanceId === null) throw invalidRequest("InstanceId can't be null.");
    } else {
      throw invalidRequest('MemberEpoch is invalid.');
    }
    if (p.serverAssignor !== null && !this.settings.assignors.some((a) => a.name === p.serverAssignor)) {
      throw new KafkaError(
        ErrorCode.UNSUPPORTED_ASSIGNOR,
        `ServerAssignor ${p.serverAssignor} is not supported. Supported assignors: ${this.settings.assignors.map((a) => a.name).join(', ')}.`,
      );
    }
    if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '') compileTopicRegex(p.subscribedTopicRegex);
  }

  /**
   * One ConsumerGroupHeartbeat. `existing` is the consumer group of that id, or undefined (the coordinator has
   * already refused ids of non-empty classic groups and removed an empty one's metadata).
   */
  async heartbeat(p: HeartbeatParams, upgradeFrom?: ClassicGroupView): Promise<HeartbeatResult> {
    const fail = (err: unknown): HeartbeatResult => {
      if (!(err instanceof KafkaError)) throw err;
      return { errorCode: err.errorCode, errorMessage: err.message, memberId: null, memberEpoch: 0, heartbeatIntervalMs: 0, assignment: null };
    };
    let computed: { group: ConsumerGroup; records: ConsumerGroupRecord[]; result: HeartbeatResult; conversion?: ClassicGroupConversion };
    let converted: { group: ConsumerGroup; records: ConsumerGroupRecord[] } | undefined;
    // re2js is loaded on the first regex; nothing else awaits between here and the apply, as before.
    if (p.subscribedTopicRegex !== null && p.subscribedTopicRegex !== '') await loadTopicRegexEngine();
    try {
      this.validate(p);
      if (upgradeFrom !== undefined && p.memberEpoch === JOIN_GROUP_MEMBER_EPOCH) {
        // Kafka's convertToConsumerGroup: the classic members become members of a consumer group at the classic
        // generation, and this heartbeat runs on it; both sets of records are written together.
        converted = consumerGroupFromClassic(p.groupId, upgradeFrom, this.hooks.topics, this.hooks.now());
      }
      computed =
        p.memberEpoch === LEAVE_GROUP_MEMBER_EPOCH || p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH ? this.computeLeave(p) : this.computeHeartbeat(p, converted?.group);
    } catch (err) {
      return fail(err);
    }
    if (converted !== undefined) {
      this.log.info({ groupId: p.groupId, members: converted.group.members.size, groupEpoch: converted.group.groupEpoch }, 'classic group upgraded to a consumer group');
      const code = await this.apply(computed.group, [...converted.records, ...computed.records], { replayFrom: converted.records.length, conversion: { kind: 'upgrade' } });
      if (code !== ErrorCode.NONE) return { ...computed.result, errorCode: code, errorMessage: null, assignment: null };
      for (const m of computed.group.members.values()) if (usesClassicProtocol(m)) this.scheduleSessionTimeout(p.groupId, m.memberId, this.sessionTimeoutOf(m));
      return computed.result;
    }
    const code = await this.apply(computed.group, computed.records, { conversion: computed.conversion });
    if (code !== ErrorCode.NONE) return { ...computed.result, errorCode: code, errorMessage: null, assignment: null };
    return computed.result;
  }

  private consumerGroupOrThrow(groupId: string): ConsumerGroup {
    const group = this.groups.get(groupId);
    if (group === undefined) throw new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `Consumer group ${groupId} not found.`);
    return group;
  }

  private memberOrThrow(group: ConsumerGroup, memberId: string): ConsumerGroupMember {
    const member = group.members.get(memberId);
    if (member === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
    return member;
  }

  /** Kafka's throwIfConsumerGroupMemberEpochIsInvalid. */
  private checkMemberEpoch(member: ConsumerGroupMember, received: number, owned: OwnedTopicPartitions): void {
    if (received > member.memberEpoch) {
      throw new KafkaError(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a greater member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
    if (received < member.memberEpoch && (received !== member.previousMemberEpoch || !isSubset(owned, member.assignedPartitions))) {
      throw new KafkaError(
        ErrorCode.FENCED_MEMBER_EPOCH,
        `The consumer group member has a smaller member epoch (${received}) than the one known by the group coordinator (${member.memberEpoch}). The member must abandon all its partitions and rejoin.`,
      );
    }
  }

  private computeHeartbeat(p: HeartbeatParams, upgraded?: ConsumerGroup): { group: ConsumerGroup; records: ConsumerGroupRecord[]; result: HeartbeatResult } {
    const createIfNotExists = p.memberEpoch === JOIN_GROUP_MEMBER_EPOCH;
    const group = this.groups.get(p.groupId) ?? upgraded ?? (createIfNotExists ? new ConsumerGroup(p.groupId, this.hooks.now()) : this.consumerGroupOrThrow(p.groupId));
    const memberId = p.memberId === '' ? newMemberId() : p.memberId;
    if (group.members.size >= this.settings.maxSize && (p.memberId === '' || !group.members.has(memberId))) {
      throw new KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.settings.maxSize} members.`);
    }
    const records: ConsumerGroupRecord[] = [];
    const member = this.subscribeMember(group, memberId, p, createIfNotExists, records);

    const updated: ConsumerGroupMember = {
      ...member,
      instanceId: p.instanceId ?? member.instanceId,
      rackId: p.rackId ?? member.rackId,
      rebalanceTimeoutMs: p.rebalanceTimeoutMs !== -1 ? p.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
      serverAssignor: p.serverAssignor ?? member.serverAssignor,
      subscribedTopicNames: p.subscribedTopicNames !== null ? sortedTopicNames(p.subscribedTopicNames) : member.subscribedTopicNames,
      subscribedTopicRegex: p.subscribedTopicRegex !== null ? (p.subscribedTopicRegex === '' ? null : p.subscribedTopicRegex) : member.subscribedTopicRegex,
      clientId: p.clientId,
      clientHost: p.clientHost,
      classicMemberMetadata: null,
    };
    const result = this.updateAndReconcile(group, member, updated, p.topicPartitions, records);
    const reconciled = result.member;
    this.scheduleSessionTimeout(group.groupId, reconciled.memberId, this.settings.sessionTimeoutMs);

    const isFullRequest =
      p.memberEpoch === JOIN_GROUP_MEMBER_EPOCH || (p.rebalanceTimeoutMs !== -1 && (p.subscribedTopicNames !== null || p.subscribedTopicRegex !== null) && p.topicPartitions !== null);
    const changed = !assignmentsEqual(member.assignedPartitions, reconciled.assignedPartitions);
    return {
      group,
      records,
      result: {
        errorCode: ErrorCode.NONE,
        errorMessage: null,
        memberId: reconciled.memberId,
        memberEpoch: reconciled.memberEpoch,
        heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
        assignment: isFullRequest || changed ? reconciled.assignedPartitions : null,
      },
    };
  }

  /**
   * Steps 1–3 of a heartbeat (or a classic member's JoinGroup) once the member is known: records for the member's
   * subscription, the group epoch, the target assignment and the reconciliation; returns the reconciled member.
   */
  updateAndReconcile(
    group: ConsumerGroup,
    member: ConsumerGroupMember,
    updated: ConsumerGroupMember,
    owned: OwnedTopicPartitions,
    records: ConsumerGroupRecord[],
  ): { member: ConsumerGroupMember } {
    const groupId = group.groupId;
    let bumpGroupEpoch = false;
    if (subscriptionFieldsDiffer(member, updated) || !group.members.has(updated.memberId)) {
      records.push({ type: 'member', groupId, memberId: updated.memberId, value: updated });
      if (subscriptionChanged(member, updated)) bumpGroupEpoch = true;
    }
    let groupEpoch = group.groupEpoch;
    const regexCache = new Map<string, string[]>();
    const subscriptionMetadata = this.computeSubscriptionMetadata(group, member, updated, regexCache);
    if (!sameSubscriptionMetadata(subscriptionMetadata, group.subscriptionMetadata)) {
      this.log.info({ groupId, topics: [...subscriptionMetadata.keys()] }, 'computed new subscription metadata');
      bumpGroupEpoch = true;
      records.push({ type: 'partition-metadata', groupId, value: [...subscriptionMetadata.values()] });
    }
    if (bumpGroupEpoch) {
      groupEpoch += 1;
      records.push({ type: 'epoch', groupId, value: groupEpoch });
      this.log.info({ groupId, groupEpoch }, 'bumped the group epoch');
    }

    let targetAssignmentEpoch: number;
    let targetAssignment: Assignment;
    if (groupEpoch > group.assignmentEpoch) {
      targetAssignment = this.updateTargetAssignment(group, groupEpoch, member, updated, subscriptionMetadata, regexCache, records);
      targetAssignmentEpoch = groupEpoch;
    } else {
      targetAssignmentEpoch = group.assignmentEpoch;
      targetAssignment = group.targetAssignmentOf(updated.memberId, updated.instanceId);
    }

    let reconciled = updated;
    if (!isReconciledTo(updated, targetAssignmentEpoch)) {
      reconciled = reconcileMember(updated, {
        targetAssignmentEpoch,
        targetAssignment,
        currentPartitionEpoch: (topicId, partition) => group.currentPartitionEpoch(topicId, partition),
        ownedTopicPartitions: owned,
      });
      if (reconciled !== updated && currentAssignmentDiffers(updated, reconciled)) {
        records.push({
          type: 'current-assignment',
          groupId,
          memberId: reconciled.memberId,
          value: {
            memberEpoch: reconciled.memberEpoch,
            previousMemberEpoch: reconciled.previousMemberEpoch,
            state: reconciled.state,
            assignedPartitions: reconciled.assignedPartitions,
            partitionsPendingRevocation: reconciled.partitionsPendingRevocation,
          },
        });
        this.log.info(
          { groupId, memberId: reconciled.memberId, memberEpoch: reconciled.memberEpoch, previousMemberEpoch: reconciled.previousMemberEpoch, state: reconciled.state },
          'member has a new assignment state',
        );
        if (!usesClassicProtocol(reconciled)) {
          if (reconciled.state === MemberState.UNREVOKED_PARTITIONS) this.scheduleRebalanceTimeout(groupId, reconciled.memberId, reconciled.memberEpoch, reconciled.rebalanceTimeoutMs);
          else this.cancelRebalanceTimeout(groupId, reconciled.memberId);
        }
      }
    }
    return { member: reconciled };
  }

  /** Kafka's getOrMaybeSubscribe{Dynamic,Static}ConsumerGroupMember. */
  subscribeMember(group: ConsumerGroup, memberId: string, p: { memberEpoch: number; instanceId: string | null; topicPartitions: OwnedTopicPartitions }, createIfNotExists: boolean, records: ConsumerGroupRecord[], classic = false): ConsumerGroupMember {
    if (p.instanceId === null) {
      const existing = group.members.get(memberId);
      if (existing === undefined && !createIfNotExists) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
      const member = existing ?? newMember(memberId);
      if (!classic) this.checkMemberEpoch(member, p.memberEpoch, p.topicPartitions);
      if (createIfNotExists && existing === undefined) this.log.info({ groupId: group.groupId, memberId, protocol: classic ? 'classic' : 'consumer' }, 'member joins the consumer group');
      return member;
    }
    const instanceId = p.instanceId;
    const staticMember = group.staticMember(instanceId);
    if (createIfNotExists) {
      if (staticMember === undefined) {
        this.log.info({ groupId: group.groupId, memberId, instanceId }, 'static member joins the consumer group');
        return group.members.get(memberId) ?? newMember(memberId);
      }
      if (staticMember.memberId === memberId && classic) return staticMember;
      if (!classic && staticMember.memberEpoch !== LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
        throw new KafkaError(
          ErrorCode.UNRELEASED_INSTANCE_ID,
          `Static member ${memberId} with instance id ${instanceId} cannot join the group because the instance id is owned by ${staticMember.memberId} member.`,
        );
      }
      // The new member id replaces the one that left: it takes over its assignment and its target.
      const replacement: ConsumerGroupMember = { ...staticMember, memberId, memberEpoch: 0, previousMemberEpoch: 0 };
      const groupId = group.groupId;
      records.push({ type: 'current-assignment', groupId, memberId: staticMember.memberId, value: null });
      records.push({ type: 'target-member', groupId, memberId: staticMember.memberId, value: null });
      records.push({ type: 'member', groupId, memberId: staticMember.memberId, value: null });
      records.push({ type: 'member', groupId, memberId, value: replacement });
      records.push({ type: 'target-member', groupId, memberId, value: group.targetAssignment.get(staticMember.memberId) ?? EMPTY_ASSIGNMENT });
      records.push({
        type: 'current-assignment',
        groupId,
        memberId,
        value: { memberEpoch: 0, previousMemberEpoch: 0, state: replacement.state, assignedPartitions: replacement.assignedPartitions, partitionsPendingRevocation: replacement.partitionsPendingRevocation },
      });
      this.cancelTimers(groupId, staticMember.memberId);
      this.log.info({ groupId, instanceId, memberId, replaced: staticMember.memberId }, 'static member rejoins the consumer group');
      return replacement;
    }
    if (staticMember === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${instanceId} is unknown.`);
    if (staticMember.memberId !== memberId) {
      throw new KafkaError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${staticMember.memberId}.`);
    }
    if (!classic) this.checkMemberEpoch(staticMember, p.memberEpoch, p.topicPartitions);
    return staticMember;
  }

  /** The topic names a member subscribes to: its names plus what its regex matches now. */
  private memberTopics(member: ConsumerGroupMember, regexCache: Map<string, string[]>): readonly string[] {
    if (member.subscribedTopicRegex === null) return member.subscribedTopicNames;
    return [...member.subscribedTopicNames, ...this.resolveRegex(member.subscribedTopicRegex, regexCache)];
  }

  private resolveRegex(regex: string, cache: Map<string, string[]>): string[] {
    let names = cache.get(regex);
    if (names !== undefined) return names;
    names = [];
    try {
      const re = compileTopicRegex(regex);
      for (const t of this.hooks.topics.list()) if (!isRegexExcludedTopic(t.name) && re.matches(t.name)) names.push(t.name);
    } catch (err) {
      // Validated when it was sent; a stored one that does not compile (written by another broker) matches nothing.
      if (!(err instanceof KafkaError)) throw err;
    }
    cache.set(regex, names);
    return names;
  }

  /** The metadata of every topic some member subscribes to, with `updated` in place of `old` (null: removed). */
  computeSubscriptionMetadata(group: ConsumerGroup, old: ConsumerGroupMember | null, updated: ConsumerGroupMember | null, regexCache: Map<string, string[]>): Map<string, SubscribedTopicMetadata> {
    const names = new Set<string>();
    for (const m of group.members.values()) {
      if (old !== null && m.memberId === old.memberId) continue;
      // A static member being replaced is represented by its replacement.
      if (updated !== null && updated.instanceId !== null && m.instanceId === updated.instanceId && m.memberId !== updated.memberId) continue;
      for (const t of this.memberTopics(m, regexCache)) names.add(t);
    }
    if (updated !== null) for (const t of this.memberTopics(updated, regexCache)) names.add(t);
    const out = new Map<string, SubscribedTopicMetadata>();
    for (const name of [...names].sort()) {
      const topic = this.hooks.topics.get(name);
      if (topic !== undefined) out.set(name, { topicId: topicIdHex(topic.topicId), name, numPartitions: topic.partitions });
    }
    return out;
  }

  /** Kafka's updateTargetAssignment + TargetAssignmentBuilder.build: returns the updated member's new target. */
  private updateTargetAssignment(
    group: ConsumerGroup,
    groupEpoch: number,
    old: ConsumerGroupMember | null,
    updated: ConsumerGroupMember | null,
    subscriptionMetadata: Map<string, SubscribedTopicMetadata>,
    regexCache: Map<string, string[]>,
    records: ConsumerGroupRecord[],
  ): Assignment {
    const groupId = group.groupId;
    const members: ConsumerGroupMember[] = [];
    const replacedMemberId = updated?.instanceId != null ? group.staticMemberId(updated.instanceId) : undefined;
    for (const m of group.members.values()) {
      if (old !== null && m.memberId === old.memberId) continue;
      if (updated !== null && m.memberId === updated.memberId) continue;
      if (replacedMemberId !== undefined && updated !== null && m.memberId === replacedMemberId && replacedMemberId !== updated.memberId) continue;
      members.push(m);
    }
    if (updated !== null) members.push(updated);

    const currentTarget = (m: ConsumerGroupMember): Assignment => {
      if (updated !== null && m.memberId === updated.memberId && replacedMemberId !== undefined && replacedMemberId !== m.memberId) {
        return group.targetAssignment.get(replacedMemberId) ?? EMPTY_ASSIGNMENT;
      }
      return group.targetAssignment.get(m.memberId) ?? EMPTY_ASSIGNMENT;
    };
    const topicIdsOf = (m: ConsumerGroupMember): Set<string> => {
      const ids = new Set<string>();
      for (const name of this.memberTopics(m, regexCache)) {
        const t = subscriptionMetadata.get(name);
        if (t !== undefined) ids.add(t.topicId);
      }
      return ids;
    };
    const specs = members.map((m) => ({ memberId: m.memberId, instanceId: m.instanceId, rackId: m.rackId, subscribedTopicIds: topicIdsOf(m), assignment: currentTarget(m) }));
    const first = specs[0]?.subscribedTopicIds;
    const homogeneous = specs.every((s) => s.subscribedTopicIds.size === first!.size && [...s.subscribedTopicIds].every((t) => first!.has(t)));
    const preferred = group.preferredServerAssignor(members);
    const assignor = this.settings.assignors.find((a) => a.name === preferred) ?? this.defaultAssignor;
    const partitionCounts = new Map([...subscriptionMetadata.values()].map((t) => [t.topicId, t.numPartitions]));
    const startedAt = this.hooks.now();
    const assigned = assignor.assign({ members: specs, homogeneous, partitionCounts });
    for (const s of specs) {
      const next = assigned.get(s.memberId) ?? EMPTY_ASSIGNMENT;
      const previous = group.targetAssignment.get(s.memberId);
      if (previous === undefined || !assignmentsEqual(previous, next)) records.push({ type: 'target-member', groupId, memberId: s.memberId, value: next });
    }
    records.push({ type: 'target-epoch', groupId, value: groupEpoch });
    this.log.info({ groupId, groupEpoch, assignor: assignor.name, members: specs.length, assignorMs: this.hooks.now() - startedAt }, 'computed a new target assignment');
    return updated === null ? EMPTY_ASSIGNMENT : (assigned.get(updated.memberId) ?? EMPTY_ASSIGNMENT);
  }

  // ---- leaving and fencing ---------------------------------------------------------------------------------------

  private computeLeave(p: HeartbeatParams): { group: ConsumerGroup; records: ConsumerGroupRecord[]; result: HeartbeatResult; conversion?: ClassicGroupConversion } {
    const group = this.consumerGroupOrThrow(p.groupId);
    const result: HeartbeatResult = { errorCode: ErrorCode.NONE, errorMessage: null, memberId: p.memberId, memberEpoch: p.memberEpoch, heartbeatIntervalMs: 0, assignment: null };
    if (p.instanceId === null) {
      const member = this.memberOrThrow(group, p.memberId);
      this.log.info({ groupId: group.groupId, memberId: p.memberId }, 'member left the consumer group');
      return { group, ...this.fenceMemberChange(group, member), result };
    }
    const member = group.staticMember(p.instanceId);
    if (member === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${p.instanceId} is unknown.`);
    if (member.memberId !== p.memberId) {
      throw new KafkaError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${p.memberId} with instance id ${p.instanceId} was fenced by member ${member.memberId}.`);
    }
    if (p.memberEpoch === LEAVE_GROUP_STATIC_MEMBER_EPOCH) {
      this.log.info({ groupId: group.groupId, memberId: p.memberId, instanceId: p.instanceId }, 'static member temporarily left the consumer group');
      this.cancelRebalanceTimeout(group.groupId, member.memberId);
      const records: ConsumerGroupRecord[] = [
        {
          type: 'current-assignment',
          groupId: group.groupId,
          memberId: member.memberId,
          value: { memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH, previousMemberEpoch: member.memberEpoch, state: member.state, assignedPartitions: member.assignedPartitions, partitionsPendingRevocation: EMPTY_ASSIGNMENT },
        },
      ];
      return { group, records, result: { ...result, memberId: member.memberId, memberEpoch: LEAVE_GROUP_STATIC_MEMBER_EPOCH } };
    }
    this.log.info({ groupId: group.groupId, memberId: p.memberId, instanceId: p.instanceId }, 'static member left the consumer group');
    return { group, ...this.fenceMemberChange(group, member), result };
  }

  /**
   * Kafka's consumerGroupFenceMember: the last consumer-protocol member leaving a group whose other members all use
   * the classic protocol downgrades it to a classic group (validateOnlineDowngradeWithFencedMember: the policy
   * allows downgrades, some member stays, and they fit group.max.size); otherwise the member is removed.
   */
  fenceMemberChange(group: ConsumerGroup, member: ConsumerGroupMember): { records: ConsumerGroupRecord[]; conversion?: ClassicGroupConversion } {
    const others = group.members.size - 1;
    const downgrade =
      !usesClassicProtocol(member) &&
      group.numClassicProtocolMembers() === others &&
      others >= 1 &&
      (this.settings.migrationPolicy === 'downgrade' || this.settings.migrationPolicy === 'bidirectional') &&
      others <= this.settings.classicMaxSize;
    if (!downgrade) return { records: this.fenceMemberRecords(group, member) };
    this.log.info({ groupId: group.groupId, memberId: member.memberId, classicMembers: others }, 'the last consumer-protocol member left: downgrading to a classic group');
    const downgraded = classicGroupFromConsumer(group, member.memberId, this.hooks.topics);
    // The tombstones remove the group when apply replays them (before the write, so a failed write restores it).
    return { records: group.tombstoneRecords(), conversion: { kind: 'downgrade', group: downgraded } };
  }

  /**
   * Kafka's validateOnlineDowngradeWithReplacedMemberId: a classic static member replacing the last
   * consumer-protocol member (every other member uses the classic protocol) downgrades the group when the policy
   * allows downgrades and the group fits group.max.size.
   */
  canDowngradeReplacing(group: ConsumerGroup, replacedMemberId: string): boolean {
    const replaced = group.members.get(replacedMemberId);
    if (replaced === undefined || usesClassicProtocol(replaced) || group.numClassicProtocolMembers() !== group.members.size - 1) return false;
    if (this.settings.migrationPolicy !== 'downgrade' && this.settings.migrationPolicy !== 'bidirectional') {
      this.log.info({ groupId: group.groupId }, 'cannot downgrade the consumer group to a classic group: the online downgrade is disabled');
      return false;
    }
    if (group.members.size > this.settings.classicMaxSize) {
      this.log.info({ groupId: group.groupId }, 'cannot downgrade the consumer group to a classic group: it is larger than group.max.size');
      return false;
    }
    return true;
  }

  /** Kafka's removeMember plus the rest of consumerGroupFenceMember: tombstones, new subscription metadata, epoch + 1. */
  fenceMemberRecords(group: ConsumerGroup, member: ConsumerGroupMember): ConsumerGroupRecord[] {
    const groupId = group.groupId;
    const records: ConsumerGroupRecord[] = [
      { type: 'current-assignment', groupId, memberId: member.memberId, value: null },
      { type: 'target-member', groupId, memberId: member.memberId, value: null },
      { type: 'member', groupId, memberId: member.memberId, value: null },
    ];
    const metadata = this.computeSubscriptionMetadata(group, member, null, new Map());
    if (!sameSubscriptionMetadata(metadata, group.subscriptionMetadata)) records.push({ type: 'partition-metadata', groupId, value: [...metadata.values()] });
    records.push({ type: 'epoch', groupId, value: group.groupEpoch + 1 });
    this.cancelTimers(groupId, member.memberId);
    return records;
  }

  /** Fences a member from a timer (session or rebalance timeout); the write's outcome is only logged. */
  fenceMember(groupId: string, memberId: string, reason: string, onlyAtEpoch?: number): void {
    if (!this.active) return;
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return;
    if (onlyAtEpoch !== undefined && member.memberEpoch !== onlyAtEpoch) return;
    this.log.info({ groupId, memberId, reason }, 'member fenced from the consumer group');
    const change = this.fenceMemberChange(group, member);
    void this.apply(group, change.records, { conversion: change.conversion }).then((code) => {
      if (code !== ErrorCode.NONE) this.log.warn({ groupId, memberId, errorCode: code }, 'writing the fencing of a member failed');
    });
  }

  // ---- timers --------------------------------------------------------------------------------------------------

  scheduleSessionTimeout(groupId: string, memberId: string, timeoutMs: number): void {
    if (!this.active) return;
    this.sessionTimers.refreshOrSchedule(groupId, memberId, timeoutMs, () => this.fenceMember(groupId, memberId, 'the member session expired'));
  }

  private scheduleRebalanceTimeout(groupId: string, memberId: string, memberEpoch: number, timeoutMs: number): void {
    if (!this.active) return;
    this.rebalanceTimers.schedule(groupId, memberId, timeoutMs, () =>
      this.fenceMember(groupId, memberId, `it failed to transition from epoch ${memberEpoch} within ${timeoutMs}ms`, memberEpoch),
    );
  }

  private cancelRebalanceTimeout(groupId: string, memberId: string): void {
    this.rebalanceTimers.cancel(groupId, memberId);
  }

  /**
   * A classic member told to rejoin (REBALANCE_IN_PROGRESS) must send JoinGroup within its rebalance timeout, or it
   * is fenced (Kafka's scheduleConsumerGroupJoinTimeoutIfAbsent); a successful JoinGroup cancels it.
   */
  scheduleJoinTimeoutIfAbsent(groupId: string, memberId: string, rebalanceTimeoutMs: number): void {
    if (!this.active) return;
    this.joinTimers.scheduleIfAbsent(groupId, memberId, rebalanceTimeoutMs, () =>
      this.fenceMember(groupId, memberId, 'the classic member failed to join within the rebalance timeout'),
    );
  }

  cancelJoinTimeout(groupId: string, memberId: string): void {
    this.joinTimers.cancel(groupId, memberId);
  }

  /** After its JoinGroup a classic member must send SyncGroup within its rebalance timeout (scheduleConsumerGroupSyncTimeout). */
  scheduleSyncTimeout(groupId: string, memberId: string, rebalanceTimeoutMs: number): void {
    if (!this.active) return;
    this.syncTimers.schedule(groupId, memberId, rebalanceTimeoutMs, () => this.fenceMember(groupId, memberId, 'the member failed to sync within timeout'));
  }

  cancelSyncTimeout(groupId: string, memberId: string): void {
    this.syncTimers.cancel(groupId, memberId);
  }

  cancelTimers(groupId: string, memberId: string): void {
    this.sessionTimers.cancel(groupId, memberId);
    this.rebalanceTimers.cancel(groupId, memberId);
    this.joinTimers.cancel(groupId, memberId);
    this.syncTimers.cancel(groupId, memberId);
  }

  // ---- offsets and admin ---------------------------------------------------------------------------------------

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit: epoch < 0 while the group has no members is an admin or simple
   * commit; otherwise the member must exist (UNKNOWN_MEMBER_ID), a consumer-protocol member must use OffsetCommit v9+
   * (UNSUPPORTED_VERSION) and send its current epoch (STALE_MEMBER_EPOCH; ILLEGAL_GENERATION for a classic member).
   */
  validateOffsetCommit(group: ConsumerGroup, memberId: string, memberEpoch: number, isTransactional: boolean, apiVersion: number): number {
    if (memberEpoch < 0 && group.members.size === 0) return ErrorCode.NONE;
    const member = group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    const classic = usesClassicProtocol(member);
    if (!isTransactional && !classic && apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    if (memberEpoch !== member.memberEpoch) return classic || isTransactional ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /** Kafka's ConsumerGroup.validateOffsetFetch: no member id with epoch < 0 is an admin fetch. */
  validateOffsetFetch(group: ConsumerGroup, memberId: string | null, memberEpoch: number): number {
    if (memberId === null && memberEpoch < 0) return ErrorCode.NONE;
    const member = memberId === null ? undefined : group.members.get(memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (memberEpoch !== member.memberEpoch) return usesClassicProtocol(member) ? ErrorCode.ILLEGAL_GENERATION : ErrorCode.STALE_MEMBER_EPOCH;
    return ErrorCode.NONE;
  }

  /** The topics some member subscribes to (offset expiry and OffsetDelete's GROUP_SUBSCRIBED_TO_TOPIC). */
  subscribedTopics(group: ConsumerGroup): Set<string> {
    const cache = new Map<string, string[]>();
    const names = new Set<string>();
    for (const m of group.members.values()) for (const t of this.memberTopics(m, cache)) names.add(t);
    return names;
  }

  /** ConsumerGroupDescribe for one group id (GROUP_ID_NOT_FOUND when it is not a consumer group). */
  describe(groupId: string): DescribedConsumerGroup {
    const group = this.groups.get(groupId);
    if (group === undefined) return { groupId, errorCode: ErrorCode.GROUP_ID_NOT_FOUND, errorMessage: `Group ${groupId} not found.`, group: undefined, assignorName: '' };
    return { groupId, errorCode: ErrorCode.NONE, errorMessage: null, group, assignorName: group.preferredServerAssignor() ?? this.defaultAssignor.name };
  }

  shutdown(): void {
    this.active = false;
    for (const timers of [this.sessionTimers, this.rebalanceTimers, this.joinTimers, this.syncTimers]) timers.clear();
  }
}

export function sameSubscriptionMetadata(a: ReadonlyMap<string, SubscribedTopicMetadata>, b: ReadonlyMap<string, SubscribedTopicMetadata>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, t] of a) {
    const o = b.get(name);
    if (o === undefined || o.topicId !== t.topicId || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

function currentAssignmentDiffers(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return (
    a.memberEpoch !== b.memberEpoch ||
    a.previousMemberEpoch !== b.previousMemberEpoch ||
    a.state !== b.state ||
    !assignmentsEqual(a.assignedPartitions, b.assignedPartitions) ||
    !assignmentsEqual(a.partitionsPendingRevocation, b.partitionsPendingRevocation)
  );
}

