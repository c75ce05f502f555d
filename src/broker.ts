// createBroker(options): the library entry point. The CLI, the tests and embedding applications all use it.
//
//   const broker = await createBroker({ port: 0, dataDir });
//   await broker.start();          // opens the data dir (recovering the log if needed), then listens
//   broker.port                    // the bound port
//   await broker.close();          // stop accepting, finish in-flight requests, flush and close the log
import { promises as fs } from 'node:fs';
import { setMaxListeners } from 'node:events';
import path from 'node:path';
import type { Logger } from 'pino';
import { createLogger } from './logger.js';
import { parseMaxConnectionsPerIpOverrides, resolveBrokerConfig, type BrokerConfig, type BrokerOptions } from './metadata/broker-config.js';
import { loadOrCreateClusterIdentity } from './metadata/cluster-identity.js';
import { DataDirLock } from './metadata/data-dir-lock.js';
import { TopicRegistry } from './metadata/topic-registry.js';
import { LogManager } from './log/log-manager.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log/log-config.js';
import { KafkaServer, type ServerStats } from './server/server.js';
import { GroupCoordinator } from './group/coordinator.js';
import type { BrokerServices } from './handlers/types.js';
import { BrokerError } from './errors.js';

export type { BrokerOptions, BrokerConfig };

/** Broker-wide counters and gauges (for the coming metrics endpoint); a snapshot, taken when called. */
export interface BrokerStats {
  server: ServerStats;
}

export interface Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  /** The bound host and port (valid after start()). */
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  /** Client connections currently open. */
  readonly connectionCount: number;
  /** Counters and gauges: refused connections, request memory, read timeouts … (zeros before start()). */
  stats(): BrokerStats;
  start(): Promise<void>;
  close(): Promise<void>;
}

function defaultLogConfig(config: BrokerConfig): LogConfig {
  return {
    ...DEFAULT_LOG_CONFIG,
    segmentBytes: config.logSegmentBytes,
    segmentMs: config.logRollMs,
    indexIntervalBytes: config.logIndexIntervalBytes,
    flushMessages: config.logFlushIntervalMessages,
    flushMs: config.logFlushIntervalMs,
  };
}

class EddyBroker implements Broker {
  readonly config: BrokerConfig;
  readonly logger: Logger;
  host = '';
  port = 0;
  clusterId = '';
  private server: KafkaServer | undefined;
  private logs: LogManager | undefined;
  private groups: GroupCoordinator | undefined;
  private lock: DataDirLock | undefined;
  private readonly shutdown = new AbortController();
  private state: 'new' | 'starting' | 'running' | 'closing' | 'closed' = 'new';

  constructor(options: BrokerOptions) {
    // Every waiting long poll listens for shutdown on this one signal; there is no fixed bound on them.
    setMaxListeners(0, this.shutdown.signal);
    this.config = resolveBrokerConfig(options);
    this.logger = options.logger ?? createLogger(this.config.logLevel);
  }

  async start(): Promise<void> {
    if (this.state !== 'new') throw new BrokerError('ALREADY_STARTED', 'start() may be called once');
    this.state = 'starting';
    const startedAt = process.hrtime.bigint();
    const config = this.config;
    const dataDir = path.resolve(config.dataDir);
    try {
      await fs.mkdir(dataDir, { recursive: true });
    } catch (err) {
      throw new BrokerError('DATA_DIR', `Cannot create data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    this.lock = await DataDirLock.acquire(dataDir);
    try {
      await this.open(dataDir, startedAt);
    } catch (err) {
      this.groups?.shutdown();
      await this.groups?.close().catch(() => undefined);
      await this.logs?.close().catch(() => undefined);
      await this.lock.release();
      this.state = 'closed';
      throw err;
    }
  }

  private async open(dataDir: string, startedAt: bigint): Promise<void> {
    const config = this.config;
    const identity = await loadOrCreateClusterIdentity(dataDir, config.nodeId);
    this.clusterId = identity.clusterId;
    const logDefaults = defaultLogConfig(config);
    const topicConfigs = await TopicRegistry.readLogConfigs(dataDir, logDefaults);
    const logs = await LogManager.open({
      dataDir,
      logger: this.logger,
      defaultConfig: logDefaults,
      topicConfigs,
      trustPageCacheAfterProcessCrash: true,
    });
    this.logs = logs;
    const topics = await TopicRegistry.open({
      dataDir,
      logs,
      logger: this.logger,
      defaultLogConfig: logDefaults,
      messageMaxBytes: config.messageMaxBytes,
    });
    // Committed offsets and group metadata are loaded before the server answers anything.
    let groups: GroupCoordinator;
    try {
      groups = await GroupCoordinator.open({ dataDir, config, logger: this.logger });
    } catch (err) {
      await logs.close();
      throw err;
    }
    this.groups = groups;

    const services: BrokerServices = {
      config,
      clusterId: identity.clusterId,
      nodeId: config.nodeId,
      topics,
      logs,
      groups,
      logger: this.logger,
      shutdownSignal: this.shutdown.signal,
      advertisedEndpoint: () => ({
        host: config.advertisedHost ?? (config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host),
        port: config.advertisedPort ?? this.port,
      }),
    };
    const server = new KafkaServer({
      host: config.host,
      port: config.port,
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
      this.host = bound.host;
      this.port = bound.port;
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('LISTEN', `Cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`, { cause: err });
    }
    this.server = server;
    this.state = 'running';
    const startupMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
    this.logger.info(
      { host: this.host, port: this.port, dataDir, clusterId: this.clusterId, nodeId: config.nodeId, topics: topics.list().length, startupMs },
      'listening',
    );
  }

  get connectionCount(): number {
    return this.server?.connectionCount ?? 0;
  }

  stats(): BrokerStats {
    const server = this.server?.stats() ?? {
      connections: 0,
      connectionsRefusedMaxConnections: 0,
      connectionsRefusedPerIp: 0,
      acceptErrors: 0,
      openFileLimitReached: 0,
      requestReadTimeouts: 0,
      queuedRequestBytes: 0,
      queuedRequestBytesPeak: 0,
      queuedMaxRequestBytes: null,
      connectionsMutedForMemory: 0,
      memoryPoolMutedCount: 0,
      memoryReclaimRuns: 0,
    };
    return { server };
  }

  async close(): Promise<void> {
    if (this.state === 'closed' || this.state === 'closing') return;
    this.state = 'closing';
    this.shutdown.abort();
    // Waiting JoinGroup/SyncGroup requests are answered (NOT_COORDINATOR) so in-flight requests can finish.
    this.groups?.shutdown();
    await this.server?.close();
    await this.groups?.close();
    await this.logs?.close();
    await this.lock?.release();
    this.state = 'closed';
    this.logger.info('broker stopped');
  }
}

export async function createBroker(options: BrokerOptions = {}): Promise<Broker> {
  return new EddyBroker(options);
}
