// This broker as a member of a cluster (`--etcd`): joins through the cluster metadata (etcd), then applies every
// metadata change, in order, to what the broker serves.
//
//   metadata change                         applied here as
//   topic created / grown / configs         TopicRegistry.applyClusterTopic (Metadata, CreateTopics … see it)
//   partition assigned to this broker       its local log created if missing, then ReplicaManager.apply (leader
//   (new, new leader, new ISR)              or follower; cluster/replica-manager.ts)
//   partition no longer on this broker      ReplicaManager.remove (the log stays: reassignment is a later issue)
//   topic deleted                           replicas removed, TopicRegistry.removeClusterTopic, logs deleted
//   this broker's lease lost / regained     ReplicaManager.setFenced: no writes are accepted while fenced
//
// Changes are applied one after another (a log may have to be created first), never concurrently, so a later
// change of a partition never overtakes an earlier one. At join, the whole image is applied once; local logs of
// topics the cluster does not have (deleted while this broker was away), or whose partition.metadata names another
// topic id (deleted and created again meanwhile), are deleted, as Kafka deletes stray logs.
//
// The TopicRegistry's writes in cluster mode go through ClusterTopicWriter below: CreateTopics, CreatePartitions,
// DeleteTopics and AlterConfigs become compare-and-swap transactions in etcd (cluster-metadata.ts), answered once
// this broker's image shows them.
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../log/log-manager.js';
import type { TopicClusterWriter, TopicCreation, TopicInfo, TopicRegistry } from '../metadata/topic-registry.js';
import { ClusterMetadata, type ClusterMetadataOptions, type MetadataDelta, type MetadataImage, type PartitionImage, type TopicImage } from './cluster-metadata.js';
import type { PartitionAssignment, ReplicaManager } from './replica-manager.js';
import { readPartitionTopicId, writePartitionTopicId } from './partition-metadata-file.js';

/** Topic writes of a clustered TopicRegistry; attached to the cluster metadata once the broker has joined. */
export class ClusterTopicWriter implements TopicClusterWriter {
  private cluster: ClusterMetadata | undefined;

  constructor(private readonly internalReplicationFactor: (name: string) => number) {}

  attach(cluster: ClusterMetadata): void {
    this.cluster = cluster;
  }

  private get metadata(): ClusterMetadata {
    if (this.cluster === undefined) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'this broker has not joined the cluster yet');
    return this.cluster;
  }

  async createTopics(topics: ReadonlyArray<{ topic: TopicInfo; creation: TopicCreation }>): Promise<Array<KafkaError | undefined>> {
    const results: Array<KafkaError | undefined> = [];
    for (const { topic, creation } of topics) {
      results.push(
        await refusal(() =>
          this.metadata.createTopic({
            name: topic.name,
            topicId: topic.topicId.toString('hex'),
            numPartitions: creation.assignments.length > 0 ? -1 : topic.partitions,
            replicationFactor: creation.replicationFactor,
            assignments: creation.assignments.map((a) => ({ partitionIndex: a.partitionIndex, brokerIds: [...a.brokerIds] })),
            configs: { ...topic.configs },
          }),
        ),
      );
    }
    return results;
  }

  async createPartitions(growths: ReadonlyArray<{ topic: TopicInfo; assignments: ReadonlyArray<readonly number[]> | null }>): Promise<Array<KafkaError | undefined>> {
    const results: Array<KafkaError | undefined> = [];
    for (const { topic, assignments } of growths) {
      results.push(await refusal(() => this.metadata.createPartitions(topic.name, topic.partitions, assignments === null ? undefined : assignments.map((a) => [...a]))));
    }
    return results;
  }

  async deleteTopic(topic: TopicInfo): Promise<void> {
    await this.metadata.deleteTopic(topic.name);
  }

  async alterTopicConfigs(topic: TopicInfo): Promise<void> {
    await this.metadata.alterTopicConfigs(topic.name, { ...topic.configs }, 'replace');
  }

  createInternalTopic(topic: TopicInfo): Promise<KafkaError | undefined> {
    return refusal(() =>
      this.metadata.createTopic({
        name: topic.name,
        topicId: topic.topicId.toString('hex'),
        numPartitions: topic.partitions,
        replicationFactor: this.internalReplicationFactor(topic.name),
        configs: { ...topic.configs },
      }),
    );
  }
}

