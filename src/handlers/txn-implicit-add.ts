// Transactions v2 (KIP-890 part 2): a client of transaction.version 2 sends no AddPartitionsToTxn or
// AddOffsetsToTxn; the broker adds what it writes to the transaction itself, through the transaction coordinator
// (Kafka's AddPartitionsToTxnManager with the addPartition operation), before anything is appended:
//   - Produce v12+ with transactional batches and a transactional id: every partition with such a batch;
//   - TxnOffsetCommit v5: the group's `__consumer_offsets` partition.
// The local coordinator is asked first; in a cluster, when another broker coordinates the transactional id, the
// request goes there (txn/remote-transaction-coordinator.ts). Only where transaction.version 2 is finalized
// (txn/transaction-version.ts); below it clients add partitions themselves and nothing is asked here. The
// coordinator's answer becomes what each API answers, as Kafka maps it (ReplicaManager's post-verification
// callback, AddPartitionsToTxnManager):
//
//   coordinator answer                                   Produce                   TxnOffsetCommit
//   PRODUCER_FENCED                                      INVALID_PRODUCER_EPOCH    INVALID_PRODUCER_EPOCH
//   CONCURRENT_TRANSACTIONS, COORDINATOR_NOT_AVAILABLE,  NOT_ENOUGH_REPLICAS (a    COORDINATOR_NOT_AVAILABLE
//     COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,       retriable code that       (retriable)
//     NETWORK_EXCEPTION                                    does not refresh
//                                                          metadata), with the
//                                                          underlying error named
//   anything else (INVALID_PRODUCER_ID_MAPPING,          as is                     as is
//     INVALID_TXN_STATE, …)
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { ATTRIBUTES_OFFSET, MAGIC_OFFSET, PRODUCER_ID_OFFSET, isTransactional } from '../protocol/records/batch.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import { finalizedTransactionVersion, MAX_TRANSACTION_VERSION } from '../txn/transaction-version.js';
import type { RequestContext } from './types.js';
import type { TopicPartitions } from '../txn/transaction-metadata.js';

/** Produce v12: transactional producers may leave adding partitions to the broker (ProduceRequest.json). */
export const IMPLICIT_ADD_PRODUCE_VERSION = 12;
/** TxnOffsetCommit v5: the commit also adds the group's partition (TxnOffsetCommitRequest.json). */
export const IMPLICIT_ADD_TXN_OFFSET_COMMIT_VERSION = 5;

const RETRIABLE_COORDINATOR_ERRORS: ReadonlySet<number> = new Set([
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

/** The local coordinator's answer, or the remote coordinator's when another broker coordinates the id (cluster). */
async function addToTransaction(ctx: RequestContext, transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartitions): Promise<number> {
  const local = await ctx.broker.transactions.addPartitionsImplicitly(transactionalId, producerId, producerEpoch, partitions);
  const remote = ctx.broker.remoteTransactions;
  if (local !== ErrorCode.NOT_COORDINATOR || remote === undefined) return local;
  return remote.addPartitions(transactionalId, producerId, producerEpoch, partitions);
}

export function transactionsV2Finalized(ctx: RequestContext): boolean {
  return finalizedTransactionVersion(ctx.broker) >= MAX_TRANSACTION_VERSION;
}

/** A produced batch's producer id and epoch, when it is a v2 transactional batch. */
function transactionalProducer(records: Buffer | null): { producerId: bigint; producerEpoch: number } | undefined {
  if (records === null || records.length < PRODUCER_ID_OFFSET + 10 || records[MAGIC_OFFSET] !== 2) return undefined;
  if (!isTransactional(records.readInt16BE(ATTRIBUTES_OFFSET))) return undefined;
  return { producerId: records.readBigInt64BE(PRODUCER_ID_OFFSET), producerEpoch: records.readInt16BE(PRODUCER_ID_OFFSET + 8) };
}

export interface ProducedPartition {
  topic: string;
  partition: number;
  records: Buffer | null;
}

/** The outcome for a Produce: nothing to add, a whole-request error, or the code of each transactional partition. */
export type ImplicitAddOutcome = { kind: 'none' } | { kind: 'request-error'; errorCode: number } | { kind: 'partitions'; errorCode: number; errorMessage: string | null; partitions: ReadonlySet<string> };

export function partitionKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/**
 * Adds a Produce's transactional partitions to the transaction. Partitions the append will refuse anyway (topics the
 * principal may not WRITE, internal or unknown topics, partitions out of range) are left to it, as Kafka authorizes
 * topics before it verifies the transaction. More than one producer id among the transactional
 * batches fails the whole request (INVALID_PRODUCER_ID_MAPPING, "Transactional records contained more than one
 * producer ID").
 */
export async function addProducedPartitions(ctx: RequestContext, transactionalId: string | null, produced: readonly ProducedPartition[]): Promise<ImplicitAddOutcome> {
  if (ctx.apiVersion < IMPLICIT_ADD_PRODUCE_VERSION || transactionalId === null || !transactionsV2Finalized(ctx)) return { kind: 'none' };
  let producer: { producerId: bigint; producerEpoch: number } | undefined;
  const partitions = new Map<string, Set<number>>();
  const keys = new Set<string>();
  for (const p of produced) {
    const found = transactionalProducer(p.records);
    if (found === undefined) continue;
    if (producer !== undefined && producer.producerId !== found.producerId) return { kind: 'request-error', errorCode: ErrorCode.INVALID_PRODUCER_ID_MAPPING };
    producer ??= found;
    const info = ctx.broker.topics.get(p.topic);
    if (isInternalTopic(p.topic) || info === undefined || p.partition < 0 || p.partition >= info.partitions) continue;
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TOPIC, p.topic)) continue;
    let set = partitions.get(p.topic);
    if (set === undefined) partitions.set(p.topic, (set = new Set()));
    set.add(p.partition);
    keys.add(partitionKey(p.topic, p.partition));
  }
  if (producer === undefined || keys.size === 0) return { kind: 'none' };
  const code = await addToTransaction(ctx, transactionalId, producer.producerId, producer.producerEpoch, partitions);
  if (code === ErrorCode.NONE) return { kind: 'none' };
  if (code === ErrorCode.PRODUCER_FENCED) return { kind: 'partitions', errorCode: ErrorCode.INVALID_PRODUCER_EPOCH, errorMessage: null, partitions: keys };
  if (RETRIABLE_COORDINATOR_ERRORS.has(code)) {
    const message = `Unable to verify the partition has been added to the transaction. Underlying error: ${errorName(code)}`;
    return { kind: 'partitions', errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, errorMessage: message, partitions: keys };
  }
  const message = code === ErrorCode.INVALID_TXN_STATE ? 'Partition was not added to the transaction' : null;
  return { kind: 'partitions', errorCode: code, errorMessage: message, partitions: keys };
}

/** TxnOffsetCommit v5: adds the group's `__consumer_offsets` partition; NONE, or the code every partition answers. */
export async function addOffsetsPartition(ctx: RequestContext, transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<number> {
  if (ctx.apiVersion < IMPLICIT_ADD_TXN_OFFSET_COMMIT_VERSION || !transactionsV2Finalized(ctx)) return ErrorCode.NONE;
  const code = await addToTransaction(ctx, transactionalId, producerId, producerEpoch, ctx.broker.transactions.offsetsPartitionOf(groupId));
  if (code === ErrorCode.PRODUCER_FENCED) return ErrorCode.INVALID_PRODUCER_EPOCH;
  if (RETRIABLE_COORDINATOR_ERRORS.has(code)) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
  return code;
}
