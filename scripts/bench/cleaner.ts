// The log cleaner's section of `npm run bench` (issue 10): throughput of compacting a zstd topic, in MB/s of
// segment bytes read (on disk, compressed) and of records (decompressed), and the end-to-end produce→fetch
// latency of another topic, measured by latency.c on the same broker before, while and after the cleaner runs.
// Issue 10 asks p99 while cleaning within 2x of idle.
//
// Steps: a broker with the cleaner disabled takes `dataMb` MB of keyed records (20 000 keys, ~800 B values
// compressing about 2:1, so most records are superseded) through kcat -z zstd into a compacted topic with 16 MiB
// segments, and stops; the same data dir is started with the cleaner on. The loaded records are not cleanable yet
// (the topic has a min.compaction.lag.ms of ten years), so the broker is first warmed by a latency probe with
// nothing to clean (reported as `latencyWarmup`). Then one probe run (windowed-probe.ts) spans three windows by
// send time: `latencySeconds` idle, the cleaning (from the AlterConfigs that drops the lag to the moment
// cleaner-offset-checkpoint holds the active segment's base offset), and `latencySeconds` idle again. The idle
// reference is both idle windows together. (Before, the idle figure came from a separate probe run after the
// cleaning, and two such runs on this VM differed by up to 14x with nothing changed between them.) The cleaning
// window starts at the AlterConfigs, up to log.cleaner.backoff.ms (1 s here) before the cleaner wakes: that second
// counts as cleaning.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, createWriteStream, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker } from './broker-process.js';
import { cutWindows, runProbeFor, startProbe, warmupMessages, type WindowLatency } from './windowed-probe.js';

export interface CleanerBenchOptions {
  tmpRoot: string;
  mainJs?: string;
  /** The compiled latency.c (main.ts buildLatencyTool); without it only throughput is measured. */
  latencyBin?: string;
  /** Uncompressed MB produced into the compacted topic. */
  dataMb: number;
  /** The brokers' --log-cleaner-io-max-bytes-per-second (default: unlimited, as Kafka's). */
  ioMaxBytesPerSecond?: number;
  /** The brokers' --log-cleaner-thread-sched-idle (default off: the worker at nice 10). */
  schedIdle?: boolean;
  /** Each idle window's length (before and after the cleaning), and the warm-up probe's. */
  latencySeconds: number;
  latencyRate: number;
  latencySize: number;
  /** Also measure the latency while the same cleaning runs in another broker process (a bound for a worker thread). */
  otherProcess?: boolean;
  log: (line: string) => void;
}

const TOPIC = 'cleaner-zstd';
const LATENCY_TOPIC = 'cleaner-latency';
const KEYS = 20_000;
const TOPIC_CONFIGS = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.bytes', value: String(16 * 1024 * 1024) },
];
/** Ten years: nothing loaded is cleanable until allowCleaning() removes it. */
const NOT_YET_CLEANABLE_LAG_MS = 10 * 365 * 24 * 3_600_000;

/** Removes the topic's min.compaction.lag.ms (AlterConfigs replaces a topic's configs): its next pass cleans. */
async function allowCleaning(bootstrap: string): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-cleaner-alter', brokers: [bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: TOPIC, configEntries: TOPIC_CONFIGS }] });
  } finally {
    await admin.disconnect();
  }
}

/** The probe's start-up (connections, topic creation, its own warm-up) before the first window begins. */
const PROBE_STARTUP_SECONDS = 2;

