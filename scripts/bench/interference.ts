// What other work on the machine costs the request path (BENCHMARKS.md, cleaner section, "What a cleaning costs on
// these two cores, whoever runs it"): one latency probe run on an idle broker, cut into 10 s idle, 15 s with a load
// running in another process, and 10 s idle (windowed-probe.ts), and the p99 ratio of the middle window to both idle
// ones. Needs gcc and librdkafka-dev for latency.c, util-linux's chrt, and zstd for the zstd load.
//
//   npx tsx scripts/bench/interference.ts spin-idle|spin-nice10|none|fsync|zstd [rate msg/s, default 5000]
//
//   spin-idle    a shell busy loop under SCHED_IDLE (a busy core, no memory traffic)
//   spin-nice10  the same loop at nice 10
//   none         nothing (the noise of three windows)
//   fsync        `dd bs=1M count=16 conv=fsync` in a loop under SCHED_IDLE, on the broker's file system
//   zstd         `zstd -b3` (zstd's in-memory benchmark) under SCHED_IDLE
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBroker } from './broker-process.js';
import { cutWindows, runProbeFor, startProbe, warmupMessages, type WindowLatency } from './windowed-probe.js';

const LOADS: Record<string, (dir: string) => [string, string[]]> = {
  'spin-idle': () => ['chrt', ['--idle', '0', 'sh', '-c', 'while :; do :; done']],
  'spin-nice10': () => ['nice', ['-n', '10', 'sh', '-c', 'while :; do :; done']],
  none: () => ['sleep', ['15']],
  fsync: (dir) => ['chrt', ['--idle', '0', 'sh', '-c', `while :; do dd if=/dev/zero of=${dir}/fsync.bin bs=1M count=16 conv=fsync status=none; done`]],
  zstd: () => ['chrt', ['--idle', '0', 'zstd', '-b3', '-i15', '-q']],
};
const IDLE_MS = 10_000;
const LOAD_MS = 15_000;

const load = process.argv[2] ?? '';
const rate = Number(process.argv[3] ?? 5000);
if (!(load in LOADS) || !(rate > 0)) {
  console.error(`usage: interference.ts ${Object.keys(LOADS).join('|')} [rate msg/s]`);
  process.exit(2);
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'eddy-interference-'));
try {
  const bin = path.join(tmp, 'latency');
  execFileSync('gcc', ['-O2', '-o', bin, path.join(import.meta.dirname, 'latency.c'), '-lrdkafka', '-lpthread']);
  const broker = await startBroker({ dataDir: path.join(tmp, 'data'), flushOnAckAll: false });
  try {
    // A warm request path first, as the cleaner bench has.
    const warm = await runProbeFor({ bin, bootstrap: broker.bootstrap, topic: 'warm', rate, valueBytes: 1024, tracePath: path.join(tmp, 'warm.trace') }, 12);
    if ('error' in warm) throw new Error(String(warm.error));
    const probe = startProbe({ bin, bootstrap: broker.bootstrap, topic: 'probe', rate, valueBytes: 1024, tracePath: path.join(tmp, 'trace'), maxSeconds: 60 });
    await sleep(2_000 + IDLE_MS);
    const startedNs = process.hrtime.bigint();
    const [command, args] = LOADS[load]!(tmp);
    // Its own process group, so that the whole loop (the shell and its dd) goes at the end.
    const loader = spawn(command, args, { stdio: 'ignore', detached: true });
    // A load that cannot start (zstd or chrt missing) fails the run instead of measuring nothing.
    let loadError: Error | undefined;
    loader.on('error', (err) => (loadError = err));
    await sleep(LOAD_MS);
    if (loader.pid !== undefined) process.kill(-loader.pid, 'SIGKILL');
    if (loadError) {
      await probe.stop();
      throw new Error(`the ${load} load did not start: ${loadError.message}`);
    }
    const endedNs = process.hrtime.bigint();
    await sleep(IDLE_MS + 200);
    const run = await probe.stop();
    if ('error' in run) throw new Error(run.error);
    const idleNs = BigInt(IDLE_MS) * 1_000_000n;
    const before = [startedNs - idleNs, startedNs] as const;
    const after = [endedNs, endedNs + idleNs] as const;
    const [idleBefore, loaded, idleAfter, idle] = cutWindows(run.trace, [[before], [[startedNs, endedNs]], [after], [before, after]], warmupMessages(rate));
    const f = (w: WindowLatency | undefined): string => `${w!.p50Ms.toFixed(2)} / ${w!.p99Ms.toFixed(2)}`;
    console.log(`${load} at ${rate}/s, e2e p50 / p99 ms: idle before ${f(idleBefore)} | with the load ${f(loaded)} | idle after ${f(idleAfter)} | p99 ratio ${(loaded!.p99Ms / idle!.p99Ms).toFixed(2)}`);
  } finally {
    await broker.stop(30_000);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
