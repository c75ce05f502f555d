// Issue 8, "RSS growth under 20 MB over the run": what the capped fuzz run's RSS was made of (RELIABILITY.md,
// "Attributing the capped run's RSS"), and the causes in our code that were found:
//
// 1. A raw snappy block declaring up to the 128 MiB cap made produce validation allocate the declared length
//    before decoding (seed 11, frame 228,423: a 197 KB Produce whose block declared 30,276,644 bytes). Freed at
//    once, but glibc then raises its mmap threshold to the size of that freed mapping (up to 32 MiB) and its trim
//    threshold to twice that, so from then on every buffer up to that size came from the main heap, and ~60 MiB
//    of freed heap stayed resident. Now a declared length above what the block's bytes can hold (64 per 3) is
//    corrupt before anything is allocated.
// 2. KIP-714 client instances kept their 16-byte id as a slice of Node's shared 8 KiB Buffer pool: each instance
//    kept a whole slab alive (10 MiB after 300,000 frames, growing with the run; up to 128 MiB at the LRU's cap of
//    16,384), and instances that never came back were only dropped by the LRU. Now an instance keeps no Buffer and
//    idle ones expire as Kafka's timer expires them.
// 3. The same for fetch sessions (bounded at 1,000, so bounded memory, but 3.9 MiB of slabs for 1,000 sessions of
//    the fuzz run): a session now keeps a topic id that the registry does not know in 16 bytes of its own.
// 4. The same for the topic registry: the id of each topic created at run time (Buffer.from(hex)) kept a slab for
//    the topic's life (bounded by the topic count, but 8 KiB per topic). Now it has 16 bytes of its own.
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { withRecordsPayload } from '../protocol/records/compressed-batch.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** ArrayBuffer bytes alive after full GCs; V8 frees backing stores concurrently, so each GC gets a turn to finish. */
async function liveArrayBufferBytes(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return process.memoryUsage().arrayBuffers;
}

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  client?.close();
  await tb?.stop();
  tb = undefined;
  client = undefined;
});

function unsignedVarint(n: number): number[] {
  const bytes: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) bytes.push((n & 0x7f) | 0x80);
  bytes.push(n);
  return bytes;
}

describe('issue 8: the capped fuzz run\'s RSS', () => {
  it('a raw snappy block declaring more than its bytes can hold is refused before its declared length is allocated', async () => {
    tb = await startTestBroker({ autoCreateTopics: false });
    client = await TestClient.connect(tb.port);
    const created = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'snappy', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    expect(created.topics[0].errorCode).toBe(0);
    // 64 MiB declared (under the 128 MiB cap), then one literal byte: 2 bytes of elements hold at most 42.
    const block = Buffer.from([...unsignedVarint(64 << 20), 0x00, 0x61]);
    const batch = withRecordsPayload(Buffer.from(buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ value: 'x' }] })), 2, block);
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const res = await client.send(ApiKey.Produce, 9, { acks: 1, timeoutMs: 30_000, topicData: [{ name: 'snappy', partitionData: [{ index: 0, records: batch }] }] });
    const largest = Math.max(0, ...allocUnsafe.mock.calls.map(([size]) => size));
    allocUnsafe.mockRestore();
    expect(res.responses[0].partitionResponses[0]).toMatchObject({ errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: expect.stringMatching(/^Failed to decompress record stream \(snappy\)/) });
    // Before: Buffer.allocUnsafe(67108864) for a 70-byte batch.
    expect(largest).toBeLessThan(1 << 20);
  });

  it('1,000 telemetry client instances do not keep 1,000 slabs of the Buffer pool alive', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    const instances = 1000;
    // Other traffic between two clients' GetTelemetrySubscriptions: small pooled Buffers that fill the rest of the
    // slab each instance id would be copied into (in the fuzz run, the other 31 connections' requests).
    const otherTraffic = (): void => {
      for (let i = 0; i < 4; i++) Buffer.allocUnsafe(2048);
    };
    const before = await liveArrayBufferBytes();
    for (let i = 0; i < instances; i++) {
      const clientInstanceId = randomBytes(16);
      const res = await client.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId });
      expect(res.errorCode).toBe(0);
      otherTraffic();
    }
    const retained = (await liveArrayBufferBytes()) - before;
    // Before: ~8 KiB per instance (8.2 MB here); now the ids are map keys, so next to nothing.
    expect(retained, `ArrayBuffer bytes retained by ${instances} instances`).toBeLessThan(1 << 20);
  });

  it('500 fetch sessions naming unknown topic ids do not keep 500 slabs of the Buffer pool alive', async () => {
    tb = await startTestBroker();
    client = await TestClient.connect(tb.port);
    const sessions = 500;
    const fetch = (sessionId: number, sessionEpoch: number, topicId: Buffer) =>
      client!.send(ApiKey.Fetch, 13, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, sessionId, sessionEpoch, forgottenTopicsData: [], rackId: '',
        topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      });
    const otherTraffic = (): void => {
      for (let i = 0; i < 4; i++) Buffer.allocUnsafe(2048);
    };
    const before = await liveArrayBufferBytes();
    for (let i = 0; i < sessions; i++) {
      // A full fetch opens the session with one unknown topic id, an incremental one adds another.
      const full = await fetch(0, 0, randomBytes(16));
      expect(full.sessionId).toBeGreaterThan(0);
      otherTraffic();
      expect((await fetch(full.sessionId, 1, randomBytes(16))).errorCode).toBe(0);
      otherTraffic();
    }
    expect(tb.broker.stats().fetchSessions).toMatchObject({ sessions, partitionsCached: 2 * sessions });
    const retained = (await liveArrayBufferBytes()) - before;
    // Before: ~16 KiB per session (8.2 MB here).
    expect(retained, `ArrayBuffer bytes retained by ${sessions} sessions`).toBeLessThan(1 << 20);
  });

  it('300 topics created at run time do not keep 300 slabs of the Buffer pool alive through their ids', async () => {
    tb = await startTestBroker({ logLevel: 'silent' });
    client = await TestClient.connect(tb.port);
    const topics = 300;
    const otherTraffic = (): void => {
      for (let i = 0; i < 4; i++) Buffer.allocUnsafe(2048);
    };
    const create = (name: string) => client!.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
    // The first topics pay for what every log shares (the handle cache, checkpoint files' buffers).
    for (let i = 0; i < 5; i++) expect((await create(`warm-${i}`)).topics[0].errorCode).toBe(0);
    const before = await liveArrayBufferBytes();
    for (let i = 0; i < topics; i++) {
      expect((await create(`t-${i}`)).topics[0].errorCode).toBe(0);
      otherTraffic();
    }
    const retained = (await liveArrayBufferBytes()) - before;
    // Before: ~8 KiB per topic (2.5 MB here) held by the registry's ids alone.
    expect(retained, `ArrayBuffer bytes retained by ${topics} topics`).toBeLessThan(1 << 20);
  });
});
