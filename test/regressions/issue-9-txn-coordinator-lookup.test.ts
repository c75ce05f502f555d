// Issue 9, transactions: before the transaction coordinator, FindCoordinator key type 1 and InitProducerId with a
// transactional id answered COORDINATOR_NOT_AVAILABLE, so transactional producers (Java, librdkafka, kafkajs)
// retried forever. Now this broker is the transaction coordinator: the lookup creates __transaction_state and
// names this broker, and InitProducerId gives a producer id and epoch that survive a restart.
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(dataDir: string): Promise<{ tb: TestBroker; client: TestClient }> {
  const tb = await startTestBroker({ dataDir });
  cleanups.push(() => tb.stop({ keepData: true }));
  const client = await TestClient.connect(tb.port);
  cleanups.push(() => client.close());
  return { tb, client };
}

describe('a transactional producer starting up', () => {
  it('finds this broker as its transaction coordinator and gets a producer id, at every InitProducerId version', async () => {
    const { tb, client } = await start(makeTempDir());
    cleanups.push(() => tb.stop());
    const found = await client.send(ApiKey.FindCoordinator, 2, { key: 'tx-startup', keyType: 1 });
    expect(found).toMatchObject({ errorCode: ErrorCode.NONE, nodeId: 1, port: tb.port });
    let epoch = -1;
    let producerId = -1n;
    for (let v = 0; v <= 5; v++) {
      const res = await client.send(ApiKey.InitProducerId, v, { transactionalId: 'tx-startup', transactionTimeoutMs: 30_000 });
      expect(res.errorCode).toBe(ErrorCode.NONE);
      if (producerId === -1n) producerId = res.producerId;
      expect(res.producerId).toBe(producerId);
      expect(res.producerEpoch).toBe(epoch + 1);
      epoch = res.producerEpoch;
    }
  });

  it('keeps its producer id across a broker restart, with the epoch bumped again', async () => {
    const dataDir = makeTempDir();
    const first = await start(dataDir);
    expect((await first.client.send(ApiKey.FindCoordinator, 3, { key: 'tx-restart', keyType: 1 })).errorCode).toBe(ErrorCode.NONE);
    const before = await first.client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-restart', transactionTimeoutMs: 30_000 });
    expect(before.errorCode).toBe(ErrorCode.NONE);
    first.client.close();
    await first.tb.stop({ keepData: true });

    const second = await start(dataDir);
    cleanups.push(() => second.tb.stop());
    expect((await second.client.send(ApiKey.FindCoordinator, 3, { key: 'tx-restart', keyType: 1 })).errorCode).toBe(ErrorCode.NONE);
    // The coordinator may still be loading __transaction_state just after start: retriable, as for Kafka clients.
    let after = await second.client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-restart', transactionTimeoutMs: 30_000 });
    for (let i = 0; i < 100 && after.errorCode === ErrorCode.COORDINATOR_LOAD_IN_PROGRESS; i++) {
      await new Promise((r) => setTimeout(r, 20));
      after = await second.client.send(ApiKey.InitProducerId, 4, { transactionalId: 'tx-restart', transactionTimeoutMs: 30_000 });
    }
    expect(after).toMatchObject({ errorCode: ErrorCode.NONE, producerId: before.producerId, producerEpoch: before.producerEpoch + 1 });
  });
});
