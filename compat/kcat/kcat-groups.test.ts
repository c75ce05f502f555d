/**
 * kcat 1.7.1 (librdkafka 2.0.2) balanced consumers (`kcat -G`) against the compiled broker: librdkafka enables
 * consumer groups only when every group API's minimum version is 0 (FindCoordinator, JoinGroup v5, SyncGroup v3,
 * Heartbeat v3, LeaveGroup v1, OffsetCommit v7, OffsetFetch v7 here).
 *
 * Two `kcat -G` processes in one group split a 4-partition topic 2/2; messages produced after the split are each
 * consumed exactly once across the two; when they stop (SIGTERM: commit and LeaveGroup), the group's committed
 * offsets are the partitions' ends, and a new member of the group reads nothing old.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { LineProcess } from '../lib/line-process.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { parseKcatJson } from '../../test/e2e/support/kcat.js';

const TOPIC = 'kcat-groups';
const GROUP = 'kcat-groups-g';
const PARTITIONS = 4;
const COUNT = 2000;

let broker: SpawnedBroker;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--group-initial-rebalance-delay-ms', '0', '--group-min-session-timeout-ms', '1000'] });
  const kafka = new Kafka({ clientId: 'compat-kcat-groups', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

function kcatMember(): LineProcess {
  return new LineProcess('kcat', [
    '-b', broker.bootstrap, '-G', GROUP, '-J', '-u',
    '-X', 'auto.offset.reset=earliest', '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500',
    '-X', 'topic.metadata.refresh.interval.ms=2000',
    TOPIC,
  ]);
}

/** The partitions of the member's latest "assigned:" line on stderr (kcat's rebalance callback). */
function assigned(p: LineProcess): number[] | undefined {
  const line = [...p.stderr].reverse().find((l) => l.includes('assigned:') || l.includes('revoked:'));
  if (line === undefined || line.includes('revoked:')) return undefined;
  return [...line.matchAll(/\[(\d+)\]/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

function consumed(p: LineProcess) {
  return parseKcatJson(p.stdout.filter((l) => l.startsWith('{')).join('\n'));
}

describe('kcat -G (librdkafka 2.0.2 balanced consumer)', () => {
  compatTest('two kcat -G processes in one group split the partitions 2/2 and consume every message exactly once', async () => {
    const a = kcatMember();
    let b: LineProcess | undefined;
    try {
      await a.until(() => assigned(a)?.length === PARTITIONS, 60_000, 'first member owns every partition');
      b = kcatMember();
      await b!.until(() => assigned(b!)?.length === 2, 60_000, 'second member gets 2 partitions');
      await a.until(() => assigned(a)?.length === 2, 60_000, 'first member is down to 2 partitions');
      expect([...assigned(a)!, ...assigned(b!)!].sort()).toEqual([0, 1, 2, 3]);
      const described = await admin.describeGroups([GROUP]);
      expect(described.groups[0]!.state).toBe('Stable');
      expect(described.groups[0]!.members).toHaveLength(2);

      await producer.send({ topic: TOPIC, messages: Array.from({ length: COUNT }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });
      await a.until(() => consumed(a).length + consumed(b!).length >= COUNT, 60_000, `${COUNT} messages across both members`);
      const all = [...consumed(a), ...consumed(b!)];
      expect(all).toHaveLength(COUNT);
      expect(new Set(all.map((r) => `${r.partition}:${r.offset}`)).size).toBe(COUNT);
      for (const r of consumed(a)) expect(assigned(a)).toContain(r.partition);
      for (const r of consumed(b!)) expect(assigned(b!)).toContain(r.partition);
    } finally {
      await Promise.all([a.stop('SIGTERM'), b?.stop('SIGTERM')]);
    }
    // Both committed on close and left: the group is Empty and its offsets are the partition ends.
    const described = await admin.describeGroups([GROUP]);
    expect(described.groups[0]!.state).toBe('Empty');
    const ends = await admin.fetchTopicOffsets(TOPIC);
    const committed = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const e of ends) expect(byPartition.get(e.partition)).toBe(e.high);

    // A new member of the group starts from the committed offsets: nothing old is delivered again.
    await producer.send({ topic: TOPIC, messages: [{ key: 'late', value: 'late' }] });
    const c = kcatMember();
    try {
      await c.until(() => consumed(c).length >= 1, 60_000, 'the late message');
      expect(consumed(c).map((r) => r.payload)).toEqual(['late']);
    } finally {
      await c.stop('SIGTERM');
    }
  });
});
