// AlterConfigs (key 33), versions 0–2: replaces the whole config set of each resource (names left out are deleted).
// As a Kafka 3.9 KRaft broker that is its own controller answers it (ConfigAdminManager.preprocess, then
// ConfigurationControlManager.legacyAlterConfigs); the checks and their messages are in metadata/config-admin.ts:
// - TOPIC (2): the new set is validated as CreateTopics validates configs (INVALID_CONFIG "Unknown topic config name:
//   x", "Invalid value -5 for configuration retention.ms: Value must be at least -1" …), then the topic must exist
//   (UNKNOWN_TOPIC_OR_PARTITION "The topic 'x' does not exist."); it is persisted in the topic registry and the
//   running partition logs take it at once.
// - BROKER (4): "" is the cluster default, "<node.id>" this broker; only dynamic configs may be set (INVALID_REQUEST
//   "Cannot update these configs dynamically: Set(x)"); persisted in the data dir and applied (dynamic-broker-config.ts).
// - A resource named twice: INVALID_REQUEST "Each resource must appear at most once." for each; a config named twice
//   INVALID_REQUEST "Error due to duplicate config keys"; a null value INVALID_REQUEST "Null value not supported for : x".
// - validateOnly runs every check and changes nothing. Answers are in request order.
// - Deliberate difference: resource types other than TOPIC and BROKER are INVALID_REQUEST "Unknown resource type N"
//   (Kafka also keeps CLIENT_METRICS subscriptions).
// - ACLs (auth/authorizer.ts; KafkaApis.authorizeAlterConfig): a TOPIC needs ALTER_CONFIGS on the topic
//   (TOPIC_AUTHORIZATION_FAILED), a BROKER ALTER_CONFIGS on the CLUSTER (CLUSTER_AUTHORIZATION_FAILED); a refused
//   resource is not changed and carries a null message.
import { ApiKey } from '../protocol/generated/index.js';
import { makeAlterConfigsResponse, type AlterConfigsRequest, type AlterConfigsResponse } from '../protocol/generated/alter-configs.js';
import { ConfigAdmin } from '../metadata/config-admin.js';
import { OpType } from '../metadata/dynamic-broker-config.js';
import { AclOperation, configResourceAuthorizationError } from '../auth/index.js';
import type { ApiHandler } from './types.js';

export const alterConfigsHandler: ApiHandler<AlterConfigsRequest, AlterConfigsResponse> = {
  apiKey: ApiKey.AlterConfigs,
  name: 'AlterConfigs',
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    const admin = ConfigAdmin.forRegistry(ctx.broker.topics);
    const resources = request.resources.map((r) => ({
      type: r.resourceType,
      name: r.resourceName,
      ops: r.configs.map((c) => ({ name: c.name, op: OpType.SET, value: c.value })),
    }));
    // Resources the principal may not alter are answered without reaching the config code (one authorizer call each).
    const refused = request.resources.map((r) => configResourceAuthorizationError(ctx, AclOperation.ALTER_CONFIGS, r.resourceType, r.resourceName));
    const allowed = await admin.alter(resources.filter((_, i) => refused[i] === 0), true, request.validateOnly);
    let next = 0;
    const outcomes = refused.map((code) => (code === 0 ? allowed[next++]! : { errorCode: code, errorMessage: null }));
    const res = makeAlterConfigsResponse();
    res.responses = request.resources.map((r, i) => ({
      errorCode: outcomes[i]!.errorCode,
      errorMessage: outcomes[i]!.errorMessage,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
    }));
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeAlterConfigsResponse();
    res.responses = request.resources.map((r) => ({ errorCode, errorMessage: null, resourceType: r.resourceType, resourceName: r.resourceName }));
    return res;
  },
};
