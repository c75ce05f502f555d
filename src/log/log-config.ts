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
  /**
   * cleanup.policy includes `compact` (Kafka's LogConfig.compact): produced records must have a key, and the log
   * cleaner (cleaner/log-cleaner.ts) keeps the latest record per key in the sealed segments.
   */
  compact: boolean;
  /**
   * cleanup.policy includes `delete` (Kafka's LogConfig.delete, the default): retention (retention.ts) deletes old
   * segments by retention.ms and retention.bytes, and DeleteRecords may move the log start offset.
   */
  delete: boolean;
  /** retention.ms: sealed segments whose largest timestamp is older than this are deleted; -1 = unlimited. Default 7 days. */
  retentionMs: number;
  /** retention.bytes: the partition is cut (oldest segments first) to at most this size; -1 = unlimited (default). */
  retentionBytes: number;
  /** file.delete.delay.ms: a deleted segment's `.deleted` files are unlinked this long after removal. Default 60 s. */
  fileDeleteDelayMs: number;
  /** delete.retention.ms: tombstones and empty transactions' markers stay this long after cleaning (KIP-534). Default 1 day. */
  deleteRetentionMs: number;
  /** min.compaction.lag.ms: records newer than this are not cleaned. Default 0. */
  minCompactionLagMs: number;
  /** max.compaction.lag.ms: a dirty record older than this makes the log cleanable whatever its dirty ratio. Default Long.MAX (clamped). */
  maxCompactionLagMs: number;
  /** min.cleanable.dirty.ratio: clean when dirty bytes / all bytes exceed this. Default 0.5. */
  minCleanableDirtyRatio: number;
  /**
   * message.timestamp.before.max.ms / after.max.ms: how far a CreateTime record's timestamp may lie before / after
   * the broker's clock. Default Long.MAX_VALUE (no limit). KIP-937: while one is at its default, the deprecated
   * message.timestamp.difference.max.ms applies in its place (effectiveTimestampBeforeMaxMs / …AfterMaxMs). int64,
   * so bigint: Long.MAX_VALUE is a sentinel compared exactly.
   */
  messageTimestampBeforeMaxMs: bigint;
  messageTimestampAfterMaxMs: bigint;
  /** message.timestamp.difference.max.ms (deprecated by KIP-937). Default Long.MAX_VALUE. */
  messageTimestampDifferenceMaxMs: bigint;
}

export const LONG_MAX_VALUE = 0x7fffffffffffffffn;

/** Kafka's LogConfig.getMessageTimestampBeforeMaxMs (KIP-937): before.max.ms unless at its default, else difference.max.ms. */
export function effectiveTimestampBeforeMaxMs(config: LogConfig): bigint {
  return config.messageTimestampBeforeMaxMs !== LONG_MAX_VALUE ? config.messageTimestampBeforeMaxMs : config.messageTimestampDifferenceMaxMs;
}

/** As effectiveTimestampBeforeMaxMs, for after.max.ms. */
export function effectiveTimestampAfterMaxMs(config: LogConfig): bigint {
  return config.messageTimestampAfterMaxMs !== LONG_MAX_VALUE ? config.messageTimestampAfterMaxMs : config.messageTimestampDifferenceMaxMs;
}

export const DEFAULT_LOG_CONFIG: LogConfig = Object.freeze({
  segmentBytes: 1024 * 1024 * 1024,
  segmentMs: 7 * 24 * 60 * 60 * 1000,
  indexIntervalBytes: 4096,
  segmentIndexBytes: 10 * 1024 * 1024,
  flushMessages: Number.MAX_SAFE_INTEGER,
  flushMs: Number.MAX_SAFE_INTEGER,
  messageTimestampType: 'CreateTime',
  compact: false,
  delete: true,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
  retentionBytes: -1,
  fileDeleteDelayMs: 60_000,
  deleteRetentionMs: 86_400_000,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  minCleanableDirtyRatio: 0.5,
  messageTimestampBeforeMaxMs: LONG_MAX_VALUE,
  messageTimestampAfterMaxMs: LONG_MAX_VALUE,
  messageTimestampDifferenceMaxMs: LONG_MAX_VALUE,
});
