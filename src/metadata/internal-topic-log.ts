// The partitions of one internal topic (`__consumer_offsets`, `__transaction_state`) as its coordinator uses them:
// created on first use with the configs Kafka enforces, appended to through the broker's own log (so the state is
// durable, fsynced like acks=all data, and readable by clients), and read back from the log start at load.
// What the records mean is the coordinator's business (group/offsets-topic.ts, txn/transaction-log.ts).
//
// In a cluster (`replication`, cluster/replica-manager.ts) the coordinator writes only to partitions this broker
// leads, and a write counts once the ISR has it, as Kafka's coordinators append with acks=-1:
//   before the append   not the leader (or fenced)          NOT_LEADER_OR_FOLLOWER
//                       ISR below min.insync.replicas        NOT_ENOUGH_REPLICAS (nothing appended)
//   after the append    HW past the batch within timeoutMs   written
//                       not in time                          REQUEST_TIMED_OUT
//                       leadership lost meanwhile            NOT_LEADER_OR_FOLLOWER
//                       ISR shrank below min.insync.replicas NOT_ENOUGH_REPLICAS_AFTER_APPEND
// Each coordinator maps these codes to its own answers (GroupMetadataManager, TransactionStateManager).
// Loads read up to the log end offset, not the high watermark (Kafka's FetchIsolation.LOG_END): a new leader's
// HW may still be behind records its followers are about to acknowledge.
import type { Logger } from 'pino';
import { KafkaError, isStorageError } from '../errors.js';
import type { LogManager } from '../log/log-manager.js';
import type { AppendResult } from '../log/partition-log.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { readBatchHeader } from '../protocol/records/batch.js';
import { forEachKeyValueRecord, type KeyValueBatchVisitor } from '../protocol/records/key-value-batch.js';
import type { TopicInfo, TopicRegistry } from './topic-registry.js';

/** Kafka's offsets.load.buffer.size / transaction.state.log.load.buffer.size default: bytes read at a time. */
const LOAD_BUFFER_BYTES = 5 * 1024 * 1024;

export interface InternalTopicLogOptions {
  name: string;
  /** The configs Kafka enforces on the topic, used when it is created. */
  configs: Readonly<Record<string, string>>;
  logs: LogManager;
  topics: TopicRegistry;
  logger: Logger;
  /** Whether appends wait for the fsync (the broker's acks=-1 rule: `flushOnAckAll`). */
  durable: boolean;
  /** Cluster mode: appends go to the partition's leader state and wait for the ISR (header). */
  replication?: InternalTopicReplication;
}

/** What a replicated append needs from the partition's leader state (cluster/leader-partition.ts). */
export interface InternalPartitionLeader {
  checkEnoughReplicas(minInSyncReplicas: number): void;
  waitForHighWatermark(lastOffset: bigint, timeoutMs: number, minInSyncReplicas: number): Promise<void>;
}

/** Cluster mode: how the coordinator's writes are replicated (the replica manager, and Kafka's timeouts). */
export interface InternalTopicReplication {
  /** The leader state for a write; throws KafkaError NOT_LEADER_OR_FOLLOWER when this broker does not lead it. */
  leaderFor(topic: string, partition: number): InternalPartitionLeader;
  /** The topic's min.insync.replicas (its config, else the broker default). */
  minInSyncReplicas(topic: TopicInfo): number;
  /** How long an append waits for the ISR (offsets.commit.timeout.ms, request.timeout.ms). */
  timeoutMs: number;
}

export class InternalTopicLog {
  private creating: Promise<TopicInfo> | undefined;

  constructor(private readonly options: InternalTopicLogOptions) {}

  get name(): string {
    return this.options.name;
  }

  /** The topic, when it exists. */
  get topic(): TopicInfo | undefined {
    return this.options.topics.get(this.options.name);
  }

  /** Creates the topic with `partitions` partitions unless it exists; resolves once its logs exist. */
  async ensureTopic(partitions: number): Promise<TopicInfo> {
    const existing = this.topic;
    if (existing !== undefined) return existing;
    // Concurrent first users share one creation.
    this.creating ??= this.options.topics.createInternalTopic(this.options.name, partitions, { ...this.options.configs }).finally(() => {
      this.creating = undefined;
    });
    return this.creating;
  }

  /** Whether the partition's log is there to be read (not offline, not missing). */
  hasLog(partition: number): boolean {
    return this.options.logs.getLog(this.options.name, partition) !== undefined;
  }

