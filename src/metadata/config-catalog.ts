// The configs DescribeConfigs reports, as Kafka 3.9 defines them: every topic config (LogConfig) with its default,
// documentation and broker synonyms (ServerTopicConfigSynonyms), and the broker configs (KafkaConfig) that Eddy has
// or that topic configs fall back to, each marked dynamic or read-only as DynamicBrokerConfig.AllDynamicConfigs marks
// it. Types and validators of topic configs live in topic-config.ts; this file adds what describing them needs.
//
// Documentation strings are our own, short, in the spirit of Kafka's. Defaults are Kafka's, as ConfigDef prints them
// (Long.MAX_VALUE as 9223372036854775807, Double.MAX_VALUE as 1.7976931348623157E308); a config whose Kafka default is
// null (log.retention.ms, log.roll.ms …) has default null and is then absent from the DEFAULT_CONFIG synonyms, as in
// Kafka (ConfigDef.convertToStringMapWithPasswordValues drops nulls).
//
// Broker configs that Kafka lets you change dynamically (DynamicLogConfig: the first server synonym of every topic
// config except log.message.format.version; LogCleaner, SocketServer, DynamicThreadPool and producer-state configs)
// are dynamic here too; Eddy applies some of them at once and the rest at its next start (dynamic-broker-config.ts).
import { range, validList, validString, type ConfigType, type Validator } from './topic-config.js';

/** DescribeConfigsResponse.ConfigType ids (configType, v3+). */
export const CONFIG_TYPE_ID: Readonly<Record<ConfigType | 'UNKNOWN' | 'PASSWORD' | 'CLASS' | 'SHORT', number>> = {
  UNKNOWN: 0,
  BOOLEAN: 1,
  STRING: 2,
  INT: 3,
  SHORT: 4,
  LONG: 5,
  DOUBLE: 6,
  LIST: 7,
  CLASS: 8,
  PASSWORD: 9,
};

/** DescribeConfigsResponse.ConfigSource ids (configSource, v1+). */
export const ConfigSource = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;

/** ConfigResource.Type ids. */
export const ConfigResourceType = {
  UNKNOWN: 0,
  TOPIC: 2,
  BROKER: 4,
  BROKER_LOGGER: 8,
  CLIENT_METRICS: 16,
} as const;

const LONG_MAX = '9223372036854775807';
const INT_MAX = '2147483647';

/** How a topic config falls back to a broker config: its name, and the factor that turns the broker value into the topic's unit. */
export interface ServerSynonym {
  readonly name: string;
  readonly toMs?: 60_000 | 3_600_000;
}

export interface TopicConfigDoc {
  /** Kafka's default, as a string (LogConfig). */
  readonly default: string;
  readonly doc: string;
  /** ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS, in precedence order; empty for configs with no server default. */
  readonly synonyms: readonly ServerSynonym[];
}

const s = (name: string): ServerSynonym => ({ name });

