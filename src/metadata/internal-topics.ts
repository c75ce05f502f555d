// The broker's own topics and how keys map to their partitions, as Kafka maps them.
//
//   topic                 holds                                      partitions (Kafka config, default)   key
//   __consumer_offsets    committed offsets and group metadata       offsets.topic.num.partitions, 50     group id
//   __transaction_state   transaction coordinator state              transaction.state.log.num.partitions, 50
//                                                                                                         transactional id
//
// A key's partition is Utils.abs(key.hashCode()) % partitions (GroupCoordinator.partitionFor,
// TransactionStateManager.partitionFor), with Java's String.hashCode over UTF-16 code units and Utils.abs mapping
// Integer.MIN_VALUE to 0. Both topics are compacted; clients may read them but never produce to them.

export const OFFSETS_TOPIC_NAME = '__consumer_offsets';
export const TRANSACTION_STATE_TOPIC_NAME = '__transaction_state';
export const DEFAULT_OFFSETS_TOPIC_PARTITIONS = 50;
export const DEFAULT_TRANSACTION_STATE_TOPIC_PARTITIONS = 50;

/** Java's String.hashCode: s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in int32 arithmetic. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's Utils.abs: the absolute value, except Integer.MIN_VALUE maps to 0. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The partition of an internal topic with `partitions` partitions that owns `key` (group or transactional id). */
export function internalPartitionFor(key: string, partitions: number): number {
  return kafkaAbs(javaStringHashCode(key)) % partitions;
}
