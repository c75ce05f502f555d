/**
 * kafka-node 5.0.0 (npm) against the compiled broker: the legacy message formats with the client that made them
 * common in Node (issue 12). kafka-node runs in this test process; each client gets its own client id, so the
 * broker's trace log (one line per request) shows which versions it negotiated.
 *
 * - Default KafkaClient: ApiVersions, then the newest versions kafka-node has: Produce v2 (magic-1 message sets
 *   with CreateTime timestamps; with gzip one wrapper per partition holding the magic-1 inner messages), Metadata
 *   v1. A ConsumerGroup reads through Fetch v2 (magic 1, timestamps) after JoinGroup/SyncGroup v0, and a plain
 *   Consumer through Fetch v0 (kafka-node always uses v0 there: magic 0, no timestamps). Eddy down-converts both.
 * - As a 0.9 client: kafka-node decides the broker is 0.9 when ApiVersions does not answer within
 *   `versions.requestTimeout` (500 ms) and then uses its hard-coded 0.9 versions: Produce v1 (magic 0), Fetch v1,
 *   Metadata v0. A fault rule delays ApiVersions for those client ids by 1.5 s to take that path.
 *   kafka-node 5.0.0 always encodes the inner messages of a compressed set with magic 1 (kafkaClient.js
 *   `compress`), so its gzip wrappers on Produce v1 are magic 0 around magic-1 messages; Kafka 3.9 refuses that
 *   (LogValidator.validateRecord: "magic does not match outer magic", INVALID_RECORD) and so does Eddy: asserted.
 * - kcat reads what kafka-node wrote (keys, values, magic-1 CreateTime timestamps, -1 for magic 0) and kafka-node
 *   reads what kcat wrote (v2 batches, down-converted), with kcat's timestamps through Fetch v2.
 *
 * kafka-node's snappy codec is not used: its optional dependency snappy@6 needs node-gyp and a compiler, so
 * package.json overrides it with the project's snappy 7 (prebuilt), whose promise API kafka-node cannot call.
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkaNode from 'kafka-node';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { expectStoredWithCodec } from '../lib/codec.js';
import { compatTest } from '../lib/known-failures.js';
import { freePort, spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { describeResult, kcatConsume, runProcess, type KcatRecord } from '../../test/e2e/support/kcat.js';

const { KafkaClient, Producer, Consumer, ConsumerGroup } = kafkaNode;
const COUNT = 2000;
const PARTITIONS = 3;
/** Messages per producer.send(): one Produce request, one message set (or gzip wrapper) per partition. */
const CHUNK = 150;
const GZIP = 1;
const CLIENT_010 = 'kafka-node-010';
const CLIENT_09 = 'kafka-node-09';
const TIMEOUT_MS = 60_000;

let broker: SpawnedBroker;
let httpPort: number;
let admin: Admin;
let workDir: string;

/** What kafka-node's decoder hands out (its bundled types omit `timestamp` and null keys/values). */
interface NodeMessage { topic: string; partition: number; offset: number; key: Buffer | null; value: Buffer | null; timestamp?: Date }
interface Ack { i: number; partition: number; offset: number }

/** Message i: null key every 97th from 1, empty every 53rd; null value every 89th (keyed), empty every 61st. */
function message(i: number): { key: string | null; value: string | null; timestamp: number } {
  const key = i % 97 === 1 ? null : i % 53 === 0 ? '' : `key-${i}`;
  const value = i % 89 === 0 && key !== null ? null : i % 61 === 0 ? '' : `value-${i}|` + 'ab\u00e9\u65e5:'.repeat(i % 40);
  return { key, value, timestamp: 1_700_000_000_000 + i };
}

const text = (b: Buffer | null | undefined): string | null => (b === null || b === undefined ? null : b.toString('utf8'));

async function withDeadline<T>(what: string, run: (resolve: (v: T) => void, reject: (e: unknown) => void) => void): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), TIMEOUT_MS);
    run(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(`${what}: ${String(e)}`));
      },
    );
  });
}

function newClient(clientId: string): kafkaNode.KafkaClient {
  return new KafkaClient({ kafkaHost: broker.bootstrap, clientId, requestTimeout: 30_000, connectTimeout: 10_000 });
}

async function closeClient(client: kafkaNode.KafkaClient): Promise<void> {
  await withDeadline<void>('client close', (resolve) => client.close(() => resolve()));
}

/**
 * Sends messages [0, COUNT) to partition i % PARTITIONS in chunks, acks=-1; returns each message's offset (the
 * partition's base offset from the response plus its position in the chunk's message set). Throws the first
 * send error.
 */
