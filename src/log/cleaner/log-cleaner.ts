// The log cleaner: compaction of `cleanup.policy=compact` logs (Kafka 3.9's LogCleaner, LogCleanerManager and
// Cleaner), one background task in the broker process, off the request path. It walks segments a chunk
// (CHUNK_BUFFER_BYTES) at a time, writes the cleaned segment on the event loop (async), is throttled by
// `log.cleaner.io.max.bytes.per.second` (throttler.ts) and swaps segments in (segment-swap.ts). Reading the
// chunks and the CPU work — parsing and decompressing records, hashing keys into the offset map, filtering and
// recompressing batches, CRC-32C — run in a worker thread at a low priority (cleaner-compute.ts,
// cleaner-worker.ts): for each segment the cleaner opens a descriptor of its own (openChunkSource), the worker
// reads each chunk through it and the kept batches come back. So requests never wait, on the event loop or in
// libuv's pool, behind the cleaner's reads and CPU work (figures in BENCHMARKS.md, cleaner section). Where no
// worker can start, the same code runs inline, reads on the event loop, and yields on a work budget (YIELD_BYTES
// of batch and decompressed record bytes or YIELD_MS of work, whichever comes first, checked after every batch);
// its longest stall is then one batch's synchronous decode and hashing.
//
// One pass (cleanOnce), as Kafka's CleanerThread.cleanFilthiestLog:
//  1. Pick the filthiest log (LogCleanerManager.grabFilthiestCompactedLog). For each compacted log that is not
//     closed, offline or marked uncleanable:
//       firstDirtyOffset       the cleaner checkpoint for the partition; the log start offset when there is none,
//                              or when it lies below the log start or above the log end (then rewritten)
//       firstUncleanableOffset min(last stable offset, active segment base, base of the first dirty sealed
//                              segment whose largest timestamp is newer than now - min.compaction.lag.ms),
//                              rounded down to the base of the segment holding it (Kafka's
//                              calculateCleanableBytes); when that is not above firstDirtyOffset (the map
//                              filled inside the segment holding the bound last time), nothing is cleanable
//       cleanableRatio         bytes of segments in [firstDirty, firstUncleanable) / bytes in [logStart,
//                              firstUncleanable)
//       needCompactionNow      a dirty sealed segment's first batch is older than now - max.compaction.lag.ms
//     A log qualifies when cleanableRatio > min.cleanable.dirty.ratio, or needCompactionNow with cleanable bytes;
//     the highest ratio wins. None: sleep `log.cleaner.backoff.ms` (woken by close()).
//  2. Build the offset map (Cleaner.buildOffsetMap, offset-map.ts) from the batches of [firstDirty,
//     firstUncleanable): key → last offset, skipping aborted transactions' batches and control batches
//     (transaction-metadata.ts), stopping when the map is full (`log.cleaner.dedupe.buffer.size`). The map's
//     latest offset is the last record put, each batch passed, and the end of each fully mapped segment (Kafka's
//     updateLatestOffset(nextSegmentStartOffset - 1), so a segment ending in an offset gap is wholly clean);
//     endOffset = latest + 1. A map that cannot take the first record fails the cleaning (the checkpoint does not
//     jump over an uncleaned section; Kafka refuses such a map at startup).
//  3. Group the sealed segments below endOffset (all of them from the log start: the clean section is
//     re-cleaned against the new map) so that a group's .log and indexes fit segment.bytes / segment.index.bytes
//     and its offsets fit 32-bit relative offsets (Cleaner.groupSegmentsBySize). The output is bounded too:
//     rewritten batches are recompressed with their own codec, and one that would push the cleaned segment past
//     min(max(segment.bytes, the group's first segment), 2^31 - 1) (counting the input still to come at its
//     original size) is written as the original batch instead, so a cleaned segment never outgrows its limit
//     (Kafka's FileRecords.append refuses to pass Integer.MAX_VALUE; CleanedSegmentWriter checks it too).
//  4. Rewrite each group into one cleaned segment (Cleaner.cleanSegments / cleanInto; batch-filter.ts), stage it
//     and swap it in (segment-swap.ts, PartitionLog.replaceSegments). Per batch and record, Kafka's rules:
//
//       batch                                         fate
//       last data batch of an active producer, or     kept (empty if no record stays: RETAIN_EMPTY), so the
//         the marker that is its last entry          producer's sequence / epoch survives
//       of an aborted transaction                     dropped
//       control, its transaction has no data left     dropped once its delete horizon has passed (a horizon is
//         (transaction-metadata.ts)                   set the first time: now + delete.retention.ms)
//       any other control batch                       kept
//       record (data batch)                           kept when its offset > the map's end, or it has a key, its
//                                                     offset >= the key's mapped offset, and it has a value or
//                                                     its batch's delete horizon has not passed (tombstones get a
//                                                     horizon the first time they are kept, KIP-534); keyless
//                                                     records are dropped (produce refuses them on compacted
//                                                     topics, log-validator.ts)
//
//  5. Record endOffset in the cleaner checkpoint.
//
// `cleaner-offset-checkpoint` (data dir): Kafka's OffsetCheckpointFile format, the same as the recovery point
// checkpoint (checkpoint.ts): version 0, a count, then "<topic> <partition> <offset>" lines, where the offset is
// the partition's first dirty offset. Replaced atomically after each cleaning; an unreadable file is ignored
// (every compacted log is then cleaned from its start once, which is only slower).
//
// Differences from Kafka, deliberate:
//  - The cleaner stops cleaning a partition after an unexpected error (logged at error) until the partition is
//    reloaded or the broker restarted, as Kafka's markPartitionUncleanable does until the log dir changes.
//  - One cleaner task per broker (Kafka's log.cleaner.threads default is 1 too).
//  - The offset map's slots are allocated per cleaning, no more than the dirty section's offset range needs, and
//    dropped after it (offset-map.ts); Kafka holds the whole buffer for the broker's life.
import type { Logger } from 'pino';
import { encodeOffsetCheckpoint, readOffsetCheckpoint, tpKey } from '../checkpoint.js';
import { isFdExhausted } from '../file-handle-cache.js';
import type { LogFile, LogFs } from '../fs.js';
import type { LogConfig } from '../log-config.js';
import { DELETED_FILE_SUFFIX } from '../retention.js';
import type { LogSegment } from '../segment.js';
import type { AbortedTxn } from '../txn-index.js';
import { InlineCompute, WorkerCompute, splitBatches, type CleanerComputeBackend, type ChunkResult, type ChunkSource, type LastRecord } from './cleaner-compute.js';
import { OffsetMap, offsetMapBytes } from './offset-map.js';
import { CleanedSegmentWriter, type SegmentSwap } from './segment-swap.js';
import { Throttler } from './throttler.js';

