// The small Kafka client the `eddy` CLI uses, built on the generated codec (STYLE.md §13).
export { KafkaClient, parseBootstrap, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from './client.js';
export type { ClientOptions, ClusterMetadata, TopicInfo, PartitionInfo, BrokerInfo, TopicSpec, TopicResult, CommittedOffset, PartitionOffset } from './client.js';
export { Connection } from './connection.js';
export { KafkaClientError, ConnectionError, UnsupportedApiError } from './errors.js';
export { buildRecordBatch, decodeRecordBatches } from './records.js';
export type { ProducerRecord, ConsumedRecord, RecordHeader, Compression } from './records.js';
export { decodeConsumerAssignment, decodeConsumerSubscription } from './consumer-protocol.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export { errorMessage } from './error-messages.js';
