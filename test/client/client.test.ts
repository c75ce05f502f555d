// The CLI's Kafka client (src/client) over real sockets: against the in-process broker, and against small
// scripted TCP servers where a broker's behaviour has to be forced (an old ApiVersions, a bad correlation id).
import net from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaClient, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from '../../src/client/client.js';
import { Connection } from '../../src/client/connection.js';
import { ConnectionError, KafkaClientError, UnsupportedApiError } from '../../src/client/errors.js';
import { buildRecordBatch, decodeRecordBatches } from '../../src/client/records.js';
import { murmur2, partitionForKey } from '../../src/client/partitioner.js';
import { decodeConsumerAssignment } from '../../src/client/consumer-protocol.js';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { readRequestHeader, writeResponseHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let broker: TestBroker | undefined;
const servers: net.Server[] = [];
const clients: KafkaClient[] = [];
const connections: Connection[] = [];

afterEach(async () => {
  for (const c of connections.splice(0)) c.close();
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  await broker?.stop();
  broker = undefined;
});

function client(port: number): KafkaClient {
  const c = new KafkaClient({ bootstrap: `127.0.0.1:${port}` });
  clients.push(c);
  return c;
}

interface ScriptedRequest {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
}

/**
 * A TCP server that answers each request frame with the bytes `answer` returns (body only; framing and the
 * response header with `correlationId` are added here).
 */
async function scriptedServer(answer: (req: ScriptedRequest) => { body: Buffer; correlationId?: number }): Promise<number> {
  const server = net.createServer((socket) => {
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const h = readRequestHeader(new Reader(frame));
        const req = { apiKey: h.requestApiKey, apiVersion: h.requestApiVersion, correlationId: h.correlationId };
        const { body, correlationId = h.correlationId } = answer(req);
        const w = new Writer();
        w.writeInt32(0);
        writeResponseHeader(w, correlationId, 0);
        w.writeRaw(body);
        const out = w.toBuffer();
        out.writeInt32BE(out.length - 4, 0);
        socket.write(out);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function apiVersionsBody(version: number, errorCode: number, apiKeys: Array<[number, number, number]>): Buffer {
  const w = new Writer();
  API_CODECS.get(ApiKey.ApiVersions)!.writeResponse(w, version, {
    ...API_CODECS.get(ApiKey.ApiVersions)!.makeResponse(),
    errorCode,
    apiKeys: apiKeys.map(([apiKey, minVersion, maxVersion]) => ({ apiKey, minVersion, maxVersion })),
  });
  return w.toBuffer();
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('version negotiation', () => {
  beforeEach(async () => {
    broker = await startTestBroker();
  });

  it('uses, per API, the highest version both the codec and the broker know', async () => {
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker!.port });
    connections.push(conn);
    // The broker's ranges are its handler registry's (ApiVersions is built from it).
    const offered = (apiKey: number) => ({ minVersion: HANDLERS.get(apiKey)!.minVersion, maxVersion: HANDLERS.get(apiKey)!.maxVersion });
    expect(conn.brokerVersions.get(ApiKey.Metadata)).toEqual(offered(ApiKey.Metadata));
    expect(conn.versionFor(ApiKey.Metadata)).toBe(Math.min(API_CODECS.get(ApiKey.Metadata)!.maxVersion, offered(ApiKey.Metadata).maxVersion));
    expect(conn.versionFor(ApiKey.Produce, 3)).toBe(Math.min(API_CODECS.get(ApiKey.Produce)!.maxVersion, offered(ApiKey.Produce).maxVersion));
    // A caller's ceiling (the newest shape it speaks) caps the choice.
    expect(conn.versionFor(ApiKey.Produce, 3, 9)).toBe(9);
  });

  it('an API the broker does not offer is UNSUPPORTED_VERSION naming the API', async () => {
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker!.port });
    connections.push(conn);
    expect(conn.supports(ApiKey.AlterReplicaLogDirs)).toBe(false);
    let caught: unknown;
    try {
      conn.versionFor(ApiKey.AlterReplicaLogDirs);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UnsupportedApiError);
    expect((caught as UnsupportedApiError).errorName).toBe('UNSUPPORTED_VERSION');
    expect((caught as Error).message).toBe('UNSUPPORTED_VERSION: The version of API is not supported. (AlterReplicaLogDirs is not supported by the broker)');
  });

  it('falls back to the ApiVersions version an older broker answers with in v0, then picks the common versions', async () => {
    const seen: ScriptedRequest[] = [];
    const port = await scriptedServer((req) => {
      seen.push(req);
      if (req.apiVersion > 2) return { body: apiVersionsBody(0, 35, [[ApiKey.ApiVersions, 0, 2]]) };
      return { body: apiVersionsBody(2, 0, [[ApiKey.ApiVersions, 0, 2], [ApiKey.Metadata, 0, 5], [ApiKey.Produce, 0, 7], [ApiKey.Fetch, 0, 3]]) };
    });
    const conn = await Connection.connect({ host: '127.0.0.1', port });
    connections.push(conn);
    expect(seen.map((r) => r.apiVersion)).toEqual([API_CODECS.get(ApiKey.ApiVersions)!.maxVersion, 2]);
    expect(conn.versionFor(ApiKey.Metadata)).toBe(5);
    expect(conn.versionFor(ApiKey.Produce, 3)).toBe(7);
    // Fetch below v4 cannot return RecordBatch v2: refused with the broker's range in the message.
    expect(() => conn.versionFor(ApiKey.Fetch, 4)).toThrow(/Fetch v4\+ is not supported by the broker \(it offers v0-v3\)/);
  });
});

describe('connection', () => {
  it('matches pipelined responses to their requests in order', async () => {
    broker = await startTestBroker();
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
    connections.push(conn);
    const metadataVersion = conn.versionFor(ApiKey.Metadata);
    const sends = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? conn.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' }).then((r: any) => ['ApiVersions', r.apiKeys.length > 0])
        : conn.send(ApiKey.Metadata, metadataVersion, { ...API_CODECS.get(ApiKey.Metadata)!.makeRequest(), topics: [], allowAutoTopicCreation: false }).then((r: any) => ['Metadata', r.brokers.length === 1]),
    );
    const results = await Promise.all(sends);
    expect(results).toEqual(Array.from({ length: 40 }, (_, i) => [i % 2 === 0 ? 'ApiVersions' : 'Metadata', true]));
  });

  it('a response with an unexpected correlation id fails the request and closes the connection', async () => {
    let n = 0;
    const port = await scriptedServer((req) => {
      n++;
      const body = apiVersionsBody(req.apiVersion, 0, [[ApiKey.ApiVersions, 0, 4], [ApiKey.Metadata, 0, 12]]);
      return n === 1 ? { body } : { body, correlationId: req.correlationId + 100 };
    });
    const conn = await Connection.connect({ host: '127.0.0.1', port });
    connections.push(conn);
    await expect(conn.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).rejects.toThrow(/correlation id \d+, expected \d+/);
    expect(conn.isOpen).toBe(false);
  });

  it('a refused connection is a ConnectionError naming the address and ECONNREFUSED', async () => {
    const port = await freePort();
    const c = client(port);
    const err = await c.metadata(null).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).reason).toBe('ECONNREFUSED');
    expect((err as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });
});

