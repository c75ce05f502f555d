// EndTxn (key 26), versions 0–4 (KafkaApis.handleEndTxnRequest).
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
// - v5 (KIP-890 part 2, transactions v2: the coordinator bumps the producer epoch at every EndTxn and answers the
//   new ProducerId/ProducerEpoch) is in the codec (EndTxnRequest/Response.json of Kafka trunk 1eb7644) but not
//   advertised: Eddy's coordinator keeps the epoch across transactions (transaction version 0), so its semantics
//   are not built. Clients use v5 only once transaction.version 2 is finalized (franz-go pins EndTxn at 4 otherwise).
import { ApiKey } from '../protocol/generated/index.js';
import { makeEndTxnResponse, type EndTxnRequest, type EndTxnResponse } from '../protocol/generated/end-txn.js';
import { downgradeProducerFenced } from './txn-common.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

/** First version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 2;

function answer(errorCode: number, apiVersion: number): EndTxnResponse {
  const res = makeEndTxnResponse();
  res.errorCode = downgradeProducerFenced(errorCode, apiVersion, PRODUCER_FENCED_VERSION);
  return res;
}

export const endTxnHandler: ApiHandler<EndTxnRequest, EndTxnResponse> = {
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 4,
  async handle(ctx, request) {
    const { transactionalId, producerId, producerEpoch, committed } = request;
    if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactionalId)) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ctx.apiVersion);
    const errorCode = await ctx.broker.transactions.endTransaction(transactionalId, producerId, producerEpoch, committed);
    ctx.log.debug({ transactionalId, committed, errorCode }, 'EndTxn: coordinator answered');
    return answer(errorCode, ctx.apiVersion);
  },
  errorResponse(_request, errorCode, apiVersion) {
    return answer(errorCode, apiVersion);
  },
};
