import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';

let tb: TestBroker;
let bystander: TestClient;

beforeEach(async () => {
  tb = await startTestBroker({ socketRequestMaxBytes: 64 * 1024 });
  bystander = await TestClient.connect(tb.port);
  await bystander.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
});
afterEach(async () => {
  bystander.close();
  await tb.stop();
});

function sizePrefixed(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

/** After each misbehaving client, the bystander's connection still works and data produced before is intact. */
async function expectBrokerStillServes(): Promise<void> {
  const res = await bystander.send(ApiKey.Metadata, 9, { topics: [{ name: 't' }] });
  expect(res.topics[0].errorCode).toBe(0);
  const fresh = await TestClient.connect(tb.port);
  try {
    const v = await fresh.send(ApiKey.ApiVersions, 0);
    expect(v.errorCode).toBe(0);
  } finally {
    fresh.close();
  }
}

async function expectClosedBy(bytes: Buffer): Promise<void> {
  const bad = await TestClient.connect(tb.port);
  bad.writeRaw(bytes);
  await bad.closed;
  expect(bad.isOpen).toBe(false);
  await expectBrokerStillServes();
}

describe('server: framing and bad input', () => {
  it('answers pipelined requests strictly in request order', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      const replies = await Promise.all([
        c.send(ApiKey.ApiVersions, 2),
        c.send(ApiKey.Metadata, 1, { topics: null }),
        c.send(ApiKey.Fetch, 11, { maxWaitMs: 200, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' }),
        c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }),
        c.send(ApiKey.Metadata, 12, { topics: null }),
      ]);
      expect(replies.map((r) => r.errorCode ?? 0)).toEqual([0, 0, 0, 0, 0]);
    } finally {
      c.close();
    }
  });

  it('pipelines Produce requests of one connection: answered in request order with increasing base offsets', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      const produce = (i: number, acks: number) =>
        c.send(ApiKey.Produce, 9, { acks, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: `v${i}` }, { value: `w${i}` }] }) }] }] });
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => produce(i, i % 2 === 0 ? 1 : -1)));
      const offsets = replies.map((r) => r.responses[0].partitionResponses[0].baseOffset as bigint);
      expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(2 * i)));
    } finally {
      c.close();
    }
  });

  it('a request after pipelined Produce requests starts only when they are done (a Fetch sees every record)', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      const produces = Array.from({ length: 8 }, (_, i) =>
        c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value: `v${i}` }] }) }] }] }),
      );
      const fetch = c.send(ApiKey.Fetch, 11, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' });
      await Promise.all(produces);
      const res = await fetch;
      expect(res.responses[0].partitions[0].highWatermark).toBe(8n);
    } finally {
      c.close();
    }
  });

  it('closes the connection on garbage bytes and keeps serving others', async () => {
    await expectClosedBy(sizePrefixed(Buffer.from('this is not a kafka request at all, just text')));
  });

  it('closes the connection on a negative size prefix', async () => {
    await expectClosedBy(Buffer.from([0x80, 0, 0, 0, 1, 2, 3]));
  });

  it('closes the connection on a size above socket.request.max.bytes before reading the body', async () => {
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(64 * 1024 + 1, 0);
    await expectClosedBy(prefix);
  });

  it('closes the connection on an unknown API key', async () => {
    const body = Buffer.alloc(12);
    body.writeInt16BE(9999, 0);
    body.writeInt16BE(0, 2);
    body.writeInt32BE(1, 4);
    body.writeInt16BE(-1, 8);
    await expectClosedBy(sizePrefixed(body.subarray(0, 10)));
  });

  it('closes the connection on a version outside every known version', async () => {
    const body = Buffer.alloc(10);
    body.writeInt16BE(ApiKey.Metadata, 0);
    body.writeInt16BE(99, 2);
    body.writeInt32BE(1, 4);
    body.writeInt16BE(-1, 8);
    await expectClosedBy(sizePrefixed(body));
  });

  it('closes the connection on a request whose body is truncated', async () => {
    const full = TestClient.encodeRequest(ApiKey.Metadata, 9, { topics: [{ name: 'x' }], allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false }, 1);
    const body = full.subarray(4, full.length - 3);
    await expectClosedBy(sizePrefixed(body));
  });

  it('ignores bytes after the last field of a non-flexible request (Metadata v1), as Kafka does', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      const full = TestClient.encodeRequest(ApiKey.Metadata, 1, { topics: [{ name: 't' }] }, 7);
      const res = await c.sendFrame(Buffer.concat([full.subarray(4), Buffer.from([1, 2, 3])]), ApiKey.Metadata, 1, 7);
      expect(res.topics.map((t: { name: string; errorCode: number }) => [t.name, t.errorCode])).toEqual([['t', 0]]);
      expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
    } finally {
      c.close();
    }
  });

  it('ignores bytes after the tagged fields of a flexible request (Metadata v12), as Kafka does', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      const full = TestClient.encodeRequest(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false }, 8);
      const res = await c.sendFrame(Buffer.concat([full.subarray(4), Buffer.from([1, 0, 0])]), ApiKey.Metadata, 12, 8);
      expect(res.topics.map((t: { name: string }) => t.name)).toEqual(['t']);
      expect((await c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    } finally {
      c.close();
    }
  });

  it('survives a client that sends half a frame and disconnects', async () => {
    const c = await TestClient.connect(tb.port);
    const full = TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 1);
    c.writeRaw(full.subarray(0, 7));
    c.close();
    await c.closed;
    await expectBrokerStillServes();
  });

  it('answers a corrupt record batch with CORRUPT_MESSAGE and loses nothing already written', async () => {
    const good = buildRecordBatch({ records: [{ value: 'keep me' }] });
    const ok = await bystander.send(ApiKey.Produce, 7, { acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: Buffer.from(good) }] }] });
    expect(ok.responses[0].partitionResponses[0].errorCode).toBe(0);
    const bad = buildRecordBatch({ records: [{ value: 'flip me' }] });
    bad[bad.length - 2] ^= 0x55;
    const rejected = await bystander.send(ApiKey.Produce, 7, { acks: -1, timeoutMs: 1000, topicData: [{ name: 't', partitionData: [{ index: 0, records: bad }] }] });
    expect(rejected.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    const fetched = await bystander.send(ApiKey.Fetch, 11, { maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' });
    expect(fetched.responses[0].partitions[0].highWatermark).toBe(1n);
    const expected = Buffer.from(good);
    expected.writeInt32BE(0, 12); // the partition leader epoch the broker stamps
    expect(Buffer.compare(fetched.responses[0].partitions[0].records, expected)).toBe(0);
  });

  it('answers an in-flight long poll when the broker shuts down', async () => {
    const c = await TestClient.connect(tb.port);
    const pending = c.send(ApiKey.Fetch, 11, { maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' });
    await new Promise((r) => setTimeout(r, 50));
    bystander.close();
    await tb.stop();
    const res = await pending;
    expect(res.responses[0].partitions[0].errorCode).toBe(0);
    c.close();
  });
});

describe('server: idle connections', () => {
  it('closes a connection idle for connections.max.idle.ms, as Kafka does', async () => {
    const idle = await startTestBroker({ connectionsMaxIdleMs: 200 });
    try {
      const c = await TestClient.connect(idle.port);
      expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
      await c.closed;
      expect(c.isOpen).toBe(false);
    } finally {
      await idle.stop();
    }
  });

  it('does not close a connection whose long poll outlasts the idle timeout', async () => {
    const idle = await startTestBroker({ connectionsMaxIdleMs: 150 });
    const c = await TestClient.connect(idle.port);
    try {
      await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'p', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
      const res = await c.send(ApiKey.Fetch, 11, { maxWaitMs: 500, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 'p', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' });
      expect(res.responses[0].partitions[0].errorCode).toBe(0);
    } finally {
      c.close();
      await idle.stop();
    }
  });
});

describe('server: many long polls', () => {
  it('holds dozens of concurrent long polls without a listener-leak warning, and answers them all at shutdown', async () => {
    const polls = await startTestBroker();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const clients: TestClient[] = [];
    try {
      const setup = await TestClient.connect(polls.port);
      clients.push(setup);
      await setup.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'lp', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
      const pending: Promise<any>[] = [];
      for (let i = 0; i < 30; i++) {
        const c = await TestClient.connect(polls.port);
        clients.push(c);
        pending.push(c.send(ApiKey.Fetch, 11, { maxWaitMs: 60_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, topics: [{ topic: 'lp', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' }));
      }
      await new Promise((r) => setTimeout(r, 100));
      await polls.stop();
      const answers = await Promise.all(pending);
      expect(answers.every((a) => a.responses[0].partitions[0].errorCode === 0)).toBe(true);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
      for (const c of clients) c.close();
    }
  });
});

describe('server: a peer that stops reading', () => {
  it('drops a connection whose response has not moved for connections.max.idle.ms', async () => {
    const slow = await startTestBroker({ connectionsMaxIdleMs: 300 });
    const setup = await TestClient.connect(slow.port);
    let socket: net.Socket | undefined;
    try {
      await setup.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'big', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
      const value = Buffer.alloc(900 * 1024, 7);
      for (let i = 0; i < 40; i++) {
        const res = await setup.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'big', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }] });
        expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
      }
      socket = net.connect({ host: '127.0.0.1', port: slow.port });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket!.once('connect', () => resolve()));
      socket.pause(); // never read the ~36 MB answer
      socket.write(TestClient.encodeRequest(ApiKey.Fetch, 11, { maxWaitMs: 0, minBytes: 0, maxBytes: 0x7fffffff, isolationLevel: 0, topics: [{ topic: 'big', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 0x7fffffff, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }], forgottenTopicsData: [], rackId: '' }, 1));
      // Bounded wait for the broker to give up on the stalled connection (the setup connection stays busy).
      for (let i = 0; i < 100 && slow.broker.connectionCount > 1; i++) {
        await setup.send(ApiKey.ApiVersions, 0);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(slow.broker.connectionCount).toBe(1);
    } finally {
      socket?.destroy();
      setup.close();
      await slow.stop();
    }
  });
});

/** Polls `check` every 20 ms, at most `attempts` times; true once it holds. */
async function eventually(check: () => boolean, attempts = 250): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('server: request memory (queued.max.request.bytes)', () => {
  it('pauses reading other connections while the pool is out of memory, and resumes them when it frees', async () => {
    const small = await startTestBroker({ socketRequestMaxBytes: 64 * 1024, queuedMaxRequestBytes: 64 * 1024 });
    const hog = await TestClient.connect(small.port);
    const other = await TestClient.connect(small.port);
    try {
      // A frame of the largest size, announced and half sent: its whole 64 KiB buffer is reserved.
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(64 * 1024, 0);
      hog.writeRaw(Buffer.concat([prefix, Buffer.alloc(32 * 1024)]));
      expect(await eventually(() => small.broker.stats().server.queuedRequestBytes >= 64 * 1024)).toBe(true);
      // The first request already read is served; after it the connection waits for memory.
      expect((await other.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
      expect(small.broker.stats().server.connectionsMutedForMemory).toBeGreaterThanOrEqual(1);
      let answered = false;
      const second = other.send(ApiKey.ApiVersions, 0).then((r) => {
        answered = true;
        return r;
      });
      await new Promise((r) => setTimeout(r, 200));
      expect(answered).toBe(false);
      hog.close();
      expect((await second).errorCode).toBe(0);
      expect(await eventually(() => small.broker.stats().server.queuedRequestBytes === 0)).toBe(true);
      expect(small.broker.stats().server.memoryPoolMutedCount).toBeGreaterThanOrEqual(1);
    } finally {
      hog.close();
      other.close();
      await small.stop();
    }
  });

  it('gives every reserved byte back once requests are done and connections close', async () => {
    const c = await TestClient.connect(tb.port);
    const value = Buffer.alloc(40 * 1024, 3);
    for (let i = 0; i < 5; i++) {
      const res = await c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: buildRecordBatch({ records: [{ value }] }) }] }] });
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(0);
    }
    c.writeRaw(Buffer.from([0, 0, 0x80])); // part of a size prefix, then gone
    c.close();
    await c.closed;
    expect(await eventually(() => tb.broker.stats().server.queuedRequestBytes === 0)).toBe(true);
    expect(tb.broker.stats().server.queuedRequestBytesPeak).toBeGreaterThanOrEqual(40 * 1024);
  });
});

