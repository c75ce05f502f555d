/**
 * confluent-kafka-python 1.7.0 (librdkafka 2.0.2) consumer groups against the compiled broker, with
 * `partition.assignment.strategy=cooperative-sticky`: the broker stays protocol-agnostic (metadata and assignments
 * are opaque) but must survive the extra rebalance rounds of incremental cooperative rebalancing as a member joins
 * and leaves, with every message consumed exactly once when commits are synchronous (groups_cooperative.py).
 */
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const COOPERATIVE = fileURLToPath(new URL('./groups_cooperative.py', import.meta.url));

let broker: SpawnedBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--group-initial-rebalance-delay-ms', '0'] });
  const kafka = new Kafka({ clientId: 'compat-confluent-groups', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'ck-coop', numPartitions: 4 }] });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe('confluent-kafka-python 1.7.0 consumer groups', () => {
  compatTest('cooperative-sticky: a member joins and leaves, partitions move incrementally, every message consumed exactly once', async () => {
    const verdict = await runPythonScript(COOPERATIVE, ['--bootstrap', broker.bootstrap, '--topic', 'ck-coop', '--group', 'ck-coop-g', '--partitions', '4', '--count', '3000'], 240_000);
    expect(verdict.problems, JSON.stringify(verdict.stats)).toEqual([]);
    expect(verdict.ok).toBe(true);
    const described = await admin.describeGroups(['ck-coop-g']);
    expect(described.groups[0]!.state).toBe('Empty');
    const committed = await admin.fetchOffsets({ groupId: 'ck-coop-g', topics: ['ck-coop'] });
    const ends = await admin.fetchTopicOffsets('ck-coop');
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const e of ends) expect(byPartition.get(e.partition)).toBe(e.high);
  });
});
