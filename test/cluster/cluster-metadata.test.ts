// The writes of ClusterMetadata against a real etcd: CreateTopics placement and validation, DeleteTopics,
// CreatePartitions, configs, AlterPartition outcomes, ElectLeaders outcomes, producer id blocks.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ElectionType, type ClusterMetadata } from '../../src/cluster/cluster-metadata.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { ClusterHarness, waitForImage } from './cluster-harness.js';

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

async function kafkaError(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaError);
  return { code: (err as KafkaError).errorCode, message: (err as KafkaError).message };
}

function countBy(items: number[]): number[] {
  const m = new Map<number, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m.values()].sort();
}

describe('topics', () => {
  it('createTopic with 3 brokers, 6 partitions, RF 3 balances leaders and starts every partition at epoch 0 with the full ISR', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2, 3]);
    const topic = await b1!.createTopic({ name: 'spread', numPartitions: 6, replicationFactor: 3, configs: { 'retention.ms': '1000' } });
    expect(topic).toMatchObject({ name: 'spread', partitionCount: 6, configs: { 'retention.ms': '1000' } });
    expect(topic.topicId).toMatch(/^[0-9a-f]{32}$/);
    const parts = b1!.image.partitionsOf(topic.topicId);
    expect(countBy(parts.map((p) => p.leader))).toEqual([2, 2, 2]);
    for (const p of parts) {
      expect(p).toMatchObject({ leader: p.replicas[0], isr: p.replicas, leaderEpoch: 0, partitionEpoch: 0, leaderRecoveryState: 0 });
      expect(new Set(p.replicas).size).toBe(3);
    }
    // Every broker's image gets it, by name and id.
    const other = await waitForImage(b2!, (img) => img.topic('spread') !== undefined, 'topic on broker 2');
    expect(other.topicById(topic.topicId)?.name).toBe('spread');
    expect(other.partitionsOnBroker(3)).toHaveLength(6);
    expect(other.partitionsLedBy(3)).toHaveLength(2);
  });

  it('rack-aware placement puts the replicas of each partition in different racks', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const racks: Record<number, string> = { 1: 'east', 2: 'east', 3: 'west', 4: 'west' };
    const [b1] = await harness.openAll([1, 2, 3, 4], (id) => ({ rack: racks[id]! }));
    const topic = await b1!.createTopic({ name: 'racks', numPartitions: 8, replicationFactor: 2 });
    const parts = b1!.image.partitionsOf(topic.topicId);
    for (const p of parts) expect(racks[p.replicas[0]!]).not.toBe(racks[p.replicas[1]!]);
    // Leaders alternate racks (StripedReplicaPlacer's rack offset advances per partition).
    expect(parts.filter((p) => racks[p.leader] === 'east')).toHaveLength(4);
  });

  it("a replication factor above the registered brokers is INVALID_REPLICATION_FACTOR with Kafka's wording", async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1] = await harness.openAll([1, 2]);
    expect(await kafkaError(b1!.createTopic({ name: 'big', numPartitions: 1, replicationFactor: 3 }))).toEqual({
      code: ErrorCode.INVALID_REPLICATION_FACTOR,
      message: 'Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.',
    });
    expect((await kafkaError(b1!.createTopic({ name: 'zero', numPartitions: 1, replicationFactor: 0 }))).code).toBe(ErrorCode.INVALID_REPLICATION_FACTOR);
    expect((await kafkaError(b1!.createTopic({ name: 'nop', numPartitions: 0, replicationFactor: 1 }))).code).toBe(ErrorCode.INVALID_PARTITIONS);
    expect(b1!.image.topic('big')).toBeUndefined();
  });

  it('explicit assignments are validated as CreateTopics does and used as given', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1] = await harness.openAll([1, 2, 3]);
    const create = (assignments: Array<{ partitionIndex: number; brokerIds: number[] }>, rf = -1) =>
      b1!.createTopic({ name: 'manual', numPartitions: -1, replicationFactor: rf, assignments });
    expect(await kafkaError(create([{ partitionIndex: 0, brokerIds: [1, 1] }]))).toEqual({
      code: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
      message: 'The manual partition assignment includes the broker 1 more than once.',
    });
    expect((await kafkaError(create([{ partitionIndex: 0, brokerIds: [1, 9] }]))).message).toBe(
      'The manual partition assignment includes broker 9, but no such broker is registered.',
    );
    expect((await kafkaError(create([{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [3] }]))).code).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect((await kafkaError(create([{ partitionIndex: 1, brokerIds: [1] }]))).message).toBe('partitions should be a consecutive 0-based integer sequence');
    expect((await kafkaError(create([{ partitionIndex: 0, brokerIds: [1] }], 1))).code).toBe(ErrorCode.INVALID_REQUEST);
    const topic = await create([{ partitionIndex: 0, brokerIds: [3, 1] }, { partitionIndex: 1, brokerIds: [2, 3] }]);
    expect(b1!.image.partitionsOf(topic.topicId).map((p) => [p.replicas, p.leader])).toEqual([[[3, 1], 3], [[2, 3], 2]]);
  });

  it('a second createTopic of the same name is TOPIC_ALREADY_EXISTS, even from another broker', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const results = await Promise.allSettled([
      b1!.createTopic({ name: 'race', numPartitions: 2, replicationFactor: 2 }),
      b2!.createTopic({ name: 'race', numPartitions: 3, replicationFactor: 1 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: "Topic 'race' already exists." });
  });

  it('a topic with more partitions than one etcd txn holds appears whole', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const partial: number[] = [];
    b2!.onChange((img) => {
      const t = img.topic('wide');
      if (t !== undefined) partial.push(img.partitionsOf(t.topicId).length);
    });
    const topic = await b1!.createTopic({ name: 'wide', numPartitions: 300, replicationFactor: 2 });
    expect(topic.partitionCount).toBe(300);
    await waitForImage(b2!, (img) => img.topic('wide') !== undefined, 'wide on broker 2');
    expect(partial[0]).toBe(300);
  });

  it('deleteTopic removes the topic and its partitions; createPartitions adds partitions; configs change by CAS', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1] = await harness.openAll([1, 2, 3]);
    const topic = await b1!.createTopic({ name: 'life', numPartitions: 2, replicationFactor: 2 });
    expect((await kafkaError(b1!.createPartitions('life', 2))).message).toBe('Topic already has 2 partition(s).');
    expect((await kafkaError(b1!.createPartitions('life', 1))).message).toBe('The topic life currently has 2 partition(s); 1 would not be an increase.');
    expect((await kafkaError(b1!.createPartitions('life', 4, [[1, 2]]))).message).toBe('Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.');
    const grown = await b1!.createPartitions('life', 4);
    expect(grown.partitionCount).toBe(4);
    expect(b1!.image.partitionsOf(topic.topicId).map((p) => p.replicas.length)).toEqual([2, 2, 2, 2]);
    const withAssignment = await b1!.createPartitions('life', 5, [[3, 1]]);
    expect(b1!.image.partition(withAssignment.topicId, 4)?.replicas).toEqual([3, 1]);

    let t = await b1!.alterTopicConfigs('life', { 'cleanup.policy': 'compact', 'retention.ms': '5' });
    expect(t.configs).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '5' });
    t = await b1!.alterTopicConfigs('life', { 'retention.ms': null });
    expect(t.configs).toEqual({ 'cleanup.policy': 'compact' });
    t = await b1!.alterTopicConfigs('life', { 'segment.bytes': '1024' }, 'replace');
    expect(t.configs).toEqual({ 'segment.bytes': '1024' });

    await b1!.deleteTopic('life');
    expect(b1!.image.topic('life')).toBeUndefined();
    expect(b1!.image.partition(topic.topicId, 0)).toBeUndefined();
    expect((await kafkaError(b1!.deleteTopic('life'))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    expect((await kafkaError(b1!.alterTopicConfigs('life', {}))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });
});

