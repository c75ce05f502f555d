// DescribeTransactions (key 65), version 0 (KIP-664; KafkaApis.handleDescribeTransactionsRequest).
// - One answer per requested transactional id, in request order (duplicates answered each time), from the
//   coordinator's description (txn/transaction-coordinator.ts describe, Kafka's handleDescribeTransactions):
//   state (Kafka's names: Empty, Ongoing, PrepareCommit, ...), timeout, start time, producer id and epoch, and the
//   partitions of the current transaction grouped by topic (while PrepareCommit/PrepareAbort, those still
//   waiting for their marker).
// - Errors per id: an empty id INVALID_REQUEST; an id the coordinator does not know, or whose state is being
//   expired (Dead), TRANSACTIONAL_ID_NOT_FOUND; while the coordinator loads COORDINATOR_LOAD_IN_PROGRESS. An error
//   entry carries only the id and the code, every other field at its schema default (0, "" and no topics), as
//   Kafka's answer leaves them.
// - ACLs (auth/authorizer.ts): an id the caller may not DESCRIBE answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED; topics
//   it may not DESCRIBE are left out of the partitions listed.
// - throttleTimeMs is always 0 (no quotas).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeTransactionsResponse,
  type DescribeTransactionsRequest,
  type DescribeTransactionsResponse,
  type DescribeTransactionsResponseTransactionState,
} from '../protocol/generated/describe-transactions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler } from './types.js';

function errorState(transactionalId: string, errorCode: number): DescribeTransactionsResponseTransactionState {
  return { errorCode, transactionalId, transactionState: '', transactionTimeoutMs: 0, transactionStartTimeMs: 0n, producerId: 0n, producerEpoch: 0, topics: [] };
}

export const describeTransactionsHandler: ApiHandler<DescribeTransactionsRequest, DescribeTransactionsResponse> = {
  apiKey: ApiKey.DescribeTransactions,
  name: 'DescribeTransactions',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    const ids = request.transactionalIds;
    const allowed = ids.map((id) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, id));
    const described = ids.filter((_, i) => allowed[i]);
    const found = described.length === 0 ? [] : ctx.broker.transactions.describe(described);
    let next = 0;
    const descriptions = allowed.map((ok) => (ok ? found[next++] : null));
    const res = makeDescribeTransactionsResponse();
    res.transactionStates = ids.map((transactionalId, i) => {
      const d = descriptions[i];
      // The coordinator answers one description per id, in order; a missing one would be a bug there.
      if (d === null) return errorState(transactionalId, ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
      if (d === undefined) return errorState(transactionalId, ErrorCode.UNKNOWN_SERVER_ERROR);
      if (d.errorCode !== ErrorCode.NONE) return errorState(transactionalId, d.errorCode);
      return {
        errorCode: ErrorCode.NONE,
        transactionalId,
        transactionState: d.state,
        transactionTimeoutMs: d.transactionTimeoutMs,
        transactionStartTimeMs: d.transactionStartTimeMs,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: d.topics.filter((t) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.topic)).map((t) => ({ topic: t.topic, partitions: [...t.partitions] })),
      };
    });
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDescribeTransactionsResponse();
    res.transactionStates = request.transactionalIds.map((id) => errorState(id, errorCode));
    return res;
  },
};
