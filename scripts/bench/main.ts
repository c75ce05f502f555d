// `npm run bench [-- options]`: Eddy's benchmark (issue 4). Builds dist/ if it is stale, then, against a fresh
// broker started from compiled JS in its own process on 127.0.0.1 with a temporary data dir:
//
//   limits    this machine's ceilings: sequential write with fdatasync (dd conv=fdatasync), write with a sync
//             per 1 MiB (dd oflag=dsync), and a raw loopback TCP sink in Node
//   produce   kcat (librdkafka) producing 100 B and 1 KiB values, acks=1 and acks=-1, 1 and 8 partitions; and
//             (issue 9) 100 B with enable.idempotence=true (acks=all, max.in.flight 5) on 1 and 8 partitions,
//             plus plain acks=-1 with max.in.flight=5 as the control that separates the in-flight cap from the
//             rest; the idempotence cost against the plain acks=-1 rows (from medians); a Fetch of every
//             partition's first batch proving each run wrote what its row says (producerId, epoch and
//             baseSequence >= 0 for idempotent runs, -1 for plain ones; a mismatch fails the row and the bench
//             exits 1). Runs go round by round over all cases, so load changes hit every case alike.
//   kafkajs   the same from kafkajs, as a JS-side figure
//   transactions  kafkajs, one partition, transactions of 100 and 1000 messages (commit each): msg/s and
//             commits/s, next to the same sends from an idempotent producer without transactions
//   consume   kcat reading those topics back from the beginning, page cache warm and (when root can drop caches)
//             cold
//   latency   end-to-end p50/p99/p99.9 at a fixed rate, acks=1 and acks=-1 (latency.c, built with gcc against
//             librdkafka-dev)
//   startup   to the first Metadata response: empty data dir beside a bare Node baseline (peak RSS too), and N MB
//             across 100 partitions after SIGKILL
//             (recovery runs) and after a clean stop
//   memory    broker RSS idle, after every produce run, and peak (VmHWM)
//   profile   the broker under the produce benchmark with `node --cpu-prof`, top self-time functions
//   validation  produce-path record validation (issue 8): log-validator.ts in this process over pre-built batches
//             of 1000 x 100 B records per codec (the validator's own cost), then those batches produced to the
//             broker on one pipelined connection (throughput with validation, uncompressed and per codec)
//   fetchsessions  KIP-227 (issue 12): Fetch request/response bytes and broker CPU per request with 1,000
//             partitions, sessionless vs incremental (fetch-sessions.ts)
//   security  issue 13: kcat produce/consume throughput over PLAINTEXT, SSL and SASL_SSL listeners (security.ts)
//   legacy    issue 12: produce through the magic-1 up-conversion and fetch through the magic-1/0 down-conversion
//             beside RecordBatch v2, from the raw test client (legacy-formats.ts)
//   listoffsets  ListOffsets by timestamp (one lookup per request, one connection) against uncompressed and
//             gzip-compressed batches of 100 records from kafkajs; a compressed lookup decompresses one batch
//
// `--main-js` runs another build (e.g. a commit built in a scratch copy) instead of rebuilding dist/ from a working
// tree that others are editing. `scripts/bench/idempotence-profile.ts` is the follow-up tool for the idempotence
// rows (kcat and broker CPU, batch counts and a CPU profile per producer mode).
//
// Prints markdown tables and writes bench-results/<timestamp>.json and bench-results/latest.{json,md}. Every load
// loop is bounded in count and time; every child process is killed on exit. Numbers are never asserted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { RECORD_BATCH_HEADER_SIZE, isTransactional, readBatchHeader } from '../../src/protocol/records/batch.js';
import { REPO_ROOT, startBroker, timeStartup, type BrokerProcess } from './broker-process.js';
import { cleanerBench } from './cleaner.js';
import { fetchSessionsBench, renderFetchSessions } from './fetch-sessions.js';
import { renderSecurity, securityBench } from './security.js';
import { clusterBench, renderCluster, type ClusterBenchResult } from './cluster.js';
import { legacyFormatsBench, renderLegacyFormats } from './legacy-formats.js';
import { run, sleep, spawnTracked } from './proc.js';
import { formatProfile, summariseProfile } from './profile-summary.js';

// ---- options ---------------------------------------------------------------------------------------------------

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'count-small': { type: 'string' },
    'count-large': { type: 'string' },
    repeat: { type: 'string' },
    'latency-seconds': { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-size': { type: 'string' },
    'startup-mb': { type: 'string' },
    'startup-partitions': { type: 'string' },
    'kafkajs-count': { type: 'string' },
    'txn-count': { type: 'string' },
    'dd-mb': { type: 'string' },
    'list-offsets-lookups': { type: 'string' },
    'validation-batches': { type: 'string' },
    'cleaner-mb': { type: 'string' },
    'cleaner-io-max-bytes-per-second': { type: 'string' },
    'cleaner-sched-idle': { type: 'boolean' },
    'cleaner-window-seconds': { type: 'string' },
    only: { type: 'string' },
    skip: { type: 'string' },
    profile: { type: 'boolean' },
    'no-profile': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results' },
    'main-js': { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (opts.help) {
  process.stdout.write(`usage: npm run bench -- [options]
  --quick                 small counts, one repeat, no profile (a few minutes)
  --count-small N         100 B messages per produce run (default 1000000)
  --count-large N         1 KiB messages per produce run (default 500000; quick 200000)
  --repeat N              runs per produce/consume case, median reported (default 3; quick 1)
  --latency-seconds S     seconds per latency run (default 20; quick 5)
  --latency-rate R        messages/s in the latency runs (default 5000)
  --latency-size B        value bytes in the latency runs (default 1024)
  --startup-mb M          data for the recovery startup case (default 1024)
  --startup-partitions P  partitions for it (default 100)
  --kafkajs-count N       messages per kafkajs run (default 200000; quick 50000)
  --txn-count N           messages per transactions run (default 100000; quick 20000)
  --dd-mb M               MiB written by the dd fdatasync test (default 2048; quick 512)
  --list-offsets-lookups N  ListOffsets requests per case (default 5000; quick 500)
  --validation-batches N  batches of 1000 x 100 B per validation case (default 2000; quick 200)
  --cleaner-mb M          MB of records (uncompressed) in the zstd topic the cleaner compacts (default 1024; quick 256)
  --cleaner-io-max-bytes-per-second N
                          the cleaner's I/O cap (log.cleaner.io.max.bytes.per.second) in that section (default unlimited)
  --cleaner-sched-idle    run that section's brokers with --log-cleaner-thread-sched-idle (default: nice 10)
  --cleaner-window-seconds S
                          each idle window of that section's latency probe, before and after the cleaning
                          (default: --latency-seconds, at most 10)
  --only a,b / --skip a,b sections: limits,produce,kafkajs,transactions,consume,latency,startup,profile,
                          listoffsets,validation,cleaner,fetchsessions,security,legacy,cluster
  --profile / --no-profile  CPU profile of the broker under produce (default: on, off with --quick)
  --out DIR               results directory (default bench-results)
  --main-js PATH          run this build's cli/main.js instead of dist/ (not rebuilt): e.g. a build of a
                          commit in a scratch copy, while the working tree is being edited
  --keep                  keep the temporary data directories
`);
  process.exit(0);
}

const quick = opts.quick;
const num = (v: string | undefined, full: number, q: number): number => (v !== undefined ? Number(v) : quick ? q : full);
/** An optional positive number (of `unit`), refused as typed when it is not one (e.g. `20MB`). */
function positiveOrUndefined(name: string, v: string | undefined, unit = 'bytes per second'): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    console.error(`bench: --${name} ${JSON.stringify(v)}: not a positive number of ${unit}`);
    process.exit(2);
  }
  return n;
}
const cfg = {
  quick,
  countSmall: num(opts['count-small'], 1_000_000, 1_000_000),
  countLarge: num(opts['count-large'], 500_000, 200_000),
  repeat: num(opts.repeat, 3, 1),
  latencySeconds: num(opts['latency-seconds'], 20, 5),
  latencyRate: num(opts['latency-rate'], 5000, 5000),
  latencySize: num(opts['latency-size'], 1024, 1024),
  startupMb: num(opts['startup-mb'], 1024, 1024),
  startupPartitions: num(opts['startup-partitions'], 100, 100),
  kafkajsCount: num(opts['kafkajs-count'], 200_000, 50_000),
  txnCount: num(opts['txn-count'], 100_000, 20_000),
  ddMb: num(opts['dd-mb'], 2048, 512),
  listOffsetsLookups: num(opts['list-offsets-lookups'], 5000, 500),
  listOffsetsBatches: quick ? 200 : 2000,
  validationBatches: num(opts['validation-batches'], 2000, 200),
  cleanerMb: num(opts['cleaner-mb'], 1024, 256),
  cleanerIoMaxBytesPerSecond: positiveOrUndefined('cleaner-io-max-bytes-per-second', opts['cleaner-io-max-bytes-per-second']),
  cleanerSchedIdle: opts['cleaner-sched-idle'] === true,
  cleanerWindowSeconds: positiveOrUndefined('cleaner-window-seconds', opts['cleaner-window-seconds'], 'seconds'),
  profile: opts['no-profile'] ? false : (opts.profile ?? !quick),
  mainJs: opts['main-js'] === undefined ? undefined : path.resolve(opts['main-js']),
};
const SECTIONS = ['limits', 'produce', 'kafkajs', 'transactions', 'consume', 'latency', 'startup', 'profile', 'listoffsets', 'validation', 'cleaner', 'fetchsessions', 'security', 'legacy', 'cluster'];
const only = opts.only ? new Set(opts.only.split(',')) : new Set(SECTIONS);
for (const s of opts.skip?.split(',') ?? []) only.delete(s);
if (!cfg.profile) only.delete('profile');
const want = (s: string): boolean => only.has(s);

