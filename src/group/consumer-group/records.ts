// The records of consumer-protocol groups (KIP-848) in `__consumer_offsets`, byte for byte as Kafka 3.9 writes
// them (CoordinatorRecordHelpers; schemas ConsumerGroup*Key.json / ConsumerGroup*Value.json in
// ../shared/kafka-protocol/internal-records/), so tools that decode the topic read ours.
//
// A key is an int16 key version followed by a non-flexible struct (int16-length strings); the version names the
// record type. A value is an int16 value version (0) followed by a flexible struct (compact strings and arrays,
// unsigned varint length + 1, a tagged-field section ending each struct). A null value is a tombstone.
//
//   key version  record                        key fields             value fields (version 0)
//   3            ConsumerGroupMetadata         group                  int32 epoch
//   4            ConsumerGroupPartitionMetadata group                 topics[]: uuid id, string name, int32 partitions,
//                                                                      partitionMetadata[]: int32 partition, racks[]
//   5            ConsumerGroupMemberMetadata   group, member          nullable instanceId, nullable rackId, clientId,
//                                                                      clientHost, subscribedTopicNames[], nullable
//                                                                      subscribedTopicRegex, int32 rebalanceTimeoutMs,
//                                                                      nullable serverAssignor; tagged 0: nullable
//                                                                      classicMemberMetadata {int32 sessionTimeoutMs,
//                                                                      supportedProtocols[]: name, bytes metadata}
//   6            ConsumerGroupTargetAssignmentMetadata group          int32 assignmentEpoch
//   7            ConsumerGroupTargetAssignmentMember   group, member  topicPartitions[]: uuid, int32[] partitions
//   8            ConsumerGroupCurrentMemberAssignment  group, member  int32 memberEpoch, int32 previousMemberEpoch,
//                                                                      int8 state, assignedPartitions[],
//                                                                      partitionsPendingRevocation[] (uuid, int32[])
// A value version other than 0 throws (the loader logs it and stops that partition's load, as for other records).
// Racks are written as an empty partition metadata list (Eddy has no racks), as Kafka does when no rack is known.
import { Reader } from '../../protocol/reader.js';
import { Writer } from '../../protocol/writer.js';
import { assignmentFrom, assignmentToList, type Assignment } from './assignment.js';
import type { ClassicMemberMetadata, ConsumerGroupMember, MemberStateValue } from './member.js';

export const CONSUMER_GROUP_METADATA_KEY_VERSION = 3;
export const CONSUMER_GROUP_PARTITION_METADATA_KEY_VERSION = 4;
export const CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION = 5;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION = 6;
export const CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION = 7;
export const CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION = 8;

export interface SubscribedTopicMetadata {
  topicId: string;
  name: string;
  numPartitions: number;
}

/** The subscription part of a member (ConsumerGroupMemberMetadataValue). */
export type MemberSubscription = Pick<
  ConsumerGroupMember,
  'instanceId' | 'rackId' | 'clientId' | 'clientHost' | 'subscribedTopicNames' | 'subscribedTopicRegex' | 'rebalanceTimeoutMs' | 'serverAssignor' | 'classicMemberMetadata'
>;

/** The reconciliation part of a member (ConsumerGroupCurrentMemberAssignmentValue). */
export type MemberCurrentAssignment = Pick<ConsumerGroupMember, 'memberEpoch' | 'previousMemberEpoch' | 'state' | 'assignedPartitions' | 'partitionsPendingRevocation'>;

/** One consumer group record, as the coordinator builds and replays it; `value: null` is a tombstone. */
export type ConsumerGroupRecord =
  | { type: 'epoch'; groupId: string; value: number | null }
  | { type: 'partition-metadata'; groupId: string; value: SubscribedTopicMetadata[] | null }
  | { type: 'member'; groupId: string; memberId: string; value: MemberSubscription | null }
  | { type: 'target-epoch'; groupId: string; value: number | null }
  | { type: 'target-member'; groupId: string; memberId: string; value: Assignment | null }
  | { type: 'current-assignment'; groupId: string; memberId: string; value: MemberCurrentAssignment | null };

function key(version: number, groupId: string, memberId?: string): Buffer {
  const w = new Writer(8 + groupId.length * 3 + (memberId?.length ?? 0) * 3).writeInt16(version).writeString(groupId);
  if (memberId !== undefined) w.writeString(memberId);
  return w.toBuffer();
}

export function encodeConsumerGroupRecordKey(r: ConsumerGroupRecord): Buffer {
  switch (r.type) {
    case 'epoch':
      return key(CONSUMER_GROUP_METADATA_KEY_VERSION, r.groupId);
    case 'partition-metadata':
      return key(CONSUMER_GROUP_PARTITION_METADATA_KEY_VERSION, r.groupId);
    case 'member':
      return key(CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION, r.groupId, r.memberId);
    case 'target-epoch':
      return key(CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION, r.groupId);
    case 'target-member':
      return key(CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION, r.groupId, r.memberId);
    case 'current-assignment':
      return key(CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION, r.groupId, r.memberId);
  }
}

