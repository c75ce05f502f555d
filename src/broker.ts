// createBroker(options): the library entry point. The CLI, the tests and embedding applications all use it.
//
//   const broker = await createBroker({ port: 0, dataDir });
//   await broker.start();          // opens the data dir (recovering the log if needed), then listens
//   broker.port                    // the bound port
//   await broker.close();          // stop accepting, finish in-flight requests, flush and close the log
//
// Library defaults are a test suite's (LIBRARY_DEFAULTS in metadata/broker-config.ts): any free port, no logs,
// group.initial.rebalance.delay.ms=0, and without `dataDir` a temporary data dir that close() removes. `eddy start`
// passes every value explicitly and keeps Kafka's defaults. Unknown option names are refused (INVALID_OPTION).
//   await using broker = await createBroker();   // closed (and its temporary dir removed) at the end of the scope
//
// For test suites (broker-helpers.ts): broker.bootstrap, createTopic(), records(), waitForOffset(), reset(); and
// broker.faults, the fault-injection rules (faults/). With `httpPort` the HTTP admin listener (http/) serves
// /healthz, /readyz and /v1/faults.
import { promises as fs, constants as fsConstants } from 'node:fs';
import { setMaxListeners } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import {
  checkOptionNames,
  effectiveLogRetentionMs,
  LIBRARY_DEFAULTS,
  nonDefaultConfig,
  parseMaxConnectionsPerIpOverrides,
  parseSuperUsers,
  resolveBrokerConfig,
  type BrokerConfig,
  type BrokerOptions,
} from './metadata/broker-config.js';
import { EDDY_VERSION } from './version.js';
import { loadOrCreateClusterIdentity } from './metadata/cluster-identity.js';
import { DataDirLock } from './metadata/data-dir-lock.js';
import { TopicRegistry } from './metadata/topic-registry.js';
import { DynamicBrokerConfig } from './metadata/dynamic-broker-config.js';
import { LogManager } from './log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log/log-config.js';
import { KafkaServer, type BoundListener, type ServerStats } from './server/server.js';
import { makeServerCounters } from './server/server-stats.js';
import { makeAdvertisedEndpoints, prepareListenerSecurity } from './server/security-setup.js';
import { openAuthorizer } from './auth/index.js';
import { GroupCoordinator } from './group/coordinator.js';
import type { BrokerServices } from './handlers/types.js';
import { ProducerIdManager } from './metadata/producer-id-manager.js';
import { TransactionCoordinator } from './txn/transaction-coordinator.js';
import { PartitionMarkerWriter } from './txn/partition-marker-writer.js';
import { replicatedInternalWrites } from './metadata/internal-topic-log.js';
import { OFFSETS_TOPIC_NAME, TRANSACTION_STATE_TOPIC_NAME } from './metadata/internal-topics.js';
import { BrokerError } from './errors.js';
import { FaultInjector, type FaultRules } from './faults/index.js';
import type { AdminHttpServer } from './http/index.js';
import type { BrokerMetrics } from './http/metrics.js';
import { nodeLogFs } from './log/fs.js';
import { FetchSessionCache, type FetchSessionStats } from './fetch/fetch-session-cache.js';
import { ClientMetricsManager } from './telemetry/client-metrics-manager.js';
import { QuotaManager } from './quota/index.js';
import type { ClusterParts } from './cluster/index.js';
import {
  createTopic,
  readRecords,
  resetBroker,
  waitForOffset,
  type CreateTopicOptions,
  type CreatedTopic,
  type StoredRecord,
  type WaitForOffsetOptions,
} from './broker-helpers.js';

export type { BrokerOptions, BrokerConfig, CreateTopicOptions, CreatedTopic, StoredRecord, WaitForOffsetOptions, FaultRules };

/** Kafka's offsets.commit.timeout.ms and request.timeout.ms defaults: how long a coordinator's write waits for the ISR. */
const OFFSETS_COMMIT_TIMEOUT_MS = 5000;
const COORDINATOR_REQUEST_TIMEOUT_MS = 30_000;

