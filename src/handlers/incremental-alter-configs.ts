// IncrementalAlterConfigs (key 44), versions 0–1 (KIP-339): changes only the configs listed, each by an operation:
// SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) of comma-separated values for LIST configs (cleanup.policy,
// log.cleanup.policy …), starting from the default when the config is not set.
// As a Kafka 3.9 KRaft broker that is its own controller answers it (ConfigAdminManager.preprocess, then
// ConfigurationControlManager.incrementalAlterConfigs); the checks and their messages are in metadata/config-admin.ts:
// - TOPIC (2): APPEND/SUBTRACT on a non-LIST config is INVALID_CONFIG "Can't APPEND to key x because its type is not
//   LIST."; the resulting set is validated as CreateTopics validates configs (INVALID_CONFIG with Kafka's message),
//   then the topic must exist (UNKNOWN_TOPIC_OR_PARTITION "The topic 'x' does not exist."); persisted in the topic
//   registry, applied to the running partition logs at once. DELETE of a config that is not set is accepted.
// - BROKER (4): "" is the cluster default, "<node.id>" this broker; APPEND/SUBTRACT on a non-LIST config is
//   INVALID_CONFIG "Config value append is not allowed for config key: x"; only dynamic configs may be set
//   (INVALID_REQUEST "Cannot update these configs dynamically: Set(x)"); persisted in the data dir and applied.
// - A resource named twice: INVALID_REQUEST "Each resource must appear at most once." for each; a config named twice
//   INVALID_REQUEST "Error due to duplicate config keys"; a null value outside DELETE INVALID_REQUEST "Null value not
//   supported for : x"; an operation id above 3 INVALID_REQUEST "Unknown operations type N".
// - validateOnly runs every check and changes nothing. Answers are in request order.
// - Deliberate differences: BROKER_LOGGER (8) and CLIENT_METRICS (16) resources are INVALID_REQUEST "Unknown resource
//   type N" (Kafka sets log4j levels and client-metrics subscriptions); APPEND/SUBTRACT of a broker config Kafka does
//   not know is INVALID_CONFIG "Unknown config name: x" (Kafka fails it with UNKNOWN_SERVER_ERROR), and an unknown
//   operation on a topic is INVALID_REQUEST like on a broker (Kafka's controller fails it with UNKNOWN_SERVER_ERROR).
// - ACLs (auth/authorizer.ts; KafkaApis.authorizeAlterConfig): a TOPIC needs ALTER_CONFIGS on the topic
//   (TOPIC_AUTHORIZATION_FAILED), a BROKER ALTER_CONFIGS on the CLUSTER (CLUSTER_AUTHORIZATION_FAILED); a refused
//   resource is not changed and carries a null message.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeIncrementalAlterConfigsResponse,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
} from '../protocol/generated/incremental-alter-configs.js';
import { ConfigAdmin } from '../metadata/config-admin.js';
import { AclOperation, configResourceAuthorizationError } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const incrementalAlterConfigsHandler: ApiHandler<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse> = {
  apiKey: ApiKey.IncrementalAlterConfigs,
  name: 'IncrementalAlterConfigs',
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    const admin = ConfigAdmin.forRegistry(ctx.broker.topics);
    const resources = request.resources.map((r) => ({
      type: r.resourceType,
      name: r.resourceName,
      ops: r.configs.map((c) => ({ name: c.name, op: c.configOperation, value: c.value })),
    }));
    // Resources the principal may not alter are answered without reaching the config code (one authorizer call each).
    const refused = request.resources.map((r) => configResourceAuthorizationError(ctx, AclOperation.ALTER_CONFIGS, r.resourceType, r.resourceName));
    const allowed = await admin.alter(resources.filter((_, i) => refused[i] === 0), false, request.validateOnly);
    let next = 0;
    const outcomes = refused.map((code) => (code === 0 ? allowed[next++]! : { errorCode: code, errorMessage: null }));
    const res = makeIncrementalAlterConfigsResponse();
    res.responses = request.resources.map((r, i) => ({
      errorCode: outcomes[i]!.errorCode,
      errorMessage: outcomes[i]!.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
    }));
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeIncrementalAlterConfigsResponse();
    res.responses = request.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName }));
    return res;
  },
};
