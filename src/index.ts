// Public API of the eddy package.
export {
  createBroker,
  type Broker,
  type BrokerOptions,
  type BrokerConfig,
  type CreateTopicOptions,
  type CreatedTopic,
  type StoredRecord,
  type WaitForOffsetOptions,
  type FaultRules,
} from './broker.js';
export type { FaultRuleSpec, FaultRuleInfo, FaultAction } from './faults/index.js';
export { BrokerError, KafkaError } from './errors.js';
export { ErrorCode } from './protocol/error-codes.js';
