// Many partitions on one broker (issue 8): T topics x P partitions created with CreateTopics, one small batch
// produced to every partition, the broker stopped cleanly and restarted, then killed (kill -9) and restarted, each
// restart checked by fetching a sample of partitions. Reports creation time, produce time, start times, RSS and the
// open-fd count of the broker process (/proc/<pid>/fd), optionally under a lower fd limit (`--fd-limit 1024` runs
// the broker under `ulimit -n 1024`).
//
//   npx tsx scripts/bench/many-partitions.ts [--topics 10000] [--partitions 10] [--fd-limit N] [--acks 1]
//                                           [--topics-per-request 100] [--main-js path/to/cli/main.js]
//
// The broker is the compiled CLI (dist/cli/main.js; `npm run build` first). Everything is bounded: each request has
// a timeout, loops run a fixed number of times, the broker is killed when the script exits.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { buildRecordBatch } from '../../test/protocol/records/batch-builder.js';
import { startBroker, type BrokerProcess } from './broker-process.js';

const { values: opts } = parseArgs({
  options: {
    topics: { type: 'string', default: '10000' },
    partitions: { type: 'string', default: '10' },
    'fd-limit': { type: 'string' },
    acks: { type: 'string', default: '1' },
    'topics-per-request': { type: 'string', default: '100' },
    'main-js': { type: 'string' },
    'sample-every': { type: 'string', default: '97' },
    'skip-produce': { type: 'boolean', default: false },
    'skip-restarts': { type: 'boolean', default: false },
  },
});
const topics = Number(opts.topics);
const partitionsPerTopic = Number(opts.partitions);
const fdLimit = opts['fd-limit'] !== undefined ? Number(opts['fd-limit']) : undefined;
const acks = Number(opts.acks);
const topicsPerRequest = Number(opts['topics-per-request']);
const sampleEvery = Number(opts['sample-every']);
const total = topics * partitionsPerTopic;
const topicName = (i: number): string => `mp-${String(i).padStart(6, '0')}`;

