// Broker configs at their four levels, as Kafka's DynamicBrokerConfig keeps them, highest precedence first:
//   DYNAMIC_BROKER_CONFIG          set by AlterConfigs on the resource BROKER "<node.id>"      (persisted here)
//   DYNAMIC_DEFAULT_BROKER_CONFIG  set by AlterConfigs on the resource BROKER "" (cluster)   (persisted here)
//   STATIC_BROKER_CONFIG           the options the broker was started with that differ from the defaults
//   DEFAULT_CONFIG                 Kafka's defaults (config-catalog.ts), or Eddy's where Eddy's option differs
// One setting may have several names (log.retention.ms / .minutes / .hours, brokerConfigSynonyms); a name set at a
// level hides its synonyms from the levels below (Kafka's overrideProps), and topic configs fall back to the first
// of their server synonyms that has a value (ServerTopicConfigSynonyms), e.g. retention.ms ← log.retention.ms ←
// log.retention.minutes × 60000 ← log.retention.hours × 3600000.
//
// On-disk format: `<dataDir>/dynamic-broker-config.json`, rewritten whole on every change (metadata-fs.ts
// writeFileAtomically: temp file, fsync, rename, fsync the directory):
//   { "version": 1, "default": { "log.retention.ms": "60000" }, "brokers": { "1": { "message.max.bytes": "2000000" } } }
// Values are the strings as AlterConfigs sent them (Kafka's ConfigRecord). A `version` other than 1 refuses to start
// (BrokerError METADATA_VERSION). Kafka keeps these as ConfigRecords in its metadata log.
//
// Applying: the live BrokerConfig object (the one every module reads) gets the effective value of each option whose
// Kafka name (or a synonym) is set dynamically, and its started-with value back when that is deleted; then the change
// listeners run (broker.ts: new topic defaults for every log via the topic registry; the cleaner's backoff, I/O
// rate and offset map size; producer.id.expiration.ms for every log). The connection limits (max.connections,
// max.connections.per.ip, max.connections.per.ip.overrides) are read by the server's ConnectionQuotas from the live
// config at each new connection (server/connection-quotas.ts; Kafka's SocketServer.reconfigure), so a change applies
// to the next connection; a lowered max.connections also closes the least recently used client connections beyond
// it (broker.ts's listener, server.ts closeExcessConnections), as Kafka's processors do.
//
// Validation of a change is Kafka's (ConfigAdminManager.validateBrokerConfigChange → DynamicBrokerConfig.validate),
// every failure INVALID_REQUEST (KAFKA-13609 keeps that code):
//   1. names Kafka does not let change at runtime   "Cannot update these configs dynamically: Set(log.retention.hours)"
//   2. each known dynamic config parsed and checked  "Invalid value abc for configuration log.retention.ms: Not a number of type LONG"
//   3. the resulting broker config as a whole         "Invalid dynamic configuration" (e.g. min > max compaction lag)
// Names Kafka does not know are custom configs: accepted, stored, and described as sensitive with type UNKNOWN.
import path from 'node:path';
import type { Logger } from 'pino';
import { BrokerError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogConfig } from '../log/log-config.js';
import { DEFAULT_BROKER_CONFIG, resolveBrokerConfig, type BrokerConfig } from './broker-config.js';
import { BROKER_CONFIGS, TOPIC_CONFIG_DOCS, brokerConfigSynonyms, ConfigSource, type BrokerConfigDef } from './config-catalog.js';
import { configValueToString, javaDoubleToString, logConfigFor, parseValue, type ConfigType } from './topic-config.js';
import { readJsonFile, writeFileAtomically } from './metadata-fs.js';
import { securityConfigProps } from './security-config-props.js';

const FILE_NAME = 'dynamic-broker-config.json';
const FORMAT_VERSION = 1;
const LONG_MAX = 2n ** 63n - 1n;

/** One BrokerConfig option under its Kafka name. `topicConfig`: its value is that topic config's broker fallback. */
interface Binding {
  readonly option: string;
  readonly name: string;
  readonly topicConfig?: string;
  /** Never changed at runtime (identity, listener, data dir): reported as STATIC_BROKER_CONFIG always. */
  readonly identity?: boolean;
  /** The option's value as Kafka writes it, when String(value) is not (a list of short names …). */
  readonly toKafka?: (value: unknown) => string;
}

