// Per-topic log settings, named after Kafka's topic configs (see each field). The metadata layer turns topic
// configs (strings) into a LogConfig; the log only reads these values.

export interface LogConfig {
  /** segment.bytes: roll the active segment when the next batch would make it larger. Default 1 GiB. */
  segmentBytes: number;
  /** segment.ms: roll when the active segment's first batch is older than this. Default 7 days. */
  segmentMs: number;
  /** index.interval.bytes: bytes of log between sparse index entries. Default 4096. */
  indexIntervalBytes: number;
  /** segment.index.bytes: maximum size of a segment's offset index; roll when it is full. Default 10 MiB. */
  segmentIndexBytes: number;
  /** flush.messages: fsync after this many messages since the last flush. Default: never by count. */
  flushMessages: number;
  /** flush.ms: fsync when unflushed data is this old. Default: never by time. */
  flushMs: number;
  /** message.timestamp.type. */
  messageTimestampType: 'CreateTime' | 'LogAppendTime';
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * 1024 * 1024,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  messageTimestampType: 'CreateTime',
});
