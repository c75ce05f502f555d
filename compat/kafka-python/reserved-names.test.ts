/**
 * kafka-python 2.0.2 (Debian python3-kafka) against the compiled broker: the reserved topic names of issue 7
 * (no auto-creation of `__consumer_offsets` from Metadata, Kafka's CreateTopics answers for reserved names).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const RESERVED = fileURLToPath(new URL('./reserved_names.py', import.meta.url));

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--auto-create-topics', 'true'] });
});

afterAll(async () => {
  await broker?.stop();
});

describe('kafka-python 2.0.2 reserved names', () => {
  compatTest('metadata for __consumer_offsets creates nothing; create_topics refuses __cluster_metadata, __consumer_offsets and a colliding name', async () => {
    const verdict = await runPythonScript(RESERVED, ['--bootstrap', broker.bootstrap], 90_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['create __cluster_metadata']).toEqual([42, 'InvalidRequestError']);
    expect(verdict.stats['create __consumer.offsets']).toEqual([17, 'InvalidTopicError']);
  });
});