/** Every topic config Kafka 3.9 reports, in LogConfig's definition order. */
export const TOPIC_CONFIG_DOCS: ReadonlyMap<string, TopicConfigDoc> = new Map<string, TopicConfigDoc>([
  ['segment.bytes', { default: '1073741824', synonyms: [s('log.segment.bytes')], doc: 'The size of one log segment file; a new segment is rolled when the active one would grow past it. Retention and compaction work on whole segments.' }],
  ['segment.ms', { default: '604800000', synonyms: [s('log.roll.ms'), { name: 'log.roll.hours', toMs: 3_600_000 }], doc: 'Roll a new segment after this long even if the active one is not full, so that retention can delete or compact old data.' }],
  ['segment.jitter.ms', { default: '0', synonyms: [s('log.roll.jitter.ms'), { name: 'log.roll.jitter.hours', toMs: 3_600_000 }], doc: 'Maximum random jitter subtracted from segment.ms so that segments of many partitions do not all roll at once.' }],
  ['segment.index.bytes', { default: '10485760', synonyms: [s('log.index.size.max.bytes')], doc: 'The size of the index that maps offsets to file positions; a segment rolls when its index is full.' }],
  ['flush.messages', { default: LONG_MAX, synonyms: [s('log.flush.interval.messages')], doc: 'Force an fsync of the log after this many messages. Durability normally comes from replication (or, in Eddy, from acks=all).' }],
  ['flush.ms', { default: LONG_MAX, synonyms: [s('log.flush.interval.ms'), s('log.flush.scheduler.interval.ms')], doc: 'Force an fsync of the log when unflushed data is this old.' }],
  ['retention.bytes', { default: '-1', synonyms: [s('log.retention.bytes')], doc: 'The largest size a partition may grow to before old segments are deleted (with the "delete" policy). -1 means no size limit.' }],
  ['retention.ms', { default: '604800000', synonyms: [s('log.retention.ms'), { name: 'log.retention.minutes', toMs: 60_000 }, { name: 'log.retention.hours', toMs: 3_600_000 }], doc: 'How long a log segment is kept before it is deleted (with the "delete" policy). -1 means no time limit.' }],
  ['max.message.bytes', { default: '1048588', synonyms: [s('message.max.bytes')], doc: 'The largest record batch (after compression) this topic accepts.' }],
  ['index.interval.bytes', { default: '4096', synonyms: [s('log.index.interval.bytes')], doc: 'How many bytes of log lie between two entries of the sparse offset index.' }],
  ['delete.retention.ms', { default: '86400000', synonyms: [s('log.cleaner.delete.retention.ms')], doc: 'How long tombstones (and transaction markers) are kept after compaction, so that consumers reading from the start see them.' }],
  ['min.compaction.lag.ms', { default: '0', synonyms: [s('log.cleaner.min.compaction.lag.ms')], doc: 'The minimum time a message stays uncompacted in the log.' }],
  ['max.compaction.lag.ms', { default: LONG_MAX, synonyms: [s('log.cleaner.max.compaction.lag.ms')], doc: 'The maximum time a message stays ineligible for compaction; an older dirty record makes the log cleanable whatever its dirty ratio.' }],
  ['file.delete.delay.ms', { default: '60000', synonyms: [s('log.segment.delete.delay.ms')], doc: 'How long a deleted segment waits before its files are removed.' }],
  ['min.cleanable.dirty.ratio', { default: '0.5', synonyms: [s('log.cleaner.min.cleanable.ratio')], doc: 'Compact a log once its uncompacted part is at least this fraction of the whole.' }],
  ['cleanup.policy', { default: 'delete', synonyms: [s('log.cleanup.policy')], doc: 'What happens to old segments: "delete" removes them by retention time or size, "compact" keeps the latest record per key; both may be given.' }],
  ['unclean.leader.election.enable', { default: 'false', synonyms: [s('unclean.leader.election.enable')], doc: 'Whether a replica outside the ISR may become leader as a last resort, at the cost of data loss.' }],
  ['min.insync.replicas', { default: '1', synonyms: [s('min.insync.replicas')], doc: 'With acks=all, the fewest in-sync replicas that must acknowledge a write for it to succeed.' }],
  ['compression.type', { default: 'producer', synonyms: [s('compression.type')], doc: 'The codec batches are stored with: uncompressed, zstd, lz4, snappy, gzip, or "producer" to keep the producer\'s codec.' }],
  ['compression.gzip.level', { default: '-1', synonyms: [s('compression.gzip.level')], doc: 'The level used when compression.type is gzip.' }],
  ['compression.lz4.level', { default: '9', synonyms: [s('compression.lz4.level')], doc: 'The level used when compression.type is lz4.' }],
  ['compression.zstd.level', { default: '3', synonyms: [s('compression.zstd.level')], doc: 'The level used when compression.type is zstd.' }],
  ['preallocate', { default: 'false', synonyms: [s('log.preallocate')], doc: 'Preallocate the segment file on disk when a new segment is created.' }],
  ['message.format.version', { default: '3.0-IV1', synonyms: [s('log.message.format.version')], doc: 'Deprecated: ignored once the inter-broker protocol is 3.0 or later; messages are always stored in format v2.' }],
  ['message.timestamp.type', { default: 'CreateTime', synonyms: [s('log.message.timestamp.type')], doc: 'Whether a record keeps the producer\'s timestamp (CreateTime) or gets the broker\'s clock when appended (LogAppendTime).' }],
  ['message.timestamp.difference.max.ms', { default: LONG_MAX, synonyms: [s('log.message.timestamp.difference.max.ms')], doc: 'Deprecated (KIP-937): the largest difference between a CreateTime timestamp and the broker\'s clock.' }],
  ['message.timestamp.before.max.ms', { default: LONG_MAX, synonyms: [s('log.message.timestamp.before.max.ms')], doc: 'How far a CreateTime timestamp may lie before the broker\'s clock (KIP-937).' }],
  ['message.timestamp.after.max.ms', { default: LONG_MAX, synonyms: [s('log.message.timestamp.after.max.ms')], doc: 'How far a CreateTime timestamp may lie after the broker\'s clock (KIP-937).' }],
  ['leader.replication.throttled.replicas', { default: '', synonyms: [], doc: 'Replicas whose log replication is throttled on the leader side: partitionId:brokerId pairs, or "*".' }],
  ['follower.replication.throttled.replicas', { default: '', synonyms: [], doc: 'Replicas whose log replication is throttled on the follower side: partitionId:brokerId pairs, or "*".' }],
  ['message.downconversion.enable', { default: 'true', synonyms: [s('log.message.downconversion.enable')], doc: 'Whether the broker converts message formats down for consumers that ask for older ones.' }],
  ['remote.storage.enable', { default: 'false', synonyms: [], doc: 'Whether this topic uses tiered storage (not available in this broker).' }],
  ['local.retention.ms', { default: '-2', synonyms: [s('log.local.retention.ms')], doc: 'With tiered storage, how long segments stay on local disk; -2 means retention.ms.' }],
  ['local.retention.bytes', { default: '-2', synonyms: [s('log.local.retention.bytes')], doc: 'With tiered storage, how many bytes stay on local disk; -2 means retention.bytes.' }],
  ['remote.log.copy.disable', { default: 'false', synonyms: [], doc: 'With tiered storage, stop copying segments to remote storage and keep the remote data read-only.' }],
  ['remote.log.delete.on.disable', { default: 'false', synonyms: [], doc: 'With tiered storage, delete the remote data when remote storage is turned off for the topic.' }],
]);

