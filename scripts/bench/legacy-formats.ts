// The legacy formats section of `npm run bench` (issue 12): produce and fetch throughput through the magic 0/1 paths
// (up-conversion on Produce v2, down-conversion on Fetch v3 and v1) beside RecordBatch v2, on one connection to a
// fresh broker (its own process, compiled JS), from the raw test client so the client's own cost stays small:
//
//   produce   `batches` requests of 100 records x 100 B each, 16 in flight, acks=1, one partition per case:
//             v2 batch (Produce v7) / magic-1 message set (Produce v2) / v2 gzip batch / magic-1 gzip wrapper
//   fetch     the uncompressed and gzip topics read back from offset 0 with 1 MiB per request, one request at a
//             time: Fetch v11 (v2 as stored) / Fetch v3 (down-converted to magic 1) / Fetch v1 (magic 0)
//
// Per case: records/s, MB/s of record payload (key + value), and broker CPU (utime + stime from /proc/PID/stat)
// per 1000 records. The request bodies are built once, before the clock starts. Bounded by `batches`.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { crc32 } from '@node-rs/crc32';
import { gzipSync } from 'node:zlib';
import { TestClient } from '../../test/helpers/kafka-test-client.js';
import { buildRecordBatch, fixCrc } from '../../test/protocol/records/batch-builder.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startBroker } from './broker-process.js';

export interface LegacyBenchOptions {
  tmpRoot: string;
  mainJs?: string;
  batches: number;
  log: (line: string) => void;
}

export interface LegacyCase {
  mode: string;
  records: number;
  recordsPerSec: number;
  payloadMBps: number;
  brokerCpuMsPer1000: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const RECORDS_PER_BATCH = 100;
const VALUE = 'x'.repeat(96);
const IN_FLIGHT = 16;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** One magic-1 message (offset, size, crc, magic, attributes, timestamp, key, value). */
function legacyMessage(offset: bigint, attributes: number, timestamp: bigint, key: Buffer | null, value: Buffer): Buffer {
  const body = Buffer.alloc(2 + 8 + 4 + (key?.length ?? 0) + 4 + value.length);
  body.writeInt8(1, 0);
  body.writeInt8(attributes, 1);
  body.writeBigInt64BE(timestamp, 2);
  let p = 10;
  body.writeInt32BE(key === null ? -1 : key.length, p);
  p += 4;
  if (key !== null) p += key.copy(body, p);
  body.writeInt32BE(value.length, p);
  value.copy(body, p + 4);
  const framed = Buffer.alloc(16 + body.length);
  framed.writeBigInt64BE(offset, 0);
  framed.writeInt32BE(4 + body.length, 8);
  framed.writeUInt32BE(crc32(body) >>> 0, 12);
  body.copy(framed, 16);
  return framed;
}

function keyOf(i: number): Buffer {
  return Buffer.from(`key-${String(i).padStart(6, '0')}`);
}

function legacySet(gzip: boolean): Buffer {
  const now = BigInt(Date.now());
  const messages = Array.from({ length: RECORDS_PER_BATCH }, (_, i) => legacyMessage(gzip ? BigInt(i) : 0n, 0, now, keyOf(i), Buffer.from(VALUE)));
  const set = Buffer.concat(messages);
  return gzip ? legacyMessage(BigInt(RECORDS_PER_BATCH - 1), 1, now, null, gzipSync(set)) : set;
}

function v2Batch(gzip: boolean): Buffer {
  const batch = buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: Array.from({ length: RECORDS_PER_BATCH }, (_, i) => ({ key: keyOf(i), value: VALUE })) });
  if (!gzip) return batch;
  const out = Buffer.concat([batch.subarray(0, 61), gzipSync(batch.subarray(61))]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE(1, 21);
  return fixCrc(out);
}

const PAYLOAD_BYTES_PER_RECORD = keyOf(0).length + VALUE.length;