describe('alterPartition', () => {
  async function setup(): Promise<{ brokers: ClusterMetadata[]; topicId: string }> {
    harness = new ClusterHarness(etcd.endpoint);
    const brokers = await harness.openAll([1, 2, 3]);
    const topic = await brokers[0]!.createTopic({ name: 'ap', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }] });
    return { brokers, topicId: topic.topicId };
  }

  it('the leader shrinks and expands the ISR; each change bumps the partition epoch only', async () => {
    const { brokers, topicId } = await setup();
    const b1 = brokers[0]!;
    const shrunk = await b1.alterPartition({ topicId, partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] });
    expect(shrunk).toMatchObject({ leader: 1, isr: [1, 2], leaderEpoch: 0, partitionEpoch: 1 });
    const expanded = await b1.alterPartition({ topicId, partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 1, newIsr: [1, 2, 3], newIsrBrokerEpochs: [-1, -1, brokers[2]!.brokerEpoch] });
    expect(expanded).toMatchObject({ isr: [1, 2, 3], partitionEpoch: 2 });
    // The same ISR again writes nothing.
    expect(await b1.alterPartition({ topicId, partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 2, newIsr: [1, 2, 3] })).toMatchObject({ partitionEpoch: 2 });
  });

  it("stale epochs, a caller that is not the leader and ineligible replicas are refused with Kafka's codes", async () => {
    const { brokers, topicId } = await setup();
    const [b1, b2, b3] = brokers as [ClusterMetadata, ClusterMetadata, ClusterMetadata];
    await b1.alterPartition({ topicId, partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 0, newIsr: [1, 2] });
    const req = { topicId, partition: 0, leaderId: 1, leaderEpoch: 0, partitionEpoch: 1 };
    // Two leaders racing on the same partition epoch: the second loses.
    expect((await kafkaError(b1.alterPartition({ ...req, partitionEpoch: 0, newIsr: [1] }))).code).toBe(ErrorCode.INVALID_UPDATE_VERSION);
    expect((await kafkaError(b2.alterPartition({ ...req, leaderId: 2, newIsr: [1, 2] }))).code).toBe(ErrorCode.INVALID_REQUEST);
    expect((await kafkaError(b1.alterPartition({ ...req, newIsr: [2] }))).code).toBe(ErrorCode.INVALID_REQUEST);
    expect((await kafkaError(b1.alterPartition({ ...req, newIsr: [1, 4] }))).code).toBe(ErrorCode.INVALID_REQUEST);
    expect(await kafkaError(b1.alterPartition({ ...req, newIsr: [1, 2, 3], newIsrBrokerEpochs: [-1, -1, 12345] }))).toEqual({
      code: ErrorCode.INELIGIBLE_REPLICA,
      message: `The new ISR of ap-0 has ineligible replicas: 3 (broker epoch mismatch: requested=12345 VS expected=${b3.brokerEpoch}).`,
    });
    expect((await kafkaError(b1.alterPartition({ ...req, topicId: 'ab'.repeat(16), newIsr: [1] }))).code).toBe(ErrorCode.UNKNOWN_TOPIC_ID);
    expect((await kafkaError(b1.alterPartition({ ...req, partition: 7, newIsr: [1] }))).code).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // Broker 3 in controlled shutdown cannot join; then lost, it is not registered.
    const shutdown = b3.beginControlledShutdown(5000);
    await waitForImage(b1, (img) => img.broker(3)?.inControlledShutdown === true, 'broker 3 shutting down');
    expect((await kafkaError(b1.alterPartition({ ...req, newIsr: [1, 2, 3] }))).message).toBe('The new ISR of ap-0 has ineligible replicas: 3 (shutting down).');
    await shutdown;
    await b3.close();
    await waitForImage(b1, (img) => img.broker(3) === undefined, 'broker 3 gone');
    expect((await kafkaError(b1.alterPartition({ ...req, newIsr: [1, 2, 3] }))).code).toBe(ErrorCode.INELIGIBLE_REPLICA);

    // A leader change by the controller fences the old leader epoch.
    await b1.beginControlledShutdown(5000);
    const moved = await waitForImage(b2, (img) => img.partition(topicId, 0)!.leader === 2, 'leadership moved to 2');
    expect(moved.partition(topicId, 0)!.leaderEpoch).toBe(1);
    expect((await kafkaError(b1.alterPartition({ ...req, newIsr: [1, 2] }))).code).toBe(ErrorCode.FENCED_LEADER_EPOCH);
  });
});

