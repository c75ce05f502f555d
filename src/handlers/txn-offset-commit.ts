// TxnOffsetCommit (key 28), versions 0–5: a transactional producer commits a consumer group's offsets as part of
// its transaction (KIP-98; sendOffsetsToTransaction), after AddOffsetsToTxn has added the group's
// `__consumer_offsets` partition to the transaction; with transactions v2 (v5, transaction.version 2 finalized)
// the broker adds that partition itself first (txn-implicit-add.ts: PRODUCER_FENCED as INVALID_PRODUCER_EPOCH,
// retriable coordinator errors as COORDINATOR_NOT_AVAILABLE, for every partition).
// - ACLs first (auth/authorizer.ts): WRITE on the transactional id (every partition TRANSACTIONAL_ID_AUTHORIZATION_
//   FAILED), READ on the group (every partition GROUP_AUTHORIZATION_FAILED), then READ on each topic
//   (TOPIC_AUTHORIZATION_FAILED for its partitions; group-common.ts commitEachPartition).
// - Per partition, first (as KafkaApis.handleTxnOffsetCommitRequest): a topic or partition this broker does not
//   have gets UNKNOWN_TOPIC_OR_PARTITION; the rest go to the group coordinator.
// - Group checks (GroupCoordinator.commitTransactionalOffsets, Group.validateTxnOffsetCommit): an empty group id
//   INVALID_GROUP_ID; a group that does not exist is created Empty; with a generation, member id or group instance
//   id (v3+) an unknown member UNKNOWN_MEMBER_ID, an instance id owned by another member FENCED_INSTANCE_ID, another
//   generation ILLEGAL_GENERATION. Without them (v0–2, or a client that names only the group) the commit is
//   accepted in any group state.
// - Metadata longer than offset.metadata.max.bytes gets OFFSET_METADATA_TOO_LARGE, as OffsetCommit; null metadata
//   is stored as "". A producer epoch older than one the group's `__consumer_offsets` partition has already seen
//   (a fenced zombie) gets INVALID_PRODUCER_EPOCH, as Kafka's append to that partition does.
// - Accepted offsets are pending for (group, producer id): OffsetFetch does not return them, and with
//   require_stable answers UNSTABLE_OFFSET_COMMIT for their partitions, until the transaction's marker commits
//   them (written then as ordinary commits) or aborts them (dropped). src/group/pending-txn-offsets.ts.
// - The commit timestamp is the time of this request; transactional commits never carry an explicit expiry.
// Deliberate differences from Kafka:
// - The answer is sent without an fsync: pending offsets live in memory until the COMMIT marker, so a broker crash
//   between EndTxn and the marker loses them (Kafka has already appended them to `__consumer_offsets` as
//   transactional records). They move there with the `__consumer_offsets` step; see pending-txn-offsets.ts.
// - Below v5, no KIP-890 verification that the partition was added to the transaction (transaction version 0/1
//   semantics, as Kafka without transaction.partition.verification): a commit without AddOffsetsToTxn stays
//   pending until a marker for that producer reaches the group's partition.
// Version notes: v0 and v1 are the same; v0–1 get COORDINATOR_NOT_AVAILABLE instead of
// COORDINATOR_LOAD_IN_PROGRESS (clients before 2.0 did not retry it, KAFKA-7296). v2 adds committed_leader_epoch
// (KIP-320). v3 (KIP-447) adds generation_id, member_id, group_instance_id and is the first flexible version. v4
// (KIP-890) only allows TRANSACTION_ABORTABLE, which verification would produce; it is never returned here. v5 is
// v4 with the implicit add above.
import { ApiKey } from '../protocol/generated/index.js';
import { makeTxnOffsetCommitResponse, type TxnOffsetCommitRequest, type TxnOffsetCommitResponse } from '../protocol/generated/txn-offset-commit.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { NO_EXPIRE_TIMESTAMP } from '../group/group-records.js';
import { commitEachPartition } from './group-common.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import { addOffsetsPartition } from './txn-implicit-add.js';

function response(request: TxnOffsetCommitRequest, code: (ti: number, pi: number) => number, apiVersion: number): TxnOffsetCommitResponse {
  const res = makeTxnOffsetCommitResponse();
  res.topics = request.topics.map((t, ti) => ({
    name: t.name,
    partitions: t.partitions.map((p, pi) => {
      const errorCode = code(ti, pi);
      return { partitionIndex: p.partitionIndex, errorCode: apiVersion < 2 && errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS ? ErrorCode.COORDINATOR_NOT_AVAILABLE : errorCode };
    }),
  }));
  return res;
}

export const txnOffsetCommitHandler: ApiHandler<TxnOffsetCommitRequest, TxnOffsetCommitResponse> = {
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    const v = ctx.apiVersion;
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) return this.errorResponse(request, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, v);
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, request.groupId)) return this.errorResponse(request, ErrorCode.GROUP_AUTHORIZATION_FAILED, v);
    const added = await addOffsetsPartition(ctx, request.transactionalId, request.producerId, request.producerEpoch, request.groupId);
    if (added !== ErrorCode.NONE) return this.errorResponse(request, added, v);
    const groups = ctx.broker.groups;
    const now = groups.now();
    const codes = await commitEachPartition(
      ctx,
      request.topics,
      (topic, p) => ({
        topic,
        partition: p.partitionIndex,
        offset: p.committedOffset,
        leaderEpoch: v >= 2 ? (p.committedLeaderEpoch ?? -1) : -1,
        metadata: p.committedMetadata,
        commitTimestampMs: now,
        expireTimestampMs: NO_EXPIRE_TIMESTAMP,
      }),
      (entries) =>
        groups.commitTransactionalOffsets(
          request.groupId,
          request.producerId,
          request.producerEpoch,
          v >= 3 ? (request.memberId ?? '') : '',
          v >= 3 ? (request.groupInstanceId ?? null) : null,
          v >= 3 ? (request.generationId ?? -1) : -1,
          entries,
        ),
    );
    return response(request, (ti, pi) => codes[ti]![pi]!, v);
  },
  errorResponse(request, errorCode, apiVersion) {
    return response(request, () => errorCode, apiVersion);
  },
};
