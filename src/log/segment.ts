// One log segment: `<20-digit base offset>.log` plus its `.index` and `.timeindex` (formats documented in
// offset-index.ts and time-index.ts). A segment removed by retention has its files renamed `<name>.deleted` until
// they are unlinked (retention.ts); a loader never reads those.
//
// The .log file is Kafka's: RecordBatch v2 batches back to back, with no file header and no padding.
// Each batch, big-endian (full header layout in src/protocol/records/batch.ts):
//
//   off  size  field
//   0    8     baseOffset           int64  absolute offset of the batch's first record (written by the broker)
//   8    4     batchLength          int32  bytes that follow this field; the next batch starts at 12 + batchLength
//   12   4     partitionLeaderEpoch int32  written by the broker (the partition's leader epoch, 0 here)
//   16   1     magic                int8   2; the only version this broker writes or reads
//   17   4     crc                  uint32 CRC-32C of bytes 21..end
//   21   ...   attributes … records, exactly as the producer sent them, except that on LogAppendTime topics
//              the timestamp-type bit and maxTimestamp are rewritten and the CRC recomputed (as Kafka).
//
// A batch with a magic other than 2, a batchLength below 49 or past the end of the file, a CRC mismatch, or a
// baseOffset below the previous batch's end marks the end of the valid log: recovery truncates there
// (recovery.ts). Offsets inside a segment are `number`s relative to the base offset (< 2^31).
//
// File handles: the three files are `CachedFile`s of the broker's FileHandleCache (file-handle-cache.ts), open
// only while in use or recently used: a sealed segment's .log is opened by a read, its index files are read whole
// by loadIndexes() and closed; the active segment's index files are attached (indexFilesOpen) and written by
// persistIndexes(), through the cache like the .log. A segment loaded at startup opens nothing until it is read.
import {
  ATTRIBUTES_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  batchSizeAt,
} from '../protocol/records/batch.js';
import type { CachedFile, FileHandleCache } from './file-handle-cache.js';
import type { LogFs } from './fs.js';
import { OFFSET_INDEX_ENTRY_SIZE, OffsetIndex, writeFully } from './offset-index.js';
import { TIME_INDEX_ENTRY_SIZE, TimeIndex } from './time-index.js';
import { DELETED_FILE_SUFFIX } from './retention.js';

/** Bytes read per syscall when scanning batch headers. */
const SCAN_CHUNK_BYTES = 16 * 1024;

export function segmentFileName(baseOffset: bigint, suffix: '.log' | '.index' | '.timeindex'): string {
  return baseOffset.toString().padStart(20, '0') + suffix;
}

/** Base offset of `<20 digits>.log`, or undefined for any other name. */
export function parseSegmentFileName(name: string): bigint | undefined {
  const m = /^(\d{20})\.log$/.exec(name);
  return m ? BigInt(m[1]!) : undefined;
}

/** The header fields the log needs while scanning, for a batch at `position`. */
export interface BatchInfo {
  position: number;
  size: number;
  baseOffset: bigint;
  lastOffset: bigint;
  maxTimestamp: number;
  attributes: number;
}

export interface FoundBatch extends BatchInfo {
  /** The bytes read while scanning and where they start in the file, so a caller can reuse them. */
  chunk: Buffer;
  chunkPosition: number;
}

export class LogSegment {
  /** Bytes written to the .log. */
  size = 0;
  /** Bytes below the high watermark: reads stop here. */
  visibleSize = 0;
  /** Offset after the last batch written (for a closed segment: the next segment's base offset). */
  nextOffset: bigint;
  /** Largest batch maxTimestamp in the segment (ms), -1 when none. */
  maxTimestamp = -1;
  /** lastOffset of the first batch that reached maxTimestamp. */
  offsetOfMaxTimestamp: bigint;
  /** segment.ms is measured from here (clock at the first append, or the first batch's timestamp on load). */
  rollingBaseMs: number | undefined;
  /** Written since the last flush(): the .log or the indexes are not all fsynced. */
  dirty = false;
  /** The .log has writes not yet fsynced (syncData() and flush() clear it). */
  private logUnsynced = false;
  /** Set once the segment is no longer active: its final fsync and index trim (in the background). */
  sealing: Promise<void> | undefined;
  private bytesSinceLastIndexEntry = 0;
  /** The chain of index-file writes (see persistIndexes). */
  private indexWrites: Promise<void> = Promise.resolve();
  /** The active segment's index files are attached (written by persistIndexes). */
  private indexFilesOpen = true;
  /** The sparse indexes, in memory. A sealed segment may release them (see releaseIndexes) and reload them. */
  offsetIndex: OffsetIndex;
  timeIndex: TimeIndex;
  private indexesReleased = false;
  /** Set by renameToDeleted(): the index files are gone from their paths. */
  private indexFilesDeleted = false;
  private indexLoad: Promise<void> | undefined;

