// Classic-protocol members inside consumer groups, and the conversions between the two group types, as Kafka 4.0's
// GroupMetadataManager defines them (KIP-848 "upgrade and downgrade"; read from the Kafka source at the mirror's
// HEAD 1eb7644: classicGroupJoinToConsumerGroup, classicGroupSyncToConsumerGroup,
// classicGroupHeartbeatToConsumerGroup, classicGroupLeaveToConsumerGroup, convertToConsumerGroup /
// ConsumerGroup.fromClassicGroup, convertToClassicGroup / ClassicGroup.fromConsumerGroup).
//
// A classic member (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, the "consumer" embedded protocol) of a consumer group
// is a ConsumerGroupMember with classicMemberMetadata (its session timeout and JoinGroup protocols). The broker
// assigns for it exactly as for a consumer-protocol member; the classic requests only carry the result:
// | request    | what happens                                                                                    |
// |------------|-------------------------------------------------------------------------------------------------|
// | JoinGroup  | the member is created or updated from its subscription (topics, owned partitions, rack), the    |
// |            | group epoch bumped if the subscription changed, the target recomputed, the member reconciled;   |
// |            | answered at once: generation = member epoch, protocol = its first one, no leader, no members    |
// | SyncGroup  | the member's assigned partitions, in the ConsumerProtocolAssignment version of its subscription |
// | Heartbeat  | REBALANCE_IN_PROGRESS when the member must rejoin: group epoch ahead of its epoch, partitions to |
// |            | revoke, or partitions it waits for have been released                                           |
// | LeaveGroup | the member is removed and the group epoch bumped                                                |
// Errors as Kafka: a protocol type other than "consumer", or protocols the other classic members do not all share:
// INCONSISTENT_GROUP_PROTOCOL; a full group GROUP_MAX_SIZE_REACHED; v4+ dynamic member without id
// MEMBER_ID_REQUIRED; unknown member or one using the consumer protocol UNKNOWN_MEMBER_ID; a static member id
// mismatch FENCED_INSTANCE_ID; SyncGroup/Heartbeat generation ≠ member epoch ILLEGAL_GENERATION; SyncGroup protocol
// type/name not the member's INCONSISTENT_GROUP_PROTOCOL; SyncGroup while it must rejoin REBALANCE_IN_PROGRESS.
//
// Conversions (group.consumer.migration.policy: upgrade needs upgrade|bidirectional, downgrade downgrade|bidirectional):
// - upgrade: a ConsumerGroupHeartbeat joining a classic group with members that uses the "consumer" protocol type
//   and fits group.consumer.max.size (the coordinator checks, validateOnlineUpgrade). Every classic member becomes
//   a STABLE member at the classic generation with its last assignment as current and target assignment; waiting
//   JoinGroup/SyncGroup answers get REBALANCE_IN_PROGRESS; the joining member's heartbeat then bumps the epoch, so
//   the classic members learn at their next heartbeat that they must rejoin.
// - downgrade: the last consumer-protocol member leaving (or fenced) while classic members remain
//   (manager.ts fenceMemberChange): the classic group is rebuilt Stable at the group epoch from the classic members
//   with their target assignments and starts a rebalance.
// - downgrade by replacement: a classic static member whose JoinGroup replaces the last consumer-protocol member
//   (validateOnlineDowngradeWithReplacedMemberId): the classic group takes the other members and the joining one
//   with the replaced member's assignment, and stays Stable (no rebalance).
// Timeouts of classic members, of their rebalance timeout as Kafka's: told to rejoin (REBALANCE_IN_PROGRESS from
// Heartbeat or SyncGroup), a member must send JoinGroup in time (join timeout, armed if absent); after JoinGroup it
// must send SyncGroup in time (sync timeout); either expiring fences it like a session timeout.
// Classic members subscribe by name (no regex subscriptions), as in Kafka.
import { randomBytes } from 'node:crypto';
import { KafkaError } from '../../errors.js';
import type { TopicRegistry } from '../../metadata/topic-registry.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { CONSUMER_PROTOCOL_TYPE } from '../consumer-protocol.js';
import type { JoinParams, LeaveResult, SyncParams } from '../group.js';
import { joinError, syncError, type JoinResult, type MemberProtocol, type SyncResult } from '../member.js';
import { assignmentFrom, EMPTY_ASSIGNMENT, topicIdBuffer, type Assignment } from './assignment.js';
import { ConsumerGroup } from './consumer-group.js';
import { consumerProtocolVersion, decodeConsumerProtocolAssignment, decodeConsumerProtocolSubscription, encodeConsumerProtocolAssignment } from './embedded-protocol.js';
import type { ClassicGroupConversion, ConsumerGroupManager } from './manager.js';
import { MemberState, sortedTopicNames, usesClassicProtocol, type ConsumerGroupMember } from './member.js';
import type { ConsumerGroupRecord } from './records.js';

