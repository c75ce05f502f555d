// The crash-safe replacement of segments by a cleaned one (Kafka's LogCleaner.cleanSegments →
// UnifiedLog.replaceSegments → LocalLog.replaceSegments, and the swap recovery of LogLoader.load /
// removeTempFilesAndCollectSwapFiles).
//
// Files, in the partition directory, for a cleaned segment with base offset B (the first replaced segment's):
//
//   <B>.log.cleaned  <B>.index.cleaned  <B>.timeindex.cleaned  <B>.txnindex.cleaned
//       written by CleanedSegmentWriter: the .log holds the kept batches (segment.ts framing), the indexes are
//       built as the batches are written (formats in offset-index.ts, time-index.ts, txn-index.ts; the .txnindex
//       always exists, empty when no aborted transaction is kept, so it replaces the old one of the same base).
//       Every file is fsynced before the next step.
//   <B>.*.swap        the same four files renamed (the .log first), then the directory fsynced: once every
//                     one is renamed, the cleaned segment is the truth (a .cleaned file left beside a .swap
//                     means the staging was cut short: rolled back)
//   <X>.*.deleted     each replaced segment's .log, .index, .timeindex, .txnindex renamed (commitSwap)
//   <B>.*             the .swap files renamed to their final names (the .log first), the directory fsynced,
//                     the .deleted files unlinked
//
// Startup (recoverInterruptedSwaps, before segments are listed), Kafka's rules:
//
//   found                                            action
//   *.deleted                                        unlinked (the replacement was committed)
//   *.cleaned                                        unlinked; any .swap at or above the smallest .cleaned base
//                                                    offset is unlinked too (an incomplete staging: rolls back)
//   <B>.log.swap (complete)                          its offset range [B, next offset after its last batch) is
//                                                    read; every .log/.index/.timeindex/.txnindex whose base lies
//                                                    in the range of any swap is unlinked (the replaced segments)
//   remaining *.swap                                 renamed to the final name
//
// So a kill at any step leaves either the old segments (before the .log's rename to .swap) or the cleaned one
// (after it), never both: no offset appears twice and nothing the cleaning kept is lost. An old segment past the
// cleaned one's last batch (its records were all superseded) may survive a crash in the middle of commitSwap;
// its records are then simply not cleaned yet (still a valid log, offsets in order).
import type { Logger } from 'pino';
import { LAST_OFFSET_DELTA_OFFSET, LOG_OVERHEAD, MAX_TIMESTAMP_OFFSET, RECORD_BATCH_HEADER_SIZE } from '../../protocol/records/batch.js';
import type { LogFile, LogFs } from '../fs.js';
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex, writeFully } from '../offset-index.js';
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from '../time-index.js';
import { encodeAbortedTxn, type AbortedTxn } from '../txn-index.js';

export const CLEANED_SUFFIX = '.cleaned';
export const SWAP_SUFFIX = '.swap';
export const DELETED_SUFFIX = '.deleted';
/** A segment's largest size: offset index positions are 32-bit (Kafka's Integer.MAX_VALUE for FileRecords). */
export const MAX_SEGMENT_BYTES = 0x7fffffff;
/**
 * The files of one segment, in the order they are renamed (.cleaned → .swap → final): the .log first, as Kafka's
 * changeFileSuffixes, so an index .swap never exists beside an old .log it does not describe (see the table).
 */
const SEGMENT_SUFFIXES = ['.log', '.index', '.timeindex', '.txnindex'] as const;

function stem(dir: string, baseOffset: bigint): string {
  return `${dir}/${baseOffset.toString().padStart(20, '0')}`;
}

/** What PartitionLog.replaceSegments needs to swap a staged cleaned segment in. */
export interface SegmentSwap {
  baseOffset: bigint;
  /** Aborted transactions whose markers the cleaned segment keeps (its .txnindex). */
  abortedTxns: readonly AbortedTxn[];
  /**
   * Renames the replaced segments' files to .deleted and the .swap files to their final names, fsyncs the
   * directory; returns the .deleted paths, to unlink once no read holds them.
   */
  commit(replacedBaseOffsets: readonly bigint[]): Promise<string[]>;
  /** Unlinks the staged .swap files (the replacement was refused before anything changed). */
  discard(): Promise<void>;
}

/**
 * Writes `<base>.log.cleaned` batch by batch and builds its indexes as LogSegment.indexBatch does (an entry
 * after more than index.interval.bytes, the largest timestamp last in the time index).
 */
export class CleanedSegmentWriter {
  size = 0;
  private bytesSinceLastIndexEntry = 0;
  private maxTimestamp = -1;
  private offsetOfMaxTimestamp: bigint;
  private readonly offsetIndex: OffsetIndex;
  private readonly timeIndex: TimeIndex;
  private readonly abortedTxns: AbortedTxn[] = [];

