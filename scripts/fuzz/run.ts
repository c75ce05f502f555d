// runFuzz: the network fuzzer behind `npm run fuzz` (see main.ts for the command line).
//
// One broker process (the compiled CLI) on a temp data dir; `connections` workers each take the next frame
// index, generate its bytes (strategies.ts; a pure function of seed and index) and write it, mostly on a
// reused connection (a new one after the broker closes it or a response does not come within
// `responseTimeoutMs`), size abuse on a fresh one. Meanwhile a well-behaved probe connection sends a real
// Metadata request every `probeIntervalMs` and must be answered within `probeDeadlineMs`, the broker's RSS is
// sampled every second, and its exit is watched.
//
// A crash (the process exits) or a hang (the probe misses its deadline) saves the frames sent since shortly
// before the last answered probe, plus those in flight, to `outDir/failure-N/` (hex + JSON with seed, index,
// strategy) with the command that replays them; the broker is then restarted on the same data dir (after a
// SIGKILL if it still hangs after `hangGraceMs`) and the run continues, up to `maxFailures`. At the end: RSS
// after the connections close, SIGTERM (must exit 0), and a restart on the data dir left behind (must answer
// Metadata and still serve a record acknowledged before the run).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { startBroker, metadataOnce, type BrokerProcess, type ExitInfo } from './broker.js';
import { loadCorpus, type CorpusFrame } from './corpus.js';
import { generateFrame, STRATEGIES, type FuzzTopics, type Strategy } from './strategies.js';

