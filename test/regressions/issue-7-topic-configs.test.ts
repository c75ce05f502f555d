// Issue 7: topic configs validated as Kafka 3.9 validates them (LogConfig's ConfigDef, ConfigDef.parseType, the
// validators' messages, the controller's order of checks), through real CreateTopics requests over a socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { logConfigFor, maxMessageBytesFor, topicConfigNames } from '../../src/metadata/topic-config.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
let topicSeq = 0;

beforeAll(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterAll(async () => {
  client?.close();
  await tb?.stop();
});

interface Result {
  name: string;
  errorCode: number;
  errorMessage: string | null;
  configs: Array<{ name: string; value: string }> | null;
}

async function createWith(configs: Array<[string, string | null]>, extra: Record<string, unknown> = {}): Promise<Result> {
  const name = `cfg-${++topicSeq}`;
  const res = await client.send(ApiKey.CreateTopics, 7, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: configs.map(([n, value]) => ({ name: n, value })), ...extra }],
    timeoutMs: 5000,
    validateOnly: false,
  });
  return res.topics[0] as Result;
}

const RANGE = (v: string, name: string, reason: string) => `Invalid value ${v} for configuration ${name}: ${reason}`;
const LONG = 'Not a number of type LONG';
const INT = 'Not a number of type INT';
const BOOL = 'Expected value to be either true or false';
const THROTTLED = (name: string) =>
  `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`;

/** [config, a valid value, an invalid value, the value Kafka's message shows, the reason]. One row per 3.9 config. */
const CASES: Array<[string, string, string, string, string]> = [
  ['segment.bytes', '1048576', '13', '13', 'Value must be at least 14'],
  ['segment.ms', ' 60000 ', '0', '0', 'Value must be at least 1'],
  ['segment.jitter.ms', '0', '-1', '-1', 'Value must be at least 0'],
  ['segment.index.bytes', '4096', '2147483648', '2147483648', INT],
  ['flush.messages', '+10', '0', '0', 'Value must be at least 1'],
  ['flush.ms', '1000', '1s', '1s', LONG],
  ['retention.bytes', '-5', 'ten', 'ten', LONG],
  ['retention.ms', '-1', '-2', '-2', 'Value must be at least -1'],
  ['max.message.bytes', '2000000', '-1', '-1', 'Value must be at least 0'],
  ['index.interval.bytes', '4096', '4k', '4k', INT],
  ['delete.retention.ms', '86400000', '-1', '-1', 'Value must be at least 0'],
  ['min.compaction.lag.ms', '0', '-1', '-1', 'Value must be at least 0'],
  ['max.compaction.lag.ms', '1', '0', '0', 'Value must be at least 1'],
  ['file.delete.delay.ms', '60000', '-1', '-1', 'Value must be at least 0'],
  ['min.cleanable.dirty.ratio', '0.5', '1.5', '1.5', 'Value must be no more than 1'],
  ['cleanup.policy', 'compact, delete', 'Delete', 'Delete', 'String must be one of: compact, delete'],
  ['unclean.leader.election.enable', 'TRUE', 'yes', 'yes', BOOL],
  ['min.insync.replicas', '1', '0', '0', 'Value must be at least 1'],
  ['compression.type', 'lz4', 'LZ4', 'LZ4', 'String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer'],
  ['compression.gzip.level', '-1', '0', '0', 'Value must be between 1 and 9 or equal to -1'],
  ['compression.lz4.level', '17', '18', '18', 'Value must be no more than 17'],
  ['compression.zstd.level', '-131072', '23', '23', 'Value must be no more than 22'],
  ['preallocate', ' True ', '1', '1', BOOL],
  ['message.format.version', '2.8.1', '4.0', '4.0', 'Version 4.0 is not a valid version'],
  ['message.timestamp.type', 'LogAppendTime', 'logappendtime', 'logappendtime', 'String must be one of: CreateTime, LogAppendTime'],
  ['message.timestamp.difference.max.ms', '1000', '-1', '-1', 'Value must be at least 0'],
  ['message.timestamp.before.max.ms', '1000', '-1', '-1', 'Value must be at least 0'],
  ['message.timestamp.after.max.ms', '3600000', '-1', '-1', 'Value must be at least 0'],
  ['leader.replication.throttled.replicas', '0:1, 1:1', '0-1', '[0-1]', THROTTLED('leader.replication.throttled.replicas')],
  ['follower.replication.throttled.replicas', '*', 'a:b,0:1', '[a:b, 0:1]', THROTTLED('follower.replication.throttled.replicas')],
  ['message.downconversion.enable', 'false', 'no', 'no', BOOL],
  ['remote.storage.enable', 'false', 'maybe', 'maybe', BOOL],
  ['local.retention.ms', '-2', '-3', '-3', 'Value must be at least -2'],
  ['local.retention.bytes', '-2', '-3', '-3', 'Value must be at least -2'],
  ['remote.log.copy.disable', 'true', 'sometimes', 'sometimes', BOOL],
  ['remote.log.delete.on.disable', 'FALSE', '0', '0', BOOL],
];