  private constructor(
    readonly baseOffset: bigint,
    /** Changes once, when retention renames the files (renameToDeleted). */
    public logPath: string,
    private readonly files: FileHandleCache,
    public log: CachedFile,
    private indexFile: CachedFile | undefined,
    private timeIndexFile: CachedFile | undefined,
    offsetIndex: OffsetIndex,
    timeIndex: TimeIndex,
    private readonly indexIntervalBytes: number,
  ) {
    this.offsetIndex = offsetIndex;
    this.timeIndex = timeIndex;
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
  }

  static paths(dir: string, baseOffset: bigint): { log: string; index: string; timeIndex: string } {
    return {
      log: `${dir}/${segmentFileName(baseOffset, '.log')}`,
      index: `${dir}/${segmentFileName(baseOffset, '.index')}`,
      timeIndex: `${dir}/${segmentFileName(baseOffset, '.timeindex')}`,
    };
  }

  /**
   * Creates an empty segment: one create of the .log (truncating a leftover of the same name), no fsync (the
   * directory entry becomes durable with the log's next directory fsync, see PartitionLog). The .log stays open in
   * the cache (it is about to be written). Unlike Kafka, which creates (and preallocates) both index files with the
   * segment, they are created by the first persistIndexes() that has entries: an empty segment needs none (open()
   * treats missing index files of an empty .log as empty), and creating a 100,000-partition topic then costs one
   * file per partition instead of three. Leftover index files of the same name are removed.
   */
  static async create(
    files: FileHandleCache,
    dir: string,
    baseOffset: bigint,
    indexIntervalBytes: number,
    segmentIndexBytes: number,
    options: { newDir?: boolean } = {},
  ): Promise<LogSegment> {
    const p = LogSegment.paths(dir, baseOffset);
    const log = await files.create(p.log);
    if (!options.newDir) {
      // A leftover index of the same name would otherwise be appended to as if it were this segment's.
      try {
        await files.fs.unlink(p.index);
        await files.fs.unlink(p.timeIndex);
      } catch (err) {
        await log.close().catch(() => undefined);
        throw err;
      }
    }
    return new LogSegment(
      baseOffset,
      p.log,
      files,
      log,
      undefined,
      undefined,
      new OffsetIndex(maxEntries(segmentIndexBytes, OFFSET_INDEX_ENTRY_SIZE)),
      new TimeIndex(maxEntries(segmentIndexBytes, TIME_INDEX_ENTRY_SIZE)),
      indexIntervalBytes,
    );
  }

