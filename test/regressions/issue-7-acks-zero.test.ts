// Issue 7, divergence 6: after an acks=0 Produce that fails, Kafka closes the connection and processes nothing the
// client sent after it (KafkaApis.handleProduceRequest closes the channel; SocketServer keeps a channel muted while
// its request is in flight). Eddy pipelines Produce requests, so it must not start anything behind an acks=0 one.
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { produceAcks } from '../../src/server/connection.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

function produceFrame(topic: string, acks: number, correlationId: number, version = 7): Buffer {
  const records = buildRecordBatch({ records: [{ value: `to ${topic}` }] });
  return TestClient.encodeRequest(ApiKey.Produce, version, { transactionalId: null, acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] }, correlationId);
}

/** Writes `bytes` in one write on a raw socket; resolves with every byte received once the broker closes it. */
function sendAndCollect(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port: tb.port }, () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

async function highWatermark(): Promise<bigint> {
  const res = await client.send(ApiKey.Fetch, 11, {
    maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0, forgottenTopicsData: [], rackId: '',
    topics: [{ topic: 't', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
  });
  return res.responses[0].partitions[0].highWatermark as bigint;
}

describe('issue 7: nothing after a failed acks=0 Produce is processed', () => {
  it('closes the connection after an acks=0 Produce to an unknown partition; the acks=0 Produce and the Metadata sent behind it in the same write are not processed', async () => {
    const received = await sendAndCollect(Buffer.concat([
      produceFrame('missing', 0, 1),
      produceFrame('t', 0, 2),
      TestClient.encodeRequest(ApiKey.Metadata, 1, { topics: null }, 3),
    ]));
    expect(received.length).toBe(0);
    expect(await highWatermark()).toBe(0n);
  });

  it('answers the acks=1 Produce before the failed acks=0 one and nothing after it', async () => {
    const received = await sendAndCollect(Buffer.concat([
      produceFrame('t', 1, 1),
      produceFrame('missing', 0, 2),
      produceFrame('t', 1, 3),
      produceFrame('t', 0, 4),
    ]));
    // One response frame: size prefix, then the correlation id of the first request.
    expect(received.readInt32BE(0)).toBe(received.length - 4);
    expect(received.readInt32BE(4)).toBe(1);
    expect(await highWatermark()).toBe(1n);
  });

  it('still processes everything behind acks=0 Produce requests that succeed, in order', async () => {
    const c = await TestClient.connect(tb.port);
    try {
      for (let i = 0; i < 5; i++) c.writeRaw(produceFrame('t', 0, 100 + i));
      const md = await c.send(ApiKey.Metadata, 1, { topics: [{ name: 't' }] });
      expect(md.topics[0].errorCode).toBe(0);
      expect(await highWatermark()).toBe(5n);
    } finally {
      c.close();
    }
  });
});

describe('produceAcks reads acks from a Produce frame without decoding it', () => {
  it('finds acks at every Produce version, with and without client id and transactional id', () => {
    for (let version = 0; version <= 11; version++) {
      for (const clientId of [null, 'a-client']) {
        for (const transactionalId of version >= 3 ? [null, 'txn-1'] : [null]) {
          for (const acks of [-1, 0, 1]) {
            const frame = TestClient.encodeRequest(ApiKey.Produce, version, { transactionalId, acks, timeoutMs: 1000, topicData: [] }, 9, clientId);
            expect({ version, clientId, transactionalId, acks: produceAcks(frame.subarray(4)) }).toEqual({ version, clientId, transactionalId, acks });
          }
        }
      }
    }
  });

  it('returns undefined for a frame that ends before acks', () => {
    const frame = TestClient.encodeRequest(ApiKey.Produce, 9, { transactionalId: 'txn', acks: 1, timeoutMs: 1000, topicData: [] }, 9).subarray(4);
    expect(produceAcks(frame.subarray(0, 14))).toBeUndefined();
  });
});
