// CreateTopics (key 19), versions 0–7.
// - NumPartitions / ReplicationFactor of -1 take the broker defaults (`num.partitions`, replication 1; KIP-464).
// - Manual assignments are accepted when every partition lists exactly this broker; they fix the partition count
//   and may not be combined with NumPartitions/ReplicationFactor other than -1 (INVALID_REQUEST), as in Kafka.
//   Assignments naming other brokers get INVALID_REPLICA_ASSIGNMENT.
// - Replication factor above 1 is INVALID_REPLICATION_FACTOR (one broker), partitions < 1 INVALID_PARTITIONS,
//   unknown or invalid configs INVALID_CONFIG, bad names INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS.
// - A topic named twice in one request gets INVALID_REQUEST for every occurrence.
// - validateOnly (v1+) runs every check and creates nothing.
// - v5+ answers carry the partition count, replication factor and the topic's explicitly set configs
//   (Kafka also lists every default; those arrive with DescribeConfigs). v7 carries the topic id.
import { ApiKey } from '../protocol/generated/index.js';
import { makeCreateTopicsResponse, type CreateTopicsRequest, type CreateTopicsResponse } from '../protocol/generated/create-topics.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import type { ApiHandler, RequestContext } from './types.js';

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

function partitionsAndReplication(ctx: RequestContext, t: CreatableTopic): { partitions: number; replicationFactor: number } {
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.');
    }
    const indexes = t.assignments.map((a) => a.partitionIndex).sort((a, b) => a - b);
    indexes.forEach((index, i) => {
      if (index !== i) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'Partitions should be a consecutive 0-based integer sequence');
    });
    for (const a of t.assignments) {
      if (a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.broker.nodeId) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment for partition ${a.partitionIndex} names unknown brokers ${JSON.stringify(a.brokerIds)}`);
      }
    }
    return { partitions: t.assignments.length, replicationFactor: 1 };
  }
  return {
    partitions: t.numPartitions === -1 ? ctx.broker.config.numPartitions : t.numPartitions,
    replicationFactor: t.replicationFactor === -1 ? 1 : t.replicationFactor,
  };
}

async function createOne(ctx: RequestContext, t: CreatableTopic, validateOnly: boolean): Promise<TopicResult> {
  try {
    const { partitions, replicationFactor } = partitionsAndReplication(ctx, t);
    const configs: Record<string, string | null> = {};
    for (const c of t.configs) configs[c.name] = c.value;
    const topic = await ctx.broker.topics.createTopic(t.name, partitions, replicationFactor, configs, validateOnly);
    return {
      name: t.name,
      topicId: topic.topicId,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      topicConfigErrorCode: 0,
      numPartitions: topic.partitions,
      replicationFactor: 1,
      configs: Object.entries(topic.configs).map(([name, value]) => ({
        name,
        value,
        readOnly: false,
        configSource: DYNAMIC_TOPIC_CONFIG,
        isSensitive: false,
      })),
    } as TopicResult;
  } catch (err) {
    if (err instanceof KafkaError) return failure(t.name, err.errorCode, err.message);
    throw err;
  }
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
    const results: TopicResult[] = [];
    for (const t of request.topics) {
      if (counts.get(t.name)! > 1) {
        results.push(failure(t.name, ErrorCode.INVALID_REQUEST, 'Create topics request contains multiple entries for this topic.'));
      } else {
        results.push(await createOne(ctx, t, validateOnly));
      }
    }
    const res = makeCreateTopicsResponse();
    res.topics = results;
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeCreateTopicsResponse();
    res.topics = request.topics.map((t) => failure(t.name, errorCode, null));
    return res;
  },
};
