// The transaction coordinator's durable state: the internal compacted topic `__transaction_state`, in Kafka's
// record format (Kafka 3.9 TransactionLog.scala, TransactionStateManager.scala; schemas TransactionLogKey.json and
// TransactionLogValue.json), so the bytes are the ones a Kafka broker writes and reads.
//
// Topic: `__transaction_state`, transaction.state.log.num.partitions (50) partitions, created by the coordinator on
// first use (FindCoordinator) with Kafka's enforced configs: cleanup.policy=compact, compression.type=uncompressed,
// unclean.leader.election.enable=false, segment.bytes=104857600 (transaction.state.log.segment.bytes). The
// transactional id `id` lives in partition internalPartitionFor(id, partitions) (internal-topics.ts).
//
// Batches, as MemoryRecords.withRecords(Compression.NONE, …) builds them (protocol/records/key-value-batch.ts,
// without a producer). A state change is one batch with one record; an expiration run writes one batch of
// tombstones per partition (split to stay under max.message.bytes). Each record:
//
//   key   (TransactionLogKey, never null)
//     int16   version                      0 (the only version)
//     int16   TransactionalId length, then its UTF-8 bytes
//
//   value (TransactionLogValue; null = tombstone: the transactional id expired and is forgotten)
//     int16   version                      1 is written (Kafka writes 1 once transaction.version >= 1 is finalized,
//                                          and this broker finalizes 2, as a fresh Kafka 4.0 cluster); 0 and 1 read
//     int64   ProducerId
//     int16   ProducerEpoch
//     int32   TransactionTimeoutMs
//     int8    TransactionStatus            the state's id (transaction-state.ts)
//     array   TransactionPartitions        null when the state is Empty, else one entry per topic:
//               string   Topic
//               int32[]  PartitionIds
//     int64   TransactionLastUpdateTimestampMs
//     int64   TransactionStartTimestampMs  -1 while no transaction has started
//
//   v0 encodes arrays as an int32 count (-1 = null) and strings as an int16 length; v1 (flexible) as an unsigned
//   varint of count + 1 / length + 1 (0 = null), with a tagged-field section (unsigned varint count, then tag, size,
//   bytes per field) closing each TransactionPartitions entry and the value itself. The value's tagged fields (v1,
//   Kafka trunk 1eb7644's TransactionLogValue.json, written only when not at their default):
//     tag 0  int64  PreviousProducerId        the producer id before this state (default -1)
//     tag 1  int64  NextProducerId            transactions v2: the id after an epoch overflow (default -1)
//     tag 2  int16  ClientTransactionVersion  the client's transaction version (default 0)
//
// Readers, as Kafka's: a key version other than 0 is skipped with a warning (an aborted upgrade's leftover); a
// value version other than 0–1 stops loading that partition (an error is logged; what was read so far is kept).
// The last record per transactional id wins and a tombstone removes it (the log is compacted, so older records may
// or may not still be there). The last producer epoch is not stored: a loaded transactional id has -1 for it, as in
// Kafka; the previous producer id is PreviousProducerId (-1 in a v0 value).
import type { Logger } from 'pino';
import type { LogManager } from '../log/log-manager.js';
import { InternalTopicLog, type InternalTopicReplication } from '../metadata/internal-topic-log.js';
import { TRANSACTION_STATE_TOPIC_NAME } from '../metadata/internal-topics.js';
import type { TopicInfo, TopicRegistry } from '../metadata/topic-registry.js';
import { buildKeyValueBatch, type KeyValueRecord } from '../protocol/records/key-value-batch.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { NO_PRODUCER_EPOCH, NO_PRODUCER_ID, TransactionMetadata, type TopicPartitions, type TxnTransitMetadata } from './transaction-metadata.js';
import { TransactionStateError, transactionStateFromId, transactionStateId } from './transaction-state.js';

export const TRANSACTION_LOG_KEY_VERSION = 0;
/** The value version written: 1 (flexible, with the tagged fields of transactions v2), as Kafka at transaction.version >= 1. */
export const TRANSACTION_LOG_VALUE_VERSION = 1;
const PREVIOUS_PRODUCER_ID_TAG = 0;
const NEXT_PRODUCER_ID_TAG = 1;
const CLIENT_TRANSACTION_VERSION_TAG = 2;
const HIGHEST_VALUE_VERSION = 1;
/** Kafka's transaction.state.log.segment.bytes default. */
export const TRANSACTION_STATE_SEGMENT_BYTES = 104857600;