describe('KafkaClient against the broker', () => {
  beforeEach(async () => {
    broker = await startTestBroker();
  });

  it('an unknown topic is a KafkaClientError carrying Kafka\'s name and message', async () => {
    const err = await client(broker!.port).topic('no-such-topic').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaClientError);
    expect((err as KafkaClientError).errorCode).toBe(3);
    expect((err as KafkaClientError).errorName).toBe('UNKNOWN_TOPIC_OR_PARTITION');
    expect((err as Error).message).toBe('UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.');
  });

  it('creating an existing topic reports TOPIC_ALREADY_EXISTS per topic', async () => {
    const c = client(broker!.port);
    expect(await c.createTopics([{ name: 'dup', numPartitions: 1, replicationFactor: 1, configs: {} }])).toEqual([{ name: 'dup', errorCode: 0, errorMessage: null }]);
    const [again] = await c.createTopics([{ name: 'dup', numPartitions: 1, replicationFactor: 1, configs: {} }]);
    expect(again!.errorCode).toBe(36);
  });

  it('produces a gzip batch with keys and headers and fetches it back, with offsets from ListOffsets', async () => {
    const c = client(broker!.port);
    await c.createTopics([{ name: 'rt', numPartitions: 2, replicationFactor: 1, configs: {} }]);
    const records = [
      { key: Buffer.from('a'), value: Buffer.from('one'), headers: [{ key: 'h', value: Buffer.from('1') }], timestamp: 1_000n },
      { key: null, value: null, headers: [], timestamp: 2_000n },
      { key: Buffer.from('c'), value: Buffer.from('three'), headers: [{ key: 'n', value: null }], timestamp: 3_000n },
    ];
    const first = await c.produce('rt', 1, buildRecordBatch(records, 'gzip'), -1);
    expect(first.baseOffset).toBe(0n);
    const second = await c.produce('rt', 1, buildRecordBatch([{ key: null, value: Buffer.from('four'), timestamp: 4_000n }]), 1);
    expect(second.baseOffset).toBe(3n);
    const data = await c.fetch('rt', 1, 0n, { maxWaitMs: 0 });
    expect(data.highWatermark).toBe(4n);
    const decoded = decodeRecordBatches(data.records);
    expect(decoded.nextOffset).toBe(4n);
    expect(decoded.records.map((r) => [r.offset, r.timestamp, r.key?.toString() ?? null, r.value?.toString() ?? null, r.headers.map((h) => [h.key, h.value?.toString() ?? null])])).toEqual([
      [0n, 1_000n, 'a', 'one', [['h', '1']]],
      [1n, 2_000n, null, null, []],
      [2n, 3_000n, 'c', 'three', [['n', null]]],
      [3n, 4_000n, null, 'four', []],
    ]);
    expect(await c.listOffsets('rt', [0, 1], EARLIEST_TIMESTAMP)).toEqual([
      { partition: 0, offset: 0n, timestamp: -1n },
      { partition: 1, offset: 0n, timestamp: -1n },
    ]);
    expect((await c.listOffsets('rt', [1], LATEST_TIMESTAMP))[0]!.offset).toBe(4n);
    expect((await c.listOffsets('rt', [1], 2_500n))[0]!.offset).toBe(2n);
  });

  it('commits and reads back group offsets outside a generation', async () => {
    const c = client(broker!.port);
    await c.createTopics([{ name: 'go', numPartitions: 2, replicationFactor: 1, configs: {} }]);
    await c.commitOffsets('g', [{ topic: 'go', partition: 0, offset: 5n }, { topic: 'go', partition: 1, offset: 7n }]);
    expect(await c.committedOffsets('g', null)).toEqual([
      { topic: 'go', partition: 0, offset: 5n, metadata: '' },
      { topic: 'go', partition: 1, offset: 7n, metadata: '' },
    ]);
    expect((await c.listGroups()).map((g) => g.groupId)).toContain('g');
  });
});

describe('partitioner and consumer protocol', () => {
  it('murmur2 and the key partition match kafkajs\'s default partitioner (the Java client\'s)', () => {
    const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (key: Buffer) => number;
    for (const key of ['', 'a', 'ab', 'abc', 'abcd', 'k1', 'user-42', 'ünïcødé', 'a much longer key with spaces']) {
      const b = Buffer.from(key);
      expect(murmur2(b)).toBe(kafkajsMurmur2(b) | 0);
      expect(partitionForKey(b, 7)).toBe(((kafkajsMurmur2(b) & 0x7fffffff) % 7));
    }
  });

  it('decodes a consumer-protocol assignment', () => {
    const w = new Writer();
    w.writeInt16(1).writeInt32(2).writeString('a').writeInt32(2).writeInt32(0).writeInt32(2).writeString('b').writeInt32(0).writeNullableBytes(null);
    expect(decodeConsumerAssignment(w.toBuffer())).toEqual([{ topic: 'a', partitions: [0, 2] }, { topic: 'b', partitions: [] }]);
    expect(decodeConsumerAssignment(Buffer.from([0xff]))).toBeUndefined();
  });
});
