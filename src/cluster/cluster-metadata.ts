// The one entry point the broker uses in cluster mode: `ClusterMetadata.open(options)` connects to etcd, makes sure
// the cluster id exists, loads the metadata image and keeps it current, registers this broker, starts the
// controller, and offers the writes the handlers and the replica manager need. Every write resolves once this
// broker's image shows its result (waitForRevision on the write's revision), so a caller can read its own write.
//
// Writes (each an etcd txn with compare-and-swap, retried on conflict a bounded number of times):
// - createTopic: validated as ReplicationControlManager.createTopic does (manual assignments, replication factor,
//   partition count, placement), then one txn that creates the topic key (absent → else TOPIC_ALREADY_EXISTS) with
//   all its partition keys. A topic whose partitions do not fit in one txn (etcd's --max-txn-ops, 128 by default)
//   has its partition keys written first, under its new topic id that no one references yet, and the topic key
//   last; the image shows no partition before its topic (metadata-image.ts), so the topic still appears whole.
// - deleteTopic: the topic key and every partition key in one txn.
// - createPartitions: new partition keys, conditioned on the topic key being the same topic.
// - alterTopicConfigs: CAS on the topic key.
// - alterPartition: Kafka's AlterPartition checks (ReplicationControlManager.validateAlterPartitionData) against
//   the stored state, then CAS on the partition key's mod_revision.
// - electLeaders: Kafka's ElectLeaders outcomes per partition (ReplicationControlManager.electLeader).
// - allocateProducerIdBlock: CAS on <p>/producer-ids; blocks of 1000 (ProducerIdControlManager), so two brokers
//   never get overlapping blocks.
// Expected outcomes are KafkaError(code, Kafka's message). An etcd failure during a write is KafkaError
// REQUEST_TIMED_OUT (retriable for clients, as a controller that does not answer is in Kafka).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BrokerError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { EtcdStore, type EtcdCompare, type EtcdOp } from './etcd/etcd-store.js';
import { Controller, uncleanElectionEnabled, type ControllerOptions } from './controller.js';
import { MetadataLoader, type MetadataDelta, type MetadataImage, type MetadataListener, type PartitionImage, type TopicImage } from './metadata-image.js';
import { Membership, type ControlledShutdownResult } from './membership.js';
import {
  LeaderRecoveryState,
  NO_LEADER,
  clusterIdKey,
  decodeClusterIdRecord,
  decodePartitionRecord,
  decodeProducerIdsRecord,
  decodeTopicRecord,
  encodeClusterIdRecord,
  encodePartitionRecord,
  encodeProducerIdsRecord,
  encodeTopicRecord,
  partitionKey,
  producerIdsKey,
  topicKey,
  topicPartitionsPrefix,
  type BrokerEndpoint,
  type PartitionRecord,
} from './metadata-records.js';
import { buildPartitionChange } from './partition-change.js';
import { ReplicationFactorError, placeReplicas, validateManualAssignment, type RandomInt } from './placement.js';

export type { BrokerEndpoint } from './metadata-records.js';
export type { MetadataImage, MetadataDelta, PartitionImage, TopicImage, BrokerRegistration } from './metadata-image.js';

export interface ClusterMetadataOptions {
  /** etcd client URLs. */
  endpoints: string[];
  /** Key prefix in etcd (default /eddy). */
  prefix?: string;
  nodeId: number;
  /** Identifies this process's registrations (default: a random UUID). */
  incarnationId?: string;
  /** This broker's listeners, as registered (and returned by Metadata to clients). */
  brokerEndpoints: BrokerEndpoint[];
  rack?: string | null;
  /** broker.session.timeout.ms (default 9000). */
  sessionTimeoutMs?: number;
  /** broker.heartbeat.interval.ms (default 2000). */
  heartbeatIntervalMs?: number;
  /** How long open() tries to reach etcd (default 5000). */
  connectTimeoutMs?: number;
  /** Deadline of each etcd call (default 5000). */
  requestTimeoutMs?: number;
  /** How long registration waits for a previous registration of this id to expire (default session timeout + 2 s). */
  registrationWaitMs?: number;
  /** How long a write waits for this broker's image to show it (default 10 000). */
  writeVisibleTimeoutMs?: number;
  /** num.partitions, used when createTopic gets numPartitions -1 (default 1). */
  defaultNumPartitions?: number;
  /** default.replication.factor, used when createTopic gets replicationFactor -1 (default 1). */
  defaultReplicationFactor?: number;
  controller?: ControllerOptions;
  logger: Logger;
  /** Placement randomness (tests). */
  random?: RandomInt;
}