/** Broker-wide counters and gauges (for the coming metrics endpoint); a snapshot, taken when called. */
export interface BrokerStats {
  server: ServerStats;
  /** Incremental fetch sessions (KIP-227): sessions and partitions cached, requests by kind, evictions. */
  fetchSessions: FetchSessionStats;
}

export interface Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  /** The bound host and port (valid after start()). */
  readonly host: string;
  readonly port: number;
  /** `host:port` for a client's bootstrap servers (valid after start()). */
  readonly bootstrap: string;
  /**
   * Every listener as bound (valid after start()): name, security protocol, host, port. The first one is `host`,
   * `port` and `bootstrap`. Without the `listeners` option: one PLAINTEXT listener.
   */
  readonly listeners: readonly BoundListener[];
  /** The HTTP admin listener's port, undefined when it is off (no `httpPort`). */
  readonly httpPort: number | undefined;
  readonly clusterId: string;
  /** Fault injection: add(rule) → id, list(), remove(id), clear() (faults/rule.ts has the rule fields). */
  readonly faults: FaultRules;
  /** Creates a topic (a KafkaError such as TOPIC_ALREADY_EXISTS when Kafka would refuse it). */
  createTopic(name: string, options?: CreateTopicOptions): Promise<CreatedTopic>;
  /** The records of a partition, decoded, from its log start offset to its high watermark. */
  records(topic: string, partition: number): Promise<StoredRecord[]>;
  /** Resolves with the high watermark once it reaches `offset`; BrokerError TIMEOUT after timeoutMs (5000). */
  waitForOffset(topic: string, partition: number, offset: bigint | number, options?: WaitForOffsetOptions): Promise<bigint>;
  /** Drops every topic (internal ones excepted), consumer group and fault rule: a clean broker between tests. */
  reset(): Promise<void>;
  /** Client connections currently open. */
  readonly connectionCount: number;
  /** Counters and gauges: refused connections, request memory, read timeouts … (zeros before start()). */
  stats(): BrokerStats;
  start(): Promise<void>;
  /** Closes the broker; a temporary data dir (no `dataDir` given) is removed. Safe to call more than once. */
  close(): Promise<void>;
  /** `await using broker = await createBroker()`: close() at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>;
}

function defaultLogConfig(config: BrokerConfig): LogConfig {
  return {
    ...DEFAULT_LOG_CONFIG,
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logRollMs,
    indexIntervalBytes: config.logIndexIntervalBytes,
    flushMessages: config.logFlushIntervalMessages,
    flushMs: config.logFlushIntervalMs,
    deleteRetentionMs: config.logCleanerDeleteRetentionMs,
    minCompactionLagMs: config.logCleanerMinCompactionLagMs,
    maxCompactionLagMs: config.logCleanerMaxCompactionLagMs,
    minCleanableDirtyRatio: config.logCleanerMinCleanableRatio,
    retentionMs: effectiveLogRetentionMs(config),
    retentionBytes: config.logRetentionBytes,
    fileDeleteDelayMs: config.fileDeleteDelayMs,
  };
}

/**
 * cluster/ and its etcd client. etcd3 is an optional peer dependency (its gRPC stack, which a single broker never
 * needs, brings protobufjs and its install script): a broker started with `etcd` without it installed gets a clear
 * error instead of a module-resolution stack.
 */
async function loadClusterModule(): Promise<typeof import('./cluster/index.js')> {
  try {
    return await import('./cluster/index.js');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && /etcd3/.test(e.message)) {
      throw new BrokerError('ETCD_CLIENT_MISSING', 'cluster mode (--etcd) needs the etcd3 package, an optional peer dependency of eddy: npm install etcd3', { cause: err });
    }
    throw err;
  }
}

/**
 * `mkdir -p` that fails on a path it cannot create. Node's recursive mkdir retries forever when mkdir answers
 * ENOENT under an existing parent (procfs, some FUSE file systems), so each level is created on its own.
 */