  /**
   * Appends one batch (built by key-value-batch.ts) to the partition as the coordinator (Kafka's
   * AppendOrigin.COORDINATOR: a transactional batch's epoch is checked, its sequence is not) and resolves once
   * written (and fsynced when `durable`). The log's offsets are assigned synchronously, so batches appended in
   * call order land in that order. Throws KafkaError with the log's code: UNKNOWN_TOPIC_OR_PARTITION (no such
   * partition), KAFKA_STORAGE_ERROR (offline, or an I/O error now), MESSAGE_TOO_LARGE (over the topic's
   * max.message.bytes), NOT_LEADER_OR_FOLLOWER (the log is closing), INVALID_PRODUCER_EPOCH (a fenced producer).
   */
  append(partition: number, batch: Buffer): Promise<unknown> {
    const { logs, name } = this.options;
    const topic = this.topic;
    const log = topic !== undefined && partition < topic.partitions ? logs.getLog(name, partition) : undefined;
    if (log === undefined) {
      if (logs.isOffline(name, partition)) return Promise.reject(new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${name}-${partition} is offline`));
      return Promise.reject(new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `${name}-${partition} does not exist`));
    }
    if (batch.length > topic!.maxMessageBytes) {
      return Promise.reject(new KafkaError(ErrorCode.MESSAGE_TOO_LARGE, `a ${batch.length}-byte ${name} batch exceeds max.message.bytes ${topic!.maxMessageBytes}`));
    }
    const replication = this.options.replication;
    let leader: InternalPartitionLeader | undefined;
    let minIsr = 1;
    let appended: Promise<AppendResult>;
    try {
      if (replication !== undefined) {
        leader = replication.leaderFor(name, partition);
        minIsr = replication.minInSyncReplicas(topic!);
        leader.checkEnoughReplicas(minIsr);
      }
      appended = log.append(batch, readBatchHeader(batch), { durable: this.options.durable, origin: 'coordinator' });
    } catch (err) {
      return Promise.reject(storageAsKafkaError(name, partition, err));
    }
    const written = appended.catch((err: unknown) => {
      throw storageAsKafkaError(name, partition, err);
    });
    if (leader === undefined) return written;
    return written.then(async (result) => {
      await leader.waitForHighWatermark(result.lastOffset, replication!.timeoutMs, minIsr);
      return result;
    });
  }

  /**
   * Reads the partition from its log start to its log end offset (everything written), batch by batch, into `visitor`. A read error
   * or an undecodable batch stops the scan there (logged at error, as Kafka's loaders do); returns whether the
   * whole partition was read.
   */
  async scan(partition: number, visitor: KeyValueBatchVisitor): Promise<boolean> {
    const log = this.options.logs.getLog(this.options.name, partition);
    if (log === undefined) return true;
    let offset = log.logStartOffset;
    const end = log.logEndOffset;
    try {
      // Each round reads at least one whole batch (minOneBatch) and moves past it, or stops.
      while (offset < end) {
        const buf = await log.readForReplica(offset, LOAD_BUFFER_BYTES);
        if (buf === null || buf.length === 0) break;
        const next = forEachKeyValueRecord(buf, visitor);
        if (next === undefined || next <= offset) break;
        offset = next;
      }
      return true;
    } catch (err) {
      this.options.logger.error({ err, topic: this.options.name, partition, offset: offset.toString() }, `error loading ${this.options.name}`);
      return false;
    }
  }
}

function storageAsKafkaError(name: string, partition: number, err: unknown): unknown {
  if (err instanceof KafkaError) return err;
  if (isStorageError(err)) return new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `${name}-${partition}: ${(err as Error).message}`);
  return err;
}

/** The leader lookup of cluster/replica-manager.ts (leaderOf with forWrite). */
export interface InternalTopicLeaders {
  leaderOf(topic: string, partition: number, currentLeaderEpoch?: number, forWrite?: boolean): InternalPartitionLeader;
}

/**
 * Cluster mode: the coordinators' writes through the replica manager, waiting up to `timeoutMs` for the ISR, with
 * the topic's min.insync.replicas (else the broker default, as Produce reads it).
 */
export function replicatedInternalWrites(leaders: InternalTopicLeaders, topics: TopicRegistry, timeoutMs: number): InternalTopicReplication {
  return {
    leaderFor: (topic, partition) => leaders.leaderOf(topic, partition, undefined, true),
    minInSyncReplicas: (topic) => topics.minInSyncReplicas(topic),
    timeoutMs,
  };
}
