// CreatePartitions (key 37), versions 0–3.
// Kafka 3.9's controller path (ControllerApis.createPartitions → ReplicationControlManager.createPartitions):
// - A name given more than once gets one entry, INVALID_REQUEST "Duplicate topic name.", and is not grown.
// - Per topic, in this order: unknown → UNKNOWN_TOPIC_OR_PARTITION (no message, as Kafka's ApiError drops the
//   default one); count equal to the current one → INVALID_PARTITIONS "Topic already has N partition(s)."; smaller →
//   INVALID_PARTITIONS "The topic T currently has N partition(s); M would not be an increase.".
// - Assignments: null lets the broker place the new partitions (all on this broker). A list (even an empty one)
//   is a manual assignment: it must have one entry per new partition (INVALID_REPLICA_ASSIGNMENT "Attempted to add
//   N additional partition(s), but only M assignment(s) were specified."), each naming registered brokers (only
//   this one, `node.id`), without repeats, as many as the topic's replication factor (1): INVALID_REPLICA_ASSIGNMENT
//   with Kafka's validateManualPartitionAssignment messages. kafkajs sends no assignments as null; a client that
//   sends an empty list gets that error from Kafka too.
// - validateOnly runs every check and changes nothing.
// - The new count is written to the topic registry's file and published before the new partition logs are created;
//   the answer is sent once they exist. Producers and consumer groups find the partitions at their next metadata
//   refresh (see metadata/topic-registry.ts for what other requests see meanwhile).
// - Limits, as for CreateTopics: more than 100,000 partitions in the topic, or more than `max.broker.partitions`
//   on the broker (KIP-578's name; Kafka 3.9 has no such limit), is INVALID_PARTITIONS naming the limit.
// - ACLs (auth/authorizer.ts; KafkaApis.handleCreatePartitionsRequest): a topic needs ALTER on it, otherwise
//   TOPIC_AUTHORIZATION_FAILED "The topic authorization is failed." and it does not grow.
// - Deliberate differences: `__consumer_offsets` and `__transaction_state` cannot grow (INVALID_REQUEST; Kafka 3.9
//   allows it and loses coordinator state at the next restart, see topic-registry.ts createPartitions). Results are
//   in request order (Kafka lists duplicates first, then the others in hash order); clients match them by name.
// - Controller mutation quota (KIP-599, quota/controller-mutation-quota.ts): with a controller_mutation_rate for the
//   client, each topic that passes every check draws its new partitions from it, in request order; from v3 a topic
//   drawn while the quota is exhausted gets THROTTLING_QUOTA_EXCEEDED "The throttling quota has been exceeded." and
//   does not grow (v0-v2 grow and are only throttled). throttle_time_ms carries the throttle time. validateOnly
//   draws nothing. The request is validated first (validateOnly) to know what passes, only for such clients.
// - Version notes: v1 is v0; v2 is flexible; v3 may answer THROTTLING_QUOTA_EXCEEDED (KIP-599).
import { ApiKey } from '../protocol/generated/index.js';
import { makeCreatePartitionsResponse, type CreatePartitionsRequest, type CreatePartitionsResponse } from '../protocol/generated/create-partitions.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import type { PartitionGrowth } from '../metadata/topic-registry.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import { STRICT_SINCE_VERSION, THROTTLING_QUOTA_EXCEEDED_MESSAGE } from '../quota/index.js';
import type { ApiHandler } from './types.js';
import { placementView } from './cluster-view.js';

type TopicResult = CreatePartitionsResponse['results'][number];
type RequestTopic = CreatePartitionsRequest['topics'][number];

function result(name: string, errorCode: number, errorMessage: string | null): TopicResult {
  return { name, errorCode, errorMessage };
}

/** Kafka's ApiError.fromThrowable: an error carrying only its default text answers a null message. */
function messageOf(err: KafkaError): string | null {
  return err.message === errorName(err.errorCode) ? null : err.message;
}

function toGrowth(t: RequestTopic): PartitionGrowth {
  return { name: t.name, count: t.count, assignments: t.assignments === null ? null : t.assignments.map((a) => a.brokerIds) };
}

export const createPartitionsHandler: ApiHandler<CreatePartitionsRequest, CreatePartitionsResponse> = {
  apiKey: ApiKey.CreatePartitions,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, request) {
    const counts = new Map<string, number>();
    for (const t of request.topics) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
    const unique = request.topics.filter((t) => counts.get(t.name)! === 1 && authorize(ctx, AclOperation.ALTER, ResourceType.TOPIC, t.name));
    const cluster = placementView(ctx.broker);
    const quota = ctx.broker.quotas.controllerMutation.newQuotaFor(ctx.principal.name, ctx.clientId ?? '', ctx.apiVersion >= STRICT_SINCE_VERSION.CreatePartitions);
    let admitted = unique;
    const throttled = new Set<string>();
    if (quota.bounded && !request.validateOnly) {
      // The partitions each topic would add, known once its checks pass (a failing topic draws nothing).
      const before = new Map(unique.map((t) => [t.name, ctx.broker.topics.get(t.name)?.partitions ?? 0]));
      const checked = await ctx.broker.topics.createPartitions(unique.map(toGrowth), cluster, true);
      admitted = unique.filter((t, i) => {
        const outcome = checked[i]!;
        if (outcome instanceof KafkaError || quota.tryRecord(t.count - before.get(t.name)!)) return true;
        throttled.add(t.name);
        return false;
      });
    }
    const outcomes = await ctx.broker.topics.createPartitions(admitted.map(toGrowth), cluster, request.validateOnly);
    const byName = new Map(admitted.map((t, i) => [t.name, outcomes[i]!]));
    const results: TopicResult[] = [];
    const answeredDuplicates = new Set<string>();
    for (const t of request.topics) {
      const outcome = byName.get(t.name);
      if (throttled.has(t.name)) {
        results.push(result(t.name, ErrorCode.THROTTLING_QUOTA_EXCEEDED, THROTTLING_QUOTA_EXCEEDED_MESSAGE));
      } else if (outcome !== undefined) {
        results.push(outcome instanceof KafkaError ? result(t.name, outcome.errorCode, messageOf(outcome)) : result(t.name, ErrorCode.NONE, null));
      } else if (counts.get(t.name)! === 1) {
        results.push(result(t.name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'The topic authorization is failed.'));
      } else if (!answeredDuplicates.has(t.name)) {
        answeredDuplicates.add(t.name);
        results.push(result(t.name, ErrorCode.INVALID_REQUEST, 'Duplicate topic name.'));
      }
    }
    const res = makeCreatePartitionsResponse();
    res.results = results;
    res.throttleTimeMs = quota.throttleTimeMs();
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeCreatePartitionsResponse();
    res.results = request.topics.map((t) => result(t.name, errorCode, null));
    return res;
  },
};
