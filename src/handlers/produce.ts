// Produce (key 0), versions 0–13.
// - Topics by name up to v12 and by topic id from v13 (KIP-516, ProduceRequest.json of Kafka 4.1): an id the metadata
//   does not know answers UNKNOWN_TOPIC_ID for each of its partitions, before the ACL check, as
//   KafkaApis.handleProduceRequest does; the response names its topics the way the request did (id from v13).
// - v12 (KIP-890 part 2): a transactional producer may skip AddPartitionsToTxn when transaction.version 2 is
//   finalized, which this broker does (txn/transaction-version.ts): the partitions of a v12+ request's
//   transactional batches are then added to the transaction through the coordinator (this broker's, or another's
//   in a cluster) before anything is appended (txn-implicit-add.ts, with Kafka's error mapping: PRODUCER_FENCED as
//   INVALID_PRODUCER_EPOCH, retriable coordinator errors as NOT_ENOUGH_REPLICAS).
// - acks must be -1, 0 or 1, else INVALID_REQUIRED_ACKS for every partition.
// - Each partition carries exactly one RecordBatch v2 (v3+): its header and CRC are checked
//   (validateProducedRecords), then every record is read once as Kafka's LogValidator reads it (log-validator.ts:
//   malformed records INVALID_RECORD, keyless records on compacted topics INVALID_RECORD and timestamps outside
//   message.timestamp.* INVALID_TIMESTAMP, both with record_errors; compressed batches are decompressed for it).
//   Records are never re-encoded; on CreateTime topics a maxTimestamp that disagrees with the records is
//   rewritten in the header (CRC recomputed), as Kafka does. zstd before v7 is UNSUPPORTED_COMPRESSION_TYPE (KIP-110).
// - Legacy message sets (magic 0/1, Produce v0–2): validated and converted up to one RecordBatch v2 per set before
//   the append (protocol/records/legacy/up-convert.ts, Kafka's LogValidator with the log format at v2: CRC-32
//   checks, wrappers and their inner messages, relative offsets of magic 1, timestamps), which then takes the v2
//   path above (header checks, record checks, append). Only these sets pay for the conversion. A set with no whole
//   message (a truncated tail is dropped, as Kafka trims it) appends nothing and answers NONE with base offset -1,
//   as Kafka does. Produce v0–2 also accepts a v2 batch as is (Kafka checks magics only from v3, see
//   ProduceRequest.validateRecords); a magic-0/1 set in v3+ is INVALID_RECORD.
// - The batch buffer is a slice of the request frame, which this connection owns, so the log rewrites its base
//   offset and partition leader epoch in place and writes it as is.
// - acks=-1 with `flushOnAckAll` waits for the fsync (group commit in the log); acks=1 waits for the write.
// - Cluster mode (cluster/): only the partition's leader appends (NOT_LEADER_OR_FOLLOWER otherwise, also while this
//   broker is fenced); acks=-1 first needs min.insync.replicas in the ISR (NOT_ENOUGH_REPLICAS, nothing appended),
//   then waits until the high watermark passes the batch, i.e. every ISR member has it (REQUEST_TIMED_OUT after
//   the request's timeoutMs; NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below the minimum meanwhile;
//   NOT_LEADER_OR_FOLLOWER when leadership moved), as Kafka's DelayedProduce. acks=1 answers after the leader's write.
// - acks=0: no response; if any partition failed, the connection is closed so the client refreshes metadata
//   (Kafka's behaviour, KafkaApis.handleProduceRequest), and nothing the client sent after this request on the
//   connection is processed (connection.ts starts nothing behind an acks=0 Produce until it is done).
// - Idempotent producers (batches with a producer id): the partition's producer state (log/producer-state.ts)
//   checks epoch and sequence before offsets are assigned. A retried batch is not written again and is answered
//   with the original batch's base offset and, as Kafka does, its timestamp as logAppendTimeMs. A sequence gap is
//   OUT_OF_ORDER_SEQUENCE_NUMBER, an older epoch INVALID_PRODUCER_EPOCH (Kafka 2.7+ on every Produce version), a
//   non-transactional batch during the producer's transaction INVALID_TXN_STATE; these answers carry the
//   partition's real logStartOffset and no errorMessage, as Kafka's catch-all branch in
//   ReplicaManager.appendToLocalLog. UNKNOWN_PRODUCER_ID is never answered (Kafka 3.9 accepts any sequence from a
//   producer it does not know). A transactional batch opens the producer's transaction on the partition
//   (transaction version 0/1: the partition does not ask the coordinator, as Kafka 3.9 by default).
// - ACLs (auth/authorizer.ts; KafkaApis.handleProduceRequest): transactional batches need WRITE on the request's
//   transactional id (every partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED); each partition needs WRITE on its topic
//   (TOPIC_AUTHORIZATION_FAILED), checked first. Idempotence needs no ACL here (InitProducerId checked it).
// - The coordinators' topics (__consumer_offsets, __transaction_state, __share_group_state) are never written by
//   clients: INVALID_TOPIC_EXCEPTION "Cannot append to internal topic", before the topic is looked up.
import { ApiKey } from '../protocol/generated/index.js';
import { makeProduceResponse, type ProduceRequest, type ProduceResponse } from '../protocol/generated/produce.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError, RecordValidationError } from '../errors.js';
import { validateAndSummarize } from '../log/log-validator.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import {
  CompressionType,
  MAGIC_OFFSET,
  compressionOf,
  validateProducedRecords,
} from '../protocol/records/batch.js';
import { ATTRIBUTES_OFFSET, isTransactional } from '../protocol/records/batch.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';
import type { PartitionLog } from '../log/partition-log.js';
import { lookupLeaderLog, partitionErrorCode } from './partition-lookup.js';
import { upConvertMessageSet } from '../protocol/records/legacy/up-convert.js';
import { addProducedPartitions, partitionKey, type ImplicitAddOutcome } from './txn-implicit-add.js';

