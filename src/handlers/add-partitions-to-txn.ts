// AddPartitionsToTxn (key 24), versions 0–5 (KafkaApis.handleAddPartitionsToTxnRequest).
// - v0–3 come from transactional producers and carry one transaction (the v3AndBelow* fields); v4+ come from
//   brokers (KIP-890's AddPartitionsToTxnManager), batch transactions and answer one result per transaction.
//   v4+ need CLUSTER_ACTION on the CLUSTER (the whole request answers CLUSTER_AUTHORIZATION_FAILED). No broker sends
//   them here (one broker, transaction version 0: no server-side verification), but admin
//   tools and tests may.
// - ACLs for v0–3 (auth/authorizer.ts): WRITE on the transactional id, otherwise every partition answers
//   TRANSACTIONAL_ID_AUTHORIZATION_FAILED; then WRITE on each topic (the table's first row).
// - Each transaction's partitions are checked before the coordinator sees them:
//   | partition                                        | v0–3                         | v4+                          |
//   |--------------------------------------------------|------------------------------|------------------------------|
//   | of an internal topic (__consumer_offsets,        | TOPIC_AUTHORIZATION_FAILED   | checked like any other topic |
//   |   __transaction_state, __share_group_state), or  |                              |                              |
//   |   of a topic without WRITE                       |                              |                              |
//   | topic or partition the metadata does not know    | UNKNOWN_TOPIC_OR_PARTITION   | UNKNOWN_TOPIC_OR_PARTITION   |
//   If any partition fails, nothing is added: the failed partitions carry their code and the others
//   OPERATION_NOT_ATTEMPTED, each partition once (Kafka builds this answer from a map). Internal topics fail for
//   clients because Kafka's WRITE check on topics leaves them out of the authorized set even without an
//   authorizer; a producer adds __consumer_offsets through AddOffsetsToTxn.
// - Otherwise the coordinator adds the partitions (txn/transaction-coordinator.ts addPartitions: epoch and state
//   checks, then the new transaction state written to __transaction_state) and every partition of the request,
//   as sent, carries its answer. PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v2.
// - verifyOnly (v4+): nothing is added; each partition answers whether it is in the transaction
//   (TransactionCoordinator.handleVerifyPartitionsInTransaction), from the coordinator's description of it:
//   | condition                                           | every partition                  |
//   |-----------------------------------------------------|----------------------------------|
//   | empty transactional id                              | INVALID_REQUEST                  |
//   | coordinator not ready (loading, not available)      | that code                        |
//   | unknown transactional id, or another producer id    | INVALID_PRODUCER_ID_MAPPING      |
//   | another producer epoch                              | PRODUCER_FENCED                  |
//   | state PrepareCommit or PrepareAbort                 | CONCURRENT_TRANSACTIONS          |
//   | otherwise, per partition                            | NONE if in the transaction, else |
//   |                                                     | TRANSACTION_ABORTABLE            |
// - An unexpected failure answers the whole request (AddPartitionsToTxnRequest.getErrorResponse): v0–3 every
//   partition with the code, v4+ the top-level errorCode with no results.
// - Version notes: v1 = v0; v2 allows PRODUCER_FENCED (KIP-588); v3 is the first flexible version; v4 batches
//   transactions and adds verifyOnly and the top-level errorCode (KIP-890); v5 allows TRANSACTION_ABORTABLE
//   (KIP-890), which the verify answer already uses (Kafka does not vary it by version either). throttleTimeMs
//   is always 0 (no quotas).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeAddPartitionsToTxnResponse,
  type AddPartitionsToTxnRequest,
  type AddPartitionsToTxnRequestAddPartitionsToTxnTopic,
  type AddPartitionsToTxnRequestAddPartitionsToTxnTransaction,
  type AddPartitionsToTxnResponse,
  type AddPartitionsToTxnResponseAddPartitionsToTxnResult,
  type AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult,
} from '../protocol/generated/add-partitions-to-txn.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import { isKnownPartition } from './partition-lookup.js';
import { downgradeProducerFenced } from './txn-common.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';

