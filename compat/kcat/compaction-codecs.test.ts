/**
 * Compaction of topics produced with each codec, read back by real clients (issue 10): kcat 1.7.1 / librdkafka
 * 2.0.2 produces `-z <codec>` (gzip, snappy, lz4, zstd) into a compacted topic with 64 KiB segments; the
 * broker's cleaner (backoff 200 ms) compacts it, rewriting the batches that lose records with the batch's own
 * codec (Kafka's MemoryRecords.buildRetainedRecordsInto); then
 *
 * - every stored batch with records still uses the producer's codec (none was decompressed for good),
 * - kcat (`check.crcs=true`) and confluent-kafka-python 1.7.0 (`check.crcs`) read the partition to its end: fewer
 *   records than produced, offsets increasing, and the latest value of every key (a tombstone included) is the
 *   last one produced.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { runPythonScript } from '../lib/python.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { describeResult, kcatConsume, runProcess } from '../../test/e2e/support/kcat.js';
import { COMPRESSION_CODES, segmentFiles } from '../../test/e2e/support/segments.js';

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
const KEYS = 10;
const ROUNDS = 300;
const SCRIPT = fileURLToPath(new URL('./compaction_consume.py', import.meta.url));

let broker: SpawnedBroker;
let admin: Admin;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'eddy-compat-compaction-'));
  broker = await spawnBroker({ extraArgs: ['--log-cleaner-backoff-ms', '200'] });
  const kafka = new Kafka({ clientId: 'compat-compaction-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: CODECS.map((codec) => ({
      topic: `compact-${codec}`,
      numPartitions: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.bytes', value: String(64 * 1024) },
        { name: 'min.cleanable.dirty.ratio', value: '0.01' },
      ],
    })),
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/** About 200 bytes that compress about 2:1 (hex digits), so the topic spans several 64 KiB segments. */
function valueOf(key: number, round: number): string {
  const hex = (n: number) => createHash('sha256').update(`${key}/${round}/${n}`).digest('hex');
  return `k${key}-r${round}-${hex(0)}${hex(1)}${hex(2)}`;
}

/** The partition's first dirty offset in the broker's cleaner-offset-checkpoint, 0 before any cleaning. */
function checkpointed(topic: string): number {
  let text: string;
  try {
    text = readFileSync(join(broker.dataDir, 'cleaner-offset-checkpoint'), 'utf8');
  } catch {
    return 0;
  }
  for (const line of text.split('\n').slice(2)) {
    const [t, p, offset] = line.split(' ');
    if (t === topic && p === '0') return Number(offset);
  }
  return 0;
}

/** Codec and record count of every batch in the sealed segments (the active one is never cleaned). */
function sealedBatches(topic: string): Array<{ codec: number; records: number }> {
  const files = segmentFiles(broker.dataDir, topic, 0);
  const out: Array<{ codec: number; records: number }> = [];
  for (const file of files.slice(0, -1)) {
    const buf = readFileSync(file);
    for (let pos = 0; pos + 61 <= buf.length; pos += 12 + buf.readInt32BE(pos + 8)) {
      out.push({ codec: buf.readInt16BE(pos + 21) & 7, records: buf.readInt32BE(pos + 57) });
    }
  }
  return out;
}

describe('compaction of compressed topics (kcat producer, kcat and confluent-kafka readers)', () => {
  for (const codec of CODECS) {
    compatTest(`a ${codec} topic is compacted with its batches recompressed as ${codec}, and both clients read the latest values`, async () => {
      const topic = `compact-${codec}`;
      const lines: string[] = [];
      const expected = new Map<string, string | null>();
      for (let round = 0; round < ROUNDS; round++) {
        for (let key = 0; key < KEYS; key++) {
          lines.push(`k${key}:${valueOf(key, round)}`);
          expected.set(`k${key}`, valueOf(key, round));
        }
      }
      // A tombstone (-Z: an empty value is sent as null), then a few more updates of the other keys.
      lines.push('k9:');
      expected.set('k9', null);
      for (let key = 0; key < KEYS - 1; key++) {
        lines.push(`k${key}:${valueOf(key, ROUNDS)}`);
        expected.set(`k${key}`, valueOf(key, ROUNDS));
      }
      const inputFile = join(workDir, `${codec}.txt`);
      writeFileSync(inputFile, lines.join('\n') + '\n');
      const produce = await runProcess(
        'kcat',
        ['-P', '-b', broker.bootstrap, '-t', topic, '-p', '0', '-K:', '-Z', '-z', codec, '-X', 'linger.ms=5', '-X', 'batch.num.messages=50', '-X', 'acks=all'],
        { timeoutMs: 120_000, input: { file: inputFile } },
      );
      expect(produce.code === 0 && !produce.timedOut && !/Delivery failed|ERROR/.test(produce.stderr), describeResult(produce)).toBe(true);
      expect(segmentFiles(broker.dataDir, topic, 0).length, `${describeResult(produce)}\n${broker.logs().split("\n").slice(-20).join("\n")}`).toBeGreaterThan(3);

      // The cleaner runs every 200 ms while a log qualifies (also while kcat was producing): wait until every
      // sealed segment is clean, i.e. the first dirty offset is the active segment's base.
      const activeBase = () => Number(/(\d{20})\.log$/.exec(segmentFiles(broker.dataDir, topic, 0).at(-1)!)![1]);
      const deadline = Date.now() + 60_000;
      while (checkpointed(topic) !== activeBase() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      expect(checkpointed(topic), broker.logs().split('\n').slice(-30).join('\n')).toBe(activeBase());

      const sealed = sealedBatches(topic);
      const withRecords = sealed.filter((b) => b.records > 0);
      expect(withRecords.length).toBeGreaterThan(0);
      expect([...new Set(withRecords.map((b) => b.codec))]).toEqual([COMPRESSION_CODES[codec]]);

      const records = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 60_000 });
      expect(records.length).toBeLessThan(lines.length);
      for (let i = 1; i < records.length; i++) expect(records[i]!.offset).toBeGreaterThan(records[i - 1]!.offset);
      const latestKcat = new Map<string, string | null>();
      for (const r of records) latestKcat.set(r.key ?? '', r.payload);
      expect(latestKcat).toEqual(expected);

      const verdict = await runPythonScript(SCRIPT, ['--bootstrap', broker.bootstrap, '--topic', topic, '--partition', '0'], 90_000);
      expect(verdict.problems).toEqual([]);
      expect(verdict.ok).toBe(true);
      expect(verdict.stats.count).toBe(records.length);
      expect(new Map(Object.entries(verdict.stats.latest as Record<string, string | null>))).toEqual(expected);
    });
  }
});
