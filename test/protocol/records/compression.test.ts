import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../../src/errors.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { decompressRecords, xxhash32 } from '../../../src/protocol/records/compression.js';
import { buildRecordBatch } from './batch-builder.js';
import { compressPayload, lz4Frame, xerialSnappy } from './compressed-batch.js';

/** The records of the batch the zstd fixtures below were made from (`zstd -3`, with and without content size). */
const ZSTD_SOURCE = buildRecordBatch({
  baseTimestamp: 1_700_000_000_000n,
  records: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `zstd-value-${i}-`.repeat(8), timestampDelta: i * 10 })),
}).subarray(61);
const ZSTD_WITH_SIZE = Buffer.from('KLUv/QRY5QQA1AXiAQAAAARrMNABenN0ZC12YWx1ZS0wLQDiAQAUAgRrMTEoBARrMjI8BgRrMzNQCARrNDRkCgRrNTV4DARrNjYA5AEAjAEOBGs3NwDkAQCgARAEazg4tAESBGs5OQAiINBTsRqNAnevAmgoAHfvAzsKgLu2DmwUuOs0iEaBu6eDaBS4expEQ4G7p0E0Crh7GkSjQNy193EiTKQJ2+UBPQ==', 'base64');
const ZSTD_NO_SIZE = Buffer.from('KLUv/QBY5QQA1AXiAQAAAARrMNABenN0ZC12YWx1ZS0wLQDiAQAUAgRrMTEoBARrMjI8BgRrMzNQCARrNDRkCgRrNTV4DARrNjYA5AEAjAEOBGs3NwDkAQCgARAEazg4tAESBGs5OQAiINBTsRqNAnevAmgoAHfvAzsKgLu2DmwUuOs0iEaBu6eDaBS4expEQ4G7p0E0Crh7GkSjQNy193EiTKQJ', 'base64');

function sample(bytes: number): Buffer {
  const words = ['order', 'customer', 'amount', 'EUR', 'shipped', 'pending', '{"id":', '},'];
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += words[(i * 7) % words.length]! + (i % 1000);
  return Buffer.from(s.slice(0, bytes));
}

function errorOf(fn: () => unknown): KafkaError {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err;
    throw err;
  }
  throw new Error('expected a KafkaError');
}