/** The configs Kafka enforces on `__transaction_state` (TransactionStateManager.transactionTopicConfigs). */
export const TRANSACTION_STATE_TOPIC_CONFIGS: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'compression.type': 'uncompressed',
  'unclean.leader.election.enable': 'false',
  'segment.bytes': String(TRANSACTION_STATE_SEGMENT_BYTES),
});

/** TransactionLogKey: version-prefixed bytes. */
export function encodeTransactionLogKey(transactionalId: string): Buffer {
  return new Writer(2 + 2 + transactionalId.length * 3).writeInt16(TRANSACTION_LOG_KEY_VERSION).writeString(transactionalId).toBuffer();
}

/** The transactional id of a key, or the version of a key this reader does not know (Kafka's UnknownKey). */
export type DecodedTransactionLogKey = { version: number; transactionalId: string } | { version: number; transactionalId: undefined };

export function decodeTransactionLogKey(key: Buffer): DecodedTransactionLogKey {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version !== TRANSACTION_LOG_KEY_VERSION) return { version, transactionalId: undefined };
  return { version, transactionalId: r.readString() };
}

/** TransactionLogValue: version-prefixed bytes of the metadata a transition writes (Kafka's valueToBytes). */
export function encodeTransactionLogValue(transit: TxnTransitMetadata, version: 0 | 1 = TRANSACTION_LOG_VALUE_VERSION): Buffer {
  if (transit.txnState === 'Empty' && transit.topicPartitions.size > 0) {
    throw new TransactionStateError(`Transaction is not expected to have any partitions since its state is Empty`);
  }
  const flexible = version >= 1;
  const w = new Writer(64);
  w.writeInt16(version);
  w.writeInt64(transit.producerId);
  w.writeInt16(transit.producerEpoch);
  w.writeInt32(transit.txnTimeoutMs);
  w.writeInt8(transactionStateId(transit.txnState));
  const partitions: TopicPartitions | null = transit.txnState === 'Empty' ? null : transit.topicPartitions;
  if (partitions === null) {
    if (flexible) w.writeUnsignedVarint(0);
    else w.writeInt32(-1);
  } else {
    if (flexible) w.writeCompactArrayLength(partitions.size);
    else w.writeArrayLength(partitions.size);
    for (const [topic, ids] of partitions) {
      if (flexible) {
        w.writeCompactString(topic);
        w.writeCompactArrayLength(ids.size);
      } else {
        w.writeString(topic);
        w.writeArrayLength(ids.size);
      }
      for (const id of ids) w.writeInt32(id);
      if (flexible) w.writeUnsignedVarint(0);
    }
  }
  w.writeInt64(BigInt(transit.txnLastUpdateTimestamp));
  w.writeInt64(BigInt(transit.txnStartTimestamp));
  if (flexible) {
    // Tagged fields in tag order, each only when not at its default (KIP-482).
    const tagged: Array<[number, Buffer]> = [];
    const int64 = (v: bigint): Buffer => new Writer(8).writeInt64(v).toBuffer();
    if (transit.lastProducerId !== NO_PRODUCER_ID) tagged.push([PREVIOUS_PRODUCER_ID_TAG, int64(transit.lastProducerId)]);
    if (transit.nextProducerId !== NO_PRODUCER_ID) tagged.push([NEXT_PRODUCER_ID_TAG, int64(transit.nextProducerId)]);
    if (transit.clientTransactionVersion !== 0) tagged.push([CLIENT_TRANSACTION_VERSION_TAG, new Writer(2).writeInt16(transit.clientTransactionVersion).toBuffer()]);
    w.writeUnsignedVarint(tagged.length);
    for (const [tag, bytes] of tagged) {
      w.writeUnsignedVarint(tag);
      w.writeUnsignedVarint(bytes.length);
      w.writeRaw(bytes);
    }
  }
  return w.toBuffer();
}

/**
 * Kafka's readTxnRecordValue: the metadata a value holds (lastProducerId and lastProducerEpoch -1, no pending
 * state), or undefined for a tombstone. Throws TransactionStateError for an unknown version or state id, and
 * ProtocolDecodeError for truncated bytes.
 */
