/**
 * kafka-python 2.0.2 (Debian python3-kafka) KafkaAdminClient create_partitions (CreatePartitions v1) and
 * describe_cluster (Metadata) against the compiled broker (issue 10).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const PARTITIONS = fileURLToPath(new URL('./partitions.py', import.meta.url));

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker();
});

afterAll(async () => {
  await broker?.stop();
});

describe('kafka-python 2.0.2 KafkaAdminClient partitions and cluster', () => {
  compatTest('create_partitions grows a topic (consumers see the new partitions), validate_only adds nothing, bad input raises Kafka\'s errors; describe_cluster names this broker as controller', async () => {
    const verdict = await runPythonScript(PARTITIONS, ['--bootstrap', broker.bootstrap, '--prefix', 'kpy-parts'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['partitions']).toEqual([0, 1, 2, 3]);
    expect(verdict.stats['shrink']).toBe('InvalidPartitionsError');
  });
});
