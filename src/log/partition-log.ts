// The log of one topic-partition: its segments, offsets, high watermark, the single append queue and the
// waiters woken by appends (STYLE §5).
//
// Appends. `append()` assigns offsets synchronously from `nextOffset` (so concurrent appends get increasing
// offsets in call order), rewrites the batch header in place and queues it. One drain loop per partition takes
// everything queued, up to a roll point, and writes it with a single positional writev; then fsyncs if the group
// needs it, then advances the high watermark and resolves the group. Appends that arrive while a write or fsync
// runs form the next group, so concurrent durable appends share one fsync (group commit).
//
//   group contains                                   after the write
//   a durable append (acks=-1 with fsync)            fsync of the .log, then high watermark, then resolve
//   a flush() request                                fsync of the .log and its indexes, then resolve
//   flush.messages reached since the last fsync      fsync of the .log and its indexes, then high watermark
//   none of these                                    high watermark at once; flush.ms timer armed
//
// The recovery point (recorded in recovery-point-offset-checkpoint by LogManager) is the log end offset at the
// last completed fsync of the .log. Indexes are not needed on disk below it: an unclean start rebuilds the indexes
// of the segment holding the recovery point and of every later one (loadSegments).
//
// Rolls (Kafka's UnifiedLog.maybeRoll), checked before each batch; an empty segment never rolls:
//
//   condition                                                      Kafka config
//   segment size + batch size > segmentBytes                       segment.bytes
//   now - rollingBaseMs > segmentMs                                segment.ms
//   offset index or time index full                                segment.index.bytes
//   batch lastOffset - segment base offset > 2^31 - 1              (relative offsets are int32)
//
// rollingBaseMs is the clock at the segment's first append; for a segment loaded at startup it is the first
// batch's maxTimestamp (Kafka's choice), capped at now. The rolled segment gets its final time-index entry and is
// fsynced in the background; the next fsync of the log waits for it.
//
// Reads never go past the high watermark, come from one segment, and return whole batches in one Buffer
// filled by one positional read (or taken from the header-scan chunk when it already holds them).
//
// Compaction (cleaner/log-cleaner.ts) reads sealed segments through cleanerSegments() and swaps a cleaned segment
// in with replaceSegments(). Reads in flight during a swap: the swap closes a gate that new reads (Fetch,
// ListOffsets) wait at, waits for the reads already running to finish, renames the files and installs the new
// segment in a new segments array, then opens the gate. So no read ever sees a closed or renamed file, and a read
// never mixes the old segment's index with the new file; the pause is a few renames and one directory fsync.
// Loops that await while walking the segments (syncTo) hold the array they started with.
//
// Log start offset and retention (retention.ts). The log start offset is a field of its own: at least the first
// segment's base offset, moved forward by retention (to the base of the first segment kept) and by DeleteRecords
// (maybeIncrementLogStartOffset, to any offset up to the high watermark, inside a segment); LogManager keeps it in
// `log-start-offset-checkpoint` and passes it back to load(). A read or ListOffsets below it is out of range.
// deleteOldSegments() is one retention pass: for each rule it decides how many of the oldest segments go, rolls the
// active segment first when all of them would (a `roll` item in the append queue, so the roll lands between two
// appends exactly as a size roll does), and removes them with removeOldestSegments(), which uses the compaction
// swap's gate: new reads wait, reads in flight finish, the new log start offset is checkpointed, then the segments
// leave the array, the log start offset moves, their files are renamed `.deleted`, and the gate opens. The files are unlinked file.delete.delay.ms later
// (no read can reach a segment once it has left the array; the cleaner's own copy keeps reading the renamed .log).
//
// Leader epochs (leader-epoch-cache.ts, Kafka's LeaderEpochFileCache). Every appended batch carries `leaderEpoch`
// (fixed at 0 on a single broker); the cache records where each epoch starts: assigned when the log becomes leader
// (create, load) and when a batch with a new epoch is appended, rebuilt or corrected at load (loadLeaderEpochs), cut
// at the front when the log start offset moves (advanceLogStartOffset). Its file is written before the recovery
// point passes an entry not yet in it (syncTo) and at close. OffsetForLeaderEpoch and ListOffsets EARLIEST read it.
//
// Replication (a partition of a cluster; single-broker logs never use it). setHighWatermarkManaged(true): writes move
// only the log end offset and the replica manager moves the high watermark (updateHighWatermark, after
// onLogEndOffsetAdvanced); consumer reads stop at it, readForReplica() at the log end offset (table at
// setHighWatermarkManaged). A follower appends its leader's batches unchanged with appendAsFollower() (checks in
// follower-append.ts) and cuts a divergent tail with truncateTo() / truncateFullyAndStartAt() (steps and crash
// safety in truncation.ts). Setting leaderEpoch is becoming leader: the epoch is recorded at the log end offset.
//
// I/O errors: a failed write or fsync takes the partition offline: that append and everything queued behind it
// reject with the I/O error, and later appends with KafkaError(KAFKA_STORAGE_ERROR). Reads keep working.
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  LAST_OFFSET_DELTA_OFFSET,
  batchSizeAt,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  type RecordBatchHeader,
} from '../protocol/records/batch.js';
import { FileHandleCache } from './file-handle-cache.js';
import type { LogFs } from './fs.js';
import type { LogConfig } from './log-config.js';
import { recoverSegment, type CrcCheck } from './recovery.js';
import { offsetOfMaxTimestamp, searchBatchForTimestamp } from '../protocol/records/record.js';
import { LogSegment, parseSegmentFileName, type FoundBatch } from './segment.js';
import {
  ProducerStateManager,
  type AppendOrigin,
  type DuplicateProducerAppend,
  type PendingMarker,
  type ProducerAppendCheck,
  type ProducerStateSegmentSource,
} from './producer-state.js';
import { AbortedTxnIndex, type AbortedTxn } from './txn-index.js';
import { recoverInterruptedSwaps, type SegmentSwap } from './cleaner/segment-swap.js';
import { buildEndTxnMarkerBatch, type EndTxnMarker } from '../protocol/records/control-batch.js';
import { deletableSegmentCount, isDeletedFile, retentionRules, type RetentionView, type SegmentDeletionReason } from './retention.js';
import { txnIndexFileName } from './txn-index.js';
import { LeaderEpochCache, type EpochEntry, type EpochSegmentSource } from './leader-epoch-cache.js';
import { checkReplicatedBatches, type ReplicatedBatch } from './follower-append.js';
import { WrittenAboveHighWatermark } from './high-watermark.js';
import { deleteSegmentsNewestFirst, truncationPlan } from './truncation.js';

export interface AppendResult {
  baseOffset: bigint;
  lastOffset: bigint;
  /** -1n unless the topic uses LogAppendTime. */
  logAppendTimeMs: bigint;
  logStartOffset: bigint;
}

/** A ListOffsets answer found in the log; leaderEpoch is the batch's partitionLeaderEpoch (-1: none). */
export interface TimestampAndOffset {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

export interface PartitionLogOptions {
  dir: string;
  topic: string;
  partition: number;
  config: LogConfig;
  fs: LogFs;
  /** The broker's bounded cache of open files (file-handle-cache.ts); default: a private one over `fs`. */
  files?: FileHandleCache;
  logger: Logger;
  /** Epoch milliseconds; injectable for tests. */
  clock?: () => number;
  /**
   * Called once when an I/O error takes this log offline (after it is logged), so the owner can bring the
   * partition back when the disk recovers (LogManager, offline-partitions.ts).
   */
  onFailure?: (log: PartitionLog, cause: Error) => void;
  /** `producer.id.expiration.ms` (producer-state.ts); default one day. */
  producerIdExpirationMs?: number;
  /**
   * Writes `logStartOffsetToCheckpoint` durably (LogManager: log-start-offset-checkpoint). Called after
   * DeleteRecords moved the log start offset (not awaited: LogManager.deleteRecords awaits its own write), and
   * awaited by retention before it removes any segment, so a crash part-way through the renames never brings the
   * log start offset back.
   */
  onLogStartOffsetIncremented?: (log: PartitionLog) => Promise<void>;
  /**
   * Awaited at the end of truncateTo() and truncateFullyAndStartAt(), before any later append: the owner writes the
   * lowered recovery point and log start offset durably (LogManager: both checkpoints, as Kafka's
   * LogManager.truncateTo checkpoints recovery points). A failure takes the log offline.
   */
  onTruncated?: (log: PartitionLog) => Promise<void>;
}

/** What appendAsFollower() wrote: the first and last offsets of the replicated batches (-1n, -1n for none). */
export interface FollowerAppendResult {
  firstOffset: bigint;
  lastOffset: bigint;
}

export interface LoadOptions extends PartitionLogOptions {
  /** True when the data dir had a clean-shutdown marker: trust indexes, walk nothing. */
  clean: boolean;
  /** From recovery-point-offset-checkpoint; undefined = recover from the first segment. */
  recoveryPoint: bigint | undefined;
  /** What an unclean start verifies in walked segments (recovery.ts); default 'every-batch'. */
  crcCheck?: CrcCheck;
  /** From log-start-offset-checkpoint; the first segment's base offset when absent or lower. */
  logStartOffset?: bigint;
}

interface PendingAppend {
  kind: 'append';
  batch: Buffer;
  baseOffset: bigint;
  lastOffset: bigint;
  records: number;
  maxTimestamp: number;
  durable: boolean;
  logAppendTimeMs: bigint;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

/** A retried batch (producer-state.ts): answered with the original's offsets once the original is written. */
interface PendingDuplicate {
  kind: 'duplicate';
  duplicate: DuplicateProducerAppend;
  durable: boolean;
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
}

interface PendingFlush {
  kind: 'flush';
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Rolls the active segment at this point of the queue (retention, when every segment is to be deleted). */
interface PendingRoll {
  kind: 'roll';
  resolve: () => void;
  reject: (err: unknown) => void;
}

type QueueItem = PendingAppend | PendingFlush | PendingDuplicate | PendingRoll;

/** A log's replication state (PartitionLog.repl): one field on the log, allocated only when replication uses it. */
interface ReplicaState {
  /** Managed high watermark (setHighWatermarkManaged): writes move only the log end offset. */
  hwManaged: boolean;
  /** Batches written above the high watermark, for visibleBytesAppended (managed mode only; high-watermark.ts). */
  writtenAboveHw: WrittenAboveHighWatermark | undefined;
  /** Bytes written, counted like visibleBytesAppended (equal to it when this state was created). */
  bytesWrittenTotal: number;
  leoListeners: Set<(logEndOffset: bigint) => void> | undefined;
  /** Set while truncateTo() or truncateFullyAndStartAt() runs: appends are refused. */
  truncation: Promise<unknown> | undefined;
  /** The drain loop does not start while a truncation holds the queue. */
  drainHeld: boolean;
}

/** Removed segments whose `.deleted` files wait for file.delete.delay.ms before being unlinked. */
interface PendingSegmentDeletion {
  segments: LogSegment[];
  paths: string[];
  timer: NodeJS.Timeout;
}

/** Caps on one coalesced write (IOV_MAX is 1024 on Linux). */
const MAX_WRITE_BUFFERS = 1024;
const MAX_WRITE_BYTES = 16 * 1024 * 1024;
/** setTimeout's limit; a longer flush.ms means "never by time". */
const MAX_TIMER_MS = 0x7fffffff;
const MAX_RELATIVE_OFFSET = 0x7fffffffn;
/**
 * Sealed segments per partition whose indexes stay in memory (most recently used); the others are released and
 * reloaded from their files on demand, so memory does not grow with the data retained.
 */
const MAX_LOADED_SEALED_INDEXES = 2;
/** Offset-index entries (about 4 KiB of log each by default) written to the index file at a time. */
const INDEX_PERSIST_ENTRIES = 256;
/** Read positions remembered per partition (one per tailing consumer group, roughly). */
const MAX_READ_HINTS = 8;

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  /** See the leaderEpoch accessor. */
  private epoch = 0;
  private config: LogConfig;
  private readonly fs: LogFs;
  private readonly files: FileHandleCache;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private readonly onFailure: ((log: PartitionLog, cause: Error) => void) | undefined;
  private readonly onLogStartOffsetIncremented: ((log: PartitionLog) => Promise<void>) | undefined;
  private readonly onTruncated: ((log: PartitionLog) => Promise<void>) | undefined;
  /** Replication state, created on first use (a single broker's 100,000 logs never have one). */
  private repl: ReplicaState | undefined;
  /** The log start offset retention is about to set (checkpointed before its segments are removed). */
  private pendingStartOffset: bigint | undefined;
  /** Idempotent and transactional producers' state (producer-state.ts); set by create() and load(). */
  private producerState!: ProducerStateManager;
  /** Aborted transactions, for read_committed fetches (txn-index.ts); set by create() and load(). */
  private abortedTxns!: AbortedTxnIndex;
  /** Where each leader epoch starts (leader-epoch-cache.ts); set by create() and load(). */
  private epochCache!: LeaderEpochCache;