describe('server: request read timeout (socket.request.read.timeout.ms)', () => {
  it('closes a connection whose frame trickles in for longer than the timeout, and counts it', async () => {
    const slow = await startTestBroker({ socketRequestReadTimeoutMs: 300 });
    const c = await TestClient.connect(slow.port);
    try {
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(1000, 0);
      c.writeRaw(prefix);
      const started = Date.now();
      // One byte every 50 ms resets the idle timer each time; only the read timeout ends this (bounded loop).
      for (let i = 0; i < 100 && c.isOpen; i++) {
        c.writeRaw(Buffer.from([i]));
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(c.isOpen).toBe(false);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(slow.broker.stats().server.requestReadTimeouts).toBe(1);
    } finally {
      c.close();
      await slow.stop();
    }
  });

  it('keeps a connection whose frame arrives in pieces within the timeout', async () => {
    const slow = await startTestBroker({ socketRequestReadTimeoutMs: 500 });
    const socket = net.connect({ host: '127.0.0.1', port: slow.port });
    socket.on('error', () => undefined);
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const answered = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      const request = TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 1);
      for (const piece of [request.subarray(0, 3), request.subarray(3, 8), request.subarray(8)]) {
        socket.write(piece);
        await new Promise((r) => setTimeout(r, 100));
      }
      const response = await answered;
      expect(response.readInt32BE(4)).toBe(1); // the correlation id
      expect(socket.destroyed).toBe(false);
      expect(slow.broker.stats().server.requestReadTimeouts).toBe(0);
    } finally {
      socket.destroy();
      await slow.stop();
    }
  });
});