export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
const INT32_MAX = 0x7fffffff;
/** Work between two yields to the event loop: bytes of batches read plus records decompressed, … */
const YIELD_BYTES = 1024 * 1024;
/** … or milliseconds of work, whichever comes first. */
const YIELD_MS = 4;
/**
 * The pause at each yield (a timer, not setImmediate): the event loop then runs timers and polls for I/O with the
 * cleaner off the CPU, so on a small machine requests are not left to compete with it for the core (measured in
 * BENCHMARKS.md, cleaner section).
 */
const YIELD_PAUSE_MS = 1;

/** Broker-wide cleaner settings (Kafka's CleanerConfig). */
export interface CleanerConfig {
  /** log.cleaner.enable (true). */
  enable: boolean;
  /** log.cleaner.backoff.ms (15000): sleep when no log needs cleaning. */
  backoffMs: number;
  /** log.cleaner.dedupe.buffer.size (128 MiB): bounds the offset map (offset-map.ts). */
  dedupeBufferSize: number;
  /** log.cleaner.io.max.bytes.per.second (Double.MAX_VALUE: unlimited). */
  ioMaxBytesPerSecond: number;
  /** The worker thread's nice value, 0-19 (no Kafka equivalent; thread-priority.ts). */
  threadNice?: number;
  /** Run the worker thread under SCHED_IDLE (default false; no Kafka equivalent; thread-priority.ts). */
  threadSchedIdle?: boolean;
}

/**
 * The cleaner worker's default nice value, what applies without SCHED_IDLE: under CPU contention the request
 * path's threads (nice 0, weight 1024) get the cores first and the cleaner about a tenth of a core's share (weight
 * 110), so compaction slows down on a saturated broker but never stops (at 19, weight 15, it nearly would).
 */
export const DEFAULT_CLEANER_THREAD_NICE = 10;

export const DEFAULT_CLEANER_CONFIG: CleanerConfig = Object.freeze({
  enable: true,
  backoffMs: 15_000,
  dedupeBufferSize: 128 * 1024 * 1024,
  ioMaxBytesPerSecond: Number.MAX_VALUE,
});

/** What the cleaner needs from a partition log (PartitionLog implements it). */
export interface CleanableLog {
  readonly topic: string;
  readonly partition: number;
  readonly dir: string;
  readonly logConfig: LogConfig;
  readonly isClosed: boolean;
  readonly isOffline: boolean;
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  readonly lastStableOffset: bigint;
  /** The segments, oldest first, the active one last (a copy). */
  cleanerSegments(): LogSegment[];
  abortedTransactionIndex(): readonly AbortedTxn[];
  /** Producers with written batches: their last data offset (-1n: none) and epoch. */
  readonly producers: { activeProducers(): ReadonlyMap<bigint, { readonly lastDataOffset: bigint; readonly producerEpoch: number }> };
  /** Swaps `replaced` for the staged cleaned segment; false when refused before anything changed. */
  replaceSegments(replaced: readonly LogSegment[], swap: SegmentSwap): Promise<boolean>;
}