/** From the issue: kcat against an in-memory Go broker on this kind of machine (the load generator's ceiling). */
const REFERENCE = { produceMsgPerSec: 2.0e6, consumeMsgPerSec: 2.9e6 };
const KCAT_TIMEOUT_MS = 180_000;

const outDir = path.resolve(REPO_ROOT, opts.out!);
const brokerOptions = { mainJs: cfg.mainJs };
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-'));
const results: Record<string, unknown> = {};
const log = (msg: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---- helpers ---------------------------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
const mb = (bytes: number): number => bytes / 1e6;
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

function buildIfStale(): void {
  const newest = (dir: string, suffix: string): number => {
    let t = 0;
    if (!existsSync(dir)) return 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) t = Math.max(t, newest(p, suffix));
      else if (p.endsWith(suffix)) t = Math.max(t, statSync(p).mtimeMs);
    }
    return t;
  };
  const distMain = path.join(REPO_ROOT, 'dist/cli/main.js');
  // tsc rewrites every output file, so the newest .js is as new as the last build.
  if (existsSync(distMain) && newest(path.join(REPO_ROOT, 'src'), '.ts') <= newest(path.join(REPO_ROOT, 'dist'), '.js')) return;
  log('building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
}

/** A file of `count` lines, each a `size`-byte value (printable, no newline), for `kcat -P -l`. */
function valuesFile(size: number, count: number): string {
  const file = path.join(tmpRoot, `values-${size}-${count}.txt`);
  if (existsSync(file)) return file;
  const distinct = 1000;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const lines: string[] = [];
  for (let i = 0; i < distinct; i++) {
    let s = '';
    for (let j = 0; j < size; j++) s += alphabet[(i * 31 + j * 7 + ((i * j) % 13)) % alphabet.length];
    lines.push(s);
  }
  const block = Buffer.from(lines.join('\n') + '\n');
  const fd = openSync(file, 'w');
  try {
    let left = count;
    while (left >= distinct) {
      writeSync(fd, block);
      left -= distinct;
    }
    if (left > 0) writeSync(fd, Buffer.from(lines.slice(0, left).join('\n') + '\n'));
  } finally {
    closeSync(fd);
  }
  return file;
}

function admin(bootstrap: string) {
  return new Kafka({ clientId: 'eddy-bench-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
}

async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const a = admin(bootstrap);
  await a.connect();
  try {
    await a.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await a.disconnect();
  }
}

async function topicEndOffset(bootstrap: string, topic: string): Promise<number> {
  const a = admin(bootstrap);
  await a.connect();
  try {
    const offsets = await a.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await a.disconnect();
  }
}

/**
 * kcat -P of `files` (one message per line). `idempotent` sets enable.idempotence=true, with which librdkafka
 * requires acks=all and caps max.in.flight.requests.per.connection at 5 (plain runs keep its default, 1000000);
 * `maxInFlight` sets that cap on a plain run (the control row that separates the cap from the broker's work).
 */
async function kcatProduce(bootstrap: string, topic: string, files: string[], acks: number, idempotent = false, maxInFlight?: number): Promise<{ seconds: number; ok: boolean; detail: string }> {
  const delivery = idempotent ? ['-X', 'acks=all', '-X', 'enable.idempotence=true'] : ['-X', `acks=${acks}`, '-X', 'enable.idempotence=false'];
  if (maxInFlight !== undefined) delivery.push('-X', `max.in.flight.requests.per.connection=${maxInFlight}`);
  const r = await run(
    'kcat',
    ['-P', '-b', bootstrap, '-t', topic, '-l', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', ...delivery, ...files],
    KCAT_TIMEOUT_MS,
  );
  const ok = r.code === 0 && !r.timedOut;
  return { seconds: r.seconds, ok, detail: ok ? '' : `kcat exit ${r.code} ${r.signal ?? ''}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.slice(-500)}` };
}

async function kcatConsume(bootstrap: string, topic: string, count: number): Promise<{ seconds: number; ok: boolean; detail: string }> {
  // -c stops the clock at the last message (no end-of-partition wait); -e is the bound if fewer arrive.
  const r = await run(
    'kcat',
    ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-c', String(count), '-f', '', '-X', 'fetch.wait.max.ms=100'],
    KCAT_TIMEOUT_MS,
  );
  const early = /Reached end of topic/.test(r.stderr) && /exiting/.test(r.stderr);
  const ok = r.code === 0 && !r.timedOut && !early;
  return { seconds: r.seconds, ok, detail: ok ? '' : `kcat exit ${r.code}${r.timedOut ? ' (timed out)' : ''}${early ? ' (ended before the count)' : ''}: ${r.stderr.slice(-300)}` };
}

function dropCaches(): { ok: boolean; reason: string } {
  try {
    execFileSync('sync', [], { timeout: 60_000 });
    writeFileSync('/proc/sys/vm/drop_caches', '3');
    return { ok: true, reason: '' };
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  }
}

// ---- sections --------------------------------------------------------------------------------------------------

async function measureLimits(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const ddFile = path.join(tmpRoot, 'dd.bin');
  const dd = async (count: number, flag: string): Promise<{ bytes: number; seconds: number; mbPerSec: number } | { error: string }> => {
    const r = await run('dd', ['if=/dev/zero', `of=${ddFile}`, 'bs=1M', `count=${count}`, flag], 300_000);
    rmSync(ddFile, { force: true });
    const m = /(\d+) bytes .* copied, ([\d.]+) s/.exec(r.stderr);
    if (r.code !== 0 || !m) return { error: r.stderr.slice(-300) };
    const bytes = Number(m[1]);
    const seconds = Number(m[2]);
    return { bytes, seconds, mbPerSec: mb(bytes) / seconds };
  };
  log(`limits: dd ${cfg.ddMb} MiB conv=fdatasync`);
  out.ddFdatasync = await dd(cfg.ddMb, 'conv=fdatasync');
  const dsyncMb = Math.max(64, Math.round(cfg.ddMb / 4));
  log(`limits: dd ${dsyncMb} MiB oflag=dsync`);
  out.ddDsync = await dd(dsyncMb, 'oflag=dsync');

  log('limits: loopback TCP sink in Node');
  const worker = path.join(import.meta.dirname, 'tcp-sink-worker.ts');
  const sink = spawnTracked(process.execPath, ['--import', 'tsx', worker, 'sink'], { cwd: REPO_ROOT });
  const lines: string[] = [];
  let buf = '';
  sink.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
  const waitLine = async (n: number, timeoutMs: number): Promise<string | undefined> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length < n && Date.now() < deadline) await sleep(10);
    return lines[n - 1];
  };
  const portLine = await waitLine(1, 20_000);
  if (!portLine) {
    sink.kill('SIGKILL');
    out.tcpSink = { error: 'sink did not start' };
    return out;
  }
  const { port } = JSON.parse(portLine) as { port: number };
  const totalBytes = (quick ? 4 : 16) * 1024 ** 3;
  const source = await run(process.execPath, ['--import', 'tsx', worker, 'source', String(port), String(totalBytes), quick ? '8' : '20'], 60_000, { cwd: REPO_ROOT });
  const result = await waitLine(2, 10_000);
  sink.kill('SIGKILL');
  if (!result || source.code !== 0) {
    out.tcpSink = { error: `sink/source failed: ${source.stderr.slice(-300)}` };
  } else {
    const { bytes, seconds } = JSON.parse(result) as { bytes: number; seconds: number };
    out.tcpSink = { bytes, seconds, mbPerSec: mb(bytes) / seconds };
  }
  return out;
}

