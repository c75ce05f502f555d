// Topic-level configuration: Kafka's property names, validation, and the mapping onto the log's settings.
//
// CreateTopics (and later AlterConfigs) pass configs as string pairs. A name Kafka does not know is rejected with
// INVALID_CONFIG, as Kafka does; a value of the wrong type or out of range is INVALID_CONFIG naming the key.
// Some configs are accepted and stored but not enforced yet because the feature lands in a later issue
// (retention and compaction: `retention.*`, `cleanup.policy`, `delete.retention.ms`, `min.compaction.lag.ms`…);
// `describeConfigs` will report them as set.
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import type { LogConfig } from '../log/log-config.js';

type Validator = (value: string) => boolean;

const LONG_MAX = 9223372036854775807n;

function longIn(min: bigint, max: bigint = LONG_MAX): Validator {
  return (v) => /^-?\d+$/.test(v.trim()) && BigInt(v.trim()) >= min && BigInt(v.trim()) <= max;
}
function intIn(min: number, max: number = 2 ** 31 - 1): Validator {
  return longIn(BigInt(min), BigInt(max));
}
const bool: Validator = (v) => v === 'true' || v === 'false';
const ratio: Validator = (v) => v.trim() !== '' && Number.isFinite(Number(v)) && Number(v) >= 0 && Number(v) <= 1;
function oneOf(...values: string[]): Validator {
  return (v) => values.includes(v);
}
const cleanupPolicy: Validator = (v) => v.split(',').every((p) => p.trim() === 'delete' || p.trim() === 'compact');

/** Every topic config Kafka 3.9 knows, with a validator. Only `compression.type=producer` is accepted because
 *  broker-side recompression would mean re-encoding batches. */
const TOPIC_CONFIGS: ReadonlyMap<string, Validator> = new Map<string, Validator>([
  ['cleanup.policy', cleanupPolicy],
  ['compression.type', oneOf('producer')],
  ['delete.retention.ms', longIn(0n)],
  ['file.delete.delay.ms', longIn(0n)],
  ['flush.messages', longIn(1n)],
  ['flush.ms', longIn(0n)],
  ['follower.replication.throttled.replicas', () => true],
  ['index.interval.bytes', intIn(0)],
  ['leader.replication.throttled.replicas', () => true],
  ['local.retention.bytes', longIn(-2n)],
  ['local.retention.ms', longIn(-2n)],
  ['max.compaction.lag.ms', longIn(1n)],
  ['max.message.bytes', intIn(0)],
  ['message.downconversion.enable', bool],
  ['message.format.version', () => true],
  ['message.timestamp.after.max.ms', longIn(0n)],
  ['message.timestamp.before.max.ms', longIn(0n)],
  ['message.timestamp.difference.max.ms', longIn(0n)],
  ['message.timestamp.type', oneOf('CreateTime', 'LogAppendTime')],
  ['min.cleanable.dirty.ratio', ratio],
  ['min.compaction.lag.ms', longIn(0n)],
  ['min.insync.replicas', intIn(1)],
  ['preallocate', bool],
  ['remote.storage.enable', oneOf('false')],
  ['retention.bytes', longIn(-1n)],
  ['retention.ms', longIn(-1n)],
  ['segment.bytes', intIn(14)],
  ['segment.index.bytes', intIn(4)],
  ['segment.jitter.ms', longIn(0n)],
  ['segment.ms', longIn(1n)],
  ['unclean.leader.election.enable', bool],
]);

export function isKnownTopicConfig(name: string): boolean {
  return TOPIC_CONFIGS.has(name);
}

/** Throws KafkaError(INVALID_CONFIG) for an unknown name, a null value, or a value out of range. */
export function validateTopicConfigs(configs: Record<string, string | null>): Record<string, string> {
  const valid: Record<string, string> = {};
  for (const [name, value] of Object.entries(configs)) {
    const validator = TOPIC_CONFIGS.get(name);
    if (validator === undefined) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
    if (value === null) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic config: ${name}`);
    if (!validator(value)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${value} for configuration ${name}`);
    valid[name] = value;
  }
  return valid;
}

function clampToSafe(value: string): number {
  const n = BigInt(value.trim());
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

/** The log settings for a topic: its own configs over the broker defaults. */
export function logConfigFor(configs: Record<string, string>, brokerDefaults: LogConfig): LogConfig {
  const c: LogConfig = { ...brokerDefaults };
  if (configs['segment.bytes'] !== undefined) c.segmentBytes = clampToSafe(configs['segment.bytes']);
  if (configs['segment.ms'] !== undefined) c.segmentMs = clampToSafe(configs['segment.ms']);
  if (configs['segment.index.bytes'] !== undefined) c.segmentIndexBytes = clampToSafe(configs['segment.index.bytes']);
  if (configs['index.interval.bytes'] !== undefined) c.indexIntervalBytes = clampToSafe(configs['index.interval.bytes']);
  if (configs['flush.messages'] !== undefined) c.flushMessages = clampToSafe(configs['flush.messages']);
  if (configs['flush.ms'] !== undefined) c.flushMs = clampToSafe(configs['flush.ms']);
  if (configs['message.timestamp.type'] !== undefined) {
    c.messageTimestampType = configs['message.timestamp.type'] as LogConfig['messageTimestampType'];
  }
  return c;
}

/** `max.message.bytes` for a topic, falling back to the broker's `message.max.bytes`. */
export function maxMessageBytesFor(configs: Record<string, string>, brokerMessageMaxBytes: number): number {
  const v = configs['max.message.bytes'];
  return v === undefined ? brokerMessageMaxBytes : clampToSafe(v);
}
