// Broker-wide configuration: defaults, validation and the mapping to Kafka's property names.
//
// Every option has Kafka's server property name beside it; where Eddy's default differs from Kafka's, the comment
// says why. Invalid values raise BrokerError('INVALID_CONFIG') naming the option (InvalidConfigError, which the CLI
// turns back into the flag as typed), and an unknown option name raises BrokerError('INVALID_OPTION'), so both the
// CLI and `createBroker()` callers get a clear message instead of a broker that half-starts or a typo ignored.
// DEV_DEFAULTS and LIBRARY_DEFAULTS are the test-suite trade-offs of createBroker() and `eddy start --dev`.
import { BrokerError } from '../errors.js';
import {
  DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP,
  parseAdvertisedListeners,
  parseListeners,
  SECURITY_PROTOCOLS,
  usesSasl,
  usesTls,
  type ListenerSpec,
  type SecurityProtocol,
} from '../server/listeners.js';
import type { LevelWithSilent, Logger } from 'pino';

export interface BrokerOptions {
  /** Interface to listen on (Kafka: `listeners`). */
  host?: string;
  /** TCP port; 0 picks a free port (tests). */
  port?: number;
  /** Directory holding the logs, topic metadata and checkpoints (Kafka: `log.dirs`). */
  dataDir?: string;
  /** Host clients are told to connect to in Metadata/FindCoordinator (Kafka: `advertised.listeners`). Defaults to `host`. */
  advertisedHost?: string;
  /** Port clients are told to connect to. Defaults to the bound port. */
  advertisedPort?: number;
  /**
   * Port of the HTTP admin listener (health, readiness, fault injection; http/), on `host`. Off unless given;
   * 0 picks a free port. No Kafka equivalent (Redpanda's admin API listens on 9644).
   */
  httpPort?: number;
  /** This broker's id (Kafka: `node.id`). */
  nodeId?: number;
  /** Create unknown topics on Metadata/Produce (Kafka: `auto.create.topics.enable`, default true). */
  autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic (Kafka: `num.partitions`, default 1). */
  numPartitions?: number;
  /** Largest record batch accepted (Kafka: `message.max.bytes`, default 1048588). */
  messageMaxBytes?: number;
  /** Largest request frame accepted before it is buffered (Kafka: `socket.request.max.bytes`, 100 MiB). */
  socketRequestMaxBytes?: number;
  /**
   * acks=-1 means "fsynced before acknowledged" (group commit: concurrent appends share one fsync).
   * Default true. Kafka leaves fsync to replication; a single Eddy broker has no replicas, so without this an
   * acks=all acknowledgement would promise nothing beyond acks=1. Turn off for throughput when the data is
   * disposable (CI); `log.flush.interval.*` still apply.
   */
  flushOnAckAll?: boolean;
  /** Close connections idle this long (Kafka: `connections.max.idle.ms`, 10 minutes). */
  connectionsMaxIdleMs?: number;
  /**
   * Bytes of requests being read or queued, broker-wide, before connections stop being read (Kafka:
   * `queued.max.request.bytes`). Kafka's default -1 (unbounded) leans on the JVM heap limit; Node has no such limit
   * for Buffers, so Eddy's default is 200 MiB, or twice `socket.request.max.bytes` when that is larger: one largest
   * request can be processed while another is read. -1 (or 0) means unbounded; otherwise it must be at least
   * `socket.request.max.bytes`, as Kafka requires.
   */
  queuedMaxRequestBytes?: number;
  /**
   * A request frame not complete this long after its first byte closes the connection (no Kafka equivalent; Kafka
   * allocates the frame up front and relies on `connections.max.idle.ms`, which a trickle of bytes defeats).
   * Default 30000: clients give up on a request after their own `request.timeout.ms` (30 s in the Java client).
   */
  socketRequestReadTimeoutMs?: number;
  /** Most record bytes in one Fetch response, whatever the request asks (Kafka: `fetch.max.bytes`, 57671680 = 55 MiB). */
  fetchMaxBytes?: number;
  /**
   * Cluster mode (cluster/): etcd client URLs, comma-separated (`--etcd http://127.0.0.1:2379`). Unset: a single
   * broker, exactly as without clustering (nothing of cluster/ is loaded).
   */
  etcd?: string;
  /** Key prefix of this cluster in etcd (default `/eddy`): several clusters can share one etcd. */
  etcdPrefix?: string;
  /** Kafka: `broker.rack` (rack-aware replica placement). */
  brokerRack?: string;
  /** Kafka: `broker.session.timeout.ms` (9000): a broker whose lease is not renewed this long is fenced. */
  brokerSessionTimeoutMs?: number;
  /** Kafka: `broker.heartbeat.interval.ms` (2000): how often the lease is renewed. */
  brokerHeartbeatIntervalMs?: number;
  /** Kafka: `default.replication.factor` (1): replicas of a topic created without one. */
  defaultReplicationFactor?: number;
  /** Kafka: `offsets.topic.replication.factor` (3; a single broker uses 1): replicas of `__consumer_offsets`. */
  offsetsTopicReplicationFactor?: number;
  /** Kafka: `transaction.state.log.replication.factor` (3; a single broker uses 1). */
  transactionStateLogReplicationFactor?: number;
  /** Kafka: `replica.lag.time.max.ms` (30000): an ISR follower not caught up this long leaves the ISR. */
  replicaLagTimeMaxMs?: number;
  /** Kafka: `replica.fetch.wait.max.ms` (500): the long poll of a follower's Fetch. */
  replicaFetchWaitMaxMs?: number;
  /** Kafka: `replica.fetch.max.bytes` (1048576): per partition in a follower's Fetch. */
  replicaFetchMaxBytes?: number;
  /** Kafka: `replica.fetch.response.max.bytes` (10485760). */
  replicaFetchResponseMaxBytes?: number;
  /** Kafka: `replica.fetch.backoff.ms` (1000): pause after a failed follower fetch. */
  replicaFetchBackoffMs?: number;
  /** Kafka: `replica.high.watermark.checkpoint.interval.ms` (5000): how often replicas' HWs go to replication-offset-checkpoint. */
  replicaHighWatermarkCheckpointIntervalMs?: number;
  /** Kafka: `controlled.shutdown.enable` (true): hand over leaderships before a clean stop. */
  controlledShutdownEnable?: boolean;
  /** Kafka: `auto.leader.rebalance.enable` (true): the controller moves leaderships back to preferred replicas. */
  autoLeaderRebalanceEnable?: boolean;
  /** Kafka: `leader.imbalance.check.interval.seconds` (300). */
  leaderImbalanceCheckIntervalSeconds?: number;
  /**
   * Convert stored batches down to message format v0/v1 for Fetch v0–3 readers; false answers them
   * UNSUPPORTED_VERSION (Kafka: `log.message.downconversion.enable`, default true; the topic config
   * `message.downconversion.enable` overrides it).
   */
  messageDownconversionEnable?: boolean;
  /** Most incremental fetch sessions kept (KIP-227; Kafka: `max.incremental.fetch.session.cache.slots`, 1000). 0: none. */
  maxIncrementalFetchSessionCacheSlots?: number;
  /**
   * A fetch session unused this long may be evicted by any new one, and one older than this by a larger one (Kafka:
   * `min.incremental.fetch.session.eviction.ms`, 120000; a constant in Kafka 3.9, an option here).
   */
  minIncrementalFetchSessionEvictionMs?: number;
  /** Most open client connections (Kafka: `max.connections`, default 2147483647). */
  maxConnections?: number;
  /** Most open connections from one address (Kafka: `max.connections.per.ip`, default 2147483647). */
  maxConnectionsPerIp?: number;
  /** Per-address limits, `"host:count,host:count"` (Kafka: `max.connections.per.ip.overrides`, default ""). */
  maxConnectionsPerIpOverrides?: string;
  /**
   * Most new connections per second across the broker (Kafka: `max.connection.creation.rate`, default 2147483647):
   * connections over the rate are delayed, not refused (server/connection-quotas.ts).
   */
  maxConnectionCreationRate?: number;
  /** Samples kept for client quotas (Kafka: `quota.window.num`, default 11; quota/). */
  quotaWindowNum?: number;
  /** Length of one quota sample (Kafka: `quota.window.size.seconds`, default 1; quota/). */
  quotaWindowSizeSeconds?: number;
  /**
   * Listeners, `NAME://host:port,…` (Kafka: `listeners`), e.g. `SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092`;
   * each name maps to a security protocol through `listenerSecurityProtocolMap` (server/listeners.ts). When set,
   * `host` and `port` no longer choose a Kafka listener (`host` still binds the HTTP admin listener); when unset the
   * broker has one PLAINTEXT listener on `host`:`port`, as before. The first listener is `broker.port`/`bootstrap`.
   */
  listeners?: string;
  /** `NAME://host:port,…` for listeners whose advertised endpoint differs (Kafka: `advertised.listeners`); port 0 = the bound port. */
  advertisedListeners?: string;
  /** `NAME:PROTOCOL,…` (Kafka: `listener.security.protocol.map`, default PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL). */
  listenerSecurityProtocolMap?: string;
  /** PEM certificate (chain) of SSL / SASL_SSL listeners (Kafka: `ssl.keystore.location`, as PEM). */
  sslCertFile?: string;
  /** PEM private key of that certificate (Kafka: the keystore's key). */
  sslKeyFile?: string;
  /** PEM CA certificates client certificates are verified against (Kafka: `ssl.truststore.location`). */
  sslCaFile?: string;
  /** Client certificates: `required`, `requested` or `none` (Kafka: `ssl.client.auth`, default none). */
  sslClientAuth?: 'required' | 'requested' | 'none';
  /**
   * SASL mechanisms of SASL_* listeners, comma-separated (Kafka: `sasl.enabled.mechanisms`). Kafka's default is
   * GSSAPI, which Eddy does not implement; Eddy's default is PLAIN,SCRAM-SHA-256,SCRAM-SHA-512.
   */
  saslEnabledMechanisms?: string;
  /**
   * Users to create or update at start, each `name:password` (split at the first ':'): a SCRAM credential for
   * every enabled SCRAM mechanism (which PLAIN checks too). No Kafka equivalent (Kafka: kafka-storage.sh
   * --add-scram, or JAAS for PLAIN).
   */
  saslUser?: string | string[];
  /** Longest SASL session before re-authentication is required, 0 = no limit (Kafka: `connections.max.reauth.ms`, 0; KIP-368). */
  connectionsMaxReauthMs?: number;
  /** Largest frame accepted before SASL authentication completes (Kafka: `sasl.server.max.receive.size`, 524288). */
  saslServerMaxReceiveSize?: number;
  /**
   * `acl`: check every request against the ACLs (auth/authorizer.ts, Kafka's StandardAuthorizer; Kafka:
   * `authorizer.class.name`). Unset or `none` (default): no authorizer, everything is allowed.
   */
  authorizer?: 'acl' | 'none';
  /** Principals allowed everything, `User:admin;User:ops` (Kafka: `super.users`, semicolon-separated). */
  superUsers?: string;
  /** Allow a request on a resource no ACL names (Kafka: `allow.everyone.if.no.acl.found`, default false). */
  allowEveryoneIfNoAclFound?: boolean;
  /**
   * The listener other brokers are reached on: replication, transaction markers, the coordinator client (Kafka:
   * `inter.broker.listener.name`). Unset: the listener named after securityInterBrokerProtocol. Cluster mode only
   * (a single broker has no peers); it must be one of the listeners, as in Kafka.
   */
  interBrokerListenerName?: string;
  /** The protocol of the inter-broker listener when its name is not given (Kafka: `security.inter.broker.protocol`, PLAINTEXT). */
  securityInterBrokerProtocol?: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  /**
   * The SASL mechanism brokers authenticate to each other with (Kafka: `sasl.mechanism.inter.broker.protocol`).
   * Kafka's default is GSSAPI, which Eddy does not implement; unset here is the first of saslEnabledMechanisms.
   */
  saslMechanismInterBrokerProtocol?: string;
  /**
   * `name:password` a broker authenticates to the others with when the inter-broker listener uses SASL (Kafka:
   * the username and password of the listener's `sasl.jaas.config`). Never logged.
   */
  interBrokerSaslUser?: string;
  /**
   * `https` (default): a broker connecting to another over TLS checks the peer's host name against its
   * certificate; `` (empty): only the chain is checked (Kafka: `ssl.endpoint.identification.algorithm`).
   */
  sslEndpointIdentificationAlgorithm?: string;
  /** Default `flush.messages` for topics (Kafka: `log.flush.interval.messages`, default never). */
  logFlushIntervalMessages?: number;
  /** Default `flush.ms` for topics (Kafka: `log.flush.interval.ms`, default never). */
  logFlushIntervalMs?: number;
  /** Default `segment.bytes` (Kafka: `log.segment.bytes`, 1 GiB). */
  logSegmentBytes?: number;
  /** Default `segment.ms` (Kafka: `log.roll.ms`, 7 days). */
  logRollMs?: number;
  /** Default `index.interval.bytes` (Kafka: `log.index.interval.bytes`, 4096). */
  logIndexIntervalBytes?: number;
  /**
   * Most log files (.log, .index, .timeindex) open at once; idle ones are closed and reopened on demand (no Kafka
   * equivalent: Kafka keeps every segment open). 0 (default): half the process's fd soft limit, 256 if unknown.
   */
  logMaxOpenFiles?: number;
  /** Most partitions on this broker, all topics together (KIP-578's `max.broker.partitions`; default 200000). */
  maxBrokerPartitions?: number;
  /** Run the log cleaner for `cleanup.policy=compact` topics (Kafka: `log.cleaner.enable`, true). */
  logCleanerEnable?: boolean;
  /** The cleaner sleeps this long when no log needs cleaning (Kafka: `log.cleaner.backoff.ms`, 15000). */
  logCleanerBackoffMs?: number;
  /** Default `min.cleanable.dirty.ratio` (Kafka: `log.cleaner.min.cleanable.ratio`, 0.5). */
  logCleanerMinCleanableRatio?: number;
  /** Default `delete.retention.ms` (Kafka: `log.cleaner.delete.retention.ms`, 86400000). */
  logCleanerDeleteRetentionMs?: number;
  /** Cleaner I/O rate cap, read + write (Kafka: `log.cleaner.io.max.bytes.per.second`, Double.MAX_VALUE = none). */
  logCleanerIoMaxBytesPerSecond?: number;
  /** Bounds the cleaner's key → offset map (Kafka: `log.cleaner.dedupe.buffer.size`, 134217728). */
  logCleanerDedupeBufferSize?: number;
  /**
   * Nice value of the cleaner's worker thread, 0 (the broker's own priority, as Kafka's cleaner threads) to 19
   * (least CPU under contention); default 10. No Kafka equivalent. Linux only; elsewhere ignored.
   */
  logCleanerThreadNice?: number;
  /**
   * Run the cleaner's worker thread under Linux's SCHED_IDLE policy: it gets a core only when nothing else wants it,
   * so requests wait behind it less, but on a broker whose cores are never idle compaction all but stops (default
   * false: the nice value applies). No Kafka equivalent. Needs util-linux's chrt (src/log/cleaner/thread-priority.ts).
   */
  logCleanerThreadSchedIdle?: boolean;
  /** Default `min.compaction.lag.ms` (Kafka: `log.cleaner.min.compaction.lag.ms`, 0). */
  logCleanerMinCompactionLagMs?: number;
  /** Default `max.compaction.lag.ms` (Kafka: `log.cleaner.max.compaction.lag.ms`, Long.MAX_VALUE; clamped to 2^53-1). */
  logCleanerMaxCompactionLagMs?: number;
  /** How often retention runs over every log (Kafka: `log.retention.check.interval.ms`, 300000). */
  logRetentionCheckIntervalMs?: number;
  /**
   * Default `retention.ms` (Kafka: `log.retention.ms`, unset); -1 (any negative) = unlimited. When unset,
   * `logRetentionMinutes`, then `logRetentionHours` apply (Kafka's precedence; effectiveLogRetentionMs).
   */
  logRetentionMs?: number;
  /** Kafka: `log.retention.minutes`, unset: used when `logRetentionMs` is not set. */
  logRetentionMinutes?: number;
  /** Kafka: `log.retention.hours`, 168: used when neither `logRetentionMs` nor `logRetentionMinutes` is set. */
  logRetentionHours?: number;
  /** Default `retention.bytes` per partition (Kafka: `log.retention.bytes`, -1 = unlimited). */
  logRetentionBytes?: number;
  /** Default `file.delete.delay.ms`: deleted segments' files are unlinked this much later (Kafka: `log.segment.delete.delay.ms`, 60000). */
  fileDeleteDelayMs?: number;
  /** Wait for more members before the first rebalance of an empty group (Kafka: `group.initial.rebalance.delay.ms`, 3000). */
  groupInitialRebalanceDelayMs?: number;
  /** Smallest session timeout a member may ask for (Kafka: `group.min.session.timeout.ms`, 6000). */
  groupMinSessionTimeoutMs?: number;
  /** Largest session timeout a member may ask for (Kafka: `group.max.session.timeout.ms`, 1800000). */
  groupMaxSessionTimeoutMs?: number;
  /** Most members in one group (Kafka: `group.max.size`, unlimited = 2147483647). */
  groupMaxSize?: number;
  /** Consumer-protocol groups (KIP-848): the heartbeat interval given to members (Kafka: `group.consumer.heartbeat.interval.ms`, 5000). */
  groupConsumerHeartbeatIntervalMs?: number;
  /** Bounds of group.consumer.heartbeat.interval.ms (Kafka: `group.consumer.min/max.heartbeat.interval.ms`, 5000 / 15000). */
  groupConsumerMinHeartbeatIntervalMs?: number;
  groupConsumerMaxHeartbeatIntervalMs?: number;
  /** A consumer-protocol member without a heartbeat for this long is fenced (Kafka: `group.consumer.session.timeout.ms`, 45000). */
  groupConsumerSessionTimeoutMs?: number;
  /** Bounds of group.consumer.session.timeout.ms (Kafka: `group.consumer.min/max.session.timeout.ms`, 45000 / 60000). */
  groupConsumerMinSessionTimeoutMs?: number;
  groupConsumerMaxSessionTimeoutMs?: number;
  /** Most members in one consumer-protocol group (Kafka: `group.consumer.max.size`, 2147483647). */
  groupConsumerMaxSize?: number;
  /** Server-side assignors, the first is the default (Kafka: `group.consumer.assignors`, uniform,range). */
  groupConsumerAssignors?: string[];
  /** Classic ↔ consumer group conversion of non-empty groups (Kafka: `group.consumer.migration.policy`; 4.0's default bidirectional). */
  groupConsumerMigrationPolicy?: 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';
  /** Committed offsets of an empty group expire after this long (Kafka: `offsets.retention.minutes`, 10080 = 7 days). */
  offsetsRetentionMinutes?: number;
  /** How often expired offsets are looked for (Kafka: `offsets.retention.check.interval.ms`, 600000). */
  offsetsRetentionCheckIntervalMs?: number;
  /** Longest commit metadata string accepted (Kafka: `offset.metadata.max.bytes`, 4096). */
  offsetMetadataMaxBytes?: number;
  /** An idempotent producer's state is dropped after this long without writes (Kafka: `producer.id.expiration.ms`, 86400000). */
  producerIdExpirationMs?: number;
  /** How often expired producer ids are removed (Kafka: `producer.id.expiration.check.interval.ms`, 600000). */
  producerIdExpirationCheckIntervalMs?: number;
  /** Segment size of `__consumer_offsets`, set when the topic is created (Kafka: `offsets.topic.segment.bytes`, 104857600). */
  offsetsTopicSegmentBytes?: number;
  /** Partitions of `__consumer_offsets`, used when the topic is created (Kafka: `offsets.topic.num.partitions`, 50). */
  offsetsTopicNumPartitions?: number;
  /** Longest transaction timeout a producer may ask for (Kafka: `transaction.max.timeout.ms`, 900000 = 15 minutes). */
  transactionMaxTimeoutMs?: number;
  /**
   * A transactional id with no transaction in progress is forgotten after this long without an update (Kafka:
   * `transactional.id.expiration.ms`, 604800000 = 7 days).
   */
  transactionalIdExpirationMs?: number;
  /** How often transactions open longer than their timeout are aborted (Kafka: `transaction.abort.timed.out.transaction.cleanup.interval.ms`, 10000). */
  transactionAbortTimedOutTransactionCleanupIntervalMs?: number;
  /** How often expired transactional ids are removed (Kafka: `transaction.remove.expired.transaction.cleanup.interval.ms`, 3600000). */
  transactionRemoveExpiredTransactionCleanupIntervalMs?: number;
  /** Partitions of `__transaction_state` when the broker creates it (Kafka: `transaction.state.log.num.partitions`, 50). */
  transactionStateLogNumPartitions?: number;
  /** pino level; ignored when `logger` is given. */
  logLevel?: LevelWithSilent;
  /** A logger to use instead of creating one (embedding). */
  logger?: Logger;
}

