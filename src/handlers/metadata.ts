// Metadata (key 3), versions 0–13.
// - One broker (this one), which is also the controller (kafkajs and kafka-python send admin requests to it). Its
//   host and port are the advertised endpoint of the listener the request came through (Kafka answers each
//   listener's clients with that listener's endpoints).
// - Topics: v0 empty list = all topics; v1+ null = all topics, empty = none. A topic named twice is answered once
//   (Kafka collects the names into a set); topics that exist come first, then the missing ones, each group in
//   request order (Kafka's order for up to four names). v10+ returns topic ids; v12 may name topics by id, and
//   then only the ids count, as in Kafka: unknown ids first (UNKNOWN_TOPIC_ID), then the topics found.
// - v10/v11 cannot carry topic ids: an entry with a null name or a non-zero id makes the whole answer INVALID_REQUEST
//   (KafkaApis.handleTopicMetadataRequest throws, and MetadataRequest.getErrorResponse gives every requested topic
//   the code, a null name as "", and no brokers).
// - v13 (KIP-1102) adds a top-level ErrorCode so that a broker can answer REBOOTSTRAP_REQUIRED, telling the client to
//   go back to its bootstrap servers; this broker always answers NONE there (it never needs the client to
//   rebootstrap), and every other answer is v12's. librdkafka 2.15 and franz-go take v13 when offered.
// - Auto-creation (`auto.create.topics.enable`): allowed when the broker allows it and, from v4, the request's
//   AllowAutoTopicCreation is true (below v4 the schema default, true, applies). Unlike Kafka, which answers
//   UNKNOWN_TOPIC_OR_PARTITION while an auto-created topic is still being set up, creation here completes before the
//   answer, so the topic is returned ready. A creation the controller refuses (e.g. a '.'/'_' collision) is
//   UNKNOWN_TOPIC_OR_PARTITION, the answer Kafka gives whatever the controller decides.
// - Reserved names: `__consumer_offsets` and `__transaction_state` belong to the broker's coordinators; Kafka creates
//   them with their own configs, never as a client's ordinary topic. Until they hold partitions here (the
//   exactly-once issue), a Metadata request for one answers UNKNOWN_TOPIC_OR_PARTITION with isInternal = true, which
//   is Kafka's answer while it creates one, and creates nothing. `__cluster_metadata` is never a topic
//   (UNKNOWN_TOPIC_OR_PARTITION). Other names starting with `__` are ordinary topics, as in Kafka.
// - isInternal is Kafka's Topic.isInternal, by name: `__consumer_offsets`, `__transaction_state`,
//   `__share_group_state`, for existing and missing topics alike (false for unknown ids).
// - A name Kafka would reject gets INVALID_TOPIC_EXCEPTION; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
// - Each partition: leader = this broker, leader epoch 0, replicas = isr = [this broker]. In a cluster (cluster/):
//   every live broker with its endpoint for the request's listener, the controller's id, and each partition's
//   leader, epoch, replicas, ISR and offline replicas from the cluster metadata; a partition without a leader
//   answers LEADER_NOT_AVAILABLE (leader -1) as Kafka does (handlers/cluster-view.ts).
// - ACLs (auth/authorizer.ts; KafkaApis.handleTopicMetadataRequest): only topics the principal may DESCRIBE are
//   answered. All topics: the others are left out. By name: each one not allowed answers TOPIC_AUTHORIZATION_FAILED
//   (zero id, isInternal false, whether it exists or not, so its existence is not disclosed). By id: TOPIC_
//   AUTHORIZATION_FAILED with a null name and the id. A missing topic that would be auto-created needs CREATE on
//   the CLUSTER or on the topic, otherwise TOPIC_AUTHORIZATION_FAILED. Order: unknown ids, the answered topics,
//   the missing ones, those refused CREATE, those refused DESCRIBE.
// - Authorized operations (AuthHelper.authorizedOperations over AclEntry.supportedOperations): without an authorizer
//   every supported operation. Cluster (v8–v10, when asked): the allowed CLUSTER operations, 0 without DESCRIBE on
//   the cluster (8096 = all). Topic (v8+, when asked): the allowed TOPIC operations (3576 = all) on every name-based
//   entry answered (found, missing or invalid); entries refused by the authorizer and unknown ids keep the
//   "not requested" value.
import { ApiKey } from '../protocol/generated/index.js';
import { makeMetadataResponse, type MetadataRequest, type MetadataResponse } from '../protocol/generated/metadata.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { CLUSTER_METADATA_TOPIC_NAME, isBrokerOwnedTopic, isInternalTopic, topicNameProblem, type TopicInfo } from '../metadata/topic-registry.js';
import type { ApiHandler, BrokerServices, RequestContext } from './types.js';
import { controllerIdOf, placementView, reportedBrokers, reportedPartition } from './cluster-view.js';
import { NO_AUTHORIZED_OPERATIONS } from './acl-operations.js';
import { AclOperation, CLUSTER_NAME, ResourceType, authorize, authorizeCluster, authorizedOperations } from '../auth/index.js';

