// Cost of a handle-cache hit on the read path: N positional 4 KiB reads of one (page-cached) file, directly
// through the fs wrapper and through a CachedFile of the FileHandleCache, alternated R times (best run reported).
//   npx tsx scripts/bench/file-cache-hit.ts [N=200000] [R=5]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileHandleCache } from '../../src/log/file-handle-cache.js';
import { nodeLogFs, type LogFile } from '../../src/log/fs.js';

const N = Number(process.argv[2] ?? 200_000);
const R = Number(process.argv[3] ?? 5);
const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-cache-hit-'));
const file = path.join(dir, 'f.log');
writeFileSync(file, Buffer.alloc(1 << 20, 7));
const buf = Buffer.allocUnsafe(4096);
async function loop(f: LogFile): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < N; i++) await f.read(buf, 0, 4096, (i * 4096) % (1 << 20));
  return ((performance.now() - started) * 1000) / N;
}
try {
  const direct = await nodeLogFs.open(file, 'r+');
  const cache = new FileHandleCache(nodeLogFs, 16);
  const cached = cache.file(file, 'r+');
  const best = { direct: Infinity, cached: Infinity };
  for (let r = 0; r < R; r++) {
    best.direct = Math.min(best.direct, await loop(direct));
    best.cached = Math.min(best.cached, await loop(cached));
  }
  console.log(`4 KiB pread: direct ${best.direct.toFixed(2)} µs/op, through the cache ${best.cached.toFixed(2)} µs/op (best of ${R} x ${N})`);
  await direct.close();
  await cached.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