  private segments: LogSegment[] = [];
  /** The log start offset (header): >= the first segment's base offset, <= the high watermark. */
  private startOffset = 0n;
  /** The retention pass running, if any (passes do not overlap). */
  private retentionPass: Promise<number> | undefined;
  private readonly pendingDeletions = new Set<PendingSegmentDeletion>();
  /** Next offset to assign: includes queued appends. */
  private nextOffset = 0n;
  private endOffset = 0n;
  private hw = 0n;
  private flushedOffset = 0n;

  private queue: QueueItem[] = [];
  private draining = false;
  private idleWaiters: Array<() => void> = [];
  private messagesSinceFlush = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private dirNeedsSync = false;
  /** A new log whose directory entry in the data dir is not yet durable (see create()). */
  private parentDirNeedsSync = false;
  private leadershipChangeCount = 0;
  /** Created by the first onAppend() (most of 100,000 partitions never have a long poll waiting). */
  private listeners: Set<() => void> | undefined;
  /** Bytes made visible (below the high watermark) since this log was opened; Fetch long polls compare it. */
  private visibleBytesTotal = 0;
  private failure: Error | undefined;
  private closed = false;
  private readsInFlight = 0;
  /**
   * Where recent reads ended (offset, segment, file position), newest first: a tailing consumer's next fetch
   * starts there. A few entries, so consumers of several groups tailing one partition don't evict each other.
   */
  private readonly readHints: Array<{ offset: bigint; segment: LogSegment; position: number }> = [];
  /** Sealed segments with indexes in memory, least recently used first (see MAX_LOADED_SEALED_INDEXES). */
  private readonly loadedSealedIndexes: LogSegment[] = [];
  private readsDrained: (() => void) | undefined;
  /** Set while replaceSegments() swaps files: reads wait for it (see the header). */
  private segmentGate: Promise<void> | undefined;
  /** Resolved when readsInFlight drops to 0 while a swap waits. */
  private readsIdleForSwap: (() => void) | undefined;

  private constructor(options: PartitionLogOptions) {
    this.topic = options.topic;
    this.partition = options.partition;
    this.dir = options.dir;
    this.config = options.config;
    this.fs = options.fs;
    this.files = options.files ?? new FileHandleCache(options.fs);
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.onFailure = options.onFailure;
    this.onLogStartOffsetIncremented = options.onLogStartOffsetIncremented;
    this.onTruncated = options.onTruncated;
  }

  /**
   * Written into every batch this log appends as leader (partitionLeaderEpoch; single broker: stays 0). Setting a
   * new epoch is becoming leader with it (Kafka's Partition.makeLeader → leaderEpochCache.assign(epoch, logEndOffset)):
   * the epoch is recorded at the next offset to be assigned (the log end offset when nothing is queued) right away,
   * so OffsetForLeaderEpoch answers its start before the first append. The checkpoint gets the entry before the
   * recovery point passes it and at close (leader-epoch-cache.ts, needsWrite): an entry no data reaches yet is not
   * written on its own, because every load drops entries starting at the log end offset (Kafka's LogLoader
   * truncateFromEnd) and the new leader assigns its epoch again. An epoch below one the cache already has changes
   * only what is written into batches (as at load). A follower's log is not given its leader's epoch: its batches
   * carry their own (appendAsFollower).
   */
  get leaderEpoch(): number {
    return this.epoch;
  }

  set leaderEpoch(epoch: number) {
    this.epoch = epoch;
    // Before create()/load() set the cache up there is nothing to record (they assign it themselves).
    const cache = this.epochCache as LeaderEpochCache | undefined;
    if (cache === undefined || this.closed) return;
    const latest = cache.latestEpoch;
    if (latest === undefined || epoch >= latest) cache.assign(epoch, this.nextOffset);
  }

  /** The epoch of the latest leader-epoch entry (a follower's lastFetchedEpoch), -1 when there is none. */
  latestEpoch(): number {
    return this.epochCache.latestEpoch ?? -1;
  }

  /** `producer.id.expiration.ms` changed at runtime (a dynamic broker config): applies from the next expiry check. */
  setProducerIdExpirationMs(ms: number): void {
    this.producerState.setProducerIdExpirationMs(ms);
  }

  private producerStateOptions(options: PartitionLogOptions) {
    return {
      fs: options.fs,
      dir: options.dir,
      topic: options.topic,
      partition: options.partition,
      logger: options.logger,
      clock: options.clock,
      producerIdExpirationMs: options.producerIdExpirationMs,
    };
  }

  get logStartOffset(): bigint {
    return this.startOffset;
  }

  /** What log-start-offset-checkpoint records for this log: the log start offset, or the one retention is setting. */
  get logStartOffsetToCheckpoint(): bigint {
    return this.pendingStartOffset !== undefined && this.pendingStartOffset > this.startOffset ? this.pendingStartOffset : this.startOffset;
  }

  /** Offset after the last batch written to the file. */
  get logEndOffset(): bigint {
    return this.endOffset;
  }

  get highWatermark(): bigint {
    return this.hw;
  }

  // ---- managed high watermark (replication) ------------------------------------------------------------------

  /** True when the owner moves the high watermark (setHighWatermarkManaged). */
  get isHighWatermarkManaged(): boolean {
    return this.repl?.hwManaged === true;
  }

  private replica(): ReplicaState {
    return (this.repl ??= {
      hwManaged: false,
      writtenAboveHw: undefined,
      bytesWrittenTotal: this.visibleBytesTotal,
      leoListeners: undefined,
      truncation: undefined,
      drainHeld: false,
    });
  }

  /**
   * Switches the managed-high-watermark mode (a replicated partition; Kafka's UnifiedLog, whose HW the Partition
   * moves). In it, a write moves only the log end offset (onLogEndOffsetAdvanced listeners are called once it is
   * written), and the high watermark moves only through updateHighWatermark() and truncation:
   *
   *   what                                       default mode              managed mode
   *   high watermark after a write               = log end offset          unchanged
   *   read() (consumers)                         below the HW              below the HW (written batches at or past
   *                                                                        it are trimmed off, no copy)
   *   readForReplica()                           below the log end offset  below the log end offset
   *   onAppend listeners, visibleBytesAppended   follow writes             follow HW moves (high-watermark.ts)
   *   lastStableOffset                           <= HW                     <= HW, and a transaction whose marker
   *                                                                        is not yet below the HW still holds it
   *                                                                        (Kafka's unreplicatedTxns)
   *
   * `highWatermark`, when turning the mode on, is where the high watermark starts (clamped to [log start, log end];
   * Kafka starts it from replication-offset-checkpoint); otherwise it stays where it is. Turning the mode off moves
   * it to the log end offset.
   */
  setHighWatermarkManaged(managed: boolean, highWatermark?: bigint): void {
    if (managed) {
      const r = this.replica();
      if (!r.hwManaged) {
        r.hwManaged = true;
        r.writtenAboveHw = new WrittenAboveHighWatermark();
        this.producerState.setTrackUnreplicatedTransactions(true);
      }
      if (highWatermark !== undefined) this.hw = this.clampToLog(highWatermark);
      return;
    }
    const r = this.repl;
    if (r === undefined || !r.hwManaged) return;
    r.hwManaged = false;
    r.writtenAboveHw = undefined;
    this.producerState.setTrackUnreplicatedTransactions(false);
    this.moveHighWatermark(this.endOffset);
  }

  /**
   * The owner's new high watermark (Kafka's UnifiedLog.updateHighWatermark / maybeIncrementHighWatermark), managed
   * mode only: clamped to [log start offset, log end offset]; a value below the current one is ignored (it moves
   * down only through truncation). Wakes the long polls (onAppend) when it moves. Returns the high watermark.
   */
  updateHighWatermark(offset: bigint): bigint {
    if (this.repl?.hwManaged !== true) throw new Error(`updateHighWatermark on ${this.topic}-${this.partition}, whose high watermark follows its writes`);
    const target = this.clampToLog(offset);
    if (target > this.hw) this.moveHighWatermark(target);
    return this.hw;
  }

  private clampToLog(offset: bigint): bigint {
    return offset < this.startOffset ? this.startOffset : offset > this.endOffset ? this.endOffset : offset;
  }

  /** Moves the high watermark up to `target` (<= the log end offset), counts the bytes it exposes, wakes long polls. */
  private moveHighWatermark(target: bigint): void {
    if (target <= this.hw) return;
    const r = this.replica();
    const covered = r.writtenAboveHw?.advanceTo(target);
    if (covered !== undefined && covered > this.visibleBytesTotal) this.visibleBytesTotal = covered;
    else if (!r.hwManaged) this.visibleBytesTotal = r.bytesWrittenTotal;
    else this.visibleBytesTotal += Number(target - this.hw);
    this.hw = target;
    this.producerState.onHighWatermarkUpdated(target);
    this.notifyAppend();
  }

  /**
   * Calls `listener` with the new log end offset after each write completes (after its fsync when the write needed
   * one), in both modes: the replica manager recomputes the high watermark from it. Returns the unsubscribe.
   */
  onLogEndOffsetAdvanced(listener: (logEndOffset: bigint) => void): () => void {
    const r = this.replica();
    (r.leoListeners ??= new Set()).add(listener);
    return () => {
      r.leoListeners?.delete(listener);
    };
  }

  /** Bytes written since the log was opened, visible or not (a replica long poll compares it as visibleBytesAppended). */
  get bytesWritten(): number {
    return this.repl?.bytesWrittenTotal ?? this.visibleBytesTotal;
  }

  /**
   * The last stable offset (Kafka's UnifiedLog.lastStableOffset): the first offset of the oldest ongoing
   * transaction, or the high watermark when that is lower or no transaction is open. read_committed consumers
   * read below it only.
   */
  get lastStableOffset(): bigint {
    const firstUnstable = this.producerState.firstUnstableOffset;
    return firstUnstable !== undefined && firstUnstable < this.hw ? firstUnstable : this.hw;
  }

  /** The aborted transactions a read_committed fetch of [fetchOffset, upperBoundOffset) reports (txn-index.ts). */
  abortedTransactions(fetchOffset: bigint, upperBoundOffset: bigint): Array<{ producerId: bigint; firstOffset: bigint }> {
    return this.abortedTxns.size === 0 ? [] : this.abortedTxns.collect(fetchOffset, upperBoundOffset);
  }

  /** Every aborted transaction known (tests, tools). */
  abortedTransactionIndex(): readonly AbortedTxn[] {
    return this.abortedTxns.all();
  }

  /** Every offset below this has been fsynced. */
  get recoveryPoint(): bigint {
    return this.flushedOffset;
  }

