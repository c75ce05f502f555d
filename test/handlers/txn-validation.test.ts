// The transaction APIs' answers that are decided before the transaction coordinator is asked (request checks,
// unknown topics and partitions, internal topics), and DescribeProducers over an idempotent producer's
// partition, over a real socket.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Writer } from '../../src/protocol/writer.js';
import { writeRequestHeader, requestHeaderVersion } from '../../src/protocol/header.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterEach(async () => {
  client.close();
  await tb.stop();
});

type TopicResults = Array<{ name: string; resultsByPartition: Array<{ partitionIndex: number; partitionErrorCode: number }> }>;

/** [topic, partition, code] triples, sorted, for comparisons that do not depend on the answer's order. */
function codes(results: TopicResults): Array<[string, number, number]> {
  return results
    .flatMap((t) => t.resultsByPartition.map((p): [string, number, number] => [t.name, p.partitionIndex, p.partitionErrorCode]))
    .sort((a, b) => (a[0] === b[0] ? a[1] - b[1] : a[0] < b[0] ? -1 : 1));
}

describe('ApiVersions', () => {
  it('advertises the transaction APIs with the versions Kafka has (EndTxn and TxnOffsetCommit 5: transactions v2)', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1' });
    const range = (apiKey: number) => res.apiKeys.find((k: { apiKey: number }) => k.apiKey === apiKey);
    expect(range(ApiKey.InitProducerId)).toMatchObject({ minVersion: 0, maxVersion: 5 });
    expect(range(ApiKey.AddPartitionsToTxn)).toMatchObject({ minVersion: 0, maxVersion: 5 });
    expect(range(ApiKey.AddOffsetsToTxn)).toMatchObject({ minVersion: 0, maxVersion: 4 });
    expect(range(ApiKey.EndTxn)).toMatchObject({ minVersion: 0, maxVersion: 5 });
    expect(range(ApiKey.TxnOffsetCommit)).toMatchObject({ minVersion: 0, maxVersion: 5 });
    expect(range(ApiKey.WriteTxnMarkers)).toMatchObject({ minVersion: 0, maxVersion: 1 });
    expect(range(ApiKey.DescribeProducers)).toMatchObject({ minVersion: 0, maxVersion: 0 });
    expect(range(ApiKey.DescribeTransactions)).toMatchObject({ minVersion: 0, maxVersion: 0 });
    expect(range(ApiKey.ListTransactions)).toMatchObject({ minVersion: 0, maxVersion: 1 });
    expect(range(ApiKey.FindCoordinator)).toMatchObject({ minVersion: 0, maxVersion: 5 });
  });
});

describe('FindCoordinator key checks', () => {
  it('answers an unknown key type INVALID_REQUEST with no node, single and batched', async () => {
    expect(await client.send(ApiKey.FindCoordinator, 3, { key: 'x', keyType: 2 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, nodeId: -1, host: '', port: -1 });
    const v4 = await client.send(ApiKey.FindCoordinator, 4, { keyType: 9, coordinatorKeys: ['a', 'b'] });
    expect(v4.coordinators.map((c: { key: string; errorCode: number; nodeId: number }) => [c.key, c.errorCode, c.nodeId])).toEqual([
      ['a', ErrorCode.INVALID_REQUEST, -1],
      ['b', ErrorCode.INVALID_REQUEST, -1],
    ]);
  });

  it('answers a v4 transaction lookup with no keys with no coordinators', async () => {
    const res = await client.send(ApiKey.FindCoordinator, 4, { keyType: 1, coordinatorKeys: [] });
    expect(res.coordinators).toEqual([]);
  });

  it('closes the connection on a null key, which does not decode (Kafka closes on an unparsable request)', async () => {
    // FindCoordinator v1 body: key = null (int16 -1), keyType = 1.
    const w = new Writer();
    w.writeInt32(0);
    writeRequestHeader(w, { requestApiKey: ApiKey.FindCoordinator, requestApiVersion: 1, correlationId: 7, clientId: 'eddy-test' }, requestHeaderVersion(ApiKey.FindCoordinator, 1));
    w.writeInt16(-1);
    w.writeInt8(1);
    const frame = w.toBuffer();
    frame.writeInt32BE(frame.length - 4, 0);
    client.socket.write(frame);
    await client.closed;
    expect(client.isOpen).toBe(false);
  });
});

describe('InitProducerId with a transactional id: checks before the coordinator', () => {
  const init = (v: number, fields: Record<string, unknown>) => client.send(ApiKey.InitProducerId, v, { transactionTimeoutMs: 60_000, ...fields });

  it('answers an empty transactional id INVALID_REQUEST with producer id and epoch -1', async () => {
    for (const v of [0, 3, 5]) expect(await init(v, { transactionalId: '' })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
  });

  it('answers a timeout <= 0 or above transaction.max.timeout.ms INVALID_TRANSACTION_TIMEOUT', async () => {
    expect(await init(4, { transactionalId: 'tx', transactionTimeoutMs: 0 })).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1n });
    expect(await init(4, { transactionalId: 'tx', transactionTimeoutMs: -5 })).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
    expect(await init(1, { transactionalId: 'tx', transactionTimeoutMs: 900_001 })).toMatchObject({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT });
  });

  it('answers only one of producerId/producerEpoch being -1 INVALID_REQUEST, before looking at the transactional id', async () => {
    expect(await init(3, { transactionalId: 'tx', producerId: 5n, producerEpoch: -1 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, producerId: -1n, producerEpoch: -1 });
    expect(await init(5, { transactionalId: 'tx', producerId: -1n, producerEpoch: 3 })).toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST });
  });
});

