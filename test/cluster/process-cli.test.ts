// Starting a cluster from the CLI, with real processes: `eddy start --etcd …` (its cluster flags, refused values,
// an unreachable etcd, a duplicate live node id) and `eddy dev cluster` (a local etcd and N brokers, Ctrl-C, a
// broker that dies at start, no etcd binary).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../src/client/client.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { CLI_PATH, ensureBuilt, freePort, REPO_ROOT, spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { waitFor } from '../helpers/spawn-cluster.js';

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs `eddy …` to its exit (SIGKILL after `timeoutMs`). */
function runCli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  const startedAt = Date.now();
  const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // SIGTERM first: `eddy dev cluster` then stops the brokers and etcd it started (they run in their own process
  // groups, so a SIGKILL of the supervisor alone would leave them running).
  let killer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(killer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - startedAt });
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listen(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** `n` consecutive free ports (children of `eddy dev cluster` get base-port + i: port 0 is not possible there). */
async function consecutiveFreePorts(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const servers: Server[] = [];
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const s = await listen(base + i);
      if (s === undefined) ok = false;
      else servers.push(s);
    }
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports`);
}

async function metadataOf(bootstrap: string) {
  const client = new KafkaClient({ bootstrap, connectTimeoutMs: 1000, requestTimeoutMs: 5000 });
  try {
    return await client.metadata([]);
  } finally {
    await client.close();
  }
}

beforeAll(() => {
  ensureBuilt();
}, 300_000);

describe('eddy start in cluster mode', () => {
  let etcd: EtcdServer | undefined;
  const brokers: SpawnedBroker[] = [];
  const dirs: string[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.kill9()));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'eddy-cli-cluster-'));
    dirs.push(d);
    return d;
  };

  it('refuses bad cluster flag values with a usage error (exit 2) naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--etcd', 'not-a-url'], /--etcd not-a-url: expected/],
      [['--etcd', 'http://127.0.0.1:2379', '--etcd-prefix', 'no-slash'], /--etcd-prefix no-slash: expected/],
      [['--broker-session-timeout-ms', 'soon'], /--broker-session-timeout-ms soon: not a number/],
      [['--default-replication-factor', '0'], /--default-replication-factor 0: expected/],
      [['--broker-session-timeout-ms', '3000', '--broker-heartbeat-interval-ms', '5000'], /--broker-heartbeat-interval-ms 5000: expected less than/],
      [['--replica-lag-time-max-ms', '-1'], /--replica-lag-time-max-ms -1: expected/],
      [['--leader-imbalance-check-interval-seconds'], /--leader-imbalance-check-interval-seconds needs a value/],
    ];
    const results = await Promise.all(cases.map(([flags]) => runCli(['start', '--port', '0', '--data-dir', tmp(), ...flags], 20_000)));
    for (const [i, [flags, message]] of cases.entries()) {
      expect(results[i]!.stderr, flags.join(' ')).toMatch(message);
      expect(results[i]!.code, flags.join(' ')).toBe(2);
    }
  }, 60_000);

  it('exits 1 within seconds naming the endpoint when etcd is unreachable at start', async () => {
    const port = await freePort();
    const result = await runCli(['start', '--port', '0', '--data-dir', tmp(), '--node-id', '1', '--etcd', `http://127.0.0.1:${port}`], 30_000);
    expect(result.stderr).toContain(`http://127.0.0.1:${port}`);
    expect(result.stderr).toContain('[ETCD_UNREACHABLE]');
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
  }, 60_000);

  it('joins with --node-id --port --data-dir --etcd, and a second live broker with the same node id is refused (DUPLICATE_BROKER_REGISTRATION)', async () => {
    const prefix = `/cli-${Date.now().toString(36)}`;
    const flags = ['--etcd', etcd!.endpoint, '--etcd-prefix', prefix, '--broker-session-timeout-ms', '3000', '--broker-heartbeat-interval-ms', '500'];
    const first = await spawnBroker({ dataDir: tmp(), extraArgs: ['--node-id', '7', '--broker-rack', 'rack-a', ...flags] });
    brokers.push(first);
    await waitFor('broker 7 joined', () => (first.logs().includes('"msg":"listening"') ? true : undefined));
    const md = await metadataOf(first.bootstrap);
    expect(md.brokers.map((b) => [b.nodeId, b.port, b.rack])).toEqual([[7, first.port, 'rack-a']]);

    const duplicate = await runCli(['start', '--port', '0', '--data-dir', tmp(), '--node-id', '7', ...flags], 30_000);
    expect(duplicate.stderr).toContain('[DUPLICATE_BROKER_REGISTRATION]');
    expect(duplicate.code).toBe(1);
    // The first one is untouched.
    expect(first.exitInfo()).toBeNull();
    expect((await metadataOf(first.bootstrap)).brokers.map((b) => b.nodeId)).toEqual([7]);
  }, 90_000);
});

