/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 AdminClient against the compiled broker (issue 7):
 * CreateTopics with `compression.type=lz4` and the other Kafka codec configs is accepted, invalid values get
 * INVALID_CONFIG with Kafka's message, and the reserved-name rules hold for librdkafka's Metadata and CreateTopics.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const ADMIN = fileURLToPath(new URL('./admin.py', import.meta.url));

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--auto-create-topics', 'true'] });
});

afterAll(async () => {
  await broker?.stop();
});

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient', () => {
  compatTest('create_topics with compression.type=lz4 (and the KIP-390 levels) is accepted, invalid values get Kafka\'s INVALID_CONFIG, reserved names are refused and never auto-created', async () => {
    const verdict = await runPythonScript(ADMIN, ['--bootstrap', broker.bootstrap, '--prefix', 'ck-admin'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['accepted-0']).toBe('NO_ERROR');
    expect(verdict.stats['metadata __consumer_offsets']).toBe('UNKNOWN_TOPIC_OR_PART');
  });
});
