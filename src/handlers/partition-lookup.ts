// Resolving a (topic, partition) named in a request to its log, with Kafka's error codes — shared by the handlers
// that address partitions (Produce, Fetch, ListOffsets).
import { KafkaError, isStorageError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { TopicInfo } from '../metadata/topic-registry.js';
import type { BrokerServices } from './types.js';
import type { LeaderPartition } from '../cluster/leader-partition.js';

/** A single broker leads every partition with leader epoch 0 (a cluster's epochs come from its metadata). */
export const LEADER_EPOCH = 0;

/** Whether the metadata knows the partition (Kafka's metadataCache.contains), whatever the state of its log. */
export function isKnownPartition(topic: TopicInfo | undefined, partition: number): topic is TopicInfo {
  return topic !== undefined && partition >= 0 && partition < topic.partitions;
}

export function lookupPartition(broker: BrokerServices, topic: TopicInfo | undefined, partition: number): PartitionLog {
  if (!isKnownPartition(topic, partition)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const log = broker.logs.getLog(topic.name, partition);
  if (log === undefined) {
    // A partition of a known topic without a log is offline (its files failed to load, or it is being reloaded
    // after an I/O error): retriable, as Kafka answers for a partition on an offline log directory.
    if (broker.logs.isOffline(topic.name, partition)) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `partition ${topic.name}-${partition} is offline`);
    // Known to the metadata but without a log: being created by a CreateTopics still in progress, or being
    // deleted. Retriable either way; a deleted partition must answer UNKNOWN_TOPIC_OR_PARTITION (issue 7).
    throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  return log;
}

/**
 * What a request's currentLeaderEpoch means when it is negative; Kafka 3.9 differs per API:
 * - 'any-negative': Fetch. FetchRequest.optionalEpoch turns every negative value into "no epoch".
 * - 'only-minus-one': ListOffsets. KafkaApis compares with ListOffsetsResponse.UNKNOWN_EPOCH (-1) only, so -2 is
 *   an epoch like any other, below ours (FENCED_LEADER_EPOCH).
 */
export type NoLeaderEpoch = 'any-negative' | 'only-minus-one';

/**
 * KIP-320: a client that knows the leader epoch sends it (Partition.checkCurrentLeaderEpoch).
 * | currentLeaderEpoch                      | outcome               |
 * |-----------------------------------------|-----------------------|
 * | absent, or "no epoch" per `noEpoch`     | ok                    |
 * | == ours                                 | ok                    |
 * | < ours                                  | FENCED_LEADER_EPOCH   |
 * | > ours                                  | UNKNOWN_LEADER_EPOCH  |
 */
export function checkLeaderEpoch(currentLeaderEpoch: number | undefined, noEpoch: NoLeaderEpoch = 'only-minus-one'): void {
  if (currentLeaderEpoch === undefined || currentLeaderEpoch === LEADER_EPOCH) return;
  if (currentLeaderEpoch === -1 || (currentLeaderEpoch < 0 && noEpoch === 'any-negative')) return;
  throw new KafkaError(currentLeaderEpoch < LEADER_EPOCH ? ErrorCode.FENCED_LEADER_EPOCH : ErrorCode.UNKNOWN_LEADER_EPOCH);
}

/** The Kafka error code for a failure while serving one partition; logs what is not an expected condition. */
export function partitionErrorCode(err: unknown, log: BrokerServices['logger'], context: Record<string, unknown>): number {
  if (err instanceof KafkaError) return err.errorCode;
  const isIo = isStorageError(err);
  log.error({ err, ...context }, isIo ? 'storage error' : 'unexpected error');
  return isIo ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_SERVER_ERROR;
}

/** A partition's log on its leader, with the leader's replication state (cluster mode only). */
export interface LeaderLog {
  log: PartitionLog;
  /** undefined on a single broker (it leads everything, nothing to wait for). */
  leader: LeaderPartition | undefined;
}

/**
 * The one leadership decision of Produce, Fetch, ListOffsets and OffsetForLeaderEpoch. Single broker:
 * lookupPartition then checkLeaderEpoch (epoch 0). Cluster (cluster/replica-manager.ts leaderOf): a known partition
 * this broker does not lead is NOT_LEADER_OR_FOLLOWER (also for writes while this broker is fenced), checked before
 * its log (it may have none here); the client's epoch is compared with the leader's (KIP-320 as above).
 */
export function lookupLeaderLog(
  broker: BrokerServices,
  topic: TopicInfo | undefined,
  partition: number,
  currentLeaderEpoch: number | undefined,
  noEpoch: NoLeaderEpoch,
  forWrite = false,
): LeaderLog {
  const replicas = broker.replicas;
  if (replicas === undefined) {
    const log = lookupPartition(broker, topic, partition);
    checkLeaderEpoch(currentLeaderEpoch, noEpoch);
    return { log, leader: undefined };
  }
  if (!isKnownPartition(topic, partition)) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  const noClientEpoch = currentLeaderEpoch === undefined || currentLeaderEpoch === -1 || (currentLeaderEpoch < 0 && noEpoch === 'any-negative');
  const leader = replicas.leaderOf(topic.name, partition, noClientEpoch ? undefined : currentLeaderEpoch, forWrite);
  return { log: lookupPartition(broker, topic, partition), leader };
}

/** The leader epoch a response reports for a partition: 0 on a single broker, the metadata's in a cluster. */
export function leaderEpochOf(broker: BrokerServices, topic: TopicInfo, partition: number): number {
  return broker.cluster?.partitionState(topic, partition)?.leaderEpoch ?? LEADER_EPOCH;
}
