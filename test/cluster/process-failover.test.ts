// Failover under load, with real processes (issue 14, "How it is proven"): etcd and three `eddy start --etcd`
// processes; confluent-kafka-python 1.7.0 (librdkafka 2.0.2) writes a bounded stream of unique values with
// acks=all and enable.idempotence to a 3-partition, RF=3, min.insync.replicas=2 topic; the leader of partition 0 is
// killed with SIGKILL mid-stream and restarted later. Every message must end acknowledged or reported failed; the
// restarted broker must catch up and rejoin every ISR; and every replica's segment files (decoded with the
// project's record-batch reader, no broker asked) must hold every acknowledged value at its acknowledged offset,
// with no value twice.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCluster, waitFor, type SpawnedCluster } from '../helpers/spawn-cluster.js';
import { runAcksAllProducer, type RunningProducer } from './process-producer.js';

const TOPIC = 'failover-under-load';
const PARTITIONS = 3;
const COUNT = 20_000;

describe('a three-process cluster under an acks=all confluent-kafka producer', () => {
  let cluster: SpawnedCluster | undefined;
  let producer: RunningProducer | undefined;
  afterEach(async () => {
    producer?.kill();
    await cluster?.close();
    producer = undefined;
    cluster = undefined;
  });

  it('survives kill -9 of the leader of partition 0: producing continues, the broker rejoins the ISR, every acknowledged message is on every replica at its offset, once', async () => {
    const testStart = Date.now();
    cluster = await spawnCluster({ brokers: 3 });
    await cluster.createTopic(TOPIC, PARTITIONS, 3, { 'min.insync.replicas': '2' });

    producer = runAcksAllProducer({ bootstrap: cluster.bootstrap(), topic: TOPIC, count: COUNT, partitions: PARTITIONS, rate: 2000 });
    const running = producer;
    await waitFor('a quarter of the stream acknowledged', () => (running.acked() >= COUNT / 4 ? true : undefined), 30_000);

    const before = await cluster.partition(TOPIC, 0);
    const victim = before.leader;
    const ackedOnP0AtKill = running.acked(0);
    const killedAt = Date.now();
    await cluster.kill9(victim);

    const after = await waitFor('a new leader of partition 0', async () => {
      const p = await cluster!.partition(TOPIC, 0, [victim]);
      return p.leader >= 0 && p.leader !== victim ? p : undefined;
    });
    const electedAt = Date.now();
    const leaderElectedMs = electedAt - killedAt;
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(after.isr).not.toContain(victim);
    // Delivery reports come in batches (the script polls every 50 messages), so "after" means after the election.
    await waitFor('an acknowledgement on partition 0 from the new leader', () => (running.deliveries.some((d) => d.p === 0 && d.o !== undefined && d.atMs > electedAt) ? true : undefined), 30_000);
    expect(running.acked(0)).toBeGreaterThan(ackedOnP0AtKill);

    // Restarted while the stream still runs: it truncates to the new leader's epoch, catches up and rejoins.
    const restartedAt = Date.now();
    await cluster.start(victim);
    const summary = await running.done;
    expect(summary.unresolved).toBe(0);
    expect(summary.acked + summary.failed).toBe(COUNT);
    expect(running.deliveries).toHaveLength(COUNT);
    expect(summary.acked).toBeGreaterThan(COUNT / 2);

    await waitFor('the restarted broker back in every ISR', async () => {
      const md = await cluster!.metadata([TOPIC]);
      const parts = md.topics[0]!.partitions;
      return parts.length === PARTITIONS && parts.every((p) => p.isr.length === 3) ? true : undefined;
    }, 60_000);
    const rejoinedMs = Date.now() - restartedAt;
    const md = await cluster.metadata([TOPIC]);
    expect(md.topics[0]!.partitions.map((p) => [...p.isr].sort())).toEqual([[1, 2, 3], [1, 2, 3], [1, 2, 3]]);

    // The replicas' segment files: the same offset -> value map on every broker, holding every acknowledged
    // message at its acknowledged offset, no value twice.
    const acked = running.deliveries.filter((d) => d.o !== undefined);
    const seen = new Map<string, string>();
    for (let p = 0; p < PARTITIONS; p++) {
      const logs = await waitFor(`partition ${p}: the same log on every replica`, async () => {
        const maps = await Promise.all([1, 2, 3].map((id) => cluster!.partitionLog(id, TOPIC, p)));
        const sizes = new Set(maps.map((m) => m.size));
        return sizes.size === 1 ? maps : undefined;
      }, 20_000);
      for (const [i, log] of logs.entries()) {
        const replica = `broker ${i + 1}, partition ${p}`;
        expect([...log.entries()], replica).toEqual([...logs[0]!.entries()]);
        const missing = acked.filter((d) => d.p === p && log.get(BigInt(d.o!)) !== d.v);
        expect(missing.slice(0, 5), `${replica}: acknowledged messages not at their offset (${missing.length})`).toEqual([]);
        if (i === 0) {
          for (const [offset, value] of log) {
            const where = `partition ${p} offset ${offset}`;
            expect(seen.get(value), `${value} at ${where} and at ${seen.get(value)}`).toBeUndefined();
            seen.set(value, where);
          }
        }
      }
    }
    // Acknowledged values are a subset of what is stored; every stored value is one the producer sent.
    expect(seen.size).toBeGreaterThanOrEqual(summary.acked);
    for (const value of seen.keys()) expect(value).toMatch(/^m-\d+$/);

    const errors = [...new Set(running.deliveries.filter((d) => d.err !== undefined).map((d) => d.err))];
    // The producer-visible outage of partition 0: the longest wait between two of its acknowledgements.
    const p0Acks = running.deliveries.filter((d) => d.p === 0 && d.o !== undefined).map((d) => d.atMs);
    const p0StallMs = Math.max(...p0Acks.slice(1).map((t, i) => t - p0Acks[i]!));
    console.log(
      JSON.stringify({ victim, newLeader: after.leader, leaderElectedMs, p0StallMs, rejoinedMs, testMs: Date.now() - testStart, acked: summary.acked, failed: summary.failed, errors, stored: seen.size, producerSeconds: summary.seconds }),
    );
  }, 170_000);

  it('moves leadership off a leader stopped with SIGTERM (controlled shutdown) under load, with no message failed', async () => {
    cluster = await spawnCluster({ brokers: 3 });
    const topic = 'controlled-shutdown-under-load';
    const count = 6000;
    await cluster.createTopic(topic, PARTITIONS, 3, { 'min.insync.replicas': '2' });
    producer = runAcksAllProducer({ bootstrap: cluster.bootstrap(), topic, count, partitions: PARTITIONS, rate: 2000 });
    const running = producer;
    await waitFor('a third of the stream acknowledged', () => (running.acked() >= count / 3 ? true : undefined), 30_000);
    const before = await cluster.partition(topic, 0);
    const stoppedAt = Date.now();
    await cluster.stop(before.leader);
    const stopMs = Date.now() - stoppedAt;
    const after = await cluster.partition(topic, 0, [before.leader]);
    // Moved before the process exited: no session timeout to wait for.
    expect(after.leader).not.toBe(before.leader);
    expect(after.leader).toBeGreaterThanOrEqual(0);
    expect(after.isr).not.toContain(before.leader);
    const summary = await running.done;
    expect(summary).toMatchObject({ acked: count, failed: 0, unresolved: 0 });
    for (let p = 0; p < PARTITIONS; p++) {
      const { leader } = await cluster.partition(topic, p);
      const log = await cluster.partitionLog(leader, topic, p);
      const lost = running.deliveries.filter((d) => d.p === p && log.get(BigInt(d.o!)) !== d.v);
      expect(lost.length, `partition ${p} on its leader ${leader}`).toBe(0);
      expect(new Set(log.values()).size).toBe(log.size);
    }
    const stallMs = [0, 1, 2].map((p) => {
      const times = running.deliveries.filter((d) => d.p === p && d.o !== undefined).map((d) => d.atMs);
      return Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    });
    console.log(JSON.stringify({ stopped: before.leader, newLeader: after.leader, stopMs, stallMs, acked: summary.acked, failed: summary.failed, producerSeconds: summary.seconds }));
  }, 90_000);
});
