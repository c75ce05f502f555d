/**
 * kcat (librdkafka 2.0.2) as an independent reader/writer for tests: bounded child processes only, every one
 * killed on timeout. Shared by test/e2e and compat/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  /** The command line, for error messages. */
  command: string;
}

export interface RunOptions {
  timeoutMs: number;
  /** Fed to stdin: a string/Buffer, or `{ file }` streamed from disk. */
  input?: string | Buffer | { file: string };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command with a hard timeout (SIGKILL); never rejects because of the child's exit status. */
export async function runProcess(cmd: string, args: string[], options: RunOptions): Promise<ProcessResult> {
  const command = [cmd, ...args].map((a) => (/[\s'"\\]/.test(a) ? JSON.stringify(a) : a)).join(' ');
  return await new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
      if (err.length > 2_000_000) err = err.slice(-1_000_000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, timedOut, command });
    });
    // EPIPE when the child dies early is reported through its exit status instead.
    child.stdin.on('error', () => undefined);
    const input = options.input;
    if (input === undefined) child.stdin.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
    else createReadStream(input.file).pipe(child.stdin);
  });
}

export function describeResult(result: ProcessResult): string {
  return (
    `${result.command} -> code=${result.code} signal=${result.signal} timedOut=${result.timedOut}\n` +
    `stderr (tail):\n${result.stderr.slice(-4000)}\nstdout (head):\n${result.stdout.subarray(0, 2000).toString('utf8')}`
  );
}

export function kcatAvailable(): boolean {
  const r = spawnSync('kcat', ['-V'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

/** One line of `kcat -C -J`. Headers are name/value pairs. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  tstype?: string;
  ts?: number;
  key: string | null;
  payload: string | null;
  headers: Array<[string, string]>;
}

interface KcatJsonLine {
  topic: string;
  partition: number;
  offset: number;
  tstype?: string;
  ts?: number;
  key?: string | null;
  payload?: string | null;
  headers?: string[];
}

export function parseKcatJson(stdout: Buffer | string): KcatRecord[] {
  const text = typeof stdout === 'string' ? stdout : stdout.toString('utf8');
  const records: KcatRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = JSON.parse(line) as KcatJsonLine;
    const flat = parsed.headers ?? [];
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) headers.push([flat[i] as string, flat[i + 1] as string]);
    const record: KcatRecord = {
      topic: parsed.topic,
      partition: parsed.partition,
      offset: parsed.offset,
      key: parsed.key ?? null,
      payload: parsed.payload ?? null,
      headers,
    };
    if (parsed.tstype !== undefined) record.tstype = parsed.tstype;
    if (parsed.ts !== undefined) record.ts = parsed.ts;
    records.push(record);
  }
  return records;
}

export interface KcatConsumeOptions {
  timeoutMs?: number;
  /** Only this partition (`-p`). */
  partition?: number;
  /** Default `beginning`. */
  offset?: string;
  extraArgs?: string[];
}

/**
 * Reads a topic from the start to the current end (`-e`) with JSON envelopes and CRC checks on.
 * Throws (with kcat's stderr) when kcat fails or times out.
 */
export async function kcatConsume(bootstrap: string, topic: string, options: KcatConsumeOptions = {}): Promise<KcatRecord[]> {
  const args = ['-C', '-b', bootstrap, '-t', topic, '-e', '-o', options.offset ?? 'beginning', '-J', '-X', 'check.crcs=true'];
  if (options.partition !== undefined) args.push('-p', String(options.partition));
  args.push(...(options.extraArgs ?? []));
  const result = await runProcess('kcat', args, { timeoutMs: options.timeoutMs ?? 60_000 });
  if (result.code !== 0 || result.timedOut) throw new Error(`kcat consume failed: ${describeResult(result)}`);
  return parseKcatJson(result.stdout);
}

export interface KcatMetadata {
  originating_broker: { id: number; name: string };
  controllerid: number;
  brokers: Array<{ id: number; name: string }>;
  topics: Array<{
    topic: string;
    error?: string;
    partitions: Array<{ partition: number; leader: number; replicas: Array<{ id: number }>; isrs: Array<{ id: number }>; error?: string }>;
  }>;
}

export async function kcatMetadata(bootstrap: string, topic?: string, timeoutMs = 30_000): Promise<KcatMetadata> {
  const args = ['-L', '-b', bootstrap, '-J'];
  if (topic !== undefined) args.push('-t', topic);
  const result = await runProcess('kcat', args, { timeoutMs });
  if (result.code !== 0 || result.timedOut) throw new Error(`kcat -L failed: ${describeResult(result)}`);
  return JSON.parse(result.stdout.toString('utf8')) as KcatMetadata;
}

/** Groups records by partition, each list sorted by offset. */
export function byPartition<T extends { partition: number; offset: number }>(records: T[]): Map<number, T[]> {
  const map = new Map<number, T[]>();
  for (const r of records) {
    let list = map.get(r.partition);
    if (list === undefined) map.set(r.partition, (list = []));
    list.push(r);
  }
  for (const list of map.values()) list.sort((a, b) => a.offset - b.offset);
  return map;
}

/** Offsets of each partition that break "0, 1, 2, …" (first few only), for readable assertion failures. */
export function offsetGaps(records: Array<{ partition: number; offset: number }>): string[] {
  const problems: string[] = [];
  for (const [partition, list] of byPartition(records)) {
    for (let i = 0; i < list.length; i++) {
      const offset = (list[i] as { offset: number }).offset;
      if (offset !== i) {
        problems.push(`partition ${partition}: position ${i} has offset ${offset}`);
        break;
      }
    }
  }
  return problems;
}
