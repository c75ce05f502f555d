// The topics this broker hosts: name, topic id, partition count and topic configs — persisted, restored on start.
//
// On-disk format: `<dataDir>/topic-metadata.json`, rewritten whole on every change (write to `.tmp`, fsync,
// rename, fsync the directory), so a crash leaves either the old or the new file, never a torn one:
//   { "version": 1,
//     "topics": [ { "name": "orders", "topicId": "<32 hex chars>", "partitions": 3, "configs": { "k": "v" } } ] }
// A reader that finds a `version` other than 1 refuses to start (BrokerError METADATA_VERSION) rather than guess.
// Kafka keeps this in its KRaft metadata log; one small JSON file is enough until replication arrives.
//
// Every partition of a registered topic has a log in LogManager; `open()` creates any that are missing (a crash
// between writing this file and creating a partition directory) so the two always agree after start.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Logger } from 'pino';
import { BrokerError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../log/log-manager.js';
import type { LogConfig } from '../log/log-config.js';
import { logConfigFor, maxMessageBytesFor, validateTopicConfigs } from './topic-config.js';
import { readJsonFile, writeFileAtomically } from './metadata-fs.js';

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

/** Kafka's topic-name rules (org.apache.kafka.common.internals.Topic.validate). Returns the reason, or null. */
export function topicNameProblem(name: string): string | null {
  if (name.length === 0) return 'Topic name is illegal, it can\'t be empty';
  if (name === '.' || name === '..') return 'Topic name cannot be "." or ".."';
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    return `Topic name is illegal, it can't be longer than ${MAX_TOPIC_NAME_LENGTH} characters, topic name: ${name}`;
  }
  if (!LEGAL_TOPIC_CHARS.test(name)) {
    return `Topic name "${name}" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'`;
  }
  return null;
}

/** Kafka treats '.' and '_' as colliding because both map to '_' in metric names. */
function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

export interface TopicRegistryOptions {
  dataDir: string;
  logs: LogManager;
  logger: Logger;
  defaultLogConfig: LogConfig;
  messageMaxBytes: number;
}

export class TopicRegistry {
  private readonly byName = new Map<string, TopicInfo>();
  private readonly byIdHex = new Map<string, TopicInfo>();
  private readonly byCollisionKey = new Map<string, string>();
  /** Serialises mutations so the file is always rewritten from a consistent map. */
  private mutationChain: Promise<unknown> = Promise.resolve();

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
    for (const t of await TopicRegistry.readPersisted(options.dataDir)) {
      registry.remember(t.name, Buffer.from(t.topicId, 'hex'), t.partitions, t.configs);
    }
    for (const topic of registry.byName.values()) {
      options.logs.updateConfig(topic.name, topic.logConfig);
      for (let p = 0; p < topic.partitions; p++) {
        if (options.logs.getLog(topic.name, p) === undefined) await options.logs.createLog(topic.name, p, topic.logConfig);
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

  /**
   * Validates and (unless validateOnly) creates a topic with its partition logs. Throws KafkaError with Kafka's
   * codes: INVALID_TOPIC_EXCEPTION, TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR,
   * INVALID_CONFIG.
   */
  createTopic(
    name: string,
    partitions: number,
    replicationFactor: number,
    configs: Record<string, string | null>,
    validateOnly = false,
  ): Promise<TopicInfo> {
    return this.mutate(async () => {
      const problem = topicNameProblem(name);
      if (problem !== null) throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, problem);
      if (this.byName.has(name)) throw new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${name}' already exists.`);
      const collidesWith = this.byCollisionKey.get(collisionKey(name));
      if (collidesWith !== undefined) {
        throw new KafkaError(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic '${name}' collides with existing topic: ${collidesWith}`);
      }
      if (partitions < 1) throw new KafkaError(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
      if (partitions > MAX_PARTITIONS_PER_TOPIC) {
        throw new KafkaError(ErrorCode.INVALID_PARTITIONS, `Number of partitions must be at most ${MAX_PARTITIONS_PER_TOPIC}.`);
      }
      if (replicationFactor < 1) {
        throw new KafkaError(ErrorCode.INVALID_REPLICATION_FACTOR, 'Replication factor must be larger than 0.');
      }
      if (replicationFactor > 1) {
        throw new KafkaError(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Unable to replicate the partition ${replicationFactor} time(s): The target replication factor of ${replicationFactor} cannot be reached because only 1 broker(s) are registered.`,
        );
      }
      const validConfigs = validateTopicConfigs(configs);
      const topicId = Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
      if (validateOnly) return this.describe(name, topicId, partitions, validConfigs);

      // Logs and the file first, the in-memory maps last: a topic becomes visible only once it can be served,
      // and a failure part-way leaves no phantom topic (leftover directories are removed at the next start).
      const topic = this.describe(name, topicId, partitions, validConfigs);
      try {
        for (let p = 0; p < partitions; p++) await this.options.logs.createLog(name, p, topic.logConfig);
        await this.persist([...this.list(), topic]);
      } catch (err) {
        await this.options.logs.deleteLogs(name).catch(() => undefined);
        throw err;
      }
      this.publish(topic);
      this.options.logger.info({ topic: name, partitions, topicId: topicId.toString('hex') }, 'topic created');
      return topic;
    });
  }

  /** Removes a topic and its logs. Throws UNKNOWN_TOPIC_OR_PARTITION when it does not exist. */
  deleteTopic(name: string): Promise<TopicInfo> {
    return this.mutate(async () => {
      const topic = this.byName.get(name);
      if (topic === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      await this.persist(this.list().filter((t) => t.name !== name));
      this.byName.delete(name);
      this.byIdHex.delete(topic.topicId.toString('hex'));
      this.byCollisionKey.delete(collisionKey(name));
      await this.options.logs.deleteLogs(name);
      this.options.logger.info({ topic: name }, 'topic deleted');
      return topic;
    });
  }

  private describe(name: string, topicId: Buffer, partitions: number, configs: Record<string, string>): TopicInfo {
    return {
      name,
      topicId,
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