  private constructor(
    private readonly fs: LogFs,
    private readonly dir: string,
    readonly baseOffset: bigint,
    private readonly log: LogFile,
    private readonly indexIntervalBytes: number,
    segmentIndexBytes: number,
    private readonly maxSize: number,
  ) {
    this.offsetOfMaxTimestamp = baseOffset;
    this.offsetIndex = new OffsetIndex(Math.max(1, Math.floor(segmentIndexBytes / OFFSET_INDEX_ENTRY_SIZE)));
    this.timeIndex = new TimeIndex(Math.max(1, Math.floor(segmentIndexBytes / TIME_INDEX_ENTRY_SIZE)));
  }

  /** `maxSize`: the most bytes the .log may reach (at most 2^31 - 1: index positions are 32-bit). */
  static async create(
    fs: LogFs,
    dir: string,
    baseOffset: bigint,
    indexIntervalBytes: number,
    segmentIndexBytes: number,
    maxSize = MAX_SEGMENT_BYTES,
  ): Promise<CleanedSegmentWriter> {
    // A leftover of an earlier attempt is overwritten ('w+' truncates).
    const log = await fs.open(`${stem(dir, baseOffset)}.log${CLEANED_SUFFIX}`, 'w+');
    return new CleanedSegmentWriter(fs, dir, baseOffset, log, indexIntervalBytes, segmentIndexBytes, Math.min(maxSize, MAX_SEGMENT_BYTES));
  }

  /**
   * Appends whole batches (each a Buffer) with one positional write. Throws, writing nothing, when they would take
   * the .log past its maximum size (Kafka's FileRecords.append; the cleaner then fails the partition's cleaning).
   */
  async append(batches: Buffer[]): Promise<void> {
    if (batches.length === 0) return;
    let total = 0;
    for (const batch of batches) total += batch.length;
    if (this.size + total > this.maxSize) {
      throw new Error(`the cleaned segment ${this.baseOffset} would reach ${this.size + total} bytes, past its maximum ${this.maxSize}`);
    }
    let bytes = 0;
    for (const batch of batches) {
      const baseOffset = batch.readBigInt64BE(0);
      const lastOffset = baseOffset + BigInt(batch.readInt32BE(LAST_OFFSET_DELTA_OFFSET));
      const maxTimestamp = Number(batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET));
      if (maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = maxTimestamp;
        this.offsetOfMaxTimestamp = lastOffset;
      }
      if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
        this.offsetIndex.append(Number(baseOffset - this.baseOffset), this.size + bytes);
        this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
        this.bytesSinceLastIndexEntry = 0;
      }
      this.bytesSinceLastIndexEntry += batch.length;
      bytes += batch.length;
    }
    let done = 0;
    let list = batches;
    while (done < bytes) {
      const n = await this.log.writev(list, this.size + done);
      if (n <= 0) throw new Error(`write to the cleaned segment ${this.baseOffset} made no progress`);
      done += n;
      if (done < bytes) list = [Buffer.concat(batches).subarray(done)];
    }
    this.size += bytes;
  }

  addAbortedTxns(txns: readonly AbortedTxn[]): void {
    this.abortedTxns.push(...txns);
  }

  /** Discards the staged files (cleaning aborted). */
  async abandon(): Promise<void> {
    await this.log.close().catch(() => undefined);
    for (const suffix of SEGMENT_SUFFIXES) await this.fs.unlink(`${stem(this.dir, this.baseOffset)}${suffix}${CLEANED_SUFFIX}`);
  }

  /**
   * Finishes the .cleaned files (fsynced), renames them to .swap (the .log first) and fsyncs the directory: from
   * here a restart swaps the cleaned segment in. Returns the swap to commit.
   */
  async stage(): Promise<SegmentSwap> {
    if (this.maxTimestamp >= 0) this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
    await this.log.sync();
    await this.log.close();
    const base = stem(this.dir, this.baseOffset);
    const txnIndex = Buffer.concat(this.abortedTxns.map((t) => encodeAbortedTxn(t)));
    for (const [suffix, data] of [
      ['.index', this.offsetIndex.serialize()],
      ['.timeindex', this.timeIndex.serialize()],
      ['.txnindex', txnIndex],
    ] as const) {
      const file = await this.fs.open(`${base}${suffix}${CLEANED_SUFFIX}`, 'w+');
      try {
        await writeFully(file, data, 0);
        await file.sync();
      } finally {
        await file.close();
      }
    }
    for (const suffix of SEGMENT_SUFFIXES) await this.fs.rename(`${base}${suffix}${CLEANED_SUFFIX}`, `${base}${suffix}${SWAP_SUFFIX}`);
    await this.fs.syncDir(this.dir);
    const { fs, dir, baseOffset } = this;
    return {
      baseOffset,
      abortedTxns: this.abortedTxns,
      commit: (replaced) => commitSwap(fs, dir, baseOffset, replaced),
      discard: async () => {
        // Indexes first: a .log.swap left alone by a crash is swapped in by a restart (indexes rebuilt), while
        // index .swap files left alone would be renamed over the old segment's.
        for (const suffix of [...SEGMENT_SUFFIXES].reverse()) await fs.unlink(`${base}${suffix}${SWAP_SUFFIX}`);
        await fs.syncDir(dir);
      },
    };
  }
}

