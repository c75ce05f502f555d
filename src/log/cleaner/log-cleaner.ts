// The log cleaner: compaction of `cleanup.policy=compact` logs (Kafka 3.9's LogCleaner, LogCleanerManager and
// Cleaner), one background task in the broker process, off the request path. It only awaits async I/O, reads and
// writes in chunks of IO_CHUNK_BYTES, yields to the event loop between chunks and is throttled by
// `log.cleaner.io.max.bytes.per.second` (throttler.ts), so produce and fetch keep their latency while it runs.
//
// One pass (cleanOnce), as Kafka's CleanerThread.cleanFilthiestLog:
//  1. Pick the filthiest log (LogCleanerManager.grabFilthiestCompactedLog). For each compacted log that is not
//     closed, offline or marked uncleanable:
//       firstDirtyOffset       the cleaner checkpoint for the partition; the log start offset when there is none,
//                              or when it lies below the log start or above the log end (then rewritten)
//       firstUncleanableOffset min(last stable offset, active segment base, base of the first dirty sealed
//                              segment whose largest timestamp is newer than now - min.compaction.lag.ms),
//                              rounded down to the base of the segment holding it (see "Differences")
//       cleanableRatio         bytes of segments in [firstDirty, firstUncleanable) / bytes in [logStart,
//                              firstUncleanable)
//       needCompactionNow      a dirty sealed segment's first batch is older than now - max.compaction.lag.ms
//     A log qualifies when cleanableRatio > min.cleanable.dirty.ratio, or needCompactionNow with cleanable bytes;
//     the highest ratio wins. None: sleep `log.cleaner.backoff.ms` (woken by close()).
//  2. Build the offset map (Cleaner.buildOffsetMap, offset-map.ts) from the batches of [firstDirty,
//     firstUncleanable): key → last offset, skipping aborted transactions' batches and control batches
//     (transaction-metadata.ts), stopping when the map is full (`log.cleaner.dedupe.buffer.size`). endOffset =
//     the last offset mapped + 1.
//  3. Group the sealed segments below endOffset (all of them from the log start: the clean section is
//     re-cleaned against the new map) so that a group's .log and indexes fit segment.bytes / segment.index.bytes
//     and its offsets fit 32-bit relative offsets (Cleaner.groupSegmentsBySize).
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
//  - The cleanable range ends at a segment boundary below the last stable offset: Kafka maps and cleans the whole
//    segment holding the LSO, which can let a record of a still-open transaction supersede a committed one.
//  - The cleaner stops cleaning a partition after an unexpected error (logged at error) until the partition is
//    reloaded or the broker restarted, as Kafka's markPartitionUncleanable does until the log dir changes.
//  - One cleaner task per broker (Kafka's log.cleaner.threads default is 1 too).
import type { Logger } from 'pino';
import { LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE } from '../../protocol/records/batch.js';
import { encodeOffsetCheckpoint, readOffsetCheckpoint, tpKey } from '../checkpoint.js';
import type { LogFs } from '../fs.js';
import type { LogConfig } from '../log-config.js';
import type { LogSegment } from '../segment.js';
import type { AbortedTxn } from '../txn-index.js';
import { BatchRecords, rewriteBatch, viewBatch, type BatchRetention } from './batch-filter.js';
import { OffsetMap } from './offset-map.js';
import { CleanedSegmentWriter, type SegmentSwap } from './segment-swap.js';
import { Throttler } from './throttler.js';
import { CleanedTransactionMetadata } from './transaction-metadata.js';

export const CLEANER_OFFSET_CHECKPOINT_FILE = 'cleaner-offset-checkpoint';
/** Bytes read from a segment at a time (Kafka's log.cleaner.io.buffer.size is 512 KiB for read + write). */
const IO_CHUNK_BYTES = 512 * 1024;
const INT32_MAX = 0x7fffffff;

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
}

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

interface LastRecord {
  lastDataOffset: bigint;
  producerEpoch: number;
}

export class LogCleaner {
  private readonly checkpoint = new Map<string, { topic: string; partition: number; offset: bigint }>();
  private readonly uncleanable = new WeakSet<CleanableLog>();
  /** Largest timestamp of each segment's first batch (max.compaction.lag.ms), read once per segment. */
  private readonly firstBatchTimestamps = new WeakMap<LogSegment, number>();
  private readonly map: OffsetMap;
  private readonly throttler: Throttler;
  private readonly records = new BatchRecords();
  private kept = new Uint8Array(64);
  private readonly clock: () => number;
  private stopping = false;
  private running: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private checkpointWrites: Promise<void> = Promise.resolve();
  private stats = { bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsKept: 0 };

