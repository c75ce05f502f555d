// One change to a partition's leader and ISR, decided as Kafka 3.9's PartitionChangeBuilder decides it (without
// eligible leader replicas, KIP-966, which Kafka 3.9 leaves off by default):
//
// - A valid new leader is in the target ISR and acceptable (registered, not fenced, not in controlled shutdown).
// - ONLINE / UNCLEAN election: keep the current leader if it is valid; else the first valid replica in replica
//   order; else, for UNCLEAN (the topic's unclean.leader.election.enable, or ElectLeaders UNCLEAN), the first
//   acceptable replica, with the ISR forced to [that replica] and leaderRecoveryState RECOVERING (KIP-704);
//   else no leader (-1).
// - PREFERRED election: replicas[0] if valid; else the current leader if valid; else the next valid replica;
//   else no leader.
// - The ISR becomes the target ISR unless that is empty: an ISR never becomes empty, its last member stays (and,
//   not being acceptable, cannot lead: the partition goes offline until it comes back).
// - Nothing changed → no record. Otherwise partitionEpoch + 1, and leaderEpoch + 1 when the leader changed (an ISR
//   shrink does not bump the leader epoch from metadata version 3.6 on).
import { LeaderRecoveryState, NO_LEADER, type PartitionRecord } from './metadata-records.js';
import type { PartitionImage } from './metadata-image.js';

export type Election = 'online' | 'preferred' | 'unclean';

export interface PartitionChangeOptions {
  election: Election;
  /** May `brokerId` lead or join the ISR now. */
  isAcceptable: (brokerId: number) => boolean;
  /** The ISR wanted (default: the current one). */
  targetIsr?: readonly number[];
  targetLeaderRecoveryState?: number;
}

/** The new partition state, or undefined when nothing would change. */
export function buildPartitionChange(partition: PartitionImage, options: PartitionChangeOptions): Omit<PartitionRecord, 'version'> | undefined {
  const targetIsr = options.targetIsr ?? partition.isr;
  const isValidNewLeader = (r: number): boolean => targetIsr.includes(r) && options.isAcceptable(r);
  let leader: number;
  let unclean = false;
  if (options.election === 'preferred') {
    const preferred = partition.replicas[0]!;
    if (isValidNewLeader(preferred)) leader = preferred;
    else if (partition.leader !== NO_LEADER && isValidNewLeader(partition.leader)) leader = partition.leader;
    else leader = partition.replicas.slice(1).find(isValidNewLeader) ?? NO_LEADER;
  } else if (partition.leader !== NO_LEADER && isValidNewLeader(partition.leader)) {
    leader = partition.leader;
  } else {
    leader = partition.replicas.find(isValidNewLeader) ?? NO_LEADER;
    if (leader === NO_LEADER && options.election === 'unclean') {
      const candidate = partition.replicas.find((r) => options.isAcceptable(r));
      if (candidate !== undefined) {
        leader = candidate;
        unclean = true;
      }
    }
  }

  let isr: readonly number[] = partition.isr;
  let leaderRecoveryState = options.targetLeaderRecoveryState ?? partition.leaderRecoveryState;
  if (unclean) {
    // Forced: the new leader is the only replica known to hold what it will serve. Data may be lost.
    isr = [leader];
    leaderRecoveryState = LeaderRecoveryState.RECOVERING;
  } else if (targetIsr.length > 0 && !sameMembers(targetIsr, partition.isr)) {
    isr = targetIsr;
  }
  const leaderChanged = leader !== partition.leader;
  if (!leaderChanged && isr === partition.isr && leaderRecoveryState === partition.leaderRecoveryState) return undefined;
  // A leader outside the new ISR cannot stay leader (only reachable when the ISR was kept because the target was empty).
  if (leader !== NO_LEADER && !isr.includes(leader)) leader = NO_LEADER;
  return {
    topicId: partition.topicId,
    partition: partition.partition,
    replicas: [...partition.replicas],
    isr: [...isr],
    leader,
    leaderEpoch: leader !== partition.leader ? partition.leaderEpoch + 1 : partition.leaderEpoch,
    partitionEpoch: partition.partitionEpoch + 1,
    leaderRecoveryState,
  };
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
