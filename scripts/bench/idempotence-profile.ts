// Where the cost of idempotence goes (issue 9): the produce benchmark's 100 B case (kcat, -l, linger.ms=5,
// batch.num.messages=10000, acks=-1) against a broker under `node --cpu-prof`, once per producer mode, one fresh
// broker per mode:
//
//   plain        enable.idempotence=false (librdkafka's default max.in.flight, 1000000)
//   inflight5    enable.idempotence=false, max.in.flight.requests.per.connection=5 (the cap idempotence imposes)
//   idempotent   enable.idempotence=true (acks=all, max.in.flight 5)
//
// Per mode: kcat wall and CPU time (/usr/bin/time), broker CPU time (/proc/PID/stat utime+stime) per run, the
// batches the topic ended up with (walking partition 0's .log files: count and records per batch), then the
// broker's CPU profile summarised with profile-summary.ts, plus the self time of every function in
// log/producer-state.js and log/partition-log.js. Not part of `npm run bench`; numbers are never asserted.
//
//   npx tsx scripts/bench/idempotence-profile.ts [--count 1000000] [--runs 3] [--partitions 1]
//       [--modes plain,inflight5,idempotent] [--main-js path/to/cli/main.js] [--flush-on-ack-all false]
//       [--out bench-results]
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { REPO_ROOT, startBroker } from './broker-process.js';
import { run } from './proc.js';
import { formatProfile, summariseProfile } from './profile-summary.js';

const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '3' },
    partitions: { type: 'string', default: '1' },
    modes: { type: 'string', default: 'plain,inflight5,idempotent' },
    'main-js': { type: 'string' },
    'flush-on-ack-all': { type: 'string', default: 'true' },
    out: { type: 'string', default: 'bench-results' },
  },
});
const count = Number(opts.count);
const runs = Number(opts.runs);
const partitions = Number(opts.partitions);
const MODES: Record<string, string[]> = {
  plain: ['-X', 'acks=-1', '-X', 'enable.idempotence=false'],
  inflight5: ['-X', 'acks=-1', '-X', 'enable.idempotence=false', '-X', 'max.in.flight.requests.per.connection=5'],
  idempotent: ['-X', 'acks=all', '-X', 'enable.idempotence=true'],
};
const modes = opts.modes!.split(',');
for (const m of modes) if (!MODES[m]) throw new Error(`unknown mode ${m}`);
const profDir = path.resolve(REPO_ROOT, opts.out!, 'profiles');
mkdirSync(profDir, { recursive: true });
const tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'eddy-idem-prof-'));
const CLK_TCK = 100; // Linux USER_HZ
const log = (msg: string): void => void process.stderr.write(`[idem-profile] ${msg}\n`);

/** The same values as main.ts's valuesFile(100, count): 1000 distinct printable lines, repeated. */
function valuesFile(size: number, n: number): string {
  const file = path.join(tmpRoot, `values-${size}-${n}.txt`);
  if (existsSync(file)) return file;
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const lines: string[] = [];
  for (let i = 0; i < 1000; i++) {
    let s = '';
    for (let j = 0; j < size; j++) s += alphabet[(i * 31 + j * 7 + ((i * j) % 13)) % alphabet.length];
    lines.push(s);
  }
  const fd = openSync(file, 'w');
  try {
    for (let left = n; left > 0; left -= 1000) writeSync(fd, Buffer.from(lines.slice(0, Math.min(1000, left)).join('\n') + '\n'));
  } finally {
    closeSync(fd);
  }
  return file;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

/** Batches in partition 0's .log files (LOG_OVERHEAD 12 bytes: offset, length; record count at byte 57). */
function batchStats(dir: string): { batches: number; records: number } {
  let batches = 0;
  let records = 0;
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.log')).sort()) {
    const file = path.join(dir, name);
    const fd = openSync(file, 'r');
    try {
      const size = statSync(file).size;
      const head = Buffer.alloc(61);
      for (let pos = 0; pos + 61 <= size; ) {
        readSync(fd, head, 0, 61, pos);
        batches++;
        records += head.readInt32BE(57);
        pos += 12 + head.readInt32BE(8);
      }
    } finally {
      closeSync(fd);
    }
  }
  return { batches, records };
}

const file = valuesFile(100, count);
const report: string[] = [];
for (const mode of modes) {
  const before = new Set(readdirSync(profDir));
  const dataDir = path.join(tmpRoot, `data-${mode}`);
  const broker = await startBroker({ dataDir, flushOnAckAll: opts['flush-on-ack-all'] !== 'false', mainJs: opts['main-js'] && path.resolve(opts['main-js']), nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  const rows: string[] = [];
  try {
    const admin = new Kafka({ clientId: 'eddy-idem-profile', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    for (let r = 0; r < runs; r++) {
      const topic = `idem-profile-${mode}-r${r}`;
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      const cpu0 = cpuSeconds(broker.pid);
      const res = await run('/usr/bin/time', ['-f', 'TIME %e %U %S', 'kcat', '-P', '-b', broker.bootstrap, '-t', topic, '-l', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', ...MODES[mode]!, file], 180_000);
      const brokerCpu = cpuSeconds(broker.pid) - cpu0;
      const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(res.stderr);
      if (res.code !== 0 || !t) throw new Error(`kcat failed (${res.code}): ${res.stderr.slice(-300)}`);
      const end = (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
      const b = batchStats(path.join(dataDir, `${topic}-0`));
      const row = `| ${mode} | ${r} | ${t[1]} | ${fmt(count / Number(t[1]))} | ${(Number(t[2]) + Number(t[3])).toFixed(2)} | ${brokerCpu.toFixed(2)} | ${fmt(b.batches)} | ${fmt(b.records / b.batches)} | ${end === count ? 'ok' : `END ${end}`} |`;
      rows.push(row);
      log(row);
    }
    await admin.disconnect();
  } finally {
    await broker.stop(60_000);
  }
  const created = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f)).sort();
  const profile = path.join(profDir, created.at(-1)!);
  const all = summariseProfile(profile, 100_000);
  const ours = all.entries.filter((e) => /log\/(producer-state|partition-log)\.js/.test(e.location));
  report.push(`### ${mode} (${count} x 100 B, ${partitions} partition(s), ${runs} runs, --flush-on-ack-all ${opts['flush-on-ack-all']}; ${path.relative(REPO_ROOT, profile)})`, '');
  report.push('| mode | run | kcat wall s | msg/s | kcat CPU s | broker CPU s | batches in partition 0 | records/batch | end offset |', '|---|---:|---:|---:|---:|---:|---:|---:|---|', ...rows, '');
  report.push(formatProfile({ ...all, entries: all.entries.slice(0, 20) }), '');
  report.push(`log/producer-state.js + log/partition-log.js self time: ${ours.reduce((s, e) => s + e.selfMs, 0).toFixed(1)} ms`, '');
  if (ours.length) report.push('| self ms | function | location |', '|---:|---|---|', ...ours.slice(0, 12).map((e) => `| ${e.selfMs.toFixed(1)} | ${e.function} | ${e.location} |`), '');
  rmSync(dataDir, { recursive: true, force: true });
}
rmSync(tmpRoot, { recursive: true, force: true });
process.stdout.write(`${report.join('\n')}\n`);

function fmt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}
