/**
 * Legacy message formats (issue 12) with real clients against the compiled broker:
 *
 * - kafka-python 2.0.2 pinned to api_version (0, 10, 0) writes magic-1 message sets (Produce v2, timestamps) and reads
 *   through Fetch v2 (magic 1); pinned to (0, 9) it writes magic 0 (Produce v1) and reads Fetch v1 (magic 0). Plain
 *   and gzip (nested wrappers). Every message must come back at its acknowledged offset, with its timestamp (magic 1)
 *   or none (magic 0).
 * - kcat (librdkafka 2.0.2, Fetch v11) reads what kafka-python wrote (keys, values, magic-1 timestamps), and
 *   kafka-python reads what kcat wrote (down-converted).
 * - kcat itself with `api.version.request=false` and `broker.version.fallback` 0.10.0.0 / 0.9.0 (librdkafka's own
 *   magic-1 / magic-0 writer and reader) for every codec it has: none, gzip, snappy, lz4.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { runPythonScript } from '../lib/python.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { describeResult, kcatConsume, runProcess, type KcatRecord } from '../../test/e2e/support/kcat.js';

const SCRIPT = fileURLToPath(new URL('./legacy_roundtrip.py', import.meta.url));
const COUNT = 2000;
const KAFKA_PYTHON_CASES = [
  { apiVersion: '0.10.0', compression: 'none', magic: 1 },
  { apiVersion: '0.10.0', compression: 'gzip', magic: 1 },
  { apiVersion: '0.9', compression: 'none', magic: 0 },
  { apiVersion: '0.9', compression: 'gzip', magic: 0 },
] as const;
const KCAT_CODECS = ['none', 'gzip', 'snappy', 'lz4'] as const;

let broker: SpawnedBroker;
let admin: Admin;
let workDir: string;

const topicOf = (apiVersion: string, compression: string) => `legacy-kpy-${apiVersion.replace(/\./g, '')}-${compression}`;

beforeAll(async () => {
  broker = await spawnBroker({ logLevel: 'trace' });
  workDir = mkdtempSync(join(tmpdir(), 'eddy-compat-legacy-'));
  admin = new Kafka({ clientId: 'compat-legacy-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      ...KAFKA_PYTHON_CASES.map((c) => ({ topic: topicOf(c.apiVersion, c.compression), numPartitions: 3 })),
      { topic: 'legacy-from-kcat', numPartitions: 3 },
      ...KCAT_CODECS.flatMap((codec) => [{ topic: `legacy-kcat-v1-${codec}`, numPartitions: 1 }, { topic: `legacy-kcat-v0-${codec}`, numPartitions: 1 }]),
    ],
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

/** legacy_roundtrip.py's message(i), as hex (null stays null). */
function expected(i: number): { key: string | null; value: string | null; timestamp: number } {
  const key = i % 97 === 1 ? null : i % 53 === 0 ? '' : `key-${i}`;
  const value = i % 89 === 0 && key !== null ? null : i % 61 === 0 ? '' : `value-${i}|` + 'ab\u00e9\u65e5:'.repeat(i % 40);
  const hex = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8').toString('hex'));
  return { key: hex(key), value: hex(value), timestamp: 1_700_000_000_000 + i };
}

function readJsonLines<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}

/** The (api vN) pairs the broker served to clients whose id starts with `clientPrefix`. */
function versionsUsed(clientPrefix: string): Set<string> {
  const used = new Set<string>();
  for (const line of broker.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { clientId?: string; api?: string; apiVersion?: number };
    if (entry.clientId?.startsWith(clientPrefix) === true && entry.api !== undefined) used.add(`${entry.api} v${entry.apiVersion}`);
  }
  return used;
}

async function kafkaPython(mode: 'produce' | 'consume', topic: string, apiVersion: string, extra: string[]) {
  const verdict = await runPythonScript(SCRIPT, [mode, '--bootstrap', broker.bootstrap, '--topic', topic, '--api-version', apiVersion, '--count', String(COUNT), ...extra], 150_000);
  expect(verdict.problems).toEqual([]);
  return verdict;
}

interface Consumed { partition: number; offset: number; key: string | null; value: string | null; timestamp: number | null; timestamp_type: number | null }

