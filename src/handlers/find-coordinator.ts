// FindCoordinator (key 10), versions 0–5.
// - This broker coordinates every group: key type 0 (GROUP) always answers this broker's advertised endpoint.
// - v0–3 carry one key (v0 has no key type: GROUP); v4+ batch keys (`coordinatorKeys`, KIP-699) and answer one
//   `coordinators` entry per key, in request order.
// - Key type 1 (TRANSACTION): there is no transaction coordinator yet (it arrives with transactions). Kafka answers
//   COORDINATOR_NOT_AVAILABLE with node -1, host "" and port -1 while it cannot serve a transaction coordinator
//   (its `__transaction_state` topic is not available), and so do we; clients treat it as retriable.
// - Any other key type: INVALID_REQUEST (Kafka's CoordinatorType.forId rejects it). v6 (KIP-932) only adds key
//   type 2 (share groups), which this broker does not implement, so v6 is not advertised.
// - v5 (KIP-890) only allows TRANSACTION_ABORTABLE in answers, which never arises here.
// - errorMessage, as KafkaApis sets it: v1–3 carry Kafka's message for the code ("NONE" on success); v4+ answers
//   leave it null per key, except a whole-request error answer (FindCoordinatorResponse.prepareErrorResponse),
//   which carries the message.
import { ApiKey } from '../protocol/generated/index.js';
import { makeFindCoordinatorResponse, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/find-coordinator.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler, RequestContext } from './types.js';

const GROUP_KEY_TYPE = 0;
const TRANSACTION_KEY_TYPE = 1;

const MESSAGES: Record<number, string> = {
  [ErrorCode.NONE]: 'NONE',
  [ErrorCode.COORDINATOR_NOT_AVAILABLE]: 'The coordinator is not available.',
  [ErrorCode.INVALID_REQUEST]:
    'This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker. See the broker logs for more details.',
  [ErrorCode.UNSUPPORTED_VERSION]: 'The version of API is not supported.',
};

interface Answer {
  errorCode: number;
  nodeId: number;
  host: string;
  port: number;
}

function coordinatorFor(ctx: RequestContext, keyType: number): Answer {
  if (keyType === GROUP_KEY_TYPE) {
    const { host, port } = ctx.broker.advertisedEndpoint();
    return { errorCode: ErrorCode.NONE, nodeId: ctx.broker.nodeId, host, port };
  }
  const errorCode = keyType === TRANSACTION_KEY_TYPE ? ErrorCode.COORDINATOR_NOT_AVAILABLE : ErrorCode.INVALID_REQUEST;
  return { errorCode, nodeId: -1, host: '', port: -1 };
}

function respond(request: FindCoordinatorRequest, apiVersion: number, answer: (key: string) => Answer, batchedMessages: boolean): FindCoordinatorResponse {
  const res = makeFindCoordinatorResponse();
  if (apiVersion >= 4) {
    res.errorCode = undefined;
    res.errorMessage = undefined;
    res.nodeId = undefined;
    res.host = undefined;
    res.port = undefined;
    res.coordinators = (request.coordinatorKeys ?? []).map((key) => {
      const a = answer(key);
      return { key, ...a, errorMessage: batchedMessages ? (MESSAGES[a.errorCode] ?? null) : null };
    });
  } else {
    const a = answer(request.key ?? '');
    res.errorCode = a.errorCode;
    res.errorMessage = apiVersion >= 1 ? (MESSAGES[a.errorCode] ?? null) : undefined;
    res.nodeId = a.nodeId;
    res.host = a.host;
    res.port = a.port;
    res.coordinators = undefined;
  }
  return res;
}

export const findCoordinatorHandler: ApiHandler<FindCoordinatorRequest, FindCoordinatorResponse> = {
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, request) {
    const keyType = ctx.apiVersion >= 1 ? (request.keyType ?? GROUP_KEY_TYPE) : GROUP_KEY_TYPE;
    const answer = coordinatorFor(ctx, keyType);
    return respond(request, ctx.apiVersion, () => answer, false);
  },
  errorResponse(request, errorCode, apiVersion) {
    return respond(request, apiVersion, () => ({ errorCode, nodeId: -1, host: '', port: -1 }), true);
  },
};
