/**
 * kcat 1.7.1 / librdkafka 2.0.2 (Debian bookworm) against the compiled broker.
 *
 * - `kcat -L` lists the broker at its real address and the topics with their partitions.
 * - For each codec (none, gzip, snappy, lz4, zstd): 100 000 keyed messages with headers go in through
 *   `kcat -P` into a 3-partition topic and come back through `kcat -C -J` byte-exact: the same multiset of
 *   (key, value, headers), offsets 0, 1, 2, … per partition, per-key order kept.
 * - `kcat -Q` (ListOffsets by timestamp) finds the start and the end of a partition.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { byPartition, describeResult, kcatConsume, kcatMetadata, runProcess, type KcatRecord } from '../../test/e2e/support/kcat.js';
import { expectStoredWithCodec } from '../lib/codec.js';
import { makeTextMessages, toKcatInput } from '../lib/messages.js';
import { verifyRoundTrip } from '../lib/verify.js';

const MESSAGE_COUNT = 100_000;
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const HEADERS: Array<[string, string]> = [
  ['h1', 'v1'],
  ['h2', 'ünï=cödé'],
];

let broker: SpawnedBroker;
/** Full read-back of each codec's topic, for the partial-read cases below. */
const readBack = new Map<string, KcatRecord[]>();
let admin: Admin;
let workDir: string;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'eddy-compat-kcat-'));
  // trace: the broker logs one line per request (api, apiVersion, clientId), used to check the negotiated versions.
  broker = await spawnBroker({ logLevel: 'trace' });
  const kafka = new Kafka({ clientId: 'compat-kcat-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      ...CODECS.map((codec) => ({ topic: `kcat-${codec}`, numPartitions: 3 })),
      { topic: 'kcat-listing', numPartitions: 2 },
    ],
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

function brokerLogTail(): string {
  return broker.logs().split('\n').slice(-40).join('\n');
}

describe('kcat (librdkafka 2.0.2)', () => {
  compatTest('kcat -L lists the broker at its listen address and the topics with their partitions', async () => {
    const md = await kcatMetadata(broker.bootstrap);
    expect(md.brokers).toHaveLength(1);
    const [only] = md.brokers;
    expect(only?.name).toBe(`127.0.0.1:${broker.port}`);
    expect(md.controllerid).toBe(only?.id);
    const listing = md.topics.find((t) => t.topic === 'kcat-listing');
    expect(listing, JSON.stringify(md.topics.map((t) => t.topic))).toBeDefined();
    expect(listing?.error).toBeUndefined();
    expect(listing?.partitions.map((p) => p.partition).sort()).toEqual([0, 1]);
    for (const p of listing?.partitions ?? []) {
      expect(p.leader).toBe(only?.id);
      expect(p.replicas.map((r) => r.id)).toEqual([only?.id]);
      expect(p.isrs.map((r) => r.id)).toEqual([only?.id]);
    }
    for (const codec of CODECS) expect(md.topics.map((t) => t.topic)).toContain(`kcat-${codec}`);
  });

  compatTest('kcat -L -t <topic> describes just that topic', async () => {
    const md = await kcatMetadata(broker.bootstrap, 'kcat-listing');
    expect(md.topics.map((t) => t.topic)).toEqual(['kcat-listing']);
    expect(md.topics[0]?.partitions).toHaveLength(2);
  });

  for (const codec of CODECS) {
    compatTest(`${MESSAGE_COUNT} keyed messages with headers, compression ${codec}, round-trip byte-exact`, async () => {
      const topic = `kcat-${codec}`;
      const messages = makeTextMessages(MESSAGE_COUNT, 0xed0 + CODECS.indexOf(codec));
      const inputFile = join(workDir, `${codec}.txt`);
      writeFileSync(inputFile, toKcatInput(messages));

      const produce = await runProcess(
        'kcat',
        [
          '-P', '-b', broker.bootstrap, '-t', topic, '-K:',
          ...HEADERS.flatMap(([k, v]) => ['-H', `${k}=${v}`]),
          '-z', codec,
          '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-X', 'acks=all',
        ],
        { timeoutMs: 180_000, input: { file: inputFile } },
      );
      expect(
        produce.code === 0 && !produce.timedOut && !/Delivery failed|ERROR/.test(produce.stderr),
        `${describeResult(produce)}\nbroker log tail:\n${brokerLogTail()}`,
      ).toBe(true);

      const records = await kcatConsume(broker.bootstrap, topic, { timeoutMs: 180_000 });
      readBack.set(codec, records);
      const report = verifyRoundTrip(messages, records, HEADERS);
      expect(report.problems, `per partition ${JSON.stringify(report.perPartition)}\n${brokerLogTail()}`).toEqual([]);
      expect(report.consumed).toBe(MESSAGE_COUNT);
      // The default partitioner (consistent_random: crc32 of the key) spreads ~997 keys over all 3 partitions.
      expect(Object.keys(report.perPartition).sort()).toEqual(['0', '1', '2']);

      // The stored batches must really carry the codec (librdkafka falls back to none silently).
      expectStoredWithCodec(broker.dataDir, topic, 3, codec);
    });
  }

  compatTest('kcat -Q finds offsets by timestamp: 0 for the distant past, the end for the future', async () => {
    const topic = 'kcat-none';
    const records = await kcatConsume(broker.bootstrap, topic, { partition: 0, offset: '-1', timeoutMs: 60_000 });
    const end = (records[0]?.offset ?? -2) + 1;
    expect(end).toBeGreaterThan(0);
    const query = async (ts: number): Promise<string> => {
      const r = await runProcess('kcat', ['-Q', '-b', broker.bootstrap, '-t', `${topic}:0:${ts}`], { timeoutMs: 30_000 });
      expect(r.code, describeResult(r)).toBe(0);
      return r.stdout.toString('utf8');
    };
    expect(await query(1)).toMatch(new RegExp(`\\[0\\]\\s+offset\\s+0\\b`));
    // A timestamp after every record: Kafka answers offset -1 (no such record); librdkafka prints it as-is.
    expect(await query(Date.now() + 3_600_000)).toMatch(/\[0\]\s+offset\s+(-1|END)\b/);
  });

  for (const codec of ['none', 'gzip', 'zstd'] as const) {
    compatTest(`reading from an offset in the middle of a ${codec} batch starts exactly there (-o N -c 200)`, async () => {
      const full = byPartition(readBack.get(codec) ?? []).get(1) ?? [];
      expect(full.length, 'the round-trip case for this codec must run first').toBeGreaterThan(1000);
      const start = Math.floor(full.length / 2) + 3;
      const got = await kcatConsume(broker.bootstrap, `kcat-${codec}`, { partition: 1, offset: String(start), extraArgs: ['-c', '200'] });
      expect(got.map((r) => [r.offset, r.key, r.payload])).toEqual(full.slice(start, start + 200).map((r) => [r.offset, r.key, r.payload]));
    });
  }

  compatTest('reading the last 50 records with a relative offset (-o -50) starts at high watermark - 50', async () => {
    const full = byPartition(readBack.get('gzip') ?? []).get(2) ?? [];
    expect(full.length).toBeGreaterThan(1000);
    const got = await kcatConsume(broker.bootstrap, 'kcat-gzip', { partition: 2, offset: '-50' });
    expect(got.map((r) => [r.offset, r.payload])).toEqual(full.slice(-50).map((r) => [r.offset, r.payload]));
  });

  compatTest('a fetch size far below one batch still returns whole batches (KIP-74): full read with fetch.message.max.bytes=1024', async () => {
    const full = readBack.get('zstd') ?? [];
    expect(full.length).toBe(MESSAGE_COUNT);
    const got = await kcatConsume(broker.bootstrap, 'kcat-zstd', {
      timeoutMs: 180_000,
      extraArgs: ['-X', 'fetch.message.max.bytes=1024', '-X', 'fetch.max.bytes=1024', '-X', 'message.max.bytes=1000'],
    });
    // Partitions interleave differently from run to run; compare per partition in offset order.
    const sorted = (records: KcatRecord[]): KcatRecord[] => [...byPartition(records).values()].flat();
    const want = sorted(full);
    const have = sorted(got);
    expect(have.length).toBe(want.length);
    const mismatched = have.filter((r, i) => r.partition !== want[i]?.partition || r.offset !== want[i]?.offset || r.payload !== want[i]?.payload);
    expect(mismatched.slice(0, 3)).toEqual([]);
  });

  compatTest('librdkafka keeps ApiVersions v3 (no fallback to v0) and uses Metadata v4, Produce v7, Fetch v11, ListOffsets v2', () => {
    const used = new Set<string>();
    for (const line of broker.logs().split('\n')) {
      if (!line.includes('"msg":"request"')) continue;
      const entry = JSON.parse(line) as { clientId?: string; api?: string; apiVersion?: number };
      if (entry.clientId === 'rdkafka') used.add(`${entry.api} v${entry.apiVersion}`);
    }
    for (const expected of ['ApiVersions v3', 'Metadata v4', 'Produce v7', 'Fetch v11', 'ListOffsets v2']) expect([...used]).toContain(expected);
    expect([...used].filter((u) => u.startsWith('ApiVersions'))).toEqual(['ApiVersions v3']);
  });
});