export interface LogCleanerOptions {
  dataDir: string;
  fs: LogFs;
  /** The logs to consider (LogManager's open logs). */
  logs: () => Iterable<CleanableLog>;
  config: CleanerConfig;
  logger: Logger;
  clock?: () => number;
  /**
   * Where the CPU work runs (cleaner-compute.ts): a worker thread (the default), or 'inline' on the event loop,
   * yielding on the work budget.
   */
  compute?: 'worker' | 'inline';
  /** The command that sets SCHED_IDLE (thread-priority.ts; default chrt): tests name a missing or invalid one. */
  chrtCommand?: string;
}

/** One cleaning's figures (Kafka's CleanerStats, the parts tests and logs use). */
export interface CleanerStats {
  topic: string;
  partition: number;
  firstDirtyOffset: bigint;
  /** The new first dirty offset (checkpointed). */
  endOffset: bigint;
  segmentsCleaned: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsKept: number;
  durationMs: number;
}

/** Cleaning of a log stopped because the cleaner or the log is closing. */
class CleaningAborted extends Error {}

interface LogToClean {
  log: CleanableLog;
  firstDirtyOffset: bigint;
  firstUncleanableOffset: bigint;
  cleanableRatio: number;
  cleanableBytes: number;
  needCompactionNow: boolean;
}

export class LogCleaner {
  private readonly checkpoint = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private readonly uncleanable = new WeakSet<CleanableLog>();
  /** Largest timestamp of each segment's first batch (max.compaction.lag.ms), read once per segment. */
  private readonly firstBatchTimestamps = new WeakMap<LogSegment, number>();
  /** The offset map's bytes (the clamped log.cleaner.dedupe.buffer.size) of the current or next cleaning. */
  private mapBytes: number;
  /** A new log.cleaner.dedupe.buffer.size, applied when the next cleaning starts (reconfigure). */
  private pendingMapBytes: number | undefined;
  /** Where the parsing, hashing and rewriting run (cleaner-compute.ts); started at the first cleaning. */
  private compute: CleanerComputeBackend | undefined;
  /** A worker could not be started: the compute stays inline (logged once). */
  private workerUnavailable = false;
  /** The rate and buffer size in force (the started-with config, then reconfigure's). */
  private ioMaxBytesPerSecond: number;
  private dedupeBufferSize: number;
  private readonly throttler: Throttler;
  private readonly clock: () => number;
  private stopping = false;
  private running: Promise<void> | undefined;
  /** A walk fell back to reads on the event loop (no descriptor for the worker): said once, at debug. */
  private descriptorFallbackLogged = false;
  private wake: (() => void) | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private checkpointWrites: Promise<void> = Promise.resolve();
  private stats = { bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsKept: 0 };
  /** Work since the last yield (see YIELD_BYTES / YIELD_MS). */
  private sliceBytes = 0;
  private sliceStartMs = performance.now();

  private constructor(private readonly options: LogCleanerOptions) {
    this.clock = options.clock ?? Date.now;
    this.ioMaxBytesPerSecond = options.config.ioMaxBytesPerSecond;
    this.dedupeBufferSize = options.config.dedupeBufferSize;
    this.mapBytes = LogCleaner.mapBytesFor(options.config.dedupeBufferSize, options.logger);
    this.throttler = new Throttler(options.config.ioMaxBytesPerSecond, this.clock, (ms) => this.sleep(ms));
  }

  private static mapBytesFor(dedupeBufferSize: number, logger: Logger): number {
    const mapBytes = offsetMapBytes(dedupeBufferSize);
    if (mapBytes < dedupeBufferSize) {
      logger.warn(
        { dedupeBufferSize, usedBytes: mapBytes },
        'log.cleaner.dedupe.buffer.size is more than the offset map can use (2^31 - 1 bytes, or a quarter of the memory); clamped',
      );
    }
    return mapBytes;
  }

  /**
   * log.cleaner.io.max.bytes.per.second or log.cleaner.dedupe.buffer.size changed at runtime (dynamic broker
   * configs; Kafka's LogCleaner.reconfigure restarts its threads with them). The rate applies at once; the offset
   * map is reallocated when the next cleaning starts, never under a cleaning in progress.
   */
  reconfigure(config: Pick<CleanerConfig, 'ioMaxBytesPerSecond' | 'dedupeBufferSize'>): void {
    if (config.ioMaxBytesPerSecond !== this.ioMaxBytesPerSecond) this.throttler.setRate(config.ioMaxBytesPerSecond);
    if (config.dedupeBufferSize !== this.dedupeBufferSize) this.pendingMapBytes = LogCleaner.mapBytesFor(config.dedupeBufferSize, this.options.logger);
    this.ioMaxBytesPerSecond = config.ioMaxBytesPerSecond;
    this.dedupeBufferSize = config.dedupeBufferSize;
  }