function writeTopicPartitions(w: Writer, a: Assignment): void {
  const list = assignmentToList(a);
  w.writeCompactArrayLength(list.length);
  for (const t of list) {
    w.writeUuid(t.topicId);
    w.writeCompactArrayLength(t.partitions.length);
    for (const p of t.partitions) w.writeInt32(p);
    w.writeUnsignedVarint(0);
  }
}

function readTopicPartitions(r: Reader): Assignment {
  const n = r.readCompactArrayLength();
  const list: Array<{ topicId: Buffer; partitions: number[] }> = [];
  for (let i = 0; i < n; i++) {
    const topicId = Buffer.from(r.readUuid());
    const count = r.readCompactArrayLength();
    const partitions: number[] = [];
    for (let k = 0; k < count; k++) partitions.push(r.readInt32());
    r.skipTaggedFields();
    list.push({ topicId, partitions });
  }
  return assignmentFrom(list);
}

function encodeClassicMemberMetadata(c: ClassicMemberMetadata): Buffer {
  const w = new Writer(64);
  w.writeInt32(c.sessionTimeoutMs);
  w.writeCompactArrayLength(c.supportedProtocols.length);
  for (const p of c.supportedProtocols) {
    w.writeCompactString(p.name);
    w.writeCompactBytes(p.metadata);
    w.writeUnsignedVarint(0);
  }
  w.writeUnsignedVarint(0);
  return w.toBuffer();
}

/** The value bytes (null for a tombstone). */
export function encodeConsumerGroupRecordValue(r: ConsumerGroupRecord): Buffer | null {
  if (r.value === null) return null;
  const w = new Writer(64);
  w.writeInt16(0);
  switch (r.type) {
    case 'epoch':
    case 'target-epoch':
      w.writeInt32(r.value);
      w.writeUnsignedVarint(0);
      break;
    case 'partition-metadata':
      w.writeCompactArrayLength(r.value.length);
      for (const t of r.value) {
        w.writeUuid(Buffer.from(t.topicId, 'hex'));
        w.writeCompactString(t.name);
        w.writeInt32(t.numPartitions);
        w.writeCompactArrayLength(0);
        w.writeUnsignedVarint(0);
      }
      w.writeUnsignedVarint(0);
      break;
    case 'member': {
      const m = r.value;
      w.writeCompactNullableString(m.instanceId);
      w.writeCompactNullableString(m.rackId);
      w.writeCompactString(m.clientId);
      w.writeCompactString(m.clientHost);
      w.writeCompactArrayLength(m.subscribedTopicNames.length);
      for (const t of m.subscribedTopicNames) w.writeCompactString(t);
      w.writeCompactNullableString(m.subscribedTopicRegex);
      w.writeInt32(m.rebalanceTimeoutMs);
      w.writeCompactNullableString(m.serverAssignor);
      if (m.classicMemberMetadata === null) {
        w.writeUnsignedVarint(0);
      } else {
        // Tagged field 0, a nullable struct: presence byte 1, then the struct.
        const struct = encodeClassicMemberMetadata(m.classicMemberMetadata);
        w.writeUnsignedVarint(1);
        w.writeUnsignedVarint(0);
        w.writeUnsignedVarint(struct.length + 1);
        w.writeInt8(1);
        w.writeRaw(struct);
      }
      break;
    }
    case 'target-member':
      writeTopicPartitions(w, r.value);
      w.writeUnsignedVarint(0);
      break;
    case 'current-assignment':
      w.writeInt32(r.value.memberEpoch);
      w.writeInt32(r.value.previousMemberEpoch);
      w.writeInt8(r.value.state);
      writeTopicPartitions(w, r.value.assignedPartitions);
      writeTopicPartitions(w, r.value.partitionsPendingRevocation);
      w.writeUnsignedVarint(0);
      break;
  }
  return w.toBuffer();
}

/** A decoded consumer group key; the value is decoded separately with it. */
export type ConsumerGroupRecordKey = { type: ConsumerGroupRecord['type']; groupId: string; memberId: string | undefined };

/** Reads the rest of a key whose version (already read) is 3–8; undefined for any other version. */
export function readConsumerGroupRecordKey(version: number, r: Reader): ConsumerGroupRecordKey | undefined {
  switch (version) {
    case CONSUMER_GROUP_METADATA_KEY_VERSION:
      return { type: 'epoch', groupId: r.readString(), memberId: undefined };
    case CONSUMER_GROUP_PARTITION_METADATA_KEY_VERSION:
      return { type: 'partition-metadata', groupId: r.readString(), memberId: undefined };
    case CONSUMER_GROUP_MEMBER_METADATA_KEY_VERSION:
      return { type: 'member', groupId: r.readString(), memberId: r.readString() };
    case CONSUMER_GROUP_TARGET_ASSIGNMENT_METADATA_KEY_VERSION:
      return { type: 'target-epoch', groupId: r.readString(), memberId: undefined };
    case CONSUMER_GROUP_TARGET_ASSIGNMENT_MEMBER_KEY_VERSION:
      return { type: 'target-member', groupId: r.readString(), memberId: r.readString() };
    case CONSUMER_GROUP_CURRENT_MEMBER_ASSIGNMENT_KEY_VERSION:
      return { type: 'current-assignment', groupId: r.readString(), memberId: r.readString() };
    default:
      return undefined;
  }
}

