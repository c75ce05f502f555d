/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 AdminClient describe_configs / alter_configs against the compiled
 * broker (issue 10): topic and broker configs with Kafka 3.9's values, sources, is_default and read-only flags, a
 * dynamic broker config seen as the topics' fallback, and Kafka's codes and messages for bad alterations.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const CONFIGS = fileURLToPath(new URL('./configs.py', import.meta.url));

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker();
});

afterAll(async () => {
  await broker?.stop();
});

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient configs', () => {
  compatTest('describe_configs and alter_configs for a topic and the broker answer as Kafka 3.9 does', async () => {
    const verdict = await runPythonScript(CONFIGS, ['--bootstrap', broker.bootstrap, '--topic', 'ck-configs'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['topic config count']).toBe(36);
  });
});