/** What a produced topic's first batches say about the producer that wrote them. */
type BatchExpectation = 'plain' | 'idempotent' | 'transactional';

interface FirstBatch {
  partition: number;
  producerId: string;
  producerEpoch: number;
  baseSequence: number;
  transactional: boolean;
}

/**
 * Reads the header of the first batch of every partition of `topic` (one Fetch v11 per partition from offset 0,
 * 1-byte limits: the broker still returns the first batch whole; empty partitions are skipped, but one batch at
 * least must be there) and checks it against `expect`: an idempotent
 * or transactional producer stamps producerId >= 0, producerEpoch >= 0 and baseSequence >= 0 (transactional
 * batches also carry the transactional attribute bit), a plain producer leaves producerId and baseSequence at -1.
 * Returns the headers read and the problems found (empty when the topic is what the row claims).
 */
async function checkFirstBatches(bootstrap: string, topic: string, partitions: number, expect: BatchExpectation): Promise<{ batches: FirstBatch[]; problems: string[] }> {
  const batches: FirstBatch[] = [];
  const problems: string[] = [];
  const client = await TestClient.connect(Number(bootstrap.split(':').at(-1)), 'eddy-bench-batch-check');
  try {
    for (let partition = 0; partition < partitions; partition++) {
      const res = await client.send(ApiKey.Fetch, 11, {
        replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 1, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const p = res.responses[0]?.partitions[0];
      const records: Buffer | null | undefined = p?.records;
      // librdkafka's sticky partitioner can leave a partition empty when few messages are produced.
      if (p && p.errorCode === 0 && p.highWatermark === 0n) continue;
      if (!p || p.errorCode !== 0 || !records || records.length < RECORD_BATCH_HEADER_SIZE) {
        problems.push(`partition ${partition}: no batch header fetched (error ${p?.errorCode}, ${records?.length ?? 0} bytes)`);
        continue;
      }
      const h = readBatchHeader(records);
      const b: FirstBatch = { partition, producerId: String(h.producerId), producerEpoch: h.producerEpoch, baseSequence: h.baseSequence, transactional: isTransactional(h.attributes) };
      batches.push(b);
      const stamped = h.producerId >= 0n && h.producerEpoch >= 0 && h.baseSequence >= 0;
      const what = `partition ${partition} first batch producerId ${b.producerId} epoch ${b.producerEpoch} baseSequence ${b.baseSequence}${b.transactional ? ' transactional' : ''}`;
      if (expect === 'plain' ? h.producerId !== -1n || h.baseSequence !== -1 : !stamped) problems.push(`${what}: not ${expect === 'idempotent' ? 'an' : 'a'} ${expect} batch`);
      else if (b.transactional !== (expect === 'transactional')) problems.push(`${what}: transactional bit ${b.transactional ? 'set' : 'clear'} in a ${expect} batch`);
    }
  } finally {
    client.close();
  }
  if (batches.length === 0 && problems.length === 0) problems.push('no partition holds a batch');
  if (expect !== 'plain' && new Set(batches.map((b) => b.producerId)).size > 1) problems.push(`first batches from more than one producerId: ${batches.map((b) => b.producerId).join(' ')}`);
  return { batches, problems };
}

/** Rows whose topic did not hold what the row claims (e.g. an "idempotent" run that wrote plain batches): the bench exits 1. */
const loudFailures: string[] = [];

interface ProduceCase {
  size: number;
  acks: number;
  /** kcat with enable.idempotence=true (then acks is -1). */
  idempotent: boolean;
  /** max.in.flight.requests.per.connection on a plain run (librdkafka's default otherwise). */
  maxInFlight?: number;
  partitions: number;
  count: number;
  runs: Array<{ seconds: number; ok: boolean; detail: string; topic: string; rssAfterBytes: number; firstBatches: FirstBatch[] }>;
  msgPerSec: number;
  mbPerSec: number;
  topic: string;
}

/**
 * kcat produce runs: `repeat` rounds, each running every case once in order (so a change in the machine's load
 * during the section hits all cases alike, and an idempotent row is measured right next to its plain acks=-1
 * row), median per case. After each run the topic's end offsets must add up to the count, and the first batch of
 * every partition must be what the row claims (plain or idempotent).
 */
async function produceBench(broker: BrokerProcess, tag: string, cases: Array<{ size: number; acks: number; partitions: number; idempotent?: boolean; maxInFlight?: number }>, repeat: number): Promise<ProduceCase[]> {
  const state = cases.map((c) => {
    const count = c.size <= 100 ? cfg.countSmall : cfg.countLarge;
    return { c: { ...c, idempotent: c.idempotent ?? false }, count, file: valuesFile(c.size, count), runs: [] as ProduceCase['runs'] };
  });
  for (let r = 0; r < repeat; r++) {
    for (const { c, count, file, runs } of state) {
      const topic = `${tag}-${c.size}b-acks${c.acks === -1 ? 'all' : c.acks}${c.idempotent ? '-idem' : ''}${c.maxInFlight ? `-inflight${c.maxInFlight}` : ''}-${c.partitions}p-r${r}`;
      await createTopic(broker.bootstrap, topic, c.partitions);
      const res = await kcatProduce(broker.bootstrap, topic, [file], c.acks, c.idempotent, c.maxInFlight);
      const end = await topicEndOffset(broker.bootstrap, topic);
      if (res.ok && end !== count) {
        res.ok = false;
        res.detail = `topic holds ${end} messages, expected ${count}`;
      }
      const rssAfterBytes = broker.memory().rssBytes;
      const check = await checkFirstBatches(broker.bootstrap, topic, c.partitions, c.idempotent ? 'idempotent' : 'plain');
      if (check.problems.length > 0) {
        res.ok = false;
        res.detail = `${res.detail ? `${res.detail}; ` : ''}${check.problems.join('; ')}`;
        loudFailures.push(`produce ${topic}: ${check.problems.join('; ')}`);
      }
      runs.push({ ...res, topic, rssAfterBytes, firstBatches: check.batches });
      log(`produce ${topic}: ${count} msgs in ${res.seconds.toFixed(3)} s = ${fmt(count / res.seconds)} msg/s${res.ok ? '' : ` FAILED ${res.detail}`}`);
    }
  }
  return state.map(({ c, count, runs }) => {
    const seconds = median(runs.filter((x) => x.ok).map((x) => x.seconds));
    return { ...c, count, runs, msgPerSec: count / seconds, mbPerSec: mb((count * c.size) / seconds), topic: runs.at(-1)!.topic };
  });
}

/**
 * Issue 9: the throughput idempotence costs, from medians, for each idempotent case against the plain acks=-1
 * case of its shape; and the share of it that librdkafka's in-flight cap alone costs (the plain acks=-1 run with
 * max.in.flight 5, when present), which is client behaviour rather than broker work.
 */
function idempotenceCost(produced: ProduceCase[]): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = [];
  for (const idem of produced.filter((p) => p.idempotent)) {
    const same = (p: ProduceCase): boolean => !p.idempotent && p.acks === -1 && p.size === idem.size && p.partitions === idem.partitions;
    const plain = produced.find((p) => same(p) && p.maxInFlight === undefined);
    if (!plain) continue;
    const capped = produced.find((p) => same(p) && p.maxInFlight === 5);
    out.push({
      size: idem.size,
      partitions: idem.partitions,
      plainMsgPerSec: plain.msgPerSec,
      idempotentMsgPerSec: idem.msgPerSec,
      costPercent: 100 * (1 - idem.msgPerSec / plain.msgPerSec),
      ...(capped ? { inFlight5MsgPerSec: capped.msgPerSec, inFlight5CostPercent: 100 * (1 - capped.msgPerSec / plain.msgPerSec), costVsInFlight5Percent: 100 * (1 - idem.msgPerSec / capped.msgPerSec) } : {}),
    });
  }
  return out;
}

async function consumeBench(broker: BrokerProcess, produced: ProduceCase[]): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const picks = produced.filter((p) => p.acks === 1 && p.runs.at(-1)!.ok);
  for (const p of picks) {
    const warm: number[] = [];
    for (let r = 0; r < cfg.repeat; r++) {
      const res = await kcatConsume(broker.bootstrap, p.topic, p.count);
      log(`consume warm ${p.topic}: ${res.seconds.toFixed(3)} s = ${fmt(p.count / res.seconds)} msg/s${res.ok ? '' : ` FAILED ${res.detail}`}`);
      if (res.ok) warm.push(res.seconds);
    }
    const cold: number[] = [];
    let coldNote = '';
    for (let r = 0; r < cfg.repeat; r++) {
      const dropped = dropCaches();
      if (!dropped.ok) {
        coldNote = `cannot drop the page cache (${dropped.reason})`;
        break;
      }
      const res = await kcatConsume(broker.bootstrap, p.topic, p.count);
      log(`consume cold ${p.topic}: ${res.seconds.toFixed(3)} s = ${fmt(p.count / res.seconds)} msg/s${res.ok ? '' : ` FAILED ${res.detail}`}`);
      if (res.ok) cold.push(res.seconds);
    }
    const w = median(warm);
    const c = median(cold);
    out.push({
      size: p.size,
      partitions: p.partitions,
      count: p.count,
      topic: p.topic,
      warmSeconds: warm,
      coldSeconds: cold,
      coldNote,
      warmMsgPerSec: p.count / w,
      warmMbPerSec: mb((p.count * p.size) / w),
      coldMsgPerSec: p.count / c,
      coldMbPerSec: mb((p.count * p.size) / c),
    });
  }
  return out;
}

