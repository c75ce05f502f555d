// Sparse offset index of one segment (`<base offset>.index`), Kafka's format.
//
// On disk: a flat array of 8-byte entries, no header, big-endian:
//
//   off  size  field
//   0    4     relativeOffset int32   baseOffset of a batch minus the segment's base offset
//   4    4     position       int32   byte position of that batch in the segment's .log
//
// One entry is added when more than `index.interval.bytes` of log were written since the previous entry (the
// first batch of a segment has none: position 0 is implied). Entries strictly increase in both fields. New
// entries are appended to the file when the segment is fsynced or sealed (not per append; a lagging index is
// only sparser), and the file holds exactly the used entries (no preallocation, unlike Kafka's
// mmap'd files, so there is nothing to trim on roll). There is no version field: the format is fixed by the
// file extension. A reader that finds a size not a multiple of 8, entries that do not increase, or a position
// past the end of the .log treats the file as corrupt and rebuilds it from the .log.
//
// The whole index lives in memory (two Int32Arrays); the file is only read at startup. The arrays are allocated
// on the first entry and doubled as they fill (a segment below index.interval.bytes has none), so the 100,000
// empty partitions of a broker cost no index memory.
import type { LogFile } from './fs.js';

export const OFFSET_INDEX_ENTRY_SIZE = 8;
/** Shared by every index that has no entries yet (never written: capacity 0). */
const NO_ENTRIES = new Int32Array(0);
/** Capacity of the first allocation. */
const FIRST_CAPACITY = 16;

export class OffsetIndex {
  private relativeOffsets: Int32Array;
  private positions: Int32Array;
  private count = 0;
  /** Entries already on disk; entries from here on are written by `persist()`. */
  private persistedCount = 0;

  constructor(
    readonly maxEntries: number,
    initialCapacity = 0,
  ) {
    this.relativeOffsets = initialCapacity === 0 ? NO_ENTRIES : new Int32Array(initialCapacity);
    this.positions = initialCapacity === 0 ? NO_ENTRIES : new Int32Array(initialCapacity);
  }

  get entries(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1]!;
  }

  lastPosition(): number {
    return this.count === 0 ? 0 : this.positions[this.count - 1]!;
  }

  append(relativeOffset: number, position: number): void {
    if (this.count === this.relativeOffsets.length) this.grow();
    this.relativeOffsets[this.count] = relativeOffset;
    this.positions[this.count] = position;
    this.count++;
  }

  /** Position of the last entry whose relative offset is <= `relativeOffset`, or 0 when there is none. */
  lookup(relativeOffset: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relativeOffsets[mid]! <= relativeOffset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? 0 : this.positions[found]!;
  }

  /**
   * Removes the entries at or after `relativeOffset` (Kafka's OffsetIndex.truncateTo: the log is cut at the batch
   * starting there). The caller rewrites the file (LogSegment.writeIndexFiles): entries on disk past the cut are
   * not removed here.
   */
  truncateTo(relativeOffset: number): void {
    let keep = this.count;
    while (keep > 0 && this.relativeOffsets[keep - 1]! >= relativeOffset) keep--;
    this.count = keep;
    if (this.persistedCount > keep) this.persistedCount = keep;
  }

  /** Forgets every entry (before a rebuild). */
  reset(): void {
    this.count = 0;
    this.persistedCount = 0;
  }

  /** Parses an index file. Returns undefined when it fails the sanity checks described at the top. */
  static parse(data: Buffer, maxEntries: number, logSize: number): OffsetIndex | undefined {
    if (data.length % OFFSET_INDEX_ENTRY_SIZE !== 0) return undefined;
    const n = data.length / OFFSET_INDEX_ENTRY_SIZE;
    const index = new OffsetIndex(Math.max(maxEntries, n), n);
    let prevOffset = -1;
    let prevPosition = -1;
    for (let i = 0; i < n; i++) {
      const relativeOffset = data.readInt32BE(i * 8);
      const position = data.readInt32BE(i * 8 + 4);
      if (relativeOffset <= prevOffset || position <= prevPosition || position >= logSize) return undefined;
      index.append(relativeOffset, position);
      prevOffset = relativeOffset;
      prevPosition = position;
    }
    index.persistedCount = n;
    return index;
  }

  /** Every entry, in file format. */
  serialize(): Buffer {
    return this.encode(0, this.count);
  }

  /** Entries added since the last persist. */
  get unpersistedEntries(): number {
    return this.count - this.persistedCount;
  }

  /** Writes entries added since the last persist to the end of `file`. */
  async persist(file: LogFile): Promise<void> {
    if (this.persistedCount === this.count) return;
    const from = this.persistedCount;
    const to = this.count;
    await writeFully(file, this.encode(from, to), from * OFFSET_INDEX_ENTRY_SIZE);
    this.persistedCount = to;
  }

  /** Marks everything as on disk (after `serialize()` was written by the caller). */
  markPersisted(): void {
    this.persistedCount = this.count;
  }

  get sizeInBytes(): number {
    return this.count * OFFSET_INDEX_ENTRY_SIZE;
  }

  private encode(from: number, to: number): Buffer {
    const buf = Buffer.allocUnsafe((to - from) * OFFSET_INDEX_ENTRY_SIZE);
    for (let i = from; i < to; i++) {
      const p = (i - from) * OFFSET_INDEX_ENTRY_SIZE;
      buf.writeInt32BE(this.relativeOffsets[i]!, p);
      buf.writeInt32BE(this.positions[i]!, p + 4);
    }
    return buf;
  }

  private grow(): void {
    const capacity = Math.max(FIRST_CAPACITY, this.relativeOffsets.length * 2);
    const offsets = new Int32Array(capacity);
    offsets.set(this.relativeOffsets);
    const positions = new Int32Array(capacity);
    positions.set(this.positions);
    this.relativeOffsets = offsets;
    this.positions = positions;
  }
}

/** Positional write of `buf` at `position`, retrying short writes. */
export async function writeFully(file: LogFile, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const n = await file.writev([done === 0 ? buf : buf.subarray(done)], position + done);
    if (n <= 0) throw new Error(`write made no progress at position ${position + done}`);
    done += n;
  }
}
