// The fetch sessions section of `npm run bench` (issue 12, KIP-227): what an incremental fetch session saves a
// consumer of many partitions. Against a fresh broker (its own process, compiled JS), one topic with `partitions`
// partitions, each holding one small batch; a consumer on one connection, caught up (fetch offset = high
// watermark), sends `requests` Fetch v12 requests with max_wait_ms 0, one at a time:
//
//   sessionless   every request names every partition (session id 0, epoch -1), as kafkajs and librdkafka do
//   incremental   one full fetch with epoch 0 opens a session, then every request names no partition (epoch 1, 2 …)
//                 and the response carries none (nothing changed), as the Java consumer does once caught up
//   incremental, 1% changing   the same, with one record produced to `partitions / 100` partitions before each
//                 request (on another connection): those partitions come back with records and are named in the
//                 next request with their new fetch offset
//
// Per request: request bytes (the frame, size prefix included), response bytes (read from the socket) and broker
// CPU (utime + stime of the broker process from /proc/PID/stat, around the whole loop, divided by the count; the
// produce requests of the third case are included in its CPU). Bounded: `requests` requests per case.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { buildRecordBatch } from '../../test/protocol/records/batch-builder.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startBroker } from './broker-process.js';

export interface FetchSessionsBenchOptions {
  tmpRoot: string;
  mainJs?: string;
  partitions: number;
  requests: number;
  log: (line: string) => void;
}

export interface FetchSessionsCase {
  mode: string;
  requests: number;
  requestBytes: number;
  responseBytes: number;
  brokerCpuUsPerRequest: number;
  wallUsPerRequest: number;
  partitionsAnswered: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const TOPIC = 'fetch-sessions';
const FETCH_VERSION = 12;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const part = (partition: number, fetchOffset: bigint) => ({ partition, fetchOffset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 });

function fetchBody(sessionId: number, sessionEpoch: number, partitions: Array<[number, bigint]>) {
  return {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 50 << 20,
    isolationLevel: 0,
    sessionId,
    sessionEpoch,
    topics: partitions.length === 0 ? [] : [{ topic: TOPIC, partitions: partitions.map(([p, o]) => part(p, o)) }],
    forgottenTopicsData: [],
    rackId: '',
  };
}

export async function fetchSessionsBench(o: FetchSessionsBenchOptions): Promise<{ partitions: number; cases: FetchSessionsCase[] } | { error: string }> {
  const broker = await startBroker({ dataDir: path.join(o.tmpRoot, 'fetch-sessions-data'), mainJs: o.mainJs });
  const client = await TestClient.connect(broker.port, 'bench-fetch-sessions');
  const producer = await TestClient.connect(broker.port, 'bench-fetch-sessions-producer');
  try {
    const created = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: TOPIC, numPartitions: o.partitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000 });
    if (created.topics[0].errorCode !== 0) return { error: `CreateTopics: error ${created.topics[0].errorCode}` };
    const offsets = new Map<number, bigint>();
    const produceOne = async (partition: number) => {
      const records = buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: 'k', value: 'v'.repeat(100) }] });
      const res = await producer.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 5000, topicData: [{ name: TOPIC, partitionData: [{ index: partition, records }] }] });
      if (res.responses[0].partitionResponses[0].errorCode !== 0) throw new Error(`produce to ${partition} failed`);
    };
    for (let p = 0; p < o.partitions; p++) {
      await produceOne(p);
      offsets.set(p, 1n);
    }
    const all = (): Array<[number, bigint]> => [...offsets.entries()];
    const bytesOf = (body: unknown) => TestClient.encodeRequest(ApiKey.Fetch, FETCH_VERSION, body, 1, 'bench-fetch-sessions').length;

    const run = async (mode: string, next: (i: number) => Promise<Record<string, unknown>>, after: (res: any) => void): Promise<FetchSessionsCase> => {
      let requestBytes = 0;
      let answered = 0;
      const readBefore = client.socket.bytesRead;
      const cpuBefore = cpuSeconds(broker.pid);
      const started = process.hrtime.bigint();
      for (let i = 0; i < o.requests; i++) {
        const body = await next(i);
        requestBytes += bytesOf(body);
        const res = await client.send(ApiKey.Fetch, FETCH_VERSION, body);
        if (res.errorCode !== 0) throw new Error(`${mode}: Fetch error ${res.errorCode}`);
        answered += res.responses.reduce((n: number, t: any) => n + t.partitions.length, 0);
        after(res);
      }
      const wallUs = Number(process.hrtime.bigint() - started) / 1000;
      const cpuUs = (cpuSeconds(broker.pid) - cpuBefore) * 1e6;
      const c = {
        mode,
        requests: o.requests,
        requestBytes: requestBytes / o.requests,
        responseBytes: (client.socket.bytesRead - readBefore) / o.requests,
        brokerCpuUsPerRequest: cpuUs / o.requests,
        wallUsPerRequest: wallUs / o.requests,
        partitionsAnswered: answered / o.requests,
      };
      o.log(`fetch sessions ${mode}: ${c.requestBytes.toFixed(0)} B/request, ${c.responseBytes.toFixed(0)} B/response, ${c.brokerCpuUsPerRequest.toFixed(0)} us broker CPU/request`);
      return c;
    };

    const cases: FetchSessionsCase[] = [];
    // Warm-up, so neither case pays for first-time code paths.
    for (let i = 0; i < 20; i++) await client.send(ApiKey.Fetch, FETCH_VERSION, fetchBody(0, -1, all()));
    cases.push(await run('sessionless (every partition, every request)', async () => fetchBody(0, -1, all()), () => undefined));

    const openSession = async (): Promise<number> => {
      const res = await client.send(ApiKey.Fetch, FETCH_VERSION, fetchBody(0, 0, all()));
      if (res.sessionId === 0) throw new Error('the broker opened no fetch session');
      return res.sessionId;
    };
    let sessionId = await openSession();
    let epoch = 1;
    cases.push(await run('incremental, nothing changes', async () => fetchBody(sessionId, epoch++, []), () => undefined));

    const changing = Math.max(1, Math.floor(o.partitions / 100));
    sessionId = await openSession();
    epoch = 1;
    let named: Array<[number, bigint]> = [];
    cases.push(
      await run(
        `incremental, ${changing} partitions (1%) get a record before each request`,
        async (i) => {
          for (let k = 0; k < changing; k++) await produceOne((i * changing + k) % o.partitions);
          return fetchBody(sessionId, epoch++, named);
        },
        (res) => {
          // The partitions that came back with records are named next time with their new fetch offset.
          named = [];
          for (const t of res.responses) for (const p of t.partitions) if (p.records.length > 0) named.push([p.partitionIndex, p.highWatermark]);
        },
      ),
    );
    return { partitions: o.partitions, cases };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    client.close();
    producer.close();
    await broker.stop(30_000);
  }
}

export function renderFetchSessions(r: { partitions: number; cases: FetchSessionsCase[] } | { error: string }): string[] {
  if ('error' in r) return [`fetch sessions: ${r.error}`, ''];
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return [
    `| Fetch v12, ${n(r.partitions)} partitions, caught-up consumer, max_wait 0 | requests | request B | response B | partitions answered | broker CPU us/request | wall us/request |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.cases.map((c) => `| ${c.mode} | ${n(c.requests)} | ${n(c.requestBytes)} | ${n(c.responseBytes)} | ${n(c.partitionsAnswered, 1)} | ${n(c.brokerCpuUsPerRequest)} | ${n(c.wallUsPerRequest)} |`),
    '',
  ];
}
