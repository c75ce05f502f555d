// DeleteTopics (key 20), versions 0–6.
// - v0–v5 name topics; v6 names them or gives topic ids (KIP-516). Unknown names get UNKNOWN_TOPIC_OR_PARTITION,
//   unknown ids UNKNOWN_TOPIC_ID; a request naming both or neither is INVALID_REQUEST.
// - Deletion removes the topic from the registry first (it disappears from Metadata at once), then its partition
//   directories. Fetch waiters on a deleted partition time out normally.
// - Committed offsets of the topic are removed from every group, as Kafka does, so a topic recreated under the
//   same name starts without stale positions.
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteTopicsResponse, type DeleteTopicsRequest, type DeleteTopicsResponse } from '../protocol/generated/delete-topics.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import type { ApiHandler, RequestContext } from './types.js';

type TopicResult = DeleteTopicsResponse['responses'][number];

const ZERO_UUID = Buffer.alloc(16);

function result(name: string | null, topicId: Buffer, errorCode: number, errorMessage: string | null = null): TopicResult {
  return { name, topicId, errorCode, errorMessage } as TopicResult;
}

async function deleteByName(ctx: RequestContext, name: string): Promise<TopicResult> {
  try {
    const topic = await ctx.broker.topics.deleteTopic(name);
    await ctx.broker.groups.removeOffsetsOfTopic(name);
    return result(name, topic.topicId, ErrorCode.NONE);
  } catch (err) {
    if (err instanceof KafkaError) return result(name, ZERO_UUID, err.errorCode, err.message);
    throw err;
  }
}

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, request) {
    const results: TopicResult[] = [];
    if (ctx.apiVersion < 6) {
      for (const name of request.topicNames ?? []) results.push(await deleteByName(ctx, name));
    } else {
      for (const t of request.topics ?? []) {
        const hasId = t.topicId !== undefined && !t.topicId.equals(ZERO_UUID);
        if ((t.name === null || t.name === undefined) === !hasId) {
          results.push(result(t.name ?? null, t.topicId ?? ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Name or topic id, exactly one of them, must be set'));
        } else if (hasId) {
          const topic = ctx.broker.topics.getById(t.topicId!);
          results.push(topic === undefined ? result(null, t.topicId!, ErrorCode.UNKNOWN_TOPIC_ID) : await deleteByName(ctx, topic.name));
        } else {
          results.push(await deleteByName(ctx, t.name!));
        }
      }
    }
    const res = makeDeleteTopicsResponse();
    res.responses = results;
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeDeleteTopicsResponse();
    res.responses = [
      ...(request.topicNames ?? []).map((name) => result(name, ZERO_UUID, errorCode)),
      ...(request.topics ?? []).map((t) => result(t.name ?? null, t.topicId ?? ZERO_UUID, errorCode)),
    ];
    return res;
  },
};
