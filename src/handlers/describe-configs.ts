// DescribeConfigs (key 32), versions 0–4.
// As a Kafka 3.9 KRaft broker answers it (ConfigHelper.describeConfigs); the decisions are in metadata/config-admin.ts:
// - TOPIC (2): every topic config Kafka 3.9 reports, with the topic's own value (source DYNAMIC_TOPIC_CONFIG) or the
//   broker's effective fallback (retention.ms ← log.retention.ms|minutes|hours, segment.bytes ← log.segment.bytes …)
//   with that fallback's source (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG,
//   DEFAULT_CONFIG). Never read-only or sensitive. Unknown topic: UNKNOWN_TOPIC_OR_PARTITION, no configs.
// - BROKER (4): "<node.id>" reports every broker config (dynamic ones not read-only); "" (the cluster default) only
//   what AlterConfigs set there. Another id: INVALID_REQUEST "Unexpected broker id, expected 1 or empty string, but
//   received 2"; not a number: INVALID_REQUEST "Broker id must be an integer, but it is: x".
// - configurationKeys null or empty: all configs; names the resource does not have are left out.
// - Synonyms (v1+) only when includeSynonyms; configType and documentation (v3+) documentation only when
//   includeDocumentation. Values of sensitive configs (custom broker configs, of unknown type) are null.
// - Deliberate differences: v0 sets isDefault for DEFAULT_CONFIG entries (Kafka 3.9 never sets it: it is always
//   false); BROKER_LOGGER (8) and CLIENT_METRICS (16) resources are INVALID_REQUEST "Unsupported resource type: 8"
//   (Kafka lists its log4j loggers and client-metrics subscriptions). Configs are listed in Kafka's definition order
//   (Kafka's order is a hash map's).
// - ACLs (auth/authorizer.ts; ConfigHelper.handleDescribeConfigsRequest): a TOPIC needs DESCRIBE_CONFIGS on the topic
//   (TOPIC_AUTHORIZATION_FAILED), a BROKER DESCRIBE_CONFIGS on the CLUSTER (CLUSTER_AUTHORIZATION_FAILED); a refused
//   resource carries no configs and a null message.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeDescribeConfigsResponse,
  type DescribeConfigsRequest,
  type DescribeConfigsResponse,
} from '../protocol/generated/describe-configs.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ConfigAdmin } from '../metadata/config-admin.js';
import { CONFIG_TYPE_ID, ConfigSource } from '../metadata/config-catalog.js';
import { AclOperation, configResourceAuthorizationError } from '../auth/index.js';
import type { ApiHandler } from './types.js';

type Result = DescribeConfigsResponse['results'][number];
type Entry = Result['configs'][number];

export const describeConfigsHandler: ApiHandler<DescribeConfigsRequest, DescribeConfigsResponse> = {
  apiKey: ApiKey.DescribeConfigs,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, request) {
    const admin = ConfigAdmin.forRegistry(ctx.broker.topics);
    const version = ctx.apiVersion;
    const includeSynonyms = version >= 1 && request.includeSynonyms === true;
    const includeDocumentation = version >= 3 && request.includeDocumentation === true;
    const res = makeDescribeConfigsResponse();
    res.results = request.resources.map((resource): Result => {
      const refused = configResourceAuthorizationError(ctx, AclOperation.DESCRIBE_CONFIGS, resource.resourceType, resource.resourceName);
      if (refused !== ErrorCode.NONE) return { errorCode: refused, errorMessage: null, resourceType: resource.resourceType, resourceName: resource.resourceName, configs: [] };
      const outcome = admin.describe({ type: resource.resourceType, name: resource.resourceName }, resource.configurationKeys);
      return {
        errorCode: outcome.errorCode,
        errorMessage: outcome.errorMessage,
        resourceType: resource.resourceType,
        resourceName: resource.resourceName,
        configs: outcome.configs.map(
          (c): Entry => {
            const entry: Entry = { name: c.name, value: c.value, readOnly: c.readOnly, isSensitive: c.isSensitive };
            // Each field only at the versions that carry it (the codec refuses a non-default value elsewhere).
            if (version === 0) entry.isDefault = c.source === ConfigSource.DEFAULT_CONFIG;
            if (version >= 1) {
              entry.configSource = c.source;
              entry.synonyms = includeSynonyms ? c.synonyms.map((s) => ({ name: s.name, value: s.value, source: s.source })) : [];
            }
            if (version >= 3) {
              entry.configType = CONFIG_TYPE_ID[c.type];
              entry.documentation = includeDocumentation ? c.documentation : null;
            }
            return entry;
          },
        ),
      };
    });
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDescribeConfigsResponse();
    res.results = request.resources.map((r) => ({
      errorCode,
      errorMessage: null,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: [],
    }));
    return res;
  },
};
