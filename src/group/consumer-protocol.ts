// Reading the topic list out of a "consumer" protocol subscription (Kafka's ConsumerProtocolSubscription, every
// version starts with int16 version, then an array of int16-length topic names). The broker otherwise treats
// member metadata as opaque bytes; it only needs the subscribed topics for OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC)
// and for expiring the offsets of topics a Stable consumer group no longer subscribes to, as Kafka does.

export const CONSUMER_PROTOCOL_TYPE = 'consumer';

/** The subscribed topics, or undefined when the bytes are not a consumer subscription. */
export function subscribedTopics(metadata: Buffer): string[] | undefined {
  try {
    let pos = 0;
    const version = metadata.readInt16BE(pos);
    pos += 2;
    if (version < 0) return undefined;
    const count = metadata.readInt32BE(pos);
    pos += 4;
    if (count < 0 || count > metadata.length) return undefined;
    const topics: string[] = [];
    for (let i = 0; i < count; i++) {
      const n = metadata.readInt16BE(pos);
      pos += 2;
      if (n < 0 || pos + n > metadata.length) return undefined;
      topics.push(metadata.toString('utf8', pos, pos + n));
      pos += n;
    }
    return topics;
  } catch {
    return undefined;
  }
}
