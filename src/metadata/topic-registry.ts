// The topics this broker hosts: name, topic id, partition count and topic configs — persisted, restored on start.
//
// On-disk format: `<dataDir>/topic-metadata.json`, rewritten whole on every change (write to `.tmp`, fsync,
// rename, fsync the directory), so a crash leaves either the old or the new file, never a torn one:
//   { "version": 1,
//     "topics": [ { "name": "orders", "topicId": "<32 hex chars>", "partitions": 3, "configs": { "k": "v" } } ] }
// A reader that finds a `version` other than 1 refuses to start (BrokerError METADATA_VERSION) rather than guess.
// Kafka keeps this in its KRaft metadata log; one small JSON file is enough for a single broker. In a cluster
// (`cluster` option, cluster/) there is no file: every change is committed to the cluster metadata (etcd) and this
// registry mirrors it (applyClusterTopic / removeClusterTopic, in metadata order); the logs of the partitions this
// broker hosts are created and deleted by the cluster member (cluster/cluster-member.ts), not here.
//
// Every partition of a registered topic has a log in LogManager; `open()` creates any that are missing (a crash
// between writing this file and creating a partition directory) so the two always agree after start.
//
// Creating a topic, as Kafka splits it between the controller and the brokers:
//
//   step (createTopic)                       serialised?   what other requests see after it
//   1 validate, check the partition limits,  yes: one      nothing yet; a failure answers the request
//     write this file, publish the topic     mutation at
//                                            a time
//   2 create the partition logs, at most     no            the topic exists (Metadata lists it, CreateTopics of the
//     CREATE_LOGS_CONCURRENCY at a time,                   name is TOPIC_ALREADY_EXISTS, DeleteTopics deletes it);
//     then one fsync of the data dir                       a partition whose log is not created yet answers
//                                                          UNKNOWN_TOPIC_OR_PARTITION (retriable) to Produce/Fetch
//   3 answer the CreateTopics (or the auto-creating Metadata)
//
// Kafka answers CreateTopics once the controller has committed the topic (step 1) and brokers create logs as
// they see it, so clients may meanwhile get retriable errors; Eddy answers after step 2 so that the creator can use
// the topic at once, while unrelated CreateTopics, DeleteTopics and auto-creating Metadata requests only wait for
// step 1 (a few ms) instead of for the whole creation (a 32,898-partition request takes seconds). A log that cannot be
// created (a full disk) goes offline and is retried (KAFKA_STORAGE_ERROR for that partition meanwhile); the topic
// stays created. Deleting a topic whose logs are still being created stops the creation first.
//
// Adding partitions (createPartitions, CreatePartitions) takes the same two steps: step 1 writes the new count to
// this file and publishes it (Metadata lists the new partitions, so producers and consumer groups find them at their
// next metadata refresh), step 2 creates the new partitions' logs, after any creation or growth of the same topic
// still running; a deletion stops all of them. A crash between the two is repaired at start like a creation's.
//
// Limits (checked in step 1, also for validateOnly): at most MAX_PARTITIONS_PER_TOPIC per topic, and at most
// `max.broker.partitions` on the broker, counting every registered topic. KIP-578 proposed `max.broker.partitions`
// and `max.partitions` (cluster-wide; the same thing on a single broker) but Kafka 3.9 implements neither; Eddy uses
// the KIP's name and answers INVALID_PARTITIONS with a message naming the limit (the KIP's error code was never
// added to Kafka).
//
// Reserved names (Kafka's rules, see CLUSTER_METADATA_TOPIC_NAME, INTERNAL_TOPIC_NAMES, BROKER_OWNED_TOPIC_NAMES):
// `__cluster_metadata` is never a topic; `__consumer_offsets` and `__transaction_state` belong to the broker's
// coordinators and are never created on a client's behalf: only createInternalTopic() creates them, for their
// coordinator (the transaction coordinator creates `__transaction_state` on its first FindCoordinator, as Kafka
// does). Any other name starting with `__` is an ordinary topic, as in Kafka (e.g. Debezium's
// `__debezium-heartbeat.*`, created by auto-creation).
import { randomUUID } from 'node:crypto';
import { ownBytes } from '../protocol/own-bytes.js';
import path from 'node:path';
import type { Logger } from 'pino';
import { BrokerError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../log/log-manager.js';
import type { LogConfig } from '../log/log-config.js';
import { logConfigFor, maxMessageBytesFor, validateTopicConfigs } from './topic-config.js';
import { readJsonFile, writeFileAtomically } from './metadata-fs.js';
import type { DynamicBrokerConfig } from './dynamic-broker-config.js';

export interface TopicInfo {
  readonly name: string;
  /** 16-byte UUID. */
  readonly topicId: Buffer;
  readonly partitions: number;
  readonly configs: Readonly<Record<string, string>>;
  /** Effective `max.message.bytes`. */
  readonly maxMessageBytes: number;
  /** Effective log settings (topic configs over broker defaults). */
  readonly logConfig: LogConfig;
}

interface PersistedTopic {
  name: string;
  topicId: string;
  partitions: number;
  configs: Record<string, string>;
}

const FILE_NAME = 'topic-metadata.json';
const FORMAT_VERSION = 1;
const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL_TOPIC_CHARS = /^[a-zA-Z0-9._-]+$/;
/**
 * Kafka sets no upper bound, but a request asking for 2^31 partitions would make this broker create that many
 * directories; a bound keeps one bad request from exhausting the disk or hanging the broker.
 */
export const MAX_PARTITIONS_PER_TOPIC = 100_000;
/** Default `max.broker.partitions` (KIP-578's name): every partition of every topic on this broker. */
export const DEFAULT_MAX_BROKER_PARTITIONS = 200_000;
/** Partition logs of one topic created at once (each is a mkdir and three file creates on the thread pool). */
const CREATE_LOGS_CONCURRENCY = 8;

/** Kafka's topic-name rules (org.apache.kafka.common.internals.Topic.validate, 3.9 messages). Returns the reason, or null. */
export function topicNameProblem(name: string): string | null {
  const reason =
    name.length === 0 ? 'the empty string is not allowed'
    : name === '.' ? "'.' is not allowed"
    : name === '..' ? "'..' is not allowed"
    : name.length > MAX_TOPIC_NAME_LENGTH ? `the length of '${name}' is longer than the max allowed length ${MAX_TOPIC_NAME_LENGTH}`
    : !LEGAL_TOPIC_CHARS.test(name) ? `'${name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'`
    : null;
  return reason === null ? null : `Topic name is invalid: ${reason}`;
}

/** KRaft's metadata log; never a topic (ControllerApis refuses to create it). */
export const CLUSTER_METADATA_TOPIC_NAME = '__cluster_metadata';

/** Kafka's Topic.INTERNAL_TOPICS: Metadata reports these names with isInternal = true, by name, as Kafka does. */
const INTERNAL_TOPIC_NAMES: ReadonlySet<string> = new Set(['__consumer_offsets', '__transaction_state', '__share_group_state']);

export function isInternalTopic(name: string): boolean {
  return INTERNAL_TOPIC_NAMES.has(name);
}

/**
 * The internal topics whose coordinators this broker runs (or will run: the exactly-once issue makes them real
 * topics). Kafka creates them itself, with their own configs, and never as a user's topic. A Kafka cluster whose
 * coordinators answer has them, so CreateTopics treats them as existing (TOPIC_ALREADY_EXISTS, and a '.'/'_' variant
 * collides with them); Metadata does not auto-create them and, until their coordinator has created one
 * (createInternalTopic), answers UNKNOWN_TOPIC_OR_PARTITION for it (Kafka's answer while it is still creating one);
 * once created it is listed like any topic, with isInternal = true. `__share_group_state` is not among
 * them: Kafka 3.9 has no share groups enabled, so it is an ordinary name there too.
 */
const BROKER_OWNED_TOPIC_NAMES: readonly string[] = ['__consumer_offsets', '__transaction_state'];

export function isBrokerOwnedTopic(name: string): boolean {
  return BROKER_OWNED_TOPIC_NAMES.includes(name);
}

/** Kafka treats '.' and '_' as colliding because both map to '_' in metric names (Topic.unifyCollisionChars). */
function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

/** One CreateTopics entry (or an auto-creation), as the request gives it. */
export interface TopicCreation {
  name: string;
  /** -1: the broker's `num.partitions` (KIP-464). */
  numPartitions: number;
  /** -1: the default replication factor, 1. */
  replicationFactor: number;
  /** Manual assignment, in request order; empty = none. */
  assignments: ReadonlyArray<{ partitionIndex: number; brokerIds: readonly number[] }>;
  configs: Record<string, string | null>;
}

/** One CreatePartitions entry, as the request gives it. */
export interface PartitionGrowth {
  name: string;
  /** The partition count wanted (the new total). */
  count: number;
  /** The replicas of each new partition, in partition order; null = placed by the broker. */
  assignments: ReadonlyArray<readonly number[]> | null;
}

/** What placement needs to know about the cluster: the registered brokers, `num.partitions`, `default.replication.factor`. */
export interface ClusterView {
  brokerIds: readonly number[];
  defaultNumPartitions: number;
  /** Default 1 (a single broker). */
  defaultReplicationFactor?: number;
}

const DEFAULT_REPLICATION_FACTOR = 1;

/**
 * The partition count of a new topic, validated as ReplicationControlManager.createTopic and
 * validateManualPartitionAssignment (Kafka 3.9) validate, with their messages. On a single broker every replica set
 * is exactly the one registered broker; in a cluster the replicas are placed by the cluster metadata
 * (cluster/placement.ts) from the same checked request.
 */
export function placePartitions(t: TopicCreation, cluster: ClusterView): number {
  if (t.assignments.length > 0) {
    if (t.replicationFactor !== -1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but replication factor was not set to -1.');
    }
    if (t.numPartitions !== -1) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'A manual partition assignment was specified, but numPartitions was not set to -1.');
    }
    const assigned = new Set<number>();
    let replicationFactor: number | undefined;
    for (const a of t.assignments) {
      if (assigned.has(a.partitionIndex)) {
        throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Found multiple manual partition assignments for partition ${a.partitionIndex}`);
      }
      validateReplicas(a.brokerIds, replicationFactor, cluster);
      replicationFactor = a.brokerIds.length;
      assigned.add(a.partitionIndex);
    }
    for (let i = 0; i < assigned.size; i++) {
      if (!assigned.has(i)) throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions should be a consecutive 0-based integer sequence');
    }
    return assigned.size;
  }
  if (t.replicationFactor < -1 || t.replicationFactor === 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0, or -1 to use the default value.');
  }
  if (t.numPartitions < -1 || t.numPartitions === 0) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions was set to an invalid non-positive value.');
  }
  const partitions = t.numPartitions === -1 ? cluster.defaultNumPartitions : t.numPartitions;
  const replicationFactor = t.replicationFactor === -1 ? (cluster.defaultReplicationFactor ?? DEFAULT_REPLICATION_FACTOR) : t.replicationFactor;
  if (replicationFactor > cluster.brokerIds.length) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICATION_FACTOR,
      `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only ${cluster.brokerIds.length} broker(s) are registered.`,
    );
  }
  if (partitions > MAX_PARTITIONS_PER_TOPIC) {
    throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${MAX_PARTITIONS_PER_TOPIC}.`);
  }
  return partitions;
}