export interface ReplicaAssignment {
  partitionIndex: number;
  brokerIds: number[];
}

export interface CreateTopicRequest {
  name: string;
  /** 32 hex digits (default: random). */
  topicId?: string;
  /** -1 = num.partitions; must be -1 with assignments. */
  numPartitions: number;
  /** -1 = default.replication.factor; must be -1 with assignments. */
  replicationFactor: number;
  assignments?: ReplicaAssignment[];
  configs?: Record<string, string>;
}

export interface AlterPartitionRequest {
  topicId: string;
  partition: number;
  /** The caller (the partition's leader). */
  leaderId: number;
  leaderEpoch: number;
  partitionEpoch: number;
  newIsr: number[];
  /** Per new ISR member, the broker epoch the leader knows (-1 or absent = not checked), AlterPartition v3. */
  newIsrBrokerEpochs?: number[];
  /** Default RECOVERED (0). */
  leaderRecoveryState?: number;
}

export interface ElectionResult {
  topic: string;
  partition: number;
  errorCode: number;
  errorMessage: string | null;
}

export const ElectionType = { PREFERRED: 0, UNCLEAN: 1 } as const;

const PRODUCER_ID_BLOCK_SIZE = 1000;
const MAX_CAS_ATTEMPTS = 10;
/** Ops per txn we allow ourselves (etcd's default --max-txn-ops is 128). */
const MAX_TXN_OPS = 128;
const INT64_MAX = (1n << 63n) - 1n;

const PREFERRED_LEADER_NOT_AVAILABLE_MESSAGE = 'The preferred leader was not available.';
const ELIGIBLE_LEADERS_NOT_AVAILABLE_MESSAGE = 'Eligible topic partition leaders are not available.';
const ELECTION_NOT_NEEDED_MESSAGE = 'Leader election not needed for topic partition.';

function randomTopicId(): string {
  // Kafka's Uuid.randomUuid never returns the zero UUID nor one whose base64 starts with '-'; a random v4 UUID
  // is neither.
  return randomUUID().replace(/-/g, '');
}

export class ClusterMetadata {
  readonly clusterId: string;
  readonly nodeId: number;
  readonly prefix: string;
  private closed = false;

  private constructor(
    private readonly store: EtcdStore,
    private readonly loader: MetadataLoader,
    readonly membership: Membership,
    private readonly controller: Controller,
    private readonly options: ClusterMetadataOptions,
    clusterId: string,
  ) {
    this.clusterId = clusterId;
    this.nodeId = options.nodeId;
    this.prefix = options.prefix ?? '/eddy';
  }

  /**
   * Connects and joins the cluster. Rejects with BrokerError ETCD_UNREACHABLE (etcd does not answer) or
   * DUPLICATE_BROKER_REGISTRATION (another live broker has this node id).
   */
  static async open(options: ClusterMetadataOptions): Promise<ClusterMetadata> {
    const prefix = options.prefix ?? '/eddy';
    if (!/^\/[^/]/.test(prefix) || prefix.endsWith('/')) {
      throw new BrokerError('INVALID_CONFIG', `etcd prefix must start with '/' and not end with '/': ${prefix}`);
    }
    const logger = options.logger.child({ component: 'cluster', nodeId: options.nodeId });
    const store = await EtcdStore.connect({
      endpoints: options.endpoints,
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      logger,
    });
    let loader: MetadataLoader | undefined;
    let membership: Membership | undefined;
    try {
      const clusterId = await ensureClusterId(store, prefix);
      loader = await MetadataLoader.start(store, prefix, logger);
      membership = await Membership.register({
        store,
        loader,
        prefix,
        nodeId: options.nodeId,
        incarnationId: options.incarnationId ?? randomUUID(),
        endpoints: options.brokerEndpoints,
        rack: options.rack ?? null,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 9000,
        heartbeatIntervalMs: options.heartbeatIntervalMs ?? 2000,
        registrationWaitMs: options.registrationWaitMs,
        logger,
      });
      const controller = new Controller({ store, loader, membership, prefix, nodeId: options.nodeId, logger }, options.controller);
      const cluster = new ClusterMetadata(store, loader, membership, controller, { ...options, logger }, clusterId);
      await controller.start();
      return cluster;
    } catch (err) {
      await membership?.close().catch(() => undefined);
      loader?.close();
      store.close();
      throw err;
    }
  }

