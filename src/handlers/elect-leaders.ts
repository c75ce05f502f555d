// ElectLeaders (key 43), versions 0–2.
// Kafka 3.9's controller path (ControllerApis.handleElectLeaders → QuorumController.electLeaders →
// ReplicationControlManager.electLeaders); the decision per partition is in metadata/leader-election.ts:
// - Named partitions: one result per requested partition, in request order (repeats answered again, as Kafka
//   does): ELECTION_NOT_NEEDED "Leader election not needed for topic partition." for every existing partition
//   (this broker is its only replica, leader and preferred leader, for PREFERRED and UNCLEAN alike), otherwise
//   UNKNOWN_TOPIC_OR_PARTITION "No such topic as T" / "No such partition as T-P".
// - TopicPartitions null = every partition of every topic: each topic is listed, and partitions whose election is
//   not needed are left out (Kafka's rule for this form), so here every topic has an empty list.
// - An empty TopicPartitions list answers nothing (QuorumController returns an empty response at once).
// - ElectionType (v1+, KIP-460): 0 PREFERRED, 1 UNCLEAN; v0 is PREFERRED. Any other value fails the request:
//   top-level (v1+) and every requested partition INVALID_REQUEST "Unknown election type N"
//   (ElectLeadersRequest.getErrorResponse).
// - The top-level error code (v1+) is NONE otherwise. TimeoutMs is not needed: nothing is waited for.
// - Cluster mode (cluster/cluster-metadata.ts electLeaders, ReplicationControlManager's rules): PREFERRED makes
//   replicas[0] leader when it is live and in the ISR (ELECTION_NOT_NEEDED when it leads already,
//   PREFERRED_LEADER_NOT_AVAILABLE otherwise); UNCLEAN elects a live replica for a partition without a leader
//   (ELECTION_NOT_NEEDED when it has one, ELIGIBLE_LEADERS_NOT_AVAILABLE when none is live). With null
//   TopicPartitions every topic is listed with the partitions whose election was needed.
import { ApiKey } from '../protocol/generated/index.js';
import { makeElectLeadersResponse, type ElectLeadersRequest, type ElectLeadersResponse } from '../protocol/generated/elect-leaders.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { ElectionType, checkElectionType, electLeader } from '../metadata/leader-election.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';
import type { ClusterState } from '../cluster/cluster-member.js';

type TopicResult = ElectLeadersResponse['replicaElectionResults'][number];

function failAll(request: ElectLeadersRequest, apiVersion: number, errorCode: number, errorMessage: string | null): ElectLeadersResponse {
  const res = makeElectLeadersResponse();
  // v0 has no top-level error code.
  if (apiVersion >= 1) res.errorCode = errorCode;
  res.replicaElectionResults = (request.topicPartitions ?? []).map((t) => ({
    topic: t.topic,
    partitionResult: t.partitions.map((partitionId) => ({ partitionId, errorCode, errorMessage })),
  }));
  return res;
}

/** Cluster mode: the elections are compare-and-swap changes of the partitions in the cluster metadata. */
async function electInCluster(cluster: ClusterState, topicNames: string[], request: ElectLeadersRequest, res: ElectLeadersResponse): Promise<ElectLeadersResponse> {
  const electionType = request.electionType ?? ElectionType.PREFERRED;
  const named = request.topicPartitions === null ? null : request.topicPartitions.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })));
  const outcomes = await cluster.electLeaders(electionType, named);
  if (request.topicPartitions !== null) {
    let i = 0;
    res.replicaElectionResults = request.topicPartitions.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => {
        const o = outcomes[i++]!;
        return { partitionId, errorCode: o.errorCode, errorMessage: o.errorMessage };
      }),
    }));
    return res;
  }
  // Every partition: each topic listed, with the partitions whose election was needed (the others are left out).
  const byTopic = new Map<string, TopicResult>();
  for (const t of [...topicNames, ...outcomes.map((o) => o.topic)]) if (!byTopic.has(t)) byTopic.set(t, { topic: t, partitionResult: [] });
  for (const o of outcomes) byTopic.get(o.topic)!.partitionResult.push({ partitionId: o.partition, errorCode: o.errorCode, errorMessage: o.errorMessage });
  res.replicaElectionResults = [...byTopic.values()];
  return res;
}

export const electLeadersHandler: ApiHandler<ElectLeadersRequest, ElectLeadersResponse> = {
  apiKey: ApiKey.ElectLeaders,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  async handle(ctx, request) {
    // ALTER on the CLUSTER (KafkaApis.handleElectLeaders): every requested partition answers CLUSTER_AUTHORIZATION_FAILED.
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return failAll(request, ctx.apiVersion, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, null);
    try {
      checkElectionType(request.electionType ?? ElectionType.PREFERRED);
    } catch (err) {
      if (err instanceof KafkaError) return failAll(request, ctx.apiVersion, err.errorCode, err.message);
      throw err;
    }
    const topics = ctx.broker.topics;
    const res = makeElectLeadersResponse();
    const cluster = ctx.broker.cluster;
    if (cluster !== undefined) return electInCluster(cluster, topics.list().map((t) => t.name), request, res);
    if (request.topicPartitions === null) {
      res.replicaElectionResults = topics.list().map((t): TopicResult => {
        const partitionResult: TopicResult['partitionResult'] = [];
        for (let p = 0; p < t.partitions; p++) {
          const outcome = electLeader(topics, t.name, p);
          if (outcome.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) partitionResult.push({ partitionId: p, ...outcome });
        }
        return { topic: t.name, partitionResult };
      });
      return res;
    }
    res.replicaElectionResults = request.topicPartitions.map((t) => ({
      topic: t.topic,
      partitionResult: t.partitions.map((partitionId) => ({ partitionId, ...electLeader(topics, t.topic, partitionId) })),
    }));
    return res;
  },
  errorResponse(request, errorCode, apiVersion) {
    return failAll(request, apiVersion, errorCode, null);
  },
};
