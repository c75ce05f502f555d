// One run of the latency probe (latency.c) cut into time windows by each message's send time: the cleaner bench's
// "idle before, while cleaning, idle after" (cleaner.ts). One run, one pair of connections and one warm request path
// for all three windows: two separate probe runs differed by up to 14x in their p99 on this VM with nothing changed
// between them (BENCHMARKS.md, cleaner section), which is what the windows are compared against.
//
// latency.c writes every message's send time (CLOCK_MONOTONIC ns, which is process.hrtime's clock on Linux) and
// latency to a trace file; the caller marks the windows' edges with process.hrtime.bigint() and stops the probe with
// SIGUSR1 once its last window has passed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface ProbeSettings {
  /** The compiled latency.c. */
  bin: string;
  bootstrap: string;
  topic: string;
  rate: number;
  valueBytes: number;
  /** Where latency.c writes its trace. */
  tracePath: string;
  /** The probe stops by itself after this long at the latest. */
  maxSeconds: number;
}

/** Latency figures of the messages sent in one window. */
export interface WindowLatency {
  /** Messages sent in the window. */
  sent: number;
  /** Of which never received (not counted in the percentiles). */
  lost: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

/** A window by send time: one or more spans [from, to) of process.hrtime.bigint() ns. */
export type Window = ReadonlyArray<readonly [bigint, bigint]>;

export interface RunningProbe {
  /** Stops the probe (SIGUSR1) and waits for its summary line and trace. */
  stop(): Promise<{ summary: Record<string, number>; trace: Buffer } | { error: string }>;
}

/** The messages latency.c leaves out of its own figures at the start (its warm-up); cutWindows skips them too. */
export function warmupMessages(rate: number): number {
  return Math.round(rate / 2);
}

/** Starts the probe; its first ~1 s (connections, topic creation, latency.c's own warm-up) belongs to no window. */
export function startProbe(s: ProbeSettings): RunningProbe {
  const count = Math.round(s.rate * s.maxSeconds);
  const child = spawn(s.bin, [s.bootstrap, s.topic, String(s.rate), String(count), String(s.valueBytes), '1', String(s.maxSeconds), String(warmupMessages(s.rate)), s.tracePath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  // Bounded: the probe ends by itself after maxSeconds plus its 5 s tail; this kills it well after that.
  const killTimer = setTimeout(() => child.kill('SIGKILL'), (s.maxSeconds + 60) * 1000);
  killTimer.unref();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    async stop() {
      child.kill('SIGUSR1');
      const code = await exited;
      clearTimeout(killTimer);
      try {
        const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
        return { summary, trace: await readFile(s.tracePath) };
      } catch {
        return { error: `latency tool failed (exit ${code}${spawnError ? `, ${spawnError.message}` : ''}): ${stderr.slice(-300)}` };
      }
    },
  };
}

/**
 * Runs the probe for `seconds` (its start-up included) with no windows, for its summary only: a warm-up before the
 * measured runs (cleaner.ts, interference.ts).
 */
export async function runProbeFor(s: Omit<ProbeSettings, 'maxSeconds'>, seconds: number): Promise<Record<string, number> | { error: string }> {
  const probe = startProbe({ ...s, maxSeconds: seconds + 5 });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const run = await probe.stop();
  return 'error' in run ? run : run.summary;
}

/**
 * The latency of the messages of `trace` sent in each window (the same order as `windows`), leaving out the first
 * `skipFirst` messages (the probe's warm-up).
 */
export function cutWindows(trace: Buffer, windows: readonly Window[], skipFirst = 0): WindowLatency[] {
  const latencies: number[][] = windows.map(() => []);
  const lost = windows.map(() => 0);
  for (let off = skipFirst * 16; off + 16 <= trace.length; off += 16) {
    const sentNs = trace.readBigUInt64LE(off);
    const latencyNs = trace.readBigUInt64LE(off + 8);
    windows.forEach((spans, w) => {
      if (!spans.some(([from, to]) => sentNs >= from && sentNs < to)) return;
      if (latencyNs === 0n) lost[w]!++;
      else latencies[w]!.push(Number(latencyNs) / 1e6);
    });
  }
  return latencies.map((values, w) => summarize(values, lost[w]!));
}

/** Percentiles at the rounded rank q * (n - 1), as latency.c computes them. */
function summarize(values: number[], lost: number): WindowLatency {
  values.sort((a, b) => a - b);
  const at = (q: number): number => (values.length === 0 ? NaN : +values[Math.round(q * (values.length - 1))]!.toFixed(3));
  return { sent: values.length + lost, lost, p50Ms: at(0.5), p99Ms: at(0.99), p999Ms: at(0.999), maxMs: at(1) };
}
