// InitProducerId (key 22), versions 0–5: a producer's id and epoch (Kafka's KafkaApis.handleInitProducerIdRequest
// and TransactionCoordinator.handleInitProducerId).
// - Checked first, as KafkaApis does: a producerId of -1 with an epoch other than -1, or the reverse (v3+ only
//   carry them), is INVALID_REQUEST for the whole request.
// - transactionalId null (an idempotent producer): a new producer id from the ProducerIdManager with epoch 0, every
//   time. Kafka "blindly accepts" here and ignores a producerId/epoch sent with it (v3+, KIP-360): an idempotent
//   producer recovering from OUT_OF_ORDER_SEQUENCE_NUMBER bumps its epoch itself (the Java client) or asks for a
//   new id (librdkafka), and Produce accepts a higher epoch starting at sequence 0 (log/producer-state.ts).
// - transactionalId "" is INVALID_REQUEST; a transactionTimeoutMs <= 0 or above transaction.max.timeout.ms
//   (transactionMaxTimeoutMs, default 900000) is INVALID_TRANSACTION_TIMEOUT, both as Kafka checks them before
//   looking at transaction state.
// - Any other transactionalId: the transaction coordinator (txn/transaction-coordinator.ts initProducerId) gives
//   the id and epoch: a new id at epoch 0 for a new transactional id, else the same id with the epoch bumped
//   (aborting an ongoing transaction first, which answers CONCURRENT_TRANSACTIONS until the abort completes), or
//   a new id once the epoch is exhausted; with producerId/epoch (v3+, KIP-360) they must be the current producer's
//   (else PRODUCER_FENCED). A transition in progress answers CONCURRENT_TRANSACTIONS, the coordinator still
//   loading COORDINATOR_LOAD_IN_PROGRESS.
// - PRODUCER_FENCED is answered as INVALID_PRODUCER_EPOCH below v4, as KafkaApis does.
// - Every error answer carries producerId -1 and producerEpoch -1 (Kafka's initTransactionError). Failing to
//   persist a new block of ids answers COORDINATOR_LOAD_IN_PROGRESS (retriable), Kafka's answer while its broker
//   waits for a block from the controller.
// - ACLs (auth/authorizer.ts), checked first: with a transactional id, WRITE on it (TRANSACTIONAL_ID_AUTHORIZATION_
//   FAILED); without one (idempotence), IDEMPOTENT_WRITE on the CLUSTER or WRITE on any topic (KIP-679), else
//   CLUSTER_AUTHORIZATION_FAILED.
// - Version notes: v2 is the first flexible version; v3 adds producerId/producerEpoch (KIP-360); v4 allows
//   PRODUCER_FENCED (KIP-588) and v5 TRANSACTION_ABORTABLE (KIP-890), which transaction version 0 never answers.
//   throttleTimeMs is always 0 (no quotas).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../protocol/generated/init-producer-id.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { kafkaErrorCode } from '../errors.js';
import { downgradeProducerFenced } from './txn-common.js';
import { AclOperation, ResourceType, authorize, authorizeByResourceType, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;
/** First version that knows PRODUCER_FENCED. */
const PRODUCER_FENCED_VERSION = 4;

function answer(errorCode: number, producerId = NO_PRODUCER_ID, producerEpoch = NO_PRODUCER_EPOCH): InitProducerIdResponse {
  const res = makeInitProducerIdResponse();
  res.errorCode = errorCode;
  res.producerId = producerId;
  res.producerEpoch = producerEpoch;
  return res;
}

export const initProducerIdHandler: ApiHandler<InitProducerIdRequest, InitProducerIdResponse> = {
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  async handle(ctx, request) {
    if (request.transactionalId !== null) {
      if (!authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, request.transactionalId)) return answer(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    } else if (!authorizeCluster(ctx, AclOperation.IDEMPOTENT_WRITE) && !authorizeByResourceType(ctx, AclOperation.WRITE, ResourceType.TOPIC)) {
      return answer(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    const producerId = request.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = request.producerEpoch ?? NO_PRODUCER_EPOCH;
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return answer(ErrorCode.INVALID_REQUEST);
    const { transactionalId } = request;
    if (transactionalId !== null) {
      if (transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
      const timeoutMs = request.transactionTimeoutMs;
      if (timeoutMs <= 0 || timeoutMs > ctx.broker.config.transactionMaxTimeoutMs) return answer(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      const result = await ctx.broker.transactions.initProducerId(transactionalId, timeoutMs, producerId, producerEpoch);
      ctx.log.debug({ transactionalId, errorCode: result.errorCode, producerId: result.producerId.toString(), producerEpoch: result.producerEpoch }, 'InitProducerId: coordinator answered');
      const errorCode = downgradeProducerFenced(result.errorCode, ctx.apiVersion, PRODUCER_FENCED_VERSION);
      return errorCode === ErrorCode.NONE ? answer(errorCode, result.producerId, result.producerEpoch) : answer(errorCode);
    }
    try {
      const id = await ctx.broker.producerIds.generateProducerId();
      ctx.log.debug({ producerId: id.toString() }, 'InitProducerId: new idempotent producer id');
      return answer(ErrorCode.NONE, id, 0);
    } catch (err) {
      const code = kafkaErrorCode(err);
      if (code === undefined) throw err;
      return answer(code);
    }
  },
  errorResponse(_request, errorCode, apiVersion) {
    return answer(downgradeProducerFenced(errorCode, apiVersion, PRODUCER_FENCED_VERSION));
  },
};