async function makeDataDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if (!(await fs.stat(dir)).isDirectory()) throw new Error(`${dir} exists and is not a directory`);
      return;
    }
    const parent = path.dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw err;
    await makeDataDir(parent);
  }
  await fs.mkdir(dir).catch(async (err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fs.stat(dir)).isDirectory()) throw err;
  });
}

class EddyBroker implements Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  host = '';
  port = 0;
  listeners: readonly BoundListener[] = [];
  clusterId = '';
  private server: KafkaServer | undefined;
  private logs: LogManager | undefined;
  private groups: GroupCoordinator | undefined;
  private transactions: TransactionCoordinator | undefined;
  private remoteTransactions: import('./txn/remote-transaction-coordinator.js').RemoteTransactionCoordinator | undefined;
  private lock: DataDirLock | undefined;
  private services: BrokerServices | undefined;
  private http: AdminHttpServer | undefined;
  /** Prometheus metrics, only with the HTTP admin listener (`httpPort`): without it nothing counts. */
  private metrics: BrokerMetrics | undefined;
  readonly faults: FaultInjector;
  private readonly shutdown = new AbortController();
  /** KIP-227 fetch sessions: in memory only, so a restarted broker knows none (clients fall back to a full fetch). */
  private readonly fetchSessions: FetchSessionCache;
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';
  /** Cluster mode only (`etcd`): the replica manager and this broker's membership (cluster/). */
  private cluster: ClusterParts | undefined;

  /** A data dir created for this broker (no `dataDir` given): removed by close(). */
  private readonly temporaryDataDir: string | undefined;

  constructor(options: BrokerOptions, temporaryDataDir?: string) {
    // Every waiting long poll listens for shutdown on this one signal; there is no fixed bound on them.
    setMaxListeners(0, this.shutdown.signal);
    this.temporaryDataDir = temporaryDataDir;
    this.config = resolveBrokerConfig(temporaryDataDir === undefined ? options : { ...options, dataDir: temporaryDataDir });
    this.logger = options.logger ?? createLogger(this.config.logLevel);
    this.faults = new FaultInjector(this.logger, this.shutdown.signal);
    this.fetchSessions = new FetchSessionCache({
      maxSlots: this.config.maxIncrementalFetchSessionCacheSlots,
      evictionMs: this.config.minIncrementalFetchSessionEvictionMs,
      logger: this.logger,
    });
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new BrokerError('ALREADY_STARTED', 'start() may be called once');
    this.state = 'starting';
    const startedAt = process.hrtime.bigint();
    const config = this.config;
    const dataDir = path.resolve(config.dataDir);
    try {
      await makeDataDir(dataDir);
      await fs.access(dataDir, fsConstants.W_OK | fsConstants.X_OK);
    } catch (err) {
      await this.removeTemporaryDataDir();
      this.state = 'closed';
      throw new BrokerError('DATA_DIR', `Cannot use data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    try {
      this.lock = await DataDirLock.acquire(dataDir);
    } catch (err) {
      await this.removeTemporaryDataDir();
      this.state = 'closed';
      if (err instanceof BrokerError) throw err;
      // Not writable after all (read-only file system, permissions the access check could not see).
      throw new BrokerError('DATA_DIR', `Cannot use data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.open(dataDir, startedAt);
    } catch (err) {
      await this.cluster?.member.close().catch(() => undefined);
      await this.cluster?.replicas.close().catch(() => undefined);
      await this.cluster?.highWatermarks.close().catch(() => undefined);
      await this.server?.close().catch(() => undefined);
      await this.http?.close();
      this.groups?.shutdown();
      await this.transactions?.close().catch(() => undefined);
      await this.groups?.close().catch(() => undefined);
      await this.logs?.close().catch(() => undefined);
      await this.lock.release();
      await this.removeTemporaryDataDir();
      this.state = 'closed';
      throw err;
    }
  }

  private async removeTemporaryDataDir(): Promise<void> {
    if (this.temporaryDataDir !== undefined) await fs.rm(this.temporaryDataDir, { recursive: true, force: true });
  }

  private async open(dataDir: string, startedAt: bigint): Promise<void> {
    const config = this.config;
    // The admin listener comes up first, so /healthz answers and /readyz says "starting" while the logs load.
    if (config.httpPort !== undefined) {
      // The listener's modules (node:http, prom-client: ~40 ms of module load) are loaded only when it is on.
      const [{ startAdminHttp }, { BrokerMetrics }] = await Promise.all([import('./http/index.js'), import('./http/metrics.js')]);
      this.metrics = new BrokerMetrics();
      this.http = await startAdminHttp({
        host: config.host,
        port: config.httpPort,
        config,
        logger: this.logger,
        faults: this.faults,
        metrics: this.metrics,
        readiness: () => (this.state === 'running' ? 'ready' : this.state === 'new' || this.state === 'starting' ? 'starting' : 'stopping'),
        consoleSource: () => (this.state === 'running' ? this.services : undefined),
      });
    }
    const identity = await loadOrCreateClusterIdentity(dataDir, config.nodeId);
    // Listeners, TLS files, the SCRAM credential store and the --sasl-user users (server/security-setup.ts); read
    // before the logs load, so a bad certificate fails the start at once, and before the cluster parts, whose
    // inter-broker connections use the same certificate. Before the dynamic broker configs too: none of the
    // security options is dynamic (config-catalog.ts lists them read-only), so nothing here can change them.
    const security = await prepareListenerSecurity(config, dataDir, this.logger);
    this.clusterId = identity.clusterId;
    // Dynamic broker configs (AlterConfigs) go over the options before anything reads them.
    const brokerConfigs = await DynamicBrokerConfig.open({ dataDir, config, logger: this.logger });
    const logDefaults = brokerConfigs.logDefaults(defaultLogConfig(config));
    const topicConfigs = await TopicRegistry.readLogConfigs(dataDir, logDefaults);
    const logs = await LogManager.open({
      dataDir,
      fs: this.metrics?.timeFsyncs(nodeLogFs),
      logger: this.logger,
      defaultConfig: logDefaults,
      topicConfigs,
      trustPageCacheAfterProcessCrash: true,
      maxOpenFiles: config.logMaxOpenFiles > 0 ? config.logMaxOpenFiles : undefined,
      producerIdExpirationMs: config.producerIdExpirationMs,
      producerIdExpirationCheckIntervalMs: config.producerIdExpirationCheckIntervalMs,
      retentionCheckIntervalMs: config.logRetentionCheckIntervalMs,
    });
    this.logs = logs;
    // Compaction runs in the background once the logs are loaded (stopped first by close()).
    const cleanerConfig = {
      enable: config.logCleanerEnable,
      backoffMs: config.logCleanerBackoffMs,
      dedupeBufferSize: config.logCleanerDedupeBufferSize,
      ioMaxBytesPerSecond: config.logCleanerIoMaxBytesPerSecond,
      threadNice: config.logCleanerThreadNice,
      threadSchedIdle: config.logCleanerThreadSchedIdle,
    };
    const cleaner = await logs.startCleaner(cleanerConfig);
    // Cluster mode: topics are committed to etcd and mirrored here; the module is loaded only then.
    const clusterModule = config.etcd !== undefined ? await loadClusterModule() : undefined;
    const clusterWriter = clusterModule?.clusterTopicWriter(config);
    const topics = await TopicRegistry.open({
      dataDir,
      logs,
      logger: this.logger,
      defaultLogConfig: logDefaults,
      messageMaxBytes: config.messageMaxBytes,
      maxBrokerPartitions: config.maxBrokerPartitions,
      brokerConfigs,
      cluster: clusterWriter,
    });
    const interBroker = clusterModule?.interBrokerChannel(config, security.tls);
    const cluster = clusterModule?.createClusterParts({ config, writer: clusterWriter!, topics, logs, interBroker: interBroker!, logger: this.logger });
    this.cluster = cluster;
    // A dynamic broker config changed: new defaults for every topic's running logs, the cleaner's backoff (read each
    // time it sleeps), I/O rate and offset map size, and producer.id.expiration.ms for every log.
    brokerConfigs.onChange(async () => {
      cleanerConfig.backoffMs = config.logCleanerBackoffMs;
      cleaner.reconfigure({ ioMaxBytesPerSecond: config.logCleanerIoMaxBytesPerSecond, dedupeBufferSize: config.logCleanerDedupeBufferSize });
      logs.setProducerIdExpirationMs(config.producerIdExpirationMs);
      await topics.updateBrokerDefaults(brokerConfigs.logDefaults(defaultLogConfig(config)), config.messageMaxBytes);
      // A lowered max.connections closes the least recently used client connections beyond it, as Kafka's processors do.
      this.server?.closeExcessConnections();
    });
    // Cluster mode: the coordinators serve the internal partitions this broker leads, and their writes wait for the
    // ISR (metadata/internal-topic-log.ts): offsets.commit.timeout.ms for groups, request.timeout.ms for transactions.
    const groupReplication = cluster === undefined ? undefined : replicatedInternalWrites(cluster.replicas, topics, OFFSETS_COMMIT_TIMEOUT_MS);
    const txnReplication = cluster === undefined ? undefined : replicatedInternalWrites(cluster.replicas, topics, COORDINATOR_REQUEST_TIMEOUT_MS);
    // Committed offsets and group metadata are loaded before the server answers anything.
    let groups: GroupCoordinator;
    try {
      groups = await GroupCoordinator.open({ dataDir, config, logs, topics, logger: this.logger, replication: groupReplication });
    } catch (err) {
      await logs.close();
      throw err;
    }
    this.groups = groups;
    const producerIds = await ProducerIdManager.open({
      dataDir,
      logger: this.logger,
      allocateBlock: cluster === undefined ? undefined : () => cluster.member.metadata.allocateProducerIdBlock(),
    });
    // Transactions: markers go straight to local partitions (and, for __consumer_offsets ones, on to the group
    // coordinator); the coordinator loads __transaction_state and finishes decided transactions before serving.
    const transactionMarkers = new PartitionMarkerWriter({ logs, topics, groups, durable: config.flushOnAckAll, logger: this.logger, replication: txnReplication });
    // Cluster mode: markers go to each partition's leader (txn/cluster-marker-writer.ts, loaded only then).
    const markers =
      cluster === undefined
        ? transactionMarkers
        : new (await import('./txn/cluster-marker-writer.js')).ClusterMarkerWriter({
            nodeId: config.nodeId,
            local: transactionMarkers,
            topics,
            cluster: cluster.member,
            interBrokerSecurity: interBroker!.security,
            requestTimeoutMs: COORDINATOR_REQUEST_TIMEOUT_MS,
            logger: this.logger,
          });
    const transactions = new TransactionCoordinator({ logs, topics, producerIds, markers, config, logger: this.logger, replication: txnReplication });
    this.transactions = transactions;
    // Cluster mode: transactions v2 adds partitions at coordinators on other brokers too (loaded only then).
    const remoteTransactions =
      cluster === undefined
        ? undefined
        : new (await import('./txn/remote-transaction-coordinator.js')).RemoteTransactionCoordinator({
            nodeId: config.nodeId,
            topics,
            cluster: cluster.member,
            partitionFor: (id) => transactions.partitionFor(id),
            interBrokerSecurity: interBroker!.security,
            requestTimeoutMs: COORDINATOR_REQUEST_TIMEOUT_MS,
            logger: this.logger,
          });
    this.remoteTransactions = remoteTransactions;
    await transactions.start();
    // The coordinators follow the leadership of their internal partitions (Kafka's onElection / onResignation).
    cluster?.replicas.onLeadershipChange((topic, partition, isLeader, leaderEpoch) => {
      if (topic === OFFSETS_TOPIC_NAME) {
        if (isLeader) void groups.onElection(partition, leaderEpoch);
        else groups.onResignation(partition);
      } else if (topic === TRANSACTION_STATE_TOPIC_NAME) {
        if (isLeader) void transactions.onElection(partition, leaderEpoch);
        else transactions.onResignation(partition);
      }
    });
    // The ACL authorizer (auth/authorizer.ts) with --authorizer acl, its ACLs from <dataDir>/acls.json.
    // Client quotas (quota/), from <dataDir>/client-quotas.json.
    const quotas = await QuotaManager.open({ dataDir, windows: { samples: config.quotaWindowNum, windowMs: config.quotaWindowSizeSeconds * 1000 }, logger: this.logger });
    const authorizer = await openAuthorizer({ authorizer: config.authorizer, superUsers: parseSuperUsers(config.superUsers), allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound }, dataDir, this.logger);

    const broker = this;
    const services: BrokerServices = {
      config,
      // The data dir's cluster id; in cluster mode the cluster's own, once joined.
      get clusterId() {
        return broker.clusterId;
      },
      nodeId: config.nodeId,
      topics,
      logs,
      groups,
      producerIds,
      transactions,
      transactionMarkers,
      logger: this.logger,
      shutdownSignal: this.shutdown.signal,
      advertisedEndpoint: makeAdvertisedEndpoints(config, () => this.listeners),
      credentials: security.credentials,
      authorizer,
      faults: this.faults,
      metrics: this.metrics,
      fetchSessions: this.fetchSessions,
      clientMetrics: new ClientMetricsManager(),
      quotas,
      replicas: cluster?.replicas,
      cluster: cluster?.member,
      remoteTransactions,
    };
    this.services = services;
    this.metrics?.attach({
      logs,
      groups,
      connectionCount: () => this.connectionCount,
      fetchSessions: this.fetchSessions,
      faults: this.faults,
      replicas: cluster?.replicas,
      offlinePartitionCount: cluster === undefined ? undefined : () => cluster.member.offlinePartitionCount(),
    });
    const server = new KafkaServer({
      listeners: security.listeners,
      tls: security.tls,
      sasl: security.sasl,
      maxRequestBytes: config.socketRequestMaxBytes,
      idleTimeoutMs: config.connectionsMaxIdleMs,
      requestReadTimeoutMs: config.socketRequestReadTimeoutMs,
      queuedMaxRequestBytes: config.queuedMaxRequestBytes,
      maxConnections: config.maxConnections,
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      maxConnectionsPerIpOverrides: parseMaxConnectionsPerIpOverrides(config.maxConnectionsPerIpOverrides),
      broker: services,
      logger: this.logger,
    });
    try {
      const bound = await server.listen();
      this.listeners = bound;
      this.host = bound[0]!.host;
      this.port = bound[0]!.port;
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      const where = security.listeners.map((l) => `${l.host}:${l.port}`).join(', ');
      throw new BrokerError('LISTEN', `Cannot listen on ${where}: ${(err as Error).message}`, { cause: err });
    }
    this.server = server;
    if (cluster !== undefined) {
      // Registered with the endpoints clients and followers reach (the bound ports), then the cluster's current
      // metadata is applied before the broker reports itself running; the replicas' high watermarks start from
      // the last run's checkpoint.
      await cluster.highWatermarks.open();
      const endpoints = this.listeners.map((l) => ({ name: l.name, securityProtocol: l.securityProtocol, ...services.advertisedEndpoint(l.name) }));
      const unreachable = clusterModule!.localInterBrokerEndpoint(this.listeners, endpoints, interBroker!.listenerName);
      if (unreachable !== undefined) this.logger.warn({ listener: interBroker!.listenerName }, unreachable);
      await cluster.member.join(endpoints);
      this.clusterId = cluster.member.metadata.clusterId;
    }
    this.state = 'running';
    const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
    // The startup line: stable `msg` and host/port/startupMs (test helpers and the bench parse them), plus what a
    // person wants to see: the version, the listener, the data dir and every setting that is not the default.
    this.logger.info(
      {
        version: EDDY_VERSION,
        listeners: this.listeners.map((l) => `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`),
        host: this.host,
        port: this.port,
        dataDir,
        temporaryDataDir: this.temporaryDataDir !== undefined || undefined,
        clusterId: this.clusterId,
        nodeId: config.nodeId,
        topics: topics.list().length,
        config: nonDefaultConfig(config),
        httpPort: this.http?.port,
        startupMs,
      },
      'listening',
    );
  }

  get bootstrap(): string {
    const host = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host;
    return `${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  get httpPort(): number | undefined {
    return this.http?.port;
  }

  /** The broker's services, or BrokerError NOT_STARTED before start() / after close() (the helpers reject with it). */
  private running(): BrokerServices {
    if (this.state !== 'running' || this.services === undefined) throw new BrokerError('NOT_STARTED', 'the broker is not running: call start() first');
    return this.services;
  }

  async createTopic(name: string, options?: CreateTopicOptions): Promise<CreatedTopic> {
    return createTopic(this.running(), name, options);
  }

  async records(topic: string, partition: number): Promise<StoredRecord[]> {
    return readRecords(this.running(), topic, partition);
  }

  async waitForOffset(topic: string, partition: number, offset: bigint | number, options?: WaitForOffsetOptions): Promise<bigint> {
    return waitForOffset(this.running(), topic, partition, offset, options);
  }

  async reset(): Promise<void> {
    return resetBroker(this.running(), this.faults);
  }

  get connectionCount(): number {
    return this.server?.connectionCount ?? 0;
  }

  stats(): BrokerStats {
    const server = this.server?.stats() ?? {
      connections: 0,
      ...makeServerCounters(),
      queuedRequestBytes: 0,
      queuedRequestBytesPeak: 0,
      queuedMaxRequestBytes: null,
      connectionsMutedForMemory: 0,
      memoryPoolMutedCount: 0,
      memoryReclaimRuns: 0,
    };
    return { server, fetchSessions: this.fetchSessions.stats() };
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    // Cluster mode: leaderships are handed over first (Kafka's controlled shutdown), while this broker still serves
    // its followers' long polls as usual (the shutdown signal would end each at once); then it leaves the cluster
    // and stops fetching.
    if (this.cluster !== undefined) {
      if (this.config.controlledShutdownEnable) await this.cluster.member.leave(this.config.brokerSessionTimeoutMs + 5000);
      else await this.cluster.member.close();
      // The last high watermarks, before the replica states are dropped.
      await this.cluster.highWatermarks.close();
      await this.cluster.replicas.close();
    }
    this.shutdown.abort();
    // Stalled requests are answered, so the server's graceful close does not wait on them.
    this.faults.clear();
    // Partition logs still being created (a large CreateTopics) stop, so no directory appears behind the close.
    await this.services?.topics.stopLogCreations();
    await this.logs?.stopCleaner();
    // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) so in-flight requests can finish.
    this.groups?.shutdown();
    await this.server?.close();
    await this.transactions?.close();
    this.remoteTransactions?.close();
    await this.groups?.close();
    await this.logs?.close();
    await this.http?.close();
    await this.lock?.release();
    await this.removeTemporaryDataDir();
    this.state = 'closed';
    this.logger.info('broker stopped');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * A broker, not yet started. Options left out take LIBRARY_DEFAULTS (port 0, silent logs, no initial rebalance
 * delay), then Kafka's defaults; without `dataDir` the broker gets a fresh temporary data dir that close() removes.
 * Throws BrokerError INVALID_OPTION for an unknown option name and INVALID_CONFIG for a bad value.
 */
export async function createBroker(options: BrokerOptions = {}): Promise<Broker> {
  checkOptionNames(options);
  const merged: BrokerOptions = { ...LIBRARY_DEFAULTS };
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (merged as Record<string, unknown>)[key] = value;
  if (merged.dataDir !== undefined) return new EddyBroker(merged);
  // Validate before creating anything, so a bad option leaves no temporary directory behind.
  resolveBrokerConfig({ ...merged, dataDir: os.tmpdir() });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'eddy-'));
  try {
    return new EddyBroker(merged, dir);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