async function produce(clientId: string, topic: string, attributes: number, count = COUNT): Promise<Ack[]> {
  const client = newClient(clientId);
  const producer = new Producer(client, { requireAcks: -1, ackTimeoutMs: 10_000 });
  try {
    await withDeadline<void>('producer ready', (resolve, reject) => {
      producer.on('ready', () => resolve());
      producer.on('error', reject);
    });
    const acks: Ack[] = [];
    for (let start = 0; start < count; start += CHUNK) {
      const indexes = Array.from({ length: Math.min(CHUNK, count - start) }, (_, j) => start + j);
      const payloads = indexes.map((i) => {
        const m = message(i);
        return {
          topic,
          partition: i % PARTITIONS,
          key: m.key === null ? null : Buffer.from(m.key, 'utf8'),
          messages: m.value === null ? null : Buffer.from(m.value, 'utf8'),
          timestamp: m.timestamp,
          attributes,
        };
      });
      const result = await withDeadline<Record<string, Record<string, number>>>('produce', (resolve, reject) => {
        // kafka-node's payload type has no `timestamp` and no null key/value, which its encoder does support.
        producer.send(payloads as unknown as kafkaNode.ProduceRequest[], (err, data) => (err ? reject(err) : resolve(data as Record<string, Record<string, number>>)));
      });
      const position = new Array<number>(PARTITIONS).fill(0);
      for (const i of indexes) {
        const partition = i % PARTITIONS;
        const base = result[topic]?.[String(partition)];
        if (base === undefined) throw new Error(`no offset for ${topic}/${partition}: ${JSON.stringify(result)}`);
        acks.push({ i, partition, offset: base + position[partition]!++ });
      }
    }
    return acks;
  } finally {
    await closeClient(client);
  }
}

/** Collects distinct (partition, offset) messages until `count` arrived; `subscribe` starts the consumer. */
async function collect(count: number, what: string, subscribe: (onMessage: (m: NodeMessage) => void, onError: (e: unknown) => void) => void): Promise<Map<string, NodeMessage>> {
  const got = new Map<string, NodeMessage>();
  await withDeadline<void>(`${what}: ${count} messages`, (resolve, reject) => {
    subscribe(
      (m) => {
        got.set(`${m.partition}/${m.offset}`, m);
        if (got.size === count) resolve();
      },
      reject,
    );
  }).catch((e: Error) => {
    throw new Error(`${e.message} (got ${got.size})`);
  });
  return got;
}

/** A ConsumerGroup (its own KafkaClient, client id = `id`) from the earliest offset, nothing committed. */
async function consumeWithGroup(id: string, groupId: string, topic: string, count = COUNT): Promise<Map<string, NodeMessage>> {
  let group: kafkaNode.ConsumerGroup | undefined;
  try {
    return await collect(count, `ConsumerGroup ${id}`, (onMessage, onError) => {
      group = new ConsumerGroup(
        { kafkaHost: broker.bootstrap, id, groupId, fromOffset: 'earliest', autoCommit: false, encoding: 'buffer', keyEncoding: 'buffer', sessionTimeout: 10_000 },
        [topic],
      );
      group.on('message', (m) => onMessage(m as unknown as NodeMessage));
      group.on('error', onError);
    });
  } finally {
    if (group !== undefined) {
      const g = group;
      await withDeadline<void>('group close', (resolve) => g.close(false, () => resolve()));
    }
  }
}

/** A plain Consumer (no group, Fetch v0) on every partition from offset 0. */
async function consumeWithConsumer(clientId: string, topic: string, count = COUNT): Promise<Map<string, NodeMessage>> {
  const client = newClient(clientId);
  let consumer: kafkaNode.Consumer | undefined;
  try {
    return await collect(count, `Consumer ${clientId}`, (onMessage, onError) => {
      const payloads = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0 }));
      consumer = new Consumer(client, payloads, { autoCommit: false, fromOffset: true, encoding: 'buffer', keyEncoding: 'buffer' });
      consumer.on('message', (m) => onMessage(m as unknown as NodeMessage));
      consumer.on('error', onError);
    });
  } finally {
    if (consumer !== undefined) {
      const c = consumer;
      await withDeadline<void>('consumer close', (resolve) => c.close(true, () => resolve()));
    }
    await closeClient(client);
  }
}

