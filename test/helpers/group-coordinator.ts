// A group coordinator on real logs in a temporary data dir, without sockets: the LogManager and TopicRegistry it
// keeps `__consumer_offsets` in, and the broker's marker writer to end transactions as the transaction
// coordinator does (the marker is appended to the group's partition, then the group completes its offsets).
import pino from 'pino';
import { GroupCoordinator } from '../../src/group/coordinator.js';
import { LogManager } from '../../src/log/log-manager.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import type { LogFs } from '../../src/log/fs.js';
import { resolveBrokerConfig, type BrokerOptions } from '../../src/metadata/broker-config.js';
import { OFFSETS_TOPIC_NAME } from '../../src/metadata/internal-topics.js';
import { TopicRegistry } from '../../src/metadata/topic-registry.js';
import { PartitionMarkerWriter } from '../../src/txn/partition-marker-writer.js';

export interface GroupCoordinatorHarness {
  coordinator: GroupCoordinator;
  logs: LogManager;
  topics: TopicRegistry;
  /**
   * Writes `producerId`'s COMMIT or ABORT marker (at `producerEpoch`) to the group's `__consumer_offsets` partition
   * and completes the transaction's offsets there; resolves to the marker's error code.
   */
  endTransaction(producerId: bigint, groupId: string, commit: boolean, producerEpoch?: number): Promise<number>;
  close(): Promise<void>;
}

export interface GroupCoordinatorHarnessOptions {
  broker?: BrokerOptions;
  now?: () => number;
  fs?: LogFs;
  /** false: the coordinator is returned before load() (to see COORDINATOR_LOAD_IN_PROGRESS); the test loads it. */
  load?: boolean;
}

export async function openGroupCoordinator(dataDir: string, options: GroupCoordinatorHarnessOptions = {}): Promise<GroupCoordinatorHarness> {
  const logger = pino({ level: 'silent' });
  const config = resolveBrokerConfig({ dataDir, groupInitialRebalanceDelayMs: 0, ...options.broker });
  const logs = await LogManager.open({ dataDir, logger, ...(options.fs === undefined ? {} : { fs: options.fs }) });
  const topics = await TopicRegistry.open({
    dataDir,
    logs,
    logger,
    defaultLogConfig: DEFAULT_LOG_CONFIG,
    messageMaxBytes: config.messageMaxBytes,
    maxBrokerPartitions: config.maxBrokerPartitions,
  });
  const coordinator = new GroupCoordinator({ dataDir, config, logs, topics, logger, ...(options.now === undefined ? {} : { now: options.now }) });
  if (options.load !== false) await coordinator.load();
  const markers = new PartitionMarkerWriter({ logs, topics, groups: coordinator, durable: config.flushOnAckAll, logger });
  let closed = false;
  return {
    coordinator,
    logs,
    topics,
    async endTransaction(producerId, groupId, commit, producerEpoch = 0) {
      const [result] = await markers.writeMarkers({
        producerId,
        producerEpoch,
        coordinatorEpoch: 0,
        commit,
        partitions: [{ topic: OFFSETS_TOPIC_NAME, partition: coordinator.partitionFor(groupId) }],
      });
      return result!.errorCode;
    },
    async close() {
      if (closed) return;
      closed = true;
      await coordinator.close();
      await logs.close();
    },
  };
}