async function kafkajsBench(broker: BrokerProcess): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const worker = path.join(import.meta.dirname, 'kafkajs-worker.ts');
  for (const c of [
    { size: 100, acks: 1 },
    { size: 1024, acks: 1 },
    { size: 100, acks: -1 },
  ]) {
    const topic = `kafkajs-${c.size}b-acks${c.acks === -1 ? 'all' : c.acks}`;
    await createTopic(broker.bootstrap, topic, 1);
    const r = await run(process.execPath, ['--import', 'tsx', worker, broker.bootstrap, topic, String(cfg.kafkajsCount), String(c.size), String(c.acks), '60'], 120_000, { cwd: REPO_ROOT });
    let parsed: { count: number; seconds: number } | undefined;
    try {
      parsed = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { count: number; seconds: number };
    } catch {
      parsed = undefined;
    }
    if (!parsed || r.code !== 0) {
      out.push({ ...c, error: `kafkajs worker failed (exit ${r.code}): ${r.stderr.slice(-300)}` });
      log(`kafkajs ${topic}: FAILED`);
      continue;
    }
    out.push({ ...c, count: parsed.count, seconds: parsed.seconds, msgPerSec: parsed.count / parsed.seconds, mbPerSec: mb((parsed.count * c.size) / parsed.seconds) });
    log(`kafkajs ${topic}: ${fmt(parsed.count / parsed.seconds)} msg/s`);
  }
  return out;
}

/**
 * Transactions (issue 9): kafkajs-txn-worker.ts on one partition, 100 B values. Sends of 1000 messages from an
 * idempotent producer without transactions (the baseline), then the same sends each in its own transaction, then
 * transactions of 100 messages; `repeat` runs each, round by round, median reported. The end offset must be the
 * messages plus one COMMIT marker per transaction, and the first batch must carry the producer's id (and the
 * transactional bit for the transactional rows).
 */
async function transactionsBench(broker: BrokerProcess): Promise<Record<string, unknown>[]> {
  const worker = path.join(import.meta.dirname, 'kafkajs-txn-worker.ts');
  const size = 100;
  const cases = [
    { mode: 'idempotent', perTxn: 1000 },
    { mode: 'txn', perTxn: 1000 },
    { mode: 'txn', perTxn: 100 },
  ] as const;
  const runs = cases.map(() => [] as Array<{ count: number; seconds: number; commits: number; ok: boolean; detail: string }>);
  for (let r = 0; r < cfg.repeat; r++) {
    for (const [i, c] of cases.entries()) {
      const topic = `txn-${c.mode}-${c.perTxn}-r${r}`;
      await createTopic(broker.bootstrap, topic, 1);
      const res = await run(process.execPath, ['--import', 'tsx', worker, broker.bootstrap, topic, String(cfg.txnCount), String(size), String(c.perTxn), c.mode, '90'], 150_000, { cwd: REPO_ROOT });
      let parsed: { count: number; seconds: number; commits: number } | undefined;
      try {
        parsed = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as { count: number; seconds: number; commits: number };
      } catch {
        parsed = undefined;
      }
      if (!parsed || res.code !== 0) {
        const detail = `kafkajs-txn-worker failed (exit ${res.code}${res.timedOut ? ', timed out' : ''}): ${res.stderr.slice(-300)}`;
        runs[i]!.push({ count: 0, seconds: NaN, commits: 0, ok: false, detail });
        log(`transactions ${topic}: FAILED ${detail}`);
        continue;
      }
      const problems: string[] = [];
      if (parsed.count !== cfg.txnCount) problems.push(`stopped at the time bound after ${parsed.count} of ${cfg.txnCount} messages`);
      // The warm-up send is one more message (and, in a transaction, one more marker).
      const expectedEnd = parsed.count + 1 + (c.mode === 'txn' ? parsed.commits + 1 : 0);
      const end = await topicEndOffset(broker.bootstrap, topic);
      if (end !== expectedEnd) problems.push(`end offset ${end}, expected ${expectedEnd}`);
      const check = await checkFirstBatches(broker.bootstrap, topic, 1, c.mode === 'txn' ? 'transactional' : 'idempotent');
      if (check.problems.length > 0) loudFailures.push(`transactions ${topic}: ${check.problems.join('; ')}`);
      problems.push(...check.problems);
      runs[i]!.push({ ...parsed, ok: problems.length === 0, detail: problems.join('; ') });
      log(`transactions ${topic}: ${fmt(parsed.count / parsed.seconds)} msg/s, ${fmt(parsed.commits / parsed.seconds)} commits/s${problems.length ? ` FAILED ${problems.join('; ')}` : ''}`);
    }
  }
  return cases.map((c, i) => {
    const ok = runs[i]!.filter((x) => x.ok);
    const seconds = median(ok.map((x) => x.seconds / x.count)) * cfg.txnCount;
    return {
      ...c,
      size,
      count: cfg.txnCount,
      runs: runs[i],
      msgPerSec: cfg.txnCount / seconds,
      mbPerSec: mb((cfg.txnCount * size) / seconds),
      commitsPerSec: c.mode === 'txn' ? cfg.txnCount / c.perTxn / seconds : NaN,
    };
  });
}

function buildLatencyTool(): { bin?: string; error?: string } {
  const bin = path.join(tmpRoot, 'eddy-latency');
  try {
    execFileSync('gcc', ['-O2', '-o', bin, path.join(import.meta.dirname, 'latency.c'), '-lrdkafka', '-lpthread'], { stdio: 'pipe', timeout: 120_000 });
    return { bin };
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? (err as Error).message;
    return { error: `cannot build latency.c (needs gcc and librdkafka-dev: apt-get install librdkafka-dev): ${stderr.slice(0, 300)}` };
  }
}

