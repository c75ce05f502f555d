// What the handlers report about the cluster, with one answer for a single broker and one for a cluster (cluster/):
// the brokers (Metadata, DescribeCluster), the controller, each partition's leader, epoch, replicas and ISR, and the
// brokers a new topic may be placed on. A single broker is its own cluster: it leads every partition, epoch 0.
import type { TopicInfo, ClusterView } from '../metadata/topic-registry.js';
import type { BrokerServices, RequestContext } from './types.js';
import { LEADER_EPOCH } from './partition-lookup.js';

export interface ReportedBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface ReportedPartition {
  leaderId: number;
  leaderEpoch: number;
  replicaNodes: number[];
  isrNodes: number[];
  offlineReplicas: number[];
}

/** The live brokers with the endpoint of the listener the request came through. */
export function reportedBrokers(ctx: RequestContext): ReportedBroker[] {
  const broker = ctx.broker;
  if (broker.cluster !== undefined) return broker.cluster.liveBrokers(ctx.listenerName);
  const endpoint = broker.advertisedEndpoint(ctx.listenerName);
  return [{ nodeId: broker.nodeId, host: endpoint.host, port: endpoint.port, rack: null }];
}

/** The controller's id (-1 while a cluster has none). */
export function controllerIdOf(broker: BrokerServices): number {
  return broker.cluster !== undefined ? broker.cluster.controllerId : broker.nodeId;
}

/**
 * One partition as Metadata reports it. Single broker: this broker leads it with epoch 0, and its replica is offline
 * while the log is offline after an I/O error. Cluster: the metadata's state (leader -1 when it has none, as Kafka's
 * LEADER_NOT_AVAILABLE partitions), replicas on fenced or unregistered brokers offline.
 */
export function reportedPartition(broker: BrokerServices, topic: TopicInfo, partition: number): ReportedPartition {
  if (broker.cluster !== undefined) {
    const state = broker.cluster.partitionState(topic, partition);
    if (state === undefined) return { leaderId: -1, leaderEpoch: -1, replicaNodes: [], isrNodes: [], offlineReplicas: [] };
    return {
      leaderId: state.leader,
      leaderEpoch: state.leaderEpoch,
      replicaNodes: [...state.replicas],
      isrNodes: [...state.isr],
      offlineReplicas: state.offlineReplicas,
    };
  }
  const nodeId = broker.nodeId;
  return {
    leaderId: nodeId,
    leaderEpoch: LEADER_EPOCH,
    replicaNodes: [nodeId],
    isrNodes: [nodeId],
    offlineReplicas: broker.logs.isOffline(topic.name, partition) ? [nodeId] : [],
  };
}

/** Where CreateTopics, CreatePartitions and auto-creation may place replicas, with the defaults they take. */
export function placementView(broker: BrokerServices): ClusterView {
  if (broker.cluster !== undefined) {
    return { brokerIds: broker.cluster.liveBrokerIds(), defaultNumPartitions: broker.config.numPartitions, defaultReplicationFactor: broker.config.defaultReplicationFactor };
  }
  return { brokerIds: [broker.nodeId], defaultNumPartitions: broker.config.numPartitions };
}
