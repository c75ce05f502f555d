// Metadata (key 3), versions 0–12.
// - One broker (this one), which is also the controller (kafkajs and kafka-python send admin requests to it).
// - Topics: v0 empty list = all topics; v1+ null = all topics, empty = none. v10+ may name topics by id
//   (UNKNOWN_TOPIC_ID when unknown); topic ids are returned from v10, matching Fetch v13+ which accepts them.
// - Auto-creation (`auto.create.topics.enable`): allowed when the broker allows it and, from v4, the request's
//   AllowAutoTopicCreation is true (below v4 the schema default, true, applies). Unlike Kafka, which answers
//   LEADER_NOT_AVAILABLE while an auto-created topic is still being set up, creation here completes before the
//   answer, so the topic is returned ready.
// - A name Kafka would reject gets INVALID_TOPIC_EXCEPTION; an unknown topic UNKNOWN_TOPIC_OR_PARTITION.
// - Each partition: leader = this broker, leader epoch 0, replicas = isr = [this broker].
// - Authorized operations (v8+): without an authorizer every operation is allowed, as Kafka reports it.
import { ApiKey } from '../protocol/generated/index.js';
import { makeMetadataResponse, type MetadataRequest, type MetadataResponse } from '../protocol/generated/metadata.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { topicNameProblem, type TopicInfo } from '../metadata/topic-registry.js';
import type { ApiHandler, BrokerServices, RequestContext } from './types.js';
import { LEADER_EPOCH } from './partition-lookup.js';

type ResponseTopic = MetadataResponse['topics'][number];

const NO_AUTHORIZED_OPERATIONS = -2147483648;
// AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9,
// DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12, CREATE_TOKENS 13, DESCRIBE_TOKENS 14.
const bits = (...ops: number[]) => ops.reduce((acc, op) => acc | (1 << op), 0);
const ALL_TOPIC_OPERATIONS = bits(3, 4, 5, 6, 7, 8, 10, 11);
const ALL_CLUSTER_OPERATIONS = bits(5, 7, 8, 9, 10, 11, 12, 13, 14);
const ZERO_UUID = Buffer.alloc(16);

function describeTopic(topic: TopicInfo, nodeId: number, includeOperations: boolean): ResponseTopic {
  const partitions: ResponseTopic['partitions'] = [];
  for (let p = 0; p < topic.partitions; p++) {
    partitions.push({
      errorCode: ErrorCode.NONE,
      partitionIndex: p,
      leaderId: nodeId,
      leaderEpoch: LEADER_EPOCH,
      replicaNodes: [nodeId],
      isrNodes: [nodeId],
      offlineReplicas: [],
    });
  }
  return {
    errorCode: ErrorCode.NONE,
    name: topic.name,
    topicId: topic.topicId,
    isInternal: false,
    partitions,
    topicAuthorizedOperations: includeOperations ? ALL_TOPIC_OPERATIONS : NO_AUTHORIZED_OPERATIONS,
  };
}

function topicError(name: string | null, topicId: Buffer, errorCode: number): ResponseTopic {
  return {
    errorCode,
    name,
    topicId,
    isInternal: false,
    partitions: [],
    topicAuthorizedOperations: NO_AUTHORIZED_OPERATIONS,
  } as ResponseTopic;
}

async function resolveByName(ctx: RequestContext, name: string, allowAutoCreate: boolean, includeOps: boolean): Promise<ResponseTopic> {
  const broker: BrokerServices = ctx.broker;
  const existing = broker.topics.get(name);
  if (existing !== undefined) return describeTopic(existing, broker.nodeId, includeOps);
  if (topicNameProblem(name) !== null) return topicError(name, ZERO_UUID, ErrorCode.INVALID_TOPIC_EXCEPTION);
  if (!allowAutoCreate || !broker.config.autoCreateTopics) {
    return topicError(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  }
  try {
    const created = await broker.topics.createTopic(name, broker.config.numPartitions, 1, {});
    ctx.log.info({ topic: name, partitions: created.partitions }, 'auto-created topic');
    return describeTopic(created, broker.nodeId, includeOps);
  } catch (err) {
    if (err instanceof KafkaError && err.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS) {
      // Created concurrently by another request.
      const topic = broker.topics.get(name);
      if (topic !== undefined) return describeTopic(topic, broker.nodeId, includeOps);
    }
    if (err instanceof KafkaError) return topicError(name, ZERO_UUID, err.errorCode);
    throw err;
  }
}

export const metadataHandler: ApiHandler<MetadataRequest, MetadataResponse> = {
  apiKey: ApiKey.Metadata,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  async handle(ctx, request) {
    const broker = ctx.broker;
    const version = ctx.apiVersion;
    const includeOps = request.includeTopicAuthorizedOperations === true;
    const allowAutoCreate = version < 4 || request.allowAutoTopicCreation !== false;
    const res = makeMetadataResponse();
    const endpoint = broker.advertisedEndpoint();
    res.brokers = [{ nodeId: broker.nodeId, host: endpoint.host, port: endpoint.port, rack: null }];
    res.clusterId = broker.clusterId;
    res.controllerId = broker.nodeId;
    if (request.includeClusterAuthorizedOperations === true) res.clusterAuthorizedOperations = ALL_CLUSTER_OPERATIONS;

    const allTopics = request.topics === null || (version === 0 && request.topics.length === 0);
    if (allTopics) {
      res.topics = broker.topics.list().map((t) => describeTopic(t, broker.nodeId, includeOps));
      return res;
    }
    const topics: ResponseTopic[] = [];
    for (const requested of request.topics!) {
      const name = requested.name ?? null;
      if (name === null) {
        const topicId = requested.topicId ?? ZERO_UUID;
        const topic = broker.topics.getById(topicId);
        topics.push(topic === undefined ? topicError(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID) : describeTopic(topic, broker.nodeId, includeOps));
      } else {
        topics.push(await resolveByName(ctx, name, allowAutoCreate, includeOps));
      }
    }
    res.topics = topics;
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeMetadataResponse();
    res.topics = (request.topics ?? []).map((t) => topicError(t.name ?? null, t.topicId ?? ZERO_UUID, errorCode));
    return res;
  },
};
