// EndTxn (key 26), versions 0–5 (KafkaApis.handleEndTxnRequest).
// - Commits (committed = true) or aborts the producer's ongoing transaction through the coordinator
//   (txn/transaction-coordinator.ts endTransaction). The answer comes once the PrepareCommit/PrepareAbort state
//   is durable in __transaction_state; the markers are then written to every partition of the transaction
//   (txn/marker-writer.ts) and the transaction completes, as Kafka's coordinator answers before its markers land.
// - Coordinator answers, as Kafka's handleEndTransaction: an empty transactional id INVALID_REQUEST; an unknown
//   one or another producer id INVALID_PRODUCER_ID_MAPPING; another epoch PRODUCER_FENCED; a state transition in
//   progress CONCURRENT_TRANSACTIONS; a retried commit (abort) while PrepareCommit (PrepareAbort)
//   CONCURRENT_TRANSACTIONS, after CompleteCommit (CompleteAbort) NONE; the opposite outcome, or ending an Empty
//   transaction, INVALID_TXN_STATE; the coordinator loading COORDINATOR_LOAD_IN_PROGRESS.
// - PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v2, as KafkaApis does.
// - ACLs (auth/authorizer.ts): WRITE on the transactional id first (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
// - Version notes: v1 = v0; v2 allows PRODUCER_FENCED (KIP-588); v3 is the first flexible version; v4 allows
//   TRANSACTION_ABORTABLE (KIP-890), which transaction version 0 never answers. throttleTimeMs is always 0.
// - v5 (KIP-890 part 2, transactions v2; EndTxnRequest/Response.json of Kafka trunk 1eb7644): the coordinator
//   bumps the producer epoch at every EndTxn (the markers carry the bumped epoch) and answers the ProducerId and
//   ProducerEpoch the client goes on with: the bumped epoch, or the next producer id at epoch 0 when the epoch
//   was exhausted. A retried v5 EndTxn (its epoch one below the bumped one) answers CONCURRENT_TRANSACTIONS while
//   the markers are written and NONE with the current id and epoch once done; an error answers -1/-1. Clients use
//   v5 once transaction.version 2 is finalized (txn/transaction-version.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { makeEndTxnResponse, type EndTxnRequest, type EndTxnResponse } from '../protocol/generated/end-txn.js';
import { downgradeProducerFenced } from './txn-common.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import type { EndTxnResult } from '../txn/transaction-coordinator.js';
import { TRANSACTION_VERSION_2 } from '../txn/transaction-metadata.js';

/** First version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

/** First version of transactions v2 (the epoch bumped at every EndTxn; ProducerId/ProducerEpoch answered). */
const TRANSACTIONS_V2_VERSION = 5;

function answer(result: EndTxnResult, apiVersion: number): EndTxnResponse {
  const res = makeEndTxnResponse();
  res.errorCode = downgradeProducerFenced(result.errorCode, apiVersion, PRODUCER_FENCED_VERSION);
  if (apiVersion >= TRANSACTIONS_V2_VERSION) {
    res.producerId = result.producerId;
    res.producerEpoch = result.producerEpoch;
  }
  return res;
}

function failed(errorCode: number): EndTxnResult {
  return { errorCode, producerId: -1n, producerEpoch: -1 };
}

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    const { transactionalId, producerId, producerEpoch, committed } = request;
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return answer(failed(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED), ctx.apiVersion);
    const clientTransactionVersion = ctx.apiVersion >= TRANSACTIONS_V2_VERSION ? TRANSACTION_VERSION_2 : 0;
    const result = await ctx.broker.transactions.endTransaction(transactionalId, producerId, producerEpoch, committed, clientTransactionVersion);
    ctx.log.debug({ transactionalId, committed, errorCode: result.errorCode, producerEpoch: result.producerEpoch }, 'EndTxn: coordinator answered');
    return answer(result, ctx.apiVersion);
  },
  errorResponse(_request, errorCode, apiVersion) {
    return answer(failed(errorCode), apiVersion);
  },
};
