// DescribeConfigs v0–4, AlterConfigs v0–2 and IncrementalAlterConfigs v0–1 over the wire (our codec), against the
// answers of a Kafka 3.9 KRaft broker (ConfigHelper, ConfigAdminManager, ConfigurationControlManager).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const TOPIC = 2;
const BROKER = 4;
const SET = 0;
const DELETE = 1;
const APPEND = 2;
const SUBTRACT = 3;

let tb: TestBroker;
let client: TestClient;

beforeAll(async () => {
  tb = await startTestBroker({ logSegmentBytes: 1048576 });
  client = await TestClient.connect(tb.port);
  const created = await client.send(ApiKey.CreateTopics, 5, {
    topics: [{ name: 'inc', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '60000' }] }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  expect(created.topics[0].errorCode).toBe(ErrorCode.NONE);
});

afterAll(async () => {
  client.close();
  await tb.stop();
});

function describeTopic(version: number, configurationKeys: string[] | null, extra: Record<string, unknown> = {}) {
  return client.send(ApiKey.DescribeConfigs, version, { resources: [{ resourceType: TOPIC, resourceName: 'inc', configurationKeys }], ...extra });
}

function incremental(resourceType: number, resourceName: string, configs: Array<{ name: string; configOperation: number; value: string | null }>, validateOnly = false) {
  return client.send(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly });
}

describe('DescribeConfigs', () => {
  it('v0 marks defaults with isDefault; v1+ give the source; a static option is STATIC_BROKER_CONFIG with its synonyms', async () => {
    const v0 = await describeTopic(0, ['retention.ms', 'segment.bytes']);
    expect(v0.results[0].configs).toMatchObject([
      { name: 'segment.bytes', value: '1048576', readOnly: false, isDefault: false, isSensitive: false },
      { name: 'retention.ms', value: '60000', readOnly: false, isDefault: false, isSensitive: false },
    ]);
    const defaults = await describeTopic(0, ['cleanup.policy']);
    expect(defaults.results[0].configs).toMatchObject([{ name: 'cleanup.policy', value: 'delete', isDefault: true }]);
    const v1 = await describeTopic(1, ['segment.bytes'], { includeSynonyms: true });
    expect(v1.results[0].configs[0]).toMatchObject({
      value: '1048576',
      configSource: 4,
      synonyms: [
        { name: 'log.segment.bytes', value: '1048576', source: 4 },
        { name: 'log.segment.bytes', value: '1073741824', source: 5 },
      ],
    });
  });

  it('v3+ carry configType and, when asked, documentation', async () => {
    const res = await describeTopic(4, ['cleanup.policy', 'retention.ms'], { includeSynonyms: false, includeDocumentation: true });
    const [retention, cleanup] = res.results[0].configs;
    expect(cleanup).toMatchObject({ name: 'cleanup.policy', configType: 7, synonyms: [] });
    expect(retention).toMatchObject({ name: 'retention.ms', configType: 5, configSource: 1 });
    expect(typeof cleanup.documentation).toBe('string');
    const noDocs = await describeTopic(3, ['retention.ms'], { includeDocumentation: false });
    expect(noDocs.results[0].configs[0].documentation).toBeNull();
  });

  it('another broker id and a non-numeric one are INVALID_REQUEST with Kafka\'s messages; "" lists only cluster-default dynamic configs', async () => {
    const res = await client.send(ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: BROKER, resourceName: '2', configurationKeys: null },
        { resourceType: BROKER, resourceName: 'x', configurationKeys: null },
        { resourceType: BROKER, resourceName: '', configurationKeys: null },
        { resourceType: TOPIC, resourceName: 'bad/name', configurationKeys: null },
      ],
    });
    expect(res.results.map((r: { errorCode: number; errorMessage: string | null }) => [r.errorCode, r.errorMessage])).toEqual([
      [ErrorCode.INVALID_REQUEST, 'Unexpected broker id, expected 1 or empty string, but received 2'],
      [ErrorCode.INVALID_REQUEST, 'Broker id must be an integer, but it is: x'],
      [ErrorCode.NONE, null],
      [ErrorCode.INVALID_TOPIC_EXCEPTION, "Topic name is invalid: 'bad/name' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"],
    ]);
    expect(res.results[2].configs).toEqual([]);
  });
});

