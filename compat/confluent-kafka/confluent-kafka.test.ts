/**
 * confluent-kafka-python 1.7.0 on librdkafka 2.0.2 (Debian bookworm) against the compiled broker: an acks=all
 * Producer and an assign()-only Consumer (no subscribe, nothing committed) for every compression codec
 * librdkafka has built in. The script compares delivery reports with what is read back, byte for byte.
 */
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { expectStoredWithCodec } from '../lib/codec.js';
import { runPythonScript } from '../lib/python.js';

const ROUNDTRIP = fileURLToPath(new URL('./roundtrip.py', import.meta.url));
const SEEK = fileURLToPath(new URL('./seek.py', import.meta.url));
const LIMITS = fileURLToPath(new URL('./limits.py', import.meta.url));
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
const COUNT = 5000;

let broker: SpawnedBroker;
let admin: Admin;

beforeAll(async () => {
  broker = await spawnBroker();
  const kafka = new Kafka({ clientId: 'compat-confluent-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [...CODECS.map((codec) => ({ topic: `ck-${codec}`, numPartitions: 3 })), { topic: 'ck-limits', numPartitions: 1 }],
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2)', () => {
  for (const codec of CODECS) {
    compatTest(`Producer acks=all and assign() Consumer round-trip ${COUNT} binary messages with headers, compression ${codec}`, async () => {
      const verdict = await runPythonScript(
        ROUNDTRIP,
        ['--bootstrap', broker.bootstrap, '--topic', `ck-${codec}`, '--count', String(COUNT), '--compression', codec],
        180_000,
      );
      const logTail = broker.logs().split('\n').slice(-40).join('\n');
      expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
      expect(verdict.stats['acked']).toBe(COUNT);
      expect(verdict.stats['consumed']).toBe(COUNT);
      // The stored batches must really carry the codec (librdkafka falls back to none silently).
      expectStoredWithCodec(broker.dataDir, `ck-${codec}`, 3, codec);
    });
  }

  compatTest('assign() at middle offsets, past the end (auto.offset.reset earliest / error) and at OFFSET_END reads exactly the right records', async () => {
    // Uses the gzip topic written by the round-trip case above.
    const verdict = await runPythonScript(SEEK, ['--bootstrap', broker.bootstrap, '--topic', 'ck-gzip'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
  });

  compatTest('a 990 KB message round-trips; a 1.5 MB one is refused with MSG_SIZE_TOO_LARGE and not stored', async () => {
    const verdict = await runPythonScript(LIMITS, ['--bootstrap', broker.bootstrap, '--topic', 'ck-limits'], 90_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
  });
});