/** The parts of a classic group (group.ts) the upgrade reads. */
export interface ClassicGroupView {
  generationId: number;
  protocolName: string;
  members: Iterable<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocols: MemberProtocol[];
    assignment: Buffer;
  }>;
}

/** A classic group rebuilt from a consumer group's classic members (the downgrade). */
export interface DowngradedGroup {
  generationId: number;
  /** false when a static member replacing the last consumer-protocol member triggered it: no rebalance. */
  rebalance: boolean;
  members: Array<{
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    rebalanceTimeoutMs: number;
    sessionTimeoutMs: number;
    protocols: MemberProtocol[];
    assignment: Buffer;
  }>;
}

function malformed(groupId: string): KafkaError {
  return new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `Cannot upgrade the classic group ${groupId} to consumer group because the embedded consumer protocol is malformed.`);
}

/** Topic names → ids of the registry; unknown topics are dropped (Kafka's toTopicPartitionMap). */
function assignmentByName(list: ReadonlyArray<{ topic: string; partitions: readonly number[] }>, topics: TopicRegistry): Assignment {
  const out: Array<{ topicId: Buffer; partitions: readonly number[] }> = [];
  for (const t of list) {
    const info = topics.get(t.topic);
    if (info !== undefined) out.push({ topicId: info.topicId, partitions: t.partitions });
  }
  return assignmentFrom(out);
}

/** Topic ids → names, sorted by name then partition; topics gone from the registry are dropped. */
function assignmentToNames(a: Assignment, topics: TopicRegistry): Array<{ topic: string; partitions: number[] }> {
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (const [topicId, parts] of a) {
    const info = topics.getById(topicIdBuffer(topicId));
    if (info !== undefined && parts.size > 0) out.push({ topic: info.name, partitions: [...parts].sort((x, y) => x - y) });
  }
  return out.sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : 0));
}

/**
 * Kafka's ConsumerGroup.fromClassicGroup + createConsumerGroupRecords: the records of a consumer group holding the
 * classic members, replayed into a new (unregistered) group. Throws GROUP_ID_NOT_FOUND when a member's embedded
 * protocol does not decode.
 */