export interface BrokerConfig {
  host: string;
  port: number;
  dataDir: string;
  advertisedHost: string | undefined;
  advertisedPort: number | undefined;
  httpPort: number | undefined;
  nodeId: number;
  autoCreateTopics: boolean;
  numPartitions: number;
  messageMaxBytes: number;
  socketRequestMaxBytes: number;
  flushOnAckAll: boolean;
  connectionsMaxIdleMs: number;
  queuedMaxRequestBytes: number;
  socketRequestReadTimeoutMs: number;
  fetchMaxBytes: number;
  etcd: string | undefined;
  etcdPrefix: string;
  brokerRack: string | undefined;
  brokerSessionTimeoutMs: number;
  brokerHeartbeatIntervalMs: number;
  defaultReplicationFactor: number;
  offsetsTopicReplicationFactor: number;
  transactionStateLogReplicationFactor: number;
  replicaLagTimeMaxMs: number;
  replicaFetchWaitMaxMs: number;
  replicaFetchMaxBytes: number;
  replicaFetchResponseMaxBytes: number;
  replicaFetchBackoffMs: number;
  replicaHighWatermarkCheckpointIntervalMs: number;
  controlledShutdownEnable: boolean;
  autoLeaderRebalanceEnable: boolean;
  leaderImbalanceCheckIntervalSeconds: number;
  messageDownconversionEnable: boolean;
  maxIncrementalFetchSessionCacheSlots: number;
  minIncrementalFetchSessionEvictionMs: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxConnectionsPerIpOverrides: string;
  maxConnectionCreationRate: number;
  quotaWindowNum: number;
  quotaWindowSizeSeconds: number;
  listeners: string | undefined;
  advertisedListeners: string | undefined;
  listenerSecurityProtocolMap: string;
  sslCertFile: string | undefined;
  sslKeyFile: string | undefined;
  sslCaFile: string | undefined;
  sslClientAuth: 'required' | 'requested' | 'none';
  saslEnabledMechanisms: string;
  saslUser: string[];
  connectionsMaxReauthMs: number;
  saslServerMaxReceiveSize: number;
  authorizer: 'acl' | 'none';
  superUsers: string;
  allowEveryoneIfNoAclFound: boolean;
  interBrokerListenerName: string | undefined;
  securityInterBrokerProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL' | undefined;
  saslMechanismInterBrokerProtocol: string | undefined;
  interBrokerSaslUser: string | undefined;
  sslEndpointIdentificationAlgorithm: string;
  logFlushIntervalMessages: number;
  logFlushIntervalMs: number;
  logSegmentBytes: number;
  logRollMs: number;
  logIndexIntervalBytes: number;
  logMaxOpenFiles: number;
  maxBrokerPartitions: number;
  logCleanerEnable: boolean;
  logCleanerBackoffMs: number;
  logCleanerMinCleanableRatio: number;
  logCleanerDeleteRetentionMs: number;
  logCleanerIoMaxBytesPerSecond: number;
  logCleanerDedupeBufferSize: number;
  logCleanerThreadNice: number;
  logCleanerThreadSchedIdle: boolean;
  logCleanerMinCompactionLagMs: number;
  logCleanerMaxCompactionLagMs: number;
  logRetentionCheckIntervalMs: number;
  logRetentionMs: number | undefined;
  logRetentionMinutes: number | undefined;
  logRetentionHours: number;
  logRetentionBytes: number;
  fileDeleteDelayMs: number;
  groupInitialRebalanceDelayMs: number;
  groupMinSessionTimeoutMs: number;
  groupMaxSessionTimeoutMs: number;
  groupMaxSize: number;
  groupConsumerHeartbeatIntervalMs: number;
  groupConsumerMinHeartbeatIntervalMs: number;
  groupConsumerMaxHeartbeatIntervalMs: number;
  groupConsumerSessionTimeoutMs: number;
  groupConsumerMinSessionTimeoutMs: number;
  groupConsumerMaxSessionTimeoutMs: number;
  groupConsumerMaxSize: number;
  groupConsumerAssignors: string[];
  groupConsumerMigrationPolicy: 'disabled' | 'upgrade' | 'downgrade' | 'bidirectional';
  offsetsRetentionMinutes: number;
  offsetsRetentionCheckIntervalMs: number;
  offsetMetadataMaxBytes: number;
  producerIdExpirationMs: number;
  producerIdExpirationCheckIntervalMs: number;
  offsetsTopicSegmentBytes: number;
  offsetsTopicNumPartitions: number;
  transactionMaxTimeoutMs: number;
  transactionalIdExpirationMs: number;
  transactionAbortTimedOutTransactionCleanupIntervalMs: number;
  transactionRemoveExpiredTransactionCleanupIntervalMs: number;
  transactionStateLogNumPartitions: number;
  logLevel: LevelWithSilent;
}

