// The cleaner's key → latest offset map (Kafka's OffsetMap / SkimpyOffsetMap), built from the dirty section of a
// log and consulted while its segments are rewritten: a keyed record is kept only when its offset is at least the
// one mapped for its key (or lies past `latestOffset`, the end of what was mapped).
//
// Kafka stores a 16-byte MD5 of each key and an 8-byte offset in one preallocated buffer of
// `log.cleaner.dedupe.buffer.size` bytes, filled to `log.cleaner.io.buffer.load.factor` (0.9). Eddy uses a Map
// keyed by a short string: the key's own bytes when it has at most 16 (exact, no collision possible), otherwise
// its MD5 (as Kafka). The number of entries is bounded as Kafka bounds its slots — floor(bytes / 24) × 0.9 — so
// the same setting limits how much of a dirty section one cleaning can take; memory grows with the keys actually
// seen instead of being allocated up front (most brokers' compacted topics are small).
import { createHash } from 'node:crypto';

/** Bytes Kafka's SkimpyOffsetMap spends per entry: an MD5 (16) and an offset (8). */
const BYTES_PER_ENTRY = 24;
/** Kafka's log.cleaner.io.buffer.load.factor default. */
const LOAD_FACTOR = 0.9;
const SHORT_KEY_BYTES = 16;

export class OffsetMap {
  private readonly map = new Map<string, number>();
  /** Kafka's OffsetMap.latestOffset: the last offset of the last batch mapped; -1 before any. */
  latestOffset = -1;
  readonly maxEntries: number;

  constructor(dedupeBufferBytes: number) {
    this.maxEntries = Math.max(1, Math.floor(Math.floor(dedupeBufferBytes / BYTES_PER_ENTRY) * LOAD_FACTOR));
  }

  get size(): number {
    return this.map.size;
  }

  get isFull(): boolean {
    return this.map.size >= this.maxEntries;
  }

  clear(): void {
    this.map.clear();
    this.latestOffset = -1;
  }

  put(buf: Buffer, keyStart: number, keyLength: number, offset: number): void {
    this.map.set(mapKey(buf, keyStart, keyLength), offset);
  }

  /** The offset mapped for the key, or -1. */
  get(buf: Buffer, keyStart: number, keyLength: number): number {
    return this.map.get(mapKey(buf, keyStart, keyLength)) ?? -1;
  }
}

/** A short key as itself ("s" + latin1 bytes), a longer one as "h" + its MD5: the prefixes keep them apart. */
function mapKey(buf: Buffer, start: number, length: number): string {
  if (length <= SHORT_KEY_BYTES) return 's' + buf.toString('latin1', start, start + length);
  return 'h' + createHash('md5').update(buf.subarray(start, start + length)).digest('base64');
}