  private constructor(private readonly options: LogCleanerOptions) {
    this.clock = options.clock ?? Date.now;
    this.map = new OffsetMap(options.config.dedupeBufferSize);
    this.throttler = new Throttler(options.config.ioMaxBytesPerSecond, this.clock);
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
    await this.running;
    await this.checkpointWrites;
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
    // Only whole segments below the bound (see "Differences").
    let firstUncleanable = segments[0]!.baseOffset;
    for (const s of segments) if (s.baseOffset <= bound) firstUncleanable = s.baseOffset;
    if (firstUncleanable < firstDirty) firstUncleanable = firstDirty;

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
    const sealed = segments.slice(0, -1);
    const config = log.logConfig;

    // 2. The offset map.
    this.map.clear();
    const mapTxns = new CleanedTransactionMetadata();
    mapTxns.addAbortedTransactions(abortedIn(log, firstDirtyOffset, firstUncleanableOffset));
    for (const segment of sealed) {
      if (segment.nextOffset <= firstDirtyOffset || segment.baseOffset >= firstUncleanableOffset) continue;
      if (await this.mapSegment(log, segment, firstDirtyOffset, mapTxns)) break;
    }
    const endOffset = BigInt(this.map.latestOffset + 1);
    if (endOffset <= firstDirtyOffset) {
      this.setCheckpoint(log, firstUncleanableOffset);
      await this.writeCheckpoint();
      return this.result(log, firstDirtyOffset, firstUncleanableOffset, 0, startedMs);
    }

    // 3–4. Group and rewrite everything below endOffset.
    const groups = groupSegmentsBySize(
      sealed.filter((s) => s.baseOffset < endOffset),
      config.segmentBytes,
      config.segmentIndexBytes,
      firstUncleanableOffset,
    );
    const txns = new CleanedTransactionMetadata();
    const lastRecords = new Map<bigint, LastRecord>();
    for (const [producerId, entry] of log.producers.activeProducers()) {
      lastRecords.set(producerId, { lastDataOffset: entry.lastDataOffset, producerEpoch: entry.producerEpoch });
    }
    let segmentsCleaned = 0;
    for (const group of groups) {
      await this.cleanSegments(log, group, txns, lastRecords, now);
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

  /** Cleaner.buildOffsetMapForSegment; true when the map filled up. */
  private async mapSegment(log: CleanableLog, segment: LogSegment, startOffset: bigint, txns: CleanedTransactionMetadata): Promise<boolean> {
    const map = this.map;
    const records = this.records;
    const start = Number(startOffset);
    let full = false;
    const from = startOffset > segment.baseOffset && segment.indexesLoaded ? segment.offsetIndex.lookup(Number(startOffset - segment.baseOffset)) : 0;
    await this.forEachBatch(log, segment, from, async (batch) => {
      const view = viewBatch(batch);
      if (view.lastOffset < startOffset) return true;
      if (view.isControl) txns.onControlBatchRead(view);
      else if (!txns.onBatchRead(view)) {
        records.parse(batch);
        const base = Number(view.baseOffset);
        for (let i = 0; i < records.count; i++) {
          const offset = base + records.offsetDeltas[i]!;
          if (records.keyLengths[i]! < 0 || offset < start) continue;
          if (map.isFull) {
            full = true;
            return false;
          }
          map.put(records.source, records.keyStarts[i]!, records.keyLengths[i]!, offset);
        }
      }
      map.latestOffset = Number(view.lastOffset);
      return true;
    });
    return full;
  }

  /** Cleaner.cleanSegments: one group into one cleaned segment, staged and swapped in. */
  private async cleanSegments(
    log: CleanableLog,
    group: LogSegment[],
    txns: CleanedTransactionMetadata,
    lastRecords: Map<bigint, LastRecord>,
    now: number,
  ): Promise<void> {
    const config = log.logConfig;
    const writer = await CleanedSegmentWriter.create(this.options.fs, log.dir, group[0]!.baseOffset, config.indexIntervalBytes, config.segmentIndexBytes);
    txns.retainedAbortedTxns = [];
    let swap: SegmentSwap;
    try {
      for (const segment of group) {
        txns.addAbortedTransactions(abortedIn(log, segment.baseOffset, segment.nextOffset));
        await this.cleanInto(log, segment, writer, txns, lastRecords, now);
      }
      writer.addAbortedTxns(txns.retainedAbortedTxns);
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

  /** Cleaner.cleanInto: the kept batches of `segment`, appended to `writer` a chunk at a time. */
  private async cleanInto(
    log: CleanableLog,
    segment: LogSegment,
    writer: CleanedSegmentWriter,
    txns: CleanedTransactionMetadata,
    lastRecords: Map<bigint, LastRecord>,
    now: number,
  ): Promise<void> {
    const map = this.map;
    const records = this.records;
    const latest = map.latestOffset;
    const deleteRetentionMs = log.logConfig.deleteRetentionMs;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    await this.forEachBatch(
      log,
      segment,
      0,
      async (batch) => {
        const view = viewBatch(batch);
        const canDiscard = view.isControl ? txns.onControlBatchRead(view) : txns.onBatchRead(view);
        const discardRecords = view.isControl
          ? canDiscard && view.deleteHorizonMs !== undefined && view.deleteHorizonMs <= now
          : canDiscard;
        const last = view.producerId >= 0n ? lastRecords.get(view.producerId) : undefined;
        const lastOfProducer =
          last !== undefined &&
          (last.lastDataOffset >= 0n ? view.lastOffset === last.lastDataOffset : view.isControl && view.producerEpoch === last.producerEpoch);
        const retention: BatchRetention = lastOfProducer ? 'RETAIN_EMPTY' : discardRecords ? 'DELETE' : 'DELETE_EMPTY';
        if (retention === 'DELETE') return true;
        if (discardRecords) {
          records.count = 0;
        } else {
          records.parse(batch);
          if (this.kept.length < records.count) this.kept = new Uint8Array(Math.max(records.count, this.kept.length * 2));
          const kept = this.kept;
          const base = Number(view.baseOffset);
          const retainDeletes = view.deleteHorizonMs === undefined || now < view.deleteHorizonMs;
          for (let i = 0; i < records.count; i++) {
            if (view.isControl) {
              kept[i] = 1;
              continue;
            }
            const offset = base + records.offsetDeltas[i]!;
            let keep = offset > latest;
            if (!keep && records.keyLengths[i]! >= 0) {
              keep = offset >= map.get(records.source, records.keyStarts[i]!, records.keyLengths[i]!) && (records.hasValue[i] === 1 || retainDeletes);
            }
            kept[i] = keep ? 1 : 0;
            if (keep) this.stats.recordsKept++;
          }
          this.stats.recordsRead += records.count;
        }
        const out = await rewriteBatch(batch, records, this.kept, { retention, markerForEmptyTxn: canDiscard && view.isControl }, now, deleteRetentionMs);
        if (out !== undefined) {
          pending.push(out);
          pendingBytes += out.length;
        }
        return true;
      },
      async () => {
        if (pending.length === 0) return;
        await writer.append(pending);
        this.stats.bytesWritten += pendingBytes;
        await this.throttler.maybeThrottle(pendingBytes);
        pending = [];
        pendingBytes = 0;
      },
    );
  }

  /**
   * Calls `visit` for each whole batch of `segment` from file position `from`, reading IO_CHUNK_BYTES at a time
   * (a larger batch is read whole); `visit` returning false stops. `afterChunk` runs after each chunk's batches.
   * Yields to the event loop between chunks and throttles the reads.
   */
  private async forEachBatch(
    log: CleanableLog,
    segment: LogSegment,
    from: number,
    visit: (batch: Buffer) => Promise<boolean>,
    afterChunk?: () => Promise<void>,
  ): Promise<void> {
    const size = segment.size;
    let pos = from;
    while (pos < size) {
      this.checkDone(log);
      if (size - pos < RECORD_BATCH_HEADER_SIZE) throw new Error(`segment ${segment.baseOffset} of ${log.topic}-${log.partition} ends with a partial batch at ${pos}`);
      let chunk = await segment.read(pos, Math.min(IO_CHUNK_BYTES, size - pos));
      const first = LOG_OVERHEAD + chunk.readInt32BE(8);
      if (first < RECORD_BATCH_HEADER_SIZE || pos + first > size) throw new Error(`corrupt batch in segment ${segment.baseOffset} of ${log.topic}-${log.partition} at ${pos}`);
      if (first > chunk.length) chunk = await segment.read(pos, first);
      this.stats.bytesRead += chunk.length;
      await this.throttler.maybeThrottle(chunk.length);
      let off = 0;
      let stop = false;
      while (off + RECORD_BATCH_HEADER_SIZE <= chunk.length) {
        const batchSize = LOG_OVERHEAD + chunk.readInt32BE(off + 8);
        if (batchSize < RECORD_BATCH_HEADER_SIZE) throw new Error(`corrupt batch in segment ${segment.baseOffset} of ${log.topic}-${log.partition} at ${pos + off}`);
        if (off + batchSize > chunk.length) break;
        if (!(await visit(chunk.subarray(off, off + batchSize)))) {
          stop = true;
          break;
        }
        off += batchSize;
      }
      if (afterChunk) await afterChunk();
      if (stop) return;
      pos += off;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private checkDone(log: CleanableLog): void {
    if (this.stopping || log.isClosed) throw new CleaningAborted();
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
