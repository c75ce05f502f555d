// Which topics and partitions one DescribeTopicPartitions answer holds (KIP-966), as Kafka 3.9 pages them
// (DescribeTopicPartitionsRequestHandler + KRaftMetadataCache.getTopicMetadataForDescribeTopicResponse):
//
// - The candidates: the requested names, or (no names) every topic; deduplicated, only names >= the cursor's topic
//   (by UTF-16 code units, Java's String.compareTo), in that sorted order.
// - A cursor naming a topic that is not among the requested names, or with a negative partition, fails the whole
//   request: INVALID_REQUEST with Kafka's message.
// - The budget is the request's ResponsePartitionLimit clamped to [1, max.request.partition.size.limit = 2000].
//   Walking the candidates with partitions left in the budget:
//
//     candidate                     entry                                      then
//     exists, fits                  partitions from its start to its end       budget -= partitions given
//     exists, does not fit          partitions from its start, up to budget    next cursor = (topic, first left out)
//     missing, names requested      error entry: INVALID_TOPIC_EXCEPTION for   (nothing counted)
//                                   an illegal name, else UNKNOWN_TOPIC_...
//     missing, all topics           none                                       (deleted meanwhile)
//
//   Once the budget is spent exactly, the next candidate (existing or not) becomes the next cursor at partition 0.
//   The start is the cursor's partition for the cursor's topic, 0 for the others; a start past the end gives
//   the topic with no partitions.
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { topicNameProblem, type TopicInfo, type TopicRegistry } from './topic-registry.js';

/** Kafka's max.request.partition.size.limit default (ServerConfigs). */
export const MAX_REQUEST_PARTITION_SIZE_LIMIT = 2000;

export interface TopicPartitionsCursor {
  topicName: string;
  partitionIndex: number;
}

export type TopicPartitionsEntry =
  /** Partitions [firstPartition, endPartition) of an existing topic. */
  | { name: string; topic: TopicInfo; firstPartition: number; endPartition: number }
  | { name: string; topic: undefined; errorCode: number };

export interface TopicPartitionsPage {
  topics: TopicPartitionsEntry[];
  nextCursor: TopicPartitionsCursor | null;
}

/**
 * One page (the header's rules). `names` null = every topic. Throws KafkaError(INVALID_REQUEST) for a cursor Kafka
 * refuses.
 */
export function pageTopicPartitions(
  registry: TopicRegistry,
  names: readonly string[] | null,
  cursor: TopicPartitionsCursor | null,
  responsePartitionLimit: number,
): TopicPartitionsPage {
  const cursorTopic = cursor?.topicName ?? '';
  const candidates = new Set<string>();
  for (const name of names ?? registry.list().map((t) => t.name)) if (name >= cursorTopic) candidates.add(name);
  if (names !== null && cursor !== null && !candidates.has(cursor.topicName)) {
    throw new KafkaError(ErrorCode.INVALID_REQUEST, `DescribeTopicPartitionsRequest topic list should contain the cursor topic: ${cursor.topicName}`);
  }
  if (cursor !== null && cursor.partitionIndex < 0) {
    throw new KafkaError(
      ErrorCode.INVALID_REQUEST,
      `DescribeTopicPartitionsRequest cursor partition must be valid: Cursor(topicName='${cursor.topicName}', partitionIndex=${cursor.partitionIndex})`,
    );
  }
  const sorted = [...candidates].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let remaining = Math.max(Math.min(MAX_REQUEST_PARTITION_SIZE_LIMIT, responsePartitionLimit), 1);
  const page: TopicPartitionsPage = { topics: [], nextCursor: null };
  for (const name of sorted) {
    if (remaining === 0) {
      page.nextCursor = { topicName: name, partitionIndex: 0 };
      break;
    }
    const topic = registry.get(name);
    if (topic === undefined) {
      if (names !== null) {
        const errorCode = topicNameProblem(name) === null ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
        page.topics.push({ name, topic: undefined, errorCode });
      }
      continue;
    }
    const firstPartition = cursor !== null && name === cursor.topicName ? cursor.partitionIndex : 0;
    const endPartition = Math.min(topic.partitions, firstPartition + remaining);
    page.topics.push({ name, topic, firstPartition, endPartition });
    if (endPartition < topic.partitions) {
      page.nextCursor = { topicName: name, partitionIndex: endPartition };
      break;
    }
    remaining -= Math.max(0, endPartition - firstPartition);
  }
  return page;
}