function say(msg: string): void {
  process.stderr.write(`[many-partitions ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function start(dataDir: string): Promise<BrokerProcess> {
  return startBroker({
    dataDir,
    fdLimit,
    mainJs: opts['main-js'],
    flushOnAckAll: true,
    timeoutMs: 600_000,
    extraArgs: ['--auto-create-topics', 'false'],
  });
}

async function createAll(client: TestClient, broker: BrokerProcess): Promise<{ seconds: number; maxFds: number; failed: number }> {
  const started = performance.now();
  let maxFds = 0;
  let failed = 0;
  for (let first = 0; first < topics; first += topicsPerRequest) {
    const names = Array.from({ length: Math.min(topicsPerRequest, topics - first) }, (_, i) => topicName(first + i));
    const res = await client.send(ApiKey.CreateTopics, 7, {
      topics: names.map((name) => ({ name, numPartitions: partitionsPerTopic, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 600_000,
    });
    for (const t of res.topics as Array<{ name: string; errorCode: number; errorMessage: string | null }>) {
      if (t.errorCode !== 0) {
        failed++;
        if (failed <= 3) say(`create ${t.name}: error ${t.errorCode} ${t.errorMessage}`);
      }
    }
    maxFds = Math.max(maxFds, openFds(broker.pid));
    if ((first / topicsPerRequest) % 20 === 0) say(`created ${first + names.length} topics, ${openFds(broker.pid)} fds, RSS ${mb(broker.memory().rssBytes)} MB`);
  }
  return { seconds: (performance.now() - started) / 1000, maxFds, failed };
}

/** One Produce per `topicsPerRequest` topics, one batch (one 100-byte record) per partition. */
async function produceAll(client: TestClient, broker: BrokerProcess): Promise<{ seconds: number; maxFds: number; errors: number }> {
  const started = performance.now();
  let maxFds = 0;
  let errors = 0;
  for (let first = 0; first < topics; first += topicsPerRequest) {
    const count = Math.min(topicsPerRequest, topics - first);
    const topicData = Array.from({ length: count }, (_, i) => ({
      name: topicName(first + i),
      partitionData: Array.from({ length: partitionsPerTopic }, (_, p) => ({
        index: p,
        records: buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: `k${p}`, value: Buffer.alloc(100, p) }] }),
      })),
    }));
    const res = await client.send(ApiKey.Produce, 9, { acks, timeoutMs: 60_000, topicData });
    for (const t of res.responses) for (const p of t.partitionResponses) if (p.errorCode !== 0) errors++;
    maxFds = Math.max(maxFds, openFds(broker.pid));
  }
  return { seconds: (performance.now() - started) / 1000, maxFds, errors };
}

/** Fetches every `sampleEvery`-th partition from offset 0: how many hold exactly the one produced batch. */
async function verifySample(client: TestClient, expectRecords: boolean): Promise<{ checked: number; ok: number }> {
  let checked = 0;
  let ok = 0;
  for (let i = 0; i < total; i += sampleEvery) {
    const topic = topicName(Math.floor(i / partitionsPerTopic));
    const partition = i % partitionsPerTopic;
    const res = await client.send(ApiKey.Fetch, 11, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic, partitions: [{ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = res.responses[0].partitions[0];
    checked++;
    if (p.errorCode === 0 && p.highWatermark === (expectRecords ? 1n : 0n)) ok++;
  }
  return { checked, ok };
}

async function restart(dataDir: string, how: 'clean' | 'kill -9', broker: BrokerProcess, expectRecords: boolean) {
  const stopStarted = performance.now();
  if (how === 'clean') await broker.stop(600_000);
  else await broker.kill();
  const stopSeconds = (performance.now() - stopStarted) / 1000;
  const next = await start(dataDir);
  const client = await TestClient.connect(next.port);
  const sample = await verifySample(client, expectRecords);
  const figures = {
    how,
    stopSeconds,
    startupMs: next.startupMs,
    spawnToListeningMs: next.spawnToListeningMs,
    rssMB: mb(next.memory().rssBytes),
    fds: openFds(next.pid),
    sample,
  };
  say(`restart (${how}): stop ${stopSeconds.toFixed(1)} s, start ${(next.startupMs / 1000).toFixed(1)} s, RSS ${figures.rssMB} MB, ${figures.fds} fds, sample ${sample.ok}/${sample.checked}`);
  client.close();
  return { broker: next, figures };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-many-partitions-'));
  say(`${topics} topics x ${partitionsPerTopic} partitions = ${total}; fd limit ${fdLimit ?? 'inherited'}; data dir ${dataDir}`);
  let broker = await start(dataDir);
  try {
    const idle = broker.memory();
    const client = await TestClient.connect(broker.port);
    const created = await createAll(client, broker);
    const afterCreate = broker.memory();
    say(`created ${total} partitions in ${created.seconds.toFixed(1)} s (${created.failed} topics failed), RSS ${mb(afterCreate.rssBytes)} MB, max fds ${created.maxFds}`);
    const produced = opts['skip-produce'] ? undefined : await produceAll(client, broker);
    const afterProduce = broker.memory();
    if (produced) say(`produced 1 batch to each partition in ${produced.seconds.toFixed(1)} s (${produced.errors} errors), RSS ${mb(afterProduce.rssBytes)} MB, max fds ${produced.maxFds}`);
    const sample = await verifySample(client, produced !== undefined);
    client.close();
    const restarts = [];
    if (!opts['skip-restarts']) {
      for (const how of ['clean', 'kill -9'] as const) {
        const r = await restart(dataDir, how, broker, produced !== undefined);
        broker = r.broker;
        restarts.push(r.figures);
      }
    }
    const result = {
      topics,
      partitionsPerTopic,
      partitions: total,
      fdLimit: fdLimit ?? null,
      rssIdleMB: mb(idle.rssBytes),
      create: { ...created, rssMB: mb(afterCreate.rssBytes), rssPerPartitionBytes: Math.round((afterCreate.rssBytes - idle.rssBytes) / total) },
      produce: produced && { ...produced, acks, rssMB: mb(afterProduce.rssBytes), peakRssMB: mb(afterProduce.hwmBytes) },
      sample,
      restarts,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    await broker.stop(600_000);
  } finally {
    await broker.kill().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`many-partitions: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