export const DEFAULT_BROKER_CONFIG: BrokerConfig = {
  host: '127.0.0.1',
  port: 9092,
  dataDir: './data',
  advertisedHost: undefined,
  advertisedPort: undefined,
  httpPort: undefined,
  nodeId: 1,
  autoCreateTopics: true,
  numPartitions: 1,
  messageMaxBytes: 1048588,
  socketRequestMaxBytes: 104857600,
  flushOnAckAll: true,
  connectionsMaxIdleMs: 600_000,
  queuedMaxRequestBytes: 209715200,
  socketRequestReadTimeoutMs: 30_000,
  fetchMaxBytes: 57671680,
  etcd: undefined,
  etcdPrefix: '/eddy',
  brokerRack: undefined,
  brokerSessionTimeoutMs: 9000,
  brokerHeartbeatIntervalMs: 2000,
  defaultReplicationFactor: 1,
  offsetsTopicReplicationFactor: 3,
  transactionStateLogReplicationFactor: 3,
  replicaLagTimeMaxMs: 30_000,
  replicaFetchWaitMaxMs: 500,
  replicaFetchMaxBytes: 1048576,
  replicaFetchResponseMaxBytes: 10485760,
  replicaFetchBackoffMs: 1000,
  replicaHighWatermarkCheckpointIntervalMs: 5000,
  controlledShutdownEnable: true,
  autoLeaderRebalanceEnable: true,
  leaderImbalanceCheckIntervalSeconds: 300,
  messageDownconversionEnable: true,
  maxIncrementalFetchSessionCacheSlots: 1000,
  minIncrementalFetchSessionEvictionMs: 120_000,
  maxConnections: 2147483647,
  maxConnectionsPerIp: 2147483647,
  maxConnectionsPerIpOverrides: '',
  maxConnectionCreationRate: 2147483647,
  quotaWindowNum: 11,
  quotaWindowSizeSeconds: 1,
  listeners: undefined,
  advertisedListeners: undefined,
  listenerSecurityProtocolMap: DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP,
  sslCertFile: undefined,
  sslKeyFile: undefined,
  sslCaFile: undefined,
  sslClientAuth: 'none',
  saslEnabledMechanisms: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
  saslUser: [],
  connectionsMaxReauthMs: 0,
  saslServerMaxReceiveSize: 524288,
  authorizer: 'none',
  superUsers: '',
  allowEveryoneIfNoAclFound: false,
  interBrokerListenerName: undefined,
  securityInterBrokerProtocol: undefined,
  saslMechanismInterBrokerProtocol: undefined,
  interBrokerSaslUser: undefined,
  sslEndpointIdentificationAlgorithm: 'https',
  logFlushIntervalMessages: Number.MAX_SAFE_INTEGER,
  logFlushIntervalMs: Number.MAX_SAFE_INTEGER,
  logSegmentBytes: 1073741824,
  logRollMs: 7 * 24 * 60 * 60 * 1000,
  logIndexIntervalBytes: 4096,
  logMaxOpenFiles: 0,
  maxBrokerPartitions: 200_000,
  logCleanerEnable: true,
  logCleanerBackoffMs: 15_000,
  logCleanerMinCleanableRatio: 0.5,
  logCleanerDeleteRetentionMs: 86_400_000,
  logCleanerIoMaxBytesPerSecond: Number.MAX_VALUE,
  logCleanerDedupeBufferSize: 134_217_728,
  logCleanerThreadNice: 10,
  logCleanerThreadSchedIdle: false,
  logCleanerMinCompactionLagMs: 0,
  logCleanerMaxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  logRetentionCheckIntervalMs: 300_000,
  logRetentionMs: undefined,
  logRetentionMinutes: undefined,
  logRetentionHours: 168,
  logRetentionBytes: -1,
  fileDeleteDelayMs: 60_000,
  groupInitialRebalanceDelayMs: 3000,
  groupMinSessionTimeoutMs: 6000,
  groupMaxSessionTimeoutMs: 1800000,
  groupMaxSize: 2147483647,
  groupConsumerHeartbeatIntervalMs: 5000,
  groupConsumerMinHeartbeatIntervalMs: 5000,
  groupConsumerMaxHeartbeatIntervalMs: 15000,
  groupConsumerSessionTimeoutMs: 45000,
  groupConsumerMinSessionTimeoutMs: 45000,
  groupConsumerMaxSessionTimeoutMs: 60000,
  groupConsumerMaxSize: 2147483647,
  groupConsumerAssignors: ['uniform', 'range'],
  groupConsumerMigrationPolicy: 'bidirectional',
  offsetsRetentionMinutes: 10080,
  offsetsRetentionCheckIntervalMs: 600000,
  offsetMetadataMaxBytes: 4096,
  producerIdExpirationMs: 86400000,
  producerIdExpirationCheckIntervalMs: 600000,
  offsetsTopicSegmentBytes: 104857600,
  offsetsTopicNumPartitions: 50,
  transactionMaxTimeoutMs: 900000,
  transactionalIdExpirationMs: 604800000,
  transactionAbortTimedOutTransactionCleanupIntervalMs: 10000,
  transactionRemoveExpiredTransactionCleanupIntervalMs: 3600000,
  transactionStateLogNumPartitions: 50,
  logLevel: 'info',
};