  /** Reads the cleaner checkpoint; start() begins the background task. */
  static async open(options: LogCleanerOptions): Promise<LogCleaner> {
    const cleaner = new LogCleaner(options);
    const read = await readOffsetCheckpoint(options.fs, `${options.dataDir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`);
    if (read.problem) {
      options.logger.warn({ file: CLEANER_OFFSET_CHECKPOINT_FILE, problem: read.problem }, 'ignoring the cleaner checkpoint; compacted logs are cleaned from their start');
    }
    for (const [key, offset] of read.offsets) {
      const dash = key.lastIndexOf('-');
      cleaner.checkpoint.set(key, { topic: key.slice(0, dash), partition: Number(key.slice(dash + 1)), offset });
    }
    return cleaner;
  }

  /** The first dirty offset checkpointed for a partition (tests, tools). */
  firstDirtyOffset(topic: string, partition: number): bigint | undefined {
    return this.checkpoint.get(tpKey(topic, partition))?.offset;
  }

  /** Bytes the offset map holds now (0 between cleanings) and the entries a full map takes (tests, tools). */
  get offsetMapUsage(): { allocatedBytes: number; capacity: number } {
    return { allocatedBytes: this.compute?.usage.allocatedBytes ?? 0, capacity: new OffsetMap(this.mapBytes).capacity };
  }

  /** Starts the background task (no-op when log.cleaner.enable is false). */
  start(): void {
    if (!this.options.config.enable || this.running || this.stopping) return;
    this.running = this.run();
  }