async function latencyBench(broker: BrokerProcess): Promise<Record<string, unknown>[]> {
  const tool = buildLatencyTool();
  if (!tool.bin) return [{ error: tool.error }];
  const out: Record<string, unknown>[] = [];
  for (const acks of [1, -1]) {
    const topic = `latency-acks${acks === -1 ? 'all' : acks}`;
    const count = Math.round(cfg.latencyRate * cfg.latencySeconds);
    const warmup = Math.round(cfg.latencyRate / 2);
    const r = await run(
      tool.bin,
      [broker.bootstrap, topic, String(cfg.latencyRate), String(count), String(cfg.latencySize), String(acks), String(cfg.latencySeconds + 5), String(warmup)],
      (cfg.latencySeconds + 60) * 1000,
    );
    try {
      const parsed = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
      out.push({ acks, rate: cfg.latencyRate, size: cfg.latencySize, ...parsed });
      log(`latency acks=${acks}: p50 ${parsed.p50Ms} ms p99 ${parsed.p99Ms} ms p99.9 ${parsed.p999Ms} ms (${parsed.received}/${parsed.sent})`);
    } catch {
      out.push({ acks, error: `latency tool failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-300)}` });
    }
  }
  return out;
}

/** The startup baseline: a bare Node process that listens and answers Metadata (bare-node-broker.mjs). */
const BARE_NODE_BROKER = path.join(REPO_ROOT, 'scripts/bench/bare-node-broker.mjs');
const STARTUP_EMPTY_RUNS = 7;

async function startupBench(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  // Eddy and the bare Node baseline alternate, run by run, so both see the same machine load; peak RSS (VmHWM) is
  // read once the first Metadata is answered.
  const empty: Array<{ toMetadataMs: number; startupMs: number; peakRssBytes: number }> = [];
  const bare: Array<{ toMetadataMs: number; peakRssBytes: number }> = [];
  for (let r = 0; r < STARTUP_EMPTY_RUNS; r++) {
    for (const kind of ['bare', 'eddy'] as const) {
      const dir = path.join(tmpRoot, `startup-empty-${kind}-${r}`);
      const { broker, toMetadataMs } = await timeStartup({ ...brokerOptions, dataDir: dir, mainJs: kind === 'bare' ? BARE_NODE_BROKER : undefined });
      const peakRssBytes = broker.memory().hwmBytes;
      if (kind === 'bare') bare.push({ toMetadataMs, peakRssBytes });
      else empty.push({ toMetadataMs, startupMs: broker.startupMs, peakRssBytes });
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  out.emptyRuns = empty;
  out.bareRuns = bare;
  out.emptyMs = median(empty.map((e) => e.toMetadataMs));
  out.emptyPeakRssBytes = median(empty.map((e) => e.peakRssBytes));
  out.bareMs = median(bare.map((e) => e.toMetadataMs));
  out.barePeakRssBytes = median(bare.map((e) => e.peakRssBytes));
  log(
    `startup empty: ${fmt(out.emptyMs as number, 1)} ms to first Metadata, peak RSS ${fmt(mb(out.emptyPeakRssBytes as number), 1)} MB ` +
      `(bare Node: ${fmt(out.bareMs as number, 1)} ms, ${fmt(mb(out.barePeakRssBytes as number), 1)} MB)`,
  );

  const dir = path.join(tmpRoot, 'startup-data');
  const loader = await startBroker({ ...brokerOptions, dataDir: dir });
  const topic = 'startup';
  await createTopic(loader.bootstrap, topic, cfg.startupPartitions);
  const totalMessages = Math.round((cfg.startupMb * 1e6) / 1024);
  // kcat -l takes one file, so the whole load is one file (removed right after).
  const file = valuesFile(1024, totalMessages);
  log(`startup: loading ${fmt(totalMessages)} x 1 KiB into ${cfg.startupPartitions} partitions`);
  const loaded = await kcatProduce(loader.bootstrap, topic, [file], 1);
  if (totalMessages !== cfg.countLarge) rmSync(file, { force: true });
  if (!loaded.ok) throw new Error(`loading the startup data failed: ${loaded.detail}`);
  const messages = await topicEndOffset(loader.bootstrap, topic);
  await loader.kill();
  out.dataBytes = dirBytes(dir);
  out.dataMessages = messages;

  const unclean = await timeStartup({ ...brokerOptions, dataDir: dir, timeoutMs: 300_000 });
  out.uncleanMs = unclean.toMetadataMs;
  out.uncleanBrokerStartupMs = unclean.broker.startupMs;
  out.uncleanRssBytes = unclean.broker.memory().rssBytes;
  log(`startup after SIGKILL with ${fmt(mb(out.dataBytes as number))} MB: ${fmt(unclean.toMetadataMs, 1)} ms`);
  await unclean.broker.stop(120_000);

  const clean = await timeStartup({ ...brokerOptions, dataDir: dir, timeoutMs: 300_000 });
  out.cleanMs = clean.toMetadataMs;
  out.cleanBrokerStartupMs = clean.broker.startupMs;
  log(`startup after a clean stop: ${fmt(clean.toMetadataMs, 1)} ms`);
  await clean.broker.stop(120_000);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/**
 * ListOffsets by timestamp: batches of 100 records (about 300 B JSON-like values, timestamps 1 ms apart) from
 * kafkajs, uncompressed and gzip; then sequential lookups of random timestamps on one connection. Each compressed
 * lookup decompresses the one batch that can hold the target.
 */
async function listOffsetsBench(broker: BrokerProcess): Promise<Record<string, unknown>[]> {
  const kafka = new Kafka({ clientId: 'bench-list-offsets', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const base = 1_700_000_000_000;
  const records = cfg.listOffsetsBatches * 100;
  const out: Record<string, unknown>[] = [];
  try {
    for (const [codec, compression] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]] as const) {
      const topic = `list-offsets-${codec}`;
      await createTopic(broker.bootstrap, topic, 1);
      for (let b = 0; b < cfg.listOffsetsBatches; b++) {
        const messages = Array.from({ length: 100 }, (_, i) => ({
          value: `{"order":${b * 100 + i},"customer":"c-${(b * 31 + i) % 977}","amount":${(i * 7.31).toFixed(2)},"status":"shipped"}`.repeat(3),
          timestamp: String(base + b * 100 + i),
        }));
        await producer.send({ topic, compression, acks: 1, messages });
      }
      const client = await TestClient.connect(Number(broker.bootstrap.split(':').at(-1)));
      try {
        const times: number[] = [];
        let wrong = 0;
        for (let n = 0; n < cfg.listOffsetsLookups; n++) {
          const target = Math.floor(((n * 2654435761) % 2 ** 32) / 2 ** 32 * records);
          const t0 = process.hrtime.bigint();
          const res = await client.send(ApiKey.ListOffsets, 7, {
            replicaId: -1, isolationLevel: 0,
            topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: BigInt(base + target), maxNumOffsets: 1 }] }],
          });
          times.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (res.topics[0].partitions[0].offset !== BigInt(target)) wrong++;
        }
        const total = times.reduce((a, b) => a + b, 0);
        times.sort((a, b) => a - b);
        const row = { codec, batches: cfg.listOffsetsBatches, records, lookups: times.length, lookupsPerSec: (1000 * times.length) / total, meanMs: total / times.length, p99Ms: times[Math.floor(times.length * 0.99)]!, wrong };
        out.push(row);
        log(`listoffsets ${codec}: ${fmt(row.lookupsPerSec)} lookups/s, mean ${fmt(row.meanMs, 3)} ms, p99 ${fmt(row.p99Ms, 3)} ms, ${wrong} wrong`);
      } finally {
        client.close();
      }
    }
  } finally {
    await producer.disconnect();
  }
  return out;
}

