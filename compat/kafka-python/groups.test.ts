/**
 * kafka-python 2.0.2 KafkaConsumer(group_id=...) against the compiled broker: commit and resume (groups.py), with
 * the versions kafka-python hard-codes for a ≥ 2.1 broker (FindCoordinator v0, JoinGroup v2, SyncGroup/Heartbeat/
 * LeaveGroup v1, OffsetCommit v2, OffsetFetch v1).
 */
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const GROUPS = fileURLToPath(new URL('./groups.py', import.meta.url));

let broker: SpawnedBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--group-initial-rebalance-delay-ms', '0'] });
  const kafka = new Kafka({ clientId: 'compat-kafka-python-groups', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'kpy-groups', numPartitions: 3 }] });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe('kafka-python 2.0.2 consumer groups', () => {
  compatTest('KafkaConsumer(group_id) commits synchronously and a new consumer of the group resumes from the commit', async () => {
    const verdict = await runPythonScript(GROUPS, ['--bootstrap', broker.bootstrap, '--topic', 'kpy-groups', '--group', 'kpy-g', '--count', '1000'], 180_000);
    expect(verdict.problems, JSON.stringify(verdict.stats)).toEqual([]);
    expect(verdict.ok).toBe(true);
    const described = await admin.describeGroups(['kpy-g']);
    expect(described.groups[0]!.state).toBe('Empty');
    expect(described.groups[0]!.protocolType).toBe('consumer');
    const committed = await admin.fetchOffsets({ groupId: 'kpy-g', topics: ['kpy-groups'] });
    const ends = await admin.fetchTopicOffsets('kpy-groups');
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const e of ends) expect(byPartition.get(e.partition)).toBe(e.high);
  });
});
