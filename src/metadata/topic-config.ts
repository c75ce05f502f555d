// Topic-level configuration: Kafka's property names, validated exactly as Kafka 3.9 validates them, and the
// mapping onto the log's settings.
//
// CreateTopics (and later AlterConfigs) pass configs as string pairs. Kafka's controller checks them in this order
// (ReplicationControlManager.computeConfigChanges, ControllerConfigurationValidator, LogConfig.validate), and the
// first failure is the topic's INVALID_CONFIG with Kafka's message:
//   1. any null value          "Null value not supported for topic configs: a,b"
//   2. an unknown name         "Unknown topic config name: x"
//   3. each config in LogConfig's definition order (set or default), parsed as ConfigDef.parseType parses it and
//      checked by its validator: "Invalid value <v> for configuration <name>: <reason>"
//   4. min.compaction.lag.ms > max.compaction.lag.ms   "conflict topic config setting …"
//   5. remote.storage.enable=true: tiered storage is disabled in this broker (Kafka's default), refused.
// Parsing follows ConfigDef: values are trimmed as Java's String.trim() trims (every char <= U+0020), booleans are
// case-insensitive, INT/LONG are Integer/Long.parseInt (sign, decimal digits), DOUBLE is Double.parseDouble,
// LIST splits on commas with surrounding whitespace; enumerations (compression.type, cleanup.policy,
// message.timestamp.type) are case-sensitive. In a message, <v> is the raw value when it does not parse and the
// parsed value (Java's toString) when a validator refuses it.
//
// Stored values are the strings exactly as sent (Kafka's ConfigRecord carries the request's value, untrimmed);
// logConfigFor parses them again with the same rules.
//
// Compaction is enforced (`cleanup.policy`, `delete.retention.ms`, `min/max.compaction.lag.ms`,
// `min.cleanable.dirty.ratio`: log/cleaner/), and so is retention (`retention.ms`, `retention.bytes`,
// `file.delete.delay.ms`, `cleanup.policy` containing `delete`: log/retention.ts). Accepted and stored but not
// enforced yet: `compression.type`/`compression.*.level`: Kafka recompresses
// batches whose codec differs from a topic's `compression.type` other than `producer`; Eddy stores every batch as the
// producer compressed it for now.
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import type { LogConfig } from '../log/log-config.js';

export type ConfigType = 'INT' | 'LONG' | 'DOUBLE' | 'BOOLEAN' | 'STRING' | 'LIST';
export type Parsed = bigint | number | boolean | string | string[];
/** Why a validator refused a parsed value: the value as Java prints it, and ConfigException's text. */
type Problem = { value: string; reason: string };
/** A ConfigDef validator: the problem with a parsed value, or null. Each knows its config's parsed type. */
export type Validator = (parsed: Parsed, name: string) => Problem | null;

interface ConfigKey {
  readonly type: ConfigType;
  readonly validator?: Validator;
}

const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;
const LONG_MIN = -(2n ** 63n);
const LONG_MAX = 2n ** 63n - 1n;

/** Java's Number.toString for a parsed value. */
function javaNumber(n: bigint | number): string {
  return typeof n === 'bigint' ? n.toString() : javaDoubleToString(n);
}

