// Decoding the "consumer" protocol's opaque group bytes (Kafka's ConsumerProtocolSubscription and
// ConsumerProtocolAssignment schemas, clients/src/main/resources/common/message/ConsumerProtocol*.json): every
// version starts with int16 version, then the fields of v0, which later versions only extend at the end:
//
//   Subscription  version int16, topics [string], userData nullable bytes, (v1+) ownedPartitions, ...
//   Assignment    version int16, assignedPartitions [topic string, partitions [int32]], userData nullable bytes
//
// Strings are int16-length, arrays int32-count (these schemas are never flexible). Anything that does not parse
// (another protocol type such as "connect") decodes as undefined.

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

class Cursor {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  int16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  string(): string {
    const n = this.int16();
    if (n < 0 || this.pos + n > this.buf.length) throw new RangeError('bad string');
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  count(): number {
    const n = this.int32();
    if (n < 0 || n > this.buf.length) throw new RangeError('bad array');
    return n;
  }
}

/** The partitions a member was assigned, or undefined when the bytes are not a consumer assignment. */
export function decodeConsumerAssignment(bytes: Buffer): TopicPartitions[] | undefined {
  if (bytes.length === 0) return [];
  try {
    const c = new Cursor(bytes);
    if (c.int16() < 0) return undefined;
    const out: TopicPartitions[] = [];
    for (let i = 0, n = c.count(); i < n; i++) {
      const topic = c.string();
      const partitions: number[] = [];
      for (let j = 0, m = c.count(); j < m; j++) partitions.push(c.int32());
      out.push({ topic, partitions });
    }
    return out;
  } catch {
    return undefined;
  }
}

/** The topics a member subscribed to, or undefined when the bytes are not a consumer subscription. */
export function decodeConsumerSubscription(bytes: Buffer): string[] | undefined {
  try {
    const c = new Cursor(bytes);
    if (c.int16() < 0) return undefined;
    const topics: string[] = [];
    for (let i = 0, n = c.count(); i < n; i++) topics.push(c.string());
    return topics;
  } catch {
    return undefined;
  }
}
