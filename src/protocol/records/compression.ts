// Decompression and compression of the records section of a RecordBatch v2 (the bytes after the 61-byte header).
// Batches are stored as the producer sent them; only the few places that need per-record information (ListOffsets
// by timestamp, the log cleaner) decompress one batch at a time, and only the log cleaner compresses (a batch it
// rewrote, with the batch's own codec: compressRecords, at the end of this file).
//
//   codec (attributes bits 0-2)  format, as Kafka 3.9 reads it (clients/.../common/compress/*.java)
//   0 none                       the records as they are
//   1 gzip                       RFC 1952 (concatenated members allowed), node:zlib
//   2 snappy                     xerial framing (Java's SnappyOutputStream): "\x82SNAPPY\0", int32 version,
//                                int32 compatible version, then chunks of int32 BE length + raw snappy block;
//                                anything without that magic is one raw snappy block (librdkafka writes either;
//                                xerial's SnappyInputStream falls back the same way). Own block decoder:
//                                snappyjs, used before, loops for seconds on a hostile block (a negative
//                                literal length moves its read position backwards) and drops out-of-range
//                                writes silently.
//   3 lz4                        one LZ4 frame (Kafka's Lz4BlockInputStream): magic 0x184D2204, FLG version 01
//                                with reserved bits (dictId included) clear, BD block size 64 KiB-4 MiB, optional
//                                8-byte content size, header checksum = byte 1 of xxHash32(FLG..content size),
//                                checked (the broken pre-KIP-57 checksum applies to magic 0 only, never to v2);
//                                blocks of int32 LE size (high bit: stored uncompressed) with optional xxHash32
//                                block checksums, ended by a zero size; the content checksum is not verified
//                                (Kafka doesn't either) and bytes after the frame are ignored. Own block decoder.
//   4 zstd                       zstd frames (concatenated and skippable frames allowed), fzstd (pure JS)
//   5-7                          not defined: Kafka's CompressionType.forId throws IllegalArgumentException
//
// Bounded output: a compression bomb must not make the broker allocate without limit, so every decoder stops
// once the output would exceed `maxBytes` (default MAX_DECOMPRESSED_BYTES). Each codec decodes in bounded steps
// (zlib's maxOutputLength, a snappy block's declared length checked before it is decoded, LZ4 blocks of at most
// 4 MiB, zstd blocks of at most 128 KiB through fzstd's streaming decoder), so memory stays near the output
// actually produced. Kafka has no such cap (it streams); the default is 128 × the default max.message.bytes
// (1 MiB): producers with default settings build batches of about 1 MB before compression (librdkafka's
// batch.size, the Java producer's batch.size estimate), so no real batch comes near it.
//
// Streaming (decompressRecordStream, what produce validation uses: log/log-validator.ts). The records are handed to
// a sink in bounded pieces that the sink must consume during the call, so validating a batch holds one piece, never
// the whole decompressed batch, and a bomb is refused as soon as its output passes the cap:
//
//   codec          piece                                           why
//   gzip           64 KiB, one reused buffer                       zlib inflates into any output size; the native
//                                                                  handle's writeSync (what gunzipSync itself runs)
//                                                                  is driven directly, so nothing is allocated
//   snappy xerial  one chunk (32 KiB as Java writes it)            chunks are independent raw blocks
//   snappy raw     the whole block (no streaming)                  a copy may reach back to any earlier byte of the
//                                                                  block (4-byte offsets), so a decoder needs all
//                                                                  of it; snappy expands at most ~21x (a 3-byte
//                                                                  copy of 64 bytes), so the block is bounded by
//                                                                  ~21 x the batch size as well as by the cap
//   lz4            one block (64 KiB as Kafka and librdkafka       blocks are independent (Kafka's reader decodes
//                  write it; BD allows up to 4 MiB), one reused    each alone); a stored block is a slice of the
//                  buffer                                          payload
//   zstd           one block (at most 128 KiB), fzstd's            the frame's window (the history the format lets
//                  streaming decoder                               matches reach) is fzstd's, allocated as the frame
//                                                                  declares it, checked first (checkZstdWindow);
//                                                                  fzstd allocates each block's output afresh, so a
//                                                                  zstd bomb still churns (freed, not held)
//
// The cap stays 128 MiB: with streaming it no longer sets memory, only the CPU a hostile batch costs before it is
// refused (about 0.2 s of inflating for gzip, the same as a legitimate batch of that size), and a lower one would
// refuse highly compressible batches that Kafka, which has no cap, accepts (a 1 MB batch of repetitive JSON
// inflates 50-100x).
//
// Errors, mapped as Kafka's exceptions map on the wire (Errors.forException):
//   undefined codec 5-7                         UNKNOWN_SERVER_ERROR  (IllegalArgumentException)
//   corrupt or truncated compressed stream      UNKNOWN_SERVER_ERROR  (KafkaException "Failed to decompress
//                                                                       record stream", DefaultRecordBatch)
//   output above maxBytes (Eddy only)           INVALID_RECORD
// Record-level errors inside decompressed bytes (InvalidRecordException in Kafka) are the record reader's.
//
// Speed, measured on this machine (Node 20, 2 shared cores) for JSON-like records, µs per batch for 100
// records of 100-1000 B (54 KB) / MB/s for a 1 MB batch: gzip (zlib) 45 µs / 760; snappy: own decoder
// 62 µs / 770, snappyjs 64 µs / 690 (unbounded on hostile input), snappy (napi-rs) 160 µs / 355; lz4: own
// decoder 76 µs / 500, lz4js 61 µs / 600 (no bounds checks: corrupt input yields silent garbage), lz4-napi
// 161 µs / 390 (no output cap); zstd: fzstd 310 µs / 530, @bokuweb/zstd-wasm 60 µs / 3000 (allocates the
// frame's declared size, 1 MiB when undeclared; wasm memory never shrinks).
import { promisify } from 'node:util';
import { constants as zlibConstants, createGunzip, gunzip as gunzipCallback, gunzipSync, gzip as gzipCallback, type Gunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { KafkaError } from '../../errors.js';
import { ErrorCode } from '../error-codes.js';

// The native codecs (snappy, lz4-napi, @mongodb-js/zstd) serve only the log cleaner's async paths: they are loaded
// on first use, so a broker that never compacts a compressed batch does not pay their load time (~40 ms) at start.
let zstdNative: Promise<typeof import('@mongodb-js/zstd')> | undefined;
let lz4Native: Promise<typeof import('lz4-napi')> | undefined;
let snappyNative: Promise<typeof import('snappy')> | undefined;
const loadZstd = () => (zstdNative ??= import('@mongodb-js/zstd'));
const loadLz4 = () => (lz4Native ??= import('lz4-napi'));
const loadSnappy = () => (snappyNative ??= import('snappy'));

/** Default cap on one batch's decompressed records (see the header). */
export const MAX_DECOMPRESSED_BYTES = 128 * 1024 * 1024;


/**
 * The records of a batch with compression `codec`, decompressed (`payload` itself for codec 0). Throws a
 * KafkaError for an undefined codec, an undecodable payload, or more than `maxBytes` of output.
 */
export function decompressRecords(codec: number, payload: Buffer, maxBytes = MAX_DECOMPRESSED_BYTES): Buffer {
  switch (codec) {
    case 0:
      return payload;
    case 1:
      return gunzip(payload, maxBytes);
    case 2:
      return unsnappy(payload, maxBytes);
    case 3:
      return unlz4(payload, maxBytes);
    case 4:
      return unzstd(payload, maxBytes);
    default:
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${codec}`);
  }
}

/** Receives decompressed records one piece at a time, in order; the piece's bytes are valid only during the call. */
export type DecompressedChunkSink = (chunk: Buffer) => void;

/**
 * The records of a batch with compression `codec`, decompressed and handed to `sink` in bounded pieces (table in
 * the header; `payload` itself in one piece for codec 0); returns the decompressed length. Throws what
 * decompressRecords throws, as soon as it is found: pieces before a corrupt stretch or the one passing `maxBytes`
 * have been handed over by then.
 */
export function decompressRecordStream(codec: number, payload: Buffer, sink: DecompressedChunkSink, maxBytes = MAX_DECOMPRESSED_BYTES): number {
  switch (codec) {
    case 0:
      sink(payload);
      return payload.length;
    case 1:
      return gunzipStream(payload, sink, maxBytes);
    case 2:
      return snappyChunks(payload, maxBytes, sink);
    case 3:
      return lz4Blocks(payload, maxBytes, lz4StreamBlockBuffer, sink);
    case 4:
      return zstdBlocks(payload, maxBytes, sink);
    default:
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${codec}`);
  }
}

