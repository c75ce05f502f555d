// The controller against a real etcd: election and failover, broker loss, unclean election, a broker coming back,
// preferred leader election.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ElectionType, type ClusterMetadata } from '../../src/cluster/cluster-metadata.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { ClusterHarness, waitFor, waitForImage } from './cluster-harness.js';

let etcd: EtcdServer;
let harness: ClusterHarness;

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});
afterEach(async () => {
  await harness?.closeAll();
});

function other(brokers: ClusterMetadata[], not: number): ClusterMetadata {
  return brokers.find((b) => b.nodeId !== not)!;
}

describe('controller', () => {
  it('exactly one broker is elected controller, and another takes over when it is lost', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const brokers = await harness.openAll([1, 2, 3]);
    await waitFor(() => brokers.filter((b) => b.isController).length === 1, 'one controller');
    const first = harness.controller()!;
    const firstEpoch = first.image.controller!.epoch;
    for (const b of brokers) await waitForImage(b, (img) => img.controllerId === first.nodeId, 'controller known');
    first.abandon();
    const survivors = brokers.filter((b) => b !== first);
    await waitFor(() => survivors.some((b) => b.isController), 'a new controller', 10_000);
    const next = survivors.find((b) => b.isController)!;
    expect(next.nodeId).not.toBe(first.nodeId);
    const image = await waitForImage(other(survivors, next.nodeId), (img) => img.controllerId === next.nodeId, 'new controller known');
    expect(image.controller!.epoch).toBeGreaterThan(firstEpoch);
    expect(survivors.filter((b) => b.isController)).toHaveLength(1);
  });

  it('a lost broker leaves every ISR; its partitions get new leaders from the ISR with bumped epochs', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const brokers = await harness.openAll([1, 2, 3]);
    await brokers[0]!.createTopic({ name: 'loss', numPartitions: 6, replicationFactor: 3 });
    const before = brokers[0]!.image;
    const topicId = before.topic('loss')!.topicId;
    // Lose the controller itself, the harder case: failover and reassignment both have to happen.
    await waitFor(() => harness.controller() !== undefined, 'controller');
    const victim = harness.controller()!;
    const led = before.partitionsLedBy(victim.nodeId).map((p) => p.partition);
    expect(led.length).toBe(2);
    victim.abandon();
    const survivor = brokers.find((b) => b !== victim)!;
    const after = await waitForImage(
      survivor,
      (img) => img.partitionsOf(topicId).every((p) => !p.isr.includes(victim.nodeId) && p.leader !== victim.nodeId),
      'victim out of every ISR and leadership',
      15_000,
    );
    for (const p of after.partitionsOf(topicId)) {
      const old = before.partition(topicId, p.partition)!;
      expect(p.partitionEpoch).toBe(old.partitionEpoch + 1);
      if (led.includes(p.partition)) {
        expect(p.leaderEpoch).toBe(old.leaderEpoch + 1);
        // The first live ISR member in replica order.
        expect(p.leader).toBe(old.replicas.find((r) => r !== victim.nodeId));
      } else {
        expect(p.leader).toBe(old.leader);
        expect(p.leaderEpoch).toBe(old.leaderEpoch);
      }
      expect(p.isr).toEqual(old.isr.filter((r) => r !== victim.nodeId));
    }
  });

  it('unclean leader election is off by default: the last ISR member lost leaves the partition offline until it returns', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const topic = await b2!.createTopic({ name: 'clean', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] });
    let p = b2!.image.partition(topic.topicId, 0)!;
    // The leader shrinks the ISR to itself (broker 2 fell behind).
    p = await b1!.alterPartition({ topicId: topic.topicId, partition: 0, leaderId: 1, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [1] });
    expect(p.isr).toEqual([1]);
    b1!.abandon();
    const offline = await waitForImage(b2!, (img) => img.broker(1) === undefined && img.partition(topic.topicId, 0)!.leader === -1, 'partition offline', 10_000);
    expect(offline.partition(topic.topicId, 0)).toMatchObject({ leader: -1, isr: [1], leaderEpoch: p.leaderEpoch + 1 });
    // Broker 1 returns: it is still the only ISR member, so it leads again (Kafka's handleBrokerUnfenced).
    const back = await harness.open(1);
    const led = await waitForImage(back, (img) => img.partition(topic.topicId, 0)!.leader === 1, 'broker 1 leads again', 10_000);
    expect(led.partition(topic.topicId, 0)).toMatchObject({ leader: 1, isr: [1], leaderEpoch: p.leaderEpoch + 2 });
  });

  it('with unclean.leader.election.enable=true the first live replica leads, alone in the ISR, RECOVERING', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const topic = await b2!.createTopic({
      name: 'unclean',
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
      configs: { 'unclean.leader.election.enable': 'true' },
    });
    const p = b2!.image.partition(topic.topicId, 0)!;
    await b1!.alterPartition({ topicId: topic.topicId, partition: 0, leaderId: 1, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [1] });
    b1!.abandon();
    const image = await waitForImage(b2!, (img) => img.partition(topic.topicId, 0)!.leader === 2, 'unclean leader 2', 10_000);
    expect(image.partition(topic.topicId, 0)).toMatchObject({ leader: 2, isr: [2], leaderRecoveryState: 1 });
  });

  it('preferred leader election restores replicas[0] as leader once it is back in the ISR', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const brokers = await harness.openAll([1, 2, 3]);
    const topic = await brokers[0]!.createTopic({ name: 'pref', numPartitions: 3, replicationFactor: 3 });
    const preferredOf2 = brokers[0]!.image.partitionsOf(topic.topicId).filter((p) => p.replicas[0] === 2);
    expect(preferredOf2).toHaveLength(1);
    const partition = preferredOf2[0]!.partition;
    const b2 = brokers[1]!;
    await b2.beginControlledShutdown(10_000);
    await b2.close();
    const b1 = brokers[0]!;
    await waitForImage(b1, (img) => img.broker(2) === undefined, 'broker 2 gone');
    const back = await harness.open(2);
    // The leader adds broker 2 back to the ISR (it caught up).
    let p = await waitForImage(back, (img) => img.partition(topic.topicId, partition)!.leader !== -1, 'leader').then((img) => img.partition(topic.topicId, partition)!);
    expect(p.leader).not.toBe(2);
    const leader = harness.brokers.get(p.leader)!;
    p = await leader.alterPartition({ topicId: topic.topicId, partition, leaderId: p.leader, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [...p.isr, 2] });
    expect(p.isr).toContain(2);
    const results = await back.electLeaders(ElectionType.PREFERRED, [{ topic: 'pref', partition }]);
    expect(results).toEqual([{ topic: 'pref', partition, errorCode: ErrorCode.NONE, errorMessage: null }]);
    expect(back.image.partition(topic.topicId, partition)).toMatchObject({ leader: 2, leaderEpoch: p.leaderEpoch + 1 });
    // Asking again: ELECTION_NOT_NEEDED.
    expect((await back.electLeaders(ElectionType.PREFERRED, [{ topic: 'pref', partition }]))[0]!.errorCode).toBe(ErrorCode.ELECTION_NOT_NEEDED);
  });

  it('the controller runs the preferred election on its own every leader.imbalance.check.interval', async () => {
    harness = new ClusterHarness(etcd.endpoint, { controller: { tickIntervalMs: 200, autoLeaderRebalanceEnable: true, leaderImbalanceCheckIntervalMs: 500 } });
    const brokers = await harness.openAll([1, 2]);
    const topic = await brokers[0]!.createTopic({ name: 'auto', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }] });
    // Move leadership to 2 by a controlled shutdown of 1, then bring 1 back into the ISR.
    await brokers[0]!.beginControlledShutdown(10_000);
    await brokers[0]!.close();
    const b1 = await harness.open(1);
    const b2 = brokers[1]!;
    await waitForImage(b2, (img) => img.broker(1) !== undefined, 'broker 1 registered again');
    let p = b2.image.partition(topic.topicId, 0)!;
    expect(p.leader).toBe(2);
    p = await b2.alterPartition({ topicId: topic.topicId, partition: 0, leaderId: 2, leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newIsr: [2, 1] });
    await waitForImage(b1, (img) => img.partition(topic.topicId, 0)!.leader === 1, 'auto rebalance back to broker 1', 10_000);
  });
});