  /** The current metadata image (a new object after every change). */
  get image(): MetadataImage {
    return this.loader.image;
  }

  onChange(listener: MetadataListener): () => void {
    return this.loader.onChange(listener);
  }

  waitForRevision(revision: number, timeoutMs?: number): Promise<MetadataImage> {
    return this.loader.waitForRevision(revision, timeoutMs ?? this.writeVisibleTimeoutMs);
  }

  get isController(): boolean {
    return this.controller.isActive;
  }

  get brokerEpoch(): number {
    return this.membership.brokerEpoch;
  }

  get isFenced(): boolean {
    return this.membership.isFenced;
  }

  beginControlledShutdown(timeoutMs?: number): Promise<ControlledShutdownResult> {
    return this.membership.beginControlledShutdown(timeoutMs);
  }

  /** Runs the preferred leader election over every partition now, if this broker is the controller. */
  balanceLeaders(): Promise<boolean> {
    return this.controller.balanceLeaders();
  }

  private get writeVisibleTimeoutMs(): number {
    return this.options.writeVisibleTimeoutMs ?? 10_000;
  }

  private get logger(): Logger {
    return this.options.logger;
  }

  /** Runs an etcd call of a write; an etcd failure becomes KafkaError REQUEST_TIMED_OUT. */
  private async etcd<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KafkaError || err instanceof BrokerError) throw err;
      this.logger.warn({ err: (err as Error).message, what }, 'etcd call failed');
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `${what}: etcd at ${this.store.endpoints.join(',')} did not answer: ${(err as Error).message}`);
    }
  }

  private async visible(revision: number): Promise<MetadataImage> {
    return this.loader.waitForRevision(revision, this.writeVisibleTimeoutMs);
  }

  // ---- topics ----

  /** Creates a topic with its partitions (Kafka's CreateTopics rules); resolves with the topic once visible. */
  async createTopic(request: CreateTopicRequest): Promise<TopicImage> {
    const image = this.image;
    const { name } = request;
    if (image.topic(name) !== undefined) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    const topicId = request.topicId ?? randomTopicId();
    if (!/^[0-9a-f]{32}$/.test(topicId) || /^0+$/.test(topicId)) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid topic id ${topicId}`);
    const replicaLists = this.assignReplicas(image, request);
    const records: Array<Omit<PartitionRecord, 'version'>> = replicaLists.map((replicas, partition) => {
      const isr = replicas.filter((id) => image.isActive(id));
      return { topicId, partition, replicas, isr, leader: isr[0]!, leaderEpoch: 0, partitionEpoch: 0, leaderRecoveryState: LeaderRecoveryState.RECOVERED };
    });
    const tKey = topicKey(this.prefix, name);
    const topicValue = encodeTopicRecord({ name, topicId, configs: { ...(request.configs ?? {}) } });
    const partitionOps = (rs: typeof records): EtcdOp[] =>
      rs.map((r) => ({ type: 'put', key: partitionKey(this.prefix, topicId, r.partition), value: encodePartitionRecord(r) }));
    return this.etcd(`create topic ${name}`, async () => {
      let revision: number;
      if (records.length + 1 <= MAX_TXN_OPS) {
        const res = await this.store.txn(
          [{ key: tKey, target: 'create', result: '=', value: 0 }],
          [{ type: 'put', key: tKey, value: topicValue }, ...partitionOps(records)],
        );
        if (!res.succeeded) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
        revision = res.revision;
      } else {
        for (let i = 0; i < records.length; i += MAX_TXN_OPS) {
          await this.store.txn([], partitionOps(records.slice(i, i + MAX_TXN_OPS)));
        }
        const res = await this.store.txn([{ key: tKey, target: 'create', result: '=', value: 0 }], [{ type: 'put', key: tKey, value: topicValue }]);
        if (!res.succeeded) {
          await this.store.txn([], [{ type: 'deletePrefix', prefix: topicPartitionsPrefix(this.prefix, topicId) }]);
          throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
        }
        revision = res.revision;
      }
      const after = await this.visible(revision);
      this.logger.info({ topic: name, topicId, partitions: records.length }, 'topic created');
      return after.topicById(topicId)!;
    });
  }

  /** The replica lists of a new topic (ReplicationControlManager.createTopic's validation order and messages). */
  private assignReplicas(image: MetadataImage, request: CreateTopicRequest): number[][] {
    const assignments = request.assignments ?? [];
    const isRegistered = (id: number): boolean => image.broker(id) !== undefined;
    if (assignments.length > 0) {
      if (request.replicationFactor !== -1) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replication factor was not set to -1.');
      }
      if (request.numPartitions !== -1) {
        throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.');
      }
      const byPartition = new Map<number, number[]>();
      let replicationFactor: number | undefined;
      for (const a of assignments) {
        if (byPartition.has(a.partitionIndex)) {
          throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Found multiple manual partition assignments for partition ${a.partitionIndex}`);
        }
        validateManualAssignment(a.brokerIds, isRegistered, replicationFactor);
        replicationFactor = a.brokerIds.length;
        if (!a.brokerIds.some((id) => image.isActive(id))) {
          throw new KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `All brokers specified in the manual partition assignment for partition ${a.partitionIndex} are fenced or in controlled shutdown.`,
          );
        }
        byPartition.set(a.partitionIndex, [...a.brokerIds]);
      }
      const out: number[][] = [];
      for (let i = 0; i < byPartition.size; i++) {
        const replicas = byPartition.get(i);
        if (replicas === undefined) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence');
        out.push(replicas);
      }
      return out;
    }
    if (request.replicationFactor < -1 || request.replicationFactor === 0) {
      throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
    }
    if (request.numPartitions < -1 || request.numPartitions === 0) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
    }
    const numPartitions = request.numPartitions === -1 ? (this.options.defaultNumPartitions ?? 1) : request.numPartitions;
    const replicationFactor = request.replicationFactor === -1 ? (this.options.defaultReplicationFactor ?? 1) : request.replicationFactor;
    try {
      return this.place(image, numPartitions, replicationFactor);
    } catch (err) {
      if (err instanceof ReplicationFactorError) {
        throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, `Unable to replicate the partition ${replicationFactor} time(s): ${err.message}`);
      }
      throw err;
    }
  }

  private place(image: MetadataImage, numPartitions: number, replicationFactor: number): number[][] {
    const usable = image.brokers().filter((b) => !b.inControlledShutdown).map((b) => ({ brokerId: b.brokerId, rack: b.rack }));
    return placeReplicas(usable, numPartitions, replicationFactor, this.options.random);
  }

  /** Deletes a topic and its partitions; resolves once the image no longer shows it. */
  async deleteTopic(name: string): Promise<void> {
    await this.etcd(`delete topic ${name}`, async () => {
      // Bounded: a conflict means the topic changed (configs) between our read and our txn.
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const kv = await this.store.get(topicKey(this.prefix, name));
        if (kv === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
        const topic = decodeTopicRecord(kv.value, name);
        const res = await this.store.txn(
          [{ key: kv.key, target: 'mod', result: '=', value: kv.modRevision }],
          [{ type: 'delete', key: kv.key }, { type: 'deletePrefix', prefix: topicPartitionsPrefix(this.prefix, topic.topicId) }],
        );
        if (res.succeeded) {
          await this.visible(res.revision);
          this.logger.info({ topic: name, topicId: topic.topicId }, 'topic deleted');
          return;
        }
      }
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `delete topic ${name}: too many concurrent changes`);
    });
  }

  /** Adds partitions up to `totalCount` (Kafka's CreatePartitions rules); resolves with the topic once visible. */
  async createPartitions(name: string, totalCount: number, assignments?: number[][]): Promise<TopicImage> {
    const image = this.image;
    const topic = image.topic(name);
    if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
    const current = image.partitionsOf(topic.topicId);
    if (totalCount === current.length) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current.length} partition(s).`);
    if (totalCount < current.length) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `The topic ${name} currently has ${current.length} partition(s); ${totalCount} would not be an increase.`);
    }
    const additional = totalCount - current.length;
    if (assignments !== undefined && assignments.length !== additional) {
      throw new KafkaError(
        ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        `Attempted to add ${additional} additional partition(s), but only ${assignments.length} assignment(s) were specified.`,
      );
    }
    const replicationFactor = current[0]?.replicas.length ?? 1;
    const start = current.length;
    let replicaLists: number[][];
    if (assignments !== undefined) {
      replicaLists = assignments.map((replicas, i) => {
        validateManualAssignment(replicas, (id) => image.broker(id) !== undefined, replicationFactor);
        if (!replicas.some((id) => image.isActive(id))) {
          throw new KafkaError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            `All brokers specified in the manual partition assignment for partition ${start + i} are fenced or in controlled shutdown.`,
          );
        }
        return [...replicas];
      });
    } else {
      try {
        replicaLists = this.place(image, additional, replicationFactor);
      } catch (err) {
        if (err instanceof ReplicationFactorError) throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, err.message);
        throw err;
      }
    }
    const records = replicaLists.map((replicas, i): Omit<PartitionRecord, 'version'> => {
      const isr = replicas.filter((id) => image.isActive(id));
      if (isr.length === 0) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Unable to replicate the partition ${replicationFactor} time(s): All brokers are currently fenced or in controlled shutdown.`,
        );
      }
      return { topicId: topic.topicId, partition: start + i, replicas, isr, leader: isr[0]!, leaderEpoch: 0, partitionEpoch: 0, leaderRecoveryState: 0 };
    });
    const tKey = topicKey(this.prefix, name);
    return this.etcd(`create partitions of ${name}`, async () => {
      let revision = 0;
      // Each chunk: the topic is still the same topic, and none of its new partitions exists yet.
      const perTxn = MAX_TXN_OPS - 1;
      for (let i = 0; i < records.length; i += perTxn) {
        const chunk = records.slice(i, i + perTxn);
        const compares: EtcdCompare[] = [
          { key: tKey, target: 'create', result: '=', value: topic.createRevision },
          ...chunk.map((r): EtcdCompare => ({ key: partitionKey(this.prefix, topic.topicId, r.partition), target: 'create', result: '=', value: 0 })),
        ];
        const res = await this.store.txn(
          compares.slice(0, MAX_TXN_OPS),
          chunk.map((r): EtcdOp => ({ type: 'put', key: partitionKey(this.prefix, topic.topicId, r.partition), value: encodePartitionRecord(r) })),
        );
        if (!res.succeeded) {
          throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `The topic ${name} changed while its partitions were being created; try again.`);
        }
        revision = res.revision;
      }
      const after = await this.visible(revision);
      return after.topicById(topic.topicId)!;
    });
  }

  /**
   * Changes a topic's configs: a value sets a key, null removes it; mode 'replace' drops every key not given.
   * Resolves with the topic once visible.
   */
  async alterTopicConfigs(name: string, configs: Record<string, string | null>, mode: 'merge' | 'replace' = 'merge'): Promise<TopicImage> {
    return this.etcd(`alter configs of ${name}`, async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const kv = await this.store.get(topicKey(this.prefix, name));
        if (kv === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
        const topic = decodeTopicRecord(kv.value, name);
        const next: Record<string, string> = mode === 'replace' ? {} : { ...topic.configs };
        for (const [k, v] of Object.entries(configs)) {
          if (v === null) delete next[k];
          else next[k] = v;
        }
        const res = await this.store.txn(
          [{ key: kv.key, target: 'mod', result: '=', value: kv.modRevision }],
          [{ type: 'put', key: kv.key, value: encodeTopicRecord({ name, topicId: topic.topicId, configs: next }) }],
        );
        if (res.succeeded) return (await this.visible(res.revision)).topic(name)!;
      }
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `alter configs of ${name}: too many concurrent changes`);
    });
  }

  // ---- partitions ----

  /**
   * AlterPartition from a partition's leader (ISR shrink/expand), checked as Kafka's controller does
   * (validateAlterPartitionData), in this order:
   *   unknown topic id                                   UNKNOWN_TOPIC_ID
   *   unknown partition                                  UNKNOWN_TOPIC_OR_PARTITION
   *   leaderEpoch or partitionEpoch above the stored one NOT_CONTROLLER (the caller knows newer state: retry)
   *   leaderEpoch below the stored one                   FENCED_LEADER_EPOCH
   *   caller is not the stored leader                    INVALID_REQUEST
   *   partitionEpoch below the stored one                INVALID_UPDATE_VERSION
   *   ISR not a subset of the replicas / without leader  INVALID_REQUEST
   *   RECOVERING with more than one ISR member, or
   *     RECOVERED → RECOVERING                           INVALID_REQUEST
   *   a member not registered / in controlled shutdown /
   *     fenced / with another broker epoch              INELIGIBLE_REPLICA
   * Then the change is written (CAS on the partition's mod_revision) and the new state returned once visible;
   * an unchanged ISR writes nothing. A lost CAS is checked again against the newer state (bounded).
   */
  async alterPartition(request: AlterPartitionRequest): Promise<PartitionImage> {
    const key = partitionKey(this.prefix, request.topicId, request.partition);
    return this.etcd(`alter partition ${request.topicId}-${request.partition}`, async () => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        // Read the partition from etcd, then let the image catch up to that read so the broker checks below see
        // at least as much as the stored state does.
        const { kv, revision } = await this.store.read(key);
        const image = await this.visible(revision);
        if (image.topicById(request.topicId) === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.');
        if (kv === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
        const stored = decodePartitionRecord(kv.value, request.topicId, request.partition);
        this.validateAlterPartition(image, stored, request);
        const current: PartitionImage = { ...stored, modRevision: kv.modRevision };
        const leaderRecoveryState = request.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED;
        const after = buildPartitionChange(current, {
          election: uncleanElectionEnabled(image, request.topicId, this.options.controller?.uncleanLeaderElectionEnable ?? false) ? 'unclean' : 'online',
          isAcceptable: (id) => image.isActive(id),
          targetIsr: request.newIsr,
          targetLeaderRecoveryState: leaderRecoveryState,
        });
        if (after === undefined) return image.partition(request.topicId, request.partition) ?? current;
        const res = await this.store.txn(
          [{ key, target: 'mod', result: '=', value: kv.modRevision }],
          [{ type: 'put', key, value: encodePartitionRecord(after) }],
        );
        if (res.succeeded) {
          const visible = await this.visible(res.revision);
          return visible.partition(request.topicId, request.partition) ?? { ...after, modRevision: res.revision };
        }
      }
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'alter partition: too many concurrent changes');
    });
  }

  private validateAlterPartition(image: MetadataImage, stored: PartitionRecord, request: AlterPartitionRequest): void {
    const tp = `${image.topicById(request.topicId)?.name ?? request.topicId}-${request.partition}`;
    if (request.leaderEpoch > stored.leaderEpoch || request.partitionEpoch > stored.partitionEpoch) {
      throw new KafkaError(ErrorCode.NOT_CONTROLLER, `AlterPartition for ${tp} carries epochs newer than the stored ones`);
    }
    if (request.leaderEpoch < stored.leaderEpoch) {
      throw new KafkaError(ErrorCode.FENCED_LEADER_EPOCH, `The leader epoch of ${tp} is ${stored.leaderEpoch}, not ${request.leaderEpoch}.`);
    }
    if (request.leaderId !== stored.leader) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `The current leader of ${tp} is ${stored.leader}, not ${request.leaderId}.`);
    }
    if (request.partitionEpoch < stored.partitionEpoch) {
      throw new KafkaError(ErrorCode.INVALID_UPDATE_VERSION, `The partition epoch of ${tp} is ${stored.partitionEpoch}, not ${request.partitionEpoch}.`);
    }
    const unique = new Set(request.newIsr);
    if (request.newIsr.length === 0 || unique.size !== request.newIsr.length || request.newIsr.some((id) => !stored.replicas.includes(id))) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid ISR ${JSON.stringify(request.newIsr)} for ${tp}: it must be a non-empty subset of the replicas.`);
    }
    if (!unique.has(stored.leader)) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Invalid ISR ${JSON.stringify(request.newIsr)} for ${tp}: it does not include the leader ${stored.leader}.`);
    }
    const recovery = request.leaderRecoveryState ?? LeaderRecoveryState.RECOVERED;
    if (recovery === LeaderRecoveryState.RECOVERING && request.newIsr.length > 1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `The ISR of ${tp} cannot have more than one replica while the leader is recovering.`);
    }
    if (stored.leaderRecoveryState === LeaderRecoveryState.RECOVERED && recovery === LeaderRecoveryState.RECOVERING) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `The leader recovery state of ${tp} cannot change from RECOVERED to RECOVERING.`);
    }
    const ineligible: string[] = [];
    request.newIsr.forEach((id, i) => {
      const reg = image.broker(id);
      const epoch = request.newIsrBrokerEpochs?.[i] ?? -1;
      if (reg === undefined) ineligible.push(`${id} (not registered)`);
      else if (reg.inControlledShutdown) ineligible.push(`${id} (shutting down)`);
      else if (reg.fenced) ineligible.push(`${id} (fenced)`);
      else if (epoch !== -1 && epoch !== reg.brokerEpoch) ineligible.push(`${id} (broker epoch mismatch: requested=${epoch} VS expected=${reg.brokerEpoch})`);
    });
    if (ineligible.length > 0) {
      throw new KafkaError(ErrorCode.INELIGIBLE_REPLICA, `The new ISR of ${tp} has ineligible replicas: ${ineligible.join(', ')}.`);
    }
  }

  /**
   * ElectLeaders (ReplicationControlManager.electLeader), per partition:
   *   unknown topic / partition                    UNKNOWN_TOPIC_OR_PARTITION "No such topic as T" / "No such partition as T-P"
   *   PREFERRED and replicas[0] already leads      ELECTION_NOT_NEEDED
   *   UNCLEAN and the partition has a leader       ELECTION_NOT_NEEDED
   *   no valid leader found                        PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE
   *   otherwise the new leader is written          NONE
   * `partitions` null = every partition; then partitions answering ELECTION_NOT_NEEDED are left out (Kafka).
   */
  async electLeaders(electionType: number, partitions: Array<{ topic: string; partition: number }> | null): Promise<ElectionResult[]> {
    if (electionType !== ElectionType.PREFERRED && electionType !== ElectionType.UNCLEAN) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Unknown election type ${electionType}`);
    }
    const image = this.image;
    const all = partitions === null;
    const targets = partitions ?? image.topics().flatMap((t) => image.partitionsOf(t.topicId).map((p) => ({ topic: t.name, partition: p.partition })));
    const results = await Promise.all(targets.map((t) => this.electLeader(electionType, t.topic, t.partition)));
    return all ? results.filter((r) => r.errorCode !== ErrorCode.ELECTION_NOT_NEEDED) : results;
  }

  private async electLeader(electionType: number, topicName: string, partition: number): Promise<ElectionResult> {
    const result = (errorCode: number, errorMessage: string | null): ElectionResult => ({ topic: topicName, partition, errorCode, errorMessage });
    try {
      return await this.etcd(`elect leader of ${topicName}-${partition}`, async () => {
        for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
          const topic = this.image.topic(topicName);
          if (topic === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such topic as ${topicName}`);
          const key = partitionKey(this.prefix, topic.topicId, partition);
          if (!Number.isInteger(partition) || partition < 0) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition as ${topicName}-${partition}`);
          const { kv, revision } = await this.store.read(key);
          const image = await this.visible(revision);
          if (kv === undefined) return result(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `No such partition as ${topicName}-${partition}`);
          const stored: PartitionImage = { ...decodePartitionRecord(kv.value, topic.topicId, partition), modRevision: kv.modRevision };
          if (electionType === ElectionType.PREFERRED ? stored.leader === stored.replicas[0] : stored.leader !== NO_LEADER) {
            return result(ErrorCode.ELECTION_NOT_NEEDED, ELECTION_NOT_NEEDED_MESSAGE);
          }
          const after = buildPartitionChange(stored, {
            election: electionType === ElectionType.PREFERRED ? 'preferred' : 'unclean',
            isAcceptable: (id) => image.isActive(id),
          });
          if (after === undefined || after.leader === stored.leader) {
            return electionType === ElectionType.PREFERRED
              ? result(ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, PREFERRED_LEADER_NOT_AVAILABLE_MESSAGE)
              : result(ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE_MESSAGE);
          }
          const res = await this.store.txn([{ key, target: 'mod', result: '=', value: kv.modRevision }], [{ type: 'put', key, value: encodePartitionRecord(after) }]);
          if (res.succeeded) {
            await this.visible(res.revision);
            return result(ErrorCode.NONE, null);
          }
        }
        return result(ErrorCode.REQUEST_TIMED_OUT, 'too many concurrent changes');
      });
    } catch (err) {
      if (err instanceof KafkaError) return result(err.errorCode, err.message);
      throw err;
    }
  }

  // ---- producer ids ----

  /** A block of 1000 producer ids no other broker gets (ProducerIdControlManager). */
  async allocateProducerIdBlock(): Promise<{ firstProducerId: bigint; size: number }> {
    const key = producerIdsKey(this.prefix);
    return this.etcd('allocate producer ids', async () => {
      // Bounded: each conflict means another broker just took a block.
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS * 3; attempt++) {
        const kv = await this.store.get(key);
        const first = kv === undefined ? 0n : decodeProducerIdsRecord(kv.value).nextProducerIdValue;
        if (first > INT64_MAX - BigInt(PRODUCER_ID_BLOCK_SIZE)) {
          throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, "Exhausted all producerIds as the next block's end producerId is has exceeded the int64 type limit");
        }
        const compare: EtcdCompare = kv === undefined ? { key, target: 'create', result: '=', value: 0 } : { key, target: 'mod', result: '=', value: kv.modRevision };
        const value = encodeProducerIdsRecord({ brokerId: this.nodeId, brokerEpoch: this.brokerEpoch, nextProducerId: first + BigInt(PRODUCER_ID_BLOCK_SIZE) });
        const res = await this.store.txn([compare], [{ type: 'put', key, value }]);
        if (res.succeeded) return { firstProducerId: first, size: PRODUCER_ID_BLOCK_SIZE };
        await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 20)));
      }
      throw new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'allocate producer ids: too many concurrent allocations');
    });
  }

  // ---- lifecycle ----

  /** Leaves the cluster: stops the controller, revokes the lease (deleting this broker's keys), disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
    await this.membership.close();
    this.loader.close();
    this.store.close();
  }

  /**
   * Test hook: disconnect without revoking the lease, as a process killed with -9 would; the lease expires in etcd
   * after its TTL and the controller reacts then.
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.close();
    this.membership.abandon();
    this.loader.close();
    this.store.close();
  }
}

/** Reads `<p>/cluster-id`, creating it (create-if-absent) with a fresh id in the broker's format when absent. */
async function ensureClusterId(store: EtcdStore, prefix: string): Promise<string> {
  const key = clusterIdKey(prefix);
  const res = await store.txn(
    [{ key, target: 'create', result: '=', value: 0 }],
    // Same format as src/metadata/cluster-identity.ts: 16 random bytes, base64url (22 characters).
    [{ type: 'put', key, value: encodeClusterIdRecord({ clusterId: randomBytes(16).toString('base64url') }) }],
    [{ type: 'get', key }],
  );
  if (res.succeeded) {
    const kv = await store.get(key);
    if (kv !== undefined) return decodeClusterIdRecord(kv.value).clusterId;
  }
  const existing = res.gets[0];
  if (existing === undefined) throw new BrokerError('METADATA_CORRUPT', `${key} vanished while being read`);
  try {
    return decodeClusterIdRecord(existing.value).clusterId;
  } catch (err) {
    throw new BrokerError('METADATA_CORRUPT', `${key} in etcd is unreadable: ${(err as Error).message}`);
  }
}

export type { ControlledShutdownResult } from './membership.js';
export type { ControllerOptions } from './controller.js';
