// Broker registration, duplicate ids, fencing on lease loss, controlled shutdown; real etcd, several
// ClusterMetadata instances in this process standing for brokers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.js';
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

describe('membership', () => {
  it('registers brokers with their endpoints, rack and an epoch, and shares one cluster id', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2], (id) => ({ rack: id === 1 ? 'rack-a' : null }));
    const seen = b2!.image.broker(1)!;
    expect(seen).toMatchObject({ brokerId: 1, rack: 'rack-a', fenced: false, inControlledShutdown: false, brokerEpoch: b1!.brokerEpoch });
    expect(seen.endpoints).toEqual([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9001, securityProtocol: 'PLAINTEXT' }]);
    expect(b1!.brokerEpoch).toBeGreaterThan(0);
    expect(b2!.brokerEpoch).toBeGreaterThan(b1!.brokerEpoch);
    expect(b1!.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(b2!.clusterId).toBe(b1!.clusterId);
    expect(b1!.image.brokers().map((b) => b.brokerId)).toEqual([1, 2]);
  });

  it('a second live broker with the same node id is refused with DUPLICATE_BROKER_REGISTRATION', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const first = await harness.open(1);
    const err = await harness.open(1, { registrationWaitMs: 500 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('DUPLICATE_BROKER_REGISTRATION');
    expect((err as BrokerError).message).toContain('Another broker is registered with that broker id: node id 1');
    // The first one is untouched.
    expect(first.isFenced).toBe(false);
    expect(first.image.broker(1)?.brokerEpoch).toBe(first.brokerEpoch);
  });

  it('a broker restarted after a crash registers once its previous session has expired', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const watcher = await harness.open(2);
    const crashed = await harness.open(1);
    const oldEpoch = crashed.brokerEpoch;
    crashed.abandon();
    const started = Date.now();
    const restarted = await harness.open(1);
    expect(Date.now() - started).toBeGreaterThan(500);
    expect(restarted.brokerEpoch).toBeGreaterThan(oldEpoch);
    await waitForImage(watcher, (img) => img.broker(1)?.brokerEpoch === restarted.brokerEpoch, 'new registration seen');
  });

  it('a broker whose keepalives stop is fenced after the session timeout, then registers again with a new epoch', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2]);
    const oldEpoch = b1!.brokerEpoch;
    const fenced = new Promise<number>((resolve) => b1!.membership.once('fenced', () => resolve(Date.now())));
    const registered = new Promise<number>((resolve) => b1!.membership.once('registered', (epoch) => resolve(epoch)));
    const stoppedAt = Date.now();
    b1!.membership.suspendKeepalives();
    const fencedAt = await fenced;
    expect(fencedAt - stoppedAt).toBeLessThan(2700);
    expect(b1!.isFenced || b1!.brokerEpoch !== oldEpoch).toBe(true);
    // The others see it gone (etcd expired the lease), then back with a new epoch.
    const newEpoch = await registered;
    expect(newEpoch).toBeGreaterThan(oldEpoch);
    expect(b1!.isFenced).toBe(false);
    await waitForImage(b2!, (img) => img.broker(1)?.brokerEpoch === newEpoch, 'broker 1 re-registered');
  });

  it('controlled shutdown moves every leadership away before the lease is revoked', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const [b1, b2] = await harness.openAll([1, 2, 3]);
    await b1!.createTopic({ name: 'cs', numPartitions: 6, replicationFactor: 3 });
    const topicId = b1!.image.topic('cs')!.topicId;
    expect(b1!.image.partitionsLedBy(1).length).toBeGreaterThan(0);
    const result = await b1!.beginControlledShutdown(10_000);
    expect(result).toEqual({ completed: true, remainingLeaderships: 0 });
    // It also leaves every ISR (the controller's writes for partitions it only follows may land just after).
    const image = await waitForImage(b2!, (img) => img.partitionsOf(topicId).every((p) => !p.isr.includes(1)), 'broker 1 out of every ISR');
    expect(image.broker(1)?.inControlledShutdown).toBe(true);
    for (const p of image.partitionsOf(topicId)) {
      expect(p.leader).not.toBe(1);
      expect(p.isr).not.toContain(1);
    }
    await b1!.close();
    await waitForImage(b2!, (img) => img.broker(1) === undefined, 'broker 1 gone after close');
    await waitFor(() => harness.controller() !== undefined, 'a controller remains');
  });

  it('etcd hung for longer than the session timeout fences every broker; they register again once it answers', async () => {
    harness = new ClusterHarness(etcd.endpoint);
    const brokers = await harness.openAll([1, 2]);
    const epochs = brokers.map((b) => b.brokerEpoch);
    const fenced = brokers.map((b) => new Promise<number>((resolve) => b.membership.once('fenced', () => resolve(Date.now()))));
    const pausedAt = Date.now();
    etcd.pause();
    try {
      // Not fenced while the lease could still be alive in etcd.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(brokers.map((b) => b.isFenced)).toEqual([false, false]);
      const fencedAt = await Promise.all(fenced);
      for (const t of fencedAt) expect(t - pausedAt).toBeLessThan(2800);
      expect(brokers.map((b) => b.isFenced)).toEqual([true, true]);
    } finally {
      etcd.resume();
    }
    await waitFor(() => brokers.every((b) => !b.isFenced), 'both registered again', 15_000);
    brokers.forEach((b, i) => expect(b.brokerEpoch).toBeGreaterThan(epochs[i]!));
    await waitForImage(brokers[0]!, (img) => img.broker(2)?.brokerEpoch === brokers[1]!.brokerEpoch, 'broker 2 seen again', 10_000);
    await waitFor(() => harness.controller() !== undefined, 'a controller again', 10_000);
  });
});