describe('issue 7: every Kafka 3.9 topic config', () => {
  it('the table covers every config name Eddy accepts', () => {
    expect(CASES.map((c) => c[0]).sort()).toEqual(topicConfigNames().sort());
    expect(topicConfigNames()).toHaveLength(36);
  });

  for (const [config, valid, bad, shown, reason] of CASES) {
    it(`${config}: "${valid}" is accepted and stored as sent; "${bad}" is INVALID_CONFIG with Kafka's message`, async () => {
      const ok = await createWith([[config, valid]]);
      expect([ok.errorCode, ok.errorMessage]).toEqual([ErrorCode.NONE, null]);
      expect(ok.configs).toEqual([expect.objectContaining({ name: config, value: valid })]);
      const refused = await createWith([[config, bad]]);
      expect([refused.errorCode, refused.errorMessage]).toEqual([ErrorCode.INVALID_CONFIG, RANGE(shown, config, reason)]);
    });
  }
});

describe('issue 7: Kafka parsing rules', () => {
  it('compression.type takes each of Kafka\'s six values, case-sensitively, trimmed', async () => {
    for (const codec of ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer', ' gzip\t']) {
      expect((await createWith([['compression.type', codec]])).errorCode, codec).toBe(ErrorCode.NONE);
    }
    const none = await createWith([['compression.type', 'none']]);
    expect(none.errorMessage).toBe(RANGE('none', 'compression.type', 'String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer'));
  });

  it('the codec levels of KIP-390 take their whole ranges, and gzip also takes -1', async () => {
    for (const [config, value] of [['compression.gzip.level', '1'], ['compression.gzip.level', '9'], ['compression.lz4.level', '1'], ['compression.zstd.level', '22'], ['compression.zstd.level', '-7']]) {
      expect((await createWith([[config!, value!]])).errorCode, `${config}=${value}`).toBe(ErrorCode.NONE);
    }
    expect((await createWith([['compression.gzip.level', '10']])).errorMessage).toBe(RANGE('10', 'compression.gzip.level', 'Value must be between 1 and 9 or equal to -1'));
    expect((await createWith([['compression.zstd.level', '-131073']])).errorMessage).toBe(RANGE('-131073', 'compression.zstd.level', 'Value must be at least -131072'));
  });

  it('a value that does not parse is shown raw (untrimmed); one a validator refuses is shown parsed', async () => {
    expect((await createWith([['segment.ms', ' 1.5 ']])).errorMessage).toBe(RANGE(' 1.5 ', 'segment.ms', LONG));
    expect((await createWith([['segment.ms', ' +0 ']])).errorMessage).toBe(RANGE('0', 'segment.ms', 'Value must be at least 1'));
    // Doubles are shown as Java's Double.toString shows them.
    expect((await createWith([['min.cleanable.dirty.ratio', '2']])).errorMessage).toBe(RANGE('2.0', 'min.cleanable.dirty.ratio', 'Value must be no more than 1'));
    expect((await createWith([['min.cleanable.dirty.ratio', '-1e8']])).errorMessage).toBe(RANGE('-1.0E8', 'min.cleanable.dirty.ratio', 'Value must be at least 0'));
    expect((await createWith([['min.cleanable.dirty.ratio', ' 1e-5d ']])).errorCode).toBe(ErrorCode.NONE);
    expect((await createWith([['preallocate', '']])).errorMessage).toBe(RANGE('', 'preallocate', BOOL));
  });

  it('longs and ints take Java\'s full ranges and nothing beyond', async () => {
    expect((await createWith([['retention.bytes', '-9223372036854775808']])).errorCode).toBe(ErrorCode.NONE);
    expect((await createWith([['retention.ms', '9223372036854775807']])).errorCode).toBe(ErrorCode.NONE);
    expect((await createWith([['retention.ms', '9223372036854775808']])).errorMessage).toBe(RANGE('9223372036854775808', 'retention.ms', LONG));
    expect((await createWith([['max.message.bytes', '2147483647']])).errorCode).toBe(ErrorCode.NONE);
  });

  it('an empty cleanup.policy is an empty list (valid); an empty element is refused', async () => {
    expect((await createWith([['cleanup.policy', '']])).errorCode).toBe(ErrorCode.NONE);
    expect((await createWith([['cleanup.policy', 'compact,']])).errorMessage).toBe(RANGE('', 'cleanup.policy', 'String must be one of: compact, delete'));
  });

  it('message.format.version takes any 3.9 MetadataVersion spelling and refuses others', async () => {
    for (const v of ['0.10.2', '0.10.2.1', '0.11.0-IV2', '3.9', '3.9-IV0', '4.0-IV1', '1.0.0']) {
      expect((await createWith([['message.format.version', v]])).errorCode, v).toBe(ErrorCode.NONE);
    }
    expect((await createWith([['message.format.version', '3.9.']])).errorMessage).toBe(RANGE('3.9.', 'message.format.version', 'Version 3.9. is not a valid version'));
  });
});

