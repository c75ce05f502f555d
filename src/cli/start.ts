// `eddy start`: run a broker in the foreground until SIGINT/SIGTERM.
import type { Argv } from 'yargs';
import { createBroker } from '../broker.js';
import { DEFAULT_BROKER_CONFIG as D, DEV_DEFAULTS, type BrokerOptions } from '../metadata/broker-config.js';
import { createFormattedLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../logger.js';
import { withSecretFiles } from './secret-files.js';

export function startOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('host', { type: 'string', default: D.host, describe: 'Interface to listen on' })
    .option('port', { type: 'number', default: D.port, describe: 'TCP port to listen on (0 = any free port)' })
    .option('data-dir', { type: 'string', default: D.dataDir, describe: 'Directory for logs and metadata (log.dirs)' })
    .option('advertised-host', { type: 'string', describe: 'Host clients are told to connect to (default: --host)' })
    .option('advertised-port', { type: 'number', describe: 'Port clients are told to connect to (default: the bound port)' })
    .option('http-port', { type: 'number', describe: 'Port of the HTTP admin listener on --host: /healthz, /readyz, /v1/faults (default off; 0 = any free port)' })
    .option('node-id', { type: 'number', default: D.nodeId, describe: 'This broker\'s id (node.id)' })
    .option('auto-create-topics', { type: 'boolean', default: D.autoCreateTopics, describe: 'Create unknown topics on Metadata requests (auto.create.topics.enable)' })
    .option('num-partitions', { type: 'number', default: D.numPartitions, describe: 'Partitions of an auto-created topic (num.partitions)' })
    .option('message-max-bytes', { type: 'number', default: D.messageMaxBytes, describe: 'Largest record batch accepted (message.max.bytes)' })
    .option('socket-request-max-bytes', { type: 'number', default: D.socketRequestMaxBytes, describe: 'Largest request accepted (socket.request.max.bytes)' })
    .option('flush-on-ack-all', { type: 'boolean', default: D.flushOnAckAll, describe: 'acks=-1 is acknowledged only after fsync (group commit)' })
    .option('connections-max-idle-ms', { type: 'number', default: D.connectionsMaxIdleMs, describe: 'Close connections idle this long (connections.max.idle.ms)' })
    .option('queued-max-request-bytes', { type: 'number', describe: 'Request bytes read or queued broker-wide before reads pause; -1 = unbounded (queued.max.request.bytes; default 2 x socket.request.max.bytes, at least 200 MiB)' })
    .option('socket-request-read-timeout-ms', { type: 'number', default: D.socketRequestReadTimeoutMs, describe: 'Close a connection whose request frame is not complete this long after its first byte' })
    .option('fetch-max-bytes', { type: 'number', default: D.fetchMaxBytes, describe: 'Most record bytes in one Fetch response (fetch.max.bytes)' })
    .option('message-downconversion-enable', { type: 'boolean', default: D.messageDownconversionEnable, describe: 'Convert batches to message format v0/v1 for Fetch v0-3 readers; false answers them UNSUPPORTED_VERSION (log.message.downconversion.enable)' })
    .option('max-incremental-fetch-session-cache-slots', { type: 'number', default: D.maxIncrementalFetchSessionCacheSlots, describe: 'Most incremental fetch sessions kept, KIP-227; 0 = none (max.incremental.fetch.session.cache.slots)' })
    .option('min-incremental-fetch-session-eviction-ms', { type: 'number', default: D.minIncrementalFetchSessionEvictionMs, describe: 'Fetch sessions unused this long may be evicted (min.incremental.fetch.session.eviction.ms)' })
    .option('max-connections', { type: 'number', default: D.maxConnections, describe: 'Most open client connections (max.connections)' })
    .option('max-connections-per-ip', { type: 'number', default: D.maxConnectionsPerIp, describe: 'Most open connections from one address (max.connections.per.ip)' })
    .option('max-connections-per-ip-overrides', { type: 'string', default: D.maxConnectionsPerIpOverrides, describe: 'Per-address limits, "host:count,host:count" (max.connections.per.ip.overrides)' })
    .option('max-connection-creation-rate', { type: 'number', default: D.maxConnectionCreationRate, describe: 'Most new connections per second; more are delayed (max.connection.creation.rate)' })
    .option('quota-window-num', { type: 'number', default: D.quotaWindowNum, describe: 'Samples kept for client quotas (quota.window.num)' })
    .option('quota-window-size-seconds', { type: 'number', default: D.quotaWindowSizeSeconds, describe: 'Length of one client quota sample (quota.window.size.seconds)' })
    .option('listeners', { type: 'string', describe: 'Listeners NAME://host:port,… e.g. SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092 (listeners; default one PLAINTEXT listener on --host:--port)' })
    .option('advertised-listeners', { type: 'string', describe: 'NAME://host:port,… clients are told to connect to, per listener (advertised.listeners)' })
    .option('listener-security-protocol-map', { type: 'string', default: D.listenerSecurityProtocolMap, describe: 'NAME:PROTOCOL,… for listener names (listener.security.protocol.map)' })
    .option('ssl-cert-file', { type: 'string', describe: 'PEM certificate (chain) of the SSL/SASL_SSL listeners' })
    .option('ssl-key-file', { type: 'string', describe: 'PEM private key of --ssl-cert-file' })
    .option('ssl-ca-file', { type: 'string', describe: 'PEM CA certificates that client certificates must chain to (ssl.truststore)' })
    .option('ssl-client-auth', { type: 'string', choices: ['required', 'requested', 'none'], default: D.sslClientAuth, describe: 'Client certificates (ssl.client.auth)' })
    .option('sasl-enabled-mechanisms', { type: 'string', default: D.saslEnabledMechanisms, describe: 'SASL mechanisms of SASL_* listeners (sasl.enabled.mechanisms; Kafka\'s default GSSAPI is not implemented)' })
    // Repeatable (array: main.ts's once-only check skips array flags); each --sasl-user needs its value.
    .option('sasl-user', { type: 'string', array: true, nargs: 1, describe: 'name:password, repeatable: created or updated at start for every enabled SCRAM mechanism (and so for PLAIN)' })
    .option('sasl-users-file', { type: 'string', describe: 'A file of name:password lines, as --sasl-user takes them, kept out of the command line (blank lines and # comments skipped)' })
    .option('connections-max-reauth-ms', { type: 'number', default: D.connectionsMaxReauthMs, describe: 'SASL session lifetime before re-authentication, 0 = unlimited (connections.max.reauth.ms, KIP-368)' })
    .option('sasl-server-max-receive-size', { type: 'number', default: D.saslServerMaxReceiveSize, describe: 'Largest frame before SASL authentication completes (sasl.server.max.receive.size)' })
    .option('authorizer', { type: 'string', choices: ['acl', 'none'], default: D.authorizer, describe: 'acl: check every request against the ACLs (eddy acl add); none: allow everything (authorizer.class.name)' })
    .option('super-users', { type: 'string', default: D.superUsers, describe: 'Principals allowed everything, e.g. "User:admin;User:ops" (super.users)' })
    .option('allow-everyone-if-no-acl-found', { type: 'boolean', default: D.allowEveryoneIfNoAclFound, describe: 'Allow requests on resources no ACL names (allow.everyone.if.no.acl.found)' })
    .option('inter-broker-listener-name', { type: 'string', describe: 'Listener the brokers of a cluster reach each other on: replication, transaction markers (inter.broker.listener.name; default the listener named after --security-inter-broker-protocol)' })
    .option('security-inter-broker-protocol', { type: 'string', choices: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'], describe: 'Protocol of the inter-broker listener when its name is not given (security.inter.broker.protocol; default PLAINTEXT)' })
    .option('sasl-mechanism-inter-broker-protocol', { type: 'string', describe: 'SASL mechanism brokers authenticate to each other with (sasl.mechanism.inter.broker.protocol; default the first of --sasl-enabled-mechanisms)' })
    .option('inter-broker-sasl-user', { type: 'string', describe: 'name:password this broker authenticates to the others with over a SASL inter-broker listener (the username/password of Kafka\'s sasl.jaas.config)' })
    .option('inter-broker-sasl-user-file', { type: 'string', describe: 'A file whose first line is --inter-broker-sasl-user\'s name:password, kept out of the command line' })
    .option('ssl-endpoint-identification-algorithm', { type: 'string', default: D.sslEndpointIdentificationAlgorithm, describe: 'https: check a peer broker\'s host name against its certificate; "" (empty): only its chain (ssl.endpoint.identification.algorithm)' })
    .option('log-flush-interval-messages', { type: 'number', describe: 'fsync after this many messages (log.flush.interval.messages; default never)' })
    .option('log-flush-interval-ms', { type: 'number', describe: 'fsync at least this often (log.flush.interval.ms; default never)' })
    .option('log-segment-bytes', { type: 'number', default: D.logSegmentBytes, describe: 'Segment size before rolling (log.segment.bytes)' })
    .option('log-roll-ms', { type: 'number', default: D.logRollMs, describe: 'Segment age before rolling (log.roll.ms)' })
    .option('log-index-interval-bytes', { type: 'number', default: D.logIndexIntervalBytes, describe: 'Bytes between offset index entries (log.index.interval.bytes)' })
    .option('log-max-open-files', { type: 'number', default: D.logMaxOpenFiles, describe: 'Most log files open at once, idle ones closed (0: half the fd soft limit; no Kafka equivalent)' })
    .option('max-broker-partitions', { type: 'number', default: D.maxBrokerPartitions, describe: 'Most partitions on this broker, all topics (KIP-578 max.broker.partitions)' })
    .option('log-cleaner-enable', { type: 'boolean', default: D.logCleanerEnable, describe: 'Compact cleanup.policy=compact topics in the background (log.cleaner.enable)' })
    .option('log-cleaner-backoff-ms', { type: 'number', default: D.logCleanerBackoffMs, describe: 'Cleaner sleep when no log needs cleaning (log.cleaner.backoff.ms)' })
    .option('log-cleaner-min-cleanable-ratio', { type: 'number', default: D.logCleanerMinCleanableRatio, describe: 'Default min.cleanable.dirty.ratio (log.cleaner.min.cleanable.ratio)' })
    .option('log-cleaner-delete-retention-ms', { type: 'number', default: D.logCleanerDeleteRetentionMs, describe: 'Default delete.retention.ms: how long tombstones stay (log.cleaner.delete.retention.ms)' })
    .option('log-cleaner-io-max-bytes-per-second', { type: 'number', describe: 'Cleaner I/O rate cap, read + write (log.cleaner.io.max.bytes.per.second; default unlimited)' })
    .option('log-cleaner-dedupe-buffer-size', { type: 'number', default: D.logCleanerDedupeBufferSize, describe: 'Bytes bounding the cleaner\'s key map (log.cleaner.dedupe.buffer.size)' })
    .option('log-cleaner-thread-nice', { type: 'number', default: D.logCleanerThreadNice, describe: 'Nice value of the cleaner\'s worker thread, 0 (the broker\'s priority) to 19 (least CPU when cores are contended); Linux only, no Kafka equivalent' })
    .option('log-cleaner-thread-sched-idle', { type: 'boolean', default: D.logCleanerThreadSchedIdle, describe: 'Run the cleaner\'s worker thread under SCHED_IDLE (chrt --idle): it takes a core only when nothing else wants one, so requests wait behind it less, but compaction all but stops while the cores stay busy. Linux only, no Kafka equivalent' })
    .option('log-cleaner-min-compaction-lag-ms', { type: 'number', default: D.logCleanerMinCompactionLagMs, describe: 'Default min.compaction.lag.ms (log.cleaner.min.compaction.lag.ms)' })
    .option('log-cleaner-max-compaction-lag-ms', { type: 'number', describe: 'Default max.compaction.lag.ms (log.cleaner.max.compaction.lag.ms; default unlimited)' })
    .option('log-retention-check-interval-ms', { type: 'number', default: D.logRetentionCheckIntervalMs, describe: 'How often retention deletes old segments (log.retention.check.interval.ms)' })
    .option('log-retention-ms', { type: 'number', describe: 'Default retention.ms, -1 unlimited (log.retention.ms; overrides the minutes and hours)' })
    .option('log-retention-minutes', { type: 'number', describe: 'Default retention in minutes (log.retention.minutes; overrides the hours)' })
    .option('log-retention-hours', { type: 'number', default: D.logRetentionHours, describe: 'Default retention in hours (log.retention.hours)' })
    .option('log-retention-bytes', { type: 'number', default: D.logRetentionBytes, describe: 'Default retention.bytes per partition, -1 unlimited (log.retention.bytes)' })
    .option('file-delete-delay-ms', { type: 'number', default: D.fileDeleteDelayMs, describe: 'Delay before deleted segments\' files are unlinked (log.segment.delete.delay.ms)' })
    .option('group-initial-rebalance-delay-ms', { type: 'number', default: D.groupInitialRebalanceDelayMs, describe: 'Delay of the first rebalance of an empty group (group.initial.rebalance.delay.ms)' })
    .option('group-min-session-timeout-ms', { type: 'number', default: D.groupMinSessionTimeoutMs, describe: 'Smallest accepted member session timeout (group.min.session.timeout.ms)' })
    .option('group-max-session-timeout-ms', { type: 'number', default: D.groupMaxSessionTimeoutMs, describe: 'Largest accepted member session timeout (group.max.session.timeout.ms)' })
    .option('group-max-size', { type: 'number', default: D.groupMaxSize, describe: 'Most members in one consumer group (group.max.size)' })
    .option('group-consumer-heartbeat-interval-ms', { type: 'number', default: D.groupConsumerHeartbeatIntervalMs, describe: 'Heartbeat interval given to consumer-protocol members, KIP-848 (group.consumer.heartbeat.interval.ms)' })
    .option('group-consumer-min-heartbeat-interval-ms', { type: 'number', default: D.groupConsumerMinHeartbeatIntervalMs, describe: 'Lower bound of group.consumer.heartbeat.interval.ms (group.consumer.min.heartbeat.interval.ms)' })
    .option('group-consumer-max-heartbeat-interval-ms', { type: 'number', default: D.groupConsumerMaxHeartbeatIntervalMs, describe: 'Upper bound of group.consumer.heartbeat.interval.ms (group.consumer.max.heartbeat.interval.ms)' })
    .option('group-consumer-session-timeout-ms', { type: 'number', default: D.groupConsumerSessionTimeoutMs, describe: 'Consumer-protocol members without a heartbeat this long are fenced (group.consumer.session.timeout.ms)' })
    .option('group-consumer-min-session-timeout-ms', { type: 'number', default: D.groupConsumerMinSessionTimeoutMs, describe: 'Lower bound of group.consumer.session.timeout.ms (group.consumer.min.session.timeout.ms)' })
    .option('group-consumer-max-session-timeout-ms', { type: 'number', default: D.groupConsumerMaxSessionTimeoutMs, describe: 'Upper bound of group.consumer.session.timeout.ms (group.consumer.max.session.timeout.ms)' })
    .option('group-consumer-max-size', { type: 'number', default: D.groupConsumerMaxSize, describe: 'Most members in one consumer-protocol group (group.consumer.max.size)' })
    .option('group-consumer-assignors', { type: 'string', default: D.groupConsumerAssignors.join(','), describe: 'Server-side assignors, the first is the default (group.consumer.assignors)' })
    .option('group-consumer-migration-policy', { type: 'string', default: D.groupConsumerMigrationPolicy, describe: 'Conversion between classic and consumer groups: disabled, upgrade, downgrade, bidirectional (group.consumer.migration.policy)' })
    .option('offsets-retention-minutes', { type: 'number', default: D.offsetsRetentionMinutes, describe: 'Committed offsets of an empty group expire after this (offsets.retention.minutes)' })
    .option('offsets-retention-check-interval-ms', { type: 'number', default: D.offsetsRetentionCheckIntervalMs, describe: 'How often expired offsets are removed (offsets.retention.check.interval.ms)' })
    .option('producer-id-expiration-ms', { type: 'number', default: D.producerIdExpirationMs, describe: 'Drop an idle idempotent producer\'s state after this long (producer.id.expiration.ms)' })
    .option('producer-id-expiration-check-interval-ms', { type: 'number', default: D.producerIdExpirationCheckIntervalMs, describe: 'How often expired producer ids are removed (producer.id.expiration.check.interval.ms)' })
    .option('transaction-max-timeout-ms', { type: 'number', default: D.transactionMaxTimeoutMs, describe: 'Largest transaction timeout a producer may ask for (transaction.max.timeout.ms)' })
    .option('transactional-id-expiration-ms', { type: 'number', default: D.transactionalIdExpirationMs, describe: 'Forget a transactional id idle this long (transactional.id.expiration.ms)' })
    .option('transaction-abort-timed-out-transaction-cleanup-interval-ms', { type: 'number', default: D.transactionAbortTimedOutTransactionCleanupIntervalMs, describe: 'How often transactions past their timeout are aborted (transaction.abort.timed.out.transaction.cleanup.interval.ms)' })
    .option('transaction-remove-expired-transaction-cleanup-interval-ms', { type: 'number', default: D.transactionRemoveExpiredTransactionCleanupIntervalMs, describe: 'How often expired transactional ids are removed (transaction.remove.expired.transaction.cleanup.interval.ms)' })
    .option('transaction-state-log-num-partitions', { type: 'number', default: D.transactionStateLogNumPartitions, describe: 'Partitions of __transaction_state when it is created (transaction.state.log.num.partitions)' })
    .option('offset-metadata-max-bytes', { type: 'number', default: D.offsetMetadataMaxBytes, describe: 'Longest offset commit metadata (offset.metadata.max.bytes)' })
    .option('offsets-topic-segment-bytes', { type: 'number', default: D.offsetsTopicSegmentBytes, describe: 'Segment size of __consumer_offsets when it is created (offsets.topic.segment.bytes)' })
    .option('offsets-topic-num-partitions', { type: 'number', default: D.offsetsTopicNumPartitions, describe: 'Partitions of __consumer_offsets when it is created (offsets.topic.num.partitions)' })
    // Cluster mode (issue 14): without --etcd the broker runs alone, exactly as before.
    .option('etcd', { type: 'string', describe: 'etcd client URLs, comma-separated, e.g. http://127.0.0.1:2379: run as a member of a replicated cluster (default: a single broker, no etcd)' })
    .option('etcd-prefix', { type: 'string', default: D.etcdPrefix, describe: 'Key prefix of this cluster in etcd (several clusters can share one etcd)' })
    .option('broker-rack', { type: 'string', describe: 'This broker\'s rack, for rack-aware replica placement (broker.rack)' })
    .option('broker-session-timeout-ms', { type: 'number', default: D.brokerSessionTimeoutMs, describe: 'A broker without a heartbeat this long is fenced: its etcd lease TTL (broker.session.timeout.ms)' })
    .option('broker-heartbeat-interval-ms', { type: 'number', default: D.brokerHeartbeatIntervalMs, describe: 'How often the broker renews its etcd lease (broker.heartbeat.interval.ms)' })
    .option('default-replication-factor', { type: 'number', default: D.defaultReplicationFactor, describe: 'Replicas of a topic created without a replication factor (default.replication.factor)' })
    .option('offsets-topic-replication-factor', { type: 'number', default: D.offsetsTopicReplicationFactor, describe: 'Replicas of __consumer_offsets in a cluster (offsets.topic.replication.factor)' })
    .option('transaction-state-log-replication-factor', { type: 'number', default: D.transactionStateLogReplicationFactor, describe: 'Replicas of __transaction_state in a cluster (transaction.state.log.replication.factor)' })
    .option('replica-lag-time-max-ms', { type: 'number', default: D.replicaLagTimeMaxMs, describe: 'An ISR follower not caught up this long leaves the ISR (replica.lag.time.max.ms)' })
    .option('replica-fetch-wait-max-ms', { type: 'number', default: D.replicaFetchWaitMaxMs, describe: 'Long poll of a follower\'s Fetch (replica.fetch.wait.max.ms)' })
    .option('replica-fetch-max-bytes', { type: 'number', default: D.replicaFetchMaxBytes, describe: 'Bytes per partition in a follower\'s Fetch (replica.fetch.max.bytes)' })
    .option('replica-fetch-response-max-bytes', { type: 'number', default: D.replicaFetchResponseMaxBytes, describe: 'Bytes in one follower Fetch response (replica.fetch.response.max.bytes)' })
    .option('replica-fetch-backoff-ms', { type: 'number', default: D.replicaFetchBackoffMs, describe: 'Pause after a failed follower fetch (replica.fetch.backoff.ms)' })
    .option('replica-high-watermark-checkpoint-interval-ms', { type: 'number', default: D.replicaHighWatermarkCheckpointIntervalMs, describe: 'How often the replicas\' high watermarks are written to replication-offset-checkpoint (replica.high.watermark.checkpoint.interval.ms)' })
    .option('controlled-shutdown-enable', { type: 'boolean', default: D.controlledShutdownEnable, describe: 'On stop, move this broker\'s leaderships to other replicas first (controlled.shutdown.enable)' })
    .option('auto-leader-rebalance-enable', { type: 'boolean', default: D.autoLeaderRebalanceEnable, describe: 'The controller moves leaderships back to preferred replicas (auto.leader.rebalance.enable)' })
    .option('leader-imbalance-check-interval-seconds', { type: 'number', default: D.leaderImbalanceCheckIntervalSeconds, describe: 'How often the controller checks leader balance (leader.imbalance.check.interval.seconds)' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, default: D.logLevel, describe: 'Log level' })
    .option('log-format', { type: 'string', choices: LOG_FORMATS, default: 'json', describe: 'Logs on stdout as JSON lines, or pretty (one readable line each, for terminals)' })
    .option('dev', { type: 'boolean', default: false, describe: 'Dev trade-offs: a temporary data dir removed on exit (unless --data-dir is given) and --group-initial-rebalance-delay-ms 0 (unless given)' });
}

type StartArgs = Awaited<ReturnType<ReturnType<typeof startOptions>['parseAsync']>>;

export function brokerOptionsFromArgs(args: StartArgs): BrokerOptions {
  return {
    host: args.host,
    port: args.port,
    dataDir: args['data-dir'],
    advertisedHost: args['advertised-host'],
    advertisedPort: args['advertised-port'],
    httpPort: args['http-port'],
    nodeId: args['node-id'],
    autoCreateTopics: args['auto-create-topics'],
    numPartitions: args['num-partitions'],
    messageMaxBytes: args['message-max-bytes'],
    socketRequestMaxBytes: args['socket-request-max-bytes'],
    flushOnAckAll: args['flush-on-ack-all'],
    connectionsMaxIdleMs: args['connections-max-idle-ms'],
    queuedMaxRequestBytes: args['queued-max-request-bytes'],
    socketRequestReadTimeoutMs: args['socket-request-read-timeout-ms'],
    fetchMaxBytes: args['fetch-max-bytes'],
    messageDownconversionEnable: args['message-downconversion-enable'],
    maxIncrementalFetchSessionCacheSlots: args['max-incremental-fetch-session-cache-slots'],
    minIncrementalFetchSessionEvictionMs: args['min-incremental-fetch-session-eviction-ms'],
    maxConnections: args['max-connections'],
    maxConnectionsPerIp: args['max-connections-per-ip'],
    maxConnectionsPerIpOverrides: args['max-connections-per-ip-overrides'],
    maxConnectionCreationRate: args['max-connection-creation-rate'],
    quotaWindowNum: args['quota-window-num'],
    quotaWindowSizeSeconds: args['quota-window-size-seconds'],
    listeners: args.listeners,
    advertisedListeners: args['advertised-listeners'],
    listenerSecurityProtocolMap: args['listener-security-protocol-map'],
    sslCertFile: args['ssl-cert-file'],
    sslKeyFile: args['ssl-key-file'],
    sslCaFile: args['ssl-ca-file'],
    sslClientAuth: args['ssl-client-auth'] as BrokerOptions['sslClientAuth'],
    saslEnabledMechanisms: args['sasl-enabled-mechanisms'],
    saslUser: args['sasl-user']?.map(String),
    connectionsMaxReauthMs: args['connections-max-reauth-ms'],
    saslServerMaxReceiveSize: args['sasl-server-max-receive-size'],
    authorizer: args.authorizer as BrokerOptions['authorizer'],
    superUsers: args['super-users'],
    allowEveryoneIfNoAclFound: args['allow-everyone-if-no-acl-found'],
    interBrokerListenerName: args['inter-broker-listener-name'],
    securityInterBrokerProtocol: args['security-inter-broker-protocol'] as BrokerOptions['securityInterBrokerProtocol'],
    saslMechanismInterBrokerProtocol: args['sasl-mechanism-inter-broker-protocol'],
    interBrokerSaslUser: args['inter-broker-sasl-user'],
    sslEndpointIdentificationAlgorithm: args['ssl-endpoint-identification-algorithm'],
    logFlushIntervalMessages: args['log-flush-interval-messages'],
    logFlushIntervalMs: args['log-flush-interval-ms'],
    logSegmentBytes: args['log-segment-bytes'],
    logRollMs: args['log-roll-ms'],
    logIndexIntervalBytes: args['log-index-interval-bytes'],
    logMaxOpenFiles: args['log-max-open-files'],
    maxBrokerPartitions: args['max-broker-partitions'],
    logCleanerEnable: args['log-cleaner-enable'],
    logCleanerBackoffMs: args['log-cleaner-backoff-ms'],
    logCleanerMinCleanableRatio: args['log-cleaner-min-cleanable-ratio'],
    logCleanerDeleteRetentionMs: args['log-cleaner-delete-retention-ms'],
    logCleanerIoMaxBytesPerSecond: args['log-cleaner-io-max-bytes-per-second'],
    logCleanerDedupeBufferSize: args['log-cleaner-dedupe-buffer-size'],
    logCleanerThreadNice: args['log-cleaner-thread-nice'],
    logCleanerThreadSchedIdle: args['log-cleaner-thread-sched-idle'],
    logCleanerMinCompactionLagMs: args['log-cleaner-min-compaction-lag-ms'],
    logCleanerMaxCompactionLagMs: args['log-cleaner-max-compaction-lag-ms'],
    logRetentionCheckIntervalMs: args['log-retention-check-interval-ms'],
    logRetentionMs: args['log-retention-ms'],
    logRetentionMinutes: args['log-retention-minutes'],
    logRetentionHours: args['log-retention-hours'],
    logRetentionBytes: args['log-retention-bytes'],
    fileDeleteDelayMs: args['file-delete-delay-ms'],
    groupInitialRebalanceDelayMs: args['group-initial-rebalance-delay-ms'],
    groupMinSessionTimeoutMs: args['group-min-session-timeout-ms'],
    groupMaxSessionTimeoutMs: args['group-max-session-timeout-ms'],
    groupMaxSize: args['group-max-size'],
    groupConsumerHeartbeatIntervalMs: args['group-consumer-heartbeat-interval-ms'],
    groupConsumerMinHeartbeatIntervalMs: args['group-consumer-min-heartbeat-interval-ms'],
    groupConsumerMaxHeartbeatIntervalMs: args['group-consumer-max-heartbeat-interval-ms'],
    groupConsumerSessionTimeoutMs: args['group-consumer-session-timeout-ms'],
    groupConsumerMinSessionTimeoutMs: args['group-consumer-min-session-timeout-ms'],
    groupConsumerMaxSessionTimeoutMs: args['group-consumer-max-session-timeout-ms'],
    groupConsumerMaxSize: args['group-consumer-max-size'],
    // The default stays the default array, so the startup line does not report it as changed.
    groupConsumerAssignors:
      String(args['group-consumer-assignors']) === D.groupConsumerAssignors.join(',')
        ? undefined
        : String(args['group-consumer-assignors']).split(',').map((a) => a.trim()).filter((a) => a !== ''),
    groupConsumerMigrationPolicy: String(args['group-consumer-migration-policy']).toLowerCase() as NonNullable<BrokerOptions['groupConsumerMigrationPolicy']>,
    offsetsRetentionMinutes: args['offsets-retention-minutes'],
    offsetsRetentionCheckIntervalMs: args['offsets-retention-check-interval-ms'],
    producerIdExpirationMs: args['producer-id-expiration-ms'],
    producerIdExpirationCheckIntervalMs: args['producer-id-expiration-check-interval-ms'],
    transactionMaxTimeoutMs: args['transaction-max-timeout-ms'],
    transactionalIdExpirationMs: args['transactional-id-expiration-ms'],
    transactionAbortTimedOutTransactionCleanupIntervalMs: args['transaction-abort-timed-out-transaction-cleanup-interval-ms'],
    transactionRemoveExpiredTransactionCleanupIntervalMs: args['transaction-remove-expired-transaction-cleanup-interval-ms'],
    transactionStateLogNumPartitions: args['transaction-state-log-num-partitions'],
    offsetMetadataMaxBytes: args['offset-metadata-max-bytes'],
    offsetsTopicSegmentBytes: args['offsets-topic-segment-bytes'],
    offsetsTopicNumPartitions: args['offsets-topic-num-partitions'],
    etcd: args.etcd,
    etcdPrefix: args['etcd-prefix'],
    brokerRack: args['broker-rack'],
    brokerSessionTimeoutMs: args['broker-session-timeout-ms'],
    brokerHeartbeatIntervalMs: args['broker-heartbeat-interval-ms'],
    defaultReplicationFactor: args['default-replication-factor'],
    offsetsTopicReplicationFactor: args['offsets-topic-replication-factor'],
    transactionStateLogReplicationFactor: args['transaction-state-log-replication-factor'],
    replicaLagTimeMaxMs: args['replica-lag-time-max-ms'],
    replicaFetchWaitMaxMs: args['replica-fetch-wait-max-ms'],
    replicaFetchMaxBytes: args['replica-fetch-max-bytes'],
    replicaFetchResponseMaxBytes: args['replica-fetch-response-max-bytes'],
    replicaFetchBackoffMs: args['replica-fetch-backoff-ms'],
    replicaHighWatermarkCheckpointIntervalMs: args['replica-high-watermark-checkpoint-interval-ms'],
    controlledShutdownEnable: args['controlled-shutdown-enable'],
    autoLeaderRebalanceEnable: args['auto-leader-rebalance-enable'],
    leaderImbalanceCheckIntervalSeconds: args['leader-imbalance-check-interval-seconds'],
    logLevel: args['log-level'] as BrokerOptions['logLevel'],
  };
}

/** True when `--name` (or `--no-name`, `--name=…`, the camelCase spelling) was typed, not defaulted. */
function typed(rawArgs: readonly string[], name: string): boolean {
  const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  const spellings = [`--${name}`, `--no-${name}`, `--${camel}`];
  return rawArgs.some((a) => spellings.some((s) => a === s || a.startsWith(`${s}=`)));
}

/**
 * Every option is passed to createBroker() explicitly (yargs fills in Kafka's defaults), so the library's test
 * defaults never apply to `eddy start`; `--dev` applies DEV_DEFAULTS where the flag was not typed, and leaves the
 * data dir to createBroker() (a temporary one, removed on close) unless `--data-dir` was typed.
 */
export async function runStart(args: StartArgs, rawArgs: readonly string[] = []): Promise<void> {
  const options = await withSecretFiles(brokerOptionsFromArgs(args), { saslUsersFile: args['sasl-users-file'], interBrokerSaslUserFile: args['inter-broker-sasl-user-file'] });
  if (args.dev) {
    for (const [key, value] of Object.entries(DEV_DEFAULTS)) {
      if (!typed(rawArgs, key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`))) (options as Record<string, unknown>)[key] = value;
    }
    if (!typed(rawArgs, 'data-dir')) options.dataDir = undefined;
  }
  const logger = await createFormattedLogger(options.logLevel ?? D.logLevel, args['log-format'] as LogFormat);
  const broker = await createBroker({ ...options, logger });
  // Signals are handled from before start(): one that arrives while the broker is starting (a test stops it as
  // soon as it logs "listening") is acted on once start() returns, not left to kill the process.
  let started = false;
  let pending: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (started) stop(signal);
    else if (pending === undefined) pending = signal;
    else process.exit(1);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await broker.start();
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      broker.logger.warn({ signal }, 'second signal; exiting now');
      process.exit(1);
    }
    stopping = true;
    broker.logger.info({ signal }, 'shutting down');
    broker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        broker.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  started = true;
  if (pending !== undefined) stop(pending);
}