/**
 * The trade-offs of a dev or test broker, shared by createBroker() (the in-process broker) and `eddy start --dev`:
 * no 3 s wait before an empty group's first rebalance (Kafka's `group.initial.rebalance.delay.ms` default batches
 * a production group's joiners; a test's single consumer only waits). A temporary data dir, removed on close, is
 * the other dev default; it is not a config value, so createBroker() and the CLI apply it themselves.
 */
export const DEV_DEFAULTS: Readonly<Partial<BrokerConfig>> = {
  groupInitialRebalanceDelayMs: 0,
};

/**
 * createBroker()'s defaults where they differ from the server's (`eddy start`, which keeps Kafka's): the dev
 * trade-offs, plus any free port and no logs unless asked, as a library embedded in a test suite should be.
 */
export const LIBRARY_DEFAULTS: Readonly<Partial<BrokerConfig>> = {
  ...DEV_DEFAULTS,
  port: 0,
  logLevel: 'silent',
};

/**
 * The settings of `config` that differ from the server defaults (DEFAULT_BROKER_CONFIG), except the listener,
 * data dir and log level (reported on their own): what the startup line reports as "non-default config".
 */
export function nonDefaultConfig(config: BrokerConfig): Partial<BrokerConfig> {
  const defaults: BrokerConfig = {
    ...DEFAULT_BROKER_CONFIG,
    queuedMaxRequestBytes: Math.max(DEFAULT_BROKER_CONFIG.queuedMaxRequestBytes, 2 * config.socketRequestMaxBytes),
  };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === 'host' || key === 'port' || key === 'dataDir' || key === 'logLevel') continue;
    // Passwords are never logged: only the user names given with --sasl-user.
    if (key === 'saslUser') {
      if (config.saslUser.length > 0) out[key] = config.saslUser.map((u) => u.slice(0, Math.max(0, u.indexOf(':'))));
      continue;
    }
    if (key === 'interBrokerSaslUser') {
      if (config.interBrokerSaslUser !== undefined) out[key] = config.interBrokerSaslUser.slice(0, Math.max(0, config.interBrokerSaslUser.indexOf(':')));
      continue;
    }
    if (value !== (defaults as unknown as Record<string, unknown>)[key]) out[key] = value;
  }
  return out as Partial<BrokerConfig>;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** BrokerError('INVALID_CONFIG') that also names the option and what it expects, so the CLI can name its flag. */
