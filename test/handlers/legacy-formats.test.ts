// Legacy message formats over the wire: Produce v0–2 with magic 0/1 message sets, Fetch v0–3 down-converted
// (issue 12). Expected bytes are built by hand (test/protocol/legacy/legacy-helpers.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import yargs from 'yargs';
import type { BrokerOptions } from '../../src/broker.js';
import { brokerOptionsFromArgs, startOptions } from '../../src/cli/start.js';
import { BrokerError } from '../../src/errors.js';
import { resolveBrokerConfig } from '../../src/metadata/broker-config.js';
import { buildRecordBatch, fixCrc } from '../protocol/records/batch-builder.js';
import { decodeMessageSet, gunzip, gzip, message, messageSet, wrapper, type MessageSpec } from '../protocol/legacy/legacy-helpers.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const T = 1_700_000_000_000n;
let tb: TestBroker | undefined;
let client: TestClient | undefined;

async function start(options: BrokerOptions = {}): Promise<TestClient> {
  tb = await startTestBroker(options);
  client = await TestClient.connect(tb.port);
  return client;
}

afterEach(async () => {
  client?.close();
  await tb?.stop();
  client = undefined;
  tb = undefined;
});

async function createTopic(name: string, configs: Array<{ name: string; value: string }> = []) {
  const res = await client!.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

async function produce(topic: string, records: Buffer, version: number) {
  const res = await client!.send(ApiKey.Produce, version, { acks: 1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
  return res.responses[0].partitionResponses[0];
}

async function fetch(topic: string, fetchOffset: bigint, version: number, partitionMaxBytes = 1 << 20) {
  const res = await client!.send(ApiKey.Fetch, version, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 10 << 20,
    isolationLevel: 0,
    topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition: 0, fetchOffset, partitionMaxBytes, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
  return res.responses[0].partitions[0];
}

function specs(magic: 0 | 1, count: number, relative = true): MessageSpec[] {
  return Array.from({ length: count }, (_, i) => ({ offset: relative ? BigInt(i) : 0n, magic, timestamp: T + BigInt(i), key: `k${i}`, value: `value-${i}` }));
}

describe('legacy message formats', () => {
  it('produce v2 with a nested gzip magic-1 wrapper stores one v2 batch, read back as v2 (v4+) and magic 1 (v2)', async () => {
    await start();
    await createTopic('t');
    const p = await produce('t', wrapper(2n, 1, 1, gzip(messageSet(specs(1, 3))), T + 2n), 2);
    expect(p).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n, logAppendTimeMs: -1n });
    const p2 = await produce('t', wrapper(1n, 1, 1, gzip(messageSet(specs(1, 2))), T + 1n), 2);
    expect(p2).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 3n });

    const v11 = await fetch('t', 0n, 11);
    expect(v11.records.readInt8(16)).toBe(2);
    expect(v11.records.readInt16BE(21) & 7).toBe(1);
    expect(v11.records.readInt32BE(57)).toBe(3);

    const v2 = await fetch('t', 0n, 2);
    expect(v2.errorCode).toBe(ErrorCode.NONE);
    expect(v2.highWatermark).toBe(5n);
    const wrappers = decodeMessageSet(v2.records);
    expect(wrappers.map((w) => [w.offset, w.magic, w.attributes, w.timestamp])).toEqual([[2n, 1, 1, T + 2n], [4n, 1, 1, T + 1n]]);
    const firstInner = messageSet(specs(1, 3));
    expect(gunzip(wrappers[0]!.value!).toString('hex')).toBe(firstInner.toString('hex'));
  });

  it('produce v0 of magic-0 messages reads back through fetch v0 as the same messages with their offsets', async () => {
    await start();
    await createTopic('t');
    const set = messageSet([{ offset: 0n, magic: 0, key: 'a', value: 'one' }, { offset: 0n, magic: 0, key: null, value: 'two' }]);
    expect(await produce('t', set, 0)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    const f = await fetch('t', 0n, 0);
    const expected = messageSet([{ offset: 0n, magic: 0, key: 'a', value: 'one' }, { offset: 1n, magic: 0, key: null, value: 'two' }]);
    expect(f.records.toString('hex')).toBe(expected.toString('hex'));
  });

  it('a magic-0 consumer reads a v2 batch with headers: headers and timestamps dropped', async () => {
    await start();
    await createTopic('t');
    const batch = buildRecordBatch({ baseTimestamp: T, records: [{ key: 'k', value: 'v', headers: [{ key: 'trace', value: 'abc' }] }] });
    expect((await produce('t', batch, 7)).errorCode).toBe(ErrorCode.NONE);
    const f = await fetch('t', 0n, 1);
    expect(f.records.toString('hex')).toBe(message({ offset: 0n, magic: 0, key: 'k', value: 'v' }).toString('hex'));
  });

  it('a down-converted fetch splits a large batch at the partition max bytes, at whole messages', async () => {
    await start();
    await createTopic('t');
    const batch = buildRecordBatch({ baseTimestamp: T, records: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(200), timestampDelta: i })) });
    expect((await produce('t', batch, 7)).errorCode).toBe(ErrorCode.NONE);
    const one = message({ offset: 0n, magic: 1, timestamp: T, key: 'k0', value: 'x'.repeat(200) }).length;
    const f = await fetch('t', 0n, 3, one * 4 + 10);
    const got = decodeMessageSet(f.records);
    expect(got.map((m) => m.offset)).toEqual([0n, 1n, 2n, 3n]);
    expect(f.records.length).toBe(one * 4);
    const next = await fetch('t', 4n, 3, one * 4 + 10);
    expect(decodeMessageSet(next.records).map((m) => m.offset)).toEqual([4n, 5n, 6n, 7n]);
  });

  it('answers CORRUPT_MESSAGE to a magic-1 message set with a bad CRC, and appends nothing', async () => {
    await start();
    await createTopic('t');
    const set = messageSet(specs(1, 1));
    set[20] ^= 0x01;
    expect((await produce('t', set, 2)).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect((await fetch('t', 0n, 11)).highWatermark).toBe(0n);
  });

  it('answers INVALID_RECORD to a wrapper inside a wrapper and to a wrapper offset below its inner offsets', async () => {
    await start();
    await createTopic('t');
    const bomb = wrapper(1n, 1, 1, gzip(wrapper(1n, 1, 1, gzip(messageSet(specs(1, 2))), T)), T);
    expect((await produce('t', bomb, 2)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await produce('t', wrapper(1n, 1, 1, gzip(messageSet(specs(1, 3))), T), 2)).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('answers a set with no whole message NONE with base offset -1 and appends nothing (Kafka trims it)', async () => {
    await start();
    await createTopic('t');
    const set = messageSet(specs(1, 1));
    expect(await produce('t', set.subarray(0, set.length - 1), 2)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: -1n });
    expect((await fetch('t', 0n, 11)).highWatermark).toBe(0n);
  });

  it('accepts a v2 batch in produce v2 (Kafka checks magics from v3) and refuses a message set in produce v3', async () => {
    await start();
    await createTopic('t');
    expect((await produce('t', buildRecordBatch({ records: [{ value: 'v' }] }), 2)).errorCode).toBe(ErrorCode.NONE);
    expect((await produce('t', messageSet(specs(1, 1)), 3)).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('keeps the key requirement of compacted topics for converted messages', async () => {
    await start();
    await createTopic('c', [{ name: 'cleanup.policy', value: 'compact' }]);
    const set = messageSet([{ offset: 0n, magic: 1, timestamp: T, key: null, value: 'v' }]);
    const p = await produce('c', set, 2);
    expect(p.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect((await fetch('c', 0n, 11)).highWatermark).toBe(0n);
  });

  it('stamps LogAppendTime on converted records and hands magic-1 readers the append time', async () => {
    await start();
    await createTopic('lat', [{ name: 'message.timestamp.type', value: 'LogAppendTime' }]);
    const p = await produce('lat', messageSet(specs(1, 2)), 2);
    expect(p.errorCode).toBe(ErrorCode.NONE);
    expect(p.logAppendTimeMs).toBeGreaterThan(0n);
    const got = decodeMessageSet((await fetch('lat', 0n, 2)).records);
    expect(got.map((m) => [m.attributes, m.timestamp])).toEqual([[8, p.logAppendTimeMs], [8, p.logAppendTimeMs]]);
  });

  it('answers UNSUPPORTED_VERSION to v0–3 readers when message.downconversion.enable is false, broker-wide or per topic', async () => {
    await start({ messageDownconversionEnable: false });
    await createTopic('off');
    await createTopic('on', [{ name: 'message.downconversion.enable', value: 'true' }]);
    for (const t of ['off', 'on']) expect((await produce(t, buildRecordBatch({ records: [{ value: 'v' }] }), 7)).errorCode).toBe(0);
    expect((await fetch('off', 0n, 3)).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect((await fetch('off', 0n, 4)).errorCode).toBe(ErrorCode.NONE);
    const on = await fetch('on', 0n, 3);
    expect(on.errorCode).toBe(ErrorCode.NONE);
    expect(decodeMessageSet(on.records).map((m) => m.value?.toString())).toEqual(['v']);
  });

  it('answers UNSUPPORTED_COMPRESSION_TYPE to a v0–3 reader at a zstd batch', async () => {
    await start();
    await createTopic('t');
    const { compress } = await import('@mongodb-js/zstd');
    const plain = buildRecordBatch({ records: [{ value: 'z' }] });
    const section = await compress(plain.subarray(61), 3);
    const batch = Buffer.concat([plain.subarray(0, 61), section]);
    batch.writeInt32BE(batch.length - 12, 8);
    batch.writeInt16BE(4, 21);
    expect((await produce('t', fixCrc(batch), 7)).errorCode).toBe(ErrorCode.NONE);
    expect((await fetch('t', 0n, 3)).errorCode).toBe(ErrorCode.UNSUPPORTED_COMPRESSION_TYPE);
    expect((await fetch('t', 0n, 11)).errorCode).toBe(ErrorCode.NONE);
  });

  it('skips transaction markers for old readers and moves them past a marker read on its own', async () => {
    await start();
    await createTopic('t');
    const transactionalId = 'legacy-tx';
    expect((await client!.send(ApiKey.FindCoordinator, 3, { key: transactionalId, keyType: 1 })).errorCode).toBe(ErrorCode.NONE);
    const init = await client!.send(ApiKey.InitProducerId, 4, { transactionalId, transactionTimeoutMs: 60_000 });
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const add = await client!.send(ApiKey.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: init.producerId,
      v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 't', partitions: [0] }],
    });
    expect(add.resultsByTopicV3AndBelow[0].resultsByPartition[0].partitionErrorCode).toBe(ErrorCode.NONE);
    const txnBatch = buildRecordBatch({ producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: 0, attributes: 0x10, baseTimestamp: BigInt(Date.now()), records: [{ value: 'in-txn' }] });
    const p = await client!.send(ApiKey.Produce, 9, { transactionalId, acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: txnBatch }] }] });
    expect(p.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const end = await client!.send(ApiKey.EndTxn, 3, { transactionalId, producerId: init.producerId, producerEpoch: init.producerEpoch, committed: true });
    expect(end.errorCode).toBe(ErrorCode.NONE);
    await tb!.broker.waitForOffset('t', 0, 2n);
    expect((await produce('t', buildRecordBatch({ records: [{ value: 'after' }] }), 7)).errorCode).toBe(ErrorCode.NONE);

    // Offset 1 is the commit marker: magic-1 readers get the data around it, and from the marker on, what follows.
    const all = decodeMessageSet((await fetch('t', 0n, 2)).records);
    expect(all.map((m) => [m.offset, m.value?.toString()])).toEqual([[0n, 'in-txn'], [2n, 'after']]);
    const markerOnly = await fetch('t', 1n, 2, 70);
    expect(decodeMessageSet(markerOnly.records).map((m) => [m.offset, m.value?.toString()])).toEqual([[2n, 'after']]);
  });

  it('eddy start --message-downconversion-enable sets the broker option (default true), which must be a boolean', async () => {
    const parse = async (argv: string[]) => brokerOptionsFromArgs(await startOptions(yargs(argv)).parseAsync());
    expect((await parse([])).messageDownconversionEnable).toBe(true);
    expect((await parse(['--message-downconversion-enable', 'false'])).messageDownconversionEnable).toBe(false);
    expect((await parse(['--no-message-downconversion-enable'])).messageDownconversionEnable).toBe(false);
    expect(resolveBrokerConfig({}).messageDownconversionEnable).toBe(true);
    expect(() => resolveBrokerConfig({ messageDownconversionEnable: 'no' as never })).toThrow(BrokerError);
  });
});
