// controller_mutation_rate (KIP-599): the token bucket (quota/controller-mutation-quota.ts) and CreateTopics,
// CreatePartitions and DeleteTopics over the wire, refused per topic from their strict versions and only throttled
// before them.
import { afterEach, describe, expect, it } from 'vitest';
import { ControllerMutationQuotaManager } from '../../src/quota/controller-mutation-quota.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { TestClient } from '../helpers/kafka-test-client.js';

describe('ControllerMutationQuotaManager', () => {
  const windows = { samples: 11, windowMs: 1000 };

  it('a strict quota admits while the bucket is not negative, then refuses; the balance refills at the quota rate', () => {
    const m = new ControllerMutationQuotaManager(windows);
    m.updateQuota(undefined, 'admin', 2);
    const t0 = 1_000_000;
    const q = m.newQuotaFor('ANONYMOUS', 'admin', true);
    // Burst: 2 × 11 × 1 s = 22 tokens.
    expect(q.tryRecord(20, t0)).toBe(true);
    expect(q.tryRecord(10, t0)).toBe(true); // 2 left: admitted, the balance goes to -8
    expect(q.tryRecord(1, t0)).toBe(false);
    expect(q.throttleTimeMs(t0)).toBe(4000); // 8 tokens at 2/s
    expect(q.throttleTimeMs(t0 + 1500)).toBe(2500);
    // Refilled after 4 s: admitted again.
    const later = m.newQuotaFor('ANONYMOUS', 'admin', true);
    expect(later.tryRecord(1, t0 + 4000)).toBe(true);
    expect(later.throttleTimeMs(t0 + 4000)).toBe(0);
  });

  it('a permissive quota never refuses but reports the throttle time; clients without a quota are unbounded', () => {
    const m = new ControllerMutationQuotaManager(windows);
    m.updateQuota(undefined, 'admin', 1);
    const q = m.newQuotaFor('ANONYMOUS', 'admin', false);
    const t0 = 5_000_000;
    expect(q.tryRecord(15, t0)).toBe(true);
    expect(q.throttleTimeMs(t0)).toBe(4000);
    expect(q.tryRecord(1, t0)).toBe(true);
    expect(q.throttleTimeMs(t0)).toBe(5000);
    expect(m.newQuotaFor('ANONYMOUS', 'someone-else', true).bounded).toBe(false);
  });
});

