// Requests to a cluster that Kafka refuses, over real sockets against brokers joined through a real etcd: writes to a
// follower, stale and future leader epochs, replica fetches from brokers that are not replicas, acks=all timing out
// while a follower is stalled, a duplicate node id, etcd unreachable at start, and a broker whose lease runs out.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/broker.js';
import { BrokerError } from '../../src/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { captureLogger, newPrefix } from './cluster-harness.js';
import { waitFor } from './in-process-cluster-harness.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

const log = captureLogger();
const opened: Broker[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(opened.splice(0).map((b) => b.close()));
});

function clusterOptions(prefix: string, nodeId: number) {
  return {
    nodeId,
    port: 0,
    etcd: etcd.endpoint,
    etcdPrefix: prefix,
    brokerSessionTimeoutMs: 2000,
    brokerHeartbeatIntervalMs: 300,
    replicaLagTimeMaxMs: 1500,
    replicaFetchWaitMaxMs: 100,
    replicaFetchBackoffMs: 100,
    controlledShutdownEnable: false,
    logger: log.logger,
  };
}

async function startBrokers(prefix: string, ids: number[]): Promise<Map<number, Broker>> {
  const brokers = new Map<number, Broker>();
  await Promise.all(
    ids.map(async (id) => {
      const b = await createBroker(clusterOptions(prefix, id));
      await b.start();
      opened.push(b);
      brokers.set(id, b);
    }),
  );
  return brokers;
}

async function client(broker: Broker, clientId = 'cluster-requests'): Promise<TestClient> {
  const c = await TestClient.connect(broker.port, clientId);
  clients.push(c);
  return c;
}

/** waitFor, polling every 50 ms. */
function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  return waitFor(what, fn, timeoutMs, 50);
}

function batch(value: string): Buffer {
  return buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: [{ key: 'k', value, timestampDelta: 0 }] });
}

/** Creates `topic` (1 partition, RF = brokers) and answers its leader, followers and topic id once all are in the ISR. */
async function replicatedTopic(brokers: Map<number, Broker>, topic: string, configs: Array<{ name: string; value: string }> = []) {
  const any = await client(brokers.values().next().value!);
  const created = await any.send(ApiKey.CreateTopics, 5, {
    topics: [{ name: topic, numPartitions: 1, replicationFactor: brokers.size, assignments: [], configs }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
  const md = await until('the partition with a leader and a full ISR', async () => {
    const res = await any.send(ApiKey.Metadata, 12, { topics: [{ name: topic, topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
    const p = res.topics[0]?.partitions[0];
    return p !== undefined && p.leaderId >= 0 && p.isrNodes.length === brokers.size ? { topicId: res.topics[0].topicId as Buffer, p } : undefined;
  });
  const leaderId: number = md.p.leaderId;
  // The leader applies its leadership a moment after the metadata shows it (as in Kafka): wait until it serves.
  const leader = await client(brokers.get(leaderId)!);
  await until('the leader serving the partition', async () => {
    const res = await leader.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    return res.topics[0].partitions[0].errorCode === ErrorCode.NONE ? true : undefined;
  });
  return { topicId: md.topicId, leaderId, leaderEpoch: md.p.leaderEpoch as number, followerIds: (md.p.replicaNodes as number[]).filter((id) => id !== leaderId) };
}

function produce(c: TestClient, topic: string, acks: number, timeoutMs = 5000) {
  return c.send(ApiKey.Produce, 9, { acks, timeoutMs, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch('v') }] }] });
}

function replicaFetch(c: TestClient, topicId: Buffer, replicaId: number, replicaEpoch: bigint, currentLeaderEpoch: number) {
  return c.send(ApiKey.Fetch, 15, {
    replicaState: { replicaId, replicaEpoch },
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topicId, partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
}

describe('DeleteRecords in a cluster (DelayedDeleteRecords)', () => {
  function deleteRecords(c: TestClient, topic: string, offset: bigint, timeoutMs: number) {
    return c.send(ApiKey.DeleteRecords, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset }] }], timeoutMs }).then((r: any) => r.topics[0].partitions[0]);
  }

  it('answers once every live replica deleted below the offset, and REQUEST_TIMED_OUT while a follower does not fetch', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2]);
    const t = await replicatedTopic(brokers, 'deleted');
    const leaderBroker = brokers.get(t.leaderId)!;
    const follower = brokers.get(t.followerIds[0]!)!;
    const leader = await client(leaderBroker);
    for (let i = 0; i < 10; i++) expect((await produce(leader, 'deleted', -1)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);

    // Answered with the low watermark once the follower, too, starts at 5: its log says so the moment we hear back.
    expect(await deleteRecords(leader, 'deleted', 5n, 10_000)).toEqual({ partitionIndex: 0, lowWatermark: 5n, errorCode: ErrorCode.NONE });
    expect((await follower.records('deleted', 0))[0]?.offset).toBe(5n);

    // With the follower's fetches held, the replicas cannot confirm: REQUEST_TIMED_OUT after timeout_ms, carrying
    // the leader's new log start offset; the deletion itself stands on the leader.
    leaderBroker.faults.add({ api: 'Fetch', clientId: `broker-${t.followerIds[0]}-fetcher-${t.leaderId}`, stall: true, durationMs: 3000 });
    await new Promise((r) => setTimeout(r, 200)); // the follower's next fetch is the held one
    expect(await deleteRecords(leader, 'deleted', 8n, 500)).toEqual({ partitionIndex: 0, lowWatermark: 8n, errorCode: ErrorCode.REQUEST_TIMED_OUT });
    expect((await leaderBroker.records('deleted', 0))[0]?.offset).toBe(8n);
    // Once the follower fetches again it follows, and a retry (nothing left to move) is answered at once.
    const again = await until('the follower confirming', async () => {
      const r = await deleteRecords(leader, 'deleted', 8n, 1000);
      return r.errorCode === ErrorCode.NONE ? r : undefined;
    });
    expect(again.lowWatermark).toBe(8n);
    expect((await follower.records('deleted', 0))[0]?.offset).toBe(8n);
  });
});