  /** Stops the task: a cleaning in progress is abandoned before its swap (or finishes a swap already begun). */
  async close(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.backoffTimer);
    this.wake?.();
    this.wakeSleep?.();
    await this.running;
    await this.checkpointWrites;
    await this.compute?.close();
    this.compute = undefined;
  }

  /** The throttler's sleep, cut short by close() (the next checkDone then aborts the cleaning). */
  private wakeSleep: (() => void) | undefined;
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleep = done;
    }).finally(() => {
      this.wakeSleep = undefined;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let cleaned: CleanerStats | undefined;
      try {
        cleaned = await this.cleanOnce();
      } catch (err) {
        if (!(err instanceof CleaningAborted)) this.options.logger.error({ err }, 'log cleaner pass failed');
      }
      if (this.stopping) break;
      if (cleaned === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.backoffTimer = setTimeout(resolve, this.options.config.backoffMs);
          this.backoffTimer.unref?.();
        });
        this.wake = undefined;
      } else {
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  }

  /** One pass: cleans the filthiest log that qualifies; undefined when none does. */
  async cleanOnce(): Promise<CleanerStats | undefined> {
    const now = this.clock();
    const chosen = await this.grabFilthiestCompactedLog(now);
    if (!chosen) return undefined;
    const { log } = chosen;
    try {
      return await this.clean(chosen, now);
    } catch (err) {
      if (err instanceof CleaningAborted || log.isClosed) throw new CleaningAborted();
      this.uncleanable.add(log);
      this.options.logger.error(
        { topic: log.topic, partition: log.partition, err },
        'log cleaning failed; the partition is not cleaned again until it is reloaded',
      );
      return undefined;
    }
  }

  private async grabFilthiestCompactedLog(now: number): Promise<LogToClean | undefined> {
    let best: LogToClean | undefined;
    for (const log of this.options.logs()) {
      if (!log.logConfig.compact || log.isClosed || log.isOffline || this.uncleanable.has(log)) continue;
      const candidate = await this.logToClean(log, now);
      if (candidate === undefined) continue;
      const qualifies =
        (candidate.needCompactionNow && candidate.cleanableBytes > 0) || candidate.cleanableRatio > log.logConfig.minCleanableDirtyRatio;
      if (qualifies && (best === undefined || candidate.cleanableRatio > best.cleanableRatio)) best = candidate;
    }
    return best;
  }

  /** LogCleanerManager.cleanableOffsets + LogToClean for one log; undefined for an empty one. */
  private async logToClean(log: CleanableLog, now: number): Promise<LogToClean | undefined> {
    const segments = log.cleanerSegments();
    const active = segments.at(-1)!;
    const key = tpKey(log.topic, log.partition);
    const logStart = log.logStartOffset;
    const checkpointed = this.checkpoint.get(key)?.offset;
    let firstDirty = checkpointed ?? logStart;
    if (firstDirty < logStart || firstDirty > log.logEndOffset) {
      if (checkpointed !== undefined) {
        this.options.logger.warn(
          { topic: log.topic, partition: log.partition, checkpointed: checkpointed.toString(), logStartOffset: logStart.toString() },
          'resetting the first dirty offset to the log start offset: the checkpointed one is outside the log',
        );
      }
      firstDirty = logStart;
      this.setCheckpoint(log, firstDirty);
    }
    const config = log.logConfig;
    let bound = log.lastStableOffset < active.baseOffset ? log.lastStableOffset : active.baseOffset;
    if (config.minCompactionLagMs > 0) {
      for (const s of segments.slice(0, -1)) {
        if (s.nextOffset <= firstDirty) continue;
        if (s.maxTimestamp > now - config.minCompactionLagMs) {
          if (s.baseOffset < bound) bound = s.baseOffset;
          break;
        }
      }
    }
    // Only whole segments below the bound (Kafka's calculateCleanableBytes rounds down to a segment base). A bound
    // inside the segment holding firstDirty leaves nothing cleanable: mapping that segment would pass the bound.
    let firstUncleanable = segments[0]!.baseOffset;
    for (const s of segments) if (s.baseOffset <= bound) firstUncleanable = s.baseOffset;
    if (firstUncleanable <= firstDirty) return undefined;

    const cleanBytes = bytesIn(segments, logStart, firstDirty);
    const cleanableBytes = bytesIn(segments, firstDirty, firstUncleanable);
    const total = cleanBytes + cleanableBytes;
    if (total === 0) return undefined;
    let needCompactionNow = false;
    if (config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
      const cleanUntil = now - Math.max(config.maxCompactionLagMs, 0);
      for (const s of segments.slice(0, -1)) {
        if (s.nextOffset <= firstDirty || s.size === 0) continue;
        const ts = await this.firstBatchTimestamp(s);
        if (ts > 0 && ts < cleanUntil) {
          needCompactionNow = true;
          break;
        }
      }
    }
    return { log, firstDirtyOffset: firstDirty, firstUncleanableOffset: firstUncleanable, cleanableRatio: cleanableBytes / total, cleanableBytes, needCompactionNow };
  }

  private async firstBatchTimestamp(segment: LogSegment): Promise<number> {
    const known = this.firstBatchTimestamps.get(segment);
    if (known !== undefined) return known;
    const first = await segment.findBatch(0, segment.size, () => true);
    const ts = first?.maxTimestamp ?? -1;
    this.firstBatchTimestamps.set(segment, ts);
    return ts;
  }

  /** Cleaner.doClean. */
  private async clean(chosen: LogToClean, now: number): Promise<CleanerStats> {
    const { log, firstDirtyOffset, firstUncleanableOffset } = chosen;
    const startedMs = Date.now();
    this.stats = { bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsKept: 0 };
    const segments = log.cleanerSegments();
    if (this.pendingMapBytes !== undefined) {
      this.mapBytes = this.pendingMapBytes;
      this.pendingMapBytes = undefined;
    }
    const compute = await this.startCompute();
    try {
      return await this.cleanWithMap(log, segments, firstDirtyOffset, firstUncleanableOffset, now, startedMs, compute);
    } finally {
      await compute.release().catch(() => undefined);
    }
  }

  /** The compute backend: the worker (started once, again after it died), or inline when none can start. */
  private async startCompute(): Promise<CleanerComputeBackend> {
    const current = this.compute;
    if (current !== undefined && (!(current instanceof WorkerCompute) || current.alive)) return current;
    await current?.close().catch(() => undefined);
    if (this.options.compute !== 'inline' && !this.workerUnavailable) {
      try {
        const priority = { nice: this.options.config.threadNice ?? DEFAULT_CLEANER_THREAD_NICE, schedIdle: this.options.config.threadSchedIdle ?? false };
        const worker = WorkerCompute.acquire(this.mapBytes, this.options.logger, priority, this.options.chrtCommand);
        this.compute = worker;
        await worker.ready;
        return worker;
      } catch (err) {
        await this.compute?.close().catch(() => undefined);
        this.workerUnavailable = true;
        this.options.logger.warn({ err }, 'cannot start the log cleaner worker thread; the cleaner runs on the event loop');
      }
    }
    this.compute = new InlineCompute(this.mapBytes, (workBytes) => this.maybeYield(workBytes));
    return this.compute;
  }

  private async cleanWithMap(
    log: CleanableLog,
    segments: LogSegment[],
    firstDirtyOffset: bigint,
    firstUncleanableOffset: bigint,
    now: number,
    startedMs: number,
    compute: CleanerComputeBackend,
  ): Promise<CleanerStats> {
    const sealed = segments.slice(0, -1);
    const config = log.logConfig;
    // 2. The offset map.
    await compute.beginMap(this.mapBytes, Number(firstUncleanableOffset - firstDirtyOffset), abortedIn(log, firstDirtyOffset, firstUncleanableOffset));
    for (let i = 0; i < sealed.length; i++) {
      const segment = sealed[i]!;
      if (segment.nextOffset <= firstDirtyOffset || segment.baseOffset >= firstUncleanableOffset) continue;
      const next = segments[i + 1]!.baseOffset;
      const nextSegmentStartOffset = next < firstUncleanableOffset ? next : firstUncleanableOffset;
      if (await this.mapSegment(log, segment, firstDirtyOffset, nextSegmentStartOffset, compute)) break;
    }
    const endOffset = BigInt((await compute.latestOffset()) + 1);
    if (endOffset <= firstDirtyOffset) {
      // Only when the map could not take even the first record: do not move the checkpoint past what was never
      // cleaned (cleanOnce marks the partition uncleanable and logs this).
      const capacity = new OffsetMap(this.mapBytes).capacity;
      throw new Error(`the offset map (${capacity} entries) cannot hold the records at the first dirty offset ${firstDirtyOffset}`);
    }

    // 3–4. Group and rewrite everything below endOffset.
    const groups = groupSegmentsBySize(
      sealed.filter((s) => s.baseOffset < endOffset),
      config.segmentBytes,
      config.segmentIndexBytes,
      firstUncleanableOffset,
    );
    const lastRecords: Array<[bigint, LastRecord]> = [];
    for (const [producerId, entry] of log.producers.activeProducers()) {
      lastRecords.push([producerId, { lastDataOffset: entry.lastDataOffset, producerEpoch: entry.producerEpoch }]);
    }
    await compute.beginClean(lastRecords);
    let segmentsCleaned = 0;
    for (const group of groups) {
      await this.cleanSegments(log, group, compute, now);
      segmentsCleaned += group.length;
    }

    // 5. Checkpoint.
    this.setCheckpoint(log, endOffset);
    await this.writeCheckpoint();
    const stats = this.result(log, firstDirtyOffset, endOffset, segmentsCleaned, startedMs);
    this.options.logger.info(stats, 'cleaned log');
    return stats;
  }

  private result(log: CleanableLog, firstDirtyOffset: bigint, endOffset: bigint, segmentsCleaned: number, startedMs: number): CleanerStats {
    return { topic: log.topic, partition: log.partition, firstDirtyOffset, endOffset, segmentsCleaned, ...this.stats, durationMs: Date.now() - startedMs };
  }

  /**
   * Cleaner.buildOffsetMapForSegment: maps the keyed records at or above `startOffset` and below
   * `nextSegmentStartOffset` (the next segment's base, or the first uncleanable offset); true when the map filled
   * up. A segment mapped to its end moves the map's latest offset to nextSegmentStartOffset - 1.
   */
  private async mapSegment(
    log: CleanableLog,
    segment: LogSegment,
    startOffset: bigint,
    nextSegmentStartOffset: bigint,
    compute: CleanerComputeBackend,
  ): Promise<boolean> {
    let full = false;
    let pastEnd = false;
    const from = startOffset > segment.baseOffset && segment.indexesLoaded ? segment.offsetIndex.lookup(Number(startOffset - segment.baseOffset)) : 0;
    await this.forEachChunk(log, segment, from, compute.readsDescriptors, async (source, position) => {
      const r = await compute.mapChunk(source, position, startOffset, nextSegmentStartOffset);
      full ||= r.full;
      pastEnd ||= r.pastEnd;
      return r;
    });
    if (full) return true;
    // Kafka's "fast forward to latest expected offset in this segment" (an offset gap at the segment's end). A
    // batch at or past the bound (never expected: the bound is a segment base) leaves latest at the last batch.
    if (!pastEnd) await compute.endSegmentMap(nextSegmentStartOffset);
    return false;
  }

  /** Cleaner.cleanSegments: one group into one cleaned segment, staged and swapped in. */
  private async cleanSegments(
    log: CleanableLog,
    group: LogSegment[],
    compute: CleanerComputeBackend,
    now: number,
  ): Promise<void> {
    const config = log.logConfig;
    // The cleaned segment's limit (step 3 in the header): a lone first segment larger than segment.bytes (the
    // setting was lowered since) keeps its own size as the limit.
    const maxSize = Math.min(Math.max(config.segmentBytes, group[0]!.size), INT32_MAX);
    const writer = await CleanedSegmentWriter.create(this.options.fs, log.dir, group[0]!.baseOffset, config.indexIntervalBytes, config.segmentIndexBytes, maxSize);
    await compute.beginGroup();
    let swap: SegmentSwap;
    try {
      let inputLeft = 0;
      for (const segment of group) inputLeft += segment.size;
      const budget = { maxSize, inputLeft };
      for (const segment of group) {
        await compute.addAbortedTransactions(abortedIn(log, segment.baseOffset, segment.nextOffset));
        await this.cleanInto(log, segment, writer, compute, now, budget);
      }
      writer.addAbortedTxns(await compute.retainedAbortedTxns());
      this.checkDone(log);
      swap = await writer.stage();
    } catch (err) {
      await writer.abandon();
      throw err;
    }
    if (!(await log.replaceSegments(group, swap))) {
      await swap.discard();
      throw new CleaningAborted();
    }
  }

  /**
   * Cleaner.cleanInto: the kept batches of `segment`, appended to `writer` a chunk at a time. `budget.inputLeft` is
   * the group's input not yet read: bytes written + inputLeft never exceed budget.maxSize, so each batch may take
   * maxSize - written - (inputLeft after it), which the original batch always fits.
   */
  private async cleanInto(
    log: CleanableLog,
    segment: LogSegment,
    writer: CleanedSegmentWriter,
    compute: CleanerComputeBackend,
    now: number,
    budget: { maxSize: number; inputLeft: number },
  ): Promise<void> {
    const deleteRetentionMs = log.logConfig.deleteRetentionMs;
    await this.forEachChunk(log, segment, 0, compute.readsDescriptors, async (source, position) => {
      const r = await compute.cleanChunk(source, position, { now, deleteRetentionMs, maxSize: budget.maxSize, writerSize: writer.size, inputLeft: budget.inputLeft });
      budget.inputLeft = r.inputLeft;
      this.stats.recordsRead += r.recordsRead;
      this.stats.recordsKept += r.recordsKept;
      if (r.output.length > 0) {
        await writer.append(splitBatches(r.output));
        this.stats.bytesWritten += r.output.length;
        await this.throttler.maybeThrottle(r.output.length);
      }
      return r;
    });
  }

  /**
   * Walks `segment` from file position `from`: `process` reads the chunk at a position (readChunkAt: a chunk, or a
   * larger batch whole) and consumes the whole batches at its start; the next chunk starts after them. Its `stop`
   * ends the walk. Throttles the reads.
   */
  private async forEachChunk(
    log: CleanableLog,
    segment: LogSegment,
    from: number,
    withDescriptor: boolean,
    process: (source: ChunkSource, position: number) => Promise<ChunkResult>,
  ): Promise<void> {
    this.checkDone(log, segment);
    let source: ChunkSource & { close(): Promise<void> };
    try {
      source = await openChunkSource(this.options.fs, segment, withDescriptor);
    } catch (err) {
      this.checkGone(log, segment, segment.size);
      throw err;
    }
    if (withDescriptor && source.descriptor === undefined && !this.descriptorFallbackLogged) {
      this.descriptorFallbackLogged = true;
      this.options.logger.debug({ topic: log.topic, partition: log.partition }, 'no descriptor of its own for the cleaner worker: segments are read on the event loop');
    }
    try {
      let pos = from;
      while (pos < source.size) {
        this.checkDone(log, segment);
        let result: ChunkResult;
        try {
          result = await process(source, pos);
        } catch (err) {
          this.checkGone(log, segment, source.size);
          throw new Error(`cleaning segment ${segment.baseOffset} of ${log.topic}-${log.partition} at ${pos}: ${(err as Error).message}`, { cause: err });
        }
        this.stats.bytesRead += result.bytesRead;
        await this.throttler.maybeThrottle(result.bytesRead);
        if (result.stop) return;
        if (result.consumed <= 0) throw new Error(`corrupt batch in segment ${segment.baseOffset} of ${log.topic}-${log.partition} at ${pos}`);
        pos += result.consumed;
      }
    } finally {
      await source.close();
    }
  }

  /**
   * Inline compute only: after each batch (`workBytes` of batch and decompressed record bytes), a pause of
   * YIELD_PAUSE_MS on the event loop once the work since the last one reaches YIELD_BYTES or YIELD_MS; undefined
   * (no await) otherwise.
   */
  private maybeYield(workBytes: number): Promise<void> | undefined {
    this.sliceBytes += workBytes;
    if (this.sliceBytes < YIELD_BYTES && performance.now() - this.sliceStartMs < YIELD_MS) return undefined;
    return new Promise<void>((resolve) => setTimeout(resolve, YIELD_PAUSE_MS)).then(() => {
      this.sliceBytes = 0;
      this.sliceStartMs = performance.now();
    });
  }

  /**
   * Aborts the cleaning when the cleaner or the log is closing, or `segment` was removed by retention meanwhile
   * (renamed to `.deleted`, its files perhaps unlinked already: the swap of its group would be refused anyway, and
   * the next pass plans again from the new log start offset).
   */
  private checkDone(log: CleanableLog, segment?: LogSegment): void {
    if (this.stopping || log.isClosed || segment?.logPath.endsWith(DELETED_FILE_SUFFIX)) throw new CleaningAborted();
  }

  /**
   * After a failed open or read of `segment` (`walkSize` bytes when its walk began): checkDone, and an abort too
   * when a replica's truncation took the segment out of the log (its files unlinked, not renamed) or cut it shorter
   * (Kafka pauses cleaning around a truncation), so that neither marks the partition uncleanable.
   */
  private checkGone(log: CleanableLog, segment: LogSegment, walkSize: number): void {
    this.checkDone(log, segment);
    if (segment.size < walkSize || !log.cleanerSegments().includes(segment)) throw new CleaningAborted();
  }

  private setCheckpoint(log: CleanableLog, offset: bigint): void {
    this.checkpoint.set(tpKey(log.topic, log.partition), { topic: log.topic, partition: log.partition, offset });
  }

  /** Rewrites cleaner-offset-checkpoint (serialised), for the logs that still exist. */
  private writeCheckpoint(): Promise<void> {
    const run = async (): Promise<void> => {
      const present = new Set<string>();
      for (const log of this.options.logs()) present.add(tpKey(log.topic, log.partition));
      for (const key of [...this.checkpoint.keys()]) if (!present.has(key)) this.checkpoint.delete(key);
      const entries = [...this.checkpoint.values()].sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      await this.options.fs.writeFileAtomic(`${this.options.dataDir}/${CLEANER_OFFSET_CHECKPOINT_FILE}`, encodeOffsetCheckpoint(entries));
    };
    this.checkpointWrites = this.checkpointWrites.then(run, run);
    return this.checkpointWrites;
  }
}

