// The leader-epoch cache of one partition (Kafka's LeaderEpochFileCache): for each leader epoch that wrote to the
// log, the offset of its first batch. OffsetForLeaderEpoch answers from it (endOffsetFor: where an epoch ends, so a
// consumer resuming from a committed offset and epoch can tell whether the log was truncated under it, KIP-320),
// and ListOffsets EARLIEST reports the epoch of its first entry.
//
// `<partition dir>/leader-epoch-checkpoint` (Kafka's LeaderEpochCheckpointFile, the same bytes), UTF-8 text, '\n'
// line ends:
//
//   line 1   version                    "0"
//   line 2   number of entries          e.g. "1"
//   line 3…  "<epoch> <startOffset>"    one per epoch, ascending, single space, decimal
//
// It is replaced atomically (temp file `leader-epoch-checkpoint.tmp`, fsync, rename, fsync of the directory). A
// reader that finds another version, a count that does not match or a malformed line ignores the file (with a
// warning) and the cache is rebuilt from the batch headers in the log (rebuildFromLog), as it is when the file is
// missing (a partition written before Eddy kept the cache) and when recovery meets an epoch the file lacks (the
// file is behind the log, and the walk saw only the tail of that epoch). Deliberate difference: Kafka takes the log
// directory offline for an unreadable file, and for a missing or stale one knows only what recovery walks and its
// next leader election adds; Eddy's answer is the one a complete file would have given.
//
// How the cache follows the log (Kafka's UnifiedLog and LogLoader):
//
//   event                                              cache                                   Kafka
//   the partition becomes leader (create, load,        assign(leaderEpoch, log end offset)    Partition.makeLeader
//     setting PartitionLog.leaderEpoch)
//   a batch is appended with a new epoch               assign(epoch, its base offset)          appendAsLeader
//   a follower appends a leader's batch                assign(its epoch, its base offset)      appendAsFollower
//   a replica's log is truncated at offset             truncateFromEnd(offset), written        UnifiedLog.truncateTo
//   a replica's log restarts empty                     clear(), written                        truncateFullyAndStartAt
//   recovery walks a batch with an epoch above         assign(epoch, its base offset)          LogSegment.recover
//     the latest
//   load, after recovery (the log may be shorter)      truncateFromEnd(log end offset)         LogLoader.load
//   load; retention and DeleteRecords move the log     truncateFromStart(log start offset)     maybeIncrementLog-
//     start offset                                                                              StartOffset
//
// When the file is written. Kafka writes it (with an fsync) at each assign. Eddy writes it before the recovery point
// passes an entry that is not yet on disk (PartitionLog.syncTo awaits write()), and at a clean close: recovery walks
// the batches from the recovery point on, and one with an epoch the file lacks makes load rebuild the cache from
// the segments, so the file only needs the entries that start below the recovery point. An entry no data reaches yet (the one assigned when an empty partition becomes leader) is
// not written at all (needsWrite): load drops such entries and assigns them again, so creating and closing 100,000
// idle partitions writes nothing. Truncations are written in the background (Kafka flushes them asynchronously
// too); a crash before that is repaired by the truncations at load.
import type { Logger } from 'pino';
import { LOG_OVERHEAD, PARTITION_LEADER_EPOCH_OFFSET, RECORD_BATCH_HEADER_SIZE } from '../protocol/records/batch.js';
import type { LogFs } from './fs.js';

export const LEADER_EPOCH_CHECKPOINT_FILE = 'leader-epoch-checkpoint';
const CHECKPOINT_VERSION = 0;
/** OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1n;

export interface EpochEntry {
  epoch: number;
  startOffset: bigint;
}

/** A segment as rebuildFromLog reads it: positional reads of its whole batches. */
export interface EpochSegmentSource {
  baseOffset: bigint;
  /** Bytes of whole batches in the segment. */
  size: number;
  read(position: number, length: number): Promise<Buffer>;
  /** File position of the segment's last batch; undefined when it is empty or its tail is not whole batches. */
  lastBatchPosition(): Promise<number | undefined>;
}

