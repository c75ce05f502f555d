// One member of a consumer-protocol group (KIP-848), Kafka's modern/consumer/ConsumerGroupMember: what it subscribes
// to (persisted as ConsumerGroupMemberMetadataValue) and where its reconciliation stands (persisted as
// ConsumerGroupCurrentMemberAssignmentValue). Members are immutable values: a change builds a new one, so the
// coordinator can compare the old and the new member to decide which records to write.
import { EMPTY_ASSIGNMENT, type Assignment } from './assignment.js';

/** Kafka's MemberState, with its record byte values. */
export const MemberState = {
  STABLE: 0,
  UNREVOKED_PARTITIONS: 1,
  UNRELEASED_PARTITIONS: 2,
  UNKNOWN: 127,
} as const;
export type MemberStateValue = (typeof MemberState)[keyof typeof MemberState];

export const MEMBER_STATE_NAMES: Readonly<Record<number, string>> = { 0: 'stable', 1: 'unrevoked_partitions', 2: 'unreleased_partitions', 127: 'unknown' };

/** ConsumerGroupHeartbeat member epochs with a meaning of their own. */
export const JOIN_GROUP_MEMBER_EPOCH = 0;
export const LEAVE_GROUP_MEMBER_EPOCH = -1;
export const LEAVE_GROUP_STATIC_MEMBER_EPOCH = -2;

/** A member that joined with the classic protocol (JoinGroup) into a consumer group: its JoinGroup details. */
export interface ClassicMemberMetadata {
  sessionTimeoutMs: number;
  supportedProtocols: Array<{ name: string; metadata: Buffer }>;
}

export interface ConsumerGroupMember {
  readonly memberId: string;
  readonly memberEpoch: number;
  readonly previousMemberEpoch: number;
  readonly state: MemberStateValue;
  readonly instanceId: string | null;
  readonly rackId: string | null;
  readonly rebalanceTimeoutMs: number;
  readonly clientId: string;
  readonly clientHost: string;
  /** Sorted, without duplicates. */
  readonly subscribedTopicNames: readonly string[];
  /** null: no regular-expression subscription (Kafka keeps "" for that; the record writes null). */
  readonly subscribedTopicRegex: string | null;
  readonly serverAssignor: string | null;
  readonly assignedPartitions: Assignment;
  readonly partitionsPendingRevocation: Assignment;
  readonly classicMemberMetadata: ClassicMemberMetadata | null;
}

/** Kafka's `new ConsumerGroupMember.Builder(memberId).build()`. */
export function newMember(memberId: string): ConsumerGroupMember {
  return {
    memberId,
    memberEpoch: 0,
    previousMemberEpoch: -1,
    state: MemberState.STABLE,
    instanceId: null,
    rackId: null,
    rebalanceTimeoutMs: -1,
    clientId: '',
    clientHost: '',
    subscribedTopicNames: [],
    subscribedTopicRegex: null,
    serverAssignor: null,
    assignedPartitions: EMPTY_ASSIGNMENT,
    partitionsPendingRevocation: EMPTY_ASSIGNMENT,
    classicMemberMetadata: null,
  };
}

/** Kafka's ModernGroupMember.isReconciledTo. */
export function isReconciledTo(member: ConsumerGroupMember, targetAssignmentEpoch: number): boolean {
  return member.state === MemberState.STABLE && member.memberEpoch === targetAssignmentEpoch;
}

export function usesClassicProtocol(member: ConsumerGroupMember): boolean {
  return member.classicMemberMetadata !== null;
}

export function sortedTopicNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The fields ConsumerGroupMemberMetadataValue persists differ (Kafka writes the record when the member changed). */
export function subscriptionFieldsDiffer(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  const ca = a.classicMemberMetadata;
  const cb = b.classicMemberMetadata;
  const classicDiffers =
    (ca === null) !== (cb === null) ||
    (ca !== null &&
      cb !== null &&
      (ca.sessionTimeoutMs !== cb.sessionTimeoutMs ||
        ca.supportedProtocols.length !== cb.supportedProtocols.length ||
        ca.supportedProtocols.some((p, i) => p.name !== cb.supportedProtocols[i]!.name || !p.metadata.equals(cb.supportedProtocols[i]!.metadata))));
  return (
    a.instanceId !== b.instanceId ||
    a.rackId !== b.rackId ||
    a.rebalanceTimeoutMs !== b.rebalanceTimeoutMs ||
    a.clientId !== b.clientId ||
    a.clientHost !== b.clientHost ||
    !sameStrings(a.subscribedTopicNames, b.subscribedTopicNames) ||
    a.subscribedTopicRegex !== b.subscribedTopicRegex ||
    a.serverAssignor !== b.serverAssignor ||
    classicDiffers
  );
}

/** The subscription itself changed (names or regex): Kafka bumps the group epoch (hasMemberSubscriptionChanged). */
export function subscriptionChanged(a: ConsumerGroupMember, b: ConsumerGroupMember): boolean {
  return !sameStrings(a.subscribedTopicNames, b.subscribedTopicNames) || a.subscribedTopicRegex !== b.subscribedTopicRegex;
}