type TopicResult = AddPartitionsToTxnResponseAddPartitionsToTxnTopicResult;
type Transaction = AddPartitionsToTxnRequestAddPartitionsToTxnTransaction;
type Topics = readonly AddPartitionsToTxnRequestAddPartitionsToTxnTopic[];

const FIRST_BROKER_VERSION = 4;
/** First version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

function tpKey(topic: string, partition: number): string {
  return `${partition}:${topic}`;
}

/** Every partition of the request, as sent (duplicates included), with the code `codeOf` gives it. */
function echoTopics(topics: Topics, codeOf: (topic: string, partition: number) => number): TopicResult[] {
  return topics.map((t) => ({
    name: t.name,
    resultsByPartition: t.partitions.map((p) => ({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) })),
  }));
}

/** Each distinct partition once, grouped by topic in request order (Kafka's resultForTransaction over a map). */
function distinctTopics(topics: Topics, codeOf: (topic: string, partition: number) => number): TopicResult[] {
  const byTopic = new Map<string, TopicResult>();
  const seen = new Set<string>();
  for (const t of topics) {
    for (const p of t.partitions) {
      const key = tpKey(t.name, p);
      if (seen.has(key)) continue;
      seen.add(key);
      let result = byTopic.get(t.name);
      if (result === undefined) {
        result = { name: t.name, resultsByPartition: [] };
        byTopic.set(t.name, result);
      }
      result.resultsByPartition.push({ partitionIndex: p, partitionErrorCode: codeOf(t.name, p) });
    }
  }
  return [...byTopic.values()];
}

/** The partition checks made before the coordinator is asked; undefined when every partition passes. */
function checkPartitions(ctx: RequestContext, topics: Topics, apiVersion: number): TopicResult[] | undefined {
  let failed = false;
  const codes = new Map<string, number>();
  for (const t of topics) {
    const topic = ctx.broker.topics.get(t.name);
    const internal = apiVersion < FIRST_BROKER_VERSION && (isInternalTopic(t.name) || !authorize(ctx, AclOperation.WRITE, ResourceType.TOPIC, t.name));
    for (const p of t.partitions) {
      const code = internal ? ErrorCode.TOPIC_AUTHORIZATION_FAILED : isKnownPartition(topic, p) ? ErrorCode.NONE : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (code !== ErrorCode.NONE) failed = true;
      codes.set(tpKey(t.name, p), code);
    }
  }
  if (!failed) return undefined;
  return distinctTopics(topics, (topic, p) => {
    const code = codes.get(tpKey(topic, p))!;
    return code === ErrorCode.NONE ? ErrorCode.OPERATION_NOT_ATTEMPTED : code;
  });
}

/** The distinct partitions, by topic, as the coordinator takes them (Kafka passes a set). */
function groupByTopic(topics: Topics): Array<{ topic: string; partitions: number[] }> {
  const byTopic = new Map<string, Set<number>>();
  for (const t of topics) {
    let partitions = byTopic.get(t.name);
    if (partitions === undefined) {
      partitions = new Set();
      byTopic.set(t.name, partitions);
    }
    for (const p of t.partitions) partitions.add(p);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions: [...partitions] }));
}

async function addPartitions(ctx: RequestContext, txn: Transaction, apiVersion: number): Promise<TopicResult[]> {
  // A broker's request (v4+) may add internal topics: a group coordinator adds `__consumer_offsets` (TxnOffsetCommit
  // v5, transactions v2).
  const allowInternal = apiVersion >= FIRST_BROKER_VERSION;
  const { errorCode, results } = await ctx.broker.transactions.addPartitions(txn.transactionalId, txn.producerId, txn.producerEpoch, groupByTopic(txn.topics), allowInternal);
  const codes = new Map<string, number>();
  for (const r of results) for (const p of r.partitions) codes.set(tpKey(r.topic, p.partition), p.errorCode);
  ctx.log.debug({ transactionalId: txn.transactionalId, errorCode }, 'AddPartitionsToTxn: coordinator answered');
  return echoTopics(txn.topics, (topic, p) => downgradeProducerFenced(codes.get(tpKey(topic, p)) ?? errorCode, apiVersion, PRODUCER_FENCED_VERSION));
}

