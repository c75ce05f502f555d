// The group coordinator's durable state: committed offsets and group metadata in the internal compacted topic
// `__consumer_offsets`, in Kafka's record format (group-records.ts), through the broker's own log, as Kafka 3.9's
// GroupMetadataManager keeps them.
//
// Topic: `__consumer_offsets`, offsets.topic.num.partitions (50) partitions, created on first use (the first
// FindCoordinator for a group, or the first write) with Kafka's enforced configs: cleanup.policy=compact,
// compression.type=producer, segment.bytes=offsets.topic.segment.bytes. Group `g` lives in partition
// internalPartitionFor(g, partitions), so a group's records are in one partition, in the order they were written.
//
// Writes (one batch per partition touched, built by key-value-batch.ts; the coordinator's caller is answered
// after the batch is written, fsynced under flushOnAckAll):
//   ordinary commit        OffsetCommitKey → OffsetCommitValue, a batch without a producer
//   offset deleted/expired OffsetCommitKey → null (tombstone)
//   group metadata         GroupMetadataKey → GroupMetadataValue (generation, members, assignments)
//   group removed          GroupMetadataKey → null
//   consumer-protocol      ConsumerGroup*Key → ConsumerGroup*Value or null (KIP-848; consumer-group/records.ts),
//   group state            one batch per heartbeat, in the order the coordinator computed them
//   TxnOffsetCommit        OffsetCommitKey → OffsetCommitValue in a *transactional* batch of the producer (epoch
//                          checked by the partition, AppendOrigin.COORDINATOR); the transaction's COMMIT or ABORT
//                          marker, written to this partition by the transaction coordinator, decides it
// Batches are appended in call order (InternalTopicLog.append assigns offsets synchronously; while the topic is
// being created, appends queue behind the creation in order), so log order is the coordinator's write order.
//
// Load (Kafka's GroupMetadataManager.doLoadGroupsAndOffsets), every partition (in a cluster: one partition each
// time this broker becomes its leader) from its log start to its log end offset: the latest
// non-transactional record per key wins, a tombstone removes the key; a transactional record is pending for its
// producer until that producer's marker: COMMIT makes each pending offset current unless a record of the same key
// was appended after it (CommitRecordMetadataAndOffset.olderThan), ABORT drops them. What is still pending at the
// end (an open transaction) is handed back to the coordinator as pending transactional offsets, with positions in
// log order, so the marker that comes after the restart completes them. Consumer-protocol group records are kept latest per key and
// handed back per group in log order, for the coordinator to replay (a tombstone drops the key). A record whose key version is unknown is
// skipped with a warning; an undecodable record stops the load of that partition (logged at error, what was read
// is kept), so no record can stop the broker from starting.
//
// Upgrade: a data dir from before this topic has `__group_metadata/groups.log` (legacy-group-file.ts). At open its
// contents are written into the topic (groups, then offsets, in batches under the topic's max.message.bytes),
// then the file is renamed; a crash in between migrates the same records again at the next start, which is
// harmless because the latest record per key wins and nothing else was written meanwhile (the coordinator serves
// only after open).
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import { InternalTopicLog, type InternalTopicReplication } from '../metadata/internal-topic-log.js';
import { OFFSETS_TOPIC_NAME, internalPartitionFor } from '../metadata/internal-topics.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { RECORD_BATCH_HEADER_SIZE, isTransactional } from '../protocol/records/batch.js';
import { readEndTxnMarker } from '../protocol/records/control-batch.js';
import { buildKeyValueBatch, keyValueRecordSize, type KeyValueRecord, type TransactionalBatchProducer } from '../protocol/records/key-value-batch.js';
import { decodeConsumerGroupRecord, encodeConsumerGroupRecordKey, encodeConsumerGroupRecordValue, type ConsumerGroupRecord } from './consumer-group/records.js';
import {
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type StoreRecord,
  type StoredGroup,
  type StoredOffset,
} from './group-records.js';
import { readLegacyGroupFile, retireLegacyGroupFile } from './legacy-group-file.js';