/**
 * Record validation on produce (issue 8). Batches of 1000 records of 100 B (JSON-like values, keys, timestamps
 * 1 ms apart) are built once per codec (none, gzip, snappy in xerial framing as the Java client writes it, lz4;
 * there is no zstd encoder in Node 20). Then: (1) validateAndSummarize on them in this process, the validator's own
 * cost per record (decompression included); (2) the same batches produced (v9, acks=1) to the broker with up to 16
 * requests in flight on one connection: broker throughput with validation for each codec.
 */
async function validationBench(broker: BrokerProcess): Promise<Record<string, unknown>[]> {
  const { buildRecordBatch } = await import('../../test/protocol/records/batch-builder.js');
  const { compressBatch } = await import('../../test/protocol/records/compressed-batch.js');
  const { validateAndSummarize } = await import('../../src/log/log-validator.js');
  const { DEFAULT_LOG_CONFIG } = await import('../../src/log/log-config.js');
  const { readBatchHeader } = await import('../../src/protocol/records/batch.js');
  const recordsPerBatch = 1000;
  const now = Date.now();
  const plain = buildRecordBatch({
    baseTimestamp: BigInt(now),
    records: Array.from({ length: recordsPerBatch }, (_, i) => ({
      key: `key-${i % 100}`,
      value: `{"id":${i},"customer":"c-${(i * 31) % 977}","amount":${(i * 7.31).toFixed(2)},"s":"ok"}`.padEnd(100, ' '),
      timestampDelta: i,
    })),
  });
  const out: Record<string, unknown>[] = [];
  const port = Number(broker.bootstrap.split(':').at(-1));
  for (const codec of ['none', 'gzip', 'snappy-xerial', 'lz4'] as const) {
    const batch = codec === 'none' ? plain : compressBatch(plain, codec);
    // (1) in process; a warm-up first, so the figure is the JIT-compiled validator.
    const header = readBatchHeader(batch);
    for (let i = 0; i < 50; i++) validateAndSummarize(batch, header, DEFAULT_LOG_CONFIG, 'bench', 0, now);
    const n = cfg.validationBatches;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) validateAndSummarize(batch, header, DEFAULT_LOG_CONFIG, 'bench', 0, now);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    // (2) through the broker.
    const topic = `validation-${codec}`;
    await createTopic(broker.bootstrap, topic, 1);
    const client = await TestClient.connect(port);
    let failed = 0;
    let produceSeconds = NaN;
    try {
      const send = () =>
        client.send(ApiKey.Produce, 9, { acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] })
          .then((res: any) => { if (res.responses[0].partitionResponses[0].errorCode !== 0) failed++; });
      const p0 = process.hrtime.bigint();
      const inFlight = new Set<Promise<void>>();
      for (let i = 0; i < n; i++) {
        const p: Promise<void> = send().finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= 16) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      produceSeconds = Number(process.hrtime.bigint() - p0) / 1e9;
    } finally {
      client.close();
    }
    const row = {
      codec,
      recordsPerBatch,
      batchBytes: batch.length,
      uncompressedBytes: plain.length,
      batches: n,
      validateRecordsPerSec: (n * recordsPerBatch) / seconds,
      validateNsPerRecord: (seconds * 1e9) / (n * recordsPerBatch),
      validateUncompressedMbPerSec: mb(n * plain.length) / seconds,
      produceRecordsPerSec: (n * recordsPerBatch) / produceSeconds,
      produceMbPerSec: mb(n * recordsPerBatch * 100) / produceSeconds,
      failedRequests: failed,
    };
    out.push(row);
    log(`validation ${codec}: validator ${fmt(row.validateNsPerRecord, 1)} ns/record (${fmt(row.validateUncompressedMbPerSec)} MB/s uncompressed); produce ${fmt(row.produceRecordsPerSec)} records/s${failed ? `, ${failed} requests FAILED` : ''}`);
  }
  return out;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

