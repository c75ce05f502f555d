/**
 * kafka-python 2.0.2 (Debian python3-kafka) against the compiled broker.
 *
 * kafka-python probes with ApiVersions v0 then Metadata v0, infers a broker version from the advertised
 * ranges and then uses hard-coded versions (Metadata v1, Produce v7, Fetch v4, ListOffsets v1 for a ≥ 2.1
 * broker). The scripts do the byte-level comparison and print a JSON verdict.
 */
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { expectStoredWithCodec } from '../lib/codec.js';
import { runPythonScript } from '../lib/python.js';

const ROUNDTRIP = fileURLToPath(new URL('./roundtrip.py', import.meta.url));
const ADMIN = fileURLToPath(new URL('./admin.py', import.meta.url));

let broker: SpawnedBroker;
let admin: Admin;

beforeAll(async () => {
  // trace: the broker logs one line per request (api, apiVersion, clientId), used to check the negotiated versions.
  broker = await spawnBroker({ logLevel: 'trace', extraArgs: ['--auto-create-topics', 'true', '--num-partitions', '3'] });
  const kafka = new Kafka({ clientId: 'compat-kafka-python-admin', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: 'kpy-none', numPartitions: 3 },
      { topic: 'kpy-gzip', numPartitions: 3 },
      { topic: 'kpy-small-fetch', numPartitions: 3 },
    ],
  });
});

afterAll(async () => {
  await admin?.disconnect();
  await broker?.stop();
});

function brokerLogTail(): string {
  return broker.logs().split('\n').slice(-40).join('\n');
}

describe('kafka-python 2.0.2', () => {
  for (const compression of ['none', 'gzip'] as const) {
    compatTest(`acks=all producer and assign()/seek_to_beginning consumer round-trip 3000 binary messages, compression ${compression}`, async () => {
      const verdict = await runPythonScript(
        ROUNDTRIP,
        ['--bootstrap', broker.bootstrap, '--topic', `kpy-${compression}`, '--count', '3000', '--compression', compression],
        150_000,
      );
      expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${brokerLogTail()}`).toEqual([]);
      expect(verdict.stats['acked']).toBe(3000);
      expect(verdict.stats['consumed']).toBe(3000);
      expectStoredWithCodec(broker.dataDir, `kpy-${compression}`, 3, compression);
    });
  }

  compatTest('kafka-python probes with ApiVersions v0 + Metadata v0, then uses Metadata v1, Produce v7, Fetch v4, ListOffsets v1', () => {
    const used = new Set<string>();
    for (const line of broker.logs().split('\n')) {
      if (!line.includes('"msg":"request"')) continue;
      const entry = JSON.parse(line) as { clientId?: string; api?: string; apiVersion?: number };
      if (entry.clientId?.startsWith('kafka-python') === true) used.add(`${entry.api} v${entry.apiVersion}`);
    }
    expect([...used].sort()).toEqual(['ApiVersions v0', 'Fetch v4', 'ListOffsets v1', 'Metadata v0', 'Metadata v1', 'Produce v7']);
  });

  compatTest('a 1 KB max_partition_fetch_bytes still reads every batch whole (KIP-74, Fetch v4), gzip batches up to 20 KB+', async () => {
    const verdict = await runPythonScript(
      ROUNDTRIP,
      ['--bootstrap', broker.bootstrap, '--topic', 'kpy-small-fetch', '--count', '1500', '--compression', 'gzip', '--max-partition-fetch-bytes', '1024'],
      150_000,
    );
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${brokerLogTail()}`).toEqual([]);
    expect(verdict.stats['consumed']).toBe(1500);
  });

  compatTest('producing to a missing topic auto-creates it with --num-partitions (Metadata v1 has no allow flag)', async () => {
    const verdict = await runPythonScript(
      ROUNDTRIP,
      ['--bootstrap', broker.bootstrap, '--topic', 'kpy-auto-created', '--count', '300', '--partitions', '3'],
      120_000,
    );
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${brokerLogTail()}`).toEqual([]);
    expect(verdict.stats['consumed']).toBe(300);
  });

  compatTest('KafkaAdminClient creates, lists and deletes a topic; a duplicate create raises TopicAlreadyExistsError', async () => {
    const verdict = await runPythonScript(ADMIN, ['--bootstrap', broker.bootstrap, '--topic', 'kpy-admin'], 90_000);
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${brokerLogTail()}`).toEqual([]);
    expect(verdict.stats['duplicate']).toBe('TopicAlreadyExistsError');
  });
});