export function consumerGroupFromClassic(groupId: string, classic: ClassicGroupView, topics: TopicRegistry, nowMs: number): { group: ConsumerGroup; records: ConsumerGroupRecord[] } {
  const epoch = classic.generationId;
  const members: ConsumerGroupMember[] = [];
  for (const m of classic.members) {
    let assigned: Assignment;
    let subscription: ReturnType<typeof decodeConsumerProtocolSubscription>;
    try {
      const metadata = m.protocols.find((x) => x.name === classic.protocolName)?.metadata;
      if (metadata === undefined) throw new RangeError('no metadata for the group protocol');
      subscription = decodeConsumerProtocolSubscription(metadata);
      assigned = assignmentByName(decodeConsumerProtocolAssignment(m.assignment), topics);
    } catch {
      throw malformed(groupId);
    }
    members.push({
      memberId: m.memberId,
      memberEpoch: epoch,
      previousMemberEpoch: epoch,
      state: MemberState.STABLE,
      instanceId: m.groupInstanceId,
      rackId: subscription.rackId,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      clientId: m.clientId,
      clientHost: m.clientHost,
      subscribedTopicNames: sortedTopicNames(subscription.topics),
      subscribedTopicRegex: null,
      serverAssignor: null,
      assignedPartitions: assigned,
      partitionsPendingRevocation: EMPTY_ASSIGNMENT,
      classicMemberMetadata: { sessionTimeoutMs: m.sessionTimeoutMs, supportedProtocols: m.protocols.map((p) => ({ name: p.name, metadata: p.metadata })) },
    });
  }
  const records: ConsumerGroupRecord[] = [];
  for (const m of members) records.push({ type: 'member', groupId, memberId: m.memberId, value: m });
  records.push({ type: 'epoch', groupId, value: epoch });
  for (const m of members) records.push({ type: 'target-member', groupId, memberId: m.memberId, value: m.assignedPartitions });
  records.push({ type: 'target-epoch', groupId, value: epoch });
  for (const m of members) {
    records.push({
      type: 'current-assignment',
      groupId,
      memberId: m.memberId,
      value: { memberEpoch: epoch, previousMemberEpoch: epoch, state: MemberState.STABLE, assignedPartitions: m.assignedPartitions, partitionsPendingRevocation: EMPTY_ASSIGNMENT },
    });
  }
  const group = new ConsumerGroup(groupId, nowMs);
  for (const r of records) group.replay(r, nowMs);
  return { group, records };
}

/** The member's assigned partitions in the ConsumerProtocolAssignment version of its first protocol (prepareAssignment). */
function serializeAssignment(member: ConsumerGroupMember, a: Assignment, topics: TopicRegistry): Buffer {
  const first = member.classicMemberMetadata?.supportedProtocols[0];
  let version = 0;
  try {
    if (first !== undefined) version = consumerProtocolVersion(first.metadata);
  } catch {
    version = 0;
  }
  return encodeConsumerProtocolAssignment(version, assignmentToNames(a, topics));
}

/**
 * Kafka's ClassicGroup.fromConsumerGroup: every member but the leaving one, with its target assignment; a joining
 * static member (the downgrade by replacement) takes the leaving member's assignment and no rebalance follows.
 */
export function classicGroupFromConsumer(group: ConsumerGroup, leavingMemberId: string, topics: TopicRegistry, joining?: ConsumerGroupMember): DowngradedGroup {
  const members: DowngradedGroup['members'] = [];
  const add = (m: ConsumerGroupMember, assignmentOf: string): void => {
    if (m.classicMemberMetadata === null) return;
    members.push({
      memberId: m.memberId,
      groupInstanceId: m.instanceId,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rebalanceTimeoutMs: m.rebalanceTimeoutMs,
      sessionTimeoutMs: m.classicMemberMetadata.sessionTimeoutMs,
      protocols: m.classicMemberMetadata.supportedProtocols.map((p) => ({ name: p.name, metadata: p.metadata })),
      assignment: serializeAssignment(m, group.targetAssignment.get(assignmentOf) ?? EMPTY_ASSIGNMENT, topics),
    });
  };
  for (const m of group.members.values()) if (m.memberId !== leavingMemberId && m.memberId !== joining?.memberId) add(m, m.memberId);
  if (joining !== undefined) add(joining, leavingMemberId);
  return { generationId: group.groupEpoch, rebalance: joining === undefined, members };
}

/** Kafka's ConsumerGroup.supportsClassicProtocols. */
function supportsClassicProtocols(group: ConsumerGroup, protocolType: string, names: ReadonlySet<string>): boolean {
  if (protocolType !== CONSUMER_PROTOCOL_TYPE) return false;
  if (group.isEmpty) return names.size > 0;
  const classic = [...group.members.values()].filter(usesClassicProtocol);
  return [...names].some((name) => classic.every((m) => m.classicMemberMetadata!.supportedProtocols.some((p) => p.name === name)));
}

