// Sparse time index of one segment (`<base offset>.timeindex`), Kafka's format.
//
// On disk: a flat array of 12-byte entries, no header, big-endian:
//
//   off  size  field
//   0    8     timestamp      int64   the largest batch maxTimestamp seen in the segment up to this entry
//   8    4     relativeOffset int32   lastOffset - segment base offset of the batch that first reached it
//
// An entry is added together with each offset-index entry when the segment's max timestamp has grown since the
// last entry, and once more when the segment is rolled or the log closed cleanly, so the last entry always
// holds the segment's largest timestamp (loaded at startup without reading the .log). Timestamps strictly
// increase; relative offsets never decrease. No version field (fixed by the extension); a size not a multiple
// of 12 or entries out of order mean the file is rebuilt from the .log.
//
// In memory: timestamps as a Float64Array (epoch milliseconds are exact below 2^53) and offsets as Int32Array.
// A producer may put any int64 in a batch's maxTimestamp (Long.MAX_VALUE for "no timestamp" bugs): such a value
// rounds in the Float64Array (to 2^63 for Long.MAX_VALUE), so entries are clamped to the int64 range when
// encoded — an index entry must never be the thing that stops a partition from being written or loaded.
import type { LogFile } from './fs.js';
import { writeFully } from './offset-index.js';

export const TIME_INDEX_ENTRY_SIZE = 12;
/** Shared by every index that has no entries yet (allocated on the first entry, as OffsetIndex). */
const NO_TIMESTAMPS = new Float64Array(0);
const NO_OFFSETS = new Int32Array(0);
const FIRST_CAPACITY = 16;

const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;

/** A timestamp held as a number, back as an int64: exact below 2^53, clamped where rounding left the range. */
export function timestampToInt64(timestampMs: number): bigint {
  const value = BigInt(timestampMs);
  return value > INT64_MAX ? INT64_MAX : value < INT64_MIN ? INT64_MIN : value;
}

export class TimeIndex {
  private timestamps: Float64Array;
  private relativeOffsets: Int32Array;
  private count = 0;
  private persistedCount = 0;

  constructor(
    readonly maxEntries: number,
    initialCapacity = 0,
  ) {
    this.timestamps = initialCapacity === 0 ? NO_TIMESTAMPS : new Float64Array(initialCapacity);
    this.relativeOffsets = initialCapacity === 0 ? NO_OFFSETS : new Int32Array(initialCapacity);
  }

  get entries(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Largest timestamp indexed so far, or -1. */
  lastTimestamp(): number {
    return this.count === 0 ? -1 : this.timestamps[this.count - 1]!;
  }

  lastRelativeOffset(): number {
    return this.count === 0 ? -1 : this.relativeOffsets[this.count - 1]!;
  }

  /** Adds (timestamp, relativeOffset) unless timestamp does not exceed the last entry. */
  maybeAppend(timestamp: number, relativeOffset: number): void {
    if (timestamp <= this.lastTimestamp()) return;
    if (this.count === this.timestamps.length) this.grow();
    this.timestamps[this.count] = timestamp;
    this.relativeOffsets[this.count] = relativeOffset;
    this.count++;
  }

  /** Relative offset of the last entry with timestamp <= `timestamp`, or -1 when there is none. */
  lookup(timestamp: number): number {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid]! <= timestamp) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? -1 : this.relativeOffsets[found]!;
  }

  /**
   * Removes the entries whose offset is at or after `relativeOffset` (Kafka's TimeIndex.truncateTo). As for the
   * offset index, the caller rewrites the file.
   */
  truncateTo(relativeOffset: number): void {
    let keep = this.count;
    while (keep > 0 && this.relativeOffsets[keep - 1]! >= relativeOffset) keep--;
    this.count = keep;
    if (this.persistedCount > keep) this.persistedCount = keep;
  }

  reset(): void {
    this.count = 0;
    this.persistedCount = 0;
  }

  static parse(data: Buffer, maxEntries: number): TimeIndex | undefined {
    if (data.length % TIME_INDEX_ENTRY_SIZE !== 0) return undefined;
    const n = data.length / TIME_INDEX_ENTRY_SIZE;
    const index = new TimeIndex(Math.max(maxEntries, n), n);
    let prevTimestamp = -Infinity;
    let prevOffset = 0;
    for (let i = 0; i < n; i++) {
      const timestamp = Number(data.readBigInt64BE(i * 12));
      const relativeOffset = data.readInt32BE(i * 12 + 8);
      if (timestamp <= prevTimestamp || relativeOffset < prevOffset) return undefined;
      index.maybeAppend(timestamp, relativeOffset);
      prevTimestamp = timestamp;
      prevOffset = relativeOffset;
    }
    index.persistedCount = n;
    return index;
  }

  serialize(): Buffer {
    return this.encode(0, this.count);
  }

  async persist(file: LogFile): Promise<void> {
    if (this.persistedCount === this.count) return;
    const from = this.persistedCount;
    const to = this.count;
    await writeFully(file, this.encode(from, to), from * TIME_INDEX_ENTRY_SIZE);
    this.persistedCount = to;
  }

  /** Entries added since the last persist. */
  get unpersistedEntries(): number {
    return this.count - this.persistedCount;
  }

  markPersisted(): void {
    this.persistedCount = this.count;
  }

  private encode(from: number, to: number): Buffer {
    const buf = Buffer.allocUnsafe((to - from) * TIME_INDEX_ENTRY_SIZE);
    for (let i = from; i < to; i++) {
      const p = (i - from) * TIME_INDEX_ENTRY_SIZE;
      buf.writeBigInt64BE(timestampToInt64(this.timestamps[i]!), p);
      buf.writeInt32BE(this.relativeOffsets[i]!, p + 8);
    }
    return buf;
  }

  private grow(): void {
    const capacity = Math.max(FIRST_CAPACITY, this.timestamps.length * 2);
    const timestamps = new Float64Array(capacity);
    timestamps.set(this.timestamps);
    const offsets = new Int32Array(capacity);
    offsets.set(this.relativeOffsets);
    this.timestamps = timestamps;
    this.relativeOffsets = offsets;
  }
}
