/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 AdminClient create_partitions against the compiled broker
 * (issue 10): growth seen by list_topics and a producer, validate_only, and Kafka 3.9's refusals with their
 * messages (shrinking, same count, unknown topic, bad replica assignments). 1.7.0 has no describe_cluster.
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

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient create_partitions', () => {
  compatTest('create_partitions grows a topic (list_topics and a producer see the new partitions), validate_only adds nothing, bad input gets Kafka\'s codes and messages', async () => {
    const verdict = await runPythonScript(PARTITIONS, ['--bootstrap', broker.bootstrap, '--prefix', 'ck-parts'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['grow']).toBe('NO_ERROR');
    expect(verdict.stats['partitions after grow']).toEqual([0, 1, 2, 3, 4]);
  });
});
