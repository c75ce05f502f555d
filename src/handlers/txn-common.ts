// Small helpers shared by the transaction API handlers (AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// InitProducerId).
import { ErrorCode } from '../protocol/error-codes.js';

/**
 * PRODUCER_FENCED (KIP-588) is answered as INVALID_PRODUCER_EPOCH to versions that predate it, so older clients
 * keep their handling (KafkaApis does it per API in its response callback). `firstVersion` is the API's first
 * version that knows PRODUCER_FENCED: 2 for AddPartitionsToTxn, AddOffsetsToTxn and EndTxn, 4 for InitProducerId.
 */
export function downgradeProducerFenced(errorCode: number, apiVersion: number, firstVersion: number): number {
  return apiVersion < firstVersion && errorCode === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode;
}