export function encodeLeaderEpochCheckpoint(entries: readonly EpochEntry[]): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.epoch} ${e.startOffset}`);
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** The entries of a checkpoint file, in file order; undefined when the file is unusable. */
export function decodeLeaderEpochCheckpoint(data: Buffer): EpochEntry[] | undefined {
  const lines = data.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2 || lines[0]!.trim() !== String(CHECKPOINT_VERSION)) return undefined;
  const count = Number(lines[1]!.trim());
  if (!Number.isInteger(count) || count !== lines.length - 2) return undefined;
  const entries: EpochEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(lines[i]!);
    if (!m) return undefined;
    const epoch = Number(m[1]);
    if (epoch > 0x7fffffff) return undefined;
    entries.push({ epoch, startOffset: BigInt(m[2]!) });
  }
  return entries;
}

export class LeaderEpochCache {
  /** Ascending by epoch and by start offset (assign keeps both monotonic, as Kafka's TreeMap does). */
  private epochs: EpochEntry[] = [];
  /** Mutations so far, and how many of them the file holds. */
  private changes = 0;
  private writtenChanges = 0;
  /** Writes run one at a time (they share the temp file). */
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly fs: LogFs,
    private readonly dir: string,
  ) {}

  /** A cache with no entries and no file (a new partition). */
  static empty(fs: LogFs, dir: string): LeaderEpochCache {
    return new LeaderEpochCache(fs, dir);
  }

  /**
   * Reads `leader-epoch-checkpoint` of `dir`. `found` is false when the file is missing or unusable (logged
   * at warn): the caller then rebuilds the cache from the log.
   */
  static async load(fs: LogFs, dir: string, logger: Logger, context: Record<string, unknown>): Promise<{ cache: LeaderEpochCache; found: boolean }> {
    const cache = new LeaderEpochCache(fs, dir);
    const path = `${dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`;
    if ((await fs.fileSize(path)) === undefined) return { cache, found: false };
    const entries = decodeLeaderEpochCheckpoint(await fs.readFile(path));
    if (entries === undefined) {
      logger.warn({ ...context, file: LEADER_EPOCH_CHECKPOINT_FILE }, 'unreadable leader epoch checkpoint; rebuilding the cache from the log');
      return { cache, found: false };
    }
    // Through assign, as Kafka loads it: entries that break monotonicity are dropped.
    for (const entry of entries) cache.assign(entry.epoch, entry.startOffset);
    cache.writtenChanges = cache.changes;
    return { cache, found: true };
  }

  /** The entries, oldest epoch first (tests, tools). */
  entries(): readonly EpochEntry[] {
    return this.epochs;
  }

  get latestEpoch(): number | undefined {
    return this.epochs.at(-1)?.epoch;
  }

  get earliestEntry(): EpochEntry | undefined {
    return this.epochs[0];
  }

  /**
   * Kafka's LeaderEpochFileCache.assign: records that `epoch` starts at `startOffset`. Nothing changes when it is
   * the latest epoch and starts no later (the common case: one compare, no allocation). Otherwise entries that
   * would break monotonicity (an epoch >= it, or a start offset >= it) are removed first. True when it changed.
   */
  assign(epoch: number, startOffset: bigint): boolean {
    const latest = this.epochs.at(-1);
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    if (epoch < 0 || startOffset < 0n) throw new RangeError(`invalid leader epoch entry (${epoch}, ${startOffset})`);
    let keep = this.epochs.length;
    while (keep > 0 && (this.epochs[keep - 1]!.epoch >= epoch || this.epochs[keep - 1]!.startOffset >= startOffset)) keep--;
    if (keep < this.epochs.length) this.epochs = this.epochs.slice(0, keep);
    this.epochs.push({ epoch, startOffset });
    this.changes++;
    return true;
  }

  /**
   * LogSegment.recover's rule: a walked batch's epoch is recorded only when it is above every known one (batches
   * without an epoch, -1, are skipped). True when it was recorded.
   */
  assignFromLog(epoch: number, baseOffset: bigint): boolean {
    if (epoch < 0) return false;
    const latest = this.latestEpoch;
    return (latest === undefined || epoch > latest) && this.assign(epoch, baseOffset);
  }

  /**
   * Kafka's LeaderEpochFileCache.endOffsetFor: the largest epoch <= `requestedEpoch` and where it ends.
   *
   *   requestedEpoch                                   answer
   *   -1 (UNDEFINED_EPOCH)                             (-1, -1)
   *   the latest epoch                                 (it, logEndOffset)
   *   above the latest, or no entries                  (-1, -1)
   *   below the first entry                            (requestedEpoch, the first entry's start offset)
   *   otherwise                                        (the largest epoch <= it, the next entry's start offset)
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: bigint): { epoch: number; endOffset: bigint } {
    if (requestedEpoch === UNDEFINED_EPOCH) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const epochs = this.epochs;
    if (epochs.length > 0 && epochs.at(-1)!.epoch === requestedEpoch) return { epoch: requestedEpoch, endOffset: logEndOffset };
    const higher = epochs.findIndex((e) => e.epoch > requestedEpoch);
    if (higher < 0) return { epoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    const next = epochs[higher]!.startOffset;
    return higher === 0 ? { epoch: requestedEpoch, endOffset: next } : { epoch: epochs[higher - 1]!.epoch, endOffset: next };
  }

  /** Kafka's truncateFromEnd: removes the entries starting at or after `endOffset` (the log was cut there). */
  truncateFromEnd(endOffset: bigint): void {
    if (endOffset < 0n) return;
    let keep = this.epochs.length;
    while (keep > 0 && this.epochs[keep - 1]!.startOffset >= endOffset) keep--;
    if (keep === this.epochs.length) return;
    this.epochs = this.epochs.slice(0, keep);
    this.changes++;
  }

  /**
   * Kafka's truncateFromStart: the log now starts at `startOffset`; the entries starting at or below it go, except
   * the last of them, which is moved to start there (so truncateFromStart(6) keeps an entry at 6).
   */
  truncateFromStart(startOffset: bigint): void {
    let removed = 0;
    while (removed < this.epochs.length && this.epochs[removed]!.startOffset <= startOffset) removed++;
    if (removed === 0) return;
    const last = this.epochs[removed - 1]!;
    if (removed === 1 && last.startOffset === startOffset) return;
    this.epochs = [{ epoch: last.epoch, startOffset }, ...this.epochs.slice(removed)];
    this.changes++;
  }

  clear(): void {
    if (this.epochs.length === 0) return;
    this.epochs = [];
    this.changes++;
  }

  /**
   * Rebuilds the entries from the batch headers of `segments` (oldest first), replacing what the cache held.
   * Epochs never decrease along a log, so a segment whose first batch has the same epoch as the next segment's
   * first batch (or, for the last one, as its own last batch) holds that epoch only: one header read per segment.
   * Only a segment where the epoch changes is walked batch by batch to find where.
   */
  async rebuildFromLog(segments: readonly EpochSegmentSource[]): Promise<void> {
    this.clear();
    const filled = segments.filter((s) => s.size >= RECORD_BATCH_HEADER_SIZE);
    const firsts: Array<{ epoch: number; baseOffset: bigint }> = [];
    for (const segment of filled) {
      const header = await segment.read(0, RECORD_BATCH_HEADER_SIZE);
      firsts.push({ epoch: header.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET), baseOffset: header.readBigInt64BE(0) });
    }
    for (let i = 0; i < filled.length; i++) {
      const segment = filled[i]!;
      const first = firsts[i]!;
      let endEpoch: number | undefined = firsts[i + 1]?.epoch;
      if (i + 1 === filled.length) {
        const lastPosition = await segment.lastBatchPosition();
        endEpoch = lastPosition === undefined ? undefined : (await segment.read(lastPosition, RECORD_BATCH_HEADER_SIZE)).readInt32BE(PARTITION_LEADER_EPOCH_OFFSET);
      }
      if (endEpoch === first.epoch) {
        this.assignFromLog(first.epoch, first.baseOffset);
        continue;
      }
      // The epoch changes inside this segment (or after it): walk its batch headers.
      let position = 0;
      while (position + RECORD_BATCH_HEADER_SIZE <= segment.size) {
        const header = await segment.read(position, RECORD_BATCH_HEADER_SIZE);
        this.assignFromLog(header.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET), header.readBigInt64BE(0));
        const size = LOG_OVERHEAD + header.readInt32BE(8);
        if (size < RECORD_BATCH_HEADER_SIZE) break;
        position += size;
      }
    }
  }

  /**
   * Whether the file must be written before the recovery point passes `logEndOffset`: the cache changed since the
   * last write and some entry starts below `logEndOffset` (entries at or past it are dropped and re-assigned at load).
   */
  needsWrite(logEndOffset: bigint): boolean {
    return this.changes !== this.writtenChanges && this.epochs.length > 0 && this.epochs[0]!.startOffset < logEndOffset;
  }

  /** Writes the file atomically with the entries as they are now (after any write already running). */
  write(): Promise<void> {
    const run = this.writing.then(async () => {
      const changes = this.changes;
      if (changes === this.writtenChanges) return;
      await this.fs.writeFileAtomic(`${this.dir}/${LEADER_EPOCH_CHECKPOINT_FILE}`, encodeLeaderEpochCheckpoint(this.epochs));
      this.writtenChanges = changes;
    });
    this.writing = run.catch(() => undefined);
    return run;
  }
}