  get isOffline(): boolean {
    return this.failure !== undefined;
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get logConfig(): LogConfig {
    return this.config;
  }

  /** Segments whose indexes are in memory: the active one plus at most MAX_LOADED_SEALED_INDEXES (tests, metrics). */
  segmentsWithIndexesInMemory(): number {
    return this.segments.filter((segment) => segment.indexesLoaded).length;
  }

  /** The first segment's base offset (the log start offset is at least this). */
  get firstSegmentBaseOffset(): bigint {
    return this.segments[0]!.baseOffset;
  }

  /** Base offsets of the segments, oldest first (for tools and tests). */
  segmentBaseOffsets(): bigint[] {
    return this.segments.map((s) => s.baseOffset);
  }

  /**
   * Opens the partition directory (creating it and a first segment when empty) and recovers it when `clean` is
   * false: segments from the one containing the recovery point are walked batch by batch (recovery.ts), the
   * log is truncated at the first torn or corrupt batch and later segments are deleted. A segment whose index
   * is missing or corrupt is rebuilt from its .log even on a clean start.
   */
  /**
   * Creates a new partition's log: its directory and first segment (a mkdir and one create; no fsync). The
   * directory entries become durable at the log's first fsync (syncTo fsyncs the partition directory and, for a
   * new log, the data dir), or earlier when the creator calls parentDirSynced() after one data-dir fsync for many
   * logs (LogManager.syncCreatedLogs). Until then a crash may lose the empty log, which startup recreates from the
   * topic registry. A directory that already exists is loaded instead (a leftover of an interrupted creation).
   */
  static async create(options: PartitionLogOptions): Promise<PartitionLog> {
    if (!(await options.fs.createDir(options.dir))) return PartitionLog.load({ ...options, clean: true, recoveryPoint: undefined });
    const log = new PartitionLog(options);
    const { config } = log;
    log.producerState = ProducerStateManager.empty(log.producerStateOptions(options));
    log.abortedTxns = AbortedTxnIndex.empty(options.fs, options.dir);
    // Becoming leader (Kafka's Partition.makeLeader) assigns the epoch at the log end offset; no file until data.
    log.epochCache = LeaderEpochCache.empty(options.fs, options.dir);
    log.epochCache.assign(log.leaderEpoch, 0n);
    log.segments.push(await LogSegment.create(log.files, options.dir, 0n, config.indexIntervalBytes, config.segmentIndexBytes, { newDir: true }));
    log.dirNeedsSync = true;
    log.parentDirNeedsSync = true;
    return log;
  }

  /** The data dir was fsynced after this log was created: its directory entry is durable. */
  parentDirSynced(): void {
    this.parentDirNeedsSync = false;
  }

  /** Open descriptors of this log's files (tests). */
  openFileCount(): number {
    return this.segments.reduce((n, s) => n + s.openFileCount(), 0);
  }

  static async load(options: LoadOptions): Promise<PartitionLog> {
    const log = new PartitionLog(options);
    await options.fs.mkdir(options.dir);
    try {
      const epochs = await LeaderEpochCache.load(options.fs, options.dir, options.logger, { topic: options.topic, partition: options.partition });
      log.epochCache = epochs.cache;
      const recoveryMetNewEpoch = await log.loadSegments(options.clean, options.recoveryPoint, options.crcCheck ?? 'every-batch');
      log.initLogStartOffset(options.logStartOffset);
      await log.loadLeaderEpochs(epochs.found, recoveryMetNewEpoch);
      // Producer state from the latest snapshot, then the batch headers after it (producer-state.ts, load()).
      log.producerState = await ProducerStateManager.load({
        ...log.producerStateOptions(options),
        logStartOffset: log.logStartOffset,
        logEndOffset: log.endOffset,
        clean: options.clean,
        segments: log.segments.map((segment) => log.producerStateSource(segment)),
      });
      // Aborted transactions from the .txnindex files, plus the ABORT markers the replay above met (a crash may
      // have left them out of the files); known ones are skipped.
      log.abortedTxns = await AbortedTxnIndex.load(options.fs, options.dir, log.segments.map((s) => s.baseOffset), log.endOffset);
      for (const txn of log.producerState.takeAbortedTxns()) {
        await log.abortedTxns.add(txn, log.segmentFor(txn.lastOffset).baseOffset, false);
      }
    } catch (err) {
      await Promise.allSettled(log.segments.map((s) => s.close()));
      throw err;
    }
    return log;
  }

  /**
   * Kafka's LogLoader: the log start offset is the checkpointed one, at least the first segment's base offset. A
   * checkpointed offset past the log end offset (segment files removed behind the broker's back) is capped at the
   * log end offset (Kafka deletes every segment and starts the log there; the outcome for readers is the same: an
   * empty log whose next offset is that end).
   */
  private initLogStartOffset(checkpointed: bigint | undefined): void {
    let start = this.segments[0]!.baseOffset;
    if (checkpointed !== undefined && checkpointed > start) start = checkpointed;
    if (start > this.endOffset) {
      this.logger.warn(
        { topic: this.topic, partition: this.partition, logStartOffset: start.toString(), logEndOffset: this.endOffset.toString() },
        'checkpointed log start offset is past the log end offset; using the log end offset',
      );
      start = this.endOffset;
    }
    this.startOffset = start;
    if (this.flushedOffset < start) this.flushedOffset = start;
  }

  /**
   * The leader-epoch cache after the segments are loaded (Kafka's LogLoader, then Partition.makeLeader; rules in
   * leader-epoch-cache.ts): entries past the recovered log end go; the cache is rebuilt from the batch headers when
   * the file was missing or unreadable, or when recovery met an epoch the file did not have (then the file is
   * behind the log, and a walk that started at the recovery point or at the last index entry saw only part of that
   * epoch, so its start is not known without a look at the segments before); entries below the log start offset
   * go; and the leader epoch is assigned at the log end offset (unless the cache already has a higher epoch).
   */
  private async loadLeaderEpochs(fileFound: boolean, recoveryMetNewEpoch: boolean): Promise<void> {
    const cache = this.epochCache;
    cache.truncateFromEnd(this.endOffset);
    if (!fileFound || recoveryMetNewEpoch) {
      if (fileFound) {
        this.logger.warn(
          { topic: this.topic, partition: this.partition, cachedEpochs: cache.entries().map((e) => e.epoch) },
          'recovery found a leader epoch the checkpoint does not have; rebuilding the cache from the log',
        );
      }
      await cache.rebuildFromLog(this.segments.map((segment) => this.epochSegmentSource(segment)));
    }
    cache.truncateFromStart(this.startOffset);
    // Kafka's controller never makes a replica leader at an epoch below one its log already has; a log whose
    // batches carry a higher epoch than this broker's (written by another broker) keeps its entries.
    const latest = cache.latestEpoch;
    if (latest === undefined || this.leaderEpoch >= latest) cache.assign(this.leaderEpoch, this.endOffset);
  }

  private epochSegmentSource(segment: LogSegment): EpochSegmentSource {
    return {
      baseOffset: segment.baseOffset,
      size: segment.size,
      read: (position, length) => segment.read(position, length),
      lastBatchPosition: async () => {
        await this.indexesFor(segment);
        return (await segment.lastBatch())?.position;
      },
    };
  }

  /** Returns whether recovery met a batch whose leader epoch the cache did not have (loadLeaderEpochs). */
  private async loadSegments(clean: boolean, recoveryPoint: bigint | undefined, crcCheck: CrcCheck): Promise<boolean> {
    const { fs, dir, config } = this;
    let metNewEpoch = false;
    let entries = await fs.readdir(dir);
    // A compaction swap cut short by a crash is finished or rolled back first (cleaner/segment-swap.ts); the
    // directory is listed again only when that changed it.
    if ((await recoverInterruptedSwaps(fs, dir, entries, this.logger, { topic: this.topic, partition: this.partition })) > 0) entries = await fs.readdir(dir);
    // Files of segments removed by retention whose delayed unlink a crash or shutdown cut short (retention.ts).
    for (const entry of entries) if (!entry.isDirectory && isDeletedFile(entry.name)) await fs.unlink(`${dir}/${entry.name}`);
    const bases = entries
      .filter((e) => !e.isDirectory)
      .map((e) => parseSegmentFileName(e.name))
      .filter((b): b is bigint => b !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const now = this.clock();

    if (bases.length === 0) {
      this.segments.push(await LogSegment.create(this.files, dir, 0n, config.indexIntervalBytes, config.segmentIndexBytes));
      this.dirNeedsSync = true;
      return false;
    }

    // On an unclean start, walk from the segment containing the recovery point (all of them without one).
    let walkFrom = bases.length;
    if (!clean) {
      walkFrom = 0;
      if (recoveryPoint !== undefined) {
        for (let i = 0; i < bases.length; i++) if (bases[i]! <= recoveryPoint) walkFrom = i;
      }
    }

    const walked: LogSegment[] = [];
    /** The active segment's first batch maxTimestamp when the clean-start scan already read it (one-batch segment). */
    let firstBatchMaxTimestamp: number | undefined;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i]!;
      const { segment, indexesValid } = await LogSegment.open(
        this.files,
        dir,
        base,
        config.indexIntervalBytes,
        config.segmentIndexBytes,
      );
      this.segments.push(segment);
      const isLast = i === bases.length - 1;
      let mustWalk = i >= walkFrom || !indexesValid;
      if (!mustWalk && isLast) {
        // Clean start: the log end offset comes from the last batch header of the active segment.
        if (segment.size === 0) {
          segment.nextOffset = base;
        } else {
          const last = await segment.lastBatch();
          if (last) {
            segment.nextOffset = last.lastOffset + 1n;
            if (last.position === 0) firstBatchMaxTimestamp = last.maxTimestamp;
          } else {
            this.logger.warn(
              { topic: this.topic, partition: this.partition, segment: base.toString() },
              'active segment does not end on a batch boundary despite a clean shutdown; recovering it',
            );
            mustWalk = true;
          }
        }
      }
      if (!mustWalk) continue;
      if (!indexesValid && i < walkFrom) {
        this.logger.warn(
          { topic: this.topic, partition: this.partition, segment: base.toString() },
          'missing or corrupt index; rebuilding it from the log',
        );
      }
      walked.push(segment);
      // Only the last segment can be the active one (a corrupt earlier segment ends the log and becomes it,
      // but then its index files are rewritten durably, which is merely slower).
      // A segment walked only because its index is bad (below the recovery point) was flushed: check it all.
      const result = await recoverSegment(segment, fs, dir, {
        active: isLast,
        onBatch: (epoch, baseOffset) => {
          if (this.epochCache.assignFromLog(epoch, baseOffset)) metNewEpoch = true;
        },
        crcCheck: i >= walkFrom ? crcCheck : 'every-batch',
        // After a process-only crash the loaded index entries point at written batches: walk from the last one.
        fromLastIndexEntry: i >= walkFrom && crcCheck === 'last-batch' && indexesValid,
      });
      if (result.reason === undefined) continue;
      const lost = bases.slice(i + 1);
      this.logger.warn(
        {
          topic: this.topic,
          partition: this.partition,
          segment: base.toString(),
          position: result.validBytes,
          truncatedBytes: result.truncatedBytes,
          reason: result.reason,
          offsetsLostFrom: result.nextOffset.toString(),
          deletedSegments: lost.map((b) => b.toString()),
        },
        'truncated the log at a torn or corrupt batch; offsets from offsetsLostFrom on are lost',
      );
      for (const b of lost) {
        const p = LogSegment.paths(dir, b);
        await fs.unlink(p.log);
        await fs.unlink(p.index);
        await fs.unlink(p.timeIndex);
      }
      if (lost.length > 0) this.dirNeedsSync = true;
      break;
    }

    for (let i = 0; i + 1 < this.segments.length; i++) {
      const segment = this.segments[i]!;
      segment.nextOffset = this.segments[i + 1]!.baseOffset;
      segment.rollingBaseMs = now;
    }
    const active = this.segments.at(-1)!;
    await active.openIndexFiles(fs, dir);
    if (active.size > 0) {
      const ts = firstBatchMaxTimestamp ?? (await active.findBatch(0, active.size, () => true))?.maxTimestamp ?? -1;
      active.rollingBaseMs = ts >= 0 && ts <= now ? ts : now;
    }
    this.endOffset = active.nextOffset;
    this.nextOffset = active.nextOffset;
    this.hw = active.nextOffset;
    // Walked segments other than the active one are fsynced now (they are never written again). The walked
    // active segment is not: fsyncing it would write back everything the crash left unflushed (1 GB of page
    // cache takes about a second), so start-up cost would grow with the unflushed data. Instead it stays dirty
    // and the recovery point stays where the checkpoint had it (never past what is known to be on disk), so
    // the next flush (flush.ms, flush.messages, an acks=-1 append, close) fsyncs it, and a second crash before
    // that walks it again. This is also Kafka's order: recovery validates, flushing is the flush policy's job.
    let activeWalked = false;
    for (const segment of walked) {
      if (segment === active) activeWalked = true;
      else await segment.flush(true);
    }
    if (this.dirNeedsSync) {
      await fs.syncDir(dir);
      this.dirNeedsSync = false;
    }
    if (activeWalked) {
      active.markUnflushed();
      const durableTo = recoveryPoint !== undefined && recoveryPoint > active.baseOffset ? recoveryPoint : active.baseOffset;
      this.flushedOffset = durableTo < this.endOffset ? durableTo : this.endOffset;
    } else {
      this.flushedOffset = this.endOffset;
    }
    // Keep the indexes of the newest sealed segments; release the rest until a lookup needs them.
    for (const segment of this.segments.slice(0, -1)) this.touchSealedIndexes(segment);
    return metNewEpoch;
  }

  /** A segment as ProducerStateManager.load reads it: an offset-index lookup for the start, positional reads. */
  private producerStateSource(segment: LogSegment): ProducerStateSegmentSource {
    return {
      baseOffset: segment.baseOffset,
      size: segment.size,
      positionOf: async (offset) => {
        if (offset <= segment.baseOffset) return 0;
        await this.indexesFor(segment);
        return segment.offsetIndex.lookup(Number(offset - segment.baseOffset));
      },
      read: (position, length) => segment.read(position, length),
    };
  }

  /** Forgets producers idle for producer.id.expiration.ms (LogManager calls it periodically). */
  removeExpiredProducers(nowMs: number): number {
    return this.producerState.removeExpiredProducers(nowMs);
  }

  /** Idempotent producers' state (DescribeProducers, tests). */
  get producers(): ProducerStateManager {
    return this.producerState;
  }

  updateConfig(config: LogConfig): void {
    const flushMsChanged = config.flushMs !== this.config.flushMs;
    this.config = config;
    if (flushMsChanged) {
      this.clearFlushTimer();
      this.armFlushTimer();
    }
  }