export interface FuzzOptions {
  frames: number;
  seed: number;
  /** Where failing frames and summary.json go. */
  outDir: string;
  /** Stop sending new frames after this many seconds (the summary says so). */
  timeLimitS?: number;
  /** Replay exactly these frame indexes instead of 0..frames-1. */
  indexes?: number[];
  connections?: number;
  probeIntervalMs?: number;
  probeDeadlineMs?: number;
  responseTimeoutMs?: number;
  hangGraceMs?: number;
  maxFailures?: number;
  /** Extra `eddy start` arguments. */
  brokerArgs?: string[];
  /** Broker log level (default error: error lines are counted as broker faults). */
  logLevel?: string;
  keepDataDir?: boolean;
  /** Fail the run when RSS after the run exceeds RSS before it by more than this (default: report only). */
  maxRssGrowthMb?: number;
  /**
   * How long the broker sits idle after the last fuzz connection closed before its end RSS is read (default 3 s).
   * Freed memory can go back to the OS only after a quiet spell (RELIABILITY.md: 31 MiB between 3 and 30 s with
   * the documented memory settings, nothing with Node's and glibc's defaults), so the CLI uses 30 s; RSS 3 s after
   * the end is reported either way.
   */
  settleS?: number;
  /** Attribute the broker's memory as well as measuring its RSS (see MemProbeOptions). */
  memProbe?: MemProbeOptions;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/**
 * `fuzz --mem-probe DIR`: the broker runs with --expose-gc and scripts/fuzz/mem-probe.cjs preloaded, and writes
 * DIR/start.json before the first frame and DIR/end.json after the last (process.memoryUsage() before and after a
 * forced full GC, V8's heap spaces, RSS by mapping kind).
 */
export interface MemProbeOptions {
  dir: string;
  /** DIR/start.heapsnapshot and DIR/end.heapsnapshot too (a snapshot raises the RSS that follows it). */
  heapSnapshots?: boolean;
  /** A forced-GC reading every this many ms to DIR/series.jsonl. */
  intervalMs?: number;
  /** The JS stack of every Buffer allocation of this many bytes or more, to DIR/big-allocs.txt. */
  traceAllocBytes?: number;
  /**
   * At the end (needs gdb): glibc's malloc_stats(), malloc_trim(0), malloc_stats() again in the broker, and its RSS
   * before and after the trim, to DIR/malloc-trim.json: how much of the RSS is memory glibc holds freed.
   */
  mallocTrim?: boolean;
}

export interface FailureRecord {
  kind: 'crash' | 'hang' | 'restart-failed';
  atFrame: number;
  elapsedS: number;
  message: string;
  dir: string;
  suspects: number[];
  reproduce: string;
}

export interface FuzzSummary {
  seed: number;
  framesRequested: number;
  framesSent: number;
  byStrategy: Record<Strategy, number>;
  stoppedByTimeLimit: boolean;
  durationS: number;
  framesPerSecond: number;
  connectionsOpened: number;
  connectionsClosedByBroker: number;
  connectFailures: number;
  responses: number;
  responseTimeouts: number;
  crashes: number;
  hangs: number;
  restartFailures: number;
  failures: FailureRecord[];
  probe: { count: number; p50Ms: number; p99Ms: number; maxMs: number; missed: number };
  rss: {
    startBytes: number;
    peakBytes: number;
    /** RSS `settleS` seconds after the last fuzz connection closed. */
    endBytes: number;
    /** RSS 3 s after it. */
    endAt3sBytes: number;
    settleS: number;
    growthBytes: number;
    /**
     * RSS once a tenth of the frames were sent (every API's code compiled, the heap at its working size), and the
     * growth from there to the end: what the rest of the run kept, apart from warming up (NaN when not reached).
     */
    warmedBytes: number;
    warmedAtFrame: number;
    growthAfterWarmupBytes: number;
    samples: Array<[number, number]>;
  };
  brokerFaultLines: number;
  brokerFaultSamples: string[];
  /** Error-level broker log lines by normalised message (not failures of the run, but worth reading). */
  brokerFaultsByMessage: Record<string, number>;
  /** Topics the broker had at the end (the fuzzing creates some). */
  topicsAtEnd: number;
  cleanShutdown: { exit: ExitInfo | null; timedOut: boolean; ms: number };
  restart: { ok: boolean; readyMs: number; message: string };
  dataDir: string;
  ok: boolean;
}

const HARNESS_TOPICS: Array<{ name: string; configs: Array<{ name: string; value: string }> }> = [
  { name: 'fuzz-plain', configs: [] },
  { name: 'fuzz-compact', configs: [{ name: 'cleanup.policy', value: 'compact' }] },
  { name: 'fuzz-logappend', configs: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] },
];
const SENTINEL_TOPIC = 'fuzz-sentinel';
const PARTITIONS = 3;
const MAX_SUSPECTS = 400;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One fuzz connection: writes frames and counts size-prefixed response frames without keeping them. */
class FuzzConnection {
  readonly socket: net.Socket;
  responses = 0;
  closed = false;
  closedByPeer = false;
  private header = Buffer.alloc(4);
  private headerFill = 0;
  private remaining = 0;
  private wake: (() => void) | null = null;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (!this.closed) this.closedByPeer = true;
      this.closed = true;
      this.wake?.();
    });
  }

  static open(port: number, timeoutMs: number): Promise<FuzzConnection | null> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(null);
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new FuzzConnection(socket));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(null);
      });
    });
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - pos);
        this.remaining -= take;
        pos += take;
        if (this.remaining === 0) this.responseDone();
        continue;
      }
      this.header[this.headerFill++] = chunk[pos++]!;
      if (this.headerFill === 4) {
        this.headerFill = 0;
        this.remaining = this.header.readInt32BE(0);
        if (this.remaining <= 0) {
          this.remaining = 0;
          this.responseDone();
        }
      }
    }
  }

  private responseDone(): void {
    this.responses++;
    this.wake?.();
  }

  /** Waits until more than `after` responses arrived, the connection closed, or `timeoutMs` passed. */
  waitResponse(after: number, timeoutMs: number): Promise<'answered' | 'closed' | 'timeout'> {
    if (this.responses > after) return Promise.resolve('answered');
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const finish = (how: 'answered' | 'closed' | 'timeout'): void => {
        clearTimeout(timer);
        this.wake = null;
        resolve(how);
      };
      this.wake = () => {
        if (this.responses > after) finish('answered');
        else if (this.closed) finish('closed');
      };
    });
  }

  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

async function createHarnessTopics(port: number): Promise<void> {
  const client = await TestClient.connect(port, 'eddy-fuzz-setup');
  try {
    const topics = [...HARNESS_TOPICS, { name: SENTINEL_TOPIC, configs: [] }].map((t) => ({ name: t.name, numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: t.configs }));
    const created = await client.send(ApiKey.CreateTopics, 5, { topics, timeoutMs: 10_000 });
    for (const t of created.topics) if (t.errorCode !== 0) throw new Error(`CreateTopics ${t.name}: error ${t.errorCode} ${t.errorMessage ?? ''}`);
    const produced = await client.send(ApiKey.Produce, 9, {
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: SENTINEL_TOPIC, partitionData: [{ index: 0, records: sentinelBatch() }] }],
    });
    const code = produced.responses[0].partitionResponses[0].errorCode;
    if (code !== 0) throw new Error(`sentinel produce failed with error ${code}`);
  } finally {
    client.close();
  }
}

const SENTINEL_VALUE = Buffer.from('eddy-fuzz-sentinel-record');

