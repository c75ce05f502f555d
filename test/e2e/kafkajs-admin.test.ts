/**
 * kafkajs 2.2.4 admin client against an in-process broker: CreateTopics (v3), DeleteTopics (v1), Metadata (v6)
 * and ListOffsets (v3) as kafkajs sends them, including the error codes it maps per topic.
 */
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorTypes, kafkaClient, rejection, startInProcessBroker, type InProcessBroker } from './support/in-process.js';

let env: InProcessBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

beforeAll(async () => {
  env = await startInProcessBroker();
  // Few retries: several cases expect a non-retriable or retriable error to surface quickly.
  kafka = kafkaClient(env.bootstrap, 'e2e-kafkajs-admin', { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await admin?.disconnect();
  await env?.close();
});

describe('kafkajs admin: createTopics', () => {
  test('creates a 3-partition topic whose metadata names this broker as leader, replica and ISR', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-created', numPartitions: 3 }] })).toBe(true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['adm-created'] });
    expect(topics).toHaveLength(1);
    const partitions = [...(topics[0]?.partitions ?? [])].sort((a, b) => a.partitionId - b.partitionId);
    expect(partitions.map((p) => p.partitionId)).toEqual([0, 1, 2]);
    for (const p of partitions) {
      expect(p.partitionErrorCode).toBe(0);
      expect(p.leader).toBe(1);
      expect(p.replicas).toEqual([1]);
      expect(p.isr).toEqual([1]);
    }
    expect(await admin.listTopics()).toContain('adm-created');
  });

  test('validateOnly=true succeeds without creating the topic', async () => {
    const created = await admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [{ topic: 'adm-validate-only', numPartitions: 2 }],
    });
    expect(created).toBe(true);
    expect(await admin.listTopics()).not.toContain('adm-validate-only');
  });

  test('validateOnly=true still reports an invalid request (INVALID_PARTITIONS)', async () => {
    const error = await rejection(() =>
      admin.createTopics({ validateOnly: true, waitForLeaders: false, topics: [{ topic: 'adm-validate-bad', numPartitions: 0 }] }),
    );
    expect(errorTypes(error)).toContain('INVALID_PARTITIONS');
  });

  test('creating an existing topic answers TOPIC_ALREADY_EXISTS (kafkajs resolves false) and keeps the original', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-dup', numPartitions: 2 }] })).toBe(true);
    expect(await admin.createTopics({ topics: [{ topic: 'adm-dup', numPartitions: 5 }] })).toBe(false);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['adm-dup'] });
    expect(topics[0]?.partitions).toHaveLength(2);
  });

  test.each([
    ['a space', 'bad name'],
    ['a slash', 'bad/name'],
    ['"."', '.'],
    ['".."', '..'],
    ['250 characters', 'x'.repeat(250)],
  ])('a topic name with %s is rejected with INVALID_TOPIC_EXCEPTION', async (_label, name) => {
    const error = await rejection(() => admin.createTopics({ waitForLeaders: false, topics: [{ topic: name, numPartitions: 1 }] }));
    expect(errorTypes(error)).toContain('INVALID_TOPIC_EXCEPTION');
    expect(await admin.listTopics()).not.toContain(name);
  });

  test('numPartitions 0 is rejected with INVALID_PARTITIONS', async () => {
    const error = await rejection(() => admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'adm-zero', numPartitions: 0 }] }));
    expect(errorTypes(error)).toContain('INVALID_PARTITIONS');
    expect(await admin.listTopics()).not.toContain('adm-zero');
  });

  test('replicationFactor 3 on a single broker is rejected with INVALID_REPLICATION_FACTOR', async () => {
    const error = await rejection(() =>
      admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'adm-rf3', numPartitions: 1, replicationFactor: 3 }] }),
    );
    expect(errorTypes(error)).toContain('INVALID_REPLICATION_FACTOR');
    expect(await admin.listTopics()).not.toContain('adm-rf3');
  });

  test('omitted numPartitions/replicationFactor (-1) take the broker defaults (num.partitions = 1)', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-defaults' }] })).toBe(true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['adm-defaults'] });
    expect(topics[0]?.partitions).toHaveLength(1);
    expect(topics[0]?.partitions[0]?.replicas).toEqual([1]);
  });

  test('in one request, the valid topic is created and the invalid one gets its own error', async () => {
    const error = await rejection(() =>
      admin.createTopics({
        waitForLeaders: false,
        topics: [
          { topic: 'adm-mixed-ok', numPartitions: 2 },
          { topic: 'adm-mixed-bad', numPartitions: 1, replicationFactor: 2 },
        ],
      }),
    );
    expect(errorTypes(error)).toContain('INVALID_REPLICATION_FACTOR');
    const listed = await admin.listTopics();
    expect(listed).toContain('adm-mixed-ok');
    expect(listed).not.toContain('adm-mixed-bad');
  });
});

