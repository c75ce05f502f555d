// The cleaner worker's zstd decoder (src/log/cleaner/worker-zstd.ts): WebAssembly libzstd for single frames that
// declare their size, fzstd's bounded streaming decoder for everything else — the same output and the same errors
// as the broker's other decoders, on frames made by real libzstd.
import { randomBytes } from 'node:crypto';
import { compress } from '@mongodb-js/zstd';
import { beforeAll, describe, expect, it } from 'vitest';
import { decompressRecords, readZstdFrameHeader } from '../../../src/protocol/records/compression.js';
import { loadWorkerZstd, WASM_DECODE_MAX_BYTES, zstdDeclaredContentSize, type ZstdDecoder } from '../../../src/log/cleaner/worker-zstd.js';

let decode: ZstdDecoder;
beforeAll(async () => {
  decode = await loadWorkerZstd();
});

function records(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) out[i] = (i * 7919) % 61 < 40 ? 97 + (i % 13) : (i * 31) & 0xff;
  return out;
}

describe('the cleaner worker\'s zstd decoder', () => {
  it('decodes what libzstd wrote, with and without a declared content size, and concatenated frames', async () => {
    for (const size of [1, 200, 70_000, 900_000]) {
      const raw = records(size);
      // @mongodb-js/zstd streams, as librdkafka and zstd-jni do: no content size in the header.
      const streamed = await compress(raw, 3);
      expect(zstdDeclaredContentSize(streamed)).toBeUndefined();
      expect(decode(streamed, 128 << 20).equals(raw)).toBe(true);
    }
    // A declared size (single-segment frame, 2-byte field): the header's value is read and used.
    const sized = Buffer.from('28b52ffd6000017d000061620102', 'hex');
    expect(zstdDeclaredContentSize(sized)).toBe(0x0100 + 256);
    const raw = records(300_000);
    const frame = await compress(raw, 3);
    const two = Buffer.concat([frame, await compress(records(1000), 1)]);
    expect(decode(two, 128 << 20).equals(Buffer.concat([raw, records(1000)]))).toBe(true);
    // Past the WebAssembly bound: fzstd, the same bytes.
    const big = records(WASM_DECODE_MAX_BYTES + 1024);
    expect(decode(await compress(big, 1), 128 << 20).equals(big)).toBe(true);
  });

  it('an empty first frame (declared size 0) followed by frames without a size decodes as fzstd does, never as WebAssembly heap bytes', async () => {
    // Single-segment frame, content size 0: magic, descriptor 0x20, FCS 0x00, one empty last raw block.
    const empty = Buffer.from('28b52ffd2000010000', 'hex');
    expect(zstdDeclaredContentSize(empty)).toBe(0);
    expect(decompressRecords(4, empty).length).toBe(0);
    const raw = records(50_000);
    const stream = Buffer.concat([empty, await compress(raw, 3)]);
    expect(decode(stream, 128 << 20).equals(decompressRecords(4, stream))).toBe(true);
    expect(decode(stream, 128 << 20).equals(raw)).toBe(true);
    // And a payload larger than the WebAssembly bound goes straight to fzstd.
    const noisy = randomBytes(WASM_DECODE_MAX_BYTES + 4096);
    const incompressible = await compress(noisy, 1);
    expect(incompressible.length).toBeGreaterThan(WASM_DECODE_MAX_BYTES);
    expect(decode(incompressible, 128 << 20).equals(noisy)).toBe(true);
  });

  it('refuses what the streaming decoder refuses: a corrupt frame, and output past the cap', async () => {
    const frame = await compress(records(100_000), 3);
    const corrupt = Buffer.from(frame);
    corrupt.fill(0xaa, 20, 60);
    expect(() => decode(corrupt, 128 << 20)).toThrow();
    expect(() => decompressRecords(4, corrupt)).toThrow();
    expect(() => decode(frame, 50_000)).toThrow(/zstd/i);
    expect(() => decode(Buffer.from('not zstd at all'), 128 << 20)).toThrow();
  });

  it('reads the frame header the broker and the worker share: window and content size, single-segment or not, cut short', () => {
    const magic = [0x28, 0xb5, 0x2f, 0xfd];
    // Not single-segment, 4-byte content size (flag 2), window descriptor 0x58: 2^(10+11) + 0 = 2 MiB.
    expect(readZstdFrameHeader(Buffer.from([...magic, 0x80, 0x58, 0x10, 0x27, 0x00, 0x00]))).toEqual({ contentSize: 10_000, windowBytes: 2 << 20 });
    // The same with its content size cut short: the window still bounds the allocation, the size is unknown.
    expect(readZstdFrameHeader(Buffer.from([...magic, 0x80, 0x58, 0x10, 0x27]))).toEqual({ contentSize: undefined, windowBytes: 2 << 20 });
    // A declared 2 GiB window (descriptor 0xa8: 2^(10+21)) is reported as declared, for the cap to refuse.
    expect(readZstdFrameHeader(Buffer.from([...magic, 0x00, 0xa8, 0, 0]))).toEqual({ contentSize: undefined, windowBytes: 2 ** 31 });
    // Single segment, 1-byte content size: the window is the content size; cut short, nothing is known.
    expect(readZstdFrameHeader(Buffer.from([...magic, 0x20, 0x2a, 0, 0]))).toEqual({ contentSize: 42, windowBytes: 42 });
    expect(readZstdFrameHeader(Buffer.from([...magic, 0xe0, 0x01]))).toBeUndefined();
    // 8-byte content size past 2^53.
    expect(readZstdFrameHeader(Buffer.from([...magic, 0xe0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))?.contentSize).toBe(Number.MAX_SAFE_INTEGER);
    // Not a zstd frame.
    expect(readZstdFrameHeader(Buffer.from('not zstd at all'))).toBeUndefined();
  });
});