async function profileBench(): Promise<Record<string, unknown>> {
  const profDir = path.join(outDir, 'profiles');
  mkdirSync(profDir, { recursive: true });
  const before = new Set(readdirSync(profDir));
  const dir = path.join(tmpRoot, 'profile-data');
  const broker = await startBroker({ ...brokerOptions, dataDir: dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const cases = [
    { size: 100, acks: 1, partitions: 1 },
    { size: 1024, acks: -1, partitions: 1 },
  ];
  const produced = await produceBench(broker, 'profile', cases, 1);
  await broker.stop(60_000);
  const created = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
  if (created.length === 0) return { error: 'no .cpuprofile written' };
  const file = path.join(profDir, created.sort().at(-1)!);
  const summary = summariseProfile(file, 20);
  rmSync(dir, { recursive: true, force: true });
  return { file: path.relative(REPO_ROOT, file), cases: produced.map((p) => ({ size: p.size, acks: p.acks, msgPerSec: p.msgPerSec })), ...summary };
}

// ---- report ----------------------------------------------------------------------------------------------------

function machineInfo(): Record<string, unknown> {
  const kcatVersion = (() => {
    try {
      const text = execFileSync('kcat', ['-V'], { encoding: 'utf8', timeout: 10_000 });
      const m = /Version (\S+) .*librdkafka (\S+)/.exec(text);
      return m ? `${m[1]} (librdkafka ${m[2]})` : 'unknown';
    } catch {
      return 'not installed';
    }
  })();
  return {
    cpu: os.cpus()[0]?.model,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    kcat: kcatVersion,
    tmpDir: tmpRoot,
  };
}

function renderTable(r: Record<string, any>): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`Run ${r.startedAt} (${r.config.quick ? 'quick' : 'full'}; ${m.cores} cores ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}, kcat ${m.kcat}${r.config.mainJs ? `; broker ${path.relative(REPO_ROOT, r.config.mainJs)}` : ''})`);
  const load = (xs: number[] | undefined): string => (xs ? xs.map((x) => x.toFixed(2)).join(' ') : 'n/a');
  lines.push(`Load average (1/5/15 min) at start ${load(r.loadAverageAtStart)}, at end ${load(r.loadAverageAtEnd)}: anything else running on this machine skews the figures.`, '');
  if (r.limits) {
    const l = r.limits;
    const v = (x: any): string => (x?.mbPerSec !== undefined ? `${fmt(x.mbPerSec)} MB/s` : `n/a (${x?.error ?? 'not run'})`);
    lines.push('| machine limit | value |', '|---|---:|');
    lines.push(`| sequential write + fdatasync (dd bs=1M conv=fdatasync) | ${v(l.ddFdatasync)} |`);
    lines.push(`| write with a sync per 1 MiB (dd bs=1M oflag=dsync) | ${v(l.ddDsync)} |`);
    lines.push(`| loopback TCP into one Node socket | ${v(l.tcpSink)} |`, '');
  }
  if (r.produce) {
    lines.push('| produce (kcat) | partitions | acks | msg/s | MB/s (values) | vs 2.0 M ceiling | runs |', '|---|---:|---:|---:|---:|---:|---|');
    for (const p of r.produce as ProduceCase[]) {
      const ok = p.runs.every((x) => x.ok) ? '' : ' FAILED';
      lines.push(`| ${p.size} B x ${fmt(p.count)} | ${p.partitions} | ${p.idempotent ? 'all+idempotent' : p.maxInFlight ? `${p.acks}, in-flight ${p.maxInFlight}` : p.acks} | ${fmt(p.msgPerSec)} | ${fmt(p.mbPerSec, 1)} | ${fmt((100 * p.msgPerSec) / REFERENCE.produceMsgPerSec)}% | ${p.runs.map((x) => x.seconds.toFixed(2) + 's').join(' ')}${ok} |`);
    }
    lines.push('');
    for (const c of r.idempotenceCost ?? []) {
      if (!Number.isFinite(c.costPercent)) {
        lines.push(`Idempotence cost, ${c.size} B on ${c.partitions} partition${c.partitions === 1 ? '' : 's'}: n/a (a row FAILED, see below).`);
        continue;
      }
      const capped = c.inFlight5MsgPerSec === undefined ? '' : ` The in-flight cap of 5 alone (plain acks=-1, max.in.flight=5): ${fmt(c.inFlight5CostPercent, 1)}% (${fmt(c.inFlight5MsgPerSec)} msg/s); idempotent vs that: ${fmt(c.costVsInFlight5Percent, 1)}%.`;
      lines.push(`Idempotence cost, ${c.size} B on ${c.partitions} partition${c.partitions === 1 ? '' : 's'}: ${fmt(c.costPercent, 1)}% of the plain acks=-1 throughput (medians ${fmt(c.plainMsgPerSec)} -> ${fmt(c.idempotentMsgPerSec)} msg/s; issue 9 allows < 10%).${capped}`);
    }
    const failed = (r.produce as ProduceCase[]).flatMap((p) => p.runs.filter((x) => !x.ok).map((x) => `${x.topic}: ${x.detail}`));
    for (const f of failed) lines.push(`FAILED ${f}`);
    if (r.idempotenceCost?.length || failed.length) lines.push('');
  }
  if (r.kafkajs) {
    lines.push('| produce (kafkajs 2.2.4, 1 partition) | acks | msg/s | MB/s |', '|---|---:|---:|---:|');
    for (const k of r.kafkajs) lines.push(k.error ? `| ${k.size} B | ${k.acks} | n/a | ${k.error.slice(0, 80)} |` : `| ${k.size} B x ${fmt(k.count)} | ${k.acks} | ${fmt(k.msgPerSec)} | ${fmt(k.mbPerSec, 1)} |`);
    lines.push('');
  }
  if (r.transactions) {
    lines.push('| transactions (kafkajs 2.2.4, 1 partition, one send at a time) | producer | msg/s | commits/s | MB/s (values) | runs (s) |', '|---|---|---:|---:|---:|---|');
    for (const t of r.transactions) {
      const failed = t.runs.some((x: any) => !x.ok) ? ` FAILED ${t.runs.filter((x: any) => !x.ok).map((x: any) => x.detail).join('; ').slice(0, 200)}` : '';
      const what = t.mode === 'txn' ? `transactional, ${fmt(t.perTxn)} per transaction` : `idempotent, no transaction`;
      lines.push(`| ${t.size} B x ${fmt(t.count)}, sends of ${fmt(t.perTxn)} | ${what} | ${fmt(t.msgPerSec)} | ${t.mode === 'txn' ? fmt(t.commitsPerSec) : '-'} | ${fmt(t.mbPerSec, 1)} | ${t.runs.map((x: any) => (Number.isFinite(x.seconds) ? x.seconds.toFixed(2) : 'n/a')).join(' ')}${failed} |`);
    }
    lines.push('');
  }
  if (r.consume) {
    lines.push('| consume (kcat, from the beginning) | partitions | warm msg/s | warm MB/s | vs 2.9 M ceiling | cold msg/s | cold MB/s |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const c of r.consume) {
      const cold = c.coldNote ? `n/a (${c.coldNote})` : fmt(c.coldMsgPerSec);
      lines.push(`| ${c.size} B x ${fmt(c.count)} | ${c.partitions} | ${fmt(c.warmMsgPerSec)} | ${fmt(c.warmMbPerSec, 1)} | ${fmt((100 * c.warmMsgPerSec) / REFERENCE.consumeMsgPerSec)}% | ${cold} | ${c.coldNote ? 'n/a' : fmt(c.coldMbPerSec, 1)} |`);
    }
    lines.push('');
  }
  if (r.latency) {
    lines.push('| end-to-end latency (librdkafka, 1 partition) | acks | p50 ms | p99 ms | p99.9 ms | max ms | produce ack p50 / p99 ms | received |', '|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const l of r.latency) {
      lines.push(l.error ? `| n/a | ${l.acks ?? ''} | ${l.error.slice(0, 100)} | | | | | |` : `| ${fmt(l.rate)} msg/s x ${l.size} B | ${l.acks} | ${fmt(l.p50Ms, 2)} | ${fmt(l.p99Ms, 2)} | ${fmt(l.p999Ms, 2)} | ${fmt(l.maxMs, 2)} | ${fmt(l.ackP50Ms, 2)} / ${fmt(l.ackP99Ms, 2)} | ${fmt(l.received)}/${fmt(l.sent)} |`);
    }
    lines.push('');
  }
  if (r.startup) {
    const s = r.startup;
    lines.push('| startup (spawn to first Metadata response) | ms | broker-reported startupMs |', '|---|---:|---:|');
    lines.push(`| empty data dir (median of ${STARTUP_EMPTY_RUNS}; peak RSS ${fmt(mb(s.emptyPeakRssBytes), 1)} MB) | ${fmt(s.emptyMs, 1)} | ${fmt(median(s.emptyRuns.map((e: any) => e.startupMs)), 1)} |`);
    lines.push(`| bare Node baseline: listens and answers Metadata (same runs, interleaved; peak RSS ${fmt(mb(s.barePeakRssBytes), 1)} MB) | ${fmt(s.bareMs, 1)} | |`);
    lines.push(`| Eddy over bare Node (goal: 50 ms, 20 MB) | +${fmt(s.emptyMs - s.bareMs, 1)} ms, +${fmt(mb(s.emptyPeakRssBytes - s.barePeakRssBytes), 1)} MB | |`);
    lines.push(`| ${fmt(mb(s.dataBytes))} MB in ${cfg.startupPartitions} partitions, after SIGKILL (recovery) | ${fmt(s.uncleanMs, 1)} | ${fmt(s.uncleanBrokerStartupMs, 1)} |`);
    lines.push(`| same data, after a clean stop | ${fmt(s.cleanMs, 1)} | ${fmt(s.cleanBrokerStartupMs, 1)} |`, '');
  }
  if (r.memory) {
    const mm = r.memory;
    lines.push('| broker memory | MB |', '|---|---:|');
    lines.push(`| RSS idle (after start) | ${fmt(mb(mm.idleRssBytes), 1)} |`);
    if (mm.rssAfterRuns?.length) {
      lines.push(`| RSS after the first / last produce run (${fmt(mb(mm.retainedBytesAtEnd))} MB retained at the end) | ${fmt(mb(mm.rssAfterRuns[0]), 1)} / ${fmt(mb(mm.rssAfterRuns.at(-1)), 1)} |`);
    }
    lines.push(`| peak RSS (VmHWM) over the produce benchmark | ${fmt(mb(mm.peakAfterProduceBytes), 1)} |`);
    lines.push(`| peak RSS (VmHWM) at the end of the run | ${fmt(mb(mm.peakAtEndBytes), 1)} |`, '');
  }
  if (r.listoffsets) {
    lines.push('| ListOffsets by timestamp (one connection, sequential) | records | lookups/s | mean ms | p99 ms | wrong answers |', '|---|---:|---:|---:|---:|---:|');
    for (const l of r.listoffsets) lines.push(`| ${l.codec} batches of 100 records | ${fmt(l.records)} | ${fmt(l.lookupsPerSec)} | ${fmt(l.meanMs, 3)} | ${fmt(l.p99Ms, 3)} | ${l.wrong} |`);
    lines.push('');
  }
  if (r.validation) {
    lines.push('| record validation on produce (batches of 1000 x 100 B) | batch bytes | validator ns/record | validator MB/s (uncompressed) | produce records/s (1 connection, 16 in flight) | produce MB/s (values) | failed |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const v of r.validation) lines.push(`| ${v.codec} | ${fmt(v.batchBytes)} | ${fmt(v.validateNsPerRecord, 1)} | ${fmt(v.validateUncompressedMbPerSec)} | ${fmt(v.produceRecordsPerSec)} | ${fmt(v.produceMbPerSec, 1)} | ${v.failedRequests} |`);
    lines.push('');
  }
  if (r.cleaner) {
    const c = r.cleaner;
    if (c.error) lines.push(`cleaner: ${c.error}`, '');
    else {
      const p = (l: any, k: string) => (l && !l.error ? fmt(l[k], 2) : 'n/a');
      const w = (m: any, window: string) => (m?.latency && !m.latency.error ? `${p(m.latency[window], 'p50Ms')} / ${p(m.latency[window], 'p99Ms')}` : 'n/a');
      lines.push(
        '| log cleaner (one zstd partition, 16 MiB segments) | records MB | on disk MB before → after | cleaning s | MB/s on disk | MB/s records | e2e p50 / p99 ms idle before | while cleaning | idle after | p99 ratio to both idle windows | idle after / before p99 |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
        `| compaction${c.schedIdle ? ' (worker under SCHED_IDLE)' : ''}${c.ioMaxBytesPerSecond ? ` (I/O capped at ${fmt(c.ioMaxBytesPerSecond / 1e6, 1)} MB/s)` : ''}, with latency.c (acks=1, ${cfg.latencyRate}/s x ${cfg.latencySize} B) on another topic, one run across the windows | ${fmt(c.recordBytes / 1e6)} | ${fmt(c.sealedBytesBefore / 1e6)} → ${fmt(c.sealedBytesAfter / 1e6)} | ${fmt(c.cleaningMs / 1000, 1)} | ${fmt(c.diskMBps, 1)} | ${fmt(c.recordsMBps, 1)} | ${w(c, 'idleBefore')} | ${w(c, 'whileCleaning')} | ${w(c, 'idleAfter')} | ${c.p99Ratio ?? 'n/a'} | ${c.idleAfterToBeforeP99Ratio ?? 'n/a'} |`,
        '',
      );
      if (c.latency?.error) lines.push(`cleaner: ${c.latency.error}`, '');
      if (c.latencyWarmup) lines.push(`cleaner: the warm-up probe before the cleaning (a freshly started broker, nothing to clean): e2e p50 / p99 ${p(c.latencyWarmup, 'p50Ms')} / ${p(c.latencyWarmup, 'p99Ms')} ms`, '');
      if (c.otherProcess) {
        const o = c.otherProcess;
        lines.push(
          `cleaner: the same cleaning in another broker process, latency.c on the idle broker: e2e p50 / p99 ms idle before ${w(o, 'idleBefore')}, while the other cleans ${w(o, 'whileCleaning')}, idle after ${w(o, 'idleAfter')}; p99 ratio to both idle windows ${o.p99Ratio ?? 'n/a'} (the bound for a cleaner in the broker's process)`,
          '',
        );
      }
    }
  }
  if (r.fetchsessions) lines.push(...renderFetchSessions(r.fetchsessions));
  if (r.security) lines.push(...renderSecurity(r.security));
  if (r.cluster) lines.push(...renderCluster(r.cluster as ClusterBenchResult));
  if (r.legacy) lines.push(...renderLegacyFormats(r.legacy));
  if (r.profile && !r.profile.error) {
    lines.push(`CPU profile of the broker under produce (100 B acks=1 and 1 KiB acks=-1; ${r.profile.file}):`, '');
    lines.push(formatProfile({ ...r.profile, entries: r.profile.entries.slice(0, 15) }), '');
  }
  return lines.join('\n');
}

// ---- main ------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  if (cfg.mainJs === undefined) buildIfStale();
  mkdirSync(outDir, { recursive: true });
  results.startedAt = startedAt;
  results.config = cfg;
  results.machine = machineInfo();
  // Other work on this machine skews every figure (2 cores): record the load around the run.
  results.loadAverageAtStart = os.loadavg();
  results.reference = REFERENCE;
  log(`config ${JSON.stringify(cfg)}; temp dir ${tmpRoot}`);

  if (want('limits')) results.limits = await measureLimits();

  if (['produce', 'consume', 'latency', 'kafkajs', 'transactions', 'listoffsets', 'validation'].some(want)) {
    const dataDir = path.join(tmpRoot, 'main-data');
    const broker = await startBroker({ ...brokerOptions, dataDir });
    try {
      await sleep(1000);
      const memory: Record<string, any> = { idleRssBytes: broker.memory().rssBytes };
      results.memory = memory;
      if (want('produce') || want('consume')) {
        const cases = [];
        for (const size of [100, 1024]) {
          for (const acks of [1, -1]) for (const partitions of [1, 8]) cases.push({ size, acks, partitions, idempotent: false });
          // Issue 9: 100 B with enable.idempotence=true, right after the plain acks=-1 rows it is compared with.
          // The in-flight-5 rows are plain acks=-1 with the cap librdkafka imposes on idempotent producers: they
          // separate what the cap costs (client side) from what the broker's producer-state work costs.
          if (size === 100) {
            for (const partitions of [1, 8]) cases.push({ size, acks: -1, partitions, idempotent: true });
            for (const partitions of [1, 8]) cases.push({ size, acks: -1, partitions, idempotent: false, maxInFlight: 5 });
          }
        }
        const produced = await produceBench(broker, 'bench', want('produce') ? cases : cases.filter((c) => c.acks === 1 && c.partitions === 1), want('produce') ? cfg.repeat : 1);
        if (want('produce')) {
          results.produce = produced;
          results.idempotenceCost = idempotenceCost(produced);
        }
        memory.rssAfterRuns = produced.flatMap((p) => p.runs.map((x) => x.rssAfterBytes));
        memory.peakAfterProduceBytes = broker.memory().hwmBytes;
        memory.retainedBytesAtEnd = dirBytes(dataDir);
        if (want('consume')) results.consume = await consumeBench(broker, produced);
      }
      if (want('kafkajs')) results.kafkajs = await kafkajsBench(broker);
      if (want('transactions')) results.transactions = await transactionsBench(broker);
      if (want('latency')) results.latency = await latencyBench(broker);
      if (want('listoffsets')) results.listoffsets = await listOffsetsBench(broker);
      if (want('validation')) results.validation = await validationBench(broker);
      memory.peakAtEndBytes = broker.memory().hwmBytes;
    } finally {
      await broker.stop(60_000);
    }
  }
  if (want('startup')) results.startup = await startupBench();
  if (want('cleaner')) {
    const tool = buildLatencyTool();
    results.cleaner = await cleanerBench({ tmpRoot, mainJs: cfg.mainJs, latencyBin: tool.bin, dataMb: cfg.cleanerMb, ioMaxBytesPerSecond: cfg.cleanerIoMaxBytesPerSecond, schedIdle: cfg.cleanerSchedIdle, latencySeconds: cfg.cleanerWindowSeconds ?? Math.min(cfg.latencySeconds, 10), latencyRate: cfg.latencyRate, latencySize: cfg.latencySize, otherProcess: true, log });
  }
  if (want('fetchsessions')) results.fetchsessions = await fetchSessionsBench({ tmpRoot, mainJs: cfg.mainJs, partitions: 1000, requests: quick ? 200 : 1000, log });
  if (want('security')) results.security = await securityBench({ tmpRoot, mainJs: cfg.mainJs, messages: quick ? 20_000 : 200_000, messageBytes: 512, log });
  if (want('cluster')) {
    const tool = buildLatencyTool();
    results.cluster = await clusterBench({
      tmpRoot,
      mainJs: cfg.mainJs,
      messages: quick ? 50_000 : 300_000,
      messageBytes: 512,
      latency: { bin: tool.bin, error: tool.error, rate: 500, seconds: quick ? 5 : 15, size: 512 },
      log,
    });
  }
  if (want('legacy')) results.legacy = await legacyFormatsBench({ tmpRoot, mainJs: cfg.mainJs, batches: quick ? 500 : 3000, log });
  if (want('profile')) results.profile = await profileBench();

  results.finishedAt = new Date().toISOString();
  results.loadAverageAtEnd = os.loadavg();
  const table = renderTable(results as Record<string, any>);
  const stamp = startedAt.replace(/[:.]/g, '-');
  writeFileSync(path.join(outDir, `${stamp}${quick ? '-quick' : ''}.json`), JSON.stringify(results, null, 2));
  writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(results, null, 2));
  writeFileSync(path.join(outDir, 'latest.md'), `${table}\n`);
  process.stdout.write(`\n${table}\n\nresults: ${path.relative(REPO_ROOT, outDir)}/latest.json, latest.md\n`);
  if (loudFailures.length > 0) {
    process.stderr.write(`\nbench: ${loudFailures.length} run(s) did not measure what their row claims:\n${loudFailures.map((f) => `  ${f}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  if (!opts.keep) rmSync(tmpRoot, { recursive: true, force: true });
}
