// The broker under test for the reliability harnesses: the compiled CLI (dist/cli/main.js start) as a child
// process on 127.0.0.1 with a free port, its logs kept as a bounded tail, error-level log lines counted, RSS read
// from /proc, and a Metadata round trip (with our own codec client) as the readiness and liveness check.
// Every child is SIGKILLed if the harness exits first.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { freePort } from '../../test/helpers/spawn-broker.js';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { REPO_ROOT } from './corpus.js';

export const CLI_PATH = path.join(REPO_ROOT, 'dist/cli/main.js');
const LOG_TAIL_CHARS = 256 * 1024;
const live = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BrokerProcess {
  pid: number;
  port: number;
  bootstrap: string;
  dataDir: string;
  /** spawn() to the first answered Metadata request, ms. */
  readyMs: number;
  /** The last ~256 KB of stdout+stderr. */
  logTail(): string;
  /** Log lines at level error or fatal so far, the first few of them, and counts by normalised message. */
  faults(): { count: number; samples: string[]; byMessage: Map<string, number> };
  exitInfo(): ExitInfo | null;
  /** Resolves when the process exits. */
  exited: Promise<ExitInfo>;
  /** Current VmRSS in bytes (NaN once the process is gone). */
  rssBytes(): number;
  /** SIGTERM and wait up to `timeoutMs` (then SIGKILL); resolves with how it exited and whether it timed out. */
  stop(timeoutMs?: number): Promise<{ exit: ExitInfo; timedOut: boolean; ms: number }>;
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<ExitInfo>;
}

export interface StartOptions {
  dataDir: string;
  extraArgs?: string[];
  logLevel?: string;
  readyTimeoutMs?: number;
  /** Node options before the CLI's path (e.g. --expose-gc), and extra environment variables. */
  nodeArgs?: string[];
  env?: Record<string, string>;
}

export function readRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One Metadata v12 round trip for `topics` on a new connection; resolves with the response or null on timeout/close. */
export async function metadataOnce(port: number, timeoutMs: number, topics: string[] | null = []): Promise<any> {
  let client: TestClient | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    const attempt = (async () => {
      client = await TestClient.connect(port, 'eddy-harness');
      return await client.send(ApiKey.Metadata, 12, { topics: topics === null ? null : topics.map((name) => ({ topicId: Buffer.alloc(16), name })), allowAutoTopicCreation: false });
    })();
    return await Promise.race([attempt, timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
    client?.close();
  }
}

/** `msg: error type: error message` of a pino line, with paths, numbers and long runs shortened. */
export function faultKey(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { type?: string; message?: string } };
    const text = `${entry.msg ?? ''}: ${entry.err?.type ?? ''}: ${entry.err?.message ?? ''}`;
    return text
      .replace(/'[^']*\/[^']*'/g, "'<path>'")
      .replace(/(.)\1{15,}/g, '$1…')
      .replace(/\d+/g, 'N')
      .slice(0, 300);
  } catch {
    return line.slice(0, 200);
  }
}

export async function startBroker(options: StartOptions): Promise<BrokerProcess> {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run \`npm run build\` first`);
  installExitHook();
  const port = await freePort();
  const args = [...(options.nodeArgs ?? []), CLI_PATH, 'start', '--host', '127.0.0.1', '--port', String(port), '--data-dir', options.dataDir, '--log-level', options.logLevel ?? 'error', ...(options.extraArgs ?? [])];
  const started = Date.now();
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  live.add(child);
  let tail = '';
  let partial = '';
  let faultCount = 0;
  const faultSamples: string[] = [];
  const faultsByMessage = new Map<string, number>();
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tail += text;
    if (tail.length > LOG_TAIL_CHARS) tail = tail.slice(tail.length - LOG_TAIL_CHARS / 2);
    partial += text;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (/"level":(50|60)\b/.test(line)) {
        faultCount++;
        if (faultSamples.length < 20) faultSamples.push(line.slice(0, 2000));
        const key = faultKey(line);
        faultsByMessage.set(key, (faultsByMessage.get(key) ?? 0) + 1);
      }
    }
    if (partial.length > 65536) partial = '';
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let exit: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve(exit);
    });
  });

  const deadline = started + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exit !== null) throw new Error(`broker exited before it was ready (${JSON.stringify(exit)}): ${args.join(' ')}\n${tail.slice(-4000)}`);
    const md = await metadataOnce(port, 1000);
    if (md !== null) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`broker did not answer Metadata within ${options.readyTimeoutMs ?? 60_000} ms: ${args.join(' ')}\n${tail.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const readyMs = Date.now() - started;
  const pid = child.pid!;
  const waitExit = async (timeoutMs: number): Promise<boolean> => {
    if (exit !== null) return true;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    return ok;
  };
  return {
    pid,
    port,
    bootstrap: `127.0.0.1:${port}`,
    dataDir: options.dataDir,
    readyMs,
    logTail: () => tail,
    faults: () => ({ count: faultCount, samples: [...faultSamples], byMessage: new Map(faultsByMessage) }),
    exitInfo: () => exit,
    exited,
    rssBytes: () => (exit === null ? readRssBytes(pid) : NaN),
    async stop(timeoutMs = 30_000) {
      const t0 = Date.now();
      if (exit !== null) return { exit, timedOut: false, ms: 0 };
      child.kill('SIGTERM');
      const ok = await waitExit(timeoutMs);
      if (!ok) {
        child.kill('SIGKILL');
        await exited;
      }
      return { exit: exit!, timedOut: !ok, ms: Date.now() - t0 };
    },
    async kill9() {
      if (exit === null) {
        child.kill('SIGKILL');
        await exited;
      }
      return exit!;
    },
  };
}