export class InvalidConfigError extends BrokerError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly expected: string,
  ) {
    super('INVALID_CONFIG', `Invalid value ${typeof value === 'string' ? JSON.stringify(value) : String(value)} for ${option}: expected ${expected}`);
  }
}

/** The cluster-mode options (cluster/); checked whether or not `etcd` is set, so a typo is never silent. */
function checkClusterOptions(c: BrokerConfig): void {
  if (c.etcd !== undefined) {
    if (typeof c.etcd !== 'string' || parseEtcdEndpoints(c.etcd).length === 0) invalid('etcd', c.etcd, 'etcd URLs, comma-separated (http://host:port)');
    for (const url of parseEtcdEndpoints(c.etcd)) {
      if (!/^https?:\/\/[^/\s]+(:\d+)?\/?$/.test(url)) invalid('etcd', c.etcd, `etcd URLs like http://127.0.0.1:2379 (not ${JSON.stringify(url)})`);
    }
  }
  if (typeof c.etcdPrefix !== 'string' || !/^\/[^/]/.test(c.etcdPrefix) || c.etcdPrefix.endsWith('/')) {
    invalid('etcdPrefix', c.etcdPrefix, "a key prefix starting with '/' and not ending with '/'");
  }
  if (c.brokerRack !== undefined && (typeof c.brokerRack !== 'string' || c.brokerRack.length === 0)) invalid('brokerRack', c.brokerRack, 'a rack name');
  checkInt('brokerSessionTimeoutMs', c.brokerSessionTimeoutMs, 1000, 2 ** 31 - 1);
  checkInt('brokerHeartbeatIntervalMs', c.brokerHeartbeatIntervalMs, 100, 2 ** 31 - 1);
  if (c.brokerHeartbeatIntervalMs >= c.brokerSessionTimeoutMs) {
    invalid('brokerHeartbeatIntervalMs', c.brokerHeartbeatIntervalMs, `less than brokerSessionTimeoutMs (${c.brokerSessionTimeoutMs})`);
  }
  checkInt('defaultReplicationFactor', c.defaultReplicationFactor, 1, 32767);
  checkInt('offsetsTopicReplicationFactor', c.offsetsTopicReplicationFactor, 1, 32767);
  checkInt('transactionStateLogReplicationFactor', c.transactionStateLogReplicationFactor, 1, 32767);
  checkInt('replicaLagTimeMaxMs', c.replicaLagTimeMaxMs, 1, 2 ** 31 - 1);
  checkInt('replicaFetchWaitMaxMs', c.replicaFetchWaitMaxMs, 0, 2 ** 31 - 1);
  checkInt('replicaFetchMaxBytes', c.replicaFetchMaxBytes, 0, 2 ** 31 - 1);
  checkInt('replicaFetchResponseMaxBytes', c.replicaFetchResponseMaxBytes, 0, 2 ** 31 - 1);
  checkInt('replicaFetchBackoffMs', c.replicaFetchBackoffMs, 0, 2 ** 31 - 1);
  checkInt('replicaHighWatermarkCheckpointIntervalMs', c.replicaHighWatermarkCheckpointIntervalMs, 1, 2 ** 31 - 1);
  if (typeof c.controlledShutdownEnable !== 'boolean') invalid('controlledShutdownEnable', c.controlledShutdownEnable, 'true or false');
  if (typeof c.autoLeaderRebalanceEnable !== 'boolean') invalid('autoLeaderRebalanceEnable', c.autoLeaderRebalanceEnable, 'true or false');
  checkInt('leaderImbalanceCheckIntervalSeconds', c.leaderImbalanceCheckIntervalSeconds, 1, 2 ** 31 - 1);
}

/** `--etcd` split into its URLs. */
export function parseEtcdEndpoints(value: string): string[] {
  return value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u.length > 0);
}

function invalid(option: string, value: unknown, expected: string): never {
  throw new InvalidConfigError(option, value, expected);
}

/** Every option name createBroker() accepts: the config keys plus `logger`. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([...Object.keys(DEFAULT_BROKER_CONFIG), 'logger']);

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Throws BrokerError('INVALID_OPTION') naming the first option name createBroker() does not know (a typo is not ignored). */
export function checkOptionNames(options: object): void {
  for (const key of Object.keys(options)) {
    if (KNOWN_OPTIONS.has(key)) continue;
    const lower = key.toLowerCase();
    const near = [...KNOWN_OPTIONS].find((k) => k.toLowerCase() === lower || editDistance(k.toLowerCase(), lower) <= 2);
    throw new BrokerError('INVALID_OPTION', `Unknown broker option ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`);
  }
}

/**
 * The broker's default `retention.ms` (Kafka's KafkaConfig.logRetentionTimeMillis): log.retention.ms when set,
 * else log.retention.minutes × 60000 when set, else log.retention.hours × 3600000; any negative result is -1.
 */
export function effectiveLogRetentionMs(config: Pick<BrokerConfig, 'logRetentionMs' | 'logRetentionMinutes' | 'logRetentionHours'>): number {
  const ms = config.logRetentionMs ?? (config.logRetentionMinutes !== undefined ? config.logRetentionMinutes * 60_000 : config.logRetentionHours * 3_600_000);
  return ms < 0 ? -1 : ms;
}

function checkInt(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(option, value, `an integer in [${min}, ${max}]`);
  }
  return value;
}

const HOST_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$|^[0-9A-Fa-f:.]+$/;

/**
 * Parses `max.connections.per.ip.overrides` ("host:count,host:count", the count after the last colon so IPv6
 * addresses work); an empty string is no overrides. Throws BrokerError('INVALID_CONFIG') on a bad entry.
 */
