/**
 * Starts a real etcd (`/usr/bin/etcd`, Debian's etcd-server) for one test: free ports for the client and peer URLs on
 * 127.0.0.1 (or on `host`, e.g. the host side of a test network namespace's veth, netns.ts, so that brokers inside
 * the namespace reach it), a temporary data dir, readiness = `GET /health` answering `"health":"true"` (bounded).
 *
 * - `stop()` SIGTERMs (SIGKILL after 5 s) and removes the data dir; `restart()` stops and starts it again on the same
 *   ports and data (so its revisions and leases survive); `pause()` / `resume()` send SIGSTOP / SIGCONT (a hung
 *   etcd: TCP still accepts, nothing answers).
 * - `compact(revision)` compacts the key-value history (through etcd's HTTP gateway).
 * - Every child is SIGKILLed when the test process exits, so a failed test never leaks an etcd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ETCD_BINARY = process.env.EDDY_ETCD_BINARY ?? '/usr/bin/etcd';

export interface EtcdServer {
  /** `http://<host>:<clientPort>` (host 127.0.0.1 unless given) */
  endpoint: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  compact(revision: number): Promise<void>;
  /** The current revision (a range read of an absent key). */
  revision(): Promise<number>;
  logs(): string;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface StartEtcdOptions {
  readyTimeoutMs?: number;
  /** Address the client and peer URLs listen on (default 127.0.0.1). */
  host?: string;
}

export async function startEtcd(options: StartEtcdOptions = {}): Promise<EtcdServer> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const host = options.host ?? '127.0.0.1';
  const clientPort = await freePort(host);
  let peerPort = await freePort(host);
  while (peerPort === clientPort) peerPort = await freePort(host);
  const dataDir = mkdtempSync(join(tmpdir(), 'eddy-etcd-'));
  const endpoint = `http://${host}:${clientPort}`;
  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    const name = 'eddy-test';
    const proc = spawn(
      ETCD_BINARY,
      [
        '--name', name,
        '--data-dir', dataDir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://${host}:${peerPort}`,
        '--initial-advertise-peer-urls', `http://${host}:${peerPort}`,
        '--initial-cluster', `${name}=http://${host}:${peerPort}`,
        '--initial-cluster-state', 'new',
        '--logger', 'zap',
        '--log-level', 'warn',
        // Tests only: fast elections after a restart, and no fsync cost on a shared disk.
        '--heartbeat-interval', '50',
        '--election-timeout', '500',
        '--unsafe-no-fsync',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    running.add(proc);
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 1_000_000) output = output.slice(-500_000);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    proc.once('exit', () => running.delete(proc));
    const deadline = Date.now() + readyTimeoutMs;
    // Bounded poll: every 50 ms until the deadline.
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`etcd exited early (${proc.exitCode ?? proc.signalCode}):\n${output}`);
      try {
        const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
        const body = await res.text();
        if (body.includes('"health":"true"')) return;
      } catch {
        // not up yet
      }
      await sleep(50);
    }
    proc.kill('SIGKILL');
    throw new Error(`etcd did not become healthy within ${readyTimeoutMs} ms:\n${output}`);
  };

  const terminate = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  await launch();

  const gateway = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(`${endpoint}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(5000) });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  return {
    endpoint,
    clientPort,
    peerPort,
    dataDir,
    async stop() {
      await terminate();
      rmSync(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await terminate();
      await launch();
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async compact(revision: number) {
      await gateway('/v3/kv/compaction', { revision: String(revision), physical: true });
    },
    async revision() {
      const json = await gateway('/v3/kv/range', { key: Buffer.from('\0eddy-test-none').toString('base64') });
      return Number((json.header as { revision: string }).revision);
    },
    logs: () => output,
  };
}
