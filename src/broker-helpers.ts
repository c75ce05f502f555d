// The in-process broker's test-suite helpers (broker.createTopic, records, waitForOffset, reset): direct calls on
// the broker's own topic registry, logs and group coordinator, so a test needs no client and no round trip for its
// setup and its checks. Each works on one broker's state; nothing here is global.
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokerError, KafkaError } from './errors.js';
import { ErrorCode } from './protocol/error-codes.js';
import { decodeRecordBatches } from './client/records.js';
import { waitForAppend } from './log/log-manager.js';
import { isInternalTopic } from './metadata/topic-registry.js';
import type { BrokerServices } from './handlers/types.js';
import type { FaultRules } from './faults/index.js';

export interface CreateTopicOptions {
  /** Default: the broker's num.partitions. */
  partitions?: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}

export interface CreatedTopic {
  name: string;
  /** The topic id, 32 hex characters. */
  topicId: string;
  partitions: number;
}

/** One record as stored, decoded (control records of transactions are left out). */
export interface StoredRecord {
  offset: bigint;
  /** CreateTime, or LogAppendTime on such topics (ms since the epoch). */
  timestamp: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<{ key: string; value: Buffer | null }>;
}

export interface WaitForOffsetOptions {
  /** Default 5000. */
  timeoutMs?: number;
}

/** Largest read per step of records(). */
const READ_BYTES = 1024 * 1024;
/** How often waitForOffset looks for a partition that does not exist yet. */
const TOPIC_POLL_MS = 10;

/** Creates a topic as CreateTopics would (Kafka's validation and errors: a KafkaError, e.g. TOPIC_ALREADY_EXISTS). */
export async function createTopic(services: BrokerServices, name: string, options: CreateTopicOptions = {}): Promise<CreatedTopic> {
  const topic = await services.topics.createTopic(
    { name, numPartitions: options.partitions ?? -1, replicationFactor: -1, assignments: [], configs: { ...options.configs } },
    { brokerIds: [services.nodeId], defaultNumPartitions: services.config.numPartitions },
  );
  return { name: topic.name, topicId: topic.topicId.toString('hex'), partitions: topic.partitions };
}

/** Every record of a partition below its high watermark, from the log start offset, decoded. */
export async function readRecords(services: BrokerServices, topic: string, partition: number): Promise<StoredRecord[]> {
  const log = services.logs.getLog(topic, partition);
  if (log === undefined) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `no partition ${topic}-${partition}`);
  const out: StoredRecord[] = [];
  const highWatermark = log.highWatermark;
  let offset = log.logStartOffset;
  // Each step starts past the last batch read, so the loop ends at the high watermark (or at an empty read).
  while (offset < highWatermark) {
    const buf = await log.read(offset, READ_BYTES, true);
    if (buf === null || buf.length === 0) break;
    const decoded = decodeRecordBatches(buf);
    for (const r of decoded.records) {
      if (r.offset >= offset && r.offset < highWatermark) out.push({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value, headers: r.headers });
    }
    if (decoded.nextOffset === undefined || decoded.nextOffset <= offset) break;
    offset = decoded.nextOffset;
  }
  return out;
}

/**
 * Resolves with the high watermark once it has reached `offset` (every record below `offset` is readable), waiting
 * for the partition to exist if needed; rejects with BrokerError TIMEOUT after `timeoutMs`.
 */
export async function waitForOffset(
  services: BrokerServices,
  topic: string,
  partition: number,
  offset: bigint | number,
  options: WaitForOffsetOptions = {},
): Promise<bigint> {
  const target = BigInt(offset);
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const log = services.logs.getLog(topic, partition);
    if (log !== undefined && !log.isClosed && log.highWatermark >= target) return log.highWatermark;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      throw new BrokerError('TIMEOUT', `${topic}-${partition} did not reach offset ${target} within ${timeoutMs} ms (high watermark ${log?.highWatermark ?? 'none: no such partition'})`);
    }
    if (services.shutdownSignal.aborted) throw new BrokerError('CLOSED', 'the broker is closing');
    if (log === undefined || log.isClosed) {
      await sleep(Math.min(remainingMs, TOPIC_POLL_MS));
      continue;
    }
    const wake = await waitForAppend([log], remainingMs, services.shutdownSignal).promise;
    if (wake === 'closed') await sleep(Math.min(Math.max(0, deadline - Date.now()), TOPIC_POLL_MS));
  }
}

/**
 * Drops every topic except the coordinators' internal ones, every consumer group with its committed offsets, and
 * every fault rule. A group that still has members cannot be deleted (Kafka's DeleteGroups: NON_EMPTY_GROUP):
 * everything else is dropped, then BrokerError GROUPS_NOT_EMPTY names those groups.
 */
export async function resetBroker(services: BrokerServices, faults: FaultRules): Promise<void> {
  faults.clear();
  const listed = services.groups.listGroups([], []).groups.map((g) => g.groupId);
  const codes = listed.length === 0 ? [] : await services.groups.deleteGroups(listed);
  const notEmpty = listed.filter((_, i) => codes[i] === ErrorCode.NON_EMPTY_GROUP);
  for (const topic of services.topics.list()) {
    if (isInternalTopic(topic.name)) continue;
    await services.topics.deleteTopic(topic.name);
    await services.groups.removeOffsetsOfTopic(topic.name);
  }
  if (notEmpty.length > 0) {
    throw new BrokerError('GROUPS_NOT_EMPTY', `groups with members were not deleted (disconnect their consumers first): ${notEmpty.join(', ')}`);
  }
}
