// `npm run crashloop` — kill -9 cycles under acks=all load (see run.ts for what it does and checks).
//
//   tsx scripts/crashloop/main.ts [--cycles N] [--seed S] [--time-limit-s T] [--partitions P] [--workers W]
//                                 [--broker-arg ARG]... [--keep-data]
//
// Build first (`npm run build`). Exits 0 only when no acknowledged record was lost or misplaced, every restart
// succeeded and the final SIGTERM exited 0.
import { parseArgs } from 'node:util';
import { formatCrashLoopSummary, runCrashLoop } from './run.js';

const { values } = parseArgs({
  options: {
    cycles: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'time-limit-s': { type: 'string', default: '1800' },
    partitions: { type: 'string', default: '4' },
    workers: { type: 'string', default: '8' },
    'broker-arg': { type: 'string', multiple: true, default: [] },
    'keep-data': { type: 'boolean', default: false },
  },
  strict: true,
});

const int = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
};

const summary = await runCrashLoop({
  cycles: int('cycles', values.cycles),
  seed: int('seed', values.seed),
  timeLimitS: int('time-limit-s', values['time-limit-s']),
  partitions: Math.max(1, int('partitions', values.partitions)),
  workers: Math.max(1, int('workers', values.workers)),
  brokerArgs: values['broker-arg'],
  keepDataDir: values['keep-data'],
});
process.stdout.write(`${formatCrashLoopSummary(summary)}\n`);
process.exit(summary.ok ? 0 : 1);