export type BrokerConfigType = ConfigType | 'PASSWORD' | 'CLASS';

export interface BrokerConfigDef {
  readonly name: string;
  readonly type: BrokerConfigType;
  /** Kafka's default as ConfigDef prints it; null when Kafka has none (then DescribeConfigs reports null). */
  readonly default: string | null;
  readonly doc: string;
  /** In DynamicBrokerConfig.AllDynamicConfigs: AlterConfigs may change it (cluster-wide or per broker). */
  readonly dynamic: boolean;
  readonly validator?: Validator;
}

const broker = (
  name: string,
  type: BrokerConfigType,
  dflt: string | null,
  dynamic: boolean,
  doc: string,
  validator?: Validator,
): BrokerConfigDef => ({ name, type, default: dflt, dynamic, doc, validator });

const CLEANUP_POLICIES = validList('compact', 'delete');
const COMPRESSION_TYPES = validString('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer');
const TIMESTAMP_TYPES = validString('CreateTime', 'LogAppendTime');

/**
 * The broker configs reported for a broker resource: Eddy's options under their Kafka names, every server synonym
 * of a topic config, and Kafka's dynamic thread-pool settings (accepted and stored; Eddy's pools are fixed).
 */
export const BROKER_CONFIGS: ReadonlyMap<string, BrokerConfigDef> = new Map(
  [
    broker('node.id', 'INT', '-1', false, 'The id of this node in the cluster.'),
    broker('listeners', 'LIST', 'PLAINTEXT://:9092', false, 'The addresses the broker listens on.'),
    broker('advertised.listeners', 'STRING', null, false, 'The addresses given to clients in metadata, when they differ from listeners.'),
    // Listener security (issue 13; values from security-config-props.ts). Kafka lets most of these change per
    // listener at runtime; Eddy reads its certificates and SASL settings once at start, so they are read-only here.
    // PASSWORD configs are always described with value null and isSensitive true (ConfigHelper).
    broker('listener.security.protocol.map', 'STRING', 'SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT', false, 'The security protocol of each listener name, as NAME:PROTOCOL pairs.'),
    broker('authorizer.class.name', 'STRING', '', false, 'The authorizer that checks every request against the ACLs (Eddy: --authorizer acl, reported as StandardAuthorizer); empty: none, everything is allowed.'),
    broker('principal.builder.class', 'CLASS', 'org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder', false, 'How a connection\'s principal is built: the SASL user name, or the client certificate\'s distinguished name.'),
    broker('sasl.enabled.mechanisms', 'LIST', 'GSSAPI', false, 'The SASL mechanisms SASL_PLAINTEXT and SASL_SSL listeners offer.'),
    broker('sasl.server.max.receive.size', 'INT', '524288', false, 'The largest frame read before a connection has authenticated.'),
    broker('connections.max.reauth.ms', 'LONG', '0', false, 'The lifetime of an authenticated SASL session; clients re-authenticate before it ends (KIP-368). 0: no limit.'),
    broker('ssl.client.auth', 'STRING', 'none', false, 'Whether TLS listeners ask for a client certificate: required, requested or none.', validString('required', 'requested', 'none')),
    broker('ssl.protocol', 'STRING', 'TLSv1.3', false, 'The TLS protocol used to create the TLS context.'),
    broker('ssl.enabled.protocols', 'LIST', 'TLSv1.2,TLSv1.3', false, 'The TLS versions TLS listeners accept.'),
    broker('ssl.endpoint.identification.algorithm', 'STRING', 'https', false, 'How peers check a certificate\'s host name.'),
    broker('inter.broker.listener.name', 'STRING', null, false, 'The listener the brokers of a cluster reach each other on; unset: the one named after security.inter.broker.protocol.'),
    broker('security.inter.broker.protocol', 'STRING', 'PLAINTEXT', false, 'The protocol of the inter-broker listener when inter.broker.listener.name is not set.', validString('PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL')),
    broker('sasl.mechanism.inter.broker.protocol', 'STRING', 'GSSAPI', false, 'The SASL mechanism brokers authenticate to each other with (Eddy: the first of sasl.enabled.mechanisms when unset; GSSAPI is not implemented).'),
    broker('ssl.keystore.type', 'STRING', 'JKS', false, 'The format of the key store (Eddy: PEM files).'),
    broker('ssl.keystore.location', 'STRING', null, false, 'The key store file.'),
    broker('ssl.keystore.password', 'PASSWORD', null, false, 'The password of the key store.'),
    broker('ssl.key.password', 'PASSWORD', null, false, 'The password of the private key.'),
    broker('ssl.keystore.certificate.chain', 'PASSWORD', null, false, 'The certificate chain of the broker, as PEM (Eddy: --ssl-cert-file).'),
    broker('ssl.keystore.key', 'PASSWORD', null, false, 'The private key of the broker, as PEM (Eddy: --ssl-key-file).'),
    broker('ssl.truststore.type', 'STRING', 'JKS', false, 'The format of the trust store (Eddy: PEM).'),
    broker('ssl.truststore.location', 'STRING', null, false, 'The CA certificates client certificates must chain to (Eddy: --ssl-ca-file).'),
    broker('ssl.truststore.password', 'PASSWORD', null, false, 'The password of the trust store.'),
    broker('ssl.truststore.certificates', 'PASSWORD', null, false, 'The trusted CA certificates, as PEM.'),
    broker('log.dir', 'STRING', '/tmp/kafka-logs', false, 'The directory holding the log data (used when log.dirs is not set).'),
    broker('log.dirs', 'STRING', null, false, 'The directories holding the log data.'),
    broker('auto.create.topics.enable', 'BOOLEAN', 'true', false, 'Create a topic when a client asks for metadata of (or produces to) a topic that does not exist.'),
    broker('num.partitions', 'INT', '1', false, 'The partition count of a topic created without one.', range(1)),
    broker('socket.request.max.bytes', 'INT', '104857600', false, 'The largest request the broker reads.', range(1)),
    broker('connections.max.idle.ms', 'LONG', '600000', false, 'Idle connections are closed after this long.'),
    broker('queued.max.request.bytes', 'LONG', '-1', false, 'Bytes of requests that may be queued before the broker stops reading from sockets.'),
    broker('fetch.max.bytes', 'INT', '57671680', false, 'The most record bytes the broker returns in one Fetch response.', range(1024)),
    broker('max.incremental.fetch.session.cache.slots', 'INT', '1000', false, 'The most incremental fetch sessions (KIP-227) the broker keeps.', range(0)),
    broker('max.connections', 'INT', INT_MAX, true, 'The most connections the broker accepts.', range(0)),
    broker('max.connections.per.ip', 'INT', INT_MAX, true, 'The most connections the broker accepts from one address.', range(0)),
    broker('max.connection.creation.rate', 'INT', INT_MAX, true, 'The most new connections per second; more are delayed.', range(0)),
    broker('quota.window.num', 'INT', '11', false, 'Samples kept for client quotas.', range(1)),
    broker('quota.window.size.seconds', 'INT', '1', false, 'Length of one client quota sample.', range(1)),
    broker('max.connections.per.ip.overrides', 'STRING', '', true, 'Per-address connection limits, as host:count pairs separated by commas.'),
    broker('message.max.bytes', 'INT', '1048588', true, 'The largest record batch the broker accepts, for topics without max.message.bytes.', range(0)),
    broker('log.segment.bytes', 'INT', '1073741824', true, 'The default segment.bytes.', range(14)),
    broker('log.roll.ms', 'LONG', null, true, 'The default segment.ms; log.roll.hours is used when this is not set.'),
    broker('log.roll.hours', 'INT', '168', false, 'The default segment.ms in hours (secondary to log.roll.ms).', range(1)),
    broker('log.roll.jitter.ms', 'LONG', null, true, 'The default segment.jitter.ms; log.roll.jitter.hours is used when this is not set.'),
    broker('log.roll.jitter.hours', 'INT', '0', false, 'The default segment.jitter.ms in hours (secondary to log.roll.jitter.ms).', range(0)),
    broker('log.retention.ms', 'LONG', null, true, 'The default retention.ms; log.retention.minutes, then log.retention.hours, is used when this is not set. -1: no time limit.'),
    broker('log.retention.minutes', 'INT', null, false, 'The default retention.ms in minutes (secondary to log.retention.ms).'),
    broker('log.retention.hours', 'INT', '168', false, 'The default retention.ms in hours (tertiary to log.retention.ms).'),
    broker('log.retention.bytes', 'LONG', '-1', true, 'The default retention.bytes.'),
    broker('log.retention.check.interval.ms', 'LONG', '300000', false, 'How often the broker looks for segments that retention may delete.', range(1)),
    broker('log.cleanup.policy', 'LIST', 'delete', true, 'The default cleanup.policy.', CLEANUP_POLICIES),
    broker('log.index.size.max.bytes', 'INT', '10485760', true, 'The default segment.index.bytes.', range(4)),
    broker('log.index.interval.bytes', 'INT', '4096', true, 'The default index.interval.bytes.', range(0)),
    broker('log.flush.interval.messages', 'LONG', LONG_MAX, true, 'The default flush.messages.', range(1)),
    broker('log.flush.interval.ms', 'LONG', null, true, 'The default flush.ms; log.flush.scheduler.interval.ms is used when this is not set.'),
    broker('log.flush.scheduler.interval.ms', 'LONG', LONG_MAX, false, 'How often the flusher checks whether a log needs an fsync.'),
    broker('log.flush.offset.checkpoint.interval.ms', 'INT', '60000', false, 'How often the recovery points are checkpointed.', range(0)),
    broker('log.segment.delete.delay.ms', 'LONG', '60000', true, 'The default file.delete.delay.ms.', range(0)),
    broker('log.preallocate', 'BOOLEAN', 'false', true, 'The default preallocate.'),
    broker('log.message.format.version', 'STRING', '3.0-IV1', false, 'Deprecated: the default message.format.version.'),
    broker('log.message.timestamp.type', 'STRING', 'CreateTime', true, 'The default message.timestamp.type.', TIMESTAMP_TYPES),
    broker('log.message.timestamp.difference.max.ms', 'LONG', LONG_MAX, true, 'Deprecated: the default message.timestamp.difference.max.ms.', range(0)),
    broker('log.message.timestamp.before.max.ms', 'LONG', LONG_MAX, true, 'The default message.timestamp.before.max.ms.', range(0)),
    broker('log.message.timestamp.after.max.ms', 'LONG', LONG_MAX, true, 'The default message.timestamp.after.max.ms.', range(0)),
    broker('log.message.downconversion.enable', 'BOOLEAN', 'true', true, 'The default message.downconversion.enable.'),
    broker('log.local.retention.ms', 'LONG', '-2', true, 'The default local.retention.ms.', range(-2)),
    broker('log.local.retention.bytes', 'LONG', '-2', true, 'The default local.retention.bytes.', range(-2)),
    broker('unclean.leader.election.enable', 'BOOLEAN', 'false', true, 'The default unclean.leader.election.enable.'),
    broker('min.insync.replicas', 'INT', '1', true, 'The default min.insync.replicas.', range(1)),
    broker('compression.type', 'STRING', 'producer', true, 'The default compression.type.', COMPRESSION_TYPES),
    broker('compression.gzip.level', 'INT', '-1', true, 'The default compression.gzip.level.'),
    broker('compression.lz4.level', 'INT', '9', true, 'The default compression.lz4.level.', range(1, 17)),
    broker('compression.zstd.level', 'INT', '3', true, 'The default compression.zstd.level.', range(-131072, 22)),
    broker('log.cleaner.enable', 'BOOLEAN', 'true', false, 'Run the log cleaner, which compacts topics with cleanup.policy=compact.'),
    broker('log.cleaner.threads', 'INT', '1', true, 'The number of log cleaner threads.', range(0)),
    broker('log.cleaner.backoff.ms', 'LONG', '15000', true, 'How long the cleaner sleeps when no log needs cleaning.', range(0)),
    broker('log.cleaner.io.max.bytes.per.second', 'DOUBLE', '1.7976931348623157E308', true, 'The cleaner\'s I/O limit, reads and writes together.'),
    broker('log.cleaner.dedupe.buffer.size', 'LONG', '134217728', true, 'The memory the cleaner uses for its key map.'),
    broker('log.cleaner.min.cleanable.ratio', 'DOUBLE', '0.5', true, 'The default min.cleanable.dirty.ratio.', range(0, 1)),
    broker('log.cleaner.delete.retention.ms', 'LONG', '86400000', true, 'The default delete.retention.ms.', range(0)),
    broker('log.cleaner.min.compaction.lag.ms', 'LONG', '0', true, 'The default min.compaction.lag.ms.', range(0)),
    broker('log.cleaner.max.compaction.lag.ms', 'LONG', LONG_MAX, true, 'The default max.compaction.lag.ms.', range(1)),
    broker('num.io.threads', 'INT', '8', true, 'The number of request handler threads.', range(1)),
    broker('num.network.threads', 'INT', '3', true, 'The number of network threads.', range(1)),
    broker('background.threads', 'INT', '10', true, 'The number of background threads.', range(1)),
    broker('num.replica.fetchers', 'INT', '1', true, 'The number of replica fetcher threads per source broker.'),
    broker('num.recovery.threads.per.data.dir', 'INT', '1', true, 'The number of threads per data directory that load logs at startup.', range(1)),
    broker('group.initial.rebalance.delay.ms', 'INT', '3000', false, 'How long an empty group waits for more members before its first rebalance.'),
    broker('group.min.session.timeout.ms', 'INT', '6000', false, 'The smallest session timeout a member may ask for.'),
    broker('group.max.session.timeout.ms', 'INT', '1800000', false, 'The largest session timeout a member may ask for.'),
    broker('group.max.size', 'INT', INT_MAX, false, 'The most members one group may have.', range(1)),
    broker('group.consumer.heartbeat.interval.ms', 'INT', '5000', false, 'The heartbeat interval given to the members of a consumer-protocol group (KIP-848).', range(1)),
    broker('group.consumer.min.heartbeat.interval.ms', 'INT', '5000', false, 'The lower bound of group.consumer.heartbeat.interval.ms.', range(1)),
    broker('group.consumer.max.heartbeat.interval.ms', 'INT', '15000', false, 'The upper bound of group.consumer.heartbeat.interval.ms.', range(1)),
    broker('group.consumer.session.timeout.ms', 'INT', '45000', false, 'A consumer-protocol member without a heartbeat for this long is fenced.', range(1)),
    broker('group.consumer.min.session.timeout.ms', 'INT', '45000', false, 'The lower bound of group.consumer.session.timeout.ms.', range(1)),
    broker('group.consumer.max.session.timeout.ms', 'INT', '60000', false, 'The upper bound of group.consumer.session.timeout.ms.', range(1)),
    broker('group.consumer.max.size', 'INT', INT_MAX, false, 'The most members one consumer-protocol group may have.', range(1)),
    broker('group.consumer.assignors', 'LIST', 'org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor', false, 'The server-side assignors of consumer-protocol groups; the first is the default.'),
    broker('offsets.retention.minutes', 'INT', '10080', false, 'Committed offsets of an empty group expire after this long.', range(1)),
    broker('offsets.retention.check.interval.ms', 'LONG', '600000', false, 'How often expired offsets are looked for.', range(1)),
    broker('offset.metadata.max.bytes', 'INT', '4096', false, 'The longest metadata string an offset commit may carry.'),
    broker('offsets.topic.num.partitions', 'INT', '50', false, 'The partition count of __consumer_offsets.', range(1)),
    broker('offsets.topic.segment.bytes', 'INT', '104857600', false, 'The segment size of __consumer_offsets.', range(1)),
    broker('producer.id.expiration.ms', 'INT', '86400000', true, 'An idempotent producer\'s state is dropped after this long without writes.', range(1)),
    broker('producer.id.expiration.check.interval.ms', 'INT', '600000', false, 'How often expired producer ids are removed.', range(1)),
    broker('transaction.max.timeout.ms', 'INT', '900000', false, 'The longest transaction timeout a producer may ask for.', range(1)),
    broker('transactional.id.expiration.ms', 'INT', '604800000', false, 'A transactional id without updates is forgotten after this long.', range(1)),
    broker('transaction.abort.timed.out.transaction.cleanup.interval.ms', 'INT', '10000', false, 'How often timed-out transactions are aborted.', range(1)),
    broker('transaction.remove.expired.transaction.cleanup.interval.ms', 'INT', '3600000', false, 'How often expired transactional ids are removed.', range(1)),
    broker('transaction.state.log.num.partitions', 'INT', '50', false, 'The partition count of __transaction_state.', range(1)),
  ].map((d) => [d.name, d]),
);

/**
 * DynamicBrokerConfig.brokerConfigSynonyms: the names one broker setting may be given under, highest precedence
 * first (listener-prefixed names do not exist in Eddy).
 */
export function brokerConfigSynonyms(name: string): readonly string[] {
  switch (name) {
    case 'log.roll.ms':
    case 'log.roll.hours':
      return ['log.roll.ms', 'log.roll.hours'];
    case 'log.roll.jitter.ms':
    case 'log.roll.jitter.hours':
      return ['log.roll.jitter.ms', 'log.roll.jitter.hours'];
    case 'log.flush.interval.ms':
      return ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'];
    case 'log.retention.ms':
    case 'log.retention.minutes':
    case 'log.retention.hours':
      return ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'];
    default:
      return [name];
  }
}