describe('eddy dev cluster', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    // SIGTERM (the supervisor stops its brokers and etcd), SIGKILL only if it does not exit within 30 s.
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(killer);
      }
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('starts etcd and three brokers, prints the bootstrap list, replicates a topic with RF 3 by default, and stops everything on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-dev-cluster-'));
    dirs.push(dataDir);
    const base = await consecutiveFreePorts(3);
    const etcdPort = await freePort();
    let etcdPeerPort = await freePort();
    while (etcdPeerPort === etcdPort) etcdPeerPort = await freePort();
    const child = spawn(
      process.execPath,
      [CLI_PATH, 'dev', 'cluster', '--brokers', '3', '--data-dir', dataDir, '--base-port', String(base), '--etcd-port', String(etcdPort), '--etcd-peer-port', String(etcdPeerPort)],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    running.add(child);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    const ready = await waitFor('the ready line', () => {
      if (child.exitCode !== null) throw new Error(`dev cluster exited: ${output}`);
      return /\[dev-cluster\] ready: 3 broker\(s\), bootstrap (\S+)/.exec(output) ?? undefined;
    }, 60_000);
    const bootstrap = ready[1]!;
    expect(bootstrap).toBe([0, 1, 2].map((i) => `127.0.0.1:${base + i}`).join(','));
    // The default log format is pretty; readiness is its startup line.
    for (const id of [1, 2, 3]) expect(output).toMatch(new RegExp(`\\[broker-${id}\\] \\[[\\d:.]+\\] INFO: Eddy \\S+ listening on PLAINTEXT://127.0.0.1:${base + id - 1}`));

    const client = new KafkaClient({ bootstrap, connectTimeoutMs: 1000, requestTimeoutMs: 10_000 });
    try {
      const md = await client.metadata([]);
      expect(md.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
      // --default-replication-factor is min(N, 3): a topic created without one gets 3 replicas.
      const [created] = await client.createTopics([{ name: 'dev-cluster-topic', numPartitions: 2, replicationFactor: -1, configs: {} }]);
      expect(created!.errorCode).toBe(0);
      const topic = await waitFor('the topic in metadata', async () => {
        const t = (await client.metadata(['dev-cluster-topic'])).topics[0];
        return t !== undefined && t.errorCode === 0 && t.partitions.every((p) => p.isr.length === 3) ? t : undefined;
      });
      expect(topic.partitions.map((p) => [...p.replicas].sort())).toEqual([[1, 2, 3], [1, 2, 3]]);
    } finally {
      await client.close();
    }

    const stopAt = Date.now();
    child.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
    expect(exit, output.slice(-3000)).toEqual({ code: 0, signal: null });
    const stopMs = Date.now() - stopAt;
    for (let i = 0; i < 3; i++) expect(await canConnect(base + i)).toBe(false);
    expect(await canConnect(etcdPort)).toBe(false);
    // Brokers stopped cleanly before etcd (each logs its clean close).
    expect(output.match(/^\[broker-\d\] .*INFO: broker stopped$/gm)).toHaveLength(3);
    expect(output).not.toMatch(/controlled shutdown (failed|timed out)/);
    expect(output).toContain(`etcd http://127.0.0.1:${etcdPort} (data ${join(dataDir, 'etcd')}`);
    console.log(JSON.stringify({ devClusterStopMs: stopMs }));
  }, 120_000);

  it('exits 1 and stops etcd and the other brokers when a broker dies at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-dev-cluster-'));
    dirs.push(dataDir);
    const base = await consecutiveFreePorts(2);
    const etcdPort = await freePort();
    let etcdPeerPort = await freePort();
    while (etcdPeerPort === etcdPort) etcdPeerPort = await freePort();
    // Broker 2's port is taken.
    const squatter = await listen(base + 1);
    expect(squatter).toBeDefined();
    try {
      const result = await runCli(['dev', 'cluster', '--brokers', '2', '--data-dir', dataDir, '--base-port', String(base), '--etcd-port', String(etcdPort), '--etcd-peer-port', String(etcdPeerPort), '--log-format', 'json'], 60_000);
      expect(result.stderr).toMatch(/broker 2 exited at start/);
      expect(result.stderr).toContain('[DEV_CLUSTER_START]');
      expect(result.code).toBe(1);
      expect(await canConnect(base)).toBe(false);
      expect(await canConnect(etcdPort)).toBe(false);
    } finally {
      await new Promise((r) => squatter!.close(r));
    }
  }, 90_000);

  it('says how to install etcd when the etcd binary is missing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'eddy-dev-cluster-'));
    dirs.push(dataDir);
    const result = await runCli(['dev', 'cluster', '--data-dir', dataDir, '--etcd-binary', join(dataDir, 'no-etcd')]);
    expect(result.stderr).toContain('install etcd (Debian: apt-get install etcd-server)');
    expect(result.stderr).toContain('[ETCD_NOT_FOUND]');
    expect(result.code).toBe(1);
  });

  it('refuses a bad --brokers with a usage error (exit 2)', async () => {
    const result = await runCli(['dev', 'cluster', '--brokers', '0']);
    expect(result.stderr).toContain('--brokers 0: expected an integer in [1, 32]');
    expect(result.code).toBe(2);
  });
});
