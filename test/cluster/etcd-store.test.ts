// The etcd side against a real etcd: connecting, CAS, leases, and the metadata image kept by one prefix watch
// (through an etcd restart and a compaction).
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerError } from '../../src/errors.js';
import { EtcdStore } from '../../src/cluster/etcd/etcd-store.js';
import { LeaseKeeper } from '../../src/cluster/etcd/lease-keeper.js';
import { MetadataLoader, type MetadataDelta } from '../../src/cluster/metadata-image.js';
import { ClusterMetadata } from '../../src/cluster/cluster-metadata.js';
import { encodePartitionRecord, encodeTopicRecord, partitionKey, topicKey, brokerKey } from '../../src/cluster/metadata-records.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { captureLogger, newPrefix } from './cluster-harness.js';

let etcd: EtcdServer;
const stores: EtcdStore[] = [];
const loaders: MetadataLoader[] = [];

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});
afterEach(() => {
  for (const l of loaders.splice(0)) l.close();
  for (const s of stores.splice(0)) s.close();
});

/** A TCP proxy to etcd whose connections can be cut (new ones refused until restored). */
async function startProxy(targetPort: number): Promise<{ port: number; cut(): void; restore(): void; close(): void }> {
  const sockets = new Set<Socket>();
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = netConnect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      blocked = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      blocked = false;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

async function connect(): Promise<EtcdStore> {
  const store = await EtcdStore.connect({ endpoints: [etcd.endpoint], logger: captureLogger().logger, requestTimeoutMs: 1500 });
  stores.push(store);
  return store;
}

const TOPIC_ID = 'f'.repeat(31) + '1';
const partitionValue = (partition: number, leader: number) =>
  encodePartitionRecord({ topicId: TOPIC_ID, partition, replicas: [1, 2], isr: [1, 2], leader, leaderEpoch: 0, partitionEpoch: 0, leaderRecoveryState: 0 });

describe('etcd store', () => {
  it('etcd unreachable at open fails quickly with ETCD_UNREACHABLE naming the endpoint', async () => {
    // A port nothing listens on.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = Date.now();
    const err = await ClusterMetadata.open({
      endpoints: [`http://127.0.0.1:${port}`],
      nodeId: 1,
      brokerEndpoints: [],
      connectTimeoutMs: 800,
      logger: captureLogger().logger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).code).toBe('ETCD_UNREACHABLE');
    expect((err as BrokerError).message).toContain(`cannot reach etcd at http://127.0.0.1:${port}`);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('with several endpoints, calls keep working when one of them refuses connections', async () => {
    const dead = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const store = await EtcdStore.connect({ endpoints: [`http://127.0.0.1:${dead}`, etcd.endpoint], logger: captureLogger().logger, requestTimeoutMs: 1500 });
    stores.push(store);
    const key = `${newPrefix()}/multi`;
    // Bounded: 20 calls, each picking an endpoint; none may fail because the other one is down.
    for (let i = 0; i < 20; i++) {
      const put = await store.txn([], [{ type: 'put', key, value: String(i) }]);
      expect(put.succeeded).toBe(true);
      expect((await store.get(key))?.value.toString()).toBe(String(i));
    }
  });

  it('a CAS txn on mod_revision succeeds once and fails on the stale revision', async () => {
    const store = await connect();
    const key = `${newPrefix()}/x`;
    const created = await store.txn([{ key, target: 'create', result: '=', value: 0 }], [{ type: 'put', key, value: 'a' }]);
    expect(created.succeeded).toBe(true);
    const again = await store.txn([{ key, target: 'create', result: '=', value: 0 }], [{ type: 'put', key, value: 'b' }], [{ type: 'get', key }]);
    expect(again.succeeded).toBe(false);
    expect(again.gets[0]?.value.toString()).toBe('a');
    const first = await store.txn([{ key, target: 'mod', result: '=', value: created.revision }], [{ type: 'put', key, value: 'c' }]);
    const stale = await store.txn([{ key, target: 'mod', result: '=', value: created.revision }], [{ type: 'put', key, value: 'd' }]);
    expect([first.succeeded, stale.succeeded]).toEqual([true, false]);
    expect((await store.get(key))?.value.toString()).toBe('c');
  });

  it('a key on a lease disappears when the lease is revoked, and a lease whose keepalives stop is reported lost after its TTL', async () => {
    const store = await connect();
    const { logger } = captureLogger();
    const key = `${newPrefix()}/leased`;
    const lease = await LeaseKeeper.grant(store, { ttlMs: 2000, keepaliveIntervalMs: 200, logger });
    await store.txn([], [{ type: 'put', key, value: 'v', lease: lease.id }]);
    // Keepalives keep it past its TTL.
    await new Promise((resolve) => setTimeout(resolve, 2600));
    expect(lease.isLost).toBe(false);
    expect(await store.get(key)).toBeDefined();
    await lease.revoke();
    expect(await store.get(key)).toBeUndefined();

    const second = await LeaseKeeper.grant(store, { ttlMs: 2000, keepaliveIntervalMs: 200, logger });
    await store.txn([], [{ type: 'put', key, value: 'v', lease: second.id }]);
    const lostAt = new Promise<number>((resolve) => second.once('lost', () => resolve(Date.now())));
    const suspendedAt = Date.now();
    second.suspendKeepalives();
    const elapsed = (await lostAt) - suspendedAt;
    expect(elapsed).toBeLessThan(2600);
    // etcd expires it no earlier than we declared it lost.
    await expect.poll(async () => store.get(key), { timeout: 5000, interval: 100 }).toBeUndefined();
  });
});

describe('metadata image over one prefix watch', () => {
  it('a corrupt value under the prefix is skipped with a log line and the rest loads', async () => {
    const store = await connect();
    const prefix = newPrefix();
    await store.txn([], [
      { type: 'put', key: topicKey(prefix, 'good'), value: encodeTopicRecord({ name: 'good', topicId: TOPIC_ID, configs: {} }) },
      { type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: partitionValue(0, 1) },
      { type: 'put', key: topicKey(prefix, 'bad'), value: '{"version":1,"name":"bad"' },
      { type: 'put', key: brokerKey(prefix, 4), value: '{"version":9}' },
    ]);
    const { logger, lines } = captureLogger();
    const loader = await MetadataLoader.start(store, prefix, logger);
    loaders.push(loader);
    expect(loader.image.topics().map((t) => t.name)).toEqual(['good']);
    expect(loader.image.partition(TOPIC_ID, 0)?.leader).toBe(1);
    expect(loader.image.broker(4)).toBeUndefined();
    const skipped = lines.filter((l) => l.msg === 'skipping unreadable cluster metadata value').map((l) => l.key);
    expect(skipped).toEqual(expect.arrayContaining([topicKey(prefix, 'bad'), brokerKey(prefix, 4)]));

    // A corrupt update while watching is skipped too; the previous state stays.
    await store.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: 'garbage' }]);
    const marker = await store.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 1), value: partitionValue(1, 2) }]);
    const image = await loader.waitForRevision(marker.revision);
    expect(image.partition(TOPIC_ID, 0)?.leader).toBe(1);
    expect(image.partition(TOPIC_ID, 1)?.leader).toBe(2);
  });

  it('applies changes in revision order and reports them in the delta', async () => {
    const store = await connect();
    const prefix = newPrefix();
    const loader = await MetadataLoader.start(store, prefix, captureLogger().logger);
    loaders.push(loader);
    const deltas: MetadataDelta[] = [];
    loader.onChange((_image, delta) => deltas.push(delta));
    const created = await store.txn([], [
      { type: 'put', key: topicKey(prefix, 't'), value: encodeTopicRecord({ name: 't', topicId: TOPIC_ID, configs: {} }) },
      { type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: partitionValue(0, 1) },
    ]);
    await loader.waitForRevision(created.revision);
    let last = 0;
    for (const leader of [2, 1, 2, 1, 2]) {
      last = (await store.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: partitionValue(0, leader) }])).revision;
      await loader.waitForRevision(last);
    }
    const image = await loader.waitForRevision(last);
    expect(image.partition(TOPIC_ID, 0)?.leader).toBe(2);
    expect(image.topic('t')?.partitionCount).toBe(1);
    expect(deltas[0]?.changedTopics.map((t) => t.name)).toEqual(['t']);
    expect(deltas.flatMap((d) => d.changedPartitions.map((p) => p.leader))).toEqual([1, 2, 1, 2, 1, 2]);
    const revisions = deltas.map((d) => d.revision);
    expect([...revisions].sort((a, b) => a - b)).toEqual(revisions);

    const del = await store.txn([], [{ type: 'delete', key: topicKey(prefix, 't') }, { type: 'deletePrefix', prefix: `${prefix}/partitions/${TOPIC_ID}/` }]);
    const afterDelete = await loader.waitForRevision(del.revision);
    expect(afterDelete.topic('t')).toBeUndefined();
    expect(afterDelete.partition(TOPIC_ID, 0)).toBeUndefined();
    const lastDelta = deltas[deltas.length - 1]!;
    expect(lastDelta.removedTopics.map((t) => t.name)).toEqual(['t']);
    expect(lastDelta.removedPartitions.map((p) => p.partition)).toEqual([0]);
  });

  it('the watch survives an etcd restart without losing the events written while it was down', async () => {
    const store = await connect();
    const prefix = newPrefix();
    const loader = await MetadataLoader.start(store, prefix, captureLogger().logger);
    loaders.push(loader);
    const seen: number[] = [];
    loader.onChange((_image, delta) => {
      for (const p of delta.changedPartitions) seen.push(p.partition);
    });
    await store.txn([], [{ type: 'put', key: topicKey(prefix, 't'), value: encodeTopicRecord({ name: 't', topicId: TOPIC_ID, configs: {} }) }]);
    const before = await store.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: partitionValue(0, 1) }]);
    await loader.waitForRevision(before.revision);

    await etcd.restart();
    // Written by another client right after the restart, possibly before our watch is back.
    const other = await connect();
    let last = 0;
    for (let p = 1; p <= 5; p++) last = (await other.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, p), value: partitionValue(p, 1) }])).revision;
    const image = await loader.waitForRevision(last, 15_000);
    expect(image.partitionsOf(TOPIC_ID).map((p) => p.partition)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a compacted watch revision reloads the image from a fresh range read', async () => {
    const direct = await connect();
    const prefix = newPrefix();
    await direct.txn([], [{ type: 'put', key: topicKey(prefix, 't'), value: encodeTopicRecord({ name: 't', topicId: TOPIC_ID, configs: {} }) }]);
    // The loader reaches etcd through a proxy we can cut, so its watch falls behind a compaction.
    const proxy = await startProxy(etcd.clientPort);
    try {
      const { logger, lines } = captureLogger();
      const viaProxy = await EtcdStore.connect({ endpoints: [`http://127.0.0.1:${proxy.port}`], logger, requestTimeoutMs: 1000 });
      stores.push(viaProxy);
      const loader = await MetadataLoader.start(viaProxy, prefix, logger);
      loaders.push(loader);
      const first = await direct.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 0), value: partitionValue(0, 1) }]);
      await loader.waitForRevision(first.revision);
      const deltas: MetadataDelta[] = [];
      loader.onChange((_image, delta) => deltas.push(delta));

      proxy.cut();
      let last = 0;
      for (let p = 1; p <= 3; p++) last = (await direct.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, p), value: partitionValue(p, 2) }])).revision;
      await direct.txn([], [{ type: 'delete', key: partitionKey(prefix, TOPIC_ID, 0) }]);
      last = (await direct.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 4), value: partitionValue(4, 2) }])).revision;
      await etcd.compact(last);
      proxy.restore();

      const image = await loader.waitForRevision(last, 15_000);
      expect(image.partitionsOf(TOPIC_ID).map((p) => p.partition)).toEqual([1, 2, 3, 4]);
      expect(lines.map((l) => l.msg)).toContain('etcd watch revision compacted');
      const reload = deltas.find((d) => d.removedPartitions.length > 0)!;
      expect(reload.removedPartitions.map((p) => p.partition)).toEqual([0]);
      expect(reload.changedPartitions.map((p) => p.partition).sort()).toEqual([1, 2, 3, 4]);
      // And it keeps watching after the reload.
      const after = await direct.txn([], [{ type: 'put', key: partitionKey(prefix, TOPIC_ID, 5), value: partitionValue(5, 1) }]);
      expect((await loader.waitForRevision(after.revision)).partition(TOPIC_ID, 5)?.leader).toBe(1);
    } finally {
      proxy.close();
    }
  });
});
