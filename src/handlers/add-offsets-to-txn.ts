// AddOffsetsToTxn (key 25), versions 0–4 (KafkaApis.handleAddOffsetsToTxnRequest).
// - Adds the group's __consumer_offsets partition (partitionFor(groupId), internal-topics.ts) to the producer's
//   ongoing transaction, so that the offsets a TxnOffsetCommit sends next become visible when the transaction
//   commits and are dropped when it aborts. The coordinator does it like any AddPartitionsToTxn
//   (txn/transaction-coordinator.ts addOffsetsPartition): an empty transactional id INVALID_REQUEST, an unknown
//   one or another producer id INVALID_PRODUCER_ID_MAPPING, another epoch PRODUCER_FENCED, a transaction
//   completing CONCURRENT_TRANSACTIONS, the coordinator loading COORDINATOR_LOAD_IN_PROGRESS.
// - ACLs (auth/authorizer.ts): WRITE on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), then READ on the
//   group (GROUP_AUTHORIZATION_FAILED); the group itself is not looked at otherwise.
// - PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v2, as KafkaApis does.
// - Version notes: v1 = v0; v2 allows PRODUCER_FENCED (KIP-588); v3 is the first flexible version; v4 allows
//   TRANSACTION_ABORTABLE (KIP-890), which transaction version 0 never answers. throttleTimeMs is always 0.
import { ApiKey } from '../protocol/generated/index.js';
import { makeAddOffsetsToTxnResponse, type AddOffsetsToTxnRequest, type AddOffsetsToTxnResponse } from '../protocol/generated/add-offsets-to-txn.js';
import { downgradeProducerFenced } from './txn-common.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

/** First version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

function answer(errorCode: number, apiVersion: number): AddOffsetsToTxnResponse {
  const res = makeAddOffsetsToTxnResponse();
  res.errorCode = downgradeProducerFenced(errorCode, apiVersion, PRODUCER_FENCED_VERSION);
  return res;
}

export const addOffsetsToTxnHandler: ApiHandler<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse> = {
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, request) {
    const { transactionalId, producerId, producerEpoch, groupId } = request;
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx.apiVersion);
    if (!authorize(ctx, AclOperation.READ, ResourceType.GROUP, groupId)) return answer(ErrorCode.GROUP_AUTHORIZATION_FAILED, ctx.apiVersion);
    const errorCode = await ctx.broker.transactions.addOffsetsPartition(transactionalId, producerId, producerEpoch, groupId);
    ctx.log.debug({ transactionalId, groupId, errorCode }, 'AddOffsetsToTxn: coordinator answered');
    return answer(errorCode, ctx.apiVersion);
  },
  errorResponse(_request, errorCode, apiVersion) {
    return answer(errorCode, apiVersion);
  },
};