/** Every acknowledged message at its offset with its key and value, and its timestamp iff `withTimestamps`. */
function compare(acks: Ack[], got: Map<string, NodeMessage>, withTimestamps: boolean): string[] {
  const problems: string[] = [];
  for (const a of acks) {
    const m = got.get(`${a.partition}/${a.offset}`);
    const want = message(a.i);
    const ts = m?.timestamp?.getTime();
    if (m === undefined) problems.push(`message ${a.i} missing at ${a.partition}/${a.offset}`);
    else if (text(m.key) !== want.key || text(m.value) !== want.value || ts !== (withTimestamps ? want.timestamp : undefined)) {
      problems.push(`message ${a.i} at ${a.partition}/${a.offset}: key ${JSON.stringify(text(m.key))} value ${JSON.stringify(text(m.value))} ts ${ts}`);
    }
  }
  if (got.size !== acks.length) problems.push(`consumed ${got.size} of ${acks.length}`);
  return problems;
}

/** The "api vN" pairs the broker served to this client id. */
function versionsUsed(clientId: string): Set<string> {
  const used = new Set<string>();
  for (const line of broker.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { clientId?: string; api?: string; apiVersion?: number };
    if (entry.clientId === clientId && entry.api !== undefined) used.add(`${entry.api} v${entry.apiVersion}`);
  }
  return used;
}

