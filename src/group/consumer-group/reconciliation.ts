// Reconciliation of one member towards its target assignment (KIP-848), as Kafka 3.9's CurrentAssignmentBuilder:
// a partition moves to a new owner only after its previous owner has revoked it.
//
// | member state           | on a heartbeat                                                                    |
// |------------------------|-----------------------------------------------------------------------------------|
// | STABLE                 | epoch ≠ target epoch: compute the next assignment from the current epoch          |
// | UNREVOKED_PARTITIONS   | still reports a partition pending revocation (or sent no owned partitions): wait; |
// |                        | else compute the next assignment at epoch + 1                                     |
// | UNRELEASED_PARTITIONS  | compute the next assignment (partitions freed meanwhile are handed out)           |
// | UNKNOWN                | owned partitions not empty: FENCED_MEMBER_EPOCH; else restart from the target     |
//
// The next assignment (computeNextAssignment), per topic:
//   assigned            = current ∩ target
//   pending revocation  = current − assigned
//   pending assignment  = target − assigned − partitions another member still holds (partition epoch ≠ -1)
// then: something to revoke that the member still owns → UNREVOKED_PARTITIONS at the same epoch, keeping only
// `assigned`; else the member moves to the target epoch with assigned + pending assignment, UNRELEASED_PARTITIONS
// when some target partition is still held by another member, STABLE otherwise.
import { KafkaError } from '../../errors.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { addPartition, EMPTY_ASSIGNMENT, topicIdHex, type Assignment } from './assignment.js';
import { MemberState, type ConsumerGroupMember } from './member.js';

/** The partitions a member reports owning (ConsumerGroupHeartbeat TopicPartitions); null when not sent. */
export type OwnedTopicPartitions = ReadonlyArray<{ topicId: Buffer; partitions: readonly number[] }> | null;

/** The epoch of the member that holds a partition, or -1 when nobody holds it (ConsumerGroup.currentPartitionEpoch). */
export type PartitionEpochLookup = (topicId: string, partition: number) => number;

export interface ReconcileInput {
  targetAssignmentEpoch: number;
  targetAssignment: Assignment;
  currentPartitionEpoch: PartitionEpochLookup;
  ownedTopicPartitions: OwnedTopicPartitions;
}

function ownsAnyOf(owned: OwnedTopicPartitions, partitions: Assignment): boolean {
  if (owned === null) return true;
  for (const t of owned) {
    const pending = partitions.get(topicIdHex(t.topicId));
    if (pending === undefined) continue;
    for (const p of t.partitions) if (pending.has(p)) return true;
  }
  return false;
}

function computeNextAssignment(member: ConsumerGroupMember, memberEpoch: number, input: ReconcileInput): ConsumerGroupMember {
  const { targetAssignment, targetAssignmentEpoch, currentPartitionEpoch } = input;
  let hasUnreleasedPartitions = false;
  const assigned = new Map<string, Set<number>>();
  const pendingRevocation = new Map<string, Set<number>>();
  const pendingAssignment = new Map<string, Set<number>>();
  const topicIds = new Set([...targetAssignment.keys(), ...member.assignedPartitions.keys()]);
  for (const topicId of topicIds) {
    const target = targetAssignment.get(topicId) ?? new Set<number>();
    const current = member.assignedPartitions.get(topicId) ?? new Set<number>();
    for (const p of current) {
      if (target.has(p)) addPartition(assigned, topicId, p);
      else addPartition(pendingRevocation, topicId, p);
    }
    for (const p of target) {
      if (current.has(p)) continue;
      if (currentPartitionEpoch(topicId, p) !== -1) hasUnreleasedPartitions = true;
      else addPartition(pendingAssignment, topicId, p);
    }
  }

  if (pendingRevocation.size > 0 && ownsAnyOf(input.ownedTopicPartitions, pendingRevocation)) {
    return {
      ...member,
      state: MemberState.UNREVOKED_PARTITIONS,
      previousMemberEpoch: member.memberEpoch,
      memberEpoch,
      assignedPartitions: assigned,
      partitionsPendingRevocation: pendingRevocation,
    };
  }
  for (const [topicId, parts] of pendingAssignment) for (const p of parts) addPartition(assigned, topicId, p);
  return {
    ...member,
    state: hasUnreleasedPartitions ? MemberState.UNRELEASED_PARTITIONS : MemberState.STABLE,
    previousMemberEpoch: member.memberEpoch,
    memberEpoch: targetAssignmentEpoch,
    assignedPartitions: assigned,
    partitionsPendingRevocation: EMPTY_ASSIGNMENT,
  };
}

/** The member after this heartbeat's reconciliation step (the same object when nothing changes). */
export function reconcileMember(member: ConsumerGroupMember, input: ReconcileInput): ConsumerGroupMember {
  switch (member.state) {
    case MemberState.STABLE:
      return member.memberEpoch !== input.targetAssignmentEpoch ? computeNextAssignment(member, member.memberEpoch, input) : member;
    case MemberState.UNREVOKED_PARTITIONS:
      if (ownsAnyOf(input.ownedTopicPartitions, member.partitionsPendingRevocation)) return member;
      return computeNextAssignment(member, member.memberEpoch + 1, input);
    case MemberState.UNRELEASED_PARTITIONS:
      return computeNextAssignment(member, member.memberEpoch, input);
    default:
      if (input.ownedTopicPartitions === null || input.ownedTopicPartitions.length > 0) {
        throw new KafkaError(ErrorCode.FENCED_MEMBER_EPOCH, 'The consumer group member is in a unknown state. The member must abandon all its partitions and rejoin.');
      }
      return computeNextAssignment(member, input.targetAssignmentEpoch, input);
  }
}