/**
 * One walk's source (cleaner-compute.ts ChunkSource): with `withDescriptor`, a descriptor of the cleaner's own on the
 * segment's .log, for the worker to read. Retention may rename the segment to `.deleted` meanwhile (the segment then
 * names the new path: opened again), or unlink it later; an open descriptor keeps reading the same file either way,
 * as the segment's own handle would. Without a descriptor (a LogFs whose files have none, or none to be had) the
 * chunks are the segment's reads on the event loop. The descriptor is outside the file handle cache's cap
 * (`log.max.open.files`): one at a time, for the broker's one cleaner.
 */
async function openChunkSource(fs: LogFs, segment: LogSegment, withDescriptor: boolean): Promise<ChunkSource & { close(): Promise<void> }> {
  const size = segment.size;
  const onEventLoop = {
    size,
    read: (position: number, length: number, into?: Buffer) => (into === undefined ? segment.read(position, length) : segment.readInto(into, position, length)),
  };
  if (!withDescriptor) return { ...onEventLoop, close: async () => undefined };
  const path = segment.logPath;
  let file: LogFile;
  try {
    file = await fs.open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT' || segment.logPath === path) throw err;
      return fs.open(segment.logPath, 'r');
    });
  } catch (err) {
    // Out of descriptors: the segment's own handle (the broker's file handle cache, which evicts idle files to
    // make room) serves the walk instead, on the event loop.
    if (isFdExhausted(err)) return { ...onEventLoop, close: async () => undefined };
    throw err;
  }
  if (file.descriptor === undefined) {
    await file.close();
    return { ...onEventLoop, close: async () => undefined };
  }
  return { ...onEventLoop, descriptor: file.descriptor, close: () => file.close() };
}