export function parseMaxConnectionsPerIpOverrides(value: string): Map<string, number> {
  const overrides = new Map<string, number>();
  if (typeof value !== 'string') invalid('maxConnectionsPerIpOverrides', value, 'a string "host:count,host:count"');
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.lastIndexOf(':');
    const host = colon > 0 ? entry.slice(0, colon).trim() : '';
    const countText = colon > 0 ? entry.slice(colon + 1).trim() : '';
    const count = /^[0-9]+$/.test(countText) ? Number(countText) : NaN;
    if (host === '' || !HOST_PATTERN.test(host) || !Number.isInteger(count) || count > 2 ** 31 - 1) {
      invalid('maxConnectionsPerIpOverrides', value, 'comma-separated host:count entries with a valid host and a count in [0, 2147483647]');
    }
    overrides.set(host, count);
  }
  return overrides;
}

/**
 * The broker's listeners: `listeners` parsed with the protocol map, or one PLAINTEXT listener on host:port when it
 * is unset (the broker as it always was). Throws InvalidConfigError.
 */
export function brokerListeners(c: Pick<BrokerConfig, 'listeners' | 'listenerSecurityProtocolMap' | 'host' | 'port'>): ListenerSpec[] {
  if (c.listeners === undefined) return [{ name: 'PLAINTEXT', securityProtocol: 'PLAINTEXT', host: c.host, port: c.port }];
  if (typeof c.listeners !== 'string') invalid('listeners', c.listeners, 'a string NAME://host:port,…');
  if (typeof c.listenerSecurityProtocolMap !== 'string') invalid('listenerSecurityProtocolMap', c.listenerSecurityProtocolMap, 'a string NAME:PROTOCOL,…');
  try {
    return parseListeners(c.listeners, c.listenerSecurityProtocolMap);
  } catch (err) {
    return invalid('listeners', c.listeners, (err as Error).message);
  }
}

const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** The enabled SASL mechanisms, trimmed and upper-cased, in the order given. */
export function enabledSaslMechanisms(c: Pick<BrokerConfig, 'saslEnabledMechanisms'>): string[] {
  return c.saslEnabledMechanisms
    .split(',')
    .map((m) => m.trim().toUpperCase())
    .filter((m) => m !== '');
}

