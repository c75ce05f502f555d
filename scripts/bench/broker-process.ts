// The broker under test: compiled JS (dist/cli/main.js) in its own process on 127.0.0.1 with an ephemeral port,
// plus a minimal raw-socket Metadata probe used to time startup.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { sleep, spawnTracked, waitExit } from './proc.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN_JS = path.join(REPO_ROOT, 'dist/cli/main.js');

export interface BrokerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  /** `startupMs` from the broker's own "listening" log line (process start excluded). */
  startupMs: number;
  /** spawn() to "listening" line, milliseconds. */
  spawnToListeningMs: number;
  bootstrap: string;
  /** Current VmRSS and VmHWM (peak) of the broker process, in bytes. */
  memory(): { rssBytes: number; hwmBytes: number };
  /** SIGTERM (clean shutdown), waiting up to `timeoutMs` before SIGKILL. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL: an unclean stop, so the next start runs recovery. */
  kill(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  flushOnAckAll?: boolean;
  nodeArgs?: string[];
  extraArgs?: string[];
  timeoutMs?: number;
  /** Soft and hard fd limit for the broker (`ulimit -n` in a shell that then execs node, so the pid is node's). */
  fdLimit?: number;
  /** The CLI to run instead of dist/cli/main.js (e.g. a build of another commit, for before/after figures). */
  mainJs?: string;
}

export function readMemory(pid: number): { rssBytes: number; hwmBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM') };
}

export function startBroker(options: StartOptions): Promise<BrokerProcess> {
  const args = [
    ...(options.nodeArgs ?? []),
    options.mainJs ?? MAIN_JS,
    'start',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    options.dataDir,
    '--flush-on-ack-all',
    String(options.flushOnAckAll ?? true),
    '--log-level',
    'info',
    ...(options.extraArgs ?? []),
  ];
  const started = process.hrtime.bigint();
  const child =
    options.fdLimit === undefined
      ? spawnTracked(process.execPath, args, { cwd: REPO_ROOT })
      : spawnTracked('sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$@"`, 'sh', process.execPath, ...args], { cwd: REPO_ROOT });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let stderr = '';
    let settled = false;
    const timer = setTimeout(() => fail(new Error(`broker did not log "listening" within ${options.timeoutMs ?? 60_000} ms`)), options.timeoutMs ?? 60_000);
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${err.message}\nstderr: ${stderr.slice(-2000)}\nstdout: ${buffered.slice(-2000)}`));
    }
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('exit', (code, signal) => fail(new Error(`broker exited early (code ${code}, signal ${signal})`)));
    child.stdout!.on('data', (d: Buffer) => {
      if (settled) return; // keep draining the pipe, nothing else
      buffered += d.toString();
      for (;;) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) break;
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: { msg?: string; port?: number; startupMs?: number; level?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg !== 'listening' || typeof entry.port !== 'number') continue;
        settled = true;
        clearTimeout(timer);
        const spawnToListeningMs = Number(process.hrtime.bigint() - started) / 1e6;
        const pid = child.pid!;
        const port = entry.port;
        resolve({
          child,
          pid,
          port,
          startupMs: entry.startupMs ?? NaN,
          spawnToListeningMs,
          bootstrap: `127.0.0.1:${port}`,
          memory: () => readMemory(pid),
          async stop(timeoutMs = 30_000) {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            await waitExit(child, timeoutMs);
          },
          async kill() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGKILL');
            await waitExit(child, 10_000);
          },
        });
        return;
      }
    });
  });
}

/** A Metadata v0 request for all topics (the smallest request that proves the broker serves clients). */
function metadataRequest(correlationId: number): Buffer {
  const clientId = Buffer.from('eddy-bench');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4);
  let o = 0;
  o = body.writeInt16BE(3, o); // api key: Metadata
  o = body.writeInt16BE(0, o); // version 0
  o = body.writeInt32BE(correlationId, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  body.writeInt32BE(0, o); // topics: [] = all topics in v0
  const frame = Buffer.alloc(4 + body.length);
  frame.writeInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** One Metadata round trip; resolves true on a well-formed response with our correlation id. */
function probeOnce(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(metadataRequest(7)));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 8 && got.length >= 4 + got.readInt32BE(0)) done(got.readInt32BE(4) === 7);
    });
  });
}

/**
 * Startup time as a client sees it: spawn the broker, then try a Metadata round trip every 2 ms on the port the
 * broker reports, and stop the clock at the first success. The port is only known from the "listening" line, so
 * the probe starts there; the probe's own round trip is included.
 */
export async function timeStartup(options: StartOptions): Promise<{ broker: BrokerProcess; toMetadataMs: number }> {
  const started = process.hrtime.bigint();
  const broker = await startBroker(options);
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (await probeOnce(broker.port, 1000)) break;
    if (Date.now() > deadline) throw new Error('no Metadata response before the deadline');
    await sleep(2);
  }
  return { broker, toMetadataMs: Number(process.hrtime.bigint() - started) / 1e6 };
}