export async function legacyFormatsBench(o: LegacyBenchOptions): Promise<{ cases: LegacyCase[] } | { error: string }> {
  const broker = await startBroker({ dataDir: path.join(o.tmpRoot, 'legacy-formats-data'), mainJs: o.mainJs });
  const client = await TestClient.connect(broker.port, 'bench-legacy-formats');
  const cases: LegacyCase[] = [];
  const measure = async (mode: string, records: () => Promise<number>): Promise<void> => {
    const cpuBefore = cpuSeconds(broker.pid);
    const started = process.hrtime.bigint();
    const count = await records();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const c: LegacyCase = {
      mode,
      records: count,
      recordsPerSec: count / seconds,
      payloadMBps: (count * PAYLOAD_BYTES_PER_RECORD) / seconds / 1e6,
      brokerCpuMsPer1000: ((cpuSeconds(broker.pid) - cpuBefore) * 1e3 * 1000) / count,
    };
    o.log(`legacy formats ${mode}: ${Math.round(c.recordsPerSec)} records/s, ${c.brokerCpuMsPer1000.toFixed(2)} ms broker CPU per 1000 records`);
    cases.push(c);
  };
  try {
    const produceCases = [
      { topic: 'legacy-v2', version: 7, records: v2Batch(false), mode: 'produce v7, RecordBatch v2' },
      { topic: 'legacy-m1', version: 2, records: legacySet(false), mode: 'produce v2, magic-1 message set (up-converted)' },
      { topic: 'legacy-v2-gzip', version: 7, records: v2Batch(true), mode: 'produce v7, RecordBatch v2 gzip' },
      { topic: 'legacy-m1-gzip', version: 2, records: legacySet(true), mode: 'produce v2, magic-1 gzip wrapper (up-converted, recompressed)' },
    ];
    const created = await client.send(ApiKey.CreateTopics, 4, {
      topics: produceCases.map((c) => ({ name: c.topic, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })),
      timeoutMs: 60_000,
    });
    for (const t of created.topics) if (t.errorCode !== 0) return { error: `CreateTopics ${t.name}: error ${t.errorCode}` };
    for (const pc of produceCases) {
      const body = { acks: 1, timeoutMs: 5000, topicData: [{ name: pc.topic, partitionData: [{ index: 0, records: pc.records }] }] };
      // Warm-up: the first requests of each path pay for module loading and JIT.
      for (let i = 0; i < 20; i++) await client.send(ApiKey.Produce, pc.version, body);
      await measure(pc.mode, async () => {
        let sent = 0;
        const inFlight: Array<Promise<any>> = [];
        while (sent < o.batches) {
          while (inFlight.length < IN_FLIGHT && sent < o.batches) {
            inFlight.push(client.send(ApiKey.Produce, pc.version, body));
            sent++;
          }
          const res = await inFlight.shift()!;
          if (res.responses[0].partitionResponses[0].errorCode !== 0) throw new Error(`${pc.mode}: error ${res.responses[0].partitionResponses[0].errorCode}`);
        }
        for (const p of inFlight) await p;
        return o.batches * RECORDS_PER_BATCH;
      });
    }
    const fetchCases: Array<[string, number, string]> = [];
    for (const topic of ['legacy-v2', 'legacy-v2-gzip']) {
      for (const [version, label] of [[11, 'v2 as stored'], [3, 'down-converted to magic 1'], [1, 'down-converted to magic 0']] as const) {
        fetchCases.push([topic, version, `fetch v${version} of ${topic === 'legacy-v2' ? 'uncompressed' : 'gzip'} batches, ${label}`]);
      }
    }
    for (const [topic, version, mode] of fetchCases) {
      const total = (o.batches + 20) * RECORDS_PER_BATCH;
      await measure(mode, async () => {
        let offset = 0n;
        let records = 0;
        for (let i = 0; i < total && offset < BigInt(total); i++) {
          const res = await client.send(ApiKey.Fetch, version, {
            maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
            topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
            forgottenTopicsData: [], rackId: '',
          });
          const p = res.responses[0].partitions[0];
          if (p.errorCode !== 0) throw new Error(`${mode}: error ${p.errorCode}`);
          const next = version >= 4 ? nextOffsetV2(p.records) : nextOffsetLegacy(p.records);
          if (next <= offset) throw new Error(`${mode}: no progress at offset ${offset}`);
          records += Number(next - offset);
          offset = next;
        }
        return records;
      });
    }
    return { cases };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    client.close();
    await broker.stop(30_000);
  }
}

/** The offset after the last whole v2 batch in `records`. */
function nextOffsetV2(records: Buffer): bigint {
  let pos = 0;
  let next = 0n;
  while (pos + 61 <= records.length) {
    const size = 12 + records.readInt32BE(pos + 8);
    if (pos + size > records.length) break;
    next = records.readBigInt64BE(pos) + BigInt(records.readInt32BE(pos + 23)) + 1n;
    pos += size;
  }
  return next;
}

/** The offset after the last whole message (wrappers carry their last offset). */
function nextOffsetLegacy(records: Buffer): bigint {
  let pos = 0;
  let next = 0n;
  while (pos + 12 <= records.length) {
    const size = 12 + records.readInt32BE(pos + 8);
    if (pos + size > records.length) break;
    next = records.readBigInt64BE(pos) + 1n;
    pos += size;
  }
  return next;
}

export function renderLegacyFormats(r: { cases: LegacyCase[] } | { error: string }): string[] {
  if ('error' in r) return [`legacy formats: ${r.error}`, ''];
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return [
    `| legacy formats (issue 12), one connection, 100 x 100 B records per batch | records | records/s | payload MB/s | broker CPU ms / 1000 records |`,
    '|---|---:|---:|---:|---:|',
    ...r.cases.map((c) => `| ${c.mode} | ${n(c.records)} | ${n(c.recordsPerSec)} | ${n(c.payloadMBps, 1)} | ${n(c.brokerCpuMsPer1000, 2)} |`),
    '',
  ];
}