/** validateManualPartitionAssignment: non-empty, registered brokers (checked in id order), no repeats, same size. */
function validateReplicas(brokerIds: readonly number[], replicationFactor: number | undefined, cluster: ClusterView): void {
  if (brokerIds.length === 0) {
    throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'The manual partition assignment includes an empty replica list.');
  }
  const sorted = [...brokerIds].sort((a, b) => a - b);
  let previous: number | undefined;
  for (const id of sorted) {
    if (!cluster.brokerIds.includes(id)) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes broker ${id}, but no such broker is registered.`);
    }
    if (id === previous) {
      throw new KafkaError(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `The manual partition assignment includes the broker ${id} more than once.`);
    }
    previous = id;
  }
  if (replicationFactor !== undefined && sorted.length !== replicationFactor) {
    throw new KafkaError(
      ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      `The manual partition assignment includes a partition with ${sorted.length} replica(s), but this is not consistent with previous partitions, which have ${replicationFactor} replica(s).`,
    );
  }
}

export interface TopicRegistryOptions {
  dataDir: string;
  logs: LogManager;
  logger: Logger;
  defaultLogConfig: LogConfig;
  messageMaxBytes: number;
  /** `max.broker.partitions`; default DEFAULT_MAX_BROKER_PARTITIONS. */
  maxBrokerPartitions?: number;
  /** The broker's dynamic configs (DescribeConfigs / AlterConfigs reach them through the registry). */
  brokerConfigs?: DynamicBrokerConfig;
  /**
   * Cluster mode (cluster/): topics are committed to the cluster metadata instead of the local file, and this
   * registry mirrors what the metadata holds (applyClusterTopic / removeClusterTopic, called in metadata order).
   */
  cluster?: TopicClusterWriter;
}

/**
 * How a registry in cluster mode commits (cluster/cluster-topics.ts). Each call resolves once this broker's view of
 * the cluster metadata shows the result (so the registry already lists it), with a KafkaError per entry that the
 * cluster refused (TOPIC_ALREADY_EXISTS when another broker created the name first, INVALID_REPLICATION_FACTOR …).
 */
export interface TopicClusterWriter {
  createTopics(topics: ReadonlyArray<{ topic: TopicInfo; creation: TopicCreation }>): Promise<Array<KafkaError | undefined>>;
  createPartitions(growths: ReadonlyArray<{ topic: TopicInfo; assignments: ReadonlyArray<readonly number[]> | null }>): Promise<Array<KafkaError | undefined>>;
  deleteTopic(topic: TopicInfo): Promise<void>;
  alterTopicConfigs(topic: TopicInfo): Promise<void>;
  /** Internal topics take their own replication factor (offsets.topic.replication.factor …). */
  createInternalTopic(topic: TopicInfo): Promise<KafkaError | undefined>;
}

/** A topic whose partition logs are being created (step 2 above). */
interface LogCreation {
  cancelled: boolean;
  /** Its logs are being created (topics of one request are created one after another). */
  started: boolean;
  done: Promise<void>;
  /** The topic's creation (or growth) that was still running when this growth began; this one runs after it. */
  previous?: LogCreation;
}

export class TopicRegistry {
  private readonly byName = new Map<string, TopicInfo>();
  private readonly byIdHex = new Map<string, TopicInfo>();
  private readonly byCollisionKey = new Map<string, string>();
  /** Serialises mutations so the file is always rewritten from a consistent map. */
  private mutationChain: Promise<unknown> = Promise.resolve();
  /** Partitions of every registered topic (checked against max.broker.partitions). */
  private partitionTotal = 0;
  private readonly creations = new Map<string, LogCreation>();

  private constructor(private readonly options: TopicRegistryOptions) {}

  /** The persisted topics (empty for a new data dir). */
  private static async readPersisted(dataDir: string): Promise<PersistedTopic[]> {
    const file = path.join(dataDir, FILE_NAME);
    const persisted = await readJsonFile(file);
    if (persisted === undefined) return [];
    const doc = persisted as { version?: unknown; topics?: PersistedTopic[] };
    if (doc.version !== FORMAT_VERSION || !Array.isArray(doc.topics)) {
      throw new BrokerError('METADATA_VERSION', `${file}: unsupported format version ${String(doc.version)}`);
    }
    return doc.topics;
  }

  /** Each persisted topic's log settings, read before the logs load so that they load with them. */
  static async readLogConfigs(dataDir: string, defaultLogConfig: LogConfig): Promise<Map<string, LogConfig>> {
    const topics = await TopicRegistry.readPersisted(dataDir);
    return new Map(topics.map((t) => [t.name, logConfigFor(t.configs, defaultLogConfig)]));
  }

  static async open(options: TopicRegistryOptions): Promise<TopicRegistry> {
    const registry = new TopicRegistry(options);
    // In a cluster the topics come from the cluster metadata; the local logs are reconciled with it there.
    if (options.cluster !== undefined) return registry;
    for (const t of await TopicRegistry.readPersisted(options.dataDir)) {
      registry.remember(t.name, Buffer.from(t.topicId, 'hex'), t.partitions, t.configs);
    }
    for (const topic of registry.byName.values()) {
      options.logs.updateConfig(topic.name, topic.logConfig);
      for (let p = 0; p < topic.partitions; p++) {
        if (options.logs.getLog(topic.name, p) === undefined) await options.logs.ensureLogAtStartup(topic.name, p, topic.logConfig);
      }
    }
    // Partition directories of topics this file does not list are leftovers of a deletion that a crash
    // interrupted (the file is rewritten before the directories go). Kafka never serves such logs; a topic created
    // later under the same name must start empty, so they are removed now.
    const orphans = new Set(options.logs.listLogs().map((log) => log.topic).filter((t) => !registry.byName.has(t)));
    for (const topic of orphans) {
      options.logger.warn({ topic }, 'removing the logs of a topic that is no longer registered (interrupted deletion)');
      await options.logs.deleteLogs(topic);
    }
    return registry;
  }

  get(name: string): TopicInfo | undefined {
    return this.byName.get(name);
  }

  getById(topicId: Buffer): TopicInfo | undefined {
    return this.byIdHex.get(topicId.toString('hex'));
  }

  list(): TopicInfo[] {
    return [...this.byName.values()];
  }

  /** Partitions of all registered topics. */
  get totalPartitions(): number {
    return this.partitionTotal;
  }

  get maxBrokerPartitions(): number {
    return this.options.maxBrokerPartitions ?? DEFAULT_MAX_BROKER_PARTITIONS;
  }

  /** True while the topic's partition logs are still being created (step 2 above). */
  isCreatingLogs(name: string): boolean {
    return this.creations.has(name);
  }

  /**
   * Validates and (unless validateOnly) creates a topic with its partition logs, checking in Kafka's order (the
   * controller's createTopics): the name, collisions, existence, the configs, then the assignment, replication factor
   * and partition count. Throws KafkaError with Kafka's codes and messages: INVALID_REQUEST (`__cluster_metadata`,
   * assignment combined with counts), INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_CONFIG,
   * INVALID_REPLICA_ASSIGNMENT, INVALID_REPLICATION_FACTOR, INVALID_PARTITIONS.
   */
  async createTopic(creation: TopicCreation, cluster: ClusterView, validateOnly = false): Promise<TopicInfo> {
    const [result] = await this.createTopics([creation], cluster, validateOnly);
    if (result instanceof KafkaError) throw result;
    return result!;
  }

  /**
   * createTopic for the topics of one CreateTopics request, in order: one metadata-file write for all of them,
   * then their logs (one topic after another), answered when all exist. Each entry is the topic or its KafkaError.
   */
  async createTopics(creations: readonly TopicCreation[], cluster: ClusterView, validateOnly = false): Promise<Array<TopicInfo | KafkaError>> {
    const results = await this.commitTopics(creations, cluster, validateOnly);
    if (!validateOnly) {
      for (const r of results) if (!(r instanceof KafkaError)) await this.creations.get(r.name)?.done;
    }
    return results;
  }

  /** Step 1 (serialised): validates, checks the limits, writes the file, publishes, and starts step 2. */
  private commitTopics(creations: readonly TopicCreation[], cluster: ClusterView, validateOnly: boolean): Promise<Array<TopicInfo | KafkaError>> {
    return this.mutate(async () => {
      const accepted: TopicInfo[] = [];
      const acceptedCollisions = new Map<string, string>();
      let acceptedPartitions = 0;
      const results = creations.map((creation): TopicInfo | KafkaError => {
        try {
          const topic = this.validateCreation(creation, cluster, accepted, acceptedCollisions, acceptedPartitions);
          accepted.push(topic);
          acceptedCollisions.set(collisionKey(topic.name), topic.name);
          acceptedPartitions += topic.partitions;
          return topic;
        } catch (err) {
          if (err instanceof KafkaError) return err;
          throw err;
        }
      });
      if (validateOnly || accepted.length === 0) return results;

      const writer = this.options.cluster;
      if (writer !== undefined) {
        const creationOf = new Map(creations.map((c) => [c.name, c]));
        const outcomes = await writer.createTopics(accepted.map((topic) => ({ topic, creation: creationOf.get(topic.name)! })));
        const failed = new Map(accepted.map((t, i) => [t.name, outcomes[i]]));
        return results.map((r) => (r instanceof KafkaError ? r : (failed.get(r.name) ?? this.byName.get(r.name) ?? r)));
      }
      await this.persistAndPublish(accepted);
      return results;
    });
  }

  /**
   * The file first, then the maps (the topics exist), then their logs outside the mutation chain (one topic after
   * another). A crash before the logs exist is repaired at start (open() creates missing logs).
   */
  private async persistAndPublish(accepted: readonly TopicInfo[]): Promise<void> {
    await this.persist([...this.list(), ...accepted]);
    let previous: Promise<void> = Promise.resolve();
    for (const topic of accepted) {
      this.publish(topic);
      const state: LogCreation = { cancelled: false, started: false, done: Promise.resolve() };
      this.creations.set(topic.name, state);
      const after = previous;
      state.done = after.then(() => this.createLogs(topic, state));
      previous = state.done.catch(() => undefined);
      this.options.logger.info({ topic: topic.name, partitions: topic.partitions, topicId: topic.topicId.toString('hex') }, 'topic created');
    }
  }

  /**
   * Creates one of the broker's own topics (`__transaction_state`, `__consumer_offsets`) with the configs its
   * coordinator requires, as Kafka's AutoTopicCreationManager does when a coordinator is first looked up. It is
   * the only way these names become topics: clients get TOPIC_ALREADY_EXISTS from CreateTopics and no
   * auto-creation from Metadata (see the header). The client rules (name checks, `max.broker.partitions`) do not
   * apply; the configs are validated as any topic's. Returns the topic once its partition logs exist; an existing
   * topic is returned as it is (created earlier or concurrently), whatever its partition count.
   */
  async createInternalTopic(name: string, partitions: number, configs: Record<string, string>): Promise<TopicInfo> {
    if (!isBrokerOwnedTopic(name)) throw new Error(`${name} is not one of the broker's internal topics`);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS_PER_TOPIC) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be in [1, ${MAX_PARTITIONS_PER_TOPIC}].`);
    }
    const topic = await this.mutate(async () => {
      const existing = this.byName.get(name);
      if (existing !== undefined) return existing;
      const validConfigs = validateTopicConfigs(configs);
      const created = this.describe(name, Buffer.from(randomUUID().replaceAll('-', ''), 'hex'), partitions, validConfigs);
      if (this.options.cluster !== undefined) {
        const refused = await this.options.cluster.createInternalTopic(created);
        // Created meanwhile by another broker: that one is the topic.
        const existing = this.byName.get(name);
        if (existing !== undefined) return existing;
        throw refused ?? new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, `${name} is not available yet`);
      }
      await this.persistAndPublish([created]);
      return created;
    });
    await this.creations.get(name)?.done;
    return topic;
  }

  /**
   * Grows topics to the partition counts asked (CreatePartitions), checking in Kafka's order
   * (ReplicationControlManager.createPartitions) against the registry plus the growths accepted before it in the
   * same call. Like a creation: one serialised step validates, writes the file and publishes the new counts (the
   * new partitions are in Metadata from then on), then the new partition logs are created outside it (after any
   * creation or growth of the same topic still running) and the call resolves once they exist. Each entry is the
   * grown topic or its KafkaError: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST (the broker's own topics, see
   * below), INVALID_PARTITIONS (not an increase, or a limit), INVALID_REPLICA_ASSIGNMENT.
   *
   * Deliberate difference: `__consumer_offsets` and `__transaction_state` cannot grow. Kafka 3.9 lets them, and its
   * coordinators keep using the count they started with until a restart, when every group and transactional id
   * whose hash lands elsewhere loses its state; here the coordinators follow the live count, so the damage would
   * be immediate.
   */
  async createPartitions(growths: readonly PartitionGrowth[], cluster: ClusterView, validateOnly = false): Promise<Array<TopicInfo | KafkaError>> {
    const results = await this.mutate(async () => {
      const grown = new Map<string, { topic: TopicInfo; firstPartition: number }>();
      let acceptedPartitions = 0;
      const outcomes = growths.map((growth): TopicInfo | KafkaError => {
        try {
          const current = grown.get(growth.name)?.topic ?? this.byName.get(growth.name);
          const topic = this.validateGrowth(growth, current, cluster, acceptedPartitions);
          acceptedPartitions += topic.partitions - current!.partitions;
          grown.set(topic.name, { topic, firstPartition: grown.get(topic.name)?.firstPartition ?? current!.partitions });
          return topic;
        } catch (err) {
          if (err instanceof KafkaError) return err;
          throw err;
        }
      });
      if (validateOnly || grown.size === 0) return outcomes;

      const writer = this.options.cluster;
      if (writer !== undefined) {
        const entries = [...grown.values()].map(({ topic }) => ({ topic, assignments: growths.find((g) => g.name === topic.name)?.assignments ?? null }));
        const refused = await writer.createPartitions(entries);
        const failed = new Map(entries.map((e, i) => [e.topic.name, refused[i]]));
        return outcomes.map((r) => (r instanceof KafkaError ? r : (failed.get(r.name) ?? this.byName.get(r.name) ?? r)));
      }
      await this.persist(this.list().map((t) => grown.get(t.name)?.topic ?? t));
      let previousInRequest: Promise<unknown> = Promise.resolve();
      for (const { topic, firstPartition } of grown.values()) {
        this.publish(topic);
        const previous = this.creations.get(topic.name);
        const state: LogCreation = { cancelled: false, started: false, done: Promise.resolve(), previous };
        this.creations.set(topic.name, state);
        const after = Promise.all([previousInRequest, previous?.done.catch(() => undefined)]);
        state.done = after.then(() => this.createLogs(topic, state, firstPartition));
        previousInRequest = state.done.catch(() => undefined);
        this.options.logger.info({ topic: topic.name, partitions: topic.partitions, added: topic.partitions - firstPartition }, 'partitions added');
      }
      return outcomes;
    });
    if (!validateOnly) {
      for (const r of results) if (!(r instanceof KafkaError)) await this.creations.get(r.name)?.done;
    }
    return results;
  }

  /** The checks of one growth (ReplicationControlManager.createPartitions, 3.9 messages), then Eddy's limits. */
  private validateGrowth(growth: PartitionGrowth, current: TopicInfo | undefined, cluster: ClusterView, acceptedPartitions: number): TopicInfo {
    // No message: Kafka's ApiError drops the exception's default one.
    if (current === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const name = current.name;
    if (isBrokerOwnedTopic(name)) {
      throw new KafkaError(
        ErrorCode.INVALID_REQUEST,
        `Partitions cannot be added to the internal topic ${name}: its partition count decides which partition holds each coordinator key.`,
      );
    }
    if (growth.count === current.partitions) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current.partitions} partition(s).`);
    }
    if (growth.count < current.partitions) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `The topic ${name} currently has ${current.partitions} partition(s); ${growth.count} would not be an increase.`);
    }
    const additional = growth.count - current.partitions;
    if (growth.assignments !== null) {
      if (growth.assignments.length !== additional) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Attempted to add ${additional} additional partition(s), but only ${growth.assignments.length} assignment(s) were specified.`,
        );
      }
      // The new partitions keep the topic's replication factor (on a single broker: 1, this broker; in a cluster
      // the cluster metadata checks it against the topic's existing partitions).
      for (const brokerIds of growth.assignments) validateReplicas(brokerIds, this.options.cluster === undefined ? DEFAULT_REPLICATION_FACTOR : undefined, cluster);
    }
    if (growth.count > MAX_PARTITIONS_PER_TOPIC) {
      throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${MAX_PARTITIONS_PER_TOPIC}.`);
    }
    const limit = this.maxBrokerPartitions;
    const existing = this.partitionTotal + acceptedPartitions;
    if (existing + additional > limit) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `Adding ${additional} partition(s) would exceed the broker's partition limit: max.broker.partitions is ${limit} and ${existing} partition(s) exist.`,
      );
    }
    return this.describe(name, current.topicId, growth.count, { ...current.configs });
  }

  /** The checks of one creation, in Kafka's order, against the registry plus the topics accepted before it. */
  private validateCreation(
    creation: TopicCreation,
    cluster: ClusterView,
    accepted: readonly TopicInfo[],
    acceptedCollisions: ReadonlyMap<string, string>,
    acceptedPartitions: number,
  ): TopicInfo {
    const name = creation.name;
    if (name === CLUSTER_METADATA_TOPIC_NAME) {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, `Creation of internal topic ${CLUSTER_METADATA_TOPIC_NAME} is prohibited.`);
    }
    const problem = topicNameProblem(name);
    if (problem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
    if (this.byName.has(name) || isBrokerOwnedTopic(name) || accepted.some((t) => t.name === name)) {
      throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
    }
    const key = collisionKey(name);
    const collidesWith = this.byCollisionKey.get(key) ?? acceptedCollisions.get(key) ?? BROKER_OWNED_TOPIC_NAMES.find((t) => collisionKey(t) === key);
    if (collidesWith !== undefined) {
      throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${collidesWith}`);
    }
    const validConfigs = validateTopicConfigs(creation.configs);
    const partitions = placePartitions(creation, cluster);
    const limit = this.maxBrokerPartitions;
    const existing = this.partitionTotal + acceptedPartitions;
    if (existing + partitions > limit) {
      throw new KafkaError(
        ErrorCode.INVALID_PARTITIONS,
        `Creating ${partitions} partition(s) would exceed the broker's partition limit: max.broker.partitions is ${limit} and ${existing} partition(s) exist.`,
      );
    }
    const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
    return this.describe(name, topicId, partitions, validConfigs);
  }

  /**
   * Step 2: the topic's partition logs from `firstPartition` on (0 for a new topic, the old count for a growth),
   * CREATE_LOGS_CONCURRENCY at a time, then one fsync of the data dir.
   */
  private async createLogs(topic: TopicInfo, state: LogCreation, firstPartition = 0): Promise<void> {
    state.started = true;
    const startedMs = Date.now();
    const logs = this.options.logs;
    const created: Array<NonNullable<Awaited<ReturnType<LogManager['ensureLog']>>>> = [];
    let next = firstPartition;
    const worker = async (): Promise<void> => {
      while (next < topic.partitions && !state.cancelled) {
        const log = await logs.ensureLog(topic.name, next++, topic.logConfig);
        if (log !== undefined) created.push(log);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CREATE_LOGS_CONCURRENCY, topic.partitions - firstPartition) }, worker));
      if (!state.cancelled) {
        await logs.syncCreatedLogs(created).catch((err: unknown) => {
          // Not fatal: each log fsyncs the data dir itself before its first durable append.
          this.options.logger.warn({ topic: topic.name, err }, 'could not fsync the data dir after creating partition logs');
        });
      }
      this.options.logger.info({ topic: topic.name, partitions: topic.partitions, created: created.length, cancelled: state.cancelled, durationMs: Date.now() - startedMs }, 'partition logs created');
    } finally {
      if (this.creations.get(topic.name) === state) this.creations.delete(topic.name);
    }
  }

  /**
   * Broker shutdown: every partition-log creation still running (a CreateTopics or CreatePartitions of many
   * partitions) stops after the logs it is creating, and this resolves once they have; the logs can then close
   * without new partition directories appearing behind them. The topics stay registered: the next start creates
   * the missing logs (ensureLogAtStartup).
   */
  async stopLogCreations(): Promise<void> {
    const started: Array<Promise<void>> = [];
    for (const head of this.creations.values()) {
      for (let creation: LogCreation | undefined = head; creation !== undefined; creation = creation.previous) {
        creation.cancelled = true;
        if (creation.started) started.push(creation.done.catch(() => undefined));
      }
    }
    await Promise.all(started);
  }

  /** Removes a topic and its logs. Throws UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
  deleteTopic(name: string): Promise<TopicInfo> {
    return this.mutate(async () => {
      const topic = this.byName.get(name);
      if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 'This server does not host this topic-partition.');
      if (this.options.cluster !== undefined) {
        // Every broker (this one included) drops the topic and its logs when its metadata shows the deletion.
        await this.options.cluster.deleteTopic(topic);
        return topic;
      }
      await this.persist(this.list().filter((t) => t.name !== name));
      this.unpublish(topic);
      // Logs still being created (the topic's creation and any growths queued behind it): stop them all (the
      // creations in flight finish; one not started yet creates nothing), then delete what exists.
      for (let creation = this.creations.get(name); creation !== undefined; creation = creation.previous) creation.cancelled = true;
      for (let creation = this.creations.get(name); creation !== undefined; creation = creation.previous) {
        if (creation.started) await creation.done.catch(() => undefined);
      }
      await this.options.logs.deleteLogs(name);
      this.options.logger.info({ topic: name }, 'topic deleted');
      return topic;
    });
  }

  /** The broker's dynamic configs, when the broker gave them (createBroker always does). */
  get brokerConfigs(): DynamicBrokerConfig | undefined {
    return this.options.brokerConfigs;
  }

  /**
   * Replaces a topic's configs with `compute(current)` (AlterConfigs / IncrementalAlterConfigs), serialised with
   * the other mutations: `compute` validates and may throw KafkaError; then an unknown topic is
   * UNKNOWN_TOPIC_OR_PARTITION (Kafka checks existence after the configs). Unless validateOnly, the file is
   * rewritten and the running partition logs take the new settings at once.
   */
  alterTopicConfigs(name: string, compute: (current: Readonly<Record<string, string>>) => Record<string, string>, validateOnly: boolean): Promise<void> {
    return this.mutate(async () => {
      const existing = this.byName.get(name);
      const configs = compute(existing?.configs ?? {});
      if (existing === undefined) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${name}' does not exist.`);
      }
      if (validateOnly) return;
      const updated = this.describe(name, existing.topicId, existing.partitions, configs);
      if (this.options.cluster !== undefined) {
        await this.options.cluster.alterTopicConfigs(updated);
        return;
      }
      await this.persist(this.list().map((t) => (t.name === name ? updated : t)));
      this.publish(updated);
      this.options.logs.updateConfig(name, updated.logConfig);
      this.options.logger.info({ topic: name, configs }, 'topic configs updated');
    });
  }

  /**
   * New broker defaults (a dynamic broker config changed): every topic's effective settings are computed again and
   * applied to its running logs; topics' own configs are unchanged.
   */
  updateBrokerDefaults(defaultLogConfig: LogConfig, messageMaxBytes: number): Promise<void> {
    return this.mutate(async () => {
      this.options.defaultLogConfig = defaultLogConfig;
      this.options.messageMaxBytes = messageMaxBytes;
      for (const t of this.list()) {
        const updated = this.describe(t.name, t.topicId, t.partitions, { ...t.configs });
        this.publish(updated);
        this.options.logs.updateConfig(t.name, updated.logConfig);
      }
    });
  }

  /**
   * Cluster mode: the cluster metadata holds this topic (new, grown or with new configs); it is listed from now on
   * and its running logs take its settings. Called in metadata order, outside the mutation chain (a mutation waiting
   * for its own write to show up is what calls it).
   */
  applyClusterTopic(name: string, topicId: Buffer, partitions: number, configs: Record<string, string>): TopicInfo {
    const existing = this.byName.get(name);
    if (existing !== undefined && !existing.topicId.equals(topicId)) this.unpublish(existing);
    const topic = this.remember(name, topicId, partitions, configs);
    this.options.logs.updateConfig(name, topic.logConfig);
    return topic;
  }

  /** Cluster mode: the topic was deleted from the cluster metadata (the caller deletes its logs). */
  removeClusterTopic(name: string): TopicInfo | undefined {
    const topic = this.byName.get(name);
    if (topic !== undefined) this.unpublish(topic);
    return topic;
  }

  private unpublish(topic: TopicInfo): void {
    this.byName.delete(topic.name);
    this.byIdHex.delete(topic.topicId.toString('hex'));
    this.byCollisionKey.delete(collisionKey(topic.name));
    this.partitionTotal -= topic.partitions;
  }

  /**
   * The topic's effective min.insync.replicas: its own config, else the broker default (dynamic or static), else 1.
   * One rule for Produce's acks=all, the coordinators' replicated writes and the UnderMinIsr gauge.
   */
  minInSyncReplicas(topic: TopicInfo): number {
    const value = Number(topic.configs['min.insync.replicas'] ?? this.options.brokerConfigs?.topicDefault('min.insync.replicas') ?? '1');
    return Number.isInteger(value) && value >= 1 ? value : 1;
  }

  /** True in cluster mode (topics live in the cluster metadata). */
  get isClustered(): boolean {
    return this.options.cluster !== undefined;
  }

  private describe(name: string, topicId: Buffer, partitions: number, configs: Record<string, string>): TopicInfo {
    return {
      name,
      // Kept as long as the topic: memory of its own, not a slab of the Buffer pool (own-bytes.ts).
      topicId: ownBytes(topicId),
      partitions,
      configs,
      maxMessageBytes: maxMessageBytesFor(configs, this.options.messageMaxBytes),
      logConfig: logConfigFor(configs, this.options.defaultLogConfig),
    };
  }

  private remember(name: string, topicId: Buffer, partitions: number, configs: Record<string, string>): TopicInfo {
    const topic = this.describe(name, topicId, partitions, configs);
    this.publish(topic);
    return topic;
  }

  private publish(topic: TopicInfo): void {
    const name = topic.name;
    const topicId = topic.topicId;
    this.partitionTotal += topic.partitions - (this.byName.get(name)?.partitions ?? 0);
    this.byName.set(name, topic);
    this.byIdHex.set(topicId.toString('hex'), topic);
    this.byCollisionKey.set(collisionKey(name), name);
  }

  private async persist(list: TopicInfo[] = this.list()): Promise<void> {
    const topics: PersistedTopic[] = list.map((t) => ({
      name: t.name,
      topicId: t.topicId.toString('hex'),
      partitions: t.partitions,
      configs: { ...t.configs },
    }));
    const body = JSON.stringify({ version: FORMAT_VERSION, topics }, null, 2) + '\n';
    await writeFileAtomically(path.join(this.options.dataDir, FILE_NAME), body);
  }

  private mutate<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutationChain.then(fn, fn);
    this.mutationChain = run.catch(() => undefined);
    return run;
  }
}
