/**
 * Spawns the compiled broker CLI (`dist/cli/main.js start …`) as a child process for tests that need a real
 * process: crash/restart (durability) and the real-client compat suites.
 *
 * - The port is picked by listening on 127.0.0.1:0 and closing; readiness is a bounded TCP poll-connect
 *   (or the `"msg":"listening"` log line, whichever comes first). If the process exits first, the promise
 *   rejects with its logs.
 * - `dist/` is rebuilt once (`npm run build`) when it is missing or older than `src/`; a lock directory keeps
 *   parallel vitest workers from building at the same time.
 * - A data directory created here is removed by `stop()` unless `keepDataDir` is set. A caller-provided
 *   `dataDir` is never removed. `kill9()` never removes anything (the point is to restart on it).
 * - Every child is also SIGKILLed when the test process exits, so a failed test never leaks a broker.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, existsSync, rmdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'dist', 'cli', 'main.js');

export interface SpawnBrokerOptions {
  /** Existing data directory (e.g. to restart on a crashed broker's data). Never removed by the helper. */
  dataDir?: string;
  /** Extra CLI arguments, e.g. `['--auto-create-topics', 'true', '--num-partitions', '3']`. */
  extraArgs?: string[];
  /** Keep a helper-created data directory after `stop()`. */
  keepDataDir?: boolean;
  /** Port to listen on; default: a free port. */
  port?: number;
  host?: string;
  /** Default `info`. */
  logLevel?: string;
  /** Readiness deadline in ms (default 15 000). */
  readyTimeoutMs?: number;
  /**
   * Run the broker under `ulimit -n <fdLimit>` (a shell sets it, then execs node, so `process.pid` is the broker's).
   */
  fdLimit?: number;
  /**
   * Run the broker under this command, e.g. `['ip', 'netns', 'exec', ns]` (netns.ts) to put it in a network
   * namespace. The command must exec its arguments, as `ip netns exec` does, so `process.pid` stays the broker's
   * and SIGKILL / SIGSTOP reach node itself.
   */
  commandPrefix?: string[];
}

export interface SpawnedBroker {
  port: number;
  host: string;
  /** `host:port`, ready for a bootstrap list. */
  bootstrap: string;
  dataDir: string;
  process: ChildProcess;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), then remove a helper-created data dir unless kept. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; the data dir is kept. */
  kill9(): Promise<void>;
  /** Everything the process wrote to stdout and stderr so far (the last ~4 MB). */
  logs(): string;
  /** Exit code / signal once the process has exited, else null. */
  exitInfo(): ExitInfo | null;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_LOG_CHARS = 4 * 1024 * 1024;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtimeMs(path));
    else newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when `dist/cli/main.js` is missing or older than some file in `src/`. */
export function distIsStale(): boolean {
  if (!existsSync(CLI_PATH)) return true;
  const srcDir = join(REPO_ROOT, 'src');
  if (!existsSync(srcDir)) return false;
  return newestMtimeMs(srcDir) > statSync(CLI_PATH).mtimeMs;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs `npm run build` (tsc). Throws with the compiler output when it fails. */
export function buildBroker(): void {
  const result = spawnSync('npm', ['run', 'build'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.status !== 0) {
    throw new Error(
      `npm run build failed (status ${result.status}, signal ${result.signal}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** Builds once if dist is missing or stale. Safe to call from parallel workers (lock directory). */
export function ensureBuilt(): void {
  if (!distIsStale()) return;
  const lockDir = join(tmpdir(), `eddy-build-lock-${Buffer.from(REPO_ROOT).toString('hex').slice(-24)}`);
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch {
      // Someone else is building; a lock older than 5 minutes is stale.
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > 300_000) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // vanished meanwhile
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for build lock ${lockDir}`);
      sleepSync(200);
    }
  }
  try {
    if (distIsStale()) buildBroker();
  } finally {
    rmdirSync(lockDir);
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

export async function spawnBroker(options: SpawnBrokerOptions = {}): Promise<SpawnedBroker> {
  ensureBuilt();
  installExitHook();
  const host = options.host ?? '127.0.0.1';
  // An address inside another network namespace cannot be bound here: pick the port on loopback (free there, and
  // nothing else listens in a test's fresh namespace).
  const port = options.port ?? (await freePort(options.commandPrefix === undefined ? host : '127.0.0.1'));
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'eddy-broker-'));
  const args = [
    CLI_PATH,
    'start',
    '--host',
    host,
    '--port',
    String(port),
    '--data-dir',
    dataDir,
    '--log-level',
    options.logLevel ?? 'info',
    ...(options.extraArgs ?? []),
  ];
  const broker = [process.execPath, ...args];
  const limited = options.fdLimit === undefined ? broker : ['sh', '-c', `ulimit -n ${Math.floor(options.fdLimit)} && exec "$@"`, 'sh', ...broker];
  const [command, ...commandArgs] = [...(options.commandPrefix ?? []), ...limited];
  const child = spawn(command!, commandArgs, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  let sawListening = false;
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (!sawListening && output.includes('"msg":"listening"')) sawListening = true;
    if (output.length > MAX_LOG_CHARS) output = output.slice(output.length - MAX_LOG_CHARS / 2);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const state: { exit: ExitInfo | null } = { exit: null };
  child.once('exit', (code, signal) => {
    state.exit = { code, signal };
    live.delete(child);
  });

  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (state.exit !== null) {
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`broker exited before it was ready (${JSON.stringify(state.exit)}); args=${args.join(' ')}\n${output}`);
    }
    if (sawListening || (await canConnect(host, port))) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await waitExit(child, 5_000);
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`broker not ready within ${readyTimeoutMs} ms; args=${args.join(' ')}\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  let removed = false;
  const removeDir = (): void => {
    if (ownsDataDir && !options.keepDataDir && !removed) {
      removed = true;
      rmSync(dataDir, { recursive: true, force: true });
    }
  };

  return {
    port,
    host,
    bootstrap: `${host}:${port}`,
    dataDir,
    process: child,
    logs: () => output,
    exitInfo: () => state.exit,
    async stop() {
      if (state.exit === null) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, 10_000))) {
          child.kill('SIGKILL');
          await waitExit(child, 5_000);
        }
      }
      removeDir();
    },
    async kill9() {
      if (state.exit === null) {
        child.kill('SIGKILL');
        await waitExit(child, 10_000);
      }
    },
  };
}