/** undefined when `write` succeeded, its KafkaError when the cluster refused it. */
async function refusal(write: () => Promise<unknown>): Promise<KafkaError | undefined> {
  try {
    await write();
    return undefined;
  } catch (err) {
    if (err instanceof KafkaError) return err;
    throw err;
  }
}

export interface ClusterMemberOptions {
  /** Everything but the broker's endpoints, known only once its listeners are bound (join()). */
  metadata: Omit<ClusterMetadataOptions, 'logger' | 'brokerEndpoints'>;
  writer: ClusterTopicWriter;
  topics: TopicRegistry;
  logs: LogManager;
  replicas: ReplicaManager;
  /** The listener whose endpoint other brokers are reached on (inter-broker-security.ts). */
  interBrokerListenerName: string;
  logger: Logger;
}

/** A live broker as Metadata and DescribeCluster list it, with the endpoint of one listener. */
export interface ClusterBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

/** One partition's state as Metadata reports it. */
export interface ClusterPartitionState {
  leader: number;
  leaderEpoch: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** Replicas on brokers that are not registered or are fenced. */
  offlineReplicas: number[];
}

/**
 * What handlers ask of the cluster (Metadata, DescribeCluster, CreateTopics placement …); implemented by
 * ClusterMember. Before the broker has joined, it answers as an empty cluster.
 */
export interface ClusterState {
  readonly nodeId: number;
  readonly controllerId: number;
  /** Registered, unfenced brokers, in id order, with the endpoint of `listenerName` (the first one without it). */
  liveBrokers(listenerName?: string): ClusterBroker[];
  liveBrokerIds(): number[];
  /** Live brokers at their inter-broker listener's endpoint (one without that listener is left out): where this broker's own requests go. */
  interBrokerPeers(): ClusterBroker[];
  partitionState(topic: TopicInfo, partition: number): ClusterPartitionState | undefined;
  /** ElectLeaders (cluster-metadata.ts has the rules). */
  electLeaders(electionType: number, partitions: Array<{ topic: string; partition: number }> | null): Promise<Array<{ topic: string; partition: number; errorCode: number; errorMessage: string | null }>>;
}

export class ClusterMember implements ClusterState {
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private closed = false;
  private joined: ClusterMetadata | undefined;

  constructor(private readonly options: ClusterMemberOptions) {}

  get nodeId(): number {
    return this.options.metadata.nodeId;
  }

