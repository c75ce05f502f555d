import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
const extra: TestClient[] = [];

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port, 'quota-test');
});
afterEach(async () => {
  client.close();
  for (const c of extra.splice(0)) c.close();
  await tb.stop();
});

type Entity = Array<{ entityType: string; entityName: string | null }>;

function alter(entries: Array<{ entity: Entity; ops: Array<{ key: string; value?: number; remove?: boolean }> }>, validateOnly = false, c = client) {
  return c.send(ApiKey.AlterClientQuotas, 1, {
    entries: entries.map((e) => ({ entity: e.entity, ops: e.ops.map((o) => ({ key: o.key, value: o.value ?? 0, remove: o.remove ?? false })) })),
    validateOnly,
  });
}

function describeQuotas(components: Array<{ entityType: string; matchType: number; match: string | null }>, strict = false, c = client) {
  return c.send(ApiKey.DescribeClientQuotas, 1, { components, strict });
}

const clientIdEntity = (name: string | null): Entity => [{ entityType: 'client-id', entityName: name }];

describe('AlterClientQuotas validation', () => {
  it('rejects bad entities and keys per entry with INVALID_REQUEST and Kafka\'s messages, applying the valid ones', async () => {
    const res = await alter([
      { entity: [], ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: [{ entityType: 'group', entityName: 'g' }], ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: [{ entityType: 'ip', entityName: '10.0.0.1' }, { entityType: 'user', entityName: 'u' }], ops: [{ key: 'connection_creation_rate', value: 1 }] },
      { entity: clientIdEntity('a'), ops: [{ key: 'connection_creation_rate', value: 1 }] },
      { entity: clientIdEntity('b'), ops: [{ key: 'producer_byte_rate', value: 0 }] },
      { entity: clientIdEntity('c'), ops: [{ key: 'producer_byte_rate', value: 1.5 }] },
      { entity: clientIdEntity('d'), ops: [{ key: 'producer_byte_rate', value: 1 }, { key: 'producer_byte_rate', value: 2 }] },
      { entity: clientIdEntity(''), ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: [{ entityType: 'ip', entityName: 'not an ip' }], ops: [{ key: 'connection_creation_rate', value: 1 }] },
      { entity: clientIdEntity('ok'), ops: [{ key: 'producer_byte_rate', value: 1000 }, { key: 'request_percentage', value: 12.5 }] },
    ]);
    const codes = res.entries.map((e: any) => e.errorCode);
    expect(codes).toEqual([...Array(9).fill(ErrorCode.INVALID_REQUEST), ErrorCode.NONE]);
    const messages = res.entries.map((e: any) => e.errorMessage);
    expect(messages[0]).toBe('Invalid empty client quota entity');
    expect(messages[1]).toBe('Unhandled client quota entity type: group');
    expect(messages[2]).toContain('IP entity should not be combined');
    expect(messages[3]).toBe('Invalid configuration key connection_creation_rate');
    expect(messages[4]).toBe('Quota producer_byte_rate must be greater than 0');
    expect(messages[5]).toBe('producer_byte_rate cannot be a fractional value.');
    expect(messages[6]).toContain('Duplicate quota key producer_byte_rate');
    expect(messages[7]).toBe('Empty client-id not supported');
    expect(messages[8]).toBe('not an ip is not a valid IP or resolvable host.');
    const described = await describeQuotas([]);
    expect(described.errorCode).toBe(ErrorCode.NONE);
    expect(described.entries).toEqual([{ entity: [{ entityType: 'client-id', entityName: 'ok' }], values: [{ key: 'producer_byte_rate', value: 1000 }, { key: 'request_percentage', value: 12.5 }] }]);
  });

  it('validateOnly checks without applying, and remove deletes a key (and an entity left empty)', async () => {
    expect((await alter([{ entity: clientIdEntity('x'), ops: [{ key: 'consumer_byte_rate', value: 500 }] }], true)).entries[0].errorCode).toBe(ErrorCode.NONE);
    expect((await describeQuotas([])).entries).toEqual([]);
    await alter([{ entity: clientIdEntity('x'), ops: [{ key: 'consumer_byte_rate', value: 500 }, { key: 'producer_byte_rate', value: 700 }] }]);
    await alter([{ entity: clientIdEntity('x'), ops: [{ key: 'consumer_byte_rate', remove: true }] }]);
    expect((await describeQuotas([])).entries[0].values).toEqual([{ key: 'producer_byte_rate', value: 700 }]);
    await alter([{ entity: clientIdEntity('x'), ops: [{ key: 'producer_byte_rate', remove: true }] }]);
    expect((await describeQuotas([])).entries).toEqual([]);
  });

  it('the same entity twice in one request is refused for both entries', async () => {
    const res = await alter([
      { entity: clientIdEntity('d'), ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: clientIdEntity('d'), ops: [{ key: 'producer_byte_rate', value: 2 }] },
    ]);
    expect(res.entries.map((e: any) => e.errorMessage)).toEqual(['Ignoring duplicate entity ClientQuotaEntity(entries={client-id=d})', 'Ignoring duplicate entity ClientQuotaEntity(entries={client-id=d})']);
    expect((await describeQuotas([])).entries).toEqual([]);
  });
});

