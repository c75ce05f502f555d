// runCrashLoop: the kill -9 harness behind `npm run crashloop` (see main.ts for the command line).
//
// One persistent data dir. Each cycle: start the compiled broker on it (default --flush-on-ack-all true, small
// segments so the load rolls several), run acks=all load with kafkajs (idempotence off, no retries, so nothing
// is ever written twice) from several workers onto several partitions, recording in a ledger every
// acknowledged (partition, offset, value), where the value names its cycle, worker and sequence number; SIGKILL
// the broker at a seeded random moment under that load; restart it on the same dir and read every partition
// back (own codec client, own record decoder) to check that every acknowledged record is present at its
// acknowledged offset with its value. Then the next cycle runs its load against the restarted broker.
//
// Note: SIGKILL ends the process, not the machine: data the broker wrote but did not fsync survives in the
// page cache, so this proves the broker's own recovery and offset bookkeeping, not fsync placement.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { startBroker, type BrokerProcess } from '../fuzz/broker.js';
import { makeRng } from '../fuzz/rng.js';
import { readPartition } from './records.js';

export interface CrashLoopOptions {
  cycles: number;
  seed: number;
  /** Stop starting new cycles after this many seconds (the summary says so). */
  timeLimitS?: number;
  partitions?: number;
  workers?: number;
  /** Load before the kill: uniformly random in [min, max] ms (seeded). */
  killAfterMinMs?: number;
  killAfterMaxMs?: number;
  brokerArgs?: string[];
  keepDataDir?: boolean;
  log?: (line: string) => void;
}

export interface CycleResult {
  cycle: number;
  acked: number;
  loadMs: number;
  restartReadyMs: number;
  verifyMs: number;
  /** Acknowledged records found at their offset with their value in this cycle's check. */
  verified: number;
  lost: number;
  misplaced: number;
  sendErrors: number;
}

export interface CrashLoopSummary {
  seed: number;
  cyclesRequested: number;
  cyclesRun: number;
  stoppedByTimeLimit: boolean;
  durationS: number;
  ackedRecords: number;
  lost: number;
  misplaced: number;
  /** First problems found (at most 20). */
  problems: string[];
  restartMs: { p50: number; max: number; all: number[] };
  cycles: CycleResult[];
  finalShutdown: { code: number | null; signal: string | null; timedOut: boolean };
  dataDir: string;
  ok: boolean;
}

