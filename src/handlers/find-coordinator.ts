// FindCoordinator (key 10), versions 0–5 (KafkaApis.handleFindCoordinatorRequest and getCoordinator).
// - A single broker coordinates every group and every transactional id: key type 0 (GROUP) and key type 1
//   (TRANSACTION) answer this broker's advertised endpoint on the listener the request came through.
// - Cluster mode (KafkaApis.getCoordinator): each key answers the leader of the internal partition it hashes to
//   (partitionFor: `__consumer_offsets` for groups, `__transaction_state` for transactional ids), with that
//   broker's endpoint for the request's listener; COORDINATOR_NOT_AVAILABLE (node -1) while that partition has no
//   leader or its leader is not live, and when the topic cannot be created (fewer live brokers than
//   offsets.topic.replication.factor / transaction.state.log.replication.factor).
// - v0–3 carry one key (v0 has no key type: GROUP); v4+ batch keys (`coordinatorKeys`, KIP-699) and answer one
//   `coordinators` entry per key, in request order.
// - Kafka creates the coordinator's internal topic the first time a coordinator of its type is looked up
//   (`__consumer_offsets` for key type 0, `__transaction_state` for 1) and answers COORDINATOR_NOT_AVAILABLE until
//   it exists. Here the lookup creates it (its 50 partitions, before the answer: group/coordinator.ts
//   ensureOffsetsTopic, txn/transaction-coordinator.ts ensureStateTopic) and answers this broker at once; if that
//   fails, the answer is COORDINATOR_NOT_AVAILABLE with node -1, host "" and port -1, which clients retry. A v4+
//   request with no keys creates nothing. The key is not validated, as in Kafka: an empty transactional id maps to
//   partition 0 like any other key (InitProducerId and the transaction APIs refuse it with INVALID_REQUEST); a
//   null key does not decode, and the connection is closed, as Kafka does with a request it cannot parse.
// - Any other key type: INVALID_REQUEST (Kafka's CoordinatorType.forId rejects it). v6 (KIP-932) only adds key
//   type 2 (share groups), which this broker does not implement, so v6 is not advertised.
// - ACLs (auth/authorizer.ts; KafkaApis.getCoordinator), per key: a group needs DESCRIBE on it (GROUP_AUTHORIZATION_
//   FAILED), a transactional id DESCRIBE on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); a refused key answers node -1.
// - v5 (KIP-890) only allows TRANSACTION_ABORTABLE in answers, which never arises here.
// - errorMessage, as KafkaApis sets it: v1–3 carry Kafka's message for the code ("NONE" on success); v4+ answers
//   leave it null per key, except a whole-request error answer (FindCoordinatorResponse.prepareErrorResponse),
//   which carries the message.
import { ApiKey } from '../protocol/generated/index.js';
import { makeFindCoordinatorResponse, type FindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/find-coordinator.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { kafkaErrorCode } from '../errors.js';
import { OFFSETS_TOPIC_NAME, TRANSACTION_STATE_TOPIC_NAME } from '../metadata/internal-topics.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
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

const NO_COORDINATOR = { nodeId: -1, host: '', port: -1 };

/** Group and transaction keys: this broker (a cluster: the leader of the key's partition); others: INVALID_REQUEST. */
function coordinatorFor(ctx: RequestContext, keyType: number): (key: string) => Answer {
  if (keyType !== GROUP_KEY_TYPE && keyType !== TRANSACTION_KEY_TYPE) return () => ({ errorCode: ErrorCode.INVALID_REQUEST, ...NO_COORDINATOR });
  const broker = ctx.broker;
  const cluster = broker.cluster;
  if (cluster === undefined) {
    const { host, port } = broker.advertisedEndpoint(ctx.listenerName);
    const answer = { errorCode: ErrorCode.NONE, nodeId: broker.nodeId, host, port };
    return () => answer;
  }
  const topic = broker.topics.get(keyType === GROUP_KEY_TYPE ? OFFSETS_TOPIC_NAME : TRANSACTION_STATE_TOPIC_NAME);
  const live = new Map(cluster.liveBrokers(ctx.listenerName).map((b) => [b.nodeId, b]));
  return (key) => {
    if (topic === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, ...NO_COORDINATOR };
    const partition = keyType === GROUP_KEY_TYPE ? broker.groups.partitionFor(key) : broker.transactions.partitionFor(key);
    const leader = cluster.partitionState(topic, partition)?.leader ?? -1;
    const endpoint = leader < 0 ? undefined : live.get(leader);
    if (endpoint === undefined) return { errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, ...NO_COORDINATOR };
    return { errorCode: ErrorCode.NONE, nodeId: endpoint.nodeId, host: endpoint.host, port: endpoint.port };
  };
}

/** The coordinator's answers once its internal topic exists (`__consumer_offsets` or `__transaction_state`). */
async function coordinatorWithTopic(ctx: RequestContext, keyType: number): Promise<(key: string) => Answer> {
  const topic = keyType === GROUP_KEY_TYPE ? OFFSETS_TOPIC_NAME : TRANSACTION_STATE_TOPIC_NAME;
  try {
    if (keyType === GROUP_KEY_TYPE) await ctx.broker.groups.ensureOffsetsTopic();
    else await ctx.broker.transactions.ensureStateTopic();
    return coordinatorFor(ctx, keyType);
  } catch (err) {
    const code = kafkaErrorCode(err);
    if (code === undefined) ctx.log.error({ err, api: 'FindCoordinator', clientId: ctx.clientId }, `cannot create ${topic}`);
    else ctx.log.warn({ errorCode: code, api: 'FindCoordinator', clientId: ctx.clientId }, `cannot create ${topic}: ${(err as Error).message}`);
    return () => ({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, ...NO_COORDINATOR });
  }
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
  async handle(ctx, request) {
    const v = ctx.apiVersion;
    const keyType = v >= 1 ? (request.keyType ?? GROUP_KEY_TYPE) : GROUP_KEY_TYPE;
    const hasKeys = v < 4 || (request.coordinatorKeys ?? []).length > 0;
    const knownType = keyType === GROUP_KEY_TYPE || keyType === TRANSACTION_KEY_TYPE;
    const answer = knownType && hasKeys ? await coordinatorWithTopic(ctx, keyType) : coordinatorFor(ctx, keyType);
    const resource = keyType === GROUP_KEY_TYPE ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID;
    const refused = { errorCode: keyType === GROUP_KEY_TYPE ? ErrorCode.GROUP_AUTHORIZATION_FAILED : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ...NO_COORDINATOR };
    return respond(request, v, (key) => (!knownType || authorize(ctx, AclOperation.DESCRIBE, resource, key) ? answer(key) : refused), false);
  },
  errorResponse(request, errorCode, apiVersion) {
    return respond(request, apiVersion, () => ({ errorCode, ...NO_COORDINATOR }), true);
  },
};
