// Brokers of one cluster started in this process against a test file's etcd (test/helpers/etcd-server.ts), with
// a fresh key prefix, so the cluster tests share one set-up: start and stop brokers by node id, their bootstrap
// addresses for clients, close them all. Each test passes the broker options it needs (timeouts, internal topics'
// replication) on top of the cluster's own (node id, port 0, etcd endpoint and prefix, the test logger).
import type { Logger } from 'pino';
import { createBroker, type Broker } from '../../src/broker.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';
import { newPrefix } from './cluster-harness.js';

/**
 * Timeouts short enough for failover within a test, with the internal topics replicated to three brokers: what the
 * three-broker tests start from.
 */
export const THREE_BROKER_FAILOVER_OPTIONS: BrokerOptions = {
  brokerSessionTimeoutMs: 3000,
  brokerHeartbeatIntervalMs: 500,
  replicaLagTimeMaxMs: 3000,
  replicaFetchWaitMaxMs: 200,
  replicaFetchBackoffMs: 100,
  offsetsTopicReplicationFactor: 3,
  transactionStateLogReplicationFactor: 3,
};

export interface InProcessCluster {
  readonly prefix: string;
  readonly brokers: Map<number, Broker>;
  /** Starts (or restarts) a broker; a restarted one gets a new temporary data dir unless `dataDirs` names one. */
  start(nodeId: number): Promise<Broker>;
  /** Closes a broker (its leaderships move as its stop allows) and forgets it. */
  stop(nodeId: number): Promise<void>;
  bootstrap(): string[];
  close(): Promise<void>;
}

export async function startInProcessCluster(
  etcdEndpoint: string,
  nodeIds: number[],
  options: BrokerOptions & { logger: Logger },
  dataDirs: ReadonlyMap<number, string> = new Map(),
  /** Options of one broker over the shared ones (e.g. one misconfigured broker). */
  nodeOptions: (nodeId: number) => BrokerOptions = () => ({}),
): Promise<InProcessCluster> {
  const prefix = newPrefix();
  const brokers = new Map<number, Broker>();
  const cluster: InProcessCluster = {
    prefix,
    brokers,
    async start(nodeId) {
      const dataDir = dataDirs.get(nodeId);
      const broker = await createBroker({ ...options, ...nodeOptions(nodeId), nodeId, port: 0, etcd: etcdEndpoint, etcdPrefix: prefix, ...(dataDir !== undefined ? { dataDir } : {}) });
      await broker.start();
      brokers.set(nodeId, broker);
      return broker;
    },
    async stop(nodeId) {
      await brokers.get(nodeId)?.close();
      brokers.delete(nodeId);
    },
    bootstrap() {
      return [...brokers.values()].map((b) => b.bootstrap);
    },
    async close() {
      await Promise.all([...brokers.values()].map((b) => b.close()));
      brokers.clear();
    },
  };
  await Promise.all(nodeIds.map((id) => cluster.start(id)));
  return cluster;
}

/** Polls `fn` every `intervalMs` until it gives a value; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