/** `super.users`: split at ';', trimmed, empty entries dropped (StandardAuthorizer.getConfiguredSuperUsers). */
export function parseSuperUsers(value: string): string[] {
  return value
    .split(';')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** Listeners, TLS files, SASL mechanisms and users (the option values, not the files' contents: those are read at start). */
function checkSecurityConfig(c: BrokerConfig): void {
  if (typeof c.saslUser === 'string') c.saslUser = [c.saslUser];
  const listeners = brokerListeners(c);
  if (c.advertisedListeners !== undefined) {
    if (typeof c.advertisedListeners !== 'string') invalid('advertisedListeners', c.advertisedListeners, 'a string NAME://host:port,…');
    try {
      parseAdvertisedListeners(c.advertisedListeners, listeners);
    } catch (err) {
      invalid('advertisedListeners', c.advertisedListeners, (err as Error).message);
    }
  }
  for (const key of ['sslCertFile', 'sslKeyFile', 'sslCaFile'] as const) {
    const value = c[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) invalid(key, value, 'a file path');
  }
  if (!['required', 'requested', 'none'].includes(c.sslClientAuth)) invalid('sslClientAuth', c.sslClientAuth, 'required, requested or none');
  if (listeners.some((l) => usesTls(l.securityProtocol))) {
    if (c.sslCertFile === undefined) invalid('sslCertFile', c.sslCertFile, 'a PEM certificate file for the SSL/SASL_SSL listeners');
    if (c.sslKeyFile === undefined) invalid('sslKeyFile', c.sslKeyFile, 'a PEM private key file for the SSL/SASL_SSL listeners');
  }
  if (typeof c.saslEnabledMechanisms !== 'string') invalid('saslEnabledMechanisms', c.saslEnabledMechanisms, 'a comma-separated list');
  const mechanisms = enabledSaslMechanisms(c);
  if (mechanisms.some((m) => !SASL_MECHANISMS.includes(m))) invalid('saslEnabledMechanisms', c.saslEnabledMechanisms, `a list of ${SASL_MECHANISMS.join(', ')}`);
  if (listeners.some((l) => usesSasl(l.securityProtocol)) && mechanisms.length === 0) {
    invalid('saslEnabledMechanisms', c.saslEnabledMechanisms, 'at least one mechanism for the SASL listeners');
  }
  if (!Array.isArray(c.saslUser)) invalid('saslUser', '(hidden)', 'name:password strings');
  for (const entry of c.saslUser) {
    const colon = typeof entry === 'string' ? entry.indexOf(':') : -1;
    if (colon <= 0 || colon === entry.length - 1) invalid('saslUser', typeof entry === 'string' ? entry.slice(0, Math.max(colon, 0)) || '(hidden)' : entry, 'name:password with a non-empty name and password');
  }
  checkInt('connectionsMaxReauthMs', c.connectionsMaxReauthMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('saslServerMaxReceiveSize', c.saslServerMaxReceiveSize, 1, 2 ** 31 - 1);
  if (c.authorizer !== 'acl' && c.authorizer !== 'none') invalid('authorizer', c.authorizer, 'acl or none');
  if (typeof c.superUsers !== 'string') invalid('superUsers', c.superUsers, 'Type:name principals separated by ;');
  for (const entry of parseSuperUsers(c.superUsers)) {
    if (entry.indexOf(':') <= 0) invalid('superUsers', c.superUsers, 'Type:name principals separated by ; (e.g. User:admin)');
  }
  if (typeof c.allowEveryoneIfNoAclFound !== 'boolean') invalid('allowEveryoneIfNoAclFound', c.allowEveryoneIfNoAclFound, 'true or false');
  checkInterBrokerSecurity(c);
}

export interface InterBrokerListener {
  name: string;
  securityProtocol: SecurityProtocol;
  /** With SASL: the mechanism and the broker's own user. */
  sasl?: { mechanism: string; username: string; password: string };
}

/**
 * The listener brokers reach each other on (Kafka's KafkaConfig.getInterBrokerListenerNameAndSecurityProtocol and
 * its checks): inter.broker.listener.name, else the listener named after security.inter.broker.protocol (PLAINTEXT
 * by default); never both. It must be one of the broker's listeners; with SASL its mechanism must be enabled and
 * the broker needs a user to authenticate as. Only a cluster has inter-broker traffic, so a single broker is held
 * to these rules only for what it was given explicitly. Throws InvalidConfigError.
 */
export function interBrokerListener(c: BrokerConfig): InterBrokerListener {
  const listeners = brokerListeners(c);
  if (c.interBrokerListenerName !== undefined && c.securityInterBrokerProtocol !== undefined) {
    invalid('interBrokerListenerName', c.interBrokerListenerName, 'unset when securityInterBrokerProtocol is set: only one of inter.broker.listener.name and security.inter.broker.protocol should be set');
  }
  const name = (c.interBrokerListenerName ?? c.securityInterBrokerProtocol ?? 'PLAINTEXT').toUpperCase();
  const listener = listeners.find((l) => l.name === name);
  if (listener === undefined) {
    const option = c.interBrokerListenerName !== undefined ? 'interBrokerListenerName' : 'securityInterBrokerProtocol';
    invalid(
      option,
      c.interBrokerListenerName ?? c.securityInterBrokerProtocol ?? 'PLAINTEXT',
      `a listener name defined in listeners for inter-broker traffic (inter.broker.listener.name); the valid options based on the configured listeners are ${listeners.map((l) => l.name).join(',')}${c.interBrokerListenerName === undefined ? ` (brokers replicated over the first listener before inter.broker.listener.name existed: --inter-broker-listener-name ${listeners[0]?.name ?? ''} keeps that)` : ''}`,
    );
  }
  if (c.securityInterBrokerProtocol !== undefined && listener.securityProtocol !== c.securityInterBrokerProtocol) {
    invalid('securityInterBrokerProtocol', c.securityInterBrokerProtocol, `the protocol of the listener named ${name} (${listener.securityProtocol})`);
  }
  if (!usesSasl(listener.securityProtocol)) return { name, securityProtocol: listener.securityProtocol };
  const mechanisms = enabledSaslMechanisms(c);
  const mechanism = (c.saslMechanismInterBrokerProtocol ?? mechanisms[0] ?? '').toUpperCase();
  if (!mechanisms.includes(mechanism)) {
    invalid('saslMechanismInterBrokerProtocol', c.saslMechanismInterBrokerProtocol ?? mechanism, `one of sasl.enabled.mechanisms (${mechanisms.join(', ')}) when SASL is used for inter-broker communication`);
  }
  const user = c.interBrokerSaslUser;
  const colon = user === undefined ? -1 : user.indexOf(':');
  if (user === undefined || colon <= 0 || colon === user.length - 1) {
    invalid('interBrokerSaslUser', user === undefined ? undefined : '(hidden)', `name:password the broker authenticates to the others with over its SASL inter-broker listener ${name}`);
  }
  return { name, securityProtocol: listener.securityProtocol, sasl: { mechanism, username: user.slice(0, colon), password: user.slice(colon + 1) } };
}

function checkInterBrokerSecurity(c: BrokerConfig): void {
  if (c.interBrokerListenerName !== undefined && (typeof c.interBrokerListenerName !== 'string' || c.interBrokerListenerName === '')) invalid('interBrokerListenerName', c.interBrokerListenerName, 'a listener name');
  if (c.securityInterBrokerProtocol !== undefined && !SECURITY_PROTOCOLS.includes(c.securityInterBrokerProtocol)) invalid('securityInterBrokerProtocol', c.securityInterBrokerProtocol, SECURITY_PROTOCOLS.join(', '));
  // The mechanism itself is checked only when the inter-broker listener uses SASL (interBrokerListener), as Kafka.
  if (c.saslMechanismInterBrokerProtocol !== undefined && (typeof c.saslMechanismInterBrokerProtocol !== 'string' || c.saslMechanismInterBrokerProtocol === '')) {
    invalid('saslMechanismInterBrokerProtocol', c.saslMechanismInterBrokerProtocol, 'a SASL mechanism name');
  }
  if (c.interBrokerSaslUser !== undefined && typeof c.interBrokerSaslUser !== 'string') invalid('interBrokerSaslUser', '(hidden)', 'name:password');
  // Kafka's DefaultSslEngineFactory compares it with "HTTPS" ignoring case.
  if (typeof c.sslEndpointIdentificationAlgorithm !== 'string' || (c.sslEndpointIdentificationAlgorithm.toLowerCase() !== 'https' && c.sslEndpointIdentificationAlgorithm !== '')) {
    invalid('sslEndpointIdentificationAlgorithm', c.sslEndpointIdentificationAlgorithm, 'https or an empty string');
  }
  const explicit = c.interBrokerListenerName !== undefined || c.securityInterBrokerProtocol !== undefined || c.saslMechanismInterBrokerProtocol !== undefined || c.interBrokerSaslUser !== undefined;
  if (c.etcd !== undefined || explicit) interBrokerListener(c);
}

/** Merges options over the defaults and validates every value. */
export function resolveBrokerConfig(options: BrokerOptions = {}): BrokerConfig {
  checkOptionNames(options);
  const c: BrokerConfig = { ...DEFAULT_BROKER_CONFIG };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined && key !== 'logger' && key in c) (c as unknown as Record<string, unknown>)[key] = value;
  }
  if (typeof c.host !== 'string' || c.host.length === 0) invalid('host', c.host, 'a host name or IP address');
  checkInt('port', c.port, 0, 65535);
  if (typeof c.dataDir !== 'string' || c.dataDir.length === 0) invalid('dataDir', c.dataDir, 'a directory path');
  if (c.advertisedHost !== undefined && (typeof c.advertisedHost !== 'string' || c.advertisedHost.length === 0)) {
    invalid('advertisedHost', c.advertisedHost, 'a host name');
  }
  if (c.advertisedPort !== undefined) checkInt('advertisedPort', c.advertisedPort, 1, 65535);
  if (c.httpPort !== undefined) checkInt('httpPort', c.httpPort, 0, 65535);
  checkInt('nodeId', c.nodeId, 0, 2 ** 31 - 1);
  if (typeof c.autoCreateTopics !== 'boolean') invalid('autoCreateTopics', c.autoCreateTopics, 'true or false');
  checkInt('numPartitions', c.numPartitions, 1, 100_000);
  checkInt('messageMaxBytes', c.messageMaxBytes, 0, 2 ** 31 - 1);
  checkInt('socketRequestMaxBytes', c.socketRequestMaxBytes, 1, 2 ** 31 - 1);
  if (typeof c.flushOnAckAll !== 'boolean') invalid('flushOnAckAll', c.flushOnAckAll, 'true or false');
  checkInt('connectionsMaxIdleMs', c.connectionsMaxIdleMs, 1, 2 ** 31 - 1);
  if (options.queuedMaxRequestBytes === undefined) {
    c.queuedMaxRequestBytes = Math.max(DEFAULT_BROKER_CONFIG.queuedMaxRequestBytes, 2 * c.socketRequestMaxBytes);
  }
  checkInt('queuedMaxRequestBytes', c.queuedMaxRequestBytes, -1, Number.MAX_SAFE_INTEGER);
  if (c.queuedMaxRequestBytes > 0 && c.queuedMaxRequestBytes < c.socketRequestMaxBytes) {
    invalid('queuedMaxRequestBytes', c.queuedMaxRequestBytes, `-1 (unbounded) or at least socketRequestMaxBytes (${c.socketRequestMaxBytes})`);
  }
  checkInt('socketRequestReadTimeoutMs', c.socketRequestReadTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('fetchMaxBytes', c.fetchMaxBytes, 1024, 2 ** 31 - 1);
  checkClusterOptions(c);
  if (typeof c.messageDownconversionEnable !== 'boolean') invalid('messageDownconversionEnable', c.messageDownconversionEnable, 'true or false');
  checkInt('maxIncrementalFetchSessionCacheSlots', c.maxIncrementalFetchSessionCacheSlots, 0, 2 ** 31 - 1);
  checkInt('minIncrementalFetchSessionEvictionMs', c.minIncrementalFetchSessionEvictionMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('maxConnections', c.maxConnections, 0, 2 ** 31 - 1);
  checkInt('maxConnectionsPerIp', c.maxConnectionsPerIp, 0, 2 ** 31 - 1);
  const overrides = parseMaxConnectionsPerIpOverrides(c.maxConnectionsPerIpOverrides);
  if (c.maxConnectionsPerIp === 0 && overrides.size === 0) {
    invalid('maxConnectionsPerIp', 0, 'a positive integer, or 0 only when maxConnectionsPerIpOverrides is set (as Kafka requires)');
  }
  checkInt('maxConnectionCreationRate', c.maxConnectionCreationRate, 0, 2 ** 31 - 1);
  checkInt('quotaWindowNum', c.quotaWindowNum, 1, 2 ** 31 - 1);
  checkInt('quotaWindowSizeSeconds', c.quotaWindowSizeSeconds, 1, 2 ** 31 - 1);
  checkSecurityConfig(c);
  checkInt('logFlushIntervalMessages', c.logFlushIntervalMessages, 1, Number.MAX_SAFE_INTEGER);
  checkInt('logFlushIntervalMs', c.logFlushIntervalMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('logSegmentBytes', c.logSegmentBytes, 14, 2 ** 31 - 1);
  checkInt('logRollMs', c.logRollMs, 1, Number.MAX_SAFE_INTEGER);
  checkInt('logIndexIntervalBytes', c.logIndexIntervalBytes, 0, 2 ** 31 - 1);
  checkInt('logMaxOpenFiles', c.logMaxOpenFiles, 0, 2 ** 31 - 1);
  checkInt('maxBrokerPartitions', c.maxBrokerPartitions, 1, 2 ** 31 - 1);
  // Kafka's validators: backoff atLeast(0), ratio between(0, 1), delete retention and min lag atLeast(0), max lag
  // atLeast(1); the dedupe buffer must hold at least one entry.
  if (typeof c.logCleanerEnable !== 'boolean') invalid('logCleanerEnable', c.logCleanerEnable, 'true or false');
  checkInt('logCleanerBackoffMs', c.logCleanerBackoffMs, 0, 2 ** 31 - 1);
  if (typeof c.logCleanerMinCleanableRatio !== 'number' || !(c.logCleanerMinCleanableRatio >= 0 && c.logCleanerMinCleanableRatio <= 1)) {
    invalid('logCleanerMinCleanableRatio', c.logCleanerMinCleanableRatio, 'a number in [0, 1]');
  }
  checkInt('logCleanerDeleteRetentionMs', c.logCleanerDeleteRetentionMs, 0, Number.MAX_SAFE_INTEGER);
  if (typeof c.logCleanerIoMaxBytesPerSecond !== 'number' || !(c.logCleanerIoMaxBytesPerSecond > 0)) {
    invalid('logCleanerIoMaxBytesPerSecond', c.logCleanerIoMaxBytesPerSecond, 'a positive number of bytes per second');
  }
  checkInt('logCleanerDedupeBufferSize', c.logCleanerDedupeBufferSize, 1024 * 1024 + 1, Number.MAX_SAFE_INTEGER);
  checkInt('logCleanerThreadNice', c.logCleanerThreadNice, 0, 19);
  if (typeof c.logCleanerThreadSchedIdle !== 'boolean') invalid('logCleanerThreadSchedIdle', c.logCleanerThreadSchedIdle, 'true or false');
  checkInt('logCleanerMinCompactionLagMs', c.logCleanerMinCompactionLagMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('logCleanerMaxCompactionLagMs', c.logCleanerMaxCompactionLagMs, 1, Number.MAX_SAFE_INTEGER);
  // Kafka: check interval atLeast(1); log.retention.ms must be -1 or >= 1 once resolved (KafkaConfig's require);
  // minutes and hours are INTs, bytes a LONG, the delete delay atLeast(0).
  checkInt('logRetentionCheckIntervalMs', c.logRetentionCheckIntervalMs, 1, 2 ** 31 - 1);
  if (c.logRetentionMs !== undefined) checkInt('logRetentionMs', c.logRetentionMs, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (c.logRetentionMinutes !== undefined) checkInt('logRetentionMinutes', c.logRetentionMinutes, -(2 ** 31), 2 ** 31 - 1);
  checkInt('logRetentionHours', c.logRetentionHours, -(2 ** 31), 2 ** 31 - 1);
  if (effectiveLogRetentionMs(c) === 0) invalid('logRetentionMs', 0, 'unlimited (-1) or at least 1 ms (log.retention.ms)');
  checkInt('logRetentionBytes', c.logRetentionBytes, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  checkInt('fileDeleteDelayMs', c.fileDeleteDelayMs, 0, Number.MAX_SAFE_INTEGER);
  checkInt('groupInitialRebalanceDelayMs', c.groupInitialRebalanceDelayMs, 0, 2 ** 31 - 1);
  checkInt('groupMinSessionTimeoutMs', c.groupMinSessionTimeoutMs, 0, 2 ** 31 - 1);
  checkInt('groupMaxSessionTimeoutMs', c.groupMaxSessionTimeoutMs, c.groupMinSessionTimeoutMs, 2 ** 31 - 1);
  checkInt('groupMaxSize', c.groupMaxSize, 1, 2 ** 31 - 1);
  // Kafka's GroupCoordinatorConfig: each atLeast(1), min <= value <= max (KIP-848).
  checkInt('groupConsumerMinHeartbeatIntervalMs', c.groupConsumerMinHeartbeatIntervalMs, 1, 2 ** 31 - 1);
  checkInt('groupConsumerMaxHeartbeatIntervalMs', c.groupConsumerMaxHeartbeatIntervalMs, c.groupConsumerMinHeartbeatIntervalMs, 2 ** 31 - 1);
  checkInt('groupConsumerHeartbeatIntervalMs', c.groupConsumerHeartbeatIntervalMs, c.groupConsumerMinHeartbeatIntervalMs, c.groupConsumerMaxHeartbeatIntervalMs);
  checkInt('groupConsumerMinSessionTimeoutMs', c.groupConsumerMinSessionTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('groupConsumerMaxSessionTimeoutMs', c.groupConsumerMaxSessionTimeoutMs, c.groupConsumerMinSessionTimeoutMs, 2 ** 31 - 1);
  checkInt('groupConsumerSessionTimeoutMs', c.groupConsumerSessionTimeoutMs, c.groupConsumerMinSessionTimeoutMs, c.groupConsumerMaxSessionTimeoutMs);
  checkInt('groupConsumerMaxSize', c.groupConsumerMaxSize, 1, 2 ** 31 - 1);
  // Short names (Kafka 4.0) or Kafka's class names (3.9: org.apache.kafka.coordinator.group.assignor.UniformAssignor …).
  const assignorName = /^(uniform|range|org\.apache\.kafka\.coordinator\.group\.assignor\.(Uniform|Range)Assignor)$/;
  if (!Array.isArray(c.groupConsumerAssignors) || c.groupConsumerAssignors.length === 0 || !c.groupConsumerAssignors.every((a) => typeof a === 'string' && assignorName.test(a))) {
    invalid('groupConsumerAssignors', c.groupConsumerAssignors, 'a non-empty list of uniform, range (or their Kafka class names)');
  }
  if (!['disabled', 'upgrade', 'downgrade', 'bidirectional'].includes(c.groupConsumerMigrationPolicy)) {
    invalid('groupConsumerMigrationPolicy', c.groupConsumerMigrationPolicy, 'disabled, upgrade, downgrade or bidirectional');
  }
  checkInt('offsetsRetentionMinutes', c.offsetsRetentionMinutes, 1, 2 ** 31 - 1);
  checkInt('offsetsRetentionCheckIntervalMs', c.offsetsRetentionCheckIntervalMs, 1, 2 ** 31 - 1);
  checkInt('offsetMetadataMaxBytes', c.offsetMetadataMaxBytes, 0, 2 ** 31 - 1);
  checkInt('producerIdExpirationMs', c.producerIdExpirationMs, 1, 2 ** 31 - 1);
  checkInt('producerIdExpirationCheckIntervalMs', c.producerIdExpirationCheckIntervalMs, 1, 2 ** 31 - 1);
  checkInt('offsetsTopicSegmentBytes', c.offsetsTopicSegmentBytes, 1, 2 ** 31 - 1);
  checkInt('offsetsTopicNumPartitions', c.offsetsTopicNumPartitions, 1, 2 ** 31 - 1);
  // Kafka: atLeast(1) for each (TransactionStateManagerConfigs, TransactionLogConfigs); an int there too.
  checkInt('transactionMaxTimeoutMs', c.transactionMaxTimeoutMs, 1, 2 ** 31 - 1);
  checkInt('transactionalIdExpirationMs', c.transactionalIdExpirationMs, 1, 2 ** 31 - 1);
  checkInt('transactionAbortTimedOutTransactionCleanupIntervalMs', c.transactionAbortTimedOutTransactionCleanupIntervalMs, 1, 2 ** 31 - 1);
  checkInt('transactionRemoveExpiredTransactionCleanupIntervalMs', c.transactionRemoveExpiredTransactionCleanupIntervalMs, 1, 2 ** 31 - 1);
  checkInt('transactionStateLogNumPartitions', c.transactionStateLogNumPartitions, 1, 100_000);
  if (!LEVELS.has(c.logLevel)) invalid('logLevel', c.logLevel, [...LEVELS].join(', '));
  return c;
}