const b = (option: string, name: string, topicConfig?: string): Binding => ({ option, name, topicConfig });

/** group.consumer.assignors: Eddy accepts Kafka's short names (uniform, range); Kafka lists the assignor classes. */
const ASSIGNOR_CLASSES: Readonly<Record<string, string>> = {
  uniform: 'org.apache.kafka.coordinator.group.assignor.UniformAssignor',
  range: 'org.apache.kafka.coordinator.group.assignor.RangeAssignor',
};
const assignorsToKafka = (value: unknown): string => (value as string[]).map((a) => ASSIGNOR_CLASSES[a] ?? a).join(',');

/**
 * Eddy's options with a Kafka name. Options another engineer may still be adding (retention) are bound by name and
 * used only when the BrokerConfig has them.
 */
const BINDINGS: readonly Binding[] = [
  { option: 'nodeId', name: 'node.id', identity: true },
  { option: 'dataDir', name: 'log.dirs', identity: true },
  b('autoCreateTopics', 'auto.create.topics.enable'),
  b('numPartitions', 'num.partitions'),
  b('messageMaxBytes', 'message.max.bytes'),
  b('socketRequestMaxBytes', 'socket.request.max.bytes'),
  b('connectionsMaxIdleMs', 'connections.max.idle.ms'),
  b('queuedMaxRequestBytes', 'queued.max.request.bytes'),
  b('fetchMaxBytes', 'fetch.max.bytes'),
  b('messageDownconversionEnable', 'log.message.downconversion.enable', 'message.downconversion.enable'),
  b('maxIncrementalFetchSessionCacheSlots', 'max.incremental.fetch.session.cache.slots'),
  b('maxConnections', 'max.connections'),
  b('maxConnectionsPerIp', 'max.connections.per.ip'),
  b('maxConnectionsPerIpOverrides', 'max.connections.per.ip.overrides'),
  b('maxConnectionCreationRate', 'max.connection.creation.rate'),
  b('quotaWindowNum', 'quota.window.num'),
  b('quotaWindowSizeSeconds', 'quota.window.size.seconds'),
  b('logFlushIntervalMessages', 'log.flush.interval.messages'),
  b('logFlushIntervalMs', 'log.flush.interval.ms', 'flush.ms'),
  b('logSegmentBytes', 'log.segment.bytes'),
  b('logRollMs', 'log.roll.ms', 'segment.ms'),
  b('logIndexIntervalBytes', 'log.index.interval.bytes'),
  b('logRetentionMs', 'log.retention.ms', 'retention.ms'),
  b('logRetentionBytes', 'log.retention.bytes'),
  b('logRetentionCheckIntervalMs', 'log.retention.check.interval.ms'),
  b('logCleanerEnable', 'log.cleaner.enable'),
  b('logCleanerBackoffMs', 'log.cleaner.backoff.ms'),
  b('logCleanerMinCleanableRatio', 'log.cleaner.min.cleanable.ratio'),
  b('logCleanerDeleteRetentionMs', 'log.cleaner.delete.retention.ms'),
  b('logCleanerIoMaxBytesPerSecond', 'log.cleaner.io.max.bytes.per.second'),
  b('logCleanerDedupeBufferSize', 'log.cleaner.dedupe.buffer.size'),
  b('logCleanerMinCompactionLagMs', 'log.cleaner.min.compaction.lag.ms'),
  b('logCleanerMaxCompactionLagMs', 'log.cleaner.max.compaction.lag.ms'),
  b('groupInitialRebalanceDelayMs', 'group.initial.rebalance.delay.ms'),
  b('groupMinSessionTimeoutMs', 'group.min.session.timeout.ms'),
  b('groupMaxSessionTimeoutMs', 'group.max.session.timeout.ms'),
  b('groupMaxSize', 'group.max.size'),
  b('groupConsumerHeartbeatIntervalMs', 'group.consumer.heartbeat.interval.ms'),
  b('groupConsumerMinHeartbeatIntervalMs', 'group.consumer.min.heartbeat.interval.ms'),
  b('groupConsumerMaxHeartbeatIntervalMs', 'group.consumer.max.heartbeat.interval.ms'),
  b('groupConsumerSessionTimeoutMs', 'group.consumer.session.timeout.ms'),
  b('groupConsumerMinSessionTimeoutMs', 'group.consumer.min.session.timeout.ms'),
  b('groupConsumerMaxSessionTimeoutMs', 'group.consumer.max.session.timeout.ms'),
  b('groupConsumerMaxSize', 'group.consumer.max.size'),
  { option: 'groupConsumerAssignors', name: 'group.consumer.assignors', toKafka: assignorsToKafka },
  b('offsetsRetentionMinutes', 'offsets.retention.minutes'),
  b('offsetsRetentionCheckIntervalMs', 'offsets.retention.check.interval.ms'),
  b('offsetMetadataMaxBytes', 'offset.metadata.max.bytes'),
  b('producerIdExpirationMs', 'producer.id.expiration.ms'),
  b('producerIdExpirationCheckIntervalMs', 'producer.id.expiration.check.interval.ms'),
  b('offsetsTopicSegmentBytes', 'offsets.topic.segment.bytes'),
  b('offsetsTopicNumPartitions', 'offsets.topic.num.partitions'),
  b('transactionMaxTimeoutMs', 'transaction.max.timeout.ms'),
  b('transactionalIdExpirationMs', 'transactional.id.expiration.ms'),
  b('transactionAbortTimedOutTransactionCleanupIntervalMs', 'transaction.abort.timed.out.transaction.cleanup.interval.ms'),
  b('transactionRemoveExpiredTransactionCleanupIntervalMs', 'transaction.remove.expired.transaction.cleanup.interval.ms'),
  b('transactionStateLogNumPartitions', 'transaction.state.log.num.partitions'),
];