describe('AddPartitionsToTxn partition checks', () => {
  it('v0–3: an unknown topic or partition fails the whole request; the other partitions OPERATION_NOT_ATTEMPTED', async () => {
    for (const v of [0, 1, 2, 3]) {
      const res = await client.send(ApiKey.AddPartitionsToTxn, v, {
        v3AndBelowTransactionalId: 'tx-check',
        v3AndBelowProducerId: 1n,
        v3AndBelowProducerEpoch: 0,
        v3AndBelowTopics: [
          { name: 't', partitions: [0, 5, -1] },
          { name: 'missing', partitions: [0] },
        ],
      });
      expect(codes(res.resultsByTopicV3AndBelow)).toEqual([
        ['missing', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['t', -1, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
        ['t', 0, ErrorCode.OPERATION_NOT_ATTEMPTED],
        ['t', 5, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ]);
      expect(res.throttleTimeMs).toBe(0);
    }
  });

  it('v0–3: internal topics are TOPIC_AUTHORIZATION_FAILED, whether or not they exist (Kafka leaves them out of the authorized set)', async () => {
    const res = await client.send(ApiKey.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: 'tx-check',
      v3AndBelowProducerId: 1n,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [
        { name: '__consumer_offsets', partitions: [3] },
        { name: '__transaction_state', partitions: [0] },
        { name: 't', partitions: [1] },
      ],
    });
    expect(codes(res.resultsByTopicV3AndBelow)).toEqual([
      ['__consumer_offsets', 3, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ['__transaction_state', 0, ErrorCode.TOPIC_AUTHORIZATION_FAILED],
      ['t', 1, ErrorCode.OPERATION_NOT_ATTEMPTED],
    ]);
  });

  it('answers each failed partition once when the request names it twice', async () => {
    const res = await client.send(ApiKey.AddPartitionsToTxn, 1, {
      v3AndBelowTransactionalId: 'tx-check',
      v3AndBelowProducerId: 1n,
      v3AndBelowProducerEpoch: 0,
      v3AndBelowTopics: [{ name: 'missing', partitions: [2, 2] }, { name: 'missing', partitions: [2] }],
    });
    expect(codes(res.resultsByTopicV3AndBelow)).toEqual([['missing', 2, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  });

  it('v4 (batched, from brokers): one result per transaction, each checked on its own; no top-level error', async () => {
    const res = await client.send(ApiKey.AddPartitionsToTxn, 4, {
      transactions: [
        { transactionalId: 'a', producerId: 1n, producerEpoch: 0, verifyOnly: false, topics: [{ name: 'missing', partitions: [0] }, { name: 't', partitions: [1] }] },
        { transactionalId: 'b', producerId: 2n, producerEpoch: 0, verifyOnly: true, topics: [{ name: 't', partitions: [7] }] },
      ],
    });
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.resultsByTransaction.map((r: { transactionalId: string; topicResults: TopicResults }) => [r.transactionalId, codes(r.topicResults)])).toEqual([
      ['a', [['missing', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION], ['t', 1, ErrorCode.OPERATION_NOT_ATTEMPTED]]],
      ['b', [['t', 7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
    ]);
  });

  it('v4: internal topics are checked like any other topic (brokers are authorized for them)', async () => {
    const res = await client.send(ApiKey.AddPartitionsToTxn, 5, {
      transactions: [{ transactionalId: 'a', producerId: 1n, producerEpoch: 0, verifyOnly: false, topics: [{ name: '__share_group_state', partitions: [0] }] }],
    });
    expect(codes(res.resultsByTransaction[0].topicResults)).toEqual([['__share_group_state', 0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]);
  });

  it('v4 with no transactions answers no results', async () => {
    const res = await client.send(ApiKey.AddPartitionsToTxn, 4, { transactions: [] });
    expect(res).toMatchObject({ errorCode: ErrorCode.NONE, resultsByTransaction: [] });
  });
});

describe('WriteTxnMarkers checks', () => {
  it('answers partitions the broker does not have UNKNOWN_TOPIC_OR_PARTITION, one entry per producer id', async () => {
    for (const v of [0, 1]) {
      const res = await client.send(ApiKey.WriteTxnMarkers, v, {
        markers: [
          { producerId: 11n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [{ name: 'missing', partitionIndexes: [0, 1] }] },
          { producerId: 12n, producerEpoch: 0, transactionResult: false, coordinatorEpoch: 0, topics: [{ name: 't', partitionIndexes: [9] }] },
          { producerId: 11n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [{ name: 't', partitionIndexes: [-1] }] },
        ],
      });
      expect(res.markers).toEqual([
        {
          producerId: 11n,
          topics: [
            { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }, { partitionIndex: 1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
            { name: 't', partitions: [{ partitionIndex: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
          ],
        },
        { producerId: 12n, topics: [{ name: 't', partitions: [{ partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] }] },
      ]);
    }
  });

  it('leaves a marker with no partitions out of the answer, and answers no markers with none', async () => {
    expect((await client.send(ApiKey.WriteTxnMarkers, 1, { markers: [] })).markers).toEqual([]);
    const res = await client.send(ApiKey.WriteTxnMarkers, 1, { markers: [{ producerId: 3n, producerEpoch: 0, transactionResult: true, coordinatorEpoch: 0, topics: [] }] });
    expect(res.markers).toEqual([]);
  });
});

describe('DescribeTransactions with no ids', () => {
  it('answers no transaction states', async () => {
    expect(await client.send(ApiKey.DescribeTransactions, 0, { transactionalIds: [] })).toMatchObject({ throttleTimeMs: 0, transactionStates: [] });
  });
});

describe('DescribeProducers', () => {
  it("lists an idempotent producer on the partition it wrote to, with its epoch, last sequence and timestamp, and none on the other", async () => {
    const init = await client.send(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000 });
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const baseTimestamp = BigInt(Date.now());
    const records = buildRecordBatch({
      producerId: init.producerId,
      producerEpoch: 0,
      baseSequence: 0,
      baseTimestamp,
      records: [{ value: 'a' }, { value: 'b', timestampDelta: 5 }, { value: 'c', timestampDelta: 2 }],
    });
    const produced = await client.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);

    const res = await client.send(ApiKey.DescribeProducers, 0, { topics: [{ name: 't', partitionIndexes: [0, 1] }] });
    expect(res).toEqual({
      throttleTimeMs: 0,
      topics: [
        {
          name: 't',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: ErrorCode.NONE,
              errorMessage: null,
              activeProducers: [
                { producerId: init.producerId, producerEpoch: 0, lastSequence: 2, lastTimestamp: baseTimestamp + 5n, coordinatorEpoch: -1, currentTxnStartOffset: -1n },
              ],
            },
            { partitionIndex: 1, errorCode: ErrorCode.NONE, errorMessage: null, activeProducers: [] },
          ],
        },
      ],
    });
  });

  it('answers an unknown topic UNKNOWN_TOPIC_OR_PARTITION with Kafka message, an unknown partition without one, an illegal name INVALID_TOPIC_EXCEPTION', async () => {
    const res = await client.send(ApiKey.DescribeProducers, 0, {
      topics: [
        { name: 'missing', partitionIndexes: [0, 0] },
        { name: 't', partitionIndexes: [2, -1] },
        { name: 'bad name!', partitionIndexes: [0] },
        { name: '', partitionIndexes: [1] },
      ],
    });
    expect(res.topics).toEqual([
      {
        name: 'missing',
        partitions: [
          { partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.', activeProducers: [] },
          { partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'This server does not host this topic-partition.', activeProducers: [] },
        ],
      },
      {
        name: 't',
        partitions: [
          { partitionIndex: 2, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] },
          { partitionIndex: -1, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null, activeProducers: [] },
        ],
      },
      {
        name: 'bad name!',
        partitions: [
          {
            partitionIndex: 0,
            errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION,
            errorMessage: "Topic name is invalid: 'bad name!' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'",
            activeProducers: [],
          },
        ],
      },
      { name: '', partitions: [{ partitionIndex: 1, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: 'Topic name is invalid: the empty string is not allowed', activeProducers: [] }] },
    ]);
  });
});
