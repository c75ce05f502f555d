// The cluster section of `npm run bench` (issue 14): what replication costs. A local etcd (Debian's etcd-server) and
// three broker processes (`eddy start --etcd`), next to one single broker started the same way, in the same run:
//
//   figure                                    how
//   acks=all produce throughput, RF=3         kcat (librdkafka) -X acks=all, `messages` x `messageBytes` B, linger
//   vs one broker acks=all (ratio)            5 ms, into a 3-partition topic: RF=3 on the cluster, RF=1 on the
//                                             single broker; payload MB / wall time of the kcat run
//   e2e latency p50/p99, acks=all             the latency tool (latency.c, librdkafka, linger 0) producing at a
//   (RF=3 and one broker)                     fixed rate with acks=all and consuming in the same process: send →
//                                             receive. The rate is modest (500/s): with linger 0 every message
//                                             is its own Produce, and a connection's requests are answered one at
//                                             a time (as in Kafka), each waiting for the followers' next fetch.
//
// Everything on 127.0.0.1; every run bounded (kcat and the latency tool have timeouts); etcd and the brokers are
// stopped at the end whatever happens.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { startBroker, type BrokerProcess } from './broker-process.js';
import { run, sleep, spawnTracked, waitExit } from './proc.js';

export interface ClusterBenchOptions {
  tmpRoot: string;
  mainJs?: string;
  messages: number;
  messageBytes: number;
  latency: { bin: string | undefined; error?: string; rate: number; seconds: number; size: number };
  log: (line: string) => void;
}

export type ClusterBenchResult =
  | {
      messages: number;
      messageBytes: number;
      singleAcksAllMBps: number;
      clusterAcksAllMBps: number;
      ratio: number;
      latency: Record<string, number> | { error: string };
      singleLatency: Record<string, number> | { error: string };
    }
  | { error: string };

const ETCD_BINARY = '/usr/bin/etcd';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A local etcd for the run: free ports, its own data dir, ready when /health answers (bounded). */
async function startEtcd(dir: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  const child = spawnTracked(ETCD_BINARY, [
    '--data-dir',
    path.join(dir, 'etcd'),
    '--listen-client-urls',
    endpoint,
    '--advertise-client-urls',
    endpoint,
    '--listen-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${peerPort}`,
    '--initial-cluster',
    `default=http://127.0.0.1:${peerPort}`,
  ]);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const healthy = await fetch(`${endpoint}/health`).then(
      async (r) => (await r.text()).includes('"health":"true"'),
      () => false,
    );
    if (healthy) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`etcd did not become healthy at ${endpoint}`);
    }
    await sleep(100);
  }
  return {
    endpoint,
    async stop() {
      child.kill('SIGTERM');
      await waitExit(child, 5000).catch(() => child.kill('SIGKILL'));
    },
  };
}

async function createTopic(bootstrap: string[], topic: string, partitions: number, replicationFactor: number): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-cluster', brokers: bootstrap, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor }], waitForLeaders: true });
    // Every partition led and its ISR full before measuring (followers have fetched once).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const md = await admin.fetchTopicMetadata({ topics: [topic] });
      if (md.topics[0]!.partitions.every((p) => p.leader >= 0 && p.isr.length === replicationFactor)) return;
      if (Date.now() > deadline) throw new Error(`${topic}: ISR not full after 30 s`);
      await sleep(100);
    }
  } finally {
    await admin.disconnect();
  }
}

/** One run of the latency tool with acks=all against `bootstrap` (the topic exists). */
async function measureLatency(options: ClusterBenchOptions, bootstrap: string, topic: string): Promise<Record<string, number> | { error: string }> {
  if (options.latency.bin === undefined) return { error: options.latency.error ?? 'no latency tool' };
  const { rate, seconds, size } = options.latency;
  const r = await run(
    options.latency.bin,
    [bootstrap, topic, String(rate), String(Math.round(rate * seconds)), String(size), '-1', String(seconds + 5), String(Math.round(rate / 2))],
    (seconds + 60) * 1000,
  );
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  } catch {
    return { error: `latency tool failed (exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-300)}` };
  }
}