  /**
   * Opens an existing segment and loads its indexes. `indexesValid` is false when either index file is missing
   * or fails its sanity check: the caller must then rebuild them (recovery.ts) before using the segment.
   */
  static async open(
    files: FileHandleCache,
    dir: string,
    baseOffset: bigint,
    indexIntervalBytes: number,
    segmentIndexBytes: number,
  ): Promise<{ segment: LogSegment; indexesValid: boolean }> {
    const fs = files.fs;
    const p = LogSegment.paths(dir, baseOffset);
    // A stat, not an open: the .log is opened by its first read or write.
    const size = await fs.fileSize(p.log);
    if (size === undefined) throw Object.assign(new Error(`ENOENT: ${p.log} disappeared while loading`), { code: 'ENOENT' });
    const log = files.file(p.log, 'r+');
    let segment: LogSegment | undefined;
    try {
      const maxOffsetEntries = maxEntries(segmentIndexBytes, OFFSET_INDEX_ENTRY_SIZE);
      const maxTimeEntries = maxEntries(segmentIndexBytes, TIME_INDEX_ENTRY_SIZE);
      // An empty .log has empty indexes, whether or not their files exist yet (see create()).
      const indexData = (await readIndexFile(fs, p.index)) ?? (size === 0 ? EMPTY : undefined);
      const timeData = (await readIndexFile(fs, p.timeIndex)) ?? (size === 0 ? EMPTY : undefined);
      let offsetIndex = indexData && OffsetIndex.parse(indexData, maxOffsetEntries, size);
      let timeIndex = timeData && TimeIndex.parse(timeData, maxTimeEntries);
      // A non-empty segment always has a time index entry (one is written when it is rolled or closed), unless
      // no batch carried a timestamp; an empty one can only come from a crash, so rebuild to be sure.
      const indexesValid = offsetIndex !== undefined && timeIndex !== undefined && (size === 0 || timeIndex.entries > 0);
      if (!indexesValid) {
        offsetIndex = new OffsetIndex(maxOffsetEntries);
        timeIndex = new TimeIndex(maxTimeEntries);
      }
      segment = new LogSegment(
        baseOffset,
        p.log,
        files,
        log,
        undefined,
        undefined,
        offsetIndex!,
        timeIndex!,
        indexIntervalBytes,
      );
      segment.indexFilesOpen = false;
      segment.size = size;
      segment.visibleSize = size;
      if (indexesValid && timeIndex!.entries > 0) {
        segment.maxTimestamp = timeIndex!.lastTimestamp();
        segment.offsetOfMaxTimestamp = baseOffset + BigInt(timeIndex!.lastRelativeOffset());
      }
      segment.bytesSinceLastIndexEntry = size - offsetIndex!.lastPosition();
      return { segment, indexesValid };
    } catch (err) {
      if (!segment) await log.close();
      throw err;
    }
  }

  /**
   * Marks the index files as written by this segment (the active segment after load). Nothing is opened or even
   * looked up now: the first persistIndexes() attaches them (creating a missing one), so loading 100,000 idle
   * partitions costs no syscall here.
   */
  async openIndexFiles(_fs: LogFs, _dir: string): Promise<void> {
    this.indexFilesOpen = true;
  }

  /** The index files' handles, attached on the first write after load. */
  private async attachIndexFiles(): Promise<void> {
    const stem = this.logPath.slice(0, -'.log'.length);
    this.indexFile ??= await attachOrCreate(this.files, `${stem}.index`);
    this.timeIndexFile ??= await attachOrCreate(this.files, `${stem}.timeindex`);
  }

  /** Descriptors this segment holds open right now (0–3). */
  openFileCount(): number {
    return (this.log.isOpen ? 1 : 0) + (this.indexFile?.isOpen ? 1 : 0) + (this.timeIndexFile?.isOpen ? 1 : 0);
  }

  get isEmpty(): boolean {
    return this.size === 0;
  }

  /**
   * Accounts for a batch about to be written at `position` (= the segment's size plus the bytes queued before
   * it in the same write): updates max timestamp and adds sparse index entries in memory. Kafka's rule
   * (LogSegment.append): an entry is added when more than index.interval.bytes were written since the last one.
   */
  indexBatch(position: number, size: number, baseOffset: bigint, lastOffset: bigint, maxTimestamp: number): void {
    if (maxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = maxTimestamp;
      this.offsetOfMaxTimestamp = lastOffset;
    }
    if (this.bytesSinceLastIndexEntry > this.indexIntervalBytes) {
      this.offsetIndex.append(Number(baseOffset - this.baseOffset), position);
      this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
      this.bytesSinceLastIndexEntry = 0;
    }
    this.bytesSinceLastIndexEntry += size;
  }

  /**
   * Makes the time index's last entry hold the segment's largest timestamp (Kafka appends it on roll and close,
   * ignoring the entry limit), so it can be loaded without reading the .log.
   */
  indexMaxTimestamp(): void {
    if (this.maxTimestamp >= 0) {
      this.timeIndex.maybeAppend(this.maxTimestamp, Number(this.offsetOfMaxTimestamp - this.baseOffset));
    }
  }

