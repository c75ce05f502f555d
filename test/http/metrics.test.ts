// GET /metrics on the HTTP admin listener: Prometheus text format that a strict parser accepts, counters that move by
// exactly what kafkajs produced and fetched, per-partition log gauges, group states and lag = end offset - committed,
// and one registry per broker.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/index.js';
import { BrokerMetrics } from '../../src/http/metrics.js';
import { nodeLogFs, readFullySync } from '../../src/log/fs.js';

const brokers: Broker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});

async function startWithHttp(): Promise<Broker> {
  const broker = await createBroker({ httpPort: 0 });
  brokers.push(broker);
  await broker.start();
  return broker;
}

// ---- a strict parser for the Prometheus text exposition format 0.0.4 ------------------------------------------
// Every line is a HELP, a TYPE or a sample of the family last typed; anything else throws. Checks: names and label
// names, label value escapes, numbers, one TYPE per family before its samples, no family split, no duplicate series,
// histogram series (_bucket with le in increasing order ending at +Inf, _sum, _count = the +Inf bucket).

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help: string | undefined;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseNumber(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad number ${JSON.stringify(text)} in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1; // after '{'
  for (;;) {
    if (text[i] === '}') return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in: ${line}`);
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
}

function familyOf(sampleName: string, families: Map<string, Family>): string | undefined {
  if (families.has(sampleName)) return sampleName;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = sampleName.endsWith(suffix) ? sampleName.slice(0, -suffix.length) : undefined;
    if (base !== undefined && families.get(base)?.type === 'histogram') return base;
  }
  return undefined;
}

function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: string | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) {
        if (line.startsWith('# HELP') || line.startsWith('# TYPE')) throw new Error(`bad comment: ${line}`);
        continue;
      }
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`second HELP for ${name}`);
        helps.set(name, rest);
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad type in: ${line}`);
        if (families.has(name)) throw new Error(`second TYPE for ${name}`);
        if (current !== undefined) closed.add(current);
        families.set(name, { type: rest, help: helps.get(name), samples: [] });
        current = name;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`bad sample: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`bad value part in: ${line}`);
    if (parts.length === 2 && !/^-?\d+$/.test(parts[1]!)) throw new Error(`bad timestamp in: ${line}`);
    const value = parseNumber(parts[0]!, line);
    const family = familyOf(name, families);
    if (family === undefined) throw new Error(`sample before its TYPE: ${line}`);
    if (family !== current || closed.has(family)) throw new Error(`family ${family} is split: ${line}`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`duplicate series: ${line}`);
    seen.add(key);
    families.get(family)!.samples.push({ name, labels, value });
  }
  for (const [name, family] of families) if (family.type === 'histogram') checkHistogram(name, family);
  return families;
}

function checkHistogram(name: string, family: Family): void {
  const series = new Map<string, Sample[]>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    if (s.name === `${name}_bucket` && le === undefined) throw new Error(`${name}_bucket without le`);
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  for (const [key, samples] of series) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    if (samples.find((s) => s.name === `${name}_sum`) === undefined || count === undefined) throw new Error(`${name}${key}: no _sum or _count`);
    let lastLe = -Infinity;
    let lastValue = 0;
    for (const b of buckets) {
      const le = parseNumber(b.labels.le!, b.labels.le!);
      if (!(le > lastLe) || b.value < lastValue) throw new Error(`${name}${key}: buckets not increasing`);
      lastLe = le;
      lastValue = b.value;
    }
    if (lastLe !== Infinity || lastValue !== count.value) throw new Error(`${name}${key}: +Inf bucket missing or not _count`);
  }
}

// ---- helpers ------------------------------------------------------------------------------------------------------

async function scrape(broker: Broker): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

/** The value of one series (0 when absent: a counter not yet moved). */
function value(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): number {
  const family = families.get(familyOf(sampleName, families) ?? sampleName);
  const hit = family?.samples.find((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  return hit?.value ?? 0;
}

function sumOver(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  return (families.get(name)?.samples ?? [])
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function kafkaFor(broker: Broker): Kafka {
  return new Kafka({ clientId: 'metrics-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 100 } });
}

describe('GET /metrics', () => {
  it('serves every documented family with its type, parsed by a strict text-format parser', async () => {
    const broker = await startWithHttp();
    const families = await scrape(broker);
    const expected: Record<string, string> = {
      kafka_network_request_total: 'counter',
      kafka_network_request_duration_seconds: 'histogram',
      kafka_server_brokertopicmetrics_messagesin_total: 'counter',
      kafka_server_brokertopicmetrics_bytesin_total: 'counter',
      kafka_server_brokertopicmetrics_bytesout_total: 'counter',
      kafka_server_socket_server_metrics_connection_count: 'gauge',
      kafka_log_log_size: 'gauge',
      kafka_log_log_logendoffset: 'gauge',
      kafka_log_log_logstartoffset: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroups: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroupsstable: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroupspreparingrebalance: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroupscompletingrebalance: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroupsempty: 'gauge',
      kafka_coordinator_group_groupmetadatamanager_numgroupsdead: 'gauge',
      kafka_consumergroup_current_offset: 'gauge',
      kafka_consumergroup_lag: 'gauge',
      kafka_log_logflushstats_logflush_duration_seconds: 'histogram',
      kafka_server_fetchsessioncache_numincrementalfetchsessions: 'gauge',
      kafka_server_fetchsessioncache_numincrementalfetchpartitionscached: 'gauge',
      kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total: 'counter',
      kafka_server_fetchsessioncache_incrementalfetches_total: 'counter',
      kafka_server_replicamanager_leadercount: 'gauge',
      kafka_server_replicamanager_underreplicatedpartitions: 'gauge',
      kafka_server_replicamanager_underminisrpartitioncount: 'gauge',
      kafka_controller_kafkacontroller_offlinepartitionscount: 'gauge',
      eddy_fault_rules: 'gauge',
      eddy_fault_injections_total: 'counter',
    };
    expect(Object.fromEntries([...families].map(([name, f]) => [name, f.type]))).toEqual(expected);
    // A single broker: nothing under-replicated or offline.
    expect(value(families, 'kafka_server_replicamanager_underreplicatedpartitions')).toBe(0);
    expect(value(families, 'kafka_controller_kafkacontroller_offlinepartitionscount')).toBe(0);
    for (const family of families.values()) expect(family.help).toBeTruthy();
  });

  it('the strict parser refuses malformed exposition text', () => {
    expect(() => parsePrometheusText('# TYPE a counter\na 1')).toThrow(/newline/);
    expect(() => parsePrometheusText('a 1\n')).toThrow(/before its TYPE/);
    expect(() => parsePrometheusText('# TYPE a counter\na{x="1} 1\n')).toThrow(/unterminated|expected/);
    expect(() => parsePrometheusText('# TYPE a counter\na{x="1"} one\n')).toThrow(/bad number/);
    expect(() => parsePrometheusText('# TYPE a counter\na 1\na 2\n')).toThrow(/duplicate/);
    expect(() => parsePrometheusText('# TYPE a counter\n# TYPE b gauge\nb 1\na 1\n')).toThrow(/split/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/increasing/);
  });

  it('counts exactly the records, bytes and Produce/Fetch requests kafkajs sent, and reports lag = end offset - committed', async () => {
    const broker = await startWithHttp();
    const topic = 'metrics-orders';
    await broker.createTopic(topic, { partitions: 2 });
    const before = await scrape(broker);
    expect(value(before, 'kafka_server_brokertopicmetrics_messagesin_total', { topic })).toBe(0);

    const kafka = kafkaFor(broker);
    const producer = kafka.producer();
    await producer.connect();
    const sends = [7, 11, 5];
    const n = sends.reduce((a, b) => a + b, 0);
    let sent = 0;
    for (const count of sends) {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ partition: (sent + i) % 2, key: `k${sent + i}`, value: `value-${sent + i}` })),
      });
      sent += count;
    }
    const during = await scrape(broker);
    expect(value(during, 'kafka_server_socket_server_metrics_connection_count', { listener: 'PLAINTEXT' })).toBeGreaterThanOrEqual(1);
    await producer.disconnect();

    const afterProduce = await scrape(broker);
    expect(value(afterProduce, 'kafka_server_brokertopicmetrics_messagesin_total', { topic })).toBe(n);
    const produceRequests = value(afterProduce, 'kafka_network_request_total', { api: 'Produce' }) - value(before, 'kafka_network_request_total', { api: 'Produce' });
    expect(produceRequests).toBe(sends.length);
    expect(value(afterProduce, 'kafka_network_request_duration_seconds_count', { api: 'Produce' })).toBe(value(afterProduce, 'kafka_network_request_total', { api: 'Produce' }));
    // A fresh topic's segments hold exactly the batches appended: bytes in = the partitions' log sizes.
    const logBytes = sumOver(afterProduce, 'kafka_log_log_size', { topic });
    expect(logBytes).toBeGreaterThan(0);
    expect(value(afterProduce, 'kafka_server_brokertopicmetrics_bytesin_total', { topic })).toBe(logBytes);
    const end0 = value(afterProduce, 'kafka_log_log_logendoffset', { topic, partition: '0' });
    const end1 = value(afterProduce, 'kafka_log_log_logendoffset', { topic, partition: '1' });
    expect([end0, end1]).toEqual([12, 11]);
    expect(value(afterProduce, 'kafka_log_log_logstartoffset', { topic, partition: '0' })).toBe(0);
    // acks=-1 with flushOnAckAll (the default) fsyncs: the flush histogram saw them.
    expect(value(afterProduce, 'kafka_log_logflushstats_logflush_duration_seconds_count')).toBeGreaterThan(0);

    // A consumer group reads everything once: bytes out = bytes in, and its lag is 0.
    const consumer = kafka.consumer({ groupId: 'metrics-readers', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let received = 0;
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async () => {
          if (++received === n) resolve();
        },
      });
    });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error(`consumed ${received} of ${n}`)), 15_000))]);
    await consumer.disconnect();

    // Another group's offsets set by the admin client (OffsetCommit with no members): lag is end offset - committed.
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'metrics-lagging', topic, partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '10' }] });
    await admin.disconnect();

    const after = await scrape(broker);
    expect(value(after, 'kafka_server_brokertopicmetrics_bytesout_total', { topic })).toBe(logBytes);
    expect(value(after, 'kafka_network_request_total', { api: 'Fetch' })).toBeGreaterThan(0);
    expect(value(after, 'kafka_consumergroup_current_offset', { consumergroup: 'metrics-readers', topic, partition: '0' })).toBe(end0);
    expect(value(after, 'kafka_consumergroup_lag', { consumergroup: 'metrics-readers', topic, partition: '0' })).toBe(0);
    expect(value(after, 'kafka_consumergroup_lag', { consumergroup: 'metrics-readers', topic, partition: '1' })).toBe(0);
    expect(value(after, 'kafka_consumergroup_current_offset', { consumergroup: 'metrics-lagging', topic, partition: '0' })).toBe(3);
    expect(value(after, 'kafka_consumergroup_lag', { consumergroup: 'metrics-lagging', topic, partition: '0' })).toBe(end0 - 3);
    expect(value(after, 'kafka_consumergroup_lag', { consumergroup: 'metrics-lagging', topic, partition: '1' })).toBe(end1 - 10);
    // Both groups have no members now: Empty.
    expect(value(after, 'kafka_coordinator_group_groupmetadatamanager_numgroups')).toBe(2);
    expect(value(after, 'kafka_coordinator_group_groupmetadatamanager_numgroupsempty')).toBe(2);
    expect(value(after, 'kafka_coordinator_group_groupmetadatamanager_numgroupsstable')).toBe(0);
    // Nothing else wrote the topic: the counters did not move since.
    expect(value(after, 'kafka_server_brokertopicmetrics_messagesin_total', { topic })).toBe(n);
  }, 30_000);

  it('puts a request\'s latency in its cumulative bucket and counts it once per API', async () => {
    const metrics = new BrokerMetrics();
    metrics.requestDone(0, 'Produce', performance.now() - 3); // 3 ms ago: above 2.5 ms, within 5 ms
    metrics.requestDone(0, 'Produce', performance.now() - 200); // 200 ms: within 0.25 s
    metrics.requestDone(3, 'Metadata', performance.now());
    const families = parsePrometheusText(await metrics.scrape());
    const bucket = (api: string, le: string) => value(families, 'kafka_network_request_duration_seconds_bucket', { api, le });
    expect([bucket('Produce', '0.0025'), bucket('Produce', '0.005'), bucket('Produce', '0.1'), bucket('Produce', '0.25'), bucket('Produce', '+Inf')]).toEqual([0, 1, 1, 2, 2]);
    expect(value(families, 'kafka_network_request_duration_seconds_sum', { api: 'Produce' })).toBeGreaterThanOrEqual(0.203);
    expect(value(families, 'kafka_network_request_total', { api: 'Produce' })).toBe(2);
    expect(value(families, 'kafka_network_request_total', { api: 'Metadata' })).toBe(1);
    expect(value(families, 'kafka_network_request_duration_seconds_count', { api: 'Metadata' })).toBe(1);
  });

  it('keeps one registry per broker: two brokers in a process count only their own traffic', async () => {
    const a = await startWithHttp();
    const b = await startWithHttp();
    await a.createTopic('only-on-a');
    const producer = kafkaFor(a).producer();
    await producer.connect();
    await producer.send({ topic: 'only-on-a', messages: [{ value: 'x' }, { value: 'y' }] });
    await producer.disconnect();
    expect(value(await scrape(a), 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'only-on-a' })).toBe(2);
    const fromB = await scrape(b);
    expect(fromB.get('kafka_server_brokertopicmetrics_messagesin_total')!.samples).toEqual([]);
    expect(value(fromB, 'kafka_network_request_total', { api: 'Produce' })).toBe(0);
  });

  it('shows fault rules by state and how many requests each acted on', async () => {
    const broker = await startWithHttp();
    await broker.createTopic('faulty');
    const once = broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER', count: 1 });
    const never = broker.faults.add({ api: 'DeleteRecords', latencyMs: 1 });
    const producer = kafkaFor(broker).producer();
    await producer.connect();
    // kafkajs retries the NOT_LEADER_OR_FOLLOWER answer after a metadata refresh: the rule acts once, then is
    // exhausted, and the record is written by the retry.
    await producer.send({ topic: 'faulty', messages: [{ value: 'x' }] });
    await producer.disconnect();
    expect(await broker.waitForOffset('faulty', 0, 1)).toBe(1n);
    const families = await scrape(broker);
    expect(value(families, 'eddy_fault_rules', { state: 'exhausted' })).toBe(1);
    expect(value(families, 'eddy_fault_rules', { state: 'active' })).toBe(1);
    expect(value(families, 'eddy_fault_rules', { state: 'expired' })).toBe(0);
    expect(value(families, 'eddy_fault_injections_total', { rule: String(once), api: 'Produce', action: 'error' })).toBe(1);
    expect(value(families, 'eddy_fault_injections_total', { rule: String(never), api: 'DeleteRecords', action: 'latency' })).toBe(0);
    broker.faults.clear();
    expect((await scrape(broker)).get('eddy_fault_injections_total')!.samples).toEqual([]);
  }, 30_000);

  it('times fsyncs through a LogFs that keeps each file\'s descriptor (the log cleaner\'s worker reads segments by it)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'eddy-metrics-fs-'));
    try {
      await writeFile(path.join(dir, 'segment.log'), 'batch bytes');
      const file = await new BrokerMetrics().timeFsyncs(nodeLogFs).open(path.join(dir, 'segment.log'), 'r');
      expect(typeof file.descriptor).toBe('number');
      expect(readFullySync(file.descriptor!, Buffer.alloc(16), 5, 6).toString()).toBe('bytes');
      await file.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('drops a deleted topic\'s counters and partition gauges', async () => {
    const broker = await startWithHttp();
    await broker.createTopic('short-lived');
    const kafka = kafkaFor(broker);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'short-lived', messages: [{ value: 'x' }] });
    await producer.disconnect();
    expect(value(await scrape(broker), 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'short-lived' })).toBe(1);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ['short-lived'] });
    await admin.disconnect();
    const after = await scrape(broker);
    expect(after.get('kafka_server_brokertopicmetrics_messagesin_total')!.samples.filter((s) => s.labels.topic === 'short-lived')).toEqual([]);
    expect(after.get('kafka_log_log_size')!.samples.filter((s) => s.labels.topic === 'short-lived')).toEqual([]);
  });
});