/** Payload MB/s of one kcat acks=all run producing the input file into `topic`. */
async function produceMBps(bootstrap: string, topic: string, input: string, totalMB: number): Promise<number> {
  const produced = await run('kcat', ['-b', bootstrap, '-P', '-t', topic, '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-l', input], 600_000);
  if (produced.code !== 0) throw new Error(`kcat produce to ${topic} failed: ${produced.stderr.slice(-500)}`);
  return totalMB / produced.seconds;
}

export async function clusterBench(options: ClusterBenchOptions): Promise<ClusterBenchResult> {
  const dir = mkdtempSync(path.join(options.tmpRoot, 'cluster-'));
  const started: BrokerProcess[] = [];
  let etcd: { stop(): Promise<void> } | undefined;
  try {
    const input = path.join(dir, 'input.txt');
    const payload = 'x'.repeat(options.messageBytes);
    writeFileSync(input, `${Array.from({ length: options.messages }, () => payload).join('\n')}\n`);
    const totalMB = (options.messages * options.messageBytes) / 1e6;

    // One broker alone first: the baseline of the ratio.
    const single = await startBroker({ dataDir: path.join(dir, 'single'), mainJs: options.mainJs });
    started.push(single);
    await createTopic([single.bootstrap], 'acks-all', 3, 1);
    const singleAcksAllMBps = await produceMBps(single.bootstrap, 'acks-all', input, totalMB);
    await createTopic([single.bootstrap], 'latency-rf1', 1, 1);
    const singleLatency = await measureLatency(options, single.bootstrap, 'latency-rf1');
    await single.stop();
    started.length = 0;
    options.log(`cluster: single broker acks=all ${singleAcksAllMBps.toFixed(1)} MB/s`);

    const e = await startEtcd(dir);
    etcd = e;
    for (const nodeId of [1, 2, 3]) {
      started.push(
        await startBroker({
          dataDir: path.join(dir, `broker-${nodeId}`),
          mainJs: options.mainJs,
          extraArgs: ['--node-id', String(nodeId), '--etcd', e.endpoint, '--etcd-prefix', '/bench'],
        }),
      );
    }
    const bootstrap = started.map((b) => b.bootstrap);
    await createTopic(bootstrap, 'acks-all', 3, 3);
    const clusterAcksAllMBps = await produceMBps(bootstrap.join(','), 'acks-all', input, totalMB);
    options.log(`cluster: 3 brokers RF=3 acks=all ${clusterAcksAllMBps.toFixed(1)} MB/s (${((clusterAcksAllMBps / singleAcksAllMBps) * 100).toFixed(0)}% of one broker)`);

    await createTopic(bootstrap, 'latency-rf3', 1, 3);
    const latency = await measureLatency(options, bootstrap.join(','), 'latency-rf3');
    if (!('error' in latency)) options.log(`cluster: RF=3 acks=all e2e latency p50 ${latency.p50Ms} ms p99 ${latency.p99Ms} ms`);
    return { messages: options.messages, messageBytes: options.messageBytes, singleAcksAllMBps, clusterAcksAllMBps, ratio: clusterAcksAllMBps / singleAcksAllMBps, latency, singleLatency };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    await Promise.all(started.map((b) => b.stop().catch(() => undefined)));
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function renderCluster(r: ClusterBenchResult): string[] {
  if ('error' in r) return [`cluster: ${r.error}`, ''];
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const lat = (l: Record<string, number> | { error: string }): string =>
    'error' in l ? `n/a (${String(l.error)})` : `${n(l.p50Ms!, 2)} / ${n(l.p99Ms!, 2)} ms (ack ${n(l.ackP50Ms!, 2)} / ${n(l.ackP99Ms!, 2)} ms)`;
  return [
    `| kcat acks=all, ${n(r.messages)} x ${r.messageBytes} B, 3 partitions | produce MB/s | e2e latency p50 / p99, acks=all, 1 partition |`,
    '|---|---:|---:|',
    `| one broker (RF=1) | ${n(r.singleAcksAllMBps, 1)} | ${lat(r.singleLatency)} |`,
    `| three brokers, RF=3, etcd | ${n(r.clusterAcksAllMBps, 1)} (${n(r.ratio * 100)}% of one broker) | ${lat(r.latency)} |`,
    '',
  ];
}
