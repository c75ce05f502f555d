// CreatePartitions over the wire (our codec), against Kafka 3.9's controller answers
// (ReplicationControlManager.createPartitions): growth, persistence, every refusal with its message, validateOnly,
// limits, and growth racing creation and deletion.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await tb?.stop();
  tb = undefined;
});

async function start(options: Parameters<typeof startTestBroker>[0] = {}): Promise<TestClient> {
  tb = await startTestBroker(options);
  client = await TestClient.connect(tb.port);
  return client;
}

async function createTopic(c: TestClient, name: string, numPartitions: number): Promise<void> {
  const res = await c.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000 });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

type Growth = { name: string; count: number; assignments?: Array<{ brokerIds: number[] }> | null };
async function grow(c: TestClient, topics: Growth[], options: { version?: number; validateOnly?: boolean } = {}) {
  const res = await c.send(ApiKey.CreatePartitions, options.version ?? 3, {
    topics: topics.map((t) => ({ assignments: null, ...t })),
    timeoutMs: 60_000,
    validateOnly: options.validateOnly ?? false,
  });
  return res.results as Array<{ name: string; errorCode: number; errorMessage: string | null }>;
}

async function partitionCount(c: TestClient, name: string): Promise<number> {
  const md = await c.send(ApiKey.Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  expect(md.topics[0].errorCode).toBe(ErrorCode.NONE);
  return md.topics[0].partitions.length;
}

async function produceTo(c: TestClient, name: string, partition: number, value: string) {
  const res = await c.send(ApiKey.Produce, 7, { acks: 1, timeoutMs: 1000, topicData: [{ name, partitionData: [{ index: partition, records: buildRecordBatch({ records: [{ value }] }) }] }] });
  return res.responses[0].partitionResponses[0];
}

describe('CreatePartitions', () => {
  it.each([0, 1, 2, 3])('grows a topic at v%i: Metadata lists the new partitions and each takes writes', async (version) => {
    const c = await start();
    await createTopic(c, 'grow', 2);
    expect(await grow(c, [{ name: 'grow', count: 5 }], { version })).toEqual([{ name: 'grow', errorCode: ErrorCode.NONE, errorMessage: null }]);
    expect(await partitionCount(c, 'grow')).toBe(5);
    for (const p of [2, 3, 4]) expect(await produceTo(c, 'grow', p, `p${p}`)).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
    expect(readdirSync(tb!.dataDir).filter((n) => n.startsWith('grow-')).sort()).toEqual(['grow-0', 'grow-1', 'grow-2', 'grow-3', 'grow-4']);
  });

  it('keeps the new partition count and their data across a restart (the topic file records it)', async () => {
    const c = await start();
    await createTopic(c, 'kept', 1);
    await grow(c, [{ name: 'kept', count: 3 }]);
    await produceTo(c, 'kept', 2, 'after-growth');
    const doc = JSON.parse(readFileSync(path.join(tb!.dataDir, 'topic-metadata.json'), 'utf8'));
    expect(doc.topics.find((t: { name: string }) => t.name === 'kept').partitions).toBe(3);
    c.close();
    const dataDir = tb!.dataDir;
    await tb!.stop({ keepData: true });
    const again = await start({ dataDir });
    expect(await partitionCount(again, 'kept')).toBe(3);
    expect(await produceTo(again, 'kept', 2, 'after-restart')).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 1n });
  });

  it('refuses an equal or smaller count and an unknown topic with Kafka\'s codes and messages, changing nothing', async () => {
    const c = await start();
    await createTopic(c, 'three', 3);
    const results = await grow(c, [{ name: 'three', count: 3 }, { name: 'missing', count: 2 }]);
    expect(results).toEqual([
      { name: 'three', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 3 partition(s).' },
      { name: 'missing', errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: null },
    ]);
    const [shrink] = await grow(c, [{ name: 'three', count: 1 }]);
    expect(shrink).toEqual({ name: 'three', errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'The topic three currently has 3 partition(s); 1 would not be an increase.' });
    const [negative] = await grow(c, [{ name: 'three', count: -1 }]);
    expect(negative.errorMessage).toBe('The topic three currently has 3 partition(s); -1 would not be an increase.');
    expect(await partitionCount(c, 'three')).toBe(3);
  });

  it('checks manual assignments as Kafka does: one per new partition, registered brokers, no repeats, the topic\'s replication factor', async () => {
    const c = await start();
    await createTopic(c, 'manual', 1);
    const cases: Array<[Growth['assignments'], string]> = [
      [[], 'Attempted to add 2 additional partition(s), but only 0 assignment(s) were specified.'],
      [[{ brokerIds: [1] }], 'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.'],
      [[{ brokerIds: [1] }, { brokerIds: [2] }], 'The manual partition assignment includes broker 2, but no such broker is registered.'],
      [[{ brokerIds: [1] }, { brokerIds: [] }], 'The manual partition assignment includes an empty replica list.'],
      [[{ brokerIds: [1, 1] }, { brokerIds: [1] }], 'The manual partition assignment includes the broker 1 more than once.'],
    ];
    for (const [assignments, message] of cases) {
      const [res] = await grow(c, [{ name: 'manual', count: 3, assignments }]);
      expect(res, JSON.stringify(assignments)).toEqual({ name: 'manual', errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: message });
    }
    expect(await partitionCount(c, 'manual')).toBe(1);
    const [ok] = await grow(c, [{ name: 'manual', count: 3, assignments: [{ brokerIds: [1] }, { brokerIds: [1] }] }]);
    expect(ok.errorCode).toBe(ErrorCode.NONE);
    expect(await partitionCount(c, 'manual')).toBe(3);
  });

  it('validateOnly runs every check and adds nothing', async () => {
    const c = await start();
    await createTopic(c, 'dry', 1);
    expect(await grow(c, [{ name: 'dry', count: 4 }], { validateOnly: true })).toEqual([{ name: 'dry', errorCode: ErrorCode.NONE, errorMessage: null }]);
    expect(await partitionCount(c, 'dry')).toBe(1);
    expect(existsSync(path.join(tb!.dataDir, 'dry-1'))).toBe(false);
    const [bad] = await grow(c, [{ name: 'dry', count: 1 }], { validateOnly: true });
    expect(bad.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
  });

  it('answers a topic named twice once with INVALID_REQUEST and grows the others', async () => {
    const c = await start();
    await createTopic(c, 'twice', 1);
    await createTopic(c, 'once', 1);
    const results = await grow(c, [{ name: 'twice', count: 2 }, { name: 'once', count: 2 }, { name: 'twice', count: 3 }]);
    expect(results).toEqual([
      { name: 'twice', errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic name.' },
      { name: 'once', errorCode: ErrorCode.NONE, errorMessage: null },
    ]);
    expect(await partitionCount(c, 'twice')).toBe(1);
    expect(await partitionCount(c, 'once')).toBe(2);
  });

  it('counts new partitions against max.broker.partitions, across the topics of one request', async () => {
    const c = await start({ maxBrokerPartitions: 6 });
    await createTopic(c, 'a', 2);
    await createTopic(c, 'b', 2);
    const results = await grow(c, [{ name: 'a', count: 3 }, { name: 'b', count: 4 }]);
    expect(results[0]).toEqual({ name: 'a', errorCode: ErrorCode.NONE, errorMessage: null });
    expect(results[1]).toEqual({
      name: 'b',
      errorCode: ErrorCode.INVALID_PARTITIONS,
      errorMessage: "Adding 2 partition(s) would exceed the broker's partition limit: max.broker.partitions is 6 and 5 partition(s) exist.",
    });
    const [tooMany] = await grow(c, [{ name: 'b', count: 100_001 }]);
    expect(tooMany.errorCode).toBe(ErrorCode.INVALID_PARTITIONS);
    // The coordinators' topic before its first use does not exist yet: unknown, like any topic.
    const [internal] = await grow(c, [{ name: '__consumer_offsets', count: 60 }]);
    expect(internal.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  });

  it('refuses to grow __consumer_offsets (a deliberate difference: its count places every group)', async () => {
    const c = await start({ offsetsTopicNumPartitions: 2 });
    const fc = await c.send(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0 });
    expect(fc.errorCode).toBe(ErrorCode.NONE);
    const before = await partitionCount(c, '__consumer_offsets');
    const [res] = await grow(c, [{ name: '__consumer_offsets', count: before + 1 }]);
    expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(res.errorMessage).toContain('__consumer_offsets');
    expect(await partitionCount(c, '__consumer_offsets')).toBe(before);
  });

  it('a growth while the topic is still creating its logs waits for them; a deletion then stops both and leaves no directory', async () => {
    const c = await start();
    const other = await TestClient.connect(tb!.port);
    try {
      let createdDone = false;
      const created = c
        .send(ApiKey.CreateTopics, 4, { topics: [{ name: 'race', numPartitions: 4000, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000 })
        .finally(() => (createdDone = true));
      for (let i = 0; i < 400 && (await other.send(ApiKey.Metadata, 9, { topics: [{ name: 'race' }], allowAutoTopicCreation: false })).topics[0].errorCode !== ErrorCode.NONE; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const grown = grow(other, [{ name: 'race', count: 4100 }]);
      const third = await TestClient.connect(tb!.port);
      try {
        for (let i = 0; i < 400 && (await partitionCount(third, 'race')) !== 4100; i++) await new Promise((resolve) => setTimeout(resolve, 5));
        // Both are still creating logs: the deletion has to stop the creation and the growth queued behind it.
        expect(createdDone).toBe(false);
        const deleted = await third.send(ApiKey.DeleteTopics, 4, { topicNames: ['race'], timeoutMs: 5000 });
        expect(deleted.responses[0].errorCode).toBe(ErrorCode.NONE);
      } finally {
        third.close();
      }
      expect((await created).topics[0].errorCode).toBe(ErrorCode.NONE);
      expect((await grown)[0].errorCode).toBe(ErrorCode.NONE);
      expect(readdirSync(tb!.dataDir).filter((n) => n.startsWith('race-'))).toEqual([]);
    } finally {
      other.close();
    }
  });

  it('a growth of a topic whose creation is still running answers once the new partitions have logs', async () => {
    const c = await start();
    const other = await TestClient.connect(tb!.port);
    try {
      let createdDone = false;
      const created = c
        .send(ApiKey.CreateTopics, 4, { topics: [{ name: 'busy', numPartitions: 4000, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000 })
        .finally(() => (createdDone = true));
      for (let i = 0; i < 400 && (await other.send(ApiKey.Metadata, 9, { topics: [{ name: 'busy' }], allowAutoTopicCreation: false })).topics[0].errorCode !== ErrorCode.NONE; i++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(createdDone).toBe(false);
      const [res] = await grow(other, [{ name: 'busy', count: 4010 }]);
      expect(res.errorCode).toBe(ErrorCode.NONE);
      expect(await produceTo(other, 'busy', 4009, 'last')).toMatchObject({ errorCode: ErrorCode.NONE, baseOffset: 0n });
      expect((await created).topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(readdirSync(tb!.dataDir).filter((n) => n.startsWith('busy-'))).toHaveLength(4010);
    } finally {
      other.close();
    }
  });
});