describe('DescribeClientQuotas filters', () => {
  beforeEach(async () => {
    const res = await alter([
      { entity: [{ entityType: 'user', entityName: 'alice' }], ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: [{ entityType: 'user', entityName: 'alice' }, { entityType: 'client-id', entityName: null }], ops: [{ key: 'producer_byte_rate', value: 2 }] },
      { entity: [{ entityType: 'user', entityName: null }], ops: [{ key: 'producer_byte_rate', value: 3 }] },
      { entity: clientIdEntity('app'), ops: [{ key: 'producer_byte_rate', value: 4 }] },
      { entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 50 }] },
    ]);
    expect(res.entries.every((e: any) => e.errorCode === 0)).toBe(true);
  });

  const valuesOf = (res: any) => res.entries.map((e: any) => e.values[0].value).sort();

  it('EXACT, DEFAULT and SPECIFIED match as Kafka\'s ClientQuotasImage does, with and without strict', async () => {
    expect(valuesOf(await describeQuotas([{ entityType: 'user', matchType: 0, match: 'alice' }]))).toEqual([1, 2]);
    expect(valuesOf(await describeQuotas([{ entityType: 'user', matchType: 0, match: 'alice' }], true))).toEqual([1]);
    expect(valuesOf(await describeQuotas([{ entityType: 'user', matchType: 1, match: null }]))).toEqual([3]);
    expect(valuesOf(await describeQuotas([{ entityType: 'user', matchType: 2, match: null }]))).toEqual([1, 2, 3]);
    expect(valuesOf(await describeQuotas([{ entityType: 'client-id', matchType: 2, match: null }], true))).toEqual([4]);
    expect(valuesOf(await describeQuotas([{ entityType: 'ip', matchType: 2, match: null }]))).toEqual([50]);
    expect((await describeQuotas([])).entries).toHaveLength(5);
  });

  it('answers a bad filter with a top-level error and null entries', async () => {
    const cases: Array<[Array<{ entityType: string; matchType: number; match: string | null }>, number]> = [
      [[{ entityType: 'user', matchType: 0, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 1, match: 'x' }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 2, match: 'x' }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 7, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 1, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'ip', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: '', matchType: 2, match: null }], ErrorCode.INVALID_REQUEST],
      [[{ entityType: 'group', matchType: 2, match: null }], ErrorCode.UNSUPPORTED_VERSION],
    ];
    for (const [components, code] of cases) {
      const res = await describeQuotas(components);
      expect(res.errorCode, JSON.stringify(components)).toBe(code);
      expect(res.entries).toBeNull();
      expect(res.errorMessage).toBeTruthy();
    }
  });
});