/** The member has target partitions another member still holds (ConsumerGroup.waitingOnUnreleasedPartition). */
function waitingOnUnreleasedPartition(group: ConsumerGroup, member: ConsumerGroupMember): boolean {
  if (member.state !== MemberState.UNRELEASED_PARTITIONS) return false;
  for (const [topicId, parts] of group.targetAssignment.get(member.memberId) ?? EMPTY_ASSIGNMENT) {
    const assigned = member.assignedPartitions.get(topicId);
    for (const p of parts) if (!(assigned?.has(p) ?? false) && group.currentPartitionEpoch(topicId, p) !== -1) return true;
  }
  return false;
}

/** The JoinGroup/SyncGroup/Heartbeat/LeaveGroup side of consumer groups (see the table above). */
export class ClassicMembers {
  constructor(
    private readonly manager: ConsumerGroupManager,
    private readonly topics: TopicRegistry,
  ) {}

  /** Kafka's validateConsumerGroupMember. */
  private memberOf(group: ConsumerGroup, memberId: string, instanceId: string | null): ConsumerGroupMember {
    let member: ConsumerGroupMember | undefined;
    if (instanceId === null) {
      member = group.members.get(memberId);
      if (member === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${memberId} is not a member of group ${group.groupId}.`);
    } else {
      member = group.staticMember(instanceId);
      if (member === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Member with instance id ${instanceId} is not a member of group ${group.groupId}.`);
      if (member.memberId !== memberId) throw new KafkaError(ErrorCode.FENCED_INSTANCE_ID, `Static member ${memberId} with instance id ${instanceId} was fenced by member ${member.memberId}.`);
    }
    if (!usesClassicProtocol(member)) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Member ${member.memberId} does not use the classic protocol.`);
    return member;
  }

  /** Kafka's classicGroupJoinToConsumerGroup. */
  async join(group: ConsumerGroup, p: JoinParams): Promise<JoinResult> {
    const groupId = group.groupId;
    const isUnknownMember = p.memberId === '';
    const memberId = isUnknownMember ? newClassicMemberId() : p.memberId;
    const records: ConsumerGroupRecord[] = [];
    let reconciled: ConsumerGroupMember;
    try {
      if (group.members.size >= this.manager.maxSize && (isUnknownMember || !group.members.has(memberId))) {
        throw new KafkaError(ErrorCode.GROUP_MAX_SIZE_REACHED, `The consumer group has reached its maximum capacity of ${this.manager.maxSize} members.`);
      }
      if (!supportsClassicProtocols(group, p.protocolType, new Set(p.protocols.map((x) => x.name)))) {
        throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `Member ${memberId}'s protocols are not supported.`);
      }
      if (p.requireKnownMemberId && isUnknownMember) return joinError(memberId, ErrorCode.MEMBER_ID_REQUIRED);

