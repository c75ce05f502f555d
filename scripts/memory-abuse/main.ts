// Issue 8, defect 5: RSS of the compiled broker (dist/cli/main.js, run `npm run build` first) before, during and
// after abusive connections, read from /proc/<pid>/status (VmRSS). Linux only. Run: npx tsx scripts/memory-abuse/main.ts
//
//   1. a topic with ~200 MB of data (one segment: 200 batches of ~1 MB)
//   2. 12 connections, each sending a 100 MB size prefix followed by one byte every 100 ms
//   3. 6 connections that send a Fetch for INT32_MAX bytes (request and partition) and never read
//   4. all of them closed (or closed by the broker), then RSS after a few seconds
//
// The broker runs with its defaults except a short connections.max.idle.ms (so non-reading peers are dropped within
// the run) and the read timeout given by READ_TIMEOUT_MS. Figures go to stdout; nothing is asserted.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { CLI_PATH, freePort } from '../../test/helpers/spawn-broker.js';
import { buildRecordBatch } from '../../test/protocol/records/batch-builder.js';
import { ApiKey } from '../../src/protocol/generated/index.js';

const READ_TIMEOUT_MS = Number(process.env.READ_TIMEOUT_MS ?? 10_000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 10_000);
const DATA_MB = Number(process.env.DATA_MB ?? 200);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-rss-'));
  const port = await freePort();
  const args = [CLI_PATH, 'start', '--port', String(port), '--data-dir', dataDir, '--log-level', 'warn', '--flush-on-ack-all', 'false',
    '--connections-max-idle-ms', String(IDLE_MS), '--socket-request-read-timeout-ms', String(READ_TIMEOUT_MS)];
  const nodeArgs = (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let warnings = 0;
  child.stdout.on('data', (d) => (warnings += String(d).split('\n').filter((l) => l.includes('"level":40')).length));
  const pid = child.pid!;
  const sockets: net.Socket[] = [];
  try {
    let setup: TestClient | null = null;
    for (let i = 0; i < 100 && setup === null; i++) {
      setup = await TestClient.connect(port).catch(() => null);
      if (setup === null) await sleep(100);
    }
    if (setup === null) throw new Error('broker did not start');
    const figures: Array<[string, number]> = [];
    const mark = (label: string) => {
      figures.push([label, rssMb(pid)]);
      console.log(`${label.padEnd(48)} ${String(rssMb(pid)).padStart(6)} MB`);
    };
    mark('idle (started)');
    await setup.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    const value = Buffer.alloc(1000 * 1024, 7);
    const batch = buildRecordBatch({ records: [{ value }] });
    for (let i = 0; i < DATA_MB; i++) {
      await setup.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: 'big', partitionData: [{ index: 0, records: batch }] }] });
    }
    setup.close();
    await sleep(2000);
    mark(`idle after producing ${DATA_MB} MB`);

    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(100_000_000, 0);
    const trickling: net.Socket[] = [];
    for (let i = 0; i < 12; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.write(prefix);
      trickling.push(s);
      sockets.push(s);
    }
    const trickle = setInterval(() => {
      for (const s of trickling) if (!s.destroyed) s.write(Buffer.from([1]));
    }, 100);
    await sleep(2000);
    mark('12 connections: 100 MB prefix + trickle');

    const fetch = TestClient.encodeRequest(ApiKey.Fetch, 11, {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 0x7fffffff, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [], rackId: '',
    }, 1);
    for (let i = 0; i < 6; i++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => undefined);
      s.pause();
      s.write(fetch);
      sockets.push(s);
    }
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      await sleep(100);
      peak = Math.max(peak, rssMb(pid));
    }
    mark('+ 6 non-reading INT32_MAX fetches (after 3 s)');
    console.log(`${'peak while abusive connections were open'.padEnd(48)} ${String(peak).padStart(6)} MB`);
    const waitMs = Math.max(READ_TIMEOUT_MS, IDLE_MS) + 2000;
    for (let i = 0; i < waitMs / 100; i++) {
      await sleep(100);
      peak = Math.max(peak, rssMb(pid));
    }
    clearInterval(trickle);
    mark(`after the broker's timeouts (${waitMs} ms)`);
    for (const s of sockets) s.destroy();
    await sleep(5000);
    mark('5 s after every abusive connection closed');
    await sleep(10000);
    mark('15 s after');
    console.log(`peak ${peak} MB; warn lines ${warnings}`);
  } finally {
    for (const s of sockets) s.destroy();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