  /** Forgets index state before a rebuild from the .log. */
  /**
   * Prepares a walk that continues from the last offset-index entry instead of the segment start, keeping the
   * loaded entries (recovery after a process-only crash, where those entries are known to point at written
   * batches). Returns the position to walk from and the base offset of the batch there.
   */
  continueIndexesFromLastEntry(): { position: number; baseOffset: bigint } {
    this.bytesSinceLastIndexEntry = 0;
    // Entries key on a batch's base offset: the entry names the first offset the walk will meet there.
    const relative = this.offsetIndex.lastRelativeOffset();
    return { position: this.offsetIndex.lastPosition(), baseOffset: this.baseOffset + BigInt(Math.max(relative, 0)) };
  }

  resetIndexes(): void {
    this.offsetIndex.reset();
    this.timeIndex.reset();
    this.maxTimestamp = -1;
    this.offsetOfMaxTimestamp = this.baseOffset;
    this.bytesSinceLastIndexEntry = 0;
  }

  /**
   * Appends `buffers` (whole batches, already indexed in memory with indexBatch) at the end of the .log. The
   * index files catch up at the next flush() or seal().
   */
  async write(buffers: Buffer[], bytes: number): Promise<void> {
    const position = this.size;
    let done = 0;
    let list = buffers;
    for (;;) {
      const n = await this.log.writev(list, position + done);
      done += n;
      if (done >= bytes) break;
      if (n <= 0) throw new Error(`write to ${this.logPath} made no progress at position ${position + done}`);
      list = skipBytes(buffers, done);
    }
    this.size = position + bytes;
    this.dirty = true;
    this.logUnsynced = true;
  }

  /**
   * Drops the in-memory indexes of a sealed segment whose index files hold every entry, so that memory does not
   * grow with the data retained (PartitionLog keeps a few sealed segments' indexes loaded). A lookup first calls
   * loadIndexes(). The active segment, or one with entries not yet on disk, keeps its indexes.
   */
  releaseIndexes(): void {
    if (this.indexFilesOpen || this.dirty || this.indexesReleased) return;
    if (this.offsetIndex.unpersistedEntries > 0 || this.timeIndex.unpersistedEntries > 0) return;
    this.offsetIndex = new OffsetIndex(this.offsetIndex.maxEntries);
    this.timeIndex = new TimeIndex(this.timeIndex.maxEntries);
    this.indexesReleased = true;
  }

  get indexesLoaded(): boolean {
    return !this.indexesReleased;
  }

  /**
   * Reloads released indexes from their files. A file that no longer parses leaves the index empty: lookups then
   * scan from the segment start, slower but still correct.
   */
  loadIndexes(fs: LogFs, dir: string): Promise<void> {
    if (!this.indexesReleased || this.indexFilesDeleted) return Promise.resolve();
    this.indexLoad ??= (async () => {
      const p = LogSegment.paths(dir, this.baseOffset);
      const [indexData, timeData] = await Promise.all([
        fs.readFile(p.index).catch(() => undefined),
        fs.readFile(p.timeIndex).catch(() => undefined),
      ]);
      const offsetIndex = indexData && OffsetIndex.parse(indexData, this.offsetIndex.maxEntries, this.size);
      const timeIndex = timeData && TimeIndex.parse(timeData, this.timeIndex.maxEntries);
      if (offsetIndex) this.offsetIndex = offsetIndex;
      if (timeIndex) this.timeIndex = timeIndex;
      this.indexesReleased = false;
      this.indexLoad = undefined;
    })();
    return this.indexLoad;
  }

  /** Index entries held in memory but not yet written to the index files. */
  get unpersistedIndexEntries(): number {
    return this.offsetIndex.unpersistedEntries;
  }

  /**
   * Writes index entries added since the last call. Calls are chained, so a background write (started by the
   * log every INDEX_PERSIST_ENTRIES entries, not awaited by appends) never overlaps a flush's or a seal's.
   */
  persistIndexes(): Promise<void> {
    const run = this.indexWrites.then(async () => {
      if (!this.indexFilesOpen) return;
      if (this.offsetIndex.unpersistedEntries === 0 && this.timeIndex.unpersistedEntries === 0) return;
      await this.attachIndexFiles();
      await this.offsetIndex.persist(this.indexFile!);
      await this.timeIndex.persist(this.timeIndexFile!);
    });
    this.indexWrites = run.catch(() => undefined);
    return run;
  }