  /** `origin` 'coordinator': a coordinator's own batch (producer-state.ts: only its epoch is checked). */
  append(batch: Buffer, header: RecordBatchHeader, options: { durable: boolean; origin?: AppendOrigin }): Promise<AppendResult> {
    if (this.closed) {
      return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`));
    }
    if (this.failure) {
      return Promise.reject(
        new KafkaError(
          ErrorCode.KAFKA_STORAGE_ERROR,
          `log ${this.topic}-${this.partition} is offline after an I/O error: ${this.failure.message}`,
        ),
      );
    }
    if (this.repl?.truncation !== undefined) return Promise.reject(this.truncatingError());
    // Producer checks before any offset is assigned; a sequence or epoch error (KafkaError) rejects the append.
    let producerAppend: ProducerAppendCheck | null;
    try {
      producerAppend = this.producerState.checkAndPrepare(header, options.origin);
    } catch (err) {
      return Promise.reject(err);
    }
    if (producerAppend?.kind === 'duplicate') return this.answerDuplicate(producerAppend, options.durable);
    const size = LOG_OVERHEAD + header.batchLength;
    const bytes = batch.length === size ? batch : batch.subarray(0, size);
    const baseOffset = this.nextOffset;
    const lastOffset = baseOffset + BigInt(header.lastOffsetDelta);
    this.nextOffset = lastOffset + 1n;
    setBaseOffset(bytes, 0, baseOffset);
    setPartitionLeaderEpoch(bytes, 0, this.leaderEpoch);
    this.epochCache.assign(this.leaderEpoch, baseOffset);
    let logAppendTimeMs = -1n;
    let maxTimestamp = Number(header.maxTimestamp);
    if (this.config.messageTimestampType === 'LogAppendTime') {
      const now = this.clock();
      logAppendTimeMs = BigInt(now);
      setLogAppendTime(bytes, 0, logAppendTimeMs);
      maxTimestamp = now;
    }
    if (producerAppend) this.producerState.commit(producerAppend, baseOffset, logAppendTimeMs >= 0n ? logAppendTimeMs : header.maxTimestamp);
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({
        kind: 'append',
        batch: bytes,
        baseOffset,
        lastOffset,
        records: header.recordCount,
        maxTimestamp,
        durable: options.durable,
        logAppendTimeMs,
        resolve,
        reject,
      });
      this.scheduleDrain();
    });
  }

  /**
   * Appends a transaction marker (a COMMIT or ABORT control batch, control-batch.ts) for `producerId`, as the
   * transaction coordinator asks (Kafka's UnifiedLog.appendAsLeader with AppendOrigin.COORDINATOR). Rejects with
   * INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED for a stale marker (producer-state.ts). Once
   * written, the transaction no longer holds the last stable offset back, and an ABORT is in the `.txnindex`.
   */
  appendMarker(
    producerId: bigint,
    producerEpoch: number,
    marker: EndTxnMarker,
    options: { durable: boolean },
  ): Promise<AppendResult> {
    if (this.closed) {
      return Promise.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`));
    }
    if (this.failure) {
      return Promise.reject(
        new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.topic}-${this.partition} is offline after an I/O error: ${this.failure.message}`),
      );
    }
    if (this.repl?.truncation !== undefined) return Promise.reject(this.truncatingError());
    let pending: PendingMarker;
    try {
      pending = this.producerState.checkMarker(producerId, producerEpoch, marker.coordinatorEpoch, marker.commit);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.clock();
    const bytes = buildEndTxnMarkerBatch(producerId, producerEpoch, marker, BigInt(now));
    const offset = this.nextOffset;
    this.nextOffset = offset + 1n;
    setBaseOffset(bytes, 0, offset);
    setPartitionLeaderEpoch(bytes, 0, this.leaderEpoch);
    this.epochCache.assign(this.leaderEpoch, offset);
    this.producerState.commitMarker(pending, offset, BigInt(now));
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({
        kind: 'append',
        batch: bytes,
        baseOffset: offset,
        lastOffset: offset,
        records: 1,
        maxTimestamp: now,
        durable: options.durable,
        logAppendTimeMs: -1n,
        resolve,
        reject,
      });
      this.scheduleDrain();
    });
  }

  /**
   * A retry of a batch already accepted: nothing is written, and the answer carries the original batch's offsets
   * and, as Kafka's UnifiedLog.append sets it, its timestamp as logAppendTimeMs. It waits until the original is
   * readable (fsynced too for a durable append), by queueing behind it, so the retry is never acknowledged before
   * the original and fails with it.
   */
  private answerDuplicate(duplicate: DuplicateProducerAppend, durable: boolean): Promise<AppendResult> {
    // Managed mode: the original was acknowledged once written, so its retry is too (the owner waits for the HW).
    const visible = durable ? this.flushedOffset : this.repl?.hwManaged === true ? this.endOffset : this.hw;
    if (duplicate.lastOffset < visible) {
      return Promise.resolve({
        baseOffset: duplicate.firstOffset,
        lastOffset: duplicate.lastOffset,
        logAppendTimeMs: duplicate.timestamp,
        logStartOffset: this.logStartOffset,
      });
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ kind: 'duplicate', duplicate, durable, resolve, reject });
      this.scheduleDrain();
    });
  }

  /** fsyncs everything appended before the call; resolves when done. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    // close() already flushed (or, for a deleted log, deliberately did not).
    if (this.closed && !this.draining) return Promise.resolve();
    if (!this.draining && this.queue.length === 0 && this.flushedOffset >= this.endOffset && !this.anyDirty()) {
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'flush', resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Total bytes appended and made visible since the log was opened. A long-polling Fetch compares it before and
   * after a wake-up to know whether enough has arrived for min_bytes without reading anything (Kafka's
   * DelayedFetch compares log positions the same way).
   */
  get visibleBytesAppended(): number {
    return this.visibleBytesTotal;
  }

  /** True once close() has begun (the partition is being deleted or the broker is closing). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many times this broker's leadership of the partition changed (leadershipChanged); long polls compare it. */
  get leadershipChanges(): number {
    return this.leadershipChangeCount;
  }

  /**
   * Cluster mode: this broker stopped leading the partition (or leads it at a new epoch). Long polls waiting on it
   * end at once ('moved') and read again, so consumers and followers learn of the move without waiting out
   * max_wait_ms.
   */
  leadershipChanged(): void {
    this.leadershipChangeCount++;
    this.notifyAppend();
  }

  /**
   * Calls `listener` after each append that moves the high watermark, and once when close() begins, so that a
   * long poll waiting on a partition being deleted ends at once instead of at max_wait_ms (check `isClosed`).
   */
  onAppend(listener: () => void): () => void {
    (this.listeners ??= new Set()).add(listener);
    return () => {
      this.listeners?.delete(listener);
    };
  }

  /**
   * Whole batches starting at the batch that contains `fetchOffset`, from that offset's segment only, up to
   * `maxBytes` and never past the high watermark. When the first batch alone exceeds maxBytes it is returned
   * whole if `minOneBatch` (KIP-74), otherwise an empty Buffer. null when fetchOffset is at (or past) the high
   * watermark.
   */
  async read(fetchOffset: bigint, maxBytes: number, minOneBatch: boolean, maxOffset?: bigint): Promise<Buffer | null> {
    // Managed mode: written batches at or past the HW (or maxOffset) are trimmed off what is read (readUpTo).
    if (this.repl?.hwManaged === true) return this.readUpTo(fetchOffset, maxBytes, minOneBatch, false, maxOffset);
    if (maxOffset === undefined || maxOffset >= this.hw) return this.readBelowHighWatermark(fetchOffset, maxBytes, minOneBatch);
    // read_committed: only batches below the last stable offset (a batch boundary: where a transaction started).
    if (fetchOffset >= maxOffset) {
      this.checkOpen();
      if (fetchOffset < this.logStartOffset || fetchOffset > this.endOffset) return this.readBelowHighWatermark(fetchOffset, maxBytes, minOneBatch);
      return null;
    }
    const buf = await this.readBelowHighWatermark(fetchOffset, maxBytes, minOneBatch);
    return buf === null ? null : batchesBelow(buf, maxOffset);
  }

  /**
   * What replica fetches read (Kafka's UnifiedLog.read with FetchLogEnd isolation): like read() with minOneBatch,
   * but up to the log end offset (everything written), not the high watermark. OFFSET_OUT_OF_RANGE outside
   * [log start offset, log end offset]; null at the log end offset.
   */
  readForReplica(fetchOffset: bigint, maxBytes: number): Promise<Buffer | null> {
    return this.readUpTo(fetchOffset, maxBytes, true, true, undefined);
  }

  private readBelowHighWatermark(fetchOffset: bigint, maxBytes: number, minOneBatch: boolean): Promise<Buffer | null> {
    return this.readUpTo(fetchOffset, maxBytes, minOneBatch, false, undefined);
  }

  /**
   * The read path: `replica` reads up to the log end offset, others up to the high watermark. In managed mode a
   * consumer read is also trimmed to the batches below min(HW, `maxOffset`): they are written (and so inside the
   * segments' visible bytes) but not yet visible to consumers.
   */
  private async readUpTo(fetchOffset: bigint, maxBytes: number, minOneBatch: boolean, replica: boolean, maxOffset: bigint | undefined): Promise<Buffer | null> {
    if (this.segmentGate !== undefined) await this.segmentGate;
    this.checkOpen();
    if (fetchOffset < this.logStartOffset || fetchOffset > this.endOffset) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `offset ${fetchOffset} is outside ${this.topic}-${this.partition}'s range [${this.logStartOffset}, ${this.endOffset}]`,
      );
    }
    const below = replica || this.repl?.hwManaged !== true ? undefined : maxOffset !== undefined && maxOffset < this.hw ? maxOffset : this.hw;
    if (fetchOffset >= (replica ? this.endOffset : (below ?? this.hw))) return null;
    const segment = this.segmentFor(fetchOffset);
    this.readsInFlight++;
    try {
      const hint = this.readHints.find((h) => h.offset === fetchOffset);
      if (hint !== undefined && hint.segment === segment) {
        const fast = await this.readAtBatchBoundary(segment, hint.position, fetchOffset, maxBytes, minOneBatch, below);
        if (fast !== undefined) return fast;
      }
      // Kafka's LocalLog.read: when the segment holding fetchOffset has nothing at or above it (a gap left by a
      // crash that lost a segment's unflushed tail while the next segment survived), go on to the next segment.
      let index = this.segments.indexOf(segment);
      let current = segment;
      await this.indexesFor(current);
      let found = await current.findBatch(
        current.offsetIndex.lookup(Number(fetchOffset - current.baseOffset)),
        current.visibleSize,
        (b) => b.lastOffset >= fetchOffset,
      );
      while (!found && index + 1 < this.segments.length) {
        current = this.segments[++index]!;
        found = await current.findBatch(0, current.visibleSize, (b) => b.lastOffset >= fetchOffset);
      }
      if (!found) return null;
      const limit = current.visibleSize;
      if (found.size > maxBytes && !minOneBatch) return Buffer.alloc(0);
      const length = found.size > maxBytes ? found.size : Math.min(limit - found.position, maxBytes);
      const inChunk = found.position - found.chunkPosition;
      const buf =
        inChunk + length <= found.chunk.length
          ? found.chunk.subarray(inChunk, inChunk + length)
          : await current.read(found.position, length);
      const whole = this.wholeBatches(buf, current, found.position, below);
      return below !== undefined && whole.length === 0 ? null : whole;
    } finally {
      this.readDone();
    }
  }

  /**
   * The common consumer case: `fetchOffset` is where the previous read ended, so its batch starts at a known file
   * position and one read serves the fetch, with no index lookup or header scan. Returns undefined when the bytes
   * there don't hold that offset (the caller then takes the indexed path).
   */
  private async readAtBatchBoundary(
    segment: LogSegment,
    position: number,
    fetchOffset: bigint,
    maxBytes: number,
    minOneBatch: boolean,
    below: bigint | undefined,
  ): Promise<Buffer | null | undefined> {
    const available = segment.visibleSize - position;
    if (available < RECORD_BATCH_HEADER_SIZE) return undefined;
    let buf = await segment.read(position, Math.min(available, Math.max(maxBytes, RECORD_BATCH_HEADER_SIZE)));
    const header = readBatchHeader(buf, 0);
    const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
    if (header.baseOffset > fetchOffset || lastOffset < fetchOffset) return undefined;
    const firstSize = LOG_OVERHEAD + header.batchLength;
    if (firstSize > maxBytes && !minOneBatch) return Buffer.alloc(0);
    if (firstSize > buf.length) {
      if (firstSize > available) return undefined;
      buf = await segment.read(position, firstSize);
    }
    return this.wholeBatches(buf, segment, position, below);
  }

  /**
   * Trims `buf` (read at `position`) to whole batches, and to those starting below `below` when given (managed
   * mode), and remembers where the next sequential read starts.
   */
  private wholeBatches(buf: Buffer, segment: LogSegment, position: number, below?: bigint): Buffer {
    let pos = 0;
    let nextOffset = -1n;
    while (pos + RECORD_BATCH_HEADER_SIZE <= buf.length) {
      const size = batchSizeAt(buf, pos);
      if (pos + size > buf.length) break;
      const baseOffset = buf.readBigInt64BE(pos);
      if (below !== undefined && baseOffset >= below) break;
      nextOffset = baseOffset + BigInt(buf.readInt32BE(pos + LAST_OFFSET_DELTA_OFFSET)) + 1n;
      pos += size;
    }
    if (pos > 0) {
      const existing = this.readHints.findIndex((h) => h.offset === nextOffset);
      if (existing >= 0) this.readHints.splice(existing, 1);
      this.readHints.unshift({ offset: nextOffset, segment, position: position + pos });
      if (this.readHints.length > MAX_READ_HINTS) this.readHints.pop();
    }
    return buf.subarray(0, pos);
  }

  /**
   * ListOffsets by timestamp (Kafka's UnifiedLog.fetchOffsetByTimestamp → LogSegment.findOffsetByTimestamp →
   * FileRecords.searchForTimestamp), searching from the log start offset (Kafka's startingOffset): in the first
   * segment whose largest timestamp reaches `timestampMs`, from the offset-index entry at or before the later of the
   * time index's floor entry and the log start offset, the first batch below the high watermark whose maxTimestamp
   * >= timestampMs, and in it the first record with timestamp >= timestampMs and offset >= the log start offset
   * (record.ts; a batch straddling the log start offset is searched from it). Only that batch is read record by
   * record: decompressed when compressed, not at all for LogAppendTime with contiguous offsets (every record has
   * maxTimestamp). A batch with no such record (its maxTimestamp overstates its records, or they lie below the log
   * start offset) is passed over, as Kafka does. leaderEpoch is the batch's partitionLeaderEpoch (-1 when it has
   * none). null when no record qualifies.
   *
   * Deliberate difference: when that segment has no qualifying record, Kafka answers "none" (it searches one
   * segment only); Eddy goes on with the later segments, and skips segments wholly below the log start offset that
   * retention has not yet deleted (Kafka may pick one of those and answer "none" too). Both happen only when record
   * timestamps are out of order around the log start offset.
   */
  async offsetForTimestamp(timestampMs: bigint): Promise<TimestampAndOffset | null> {
    if (this.segmentGate !== undefined) await this.segmentGate;
    this.checkOpen();
    const target = Number(timestampMs);
    const start = this.startOffset;
    this.readsInFlight++;
    try {
      for (const segment of this.segments) {
        if (segment.size === 0 || segment.maxTimestamp < target || segment.nextOffset <= start) continue;
        await this.indexesFor(segment);
        let relativeOffset = segment.timeIndex.lookup(target);
        if (start > segment.baseOffset && Number(start - segment.baseOffset) > relativeOffset) relativeOffset = Number(start - segment.baseOffset);
        let position = relativeOffset < 0 ? 0 : segment.offsetIndex.lookup(relativeOffset);
        for (;;) {
          const found = await segment.findBatch(position, segment.visibleSize, (b) => b.maxTimestamp >= target && b.lastOffset >= start);
          if (!found) break;
          const batch = await this.batchBytes(segment, found);
          const record = searchBatchForTimestamp(batch, timestampMs, start);
          if (record) return { ...record, leaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET) };
          position = found.position + found.size;
        }
      }
      return null;
    } finally {
      this.readDone();
    }
  }

  /** The whole batch `found`, from the scan chunk when it holds it, else read from the segment. */
  private async batchBytes(segment: LogSegment, found: FoundBatch): Promise<Buffer> {
    const inChunk = found.position - found.chunkPosition;
    return inChunk + found.size <= found.chunk.length
      ? found.chunk.subarray(inChunk, inChunk + found.size)
      : await segment.read(found.position, found.size);
  }

  /**
   * ListOffsets MAX_TIMESTAMP (KIP-734), as Kafka 3.9's UnifiedLog.fetchOffsetByTimestamp: the segment with the
   * largest timestamp (the first of equals), from the offset-index entry at or before its offsetOfMaxTimestamp,
   * the first batch whose maxTimestamp equals it, and in that batch the first record carrying it
   * (RecordBatch.offsetOfMaxTimestamp: of several records with the largest timestamp, the earliest). Only that
   * batch is read record by record (decompressed when needed); segments' largest timestamps come from what is
   * already tracked (time index, appends), so start-up reads nothing more. null for an empty log, or when that
   * batch is not yet below the high watermark.
   */
  async maxTimestampAndOffset(): Promise<TimestampAndOffset | null> {
    if (this.segmentGate !== undefined) await this.segmentGate;
    this.checkOpen();
    let best: LogSegment | undefined;
    for (const segment of this.segments) {
      if (segment.size === 0) continue;
      if (best === undefined || segment.maxTimestamp > best.maxTimestamp) best = segment;
    }
    if (!best) return null;
    const segment = best;
    const maxTimestamp = segment.maxTimestamp;
    this.readsInFlight++;
    try {
      await this.indexesFor(segment);
      const position = segment.offsetIndex.lookup(Number(segment.offsetOfMaxTimestamp - segment.baseOffset));
      const found = await segment.findBatch(position, segment.visibleSize, (b) => b.maxTimestamp === maxTimestamp);
      if (!found) return null;
      const batch = await this.batchBytes(segment, found);
      const offset = offsetOfMaxTimestamp(batch);
      if (offset === undefined) return null;
      // The batch header's int64, not the segment's number: exact even where a number would round (2^63 - 1).
      return { offset, timestamp: batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET), leaderEpoch: batch.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET) };
    } finally {
      this.readDone();
    }
  }

  /**
   * OffsetForLeaderEpoch (Kafka's UnifiedLog.endOffsetForEpoch → LeaderEpochFileCache.endOffsetFor, rules in
   * leader-epoch-cache.ts): the largest epoch <= `leaderEpoch` that wrote to this log and the offset where it ends,
   * the log end offset for the latest epoch; null when the cache has no answer (UNDEFINED_EPOCH_OFFSET).
   */
  endOffsetForEpoch(leaderEpoch: number): { leaderEpoch: number; endOffset: bigint } | null {
    this.checkOpen();
    const found = this.epochCache.endOffsetFor(leaderEpoch, this.endOffset);
    return found.endOffset < 0n ? null : { leaderEpoch: found.epoch, endOffset: found.endOffset };
  }

  /**
   * ListOffsets EARLIEST (and EARLIEST_LOCAL: nothing is tiered), as Kafka's UnifiedLog.fetchOffsetByTimestamp: the
   * log start offset, with the epoch of the first leader-epoch entry when that entry starts at or below it (-1
   * otherwise).
   */
  earliestOffsetAndEpoch(): TimestampAndOffset {
    this.checkOpen();
    const earliest = this.epochCache.earliestEntry;
    const leaderEpoch = earliest !== undefined && earliest.startOffset <= this.startOffset ? earliest.epoch : -1;
    return { offset: this.startOffset, timestamp: -1n, leaderEpoch };
  }

  /** The leader-epoch cache's entries, oldest first (tests, tools). */
  leaderEpochEntries(): readonly EpochEntry[] {
    return this.epochCache.entries();
  }

  /**
   * ListOffsets v0 (Kafka's UnifiedLog.legacyFetchOffsetsBefore, then Partition.legacyFetchOffsetsForTimestamp):
   * candidates are each segment's base offset (at least the log start offset) and, when the active segment is
   * not empty, the log end offset, each paired with a time; the answer starts at the last candidate for LATEST
   * (-1), the first for EARLIEST (-2), otherwise the last whose time is <= `timestampMs`, and goes back towards
   * older ones, at most `maxNumOffsets` of them, newest first. For a consumer (replicaId -1) offsets above the
   * high watermark are replaced by the high watermark. Kafka pairs each segment with its file's last-modified
   * time; Eddy uses the segment's largest record timestamp, which is when a CreateTime producer last wrote to
   * it (and the append time on LogAppendTime topics). The log end offset is paired with now, as in Kafka.
   */
  legacyFetchOffsetsBefore(timestampMs: bigint, maxNumOffsets: number, fromConsumer: boolean): bigint[] {
    this.checkOpen();
    const candidates: Array<{ offset: bigint; timeMs: number }> = this.segments.map((segment) => ({
      offset: segment.baseOffset > this.logStartOffset ? segment.baseOffset : this.logStartOffset,
      timeMs: segment.maxTimestamp,
    }));
    if (this.segments.at(-1)!.size > 0) candidates.push({ offset: this.endOffset, timeMs: this.clock() });
    let startIndex: number;
    if (timestampMs === -1n) startIndex = candidates.length - 1;
    else if (timestampMs === -2n) startIndex = 0;
    else {
      startIndex = candidates.length - 1;
      while (startIndex >= 0 && BigInt(candidates[startIndex]!.timeMs) > timestampMs) startIndex--;
    }
    const offsets: bigint[] = [];
    for (let i = startIndex; i >= 0 && offsets.length < maxNumOffsets; i--) offsets.push(candidates[i]!.offset);
    offsets.sort((x, y) => (x > y ? -1 : x < y ? 1 : 0));
    if (!fromConsumer || !offsets.some((o) => o > this.hw)) return offsets;
    // Descending, so Kafka's dropWhile(_ > hw) is a filter.
    return [this.hw, ...offsets.filter((o) => o <= this.hw)];
  }

  /**
   * Stops accepting appends, finishes queued ones, then (unless `flush` is false, as when the log is being
   * deleted) fsyncs and seals the active segment; waits for in-flight reads and closes every file.
   */
  async close(options: { flush?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Wake the long polls waiting on this log before anything else: when the partition is being deleted they
    // must answer at once (Kafka completes them as the partition stops, DelayedFetch case C), not at max_wait_ms.
    this.notifyAppend();
    this.clearFlushTimer();
    await this.waitIdle();
    if (this.segmentGate !== undefined) await this.segmentGate;
    // Removed segments waiting for file.delete.delay.ms: their descriptors close now, their `.deleted` files are
    // unlinked by the next load (Kafka drops the scheduled deletions at shutdown too).
    for (const pending of this.pendingDeletions) {
      clearTimeout(pending.timer);
      await Promise.allSettled(pending.segments.map((s) => s.close()));
    }
    this.pendingDeletions.clear();
    try {
      for (const segment of this.segments) if (segment.sealing) await segment.sealing;
      if (options.flush !== false && !this.failure) {
        await this.segments.at(-1)!.seal();
        // An empty log's directory need not be durable (startup recreates it), so closing 100,000 new, idle
        // partitions costs no fsync.
        if (this.endOffset > 0n) await this.syncDirs();
        if (this.epochCache.needsWrite(this.endOffset)) await this.epochCache.write();
        this.flushedOffset = this.endOffset;
        // Clean shutdown: the producer state at the log end offset (after the fsync above, producer-state.ts).
        await this.producerState.takeSnapshot(this.endOffset);
      }
      if (this.failure) throw this.failure;
    } finally {
      if (this.readsInFlight > 0) await new Promise<void>((resolve) => (this.readsDrained = resolve));
      await Promise.allSettled(this.segments.map((s) => s.close()));
    }
  }

  // ---- replication: follower appends and truncation (follower-append.ts, truncation.ts) ----------------------

  /**
   * Kafka's UnifiedLog.appendAsFollower: `records` are whole v2 batches as the leader wrote them (a Fetch answer's
   * records), checked by follower-append.ts and written unchanged through the append queue (one queue item per batch,
   * a slice of `records`; no record is decoded). Each batch's partitionLeaderEpoch is assigned in the leader-epoch
   * cache at its base offset, and producer state is updated as AppendOrigin.REPLICATION (no sequence or epoch check;
   * markers end transactions, ABORTs reach the `.txnindex`). Resolves once the last batch is written (not fsynced
   * unless the flush policy says so, as Kafka's followers), with its first and last offsets; -1n both when
   * `records` holds no whole batch.
   *
   *   first batch's baseOffset                                    outcome
   *   = the log end offset, or above it (a compacted leader)     appended
   *   below it, the log is empty and the batch holds its end     the log restarts at the batch's base offset
   *                                                                (Kafka's Partition.appendRecordsToFollowerOrFuture-
   *                                                                Replica: a leader's log start inside a batch)
   *   below it otherwise                                          OFFSET_OUT_OF_RANGE "Unexpected offset in append …"
   *
   * Also CORRUPT_MESSAGE (follower-append.ts), NOT_LEADER_OR_FOLLOWER when closed or being truncated,
   * KAFKA_STORAGE_ERROR when offline.
   */
  async appendAsFollower(records: Buffer): Promise<FollowerAppendResult> {
    this.checkWritable();
    const batches = checkReplicatedBatches(records, this.topic, this.partition);
    if (batches.length === 0) return { firstOffset: -1n, lastOffset: -1n };
    const first = batches[0]!.header;
    if (first.baseOffset < this.nextOffset) {
      const firstLast = first.baseOffset + BigInt(first.lastOffsetDelta);
      const empty = this.nextOffset === this.endOffset && this.endOffset === this.startOffset;
      if (!empty || firstLast < this.endOffset) {
        throw new KafkaError(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          `Unexpected offset in append to ${this.topic}-${this.partition}. First offset ${first.baseOffset} is less than the next offset ${this.nextOffset}. Log start offset = ${this.startOffset}`,
        );
      }
      this.logger.info(
        { topic: this.topic, partition: this.partition, firstOffset: first.baseOffset.toString(), logStartOffset: this.startOffset.toString() },
        'first replicated batch starts below the log start offset of this empty log; starting the log at its base offset',
      );
      await this.truncateFullyAndStartAt(first.baseOffset);
      this.checkWritable();
    }
    return this.enqueueReplicated(records, batches);
  }

  /** Queues checked replicated batches, synchronously (offsets come from the batches; see appendAsFollower). */
  private enqueueReplicated(records: Buffer, batches: readonly ReplicatedBatch[]): Promise<FollowerAppendResult> {
    const firstOffset = batches[0]!.header.baseOffset;
    return new Promise<FollowerAppendResult>((resolve, reject) => {
      const lastIndex = batches.length - 1;
      for (let i = 0; i <= lastIndex; i++) {
        const { position, size, header, marker } = batches[i]!;
        const lastOffset = header.baseOffset + BigInt(header.lastOffsetDelta);
        // Kafka's maybeAssignEpochStartOffset for every v2 batch (the leader always stamps an epoch >= 0).
        if (header.partitionLeaderEpoch >= 0) this.epochCache.assign(header.partitionLeaderEpoch, header.baseOffset);
        this.producerState.commitReplicated(header, marker);
        this.nextOffset = lastOffset + 1n;
        this.queue.push({
          kind: 'append',
          batch: records.subarray(position, position + size),
          baseOffset: header.baseOffset,
          lastOffset,
          records: header.recordCount,
          maxTimestamp: Number(header.maxTimestamp),
          durable: false,
          logAppendTimeMs: -1n,
          resolve: i === lastIndex ? () => resolve({ firstOffset, lastOffset }) : ignoreResult,
          reject,
        });
      }
      this.scheduleDrain();
    });
  }

  /**
   * Kafka's UnifiedLog.truncateTo (steps in truncation.ts): removes every batch at or after `offset` (a batch
   * boundary; a batch containing it goes whole), once the appends queued before the call are written; appends
   * made while it runs are refused (NOT_LEADER_OR_FOLLOWER). An offset at or past the log end offset removes only
   * the leader-epoch entries starting there (this broker's own, from becoming leader without writing; Kafka does
   * the same); one below the first segment is truncateFullyAndStartAt(offset). An I/O error takes the log offline
   * (loading it again gives a consistent log).
   */
  async truncateTo(offset: bigint): Promise<void> {
    if (offset < 0n) throw new RangeError(`cannot truncate ${this.topic}-${this.partition} to the negative offset ${offset}`);
    await this.runTruncation(async () => {
      if (offset >= this.endOffset) {
        this.epochCache.truncateFromEnd(this.endOffset);
        await this.epochCache.write();
        return false;
      }
      if (offset < this.segments[0]!.baseOffset) {
        await this.truncateFully(offset);
        return true;
      }
      const before = this.endOffset;
      const { kept, deleted } = truncationPlan(this.segments, offset);
      for (const segment of [...deleted, kept.at(-1)!]) this.forgetSealedIndexes(segment);
      await deleteSegmentsNewestFirst(deleted, this.fs, this.dir);
      this.segments = kept;
      const active = kept.at(-1)!;
      await active.truncateToOffset(offset, this.fs, this.dir);
      if (deleted.length > 0) await this.fs.syncDir(this.dir);
      this.endOffset = this.nextOffset = offset;
      if (this.hw > offset) this.hw = offset;
      if (this.flushedOffset > offset) this.flushedOffset = offset;
      if (this.startOffset > offset) this.startOffset = offset;
      this.readHints.length = 0;
      this.repl?.writtenAboveHw?.truncateTo(offset);
      this.messagesSinceFlush = 0;
      this.epochCache.truncateFromEnd(offset);
      await this.epochCache.write();
      await this.abortedTxns.truncateTo(offset, active.baseOffset);
      await this.producerState.truncateAndReload(this.startOffset, offset, this.segments.map((segment) => this.producerStateSource(segment)));
      for (const txn of this.producerState.takeAbortedTxns()) await this.abortedTxns.add(txn, this.segmentFor(txn.lastOffset).baseOffset, false);
      this.logger.info(
        { topic: this.topic, partition: this.partition, from: before.toString(), to: offset.toString(), deletedSegments: deleted.map((s) => s.baseOffset.toString()) },
        'truncated the log',
      );
      return true;
    });
  }

  /**
   * Kafka's UnifiedLog.truncateFullyAndStartAt: a follower whose log ends below the leader's log start offset drops
   * every segment and starts empty at `offset` (log start = log end = high watermark = recovery point = offset); the
   * leader-epoch cache is cleared, producer snapshots and aborted-transaction indexes removed (truncation.ts).
   */
  async truncateFullyAndStartAt(offset: bigint): Promise<void> {
    if (offset < 0n) throw new RangeError(`cannot start ${this.topic}-${this.partition} at the negative offset ${offset}`);
    await this.runTruncation(async () => {
      await this.truncateFully(offset);
      return true;
    });
  }

  private async truncateFully(offset: bigint): Promise<void> {
    const old = this.segments;
    for (const segment of old) this.forgetSealedIndexes(segment);
    await deleteSegmentsNewestFirst(old, this.fs, this.dir);
    const { config } = this;
    this.segments = [await LogSegment.create(this.files, this.dir, offset, config.indexIntervalBytes, config.segmentIndexBytes)];
    await this.fs.syncDir(this.dir);
    this.dirNeedsSync = false;
    this.startOffset = this.endOffset = this.nextOffset = this.hw = this.flushedOffset = offset;
    this.readHints.length = 0;
    this.repl?.writtenAboveHw?.clear();
    this.messagesSinceFlush = 0;
    this.epochCache.clear();
    await this.epochCache.write();
    this.abortedTxns = AbortedTxnIndex.empty(this.fs, this.dir);
    await this.producerState.truncateFullyAndStartAt(offset);
    this.logger.info(
      { topic: this.topic, partition: this.partition, offset: offset.toString(), deletedSegments: old.map((s) => s.baseOffset.toString()) },
      'truncated the whole log and started it again',
    );
  }

  /**
   * Runs a truncation `body` with the log to itself: appends are refused from the call on, the appends queued before
   * it are written first, then the queue is held (later flushes and rolls wait), the segment gate is closed and the
   * reads in flight finish (as for a compaction swap). After the body, when it changed the log, the owner's
   * checkpoints are written (onTruncated) before the queue is released. Truncations run one at a time.
   */
  private async runTruncation(body: () => Promise<boolean>): Promise<boolean> {
    const r = this.replica();
    while (r.truncation !== undefined) await r.truncation;
    this.checkWritable();
    let finished!: () => void;
    r.truncation = new Promise<void>((resolve) => (finished = resolve));
    try {
      while (this.draining) await this.waitIdle();
      r.drainHeld = true;
      while (this.segmentGate !== undefined) await this.segmentGate;
      this.checkWritable(true);
      let openGate!: () => void;
      this.segmentGate = new Promise<void>((resolve) => (openGate = resolve));
      let changed: boolean;
      try {
        while (this.readsInFlight > 0) await new Promise<void>((resolve) => (this.readsIdleForSwap = resolve));
        changed = await body();
      } catch (err) {
        this.markFailed(err);
        throw err;
      } finally {
        this.segmentGate = undefined;
        openGate();
      }
      if (changed && this.onTruncated) {
        try {
          await this.onTruncated(this);
        } catch (err) {
          this.markFailed(err);
          throw err;
        }
      }
      return changed;
    } finally {
      r.drainHeld = false;
      r.truncation = undefined;
      finished();
      if (this.queue.length > 0) {
        if (this.closed) {
          const queued = this.queue;
          this.queue = [];
          for (const item of queued) item.reject(new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`));
        } else {
          this.scheduleDrain();
        }
      }
    }
  }

  /** Throws the KafkaError an append would get: closed, offline, or (unless `truncating` is ours) being truncated. */
  private checkWritable(truncating = false): void {
    if (this.closed) throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
    if (this.failure) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.topic}-${this.partition} is offline after an I/O error: ${this.failure.message}`);
    }
    if (!truncating && this.repl?.truncation !== undefined) throw this.truncatingError();
  }

  /** A segment leaving the log (or becoming the active one again): its indexes are no longer managed as sealed. */
  private forgetSealedIndexes(segment: LogSegment): void {
    const at = this.loadedSealedIndexes.indexOf(segment);
    if (at >= 0) this.loadedSealedIndexes.splice(at, 1);
  }

  // ---- retention and DeleteRecords (retention.ts) ------------------------------------------------------------

  /**
   * Kafka's Partition.deleteRecordsOnLeader (DeleteRecords): `offset` -1 means the high watermark; the log start
   * offset moves there (maybeIncrementLogStartOffset) and the new log start offset, the low watermark, is returned.
   * The segments wholly below it go at the next retention pass (log-start-offset-breach).
   *
   *   condition                                    KafkaError
   *   cleanup.policy without `delete`              POLICY_VIOLATION
   *   offset < 0 (other than -1)                   OFFSET_OUT_OF_RANGE "The offset … is not valid"
   *   offset > high watermark                      OFFSET_OUT_OF_RANGE "Cannot increment the log start offset …"
   *   offset <= log start offset                   nothing changes; the current log start offset is returned
   */
  deleteRecordsOnLeader(offset: bigint): bigint {
    this.checkOpen();
    if (this.failure) throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${this.topic}-${this.partition} is offline after an I/O error`);
    if (!this.config.delete) {
      throw new KafkaError(ErrorCode.POLICY_VIOLATION, `Records of partition ${this.topic}-${this.partition} can not be deleted due to the configured policy`);
    }
    const converted = offset === -1n ? this.hw : offset;
    if (converted < 0n) throw new KafkaError(ErrorCode.OFFSET_OUT_OF_RANGE, `The offset ${converted} for partition ${this.topic}-${this.partition} is not valid`);
    this.maybeIncrementLogStartOffset(converted, 'client-record-deletion');
    return this.startOffset;
  }

  /**
   * Kafka's UnifiedLog.maybeIncrementLogStartOffset: moves the log start offset forward to `offset` (never back);
   * throws OFFSET_OUT_OF_RANGE when `offset` is past the high watermark. The recovery point follows (Kafka's
   * updateLogStartOffset). Producer state keeps its producers (Kafka's onLogStartOffsetIncremented only drops
   * unreplicated transactions, which a single broker never has, and moves the map end offset, which is already
   * at the log end here); aborted transactions whose markers are below it go with their segments.
   */
  maybeIncrementLogStartOffset(offset: bigint, reason: 'client-record-deletion' | 'leader-offset-incremented'): boolean {
    if (offset > this.hw) {
      throw new KafkaError(
        ErrorCode.OFFSET_OUT_OF_RANGE,
        `Cannot increment the log start offset to ${offset} of partition ${this.topic}-${this.partition} since it is larger than the high watermark ${this.hw}`,
      );
    }
    if (!this.advanceLogStartOffset(offset)) return false;
    this.logger.info({ topic: this.topic, partition: this.partition, logStartOffset: offset.toString(), reason }, 'incremented the log start offset');
    // A failure is logged by the owner; DeleteRecords waits for a write of its own.
    this.onLogStartOffsetIncremented?.(this).catch(() => undefined);
    return true;
  }

  /** Sets the log start offset (and the recovery point with it) when `offset` is above it. */
  private advanceLogStartOffset(offset: bigint): boolean {
    if (offset <= this.startOffset) return false;
    this.startOffset = offset;
    if (this.flushedOffset < offset) this.flushedOffset = offset;
    // Kafka's leaderEpochCache.truncateFromStartAsyncFlush: written in the background (load repeats the truncation).
    this.epochCache.truncateFromStart(offset);
    if (!this.closed && this.epochCache.needsWrite(this.endOffset)) {
      this.epochCache.write().catch((err: unknown) => {
        if (!this.closed) this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'could not write the leader epoch checkpoint; the next flush retries');
      });
    }
    return true;
  }

  /** Removed segments whose files are not yet unlinked (tests, tools). */
  get pendingSegmentDeletions(): number {
    let n = 0;
    for (const pending of this.pendingDeletions) n += pending.segments.length;
    return n;
  }

  /** Bytes in the segments' .log files (Kafka's UnifiedLog.size). */
  get size(): number {
    let bytes = 0;
    for (const segment of this.segments) bytes += segment.size;
    return bytes;
  }

  /**
   * One retention pass (Kafka's UnifiedLog.deleteOldSegments; rules in retention.ts): returns how many segments
   * were removed. Passes do not overlap: a call during one returns that one.
   */
  deleteOldSegments(): Promise<number> {
    if (this.closed || this.failure) return Promise.resolve(0);
    this.retentionPass ??= this.runRetentionPass().finally(() => {
      this.retentionPass = undefined;
    });
    return this.retentionPass;
  }

  private async runRetentionPass(): Promise<number> {
    let removed = 0;
    for (const rule of retentionRules(this.config)) {
      if (this.closed || this.failure) break;
      let count = deletableSegmentCount(rule, this.retentionView());
      if (count === 0) continue;
      if (count === this.segments.length) {
        // Every segment, the active one too: roll it so that it can go and an empty one remains (Kafka's
        // deleteSegments), then decide again with the data appended meanwhile.
        this.logger.info({ topic: this.topic, partition: this.partition, rule }, 'rolling the active segment so that retention can delete it');
        await this.rollActiveSegment();
        count = Math.min(deletableSegmentCount(rule, this.retentionView()), this.segments.length - 1);
      }
      if (count > 0) removed += await this.removeOldestSegments(this.segments.slice(0, count), rule);
    }
    return removed;
  }

  private retentionView(): RetentionView {
    return {
      segments: this.segments,
      highWatermark: this.hw,
      logEndOffset: this.endOffset,
      logStartOffset: this.startOffset,
      config: this.config,
      nowMs: this.clock(),
    };
  }

  /** Rolls the active segment between the appends queued before and after this call (nothing when it is empty). */
  private rollActiveSegment(): Promise<void> {
    if (this.closed || this.failure) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ kind: 'roll', resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Removes `doomed`, the oldest sealed segments, from the log (Kafka's UnifiedLog.deleteSegments and
   * LocalLog.removeAndDeleteSegments): behind the segment gate (see the header), so no read is using them. Returns
   * how many were removed: 0 when the log changed meanwhile (a compaction swap, a close).
   */
  private async removeOldestSegments(doomed: LogSegment[], reason: SegmentDeletionReason): Promise<number> {
    while (this.segmentGate !== undefined) await this.segmentGate;
    if (this.closed || this.failure) return 0;
    let openGate!: () => void;
    this.segmentGate = new Promise<void>((resolve) => (openGate = resolve));
    const paths: string[] = [];
    let newStart: bigint;
    let moved: boolean;
    try {
      for (const segment of doomed) if (segment.sealing) await segment.sealing;
      while (this.readsInFlight > 0) await new Promise<void>((resolve) => (this.readsIdleForSwap = resolve));
      if (this.closed || this.failure || doomed.length >= this.segments.length || doomed.some((s, i) => this.segments[i] !== s)) return 0;
      // The new log start offset is durable before the first rename: after a crash part-way through them, loading
      // takes the checkpointed offset over the first segment left (Kafka checkpoints it only periodically and can
      // bring deleted segments' offsets back; Eddy promises what it answered).
      const target = this.segments[doomed.length]!.baseOffset;
      if (target > this.startOffset && this.onLogStartOffsetIncremented) {
        this.pendingStartOffset = target;
        try {
          await this.onLogStartOffsetIncremented(this);
        } catch (err) {
          this.pendingStartOffset = undefined;
          this.logger.error({ topic: this.topic, partition: this.partition, err }, 'could not checkpoint the log start offset; segments are not deleted');
          return 0;
        }
      }
      this.segments = this.segments.slice(doomed.length);
      newStart = this.segments[0]!.baseOffset;
      // Before the gate opens, so no read ever looks for an offset of a removed segment (Kafka increments the log
      // start offset before removing the segments for lookups).
      moved = this.advanceLogStartOffset(newStart);
      for (const segment of doomed) {
        const at = this.loadedSealedIndexes.indexOf(segment);
        if (at >= 0) this.loadedSealedIndexes.splice(at, 1);
      }
      for (let i = this.readHints.length - 1; i >= 0; i--) if (doomed.includes(this.readHints[i]!.segment)) this.readHints.splice(i, 1);
      // The aborted transactions whose markers were in the removed segments go with their .txnindex files.
      if (this.abortedTxns.size > 0) {
        const abortedTxns = AbortedTxnIndex.empty(this.fs, this.dir);
        for (const txn of this.abortedTxns.all()) if (txn.lastOffset >= newStart) abortedTxns.insert(txn);
        this.abortedTxns = abortedTxns;
      }
      this.pendingStartOffset = undefined;
      for (const segment of doomed) {
        paths.push(...(await segment.renameToDeleted(this.fs)));
        const txnIndex = `${this.dir}/${txnIndexFileName(segment.baseOffset)}`;
        if ((await this.fs.fileSize(txnIndex)) !== undefined) {
          await this.fs.rename(txnIndex, `${txnIndex}.deleted`);
          paths.push(`${txnIndex}.deleted`);
        }
      }
    } catch (err) {
      this.markFailed(err);
      throw err;
    } finally {
      this.segmentGate = undefined;
      openGate();
    }
    this.logger.info(
      {
        topic: this.topic,
        partition: this.partition,
        reason,
        segments: doomed.map((s) => s.baseOffset.toString()),
        retentionMs: this.config.retentionMs,
        retentionBytes: this.config.retentionBytes,
        logStartOffset: newStart.toString(),
      },
      'deleting segments',
    );
    try {
      // The renames are durable before the log start offset is checkpointed (a crash then never brings them back).
      await this.fs.syncDir(this.dir);
    } catch (err) {
      this.markFailed(err);
      throw err;
    }
    // The checkpoint entry written above is redundant now (the first segment starts there): dropped at this write.
    if (moved) this.onLogStartOffsetIncremented?.(this).catch(() => undefined);
    // Kafka's deleteProducerSnapshots: the snapshots of the removed segments (the next one's base snapshot stays).
    await this.producerState.deleteSnapshotsBefore(newStart).catch((err: unknown) => {
      this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'could not delete producer state snapshots of deleted segments');
    });
    if (this.closed) {
      // Closed meanwhile: no delayed unlink outlives the log; the next load unlinks the files.
      await Promise.allSettled(doomed.map((s) => s.close()));
      return doomed.length;
    }
    const pending: PendingSegmentDeletion = {
      segments: doomed,
      paths,
      timer: setTimeout(() => {
        this.pendingDeletions.delete(pending);
        void this.deleteSegmentFiles(pending);
      }, Math.min(this.config.fileDeleteDelayMs, MAX_TIMER_MS)),
    };
    pending.timer.unref();
    this.pendingDeletions.add(pending);
    return doomed.length;
  }

  /** The delayed unlink of removed segments' `.deleted` files (a failure leaves them to the next load). */
  private async deleteSegmentFiles(pending: PendingSegmentDeletion): Promise<void> {
    await Promise.allSettled(pending.segments.map((s) => s.close()));
    for (const path of pending.paths) {
      try {
        await this.fs.unlink(path);
      } catch (err) {
        this.logger.warn({ topic: this.topic, partition: this.partition, path, err }, 'could not unlink a deleted segment file; the next start removes it');
      }
    }
  }

  // ---- log cleaner hooks (cleaner/log-cleaner.ts) ------------------------------------------------------------

  /** The segments, oldest first, the active one last: a copy for the cleaner to walk. */
  cleanerSegments(): LogSegment[] {
    return this.segments.slice();
  }

  /**
   * Swaps the consecutive sealed segments `replaced` for the cleaned segment staged by `swap` (Kafka's
   * UnifiedLog.replaceSegments), with reads held at the gate (header). False, with nothing changed, when the log
   * is closed or offline or `replaced` are no longer its sealed segments. A failure once files are being renamed
   * takes the log offline: loading it again finishes the swap from the files (cleaner/segment-swap.ts).
   */
  async replaceSegments(replaced: readonly LogSegment[], swap: SegmentSwap): Promise<boolean> {
    const at = this.segments.indexOf(replaced[0]!);
    if (this.closed || this.failure || this.segmentGate !== undefined || at < 0 || at + replaced.length >= this.segments.length) return false;
    if (replaced.some((segment, i) => this.segments[at + i] !== segment)) return false;
    let openGate!: () => void;
    this.segmentGate = new Promise<void>((resolve) => (openGate = resolve));
    let deleted: string[] = [];
    try {
      for (const segment of replaced) if (segment.sealing) await segment.sealing;
      while (this.readsInFlight > 0) await new Promise<void>((resolve) => (this.readsIdleForSwap = resolve));
      for (const segment of replaced) {
        const hint = this.loadedSealedIndexes.indexOf(segment);
        if (hint >= 0) this.loadedSealedIndexes.splice(hint, 1);
        await segment.close();
      }
      for (let i = this.readHints.length - 1; i >= 0; i--) if (replaced.includes(this.readHints[i]!.segment)) this.readHints.splice(i, 1);
      deleted = await swap.commit(replaced.map((s) => s.baseOffset));
      const { config } = this;
      const opened = await LogSegment.open(this.files, this.dir, swap.baseOffset, config.indexIntervalBytes, config.segmentIndexBytes);
      const segment = opened.segment;
      if (!opened.indexesValid) await recoverSegment(segment, this.fs, this.dir, { active: false });
      segment.nextOffset = replaced.at(-1)!.nextOffset;
      segment.rollingBaseMs = this.clock();
      const from = this.segments.indexOf(replaced[0]!);
      this.segments = [...this.segments.slice(0, from), segment, ...this.segments.slice(from + replaced.length)];
      // Aborted transactions whose markers were in the replaced segments: only those the cleaned one keeps.
      const first = replaced[0]!.baseOffset;
      const end = segment.nextOffset;
      const abortedTxns = AbortedTxnIndex.empty(this.fs, this.dir);
      for (const txn of this.abortedTxns.all()) if (txn.lastOffset < first || txn.lastOffset >= end) abortedTxns.insert(txn);
      for (const txn of swap.abortedTxns) abortedTxns.insert(txn);
      this.abortedTxns = abortedTxns;
      this.touchSealedIndexes(segment);
    } catch (err) {
      this.markFailed(err);
      throw err;
    } finally {
      this.segmentGate = undefined;
      openGate();
    }
    // Nothing holds the old files now; a failure here only leaves files that the next load removes.
    for (const path of deleted) await this.fs.unlink(path).catch(() => undefined);
    return true;
  }

  // ---- append queue ------------------------------------------------------------------------------------------

  private scheduleDrain(): void {
    if (this.draining || this.repl?.drainHeld === true) return;
    this.draining = true;
    // A microtask, so every append made in the current synchronous run joins the first group.
    queueMicrotask(() => void this.drain());
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.failure) {
        const queued = this.queue;
        this.queue = [];
        for (const item of queued) item.reject(this.failure);
        break;
      }
      await this.drainOnce();
    }
    this.draining = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private waitIdle(): Promise<void> {
    if (!this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Takes one group off the queue, writes it, fsyncs if needed, advances the high watermark. */
  private async drainOnce(): Promise<void> {
    const group: QueueItem[] = [];
    try {
      const now = this.clock();
      let segment = this.segments.at(-1)!;
      const buffers: Buffer[] = [];
      let bytes = 0;
      let messages = 0;
      let needSync = false;
      /** A flush() request or flush.messages: indexes too; durable appends alone need only the .log. */
      let needFullFlush = false;
      let last: PendingAppend | undefined;
      while (this.queue.length > 0) {
        const item = this.queue[0]!;
        if (item.kind === 'roll') {
          // Everything queued before it is written first; then the roll, if the active segment has data.
          if (bytes > 0) break;
          group.push(this.queue.shift()!);
          if (segment.size > 0) segment = await this.roll(this.endOffset);
          continue;
        }
        if (item.kind !== 'append') {
          group.push(this.queue.shift()!);
          if (item.kind === 'flush' || item.durable) needSync = true;
          if (item.kind === 'flush') needFullFlush = true;
          continue;
        }
        const size = item.batch.length;
        if (this.shouldRoll(segment, segment.size + bytes, size, item.lastOffset, now)) {
          if (bytes > 0) break;
          segment = await this.roll(item.baseOffset);
        } else if (bytes > 0 && (buffers.length >= MAX_WRITE_BUFFERS || bytes + size > MAX_WRITE_BYTES)) {
          break;
        }
        this.queue.shift();
        group.push(item);
        segment.rollingBaseMs ??= now;
        segment.indexBatch(segment.size + bytes, size, item.baseOffset, item.lastOffset, item.maxTimestamp);
        buffers.push(item.batch);
        bytes += size;
        messages += item.records;
        last = item;
        if (item.durable) needSync = true;
      }

      if (last) {
        await segment.write(buffers, bytes);
        // Keep the index files close behind the .log (in the background: appends don't wait), so that recovery
        // after a process-only crash can start from the last index entry instead of the segment start.
        const indexesPersisting = segment.unpersistedIndexEntries >= INDEX_PERSIST_ENTRIES;
        if (indexesPersisting) {
          segment.persistIndexes().catch((err: unknown) => {
            this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'index write failed; recovery will rebuild the index');
          });
        }
        segment.nextOffset = last.lastOffset + 1n;
        this.endOffset = segment.nextOffset;
        this.producerState.onWritten(this.endOffset);
        // ABORT markers just written go to the aborted-transaction index before they are acknowledged.
        for (const txn of this.producerState.takeAbortedTxns()) {
          await this.abortedTxns.add(txn, this.segmentFor(txn.lastOffset).baseOffset, needSync);
        }
        if (indexesPersisting) {
          // Producer state follows the index files, so a process crash replays only the tail (producer-state.ts).
          this.producerState.takeInterimSnapshot(this.endOffset, segment.baseOffset).catch((err: unknown) => {
            this.logger.warn({ topic: this.topic, partition: this.partition, err }, 'producer state snapshot failed');
          });
        }
        this.messagesSinceFlush += messages;
        if (this.messagesSinceFlush >= this.config.flushMessages) needSync = needFullFlush = true;
      }
      if (needSync) await this.syncTo(this.endOffset, !needFullFlush);
      else if (last) this.armFlushTimer();

      let moved = false;
      const r = this.repl;
      if (r === undefined || !r.hwManaged) {
        moved = this.endOffset > this.hw;
        this.hw = this.endOffset;
        this.visibleBytesTotal += bytes;
      } else if (last) {
        // The owner moves the HW later (updateHighWatermark); remember each batch's end for visibleBytesAppended.
        let total = r.bytesWrittenTotal;
        for (const item of group) {
          if (item.kind !== 'append') continue;
          total += item.batch.length;
          r.writtenAboveHw!.push(item.lastOffset + 1n, total);
        }
      }
      if (r !== undefined) r.bytesWrittenTotal += bytes;
      segment.visibleSize = segment.size;
      const logStartOffset = this.logStartOffset;
      for (const item of group) {
        if (item.kind === 'flush' || item.kind === 'roll') item.resolve();
        else if (item.kind === 'duplicate') {
          const { firstOffset, lastOffset, timestamp } = item.duplicate;
          item.resolve({ baseOffset: firstOffset, lastOffset, logAppendTimeMs: timestamp, logStartOffset });
        } else {
          item.resolve({
            baseOffset: item.baseOffset,
            lastOffset: item.lastOffset,
            logAppendTimeMs: item.logAppendTimeMs,
            logStartOffset,
          });
        }
      }
      if (moved) this.notifyAppend();
      if (last && r?.leoListeners !== undefined) this.notifyLogEndOffset(r.leoListeners);
    } catch (err) {
      this.markFailed(err);
      for (const item of group) item.reject(err);
    }
  }

  private shouldRoll(segment: LogSegment, projectedSize: number, batchSize: number, lastOffset: bigint, now: number): boolean {
    if (projectedSize === 0) return false;
    return (
      projectedSize + batchSize > this.config.segmentBytes ||
      (segment.rollingBaseMs !== undefined && now - segment.rollingBaseMs > this.config.segmentMs) ||
      segment.offsetIndex.isFull() ||
      segment.timeIndex.isFull() ||
      lastOffset - segment.baseOffset > MAX_RELATIVE_OFFSET
    );
  }

  private async roll(baseOffset: bigint): Promise<LogSegment> {
    const old = this.segments.at(-1)!;
    const segment = await LogSegment.create(
      this.files,
      this.dir,
      baseOffset,
      this.config.indexIntervalBytes,
      this.config.segmentIndexBytes,
    );
    old.nextOffset = baseOffset;
    this.segments.push(segment);
    this.dirNeedsSync = true;
    const sealed = old.seal();
    old.sealing = sealed.then(
      () => this.touchSealedIndexes(old),
      (err: unknown) => this.markFailed(err),
    );
    // The producer state below the new segment, as of now (every earlier batch is written, none later), written
    // once the old segment is fsynced (producer-state.ts); a failed write is logged there and only costs replay.
    void this.producerState.takeSnapshot(baseOffset, sealed);
    this.logger.debug(
      { topic: this.topic, partition: this.partition, oldSegment: old.baseOffset.toString(), newSegment: baseOffset.toString(), oldSize: old.size },
      'rolled segment',
    );
    return segment;
  }

  /** fsyncs every segment with unflushed data (waiting for background seals) and records the recovery point. */
  /** `dataOnly`: fsync the .log files only (LogSegment.syncData), as durable appends need; else flush everything. */
  private async syncTo(offset: bigint, dataOnly = false): Promise<void> {
    // This array, even if replaceSegments() installs another meanwhile (the replaced segments are clean).
    const segments = this.segments;
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i]!;
      if (segment.sealing) await segment.sealing;
      else if (segment.dirty) await (dataOnly ? segment.syncData() : segment.flush());
      if (segment.baseOffset <= this.flushedOffset && !segment.dirty) break;
    }
    await this.syncDirs();
    // The recovery point may not pass an epoch's start before the checkpoint holds it (leader-epoch-cache.ts).
    if (this.epochCache.needsWrite(this.endOffset)) await this.epochCache.write();
    if (this.failure) throw this.failure;
    if (offset > this.flushedOffset) this.flushedOffset = offset;
    this.messagesSinceFlush = 0;
    this.clearFlushTimer();
  }

  /** fsyncs the partition directory when entries changed, and the data dir when this log is new. */
  private async syncDirs(): Promise<void> {
    if (this.dirNeedsSync) {
      this.dirNeedsSync = false;
      try {
        await this.fs.syncDir(this.dir);
      } catch (err) {
        this.dirNeedsSync = true;
        throw err;
      }
    }
    if (this.parentDirNeedsSync) {
      await this.fs.syncDir(parentDir(this.dir));
      this.parentDirNeedsSync = false;
    }
  }

  private armFlushTimer(): void {
    if (this.flushTimer || this.closed || this.config.flushMs > MAX_TIMER_MS) return;
    if (this.flushedOffset >= this.endOffset) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      // A failure is recorded (and logged) by markFailed; nothing waits on this flush.
      this.flush().catch(() => undefined);
    }, this.config.flushMs);
    this.flushTimer.unref();
  }

  private clearFlushTimer(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private markFailed(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.clearFlushTimer();
    this.logger.error(
      { topic: this.topic, partition: this.partition, err: this.failure },
      'I/O error: partition log is offline',
    );
    this.onFailure?.(this, this.failure);
  }

  /**
   * After an I/O error: waits for the append queue to stop, then cuts the active segment's file back to the
   * bytes that were completely written (a write that failed part-way, as ENOSPC leaves it, may have left a torn
   * batch or whole batches that were never acknowledged). Throws while the disk still refuses the truncate.
   */
  async discardUnwrittenTail(): Promise<void> {
    await this.waitIdle();
    const active = this.segments.at(-1)!;
    await active.truncateTo(active.size);
  }

  private anyDirty(): boolean {
    return this.segments.some((s) => s.dirty);
  }

  private notifyAppend(): void {
    if (this.listeners === undefined || this.listeners.size === 0) return;
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ topic: this.topic, partition: this.partition, err }, 'append listener threw');
      }
    }
  }

  private notifyLogEndOffset(listeners: ReadonlySet<(logEndOffset: bigint) => void>): void {
    const endOffset = this.endOffset;
    for (const listener of [...listeners]) {
      try {
        listener(endOffset);
      } catch (err) {
        this.logger.error({ topic: this.topic, partition: this.partition, err }, 'log end offset listener threw');
      }
    }
  }

  private truncatingError(): KafkaError {
    return new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is being truncated`);
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  private checkOpen(): void {
    if (this.closed) {
      throw new KafkaError(ErrorCode.NOT_LEADER_OR_FOLLOWER, `log ${this.topic}-${this.partition} is closed`);
    }
  }

  private readDone(): void {
    this.readsInFlight--;
    if (this.readsInFlight === 0 && this.readsIdleForSwap) {
      const resolve = this.readsIdleForSwap;
      this.readsIdleForSwap = undefined;
      resolve();
    }
    if (this.readsInFlight === 0 && this.readsDrained) {
      const resolve = this.readsDrained;
      this.readsDrained = undefined;
      resolve();
    }
  }

  /** The last segment whose base offset is <= offset. */
  /** Makes `segment`'s indexes usable for a lookup: reloads them if released, and marks them recently used. */
  private async indexesFor(segment: LogSegment): Promise<void> {
    if (segment === this.segments.at(-1)) return;
    await segment.loadIndexes(this.fs, this.dir);
    this.touchSealedIndexes(segment);
  }

  /** Records a use of a sealed segment's indexes and releases the least recently used beyond the limit. */
  private touchSealedIndexes(segment: LogSegment): void {
    const at = this.loadedSealedIndexes.indexOf(segment);
    if (at >= 0) this.loadedSealedIndexes.splice(at, 1);
    this.loadedSealedIndexes.push(segment);
    while (this.loadedSealedIndexes.length > MAX_LOADED_SEALED_INDEXES) this.loadedSealedIndexes.shift()!.releaseIndexes();
  }

  private segmentFor(offset: bigint): LogSegment {
    const segments = this.segments;
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return segments[lo]!;
  }
}

function ignoreResult(): void {}

function parentDir(dir: string): string {
  const i = dir.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '.') : dir.slice(0, i);
}

/** The leading whole batches of `buf` whose base offset is below `maxOffset`. */
function batchesBelow(buf: Buffer, maxOffset: bigint): Buffer {
  let pos = 0;
  while (pos + RECORD_BATCH_HEADER_SIZE <= buf.length && buf.readBigInt64BE(pos) < maxOffset) pos += batchSizeAt(buf, pos);
  return pos >= buf.length ? buf : buf.subarray(0, pos);
}

/** Why a waitForAppend() wait ended. */
export type WakeReason = 'append' | 'closed' | 'moved' | 'timeout' | 'aborted' | 'cancelled';

/**
 * Long-poll helper for Fetch: resolves once, with the first of
 *
 *   'closed'     one of `logs` is closed (its partition is being deleted, or the broker is closing); at once when
 *                one already is, so a deletion during the caller's read is not missed
 *   'moved'      this broker's leadership of one of `logs` changed (cluster: resigned, or a new leader epoch),
 *                so the fetch reads again and answers what the new state says (Kafka's DelayedFetch case A)
 *   'aborted'    `signal` aborts (broker shutdown); at once when it already has
 *   'append'     one of `logs` advances its high watermark
 *   'timeout'    `timeoutMs` passes
 *   'cancelled'  cancel() is called
 *
 * One timer, one listener per log and one abort listener; every ending removes them all.
 */
export function waitForAppend(
  logs: PartitionLog[],
  timeoutMs: number,
  signal?: AbortSignal,
): { promise: Promise<WakeReason>; cancel(): void } {
  let resolvePromise!: (reason: WakeReason) => void;
  const promise = new Promise<WakeReason>((resolve) => (resolvePromise = resolve));
  const unsubscribes: Array<() => void> = [];
  let done = false;
  let timer: NodeJS.Timeout | undefined;
  const finish = (reason: WakeReason): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const unsubscribe of unsubscribes) unsubscribe();
    signal?.removeEventListener('abort', onAbort);
    resolvePromise(reason);
  };
  const onAbort = (): void => finish('aborted');
  if (signal?.aborted) finish('aborted');
  else if (logs.some((log) => log.isClosed)) finish('closed');
  if (done) return { promise, cancel: () => undefined };
  for (const log of logs) {
    const leadership = log.leadershipChanges;
    unsubscribes.push(log.onAppend(() => finish(log.isClosed ? 'closed' : log.leadershipChanges !== leadership ? 'moved' : 'append')));
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  timer = setTimeout(() => finish('timeout'), Math.max(0, timeoutMs));
  return { promise, cancel: () => finish('cancelled') };
}