describe('electLeaders', () => {
  it('answers per partition with ElectLeaders semantics', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1] = await harness.openAll([1, 2]);
    await b1!.createTopic({ name: 'el', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }, { partitionIndex: 1, brokerIds: [2, 1] }] });
    const results = await b1!.electLeaders(ElectionType.PREFERRED, [
      { topic: 'el', partition: 0 },
      { topic: 'el', partition: 9 },
      { topic: 'nope', partition: 0 },
    ]);
    expect(results).toEqual([
      { topic: 'el', partition: 0, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' },
      { topic: 'el', partition: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such partition as el-9' },
      { topic: 'nope', partition: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: 'No such topic as nope' },
    ]);
    expect(await b1!.electLeaders(ElectionType.UNCLEAN, [{ topic: 'el', partition: 1 }])).toEqual([
      { topic: 'el', partition: 1, errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: 'Leader election not needed for topic partition.' },
    ]);
    // All partitions (null): those not needing an election are left out.
    expect(await b1!.electLeaders(ElectionType.PREFERRED, null)).toEqual([]);
    // Broker 2 shuts down: el-1 (replicas [2, 1]) moves to 1 and its preferred replica 2 is not available.
    const topicId = b1!.image.topic('el')!.topicId;
    await harness.brokers.get(2)!.beginControlledShutdown(5000);
    await waitForImage(b1!, (img) => img.partition(topicId, 1)!.leader === 1, 'el-1 led by 1');
    const notAvailable = { topic: 'el', partition: 1, errorCode: ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE, errorMessage: 'The preferred leader was not available.' };
    expect(await b1!.electLeaders(ElectionType.PREFERRED, [{ topic: 'el', partition: 1 }])).toEqual([notAvailable]);
    expect(await b1!.electLeaders(ElectionType.PREFERRED, null)).toEqual([notAvailable]);
    await expect(b1!.electLeaders(7, null)).rejects.toMatchObject({ errorCode: ErrorCode.INVALID_REQUEST, message: 'Unknown election type 7' });
  });
});

describe('producer ids', () => {
  it('blocks allocated concurrently by two brokers never overlap', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const blocks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? b1! : b2!).allocateProducerIdBlock()));
    const firsts = blocks.map((b) => b.firstProducerId).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(blocks.every((b) => b.size === 1000)).toBe(true);
    expect(firsts).toEqual(Array.from({ length: 20 }, (_, i) => BigInt(i * 1000)));
  });
});
