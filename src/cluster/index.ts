// cluster/: a broker as a member of a replicated cluster coordinated through etcd (`--etcd`). broker.ts loads this
// module only in cluster mode, so a single broker never pays for it (etcd3 and gRPC are not even loaded).
//
//   room                         job
//   etcd/                        the only code that talks to etcd: leases, CAS transactions, prefix watch
//   metadata-records.ts          the values kept in etcd (Kafka's KRaft records as JSON)
//   metadata-image.ts            the cluster metadata applied in revision order, with deltas
//   membership.ts, controller.ts registration with a lease (fencing); the elected controller's reactions
//   placement.ts, partition-change.ts  replica placement; Kafka's leader/ISR change rules
//   cluster-metadata.ts          the facade: image + writes (topics, AlterPartition, ElectLeaders, producer ids)
//   cluster-member.ts            applies every metadata change to the broker (topics, logs, replicas)
//   replica-manager.ts           leader or follower per partition; leaderOf() for the handlers
//   leader-partition.ts          a leader's followers, HW, ISR changes, acks=all waiters
//   replica-fetcher.ts           a follower's Fetch loop against one leader
//   inter-broker-security.ts     which listener peers are reached on, and how (TLS, SASL)
import type { Logger } from 'pino';
import type { BrokerConfig } from '../metadata/broker-config.js';
import { parseEtcdEndpoints } from '../metadata/broker-config.js';
import type { LogManager } from '../log/log-manager.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { ClusterMember, ClusterTopicWriter } from './cluster-member.js';
import { ReplicaManager, type ReplicaLog } from './replica-manager.js';
import { HighWatermarkCheckpoint } from './high-watermark-checkpoint.js';
import { nodeLogFs } from '../log/fs.js';
import path from 'node:path';
import { interBrokerChannel, localInterBrokerEndpoint, type InterBrokerChannel } from './inter-broker-security.js';

export { ClusterMember, ClusterTopicWriter, ReplicaManager, interBrokerChannel, localInterBrokerEndpoint };
export type { ClusterState } from './cluster-member.js';

/** The topic writer first (TopicRegistry.open needs it), then the rest once the registry exists. */
export function clusterTopicWriter(config: BrokerConfig): ClusterTopicWriter {
  return new ClusterTopicWriter((name) => (name === '__transaction_state' ? config.transactionStateLogReplicationFactor : config.offsetsTopicReplicationFactor));
}

export interface ClusterParts {
  member: ClusterMember;
  replicas: ReplicaManager;
  /** replication-offset-checkpoint: open() before joining, close() after the replicas stopped changing. */
  highWatermarks: HighWatermarkCheckpoint;
}

/** The replica manager and the (not yet joined) cluster member of a broker in cluster mode. */
export function createClusterParts(options: {
  config: BrokerConfig;
  writer: ClusterTopicWriter;
  topics: TopicRegistry;
  logs: LogManager;
  interBroker: InterBrokerChannel;
  logger: Logger;
}): ClusterParts {
  const { config, writer, topics, logs, interBroker, logger } = options;
  let member: ClusterMember | undefined;
  const highWatermarks = new HighWatermarkCheckpoint(
    path.resolve(config.dataDir),
    nodeLogFs,
    logger,
    () => replicas.highWatermarks(),
    (topic, partition) => logs.getLog(topic, partition) !== undefined,
    config.replicaHighWatermarkCheckpointIntervalMs,
  );
  const replicas: ReplicaManager = new ReplicaManager({
    nodeId: config.nodeId,
    log: (topic, partition) => logs.getLog(topic, partition) as ReplicaLog | undefined,
    brokerEndpoint: (id) => member?.brokerEndpoint(id),
    security: interBroker.security,
    brokerEpoch: () => member?.brokerEpoch ?? -1n,
    alterPartition: (change) =>
      member!.metadata.alterPartition({
        topicId: change.topicId.toString('hex'),
        partition: change.partition,
        leaderId: change.leaderId,
        leaderEpoch: change.leaderEpoch,
        partitionEpoch: change.partitionEpoch,
        newIsr: change.newIsr,
      }),
    isReplicaEligible: (id) => member?.isBrokerActive(id) ?? false,
    minInSyncReplicas: (name) => {
      const topic = topics.get(name);
      return topic === undefined ? 1 : topics.minInSyncReplicas(topic);
    },
    replicaLagTimeMaxMs: config.replicaLagTimeMaxMs,
    checkpointedHighWatermark: (topic, partition) => highWatermarks.highWatermarkOf(topic, partition),
    fetch: {
      maxWaitMs: config.replicaFetchWaitMaxMs,
      minBytes: 1,
      partitionMaxBytes: config.replicaFetchMaxBytes,
      maxBytes: config.replicaFetchResponseMaxBytes,
      backoffMs: config.replicaFetchBackoffMs,
      requestTimeoutMs: 30_000,
    },
    logger,
  });
  member = new ClusterMember({
    metadata: {
      endpoints: parseEtcdEndpoints(config.etcd ?? ''),
      prefix: config.etcdPrefix,
      nodeId: config.nodeId,
      rack: config.brokerRack ?? null,
      sessionTimeoutMs: config.brokerSessionTimeoutMs,
      heartbeatIntervalMs: config.brokerHeartbeatIntervalMs,
      defaultNumPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      controller: {
        autoLeaderRebalanceEnable: config.autoLeaderRebalanceEnable,
        leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalSeconds * 1000,
      },
    },
    writer,
    topics,
    logs,
    replicas,
    interBrokerListenerName: interBroker.listenerName,
    logger,
  });
  return { member, replicas, highWatermarks };
}
