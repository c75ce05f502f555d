// ListTransactions (key 66), versions 0–1 (KIP-664; KafkaApis.handleListTransactionsRequest and
// TransactionStateManager.listTransactionStates).
// - Every transactional id the coordinator knows, except those being expired (Dead), with its producer id and
//   state, filtered by all of (an empty filter lets everything through):
//   - stateFilters: Kafka's state names (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit,
//     CompleteAbort, Dead, PrepareEpochFence), matched exactly. Names that are not states are listed once each in
//     unknownStateFilters, and match nothing: a request whose every state filter is unknown lists nothing.
//   - producerIdFilters: the current producer id.
//   - durationFilter (v1, KIP-994): if >= 0, only transactions that started more than that many ms ago.
// - The coordinator lists them (txn/transaction-coordinator.ts list) in no particular order.
// - ACLs (auth/authorizer.ts): ids the caller may not DESCRIBE are left out.
// - Version notes: v1 adds durationFilter (KIP-994; v0 lists regardless of duration). throttleTimeMs is always 0.
import { ApiKey } from '../protocol/generated/index.js';
import { makeListTransactionsResponse, type ListTransactionsRequest, type ListTransactionsResponse } from '../protocol/generated/list-transactions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { transactionStateFromName } from '../txn/transaction-state.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const listTransactionsHandler: ApiHandler<ListTransactionsRequest, ListTransactionsResponse> = {
  apiKey: ApiKey.ListTransactions,
  name: 'ListTransactions',
  minVersion: 0,
  maxVersion: 1,
  handle(ctx, request) {
    const stateFilters = [...new Set(request.stateFilters)];
    const producerIdFilters = [...new Set(request.producerIdFilters)];
    const durationFilterMs = ctx.apiVersion >= 1 ? (request.durationFilter ?? -1n) : -1n;
    const listings = ctx.broker.transactions.list(stateFilters, producerIdFilters, durationFilterMs);
    const res = makeListTransactionsResponse();
    res.errorCode = ErrorCode.NONE;
    res.unknownStateFilters = stateFilters.filter((name) => transactionStateFromName(name) === undefined);
    res.transactionStates = listings.filter((l) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, l.transactionalId)).map((l) => ({ transactionalId: l.transactionalId, producerId: l.producerId, transactionState: l.transactionState }));
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeListTransactionsResponse();
    res.errorCode = errorCode;
    return res;
  },
};
