// The state of one consumer-protocol group (KIP-848), Kafka 3.9's modern/consumer/ConsumerGroup: the group epoch,
// the members, the target assignment and its epoch, which member holds each partition (partition epochs), the
// subscription metadata the target assignment was computed from, and the group state derived from all of it:
//
// | state       | when (maybeUpdateGroupState)                                            |
// |-------------|-------------------------------------------------------------------------|
// | Empty       | no members                                                              |
// | Assigning   | group epoch > target assignment epoch (a new target is to be computed)  |
// | Reconciling | some member is not STABLE at the target assignment epoch                |
// | Stable      | otherwise                                                               |
// | Dead        | removed (deleted, converted to a classic group, or its offsets expired) |
//
// The group changes only by replaying records (ConsumerGroupRecord, records.ts): the coordinator computes the
// records of a heartbeat from the current state, then replays them here and writes them to `__consumer_offsets`;
// a restart replays what the topic holds. So memory and disk cannot disagree about what a record means.
import type { Assignment } from './assignment.js';
import { EMPTY_ASSIGNMENT } from './assignment.js';
import { isReconciledTo, LEAVE_GROUP_MEMBER_EPOCH, MemberState, newMember, usesClassicProtocol, type ConsumerGroupMember } from './member.js';
import type { ConsumerGroupRecord, SubscribedTopicMetadata } from './records.js';

export type ConsumerGroupState = 'Empty' | 'Assigning' | 'Reconciling' | 'Stable' | 'Dead';

export const CONSUMER_GROUP_STATES: readonly ConsumerGroupState[] = ['Empty', 'Assigning', 'Reconciling', 'Stable', 'Dead'];

/** Everything replay changes (ConsumerGroup.snapshot). */
export interface ConsumerGroupSnapshot {
  readonly groupEpoch: number;
  readonly assignmentEpoch: number;
  readonly state: ConsumerGroupState;
  readonly members: ReadonlyMap<string, ConsumerGroupMember>;
  readonly staticMembers: ReadonlyMap<string, string>;
  readonly targetAssignment: ReadonlyMap<string, Assignment>;
  readonly subscriptionMetadata: ReadonlyMap<string, SubscribedTopicMetadata>;
  readonly partitionEpochs: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly currentStateTimestampMs: number;
}

function replaceMap<K, V>(target: Map<K, V>, source: ReadonlyMap<K, V>): void {
  target.clear();
  for (const [k, v] of source) target.set(k, v);
}