describe('decompressRecords', () => {
  it('returns the payload itself for codec 0 (none)', () => {
    const raw = sample(100);
    expect(decompressRecords(0, raw)).toBe(raw);
  });

  it.each(['gzip', 'snappy', 'snappy-xerial', 'lz4'] as const)('round-trips %s payloads of 1 B to 300 KB', (codec) => {
    const id = { gzip: 1, snappy: 2, 'snappy-xerial': 2, lz4: 3 }[codec];
    for (const size of [1, 100, 5_000, 300_000]) {
      const raw = sample(size);
      expect(decompressRecords(id, compressPayload(codec, raw)).equals(raw)).toBe(true);
    }
  });

  it('decodes concatenated gzip members, as Java GZIPInputStream does', () => {
    const a = sample(1000);
    const b = sample(50);
    expect(decompressRecords(1, Buffer.concat([gzipSync(a), gzipSync(b)])).equals(Buffer.concat([a, b]))).toBe(true);
  });

  it('decodes LZ4 frames with several blocks, without content size, and with block checksums', () => {
    const raw = sample(200_000);
    expect(decompressRecords(3, lz4Frame(raw, 65536, false)).equals(raw)).toBe(true);
    // Block checksums (FLG bit 4): rebuild a one-block frame by hand with the checksum after the block.
    const plain = lz4Frame(sample(1000), 65536, false);
    const descriptor = Buffer.from([0x70, 0x40]);
    const blockSize = plain.readUInt32LE(7);
    const block = plain.subarray(11, 11 + blockSize);
    const checksum = Buffer.alloc(4);
    checksum.writeUInt32LE(xxhash32(block, 0, block.length));
    const framed = Buffer.concat([plain.subarray(0, 4), descriptor, Buffer.from([(xxhash32(descriptor, 0, 2) >>> 8) & 0xff]), plain.subarray(7, 11), block, checksum, Buffer.alloc(4)]);
    expect(decompressRecords(3, framed).equals(sample(1000))).toBe(true);
    checksum[0]! ^= 1;
    const bad = Buffer.concat([framed.subarray(0, framed.length - 8), checksum, Buffer.alloc(4)]);
    expect(errorOf(() => decompressRecords(3, bad)).message).toMatch(/block checksum mismatch/);
  });

  it('refuses an LZ4 frame whose descriptor checksum is wrong (KIP-57: v2 batches always carry the right one)', () => {
    const frame = lz4Frame(sample(500), 65536, true);
    frame[14]! ^= 0xff; // the HC byte after magic(4) + FLG + BD + content size(8)
    const err = errorOf(() => decompressRecords(3, frame));
    expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(err.message).toMatch(/descriptor checksum/);
  });

  it('decodes zstd frames with and without a declared content size, and concatenated frames', () => {
    expect(decompressRecords(4, ZSTD_WITH_SIZE).equals(ZSTD_SOURCE)).toBe(true);
    expect(decompressRecords(4, ZSTD_NO_SIZE).equals(ZSTD_SOURCE)).toBe(true);
    expect(decompressRecords(4, Buffer.concat([ZSTD_NO_SIZE, ZSTD_WITH_SIZE])).equals(Buffer.concat([ZSTD_SOURCE, ZSTD_SOURCE]))).toBe(true);
  });

  it('xxhash32 matches the reference vectors', () => {
    expect(xxhash32(Buffer.alloc(0), 0, 0)).toBe(0x02cc5d05);
    expect(xxhash32(Buffer.from('abc'), 0, 3)).toBe(0x32d153ff);
    const s = Buffer.from('Nobody inspects the spammish repetition');
    expect(xxhash32(s, 0, s.length)).toBe(0xe2293b2f);
  });

  it('answers UNKNOWN_SERVER_ERROR for the undefined codec ids 5, 6 and 7, as Kafka (CompressionType.forId)', () => {
    for (const id of [5, 6, 7]) {
      const err = errorOf(() => decompressRecords(id, sample(10)));
      expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
      expect(err.message).toBe(`Unknown compression type id: ${id}`);
    }
  });

  it.each([
    ['gzip', 1, () => gzipSync(sample(1000)).subarray(0, 40)],
    ['snappy', 2, () => Buffer.from([0x80, 0x10, 0xff, 0xff, 0xff])],
    ['snappy-xerial', 2, () => xerialSnappy(sample(5000), 1024).subarray(0, 100)],
    ['lz4', 3, () => lz4Frame(sample(5000), 65536, false).subarray(0, 60)],
    ['zstd', 4, () => ZSTD_WITH_SIZE.subarray(0, 30)],
    ['lz4 garbage', 3, () => Buffer.from('not an lz4 frame at all')],
    ['zstd garbage', 4, () => Buffer.from('not a zstd frame at all')],
  ] as const)('answers UNKNOWN_SERVER_ERROR for a corrupt or truncated %s payload (Kafka: "Failed to decompress")', (_name, id, payload) => {
    const err = errorOf(() => decompressRecords(id, payload()));
    expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(err.message).toMatch(/^Failed to decompress record stream/);
  });

  it.each([
    ['gzip', 1, (raw: Buffer) => gzipSync(raw)],
    ['snappy', 2, (raw: Buffer) => compressPayload('snappy', raw)],
    ['snappy-xerial', 2, (raw: Buffer) => xerialSnappy(raw, 32 * 1024)],
    ['lz4', 3, (raw: Buffer) => lz4Frame(raw, 65536, false)],
  ] as const)('stops a %s decompression bomb at maxBytes with INVALID_RECORD', (_name, id, compress) => {
    const bomb = compress(Buffer.alloc(4 * 1024 * 1024)); // 4 MiB of zeros compress to a few KiB
    expect(bomb.length).toBeLessThan(300 * 1024);
    const err = errorOf(() => decompressRecords(id, bomb, 1024 * 1024));
    expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
    expect(err.message).toMatch(/more than 1048576 bytes/);
    expect(decompressRecords(id, bomb, 8 * 1024 * 1024).length).toBe(4 * 1024 * 1024);
  });

  // Found by `npm run fuzz` (seed 11, frame 160268): uncompressed records sent with the snappy codec bit. Read as a
  // raw snappy block, a 4-byte literal length is negative as an int32; snappyjs then moved its read position
  // backwards and spun for 9 s on the event loop. Our decoder rejects it at once.
  it('rejects a hostile raw snappy block in one pass (the fuzzed 9-second stall)', () => {
    const hostile = Buffer.from('OAAAAAZrNDAmpfyFlhT2ypsNVci+o3vPtPuJAAAmAE4CBmszNRTKgxtEmc+oIouNACwArAEEARbOWNS3PZl6RpBU6AICaAJ2RgBIBgE6ClJsnL4jR0gfjb4sSiIgYFjbQiLMFejKkYTcAzAAkgEA+AEIBms3OX4f0kSsC7rEVbrcmkJFwoNKPdjFfIo1LZi5j4u5xSrWZZhAQPBpgIFAZbjz7gaRfqbqBZ4dlPUJlnJ3aro0FbwA', 'base64');
    // A spin would run into the test's timeout.
    const err = errorOf(() => decompressRecords(2, hostile));
    expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(err.message).toMatch(/^Failed to decompress record stream \(snappy\)/);
  });

  it.each([
    ['a literal longer than the block', Buffer.from([0x05, 0xf0, 0xff, 0xff, 0xff, 0x7f, 0x61])],
    ['a literal longer than the declared length', Buffer.from([0x01, 0x04, 0x61, 0x62])],
    ['a copy before the start of the output', Buffer.from([0x08, 0x00, 0x61, 0x01, 0x02])],
    ['a copy past the declared length', Buffer.from([0x03, 0x00, 0x61, 0x0d, 0x01])],
    ['a 4-byte-offset copy cut short', Buffer.from([0x08, 0x00, 0x61, 0x0f, 0x01, 0x00])],
    ['fewer bytes than declared', Buffer.from([0x05, 0x04, 0x61, 0x62])],
  ])('rejects a raw snappy block with %s', (_name, block) => {
    const err = errorOf(() => decompressRecords(2, block));
    expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(err.message).toMatch(/^Failed to decompress record stream \(snappy\)/);
  });

  it('decodes a raw snappy block at the densest expansion (3-byte copies of 64 bytes) and refuses a declared length its bytes cannot hold', () => {
    // A 1-byte literal, then 1,000 copies of 64 bytes at offset 1: 1 + 64,000 bytes from 3,002 bytes of elements.
    const copies = Buffer.alloc(3 * 1000);
    for (let i = 0; i < copies.length; i += 3) copies.set([(63 << 2) | 2, 0x01, 0x00], i);
    const elements = Buffer.concat([Buffer.from([0x00, 0x61]), copies]);
    // The block's uncompressed length, an unsigned varint (3 bytes for these lengths).
    const varint = (n: number) => Buffer.from([(n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, n >> 14]);
    expect(decompressRecords(2, Buffer.concat([varint(64_001), elements])).equals(Buffer.alloc(64_001, 0x61))).toBe(true);
    // 3,002 bytes of elements can write at most 64,042: a larger declared length is corrupt before anything is
    // allocated for it (issue 8: a fuzzed 197 KB Produce declared 30 MB).
    const err = errorOf(() => decompressRecords(2, Buffer.concat([varint(64_043), elements])));
    expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(err.message).toMatch(/^Failed to decompress record stream \(snappy\).*declared length 64043 exceeds/);
  });

  it('decodes overlapping snappy copies (run-length repeats) and all literal length forms', () => {
    // "ab" then copy offset 2 length 10 (tag kind 1) -> "abababababab"; then a 61-byte literal (1-byte length form).
    const literal = Buffer.alloc(61, 0x7a);
    const block = Buffer.concat([Buffer.from([73, 0x04, 0x61, 0x62, ((10 - 4) << 2) | 1, 0x02, 60 << 2, 60]), literal]);
    expect(decompressRecords(2, block).toString()).toBe('ab'.repeat(6) + 'z'.repeat(61));
  });

  it('stops a zstd payload at maxBytes, whether the frame declares its size or not', () => {
    for (const frame of [ZSTD_WITH_SIZE, ZSTD_NO_SIZE]) {
      const err = errorOf(() => decompressRecords(4, frame, ZSTD_SOURCE.length - 1));
      expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
    }
    expect(decompressRecords(4, ZSTD_NO_SIZE, ZSTD_SOURCE.length).length).toBe(ZSTD_SOURCE.length);
  });
});
