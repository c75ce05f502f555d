// Public API of the eddy package.
export { createBroker, type Broker, type BrokerOptions, type BrokerConfig } from './broker.js';
export { BrokerError, KafkaError } from './errors.js';
export { ErrorCode } from './protocol/error-codes.js';
