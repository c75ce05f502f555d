// The small Kafka client the `eddy` CLI uses, built on the generated codec (STYLE.md §13).
export { KafkaClient, parseBootstrap, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP } from './client.js';
export type { ClientOptions, ClusterMetadata, TopicInfo, PartitionInfo, BrokerInfo, TopicSpec, TopicResult, CommittedOffset, PartitionOffset } from './client.js';
export { Connection } from './connection.js';
export { CLIENT_SECURITY_PROTOCOLS, securityUsesSasl, securityUsesTls } from './security.js';
export type { ClientSecurity, ClientSecurityProtocol, ClientTlsOptions } from './security.js';
export { CLIENT_SASL_MECHANISMS, SaslClientError } from './sasl.js';
export type { SaslCredentials, SaslMechanismName } from './sasl.js';
export { KafkaClientError, ConnectionError, UnsupportedApiError } from './errors.js';
export { buildRecordBatch, decodeRecordBatches } from './records.js';
export type { ProducerRecord, ConsumedRecord, RecordHeader, Compression } from './records.js';
export { decodeConsumerAssignment, decodeConsumerSubscription } from './consumer-protocol.js';
export { partitionForKey, murmur2 } from './partitioner.js';
export { errorMessage } from './error-messages.js';