describe('IncrementalAlterConfigs', () => {
  it('APPEND and SUBTRACT edit a LIST config starting from its default; DELETE restores the fallback', async () => {
    expect((await incremental(TOPIC, 'inc', [{ name: 'cleanup.policy', configOperation: APPEND, value: 'compact' }])).responses[0].errorCode).toBe(0);
    expect((await describeTopic(1, ['cleanup.policy'])).results[0].configs[0]).toMatchObject({ value: 'delete,compact', configSource: 1 });
    await incremental(TOPIC, 'inc', [{ name: 'cleanup.policy', configOperation: SUBTRACT, value: 'delete' }]);
    expect((await describeTopic(1, ['cleanup.policy'])).results[0].configs[0].value).toBe('compact');
    await incremental(TOPIC, 'inc', [{ name: 'cleanup.policy', configOperation: DELETE, value: null }, { name: 'retention.ms', configOperation: SET, value: '5000' }]);
    const configs = (await describeTopic(1, ['cleanup.policy', 'retention.ms'])).results[0].configs;
    expect(configs.map((c: { name: string; value: string; configSource: number }) => [c.name, c.value, c.configSource])).toEqual([
      ['retention.ms', '5000', 1],
      ['cleanup.policy', 'delete', 5],
    ]);
  });

  it('answers each failure with Kafka\'s code and message', async () => {
    const cases: Array<[number, string, Array<{ name: string; configOperation: number; value: string | null }>, number, string]> = [
      [TOPIC, 'inc', [{ name: 'retention.ms', configOperation: APPEND, value: '1' }], ErrorCode.INVALID_CONFIG, "Can't APPEND to key retention.ms because its type is not LIST."],
      [TOPIC, 'inc', [{ name: 'retention.ms', configOperation: SET, value: '-5' }], ErrorCode.INVALID_CONFIG, 'Invalid value -5 for configuration retention.ms: Value must be at least -1'],
      [TOPIC, 'inc', [{ name: 'cleanup.policy', configOperation: SET, value: 'bogus' }], ErrorCode.INVALID_CONFIG, 'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete'],
      [TOPIC, 'inc', [{ name: 'no.such', configOperation: SET, value: '1' }], ErrorCode.INVALID_CONFIG, 'Unknown topic config name: no.such'],
      [TOPIC, 'inc', [{ name: 'retention.ms', configOperation: SET, value: null }], ErrorCode.INVALID_REQUEST, 'Null value not supported for : retention.ms'],
      [TOPIC, 'inc', [{ name: 'retention.ms', configOperation: SET, value: '1' }, { name: 'retention.ms', configOperation: DELETE, value: null }], ErrorCode.INVALID_REQUEST, 'Error due to duplicate config keys'],
      [TOPIC, 'missing', [{ name: 'retention.ms', configOperation: SET, value: '1' }], ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "The topic 'missing' does not exist."],
      [TOPIC, '', [{ name: 'retention.ms', configOperation: SET, value: '1' }], ErrorCode.INVALID_REQUEST, 'Default topic resources are not allowed.'],
      [BROKER, '1', [{ name: 'log.retention.hours', configOperation: SET, value: '1' }], ErrorCode.INVALID_REQUEST, 'Cannot update these configs dynamically: Set(log.retention.hours)'],
      [BROKER, '1', [{ name: 'log.retention.ms', configOperation: SET, value: 'abc' }], ErrorCode.INVALID_REQUEST, 'Invalid value abc for configuration log.retention.ms: Not a number of type LONG'],
      [BROKER, '1', [{ name: 'message.max.bytes', configOperation: APPEND, value: '1' }], ErrorCode.INVALID_CONFIG, 'Config value append is not allowed for config key: message.max.bytes'],
      [BROKER, '2', [{ name: 'message.max.bytes', configOperation: SET, value: '1' }], ErrorCode.INVALID_REQUEST, 'Unexpected broker id, expected 1, but received 2'],
      [BROKER, 'b', [{ name: 'message.max.bytes', configOperation: SET, value: '1' }], ErrorCode.INVALID_REQUEST, 'Node id must be an integer, but it is: b'],
      [BROKER, '', [{ name: 'log.cleaner.min.compaction.lag.ms', configOperation: SET, value: '10' }, { name: 'log.cleaner.max.compaction.lag.ms', configOperation: SET, value: '5' }], ErrorCode.INVALID_REQUEST, 'Invalid dynamic configuration'],
    ];
    for (const [type, name, configs, code, message] of cases) {
      const res = await incremental(type, name, configs);
      expect([res.responses[0].errorCode, res.responses[0].errorMessage], `${name} ${JSON.stringify(configs)}`).toEqual([code, message]);
    }
    const dup = await client.send(ApiKey.IncrementalAlterConfigs, 0, {
      resources: [
        { resourceType: TOPIC, resourceName: 'inc', configs: [] },
        { resourceType: TOPIC, resourceName: 'inc', configs: [] },
      ],
      validateOnly: false,
    });
    expect(dup.responses.map((r: { errorMessage: string }) => r.errorMessage)).toEqual(['Each resource must appear at most once.', 'Each resource must appear at most once.']);
  });

  it('a cluster-default log.retention.ms becomes the retention.ms of topics without an override, below a per-broker value', async () => {
    await client.send(ApiKey.CreateTopics, 5, {
      topics: [{ name: 'inc-default', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    expect((await incremental(BROKER, '', [{ name: 'log.retention.ms', configOperation: SET, value: '3600000' }], true)).responses[0].errorCode).toBe(0);
    const describeRetention = async () =>
      (await client.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: TOPIC, resourceName: 'inc-default', configurationKeys: ['retention.ms'] }], includeSynonyms: true })).results[0].configs[0];
    expect((await describeRetention()).value).toBe('604800000'); // validateOnly changed nothing
    await incremental(BROKER, '', [{ name: 'log.retention.ms', configOperation: SET, value: '3600000' }]);
    expect(await describeRetention()).toMatchObject({
      value: '3600000',
      configSource: 3,
      synonyms: [{ name: 'log.retention.ms', value: '3600000', source: 3 }, { name: 'log.retention.hours', value: '168', source: 5 }],
    });
    await incremental(BROKER, '1', [{ name: 'log.retention.ms', configOperation: SET, value: '-7' }]);
    expect(await describeRetention()).toMatchObject({ value: '-1', configSource: 2 });
    const def = await client.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: BROKER, resourceName: '', configurationKeys: null }], includeSynonyms: true });
    expect(def.results[0].configs).toMatchObject([{ name: 'log.retention.ms', value: '3600000', readOnly: false, configSource: 3, synonyms: [{ name: 'log.retention.ms', value: '3600000', source: 3 }] }]);
    await incremental(BROKER, '1', [{ name: 'log.retention.ms', configOperation: DELETE, value: null }]);
    await incremental(BROKER, '', [{ name: 'log.retention.ms', configOperation: DELETE, value: null }]);
    expect(await describeRetention()).toMatchObject({ value: '604800000', configSource: 5, synonyms: [] });
  });

  it('a custom broker config is accepted and described as sensitive with type UNKNOWN', async () => {
    expect((await incremental(BROKER, '1', [{ name: 'my.custom.setting', configOperation: SET, value: 'secret' }])).responses[0].errorCode).toBe(0);
    const res = await client.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: ['my.custom.setting'] }], includeSynonyms: true });
    expect(res.results[0].configs).toMatchObject([{ name: 'my.custom.setting', value: null, isSensitive: true, readOnly: true, configType: 0, configSource: 2 }]);
  });
});