/**
 * decompressRecords for batches already in the log (the cleaner), without blocking the event loop on gzip
 * (node:zlib's thread pool, output capped as it is produced) or zstd (libzstd through @mongodb-js/zstd on the
 * thread pool: about 10x fzstd's speed, measured 1.3 ms against 12 ms for a 840 KB batch of kcat's). libzstd's
 * output is checked against `maxBytes` only once decoded, which is safe for batches in the log because produce
 * decompressed each of them within that cap (log-validator.ts) and the cleaner writes only what it decoded; never
 * use this for bytes from the network. snappy and lz4 use the synchronous decoders (500-770 MB/s: about 2 ms a
 * megabyte; the cleaner yields between batches).
 */
export async function decompressRecordsAsync(codec: number, payload: Buffer, maxBytes = MAX_DECOMPRESSED_BYTES): Promise<Buffer> {
  if (codec === 1) {
    try {
      return await gunzipAsync(payload, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', maxBytes);
      throw corrupt('gzip', (err as Error).message);
    }
  }
  if (codec === 4) {
    checkZstdWindow(payload, maxBytes);
    let out: Buffer;
    try {
      out = await (await loadZstd()).decompress(payload);
    } catch (err) {
      throw corrupt('zstd', (err as Error).message);
    }
    if (out.length > maxBytes) throw tooLarge('zstd', maxBytes);
    return out;
  }
  return decompressRecords(codec, payload, maxBytes);
}

const gunzipAsync = promisify(gunzipCallback);

function corrupt(codec: string, detail: string): KafkaError {
  return new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Failed to decompress record stream (${codec}): ${detail}`);
}

function tooLarge(codec: string, maxBytes: number): KafkaError {
  return new KafkaError(ErrorCode.INVALID_RECORD, `${codec} records decompress to more than ${maxBytes} bytes`);
}

function gunzip(payload: Buffer, maxBytes: number): Buffer {
  try {
    return gunzipSync(payload, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', maxBytes);
    throw corrupt('gzip', (err as Error).message);
  }
}

/** The native zlib handle of a node:zlib stream (internal API: what zlibBufferSync and processChunkSync drive). */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  reset(): void;
  onerror: (message: string, errno: number, code: string) => void;
}

const GZIP_PIECE_BYTES = 64 * 1024;

/** One inflater and its output buffer, reused by every gunzipStream (validation is synchronous: one at a time). */
interface GzipStreamer {
  gunzip: Gunzip;
  handle: ZlibHandle;
  /** [avail_out, avail_in] after each writeSync, as node:zlib keeps them. */
  state: Uint32Array;
  piece: Buffer;
  error: string | undefined;
  busy: boolean;
}

let gzipStreamer: GzipStreamer | null | undefined;

/** The shared inflater, or null when this Node's zlib lacks the internals (then gunzipStream decodes in one piece). */
function makeGzipStreamer(): GzipStreamer | null {
  const gunzip = createGunzip();
  const internals = gunzip as unknown as { _handle?: ZlibHandle; _writeState?: Uint32Array };
  const handle = internals._handle;
  const state = internals._writeState;
  if (handle === undefined || typeof handle.writeSync !== 'function' || typeof handle.reset !== 'function' || !(state instanceof Uint32Array)) {
    gunzip.close();
    return null;
  }
  const streamer: GzipStreamer = { gunzip, handle, state, piece: Buffer.allocUnsafe(GZIP_PIECE_BYTES), error: undefined, busy: false };
  // node:zlib's own handler destroys the stream; this one records the message (zlib's, as gunzipSync reports it).
  handle.onerror = (message) => {
    streamer.error = message;
  };
  return streamer;
}

/**
 * gzip in 64 KiB pieces: zlib inflates (Z_FINISH, all input offered, as gunzipSync does) into the reused piece
 * until a call leaves output room, which means the stream ended (or zlib reported an error: a truncated stream is
 * "unexpected end of file"). Each call is offered at most the cap plus one byte of room, so a bomb stops at the cap.
 */
function gunzipStream(payload: Buffer, sink: DecompressedChunkSink, maxBytes: number): number {
  if (gzipStreamer === undefined) gzipStreamer = makeGzipStreamer();
  const z = gzipStreamer;
  if (z === null || z.busy) {
    const out = gunzip(payload, maxBytes);
    sink(out);
    return out.length;
  }
  z.busy = true;
  try {
    let inOff = 0;
    let inLen = payload.length;
    let total = 0;
    for (;;) {
      const room = Math.min(GZIP_PIECE_BYTES, maxBytes - total + 1);
      z.handle.writeSync(zlibConstants.Z_FINISH, payload, inOff, inLen, z.piece, 0, room);
      if (z.error !== undefined) throw corrupt('gzip', z.error);
      const availOut = z.state[0]!;
      const availIn = z.state[1]!;
      const produced = room - availOut;
      total += produced;
      if (total > maxBytes) throw tooLarge('gzip', maxBytes);
      inOff += inLen - availIn;
      inLen = availIn;
      if (produced > 0) sink(z.piece.subarray(0, produced));
      if (availOut !== 0) return total;
    }
  } finally {
    z.error = undefined;
    z.handle.reset();
    z.busy = false;
  }
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, version and compatible version. */
const XERIAL_HEADER_SIZE = 16;

function unsnappy(payload: Buffer, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  const total = snappyChunks(payload, maxBytes, (chunk) => chunks.push(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Hands `sink` each xerial chunk decoded, or the raw block whole (table in the header); returns the total. */
function snappyChunks(payload: Buffer, maxBytes: number, sink: DecompressedChunkSink): number {
  if (payload.length < XERIAL_HEADER_SIZE || !payload.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) {
    const block = snappyBlock(payload, maxBytes, maxBytes);
    sink(block);
    return block.length;
  }
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < payload.length) {
    if (pos + 4 > payload.length) throw corrupt('snappy', 'truncated chunk length');
    const length = payload.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > payload.length) throw corrupt('snappy', `chunk of ${length} bytes runs past the payload`);
    const chunk = snappyBlock(payload.subarray(pos, pos + length), maxBytes - total, maxBytes);
    total += chunk.length;
    sink(chunk);
    pos += length;
  }
  return total;
}

/**
 * One raw snappy block (github.com/google/snappy format_description.txt): a varint of the uncompressed
 * length, checked against `remaining` before anything is allocated, then literals and back-references.
 * Every read and write is bounds-checked, so a hostile block costs at most one pass over its output, and the
 * output must fill exactly the declared length.
 */
function snappyBlock(block: Buffer, remaining: number, maxBytes: number): Buffer {
  let declared = 0;
  let scale = 1;
  let s = 0;
  for (;;) {
    if (s >= 5 || s >= block.length) throw corrupt('snappy', 'invalid block length');
    const byte = block[s++]!;
    declared += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) break;
    scale *= 128;
  }
  if (declared > remaining) throw tooLarge('snappy', maxBytes);
  if (declared > 0xffffffff) throw corrupt('snappy', 'invalid block length');
  // The most a block's elements can write: a 3-byte copy of 64 bytes is the densest, so r bytes hold at most
  // 64·r/3. A larger declared length is corrupt whatever follows: refuse it before allocating, so a few hostile
  // bytes cannot make the broker allocate (and glibc keep) up to the cap.
  if (declared > maxSnappyOutput(block.length - s)) throw corrupt('snappy', `declared length ${declared} exceeds what ${block.length - s} bytes can hold`);
  const out = Buffer.allocUnsafe(declared);
  const end = block.length;
  let d = 0;
  while (s < end) {
    const tag = block[s++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let length = (tag >>> 2) + 1;
      if (length > 60) {
        const lengthBytes = length - 60;
        if (s + lengthBytes > end) throw corrupt('snappy', 'truncated literal length');
        length = 0;
        for (let i = 0; i < lengthBytes; i++) length += block[s + i]! * 2 ** (8 * i);
        length += 1;
        s += lengthBytes;
      }
      if (s + length > end || d + length > declared) throw corrupt('snappy', 'literal runs past the block');
      if (length < 256) {
        for (let i = 0; i < length; i++) out[d++] = block[s++]!;
      } else {
        block.copy(out, d, s, s + length);
        d += length;
        s += length;
      }
      continue;
    }
    let length: number;
    let offset: number;
    if (kind === 1) {
      if (s + 1 > end) throw corrupt('snappy', 'truncated copy');
      length = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | block[s++]!;
    } else if (kind === 2) {
      if (s + 2 > end) throw corrupt('snappy', 'truncated copy');
      length = (tag >>> 2) + 1;
      offset = block[s]! | (block[s + 1]! << 8);
      s += 2;
    } else {
      if (s + 4 > end) throw corrupt('snappy', 'truncated copy');
      length = (tag >>> 2) + 1;
      offset = (block[s]! | (block[s + 1]! << 8) | (block[s + 2]! << 16)) + block[s + 3]! * 0x1000000;
      s += 4;
    }
    if (offset === 0 || offset > d) throw corrupt('snappy', `copy offset ${offset} is out of range`);
    if (d + length > declared) throw corrupt('snappy', 'copy runs past the declared length');
    let m = d - offset;
    // Copies are at most 64 bytes; overlapping ones repeat the bytes just written, so byte by byte.
    for (let i = 0; i < length; i++) out[d++] = out[m++]!;
  }
  if (d !== declared) throw corrupt('snappy', `block holds ${d} bytes, declared ${declared}`);
  return out;
}

/** An upper bound of a raw snappy block's output from `elementBytes` bytes of elements (see snappyBlock). */
function maxSnappyOutput(elementBytes: number): number {
  return Math.floor((64 * elementBytes) / 3);
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_MAX_BLOCK_SIZES = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];

function unlz4(payload: Buffer, maxBytes: number): Buffer {
  const blocks: Buffer[] = [];
  const total = lz4Blocks(payload, maxBytes, Buffer.allocUnsafe, (block) => blocks.push(block));
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks, total);
}

/** The block buffer lz4Blocks decodes into for decompressRecordStream: one, grown to the largest block size seen. */
let lz4StreamBuffer = Buffer.alloc(0);
function lz4StreamBlockBuffer(maxBlockSize: number): Buffer {
  if (lz4StreamBuffer.length < maxBlockSize) lz4StreamBuffer = Buffer.allocUnsafe(maxBlockSize);
  return lz4StreamBuffer;
}

/**
 * Hands `sink` each block of the LZ4 frame `payload`, decoded into `blockBuffer(maxBlockSize)` (a stored block is
 * a slice of the payload); returns the total.
 */
function lz4Blocks(payload: Buffer, maxBytes: number, blockBuffer: (maxBlockSize: number) => Buffer, sink: DecompressedChunkSink): number {
  if (payload.length < 7) throw corrupt('lz4', 'frame shorter than its header');
  if (payload.readUInt32LE(0) !== LZ4_MAGIC) throw corrupt('lz4', 'not an LZ4 frame');
  const flg = payload[4]!;
  const bd = payload[5]!;
  if (flg >>> 6 !== 1) throw corrupt('lz4', `unsupported frame version ${flg >>> 6}`);
  if ((flg & 0x03) !== 0) throw corrupt('lz4', 'reserved FLG bits set');
  if ((bd & 0x8f) !== 0 || (bd >>> 4) < 4) throw corrupt('lz4', `unsupported block descriptor 0x${bd.toString(16)}`);
  const blockChecksums = (flg & 0x10) !== 0;
  const contentSizeSet = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const maxBlockSize = LZ4_MAX_BLOCK_SIZES[bd >>> 4]!;
  let pos = 6;
  if (contentSizeSet) {
    if (payload.length < pos + 9) throw corrupt('lz4', 'truncated frame descriptor');
    // The declared size is a hint only; the blocks decide, and the cap applies either way.
    pos += 8;
  }
  if (pos >= payload.length) throw corrupt('lz4', 'truncated frame descriptor');
  if (payload[pos] !== ((xxhash32(payload, 4, pos) >>> 8) & 0xff)) throw corrupt('lz4', 'frame descriptor checksum mismatch');
  pos += 1;

  let total = 0;
  for (;;) {
    if (pos + 4 > payload.length) throw corrupt('lz4', 'truncated block size');
    const word = payload.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & 0x80000000) !== 0;
    const size = word & 0x7fffffff;
    if (size > maxBlockSize) throw corrupt('lz4', `block of ${size} bytes exceeds the maximum ${maxBlockSize}`);
    if (pos + size + (blockChecksums ? 4 : 0) > payload.length) throw corrupt('lz4', 'truncated block');
    if (blockChecksums && xxhash32(payload, pos, pos + size) !== payload.readUInt32LE(pos + size)) {
      throw corrupt('lz4', 'block checksum mismatch');
    }
    let block: Buffer;
    if (stored) {
      block = payload.subarray(pos, pos + size);
    } else {
      const out = blockBuffer(maxBlockSize);
      block = out.subarray(0, decodeLz4Block(payload, pos, pos + size, out.subarray(0, maxBlockSize)));
    }
    total += block.length;
    if (total > maxBytes) throw tooLarge('lz4', maxBytes);
    sink(block);
    pos += size + (blockChecksums ? 4 : 0);
  }
  if (contentChecksum && pos + 4 > payload.length) throw corrupt('lz4', 'truncated content checksum');
  return total;
}

/** Decodes the LZ4 block src[start, end) into `dst` from 0 (independent blocks); returns the bytes written. */
function decodeLz4Block(src: Buffer, start: number, end: number, dst: Buffer): number {
  const dEnd = dst.length;
  let s = start;
  let d = 0;
  while (s < end) {
    const token = src[s++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('lz4', 'truncated literal length');
        b = src[s++]!;
        literals += b;
      } while (b === 255);
    }
    if (s + literals > end || d + literals > dEnd) throw corrupt('lz4', 'literals run past the block');
    if (literals < 32) {
      for (let i = 0; i < literals; i++) dst[d++] = src[s++]!;
    } else {
      src.copy(dst, d, s, s + literals);
      d += literals;
      s += literals;
    }
    if (s === end) break; // the last sequence has literals only
    if (s + 2 > end) throw corrupt('lz4', 'truncated match offset');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) throw corrupt('lz4', `match offset ${offset} is out of range`);
    let matchLength = token & 15;
    if (matchLength === 15) {
      let b: number;
      do {
        if (s >= end) throw corrupt('lz4', 'truncated match length');
        b = src[s++]!;
        matchLength += b;
      } while (b === 255);
    }
    matchLength += 4;
    if (d + matchLength > dEnd) throw corrupt('lz4', 'match runs past the maximum block size');
    let m = d - offset;
    if (matchLength >= 32 && offset >= matchLength) {
      dst.copyWithin(d, m, m + matchLength);
      d += matchLength;
    } else {
      // Overlapping matches repeat the bytes just written: copy byte by byte.
      for (let i = 0; i < matchLength; i++) dst[d++] = dst[m++]!;
    }
  }
  return d;
}

const PRIME1 = 2654435761;
const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** xxHash32 (seed 0) of buf[start, end), as LZ4 frames use it. */
export function xxhash32(buf: Buffer, start: number, end: number): number {
  let p = start;
  let h: number;
  if (end - start >= 16) {
    let v1 = (PRIME1 + PRIME2) | 0;
    let v2 = PRIME2 | 0;
    let v3 = 0;
    let v4 = -PRIME1 | 0;
    while (p + 16 <= end) {
      v1 = round(v1, buf.readInt32LE(p));
      v2 = round(v2, buf.readInt32LE(p + 4));
      v3 = round(v3, buf.readInt32LE(p + 8));
      v4 = round(v4, buf.readInt32LE(p + 12));
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = PRIME5 | 0;
  }
  h = (h + (end - start)) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(buf.readInt32LE(p), PRIME3)) | 0, 17), PRIME4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(buf[p]!, PRIME5)) | 0, 11), PRIME1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}

function unzstd(payload: Buffer, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  const total = zstdBlocks(payload, maxBytes, (chunk) => chunks.push(chunk));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

/** Hands `sink` each block fzstd decodes (a fresh buffer of at most 128 KiB); returns the total. */
function zstdBlocks(payload: Buffer, maxBytes: number, sink: DecompressedChunkSink): number {
  let total = 0;
  let ended = false;
  let sinkError: unknown;
  const decoder = new ZstdDecompress((chunk, final) => {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge('zstd', maxBytes);
    if (chunk.length > 0) {
      try {
        sink(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (err) {
        sinkError = err;
        throw err;
      }
    }
    if (final) ended = true;
  });
  try {
    checkZstdWindow(payload, maxBytes);
    decoder.push(payload, true);
  } catch (err) {
    if (err instanceof KafkaError || err === sinkError) throw err;
    throw corrupt('zstd', (err as Error).message);
  }
  if (!ended) throw corrupt('zstd', 'truncated frame');
  return total;
}

/** Windows every zstd decoder accepts by default (the format's recommended minimum support is 8 MiB). */
const ZSTD_WINDOW_ALWAYS_ALLOWED = 8 * 1024 * 1024;

/**
 * fzstd allocates the first frame's window up front (up to 2 GiB as declared); refuse a window larger than both
 * the output cap and 8 MiB before it does. The output itself is capped as it is produced.
 */
function checkZstdWindow(payload: Buffer, maxBytes: number): void {
  const header = readZstdFrameHeader(payload);
  if (header === undefined) return; // fzstd reports it
  if (header.windowBytes > Math.max(maxBytes, ZSTD_WINDOW_ALWAYS_ALLOWED)) throw tooLarge('zstd', maxBytes);
}

/** The header of the zstd frame at the start of `payload` (RFC 8878 3.1.1.1), in the fields its readers use. */
export interface ZstdFrameHeader {
  /** Frame_Content_Size: undefined when the frame does not declare it (streaming compressors). */
  contentSize: number | undefined;
  /** The window a decoder must allocate: the content size for a single-segment frame. */
  windowBytes: number;
}

/**
 * Reads the first zstd frame's header; undefined when `payload` does not start with one (the decoder then reports
 * what is wrong). A content size cut short reads as undefined; sizes past 2^53 as Number.MAX_SAFE_INTEGER.
 */
export function readZstdFrameHeader(payload: Buffer): ZstdFrameHeader | undefined {
  if (payload.length < 6 || payload.readUInt32LE(0) !== 0xfd2fb528) return undefined;
  const descriptor = payload[4]!;
  const sizeFlag = descriptor >>> 6;
  const singleSegment = (descriptor & 0x20) !== 0;
  // Frame_Content_Size is 0, 1, 2, 4 or 8 bytes after the window descriptor (absent in single-segment frames) and
  // the dictionary id.
  const sizeBytes = sizeFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][sizeFlag]!;
  const at = 5 + (singleSegment ? 0 : 1) + [0, 1, 2, 4][descriptor & 3]!;
  const windowDescriptor = payload[5]!;
  const base = 2 ** (10 + (windowDescriptor >>> 3));
  // The window descriptor alone bounds what a decoder allocates, even when the rest of the header is cut short.
  if (payload.length < at + sizeBytes) return singleSegment ? undefined : { contentSize: undefined, windowBytes: base + (base / 8) * (windowDescriptor & 7) };
  let contentSize: number | undefined;
  if (sizeBytes === 1) contentSize = payload[at]!;
  else if (sizeBytes === 2) contentSize = payload.readUInt16LE(at) + 256;
  else if (sizeBytes === 4) contentSize = payload.readUInt32LE(at);
  else if (sizeBytes === 8) {
    const size = payload.readBigUInt64LE(at);
    contentSize = size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size);
  }
  if (singleSegment) return { contentSize, windowBytes: contentSize! };
  return { contentSize, windowBytes: base + (base / 8) * (windowDescriptor & 7) };
}

// ---- compression (the log cleaner's rewritten batches) ----------------------------------------------------------
//
// Kafka's cleaner writes a filtered batch with the original batch's codec (MemoryRecords.buildRetainedRecordsInto:
// Compression.of(originalBatch.compressionType())), in the framing its own compressors write, which is what every
// client decodes:
//
//   codec   written as                                       Kafka's writer (clients/.../common/compress)
//   gzip    one RFC 1952 member, zlib level 6 (default)       GzipCompression: GZIPOutputStream, default level
//   snappy  xerial framing: "\x82SNAPPY\0", int32 BE 1         SnappyCompression: xerial SnappyOutputStream with
//           (version), int32 BE 1 (compatible version), then  its default 32 KiB block size
//           per 32 KiB of input an int32 BE length + one raw
//           snappy block
//   lz4     one LZ4 frame: magic, FLG 0x60 (version 01, block Lz4Compression: Lz4BlockOutputStream with
//           independence, no block checksum, no content size, BLOCKSIZE_64KB, blockChecksum false, the
//           no content checksum), BD 0x40 (64 KiB blocks),    correct header checksum (v2 batches). Each 64 KiB
//           header checksum, then per 64 KiB of input an int32 of input is one lz4-flex block (lz4-napi's
//           LE size + the block (high bit set: stored as is,  block API; its 4-byte size prefix is dropped), and
//           when compressing did not make it smaller), a zero  the frame is written here, because lz4-flex's
//           end mark                                          frame encoder picks larger blocks for larger input
//   zstd    one standard zstd frame, level 3                  ZstdCompression: zstd-jni, default level 3
//
// Libraries, chosen on measurements on this machine (scripts/bench/cleaner-codecs.ts; prebuilt N-API binaries
// shipped as per-platform npm packages, nothing compiled or downloaded at install): snappy (napi-rs), lz4-napi
// (napi-rs, lz4-flex), @mongodb-js/zstd 1.x (napi-rs, libzstd; its 2.x line downloads its binary at install
// time, which this project does not allow). Each compresses on the libuv thread pool, so a cleaner's
// recompression never blocks the event loop; gzip uses node:zlib's asynchronous API for the same reason.

const gzipAsync = promisify(gzipCallback);
/** xerial SnappyOutputStream's DEFAULT_BLOCK_SIZE. */
const XERIAL_BLOCK_SIZE = 32 * 1024;
/** Kafka's ZstdCompression default level (zstd's own default). */
const ZSTD_LEVEL = 3;

/**
 * The records section `records` compressed with `codec` (0-4) as Kafka writes it (table above); `records` itself
 * for codec 0. Throws for an undefined codec.
 */
export async function compressRecords(codec: number, records: Buffer): Promise<Buffer> {
  switch (codec) {
    case 0:
      return records;
    case 1:
      return gzipAsync(records);
    case 2:
      return snappyXerial(records);
    case 3:
      return lz4Frame(records);
    case 4:
      return (await loadZstd()).compress(records, ZSTD_LEVEL);
    default:
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${codec}`);
  }
}

