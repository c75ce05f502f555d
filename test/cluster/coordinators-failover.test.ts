// The group and transaction coordinators in a three-broker cluster (in this process, real etcd): FindCoordinator
// answers the leader of the key's internal partition, the other brokers answer NOT_COORDINATOR, a cluster too
// small for the internal topic's replication factor answers COORDINATOR_NOT_AVAILABLE, and a kafkajs consumer
// group and a kafkajs transactional producer carry on when the coordinator broker stops.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin, type Consumer, type Producer } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import type { Broker } from '../../src/broker.js';
import { captureLogger } from './cluster-harness.js';
import { startInProcessCluster, THREE_BROKER_FAILOVER_OPTIONS, waitFor, type InProcessCluster } from './in-process-cluster-harness.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

const log = captureLogger();

type Cluster = InProcessCluster;

function startCluster(nodeIds: number[]): Promise<Cluster> {
  return startInProcessCluster(etcd.endpoint, nodeIds, {
    ...THREE_BROKER_FAILOVER_OPTIONS,
    offsetsTopicNumPartitions: 6,
    transactionStateLogNumPartitions: 6,
    logger: log.logger,
  });
}

/** waitFor with this file's 30 s default (coordinators move more slowly than partitions). */
function waitLong<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  return waitFor(what, fn, timeoutMs);
}


interface CoordinatorAnswer {
  key: string;
  nodeId: number;
  host: string;
  port: number;
  errorCode: number;
}

/** FindCoordinator v4 (batched keys) sent to one broker. */
async function findCoordinators(broker: Broker, keyType: number, keys: string[]): Promise<CoordinatorAnswer[]> {
  const client = await TestClient.connect(broker.port);
  try {
    const res = await client.send(ApiKey.FindCoordinator, 4, { keyType, coordinatorKeys: keys });
    return res.coordinators as CoordinatorAnswer[];
  } finally {
    client.socket.destroy();
  }
}

/** The coordinator of a key once every broker agrees on a live one. */
async function coordinatorOf(cluster: Cluster, keyType: number, key: string): Promise<number> {
  return waitLong(`the coordinator of ${key}`, async () => {
    const answers = await Promise.all([...cluster.brokers.values()].map((b) => findCoordinators(b, keyType, [key])));
    const ids = new Set(answers.map((a) => (a[0]!.errorCode === ErrorCode.NONE ? a[0]!.nodeId : -1)));
    const [id] = [...ids];
    return ids.size === 1 && id !== undefined && id >= 0 && cluster.brokers.has(id) ? id : undefined;
  });
}