describe('AlterConfigs', () => {
  it.each([0, 1, 2])('v%i replaces a topic\'s set and answers in request order', async (version) => {
    const res = await client.send(ApiKey.AlterConfigs, version, {
      resources: [
        { resourceType: TOPIC, resourceName: 'inc', configs: [{ name: 'segment.ms', value: `${100000 + version}` }] },
        { resourceType: TOPIC, resourceName: 'missing', configs: [] },
      ],
      validateOnly: false,
    });
    expect(res.responses.map((r: { resourceName: string; errorCode: number }) => [r.resourceName, r.errorCode])).toEqual([
      ['inc', ErrorCode.NONE],
      ['missing', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
    ]);
    const configs = (await describeTopic(1, ['segment.ms', 'retention.ms'])).results[0].configs;
    expect(configs.map((c: { name: string; value: string; configSource: number }) => [c.name, c.value, c.configSource])).toEqual([
      ['segment.ms', `${100000 + version}`, 1],
      ['retention.ms', '604800000', 5],
    ]);
  });
});

describe('DescribeConfigs of the group.consumer.* options (KIP-848)', () => {
  it('a broker started with consumer-group options describes them as STATIC_BROKER_CONFIG, the rest as defaults, assignors as Kafka class names', async () => {
    const started = await startTestBroker({
      groupConsumerHeartbeatIntervalMs: 3000,
      groupConsumerMinHeartbeatIntervalMs: 1000,
      groupConsumerSessionTimeoutMs: 50000,
      groupConsumerMaxSize: 40,
      groupConsumerAssignors: ['range', 'uniform'],
    });
    const c = await TestClient.connect(started.port);
    try {
      const names = [
        'group.consumer.heartbeat.interval.ms',
        'group.consumer.min.heartbeat.interval.ms',
        'group.consumer.max.heartbeat.interval.ms',
        'group.consumer.session.timeout.ms',
        'group.consumer.min.session.timeout.ms',
        'group.consumer.max.session.timeout.ms',
        'group.consumer.max.size',
        'group.consumer.assignors',
      ];
      const res = await c.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: names }], includeSynonyms: false, includeDocumentation: false });
      expect(res.results[0].errorCode).toBe(ErrorCode.NONE);
      const byName = new Map(res.results[0].configs.map((e: any) => [e.name, [e.value, e.configSource, e.readOnly]]));
      expect(Object.fromEntries(byName)).toEqual({
        'group.consumer.heartbeat.interval.ms': ['3000', 4, true],
        'group.consumer.min.heartbeat.interval.ms': ['1000', 4, true],
        'group.consumer.max.heartbeat.interval.ms': ['15000', 5, true],
        'group.consumer.session.timeout.ms': ['50000', 4, true],
        'group.consumer.min.session.timeout.ms': ['45000', 5, true],
        'group.consumer.max.session.timeout.ms': ['60000', 5, true],
        'group.consumer.max.size': ['40', 4, true],
        'group.consumer.assignors': ['org.apache.kafka.coordinator.group.assignor.RangeAssignor,org.apache.kafka.coordinator.group.assignor.UniformAssignor', 4, true],
      });
    } finally {
      c.close();
      await started.stop();
    }
    // A broker with the defaults describes Kafka's default assignor list.
    const dflt = await client.send(ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: BROKER, resourceName: '1', configurationKeys: ['group.consumer.assignors'] }], includeSynonyms: false, includeDocumentation: false });
    expect(dflt.results[0].configs).toMatchObject([{ name: 'group.consumer.assignors', value: 'org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor', configSource: 5 }]);
  });
});
