// InitProducerId (key 22), versions 0–5: the idempotent producer's id (Kafka's KafkaApis.handleInitProducerIdRequest
// and TransactionCoordinator.handleInitProducerId).
// - Checked first, as KafkaApis does: a producerId of -1 with an epoch other than -1, or the reverse (v3+ only
//   carry them), is INVALID_REQUEST for the whole request.
// - transactionalId null (an idempotent producer): a new producer id from the ProducerIdManager with epoch 0, every
//   time. Kafka "blindly accepts" here and ignores a producerId/epoch sent with it (v3+, KIP-360): an idempotent
//   producer recovering from OUT_OF_ORDER_SEQUENCE_NUMBER bumps its epoch itself (the Java client) or asks for a
//   new id (librdkafka), and Produce accepts a higher epoch starting at sequence 0 (log/producer-state.ts).
// - transactionalId "" is INVALID_REQUEST; a transactionTimeoutMs <= 0 or above transaction.max.timeout.ms
//   (900000) is INVALID_TRANSACTION_TIMEOUT, both as Kafka checks them before looking at transaction state.
// - Any other transactionalId: COORDINATOR_NOT_AVAILABLE. There is no transaction coordinator yet (issue 9 adds
//   it); FindCoordinator key type 1 answers the same, so clients wait and retry instead of failing.
// - Every error answer carries producerId -1 and producerEpoch -1 (Kafka's initTransactionError). Failing to
//   persist a new block of ids answers COORDINATOR_LOAD_IN_PROGRESS (retriable), Kafka's answer while its broker
//   waits for a block from the controller.
// - Version notes: v2 is the first flexible version; v3 adds producerId/producerEpoch (KIP-360); v4 allows
//   PRODUCER_FENCED and v5 TRANSACTION_ABORTABLE (KIP-890), neither of which an idempotent producer gets.
//   throttleTimeMs is always 0 (no quotas).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeInitProducerIdResponse,
  type InitProducerIdRequest,
  type InitProducerIdResponse,
} from '../protocol/generated/init-producer-id.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { kafkaErrorCode } from '../errors.js';
import type { ApiHandler } from './types.js';

const NO_PRODUCER_ID = -1n;
const NO_PRODUCER_EPOCH = -1;
/** Kafka's `transaction.max.timeout.ms` default; becomes a broker config with the transaction coordinator (issue 9). */
export const TRANSACTION_MAX_TIMEOUT_MS = 900_000;

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
    const producerId = request.producerId ?? NO_PRODUCER_ID;
    const producerEpoch = request.producerEpoch ?? NO_PRODUCER_EPOCH;
    if ((producerId === NO_PRODUCER_ID) !== (producerEpoch === NO_PRODUCER_EPOCH)) return answer(ErrorCode.INVALID_REQUEST);
    const { transactionalId } = request;
    if (transactionalId !== null) {
      if (transactionalId === '') return answer(ErrorCode.INVALID_REQUEST);
      const timeoutMs = request.transactionTimeoutMs;
      if (timeoutMs <= 0 || timeoutMs > TRANSACTION_MAX_TIMEOUT_MS) return answer(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
      return answer(ErrorCode.COORDINATOR_NOT_AVAILABLE);
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
  errorResponse(_request, errorCode) {
    return answer(errorCode);
  },
};
