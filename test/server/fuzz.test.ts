// Server-level fuzzing: mutated real-client frames (from the wire corpus) are sent to a running broker. Whatever
// each one does — an error code, a closed connection, a long poll — the broker must keep serving a well-behaved
// client, keep the data it acknowledged, and still shut down promptly. Deterministic and bounded.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { readRequestHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const WIRE = path.resolve(__dirname, '../fixtures/wire');
const CONNECTIONS = 40;
const FRAMES_PER_CONNECTION = 8;

function corpusRequests(): Buffer[] {
  const frames: Buffer[] = [];
  for (const api of readdirSync(WIRE, { withFileTypes: true })) {
    if (!api.isDirectory()) continue;
    for (const file of readdirSync(path.join(WIRE, api.name))) {
      if (file.endsWith('-request.hex')) frames.push(Buffer.from(readFileSync(path.join(WIRE, api.name, file), 'utf8').trim(), 'hex'));
    }
  }
  return frames;
}

function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function sizePrefixed(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

let tb: TestBroker;
let brokerErrors: string[];
beforeEach(async () => {
  brokerErrors = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => brokerErrors.push(line) });
  tb = await startTestBroker({ numPartitions: 2, logger });
});
afterEach(async () => {
  await tb.stop();
});

describe('server fuzzing from the wire corpus', () => {
  it('keeps serving and keeps acknowledged data while clients send mutated frames', async () => {
    const good = await TestClient.connect(tb.port);
    await good.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'keep', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    const acked = await good.send(ApiKey.Produce, 7, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'keep', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: 'precious' }] }) }] }] });
    expect(acked.responses[0].partitionResponses[0].errorCode).toBe(0);

    const frames = corpusRequests();
    const rand = prng(0xfeed);
    const sockets: net.Socket[] = [];
    for (let c = 0; c < CONNECTIONS; c++) {
      const socket = net.connect({ host: '127.0.0.1', port: tb.port });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      sockets.push(socket);
      const parts: Buffer[] = [];
      for (let f = 0; f < FRAMES_PER_CONNECTION; f++) {
        const body = Buffer.from(frames[Math.floor(rand() * frames.length)]!);
        // Keep the header's api key/version intact most of the time so mutations reach the handlers.
        const from = rand() < 0.8 ? 8 : 0;
        for (let i = 0; i < 1 + Math.floor(rand() * 3); i++) {
          const at = from + Math.floor(rand() * Math.max(1, body.length - from));
          if (at < body.length) body[at] = Math.floor(rand() * 256);
        }
        parts.push(sizePrefixed(body));
      }
      socket.write(Buffer.concat(parts));
    }
    // Give the broker time to chew through everything, then check it is healthy.
    await new Promise((r) => setTimeout(r, 500));
    const md = await good.send(ApiKey.Metadata, 9, { topics: [{ name: 'keep' }], allowAutoTopicCreation: false });
    expect(md.topics[0].errorCode).toBe(0);
    const fetched = await good.send(ApiKey.Fetch, 11, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 'keep', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' });
    expect(fetched.responses[0].partitions[0].highWatermark).toBeGreaterThanOrEqual(1n);
    for (const s of sockets) s.destroy();
    good.close();
    // Shutdown must not hang on whatever long polls the mutations started (the test timeout would catch it).
    await tb.stop();
    // Bad input is the client's fault: it may be logged at warn, never as a broker fault (error).
    expect(brokerErrors).toEqual([]);
  });

  it('answers structurally valid requests with hostile field values without a broker fault', async () => {
    const rand = prng(0xbeef);
    const pick = <T>(values: T[]): T => values[Math.floor(rand() * values.length)]!;
    const hostile = (value: unknown): unknown => {
      if (rand() < 0.6) return value;
      if (typeof value === 'number') return pick([-1, 0, 1, 2, 3, 0x7fff, -0x8000, 0x7fffffff, -0x80000000, 100_000]);
      if (typeof value === 'bigint') return pick([-1n, 0n, 1n, -3n, 0x7fffffffffffffffn, -0x8000000000000000n]);
      if (typeof value === 'string') return pick(['', 'a', '..', 'x'.repeat(300), '__consumer_offsets', 'ok-topic']);
      if (typeof value === 'boolean') return !value;
      if (Array.isArray(value)) return rand() < 0.5 ? [] : [...value, ...value];
      return value;
    };
    const mutateObject = (obj: unknown): unknown => {
      if (Buffer.isBuffer(obj) || obj === null || typeof obj !== 'object') return hostile(obj);
      if (Array.isArray(obj)) return (hostile(obj) as unknown[]).map(mutateObject);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(obj)) out[k] = mutateObject(v);
      return out;
    };

    const good = await TestClient.connect(tb.port);
    const sockets: net.Socket[] = [];
    let sent = 0;
    for (const frame of corpusRequests()) {
      const r = new Reader(frame);
      const header = readRequestHeader(r);
      const codec = API_CODECS.get(header.requestApiKey)!;
      // Versions newer than the Kafka 3.9 schemas (franz-go, librdkafka 2.15.1) cannot be re-encoded here.
      if (header.requestApiVersion > codec.maxVersion) continue;
      const request = codec.readRequest(r, header.requestApiVersion);
      for (let i = 0; i < 3; i++) {
        let bytes: Buffer;
        try {
          bytes = TestClient.encodeRequest(header.requestApiKey, header.requestApiVersion, mutateObject(request), 1);
        } catch {
          continue; // a value the encoder cannot represent at this version
        }
        const socket = net.connect({ host: '127.0.0.1', port: tb.port });
        socket.on('error', () => undefined);
        socket.on('data', () => undefined);
        socket.write(bytes);
        sockets.push(socket);
        sent++;
      }
    }
    expect(sent).toBeGreaterThan(300);
    await new Promise((r) => setTimeout(r, 1500));
    const v = await good.send(ApiKey.ApiVersions, 0);
    expect(v.errorCode).toBe(0);
    for (const s of sockets) s.destroy();
    good.close();
    await tb.stop();
    expect(brokerErrors).toEqual([]);
  });
});
