/**
 * kafka-python 2.0.2 (Debian python3-kafka) KafkaAdminClient describe_configs (DescribeConfigs v2) and alter_configs
 * (AlterConfigs v1) against the compiled broker (issue 10): values, sources, synonyms and read-only flags as Kafka 3.9
 * reports them, and Kafka's INVALID_CONFIG messages for bad values and unknown names.
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

describe('kafka-python 2.0.2 admin configs', () => {
  compatTest('describe_configs reports Kafka\'s values and sources for a topic and the broker; alter_configs replaces a topic\'s set and refuses bad values with INVALID_CONFIG', async () => {
    const verdict = await runPythonScript(CONFIGS, ['--bootstrap', broker.bootstrap, '--topic', 'kpy-configs'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['topic config count']).toBe(36);
  });
});