/** A valid one-record batch whose value is SENTINEL_VALUE. */
function sentinelBatch(): Buffer {
  // record: length, attributes 0, timestampDelta 0, offsetDelta 0, key null (-1), value, 0 headers
  const body = Buffer.concat([Buffer.from([0, 0, 0, 1, SENTINEL_VALUE.length << 1]), SENTINEL_VALUE, Buffer.from([0])]);
  const record = Buffer.concat([Buffer.from([body.length << 1]), body]);
  const head = Buffer.alloc(61);
  const now = BigInt(Date.now());
  head.writeInt32BE(49 + record.length, 8);
  head.writeInt32BE(-1, 12);
  head.writeUInt8(2, 16);
  head.writeBigInt64BE(now, 27);
  head.writeBigInt64BE(now, 35);
  head.writeBigInt64BE(-1n, 43);
  head.writeInt16BE(-1, 51);
  head.writeInt32BE(-1, 53);
  head.writeInt32BE(1, 57);
  const batch = Buffer.concat([head, record]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** Metadata for the harness topics plus a Fetch of the sentinel record; returns a problem or null. */
async function checkServing(port: number, timeoutMs: number): Promise<string | null> {
  const md = await metadataOnce(port, timeoutMs, [...HARNESS_TOPICS.map((t) => t.name), SENTINEL_TOPIC]);
  if (md === null) return 'no Metadata response';
  for (const t of md.topics) if (t.errorCode !== 0) return `Metadata: topic ${t.name} error ${t.errorCode}`;
  let client: TestClient | undefined;
  try {
    client = await TestClient.connect(port, 'eddy-fuzz-check');
    const fetched = await Promise.race([
      client.send(ApiKey.Fetch, 4, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        topics: [{ topic: SENTINEL_TOPIC, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
      }),
      sleep(timeoutMs).then(() => null),
    ]);
    if (fetched === null) return 'no Fetch response';
    const p = fetched.responses[0].partitions[0];
    if (p.errorCode !== 0) return `Fetch sentinel: error ${p.errorCode}`;
    if (p.records === null || p.records.indexOf(SENTINEL_VALUE) < 0) return 'the sentinel record acknowledged before the run is missing';
    return null;
  } catch (err) {
    return `Fetch sentinel: ${(err as Error).message}`;
  } finally {
    client?.close();
  }
}

/** SIGUSR2 to a broker started with mem-probe.cjs, waiting for its probe; the files are renamed to `<label>.*`. */
async function probeMemory(broker: BrokerProcess, dir: string, label: string, log: (line: string) => void): Promise<void> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.done')));
  process.kill(broker.pid, 'SIGUSR2');
  const t0 = Date.now();
  for (;;) {
    const done = readdirSync(dir).find((f) => f.endsWith('.done') && !before.has(f));
    if (done !== undefined) {
      const stem = done.slice(0, -'.done'.length);
      for (const ext of ['.json', '.heapsnapshot']) if (existsSync(path.join(dir, stem + ext))) renameSync(path.join(dir, stem + ext), path.join(dir, label + ext));
      rmSync(path.join(dir, done));
      const report = JSON.parse(readFileSync(path.join(dir, `${label}.json`), 'utf8')) as { after: NodeJS.MemoryUsage; status: { vmRss: number } };
      const m = report.after;
      log(`fuzz: mem probe ${label}: after a full GC RSS ${mib(report.status.vmRss)}, heapUsed ${mib(m.heapUsed)}, heapTotal ${mib(m.heapTotal)}, external ${mib(m.external)}, arrayBuffers ${mib(m.arrayBuffers)} (${path.join(dir, label)}.json)`);
      return;
    }
    if (Date.now() - t0 > 120_000 || broker.exitInfo() !== null) {
      log(`fuzz: mem probe ${label}: no answer`);
      return;
    }
    await sleep(100);
  }
}

/** MemProbeOptions.mallocTrim: glibc's own figures (Total system / in use bytes) around a malloc_trim(0), via gdb. */
async function mallocTrim(broker: BrokerProcess, dir: string, log: (line: string) => void): Promise<void> {
  const rssBefore = broker.rssBytes();
  const tailStart = broker.logTail().length;
  try {
    execFileSync('gdb', ['-p', String(broker.pid), '-batch', '-ex', 'call (void)malloc_stats()', '-ex', 'call (int)malloc_trim(0)', '-ex', 'call (void)malloc_stats()'], { stdio: 'ignore', timeout: 60_000 });
  } catch (err) {
    log(`fuzz: malloc trim: gdb failed: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  await sleep(500);
  const rssAfter = broker.rssBytes();
  // malloc_stats() writes to the broker's stderr: per arena, then "Total (incl. mmap):" with system and in use bytes.
  const totals = [...broker.logTail().slice(Math.max(0, tailStart - 4096)).matchAll(/Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)/g)].map((t) => ({ systemBytes: Number(t[1]), inUseBytes: Number(t[2]) }));
  const result = { rssBeforeBytes: rssBefore, rssAfterBytes: rssAfter, mallocBeforeTrim: totals.at(-2) ?? null, mallocAfterTrim: totals.at(-1) ?? null };
  writeFileSync(path.join(dir, 'malloc-trim.json'), JSON.stringify(result, null, 1) + '\n');
  // malloc_trim gives pages back inside the arenas too (madvise), so "held" barely moves while RSS drops.
  const held = result.mallocBeforeTrim === null ? '?' : `${mib(result.mallocBeforeTrim.systemBytes)} held by glibc, ${mib(result.mallocBeforeTrim.inUseBytes)} in use`;
  log(`fuzz: malloc trim: ${held}; malloc_trim(0) took RSS from ${mib(rssBefore)} to ${mib(rssAfter)} (${path.join(dir, 'malloc-trim.json')})`);
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const connections = options.connections ?? 32;
  const probeIntervalMs = options.probeIntervalMs ?? 200;
  const probeDeadlineMs = options.probeDeadlineMs ?? 5000;
  const responseTimeoutMs = options.responseTimeoutMs ?? 250;
  const hangGraceMs = options.hangGraceMs ?? 20_000;
  const maxFailures = options.maxFailures ?? 10;
  const brokerArgs = options.brokerArgs ?? [];
  const logLevel = options.logLevel ?? 'error';
  const corpus: CorpusFrame[] = loadCorpus();
  const topics: FuzzTopics = { names: HARNESS_TOPICS.map((t) => t.name), partitions: PARTITIONS };
  mkdirSync(options.outDir, { recursive: true });

  let dataDir = mkdtempSync(path.join(tmpdir(), 'eddy-fuzz-'));
  const mem = options.memProbe;
  if (mem !== undefined) mkdirSync(mem.dir, { recursive: true });
  const memProbeSpawn =
    mem === undefined
      ? {}
      : {
          nodeArgs: ['--expose-gc', '--require', path.join(import.meta.dirname, 'mem-probe.cjs')],
          env: {
            EDDY_MEM_PROBE_DIR: mem.dir,
            EDDY_MEM_PROBE_SNAPSHOT: mem.heapSnapshots ? '1' : '0',
            EDDY_MEM_PROBE_INTERVAL_MS: String(mem.intervalMs ?? 0),
            EDDY_MEM_PROBE_TRACE_BYTES: String(mem.traceAllocBytes ?? 0),
          },
        };
  let broker: BrokerProcess = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel, ...memProbeSpawn });
  await createHarnessTopics(broker.port);
  if (mem !== undefined) await probeMemory(broker, mem.dir, 'start', log);
  log(`fuzz: broker pid ${broker.pid} on ${broker.bootstrap}, data ${dataDir}; seed ${options.seed}, ${options.indexes?.length ?? options.frames} frames, ${connections} connections`);

  const byStrategy = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;
  const started = Date.now();
  const deadline = options.timeLimitS === undefined ? Infinity : started + options.timeLimitS * 1000;
  const total = options.indexes?.length ?? options.frames;
  let cursor = 0;
  let sent = 0;
  let stoppedByTimeLimit = false;
  let connectionsOpened = 0;
  let closedByBroker = 0;
  let connectFailures = 0;
  let responses = 0;
  let responseTimeouts = 0;
  let crashes = 0;
  let hangs = 0;
  let restartFailures = 0;
  let faultLines = 0;
  const faultSamples: string[] = [];
  const faultsByMessage = new Map<string, number>();
  const failures: FailureRecord[] = [];
  const latencies: number[] = [];
  let probeMissed = 0;
  let stopping = false;
  let failuresExhausted = false;

  // Frames sent recently (index, time), and those being written now: the suspects of a crash or hang.
  const recent: Array<{ index: number; at: number }> = [];
  const inFlight = new Set<number>();
  let lastProbeOkAt = Date.now();

  // Workers wait on this while a failure is being handled.
  let paused: Promise<void> | null = null;

  const claim = (): number | undefined => {
    if (stopping || cursor >= total) return undefined;
    if (Date.now() > deadline) {
      stoppedByTimeLimit = true;
      return undefined;
    }
    const i = options.indexes ? options.indexes[cursor]! : cursor;
    cursor++;
    return i;
  };

  const send = async (conn: FuzzConnection | null, index: number): Promise<FuzzConnection | null> => {
    const frame = generateFrame(options.seed, index, corpus, topics);
    byStrategy[frame.strategy]++;
    sent++;
    inFlight.add(index);
    recent.push({ index, at: Date.now() });
    if (recent.length > 4 * MAX_SUSPECTS) recent.splice(0, recent.length - MAX_SUSPECTS);
    try {
      if (frame.fresh) {
        const c = await FuzzConnection.open(broker.port, 2000);
        if (c === null) {
          connectFailures++;
          return conn;
        }
        connectionsOpened++;
        await deliver(c, frame.chunks, frame.delayMs);
        await c.waitResponse(0, responseTimeoutMs);
        if (c.closedByPeer) closedByBroker++;
        responses += c.responses;
        c.destroy();
        return conn;
      }
      if (conn === null || conn.closed) {
        conn = await FuzzConnection.open(broker.port, 2000);
        if (conn === null) {
          connectFailures++;
          return null;
        }
        connectionsOpened++;
      }
      const before = conn.responses;
      await deliver(conn, frame.chunks, frame.delayMs);
      return await settle(conn, before);
    } finally {
      inFlight.delete(index);
    }
  };

  const deliver = async (c: FuzzConnection, chunks: Buffer[], delayMs: number): Promise<void> => {
    for (let k = 0; k < chunks.length; k++) {
      if (c.closed) return;
      if (k > 0 && delayMs > 0) await sleep(delayMs);
      c.socket.write(chunks[k]!);
    }
  };

  const settle = async (c: FuzzConnection, before: number): Promise<FuzzConnection | null> => {
    const how = await c.waitResponse(before, responseTimeoutMs);
    if (how === 'answered') {
      responses += c.responses - before;
      return c;
    }
    responses += c.responses - before;
    if (how === 'closed') {
      if (c.closedByPeer) closedByBroker++;
      return null;
    }
    responseTimeouts++;
    c.destroy();
    return null;
  };

  const worker = async (): Promise<void> => {
    let conn: FuzzConnection | null = null;
    for (;;) {
      while (paused !== null) await paused;
      const index = claim();
      if (index === undefined) break;
      conn = await send(conn, index);
    }
    conn?.destroy();
  };

  // --- failure handling --------------------------------------------------------------------------------------
  const collectFaults = (b: BrokerProcess): void => {
    const f = b.faults();
    faultLines += f.count;
    for (const s of f.samples) if (faultSamples.length < 20) faultSamples.push(s);
    for (const [k, n] of f.byMessage) faultsByMessage.set(k, (faultsByMessage.get(k) ?? 0) + n);
  };

  const saveFailure = (kind: FailureRecord['kind'], message: string, logTail: string): FailureRecord => {
    const dir = path.join(options.outDir, `failure-${failures.length + 1}-${kind}`);
    mkdirSync(dir, { recursive: true });
    const windowStart = lastProbeOkAt - 2 * probeIntervalMs;
    const suspects = [...new Set([...recent.filter((r) => r.at >= windowStart).map((r) => r.index), ...inFlight])].slice(-MAX_SUSPECTS).sort((a, b) => a - b);
    for (const index of suspects) {
      const frame = generateFrame(options.seed, index, corpus, topics);
      writeFileSync(path.join(dir, `frame-${index}.hex`), Buffer.concat(frame.chunks).toString('hex') + '\n');
      writeFileSync(
        path.join(dir, `frame-${index}.json`),
        JSON.stringify({ seed: options.seed, index, strategy: frame.strategy, detail: frame.detail, chunks: frame.chunks.map((c) => c.length), delayMs: frame.delayMs, freshConnection: frame.fresh }, null, 1) + '\n',
      );
    }
    const reproduce = `npm run fuzz -- --replay ${dir} --connections 1`;
    const record: FailureRecord = { kind, atFrame: sent, elapsedS: (Date.now() - started) / 1000, message, dir, suspects, reproduce };
    writeFileSync(path.join(dir, 'failure.json'), JSON.stringify({ ...record, seed: options.seed, dataDir }, null, 1) + '\n');
    writeFileSync(path.join(dir, 'broker.log'), logTail);
    failures.push(record);
    log(`fuzz: ${kind.toUpperCase()} after ${sent} frames: ${message}; ${suspects.length} suspect frames saved to ${dir}`);
    log(`fuzz:   reproduce: ${reproduce}`);
    return record;
  };

  const restart = async (): Promise<void> => {
    collectFaults(broker);
    try {
      broker = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel });
      watchExit(broker);
      log(`fuzz: broker restarted on ${dataDir} in ${broker.readyMs} ms`);
    } catch (err) {
      restartFailures++;
      saveFailure('restart-failed', (err as Error).message.split('\n')[0]!, (err as Error).message);
      // Keep the unrestartable data dir for inspection; continue on a fresh one.
      dataDir = mkdtempSync(path.join(tmpdir(), 'eddy-fuzz-'));
      broker = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel });
      watchExit(broker);
      await createHarnessTopics(broker.port);
      log(`fuzz: continuing on a fresh data dir ${dataDir}`);
    }
  };

  let handling: Promise<void> | null = null;
  const handleFailure = (kind: 'crash' | 'hang', message: string): Promise<void> => {
    if (handling !== null) return handling;
    let release!: () => void;
    paused = new Promise<void>((r) => (release = r));
    handling = (async () => {
      const failed = broker;
      if (kind === 'crash') {
        crashes++;
        saveFailure('crash', message, failed.logTail());
      } else {
        hangs++;
        const record = saveFailure('hang', message, failed.logTail());
        const t0 = Date.now();
        let recovered = false;
        while (Date.now() - t0 < hangGraceMs && failed.exitInfo() === null) {
          if ((await metadataOnce(failed.port, 2000)) !== null) {
            recovered = true;
            break;
          }
        }
        if (recovered) {
          record.message += `; answered again after ${Date.now() - t0} ms more`;
          log(`fuzz: broker answered again after ${Date.now() - t0} ms`);
        } else {
          record.message += `; still not answering after ${hangGraceMs} ms: SIGKILL and restart`;
          writeFileSync(path.join(record.dir, 'broker.log'), failed.logTail());
          await failed.kill9();
        }
      }
      if (failed.exitInfo() !== null) await restart();
      if (failures.length >= maxFailures) {
        failuresExhausted = true;
        stopping = true;
      }
      lastProbeOkAt = Date.now();
      handling = null;
      paused = null;
      release();
    })();
    return handling;
  };

  const watchExit = (b: BrokerProcess): void => {
    void b.exited.then((exit) => {
      if (b !== broker || finalPhase) return;
      void handleFailure('crash', `broker exited (code ${exit.code}, signal ${exit.signal})`);
    });
  };
  let finalPhase = false;
  watchExit(broker);

  // --- probe and RSS sampling --------------------------------------------------------------------------------
  const rssSamples: Array<[number, number]> = [];
  const rssStart = broker.rssBytes();
  const firstBroker = broker;
  let rssPeak = rssStart;
  const warmupFrames = Math.ceil(total / 10);
  let rssWarmed = NaN;
  let rssWarmedAtFrame = NaN;
  const rssTimer = setInterval(() => {
    if (broker !== firstBroker) return;
    const rss = broker.rssBytes();
    if (Number.isFinite(rss)) {
      rssPeak = Math.max(rssPeak, rss);
      if (Number.isNaN(rssWarmed) && sent >= warmupFrames) {
        rssWarmed = rss;
        rssWarmedAtFrame = sent;
      }
      const t = Math.round((Date.now() - started) / 1000);
      if (rssSamples.length === 0 || t - rssSamples[rssSamples.length - 1]![0] >= 10) rssSamples.push([t, rss]);
    }
  }, 1000);

  const probe = async (): Promise<void> => {
    let client: TestClient | null = null;
    let probeBroker: BrokerProcess | null = null;
    while (!stopping) {
      if (handling !== null) await handling;
      if (stopping) break;
      const b = broker;
      if (client === null || !client.isOpen || probeBroker !== b) {
        client?.close();
        client = null;
        try {
          client = await Promise.race([TestClient.connect(b.port, 'eddy-fuzz-probe'), sleep(probeDeadlineMs).then(() => null)]);
        } catch {
          client = null;
        }
        probeBroker = b;
      }
      const t0 = performance.now();
      let ok = false;
      if (client !== null) {
        const answer = await Promise.race([
          client.send(ApiKey.Metadata, 12, { topics: [{ topicId: Buffer.alloc(16), name: 'fuzz-plain' }], allowAutoTopicCreation: false }).catch(() => null),
          sleep(probeDeadlineMs).then(() => 'timeout' as const),
        ]);
        // Any decoded Metadata response counts: liveness, not the state of the topic (fuzzing may alter it).
        ok = answer !== null && answer !== 'timeout' && Array.isArray(answer.brokers);
        if (answer === null) {
          // The probe's connection was closed: reconnect once before calling it a miss.
          client.close();
          client = null;
          continue;
        }
      }
      const ms = performance.now() - t0;
      if (b !== broker || handling !== null) continue;
      if (ok) {
        latencies.push(ms);
        lastProbeOkAt = Date.now();
        await sleep(probeIntervalMs);
        continue;
      }
      if (b.exitInfo() !== null) {
        await sleep(50); // the exit watcher handles it
        continue;
      }
      probeMissed++;
      client?.close();
      client = null;
      await handleFailure('hang', `probe Metadata not answered within ${probeDeadlineMs} ms`);
    }
    client?.close();
  };

  const progressTimer = setInterval(() => {
    const s = (Date.now() - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    log(`fuzz: ${sent}/${total} frames in ${s.toFixed(0)} s (${(sent / s).toFixed(0)}/s), probe p99 ${percentile(sorted, 99).toFixed(1)} ms, rss ${(broker.rssBytes() / 1048576).toFixed(1)} MiB, crashes ${crashes}, hangs ${hangs}`);
  }, 15_000);

  const probeDone = probe();
  await Promise.all(Array.from({ length: Math.min(connections, total) }, () => worker()));
  if (handling !== null) await handling;
  stopping = true;
  await probeDone;
  clearInterval(progressTimer);
  const durationS = (Date.now() - started) / 1000;

  // --- end of run: RSS after the connections close, clean shutdown, restart ----------------------------------
  finalPhase = true;
  await sleep(3000);
  const rssAt3s = broker === firstBroker ? broker.rssBytes() : NaN;
  const settleS = Math.max(3, options.settleS ?? 3);
  await sleep((settleS - 3) * 1000);
  clearInterval(rssTimer);
  const rssEnd = broker === firstBroker ? broker.rssBytes() : NaN;
  if (Number.isFinite(rssAt3s)) rssPeak = Math.max(rssPeak, rssAt3s);
  if (Number.isFinite(rssEnd)) rssPeak = Math.max(rssPeak, rssEnd);
  if (mem !== undefined && broker === firstBroker && broker.exitInfo() === null) {
    await probeMemory(broker, mem.dir, 'end', log);
    if (mem.mallocTrim) await mallocTrim(broker, mem.dir, log);
  }
  let restartResult: FuzzSummary['restart'] = { ok: false, readyMs: NaN, message: '' };
  const preStop = broker.exitInfo() === null ? await checkServing(broker.port, probeDeadlineMs) : 'broker not running';
  const all = broker.exitInfo() === null ? await metadataOnce(broker.port, 30_000, null) : null;
  const topicsAtEnd = all === null ? NaN : all.topics.length;
  collectFaults(broker);
  const cleanShutdown: FuzzSummary['cleanShutdown'] = await broker.stop(30_000);
  if (cleanShutdown.exit?.code !== 0 || cleanShutdown.timedOut) log(`fuzz: SIGTERM shutdown: ${JSON.stringify(cleanShutdown)}\n${broker.logTail().slice(-3000)}`);
  try {
    const again = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel });
    const problem = await checkServing(again.port, 10_000);
    restartResult = { ok: problem === null, readyMs: again.readyMs, message: problem ?? 'answered Metadata and served the sentinel record' };
    collectFaults(again);
    const second = await again.stop(30_000);
    if (second.exit.code !== 0) restartResult = { ...restartResult, ok: false, message: `${restartResult.message}; second SIGTERM exit ${JSON.stringify(second.exit)}` };
    if (!restartResult.ok) writeFileSync(path.join(options.outDir, 'restart.log'), again.logTail());
  } catch (err) {
    restartResult = { ok: false, readyMs: NaN, message: (err as Error).message.slice(0, 4000) };
  }
  if (preStop !== null) restartResult.message = `before shutdown: ${preStop}; after restart: ${restartResult.message}`;

  const sorted = [...latencies].sort((a, b) => a - b);
  const ok =
    crashes === 0 &&
    hangs === 0 &&
    restartFailures === 0 &&
    !failuresExhausted &&
    preStop === null &&
    cleanShutdown.exit?.code === 0 &&
    !cleanShutdown.timedOut &&
    restartResult.ok &&
    (options.maxRssGrowthMb === undefined || (Number.isFinite(rssEnd) && rssEnd - rssStart <= options.maxRssGrowthMb * 1048576));
  const summary: FuzzSummary = {
    seed: options.seed,
    framesRequested: total,
    framesSent: sent,
    byStrategy,
    stoppedByTimeLimit,
    durationS,
    framesPerSecond: sent / durationS,
    connectionsOpened,
    connectionsClosedByBroker: closedByBroker,
    connectFailures,
    responses,
    responseTimeouts,
    crashes,
    hangs,
    restartFailures,
    failures,
    probe: { count: latencies.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN, missed: probeMissed },
    rss: {
      startBytes: rssStart,
      peakBytes: rssPeak,
      endBytes: rssEnd,
      endAt3sBytes: rssAt3s,
      settleS,
      growthBytes: rssEnd - rssStart,
      warmedBytes: rssWarmed,
      warmedAtFrame: rssWarmedAtFrame,
      growthAfterWarmupBytes: rssEnd - rssWarmed,
      samples: rssSamples,
    },
    brokerFaultLines: faultLines,
    brokerFaultSamples: faultSamples,
    brokerFaultsByMessage: Object.fromEntries([...faultsByMessage].sort((a, b) => b[1] - a[1])),
    topicsAtEnd,
    cleanShutdown,
    restart: restartResult,
    dataDir,
    ok,
  };
  writeFileSync(path.join(options.outDir, 'summary.json'), JSON.stringify(summary, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 1) + '\n');
  if (ok && !options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  return summary;
}

const mib = (b: number): string => (Number.isFinite(b) ? `${(b / 1048576).toFixed(1)} MiB` : 'n/a');

export function formatSummary(s: FuzzSummary): string {
  const lines = [
    `fuzz summary (seed ${s.seed})`,
    `  frames sent        ${s.framesSent} of ${s.framesRequested}${s.stoppedByTimeLimit ? ' (stopped by --time-limit-s)' : ''} in ${s.durationS.toFixed(1)} s (${s.framesPerSecond.toFixed(0)}/s)`,
    `  by strategy        ${STRATEGIES.map((k) => `${k} ${s.byStrategy[k]}`).join(', ')}`,
    `  connections        ${s.connectionsOpened} opened, ${s.connectionsClosedByBroker} closed by the broker, ${s.connectFailures} connect failures`,
    `  responses          ${s.responses} (${s.responseTimeouts} frames unanswered within the response timeout)`,
    `  crashes            ${s.crashes}`,
    `  hangs              ${s.hangs}`,
    `  restart failures   ${s.restartFailures}`,
    `  probe latency      n=${s.probe.count} p50 ${s.probe.p50Ms.toFixed(2)} ms, p99 ${s.probe.p99Ms.toFixed(2)} ms, max ${s.probe.maxMs.toFixed(2)} ms, missed ${s.probe.missed}`,
    `  broker RSS         start ${mib(s.rss.startBytes)}, peak ${mib(s.rss.peakBytes)}, 3 s after the last frame ${mib(s.rss.endAt3sBytes)}, end (idle ${s.rss.settleS} s) ${mib(s.rss.endBytes)} (growth ${mib(s.rss.growthBytes)}; from ${mib(s.rss.warmedBytes)} at frame ${s.rss.warmedAtFrame}, a tenth of the run: ${mib(s.rss.growthAfterWarmupBytes)})`,
    `  topics at the end  ${s.topicsAtEnd}`,
    `  broker error logs  ${s.brokerFaultLines}${s.brokerFaultLines > 0 ? ' (by message below)' : ''}`,
    `  SIGTERM shutdown   ${s.cleanShutdown.exit ? `code ${s.cleanShutdown.exit.code} signal ${s.cleanShutdown.exit.signal}` : 'n/a'}${s.cleanShutdown.timedOut ? ' (TIMED OUT, killed)' : ''} in ${s.cleanShutdown.ms} ms`,
    `  restart on data    ${s.restart.ok ? 'ok' : 'FAILED'} (${Number.isFinite(s.restart.readyMs) ? `${s.restart.readyMs} ms to Metadata` : 'not ready'}): ${s.restart.message.split('\n')[0]}`,
  ];
  for (const f of s.failures) lines.push(`  ${f.kind} at frame ${f.atFrame} (${f.elapsedS.toFixed(1)} s): ${f.message}\n    saved: ${f.dir}\n    reproduce: ${f.reproduce}`);
  for (const [message, n] of Object.entries(s.brokerFaultsByMessage).slice(0, 12)) lines.push(`    ${String(n).padStart(6)} × ${message.slice(0, 200)}`);
  lines.push(`  result             ${s.ok ? 'PASS' : 'FAIL'}`);
  return lines.join('\n');
}
