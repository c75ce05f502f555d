// Legacy message sets: Kafka's message formats v0 and v1 (magic 0 and 1), which Produce v0–2 carry and Fetch v0–3
// readers expect. Eddy stores only RecordBatch v2: up-convert.ts turns a produced message set into one batch, and
// down-convert.ts turns stored batches back into messages for old readers. This file reads and writes single
// messages (Kafka's LegacyRecord and AbstractLegacyRecordBatch, clients/.../common/record/).
//
// A message set is messages back to back, each framed by its offset and size (big-endian):
//
//   off  size  field              notes
//   0    8     offset   int64     the message's offset; inside a magic-1 wrapper a relative offset (see below)
//   8    4     size     int32     bytes after this field (the message); at least 14 (RECORD_OVERHEAD_V0)
//   12   4     crc      uint32    CRC-32 (IEEE, java.util.zip.CRC32) of the bytes from magic to the end
//   16   1     magic    int8      0 or 1 (byte 16, where RecordBatch v2 also keeps its magic)
//   17   1     attributes int8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4; zstd never exists here),
//                                 bit 3 (magic 1 only) timestamp type: 0 CreateTime, 1 LogAppendTime
//   18   8     timestamp int64    magic 1 only; -1 = none
//   ..   4     key length int32   -1 = null key
//   ..   n     key
//   ..   4     value length int32 -1 = null value
//   ..   n     value
//
// Compressed messages ("wrappers"): the attributes name a codec, the key is null, and the value is a compressed
// message set of inner messages, which must themselves be uncompressed (Kafka refuses deeper nesting:
// "Inner messages must not be compressed"). Offsets inside a wrapper:
//   magic 0: the inner messages carry absolute offsets; the wrapper carries the last one.
//   magic 1: the inner messages carry relative offsets 0, 1, 2, … and the wrapper the absolute offset of the last
//            one, so absolute = wrapper offset - last inner offset + inner offset (KIP-31). A wrapper offset of 0 is
//            accepted as "unknown" (some librdkafka versions send it). On LogAppendTime, the inner messages take
//            the wrapper's timestamp.
// LZ4 wrappers of magic 0 carry the frame descriptor checksum computed over the LZ4 magic too (Kafka's
// pre-KIP-57 bug): Kafka ignores that byte when reading magic 0 and writes the broken value for magic 0.
import { crc32 } from '@node-rs/crc32';
import { KafkaError } from '../../../errors.js';
import { ErrorCode } from '../../error-codes.js';
import { xxhash32 } from '../compression.js';

/** offset + size in front of every message. */
export const LEGACY_LOG_OVERHEAD = 12;
/** crc, magic, attributes, key length, value length. */
export const RECORD_OVERHEAD_V0 = 14;
/** RECORD_OVERHEAD_V0 + the timestamp. */
export const RECORD_OVERHEAD_V1 = 22;
/** Position of the magic byte from the start of a framed message (= RecordBatch v2's MAGIC_OFFSET). */
export const LEGACY_MAGIC_OFFSET = 16;
export const LEGACY_CODEC_MASK = 0x07;
export const LEGACY_TIMESTAMP_TYPE_BIT = 0x08;
export const NO_TIMESTAMP = -1n;

/** One message, as readMessage found it. Owned and reused by the caller (no object per message). */
export interface LegacyMessage {
  offset: bigint;
  /** Bytes after the size field. */
  size: number;
  /** Position of the framed message (its offset field) and of the byte after it. */
  start: number;
  end: number;
  magic: number;
  attributes: number;
  /** -1n for magic 0. */
  timestamp: bigint;
  /** Position and length of the key; length -1 for a null key. */
  keyStart: number;
  keyLength: number;
  valueStart: number;
  valueLength: number;
}

export function makeLegacyMessage(): LegacyMessage {
  return { offset: 0n, size: 0, start: 0, end: 0, magic: 0, attributes: 0, timestamp: NO_TIMESTAMP, keyStart: 0, keyLength: -1, valueStart: 0, valueLength: -1 };
}

/** The size field of the message framed at `pos` (the caller checked that 12 bytes exist). */
export function messageSizeAt(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos + 8);
}

/** LegacyRecord.isValid: at least RECORD_OVERHEAD_V0 bytes and a matching CRC-32 (magic to the end). */
export function messageCrcIsValid(buf: Buffer, message: LegacyMessage): boolean {
  if (message.size < RECORD_OVERHEAD_V0) return false;
  const crcAt = message.start + LEGACY_LOG_OVERHEAD;
  return crc32(buf.subarray(crcAt + 4, message.end)) >>> 0 === buf.readUInt32BE(crcAt);
}

export function storedCrc(buf: Buffer, message: LegacyMessage): number {
  return buf.readUInt32BE(message.start + LEGACY_LOG_OVERHEAD);
}

/**
 * Reads the fields of the whole message framed at buf[pos] (its size already checked to fit in `buf`) into `out`.
 * Fields that do not fit in the message's size are CORRUPT_MESSAGE (Kafka fails there with an unchecked
 * exception when it reads the key or value, UNKNOWN_SERVER_ERROR on the wire; the CRC cannot catch them).
 */
