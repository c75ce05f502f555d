// The cleaner's key → latest offset map (Kafka's OffsetMap / SkimpyOffsetMap), built from the dirty section of a
// log and consulted while its segments are rewritten: a keyed record is kept only when its offset is at least the
// one mapped for its key (or lies past `latestOffset`, the end of what was mapped).
//
// Layout, as Kafka's SkimpyOffsetMap: one Buffer of slots, open addressing with linear probing, each slot 24 bytes
// (read as six uint32 words in host order; the map never leaves memory):
//
//   words 0-3   the key's 128-bit hash (bit 0 of word 3 forced to 1, so a used slot is never all zeros)
//   words 4-5   the offset, high and low 32 bits
//
// An all-zero slot is empty. A key's first slot is its hash's word 0 modulo the slot count; a probe goes to the
// next slot (wrapping). The map takes at most floor(slots × 0.9) entries (Kafka's log.cleaner.io.buffer.load.factor
// default), after which it reports `isFull` and the cleaner stops mapping (the rest of the dirty section is
// cleaned next time). Two keys with the same 128-bit hash are treated as one key, as in Kafka (whose MD5 has the
// same property): with random hashes the chance is about n² / 2^129 per cleaning; a producer that crafts
// colliding keys can only hide its own records behind each other, which it could do by writing them anyway.
//
// Hash: MurmurHash3 x86_128 (public domain, Austin Appleby) with a random seed per map, computed in place over the
// key bytes: no object is allocated per record and no MessageDigest-like state is kept (MD5 is refused on FIPS
// builds of Node, and crypto.hash, present since Node 20.12, still allocates its result per call).
//
// Size: Kafka allocates log.cleaner.dedupe.buffer.size bytes (capped at Int.MaxValue) once per cleaner thread.
// Eddy allocates the slots at the start of each cleaning (Buffer.alloc: zeroed pages from the OS, no fill loop on
// the event loop) and drops them after it (release()), taking the smaller of
//   - the setting's slots: floor(min(dedupeBufferSize, 2^31 - 1, a quarter of the machine's memory) / 24), and
//   - what the dirty section can need: its offset range / 0.9 + 1 (a record per offset at most),
// so the map fills exactly when Kafka's would, and a small dirty section costs a small buffer. The quarter of the
// machine's memory is the clamp for settings the process cannot hold (logged once by the cleaner).
import { randomInt } from 'node:crypto';
import { totalmem } from 'node:os';

/** Bytes per slot: a 16-byte hash and an 8-byte offset (Kafka's SkimpyOffsetMap with MD5). */
export const BYTES_PER_ENTRY = 24;
const WORDS_PER_ENTRY = 6;
/** Kafka's log.cleaner.io.buffer.load.factor default. */
export const LOAD_FACTOR = 0.9;
const INT32_MAX = 0x7fffffff;

/** The bytes the map may use for a `dedupeBufferSize` setting (see the header). */
export function offsetMapBytes(dedupeBufferSize: number, machineBytes = totalmem()): number {
  return Math.max(BYTES_PER_ENTRY, Math.min(dedupeBufferSize, INT32_MAX, Math.floor(machineBytes / 4)));
}

export class OffsetMap {
  /** The slots of the current cleaning (empty between cleanings). */
  private words = new Uint32Array(0);
  private slots = 0;
  private maxEntries = 0;
  private entries = 0;
  private seed = 0;
  private readonly hash = new Uint32Array(4);
  /** Kafka's OffsetMap.latestOffset: the last offset put or passed over; -1 before any. */
  latestOffset = -1;
  /** Slots the setting allows (Kafka's OffsetMap.slots). */
  readonly maxSlots: number;

  constructor(bytes: number) {
    this.maxSlots = Math.max(1, Math.floor(bytes / BYTES_PER_ENTRY));
  }

  /** Entries a full map of the setting's size takes (Kafka's maxDesiredMapSize). */
  get capacity(): number {
    return Math.max(1, Math.floor(this.maxSlots * LOAD_FACTOR));
  }

  get size(): number {
    return this.entries;
  }

  /** Bytes held by the slots of the current cleaning. */
  get allocatedBytes(): number {
    return this.words.byteLength;
  }

  get isFull(): boolean {
    return this.entries >= this.maxEntries;
  }

  /**
   * Empties the map and allocates slots for a cleaning whose dirty section spans `offsetRange` offsets (see the
   * header).
   */
  reset(offsetRange: number): void {
    const needed = Math.ceil(Math.max(1, offsetRange) / LOAD_FACTOR) + 1;
    const slots = Math.max(1, Math.min(this.maxSlots, needed));
    if (slots !== this.slots) {
      this.words = new Uint32Array(slots * WORDS_PER_ENTRY);
      this.slots = slots;
    } else {
      this.words.fill(0);
    }
    this.maxEntries = slots === this.maxSlots ? this.capacity : slots;
    this.entries = 0;
    this.latestOffset = -1;
    this.seed = randomInt(0, 0x100000000);
  }

  /** Drops the slots (after a cleaning: Kafka's clear(), with the memory given back). */
  release(): void {
    this.words = new Uint32Array(0);
    this.slots = 0;
    this.maxEntries = 0;
    this.entries = 0;
    this.latestOffset = -1;
  }