      const member = this.manager.subscribeMember(group, memberId, { memberEpoch: -1, instanceId: p.groupInstanceId, topicPartitions: [] }, true, records, true);
      let subscription: ReturnType<typeof decodeConsumerProtocolSubscription>;
      try {
        subscription = decodeConsumerProtocolSubscription(p.protocols[0]!.metadata);
      } catch {
        throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `Member ${memberId}'s embedded consumer protocol subscription is malformed.`);
      }
      const updated: ConsumerGroupMember = {
        ...member,
        instanceId: p.groupInstanceId ?? member.instanceId,
        rackId: subscription.rackId ?? member.rackId,
        rebalanceTimeoutMs: p.rebalanceTimeoutMs !== -1 ? p.rebalanceTimeoutMs : member.rebalanceTimeoutMs,
        subscribedTopicNames: sortedTopicNames(subscription.topics),
        clientId: p.clientId,
        clientHost: p.clientHost,
        classicMemberMetadata: { sessionTimeoutMs: p.sessionTimeoutMs, supportedProtocols: p.protocols.map((x) => ({ name: x.name, metadata: x.metadata })) },
      };
      const owned = [...assignmentByName(subscription.ownedPartitions, this.topics)].map(([topicId, parts]) => ({ topicId: topicIdBuffer(topicId), partitions: [...parts] }));
      reconciled = this.manager.updateAndReconcile(group, member, updated, owned, records).member;
    } catch (err) {
      if (err instanceof KafkaError) return joinError(p.memberId, err.errorCode);
      throw err;
    }
    // Kafka's step 4: a static member replacing the last consumer-protocol member downgrades the group; it takes
    // over that member's assignment in the classic group, which stays Stable (convertToClassicGroup).
    const replacedMemberId = group.staticMemberId(p.groupInstanceId);
    let conversion: ClassicGroupConversion | undefined;
    if (replacedMemberId !== undefined && replacedMemberId !== reconciled.memberId && this.manager.canDowngradeReplacing(group, replacedMemberId)) {
      conversion = { kind: 'downgrade', group: classicGroupFromConsumer(group, replacedMemberId, this.topics, reconciled) };
      records.push(...group.tombstoneRecords({ leavingMemberId: replacedMemberId, joiningMemberId: reconciled.memberId }));
    }
    const code = await this.manager.apply(group, records, { conversion });
    if (code !== ErrorCode.NONE) return joinError(p.memberId, code);
    this.manager.cancelJoinTimeout(groupId, reconciled.memberId);
    if (conversion === undefined) {
      // Still a consumer group: the member's session, and SyncGroup due within its rebalance timeout.
      this.manager.scheduleSessionTimeout(groupId, reconciled.memberId, p.sessionTimeoutMs);
      this.manager.scheduleSyncTimeout(groupId, reconciled.memberId, reconciled.rebalanceTimeoutMs);
    }
    return {
      errorCode: ErrorCode.NONE,
      generationId: reconciled.memberEpoch,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: p.protocols[0]!.name,
      leader: '',
      skipAssignment: false,
      memberId: reconciled.memberId,
      members: [],
    };
  }

  /** Kafka's classicGroupSyncToConsumerGroup. */
  sync(group: ConsumerGroup, p: SyncParams): SyncResult {
    if (group.isEmpty) return syncError(ErrorCode.UNKNOWN_MEMBER_ID);
    let member: ConsumerGroupMember;
    try {
      member = this.memberOf(group, p.memberId, p.groupInstanceId);
      if (member.memberEpoch !== p.generationId) throw new KafkaError(ErrorCode.ILLEGAL_GENERATION, `The request generation id ${p.generationId} is not equal to the member epoch ${member.memberEpoch}.`);
      const protocolName = member.classicMemberMetadata!.supportedProtocols[0]?.name;
      if ((p.protocolType !== null && p.protocolType !== CONSUMER_PROTOCOL_TYPE) || (p.protocolName !== null && p.protocolName !== protocolName)) {
        throw new KafkaError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, `The protocol of member ${member.memberId}'s request is not the one returned in the join response.`);
      }
      if (group.groupEpoch > member.memberEpoch && member.state !== MemberState.UNREVOKED_PARTITIONS) {
        this.manager.scheduleJoinTimeoutIfAbsent(group.groupId, member.memberId, member.rebalanceTimeoutMs);
        throw new KafkaError(ErrorCode.REBALANCE_IN_PROGRESS, `A new rebalance is triggered in group ${group.groupId} and member ${member.memberId} should rejoin to catch up.`);
      }
    } catch (err) {
      if (err instanceof KafkaError) return syncError(err.errorCode);
      throw err;
    }
    this.manager.cancelSyncTimeout(group.groupId, member.memberId);
    this.manager.scheduleSessionTimeout(group.groupId, member.memberId, member.classicMemberMetadata!.sessionTimeoutMs);
    return { errorCode: ErrorCode.NONE, protocolType: p.protocolType, protocolName: p.protocolName, assignment: serializeAssignment(member, member.assignedPartitions, this.topics) };
  }

  /** Kafka's classicGroupHeartbeatToConsumerGroup. */
  heartbeat(group: ConsumerGroup, memberId: string, instanceId: string | null, generationId: number): number {
    let member: ConsumerGroupMember;
    try {
      member = this.memberOf(group, memberId, instanceId);
      if (member.memberEpoch !== generationId) return ErrorCode.ILLEGAL_GENERATION;
    } catch (err) {
      if (err instanceof KafkaError) return err.errorCode;
      throw err;
    }
    this.manager.scheduleSessionTimeout(group.groupId, member.memberId, member.classicMemberMetadata!.sessionTimeoutMs);
    const mustRejoin =
      member.memberEpoch < group.groupEpoch ||
      member.state === MemberState.UNREVOKED_PARTITIONS ||
      (member.state === MemberState.UNRELEASED_PARTITIONS && !waitingOnUnreleasedPartition(group, member));
    if (!mustRejoin) return ErrorCode.NONE;
    this.manager.scheduleJoinTimeoutIfAbsent(group.groupId, member.memberId, member.rebalanceTimeoutMs);
    return ErrorCode.REBALANCE_IN_PROGRESS;
  }

  /** Kafka's classicGroupLeaveToConsumerGroup: per-member codes; the leaving members' records and one epoch bump. */
  async leave(group: ConsumerGroup, members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): Promise<LeaveResult[]> {
    const results: LeaveResult[] = [];
    const leaving = new Map<string, ConsumerGroupMember>();
    for (const m of members) {
      try {
        let member: ConsumerGroupMember;
        if (m.groupInstanceId === null) {
          member = this.memberOf(group, m.memberId, null);
        } else {
          const found = group.staticMember(m.groupInstanceId);
          if (found === undefined) throw new KafkaError(ErrorCode.UNKNOWN_MEMBER_ID, `Instance id ${m.groupInstanceId} is unknown.`);
          // LeaveGroup may remove a static member by instance id alone (admin), with the member id unknown.
          member = this.memberOf(group, m.memberId === '' ? found.memberId : m.memberId, m.groupInstanceId);
        }
        leaving.set(member.memberId, member);
        results.push({ memberId: member.memberId, groupInstanceId: m.groupInstanceId, errorCode: ErrorCode.NONE });
      } catch (err) {
        if (!(err instanceof KafkaError)) throw err;
        results.push({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, errorCode: err.errorCode });
      }
    }
    if (leaving.size === 0) return results;
    const groupId = group.groupId;
    const records: ConsumerGroupRecord[] = [];
    for (const memberId of leaving.keys()) {
      records.push({ type: 'current-assignment', groupId, memberId, value: null });
      records.push({ type: 'target-member', groupId, memberId, value: null });
      records.push({ type: 'member', groupId, memberId, value: null });
      this.manager.cancelTimers(groupId, memberId);
    }
    const remaining = new ConsumerGroup(groupId, 0);
    for (const m of group.members.values()) if (!leaving.has(m.memberId)) remaining.members.set(m.memberId, m);
    const metadata = this.manager.computeSubscriptionMetadata(remaining, null, null, new Map());
    if (!sameSubscription(metadata, group)) records.push({ type: 'partition-metadata', groupId, value: [...metadata.values()] });
    records.push({ type: 'epoch', groupId, value: group.groupEpoch + 1 });
    const code = await this.manager.apply(group, records);
    if (code !== ErrorCode.NONE) return results.map((r) => (r.errorCode === ErrorCode.NONE ? { ...r, errorCode: code } : r));
    return results;
  }
}

function sameSubscription(metadata: ReadonlyMap<string, { topicId: string; numPartitions: number }>, group: ConsumerGroup): boolean {
  if (metadata.size !== group.subscriptionMetadata.size) return false;
  for (const [name, t] of metadata) {
    const o = group.subscriptionMetadata.get(name);
    if (o === undefined || o.topicId !== t.topicId || o.numPartitions !== t.numPartitions) return false;
  }
  return true;
}

/** Kafka's Uuid.randomUuid().toString() for a classic member joining a consumer group (as newMemberId). */
function newClassicMemberId(): string {
  return randomBytes(16).toString('base64url');
}