/** Double.toString: plain decimal with at least one fraction digit in [1e-3, 1e7), else `d.dddE±n`. */
export function javaDoubleToString(d: number): string {
  if (Number.isNaN(d)) return 'NaN';
  if (d === Infinity) return 'Infinity';
  if (d === -Infinity) return '-Infinity';
  if (d === 0) return Object.is(d, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(d);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(d);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mantissa, exponent] = d.toExponential().split('e') as [string, string];
  return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${exponent.replace('+', '')}`;
}

/** Range.atLeast / Range.between: compares as doubles, as Kafka does. */
export function range(min: number | null, max: number | null = null): Validator {
  return (parsed) => {
    const n = parsed as bigint | number;
    const v = Number(n);
    if (min !== null && v < min) return { value: javaNumber(n), reason: `Value must be at least ${min}` };
    if (max !== null && v > max) return { value: javaNumber(n), reason: `Value must be no more than ${max}` };
    return null;
  };
}

/** ValidString.in: case-sensitive. */
export function validString(...values: string[]): Validator {
  return (parsed) => {
    const s = parsed as string;
    return values.includes(s) ? null : { value: s, reason: `String must be one of: ${values.join(', ')}` };
  };
}

/** ValidList.in: every element must be one of the values (an empty list is valid). */
export function validList(...values: string[]): Validator {
  const element = validString(...values);
  return (parsed, name) => {
    for (const s of parsed as string[]) {
      const problem = element(s, name);
      if (problem !== null) return problem;
    }
    return null;
  };
}

/** CompressionType.GZIP.levelValidator: Deflater levels 1..9, or -1 (Deflater.DEFAULT_COMPRESSION). */
const gzipLevel: Validator = (parsed) => {
  const level = parsed as bigint;
  return level > 9n || (level < 1n && level !== -1n) ? { value: level.toString(), reason: 'Value must be between 1 and 9 or equal to -1' } : null;
};

/** ThrottledReplicaListValidator: `*`, or `partition:broker` entries (empty entries allowed). */
const throttledReplicas: Validator = (parsed, name) => {
  const list = parsed as string[];
  const proposed = list.map(javaTrim);
  if (proposed.every((s) => /^([0-9]+:[0-9]+)?$/.test(s)) || proposed.join('') === '*') return null;
  return {
    value: `[${list.join(', ')}]`,
    reason: `${name} must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],...`,
  };
};

/** Keys of MetadataVersion.IBP_VERSIONS in 3.9: every `<release>-IVn` and each production release (up to 3.9). */
const METADATA_VERSIONS: ReadonlySet<string> = new Set([
  '0.8.0', '0.8.1', '0.8.2', '0.9.0',
  '0.10.0-IV0', '0.10.0-IV1', '0.10.1-IV0', '0.10.1-IV1', '0.10.1-IV2', '0.10.2-IV0',
  '0.11.0-IV0', '0.11.0-IV1', '0.11.0-IV2', '1.0-IV0', '1.1-IV0', '2.0-IV0', '2.0-IV1',
  '2.1-IV0', '2.1-IV1', '2.1-IV2', '2.2-IV0', '2.2-IV1', '2.3-IV0', '2.3-IV1', '2.4-IV0', '2.4-IV1',
  '2.5-IV0', '2.6-IV0', '2.7-IV0', '2.7-IV1', '2.7-IV2', '2.8-IV0', '2.8-IV1', '3.0-IV0', '3.0-IV1',
  '3.1-IV0', '3.2-IV0', '3.3-IV0', '3.3-IV1', '3.3-IV2', '3.3-IV3', '3.4-IV0', '3.5-IV0', '3.5-IV1', '3.5-IV2',
  '3.6-IV0', '3.6-IV1', '3.6-IV2', '3.7-IV0', '3.7-IV1', '3.7-IV2', '3.7-IV3', '3.7-IV4', '3.8-IV0', '3.9-IV0',
  '4.0-IV0', '4.0-IV1',
  '0.10.0', '0.10.1', '0.10.2', '0.11.0', '1.0', '1.1', '2.0', '2.1', '2.2', '2.3', '2.4', '2.5', '2.6', '2.7',
  '2.8', '3.0', '3.1', '3.2', '3.3', '3.4', '3.5', '3.6', '3.7', '3.8', '3.9',
]);

/** MetadataVersionValidator → MetadataVersion.fromVersionString: "2.8.1" means "2.8", "0.10.2.1" means "0.10.2". */
const metadataVersion: Validator = (parsed) => {
  const s = parsed as string;
  const segments = s.split('.');
  while (segments.length > 0 && segments[segments.length - 1] === '') segments.pop(); // Java's split drops them
  const numSegments = s.startsWith('0.') ? 3 : 2;
  const key = numSegments >= segments.length ? s : segments.slice(0, numSegments).join('.');
  return METADATA_VERSIONS.has(key) ? null : { value: s, reason: `Version ${s} is not a valid version` };
};

/** Every topic config of Kafka 3.9, in LogConfig's definition order (the order in which errors are found). */
const TOPIC_CONFIGS: ReadonlyMap<string, ConfigKey> = new Map<string, ConfigKey>([
  ['segment.bytes', { type: 'INT', validator: range(14) }], // LegacyRecord.RECORD_OVERHEAD_V0
  ['segment.ms', { type: 'LONG', validator: range(1) }],
  ['segment.jitter.ms', { type: 'LONG', validator: range(0) }],
  ['segment.index.bytes', { type: 'INT', validator: range(4) }],
  ['flush.messages', { type: 'LONG', validator: range(1) }],
  ['flush.ms', { type: 'LONG', validator: range(0) }],
  ['retention.bytes', { type: 'LONG' }],
  ['retention.ms', { type: 'LONG', validator: range(-1) }],
  ['max.message.bytes', { type: 'INT', validator: range(0) }],
  ['index.interval.bytes', { type: 'INT', validator: range(0) }],
  ['delete.retention.ms', { type: 'LONG', validator: range(0) }],
  ['min.compaction.lag.ms', { type: 'LONG', validator: range(0) }],
  ['max.compaction.lag.ms', { type: 'LONG', validator: range(1) }],
  ['file.delete.delay.ms', { type: 'LONG', validator: range(0) }],
  ['min.cleanable.dirty.ratio', { type: 'DOUBLE', validator: range(0, 1) }],
  ['cleanup.policy', { type: 'LIST', validator: validList('compact', 'delete') }],
  ['unclean.leader.election.enable', { type: 'BOOLEAN' }],
  ['min.insync.replicas', { type: 'INT', validator: range(1) }],
  ['compression.type', { type: 'STRING', validator: validString('uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer') }],
  ['compression.gzip.level', { type: 'INT', validator: gzipLevel }], // KIP-390
  ['compression.lz4.level', { type: 'INT', validator: range(1, 17) }],
  ['compression.zstd.level', { type: 'INT', validator: range(-131072, 22) }],
  ['preallocate', { type: 'BOOLEAN' }],
  ['message.format.version', { type: 'STRING', validator: metadataVersion }],
  ['message.timestamp.type', { type: 'STRING', validator: validString('CreateTime', 'LogAppendTime') }],
  ['message.timestamp.difference.max.ms', { type: 'LONG', validator: range(0) }],
  ['message.timestamp.before.max.ms', { type: 'LONG', validator: range(0) }],
  ['message.timestamp.after.max.ms', { type: 'LONG', validator: range(0) }],
  ['leader.replication.throttled.replicas', { type: 'LIST', validator: throttledReplicas }],
  ['follower.replication.throttled.replicas', { type: 'LIST', validator: throttledReplicas }],
  ['message.downconversion.enable', { type: 'BOOLEAN' }],
  ['remote.storage.enable', { type: 'BOOLEAN' }],
  ['local.retention.ms', { type: 'LONG', validator: range(-2) }],
  ['local.retention.bytes', { type: 'LONG', validator: range(-2) }],
  ['remote.log.copy.disable', { type: 'BOOLEAN' }],
  ['remote.log.delete.on.disable', { type: 'BOOLEAN' }],
]);

/** Broker-level defaults the cross-config checks fall back to (log.cleaner.{min,max}.compaction.lag.ms). */
const DEFAULT_MIN_COMPACTION_LAG_MS = 0n;
const DEFAULT_MAX_COMPACTION_LAG_MS = LONG_MAX;

export function isKnownTopicConfig(name: string): boolean {
  return TOPIC_CONFIGS.has(name);
}

/** The names of every topic config Kafka 3.9 knows, in LogConfig's definition order. */
export function topicConfigNames(): string[] {
  return [...TOPIC_CONFIGS.keys()];
}

/** Java's String.trim(): strips every char <= U+0020 at both ends (not Unicode spaces, as JS trim does). */
function javaTrim(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && s.charCodeAt(start) <= 0x20) start++;
  while (end > start && s.charCodeAt(end - 1) <= 0x20) end--;
  return s.slice(start, end);
}

/** Integer/Long.parseInt: an optional sign and decimal digits (Character.digit also takes non-ASCII digits). */
function parseJavaInteger(s: string, min: bigint, max: bigint): bigint | null {
  const m = /^([+-]?)(\p{Nd}+)$/u.exec(s);
  if (m === null) return null;
  const digits = /^[0-9]+$/.test(m[2]!) ? m[2]! : asciiDigits(m[2]!);
  const n = BigInt(m[1] === '-' ? `-${digits}` : digits);
  return n < min || n > max ? null : n;
}

/** Unicode decimal digits come in runs of ten, 0 to 9; a digit's value is its distance from its run's start. */
function asciiDigits(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    let start = cp;
    for (let i = 0; i < 60 && /\p{Nd}/u.test(String.fromCodePoint(start - 1)); i++) start--;
    out += String((cp - start) % 10);
  }
  return out;
}

/** Double.parseDouble: Java's grammar (sign, NaN, Infinity, decimal or hex significand, f/F/d/D suffix). */
function parseJavaDouble(s: string): number | null {
  const special = /^([+-]?)(NaN|Infinity)$/.exec(s);
  if (special !== null) return special[2] === 'NaN' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?$/.test(s)) return Number(s.replace(/[fFdD]$/, ''));
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)[fFdD]?$/.exec(s);
  const fraction = hex?.[3] ?? '';
  if (hex === null || hex[2]! + fraction === '') return null;
  const v = Number(BigInt(`0x${hex[2]}${fraction}`)) * 2 ** (Number(hex[4]) - 4 * fraction.length);
  return hex[1] === '-' ? -v : v;
}

/** Java's equalsIgnoreCase against an ASCII word: char by char, equal after toUpperCase or toLowerCase. */
function equalsIgnoreCase(s: string, word: string): boolean {
  if (s.length !== word.length) return false;
  for (let i = 0; i < s.length; i++) {
    const a = s[i]!;
    const b = word[i]!;
    if (a !== b && a.toUpperCase() !== b.toUpperCase() && a.toLowerCase() !== b.toLowerCase()) return false;
  }
  return true;
}

function invalid(name: string, value: string, reason: string): KafkaError {
  return new KafkaError(ErrorCode.INVALID_CONFIG, `Invalid value ${value} for configuration ${name}: ${reason}`);
}

/** ConfigDef.parseType: throws INVALID_CONFIG (with the raw value) when `raw` is not of the config's type. */
export function parseValue(name: string, type: ConfigType, raw: string): Parsed {
  const trimmed = javaTrim(raw);
  switch (type) {
    case 'BOOLEAN':
      if (equalsIgnoreCase(trimmed, 'true')) return true;
      if (equalsIgnoreCase(trimmed, 'false')) return false;
      throw invalid(name, raw, 'Expected value to be either true or false');
    case 'STRING':
      return trimmed;
    case 'INT': {
      const n = parseJavaInteger(trimmed, INT_MIN, INT_MAX);
      if (n === null) throw invalid(name, raw, 'Not a number of type INT');
      return n;
    }
    case 'LONG': {
      const n = parseJavaInteger(trimmed, LONG_MIN, LONG_MAX);
      if (n === null) throw invalid(name, raw, 'Not a number of type LONG');
      return n;
    }
    case 'DOUBLE': {
      const d = parseJavaDouble(trimmed);
      if (d === null) throw invalid(name, raw, 'Not a number of type DOUBLE');
      return d;
    }
    case 'LIST':
      return trimmed === '' ? [] : trimmed.split(/[ \t\n\x0B\f\r]*,[ \t\n\x0B\f\r]*/);
  }
}

/** ConfigDef.convertToString: a parsed value as Kafka reports it (LIST joined by commas, doubles as Java prints them). */
export function configValueToString(parsed: Parsed): string {
  if (Array.isArray(parsed)) return parsed.join(',');
  if (typeof parsed === 'number') return javaDoubleToString(parsed);
  return String(parsed);
}

/** The ConfigDef type of a topic config (undefined for a name Kafka does not know). */
export function topicConfigType(name: string): ConfigType | undefined {
  return TOPIC_CONFIGS.get(name)?.type;
}

/** A stored (validated) topic config value as DescribeConfigs reports it: parsed, then converted back to a string. */
export function topicConfigValueToString(name: string, raw: string): string {
  return configValueToString(parseAndValidate(name, raw));
}

function parseAndValidate(name: string, raw: string): Parsed {
  const key = TOPIC_CONFIGS.get(name)!;
  const parsed = parseValue(name, key.type, raw);
  const problem = key.validator?.(parsed, name) ?? null;
  if (problem !== null) throw invalid(name, problem.value, problem.reason);
  return parsed;
}

/**
 * Validates topic configs as Kafka's controller does for CreateTopics (order in the header) and returns them as
 * Kafka stores them: the values as sent. Throws KafkaError(INVALID_CONFIG) with Kafka's message.
 */
export function validateTopicConfigs(configs: Record<string, string | null>): Record<string, string> {
  const nulls = Object.entries(configs).filter(([, v]) => v === null).map(([k]) => k);
  if (nulls.length > 0) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Null value not supported for topic configs: ${nulls.join(',')}`);
  const valid = configs as Record<string, string>;
  for (const name of Object.keys(valid)) {
    if (!TOPIC_CONFIGS.has(name)) throw new KafkaError(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${name}`);
  }
  const parsed = new Map<string, Parsed>();
  for (const name of TOPIC_CONFIGS.keys()) {
    if (Object.hasOwn(valid, name)) parsed.set(name, parseAndValidate(name, valid[name]!));
  }
  const minLag = (parsed.get('min.compaction.lag.ms') as bigint | undefined) ?? DEFAULT_MIN_COMPACTION_LAG_MS;
  const maxLag = (parsed.get('max.compaction.lag.ms') as bigint | undefined) ?? DEFAULT_MAX_COMPACTION_LAG_MS;
  if (minLag > maxLag) {
    throw new KafkaError(
      ErrorCode.INVALID_CONFIG,
      `conflict topic config setting min.compaction.lag.ms (${minLag}) > max.compaction.lag.ms (${maxLag})`,
    );
  }
  if (parsed.get('remote.storage.enable') === true) {
    // Kafka's remote.log.storage.system.enable defaults to false; Eddy has no tiered storage at all.
    throw new KafkaError(
      ErrorCode.INVALID_CONFIG,
      'Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage.',
    );
  }
  return { ...valid };
}

/** A stored (already validated) numeric config, clamped to what a JS number holds exactly. */
function storedNumber(name: string, raw: string): number {
  const n = parseAndValidate(name, raw) as bigint;
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (n < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(n);
}

/** The log settings for a topic: its own configs over the broker defaults. */
export function logConfigFor(configs: Record<string, string>, brokerDefaults: LogConfig): LogConfig {
  const c: LogConfig = { ...brokerDefaults };
  const number = (name: string): number | undefined => (configs[name] === undefined ? undefined : storedNumber(name, configs[name]));
  c.segmentBytes = number('segment.bytes') ?? c.segmentBytes;
  c.segmentMs = number('segment.ms') ?? c.segmentMs;
  c.segmentIndexBytes = number('segment.index.bytes') ?? c.segmentIndexBytes;
  c.indexIntervalBytes = number('index.interval.bytes') ?? c.indexIntervalBytes;
  c.flushMessages = number('flush.messages') ?? c.flushMessages;
  c.flushMs = number('flush.ms') ?? c.flushMs;
  if (configs['message.timestamp.type'] !== undefined) {
    c.messageTimestampType = parseAndValidate('message.timestamp.type', configs['message.timestamp.type']) as LogConfig['messageTimestampType'];
  }
  // int64 configs kept exact: Long.MAX_VALUE is the "unset" sentinel of KIP-937 (log-config.ts).
  const long = (name: string): bigint | undefined => (configs[name] === undefined ? undefined : (parseAndValidate(name, configs[name]) as bigint));
  c.messageTimestampBeforeMaxMs = long('message.timestamp.before.max.ms') ?? c.messageTimestampBeforeMaxMs;
  c.messageTimestampAfterMaxMs = long('message.timestamp.after.max.ms') ?? c.messageTimestampAfterMaxMs;
  c.messageTimestampDifferenceMaxMs = long('message.timestamp.difference.max.ms') ?? c.messageTimestampDifferenceMaxMs;
  if (configs['cleanup.policy'] !== undefined) {
    // LogConfig.compact: the list contains "compact" (compared lower-cased; the validator already refused other case).
    const policies = parseAndValidate('cleanup.policy', configs['cleanup.policy']) as string[];
    c.compact = policies.some((p) => p.toLowerCase() === 'compact');
    // LogConfig.delete: likewise "delete" (retention and DeleteRecords act only then).
    c.delete = policies.some((p) => p.toLowerCase() === 'delete');
  }
  // Retention (log/retention.ts): -1 (any negative retention.bytes) = unlimited.
  c.retentionMs = number('retention.ms') ?? c.retentionMs;
  c.retentionBytes = number('retention.bytes') ?? c.retentionBytes;
  c.fileDeleteDelayMs = number('file.delete.delay.ms') ?? c.fileDeleteDelayMs;
  // Compaction (log/cleaner/): the topic's values over the broker's log.cleaner.* defaults.
  c.deleteRetentionMs = number('delete.retention.ms') ?? c.deleteRetentionMs;
  c.minCompactionLagMs = number('min.compaction.lag.ms') ?? c.minCompactionLagMs;
  c.maxCompactionLagMs = number('max.compaction.lag.ms') ?? c.maxCompactionLagMs;
  if (configs['min.cleanable.dirty.ratio'] !== undefined) {
    c.minCleanableDirtyRatio = Number(parseAndValidate('min.cleanable.dirty.ratio', configs['min.cleanable.dirty.ratio']));
  }
  return c;
}

/** `max.message.bytes` for a topic, falling back to the broker's `message.max.bytes`. */
export function maxMessageBytesFor(configs: Record<string, string>, brokerMessageMaxBytes: number): number {
  const v = configs['max.message.bytes'];
  return v === undefined ? brokerMessageMaxBytes : storedNumber('max.message.bytes', v);
}
