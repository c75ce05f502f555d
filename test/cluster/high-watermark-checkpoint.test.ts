// replication-offset-checkpoint (src/cluster/high-watermark-checkpoint.ts): the file's format and rules on real
// files, and, in a two-broker cluster on a real etcd, a restarted leader's high watermark starting from it: with the
// followers' fetches held, a consumer of the restarted leader still sees every record committed before the stop.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/broker.js';
import { HIGH_WATERMARK_CHECKPOINT_FILE, HighWatermarkCheckpoint } from '../../src/cluster/high-watermark-checkpoint.js';
import { nodeLogFs } from '../../src/log/fs.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startEtcd, type EtcdServer } from '../helpers/etcd-server.js';
import { captureLogger, newPrefix } from './cluster-harness.js';
import { waitFor } from './in-process-cluster-harness.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-hw-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const log = captureLogger();

describe('the high watermark checkpoint file', () => {
  it("writes Kafka's offset-checkpoint format, sorted, and reads it back at the next open", async () => {
    const dir = tempDir();
    let current = [
      { topic: 'orders', partition: 1, offset: 42n },
      { topic: 'a-b', partition: 0, offset: 7n },
    ];
    const first = new HighWatermarkCheckpoint(dir, nodeLogFs, log.logger, () => current, () => true, 60_000);
    await first.open();
    await first.close();
    expect(readFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n2\na-b 0 7\norders 1 42\n');
    current = [];
    const second = new HighWatermarkCheckpoint(dir, nodeLogFs, log.logger, () => current, (topic) => topic === 'orders', 60_000);
    await second.open();
    expect([second.highWatermarkOf('orders', 1), second.highWatermarkOf('a-b', 0), second.highWatermarkOf('orders', 0)]).toEqual([42n, 7n, undefined]);
    // Not replicated here yet, but its log exists: the entry is carried over; a partition whose log is gone is dropped.
    await second.close();
    expect(readFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\norders 1 42\n');
  });

  it('a missing file is no checkpoint; an unreadable one is ignored with a warning and never stops the open', async () => {
    const dir = tempDir();
    const none = new HighWatermarkCheckpoint(dir, nodeLogFs, log.logger, () => [], () => true, 60_000);
    await none.open();
    expect(none.highWatermarkOf('t', 0)).toBeUndefined();
    await none.close();
    for (const bad of ['1\n1\nt 0 5\n', '0\n2\nt 0 5\n', '0\n1\nt zero 5\n', '\u0000\u0001garbage']) {
      writeFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), bad);
      const warnings = log.lines.length;
      const c = new HighWatermarkCheckpoint(dir, nodeLogFs, log.logger, () => [], () => true, 60_000);
      await c.open();
      expect(c.highWatermarkOf('t', 0)).toBeUndefined();
      expect(log.lines.slice(warnings).some((l) => String(l.msg).startsWith('ignoring the high watermark checkpoint'))).toBe(true);
      await c.close();
    }
  });

  it('writes nothing before open() (a broker that failed to start keeps the last checkpoint)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), '0\n1\nt 0 5\n');
    const c = new HighWatermarkCheckpoint(dir, nodeLogFs, log.logger, () => [], () => true, 60_000);
    await c.close();
    expect(readFileSync(path.join(dir, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\nt 0 5\n');
  });
});

describe('a restarted cluster starts its high watermarks from the checkpoint', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });
  const opened: Broker[] = [];
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });

  /** waitFor, polling every 50 ms. */
  function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
    return waitFor(what, fn, timeoutMs, 50);
  }

  function create(prefix: string, nodeId: number, dataDir: string): Promise<Broker> {
    return createBroker({
      nodeId, port: 0, dataDir, etcd: etcd.endpoint, etcdPrefix: prefix,
      brokerSessionTimeoutMs: 2000, brokerHeartbeatIntervalMs: 300, replicaLagTimeMaxMs: 30_000,
      replicaFetchWaitMaxMs: 100, replicaFetchBackoffMs: 100, controlledShutdownEnable: false, logger: log.logger,
    });
  }

  async function connect(broker: Broker): Promise<TestClient> {
    const c = await TestClient.connect(broker.port, 'hw-checkpoint');
    clients.push(c);
    return c;
  }

  async function leaderOf(brokers: Broker[], topic: string): Promise<Broker> {
    const c = await connect(brokers[0]!);
    const leaderId = await until('a leader', async () => {
      const md = await c.send(ApiKey.Metadata, 12, { topics: [{ name: topic, topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
      const p = md.topics[0]?.partitions[0];
      return p !== undefined && p.leaderId >= 0 ? (p.leaderId as number) : undefined;
    });
    return brokers[leaderId - 1]!; // node ids 1 and 2, in that order
  }

  async function latestOffset(c: TestClient, topic: string): Promise<bigint | undefined> {
    const res = await c.send(ApiKey.ListOffsets, 7, { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] });
    const p = res.topics[0].partitions[0];
    return p.errorCode === ErrorCode.NONE ? (p.offset as bigint) : undefined;
  }

  it('replica.high.watermark.checkpoint.interval.ms sets how often the file is written while the broker runs', async () => {
    const dataDir = tempDir();
    const broker = await createBroker({
      nodeId: 1, port: 0, dataDir, etcd: etcd.endpoint, etcdPrefix: newPrefix(), brokerSessionTimeoutMs: 2000, brokerHeartbeatIntervalMs: 300,
      replicaHighWatermarkCheckpointIntervalMs: 200, logger: log.logger,
    });
    opened.push(broker);
    await broker.start();
    const c = await connect(broker);
    const created = await c.send(ApiKey.CreateTopics, 5, { topics: [{ name: 'hw-interval', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    await until('the leader serving', () => latestOffset(c, 'hw-interval'));
    const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const res = await c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'hw-interval', partitionData: [{ index: 0, records: batch }] }] });
    expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    // Well before Kafka's default 5 s, and without a shutdown.
    const content = await until('the checkpoint on disk', async () => {
      try {
        const text = readFileSync(path.join(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8');
        return text.includes('hw-interval 0 3') ? text : undefined;
      } catch {
        return undefined;
      }
    }, 2500);
    expect(content).toContain('hw-interval 0 3\n');
    await expect(createBroker({ replicaHighWatermarkCheckpointIntervalMs: 0 })).rejects.toThrow(/replicaHighWatermarkCheckpointIntervalMs/);
  }, 30_000);

  it('the leader of a restarted cluster serves the committed records before any follower fetch', async () => {
    const prefix = newPrefix();
    const dataDirs = [tempDir(), tempDir()];
    const first = await Promise.all([1, 2].map((id) => create(prefix, id, dataDirs[id - 1]!)));
    opened.push(...first);
    await Promise.all(first.map((b) => b.start()));
    const admin = await connect(first[0]!);
    const created = await admin.send(ApiKey.CreateTopics, 5, { topics: [{ name: 'hw', numPartitions: 1, replicationFactor: 2, assignments: [], configs: [] }], timeoutMs: 10_000, validateOnly: false });
    expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
    const leaderBroker = await leaderOf(first, 'hw');
    const leader = await connect(leaderBroker);
    await until('the leader serving', () => latestOffset(leader, 'hw'));
    for (let i = 0; i < 5; i++) {
      const batch = buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: [{ value: `v${i}` }] });
      const res = await leader.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'hw', partitionData: [{ index: 0, records: batch }] }] });
      expect(res.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    }
    expect(await latestOffset(leader, 'hw')).toBe(5n);
    for (const c of clients.splice(0)) c.close();
    await Promise.all(opened.splice(0).map((b) => b.close()));
    // The leader checkpointed 5; a follower learns the HW one fetch later, so its entry may be one batch behind.
    const leaderDir = dataDirs[first.indexOf(leaderBroker)]!;
    expect(readFileSync(path.join(leaderDir, HIGH_WATERMARK_CHECKPOINT_FILE), 'utf8')).toBe('0\n1\nhw 0 5\n');

    // Restart with every follower fetch held: the leader's high watermark can only come from the checkpoint.
    const second = await Promise.all([1, 2].map((id) => create(prefix, id, dataDirs[id - 1]!)));
    opened.push(...second);
    second.forEach((b, i) => {
      for (const other of [1, 2]) b.faults.add({ api: 'Fetch', clientId: `broker-${other}-fetcher-${i + 1}`, stall: true, durationMs: 20_000 });
    });
    await Promise.all(second.map((b) => b.start()));
    const restarted = await connect(await leaderOf(second, 'hw'));
    expect(await until('the restarted leader serving', () => latestOffset(restarted, 'hw'))).toBe(5n);
  }, 60_000);
});
