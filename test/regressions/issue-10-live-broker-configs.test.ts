// Dynamic broker configs that used to apply only at the next start now apply at once, as in Kafka:
// producer.id.expiration.ms (every open log's producer state), log.cleaner.io.max.bytes.per.second and
// log.cleaner.dedupe.buffer.size (the cleaner's throttle now, its offset map from the next cleaning: that one is
// tested in test/log/cleaner-review-fixes.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { Throttler } from '../../src/log/cleaner/throttler.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
  tb = undefined;
  client = undefined;
});

const BROKER_RESOURCE = 4;

async function alterBrokerConfig(c: TestClient, name: string, value: string): Promise<number> {
  const res = await c.send(ApiKey.IncrementalAlterConfigs, 1, {
    resources: [{ resourceType: BROKER_RESOURCE, resourceName: '', configs: [{ name, configOperation: 0, value }] }],
    validateOnly: false,
  });
  return res.responses[0].errorCode;
}

async function activeProducers(c: TestClient): Promise<unknown[]> {
  const res = await c.send(ApiKey.DescribeProducers, 0, { topics: [{ name: 't', partitionIndexes: [0] }] });
  return res.topics[0].partitions[0].activeProducers;
}

describe('dynamic broker configs applied at once', () => {
  it('producer.id.expiration.ms set by IncrementalAlterConfigs expires an idle producer without a restart', async () => {
    // The expiry check runs every 100 ms here; the starting expiration (a day) keeps the producer until the change.
    tb = await startTestBroker({ producerIdExpirationCheckIntervalMs: 100 });
    client = await TestClient.connect(tb.port);
    await tb.broker.createTopic('t');
    const init = await client.send(ApiKey.InitProducerId, 4, { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const batch = buildRecordBatch({
      baseTimestamp: BigInt(Date.now()),
      producerId: init.producerId,
      producerEpoch: init.producerEpoch,
      baseSequence: 0,
      records: [{ key: 'k', value: 'v', timestampDelta: 0 }],
    });
    const produced = await client.send(ApiKey.Produce, 9, { transactionalId: null, acks: -1, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch }] }] });
    expect(produced.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await activeProducers(client)).toHaveLength(1);

    expect(await alterBrokerConfig(client, 'producer.id.expiration.ms', '200')).toBe(ErrorCode.NONE);
    let left = await activeProducers(client);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await activeProducers(client);
    }
    expect(left).toEqual([]);
  });

  it('a throttler given a new rate paces the next bytes at that rate', async () => {
    let now = 0;
    const slept: number[] = [];
    const throttler = new Throttler(Number.MAX_VALUE, () => now, async (ms) => {
      slept.push(ms);
      now += ms;
    });
    await throttler.maybeThrottle(10_000_000);
    expect(slept).toEqual([]);
    throttler.setRate(1000);
    await throttler.maybeThrottle(500);
    expect(slept).toEqual([500]);
  });
});