describe('kafkajs admin: manual replica assignment and reserved names (issue 7)', () => {
  test('createTopics with replicaAssignment [{ partition: 0, replicas: [1] }] (this broker) is accepted', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-manual', replicaAssignment: [{ partition: 0, replicas: [1] }] }] })).toBe(true);
    const { topics } = await admin.fetchTopicMetadata({ topics: ['adm-manual'] });
    expect(topics[0]?.partitions.map((p) => [p.partitionId, p.replicas])).toEqual([[0, [1]]]);
  });

  test('replicas [0, 1] (kafkajs suite\'s case) names an unregistered broker: INVALID_REPLICA_ASSIGNMENT, nothing created', async () => {
    const error = await rejection(() =>
      admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'adm-manual-bad', replicaAssignment: [{ partition: 0, replicas: [0, 1] }] }] }),
    );
    expect(errorTypes(error)).toContain('INVALID_REPLICA_ASSIGNMENT');
    const inner = (error as { errors?: Array<{ message?: string }> }).errors?.[0];
    expect(inner?.message).toBe('Replica assignment is invalid');
    expect(await admin.listTopics()).not.toContain('adm-manual-bad');
  });

  test('fetchTopicMetadata for __consumer_offsets fails with UNKNOWN_TOPIC_OR_PARTITION and creates nothing', async () => {
    const error = await rejection(() => admin.fetchTopicMetadata({ topics: ['__consumer_offsets'] }));
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await admin.listTopics()).not.toContain('__consumer_offsets');
  });

  test('createTopics for __cluster_metadata is refused with INVALID_REQUEST', async () => {
    const error = await rejection(() => admin.createTopics({ waitForLeaders: false, topics: [{ topic: '__cluster_metadata' }] }));
    expect(errorTypes(error)).toContain('INVALID_REQUEST');
    expect(await admin.listTopics()).not.toContain('__cluster_metadata');
  });
});

describe('kafkajs admin: deleteTopics', () => {
  test('a deleted topic disappears from metadata, and recreating it starts again at offset 0', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-delete-me', numPartitions: 2 }] })).toBe(true);
    await producer.send({ topic: 'adm-delete-me', acks: -1, messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 0 }] });
    await admin.deleteTopics({ topics: ['adm-delete-me'] });
    expect(await admin.listTopics()).not.toContain('adm-delete-me');

    expect(await admin.createTopics({ topics: [{ topic: 'adm-delete-me', numPartitions: 1 }] })).toBe(true);
    const offsets = await admin.fetchTopicOffsets('adm-delete-me');
    expect(offsets.map((o) => [o.partition, Number(o.low), Number(o.high)])).toEqual([[0, 0, 0]]);
  });

  test('deleting a missing topic fails with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    const error = await rejection(() => admin.deleteTopics({ topics: ['adm-no-such-topic'] }));
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
  });
});

describe('kafkajs admin: metadata and offsets', () => {
  test('fetchTopicMetadata for a missing topic fails with UNKNOWN_TOPIC_OR_PARTITION (no auto-create from admin)', async () => {
    const error = await rejection(() => admin.fetchTopicMetadata({ topics: ['adm-missing'] }));
    expect(errorTypes(error)).toContain('UNKNOWN_TOPIC_OR_PARTITION');
    expect(await admin.listTopics()).not.toContain('adm-missing');
  });

  test('fetchTopicOffsets reports low 0 and high = records per partition', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-offsets', numPartitions: 3 }] })).toBe(true);
    const counts = [5, 0, 12];
    for (const [partition, count] of counts.entries()) {
      if (count === 0) continue;
      await producer.send({
        topic: 'adm-offsets',
        acks: -1,
        messages: Array.from({ length: count }, (_, i) => ({ value: `p${partition}-${i}`, partition })),
      });
    }
    const offsets = await admin.fetchTopicOffsets('adm-offsets');
    expect(offsets.sort((a, b) => a.partition - b.partition).map((o) => [o.partition, Number(o.low), Number(o.high), Number(o.offset)])).toEqual([
      [0, 0, 5, 5],
      [1, 0, 0, 0],
      [2, 0, 12, 12],
    ]);
  });

  test('fetchTopicOffsetsByTimestamp returns the first offset whose timestamp is >= the query', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-by-time', numPartitions: 1 }] })).toBe(true);
    const t0 = Date.now() - 60_000;
    // Three separate batches with increasing CreateTime timestamps: offsets 0-1 at t0, 2-3 at t0+1000, 4 at t0+2000.
    await producer.send({ topic: 'adm-by-time', acks: -1, messages: [0, 1].map((i) => ({ value: `a${i}`, partition: 0, timestamp: String(t0) })) });
    await producer.send({ topic: 'adm-by-time', acks: -1, messages: [2, 3].map((i) => ({ value: `b${i}`, partition: 0, timestamp: String(t0 + 1000) })) });
    await producer.send({ topic: 'adm-by-time', acks: -1, messages: [{ value: 'c4', partition: 0, timestamp: String(t0 + 2000) }] });

    const at = async (ts: number): Promise<number> => {
      const result = await admin.fetchTopicOffsetsByTimestamp('adm-by-time', ts);
      expect(result).toHaveLength(1);
      return Number(result[0]?.offset);
    };
    expect(await at(t0 - 10_000)).toBe(0);
    expect(await at(t0)).toBe(0);
    expect(await at(t0 + 1)).toBe(2);
    expect(await at(t0 + 1000)).toBe(2);
    expect(await at(t0 + 1500)).toBe(4);
    // After the last record Kafka answers -1; kafkajs then substitutes the high watermark.
    expect(await at(t0 + 5000)).toBe(5);
  });

  test('fetchTopicOffsetsByTimestamp on an empty partition returns offset 0 (= high watermark)', async () => {
    expect(await admin.createTopics({ topics: [{ topic: 'adm-by-time-empty', numPartitions: 1 }] })).toBe(true);
    const result = await admin.fetchTopicOffsetsByTimestamp('adm-by-time-empty', Date.now());
    expect(result.map((r) => [r.partition, Number(r.offset)])).toEqual([[0, 0]]);
  });
});
