// Leader elections (ElectLeaders) on a single broker, as Kafka 3.9's controller decides them
// (ReplicationControlManager.electLeader): every partition's only replica, this broker, is its leader and its
// preferred leader, so a partition that exists never needs an election.
//
//   partition                election PREFERRED           election UNCLEAN
//   topic unknown            UNKNOWN_TOPIC_OR_PARTITION "No such topic as T"
//   partition unknown        UNKNOWN_TOPIC_OR_PARTITION "No such partition as T-P"
//   exists                   ELECTION_NOT_NEEDED          ELECTION_NOT_NEEDED (it has a leader)
//
// A partition whose log is offline after an I/O error keeps this broker as its leader (Metadata reports it so,
// with the replica offline), so it too answers ELECTION_NOT_NEEDED. Kafka would have moved its leadership to none
// and answered PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE, but nothing here changes a leader.
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { TopicRegistry } from './topic-registry.js';

/** Kafka's ElectionType ids (KIP-460). */
export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

export interface ElectionOutcome {
  errorCode: number;
  errorMessage: string | null;
}

/** Kafka's default message for ELECTION_NOT_NEEDED (new ApiError(Errors.ELECTION_NOT_NEEDED)). */
const ELECTION_NOT_NEEDED_MESSAGE = 'Leader election not needed for topic partition.';

/** Throws KafkaError(INVALID_REQUEST) for an election type Kafka does not know (ElectionType.valueOf). */
export function checkElectionType(electionType: number): void {
  if (electionType !== ElectionType.PREFERRED && electionType !== ElectionType.UNCLEAN) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}`);
  }
}

/** The outcome of electing a leader for one partition (the table above). */
export function electLeader(topics: TopicRegistry, topic: string, partition: number): ElectionOutcome {
  const info = topics.get(topic);
  if (info === undefined) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `No such topic as ${topic}` };
  if (!Number.isInteger(partition) || partition < 0 || partition >= info.partitions) {
    return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `No such partition as ${topic}-${partition}` };
  }
  return { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: ELECTION_NOT_NEEDED_MESSAGE };
}