const TOPIC = 'crashloop';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopSummary> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const partitions = options.partitions ?? 4;
  const workers = options.workers ?? 8;
  const killMin = options.killAfterMinMs ?? 300;
  const killMax = options.killAfterMaxMs ?? 2500;
  const brokerArgs = ['--flush-on-ack-all', 'true', '--log-segment-bytes', String(512 * 1024), ...(options.brokerArgs ?? [])];
  const rng = makeRng(options.seed);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'eddy-crashloop-'));
  const started = Date.now();
  const deadline = options.timeLimitS === undefined ? Infinity : started + options.timeLimitS * 1000;

  // The ledger: per partition, acknowledged offset -> value.
  const ledger: Array<Map<bigint, string>> = Array.from({ length: partitions }, () => new Map());
  const maxAcked: bigint[] = Array.from({ length: partitions }, () => -1n);
  const problems: string[] = [];
  const cycles: CycleResult[] = [];
  const restartTimes: number[] = [];
  let lostTotal = 0;
  let misplacedTotal = 0;
  let stoppedByTimeLimit = false;

  let broker: BrokerProcess = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel: 'warn' });
  {
    const admin = await TestClient.connect(broker.port, 'eddy-crashloop-setup');
    const created = await admin.send(ApiKey.CreateTopics, 5, { topics: [{ name: TOPIC, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000 });
    admin.close();
    if (created.topics[0].errorCode !== 0) throw new Error(`CreateTopics ${TOPIC}: error ${created.topics[0].errorCode}`);
  }
  log(`crashloop: data ${dataDir}; seed ${options.seed}, ${options.cycles} cycles, ${partitions} partitions, ${workers} workers`);

  const verify = async (b: BrokerProcess): Promise<{ verified: number; lost: number; misplaced: number }> => {
    let verified = 0;
    let lost = 0;
    let misplaced = 0;
    for (let p = 0; p < partitions; p++) {
      if (maxAcked[p]! < 0n) continue;
      const { values, highWatermark } = await readPartition(b.port, TOPIC, p, maxAcked[p]! + 1n);
      if (highWatermark <= maxAcked[p]!) {
        const msg = `partition ${p}: high watermark ${highWatermark} after restart, but offset ${maxAcked[p]} was acknowledged`;
        if (problems.length < 20) problems.push(msg);
      }
      for (const [offset, value] of ledger[p]!) {
        const found = values.get(offset);
        if (found === undefined) {
          lost++;
          if (problems.length < 20) problems.push(`partition ${p} offset ${offset}: acknowledged "${value.slice(0, 40)}" is missing`);
        } else if (found === null || found.toString('utf8') !== value) {
          misplaced++;
          if (problems.length < 20) problems.push(`partition ${p} offset ${offset}: acknowledged "${value.slice(0, 40)}", found "${found?.toString('utf8').slice(0, 40) ?? 'null'}"`);
        } else {
          verified++;
        }
      }
    }
    return { verified, lost, misplaced };
  };

  let cycle = 0;
  for (; cycle < options.cycles; cycle++) {
    if (Date.now() > deadline) {
      stoppedByTimeLimit = true;
      break;
    }
    const kafka = new Kafka({ clientId: `crashloop-${cycle}`, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, connectionTimeout: 2000, requestTimeout: 10_000, retry: { retries: 0 } });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false, idempotent: false, retry: { retries: 0 } });
    await producer.connect();
    let acked = 0;
    let sendErrors = 0;
    let stopped = false;
    const killAfter = rng.range(killMin, killMax);
    const work = async (w: number): Promise<void> => {
      let seq = 0;
      while (!stopped) {
        const partition = (w + seq) % partitions;
        const size = 1 + ((seq * 7 + w) % 20);
        const messages = Array.from({ length: size }, (_, i) => ({
          partition,
          key: `w${w}`,
          value: `c${cycle}-w${w}-s${seq + i}|${'x'.repeat((seq + i) % 200)}`,
        }));
        seq += size;
        try {
          const [result] = await producer.send({ topic: TOPIC, acks: -1, messages });
          if (result === undefined || result.errorCode !== 0 || result.partition !== partition) throw new Error(`unexpected result ${JSON.stringify(result)}`);
          const base = BigInt(result.baseOffset!);
          for (let i = 0; i < messages.length; i++) {
            const offset = base + BigInt(i);
            const previous = ledger[partition]!.get(offset);
            if (previous !== undefined && problems.length < 20) problems.push(`partition ${partition} offset ${offset} acknowledged twice: "${previous.slice(0, 40)}" and "${messages[i]!.value.slice(0, 40)}"`);
            ledger[partition]!.set(offset, messages[i]!.value);
            if (offset > maxAcked[partition]!) maxAcked[partition] = offset;
          }
          acked += messages.length;
        } catch {
          sendErrors++;
          if (broker.exitInfo() !== null) return; // killed: this worker is done
          await sleep(20);
        }
      }
    };
    const t0 = Date.now();
    const running = Array.from({ length: workers }, (_, w) => work(w));
    await sleep(killAfter);
    const killed = broker;
    await killed.kill9();
    stopped = true;
    const settled = await Promise.race([Promise.allSettled(running).then(() => true), sleep(20_000).then(() => false)]);
    const loadMs = Date.now() - t0;
    await producer.disconnect().catch(() => undefined);
    if (!settled && problems.length < 20) problems.push(`cycle ${cycle}: producer workers did not finish 20 s after the kill`);

    const r0 = Date.now();
    try {
      broker = await startBroker({ dataDir, extraArgs: brokerArgs, logLevel: 'warn' });
    } catch (err) {
      problems.push(`cycle ${cycle}: restart failed: ${(err as Error).message.slice(0, 2000)}`);
      cycles.push({ cycle, acked, loadMs, restartReadyMs: NaN, verifyMs: NaN, verified: 0, lost: NaN, misplaced: NaN, sendErrors });
      cycle++;
      break;
    }
    const restartReadyMs = Date.now() - r0;
    restartTimes.push(restartReadyMs);
    const v0 = Date.now();
    const { verified, lost, misplaced } = await verify(broker);
    const verifyMs = Date.now() - v0;
    lostTotal = Math.max(lostTotal, lost); // the ledger is cumulative: a loss shows in every later check
    misplacedTotal = Math.max(misplacedTotal, misplaced);
    cycles.push({ cycle, acked, loadMs, restartReadyMs, verifyMs, verified, lost, misplaced, sendErrors });
    const total = ledger.reduce((n, m) => n + m.size, 0);
    if (verified + lost + misplaced !== total && problems.length < 20) problems.push(`cycle ${cycle}: checked ${verified + lost + misplaced} of ${total} ledger records`);
    log(`crashloop: cycle ${cycle + 1}/${options.cycles}: ${acked} acked in ${loadMs} ms (kill at ${killAfter} ms), restart ${restartReadyMs} ms, ledger ${total} records, ${verified} verified in ${verifyMs} ms, lost ${lost}, misplaced ${misplaced}`);
    if (lost > 0 || misplaced > 0) {
      cycle++;
      break;
    }
  }

  const stop = await broker.stop(30_000);
  const sortedRestarts = [...restartTimes].sort((a, b) => a - b);
  const ackedRecords = ledger.reduce((n, m) => n + m.size, 0);
  const ok = problems.length === 0 && lostTotal === 0 && misplacedTotal === 0 && stop.exit.code === 0 && !stop.timedOut && cycles.length > 0;
  const summary: CrashLoopSummary = {
    seed: options.seed,
    cyclesRequested: options.cycles,
    cyclesRun: cycles.length,
    stoppedByTimeLimit,
    durationS: (Date.now() - started) / 1000,
    ackedRecords,
    lost: lostTotal,
    misplaced: misplacedTotal,
    problems,
    restartMs: { p50: percentile(sortedRestarts, 50), max: sortedRestarts[sortedRestarts.length - 1] ?? NaN, all: restartTimes },
    cycles,
    finalShutdown: { code: stop.exit.code, signal: stop.exit.signal, timedOut: stop.timedOut },
    dataDir,
    ok,
  };
  if (ok && !options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  return summary;
}

export function formatCrashLoopSummary(s: CrashLoopSummary): string {
  const lines = [
    `crashloop summary (seed ${s.seed})`,
    `  cycles             ${s.cyclesRun} of ${s.cyclesRequested}${s.stoppedByTimeLimit ? ' (stopped by --time-limit-s)' : ''} in ${s.durationS.toFixed(1)} s`,
    `  acked records      ${s.ackedRecords} (all verified after every restart)`,
    `  lost               ${s.lost}`,
    `  misplaced          ${s.misplaced}`,
    `  restart to Metadata p50 ${s.restartMs.p50} ms, max ${s.restartMs.max} ms`,
    `  final SIGTERM      code ${s.finalShutdown.code} signal ${s.finalShutdown.signal}${s.finalShutdown.timedOut ? ' (TIMED OUT)' : ''}`,
  ];
  for (const p of s.problems) lines.push(`  problem: ${p}`);
  if (!s.ok) lines.push(`  data dir kept: ${s.dataDir}`);
  lines.push(`  result             ${s.ok ? 'PASS' : 'FAIL'}`);
  return lines.join('\n');
}
