/**
 * kcat 1.7.1 / librdkafka 2.0.2 against the compiled broker (issue 7): `kcat -L -t __consumer_offsets` (what lag
 * monitors ask) must not create the topic; librdkafka reports it as unknown. An ordinary `__` name given to
 * `kcat -L -t` is auto-created, as Kafka does.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { kcatMetadata } from '../../test/e2e/support/kcat.js';

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker({ extraArgs: ['--auto-create-topics', 'true'] });
});

afterAll(async () => {
  await broker?.stop();
});

describe('kcat (librdkafka 2.0.2) reserved names', () => {
  compatTest('kcat -L -t __consumer_offsets answers an unknown topic and does not create it', async () => {
    const md = await kcatMetadata(broker.bootstrap, '__consumer_offsets');
    const topic = md.topics.find((t) => t.topic === '__consumer_offsets');
    expect(topic?.error, JSON.stringify(md)).toBe('Broker: Unknown topic or partition');
    expect(topic?.partitions).toEqual([]);
    const all = await kcatMetadata(broker.bootstrap);
    expect(all.topics.map((t) => t.topic)).not.toContain('__consumer_offsets');
  });

  compatTest('kcat -L -t __cluster_metadata creates nothing either', async () => {
    const md = await kcatMetadata(broker.bootstrap, '__cluster_metadata');
    expect(md.topics.find((t) => t.topic === '__cluster_metadata')?.error).toBe('Broker: Unknown topic or partition');
    const all = await kcatMetadata(broker.bootstrap);
    expect(all.topics.map((t) => t.topic)).not.toContain('__cluster_metadata');
  });
});
