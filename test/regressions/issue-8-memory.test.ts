// Issue 8, defect 5: memory was unbounded. A 100 MB size prefix followed by a trickle allocated the whole frame up
// front and stayed connected forever (each byte reset the idle timer); 12 such connections took RSS to 1.26 GB. A
// Fetch asking for INT32_MAX bytes read a whole 200 MB segment into memory; 6 of them: 1.27 GB.
//
// Now: frame buffers grow with the bytes that arrive and are counted in the broker's pool (queued.max.request.bytes,
// asserted through broker.stats(), not RSS); a frame not complete within socket.request.read.timeout.ms closes its
// connection; a Fetch answer is capped at fetch.max.bytes whatever it asks, and a peer that does not read its
// answer is dropped.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { resolveBrokerConfig } from '../../src/metadata/broker-config.js';
import { PREALLOCATE_BYTES } from '../../src/server/frame-reader.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';

const INT32_MAX = 0x7fffffff;

let tb: TestBroker | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await tb?.stop();
  tb = undefined;
});

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    sockets.push(socket);
  });
}

function fetchRequest(topic: string, correlationId: number): Buffer {
  return TestClient.encodeRequest(
    ApiKey.Fetch,
    11,
    {
      replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: INT32_MAX, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: INT32_MAX, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [], rackId: '',
    },
    correlationId,
  );
}

describe('issue 8 defect 5: a 100 MB size prefix followed by a trickle', () => {
  it('12 trickling connections are closed by the read timeout and the pool never reserves their 100 MB', async () => {
    tb = await startTestBroker({ socketRequestReadTimeoutMs: 600 });
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(100_000_000, 0);
    const trickling = await Promise.all(Array.from({ length: 12 }, () => rawConnect(tb!.port)));
    const closed = trickling.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
    for (const s of trickling) s.write(prefix);
    // One byte per connection every 50 ms (bounded: 200 rounds), until the broker closes them.
    for (let round = 0; round < 200 && trickling.some((s) => !s.destroyed); round++) {
      for (const s of trickling) if (!s.destroyed) s.write(Buffer.from([round & 0xff]));
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(closed);
    const stats = tb.broker.stats().server;
    expect(stats.requestReadTimeouts).toBe(12);
    // Each frame buffer took its first step only (what arrived was a few bytes), never the announced size.
    expect(stats.queuedRequestBytesPeak).toBeLessThanOrEqual(12 * PREALLOCATE_BYTES);
    expect(stats.queuedRequestBytesPeak).toBeLessThan(100_000_000);
    expect(stats.queuedRequestBytes).toBe(0);
    // The broker still serves.
    const c = await TestClient.connect(tb.port);
    try {
      expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
    } finally {
      c.close();
    }
  });

  it('the pool is bounded by default (200 MiB: twice socket.request.max.bytes), unlike Kafka\'s -1', () => {
    const config = resolveBrokerConfig();
    expect(config.queuedMaxRequestBytes).toBe(209715200);
    expect(config.socketRequestReadTimeoutMs).toBe(30000);
    expect(resolveBrokerConfig({ socketRequestMaxBytes: 300 << 20 }).queuedMaxRequestBytes).toBe(600 << 20);
    expect(resolveBrokerConfig({ queuedMaxRequestBytes: -1 }).queuedMaxRequestBytes).toBe(-1);
  });

  it('refuses a queued.max.request.bytes below socket.request.max.bytes, and a bad read timeout, as INVALID_CONFIG', () => {
    expect(() => resolveBrokerConfig({ socketRequestMaxBytes: 1 << 20, queuedMaxRequestBytes: 1000 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => resolveBrokerConfig({ queuedMaxRequestBytes: -2 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
    expect(() => resolveBrokerConfig({ socketRequestReadTimeoutMs: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('issue 8 defect 5: INT32_MAX fetches from several non-reading clients', () => {
  const FETCH_MAX_BYTES = 2 * 1024 * 1024;

  async function brokerWithData(): Promise<TestBroker> {
    const b = await startTestBroker({ fetchMaxBytes: FETCH_MAX_BYTES, connectionsMaxIdleMs: 400 });
    const setup = await TestClient.connect(b.port);
    try {
      await setup.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
      const value = Buffer.alloc(900 * 1024, 7);
      for (let i = 0; i < 12; i++) {
        const res = await setup.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }] });
        expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
      }
    } finally {
      setup.close();
    }
    return b;
  }

  it('each answer is capped at fetch.max.bytes (whole batches), not the ~11 MB asked for', async () => {
    tb = await brokerWithData();
    const c = await TestClient.connect(tb.port);
    try {
      for (const version of [4, 11]) {
        const res = await c.send(ApiKey.Fetch, version, {
          replicaId: -1, maxWaitMs: 0, minBytes: 0, maxBytes: INT32_MAX, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: INT32_MAX, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
          forgottenTopicsData: [], rackId: '',
        });
        const records: Buffer = res.responses[0].partitions[0].records;
        expect(res.responses[0].partitions[0].errorCode).toBe(0);
        expect(records.length).toBeGreaterThan(0);
        expect(records.length).toBeLessThanOrEqual(FETCH_MAX_BYTES);
        // Whole batches: two of the 900 KiB batches fit in 2 MiB, three do not.
        expect(records.length).toBeGreaterThan(FETCH_MAX_BYTES / 2);
      }
    } finally {
      c.close();
    }
  });

  it('non-reading clients are dropped, and the broker keeps serving', async () => {
    tb = await brokerWithData();
    const stalled = await Promise.all(Array.from({ length: 6 }, () => rawConnect(tb!.port)));
    stalled.forEach((s, i) => {
      s.pause(); // never read the answer
      s.write(fetchRequest('big', i + 1));
    });
    const c = await TestClient.connect(tb.port);
    try {
      // Bounded wait for the broker to give up on them; the reading client stays busy (and is never dropped).
      for (let i = 0; i < 60 && tb.broker.connectionCount > 1; i++) {
        expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(tb.broker.connectionCount).toBe(1);
      const res = await c.send(ApiKey.Fetch, 11, {
        maxWaitMs: 0, minBytes: 0, maxBytes: INT32_MAX, isolationLevel: 0,
        topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: INT32_MAX, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      expect(res.responses[0].partitions[0].records.length).toBeLessThanOrEqual(FETCH_MAX_BYTES);
    } finally {
      c.close();
    }
  });

  it('fetch.max.bytes defaults to Kafka\'s 55 MiB and must be at least 1024', () => {
    expect(resolveBrokerConfig().fetchMaxBytes).toBe(57671680);
    expect(() => resolveBrokerConfig({ fetchMaxBytes: 1023 })).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});
