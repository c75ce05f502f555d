// The broker's own `__transaction_state` topic (TopicRegistry.createInternalTopic) and the transaction configs.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { DEFAULT_BROKER_CONFIG, InvalidConfigError, resolveBrokerConfig } from '../../src/metadata/broker-config.js';
import { TRANSACTION_STATE_TOPIC_NAME } from '../../src/metadata/internal-topics.js';
import { TopicRegistry } from '../../src/metadata/topic-registry.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TRANSACTION_STATE_TOPIC_CONFIGS } from '../../src/txn/transaction-log.js';
import { makeTempDir } from '../log/helpers.js';

const logger = pino({ level: 'silent' });
let dataDir: string;
let cleanup: () => Promise<void>;
const managers: LogManager[] = [];

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
});

afterEach(async () => {
  for (const logs of managers.splice(0)) await logs.close();
  await cleanup();
});

async function openRegistry(): Promise<{ logs: LogManager; topics: TopicRegistry }> {
  const topicConfigs = await TopicRegistry.readLogConfigs(dataDir, DEFAULT_LOG_CONFIG);
  const logs = await LogManager.open({ dataDir, logger, topicConfigs });
  managers.push(logs);
  const topics = await TopicRegistry.open({ dataDir, logs, logger, defaultLogConfig: DEFAULT_LOG_CONFIG, messageMaxBytes: 1048588 });
  return { logs, topics };
}

describe('TopicRegistry.createInternalTopic', () => {
  it('creates __transaction_state compacted with 100 MiB segments, its logs ready, and keeps it across a restart', async () => {
    const { logs, topics } = await openRegistry();
    const created = await topics.createInternalTopic(TRANSACTION_STATE_TOPIC_NAME, 50, { ...TRANSACTION_STATE_TOPIC_CONFIGS });
    expect(created.partitions).toBe(50);
    expect(created.logConfig.compact).toBe(true);
    expect(created.logConfig.segmentBytes).toBe(104857600);
    for (let p = 0; p < 50; p++) expect(logs.getLog(TRANSACTION_STATE_TOPIC_NAME, p)).toBeDefined();
    await logs.close();
    managers.splice(0);
    const again = await openRegistry();
    const loaded = again.topics.get(TRANSACTION_STATE_TOPIC_NAME)!;
    expect(loaded.topicId.equals(created.topicId)).toBe(true);
    expect(loaded.configs).toEqual(created.configs);
    expect(again.logs.getLog(TRANSACTION_STATE_TOPIC_NAME, 49)!.logConfig.segmentBytes).toBe(104857600);
  });

  it('returns the existing topic to concurrent and later calls instead of creating another', async () => {
    const { topics } = await openRegistry();
    const [a, b] = await Promise.all([
      topics.createInternalTopic(TRANSACTION_STATE_TOPIC_NAME, 50, { ...TRANSACTION_STATE_TOPIC_CONFIGS }),
      topics.createInternalTopic(TRANSACTION_STATE_TOPIC_NAME, 3, { ...TRANSACTION_STATE_TOPIC_CONFIGS }),
    ]);
    expect(b).toBe(a);
    expect((await topics.createInternalTopic(TRANSACTION_STATE_TOPIC_NAME, 7, {})).partitions).toBe(50);
  });

  it('still refuses the name to clients: CreateTopics gets TOPIC_ALREADY_EXISTS before and after the broker created it', async () => {
    const { topics } = await openRegistry();
    const creation = { name: TRANSACTION_STATE_TOPIC_NAME, numPartitions: 1, replicationFactor: -1, assignments: [], configs: {} };
    const cluster = { brokerIds: [1], defaultNumPartitions: 1 };
    await expect(topics.createTopic(creation, cluster)).rejects.toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS });
    await topics.createInternalTopic(TRANSACTION_STATE_TOPIC_NAME, 2, { ...TRANSACTION_STATE_TOPIC_CONFIGS });
    await expect(topics.createTopic(creation, cluster)).rejects.toMatchObject({ errorCode: ErrorCode.TOPIC_ALREADY_EXISTS });
  });

  it('creates only the broker\'s own topics', async () => {
    const { topics } = await openRegistry();
    await expect(topics.createInternalTopic('orders', 1, {})).rejects.toThrow(/not one of the broker's internal topics/);
    expect(topics.get('orders')).toBeUndefined();
  });
});

describe('transaction broker configs', () => {
  it('default to Kafka\'s values', () => {
    expect({
      transactionMaxTimeoutMs: DEFAULT_BROKER_CONFIG.transactionMaxTimeoutMs,
      transactionalIdExpirationMs: DEFAULT_BROKER_CONFIG.transactionalIdExpirationMs,
      transactionAbortTimedOutTransactionCleanupIntervalMs: DEFAULT_BROKER_CONFIG.transactionAbortTimedOutTransactionCleanupIntervalMs,
      transactionRemoveExpiredTransactionCleanupIntervalMs: DEFAULT_BROKER_CONFIG.transactionRemoveExpiredTransactionCleanupIntervalMs,
      transactionStateLogNumPartitions: DEFAULT_BROKER_CONFIG.transactionStateLogNumPartitions,
    }).toEqual({
      transactionMaxTimeoutMs: 900000,
      transactionalIdExpirationMs: 604800000,
      transactionAbortTimedOutTransactionCleanupIntervalMs: 10000,
      transactionRemoveExpiredTransactionCleanupIntervalMs: 3600000,
      transactionStateLogNumPartitions: 50,
    });
  });

  it('refuse values below 1, naming the option', () => {
    for (const option of [
      'transactionMaxTimeoutMs',
      'transactionalIdExpirationMs',
      'transactionAbortTimedOutTransactionCleanupIntervalMs',
      'transactionRemoveExpiredTransactionCleanupIntervalMs',
      'transactionStateLogNumPartitions',
    ]) {
      let err: unknown;
      try {
        resolveBrokerConfig({ [option]: 0 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect((err as InvalidConfigError).option).toBe(option);
    }
    expect(resolveBrokerConfig({ transactionMaxTimeoutMs: 1 }).transactionMaxTimeoutMs).toBe(1);
  });
});
