// Compressor candidates for the log cleaner's recompression (issue 10), measured on this machine: µs per
// 54 KB batch (about 100 records of 100-1000 B) and MB/s for a 1 MB batch, with the compression ratio, and
// how long each call holds the event loop (synchronous time; the async ones run on the libuv pool).
//
//   npx tsx scripts/bench/cleaner-codecs.ts
//
// Candidates: the project's choices (compressRecords: node:zlib, snappy, lz4-napi, @mongodb-js/zstd), plus the
// pure-JS snappyjs (a devDependency) for comparison. Others considered and not installed: zstd-napi and
// @mongodb-js/zstd 2.x (binary downloaded by prebuild-install at install time), lz4js (4 MiB dependent-block
// frames, which Kafka's reader refuses), @bokuweb/zstd-wasm (sync on the event loop, ~3x slower than libzstd
// through N-API in a trial run, wasm memory never shrinks).
import { createRequire } from 'node:module';
import { compressRecords } from '../../src/protocol/records/compression.js';

const snappyjs = createRequire(import.meta.url)('snappyjs') as { compress(b: Buffer): Buffer };

/** JSON-like records, half of each value pseudo-random. */
function records(total: number): Buffer {
  const out = Buffer.alloc(total);
  let p = 0;
  let x = 7;
  for (let i = 0; p < total; i++) {
    p += out.write(`{"id":${i},"user":"user-${i % 977}","ts":${1_700_000_000_000 + i * 13},"event":"${['click', 'view', 'buy'][i % 3]}","payload":"`, p);
    const n = 50 + ((i * 37) % 900);
    for (let j = 0; j < n && p < total; j++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out[p++] = j % 2 === 0 ? 0x61 + (x >>> 28) : 0x78;
    }
    p += out.write('"}', p);
  }
  return out;
}

async function measure(fn: (b: Buffer) => Promise<Buffer> | Buffer, input: Buffer): Promise<{ us: number; syncUs: number; ratio: number }> {
  for (let i = 0; i < 5; i++) await fn(input);
  let iterations = 0;
  let syncMs = 0;
  let out = input;
  const t0 = performance.now();
  while (performance.now() - t0 < 1000) {
    const s = performance.now();
    const pending = fn(input);
    syncMs += performance.now() - s;
    out = await pending;
    iterations++;
  }
  const ms = (performance.now() - t0) / iterations;
  return { us: ms * 1000, syncUs: (syncMs / iterations) * 1000, ratio: input.length / out.length };
}

const xerialSnappyjs = (b: Buffer): Buffer => {
  const parts: Buffer[] = [];
  for (let p = 0; p < b.length; p += 32768) parts.push(snappyjs.compress(b.subarray(p, p + 32768)));
  return Buffer.concat(parts);
};

const candidates: Array<[string, (b: Buffer) => Promise<Buffer> | Buffer]> = [
  ['gzip: node:zlib async (chosen)', (b) => compressRecords(1, b)],
  ['snappy: snappy napi-rs async, xerial 32 KiB (chosen)', (b) => compressRecords(2, b)],
  ['snappy: snappyjs (pure JS, sync), 32 KiB blocks', xerialSnappyjs],
  ['lz4: lz4-napi async, 64 KiB blocks (chosen)', (b) => compressRecords(3, b)],
  ['zstd: @mongodb-js/zstd 1.x async, level 3 (chosen)', (b) => compressRecords(4, b)],
];

const small = records(54_000);
const large = records(1_000_000);
console.log('| compressor | µs / 54 KB batch | of which on the event loop | ratio | MB/s, 1 MB batch | ratio |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, fn] of candidates) {
  const s = await measure(fn, small);
  const l = await measure(fn, large);
  console.log(`| ${name} | ${s.us.toFixed(0)} | ${s.syncUs.toFixed(0)} | ${s.ratio.toFixed(2)} | ${(large.length / 1e6 / (l.us / 1e6)).toFixed(0)} | ${l.ratio.toFixed(2)} |`);
}