describe('client quotas are durable', () => {
  it('quotas set before a restart are described and enforced after it', async () => {
    await alter([{ entity: clientIdEntity('quota-test'), ops: [{ key: 'producer_byte_rate', value: 1000 }] }]);
    client.close();
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir: tb.dataDir });
    client = await TestClient.connect(tb.port, 'quota-test');
    expect((await describeQuotas([])).entries).toEqual([{ entity: [{ entityType: 'client-id', entityName: 'quota-test' }], values: [{ key: 'producer_byte_rate', value: 1000 }] }]);
    await createTopic('t');
    const res = await produce('t', 20_000);
    expect(res.throttleTimeMs).toBeGreaterThan(0);
  });

  it('an unreadable quotas file is renamed aside and the broker starts with no quotas', async () => {
    const dataDir = makeTempDir();
    writeFileSync(path.join(dataDir, 'client-quotas.json'), '{"version": 1, "quotas": [ {"entity": [["client-id", "a"]], "values": {"producer_byte_rate": -5}} ]}');
    client.close();
    await tb.stop();
    tb = await startTestBroker({ dataDir });
    client = await TestClient.connect(tb.port, 'quota-test');
    expect((await describeQuotas([])).entries).toEqual([]);
    expect(existsSync(path.join(dataDir, 'client-quotas.json'))).toBe(false);
    expect(readdirSync(dataDir).some((f) => f.startsWith('client-quotas.json.corrupt-'))).toBe(true);
  });
});

async function createTopic(name: string) {
  const res = await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
  expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
}

function produce(topic: string, valueBytes: number, c = client, acks = 1) {
  const records = buildRecordBatch({ records: [{ key: 'k', value: 'x'.repeat(valueBytes) }] });
  return c.send(ApiKey.Produce, 9, { acks, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: 0, records }] }] });
}

function fetch(topic: string, c = client, sessionEpoch = -1) {
  return c.send(ApiKey.Fetch, 12, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 10 * 1024 * 1024,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch,
    topics: [{ topic, topicId: Buffer.alloc(16), partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1024 * 1024, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
    forgottenTopicsData: [],
    rackId: '',
  });
}

describe('throttling (KIP-219)', () => {
  it('without quotas every response has throttle_time_ms 0', async () => {
    await createTopic('t');
    expect((await produce('t', 50_000)).throttleTimeMs).toBe(0);
    expect((await fetch('t')).throttleTimeMs).toBe(0);
  });

  it('a produce over producer_byte_rate is answered at once with throttle_time_ms, then the channel is muted that long', async () => {
    await createTopic('t');
    // 1000 B/s × 10 s of assumed history: a 20 kB request is about 10 s over; keep it short with a big quota.
    await alter([{ entity: clientIdEntity('quota-test'), ops: [{ key: 'producer_byte_rate', value: 10_000 }] }]);
    const first = await produce('t', 120_000);
    expect(first.responses[0].partitionResponses[0].errorCode).toBe(ErrorCode.NONE);
    // (120 kB / 10 s − 10 kB/s) / 10 kB/s × 10 s ≈ 2 s
    expect(first.throttleTimeMs).toBeGreaterThan(1500);
    expect(first.throttleTimeMs).toBeLessThan(2500);
    const sentAt = Date.now();
    const next = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(first.throttleTimeMs - 50);
    expect(next.errorCode).toBe(ErrorCode.NONE);
    // Another client id has no quota and is not slowed down.
    const other = await TestClient.connect(tb.port, 'other');
    extra.push(other);
    expect((await produce('t', 120_000, other)).throttleTimeMs).toBe(0);
  });

  it('a fetch over consumer_byte_rate gets an empty response with throttle_time_ms and its bytes are not charged', async () => {
    await createTopic('t');
    await produce('t', 100_000);
    await alter([{ entity: clientIdEntity('quota-test'), ops: [{ key: 'consumer_byte_rate', value: 5_000 }] }]);
    // max bytes capped to 5 kB × 10 s = 50 kB: the one 100 kB batch still comes back (KIP-74), over quota → empty
    const res = await fetch('t');
    expect(res.throttleTimeMs).toBeGreaterThan(0);
    expect(res.responses).toEqual([]);
    expect(res.sessionId).toBe(0);
  });

  it('request_percentage throttles a client whose requests take more handler time than its share, capped at one window', async () => {
    await createTopic('t');
    await alter([{ entity: clientIdEntity('quota-test'), ops: [{ key: 'request_percentage', value: 0.01 }] }]);
    let throttle = 0;
    for (let i = 0; i < 50 && throttle === 0; i++) throttle = (await produce('t', 200_000)).throttleTimeMs;
    expect(throttle).toBeGreaterThan(0);
    expect(throttle).toBeLessThanOrEqual(1000);
  });
});
