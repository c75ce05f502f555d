// Issue 9, transactions: PRODUCER_FENCED (90, KIP-588) reaches only the API versions that know it; older versions
// get INVALID_PRODUCER_EPOCH (47), exactly where KafkaApis downgrades it:
//   AddPartitionsToTxn, AddOffsetsToTxn, EndTxn: below v2     InitProducerId: below v4
// The fenced producer is real: a second InitProducerId bumps the epoch, and the first epoch is then stale.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
let producerId: bigint;
/** The epoch the first InitProducerId gave: stale after the second. */
let staleEpoch: number;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  expect((await client.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] })).topics[0].errorCode).toBe(ErrorCode.NONE);
  expect((await client.send(ApiKey.FindCoordinator, 3, { key: 'tx-fenced', keyType: 1 })).errorCode).toBe(ErrorCode.NONE);
  const first = await client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-fenced', transactionTimeoutMs: 60_000 });
  expect(first.errorCode).toBe(ErrorCode.NONE);
  const second = await client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-fenced', transactionTimeoutMs: 60_000 });
  expect(second).toMatchObject({ errorCode: ErrorCode.NONE, producerId: first.producerId, producerEpoch: first.producerEpoch + 1 });
  producerId = first.producerId;
  staleEpoch = first.producerEpoch;
});

afterEach(async () => {
  client.close();
  await tb.stop();
});

const expected = (v: number, firstFencedVersion: number) => (v < firstFencedVersion ? ErrorCode.INVALID_PRODUCER_EPOCH : ErrorCode.PRODUCER_FENCED);

describe('a stale producer epoch', () => {
  it('AddPartitionsToTxn v0–1 INVALID_PRODUCER_EPOCH, v2–3 PRODUCER_FENCED', async () => {
    for (let v = 0; v <= 3; v++) {
      const res = await client.send(ApiKey.AddPartitionsToTxn, v, {
        v3AndBelowTransactionalId: 'tx-fenced',
        v3AndBelowProducerId: producerId,
        v3AndBelowProducerEpoch: staleEpoch,
        v3AndBelowTopics: [{ name: 't', partitions: [0] }],
      });
      expect(res.resultsByTopicV3AndBelow).toEqual([{ name: 't', resultsByPartition: [{ partitionIndex: 0, partitionErrorCode: expected(v, 2) }] }]);
    }
  });

  it('AddOffsetsToTxn v0–1 INVALID_PRODUCER_EPOCH, v2–4 PRODUCER_FENCED', async () => {
    for (let v = 0; v <= 4; v++) {
      const res = await client.send(ApiKey.AddOffsetsToTxn, v, { transactionalId: 'tx-fenced', producerId, producerEpoch: staleEpoch, groupId: 'g' });
      expect(res.errorCode).toBe(expected(v, 2));
    }
  });

  it('EndTxn v0–1 INVALID_PRODUCER_EPOCH, v2–4 PRODUCER_FENCED', async () => {
    for (let v = 0; v <= 4; v++) {
      const res = await client.send(ApiKey.EndTxn, v, { transactionalId: 'tx-fenced', producerId, producerEpoch: staleEpoch, committed: v % 2 === 0 });
      expect(res.errorCode).toBe(expected(v, 2));
    }
  });

  it('InitProducerId with the stale epoch (v3+, KIP-360): v3 INVALID_PRODUCER_EPOCH, v4–5 PRODUCER_FENCED, with id and epoch -1', async () => {
    for (let v = 3; v <= 5; v++) {
      const res = await client.send(ApiKey.InitProducerId, v, { transactionalId: 'tx-fenced', transactionTimeoutMs: 60_000, producerId, producerEpoch: staleEpoch });
      expect(res).toMatchObject({ errorCode: expected(v, 4), producerId: -1n, producerEpoch: -1 });
    }
  });
});