  /**
   * Rewrites both index files from memory (after a rebuild). `durable`: atomically (temp file, fsync, rename),
   * for a segment that will not be written again; otherwise in place without fsync, for the active segment,
   * whose next flush() fsyncs them (until then a crash means another walk, which rebuilds them again).
   */
  async writeIndexFiles(fs: LogFs, dir: string, options: { durable: boolean } = { durable: true }): Promise<void> {
    const p = LogSegment.paths(dir, this.baseOffset);
    if (options.durable) {
      await fs.writeFileAtomic(p.index, this.offsetIndex.serialize());
      await fs.writeFileAtomic(p.timeIndex, this.timeIndex.serialize());
    } else {
      for (const [path, data] of [
        [p.index, this.offsetIndex.serialize()],
        [p.timeIndex, this.timeIndex.serialize()],
      ] as const) {
        const file = await fs.open(path, 'w+');
        try {
          await writeFully(file, data, 0);
        } finally {
          await file.close();
        }
      }
    }
    this.offsetIndex.markPersisted();
    this.timeIndex.markPersisted();
    if (this.indexFilesOpen) {
      // Open descriptors may point at the replaced inodes: close them (the next write reopens the paths).
      await this.indexFile?.release();
      await this.timeIndexFile?.release();
    }
  }

  /**
   * Writes index entries added since the last flush, then fsyncs the .log and the index files. Index files are
   * written here (and when sealing) rather than after every append: two small writes per append cost two thread
   * pool round trips each time, and an index that lags its .log is harmless: on a clean start it was completed
   * by seal(), and after a crash every segment past the recovery point is walked and its index rebuilt.
   */
  async flush(force = false): Promise<void> {
    const wasDirty = this.dirty;
    const logWasUnsynced = this.logUnsynced;
    this.dirty = false;
    this.logUnsynced = false;
    try {
      await this.persistIndexes();
      // A segment with nothing written since its last fsync is not fsynced again (a clean shutdown of 100,000
      // idle partitions must not reopen and fsync 300,000 files); `force`: recovery makes walked data durable.
      if (force || logWasUnsynced || this.log.unsynced) await this.log.sync();
      if (this.indexFile?.unsynced) await this.indexFile.sync();
      if (this.timeIndexFile?.unsynced) await this.timeIndexFile.sync();
    } catch (err) {
      this.dirty ||= wasDirty;
      this.logUnsynced ||= logWasUnsynced;
      throw err;
    }
  }

  /** Recovery walked this segment without fsyncing it: the next flush (or syncData) must fsync it all. */
  markUnflushed(): void {
    this.dirty = true;
    this.logUnsynced = true;
  }

  /**
   * fsyncs the .log only: what an acks=-1 append needs to be durable. The indexes stay dirty for the next flush()
   * (flush.ms, flush.messages, a roll, close): recovery after a crash rebuilds the indexes of every segment from
   * the one holding the recovery point on, so they need not be on disk for the data to be safe (Kafka fsyncs them
   * only when it flushes, never per produce).
   */
  async syncData(): Promise<void> {
    if (!this.logUnsynced) return;
    this.logUnsynced = false;
    try {
      await this.log.sync();
    } catch (err) {
      this.logUnsynced = true;
      throw err;
    }
  }

  /**
   * Called when the segment stops being active (roll or clean close): records its largest timestamp in the
   * time index (even past the entry limit, as Kafka does), writes and fsyncs everything, closes the index
   * files. The .log stays in the cache for reads (closed when idle).
   */
  async seal(): Promise<void> {
    this.indexMaxTimestamp();
    await this.persistIndexes();
    await this.flush();
    await this.closeIndexFiles();
  }

  private async closeIndexFiles(): Promise<void> {
    const index = this.indexFile;
    const timeIndex = this.timeIndexFile;
    this.indexFile = undefined;
    this.timeIndexFile = undefined;
    this.indexFilesOpen = false;
    await index?.close();
    await timeIndex?.close();
  }