function kafkaFor(cluster: Cluster): Kafka {
  return new Kafka({ clientId: 'coordinators-test', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
}

describe('coordinators in a three-broker cluster', () => {
  let cluster: Cluster | undefined;
  const clients: Array<{ disconnect(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of clients.splice(0).reverse()) await c.disconnect().catch(() => undefined);
    await cluster?.close();
    cluster = undefined;
  });

  it('FindCoordinator answers the leader of the key partition; the other brokers answer NOT_COORDINATOR', async () => {
    cluster = await startCluster([1, 2, 3]);
    const [b1, b2] = [cluster.brokers.get(1)!, cluster.brokers.get(2)!];
    const groupIds = Array.from({ length: 12 }, (_, i) => `group-${i}`);
    const fromOne = await findCoordinators(b1, 0, groupIds);
    expect(fromOne.map((a) => a.errorCode)).toEqual(groupIds.map(() => ErrorCode.NONE));
    // Every broker gives the same answers, and the groups spread over more than one coordinator.
    expect((await findCoordinators(b2, 0, groupIds)).map((a) => a.nodeId)).toEqual(fromOne.map((a) => a.nodeId));
    expect(new Set(fromOne.map((a) => a.nodeId)).size).toBeGreaterThan(1);
    for (const a of fromOne) expect(a.port).toBe(cluster.brokers.get(a.nodeId)!.port);

    // Each group: Heartbeat to its coordinator (once it has applied the new topic and loaded the partition) knows
    // nothing of the member; the other brokers answer NOT_COORDINATOR.
    const heartbeat = async (broker: Broker, groupId: string): Promise<number> => {
      const client = await TestClient.connect(broker.port);
      try {
        const r = await client.send(ApiKey.Heartbeat, 4, { groupId, generationId: 1, memberId: 'nobody', groupInstanceId: null });
        return r.errorCode as number;
      } finally {
        client.socket.destroy();
      }
    };
    for (const a of fromOne.slice(0, 4)) {
      const coordinator = cluster.brokers.get(a.nodeId)!;
      await waitLong(`${a.key} served by broker ${a.nodeId}`, async () => ((await heartbeat(coordinator, a.key)) === ErrorCode.UNKNOWN_MEMBER_ID ? true : undefined), 10_000);
      for (const [nodeId, broker] of cluster.brokers) {
        if (nodeId !== a.nodeId) expect(await heartbeat(broker, a.key)).toBe(ErrorCode.NOT_COORDINATOR);
      }
    }

    // Transactional ids: InitProducerId only on the coordinator.
    const [txn] = await findCoordinators(b1, 1, ['txn-a']);
    expect(txn!.errorCode).toBe(ErrorCode.NONE);
    const initProducerId = async (broker: Broker): Promise<number> => {
      const client = await TestClient.connect(broker.port);
      try {
        const r = await client.send(ApiKey.InitProducerId, 4, { transactionalId: 'txn-a', transactionTimeoutMs: 10_000, producerId: -1n, producerEpoch: -1 });
        return r.errorCode as number;
      } finally {
        client.socket.destroy();
      }
    };
    const txnCoordinator = cluster.brokers.get(txn!.nodeId)!;
    await waitLong('txn-a served by its coordinator', async () => ((await initProducerId(txnCoordinator)) === ErrorCode.NONE ? true : undefined), 10_000);
    for (const [nodeId, broker] of cluster.brokers) {
      if (nodeId !== txn!.nodeId) expect(await initProducerId(broker)).toBe(ErrorCode.NOT_COORDINATOR);
    }
  }, 90_000);

  it('FindCoordinator answers COORDINATOR_NOT_AVAILABLE while fewer brokers are live than the internal topic replication factor', async () => {
    cluster = await startCluster([1, 2]);
    for (const keyType of [0, 1]) {
      const [answer] = await findCoordinators(cluster.brokers.get(1)!, keyType, ['k']);
      expect(answer).toMatchObject({ errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, nodeId: -1, host: '', port: -1 });
    }
  }, 60_000);

  it('a consumer group keeps consuming when its coordinator broker stops, and a new member resumes at the committed offsets', async () => {
    cluster = await startCluster([1, 2, 3]);
    const kafka = kafkaFor(cluster);
    const admin: Admin = kafka.admin();
    clients.push(admin);
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();
    const produce = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) await producer.send({ topic: 'orders', acks: -1, messages: [{ key: `k${i}`, value: `v${i}` }] });
    };

    const seen = new Map<string, number>();
    const startConsumer = async (): Promise<Consumer> => {
      // kafkajs retries a join or commit against the coordinator it knew (now stopped) until its retries run out,
      // then restarts the consumer, which looks the coordinator up again: few retries keep that short.
      // rebalanceTimeout 10 s (kafkajs: 60 s): a member that left without a LeaveGroup holds a rebalance that long.
      const consumer = kafka.consumer({ groupId: 'failover-group', sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 500, retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 } });
      clients.push(consumer);
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      await consumer.run({
        autoCommitThreshold: 1,
        eachMessage: async ({ message }) => {
          const value = message.value!.toString();
          seen.set(value, (seen.get(value) ?? 0) + 1);
        },
      });
      return consumer;
    };
    const consumers = [await startConsumer(), await startConsumer()];
    await produce(0, 30);
    await waitLong('the first 30 records consumed', () => (seen.size >= 30 ? true : undefined));

    const coordinator = await coordinatorOf(cluster, 0, 'failover-group');
    await cluster.stop(coordinator);
    await produce(30, 60);
    // A member stuck on the stopped broker may only come back after its session timeout (10 s) and a rebalance.
    await waitLong('all 60 records consumed after the failover', () => (seen.size >= 60 ? true : undefined), 90_000);
    const moved = await coordinatorOf(cluster, 0, 'failover-group');
    expect(moved).not.toBe(coordinator);
    for (let i = 0; i < 60; i++) expect(seen.has(`v${i}`)).toBe(true);

    // Every record's commit is in: the committed offsets reach each partition's end.
    const ends = await admin.fetchTopicOffsets('orders');
    await waitLong('the committed offsets at the partition ends', async () => {
      const [committed] = await admin.fetchOffsets({ groupId: 'failover-group', topics: ['orders'] });
      const byPartition = new Map(committed!.partitions.map((p) => [p.partition, p.offset]));
      return ends.every((e) => byPartition.get(e.partition) === e.high) ? true : undefined;
    });
    for (const c of consumers) await c.disconnect();

    // A new member of the group starts at the committed offsets: it sees only what was produced afterwards.
    await produce(60, 65);
    const before = new Map(seen);
    seen.clear();
    await startConsumer();
    await waitLong('the 5 new records consumed', () => (seen.size >= 5 ? true : undefined), 45_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect([...seen.keys()].sort()).toEqual(['v60', 'v61', 'v62', 'v63', 'v64']);
    expect(before.size).toBe(60);
  }, 240_000);

  it('a transactional producer commits through a coordinator failover; read_committed sees each committed record once and no aborted one', async () => {
    cluster = await startCluster([1, 2, 3]);
    const kafka = kafkaFor(cluster);
    const admin: Admin = kafka.admin();
    clients.push(admin);
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 2, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    // __consumer_offsets (RF=3) exists before a broker stops: two brokers could not create it for the reader.
    await waitLong('__consumer_offsets', async () => ((await findCoordinators(cluster!.brokers.get(1)!, 0, ['payments-reader']))[0]!.errorCode === ErrorCode.NONE ? true : undefined));
    const producer = kafka.producer({ transactionalId: 'failover-txn', idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    clients.push(producer);
    await producer.connect();

    const committed: string[] = [];
    const aborted: string[] = [];
    const runTransaction = async (values: string[], beforeCommit?: () => Promise<void>): Promise<boolean> => {
      const txn = await producer.transaction();
      try {
        await txn.send({ topic: 'payments', messages: values.map((value, i) => ({ key: `k${i}`, value })) });
        await beforeCommit?.();
        await txn.commit();
        committed.push(...values);
        return true;
      } catch {
        await txn.abort().catch(() => undefined);
        aborted.push(...values);
        return false;
      }
    };
    expect(await runTransaction(['a0', 'a1', 'a2', 'a3'])).toBe(true);

    // The coordinator stops between the sends and the commit.
    const coordinator = await coordinatorOf(cluster, 1, 'failover-txn');
    const second = ['b0', 'b1', 'b2', 'b3'];
    const ok = await runTransaction(second, () => cluster!.stop(coordinator));
    if (!ok) {
      // Aborted cleanly: a retry in a new transaction succeeds.
      expect(await runTransaction(['c0', 'c1', 'c2', 'c3'])).toBe(true);
    }
    expect(await coordinatorOf(cluster, 1, 'failover-txn')).not.toBe(coordinator);
    expect(await runTransaction(['d0', 'd1'])).toBe(true);

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId: 'payments-reader', readUncommitted: false });
    clients.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'payments', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitLong('every committed record', () => (seen.length >= committed.length ? true : undefined), 60_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect([...seen].sort()).toEqual([...committed].sort());
    for (const value of aborted) expect(seen).not.toContain(value);
  }, 180_000);
});