const LZ4_BLOCK_SIZE = 64 * 1024;
/** FLG: version 01, independent blocks; BD: 64 KiB; the header checksum byte is computed over both. */
const LZ4_FRAME_HEADER = ((): Buffer => {
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0]);
  header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff;
  return header;
})();

async function lz4Frame(records: Buffer): Promise<Buffer> {
  // One block at a time: a batch's blocks queued at once would fill the thread pool that produce's writes use.
  const { compress: lz4CompressPrependSize } = await loadLz4();
  const compressed: Buffer[] = [];
  for (let p = 0; p < records.length; p += LZ4_BLOCK_SIZE) compressed.push(await lz4CompressPrependSize(records.subarray(p, p + LZ4_BLOCK_SIZE)));
  let size = LZ4_FRAME_HEADER.length + 4;
  for (let i = 0; i < compressed.length; i++) size += 4 + Math.min(compressed[i]!.length - 4, inputBlockSize(records.length, i));
  const out = Buffer.allocUnsafe(size);
  LZ4_FRAME_HEADER.copy(out, 0);
  let pos = LZ4_FRAME_HEADER.length;
  for (let i = 0; i < compressed.length; i++) {
    const block = compressed[i]!.subarray(4);
    const inputSize = inputBlockSize(records.length, i);
    if (block.length >= inputSize) {
      // Incompressible: stored as is, as Lz4BlockOutputStream.writeBlock does.
      out.writeUInt32LE((inputSize | 0x80000000) >>> 0, pos);
      records.copy(out, pos + 4, i * LZ4_BLOCK_SIZE, i * LZ4_BLOCK_SIZE + inputSize);
      pos += 4 + inputSize;
    } else {
      out.writeUInt32LE(block.length, pos);
      block.copy(out, pos + 4);
      pos += 4 + block.length;
    }
  }
  out.writeUInt32LE(0, pos);
  return out;
}

function inputBlockSize(total: number, i: number): number {
  return Math.min(LZ4_BLOCK_SIZE, total - i * LZ4_BLOCK_SIZE);
}

async function snappyXerial(records: Buffer): Promise<Buffer> {
  // One block at a time (see lz4Frame).
  const { compress: snappyCompress } = await loadSnappy();
  const blocks: Buffer[] = [];
  for (let p = 0; p < records.length; p += XERIAL_BLOCK_SIZE) blocks.push(await snappyCompress(records.subarray(p, p + XERIAL_BLOCK_SIZE)));
  let size = XERIAL_HEADER_SIZE;
  for (const block of blocks) size += 4 + block.length;
  const out = Buffer.allocUnsafe(size);
  XERIAL_MAGIC.copy(out, 0);
  out.writeInt32BE(1, 8); // version
  out.writeInt32BE(1, 12); // compatible version
  let pos = XERIAL_HEADER_SIZE;
  for (const block of blocks) {
    out.writeInt32BE(block.length, pos);
    block.copy(out, pos + 4);
    pos += 4 + block.length;
  }
  return out;
}