  /**
   * Retention removed this sealed segment from its log (retention.ts): renames its files to `<name>.deleted`, the
   * .log first, and points the segment at the renamed .log, so that a reader still holding the segment (the log
   * cleaner's copy of the segment list) keeps reading it until deleteFiles(). Returns the renamed paths. Its index
   * files are not read again (loadIndexes finds nothing and lookups scan from the start).
   */
  async renameToDeleted(fs: LogFs): Promise<string[]> {
    const stem = this.logPath.slice(0, -'.log'.length);
    const renamed: string[] = [];
    for (const path of [this.logPath, `${stem}.index`, `${stem}.timeindex`]) {
      if (path !== this.logPath && (await fs.fileSize(path)) === undefined) continue;
      await fs.rename(path, path + DELETED_FILE_SUFFIX);
      renamed.push(path + DELETED_FILE_SUFFIX);
      if (path === this.logPath) {
        const old = this.log;
        this.logPath = path + DELETED_FILE_SUFFIX;
        this.log = this.files.file(this.logPath, 'r');
        // Waits for a read in flight on the old descriptor (FileHandle.close does); later reads use the new path.
        await old.close();
      }
    }
    this.indexFilesDeleted = true;
    return renamed;
  }

  async truncateTo(size: number): Promise<void> {
    await this.log.truncate(size);
    this.size = size;
    this.visibleSize = Math.min(this.visibleSize, size);
    this.dirty = true;
    this.logUnsynced = true;
  }

  /**
   * Kafka's LogSegment.truncateTo(offset), for a replica cutting a divergent tail (truncation.ts): removes the batch
   * containing `offset` (normally one starting there) and everything after it, with their offset- and time-index
   * entries; the largest timestamp is recomputed from the last time-index entry and the batch headers after it.
   * The segment is the log's active one afterwards: its index files are rewritten atomically and durably and the
   * .log is fsynced (so a crash after this returns never brings the removed bytes back). Returns the bytes removed.
   */
  async truncateToOffset(offset: bigint, fs: LogFs, dir: string): Promise<number> {
    if (this.sealing) await this.sealing;
    this.sealing = undefined;
    await this.loadIndexes(fs, dir);
    const relative = offset <= this.baseOffset ? 0 : Number(offset - this.baseOffset);
    const found = offset <= this.baseOffset ? undefined : await this.findBatch(this.offsetIndex.lookup(relative), this.size, (b) => b.lastOffset >= offset);
    const position = offset <= this.baseOffset ? 0 : (found?.position ?? this.size);
    const removed = this.size - position;
    this.offsetIndex.truncateTo(relative);
    this.timeIndex.truncateTo(relative);
    if (removed > 0) await this.truncateTo(position);
    this.nextOffset = offset > this.baseOffset ? offset : this.baseOffset;
    this.bytesSinceLastIndexEntry = this.size - this.offsetIndex.lastPosition();
    // Kafka's readLargestTimestamp: the last time-index entry, or a larger timestamp in the batches after it.
    this.maxTimestamp = this.timeIndex.lastTimestamp();
    const lastTimeEntry = this.timeIndex.lastRelativeOffset();
    this.offsetOfMaxTimestamp = this.baseOffset + BigInt(lastTimeEntry < 0 ? 0 : lastTimeEntry);
    const from = lastTimeEntry < 0 ? 0 : this.offsetIndex.lookup(lastTimeEntry);
    await this.findBatch(from, this.size, (b) => {
      if (b.maxTimestamp > this.maxTimestamp) {
        this.maxTimestamp = b.maxTimestamp;
        this.offsetOfMaxTimestamp = b.lastOffset;
      }
      return false;
    });
    if (this.size === 0) this.rollingBaseMs = undefined;
    // Active from now on (it may have been sealed): its index files are written by persistIndexes again.
    this.indexFilesOpen = true;
    this.indexesReleased = false;
    await this.writeIndexFiles(fs, dir, { durable: true });
    await this.flush(true);
    return removed;
  }

  /** Closes the segment and unlinks its three files (truncation.ts: a segment wholly past the truncation point). */
  async deleteFiles(fs: LogFs, dir: string): Promise<void> {
    if (this.sealing) await this.sealing.catch(() => undefined);
    await this.close();
    const p = LogSegment.paths(dir, this.baseOffset);
    await fs.unlink(p.log);
    await fs.unlink(p.index);
    await fs.unlink(p.timeIndex);
  }

