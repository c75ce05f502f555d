// compressRecords (src/protocol/records/compression.ts): every codec round-trips through the broker's own
// decoders and an independent one, in the framing Kafka's writers use (xerial snappy with 32 KiB blocks, an LZ4
// frame with Kafka's descriptor, a standard zstd frame, a gzip member). Real clients reading cleaned batches of
// each codec: compat/kcat/compaction-codecs.test.ts.
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { compressRecords, decompressRecords, decompressRecordsAsync, xxhash32 } from '../../src/protocol/records/compression.js';

const snappyjs = createRequire(import.meta.url)('snappyjs') as { uncompress(b: Buffer): Buffer };

/** JSON-like records with repetition (compressible) and a pseudo-random tail (not), `size` bytes. */
function sample(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  let p = 0;
  for (let i = 0; p < size; i++) {
    const text = `{"id":${i},"user":"user-${i % 97}","event":"${['click', 'view', 'buy'][i % 3]}","n":`;
    p += out.write(text, p);
    for (let j = 0; j < 20 && p < size; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[p++] = 0x61 + (x >>> 27);
    }
  }
  return out;
}

const SIZES = [1, 100, 32 * 1024, 32 * 1024 + 1, 200_000, 1_100_000];

describe('compressRecords', () => {
  it.each([1, 2, 3, 4])('codec %i round-trips through decompressRecords at every size', async (codec) => {
    for (const size of SIZES) {
      const raw = sample(size, size);
      const packed = await compressRecords(codec, raw);
      expect(decompressRecords(codec, packed).equals(raw)).toBe(true);
      expect((await decompressRecordsAsync(codec, packed)).equals(raw)).toBe(true);
      if (size >= 32 * 1024) expect(packed.length).toBeLessThan(raw.length);
    }
  });

  it('codec 0 returns the records themselves and an undefined codec is refused', async () => {
    const raw = sample(50);
    expect(await compressRecords(0, raw)).toBe(raw);
    await expect(compressRecords(5, raw)).rejects.toThrow(/Unknown compression type id: 5/);
  });

  it('gzip writes one RFC 1952 member that zlib decodes', async () => {
    const raw = sample(100_000);
    const packed = await compressRecords(1, raw);
    expect(packed.subarray(0, 3).toString('hex')).toBe('1f8b08');
    expect(gunzipSync(packed).equals(raw)).toBe(true);
  });

  it("snappy writes xerial framing as SnappyOutputStream: magic, version 1, compatible 1, blocks of 32 KiB of input", async () => {
    const raw = sample(100_000);
    const packed = await compressRecords(2, raw);
    expect(packed.subarray(0, 16).toString('hex')).toBe('82534e41505059000000000100000001');
    const blocks: Buffer[] = [];
    let pos = 16;
    while (pos < packed.length) {
      const length = packed.readInt32BE(pos);
      blocks.push(snappyjs.uncompress(packed.subarray(pos + 4, pos + 4 + length)));
      pos += 4 + length;
    }
    expect(pos).toBe(packed.length);
    expect(blocks.map((b) => b.length)).toEqual([32768, 32768, 32768, 100_000 - 3 * 32768]);
    expect(Buffer.concat(blocks).equals(raw)).toBe(true);
  });

  it("lz4 writes one frame with Kafka's descriptor: FLG 0x60, BD 0x40 (64 KiB), no checksums, an end mark", async () => {
    const raw = sample(200_000);
    const packed = await compressRecords(3, raw);
    expect(packed.readUInt32LE(0)).toBe(0x184d2204);
    expect(packed[4]).toBe(0x60);
    expect(packed[5]).toBe(0x40);
    expect(packed[6]).toBe((xxhash32(packed, 4, 6) >>> 8) & 0xff);
    // Blocks of at most 64 KiB of output, then the zero end mark and nothing after it (no content checksum).
    let pos = 7;
    let blocks = 0;
    for (;;) {
      const word = packed.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      pos += word & 0x7fffffff;
      blocks++;
    }
    expect(blocks).toBe(Math.ceil(200_000 / 65536));
    expect(pos).toBe(packed.length);
  });

  it('zstd writes a standard frame that an independent decoder (fzstd) reads', async () => {
    const raw = sample(300_000);
    const packed = await compressRecords(4, raw);
    expect(packed.readUInt32LE(0)).toBe(0xfd2fb528);
    expect(Buffer.from(fzstdDecompress(packed)).equals(raw)).toBe(true);
  });

  it('decompressRecordsAsync keeps the output cap for gzip', async () => {
    const packed = await compressRecords(1, Buffer.alloc(1_000_000));
    await expect(decompressRecordsAsync(1, packed, 100_000)).rejects.toMatchObject({ errorCode: 87 });
  });
});