const NO_IMPLICIT_ADD: ImplicitAddOutcome = { kind: 'none' };

type PartitionResponse = ProduceResponse['responses'][number]['partitionResponses'][number];

/** The first version that names topics by id (KIP-516). */
const FIRST_TOPIC_ID_VERSION = 13;
const ZERO_UUID = Buffer.alloc(16);

function partitionError(index: number, errorCode: number, errorMessage: string | null = null): PartitionResponse {
  return {
    index,
    errorCode,
    baseOffset: -1n,
    logAppendTimeMs: -1n,
    logStartOffset: -1n,
    recordErrors: [],
    errorMessage,
  } as PartitionResponse;
}

/**
 * Checks what depends on the request version; the batch itself is checked by validateProducedRecords. Returns
 * true for a legacy message set (Produce v0–2 with magic 0/1, or too short to say: Kafka walks it as a set).
 */
function checkFormatForVersion(records: Buffer | null, apiVersion: number): boolean {
  if (records === null) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce request carries no record batch');
  if (apiVersion < 3) return records.length <= MAGIC_OFFSET || records.readInt8(MAGIC_OFFSET) < 2;
  if (records.length <= MAGIC_OFFSET) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Produce request carries no record batch');
  const magic = records.readInt8(MAGIC_OFFSET);
  if (magic < 2) throw new KafkaError(ErrorCode.INVALID_RECORD, `Produce v${apiVersion} requires magic 2, got ${magic}`);
  return false;
}

/** Does any partition's first batch (v2 format) carry the transactional bit (RequestUtils.hasTransactionalRecords)? */
function hasTransactionalRecords(request: ProduceRequest): boolean {
  for (const t of request.topicData) {
    for (const p of t.partitionData) {
      const r = p.records;
      if (r !== null && r.length > ATTRIBUTES_OFFSET + 1 && r[MAGIC_OFFSET] === 2 && isTransactional(r.readInt16BE(ATTRIBUTES_OFFSET))) return true;
    }
  }
  return false;
}

