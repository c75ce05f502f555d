// OffsetForLeaderEpoch (key 23), versions 0–4 (v0–1 deprecated; v4 is the first flexible version).
// Kafka 3.9's path: KafkaApis.handleOffsetForLeaderEpochRequest → ReplicaManager.lastOffsetForLeaderEpoch →
// Partition.lastOffsetForLeaderEpoch → UnifiedLog.endOffsetForEpoch → LeaderEpochFileCache.endOffsetFor. Consumers
// call it (KIP-320) after a leader epoch change or when resuming from a committed offset that carries an epoch:
// an end offset below their position means the log was truncated under them. One answer per partition, checks in
// this order:
//
//   condition                                            error_code                 leader_epoch   end_offset
//   partition unknown to the metadata                    UNKNOWN_TOPIC_OR_PARTITION -1             -1
//   log offline                                          KAFKA_STORAGE_ERROR        -1             -1
//   current_leader_epoch (v2+) -1                        (no check)
//   current_leader_epoch below ours (0)                  FENCED_LEADER_EPOCH        -1             -1
//   current_leader_epoch above ours                      UNKNOWN_LEADER_EPOCH       -1             -1
//   leader_epoch = the latest epoch in the cache         NONE                       it             log end offset
//   leader_epoch between two cached epochs               NONE                       largest <= it  next epoch's start
//   leader_epoch below every cached epoch                NONE                       leader_epoch   first entry's start
//   leader_epoch -1, above every cached epoch, or        NONE                       -1             -1
//     nothing cached                                                                (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET)
//
// (Rules of the last four rows in log/leader-epoch-cache.ts, endOffsetFor.) Only -1 means "no current epoch":
// ReplicaManager compares with RecordBatch.NO_PARTITION_LEADER_EPOCH, so -2 is an epoch below ours (fenced).
// - replica_id (v3+) is not looked at, as in Kafka 3.9: the request is answered from the leader's log
//   (fetchOnlyFromLeader) whoever sends it, consumer (-1), debug (-2) or a broker id.
// - A known partition without a log (being created or deleted) answers UNKNOWN_TOPIC_OR_PARTITION, as every
//   partition API of Eddy does (partition-lookup.ts); Kafka answers NOT_LEADER_OR_FOLLOWER there.
// - A topic named twice gets two answers, in request order (Kafka's request and response collections keep duplicates).
// - ACLs (auth/authorizer.ts; KIP-320): CLUSTER_ACTION on the CLUSTER allows every topic, otherwise DESCRIBE on the
//   topic; a topic not allowed answers TOPIC_AUTHORIZATION_FAILED for each partition.
// - v0 has no leader_epoch in the answer.
// - Cluster mode: only the partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere); "ours" is the leader epoch
//   from the cluster metadata (partition-lookup.ts lookupLeaderLog).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeOffsetForLeaderEpochResponse,
  type OffsetForLeaderEpochRequest,
  type OffsetForLeaderEpochResponse,
} from '../protocol/generated/offset-for-leader-epoch.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';
import { lookupLeaderLog, partitionErrorCode } from './partition-lookup.js';

type TopicResult = OffsetForLeaderEpochResponse['topics'][number];
type EpochEndOffset = TopicResult['partitions'][number];
type PartitionRequest = OffsetForLeaderEpochRequest['topics'][number]['partitions'][number];

function epochEndOffset(partition: number, errorCode: number, leaderEpoch = -1, endOffset = -1n): EpochEndOffset {
  return { errorCode, partition, leaderEpoch, endOffset };
}

function lastOffsetForLeaderEpoch(ctx: RequestContext, topicName: string, p: PartitionRequest): EpochEndOffset {
  try {
    const { log } = lookupLeaderLog(ctx.broker, ctx.broker.topics.get(topicName), p.partition, p.currentLeaderEpoch, 'only-minus-one');
    const found = log.endOffsetForEpoch(p.leaderEpoch);
    return found === null ? epochEndOffset(p.partition, ErrorCode.NONE) : epochEndOffset(p.partition, ErrorCode.NONE, found.leaderEpoch, found.endOffset);
  } catch (err) {
    return epochEndOffset(p.partition, partitionErrorCode(err, ctx.log, { api: 'OffsetForLeaderEpoch', topic: topicName, partition: p.partition }));
  }
}

export const offsetForLeaderEpochHandler: ApiHandler<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse> = {
  apiKey: ApiKey.OffsetForLeaderEpoch,
  name: 'OffsetForLeaderEpoch',
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, request) {
    const res = makeOffsetForLeaderEpochResponse();
    const clusterAction = authorizeCluster(ctx, AclOperation.CLUSTER_ACTION);
    res.topics = request.topics.map((t) => ({
      topic: t.topic,
      partitions:
        clusterAction || authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic)
          ? t.partitions.map((p) => lastOffsetForLeaderEpoch(ctx, t.topic, p))
          : t.partitions.map((p) => epochEndOffset(p.partition, ErrorCode.TOPIC_AUTHORIZATION_FAILED)),
    }));
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeOffsetForLeaderEpochResponse();
    res.topics = request.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => epochEndOffset(p.partition, errorCode)),
    }));
    return res;
  },
};
