// The group coordinator's records in `__consumer_offsets`, byte for byte as Kafka 3.9 writes and reads them
// (GroupMetadataManager.offsetCommitKey/Value, groupMetadataKey/Value, readMessageKey, readOffsetMessageValue,
// readGroupMessageValue; schemas OffsetCommitKey.json, OffsetCommitValue.json, GroupMetadataKey.json,
// GroupMetadataValue.json in ../shared/kafka-protocol/internal-records/), so tools that decode the topic (Kafka's
// OffsetsMessageFormatter, lag exporters, kcat with a decoder) read ours.
//
// Every key and value starts with an int16 version. Versions before the first flexible one use int16-length
// strings, int32-length bytes and int32 array counts; flexible versions (4+ for values) use unsigned varints of
// length + 1 (0 = null) and end each struct with a tagged-field section.
//
//   key                      version   fields
//   OffsetCommitKey          0, 1      string group, string topic, int32 partition     (1 is written)
//   GroupMetadataKey         2         string group
//   ConsumerGroup*Key        3–8       consumer-protocol groups (KIP-848): consumer-group/records.ts
//   any other key version              unknown: skipped with a warning, as Kafka's UnknownKey
//
//   value (null = tombstone) written                         fields
//   OffsetCommitValue        1 with an explicit expiry,      int64 offset, int32 leaderEpoch (3+), string metadata,
//                            3 otherwise; 0–4 read           int64 commitTimestamp, int64 expireTimestamp (1 only)
//   GroupMetadataValue       3; 0–4 read                     string protocolType ("" = none), int32 generation,
//                                                            nullable string protocol, nullable string leader,
//                                                            int64 currentStateTimestamp (2+, -1 = unknown),
//                                                            members[]: string memberId, nullable string
//                                                            groupInstanceId (3+), string clientId, string
//                                                            clientHost, int32 rebalanceTimeout (1+; v0 uses the
//                                                            session timeout), int32 sessionTimeout, bytes
//                                                            subscription, bytes assignment
// A value version outside 0–4 throws (Kafka's IllegalStateException "Unknown offset message version").
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { readConsumerGroupRecordKey, type ConsumerGroupRecord, type ConsumerGroupRecordKey } from './consumer-group/records.js';

/** StoredOffset.expireTimestampMs when the offset has no explicit expiry (OffsetCommitRequest.DEFAULT_TIMESTAMP). */
export const NO_EXPIRE_TIMESTAMP = -1;

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const GROUP_METADATA_KEY_VERSION = 2;
const HIGHEST_VALUE_VERSION = 4;

export interface StoredOffset {
  groupId: string;
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
  /** NO_EXPIRE_TIMESTAMP (-1): no explicit expiry (Kafka 2.1+ semantics); else the v2–v4 per-commit expiry time. */
  expireTimestampMs: number;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface StoredGroup {
  groupId: string;
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leader: string | null;
  currentStateTimestampMs: number;
  members: StoredMember[];
}

/** A change to the group coordinator's durable state, as the coordinator asks for it. */
export type StoreRecord =
  | { type: 'offset'; value: StoredOffset }
  | { type: 'offset-delete'; groupId: string; topic: string; partition: number }
  | { type: 'group'; value: StoredGroup }
  | { type: 'group-delete'; groupId: string }
  | { type: 'consumer-group'; record: ConsumerGroupRecord };

export type GroupRecordKey =
  | { kind: 'offset'; groupId: string; topic: string; partition: number }
  | { kind: 'group'; groupId: string }
  | { kind: 'consumer-group'; key: ConsumerGroupRecordKey }
  | { kind: 'unknown'; version: number };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A millisecond timestamp as int64, clamped to the int64 range (Number(Long.MAX) is 2^63, one past it). */
export function int64FromMs(ms: number): bigint {
  const v = BigInt(ms);
  return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v;
}

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  return new Writer(12 + groupId.length * 3 + topic.length * 3)
    .writeInt16(OFFSET_COMMIT_KEY_VERSION)
    .writeString(groupId)
    .writeString(topic)
    .writeInt32(partition)
    .toBuffer();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  return new Writer(4 + groupId.length * 3).writeInt16(GROUP_METADATA_KEY_VERSION).writeString(groupId).toBuffer();
}

/** Kafka's readMessageKey. Throws ProtocolDecodeError on truncated bytes. */
export function decodeGroupRecordKey(key: Buffer): GroupRecordKey {
  const r = new Reader(key);
  const version = r.readInt16();
  if (version === 0 || version === 1) return { kind: 'offset', groupId: r.readString(), topic: r.readString(), partition: r.readInt32() };
  if (version === GROUP_METADATA_KEY_VERSION) return { kind: 'group', groupId: r.readString() };
  const consumerGroupKey = readConsumerGroupRecordKey(version, r);
  if (consumerGroupKey !== undefined) return { kind: 'consumer-group', key: consumerGroupKey };
  return { kind: 'unknown', version };
}

