// DeleteTopics (key 20), versions 0–6.
// Kafka 3.9's controller path (ControllerApis.deleteTopics), as one answer per topic:
// - v0–v5 name topics; v6 names them or gives topic ids (KIP-516). An entry with both a name and an id is
//   INVALID_REQUEST "You may not specify both topic name and topic id.", one with neither INVALID_REQUEST
//   "Neither topic name nor id were specified.".
// - A name given twice gets one INVALID_REQUEST "Duplicate topic name." entry (topic id zero), an id given twice one
//   INVALID_REQUEST "Duplicate topic id." entry (name null); such a topic is not deleted. A name that resolves to an id
//   also given by id gets INVALID_REQUEST "The provided topic name maps to an ID that was already supplied." and the
//   topic is not deleted either.
// - Unknown names get UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID, with Kafka's default messages.
// - Deletion removes the topic from the registry first (it disappears from Metadata at once), then its partition
//   directories. Fetch waiters on a deleted partition time out normally.
// - Committed offsets of the topic are removed from every group, as Kafka does, so a topic recreated under the
//   same name starts without stale positions.
// - ACLs (auth/authorizer.ts; ControllerApis.deleteTopics): DELETE on the CLUSTER allows every topic; otherwise a
//   topic needs DELETE on it. By name: not allowed to DESCRIBE it → TOPIC_AUTHORIZATION_FAILED before its existence
//   is checked; allowed to describe but not delete → TOPIC_AUTHORIZATION_FAILED. By id: not allowed to delete →
//   TOPIC_AUTHORIZATION_FAILED, with the name only when it may be described.
// - Controller mutation quota (KIP-599, quota/controller-mutation-quota.ts): with a controller_mutation_rate for the
//   client, each topic about to be deleted draws its partition count from it, in request order; from v5 a topic
//   drawn while the quota is exhausted gets THROTTLING_QUOTA_EXCEEDED "The throttling quota has been exceeded." and
//   is kept (v0-v4 delete it and are only throttled). throttle_time_ms (v1+) carries the throttle time.
// - Deliberate difference: answers are in request order; Kafka shuffles them (so that positions reveal nothing).
import { ApiKey } from '../protocol/generated/index.js';
import { makeDeleteTopicsResponse, type DeleteTopicsRequest, type DeleteTopicsResponse } from '../protocol/generated/delete-topics.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { AclOperation, ResourceType, authorize, authorizeCluster } from '../auth/index.js';
import { STRICT_SINCE_VERSION, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/index.js';
import type { ApiHandler, RequestContext } from './types.js';

type TopicResult = DeleteTopicsResponse['responses'][number];

const ZERO_UUID = Buffer.alloc(16);
const UNKNOWN_TOPIC_ID_MESSAGE = 'This server does not host this topic ID.';

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

/** One answer slot per distinct name or id, in the order of first appearance. */
type Slot =
  | { kind: 'answered'; result: TopicResult }
  | { kind: 'name'; name: string; duplicate: boolean }
  | { kind: 'id'; topicId: Buffer; duplicate: boolean };

function collectSlots(ctx: RequestContext, request: DeleteTopicsRequest): Slot[] {
  const slots: Slot[] = [];
  const byName = new Map<string, Slot & { kind: 'name' }>();
  const byId = new Map<string, Slot & { kind: 'id' }>();
  const addName = (name: string) => {
    const seen = byName.get(name);
    if (seen !== undefined) seen.duplicate = true;
    else {
      const slot = { kind: 'name' as const, name, duplicate: false };
      byName.set(name, slot);
      slots.push(slot);
    }
  };
  if (ctx.apiVersion < 6) {
    for (const name of request.topicNames ?? []) addName(name);
    return slots;
  }
  for (const t of request.topics ?? []) {
    const name = t.name ?? null;
    const topicId = t.topicId ?? ZERO_UUID;
    const hasId = !topicId.equals(ZERO_UUID);
    if (name === null && !hasId) {
      slots.push({ kind: 'answered', result: result(null, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Neither topic name nor id were specified.') });
    } else if (name !== null && hasId) {
      slots.push({ kind: 'answered', result: result(name, topicId, ErrorCode.INVALID_REQUEST, 'You may not specify both topic name and topic id.') });
    } else if (name !== null) {
      addName(name);
    } else {
      const key = topicId.toString('hex');
      const seen = byId.get(key);
      if (seen !== undefined) seen.duplicate = true;
      else {
        const slot = { kind: 'id' as const, topicId, duplicate: false };
        byId.set(key, slot);
        slots.push(slot);
      }
    }
  }
  return slots;
}

export const deleteTopicsHandler: ApiHandler<DeleteTopicsRequest, DeleteTopicsResponse> = {
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, request) {
    const slots = collectSlots(ctx, request);
    // DELETE on the cluster allows describing and deleting every topic.
    const clusterDelete = authorizeCluster(ctx, AclOperation.DELETE, { logIfDenied: false });
    const may = (operation: number, name: string) => clusterDelete || authorize(ctx, operation, ResourceType.TOPIC, name);
    // Resolve every valid entry to a topic before deleting anything, so that a name and an id naming the same
    // topic are caught (ControllerApis resolves ids, then names, then deletes).
    const answers: Array<TopicResult | null> = new Array(slots.length).fill(null);
    const toDelete = new Map<string, { slot: number; name: string }>();
    const conflicted = new Set<string>();
    slots.forEach((slot, i) => {
      if (slot.kind === 'answered') answers[i] = slot.result;
      else if (slot.kind === 'id') {
        if (slot.duplicate) {
          answers[i] = result(null, slot.topicId, ErrorCode.INVALID_REQUEST, 'Duplicate topic id.');
          conflicted.add(slot.topicId.toString('hex'));
          return;
        }
        const topic = ctx.broker.topics.getById(slot.topicId);
        if (topic === undefined) answers[i] = result(null, slot.topicId, ErrorCode.UNKNOWN_TOPIC_ID, UNKNOWN_TOPIC_ID_MESSAGE);
        else if (!may(AclOperation.DELETE, topic.name)) {
          answers[i] = result(may(AclOperation.DESCRIBE, topic.name) ? topic.name : null, slot.topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        } else toDelete.set(slot.topicId.toString('hex'), { slot: i, name: topic.name });
      }
    });
    slots.forEach((slot, i) => {
      if (slot.kind !== 'name') return;
      if (slot.duplicate) {
        answers[i] = result(slot.name, ZERO_UUID, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.');
        return;
      }
      if (!may(AclOperation.DESCRIBE, slot.name)) {
        answers[i] = result(slot.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        return;
      }
      const topic = ctx.broker.topics.get(slot.name);
      if (topic === undefined) {
        answers[i] = result(slot.name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
        return;
      }
      if (!may(AclOperation.DELETE, slot.name)) {
        answers[i] = result(slot.name, ZERO_UUID, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
        return;
      }
      const key = topic.topicId.toString('hex');
      if (conflicted.has(key) || toDelete.has(key)) {
        // The id entry for this topic gets no answer of its own, as in Kafka.
        const byId = toDelete.get(key);
        if (byId !== undefined) answers[byId.slot] = null;
        toDelete.delete(key);
        conflicted.add(key);
        answers[i] = result(slot.name, topic.topicId, ErrorCode.INVALID_REQUEST, 'The provided topic name maps to an ID that was already supplied.');
      } else {
        toDelete.set(key, { slot: i, name: slot.name });
      }
    });
    const quota = ctx.broker.quotas.controllerMutation.newQuotaFor(ctx.principal.name, ctx.clientId ?? '', ctx.apiVersion >= STRICT_SINCE_VERSION.DeleteTopics);
    for (const { slot, name } of toDelete.values()) {
      const topic = ctx.broker.topics.get(name);
      if (quota.bounded && topic !== undefined && !quota.tryRecord(topic.partitions)) {
        answers[slot] = result(name, topic.topicId, ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE);
        continue;
      }
      answers[slot] = await deleteByName(ctx, name);
    }
    const res = makeDeleteTopicsResponse();
    res.responses = answers.filter((a): a is TopicResult => a !== null);
    res.throttleTimeMs = quota.throttleTimeMs();
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