/** A describe entry's synonym (DescribeConfigsSynonym). */
export interface ConfigSynonymEntry {
  name: string;
  value: string | null;
  source: number;
}

/** One described config, before the handler turns it into wire types. */
export interface DescribedConfig {
  name: string;
  value: string | null;
  readOnly: boolean;
  source: number;
  isSensitive: boolean;
  synonyms: ConfigSynonymEntry[];
  /** A ConfigDef type name, or 'UNKNOWN' for a custom config. */
  type: ConfigType | 'PASSWORD' | 'CLASS' | 'UNKNOWN';
  documentation: string | null;
}

/** One IncrementalAlterConfigs operation (AlterConfigOp.OpType ids: SET 0, DELETE 1, APPEND 2, SUBTRACT 3). */
export interface AlterConfigOp {
  name: string;
  op: number;
  value: string | null;
}

export const OpType = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export type BrokerConfigListener = () => Promise<void> | void;

/** A Kafka ConfigDef value as Eddy's option holds it: numbers clamped to what a JS number holds exactly. */
function toOptionValue(defaultValue: unknown, kafka: string): unknown {
  if (typeof defaultValue === 'boolean') return kafka.trim().toLowerCase() === 'true';
  if (typeof defaultValue === 'string') return kafka;
  const n = Number(kafka.trim());
  if (Number.isInteger(n) && n > Number.MAX_SAFE_INTEGER) return Number.MAX_SAFE_INTEGER;
  if (Number.isInteger(n) && n < Number.MIN_SAFE_INTEGER) return Number.MIN_SAFE_INTEGER;
  return n;
}

/** An option's value under its Kafka name: Eddy's "never" (2^53-1) is Kafka's Long.MAX_VALUE. */
function toKafkaValue(def: BrokerConfigDef | undefined, value: unknown): string {
  if (typeof value === 'number') {
    if (def?.type === 'DOUBLE') return javaDoubleToString(value);
    if (value >= Number.MAX_SAFE_INTEGER && def?.type === 'LONG') return LONG_MAX.toString();
    return String(value);
  }
  return String(value);
}

/** Kafka's overrideProps: `override` replaces `props`, and each name it sets removes its synonyms first. */
function overrideProps(props: Map<string, string>, override: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(override)) {
    for (const synonym of brokerConfigSynonyms(k)) props.delete(synonym);
    props.set(k, v);
  }
}

