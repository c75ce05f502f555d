// Issue 7: protocol-level divergences from Kafka 3.9 — trailing bytes after a request (librdkafka 2.15.1),
// FindCoordinator's errorMessage, and the answer to a batch with an unknown magic.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { crc32c } from '@node-rs/crc32';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');
const load = (file: string): Buffer => Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');

let tb: TestBroker;
let client: TestClient;
beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'existing', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

describe('issue 7: librdkafka 2.15.1 all-topics Metadata with 3 trailing bytes', () => {
  it('the captured Metadata v12 frame is answered with this broker and every topic, and the connection stays open', async () => {
    const frame = load('metadata/confluent-kafka-javascript-0065-v12-request.hex');
    // The frame as captured: correlation id from its header, 3 bytes after the tagged fields.
    const correlationId = frame.readInt32BE(4);
    const res = await client.sendFrame(frame, ApiKey.Metadata, 12, correlationId);
    expect(res.brokers).toEqual([expect.objectContaining({ nodeId: 1, host: '127.0.0.1', port: tb.port })]);
    expect(res.topics.map((t: { name: string }) => t.name)).toEqual(['existing']);
    expect(res.topics[0].partitions).toHaveLength(2);
    // Still usable: a transport failure would have closed it.
    expect((await client.send(ApiKey.Metadata, 12, { topics: null })).topics).toHaveLength(1);
  });
});

describe('issue 7: FindCoordinator errorMessage as KafkaApis sets it', () => {
  it('v4+ answers leave errorMessage null per key', async () => {
    const res = await client.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g1', 'g2'] });
    expect(res.coordinators.map((c: { errorCode: number; errorMessage: string | null }) => [c.errorCode, c.errorMessage])).toEqual([
      [0, null],
      [0, null],
    ]);
  });

  it('v1-v3 answers carry "NONE" on success, as Kafka sends Errors.NONE.message()', async () => {
    const res = await client.send(ApiKey.FindCoordinator, 3, { key: 'g1', keyType: 0 });
    expect([res.errorCode, res.errorMessage]).toEqual([0, 'NONE']);
  });
});

describe('issue 7: a batch with magic 3', () => {
  it('is answered CORRUPT_MESSAGE, as Kafka\'s batch iterator throws CorruptRecordException ("Invalid magic found in record")', async () => {
    const batch = Buffer.from(buildRecordBatch({ records: [{ value: 'v' }] }));
    batch.writeInt8(3, 16);
    batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
    const res = await client.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'existing', partitionData: [{ index: 0, records: batch }] }] });
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
  });
});