/** Bytes of the segments overlapping [from, to) (Kafka's UnifiedLog.logSegments(from, to)). */
function bytesIn(segments: readonly LogSegment[], from: bigint, to: bigint): number {
  let bytes = 0;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const next = i + 1 < segments.length ? segments[i + 1]!.baseOffset : undefined;
    if (s.baseOffset < to && (next === undefined || next > from)) bytes += s.size;
  }
  return bytes;
}

/** The aborted transactions overlapping [from, to) (Kafka's UnifiedLog.collectAbortedTransactions). */
function abortedIn(log: CleanableLog, from: bigint, to: bigint): AbortedTxn[] {
  return log.abortedTransactionIndex().filter((t) => t.lastOffset >= from && t.firstOffset < to);
}

/**
 * Cleaner.groupSegmentsBySize: consecutive segments whose .log bytes, offset index bytes and time index bytes
 * each fit the limits, and whose offsets fit relative offsets of the group's first segment.
 */
export function groupSegmentsBySize(segments: readonly LogSegment[], maxSize: number, maxIndexSize: number, firstUncleanableOffset: bigint): LogSegment[][] {
  const groups: LogSegment[][] = [];
  let i = 0;
  while (i < segments.length) {
    const group = [segments[i]!];
    let logSize = segments[i]!.size;
    let indexSize = segments[i]!.offsetIndex.sizeInBytes;
    let timeIndexSize = segments[i]!.timeIndex.entries * 12;
    i++;
    while (i < segments.length) {
      const s = segments[i]!;
      const lastOffset = i + 1 < segments.length ? segments[i + 1]!.baseOffset - 1n : firstUncleanableOffset - 1n;
      if (
        logSize + s.size > maxSize ||
        indexSize + s.offsetIndex.sizeInBytes > maxIndexSize ||
        timeIndexSize + s.timeIndex.entries * 12 > maxIndexSize ||
        (s.size > 0 && lastOffset - group[0]!.baseOffset > BigInt(INT32_MAX))
      ) {
        break;
      }
      group.push(s);
      logSize += s.size;
      indexSize += s.offsetIndex.sizeInBytes;
      timeIndexSize += s.timeIndex.entries * 12;
      i++;
    }
    groups.push(group);
  }
  return groups;
}