function readClassicMemberMetadata(r: Reader): ClassicMemberMetadata {
  const sessionTimeoutMs = r.readInt32();
  const n = r.readCompactArrayLength();
  const supportedProtocols: ClassicMemberMetadata['supportedProtocols'] = [];
  for (let i = 0; i < n; i++) {
    const name = r.readCompactString();
    const metadata = Buffer.from(r.readCompactBytes());
    r.skipTaggedFields();
    supportedProtocols.push({ name, metadata });
  }
  r.skipTaggedFields();
  return { sessionTimeoutMs, supportedProtocols };
}

/** Decodes the value of a record with this key (null value: a tombstone). Throws on an unknown value version. */
export function decodeConsumerGroupRecord(k: ConsumerGroupRecordKey, value: Buffer | null): ConsumerGroupRecord {
  const { groupId } = k;
  const memberId = k.memberId ?? '';
  if (value === null) {
    switch (k.type) {
      case 'member':
      case 'target-member':
      case 'current-assignment':
        return { type: k.type, groupId, memberId, value: null };
      default:
        return { type: k.type, groupId, value: null };
    }
  }
  const r = new Reader(value);
  const version = r.readInt16();
  if (version !== 0) throw new RangeError(`Unknown consumer group record value version ${version}`);
  switch (k.type) {
    case 'epoch':
    case 'target-epoch': {
      const epoch = r.readInt32();
      r.skipTaggedFields();
      return { type: k.type, groupId, value: epoch };
    }
    case 'partition-metadata': {
      const n = r.readCompactArrayLength();
      const topics: SubscribedTopicMetadata[] = [];
      for (let i = 0; i < n; i++) {
        const topicId = Buffer.from(r.readUuid()).toString('hex');
        const name = r.readCompactString();
        const numPartitions = r.readInt32();
        const pm = r.readCompactArrayLength();
        for (let j = 0; j < pm; j++) {
          r.readInt32();
          const racks = r.readCompactArrayLength();
          for (let q = 0; q < racks; q++) r.readCompactString();
          r.skipTaggedFields();
        }
        r.skipTaggedFields();
        topics.push({ topicId, name, numPartitions });
      }
      r.skipTaggedFields();
      return { type: 'partition-metadata', groupId, value: topics };
    }
    case 'member': {
      const instanceId = r.readCompactNullableString();
      const rackId = r.readCompactNullableString();
      const clientId = r.readCompactString();
      const clientHost = r.readCompactString();
      const n = r.readCompactArrayLength();
      const subscribedTopicNames: string[] = [];
      for (let i = 0; i < n; i++) subscribedTopicNames.push(r.readCompactString());
      const regex = r.readCompactNullableString();
      const rebalanceTimeoutMs = r.readInt32();
      const serverAssignor = r.readCompactNullableString();
      let classicMemberMetadata: ClassicMemberMetadata | null = null;
      const tags = r.readUnsignedVarint();
      for (let i = 0; i < tags; i++) {
        const tag = r.readUnsignedVarint();
        const size = r.readUnsignedVarint();
        if (tag === 0 && size > 0) {
          const present = r.readInt8();
          if (present >= 0 && present !== 0) classicMemberMetadata = readClassicMemberMetadata(r);
        } else {
          r.skip(size);
        }
      }
      return {
        type: 'member',
        groupId,
        memberId,
        value: {
          instanceId,
          rackId,
          clientId,
          clientHost,
          subscribedTopicNames,
          subscribedTopicRegex: regex === '' ? null : regex,
          rebalanceTimeoutMs,
          serverAssignor,
          classicMemberMetadata,
        },
      };
    }
    case 'target-member': {
      const a = readTopicPartitions(r);
      r.skipTaggedFields();
      return { type: 'target-member', groupId, memberId, value: a };
    }
    case 'current-assignment': {
      const memberEpoch = r.readInt32();
      const previousMemberEpoch = r.readInt32();
      const state = r.readInt8() as MemberStateValue;
      const assignedPartitions = readTopicPartitions(r);
      const partitionsPendingRevocation = readTopicPartitions(r);
      r.skipTaggedFields();
      return { type: 'current-assignment', groupId, memberId, value: { memberEpoch, previousMemberEpoch, state, assignedPartitions, partitionsPendingRevocation } };
    }
  }
}
