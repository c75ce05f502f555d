// CreateTopics (key 19), versions 0–7.
// Kafka 3.9's controller path (ControllerApis.createTopics → ReplicationControlManager.createTopics), in its order:
// - A name given more than once gets one entry, INVALID_REQUEST "Duplicate topic name.", and nothing is created
//   for it. `__cluster_metadata` is INVALID_REQUEST "Creation of internal topic __cluster_metadata is prohibited.".
// - Then per topic: name (INVALID_TOPIC_EXCEPTION "Topic name is invalid: …"), '.'/'_' collision with an existing
//   topic (INVALID_TOPIC_EXCEPTION "Topic 'a.b' collides with existing topic: a_b"), TOPIC_ALREADY_EXISTS, configs
//   (INVALID_CONFIG with Kafka's ConfigDef messages, see metadata/topic-config.ts), then the assignment or counts.
// - `__consumer_offsets` and `__transaction_state` are the broker's own topics: TOPIC_ALREADY_EXISTS, and a name
//   colliding with them is INVALID_TOPIC_EXCEPTION, as on a Kafka cluster whose coordinators run. Other `__` names are
//   ordinary, as in Kafka.
// - NumPartitions / ReplicationFactor of -1 take the broker defaults (`num.partitions`, replication 1; KIP-464);
//   0 or below -1 is INVALID_PARTITIONS / INVALID_REPLICATION_FACTOR; a replication factor above the one
//   registered broker is INVALID_REPLICATION_FACTOR (Kafka's placer message).
// - Manual assignments fix the partition count and need NumPartitions and ReplicationFactor -1 (INVALID_REQUEST
//   otherwise). Each partition's replicas must be registered brokers (only this one, `node.id`), without repeats,
//   the same number for every partition, indexes 0..n-1 each once: INVALID_REPLICA_ASSIGNMENT with Kafka's message.
// - validateOnly (v1+) runs every check and creates nothing.
// - v5+ answers carry the partition count, replication factor and the topic's explicitly set configs as sent,
//   sorted by name (Kafka also lists every default; those arrive with DescribeConfigs). v7 carries the topic id.
// - Partition limits: more than 100,000 partitions in one topic, or more than `max.broker.partitions` on the broker
//   (KIP-578's name; Kafka 3.9 has no such limit), is INVALID_PARTITIONS with a message naming the limit, before
//   anything is created.
// - The topics are committed (metadata file written, visible to other requests) together, then their partition logs
//   are created outside the registry's serialised section, so other CreateTopics/DeleteTopics/Metadata requests are
//   not held up; the answer is sent once every log exists (Kafka answers once the controller commits; see
//   topic-registry.ts for what other clients see meanwhile).
// - ACLs (auth/authorizer.ts; ControllerApis.createTopics): a topic needs CREATE on the CLUSTER or on the topic,
//   otherwise TOPIC_AUTHORIZATION_FAILED "Authorization failed." and it is not created (nor validated). A created
//   topic the principal may not DESCRIBE_CONFIGS answers without its configs and with topicConfigErrorCode
//   TOPIC_AUTHORIZATION_FAILED (ReplicationControlManager).
// - Controller mutation quota (KIP-599, quota/controller-mutation-quota.ts): with a controller_mutation_rate for the
//   client, the topics that pass every check draw their partition counts from it, in request order; from v6 a topic
//   drawn while the quota is exhausted gets THROTTLING_QUOTA_EXCEEDED "The throttling quota has been exceeded." and
//   is not created (older versions create it and are only throttled). throttle_time_ms carries the throttle time.
//   validateOnly draws nothing. To know which topics pass, the request is first validated (validateOnly), then the
//   admitted topics are created: the checks run twice, only for clients with such a quota.
// - Deliberate difference: results are in request order (Kafka appends the duplicate and `__cluster_metadata`
//   entries after the others); clients match results by name.
import { ApiKey } from '../protocol/generated/index.js';
import { makeCreateTopicsResponse, type CreateTopicsRequest, type CreateTopicsResponse } from '../protocol/generated/create-topics.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { CLUSTER_METADATA_TOPIC_NAME, type TopicCreation, type TopicInfo } from '../metadata/topic-registry.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import { STRICT_SINCE_VERSION, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/index.js';
import type { ApiHandler, BrokerServices } from './types.js';
import { placementView, reportedPartition } from './cluster-view.js';

type TopicResult = CreateTopicsResponse['topics'][number];
type CreatableTopic = CreateTopicsRequest['topics'][number];

const ZERO_UUID = Buffer.alloc(16);
const DYNAMIC_TOPIC_CONFIG = 1;

function failure(name: string, errorCode: number, errorMessage: string | null): TopicResult {
  return {
    name,
    topicId: ZERO_UUID,
    errorCode,
    errorMessage,
    topicConfigErrorCode: 0,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  } as TopicResult;
}

/** The request entry as the registry takes it. A config named twice: the last value wins (Kafka collects them into
 * a map), but a null one is still refused. */
function toCreation(t: CreatableTopic): TopicCreation {
  const configs: Record<string, string | null> = {};
  for (const c of t.configs) if (configs[c.name] !== null) configs[c.name] = c.value;
  return { name: t.name, numPartitions: t.numPartitions, replicationFactor: t.replicationFactor, assignments: t.assignments, configs };
}

function success(t: CreatableTopic, topic: TopicInfo, replicationFactor: number): TopicResult {
  return {
    name: t.name,
    topicId: topic.topicId,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    topicConfigErrorCode: 0,
    numPartitions: topic.partitions,
    replicationFactor,
    // Sorted by name, as Kafka lists them.
    configs: Object.entries(topic.configs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => ({
      name,
      value,
      readOnly: false,
      configSource: DYNAMIC_TOPIC_CONFIG,
      isSensitive: false,
    })),
  } as TopicResult;
}

/** The topic's replication factor as created: 1 on a single broker, its first partition's replica count in a cluster. */
function replicationFactorOf(broker: BrokerServices, topic: TopicInfo): number {
  return broker.cluster === undefined ? 1 : Math.max(1, reportedPartition(broker, topic, 0).replicaNodes.length);
}

export const createTopicsHandler: ApiHandler<CreateTopicsRequest, CreateTopicsResponse> = {
  apiKey: ApiKey.CreateTopics,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  async handle(ctx, request) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const validateOnly = request.validateOnly === true;
    // CREATE on the cluster covers every topic; otherwise CREATE on each topic (`__cluster_metadata` is refused later).
    const clusterCreate = authorizeCluster(ctx, AclOperation.CREATE, { logIfDenied: false });
    const mayCreate = (name: string) => clusterCreate || name === CLUSTER_METADATA_TOPIC_NAME || authorize(ctx, AclOperation.CREATE, ResourceType.TOPIC, name);
    const unique = request.topics.filter((t) => counts.get(t.name)! === 1 && mayCreate(t.name));
    const cluster = placementView(ctx.broker);
    const quota = ctx.broker.quotas.controllerMutation.newQuotaFor(ctx.principal.name, ctx.clientId ?? '', ctx.apiVersion >= STRICT_SINCE_VERSION.CreateTopics);
    let admitted = unique;
    const throttled = new Set<string>();
    if (quota.bounded && !validateOnly) {
      const checked = await ctx.broker.topics.createTopics(unique.map(toCreation), cluster, true);
      // A topic that fails a check draws nothing; the creation below answers its error again.
      admitted = unique.filter((t, i) => {
        const outcome = checked[i]!;
        if (outcome instanceof KafkaError || quota.tryRecord(outcome.partitions)) return true;
        throttled.add(t.name);
        return false;
      });
    }
    // One registry call for the whole request: one metadata-file write, then the partition logs.
    const created = await ctx.broker.topics.createTopics(admitted.map(toCreation), cluster, validateOnly);
    const byName = new Map(admitted.map((t, i) => [t.name, created[i]!]));
    const results: TopicResult[] = [];
    const answeredDuplicates = new Set<string>();
    for (const t of request.topics) {
      const outcome = byName.get(t.name);
      if (throttled.has(t.name)) {
        results.push(failure(t.name, ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE));
      } else if (outcome !== undefined) {
        if (outcome instanceof KafkaError) results.push(failure(t.name, outcome.errorCode, outcome.message));
        else if (authorize(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, t.name)) results.push(success(t, outcome, replicationFactorOf(ctx.broker, outcome)));
        else results.push({ ...success(t, outcome, replicationFactorOf(ctx.broker, outcome)), configs: null, topicConfigErrorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED } as TopicResult);
      } else if (counts.get(t.name)! === 1) {
        results.push(failure(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.'));
      } else if (!answeredDuplicates.has(t.name)) {
        answeredDuplicates.add(t.name);
        results.push(failure(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      }
    }
    const res = makeCreateTopicsResponse();
    res.topics = results;
    res.throttleTimeMs = quota.throttleTimeMs();
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeCreateTopicsResponse();
    res.topics = request.topics.map((t) => failure(t.name, errorCode, null));
    return res;
  },
};
