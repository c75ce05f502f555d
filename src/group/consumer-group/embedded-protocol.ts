// The "consumer" embedded protocol of classic groups (Kafka's ConsumerProtocolSubscription and
// ConsumerProtocolAssignment, clients/.../consumer/internals/ConsumerProtocol), read and written by the broker only
// where a classic member meets a consumer group (KIP-848 online upgrade and classic members of consumer groups):
//
//   Subscription (non-flexible)   int16 version; topics: int32 count × string; userData: nullable bytes;
//                                 v1+: ownedPartitions: int32 count × (string topic, int32 count × int32);
//                                 v2+: int32 generationId (default -1); v3+: nullable string rackId
//   Assignment   (non-flexible)   int16 version; assignedPartitions: int32 count × (string topic, int32 count ×
//                                 int32); userData: nullable bytes        (the same layout in versions 0–3)
// A version above 3 is read as version 3, as ConsumerProtocol does (a newer client puts its new fields after
// these). A malformed value throws ProtocolDecodeError (or RangeError); callers turn that into Kafka's answer.
import { Reader } from '../../protocol/reader.js';
import { Writer } from '../../protocol/writer.js';

export interface ConsumerProtocolSubscription {
  topics: string[];
  ownedPartitions: Array<{ topic: string; partitions: number[] }>;
  generationId: number;
  rackId: string | null;
}

function readTopicPartitions(r: Reader): Array<{ topic: string; partitions: number[] }> {
  const n = r.readArrayLength();
  const out: Array<{ topic: string; partitions: number[] }> = [];
  for (let i = 0; i < n; i++) {
    const topic = r.readString();
    const count = r.readArrayLength();
    const partitions: number[] = [];
    for (let k = 0; k < count; k++) partitions.push(r.readInt32());
    out.push({ topic, partitions });
  }
  return out;
}

export function decodeConsumerProtocolSubscription(bytes: Buffer): ConsumerProtocolSubscription {
  const r = new Reader(bytes);
  const version = r.readInt16();
  if (version < 0) throw new RangeError(`subscription version ${version}`);
  const n = r.readArrayLength();
  const topics: string[] = [];
  for (let i = 0; i < n; i++) topics.push(r.readString());
  r.readNullableBytes();
  const ownedPartitions = version >= 1 ? readTopicPartitions(r) : [];
  const generationId = version >= 2 ? r.readInt32() : -1;
  const rackId = version >= 3 ? r.readNullableString() : null;
  return { topics, ownedPartitions, generationId, rackId };
}

/** The assigned partitions by topic name. */
export function decodeConsumerProtocolAssignment(bytes: Buffer): Array<{ topic: string; partitions: number[] }> {
  if (bytes.length === 0) return [];
  const r = new Reader(bytes);
  const version = r.readInt16();
  if (version < 0) throw new RangeError(`assignment version ${version}`);
  return readTopicPartitions(r);
}

/** The version a member's subscription bytes start with (ConsumerProtocol.deserializeVersion), capped at 3. */
export function consumerProtocolVersion(subscription: Buffer): number {
  const version = new Reader(subscription).readInt16();
  if (version < 0) throw new RangeError(`subscription version ${version}`);
  return Math.min(version, 3);
}

export function encodeConsumerProtocolAssignment(version: number, assigned: ReadonlyArray<{ topic: string; partitions: readonly number[] }>): Buffer {
  const w = new Writer(64);
  w.writeInt16(version);
  w.writeArrayLength(assigned.length);
  for (const t of assigned) {
    w.writeString(t.topic);
    w.writeArrayLength(t.partitions.length);
    for (const p of t.partitions) w.writeInt32(p);
  }
  w.writeNullableBytes(null);
  return w.toBuffer();
}