/** verifyOnly: whether each partition is in the ongoing transaction (handleVerifyPartitionsInTransaction). */
function verifyPartitions(ctx: RequestContext, txn: Transaction): TopicResult[] {
  const uniform = (code: number) => distinctTopics(txn.topics, () => code);
  if (txn.transactionalId === '') return uniform(ErrorCode.INVALID_REQUEST);
  const [description] = ctx.broker.transactions.describe([txn.transactionalId]);
  if (description === undefined || description.errorCode === ErrorCode.TRANSACTIONAL_ID_NOT_FOUND) return uniform(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  if (description.errorCode !== ErrorCode.NONE) return uniform(description.errorCode);
  if (description.producerId !== txn.producerId) return uniform(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
  if (description.producerEpoch !== txn.producerEpoch) return uniform(ErrorCode.PRODUCER_FENCED);
  if (description.state === 'PrepareCommit' || description.state === 'PrepareAbort') return uniform(ErrorCode.CONCURRENT_TRANSACTIONS);
  const inTransaction = new Set<string>();
  for (const t of description.topics) for (const p of t.partitions) inTransaction.add(tpKey(t.topic, p));
  return distinctTopics(txn.topics, (topic, p) => (inTransaction.has(tpKey(topic, p)) ? ErrorCode.NONE : ErrorCode.TRANSACTION_ABORTABLE));
}

async function handleTransaction(ctx: RequestContext, txn: Transaction, apiVersion: number): Promise<TopicResult[]> {
  if (apiVersion < FIRST_BROKER_VERSION && !authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txn.transactionalId)) {
    return distinctTopics(txn.topics, () => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
  }
  const failed = checkPartitions(ctx, txn.topics, apiVersion);
  if (failed !== undefined) return failed;
  return txn.verifyOnly ? verifyPartitions(ctx, txn) : addPartitions(ctx, txn, apiVersion);
}

function response(apiVersion: number, byTopic: TopicResult[], byTransaction: AddPartitionsToTxnResponseAddPartitionsToTxnResult[], errorCode: number): AddPartitionsToTxnResponse {
  const res = makeAddPartitionsToTxnResponse();
  if (apiVersion < FIRST_BROKER_VERSION) {
    res.resultsByTopicV3AndBelow = byTopic;
    res.resultsByTransaction = undefined;
    res.errorCode = undefined;
  } else {
    res.resultsByTransaction = byTransaction;
    res.resultsByTopicV3AndBelow = undefined;
    res.errorCode = errorCode;
  }
  return res;
}

export const addPartitionsToTxnHandler: ApiHandler<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse> = {
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    const v = ctx.apiVersion;
    if (v < FIRST_BROKER_VERSION) {
      const txn: Transaction = {
        transactionalId: request.v3AndBelowTransactionalId ?? '',
        producerId: request.v3AndBelowProducerId ?? 0n,
        producerEpoch: request.v3AndBelowProducerEpoch ?? 0,
        verifyOnly: false,
        topics: request.v3AndBelowTopics ?? [],
      };
      return response(v, await handleTransaction(ctx, txn, v), [], ErrorCode.NONE);
    }
    if (!authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, v);
    const transactions = request.transactions ?? [];
    const results = await Promise.all(transactions.map((txn) => handleTransaction(ctx, txn, v)));
    return response(v, [], transactions.map((txn, i) => ({ transactionalId: txn.transactionalId, topicResults: results[i]! })), ErrorCode.NONE);
  },
  errorResponse(request, errorCode, apiVersion) {
    if (apiVersion < FIRST_BROKER_VERSION) return response(apiVersion, echoTopics(request.v3AndBelowTopics ?? [], () => errorCode), [], ErrorCode.NONE);
    return response(apiVersion, [], [], errorCode);
  },
};