export function readMessage(buf: Buffer, pos: number, out: LegacyMessage): LegacyMessage {
  const size = messageSizeAt(buf, pos);
  const end = pos + LEGACY_LOG_OVERHEAD + size;
  out.offset = buf.readBigInt64BE(pos);
  out.size = size;
  out.start = pos;
  out.end = end;
  out.magic = buf.readInt8(pos + LEGACY_MAGIC_OFFSET);
  out.attributes = buf.readInt8(pos + LEGACY_MAGIC_OFFSET + 1);
  let p = pos + LEGACY_MAGIC_OFFSET + 2;
  if (out.magic >= 1) {
    if (size < RECORD_OVERHEAD_V1) throw corruptMessage(`magic ${out.magic} message of ${size} bytes is shorter than its header`);
    out.timestamp = buf.readBigInt64BE(p);
    p += 8;
  } else {
    out.timestamp = NO_TIMESTAMP;
  }
  const keyLength = buf.readInt32BE(p);
  p += 4;
  out.keyStart = p;
  out.keyLength = keyLength < 0 ? -1 : keyLength;
  if (keyLength > 0) p += keyLength;
  if (p + 4 > end) throw corruptMessage(`message key of ${keyLength} bytes runs past the ${size}-byte message`);
  const valueLength = buf.readInt32BE(p);
  p += 4;
  out.valueStart = p;
  out.valueLength = valueLength < 0 ? -1 : valueLength;
  if (valueLength > 0 && p + valueLength > end) throw corruptMessage(`message value of ${valueLength} bytes runs past the ${size}-byte message`);
  return out;
}

function corruptMessage(reason: string): KafkaError {
  return new KafkaError(ErrorCode.CORRUPT_MESSAGE, reason);
}

/** Bytes of a framed message with these key and value lengths (-1 = null). */
export function framedMessageSize(magic: number, keyLength: number, valueLength: number): number {
  return LEGACY_LOG_OVERHEAD + (magic === 0 ? RECORD_OVERHEAD_V0 : RECORD_OVERHEAD_V1) + Math.max(0, keyLength) + Math.max(0, valueLength);
}

/**
 * Writes one framed message at out[pos] (room for framedMessageSize checked by the caller) and returns the
 * position after it. `key`/`value` null are written as length -1. The CRC is computed over magic..end.
 */
export function writeMessage(
  out: Buffer,
  pos: number,
  offset: bigint,
  magic: number,
  attributes: number,
  timestamp: bigint,
  key: Buffer | null,
  value: Buffer | null,
): number {
  const size = framedMessageSize(magic, key === null ? -1 : key.length, value === null ? -1 : value.length) - LEGACY_LOG_OVERHEAD;
  out.writeBigInt64BE(offset, pos);
  out.writeInt32BE(size, pos + 8);
  const crcAt = pos + LEGACY_LOG_OVERHEAD;
  let p = crcAt + 4;
  out.writeInt8(magic, p++);
  out.writeInt8(attributes, p++);
  if (magic >= 1) {
    out.writeBigInt64BE(timestamp, p);
    p += 8;
  }
  p = writeBytes(out, p, key);
  p = writeBytes(out, p, value);
  out.writeUInt32BE(crc32(out.subarray(crcAt + 4, p)) >>> 0, crcAt);
  return p;
}

function writeBytes(out: Buffer, p: number, bytes: Buffer | null): number {
  if (bytes === null) {
    out.writeInt32BE(-1, p);
    return p + 4;
  }
  out.writeInt32BE(bytes.length, p);
  bytes.copy(out, p + 4);
  return p + 4 + bytes.length;
}

/** Position of the LZ4 frame descriptor's checksum byte (after FLG, BD and the optional content size), or -1. */
function lz4ChecksumPosition(frame: Buffer): number {
  if (frame.length < 7 || frame.readUInt32LE(0) !== 0x184d2204) return -1;
  const at = (frame[4]! & 0x08) !== 0 ? 14 : 6;
  return at < frame.length ? at : -1;
}

/**
 * Runs `decode` on an LZ4 frame from a magic-0 wrapper as Kafka reads it (Lz4BlockInputStream with
 * ignoreFlagDescriptorChecksum): the descriptor checksum byte is not checked. The byte is set to the correct value
 * for the decoder and put back afterwards (the frame is a slice of the request, which the connection owns).
 */
export function withLz4ChecksumIgnored<T>(frame: Buffer, decode: (frame: Buffer) => T): T {
  const at = lz4ChecksumPosition(frame);
  if (at < 0) return decode(frame);
  const sent = frame[at]!;
  frame[at] = (xxhash32(frame, 4, at) >>> 8) & 0xff;
  try {
    return decode(frame);
  } finally {
    frame[at] = sent;
  }
}

/** Rewrites an LZ4 frame's descriptor checksum to Kafka's magic-0 value (over the LZ4 magic too, Lz4BlockOutputStream). */
export function setBrokenLz4Checksum(frame: Buffer): void {
  const at = lz4ChecksumPosition(frame);
  if (at >= 0) frame[at] = (xxhash32(frame, 0, at) >>> 8) & 0xff;
}