export function decodeTransactionLogValue(transactionalId: string, value: Buffer | null): TransactionMetadata | undefined {
  if (value === null) return undefined;
  const r = new Reader(value);
  const version = r.readInt16();
  if (version < 0 || version > HIGHEST_VALUE_VERSION) {
    throw new TransactionStateError(`Unknown version ${version} from the transaction log message value`);
  }
  const flexible = version >= 1;
  const producerId = r.readInt64();
  const producerEpoch = r.readInt16();
  const txnTimeoutMs = r.readInt32();
  const state = transactionStateFromId(r.readInt8());
  const count = flexible ? r.readCompactArrayLength() : r.readArrayLength();
  const partitions = new Map<string, Set<number>>();
  for (let i = 0; i < count; i++) {
    const topic = flexible ? r.readCompactString() : r.readString();
    const n = flexible ? r.readCompactArrayLength() : r.readArrayLength();
    let set = partitions.get(topic);
    if (set === undefined) partitions.set(topic, (set = new Set()));
    for (let j = 0; j < n; j++) set.add(r.readInt32());
    if (flexible) r.skipTaggedFields();
  }
  const txnLastUpdateTimestamp = Number(r.readInt64());
  const txnStartTimestamp = Number(r.readInt64());
  let lastProducerId = NO_PRODUCER_ID;
  let nextProducerId = NO_PRODUCER_ID;
  let clientTransactionVersion = 0;
  if (flexible) {
    const n = r.readUnsignedVarint();
    for (let i = 0; i < n; i++) {
      const tag = r.readUnsignedVarint();
      const end = r.readTaggedFieldEnd();
      if (tag === PREVIOUS_PRODUCER_ID_TAG) lastProducerId = r.readInt64();
      else if (tag === NEXT_PRODUCER_ID_TAG) nextProducerId = r.readInt64();
      else if (tag === CLIENT_TRANSACTION_VERSION_TAG) clientTransactionVersion = r.readInt16();
      r.finishTaggedField(end);
    }
  }
  return new TransactionMetadata({
    transactionalId,
    producerId,
    lastProducerId,
    nextProducerId,
    clientTransactionVersion,
    producerEpoch,
    lastProducerEpoch: NO_PRODUCER_EPOCH,
    txnTimeoutMs,
    state,
    // Kafka ignores the partitions of an Empty value.
    topicPartitions: state === 'Empty' ? new Map() : partitions,
    txnStartTimestamp,
    txnLastUpdateTimestamp,
  });
}

/** A record of `__transaction_state`: key and value (null: a tombstone). */
export type TransactionLogRecord = KeyValueRecord;

export interface TransactionLogOptions {
  logs: LogManager;
  topics: TopicRegistry;
  logger: Logger;
  /** Whether appends wait for the fsync (the broker's acks=-1 rule: `flushOnAckAll`). */
  durable: boolean;
  /** Cluster mode: appends go to the partition's leader and wait for the ISR (internal-topic-log.ts). */
  replication?: InternalTopicReplication;
}

/** Reads and appends the partitions of `__transaction_state` through the broker's own log. */
export class TransactionLog {
  private readonly log: InternalTopicLog;

  constructor(private readonly options: TransactionLogOptions) {
    this.log = new InternalTopicLog({ ...options, name: TRANSACTION_STATE_TOPIC_NAME, configs: TRANSACTION_STATE_TOPIC_CONFIGS });
  }

  /** The topic, when it exists. */
  get topic(): TopicInfo | undefined {
    return this.log.topic;
  }

  /** Creates `__transaction_state` with `partitions` partitions unless it exists; resolves once its logs exist. */
  ensureTopic(partitions: number): Promise<TopicInfo> {
    return this.log.ensureTopic(partitions);
  }

  /** Whether the partition's log is there to be read (not offline, not missing). */
  hasLog(partition: number): boolean {
    return this.log.hasLog(partition);
  }

  /**
   * Appends `records` as one batch to the partition and resolves once written (and fsynced when `durable`).
   * Throws KafkaError with the log's code (InternalTopicLog.append).
   */
  async append(partition: number, records: readonly TransactionLogRecord[], timestampMs: number): Promise<void> {
    await this.log.append(partition, buildKeyValueBatch(records, timestampMs));
  }

  /**
   * Reads the partition from its log start to its high watermark: the transaction metadata of each transactional
   * id it holds, the last record per key winning and a tombstone removing the key. An undecodable record or read
   * error stops the load there (logged at error, as Kafka's loader does) and what was read is returned.
   */
  async load(partition: number): Promise<Map<string, TransactionMetadata>> {
    const loaded = new Map<string, TransactionMetadata>();
    const logger = this.options.logger;
    await this.log.scan(partition, {
      record: (record, offset) => {
        if (record.key === null) throw new TransactionStateError(`Transaction state log's key should not be null (offset ${offset})`);
        const key = decodeTransactionLogKey(record.key);
        if (key.transactionalId === undefined) {
          logger.warn({ partition, keyVersion: key.version }, 'ignoring a transaction log record with an unknown key version');
          return;
        }
        const metadata = decodeTransactionLogValue(key.transactionalId, record.value);
        if (metadata === undefined) loaded.delete(key.transactionalId);
        else loaded.set(key.transactionalId, metadata);
      },
    });
    return loaded;
  }
}
