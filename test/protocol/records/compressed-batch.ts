// Test helper: turns an uncompressed RecordBatch v2 (batch-builder.ts) into a compressed one, with encoders
// written here independently of src/protocol/records/compression.ts (which only decodes): gzip through
// node:zlib, snappy raw and xerial-framed through snappyjs, LZ4 frames from a small greedy LZ4 block encoder,
// and zstd from a fixed frame made by the zstd CLI (there is no zstd encoder in Node 20).
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';

const snappyjs = createRequire(import.meta.url)('snappyjs') as { compress(b: Buffer): Buffer };

export type TestCodec = 'gzip' | 'snappy' | 'snappy-xerial' | 'lz4';
const CODEC_IDS: Record<TestCodec, number> = { gzip: 1, snappy: 2, 'snappy-xerial': 2, lz4: 3 };

export function compressPayload(codec: TestCodec, raw: Buffer): Buffer {
  switch (codec) {
    case 'gzip':
      return gzipSync(raw);
    case 'snappy':
      return snappyjs.compress(raw);
    case 'snappy-xerial':
      return xerialSnappy(raw, 1024);
    case 'lz4':
      return lz4Frame(raw, 65536, true);
  }
}

/** The batch with its records section replaced by `payload` and compression `codecId`; length and CRC fixed. */
export function withRecordsPayload(batch: Buffer, codecId: number, payload: Buffer): Buffer {
  const out = Buffer.concat([batch.subarray(0, 61), payload]);
  out.writeInt32BE(out.length - 12, 8);
  out.writeInt16BE((out.readInt16BE(21) & ~0x07) | codecId, 21);
  out.writeUInt32BE(crc32c(out.subarray(21)) >>> 0, 17);
  return out;
}

export function compressBatch(batch: Buffer, codec: TestCodec): Buffer {
  return withRecordsPayload(batch, CODEC_IDS[codec], compressPayload(codec, batch.subarray(61)));
}

/** Java's SnappyOutputStream framing: magic, version 1, compatible version 1, then length-prefixed blocks. */
export function xerialSnappy(raw: Buffer, blockSize: number): Buffer {
  const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let i = 0; i < raw.length; i += blockSize) {
    const block = snappyjs.compress(raw.subarray(i, i + blockSize));
    const length = Buffer.alloc(4);
    length.writeInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

/** An LZ4 frame (FLG version 01, independent blocks, content size) with greedily compressed blocks. */
export function lz4Frame(raw: Buffer, blockSize: 65536 | 262144 | 1048576 | 4194304, contentSize: boolean): Buffer {
  const bdCode = { 65536: 4, 262144: 5, 1048576: 6, 4194304: 7 }[blockSize];
  const descriptor = Buffer.alloc(contentSize ? 10 : 2);
  descriptor[0] = 0x60 | (contentSize ? 0x08 : 0);
  descriptor[1] = bdCode << 4;
  if (contentSize) descriptor.writeBigUInt64LE(BigInt(raw.length), 2);
  const parts: Buffer[] = [Buffer.from([0x04, 0x22, 0x4d, 0x18]), descriptor, Buffer.from([(xxh32(descriptor) >>> 8) & 0xff])];
  for (let i = 0; i < raw.length; i += blockSize) {
    const block = lz4Block(raw.subarray(i, i + blockSize));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length);
    parts.push(size, block);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

function lz4Block(src: Buffer): Buffer {
  const out: number[] = [];
  const table = new Map<number, number>();
  let anchor = 0;
  let i = 0;
  const emitLength = (n: number) => {
    while (n >= 255) {
      out.push(255);
      n -= 255;
    }
    out.push(n);
  };
  const sequence = (literalEnd: number, matchLength: number, offset: number) => {
    const literals = literalEnd - anchor;
    out.push((Math.min(literals, 15) << 4) | (matchLength < 0 ? 0 : Math.min(matchLength - 4, 15)));
    if (literals >= 15) emitLength(literals - 15);
    for (let k = anchor; k < literalEnd; k++) out.push(src[k]!);
    if (matchLength < 0) return;
    out.push(offset & 0xff, offset >> 8);
    if (matchLength - 4 >= 15) emitLength(matchLength - 4 - 15);
  };
  // The last 5 bytes are always literals and a match may not start within the last 12 (LZ4 block rules).
  while (i + 12 <= src.length) {
    const key = src.readUInt32LE(i);
    const candidate = table.get(key);
    table.set(key, i);
    if (candidate !== undefined && i - candidate < 65536) {
      let length = 4;
      while (i + length < src.length - 5 && src[candidate + length] === src[i + length]) length++;
      sequence(i, length, i - candidate);
      i += length;
      anchor = i;
    } else {
      i++;
    }
  }
  sequence(src.length, -1, 0);
  return Buffer.from(out);
}

/** xxHash32, seed 0 (for the frame descriptor checksum), written out in BigInt-free form. */
function xxh32(buf: Buffer): number {
  const P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P4 = 668265263, P5 = 374761393;
  const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
  let h = (P5 + buf.length) | 0;
  let p = 0;
  // Descriptors are at most 10 bytes: no 16-byte stripes.
  for (; p + 4 <= buf.length; p += 4) h = Math.imul(rotl((h + Math.imul(buf.readInt32LE(p), P3)) | 0, 17), P4);
  for (; p < buf.length; p++) h = Math.imul(rotl((h + Math.imul(buf[p]!, P5)) | 0, 11), P1);
  h ^= h >>> 15;
  h = Math.imul(h, P2);
  h ^= h >>> 13;
  h = Math.imul(h, P3);
  h ^= h >>> 16;
  return h >>> 0;
}