export class ConsumerGroup {
  groupEpoch = 0;
  assignmentEpoch = 0;
  state: ConsumerGroupState = 'Empty';
  readonly members = new Map<string, ConsumerGroupMember>();
  /** instance id → member id. */
  readonly staticMembers = new Map<string, string>();
  /** member id → target assignment. */
  readonly targetAssignment = new Map<string, Assignment>();
  /** topic name → metadata, as of the last computation (ConsumerGroupPartitionMetadataValue). */
  subscriptionMetadata = new Map<string, SubscribedTopicMetadata>();
  /** topic id → partition → epoch of the member holding it (assigned or pending revocation). */
  private readonly partitionEpochs = new Map<string, Map<number, number>>();
  /** Set when a member's records are written; Date.now() of the last state change. */
  currentStateTimestampMs: number;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.currentStateTimestampMs = nowMs;
  }

  get isEmpty(): boolean {
    return this.members.size === 0;
  }

  staticMemberId(instanceId: string | null): string | undefined {
    return instanceId === null ? undefined : this.staticMembers.get(instanceId);
  }

  staticMember(instanceId: string): ConsumerGroupMember | undefined {
    const id = this.staticMembers.get(instanceId);
    return id === undefined ? undefined : this.members.get(id);
  }

  /** The target assignment of the member, or of the static member it replaces (ConsumerGroup.targetAssignment). */
  targetAssignmentOf(memberId: string, instanceId: string | null): Assignment {
    if (instanceId !== null) {
      const previous = this.staticMembers.get(instanceId);
      if (previous !== undefined) return this.targetAssignment.get(previous) ?? EMPTY_ASSIGNMENT;
      return EMPTY_ASSIGNMENT;
    }
    return this.targetAssignment.get(memberId) ?? EMPTY_ASSIGNMENT;
  }

  /** Epoch of the member that holds the partition, -1 if none (ConsumerGroup.currentPartitionEpoch). */
  currentPartitionEpoch(topicId: string, partition: number): number {
    return this.partitionEpochs.get(topicId)?.get(partition) ?? -1;
  }

  numClassicProtocolMembers(): number {
    let n = 0;
    for (const m of this.members.values()) if (usesClassicProtocol(m)) n++;
    return n;
  }

  /** The server assignor most members asked for (ConsumerGroup.preferredServerAssignor). */
  preferredServerAssignor(members: Iterable<ConsumerGroupMember> = this.members.values()): string | undefined {
    const counts = new Map<string, number>();
    for (const m of members) if (m.serverAssignor !== null) counts.set(m.serverAssignor, (counts.get(m.serverAssignor) ?? 0) + 1);
    let best: string | undefined;
    let bestCount = 0;
    for (const [name, n] of counts) {
      if (n > bestCount) {
        best = name;
        bestCount = n;
      }
    }
    return best;
  }

  // ---- replay ----------------------------------------------------------------------------------------------------

  replay(record: ConsumerGroupRecord, nowMs: number): void {
    switch (record.type) {
      case 'epoch':
        // The tombstone comes last when a group is removed; the coordinator drops the object then.
        if (record.value !== null) this.groupEpoch = record.value;
        break;
      case 'partition-metadata':
        this.subscriptionMetadata = new Map((record.value ?? []).map((t) => [t.name, t]));
        break;
      case 'member': {
        if (record.value === null) {
          this.removeMember(record.memberId);
        } else {
          const old = this.members.get(record.memberId) ?? newMember(record.memberId);
          this.updateMember({ ...old, ...record.value });
        }
        break;
      }
      case 'target-epoch':
        if (record.value !== null) this.assignmentEpoch = record.value;
        break;
      case 'target-member':
        if (record.value === null) this.targetAssignment.delete(record.memberId);
        else this.targetAssignment.set(record.memberId, record.value);
        break;
      case 'current-assignment': {
        const old = this.members.get(record.memberId);
        if (record.value === null) {
          // Kafka resets the member's assignment; the member metadata tombstone that follows removes it.
          if (old !== undefined) {
            this.updateMember({ ...old, memberEpoch: LEAVE_GROUP_MEMBER_EPOCH, previousMemberEpoch: LEAVE_GROUP_MEMBER_EPOCH, state: MemberState.STABLE, assignedPartitions: EMPTY_ASSIGNMENT, partitionsPendingRevocation: EMPTY_ASSIGNMENT });
          }
        } else {
          this.updateMember({ ...(old ?? newMember(record.memberId)), ...record.value });
        }
        break;
      }
    }
    this.updateState(nowMs);
  }

  private updateMember(member: ConsumerGroupMember): void {
    const old = this.members.get(member.memberId);
    if (old !== undefined) this.removePartitionEpochs(old);
    this.members.set(member.memberId, member);
    this.addPartitionEpochs(member.assignedPartitions, member.memberEpoch);
    this.addPartitionEpochs(member.partitionsPendingRevocation, member.memberEpoch);
    if (member.instanceId !== null) this.staticMembers.set(member.instanceId, member.memberId);
  }

  private removeMember(memberId: string): void {
    const old = this.members.get(memberId);
    if (old === undefined) return;
    this.removePartitionEpochs(old);
    this.members.delete(memberId);
    if (old.instanceId !== null && this.staticMembers.get(old.instanceId) === memberId) this.staticMembers.delete(old.instanceId);
  }

  private addPartitionEpochs(a: Assignment, epoch: number): void {
    for (const [topicId, parts] of a) {
      let byPartition = this.partitionEpochs.get(topicId);
      if (byPartition === undefined) this.partitionEpochs.set(topicId, (byPartition = new Map()));
      for (const p of parts) byPartition.set(p, epoch);
    }
  }

  private removePartitionEpochs(member: ConsumerGroupMember): void {
    for (const a of [member.assignedPartitions, member.partitionsPendingRevocation]) {
      for (const [topicId, parts] of a) {
        const byPartition = this.partitionEpochs.get(topicId);
        if (byPartition === undefined) continue;
        for (const p of parts) if (byPartition.get(p) === member.memberEpoch) byPartition.delete(p);
        if (byPartition.size === 0) this.partitionEpochs.delete(topicId);
      }
    }
  }

  private updateState(nowMs: number): void {
    if (this.state === 'Dead') return;
    let next: ConsumerGroupState = 'Stable';
    if (this.members.size === 0) next = 'Empty';
    else if (this.groupEpoch > this.assignmentEpoch) next = 'Assigning';
    else {
      for (const m of this.members.values()) {
        if (!isReconciledTo(m, this.assignmentEpoch)) {
          next = 'Reconciling';
          break;
        }
      }
    }
    if (next !== this.state) {
      this.state = next;
      this.currentStateTimestampMs = nowMs;
    }
  }

  markDead(): void {
    this.state = 'Dead';
  }

  /**
   * A copy of the whole state, for rolling back changes whose write failed (manager.ts). Members and assignments
   * are never changed in place (replay replaces them), so copying the maps is enough.
   */
  snapshot(): ConsumerGroupSnapshot {
    return {
      groupEpoch: this.groupEpoch,
      assignmentEpoch: this.assignmentEpoch,
      state: this.state,
      members: new Map(this.members),
      staticMembers: new Map(this.staticMembers),
      targetAssignment: new Map(this.targetAssignment),
      subscriptionMetadata: new Map(this.subscriptionMetadata),
      partitionEpochs: new Map([...this.partitionEpochs].map(([topicId, byPartition]) => [topicId, new Map(byPartition)])),
      currentStateTimestampMs: this.currentStateTimestampMs,
    };
  }

  /** Puts the group back to `s` (a snapshot of this group); `s` itself stays unchanged and reusable. */
  restore(s: ConsumerGroupSnapshot): void {
    this.groupEpoch = s.groupEpoch;
    this.assignmentEpoch = s.assignmentEpoch;
    this.state = s.state;
    replaceMap(this.members, s.members);
    replaceMap(this.staticMembers, s.staticMembers);
    replaceMap(this.targetAssignment, s.targetAssignment);
    this.subscriptionMetadata = new Map(s.subscriptionMetadata);
    this.partitionEpochs.clear();
    for (const [topicId, byPartition] of s.partitionEpochs) this.partitionEpochs.set(topicId, new Map(byPartition));
    this.currentStateTimestampMs = s.currentStateTimestampMs;
  }

  /**
   * Tombstones for every record of the group, in Kafka's order (ConsumerGroup.createGroupTombstoneRecords); with
   * `replaced`, a static member's replacement being written in the same batch, the joining member's records are
   * tombstoned in place of the leaving one's (createGroupTombstoneRecordsWithReplacedMember).
   */
  tombstoneRecords(replaced?: { leavingMemberId: string; joiningMemberId: string }): ConsumerGroupRecord[] {
    const groupId = this.groupId;
    const ids = [...this.members.keys()].map((id) => (id === replaced?.leavingMemberId ? replaced.joiningMemberId : id));
    const records: ConsumerGroupRecord[] = [];
    for (const memberId of ids) records.push({ type: 'current-assignment', groupId, memberId, value: null });
    for (const memberId of ids) records.push({ type: 'target-member', groupId, memberId, value: null });
    records.push({ type: 'target-epoch', groupId, value: null });
    for (const memberId of ids) records.push({ type: 'member', groupId, memberId, value: null });
    records.push({ type: 'partition-metadata', groupId, value: null });
    records.push({ type: 'epoch', groupId, value: null });
    return records;
  }
}