async function commitSwap(fs: LogFs, dir: string, baseOffset: bigint, replaced: readonly bigint[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const b of replaced) {
    for (const suffix of SEGMENT_SUFFIXES) {
      const path = `${stem(dir, b)}${suffix}`;
      if ((await fs.fileSize(path)) === undefined) continue;
      await fs.rename(path, `${path}${DELETED_SUFFIX}`);
      deleted.push(`${path}${DELETED_SUFFIX}`);
    }
  }
  const base = stem(dir, baseOffset);
  for (const suffix of SEGMENT_SUFFIXES) await fs.rename(`${base}${suffix}${SWAP_SUFFIX}`, `${base}${suffix}`);
  await fs.syncDir(dir);
  return deleted;
}

const SUFFIXED = /^(\d{20})\.(log|index|timeindex|txnindex)\.(cleaned|swap|deleted)$/;
const SEGMENT_FILE = /^(\d{20})\.(log|index|timeindex|txnindex)$/;

/**
 * Finishes or rolls back a segment replacement interrupted by a crash (rules table at the top). Returns the
 * number of files changed (0 in the usual case: the caller's directory listing is only scanned).
 */
export async function recoverInterruptedSwaps(
  fs: LogFs,
  dir: string,
  entries: ReadonlyArray<{ name: string; isDirectory: boolean }>,
  logger: Logger,
  context: object = {},
): Promise<number> {
  const names = entries.filter((e) => !e.isDirectory).map((e) => e.name);
  const swaps: Array<{ name: string; base: bigint; kind: string }> = [];
  const cleaned: string[] = [];
  let minCleaned: bigint | undefined;
  let changed = 0;
  for (const name of names) {
    const m = SUFFIXED.exec(name);
    if (!m) continue;
    const base = BigInt(m[1]!);
    if (m[3] === 'deleted') {
      await fs.unlink(`${dir}/${name}`);
      changed++;
    } else if (m[3] === 'cleaned') {
      cleaned.push(name);
      if (minCleaned === undefined || base < minCleaned) minCleaned = base;
    } else {
      swaps.push({ name, base, kind: m[2]! });
    }
  }
  if (cleaned.length === 0 && swaps.length === 0) {
    if (changed > 0) await fs.syncDir(dir);
    return changed;
  }
  const valid = swaps.filter((s) => minCleaned === undefined || s.base < minCleaned);
  for (const s of swaps) {
    if (valid.includes(s)) continue;
    await fs.unlink(`${dir}/${s.name}`);
    changed++;
  }
  for (const name of cleaned) {
    await fs.unlink(`${dir}/${name}`);
    changed++;
  }
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const s of valid) {
    if (s.kind !== 'log') continue;
    const next = await nextOffsetOf(fs, `${dir}/${s.name}`, s.base);
    if (min === undefined || s.base < min) min = s.base;
    if (max === undefined || next > max) max = next;
  }
  if (min !== undefined && max !== undefined) {
    for (const name of names) {
      const m = SEGMENT_FILE.exec(name);
      if (!m) continue;
      const base = BigInt(m[1]!);
      if (base >= min && base < max) {
        await fs.unlink(`${dir}/${name}`);
        changed++;
      }
    }
  }
  // The .log first (see SEGMENT_SUFFIXES).
  valid.sort((a, b) => (a.kind === 'log' ? 0 : 1) - (b.kind === 'log' ? 0 : 1));
  for (const s of valid) {
    await fs.rename(`${dir}/${s.name}`, `${dir}/${s.name.slice(0, -SWAP_SUFFIX.length)}`);
    changed++;
  }
  await fs.syncDir(dir);
  logger.warn(
    { ...context, dir, swapped: valid.map((s) => s.name), rolledBack: swaps.filter((s) => !valid.includes(s)).map((s) => s.name), cleanedRemoved: cleaned, replacedRange: min === undefined ? undefined : `${min}..${max}` },
    'finished a segment swap interrupted by a crash',
  );
  return changed;
}

/** Offset after the last whole batch of a segment file (its base offset when it holds none). */
async function nextOffsetOf(fs: LogFs, path: string, baseOffset: bigint): Promise<bigint> {
  const file = await fs.open(path, 'r');
  try {
    const size = await file.size();
    const header = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE);
    let pos = 0;
    let next = baseOffset;
    while (pos + RECORD_BATCH_HEADER_SIZE <= size) {
      let got = 0;
      while (got < RECORD_BATCH_HEADER_SIZE) {
        const n = await file.read(header, got, RECORD_BATCH_HEADER_SIZE - got, pos + got);
        if (n <= 0) break;
        got += n;
      }
      if (got < RECORD_BATCH_HEADER_SIZE) break;
      const batchSize = LOG_OVERHEAD + header.readInt32BE(8);
      if (batchSize < RECORD_BATCH_HEADER_SIZE || pos + batchSize > size) break;
      next = header.readBigInt64BE(0) + BigInt(header.readInt32BE(LAST_OFFSET_DELTA_OFFSET)) + 1n;
      pos += batchSize;
    }
    return next;
  } finally {
    await file.close();
  }
}
