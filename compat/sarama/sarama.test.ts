/**
 * Sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev, built with Debian's golang-go 1.19) with
 * `Config.Version` left at its default, the oldest (V0_8_2_0): Produce v0 with magic-0 message sets, Fetch v0
 * (Eddy down-converts to magic 0), ListOffsets v0, Metadata v0 (issue 12).
 *
 * - main.go (beside this file) is built once in GOPATH mode against Debian's sources: GO111MODULE=off,
 *   GOPATH=<temp>:/usr/share/gocode, CGO_ENABLED=0 (Sarama then uses its zstd fallback, so no C compiler is
 *   needed; zstd is unusable below V2_1_0_0 anyway), GOPROXY=off: no network. The binary is cached in the temp
 *   dir under a hash of main.go, so a rerun does not rebuild.
 * - For none, gzip and snappy: 3,000 messages over 3 partitions (null and empty keys and values included) go in
 *   through a SyncProducer and come back through a sarama.Consumer from the oldest offset, each at its
 *   acknowledged offset; the stored batches are v2 with the producer's codec (up-converted on write).
 * - kcat reads what Sarama wrote (the same keys and values; magic 0 has no timestamp, so -1, as Kafka's
 *   up-conversion leaves it), and Sarama reads what kcat wrote (v2 batches down-converted to magic 0).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectStoredWithCodec } from '../lib/codec.js';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { describeResult, kcatConsume, runProcess, type KcatRecord } from '../../test/e2e/support/kcat.js';

const SOURCE_DIR = dirname(fileURLToPath(import.meta.url));
const DEBIAN_GOPATH = '/usr/share/gocode';
const COUNT = 3000;
const PARTITIONS = 3;
const CODECS = ['none', 'gzip', 'snappy'] as const;

let broker: SpawnedBroker;
let admin: Admin;
let workDir: string;
let binary: string;

/** Builds main.go unless a binary for this exact source is already cached; returns its path. */
async function buildSaramaProgram(): Promise<string> {
  const source = readFileSync(join(SOURCE_DIR, 'main.go'));
  const cacheDir = join(tmpdir(), `eddy-sarama-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
  const target = join(cacheDir, 'sarama-compat');
  if (existsSync(target)) return target;
  if (!existsSync(join(DEBIAN_GOPATH, 'src/github.com/Shopify/sarama'))) {
    throw new Error(`Sarama sources missing under ${DEBIAN_GOPATH}: apt-get install golang-go golang-github-shopify-sarama-dev`);
  }
  mkdirSync(join(cacheDir, 'gopath'), { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  const env = {
    ...process.env,
    GO111MODULE: 'off',
    GOPATH: `${join(cacheDir, 'gopath')}:${DEBIAN_GOPATH}`,
    GOCACHE: join(cacheDir, 'gocache'),
    GOFLAGS: '',
    GOPROXY: 'off',
    CGO_ENABLED: '0',
  };
  const built = await runProcess('go', ['build', '-o', partial, '.'], { timeoutMs: 240_000, cwd: SOURCE_DIR, env });
  if (built.code !== 0 || built.timedOut) throw new Error(`building compat/sarama failed: ${describeResult(built)}`);
  renameSync(partial, target);
  return target;
}

interface Verdict { ok: boolean; problems: string[]; stats: Record<string, number> }

async function sarama(mode: 'produce' | 'consume', topic: string, extra: string[]): Promise<Verdict> {
  const result = await runProcess(binary, [mode, '-bootstrap', broker.bootstrap, '-topic', topic, ...extra], { timeoutMs: 120_000 });
  const last = result.stdout.toString('utf8').trim().split('\n').pop() ?? '';
  if (result.code !== 0 || result.timedOut || !last.startsWith('{')) throw new Error(`sarama ${mode} failed: ${describeResult(result)}`);
  const verdict = JSON.parse(last) as Verdict;
  expect(verdict.problems, result.stderr.slice(-3000)).toEqual([]);
  return verdict;
}

/** main.go's message(i), as hex (null stays null). */
function expected(i: number): { key: string | null; value: string | null } {
  const key = i % 97 === 1 ? null : i % 53 === 0 ? '' : `key-${i}`;
  const value = i % 89 === 0 && key !== null ? null : i % 61 === 0 ? '' : `value-${i}|` + 'ab\u00e9\u65e5:'.repeat(i % 40);
  return { key: hex(key), value: hex(value) };
}

function hex(s: string | null): string | null {
  return s === null ? null : Buffer.from(s, 'utf8').toString('hex');
}

function readJsonLines<T>(path: string): T[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}

/** The "api vN" pairs the broker served to clients with this id (trace log: one line per request). */
function versionsUsed(clientId: string): Set<string> {
  const used = new Set<string>();
  for (const line of broker.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { clientId?: string; api?: string; apiVersion?: number };
    if (entry.clientId === clientId && entry.api !== undefined) used.add(`${entry.api} v${entry.apiVersion}`);
  }
  return used;
}

interface Ack { i: number; partition: number; offset: number }
interface Consumed { partition: number; offset: number; key: string | null; value: string | null }

beforeAll(async () => {
  workDir = join(tmpdir(), `eddy-compat-sarama-${process.pid}`);
  mkdirSync(workDir, { recursive: true });
  binary = await buildSaramaProgram();
  broker = await spawnBroker({ logLevel: 'trace' });
  admin = new Kafka({ clientId: 'compat-sarama-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({
    topics: [...CODECS.map((codec) => ({ topic: `sarama-${codec}`, numPartitions: PARTITIONS })), { topic: 'sarama-from-kcat', numPartitions: PARTITIONS }],
  });
}, 300_000);

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('Sarama 1.22.1 with the default Config.Version (V0_8_2_0, magic 0)', () => {
  for (const codec of CODECS) {
    compatTest(`a SyncProducer (Produce v0, ${codec}) and a sarama.Consumer (Fetch v0) round-trip ${COUNT} messages at their acknowledged offsets`, async () => {
      const topic = `sarama-${codec}`;
      const acksFile = join(workDir, `${topic}.acks`);
      const outFile = join(workDir, `${topic}.out`);
      const produced = await sarama('produce', topic, ['-count', String(COUNT), '-partitions', String(PARTITIONS), '-compression', codec, '-acks', acksFile]);
      expect(produced.stats.acked).toBe(COUNT);
      const consumed = await sarama('consume', topic, ['-out', outFile]);
      expect(consumed.stats.consumed).toBe(COUNT);

      const got = new Map(readJsonLines<Consumed>(outFile).map((m) => [`${m.partition}/${m.offset}`, m]));
      const problems: string[] = [];
      for (const a of readJsonLines<Ack>(acksFile)) {
        const m = got.get(`${a.partition}/${a.offset}`);
        const want = expected(a.i);
        if (m === undefined) problems.push(`message ${a.i} missing at ${a.partition}/${a.offset}`);
        else if (m.key !== want.key || m.value !== want.value) problems.push(`message ${a.i}: ${JSON.stringify(m)} expected ${JSON.stringify(want)}`);
      }
      expect(problems.slice(0, 5)).toEqual([]);
      expect(got.size).toBe(COUNT);

      const used = versionsUsed('sarama-compat');
      for (const v of ['Metadata v0', 'Produce v0', 'Fetch v0', 'ListOffsets v0']) expect(used).toContain(v);
      for (const v of used) expect(v, `Sarama at V0_8_2_0 sent ${[...used].join(', ')}`).toMatch(/ v0$/);
      expectStoredWithCodec(broker.dataDir, topic, PARTITIONS, codec);
    });
  }

  compatTest('kcat reads what Sarama wrote as magic 0: the same keys and values, timestamp -1 (CreateTime)', async () => {
    for (const codec of CODECS) {
      const topic = `sarama-${codec}`;
      const acks = readJsonLines<Ack>(join(workDir, `${topic}.acks`));
      expect(acks, `${topic}: the round-trip case must run first`).toHaveLength(COUNT);
      const records = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000 });
      const byPosition = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r]));
      const problems: string[] = [];
      for (const a of acks) {
        const r = byPosition.get(`${a.partition}/${a.offset}`);
        const want = expected(a.i);
        if (r === undefined || hex(r.key) !== want.key || hex(r.payload) !== want.value || r.ts !== -1 || r.tstype !== 'create') {
          problems.push(`${topic} message ${a.i}: ${JSON.stringify(r)}`);
        }
      }
      expect(problems.slice(0, 5)).toEqual([]);
      expect(records).toHaveLength(COUNT);
    }
  });

  compatTest('a sarama.Consumer reads what kcat wrote (v2 gzip batches down-converted to magic 0)', async () => {
    const lines = Array.from({ length: COUNT }, (_, i) => (i % 10 === 3 ? `nokey-${i}` : `key-${i}:value-${i}|${'x\u00e9'.repeat(i % 30)}`));
    const input = join(workDir, 'kcat-input.txt');
    writeFileSync(input, lines.join('\n') + '\n');
    const produced = await runProcess('kcat', ['-P', '-b', broker.bootstrap, '-t', 'sarama-from-kcat', '-K:', '-z', 'gzip', '-X', 'linger.ms=5', '-l', input], { timeoutMs: 60_000 });
    expect(produced.code, describeResult(produced)).toBe(0);
    const written = await kcatConsume(broker.bootstrap, 'sarama-from-kcat', { timeoutMs: 60_000 });
    expect(written).toHaveLength(COUNT);
    const byPosition = new Map<string, KcatRecord>(written.map((r) => [`${r.partition}/${r.offset}`, r]));

    const outFile = join(workDir, 'from-kcat.out');
    const consumed = await sarama('consume', 'sarama-from-kcat', ['-out', outFile]);
    expect(consumed.stats.consumed).toBe(COUNT);
    const problems: string[] = [];
    for (const m of readJsonLines<Consumed>(outFile)) {
      const r = byPosition.get(`${m.partition}/${m.offset}`);
      if (r === undefined || m.key !== hex(r.key) || m.value !== hex(r.payload)) problems.push(`${JSON.stringify(m)} vs ${JSON.stringify(r)}`);
    }
    expect(problems.slice(0, 5)).toEqual([]);
  });
});