  async close(): Promise<void> {
    await this.closeIndexFiles();
    await this.log.close();
  }

  /** Reads exactly `length` bytes at `position` (throws on a short read: the file shrank under us). */
  async read(position: number, length: number): Promise<Buffer> {
    return this.readInto(Buffer.allocUnsafe(length), position, length);
  }

  /** Like read(), into the start of a caller-owned `buf` (reused by recovery); returns `buf`'s first `length` bytes. */
  async readInto(buf: Buffer, position: number, length: number): Promise<Buffer> {
    let done = 0;
    while (done < length) {
      const n = await this.log.read(buf, done, length - done, position + done);
      if (n <= 0) throw new Error(`short read of ${this.logPath} at position ${position + done}`);
      done += n;
    }
    return buf.subarray(0, length);
  }

  /**
   * Scans batch headers from `from` (a batch boundary) up to `to`, reading SCAN_CHUNK_BYTES at a time, and
   * returns the first batch for which `match` is true, or undefined. A batch running past `to` ends the scan.
   */
  async findBatch(from: number, to: number, match: (b: BatchInfo) => boolean): Promise<FoundBatch | undefined> {
    let chunk: Buffer = Buffer.alloc(0);
    let chunkPosition = from;
    let pos = from;
    const info: BatchInfo = { position: 0, size: 0, baseOffset: 0n, lastOffset: 0n, maxTimestamp: -1, attributes: 0 };
    while (pos + RECORD_BATCH_HEADER_SIZE <= to) {
      if (pos + RECORD_BATCH_HEADER_SIZE > chunkPosition + chunk.length) {
        const length = Math.min(SCAN_CHUNK_BYTES, to - pos);
        chunk = await this.read(pos, length);
        chunkPosition = pos;
      }
      const off = pos - chunkPosition;
      const size = batchSizeAt(chunk, off);
      if (size < RECORD_BATCH_HEADER_SIZE || pos + size > to) return undefined;
      info.position = pos;
      info.size = size;
      info.baseOffset = chunk.readBigInt64BE(off);
      info.lastOffset = info.baseOffset + BigInt(chunk.readInt32BE(off + LAST_OFFSET_DELTA_OFFSET));
      info.maxTimestamp = Number(chunk.readBigInt64BE(off + MAX_TIMESTAMP_OFFSET));
      info.attributes = chunk.readInt16BE(off + ATTRIBUTES_OFFSET);
      if (match(info)) return { ...info, chunk, chunkPosition };
      pos += size;
    }
    return undefined;
  }

  /**
   * The last batch of the segment, found by scanning headers from the last offset-index entry; undefined when
   * the segment is empty or its batches do not end exactly at the end of the file (a torn or corrupt tail).
   */
  lastBatch(): Promise<FoundBatch | undefined> {
    return this.findBatch(this.offsetIndex.lastPosition(), this.size, (b) => b.position + b.size === this.size);
  }
}

function maxEntries(segmentIndexBytes: number, entrySize: number): number {
  return Math.max(1, Math.floor(segmentIndexBytes / entrySize));
}

/** An index file's bytes (no open for an empty one, the common case of an idle partition); undefined if missing. */
async function readIndexFile(fs: LogFs, path: string): Promise<Buffer | undefined> {
  const size = await fs.fileSize(path);
  return size === undefined ? undefined : size === 0 ? EMPTY : fs.readFile(path);
}

const EMPTY = Buffer.alloc(0);

async function attachOrCreate(files: FileHandleCache, path: string): Promise<CachedFile> {
  return (await files.fs.fileSize(path)) === undefined ? files.create(path) : files.file(path, 'r+');
}

/** `buffers` without their first `skip` bytes (after a short write). */
function skipBytes(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let remaining = skip;
  for (const b of buffers) {
    if (remaining >= b.length) {
      remaining -= b.length;
      continue;
    }
    out.push(remaining > 0 ? b.subarray(remaining) : b);
    remaining = 0;
  }
  return out;
}

export { writeFully };