/** A probe run before the cleaning, so that the measured runs all find a warmed request path. */
async function warmUp(o: CleanerBenchOptions, bootstrap: string, topic: string): Promise<Record<string, number> | { error: string } | undefined> {
  if (o.latencyBin === undefined) return undefined;
  const settings = { bin: o.latencyBin, bootstrap, topic, rate: o.latencyRate, valueBytes: o.latencySize, tracePath: path.join(o.tmpRoot, `${topic}.trace`) };
  return runProbeFor(settings, PROBE_STARTUP_SECONDS + o.latencySeconds);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function writeInput(file: string, mb: number): Promise<number> {
  const out = createWriteStream(file);
  let bytes = 0;
  let i = 0;
  const target = mb * 1024 * 1024;
  while (bytes < target) {
    // ~1 KB values compressing about 2:1 with zstd: hex digits of hashes (4 bits of entropy per byte) in JSON.
    let hex = '';
    for (let h = 0; h < 12; h++) hex += createHash('sha256').update(`${i}/${h}`).digest('hex');
    const line = `k${i % KEYS}:{"id":${i},"user":"user-${i % 977}","event":"click","data":"${hex}"}\n`;
    bytes += line.length;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    i++;
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  return i;
}

function segmentBytes(partitionDir: string): { sealedBytes: number; activeBase: number } {
  const logs = readdirSync(partitionDir).filter((n) => n.endsWith('.log')).sort();
  let sealedBytes = 0;
  for (const name of logs.slice(0, -1)) sealedBytes += statSync(path.join(partitionDir, name)).size;
  return { sealedBytes, activeBase: Number(logs.at(-1)!.slice(0, 20)) };
}

function checkpointed(dataDir: string): number | undefined {
  try {
    for (const line of readFileSync(path.join(dataDir, 'cleaner-offset-checkpoint'), 'utf8').split('\n').slice(2)) {
      const [t, p, offset] = line.split(' ');
      if (t === TOPIC && p === '0') return Number(offset);
    }
  } catch {
    // not written yet
  }
  return undefined;
}

/** The longest cleaning waited for (then the cleaning window ends there, unfinished). */
const MAX_CLEANING_SECONDS = 300;

interface CleaningMeasurement {
  /** From the AlterConfigs to the checkpoint at the active segment's base; null when it did not finish in time. */
  cleaningMs: number | null;
  latency?: { idleBefore: WindowLatency; whileCleaning: WindowLatency; idleAfter: WindowLatency; idle: WindowLatency; probe: Record<string, number> } | { error: string };
  /** p99 while cleaning / p99 of both idle windows (undefined when the cleaning did not finish: no idle after). */
  p99Ratio?: number;
  /** p99 idle after / idle before: how far two idle windows of one run differ (the noise). */
  idleAfterToBeforeP99Ratio?: number;
}

/**
 * Starts a cleaning (`startCleaning`) of the topic in `dataDir` while one probe run on `probeBootstrap` measures the
 * three windows (see the header); without a latency tool, times the cleaning only.
 */
async function measureCleaning(o: CleanerBenchOptions, probeBootstrap: string, probeTopic: string, dataDir: string, activeBase: number, startCleaning: () => Promise<void>): Promise<CleaningMeasurement> {
  const idleNs = BigInt(o.latencySeconds * 1e9);
  const probe =
    o.latencyBin === undefined
      ? undefined
      : startProbe({
          bin: o.latencyBin,
          bootstrap: probeBootstrap,
          topic: probeTopic,
          rate: o.latencyRate,
          valueBytes: o.latencySize,
          tracePath: path.join(o.tmpRoot, `${probeTopic}.trace`),
          maxSeconds: PROBE_STARTUP_SECONDS + 2 * o.latencySeconds + MAX_CLEANING_SECONDS + 5,
        });
  let startedNs: bigint;
  let cleanedNs: bigint | undefined;
  try {
    if (probe) await sleep((PROBE_STARTUP_SECONDS + o.latencySeconds) * 1000);
    startedNs = process.hrtime.bigint();
    await startCleaning();
    for (let i = 0; i < (MAX_CLEANING_SECONDS * 1000) / 50 && cleanedNs === undefined; i++) {
      if (checkpointed(dataDir) === activeBase) cleanedNs = process.hrtime.bigint();
      else await sleep(50);
    }
    if (probe) await sleep(o.latencySeconds * 1000 + 200);
  } catch (err) {
    // The probe never outlives the measurement.
    await probe?.stop();
    throw err;
  }
  const cleaningMs = cleanedNs === undefined ? null : Math.round(Number(cleanedNs - startedNs) / 1e6);
  if (!probe) return { cleaningMs };
  const endedNs = cleanedNs ?? process.hrtime.bigint() - idleNs;
  const run = await probe.stop();
  if ('error' in run) return { cleaningMs, latency: run };
  const before = [startedNs - idleNs, startedNs] as const;
  const after = [endedNs, endedNs + idleNs] as const;
  const windows = [[before], [[startedNs, endedNs]], [after], [before, after]] as const;
  const [idleBefore, whileCleaning, idleAfter, idle] = cutWindows(run.trace, windows, warmupMessages(o.latencyRate));
  return {
    cleaningMs,
    latency: { idleBefore: idleBefore!, whileCleaning: whileCleaning!, idleAfter: idleAfter!, idle: idle!, probe: run.summary },
    // An unfinished cleaning has no idle window after it (that one would be cleaning too): no ratio.
    p99Ratio: cleanedNs === undefined ? undefined : +(whileCleaning!.p99Ms / idle!.p99Ms).toFixed(2),
    idleAfterToBeforeP99Ratio: cleanedNs === undefined ? undefined : +(idleAfter!.p99Ms / idleBefore!.p99Ms).toFixed(2),
  };
}

export async function cleanerBench(o: CleanerBenchOptions): Promise<Record<string, unknown>> {
  const dataDir = path.join(o.tmpRoot, 'cleaner-data');
  const input = path.join(o.tmpRoot, 'cleaner-input.txt');
  const records = await writeInput(input, o.dataMb);
  const loader = await startBroker({ mainJs: o.mainJs, dataDir, flushOnAckAll: false, extraArgs: ['--log-cleaner-enable', 'false'] });
  let inputFd: number | undefined;
  try {
    const admin = new Kafka({ clientId: 'bench-cleaner', brokers: [loader.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: TOPIC, numPartitions: 1, configEntries: [...TOPIC_CONFIGS, { name: 'min.compaction.lag.ms', value: String(NOT_YET_CLEANABLE_LAG_MS) }] },
        { topic: LATENCY_TOPIC, numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    inputFd = openSync(input, 'r');
    const produce = spawnSync(
      'kcat',
      ['-P', '-b', loader.bootstrap, '-t', TOPIC, '-p', '0', '-K:', '-z', 'zstd', '-X', 'linger.ms=20', '-X', 'batch.num.messages=1000', '-X', 'acks=1'],
      // The input file as kcat's stdin (not read into memory: Node refuses a file over 2 GiB).
      { stdio: [inputFd, 'ignore', 'pipe'], timeout: 600_000, maxBuffer: 1 << 20 },
    );
    if (produce.status !== 0) return { error: `kcat produce failed: ${produce.stderr.toString().slice(-300)}` };
  } finally {
    if (inputFd !== undefined) closeSync(inputFd);
    await loader.stop(60_000);
  }
  const partitionDir = path.join(dataDir, `${TOPIC}-0`);
  const { sealedBytes, activeBase } = segmentBytes(partitionDir);
  const inputBytes = statSync(input).size;
  o.log(`cleaner: ${records} records, ${(inputBytes / 1e6).toFixed(0)} MB of records, ${(sealedBytes / 1e6).toFixed(0)} MB sealed on disk (zstd)`);

  const copyDir = path.join(o.tmpRoot, 'cleaner-data-copy');
  if (o.otherProcess) cpSync(dataDir, copyDir, { recursive: true });
  const cleanerArgs = [
    '--log-cleaner-backoff-ms',
    '1000',
    ...(o.ioMaxBytesPerSecond !== undefined ? ['--log-cleaner-io-max-bytes-per-second', String(o.ioMaxBytesPerSecond)] : []),
    ...(o.schedIdle ? ['--log-cleaner-thread-sched-idle'] : []),
  ];
  const broker = await startBroker({ mainJs: o.mainJs, dataDir, flushOnAckAll: false, extraArgs: cleanerArgs });
  try {
    const warmup = await warmUp(o, broker.bootstrap, `${LATENCY_TOPIC}-warmup`);
    const measured = await measureCleaning(o, broker.bootstrap, LATENCY_TOPIC, dataDir, activeBase, () => allowCleaning(broker.bootstrap));
    const afterSealed = segmentBytes(partitionDir).sealedBytes;
    const { cleaningMs } = measured;
    const out: Record<string, unknown> = {
      ioMaxBytesPerSecond: o.ioMaxBytesPerSecond ?? null,
      schedIdle: o.schedIdle === true,
      records,
      recordBytes: inputBytes,
      sealedBytesBefore: sealedBytes,
      sealedBytesAfter: afterSealed,
      cleaningMs,
      diskMBps: cleaningMs === null ? null : +(sealedBytes / 1e6 / (cleaningMs / 1000)).toFixed(1),
      recordsMBps: cleaningMs === null ? null : +(inputBytes / 1e6 / (cleaningMs / 1000)).toFixed(1),
      latencyWarmup: warmup,
      latency: measured.latency,
      p99Ratio: measured.p99Ratio,
      idleAfterToBeforeP99Ratio: measured.idleAfterToBeforeP99Ratio,
    };
    if (o.latencyBin && o.otherProcess) {
      // The same cleaning in another broker process (on a copy of the uncleaned data) while the probe runs on this
      // broker, now idle: the request path then shares only the cores with the cleaning, not its process. What
      // moving the cleaner out of the process could give at best.
      const other = await startBroker({ mainJs: o.mainJs, dataDir: copyDir, flushOnAckAll: false, extraArgs: cleanerArgs });
      try {
        out.otherProcess = await measureCleaning(o, broker.bootstrap, `${LATENCY_TOPIC}-beside`, copyDir, activeBase, () => allowCleaning(other.bootstrap));
      } finally {
        await other.stop(60_000);
      }
    }
    o.log(`cleaner: ${JSON.stringify(out)}`);
    return out;
  } finally {
    await broker.stop(60_000);
  }
}