/** The configs Kafka enforces on `__consumer_offsets` (GroupCoordinator.offsetsTopicConfigs). */
export function offsetsTopicConfigs(segmentBytes: number): Record<string, string> {
  return { 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': String(segmentBytes) };
}

/** A transactional offset commit still waiting for its marker after a restart. */
export interface LoadedPendingTxnOffset {
  producerId: bigint;
  offset: StoredOffset;
  /** Log order among this load's records (the coordinator's write positions continue after them). */
  position: number;
  /** A non-transactional commit of the partition was appended after it: on COMMIT it is not applied. */
  superseded: boolean;
}

export interface LoadedGroupState {
  groups: Map<string, StoredGroup>;
  /** groupId → committed offsets. A group may have offsets and no metadata (simple consumers). */
  offsets: Map<string, StoredOffset[]>;
  /** groupId → its open transactions' offsets. */
  pendingTxnOffsets: Map<string, LoadedPendingTxnOffset[]>;
  /** The first write position after the loaded records. */
  nextPosition: number;
  /** groupId → its consumer-protocol group records (latest per key, in log order). */
  consumerGroups: Map<string, ConsumerGroupRecord[]>;
}

export interface OffsetsTopicStoreOptions {
  dataDir: string;
  logs: LogManager;
  topics: TopicRegistry;
  logger: Logger;
  /** offsets.topic.num.partitions, used when the topic is created (an existing topic keeps its count). */
  numPartitions: number;
  /** offsets.topic.segment.bytes. */
  segmentBytes: number;
  /** Whether appends wait for the fsync (flushOnAckAll). */
  durable: boolean;
  /** Cluster mode: writes go to the partition's leader and wait for the ISR (internal-topic-log.ts). */
  replication?: InternalTopicReplication;
  now: () => number;
}

/** Batches of a migration stay well under the default max.message.bytes (1 MiB). */
const MIGRATION_BATCH_BYTES = 512 * 1024;

function offsetKeyString(groupId: string, topic: string, partition: number): string {
  return `${groupId}\u0000${topic}\u0000${partition}`;
}

function recordOf(record: StoreRecord): KeyValueRecord {
  switch (record.type) {
    case 'offset':
      return { key: encodeOffsetCommitKey(record.value.groupId, record.value.topic, record.value.partition), value: encodeOffsetCommitValue(record.value) };
    case 'offset-delete':
      return { key: encodeOffsetCommitKey(record.groupId, record.topic, record.partition), value: null };
    case 'group':
      return { key: encodeGroupMetadataKey(record.value.groupId), value: encodeGroupMetadataValue(record.value) };
    case 'group-delete':
      return { key: encodeGroupMetadataKey(record.groupId), value: null };
    case 'consumer-group':
      return { key: encodeConsumerGroupRecordKey(record.record), value: encodeConsumerGroupRecordValue(record.record) };
  }
}

function groupOf(record: StoreRecord): string {
  if (record.type === 'consumer-group') return record.record.groupId;
  return record.type === 'offset' || record.type === 'group' ? record.value.groupId : record.groupId;
}

export class OffsetsTopicStore {
  private readonly log: InternalTopicLog;
  /** The topic's creation while it runs. */
  private creation: Promise<void> | undefined;
  /** Appends waiting for the creation; while any waits, new appends queue behind them (call order = log order). */
  private appendsWaiting = 0;

  private constructor(private readonly options: OffsetsTopicStoreOptions) {
    this.log = new InternalTopicLog({
      name: OFFSETS_TOPIC_NAME,
      configs: offsetsTopicConfigs(options.segmentBytes),
      logs: options.logs,
      topics: options.topics,
      logger: options.logger,
      durable: options.durable,
      replication: options.replication,
    });
  }

  /** Migrates a legacy groups.log if there is one, then loads the topic; returns the store and what it holds. */
  static async open(options: OffsetsTopicStoreOptions): Promise<{ store: OffsetsTopicStore; state: LoadedGroupState }> {
    const store = new OffsetsTopicStore(options);
    await store.migrateLegacyFile();
    const state = await store.load();
    return { store, state };
  }

  /** The number of partitions groups are spread over: the topic's, or offsets.topic.num.partitions before it exists. */
  get partitionCount(): number {
    return this.log.topic?.partitions ?? this.options.numPartitions;
  }

  /** The `__consumer_offsets` partition that owns the group (Kafka's GroupCoordinator.partitionFor). */
  partitionFor(groupId: string): number {
    return internalPartitionFor(groupId, this.partitionCount);
  }

  /** Creates the topic unless it exists (FindCoordinator for a group calls this, as Kafka creates it then). */
  ensureTopic(): Promise<void> {
    if (this.creation === undefined && this.log.topic !== undefined) return Promise.resolve();
    // A failed creation is tried again by the next caller; a deleted topic is created again.
    this.creation ??= this.log
      .ensureTopic(this.options.numPartitions)
      .then(() => undefined)
      .finally(() => {
        this.creation = undefined;
      });
    return this.creation;
  }

  private appendBatch(partition: number, batch: Buffer): Promise<unknown> {
    if (this.creation === undefined && this.appendsWaiting === 0 && this.log.topic !== undefined) return this.log.append(partition, batch);
    this.appendsWaiting++;
    return this.ensureTopic().then(
      () => {
        this.appendsWaiting--;
        return this.log.append(partition, batch);
      },
      (err: unknown) => {
        this.appendsWaiting--;
        throw err;
      },
    );
  }

  /**
   * Writes the records (one batch per partition, each group's records in order) and resolves once all are written.
   * Rejects with the log's KafkaError (InternalTopicLog.append) when a batch cannot be written.
   */
  async append(records: readonly StoreRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byPartition = this.recordsByPartition(records);
    const timestamp = this.options.now();
    await Promise.all([...byPartition].map(([partition, list]) => this.appendBatch(partition, buildKeyValueBatch(list, timestamp))));
  }

  /** TxnOffsetCommit: the offsets as one transactional batch of the producer in the group's partition. */
  async appendTransactional(groupId: string, producer: TransactionalBatchProducer, offsets: readonly StoredOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const records = offsets.map((o) => recordOf({ type: 'offset', value: o }));
    await this.appendBatch(this.partitionFor(groupId), buildKeyValueBatch(records, this.options.now(), producer));
  }

  /** The records in Kafka's format, by the partition of their group, in order. */
  private recordsByPartition(records: readonly StoreRecord[]): Map<number, KeyValueRecord[]> {
    const byPartition = new Map<number, KeyValueRecord[]>();
    for (const record of records) {
      const partition = this.partitionFor(groupOf(record));
      let list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, (list = []));
      list.push(recordOf(record));
    }
    return byPartition;
  }

  private async migrateLegacyFile(): Promise<void> {
    const { dataDir, logger } = this.options;
    const legacy = await readLegacyGroupFile(dataDir, logger);
    if (legacy === undefined) return;
    const records: StoreRecord[] = [];
    for (const group of legacy.groups.values()) records.push({ type: 'group', value: group });
    for (const offsets of legacy.offsets.values()) for (const o of offsets) records.push({ type: 'offset', value: o });
    // Split per partition into batches under MIGRATION_BATCH_BYTES, written in order.
    const byPartition = this.recordsByPartition(records);
    const timestamp = this.options.now();
    for (const [partition, list] of byPartition) {
      let start = 0;
      while (start < list.length) {
        let size = RECORD_BATCH_HEADER_SIZE;
        let end = start;
        while (end < list.length && (end === start || size + keyValueRecordSize(list[end]!, end - start) <= MIGRATION_BATCH_BYTES)) {
          size += keyValueRecordSize(list[end]!, end - start);
          end++;
        }
        await this.appendBatch(partition, buildKeyValueBatch(list.slice(start, end), timestamp));
        start = end;
      }
    }
    const retiredAs = await retireLegacyGroupFile(legacy.file, legacy.problem !== undefined);
    const summary = { groups: legacy.groups.size, offsets: records.length - legacy.groups.size, keptAs: retiredAs };
    if (legacy.problem !== undefined) {
      logger.error({ ...summary, problem: legacy.problem }, 'migrated the readable part of the old group metadata file into __consumer_offsets; the file is kept aside');
    } else {
      logger.info(summary, 'migrated the old group metadata file into __consumer_offsets');
    }
  }

  /**
   * Loads the given partitions (all of them when absent; cluster mode loads one partition each time this broker
   * becomes its leader). `firstPosition` continues the coordinator's write positions, so a partition loaded later
   * orders its records after every write made so far.
   */
  async load(partitions?: readonly number[], firstPosition = 0): Promise<LoadedGroupState> {
    const state: LoadedGroupState = { groups: new Map(), offsets: new Map(), pendingTxnOffsets: new Map(), nextPosition: firstPosition, consumerGroups: new Map() };
    const topic = this.log.topic;
    if (topic === undefined) return state;
    const offsets = new Map<string, { value: StoredOffset; position: number }>();
    const consumerGroupRecords = new Map<string, Map<string, ConsumerGroupRecord>>();
    const toLoad = partitions ?? Array.from({ length: topic.partitions }, (_, p) => p);
    for (const partition of toLoad) {
      if (partition < topic.partitions) await this.loadPartition(partition, state, offsets, consumerGroupRecords);
    }
    for (const [groupId, byKey] of consumerGroupRecords) state.consumerGroups.set(groupId, [...byKey.values()]);
    for (const { value } of offsets.values()) {
      let list = state.offsets.get(value.groupId);
      if (list === undefined) state.offsets.set(value.groupId, (list = []));
      list.push(value);
    }
    return state;
  }

  private async loadPartition(
    partition: number,
    state: LoadedGroupState,
    offsets: Map<string, { value: StoredOffset; position: number }>,
    consumerGroupRecords: Map<string, Map<string, ConsumerGroupRecord>>,
  ): Promise<void> {
    const logger = this.options.logger;
    /** producerId → offset key → the pending offset (null: a transactional tombstone removed it). */
    const pending = new Map<bigint, Map<string, { value: StoredOffset; position: number }>>();
    await this.log.scan(partition, {
      record: (record, offset, batch) => {
        const position = state.nextPosition++;
        if (record.key === null) {
          logger.warn({ partition, offset: offset.toString() }, 'ignoring a __consumer_offsets record without a key');
          return;
        }
        const key = decodeGroupRecordKey(record.key);
        if (key.kind === 'unknown') {
          logger.warn({ partition, offset: offset.toString(), keyVersion: key.version }, 'ignoring a __consumer_offsets record with an unknown key version');
          return;
        }
        if (key.kind === 'consumer-group') {
          const k = key.key;
          let byKey = consumerGroupRecords.get(k.groupId);
          if (byKey === undefined) consumerGroupRecords.set(k.groupId, (byKey = new Map()));
          const recordKey = `${k.type}\u0000${k.memberId ?? ''}`;
          // Delete first so a rewritten key moves to the end: replay order follows the log.
          byKey.delete(recordKey);
          if (record.value !== null) byKey.set(recordKey, decodeConsumerGroupRecord(k, record.value));
          return;
        }
        if (key.kind === 'group') {
          if (record.value === null) state.groups.delete(key.groupId);
          else state.groups.set(key.groupId, decodeGroupMetadataValue(key.groupId, record.value));
          return;
        }
        const k = offsetKeyString(key.groupId, key.topic, key.partition);
        const value = record.value === null ? null : decodeOffsetCommitValue(key.groupId, key.topic, key.partition, record.value);
        if (isTransactional(batch.attributes)) {
          let mine = pending.get(batch.producerId);
          if (mine === undefined) pending.set(batch.producerId, (mine = new Map()));
          if (value === null) mine.delete(k);
          else mine.set(k, { value, position });
        } else if (value === null) {
          offsets.delete(k);
        } else {
          offsets.set(k, { value, position });
        }
      },
      control: (batch, buf, pos) => {
        const marker = readEndTxnMarker(buf, pos);
        const mine = pending.get(batch.producerId);
        if (marker === undefined || mine === undefined) return;
        pending.delete(batch.producerId);
        if (!marker.commit) return;
        for (const [k, p] of mine) {
          const current = offsets.get(k);
          if (current === undefined || current.position < p.position) offsets.set(k, p);
        }
      },
    });
    for (const [producerId, mine] of pending) {
      for (const [k, p] of mine) {
        let list = state.pendingTxnOffsets.get(p.value.groupId);
        if (list === undefined) state.pendingTxnOffsets.set(p.value.groupId, (list = []));
        const current = offsets.get(k);
        list.push({ producerId, offset: p.value, position: p.position, superseded: current !== undefined && current.position > p.position });
      }
    }
  }
}