async function producePartition(
  ctx: RequestContext,
  topicName: string,
  index: number,
  records: Buffer | null,
  durable: boolean,
  acks: number,
  timeoutMs: number,
): Promise<PartitionResponse> {
  // ACLs (auth/authorizer.ts): WRITE on the topic, before anything else is looked at.
  if (!authorize(ctx, AclOperation.WRITE, ResourceType.TOPIC, topicName)) return partitionError(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  const broker = ctx.broker;
  let log: PartitionLog | undefined;
  try {
    // Kafka's ReplicaManager.appendToLocalLog: clients never write the coordinators' topics.
    if (isInternalTopic(topicName)) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Cannot append to internal topic ${topicName}`);
    const topic = broker.topics.get(topicName);
    const leaderLog = lookupLeaderLog(broker, topic, index, undefined, 'only-minus-one', true);
    log = leaderLog.log;
    const leader = leaderLog.leader;
    // Cluster: acks=all needs min.insync.replicas in the ISR before anything is appended (Partition.appendRecordsToLeader).
    const minIsr = leader !== undefined && acks === -1 ? broker.topics.minInSyncReplicas(topic!) : 0;
    if (leader !== undefined && acks === -1) leader.checkEnoughReplicas(minIsr);
    if (checkFormatForVersion(records, ctx.apiVersion)) {
      // Legacy formats: up-converted, then the v2 path below on the converted batch.
      const converted = await upConvertMessageSet(records!, {
        maxMessageBytes: topic!.maxMessageBytes,
        logAppendTime: log.logConfig.messageTimestampType === 'LogAppendTime',
        topicPartition: `${topicName}-${index}`,
      });
      // Kafka's UnifiedLog.append with validBytes 0: nothing appended, NONE with the unknown offset.
      if (converted === null) return { ...partitionError(index, ErrorCode.NONE), logStartOffset: log.logStartOffset } as PartitionResponse;
      records = converted;
    }
    const header = validateProducedRecords(records!, topic!.maxMessageBytes);
    if (ctx.apiVersion < 7 && compressionOf(header.attributes) === CompressionType.ZSTD) {
      throw new KafkaError(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, 'zstd requires Produce v7+');
    }
    // Every record read once (LogValidator); may rewrite maxTimestamp (and `header`) in place on CreateTime topics.
    validateAndSummarize(records!, header, log.logConfig, topicName, index, Date.now());
    const result = await log.append(records!, header, { durable });
    // Cluster, acks=all: answered once every ISR member has the batch (the HW passed it), or REQUEST_TIMED_OUT after
    // the request's timeoutMs (Kafka's DelayedProduce).
    if (leader !== undefined && acks === -1) await leader.waitForHighWatermark(result.lastOffset, timeoutMs, minIsr);
    broker.metrics?.appended(topicName, header.recordCount, records!.length);
    return {
      index,
      errorCode: ErrorCode.NONE,
      baseOffset: result.baseOffset,
      logAppendTimeMs: result.logAppendTimeMs,
      logStartOffset: result.logStartOffset,
      recordErrors: [],
      errorMessage: null,
    } as PartitionResponse;
  } catch (err) {
    const code = partitionErrorCode(err, ctx.log, { api: 'Produce', topic: topicName, partition: index });
    if (code === ErrorCode.CORRUPT_MESSAGE || code === ErrorCode.INVALID_RECORD) {
      ctx.log.warn({ topic: topicName, partition: index, reason: (err as Error).message }, 'rejected record batch');
    }
    if (err instanceof RecordValidationError) {
      // Kafka's RecordValidationException: record_errors (v8+), errorMessage, and the real logStartOffset.
      return {
        ...partitionError(index, code, err.message),
        logStartOffset: log?.logStartOffset ?? -1n,
        recordErrors: err.recordErrors,
      } as PartitionResponse;
    }
    if (PRODUCER_STATE_ERRORS.has(code)) {
      // Kafka: the real logStartOffset, and no errorMessage (hasCustomErrorMessage = false); the reason is logged.
      ctx.log.debug({ topic: topicName, partition: index, reason: (err as Error).message }, 'rejected producer batch');
      return { ...partitionError(index, code), logStartOffset: log?.logStartOffset ?? -1n } as PartitionResponse;
    }
    return partitionError(index, code, err instanceof KafkaError ? err.message : null);
  }
}

/** Produce errors from producer state: Kafka answers them with the partition's logStartOffset. */
const PRODUCER_STATE_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.INVALID_PRODUCER_EPOCH,
  ErrorCode.INVALID_TXN_STATE,
]);

export const produceHandler: ApiHandler<ProduceRequest, ProduceResponse> = {
  apiKey: ApiKey.Produce,
  name: 'Produce',
  minVersion: 0,
  maxVersion: 13,
  async handle(ctx, request) {
    const acks = request.acks;
    if (acks !== -1 && acks !== 0 && acks !== 1) {
      return this.errorResponse(request, ErrorCode.INVALID_REQUIRED_ACKS, ctx.apiVersion);
    }
    // Transactional batches need WRITE on the request's transactional id (KafkaApis.handleProduceRequest).
    if (ctx.broker.authorizer !== undefined && hasTransactionalRecords(request)) {
      const id = request.transactionalId ?? null;
      if (id === null || !authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, id)) {
        return this.errorResponse(request, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx.apiVersion);
      }
    }
    const durable = acks === -1 && ctx.broker.config.flushOnAckAll;
    const useIds = ctx.apiVersion >= FIRST_TOPIC_ID_VERSION;
    const names = request.topicData.map((topic) => (useIds ? ctx.broker.topics.getById(topic.topicId ?? ZERO_UUID)?.name : (topic.name ?? '')));
    // Transactions v2: the transactional partitions join the transaction first (only v12+ transactional requests wait).
    const implicitAdd = hasTransactionalRecords(request)
      ? await addProducedPartitions(
          ctx,
          request.transactionalId ?? null,
          request.topicData.flatMap((topic, i) => (names[i] === undefined ? [] : topic.partitionData.map((p) => ({ topic: names[i]!, partition: p.index, records: p.records })))),
        )
      : NO_IMPLICIT_ADD;
    if (implicitAdd.kind === 'request-error') return this.errorResponse(request, implicitAdd.errorCode, ctx.apiVersion);
    // Appends are started in request order (offsets are assigned synchronously inside append) and awaited together.
    const pending: Array<Promise<PartitionResponse>[]> = request.topicData.map((topic, i) => {
      const name = names[i];
      if (name === undefined) return topic.partitionData.map((p) => Promise.resolve(partitionError(p.index, ErrorCode.UNKNOWN_TOPIC_ID)));
      return topic.partitionData.map((p) => {
        if (implicitAdd.kind === 'partitions' && implicitAdd.partitions.has(partitionKey(name, p.index))) {
          return Promise.resolve(partitionError(p.index, implicitAdd.errorCode, implicitAdd.errorMessage));
        }
        return producePartition(ctx, name, p.index, p.records, durable, acks, request.timeoutMs);
      });
    });
    const res = makeProduceResponse();
    res.responses = await Promise.all(
      request.topicData.map(async (topic, i) => ({
        name: topic.name ?? '',
        topicId: topic.topicId ?? ZERO_UUID,
        partitionResponses: await Promise.all(pending[i]!),
      })),
    ) as ProduceResponse['responses'];
    if (acks === 0) {
      const failed = res.responses.some((t) => t.partitionResponses.some((p) => p.errorCode !== ErrorCode.NONE));
      if (failed) ctx.closeConnectionAfterResponse();
      return null;
    }
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeProduceResponse();
    res.responses = request.topicData.map((topic) => ({
      name: topic.name ?? '',
      topicId: topic.topicId ?? ZERO_UUID,
      partitionResponses: topic.partitionData.map((p) => partitionError(p.index, errorCode)),
    })) as ProduceResponse['responses'];
    return res;
  },
};
