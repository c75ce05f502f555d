/**
 * Issue 9, idempotent producer, real client: confluent-kafka-python 1.7.0 (librdkafka 2.0.2) with
 * enable.idempotence=true sends 50 000 numbered messages to a 3-partition topic through a TCP proxy
 * (test/helpers/idempotence-proxy.ts; the broker advertises the proxy, so the client only talks through it).
 *
 * - Connection drops: 4 times during the run the proxy lets a Produce reach the broker, swallows the broker's
 *   answer and destroys every connection, so the client must resend a batch the broker has already written.
 * - kill -9: twice during the run the same, but the broker process is killed -9 instead and restarted on the same
 *   port and data dir; the client keeps retrying, and the restarted broker must recognise the resent batch from
 *   producer state rebuilt from snapshot + log.
 *
 * Either way the script (idempotence.py) then reads everything back and checks every message exactly once at its
 * acknowledged offset, in send order per partition; and the stored batches (.log files) carry a producer id, with
 * gap-free sequences per producer id and epoch.
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { LineProcess } from '../lib/line-process.js';
import { PYTHON, type ScriptVerdict } from '../lib/python.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { DroppingProxy, type DropResult } from '../../test/helpers/idempotence-proxy.js';
import { checkIdempotentBatches } from '../../test/e2e/support/idempotent-batches.js';

const SCRIPT = fileURLToPath(new URL('./idempotence.py', import.meta.url));
const COUNT = 50_000;
const PARTITIONS = 3;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

interface Setup {
  proxy: DroppingProxy;
  broker: () => SpawnedBroker;
  restart: () => Promise<void>;
}

async function setUp(topic: string): Promise<Setup> {
  const proxy = await DroppingProxy.start(1);
  cleanups.push(() => proxy.close());
  const advertise = ['--advertised-host', '127.0.0.1', '--advertised-port', String(proxy.port)];
  let broker = await spawnBroker({ extraArgs: advertise, keepDataDir: true });
  const dataDir = broker.dataDir;
  const port = broker.port;
  cleanups.push(async () => {
    await broker.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  proxy.setUpstream(port);
  const kafka = new Kafka({ clientId: 'compat-idempotence-admin', brokers: [proxy.bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })).toBe(true);
  } finally {
    await admin.disconnect();
  }
  return {
    proxy,
    broker: () => broker,
    restart: async () => {
      broker = await spawnBroker({ dataDir, port, extraArgs: advertise });
    },
  };
}

function startProducer(bootstrap: string, topic: string): LineProcess {
  const proc = new LineProcess(
    PYTHON,
    ['-u', SCRIPT, '--bootstrap', bootstrap, '--topic', topic, '--count', String(COUNT), '--partitions', String(PARTITIONS), '--timeout', '75'],
    { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  );
  cleanups.push(async () => {
    await proc.stop('SIGKILL', 5000);
  });
  return proc;
}

function acked(proc: LineProcess): number {
  for (let i = proc.stdout.length - 1; i >= 0; i--) {
    const m = /^(?:progress|produced) (\d+)$/.exec(proc.stdout[i]!);
    if (m) return Number(m[1]);
  }
  return 0;
}

async function verdictOf(proc: LineProcess): Promise<ScriptVerdict> {
  await proc.until(() => proc.stdout.some((l) => l.startsWith('{')), 85_000, 'the script verdict');
  const exit = await proc.exited;
  expect(exit.code, proc.stderr.slice(-20).join('\n')).toBe(0);
  return JSON.parse(proc.stdout.find((l) => l.startsWith('{'))!) as ScriptVerdict;
}

/**
 * The batches of each swallowed Produce were written by the broker (it answered them) and sent again by the
 * client after the drop: the broker saw a duplicate, which the stored-batch check shows was not written twice.
 */
function expectResent(proxy: DroppingProxy, drops: DropResult[]): void {
  for (const drop of drops) {
    expect(drop.batches.length, 'the swallowed Produce carried batches').toBeGreaterThan(0);
    for (const batch of drop.batches) expect(proxy.produced.get(batch), `${batch} sent again after the drop`).toBeGreaterThanOrEqual(2);
  }
}

function expectStoredIdempotent(dataDir: string, topic: string): string[] {
  const producers = new Set<string>();
  let records = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const report = checkIdempotentBatches(dataDir, topic, p);
    expect(report.problems, `${topic}-${p}`).toEqual([]);
    expect(report.batches).toBeGreaterThan(0);
    for (const id of report.producers) producers.add(id);
    records += report.records;
  }
  expect(records).toBe(COUNT);
  return [...producers];
}

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) with enable.idempotence=true', () => {
  compatTest(`${COUNT} messages while every connection is dropped 4 times right after a Produce reached the broker: each message stored once, in send order, batches with a producer id and gap-free sequences`, { timeout: 90_000 }, async () => {
    const topic = 'idem-drops';
    const { proxy, broker } = await setUp(topic);
    const proc = startProducer(proxy.bootstrap, topic);
    const drops: DropResult[] = [];
    for (const threshold of [8000, 18_000, 28_000, 38_000]) {
      await proc.until(() => acked(proc) >= threshold || proc.stdout.some((l) => l.startsWith('{')), 40_000, `${threshold} acks`);
      expect(acked(proc), 'the producer finished before the drops were done').toBeLessThan(COUNT);
      drops.push(await proxy.dropAfterProduce({ maxWaitMs: 2000 }));
    }
    const verdict = await verdictOf(proc);
    const logTail = broker().logs().split('\n').slice(-30).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['acked']).toBe(COUNT);
    expect(verdict.stats['consumed']).toBe(COUNT);
    // Every drop swallowed the broker's answer to a Produce it had received: the client had to resend it.
    expect(drops.map((d) => d.afterProduce && d.answered && d.dropped > 0)).toEqual([true, true, true, true]);
    expectResent(proxy, drops);
    // Dropped connections are no reason for librdkafka to ask for a new producer id or bump its epoch.
    expect(expectStoredIdempotent(broker().dataDir, topic)).toHaveLength(1);
  });

  compatTest(`${COUNT} messages through two kill -9 and restarts of the broker right after it answered a Produce the client never saw: each message stored once, in send order, batches with a producer id and gap-free sequences`, { timeout: 90_000 }, async () => {
    const topic = 'idem-kill9';
    const { proxy, broker, restart } = await setUp(topic);
    const proc = startProducer(proxy.bootstrap, topic);
    const kills: DropResult[] = [];
    const ackedAtKill: number[] = [];
    for (const threshold of [12_000, 32_000]) {
      await proc.until(() => acked(proc) >= threshold || proc.stdout.some((l) => l.startsWith('{')), 40_000, `${threshold} acks`);
      expect(acked(proc), 'the producer finished before the kills were done').toBeLessThan(COUNT);
      kills.push(await proxy.dropAfterProduce({ maxWaitMs: 2000, beforeDrop: () => broker().kill9() }));
      expect(broker().exitInfo()?.signal).toBe('SIGKILL');
      ackedAtKill.push(acked(proc));
      await restart();
    }
    const verdict = await verdictOf(proc);
    const logTail = broker().logs().split('\n').slice(-30).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['acked']).toBe(COUNT);
    expect(verdict.stats['consumed']).toBe(COUNT);
    expect(kills.map((d) => d.afterProduce && d.answered)).toEqual([true, true]);
    expectResent(proxy, kills);
    expect(ackedAtKill[1]).toBeGreaterThan(ackedAtKill[0]!);
    // The client never learns that the broker restarted: one producer id and epoch throughout.
    expect(expectStoredIdempotent(broker().dataDir, topic)).toHaveLength(1);
  });
});
