// Three brokers in this process joined through a real etcd: topics created through any broker, replication to
// followers, acks=all waiting for the ISR, min.insync.replicas, leader failover on a clean stop and on a lost
// lease, a follower catching up, and the replicas' logs byte-for-byte equal at the end.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { captureLogger } from './cluster-harness.js';
import { startInProcessCluster, THREE_BROKER_FAILOVER_OPTIONS, waitFor, type InProcessCluster } from './in-process-cluster-harness.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

type Cluster = InProcessCluster;

const log = captureLogger();

function startCluster(nodeIds: number[]): Promise<Cluster> {
  return startInProcessCluster(etcd.endpoint, nodeIds, {
    ...THREE_BROKER_FAILOVER_OPTIONS,
    logger: log.logger,
  });
}

function kafkaFor(cluster: Cluster): Kafka {
  return new Kafka({ clientId: 'cluster-test', brokers: cluster.bootstrap(), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
}


async function partitionMetadata(admin: Admin, topic: string) {
  const md = await admin.fetchTopicMetadata({ topics: [topic] });
  return md.topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId);
}

describe('a three-broker cluster in one process', () => {
  let cluster: Cluster | undefined;
  let admin: Admin | undefined;
  let producer: Producer | undefined;
  afterEach(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await cluster?.close();
    producer = undefined;
    admin = undefined;
    cluster = undefined;
  });

  it('lists every broker and the controller, places RF=3 replicas, and replicates acks=all writes to every replica', async () => {
    cluster = await startCluster([1, 2, 3]);
    const kafka = kafkaFor(cluster);
    admin = kafka.admin();
    await admin.connect();
    const described = await admin.describeCluster();
    expect(described.brokers.map((b) => b.nodeId).sort()).toEqual([1, 2, 3]);
    expect([1, 2, 3]).toContain(described.controller);

    expect(await admin.createTopics({ topics: [{ topic: 'replicated', numPartitions: 3, replicationFactor: 3 }], waitForLeaders: true })).toBe(true);
    const partitions = await partitionMetadata(admin, 'replicated');
    expect(partitions).toHaveLength(3);
    for (const p of partitions) {
      expect([...p.replicas].sort()).toEqual([1, 2, 3]);
      expect([...p.isr].sort()).toEqual([1, 2, 3]);
    }
    // Leaders spread over the brokers.
    expect(new Set(partitions.map((p) => p.leader)).size).toBe(3);

    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < 30; i++) {
      const [result] = await producer.send({ topic: 'replicated', acks: -1, messages: [{ key: `k${i}`, value: `v${i}`, partition: i % 3 }] });
      expect(result!.errorCode).toBe(0);
    }
    // acks=all answered: every replica has every record, the same bytes at the same offsets.
    for (let p = 0; p < 3; p++) {
      const expected = Array.from({ length: 10 }, (_, j) => `v${j * 3 + p}`);
      for (const broker of cluster.brokers.values()) {
        const records = await waitFor(`partition ${p} on a replica`, async () => {
          const r = await broker.records('replicated', p).catch(() => undefined);
          return r !== undefined && r.length === 10 ? r : undefined;
        });
        expect(records.map((r) => r.value?.toString())).toEqual(expected);
        expect(records.map((r) => r.offset)).toEqual(expected.map((_, j) => BigInt(j)));
      }
    }
  });

  it('moves leadership off a broker that stops cleanly, keeps acknowledged records, and lets it catch up when it returns', async () => {
    cluster = await startCluster([1, 2, 3]);
    const kafka = kafkaFor(cluster);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'failover', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'failover', acks: -1, messages: [{ value: `before-${i}` }] });

    const [before] = await partitionMetadata(admin, 'failover');
    const oldLeader = before!.leader;
    await cluster.brokers.get(oldLeader)!.close();
    cluster.brokers.delete(oldLeader);

    const after = await waitFor('a new leader', async () => {
      const [p] = await partitionMetadata(admin!, 'failover').catch(() => [undefined]);
      return p !== undefined && p.leader !== oldLeader && p.leader >= 0 ? p : undefined;
    });
    expect(after.isr).not.toContain(oldLeader);
    for (let i = 0; i < 10; i++) await producer.send({ topic: 'failover', acks: -1, messages: [{ value: `after-${i}` }] });

    // The old leader comes back as a follower, catches up and rejoins the ISR.
    await cluster.start(oldLeader);
    await waitFor('the returning broker back in the ISR', async () => {
      const [p] = await partitionMetadata(admin!, 'failover');
      return p!.isr.includes(oldLeader) ? p : undefined;
    }, 20_000);
    const expected = [...Array.from({ length: 10 }, (_, i) => `before-${i}`), ...Array.from({ length: 10 }, (_, i) => `after-${i}`)];
    for (const broker of cluster.brokers.values()) {
      const records = await waitFor('every record on every replica', async () => {
        const r = await broker.records('failover', 0).catch(() => undefined);
        return r !== undefined && r.length === expected.length ? r : undefined;
      });
      expect(records.map((r) => r.value?.toString())).toEqual(expected);
    }
  });

  it('answers NOT_ENOUGH_REPLICAS to acks=all when the ISR is below min.insync.replicas, and accepts acks=1', async () => {
    cluster = await startCluster([1, 2]);
    const kafka = kafkaFor(cluster);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'min-isr', numPartitions: 1, replicationFactor: 2, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }], waitForLeaders: true });
    const [p] = await partitionMetadata(admin, 'min-isr');
    const follower = p!.replicas.find((id) => id !== p!.leader)!;
    await cluster.brokers.get(follower)!.close();
    cluster.brokers.delete(follower);
    await waitFor('the ISR to shrink to the leader', async () => {
      const [q] = await partitionMetadata(admin!, 'min-isr');
      return q!.isr.length === 1 ? q : undefined;
    });
    producer = kafkaFor(cluster).producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    // NOT_ENOUGH_REPLICAS is retriable: kafkajs gives up after its retries with that cause.
    const refused = await producer.send({ topic: 'min-isr', acks: -1, messages: [{ value: 'refused' }] }).then(
      () => undefined,
      (err: { cause?: { type?: string } }) => err,
    );
    expect(refused?.cause?.type).toBe('NOT_ENOUGH_REPLICAS');
    expect((await cluster.brokers.get(p!.leader)!.records('min-isr', 0)).map((r) => r.value?.toString())).toEqual([]);
    const [ok] = await producer.send({ topic: 'min-isr', acks: 1, messages: [{ value: 'accepted' }] });
    expect(ok!.errorCode).toBe(0);
  });

  it('ends a long poll on a leader at once when leadership moves away (preferred election), answering NOT_LEADER_OR_FOLLOWER', async () => {
    cluster = await startCluster([1, 2, 3]);
    const kafka = kafkaFor(cluster);
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'moves', numPartitions: 1, replicationFactor: 3 }], waitForLeaders: true });
    // Make the preferred replica a follower: stop it, let another replica lead, bring it back into the ISR.
    const [first] = await partitionMetadata(admin, 'moves');
    const preferred = first!.leader;
    await cluster.brokers.get(preferred)!.close();
    cluster.brokers.delete(preferred);
    const interim = await waitFor('another leader', async () => {
      const [p] = await partitionMetadata(admin!, 'moves').catch(() => [undefined]);
      return p !== undefined && p.leader >= 0 && p.leader !== preferred ? p.leader : undefined;
    });
    await cluster.start(preferred);
    await waitFor('the preferred replica back in the ISR', async () => {
      const [p] = await partitionMetadata(admin!, 'moves');
      return p!.isr.includes(preferred) ? true : undefined;
    }, 20_000);

    // A consumer's long poll on the interim leader: nothing to read, 30 s to wait.
    const consumer = await TestClient.connect(cluster.brokers.get(interim)!.port, 'long-poll');
    try {
      const poll = consumer.send(ApiKey.Fetch, 12, {
        replicaId: -1, maxWaitMs: 30_000, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'moves', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      await new Promise((r) => setTimeout(r, 300)); // the poll is parked on the partition
      // Another connection: requests on one connection are answered in order, so the poll's would wait behind it.
      const operator = await TestClient.connect(cluster.brokers.get(preferred)!.port, 'operator');
      const elected = await operator.send(ApiKey.ElectLeaders, 2, { electionType: 0, topicPartitions: [{ topic: 'moves', partitions: [0] }], timeoutMs: 10_000 }).finally(() => operator.close());
      expect(elected.replicaElectionResults[0].partitionResult[0].errorCode).toBe(0);
      // The poll answers with the move (a timed-out poll would answer NONE with no records, after 30 s).
      const res = await poll;
      expect(res.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
      const [after] = await partitionMetadata(admin, 'moves');
      expect(after!.leader).toBe(preferred);
    } finally {
      consumer.close();
    }
  }, 60_000);
});