type ResponseTopic = MetadataResponse['topics'][number];

const ZERO_UUID = Buffer.alloc(16);

/** The topic's authorized-operations field: the allowed operations when asked (ctx given), else "not requested". */
function topicOperations(ctx: RequestContext | undefined, name: string | null): number {
  return ctx === undefined || name === null ? NO_AUTHORIZED_OPERATIONS : authorizedOperations(ctx, ResourceType.TOPIC, name);
}

function describeTopic(topic: TopicInfo, broker: BrokerServices, opsCtx: RequestContext | undefined): ResponseTopic {
  const partitions: ResponseTopic['partitions'] = [];
  for (let p = 0; p < topic.partitions; p++) {
    const reported = reportedPartition(broker, topic, p);
    // Kafka answers LEADER_NOT_AVAILABLE for a partition without a leader (MetadataCache), retriable.
    const errorCode = reported.leaderId < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : ErrorCode.NONE;
    partitions.push({ errorCode, partitionIndex: p, ...reported });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: isInternalTopic(topic.name),
    partitions,
    topicAuthorizedOperations: topicOperations(opsCtx, topic.name),
  };
}

function topicError(name: string | null, topicId: Buffer, errorCode: number, opsCtx?: RequestContext): ResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: name !== null && isInternalTopic(name),
    partitions: [],
    topicAuthorizedOperations: topicOperations(opsCtx, name),
  } as ResponseTopic;
}

/** A topic that does not exist: auto-created when allowed, otherwise the error Kafka answers. */
async function resolveMissing(ctx: RequestContext, name: string, allowAutoCreate: boolean, includeOps: RequestContext | undefined): Promise<ResponseTopic> {
  const broker: BrokerServices = ctx.broker;
  if (topicNameProblem(name) !== null) return topicError(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION, includeOps);
  const reserved = isBrokerOwnedTopic(name) || name === CLUSTER_METADATA_TOPIC_NAME;
  if (reserved || !allowAutoCreate || !broker.config.autoCreateTopics) {
    return topicError(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, includeOps);
  }
  try {
    const creation = { name, numPartitions: -1, replicationFactor: -1, assignments: [], configs: {} };
    const created = await broker.topics.createTopic(creation, placementView(broker));
    ctx.log.info({ topic: name, partitions: created.partitions }, 'auto-created topic');
    return describeTopic(created, broker, includeOps);
  } catch (err) {
    if (!(err instanceof KafkaError)) throw err;
    // Created concurrently by another request.
    const topic = err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS ? broker.topics.get(name) : undefined;
    if (topic !== undefined) return describeTopic(topic, broker, includeOps);
    ctx.log.debug({ topic: name, errorCode: err.errorCode, reason: err.message }, 'auto-creation refused');
    return topicError(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, includeOps);
  }
}

