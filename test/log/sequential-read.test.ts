// A consumer's next fetch starts where its previous read ended; PartitionLog serves that from the remembered file
// position with one read. These tests check the fast path returns exactly what the indexed path returns.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { LogManager, type PartitionLog } from '../../src/log/log-manager.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { batchHeaders, captureLogger, countingFs, makeTempDir, producedBatch, type CountingFs } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let manager: LogManager;
let fs: CountingFs;
let log: PartitionLog;

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  fs = countingFs();
  manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, fs, defaultConfig: { segmentBytes: 64 * 1024 } });
  log = await manager.createLog('t', 0, { ...DEFAULT_LOG_CONFIG, segmentBytes: 64 * 1024, indexIntervalBytes: 1024 });
  for (let i = 0; i < 200; i++) {
    const { batch, header } = producedBatch(1 + (i % 4), { valueBytes: 100 + (i % 7) * 50, tag: `b${i}` });
    await log.append(batch, header, { durable: false });
  }
});
afterEach(async () => {
  await manager.close();
  await cleanup();
});

/** Reads the whole log with fetches of `maxBytes`, each starting at the offset after the previous answer. */
async function readAll(maxBytes: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  let offset = 0n;
  while (offset < log.highWatermark) {
    const buf = await log.read(offset, maxBytes, true);
    if (buf === null || buf.length === 0) break;
    out.push(buf);
    const headers = batchHeaders(buf);
    const last = headers.at(-1)!;
    offset = last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
  }
  return out;
}

describe('sequential reads', () => {
  it('return every batch once, in order, across segment rolls, whatever the fetch size', async () => {
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(1);
    for (const maxBytes of [1, 700, 4096, 1 << 20]) {
      const batches = (await readAll(maxBytes)).flatMap((b) => batchHeaders(b));
      const bases = batches.map((h) => h.baseOffset);
      expect(bases[0]).toBe(0n);
      for (let i = 1; i < batches.length; i++) {
        expect(bases[i]).toBe(bases[i - 1]! + BigInt(batches[i - 1]!.lastOffsetDelta) + 1n);
      }
      const last = batches.at(-1)!;
      expect(last.baseOffset + BigInt(last.lastOffsetDelta) + 1n).toBe(log.highWatermark);
    }
  });

  it('give the same bytes as a fresh read at the same offset', async () => {
    const first = await log.read(0n, 2000, true);
    const next = readBatchHeader(first!, 0);
    const afterFirst = batchHeaders(first!).at(-1)!;
    const offset = afterFirst.baseOffset + BigInt(afterFirst.lastOffsetDelta) + 1n;
    const viaHint = await log.read(offset, 3000, true);
    await log.read(0n, 10, true); // moves the remembered position elsewhere
    const viaIndex = await log.read(offset, 3000, true);
    expect(next.baseOffset).toBe(0n);
    expect(Buffer.compare(viaHint!, viaIndex!)).toBe(0);
  });

  it('serve an offset inside the remembered batch and a rewind correctly', async () => {
    const a = await log.read(0n, 1, true);
    const h = readBatchHeader(a!, 0);
    const inside = await log.read(h.baseOffset + BigInt(h.lastOffsetDelta) + 1n, 1, true);
    expect(readBatchHeader(inside!, 0).baseOffset).toBe(h.baseOffset + BigInt(h.lastOffsetDelta) + 1n);
    const rewind = await log.read(0n, 1, true);
    expect(Buffer.compare(rewind!, a!)).toBe(0);
  });

  it('take one read per fetch when continuing where the last one ended', async () => {
    const first = await log.read(0n, 4096, true);
    const last = batchHeaders(first!).at(-1)!;
    const before = fs.logReads;
    await log.read(last.baseOffset + BigInt(last.lastOffsetDelta) + 1n, 4096, true);
    expect(fs.logReads - before).toBe(1);
  });
});

describe('sequential reads by several consumers', () => {
  it('two consumers tailing at different offsets both take one read per fetch', async () => {
    const a1 = await log.read(0n, 2048, true);
    const b1 = await log.read(50n, 2048, true);
    const next = (buf: Buffer) => {
      const last = batchHeaders(buf).at(-1)!;
      return last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
    };
    const before = fs.logReads;
    await log.read(next(a1!), 2048, true);
    await log.read(next(b1!), 2048, true);
    expect(fs.logReads - before).toBe(2);
  });
});
