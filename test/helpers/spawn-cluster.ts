/**
 * A real cluster of separate processes for the process-level cluster tests: one etcd (etcd-server.ts) and N
 * `eddy start --etcd …` processes (spawn-broker.ts), each on a free port with its HTTP admin listener (for fault
 * rules) and its own data directory, joined under a fresh etcd prefix.
 *
 * - A broker is ready when it logs its "listening" line (logged once it has joined the cluster), not merely when
 *   its port accepts connections (it listens before it joins).
 * - `kill9(id)` / `start(id)`: crash and restart on the same port and data dir; `pause(id)` / `resume(id)`:
 *   SIGSTOP / SIGCONT (a hung broker: its lease expires, its sockets still accept).
 * - `logs(id)` covers every run of that broker (restarts included).
 * - By default everything listens on 127.0.0.1. `etcdHost` and `perBroker` (a host and a command prefix per
 *   broker) place etcd and brokers elsewhere, e.g. one broker inside a network namespace (netns.ts) and the others
 *   on the host side of its veth; every helper here talks to each broker at its own host.
 * - `createTopic(…, { assignments })` sends a manual replica assignment (the first replica leads), which
 *   KafkaClient.createTopics does not offer.
 * - `partitionLog(id, topic, p)` decodes the broker's segment files (`<data-dir>/<topic>-<p>/*.log`) with the
 *   project's record-batch reader into offset → value, to compare replicas without asking any broker.
 * - `close()` SIGCONTs and SIGKILLs every broker, stops etcd and removes every data dir, whatever state the test
 *   left them in; spawn-broker.ts and etcd-server.ts also kill their children when the test process exits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaClient, type ClusterMetadata, type PartitionInfo } from '../../src/client/client.js';
import { decodeRecordBatches } from '../../src/client/records.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { makeCreateTopicsRequestCreatableTopic, type CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import { startEtcd, type EtcdServer } from './etcd-server.js';
import { freePort, spawnBroker, type SpawnedBroker } from './spawn-broker.js';

export interface SpawnClusterOptions {
  /** Node ids 1..brokers (default 3). */
  brokers?: number;
  /** broker.session.timeout.ms (default 3000: a lost broker is fenced quickly). */
  sessionTimeoutMs?: number;
  /** replica.lag.time.max.ms (default 3000). */
  replicaLagTimeMaxMs?: number;
  /** More `eddy start` flags for every broker. */
  extraArgs?: string[];
  logLevel?: string;
  /** The address etcd listens on (default 127.0.0.1); brokers in another network namespace need a reachable one. */
  etcdHost?: string;
  /** Per broker: the address it listens on and advertises (default 127.0.0.1), and a command prefix (spawn-broker.ts). */
  perBroker?: Record<number, { host?: string; commandPrefix?: string[] }>;
}

export interface CreateTopicOptions {
  /** Replica list per partition (index = partition); numPartitions and replicationFactor must match it. */
  assignments?: number[][];
}

export interface ClusterNode {
  nodeId: number;
  /** Where the broker listens (Kafka and HTTP admin) and what it advertises. */
  host: string;
  commandPrefix: string[] | undefined;
  port: number;
  httpPort: number;
  dataDir: string;
  /** The running process, undefined while the broker is down. */
  broker: SpawnedBroker | undefined;
  paused: boolean;
}