  /** The cluster metadata once joined; NOT_CONTROLLER-like KafkaError before. */
  get metadata(): ClusterMetadata {
    if (this.joined === undefined) throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'this broker has not joined the cluster yet');
    return this.joined;
  }

  /**
   * Joins with the bound listeners' endpoints (BrokerError ETCD_UNREACHABLE / DUPLICATE_BROKER_REGISTRATION) and
   * applies the current image before resolving.
   */
  async join(brokerEndpoints: ClusterMetadataOptions['brokerEndpoints']): Promise<void> {
    const options = this.options;
    const metadata = await ClusterMetadata.open({ ...options.metadata, brokerEndpoints, logger: options.logger });
    this.joined = metadata;
    options.writer.attach(metadata);
    metadata.membership.on('fenced', () => options.replicas.setFenced(true));
    metadata.membership.on('registered', () => options.replicas.setFenced(false));
    // Subscribed before the whole image is applied, so a change made meanwhile (the controller reacting to this
    // registration) is applied after it rather than lost; changes the image already holds are skipped.
    const image = metadata.image;
    this.unsubscribe = metadata.onChange((next, delta) => {
      if (delta.revision > image.revision) this.enqueue(next, delta);
    });
    const whole = this.applyWholeImage(image);
    this.chain = whole.catch(() => undefined);
    try {
      await whole;
    } catch (err) {
      this.unsubscribe();
      this.joined = undefined;
      await metadata.close().catch(() => undefined);
      throw err;
    }
  }

  get controllerId(): number {
    return this.joined?.image.controllerId ?? -1;
  }

  liveBrokers(listenerName?: string): ClusterBroker[] {
    const image = this.joined?.image;
    if (image === undefined) return [];
    const out: ClusterBroker[] = [];
    for (const b of image.brokers()) {
      if (b.fenced) continue;
      const endpoint = (listenerName === undefined ? undefined : b.endpoints.find((e) => e.name === listenerName)) ?? b.endpoints[0];
      if (endpoint === undefined) continue;
      out.push({ nodeId: b.brokerId, host: endpoint.host, port: endpoint.port, rack: b.rack });
    }
    return out.sort((a, b) => a.nodeId - b.nodeId);
  }

  /** Partitions of the cluster without a leader (Kafka's OfflinePartitionsCount). */
  offlinePartitionCount(): number {
    const image = this.joined?.image;
    if (image === undefined) return 0;
    let n = 0;
    for (const t of image.topics()) for (const p of image.partitionsOf(t.topicId)) if (p.leader < 0) n++;
    return n;
  }

  liveBrokerIds(): number[] {
    return this.liveBrokers().map((b) => b.nodeId);
  }

  interBrokerPeers(): ClusterBroker[] {
    const image = this.joined?.image;
    if (image === undefined) return [];
    const out: ClusterBroker[] = [];
    for (const b of image.brokers()) {
      const endpoint = b.fenced ? undefined : b.endpoints.find((e) => e.name === this.options.interBrokerListenerName);
      if (endpoint !== undefined) out.push({ nodeId: b.brokerId, host: endpoint.host, port: endpoint.port, rack: b.rack });
    }
    return out.sort((a, b) => a.nodeId - b.nodeId);
  }

  partitionState(topic: TopicInfo, partition: number): ClusterPartitionState | undefined {
    const image = this.joined?.image;
    const p = image?.partition(topic.topicId.toString('hex'), partition);
    if (image === undefined || p === undefined) return undefined;
    return { leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr, offlineReplicas: p.replicas.filter((id) => !image.isActive(id)) };
  }

  electLeaders(electionType: number, partitions: Array<{ topic: string; partition: number }> | null) {
    return this.metadata.electLeaders(electionType, partitions);
  }

  /** Registered, not fenced, not in controlled shutdown: may join an ISR. */
  isBrokerActive(brokerId: number): boolean {
    return this.joined?.image.isActive(brokerId) ?? false;
  }

  /**
   * Where a broker's inter-broker listener is (replica fetchers connect there); undefined when it has none (a
   * broker configured with another inter.broker.listener.name: not reached on some other listener).
   */
  brokerEndpoint(brokerId: number): { host: string; port: number } | undefined {
    const endpoint = this.joined?.image.broker(brokerId)?.endpoints.find((e) => e.name === this.options.interBrokerListenerName);
    return endpoint === undefined ? undefined : { host: endpoint.host, port: endpoint.port };
  }

  get brokerEpoch(): bigint {
    return BigInt(this.joined?.brokerEpoch ?? -1);
  }

  private enqueue(image: MetadataImage, delta: MetadataDelta): void {
    this.chain = this.chain
      .then(() => (this.closed ? undefined : this.applyDelta(image, delta)))
      .catch((err: unknown) => this.options.logger.error({ err, revision: delta.revision }, 'could not apply a cluster metadata change'));
  }

  /** Resolves once every metadata change received so far is applied (tests, shutdown). */
  settled(): Promise<void> {
    return this.chain;
  }

  private async applyWholeImage(image: MetadataImage): Promise<void> {
    const { logs, logger } = this.options;
    const names = new Set(image.topics().map((t) => t.name));
    for (const topic of image.topics()) this.applyTopic(topic);
    const strays = new Set(logs.listLogs().map((log) => log.topic).filter((t) => !names.has(t)));
    // A topic deleted and created again under its name while this broker was away: its logs hold the old topic.
    for (const log of logs.listLogs()) {
      const recorded = await readPartitionTopicId(log.dir);
      const current = image.topic(log.topic)?.topicId;
      if (recorded !== undefined && current !== undefined && recorded !== current) strays.add(log.topic);
    }
    for (const topic of strays) {
      logger.warn({ topic }, 'deleting the local logs of a topic the cluster no longer has');
      await logs.deleteLogs(topic);
    }
    for (const topic of image.topics()) {
      for (const p of image.partitionsOf(topic.topicId)) await this.applyPartition(topic, p);
    }
  }

  private async applyDelta(image: MetadataImage, delta: MetadataDelta): Promise<void> {
    const { topics, logs, replicas } = this.options;
    for (const removed of delta.removedTopics) {
      for (const p of delta.removedPartitions) if (p.topicId === removed.topicId) await replicas.remove(removed.name, p.partition);
      // A topic deleted and created again under the same name within one delta: the new one is in changedTopics.
      const current = topics.get(removed.name);
      if (current !== undefined && current.topicId.toString('hex') === removed.topicId) {
        topics.removeClusterTopic(removed.name);
        await logs.deleteLogs(removed.name);
      }
    }
    for (const topic of delta.changedTopics) this.applyTopic(topic);
    for (const p of delta.changedPartitions) {
      const topic = image.topicById(p.topicId);
      if (topic !== undefined) await this.applyPartition(topic, p);
    }
    if (delta.changedPartitions.length > 0) {
      // A partition added to an existing topic changes the topic's count, which the topic entry carries.
      for (const topicId of new Set(delta.changedPartitions.map((p) => p.topicId))) {
        const topic = image.topicById(topicId);
        if (topic !== undefined) this.applyTopic(topic);
      }
    }
    // A leader registered (again, perhaps at a new endpoint): the partitions that follow or wait for it are applied
    // again, so their fetchers connect where it now is.
    const changed = new Set(delta.changedPartitions.map((p) => `${p.topicId}:${p.partition}`));
    for (const brokerId of delta.changedBrokers) {
      if (brokerId === this.nodeId || image.broker(brokerId) === undefined) continue;
      for (const a of replicas.partitionsLedBy(brokerId)) {
        const topicId = a.topicId.toString('hex');
        const topic = image.topicById(topicId);
        const p = image.partition(topicId, a.partition);
        if (topic !== undefined && p !== undefined && !changed.has(`${topicId}:${a.partition}`)) await this.applyPartition(topic, p);
      }
    }
  }

  private applyTopic(topic: TopicImage): void {
    this.options.topics.applyClusterTopic(topic.name, Buffer.from(topic.topicId, 'hex'), topic.partitionCount, { ...topic.configs });
  }

  private async applyPartition(topic: TopicImage, p: PartitionImage): Promise<void> {
    const { topics, logs, replicas } = this.options;
    const assignment: PartitionAssignment = {
      topic: topic.name,
      topicId: Buffer.from(topic.topicId, 'hex'),
      partition: p.partition,
      replicas: p.replicas,
      isr: p.isr,
      leader: p.leader,
      leaderEpoch: p.leaderEpoch,
      partitionEpoch: p.partitionEpoch,
    };
    if (p.replicas.includes(this.nodeId)) {
      const info = topics.get(topic.name);
      const log = info === undefined ? undefined : await logs.ensureLog(topic.name, p.partition, info.logConfig);
      if (log !== undefined) {
        await writePartitionTopicId(log.dir, topic.topicId).catch((err: unknown) =>
          this.options.logger.warn({ err, topic: topic.name, partition: p.partition }, 'could not write partition.metadata'),
        );
      }
    }
    await replicas.apply([assignment]);
  }

  /** Kafka's controlled shutdown: hand over leaderships (bounded), then leave. */
  async leave(timeoutMs: number): Promise<void> {
    if (this.closed || this.joined === undefined) return this.close();
    try {
      const result = await this.metadata.beginControlledShutdown(timeoutMs);
      if (!result.completed) this.options.logger.warn({ remaining: result.remainingLeaderships }, 'controlled shutdown timed out; leaving with leaderships');
    } catch (err) {
      this.options.logger.warn({ err }, 'controlled shutdown failed; leaving');
    }
    // The handed-over leaderships are applied here before leaving (the coordinators resign their partitions and
    // answer NOT_COORDINATOR, so clients move to the new coordinators instead of retrying this broker).
    await this.chain;
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Changes already received are applied first; then no more are taken.
    await this.chain.catch(() => undefined);
    this.closed = true;
    this.unsubscribe?.();
    await this.chain.catch(() => undefined);
    await this.joined?.close();
  }
}
