// Memory must not grow with the data retained: only the active segment and a couple of recently used sealed
// segments keep their sparse indexes in memory; the others reload theirs from disk when a lookup needs them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { LogManager, type PartitionLog } from '../../src/log/log-manager.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { captureLogger, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 16 * 1024, indexIntervalBytes: 256 };

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

async function fill(log: PartitionLog, batches: number): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const { batch, header } = producedBatch(2, { valueBytes: 150, tag: `b${i}`, baseTimestamp: 1_700_000_000_000n + BigInt(i) * 1000n });
    await log.append(batch, header, { durable: false });
  }
  await log.flush();
}

/** Reads one batch at every 7th offset and checks it holds that offset. */
async function checkReads(log: PartitionLog): Promise<void> {
  for (let offset = 0n; offset < log.highWatermark; offset += 7n) {
    const buf = await log.read(offset, 1, true);
    const h = readBatchHeader(buf!, 0);
    expect(h.baseOffset <= offset && offset <= h.baseOffset + BigInt(h.lastOffsetDelta)).toBe(true);
  }
}

describe('segment indexes in memory', () => {
  it('keeps at most the active segment and two sealed ones loaded, and still serves every offset', async () => {
    const manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config });
    try {
      const log = await manager.createLog('t', 0, config);
      await fill(log, 600);
      expect(log.segmentCount).toBeGreaterThan(10);
      expect(log.segmentsWithIndexesInMemory()).toBeLessThanOrEqual(3);
      await checkReads(log);
      expect(log.segmentsWithIndexesInMemory()).toBeLessThanOrEqual(3);
      // ListOffsets by timestamp in an old segment reloads its time index.
      const found = await log.offsetForTimestamp(1_700_000_000_000n + 10_000n);
      expect(found?.offset).toBe(20n);
    } finally {
      await manager.close();
    }
  });

  it('loads only the newest indexes after a restart and reloads the others on demand', async () => {
    const first = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config });
    await fill(await first.createLog('t', 0, config), 600);
    await first.close();
    const second = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config });
    try {
      const log = second.getLog('t', 0)!;
      expect(log.segmentsWithIndexesInMemory()).toBeLessThanOrEqual(3);
      await checkReads(log);
      expect(log.highWatermark).toBe(1200n);
    } finally {
      await second.close();
    }
  });
});
