// `npm run fuzz` — network fuzzing of the compiled broker (see run.ts for what it does and checks).
//
//   tsx scripts/fuzz/main.ts [--frames N] [--seed S] [--out DIR] [--time-limit-s T] [--connections C]
//                            [--indexes i,j,k-l | --replay FAILURE_DIR] [--probe-deadline-ms MS]
//                            [--broker-arg ARG]... [--keep-data] [--max-rss-growth-mb M] [--settle-s S]
//                            [--mem-probe DIR [--heap-snapshots] [--mem-probe-interval-s S] [--trace-alloc-bytes N]
//                                             [--malloc-trim]]
//
// Build first (`npm run build`: the broker under test is dist/). Exits 0 only when there was no crash, no
// hang, no restart failure, SIGTERM exited 0 and the broker restarted on the data dir it left behind (and,
// with --max-rss-growth-mb, RSS grew by at most M MiB; RSS is always reported). The end RSS is read once the broker
// has sat idle --settle-s seconds after the last frame (default 30, 3 for --replay and --indexes; at least 3: freed
// memory can go back to the OS only after a quiet spell); the figure 3 s after the last frame is reported too, and
// --max-rss-growth-mb checks the end figure.
//
// Where the RSS goes (run.ts, MemProbeOptions): --mem-probe DIR writes the broker's memory after a forced full GC
// (heapUsed, heapTotal, external, arrayBuffers, V8 heap spaces, RSS by mapping) before the first frame and after the
// last, to DIR/start.json and DIR/end.json; --heap-snapshots adds DIR/start.heapsnapshot and DIR/end.heapsnapshot
// (compare them with `npx tsx scripts/heap-diff.ts A B`; a snapshot raises the RSS that follows it, so take RSS
// figures from runs without); --mem-probe-interval-s S a forced-GC reading every S seconds to DIR/series.jsonl;
// --trace-alloc-bytes N the JS stack of every Buffer allocation of N bytes or more to DIR/big-allocs.txt;
// --malloc-trim (needs gdb) glibc's held and in-use bytes and the RSS before and after a malloc_trim(0) at the end.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, runFuzz } from './run.js';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    'time-limit-s': { type: 'string' },
    connections: { type: 'string', default: '32' },
    indexes: { type: 'string' },
    replay: { type: 'string' },
    'probe-deadline-ms': { type: 'string', default: '5000' },
    'response-timeout-ms': { type: 'string', default: '250' },
    'max-failures': { type: 'string', default: '10' },
    'broker-arg': { type: 'string', multiple: true, default: [] },
    'log-level': { type: 'string', default: 'error' },
    'keep-data': { type: 'boolean', default: false },
    'settle-s': { type: 'string' },
    'max-rss-growth-mb': { type: 'string' },
    'mem-probe': { type: 'string' },
    'heap-snapshots': { type: 'boolean', default: false },
    'mem-probe-interval-s': { type: 'string' },
    'trace-alloc-bytes': { type: 'string' },
    'malloc-trim': { type: 'boolean', default: false },
  },
  strict: true,
});

const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
};

/** --settle-s: the end RSS is read no sooner than 3 s after the last frame (the figure it is reported beside). */
const atLeast3 = (name: string, v: string): number => {
  const n = int(name, v);
  if (n < 3) throw new Error(`--${name} must be at least 3 (seconds), got ${v}`);
  return n;
};

// --replay DIR: the seed and suspect frames of a saved failure (DIR/failure.json), sent again on a new broker.
let replay: { seed: number; suspects: number[] } | undefined;
if (values.replay !== undefined) replay = JSON.parse(readFileSync(path.join(values.replay, 'failure.json'), 'utf8')) as { seed: number; suspects: number[] };
const seed = replay?.seed ?? int('seed', values.seed);
// --indexes 5,9,100-200: single frames and inclusive ranges (a window before a failure replays the state it built).
const parseIndexes = (list: string): number[] =>
  list.split(',').flatMap((item) => {
    const [from, to] = item.trim().split('-');
    if (to === undefined) return [int('indexes', from!)];
    const start = int('indexes', from!);
    const end = int('indexes', to);
    if (end < start) throw new Error(`--indexes range ${item} ends before it starts`);
    return Array.from({ length: end - start + 1 }, (_, i) => start + i);
  });
const indexes = replay?.suspects ?? (values.indexes !== undefined ? parseIndexes(values.indexes) : undefined);
const outDir = values.out ?? path.join(tmpdir(), `eddy-fuzz-out-${seed}${replay ? '-replay' : ''}`);
const summary = await runFuzz({
  frames: int('frames', values.frames),
  seed,
  outDir,
  ...(values['time-limit-s'] !== undefined ? { timeLimitS: int('time-limit-s', values['time-limit-s']) } : {}),
  ...(indexes !== undefined ? { indexes } : {}),
  connections: Math.max(1, int('connections', values.connections)),
  probeDeadlineMs: int('probe-deadline-ms', values['probe-deadline-ms']),
  responseTimeoutMs: int('response-timeout-ms', values['response-timeout-ms']),
  maxFailures: Math.max(1, int('max-failures', values['max-failures'])),
  brokerArgs: values['broker-arg'],
  logLevel: values['log-level'],
  keepDataDir: values['keep-data'],
  ...(values['mem-probe'] !== undefined
    ? {
        memProbe: {
          dir: path.resolve(values['mem-probe']),
          heapSnapshots: values['heap-snapshots'],
          mallocTrim: values['malloc-trim'],
          ...(values['mem-probe-interval-s'] !== undefined ? { intervalMs: int('mem-probe-interval-s', values['mem-probe-interval-s']) * 1000 } : {}),
          ...(values['trace-alloc-bytes'] !== undefined ? { traceAllocBytes: int('trace-alloc-bytes', values['trace-alloc-bytes']) } : {}),
        },
      }
    : {}),
  // A replay of chosen frames is about the frames, not the RSS: it need not wait.
  settleS: values['settle-s'] !== undefined ? atLeast3('settle-s', values['settle-s']) : indexes !== undefined ? 3 : 30,
  ...(values['max-rss-growth-mb'] !== undefined ? { maxRssGrowthMb: int('max-rss-growth-mb', values['max-rss-growth-mb']) } : {}),
});
process.stdout.write(`${formatSummary(summary)}\n  out dir            ${outDir}\n`);
process.exit(summary.ok ? 0 : 1);