describe('issue 7: order of Kafka\'s checks', () => {
  it('null values are refused first, all named, even beside an unknown name', async () => {
    const res = await createWith([['no.such', '1'], ['retention.ms', null], ['segment.ms', null]]);
    expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.INVALID_CONFIG, 'Null value not supported for topic configs: retention.ms,segment.ms']);
  });

  it('an unknown name is refused before any value is parsed', async () => {
    const res = await createWith([['segment.bytes', 'x'], ['no.such.config', '1']]);
    expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.INVALID_CONFIG, 'Unknown topic config name: no.such.config']);
  });

  it('with several bad values, the first in LogConfig\'s definition order is reported', async () => {
    const res = await createWith([['compression.type', 'brotli'], ['segment.bytes', '1']]);
    expect(res.errorMessage).toBe(RANGE('1', 'segment.bytes', 'Value must be at least 14'));
  });

  it('min.compaction.lag.ms above max.compaction.lag.ms is a conflict', async () => {
    const res = await createWith([['min.compaction.lag.ms', '100'], ['max.compaction.lag.ms', '10']]);
    expect([res.errorCode, res.errorMessage]).toEqual([ErrorCode.INVALID_CONFIG, 'conflict topic config setting min.compaction.lag.ms (100) > max.compaction.lag.ms (10)']);
  });

  it('remote.storage.enable=true is refused: tiered storage is disabled in the broker', async () => {
    const res = await createWith([['remote.storage.enable', 'TRUE']]);
    expect([res.errorCode, res.errorMessage]).toEqual([
      ErrorCode.INVALID_CONFIG,
      'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
    ]);
  });

  it('configs are checked before the partition count and replication factor', async () => {
    const res = await createWith([['segment.bytes', '1']], { numPartitions: 0, replicationFactor: 3 });
    expect(res.errorCode).toBe(ErrorCode.INVALID_CONFIG);
  });
});

describe('issue 7: stored values', () => {
  it('the log reads stored values with Kafka\'s parsing (Java trim, an explicit sign)', () => {
    const c = logConfigFor({ 'segment.bytes': ' 1048576\t', 'flush.messages': '+5', 'message.timestamp.type': ' LogAppendTime ' }, DEFAULT_LOG_CONFIG);
    expect([c.segmentBytes, c.flushMessages, c.messageTimestampType]).toEqual([1048576, 5, 'LogAppendTime']);
    expect(maxMessageBytesFor({ 'max.message.bytes': ' 2000 ' }, 1)).toBe(2000);
  });

  it('a topic created with untrimmed values serves produce and survives a restart', async () => {
    const name = 'cfg-untrimmed';
    const res = await client.send(ApiKey.CreateTopics, 7, {
      topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'segment.bytes', value: ' 1048576 ' }, { name: 'message.timestamp.type', value: 'LogAppendTime ' }] }],
      timeoutMs: 5000,
    });
    expect(res.topics[0].errorCode).toBe(ErrorCode.NONE);
    client.close();
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir: tb.dataDir });
    client = await TestClient.connect(tb.port);
    const md = await client.send(ApiKey.Metadata, 9, { topics: [{ name }], allowAutoTopicCreation: false });
    expect(md.topics[0]).toMatchObject({ name, errorCode: ErrorCode.NONE });
  });
});