describe('controller_mutation_rate over the wire', () => {
  let tb: TestBroker | undefined;
  const clients: TestClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await tb?.stop();
    tb = undefined;
  });

  async function setup(rate: number): Promise<TestClient> {
    tb = await startTestBroker({});
    const admin = await TestClient.connect(tb.port, 'admin');
    clients.push(admin);
    const res = await admin.send(ApiKey.AlterClientQuotas, 1, {
      entries: [{ entity: [{ entityType: 'client-id', entityName: 'mutator' }], ops: [{ key: 'controller_mutation_rate', value: rate, remove: false }] }],
      validateOnly: false,
    });
    expect(res.entries[0].errorCode).toBe(0);
    const described = await admin.send(ApiKey.DescribeClientQuotas, 1, { components: [{ entityType: 'client-id', matchType: 0, match: 'mutator' }], strict: false });
    expect(described.entries[0].values).toEqual([{ key: 'controller_mutation_rate', value: rate }]);
    const c = await TestClient.connect(tb.port, 'mutator');
    clients.push(c);
    return c;
  }

  /** The topic's partition count from Metadata, undefined when it does not exist. */
  async function partitionsOf(name: string): Promise<number | undefined> {
    const c = await TestClient.connect(tb!.port, 'observer');
    clients.push(c);
    const md = await c.send(ApiKey.Metadata, 12, { topics: [{ topicId: Buffer.alloc(16), name }], allowAutoTopicCreation: false });
    const t = md.topics[0];
    return t.errorCode === ErrorCode.NONE ? t.partitions.length : undefined;
  }

  /**
   * Another connection of the client: a throttled response mutes its own connection (KIP-219) while the quota is
   * per client id, so each request after a throttle goes out on a fresh one, before the bucket refills.
   */
  async function mutator(): Promise<TestClient> {
    const c = await TestClient.connect(tb!.port, 'mutator');
    clients.push(c);
    return c;
  }

  const topic = (name: string, numPartitions: number) => ({ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] });

  it('CreateTopics v7: topics are admitted until the bucket is negative, the next gets THROTTLING_QUOTA_EXCEEDED, with throttle_time_ms', async () => {
    const c = await setup(1); // burst 11 partitions
    const res = await c.send(ApiKey.CreateTopics, 7, { topics: [topic('q-a', 10), topic('q-b', 5), topic('q-c', 1)], timeoutMs: 5000, validateOnly: false });
    expect(res.topics.map((t: any) => [t.name, t.errorCode])).toEqual([
      ['q-a', ErrorCode.NONE],
      ['q-b', ErrorCode.NONE],
      ['q-c', ErrorCode.THROTTLING_QUOTA_EXCEEDED],
    ]);
    expect(res.topics[2].errorMessage).toBe('The throttling quota has been exceeded.');
    // 4 tokens short at 1 partition/s.
    expect(res.throttleTimeMs).toBeGreaterThan(3000);
    expect(res.throttleTimeMs).toBeLessThanOrEqual(4000);
    expect(await partitionsOf('q-c')).toBeUndefined();
    // Another client id has no quota: not throttled.
    const other = await TestClient.connect(tb!.port, 'other');
    clients.push(other);
    const free = await other.send(ApiKey.CreateTopics, 7, { topics: [topic('q-free', 50)], timeoutMs: 5000, validateOnly: false });
    expect(free.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(free.throttleTimeMs).toBe(0);
  });

  it('CreateTopics v5 (before strict) creates the topic and is only throttled; a topic that fails a check draws nothing', async () => {
    const c = await setup(1);
    const first = await c.send(ApiKey.CreateTopics, 5, { topics: [topic('old-a', 12)], timeoutMs: 5000, validateOnly: false });
    expect(first.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(first.throttleTimeMs).toBeGreaterThan(0);
    const second = await (await mutator()).send(ApiKey.CreateTopics, 5, { topics: [topic('old-b', 1)], timeoutMs: 5000, validateOnly: false });
    expect(second.topics[0].errorCode).toBe(ErrorCode.NONE);
    expect(await partitionsOf('old-b')).toBe(1);
    // validateOnly and a failing topic (already exists) are not throttled per topic, even at v7.
    const dup = await (await mutator()).send(ApiKey.CreateTopics, 7, { topics: [topic('old-a', 1)], timeoutMs: 5000, validateOnly: false });
    expect(dup.topics[0].errorCode).toBe(ErrorCode.TOPIC_ALREADY_EXISTS);
    const validate = await (await mutator()).send(ApiKey.CreateTopics, 7, { topics: [topic('old-c', 1)], timeoutMs: 5000, validateOnly: true });
    expect(validate.topics[0].errorCode).toBe(ErrorCode.NONE);
  });

  it('DeleteTopics v6 and CreatePartitions v3 answer THROTTLING_QUOTA_EXCEEDED once the bucket is exhausted; the topic is kept', async () => {
    const c = await setup(1);
    const created = await c.send(ApiKey.CreateTopics, 7, { topics: [topic('d-a', 11), topic('d-b', 5)], timeoutMs: 5000, validateOnly: false });
    expect(created.topics.map((t: any) => t.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE]); // balance now -5: 5 s to refill
    const del = await (await mutator()).send(ApiKey.DeleteTopics, 6, { topics: [{ name: 'd-b', topicId: Buffer.alloc(16) }], timeoutMs: 5000 });
    expect(del.responses[0]).toMatchObject({ name: 'd-b', errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, errorMessage: 'The throttling quota has been exceeded.' });
    expect(del.throttleTimeMs).toBeGreaterThan(0);
    expect(await partitionsOf('d-b')).toBe(5);
    const grow = await (await mutator()).send(ApiKey.CreatePartitions, 3, { topics: [{ name: 'd-b', count: 6, assignments: null }], timeoutMs: 5000, validateOnly: false });
    expect(grow.results[0]).toMatchObject({ name: 'd-b', errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED });
    expect(grow.throttleTimeMs).toBeGreaterThan(0);
    expect(await partitionsOf('d-b')).toBe(5);
    // DeleteTopics v4 (before strict) deletes and is throttled.
    const oldDelete = await (await mutator()).send(ApiKey.DeleteTopics, 4, { topicNames: ['d-b'], timeoutMs: 5000 });
    expect(oldDelete.responses[0].errorCode).toBe(ErrorCode.NONE);
    expect(oldDelete.throttleTimeMs).toBeGreaterThan(0);
    expect(await partitionsOf('d-b')).toBeUndefined();
  });
});