async function addFault(rule: Record<string, unknown>): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/v1/faults`, { method: 'POST', body: JSON.stringify(rule), headers: { 'content-type': 'application/json' } });
  expect(res.status, await res.text()).toBeLessThan(300);
}

const acksOf = new Map<string, Ack[]>();
const topics = {
  v1None: 'kafka-node-v1-none',
  v1Gzip: 'kafka-node-v1-gzip',
  v0None: 'kafka-node-v0-none',
  v0Gzip: 'kafka-node-v0-gzip',
  fromKcat: 'kafka-node-from-kcat',
};

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'eddy-compat-kafka-node-'));
  httpPort = await freePort();
  broker = await spawnBroker({ logLevel: 'trace', extraArgs: ['--http-port', String(httpPort)] });
  admin = new Kafka({ clientId: 'compat-kafka-node-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: Object.values(topics).map((topic) => ({ topic, numPartitions: PARTITIONS })) });
  // kafka-node's 0.9 path: its ApiVersions request times out (500 ms), so it uses its 0.9 versions.
  await addFault({ api: 'ApiVersions', clientId: CLIENT_09, latencyMs: 1500 });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

describe('kafka-node 5.0.0', () => {
  for (const [codec, attributes, topic] of [['none', 0, topics.v1None], ['gzip', GZIP, topics.v1Gzip]] as const) {
    compatTest(`Producer on Produce v2 (magic 1, ${codec}): a ConsumerGroup (Fetch v2) gets keys, values and timestamps back, a Consumer (Fetch v0) keys and values`, async () => {
      const acks = await produce(CLIENT_010, topic, attributes);
      acksOf.set(topic, acks);
      expect(acks).toHaveLength(COUNT);
      expectStoredWithCodec(broker.dataDir, topic, PARTITIONS, codec);

      const groupId = `${CLIENT_010}-group-${codec}`;
      expect(compare(acks, await consumeWithGroup(groupId, groupId, topic), true).slice(0, 5)).toEqual([]);
      const consumerId = `${CLIENT_010}-consumer-${codec}`;
      expect(compare(acks, await consumeWithConsumer(consumerId, topic), false).slice(0, 5)).toEqual([]);

      expect(versionsUsed(CLIENT_010)).toContain('Produce v2');
      expect(versionsUsed(groupId)).toContain('Fetch v2');
      expect(versionsUsed(groupId)).toContain('JoinGroup v0');
      expect(versionsUsed(consumerId)).toContain('Fetch v0');
    });
  }

  compatTest('as a 0.9 client (ApiVersions unanswered): Producer on Produce v1 (magic 0) round-trips through a ConsumerGroup on Fetch v1, without timestamps', async () => {
    const acks = await produce(CLIENT_09, topics.v0None, 0);
    acksOf.set(topics.v0None, acks);
    expectStoredWithCodec(broker.dataDir, topics.v0None, PARTITIONS, 'none');
    expect(compare(acks, await consumeWithGroup(CLIENT_09, `${CLIENT_09}-group`, topics.v0None), false).slice(0, 5)).toEqual([]);
    const used = versionsUsed(CLIENT_09);
    for (const v of ['Produce v1', 'Fetch v1', 'Metadata v0']) expect(used).toContain(v);
    expect(used).not.toContain('Produce v2');
    // And the magic-1 gzip topic, down-converted to magic 0 for it: keys and values, no timestamps.
    const v1Acks = acksOf.get(topics.v1Gzip);
    expect(v1Acks, 'the magic-1 gzip case runs first').toHaveLength(COUNT);
    expect(compare(v1Acks!, await consumeWithGroup(CLIENT_09, `${CLIENT_09}-group-gzip`, topics.v1Gzip), false).slice(0, 5)).toEqual([]);
  });

  compatTest('as a 0.9 client with gzip: its magic-0 wrapper around magic-1 messages is refused with INVALID_RECORD, as Kafka 3.9 does, and nothing is stored', async () => {
    // kafka-node has no name for code 87 (INVALID_RECORD), so its error is empty. The broker logs "rejected record
    // batch" only for CORRUPT_MESSAGE / INVALID_RECORD, and this reason is LogValidator's INVALID_RECORD text.
    await expect(produce(CLIENT_09, topics.v0Gzip, GZIP, CHUNK)).rejects.toThrow();
    const refusal = /"clientId":"kafka-node-09","topic":"kafka-node-v0-gzip".*magic does not match outer magic 0.*"msg":"rejected record batch"/;
    for (let attempt = 0; attempt < 100 && !refusal.test(broker.logs()); attempt++) await new Promise((r) => setTimeout(r, 50));
    expect(broker.logs()).toMatch(refusal);
    const offsets = await admin.fetchTopicOffsets(topics.v0Gzip);
    expect(offsets.map((o) => o.high)).toEqual(['0', '0', '0']);
  });

  compatTest('kcat reads what kafka-node wrote: keys, values, CreateTime timestamps for magic 1 and -1 for magic 0', async () => {
    for (const [topic, magic] of [[topics.v1None, 1], [topics.v1Gzip, 1], [topics.v0None, 0]] as const) {
      const acks = acksOf.get(topic);
      expect(acks, `${topic}: its produce case runs first`).toHaveLength(COUNT);
      const records = await kcatConsume(broker.bootstrap, topic, { timeoutMs: TIMEOUT_MS });
      const byPosition = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r]));
      const problems: string[] = [];
      for (const a of acks!) {
        const r = byPosition.get(`${a.partition}/${a.offset}`);
        const want = message(a.i);
        if (r === undefined || r.key !== want.key || r.payload !== want.value || r.ts !== (magic === 1 ? want.timestamp : -1) || r.tstype !== 'create') {
          problems.push(`${topic} message ${a.i}: ${JSON.stringify(r)}`);
        }
      }
      expect(problems.slice(0, 5)).toEqual([]);
      expect(records).toHaveLength(COUNT);
    }
  });

  compatTest('kafka-node reads what kcat wrote (v2 gzip batches down-converted): a ConsumerGroup with kcat\'s timestamps, a Consumer without', async () => {
    const lines = Array.from({ length: COUNT }, (_, i) => (i % 10 === 3 ? `nokey-${i}` : `key-${i}:value-${i}|${'x\u00e9'.repeat(i % 30)}`));
    const input = join(workDir, 'kcat-input.txt');
    writeFileSync(input, lines.join('\n') + '\n');
    const produced = await runProcess('kcat', ['-P', '-b', broker.bootstrap, '-t', topics.fromKcat, '-K:', '-z', 'gzip', '-X', 'linger.ms=5', '-l', input], { timeoutMs: TIMEOUT_MS });
    expect(produced.code, describeResult(produced)).toBe(0);
    const written = await kcatConsume(broker.bootstrap, topics.fromKcat, { timeoutMs: TIMEOUT_MS });
    expect(written).toHaveLength(COUNT);
    const byPosition = new Map<string, KcatRecord>(written.map((r) => [`${r.partition}/${r.offset}`, r]));

    const check = (got: Map<string, NodeMessage>, withTimestamps: boolean): string[] => {
      const problems: string[] = [];
      for (const [position, m] of got) {
        const r = byPosition.get(position);
        const ts = m.timestamp?.getTime();
        if (r === undefined || text(m.key) !== r.key || text(m.value) !== r.payload || ts !== (withTimestamps ? r.ts : undefined)) {
          problems.push(`${position}: ${JSON.stringify({ key: text(m.key), value: text(m.value), ts })} vs ${JSON.stringify(r)}`);
        }
      }
      return problems;
    };
    const groupId = `${CLIENT_010}-group-from-kcat`;
    expect(check(await consumeWithGroup(groupId, groupId, topics.fromKcat), true).slice(0, 5)).toEqual([]);
    expect(check(await consumeWithConsumer(`${CLIENT_010}-consumer-from-kcat`, topics.fromKcat), false).slice(0, 5)).toEqual([]);
  });
});