  /** Maps the key buf[keyStart, keyStart + keyLength) to `offset` (Kafka's put: also sets latestOffset). */
  put(buf: Buffer, keyStart: number, keyLength: number, offset: number): void {
    if (this.entries >= this.maxEntries) throw new Error(`put into a full offset map (${this.entries} entries)`);
    const h = this.hash;
    murmur3x86128(buf, keyStart, keyLength, this.seed, h);
    h[3] = h[3]! | 1;
    const words = this.words;
    let slot = h[0]! % this.slots;
    for (;;) {
      const w = slot * WORDS_PER_ENTRY;
      if (words[w + 3] === 0) {
        // Empty (word 3 of a used slot has bit 0 set).
        words[w] = h[0]!;
        words[w + 1] = h[1]!;
        words[w + 2] = h[2]!;
        words[w + 3] = h[3]!;
        this.entries++;
        writeOffset(words, w, offset);
        break;
      }
      if (words[w] === h[0] && words[w + 1] === h[1] && words[w + 2] === h[2] && words[w + 3] === h[3]) {
        writeOffset(words, w, offset);
        break;
      }
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    this.latestOffset = offset;
  }

  /** The offset mapped for the key, or -1. */
  get(buf: Buffer, keyStart: number, keyLength: number): number {
    if (this.slots === 0) return -1;
    const h = this.hash;
    murmur3x86128(buf, keyStart, keyLength, this.seed, h);
    h[3] = h[3]! | 1;
    const words = this.words;
    let slot = h[0]! % this.slots;
    for (let probes = 0; probes < this.slots; probes++) {
      const w = slot * WORDS_PER_ENTRY;
      if (words[w + 3] === 0) return -1;
      if (words[w] === h[0] && words[w + 1] === h[1] && words[w + 2] === h[2] && words[w + 3] === h[3]) {
        return words[w + 4]! * 0x100000000 + words[w + 5]!;
      }
      slot = slot + 1 === this.slots ? 0 : slot + 1;
    }
    return -1;
  }
}

function writeOffset(words: Uint32Array, w: number, offset: number): void {
  words[w + 4] = Math.floor(offset / 0x100000000);
  words[w + 5] = offset >>> 0;
}

// ---- MurmurHash3 x86_128 -------------------------------------------------------------------------------------

const C1 = 0x239b961b;
const C2 = 0xab0e9789;
const C3 = 0x38b34ae5;
const C4 = 0xa1e38b93;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** MurmurHash3_x86_128 of buf[start, start + length) with `seed`, into out[0..3] (h1..h4). */
export function murmur3x86128(buf: Uint8Array, start: number, length: number, seed: number, out: Uint32Array): void {
  let h1 = seed | 0;
  let h2 = seed | 0;
  let h3 = seed | 0;
  let h4 = seed | 0;
  const blocksEnd = start + (length & ~15);
  let p = start;
  for (; p < blocksEnd; p += 16) {
    let k1 = buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16) | (buf[p + 3]! << 24);
    let k2 = buf[p + 4]! | (buf[p + 5]! << 8) | (buf[p + 6]! << 16) | (buf[p + 7]! << 24);
    let k3 = buf[p + 8]! | (buf[p + 9]! << 8) | (buf[p + 10]! << 16) | (buf[p + 11]! << 24);
    let k4 = buf[p + 12]! | (buf[p + 13]! << 8) | (buf[p + 14]! << 16) | (buf[p + 15]! << 24);
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }
  const tail = length & 15;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  if (tail > 12) {
    if (tail >= 15) k4 ^= buf[p + 14]! << 16;
    if (tail >= 14) k4 ^= buf[p + 13]! << 8;
    k4 ^= buf[p + 12]!;
    k4 = Math.imul(rotl(Math.imul(k4, C4), 18), C1);
    h4 ^= k4;
  }
  if (tail > 8) {
    if (tail >= 12) k3 ^= buf[p + 11]! << 24;
    if (tail >= 11) k3 ^= buf[p + 10]! << 16;
    if (tail >= 10) k3 ^= buf[p + 9]! << 8;
    k3 ^= buf[p + 8]!;
    k3 = Math.imul(rotl(Math.imul(k3, C3), 17), C4);
    h3 ^= k3;
  }
  if (tail > 4) {
    if (tail >= 8) k2 ^= buf[p + 7]! << 24;
    if (tail >= 7) k2 ^= buf[p + 6]! << 16;
    if (tail >= 6) k2 ^= buf[p + 5]! << 8;
    k2 ^= buf[p + 4]!;
    k2 = Math.imul(rotl(Math.imul(k2, C2), 16), C3);
    h2 ^= k2;
  }
  if (tail > 0) {
    if (tail >= 4) k1 ^= buf[p + 3]! << 24;
    if (tail >= 3) k1 ^= buf[p + 2]! << 16;
    if (tail >= 2) k1 ^= buf[p + 1]! << 8;
    k1 ^= buf[p]!;
    k1 = Math.imul(rotl(Math.imul(k1, C1), 15), C2);
    h1 ^= k1;
  }
  h1 ^= length;
  h2 ^= length;
  h3 ^= length;
  h4 ^= length;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  out[0] = h1;
  out[1] = h2;
  out[2] = h3;
  out[3] = h4;
}