describe('legacy message formats with real clients', () => {
  for (const c of KAFKA_PYTHON_CASES) {
    compatTest(`kafka-python api_version ${c.apiVersion} (magic ${c.magic}, ${c.compression}) round-trips ${COUNT} messages at their acknowledged offsets`, async () => {
      const topic = topicOf(c.apiVersion, c.compression);
      const acksFile = join(workDir, `${topic}.acks`);
      const outFile = join(workDir, `${topic}.out`);
      await kafkaPython('produce', topic, c.apiVersion, ['--compression', c.compression, '--acks-file', acksFile]);
      await kafkaPython('consume', topic, c.apiVersion, ['--out', outFile]);
      const acks = readJsonLines<{ i: number; partition: number; offset: number }>(acksFile);
      expect(acks).toHaveLength(COUNT);
      const got = new Map(readJsonLines<Consumed>(outFile).map((m) => [`${m.partition}/${m.offset}`, m]));
      const problems: string[] = [];
      for (const a of acks) {
        const m = got.get(`${a.partition}/${a.offset}`);
        const want = expected(a.i);
        const timestamp = c.magic === 1 ? want.timestamp : null;
        if (m === undefined) problems.push(`message ${a.i} missing at ${a.partition}/${a.offset}`);
        else if (m.key !== want.key || m.value !== want.value || m.timestamp !== timestamp) problems.push(`message ${a.i}: ${JSON.stringify(m)}`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
      const used = versionsUsed('kafka-python');
      expect(used).toContain(c.magic === 1 ? 'Produce v2' : 'Produce v1');
      expect(used).toContain(c.magic === 1 ? 'Fetch v2' : 'Fetch v1');
    });
  }

  compatTest('kcat reads what kafka-python wrote as magic 1: keys, values and timestamps', async () => {
    const topic = topicOf('0.10.0', 'gzip');
    const acks = readJsonLines<{ i: number; partition: number; offset: number }>(join(workDir, `${topic}.acks`));
    const records = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000 });
    const byPosition = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r]));
    const problems: string[] = [];
    for (const a of acks) {
      const r = byPosition.get(`${a.partition}/${a.offset}`);
      const want = expected(a.i);
      const hex = (s: string | null) => (s === null ? null : Buffer.from(s, 'utf8').toString('hex'));
      // kcat prints an empty key or value as "" and a null one as null.
      if (r === undefined || hex(r.key) !== want.key || hex(r.payload) !== want.value || r.ts !== want.timestamp || r.tstype !== 'create') {
        problems.push(`message ${a.i}: ${JSON.stringify(r)}`);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    expect(records).toHaveLength(COUNT);
  });

  compatTest('kafka-python on api_version 0.10.0 and 0.9 reads what kcat wrote (down-converted to magic 1 and 0)', async () => {
    const lines = Array.from({ length: COUNT }, (_, i) => `key-${i}:value-${i}|${'x\u00e9'.repeat(i % 30)}`);
    const input = join(workDir, 'kcat-input.txt');
    writeFileSync(input, lines.join('\n') + '\n');
    const produced = await runProcess('kcat', ['-P', '-b', broker.bootstrap, '-t', 'legacy-from-kcat', '-K:', '-z', 'gzip', '-l', input], { timeoutMs: 60_000 });
    expect(produced.code, describeResult(produced)).toBe(0);
    const written = await kcatConsume(broker.bootstrap, 'legacy-from-kcat', { timeoutMs: 60_000 });
    expect(written).toHaveLength(COUNT);
    const byPosition = new Map<string, KcatRecord>(written.map((r) => [`${r.partition}/${r.offset}`, r]));
    for (const [apiVersion, magic] of [['0.10.0', 1], ['0.9', 0]] as const) {
      const outFile = join(workDir, `from-kcat-${apiVersion}.out`);
      await kafkaPython('consume', 'legacy-from-kcat', apiVersion, ['--out', outFile]);
      const problems: string[] = [];
      for (const m of readJsonLines<Consumed>(outFile)) {
        const r = byPosition.get(`${m.partition}/${m.offset}`);
        const key = m.key === null ? null : Buffer.from(m.key, 'hex').toString('utf8');
        const value = m.value === null ? null : Buffer.from(m.value, 'hex').toString('utf8');
        const timestamp = magic === 1 ? r?.ts : null;
        if (r === undefined || key !== r.key || value !== r.payload || m.timestamp !== timestamp) problems.push(`${apiVersion}: ${JSON.stringify(m)} vs ${JSON.stringify(r)}`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
    }
  });

  for (const codec of KCAT_CODECS) {
    for (const [label, fallback, topicPrefix] of [['magic 1', '0.10.0.0', 'legacy-kcat-v1'], ['magic 0', '0.9.0', 'legacy-kcat-v0']] as const) {
      compatTest(`kcat as a ${fallback} client (${label}, ${codec}) produces and consumes through the legacy formats`, async () => {
        const topic = `${topicPrefix}-${codec}`;
        const legacy = ['-X', 'api.version.request=false', '-X', `broker.version.fallback=${fallback}`];
        const lines = Array.from({ length: 500 }, (_, i) => (i % 10 === 3 ? `nokey-${i}` : `k${i}:v${i}-${'z'.repeat(i % 50)}`));
        const input = join(workDir, `${topic}.txt`);
        writeFileSync(input, lines.join('\n') + '\n');
        const produced = await runProcess('kcat', ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K:', '-z', codec, '-l', ...legacy, input], { timeoutMs: 60_000 });
        expect(produced.code, describeResult(produced)).toBe(0);
        const expectedRecords = lines.map((l, offset) => {
          const colon = l.indexOf(':');
          return colon < 0 ? { offset, key: null, payload: l } : { offset, key: l.slice(0, colon), payload: l.slice(colon + 1) };
        });
        const modern = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000 });
        expect(modern.map((r) => ({ offset: r.offset, key: r.key, payload: r.payload }))).toEqual(expectedRecords);
        const old = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000, extraArgs: legacy });
        expect(old.map((r) => ({ offset: r.offset, key: r.key, payload: r.payload }))).toEqual(expectedRecords);
        if (fallback === '0.10.0.0') expect(new Set(old.map((r) => r.ts))).toEqual(new Set(modern.map((r) => r.ts)));
      });
    }
  }
});