/** v10/v11 carry a nullable name and a topic id that Kafka refuses to use before v12. */
function usesTopicIdsBeforeV12(request: MetadataRequest, version: number): boolean {
  if (version < 10 || version >= 12 || request.topics === null) return false;
  return request.topics.some((t) => t.name === null || (t.topicId !== undefined && !t.topicId.equals(ZERO_UUID)));
}

function wholeRequestError(request: MetadataRequest, errorCode: number): MetadataResponse {
  const res = makeMetadataResponse();
  res.topics = (request.topics ?? []).map((t) => ({
    ...topicError(t.name ?? '', t.topicId ?? ZERO_UUID, errorCode),
    isInternal: false,
  }));
  return res;
}

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 13,
  async handle(ctx, request) {
    const broker = ctx.broker;
    const version = ctx.apiVersion;
    const allTopics = request.topics === null || (version === 0 && request.topics.length === 0);
    if (!allTopics && usesTopicIdsBeforeV12(request, version)) return wholeRequestError(request, ErrorCode.INVALID_REQUEST);

    // The context authorized operations are computed for, when the request asks for them.
    const includeOps = version >= 8 && request.includeTopicAuthorizedOperations === true ? ctx : undefined;
    const allowAutoCreate = version < 4 || request.allowAutoTopicCreation !== false;
    const res = makeMetadataResponse();
    res.brokers = reportedBrokers(ctx);
    res.clusterId = broker.clusterId;
    res.controllerId = controllerIdOf(broker);
    if (version >= 8 && version <= 10 && request.includeClusterAuthorizedOperations === true) {
      res.clusterAuthorizedOperations = authorizeCluster(ctx, AclOperation.DESCRIBE) ? authorizedOperations(ctx, ResourceType.CLUSTER, CLUSTER_NAME) : 0;
    }

    if (allTopics) {
      res.topics = broker.topics
        .list()
        .filter((t) => authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name, { logIfDenied: false }))
        .map((t) => describeTopic(t, broker, includeOps));
      return res;
    }
    const requested = request.topics!;
    const found: ResponseTopic[] = [];
    const missing: ResponseTopic[] = [];
    const ids = new Map<string, Buffer>();
    for (const t of requested) {
      if (t.topicId !== undefined && !t.topicId.equals(ZERO_UUID)) ids.set(t.topicId.toString('hex'), t.topicId);
    }
    if (ids.size > 0) {
      // Names are ignored once any id is given (KafkaApis: useTopicId).
      const seen = new Set<string>();
      const refused: ResponseTopic[] = [];
      for (const topicId of ids.values()) {
        const topic = broker.topics.getById(topicId);
        if (topic === undefined) missing.push(topicError(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID));
        else if (!seen.has(topic.name)) {
          seen.add(topic.name);
          if (authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topic.name)) found.push(describeTopic(topic, broker, includeOps));
          else refused.push(topicError(null, topic.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
        }
      }
      res.topics = [...missing, ...found, ...refused];
      return res;
    }
    const names = new Set<string>();
    for (const t of requested) {
      if (t.name === null) missing.push(topicError(null, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_ID));
      else names.add(t.name);
    }
    const refusedCreate: ResponseTopic[] = [];
    const refusedDescribe: ResponseTopic[] = [];
    const autoCreates = allowAutoCreate && broker.config.autoCreateTopics;
    for (const name of names) {
      if (!authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, name)) {
        refusedDescribe.push({ ...topicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED), isInternal: false });
        continue;
      }
      const topic = broker.topics.get(name);
      if (topic !== undefined) found.push(describeTopic(topic, broker, includeOps));
      else if (autoCreates && !authorizeCluster(ctx, AclOperation.CREATE) && !authorize(ctx, AclOperation.CREATE, ResourceType.TOPIC, name)) {
        refusedCreate.push(topicError(name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED));
      } else missing.push(await resolveMissing(ctx, name, allowAutoCreate, includeOps));
    }
    res.topics = [...found, ...missing, ...refusedCreate, ...refusedDescribe];
    return res;
  },
  errorResponse(request, errorCode) {
    return wholeRequestError(request, errorCode);
  },
};