/** Scala's Set.toString for the few names of one request: `Set(a, b)`. */
function scalaSet(names: readonly string[]): string {
  return `Set(${names.join(', ')})`;
}

function parseBrokerValue(def: BrokerConfigDef, raw: string): ReturnType<typeof parseValue> {
  const type = def.type === 'PASSWORD' || def.type === 'CLASS' ? 'STRING' : def.type;
  const parsed = parseValue(def.name, type, raw);
  const problem = def.validator?.(parsed, def.name) ?? null;
  if (problem !== null) {
    throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${problem.value} for configuration ${def.name}: ${problem.reason}`);
  }
  return parsed;
}

export interface DynamicBrokerConfigOptions {
  dataDir: string;
  /** The live config: its fields are updated in place when dynamic configs change. */
  config: BrokerConfig;
  logger: Logger;
}

export class DynamicBrokerConfig {
  /** The options the broker started with (before any dynamic value). */
  private readonly startedWith: BrokerConfig;
  private readonly staticProps: Readonly<Record<string, string>>;
  private readonly defaultProps: Readonly<Record<string, string>>;
  private dynamicDefault: Record<string, string> = {};
  private dynamicBroker: Record<string, string> = {};
  private readonly listeners: BrokerConfigListener[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: DynamicBrokerConfigOptions) {
    const config = options.config;
    this.startedWith = { ...config };
    const live = config as unknown as Record<string, unknown>;
    const defaults = DEFAULT_BROKER_CONFIG as unknown as Record<string, unknown>;
    const staticProps: Record<string, string> = {
      listeners: `PLAINTEXT://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    };
    if (config.advertisedHost !== undefined || config.advertisedPort !== undefined) {
      staticProps['advertised.listeners'] = `PLAINTEXT://${config.advertisedHost ?? config.host}:${config.advertisedPort ?? config.port}`;
    }
    const security = securityConfigProps(config);
    Object.assign(staticProps, security.staticProps);
    const defaultProps: Record<string, string> = {};
    for (const def of BROKER_CONFIGS.values()) if (def.default !== null) defaultProps[def.name] = def.default;
    Object.assign(defaultProps, security.defaultProps);
    for (const binding of BINDINGS) {
      if (!(binding.option in live)) continue;
      const def = BROKER_CONFIGS.get(binding.name);
      const value = live[binding.option];
      const { toKafka } = binding;
      if (toKafka !== undefined) {
        // A list option: compared by its Kafka form; Kafka's own default stays in the catalog.
        if (toKafka(value) !== toKafka(defaults[binding.option])) staticProps[binding.name] = toKafka(value);
        continue;
      }
      if (binding.identity || value !== defaults[binding.option]) staticProps[binding.name] = toKafkaValue(def, value);
      // Eddy's own default where it differs from Kafka's (e.g. queued.max.request.bytes); synonym-derived options
      // (log.roll.ms …) keep Kafka's null default, their value coming from the secondary names.
      if (!binding.identity && binding.topicConfig === undefined && defaults[binding.option] !== undefined) {
        defaultProps[binding.name] = toKafkaValue(def, defaults[binding.option]);
      }
    }
    this.staticProps = staticProps;
    this.defaultProps = defaultProps;
  }

  /** Reads the persisted dynamic configs and applies them to `options.config` (before the logs load). */
  static async open(options: DynamicBrokerConfigOptions): Promise<DynamicBrokerConfig> {
    const configs = new DynamicBrokerConfig(options);
    const file = path.join(options.dataDir, FILE_NAME);
    const persisted = await readJsonFile(file);
    if (persisted !== undefined) {
      const doc = persisted as { version?: unknown; default?: Record<string, string>; brokers?: Record<string, Record<string, string>> };
      if (doc.version !== FORMAT_VERSION) throw new BrokerError('METADATA_VERSION', `${file}: unsupported format version ${String(doc.version)}`);
      configs.dynamicDefault = { ...(doc.default ?? {}) };
      configs.dynamicBroker = { ...(doc.brokers?.[String(options.config.nodeId)] ?? {}) };
      configs.applyToLiveConfig();
      options.logger.info({ default: configs.dynamicDefault, broker: configs.dynamicBroker }, 'dynamic broker configs applied');
    }
    return configs;
  }

  get nodeId(): number {
    return this.options.config.nodeId;
  }

  /** Runs after every applied change (validateOnly changes excluded), in registration order. */
  onChange(listener: BrokerConfigListener): void {
    this.listeners.push(listener);
  }

  /** The dynamic configs at one level: the cluster default (`perBroker` false) or this broker's. */
  dynamicConfigs(perBroker: boolean): Readonly<Record<string, string>> {
    return perBroker ? this.dynamicBroker : this.dynamicDefault;
  }

  /** Static ⊕ dynamic default ⊕ dynamic per-broker, each level hiding the synonyms of what it sets. */
  private currentProps(dynamicDefault = this.dynamicDefault, dynamicBroker = this.dynamicBroker): Map<string, string> {
    const props = new Map(Object.entries(this.staticProps));
    overrideProps(props, dynamicDefault);
    overrideProps(props, dynamicBroker);
    return props;
  }

  /** A config's current value: set at some level, else its default (null when it has none). */
  private valueOf(name: string, props: ReadonlyMap<string, string>): string | null {
    return props.get(name) ?? this.defaultProps[name] ?? null;
  }

  /**
   * The broker's fallback for a topic config (KafkaConfig.extractLogConfigMap): the first server synonym with a
   * value, in the topic config's unit; a topic config without a server synonym falls back to its own default.
   */
  topicDefault(topicConfig: string, props: ReadonlyMap<string, string> = this.currentProps()): string {
    const doc = TOPIC_CONFIG_DOCS.get(topicConfig)!;
    for (const synonym of doc.synonyms) {
      const raw = this.valueOf(synonym.name, props);
      if (raw === null) continue;
      const def = BROKER_CONFIGS.get(synonym.name);
      if (def === undefined) return raw;
      const parsed = parseBrokerValue(def, raw);
      if (synonym.toMs !== undefined) return (BigInt(parsed as bigint) * BigInt(synonym.toMs)).toString();
      // logRetentionTimeMillis: any negative value means "no limit", -1.
      if (topicConfig === 'retention.ms' && (parsed as bigint) < 0n) return '-1';
      return configValueToString(parsed);
    }
    return doc.default;
  }

  /** Topic configs whose broker fallback is set dynamically, with their fallback values (Kafka's names). */
  private dynamicTopicDefaults(): Record<string, string> {
    const dynamicNames = new Set([...Object.keys(this.dynamicDefault), ...Object.keys(this.dynamicBroker)]);
    const props = this.currentProps();
    const out: Record<string, string> = {};
    for (const [name, doc] of TOPIC_CONFIG_DOCS) {
      if (doc.synonyms.some((s) => brokerConfigSynonyms(s.name).some((n) => dynamicNames.has(n)))) out[name] = this.topicDefault(name, props);
    }
    return out;
  }

  /** The log settings of a topic without overrides: `base` (from the options) with the dynamic broker defaults over it. */
  logDefaults(base: LogConfig): LogConfig {
    return logConfigFor(this.dynamicTopicDefaults(), base);
  }

  /**
   * Kafka's configSynonyms: every level's value of `name`'s synonyms, highest precedence first, then everything
   * before the first entry for `name` itself is dropped (so describing log.retention.hours does not list a
   * log.retention.ms above it, and retention.ms lists nothing when only log.retention.hours has a value).
   */
  synonymsOf(name: string): ConfigSynonymEntry[] {
    const names = brokerConfigSynonyms(name);
    const sensitive = !BROKER_CONFIGS.has(name) || BROKER_CONFIGS.get(name)!.type === 'PASSWORD';
    const levels: Array<[Readonly<Record<string, string>>, number]> = [
      [this.dynamicBroker, ConfigSource.DYNAMIC_BROKER_CONFIG],
      [this.dynamicDefault, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
      [this.staticProps, ConfigSource.STATIC_BROKER_CONFIG],
      [this.defaultProps, ConfigSource.DEFAULT_CONFIG],
    ];
    const all: ConfigSynonymEntry[] = [];
    for (const [level, source] of levels) {
      for (const n of names) if (Object.hasOwn(level, n)) all.push({ name: n, value: sensitive ? null : level[n]!, source });
    }
    const first = all.findIndex((s) => s.name === name);
    return first < 0 ? [] : all.slice(first);
  }

  /**
   * DescribeConfigs of a broker resource (ConfigHelper.createBrokerConfigEntry): for this broker (`perBroker`) every
   * known config plus custom ones, with their current values; for the cluster default only what is set there, with
   * only DYNAMIC_DEFAULT_BROKER_CONFIG synonyms.
   */
  describe(perBroker: boolean): DescribedConfig[] {
    const props = this.currentProps();
    const entries: Array<[string, string | null]> = perBroker
      ? [
          ...[...BROKER_CONFIGS.keys()].map((n): [string, string | null] => [n, this.valueOf(n, props)]),
          ...[...props.keys()].filter((n) => !BROKER_CONFIGS.has(n)).map((n): [string, string | null] => [n, props.get(n)!]),
        ]
      : Object.entries(this.dynamicDefault);
    return entries.map(([name, raw]) => {
      const def = BROKER_CONFIGS.get(name);
      const isSensitive = def === undefined || def.type === 'PASSWORD';
      const synonyms = this.synonymsOf(name).filter((s) => perBroker || s.source === ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
      let value: string | null = null;
      if (!isSensitive && raw !== null) value = def.type === 'STRING' ? raw : configValueToString(parseBrokerValue(def, raw));
      return {
        name,
        value,
        readOnly: def === undefined || !def.dynamic,
        source: synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG,
        isSensitive,
        synonyms,
        type: def?.type ?? 'UNKNOWN',
        documentation: def?.doc ?? null,
      };
    });
  }

  /**
   * ConfigAdminManager.prepareIncrementalConfigs over the level's current dynamic configs: SET, DELETE, and APPEND /
   * SUBTRACT of comma-separated values for LIST configs (starting from the default when the level has no value).
   */
  applyIncremental(perBroker: boolean, ops: readonly AlterConfigOp[]): Record<string, string> {
    const props: Record<string, string> = { ...this.dynamicConfigs(perBroker) };
    for (const { name, op, value } of ops) {
      if (op === OpType.SET) {
        props[name] = value!;
      } else if (op === OpType.DELETE) {
        delete props[name];
      } else {
        const verb = op === OpType.APPEND ? 'append' : 'subtract';
        const def = BROKER_CONFIGS.get(name);
        // Kafka looks the key up with Scala's Map.apply and fails with NoSuchElementException (UNKNOWN_SERVER_ERROR);
        // the message its own code meant to give is answered instead.
        if (def === undefined) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown config name: ${name}`);
        if (def.type !== 'LIST') throw new KafkaError(ErrorCode.INVALID_CONFIG, `Config value ${verb} is not allowed for config key: ${name}`);
        const old = props[name] ?? def.default ?? '';
        if (op === OpType.APPEND) {
          const list = old === '' ? [] : javaSplit(old);
          for (const v of javaSplit(value!)) if (!list.includes(v)) list.push(v);
          props[name] = list.join(',');
        } else {
          const list = javaSplit(old);
          for (const v of javaSplit(value!)) {
            const at = list.indexOf(v);
            if (at >= 0) list.splice(at, 1);
          }
          props[name] = list.join(',');
        }
      }
    }
    return props;
  }

  /** DynamicBrokerConfig.validate for a level's new configs; throws KafkaError(INVALID_REQUEST) with Kafka's message. */
  validate(perBroker: boolean, props: Readonly<Record<string, string>>): void {
    const nonDynamic = Object.keys(props).filter((n) => BROKER_CONFIGS.has(n) && !BROKER_CONFIGS.get(n)!.dynamic);
    if (nonDynamic.length > 0) throw new KafkaError(ErrorCode.INVALID_REQUEST, `Cannot update these configs dynamically: ${scalaSet(nonDynamic)}`);
    for (const def of BROKER_CONFIGS.values()) {
      if (!Object.hasOwn(props, def.name)) continue;
      try {
        parseBrokerValue(def, props[def.name]!);
      } catch (err) {
        if (err instanceof KafkaError) throw new KafkaError(ErrorCode.INVALID_REQUEST, err.message);
        throw err;
      }
    }
    const dynamicDefault = perBroker ? this.dynamicDefault : props;
    const dynamicBroker = perBroker ? props : this.dynamicBroker;
    const candidate = this.candidateConfig(dynamicDefault, dynamicBroker);
    const current = this.currentProps(dynamicDefault, dynamicBroker);
    const lag = (n: string): bigint => BigInt(this.topicDefault(n, current));
    try {
      // LogConfig.validateBrokerLogConfigValues, then Eddy's own option checks on the resulting config.
      if (lag('min.compaction.lag.ms') > lag('max.compaction.lag.ms')) throw new Error('min.compaction.lag.ms > max.compaction.lag.ms');
      const { logger: _logger, ...options } = candidate as BrokerConfig & { logger?: unknown };
      resolveBrokerConfig(options);
    } catch {
      throw new KafkaError(ErrorCode.INVALID_REQUEST, 'Invalid dynamic configuration');
    }
  }

  /**
   * Replaces a level's dynamic configs with `props` (already validated): persisted, applied to the live config,
   * then the change listeners run. Serialised: one change at a time.
   */
  replace(perBroker: boolean, props: Readonly<Record<string, string>>): Promise<void> {
    const run = async (): Promise<void> => {
      const dynamicDefault = perBroker ? this.dynamicDefault : { ...props };
      const dynamicBroker = perBroker ? { ...props } : this.dynamicBroker;
      await this.persist(dynamicDefault, dynamicBroker);
      this.dynamicDefault = dynamicDefault;
      this.dynamicBroker = dynamicBroker;
      this.applyToLiveConfig();
      this.options.logger.info({ resource: perBroker ? String(this.nodeId) : '<default>', configs: props }, 'dynamic broker configs updated');
      for (const listener of this.listeners) await listener();
    };
    const result = this.chain.then(run, run);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async persist(dynamicDefault: Record<string, string>, dynamicBroker: Record<string, string>): Promise<void> {
    const file = path.join(this.options.dataDir, FILE_NAME);
    const existing = (await readJsonFile(file)) as { brokers?: Record<string, Record<string, string>> } | undefined;
    const brokers = { ...(existing?.brokers ?? {}), [String(this.nodeId)]: dynamicBroker };
    if (Object.keys(dynamicBroker).length === 0) delete brokers[String(this.nodeId)];
    const body = JSON.stringify({ version: FORMAT_VERSION, default: dynamicDefault, brokers }, null, 2) + '\n';
    await writeFileAtomically(file, body);
  }

  /** The options with the given dynamic levels over what the broker started with. */
  private candidateConfig(dynamicDefault: Record<string, string>, dynamicBroker: Record<string, string>): BrokerConfig {
    const dynamicNames = new Set([...Object.keys(dynamicDefault), ...Object.keys(dynamicBroker)]);
    const props = this.currentProps(dynamicDefault, dynamicBroker);
    const candidate: Record<string, unknown> = { ...this.startedWith };
    for (const binding of BINDINGS) {
      if (binding.identity || !(binding.option in candidate)) continue;
      const names = binding.topicConfig !== undefined ? TOPIC_CONFIG_DOCS.get(binding.topicConfig)!.synonyms.map((s) => s.name) : [binding.name];
      if (!names.some((n) => brokerConfigSynonyms(n).some((s) => dynamicNames.has(s)))) continue;
      const kafka = binding.topicConfig !== undefined ? this.topicDefault(binding.topicConfig, props) : this.valueOf(binding.name, props);
      if (kafka === null) continue;
      candidate[binding.option] = toOptionValue((this.startedWith as unknown as Record<string, unknown>)[binding.option], kafka);
    }
    return candidate as unknown as BrokerConfig;
  }

  /** Copies the effective values into the live config object (every option not set dynamically gets its started-with value). */
  private applyToLiveConfig(): void {
    Object.assign(this.options.config, this.candidateConfig(this.dynamicDefault, this.dynamicBroker));
  }
}

/** Java's String.split(","): trailing empty strings dropped, a string without commas is itself. */
export function javaSplit(s: string): string[] {
  const parts = s.split(',');
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 1 && parts[0] === '' && s.length > 0) return [];
  return parts;
}