export interface SpawnedCluster {
  etcd: EtcdServer;
  prefix: string;
  nodes: Map<number, ClusterNode>;
  /** Every broker's host:port, comma-separated (down ones included: clients skip them). */
  bootstrap(): string;
  start(nodeId: number): Promise<void>;
  kill9(nodeId: number): Promise<void>;
  stop(nodeId: number): Promise<void>;
  pause(nodeId: number): void;
  resume(nodeId: number): void;
  logs(nodeId: number): string;
  /** Metadata from the first live, running broker (`except` skipped) that answers. */
  metadata(topics: string[], except?: number[]): Promise<ClusterMetadata>;
  partition(topic: string, partition: number, except?: number[]): Promise<PartitionInfo>;
  createTopic(name: string, numPartitions: number, replicationFactor: number, configs?: Record<string, string>, options?: CreateTopicOptions): Promise<void>;
  /** Adds a fault rule on a broker over its HTTP admin listener; returns its id. */
  addFault(nodeId: number, rule: Record<string, unknown>): Promise<number>;
  removeFault(nodeId: number, id: number): Promise<void>;
  partitionLog(nodeId: number, topic: string, partition: number): Promise<Map<bigint, string>>;
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` every 100 ms until it returns a value, or throws after `timeoutMs` naming `what`. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(100);
  }
}

async function withClient<T>(bootstrap: string, fn: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = new KafkaClient({ bootstrap, clientId: 'spawn-cluster', connectTimeoutMs: 1000, requestTimeoutMs: 3000 });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export async function spawnCluster(options: SpawnClusterOptions = {}): Promise<SpawnedCluster> {
  const count = options.brokers ?? 3;
  const sessionTimeoutMs = options.sessionTimeoutMs ?? 3000;
  const etcd = await startEtcd({ host: options.etcdHost });
  const prefix = `/eddy-process-${process.pid}-${Date.now().toString(36)}`;
  const nodes = new Map<number, ClusterNode>();
  const pastLogs = new Map<number, string>();
  const used = new Set<number>([etcd.clientPort, etcd.peerPort]);
  const pick = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!used.has(port)) {
        used.add(port);
        return port;
      }
    }
  };
  for (let id = 1; id <= count; id++) {
    const placement = options.perBroker?.[id];
    nodes.set(id, { nodeId: id, host: placement?.host ?? '127.0.0.1', commandPrefix: placement?.commandPrefix, port: await pick(), httpPort: await pick(), dataDir: mkdtempSync(join(tmpdir(), `eddy-cluster-${id}-`)), broker: undefined, paused: false });
  }
  const node = (id: number): ClusterNode => {
    const n = nodes.get(id);
    if (n === undefined) throw new Error(`no broker ${id}`);
    return n;
  };
  const forget = (n: ClusterNode): void => {
    if (n.broker !== undefined) pastLogs.set(n.nodeId, (pastLogs.get(n.nodeId) ?? '') + n.broker.logs());
    n.broker = undefined;
    n.paused = false;
  };
  const live = (except: number[] = []) => [...nodes.values()].filter((n) => n.broker !== undefined && !n.paused && n.broker.exitInfo() === null && !except.includes(n.nodeId));

  const cluster: SpawnedCluster = {
    etcd,
    prefix,
    nodes,
    bootstrap: () => [...nodes.values()].map((n) => `${n.host}:${n.port}`).join(','),
    async start(id) {
      const n = node(id);
      if (n.broker !== undefined) throw new Error(`broker ${id} is running`);
      const broker = await spawnBroker({
        host: n.host,
        commandPrefix: n.commandPrefix,
        port: n.port,
        dataDir: n.dataDir,
        logLevel: options.logLevel ?? 'info',
        readyTimeoutMs: 30_000,
        extraArgs: [
          '--node-id', String(id),
          '--http-port', String(n.httpPort),
          '--etcd', etcd.endpoint,
          '--etcd-prefix', prefix,
          '--broker-session-timeout-ms', String(sessionTimeoutMs),
          '--broker-heartbeat-interval-ms', String(Math.max(100, Math.floor(sessionTimeoutMs / 6))),
          '--replica-lag-time-max-ms', String(options.replicaLagTimeMaxMs ?? 3000),
          '--replica-fetch-wait-max-ms', '200',
          '--replica-fetch-backoff-ms', '100',
          '--offsets-topic-replication-factor', String(Math.min(3, count)),
          '--transaction-state-log-replication-factor', String(Math.min(3, count)),
          ...(options.extraArgs ?? []),
        ],
      });
      n.broker = broker;
      await waitFor(`broker ${id} to join the cluster`, () => {
        if (broker.exitInfo() !== null) throw new Error(`broker ${id} exited: ${broker.logs()}`);
        return broker.logs().includes('"msg":"listening"') ? true : undefined;
      }, 30_000);
    },
    async kill9(id) {
      const n = node(id);
      if (n.broker === undefined) return;
      if (n.paused) n.broker.process.kill('SIGCONT');
      await n.broker.kill9();
      forget(n);
    },
    async stop(id) {
      const n = node(id);
      if (n.broker === undefined) return;
      if (n.paused) n.broker.process.kill('SIGCONT');
      await n.broker.stop();
      forget(n);
    },
    pause(id) {
      const n = node(id);
      n.broker?.process.kill('SIGSTOP');
      n.paused = true;
    },
    resume(id) {
      const n = node(id);
      n.broker?.process.kill('SIGCONT');
      n.paused = false;
    },
    logs: (id) => (pastLogs.get(id) ?? '') + (node(id).broker?.logs() ?? ''),
    async metadata(topics, except = []) {
      let last: unknown = new Error('no live broker');
      for (const n of live(except)) {
        try {
          return await withClient(`${n.host}:${n.port}`, (c) => c.metadata(topics));
        } catch (err) {
          last = err;
        }
      }
      throw last;
    },
    async partition(topic, partition, except = []) {
      const md = await cluster.metadata([topic], except);
      const p = md.topics.find((t) => t.name === topic)?.partitions.find((q) => q.partition === partition);
      if (p === undefined) throw new Error(`no ${topic}-${partition} in metadata`);
      return p;
    },
    async createTopic(name, numPartitions, replicationFactor, configs = {}, topicOptions = {}) {
      const { assignments } = topicOptions;
      let result: { errorCode: number; errorMessage: string | null };
      if (assignments === undefined) {
        result = (await withClient(cluster.bootstrap(), (c) => c.createTopics([{ name, numPartitions, replicationFactor, configs }])))[0]!;
      } else {
        if (assignments.length !== numPartitions || assignments.some((r) => r.length !== replicationFactor)) throw new Error(`CreateTopics ${name}: the assignments do not match ${numPartitions}×${replicationFactor}`);
        // Any broker writes a topic to etcd (cluster-member.ts); counts are -1 with a manual assignment (Kafka's rule).
        const res = await withClient(cluster.bootstrap(), async (c) => {
          const conn = await c.any();
          return conn.send<CreateTopicsResponse>(ApiKey.CreateTopics, conn.versionFor(ApiKey.CreateTopics), {
            timeoutMs: 30_000,
            validateOnly: false,
            topics: [{
              ...makeCreateTopicsRequestCreatableTopic(),
              name,
              numPartitions: -1,
              replicationFactor: -1,
              assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
              configs: Object.entries(configs).map(([key, value]) => ({ name: key, value })),
            }],
          });
        });
        result = { errorCode: res.topics[0]!.errorCode, errorMessage: res.topics[0]!.errorMessage ?? null };
      }
      if (result.errorCode !== 0) throw new Error(`CreateTopics ${name}: error ${result.errorCode} ${result.errorMessage}`);
      await waitFor(`${name}: a leader for every partition, every replica in the ISR`, async () => {
        const md = await cluster.metadata([name]);
        const t = md.topics.find((x) => x.name === name);
        return t !== undefined && t.errorCode === 0 && t.partitions.length === numPartitions && t.partitions.every((p) => p.leader >= 0 && p.isr.length === replicationFactor) ? true : undefined;
      });
    },
    async addFault(id, rule) {
      const res = await fetch(`http://${node(id).host}:${node(id).httpPort}/v1/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule), signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { id: number };
      if (res.status !== 201) throw new Error(`fault rule on broker ${id}: ${res.status} ${JSON.stringify(body)}`);
      return body.id;
    },
    async removeFault(id, ruleId) {
      const res = await fetch(`http://${node(id).host}:${node(id).httpPort}/v1/faults/${ruleId}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      await res.body?.cancel();
    },
    async partitionLog(id, topic, partition) {
      const dir = join(node(id).dataDir, `${topic}-${partition}`);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
      const out = new Map<bigint, string>();
      for (const f of files) {
        for (const r of decodeRecordBatches(await readFile(join(dir, f))).records) out.set(r.offset, r.value?.toString('utf8') ?? '');
      }
      return out;
    },
    async close() {
      for (const n of nodes.values()) {
        if (n.broker !== undefined) {
          n.broker.process.kill('SIGCONT');
          await n.broker.kill9();
          forget(n);
        }
      }
      await etcd.stop();
      for (const n of nodes.values()) rmSync(n.dataDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([...nodes.keys()].map((id) => cluster.start(id)));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
