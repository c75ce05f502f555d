/**
 * Issue 11, fault injection, real client: confluent-kafka-python 1.7.0 (librdkafka 2.0.2) against the compiled
 * broker started with `--http-port`, rules set over the HTTP admin listener (/v1/faults) as a non-JS test suite
 * would set them.
 * faults.py does one produce or consume; the rules decide what the client meets on the way:
 *
 *   rule                                            librdkafka, as against Kafka
 *   Produce NOT_LEADER_OR_FOLLOWER ×3 on the topic  refreshes metadata (counted by a Metadata latency rule) and
 *                                                  retries; the message is delivered once
 *   Produce drop ×1                                 reconnects and resends; delivered
 *   Produce latency 600 ms ×1                       the delivery report takes at least that long
 *   Produce stall                                   no delivery report until the rule is cleared, then delivered
 *   Fetch NOT_LEADER_OR_FOLLOWER ×3 on partition 0  the consumer backs off, refreshes and reads every message
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { LineProcess } from '../lib/line-process.js';
import { PYTHON, runPythonScript, type ScriptVerdict } from '../lib/python.js';
import { freePort, spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runCli } from '../../test/cli/commands/run-cli.js';

const SCRIPT = fileURLToPath(new URL('./faults.py', import.meta.url));

let broker: SpawnedBroker;
let admin: string;

beforeAll(async () => {
  const httpPort = await freePort();
  broker = await spawnBroker({ extraArgs: ['--http-port', String(httpPort)] });
  admin = `http://127.0.0.1:${httpPort}`;
});
afterAll(async () => {
  await broker?.stop();
});
beforeEach(async () => {
  expect((await fetch(`${admin}/v1/faults`, { method: 'DELETE' })).status).toBe(200);
});

interface RuleInfo {
  id: number;
  fired: number;
}

async function addRule(rule: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${admin}/v1/faults`, { method: 'POST', body: JSON.stringify(rule) });
  expect(res.status).toBe(201);
  return ((await res.json()) as RuleInfo).id;
}

async function fired(id: number): Promise<number> {
  return ((await (await fetch(`${admin}/v1/faults/${id}`)).json()) as RuleInfo).fired;
}

async function createTopic(name: string): Promise<void> {
  const r = await runCli(['topic', 'create', name, '--partitions', '1', '--bootstrap', broker.bootstrap]);
  expect(r.status, r.stderr).toBe(0);
}

function run(topic: string, mode: 'produce' | 'consume', extra: string[] = []): Promise<ScriptVerdict> {
  return runPythonScript(SCRIPT, ['--bootstrap', broker.bootstrap, '--topic', topic, '--mode', mode, '--timeout', '30', ...extra], 60_000);
}

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) under fault injection', () => {
  compatTest('a Produce answered NOT_LEADER_OR_FOLLOWER three times is retried after metadata refreshes and delivered once', { timeout: 90_000 }, async () => {
    await createTopic('cf-not-leader');
    const metadata = await addRule({ api: 'Metadata', latencyMs: 1 });
    const notLeader = await addRule({ api: 'Produce', topic: 'cf-not-leader', error: 'NOT_LEADER_OR_FOLLOWER', count: 3 });
    // --settle 1: librdkafka retries the Produce at once (retry.backoff.ms) and queries the leader on a timer
    // (topic.metadata.refresh.fast.interval.ms), which here fires after the retry has already succeeded.
    const verdict = await run('cf-not-leader', 'produce', ['--settle', '1']);
    expect(verdict.problems).toEqual([]);
    expect(verdict.stats['offset']).toBe(0);
    expect(await fired(notLeader)).toBe(3);
    // The first Metadata is the client's bootstrap; the NOT_LEADER answers cause at least one more.
    expect(await fired(metadata)).toBeGreaterThanOrEqual(2);
    const consumed = await run('cf-not-leader', 'consume', ['--count', '1']);
    expect(consumed.stats['values']).toEqual(['through-faults']);
  });

  compatTest('a dropped Produce connection is reconnected and the message delivered', { timeout: 90_000 }, async () => {
    await createTopic('cf-drop');
    const drop = await addRule({ api: 'Produce', drop: true, count: 1 });
    const verdict = await run('cf-drop', 'produce');
    expect(verdict.problems).toEqual([]);
    expect(await fired(drop)).toBe(1);
    expect(verdict.stats['offset']).toBe(0);
  });

  compatTest('added Produce latency shows in the delivery report time', { timeout: 90_000 }, async () => {
    await createTopic('cf-latency');
    await addRule({ api: 'Produce', latencyMs: 600, count: 1 });
    const verdict = await run('cf-latency', 'produce');
    expect(verdict.problems).toEqual([]);
    expect(verdict.stats['elapsed'] as number).toBeGreaterThanOrEqual(0.58);
  });

  compatTest('a stalled Produce is delivered once the rule is cleared', { timeout: 90_000 }, async () => {
    await createTopic('cf-stall');
    const stall = await addRule({ api: 'Produce', stall: true });
    const proc = new LineProcess(PYTHON, ['-u', SCRIPT, '--bootstrap', broker.bootstrap, '--topic', 'cf-stall', '--mode', 'produce', '--timeout', '30'], { ...process.env, PYTHONDONTWRITEBYTECODE: '1' });
    try {
      await proc.until(() => proc.stdout.includes('started'), 20_000, 'the producer to start');
      for (let i = 0; i < 100 && (await fired(stall)) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await fired(stall)).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(proc.stdout.some((l) => l.startsWith('{')), 'delivered while stalled').toBe(false);
      expect((await fetch(`${admin}/v1/faults`, { method: 'DELETE' })).status).toBe(200);
      await proc.until(() => proc.stdout.some((l) => l.startsWith('{')), 30_000, 'the verdict');
      const verdict = JSON.parse(proc.stdout.find((l) => l.startsWith('{'))!) as ScriptVerdict;
      expect(verdict.problems).toEqual([]);
      expect(verdict.stats['offset']).toBe(0);
      expect(verdict.stats['elapsed'] as number).toBeGreaterThanOrEqual(0.8);
    } finally {
      await proc.stop('SIGKILL', 5000);
    }
  });

  compatTest('a consumer reads every message through Fetch answers of NOT_LEADER_OR_FOLLOWER', { timeout: 90_000 }, async () => {
    await createTopic('cf-fetch');
    for (const v of ['a', 'b', 'c']) {
      const r = await runCli(['produce', 'cf-fetch', '--value', v, '--partition', '0', '--bootstrap', broker.bootstrap]);
      expect(r.status, r.stderr).toBe(0);
    }
    const rule = await addRule({ api: 'Fetch', topic: 'cf-fetch', partition: 0, error: 'NOT_LEADER_OR_FOLLOWER', count: 3 });
    const verdict = await run('cf-fetch', 'consume', ['--count', '3']);
    expect(verdict.problems).toEqual([]);
    expect(verdict.stats['values']).toEqual(['a', 'b', 'c']);
    expect(await fired(rule)).toBe(3);
  });
});