describe('transactions v2 across brokers (KIP-890 part 2)', () => {
  it('a partition leader and a group coordinator add to a transaction coordinated by another broker; EndTxn v5 commits', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2, 3]);
    const any = await client(brokers.get(1)!);
    const created = await any.send(ApiKey.CreateTopics, 5, { topics: [{ name: 'tv2c', numPartitions: 6, replicationFactor: 2, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    const coordinatorOf = async (key: string, keyType: number) =>
      until(`the coordinator of ${key}`, async () => {
        const res = await any.send(ApiKey.FindCoordinator, 4, { keyType, coordinatorKeys: [key] });
        const c = res.coordinators[0];
        return c.errorCode === ErrorCode.NONE ? (c.nodeId as number) : undefined;
      }, 20_000);
    const txnCoordinatorId = await coordinatorOf('tv2-remote', 1);
    // A partition and a group whose leader / coordinator is another broker than the transaction's coordinator.
    const leaders = await until('every partition with a leader', async () => {
      const md = await any.send(ApiKey.Metadata, 12, { topics: [{ name: 'tv2c', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
      const parts = md.topics[0].partitions as Array<{ partitionIndex: number; leaderId: number }>;
      return parts.length === 6 && parts.every((p) => p.leaderId >= 0) ? parts : undefined;
    });
    const remote = leaders.find((p) => p.leaderId !== txnCoordinatorId)!;
    let groupId = '';
    for (let i = 0; i < 50 && groupId === ''; i++) if ((await coordinatorOf(`tv2-group-${i}`, 0)) !== txnCoordinatorId) groupId = `tv2-group-${i}`;
    expect(groupId).not.toBe('');

    const coordinator = await client(brokers.get(txnCoordinatorId)!);
    const init = await coordinator.send(ApiKey.InitProducerId, 5, { transactionalId: 'tv2-remote', transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    expect(init.errorCode).toBe(ErrorCode.NONE);
    const records = buildRecordBatch({ producerId: init.producerId, producerEpoch: init.producerEpoch, baseSequence: 0, attributes: 0x10, baseTimestamp: 1_700_000_000_000n, records: [{ value: 'remote' }] });
    const leader = await client(brokers.get(remote.leaderId)!);
    const produced = await until('the leader taking the transactional batch', async () => {
      const res = await leader.send(ApiKey.Produce, 12, { transactionalId: 'tv2-remote', acks: -1, timeoutMs: 5000, topicData: [{ name: 'tv2c', partitionData: [{ index: remote.partitionIndex, records }] }] });
      const code = res.responses[0].partitionResponses[0].errorCode;
      return code === ErrorCode.NOT_ENOUGH_REPLICAS ? undefined : code;
    });
    expect(produced).toBe(ErrorCode.NONE);
    // As a client does: NOT_COORDINATOR (the group's __consumer_offsets partition, just created, not yet taken up
    // by the broker FindCoordinator named) or a loading coordinator means finding the coordinator again and retrying.
    const retriable = new Set<number>([ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE]);
    const committedCode = await until('the group coordinator taking the transactional commit', async () => {
      const groupCoordinator = await client(brokers.get(await coordinatorOf(groupId, 0))!);
      const committed = await groupCoordinator.send(ApiKey.TxnOffsetCommit, 5, {
        transactionalId: 'tv2-remote', groupId, producerId: init.producerId, producerEpoch: init.producerEpoch, generationId: -1, memberId: '', groupInstanceId: null,
        topics: [{ name: 'tv2c', partitions: [{ partitionIndex: remote.partitionIndex, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: '' }] }],
      });
      const code = committed.topics[0].partitions[0].errorCode as number;
      return retriable.has(code) ? undefined : code;
    });
    expect(committedCode).toBe(ErrorCode.NONE);
    const ongoing = (await coordinator.send(ApiKey.DescribeTransactions, 0, { transactionalIds: ['tv2-remote'] })).transactionStates[0];
    expect(ongoing.transactionState).toBe('Ongoing');
    expect(ongoing.topics.map((t: { topic: string }) => t.topic).sort()).toEqual(['__consumer_offsets', 'tv2c']);

    const ended = await coordinator.send(ApiKey.EndTxn, 5, { transactionalId: 'tv2-remote', producerId: init.producerId, producerEpoch: init.producerEpoch, committed: true });
    expect(ended).toMatchObject({ errorCode: ErrorCode.NONE, producerId: init.producerId, producerEpoch: init.producerEpoch + 1 });
    // The marker reaches the remote leader: read_committed sees the record, and the group its offset.
    await until('the committed record visible', async () => {
      const res = await leader.send(ApiKey.Fetch, 11, {
        maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 1, sessionId: 0, sessionEpoch: -1,
        topics: [{ topic: 'tv2c', partitions: [{ partition: remote.partitionIndex, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
        forgottenTopicsData: [], rackId: '',
      });
      const p = res.responses[0].partitions[0];
      return p.lastStableOffset === 2n ? true : undefined;
    });
    const offsets = await until('the committed offset', async () => {
      const groupCoordinator = await client(brokers.get(await coordinatorOf(groupId, 0))!);
      const res = await groupCoordinator.send(ApiKey.OffsetFetch, 7, { groupId, topics: [{ name: 'tv2c', partitionIndexes: [remote.partitionIndex] }], requireStable: true });
      const p = res.topics[0].partitions[0];
      return p.errorCode === ErrorCode.NONE ? p : undefined;
    });
    expect(offsets.committedOffset).toBe(1n);
  }, 60_000);
});

describe('a cluster refuses what Kafka refuses', () => {
  it('answers NOT_LEADER_OR_FOLLOWER to a write sent to a follower, and the leader accepts it', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2]);
    const t = await replicatedTopic(brokers, 'to-follower');
    const follower = await client(brokers.get(t.followerIds[0]!)!);
    const res = await produce(follower, 'to-follower', 1);
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const leader = await client(brokers.get(t.leaderId)!);
    expect((await produce(leader, 'to-follower', -1)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
  });

  it('answers FENCED_LEADER_EPOCH and UNKNOWN_LEADER_EPOCH to fetches with an older or newer leader epoch', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2]);
    const t = await replicatedTopic(brokers, 'epochs');
    const leader = await client(brokers.get(t.leaderId)!);
    const fetch = (currentLeaderEpoch: number) =>
      leader.send(ApiKey.Fetch, 12, {
        replicaId: -1,
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: 'epochs', partitions: [{ partition: 0, currentLeaderEpoch, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      });
    expect((await fetch(t.leaderEpoch)).responses[0].partitions[0].errorCode).toBe(ErrorCode.NONE);
    expect((await fetch(t.leaderEpoch + 1)).responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const listOffsets = (currentLeaderEpoch: number) =>
      leader.send(ApiKey.ListOffsets, 7, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: 'epochs', partitions: [{ partitionIndex: 0, currentLeaderEpoch, timestamp: -1n }] }],
      });
    expect((await listOffsets(t.leaderEpoch + 5)).topics[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    // ListOffsets takes only -1 as "no epoch" (Kafka), so -2 is an epoch below ours, which is at least 0: fenced.
    expect((await listOffsets(-2)).topics[0].partitions[0].errorCode).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  });

  it('refuses a replica fetch from a broker that is not a replica (UNKNOWN_LEADER_EPOCH with an epoch), and one from an older incarnation of a replica', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2]);
    const t = await replicatedTopic(brokers, 'strangers');
    const leader = await client(brokers.get(t.leaderId)!);
    // Kafka's followerReplicaOrThrow: UNKNOWN_LEADER_EPOCH when the request carries an epoch, else NOT_LEADER_OR_FOLLOWER.
    const stranger = await replicaFetch(leader, t.topicId, 99, 1n, t.leaderEpoch);
    expect(stranger.responses[0].partitions[0].errorCode).toBe(ErrorCode.UNKNOWN_LEADER_EPOCH);
    const strangerWithoutEpoch = await replicaFetch(leader, t.topicId, 99, 1n, -1);
    expect(strangerWithoutEpoch.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The real follower fetches with its broker epoch (an etcd revision); once the leader has seen it (an acks=all
    // write needs the follower's fetch), a lower one is an older incarnation (Kafka's Replica.updateFetchStateOrThrow).
    expect((await produce(leader, 'strangers', -1)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    const stale = await replicaFetch(leader, t.topicId, t.followerIds[0]!, 1n, t.leaderEpoch);
    expect(stale.responses[0].partitions[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
  });

  it('answers REQUEST_TIMED_OUT to acks=all while a follower in the ISR is stalled, then shrinks the ISR and accepts it', async () => {
    const brokers = await startBrokers(newPrefix(), [1, 2]);
    const t = await replicatedTopic(brokers, 'stalled');
    const leaderBroker = brokers.get(t.leaderId)!;
    // The follower's fetches (client id broker-<id>-fetcher-<leader>) are held by the leader.
    leaderBroker.faults.add({ api: 'Fetch', clientId: `broker-${t.followerIds[0]}-fetcher-${t.leaderId}`, stall: true, durationMs: 8000 });
    const leader = await client(leaderBroker);
    const timedOut = await produce(leader, 'stalled', -1, 300);
    expect(timedOut.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.REQUEST_TIMED_OUT);
    // After replica.lag.time.max.ms the follower leaves the ISR; with min.insync.replicas 1 the write is accepted.
    const accepted = await until('acks=all accepted with the shrunk ISR', async () => {
      const res = await produce(leader, 'stalled', -1, 300);
      return res.responses[0].partitionResponses[0].errorCode === ErrorCode.NONE ? res : undefined;
    });
    expect(accepted.responses[0].partitionResponses[0].baseOffset).toBeGreaterThanOrEqual(1n);
  });

  it('refuses to start a second live broker with a node id already registered', async () => {
    const prefix = newPrefix();
    await startBrokers(prefix, [1]);
    const dup = await createBroker({ ...clusterOptions(prefix, 1), brokerSessionTimeoutMs: 1000, brokerHeartbeatIntervalMs: 200 });
    const err = await dup.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('DUPLICATE_BROKER_REGISTRATION');
    expect((err as Error).message).toMatch(/node id 1/);
  });

  it('fails to start with ETCD_UNREACHABLE naming the endpoint when etcd does not answer', async () => {
    const broker = await createBroker({ ...clusterOptions(newPrefix(), 1), etcd: 'http://127.0.0.1:1' });
    const started = Date.now();
    const err = await broker.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('ETCD_UNREACHABLE');
    expect((err as Error).message).toContain('http://127.0.0.1:1');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('keeps accepting writes while etcd is unreachable until its lease would have expired, then refuses them', async () => {
    const brokers = await startBrokers(newPrefix(), [1]);
    const broker = brokers.get(1)!;
    const c = await client(broker);
    const created = await c.send(ApiKey.CreateTopics, 5, { topics: [{ name: 'lonely', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 5000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    await until('a leader', async () => ((await produce(c, 'lonely', 1)).responses[0].partitionResponses[0].errorCode === ErrorCode.NONE ? true : undefined));
    etcd.pause();
    try {
      expect((await produce(c, 'lonely', 1)).responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
      const refused = await until('writes refused once fenced', async () => {
        const code = (await produce(c, 'lonely', 1)).responses[0].partitionResponses[0].errorCode;
        return code === ErrorCode.NOT_LEADER_OR_FOLLOWER ? code : undefined;
      });
      expect(refused).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      etcd.resume();
    }
    // Registered again once etcd answers: writes are accepted again.
    await until('writes accepted after etcd is back', async () => ((await produce(c, 'lonely', 1)).responses[0].partitionResponses[0].errorCode === ErrorCode.NONE ? true : undefined), 20_000);
  });
});