/** Kafka's offsetCommitValue: version 1 when the commit has an explicit expiry, else 3. */
export function encodeOffsetCommitValue(o: StoredOffset): Buffer {
  const metadata = o.metadata ?? '';
  const w = new Writer(40 + metadata.length * 3);
  if (o.expireTimestampMs !== NO_EXPIRE_TIMESTAMP) {
    w.writeInt16(1).writeInt64(o.offset).writeString(metadata).writeInt64(int64FromMs(o.commitTimestampMs)).writeInt64(int64FromMs(o.expireTimestampMs));
  } else {
    w.writeInt16(3).writeInt64(o.offset).writeInt32(o.leaderEpoch).writeString(metadata).writeInt64(int64FromMs(o.commitTimestampMs));
  }
  return w.toBuffer();
}

function checkValueVersion(version: number, what: string): void {
  if (version < 0 || version > HIGHEST_VALUE_VERSION) throw new RangeError(`Unknown ${what} message version: ${version}`);
}

/** Kafka's readOffsetMessageValue for a non-null value. */
export function decodeOffsetCommitValue(groupId: string, topic: string, partition: number, value: Buffer): StoredOffset {
  const r = new Reader(value);
  const version = r.readInt16();
  checkValueVersion(version, 'offset');
  const flexible = version >= 4;
  const offset = r.readInt64();
  const leaderEpoch = version >= 3 ? r.readInt32() : -1;
  const metadata = flexible ? r.readCompactString() : r.readString();
  const commitTimestampMs = Number(r.readInt64());
  const expireTimestampMs = version === 1 ? Number(r.readInt64()) : NO_EXPIRE_TIMESTAMP;
  if (flexible) r.skipTaggedFields();
  return { groupId, topic, partition, offset, leaderEpoch, metadata, commitTimestampMs, expireTimestampMs };
}

/** Kafka's groupMetadataValue at version 3 (a group without a protocol type writes ""). */
export function encodeGroupMetadataValue(g: StoredGroup): Buffer {
  const w = new Writer(64);
  w.writeInt16(3);
  w.writeString(g.protocolType ?? '');
  w.writeInt32(g.generationId);
  w.writeNullableString(g.protocolName);
  w.writeNullableString(g.leader);
  w.writeInt64(int64FromMs(g.currentStateTimestampMs));
  w.writeArrayLength(g.members.length);
  for (const m of g.members) {
    w.writeString(m.memberId);
    w.writeNullableString(m.groupInstanceId);
    w.writeString(m.clientId);
    w.writeString(m.clientHost);
    w.writeInt32(m.rebalanceTimeoutMs);
    w.writeInt32(m.sessionTimeoutMs);
    w.writeBytes(m.subscription);
    w.writeBytes(m.assignment);
  }
  return w.toBuffer();
}

/** Kafka's readGroupMessageValue for a non-null value. */
export function decodeGroupMetadataValue(groupId: string, value: Buffer): StoredGroup {
  const r = new Reader(value);
  const version = r.readInt16();
  checkValueVersion(version, 'group metadata');
  const flexible = version >= 4;
  const str = () => (flexible ? r.readCompactString() : r.readString());
  const nullableStr = () => (flexible ? r.readCompactNullableString() : r.readNullableString());
  const bytes = () => Buffer.from(flexible ? r.readCompactBytes() : r.readBytes());
  const protocolType = str();
  const generationId = r.readInt32();
  const protocolName = nullableStr();
  const leader = nullableStr();
  const currentStateTimestampMs = version >= 2 ? Number(r.readInt64()) : -1;
  const count = flexible ? r.readCompactArrayLength() : r.readArrayLength();
  const members: StoredMember[] = [];
  for (let i = 0; i < count; i++) {
    const memberId = str();
    const groupInstanceId = version >= 3 ? nullableStr() : null;
    const clientId = str();
    const clientHost = str();
    const rebalanceTimeout = version >= 1 ? r.readInt32() : undefined;
    const sessionTimeoutMs = r.readInt32();
    const subscription = bytes();
    const assignment = bytes();
    if (flexible) r.skipTaggedFields();
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs: rebalanceTimeout ?? sessionTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  if (flexible) r.skipTaggedFields();
  return { groupId, protocolType: protocolType === '' ? null : protocolType, generationId, protocolName, leader, currentStateTimestampMs, members };
}
