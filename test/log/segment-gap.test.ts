// A crash can lose the unflushed tail of a rolled segment while the next segment survives (rolled segments are
// fsynced in the background). Recovery finds no corrupt batch there, so the gap stays; a fetch inside it must
// move on to the next segment, as Kafka's LocalLog.read does, instead of answering empty forever.
import { readdirSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { LogManager } from '../../src/log/log-manager.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { captureLogger, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

describe('a gap between segments', () => {
  it('a fetch inside the gap returns the next segment\'s first batch', async () => {
    const config = { ...DEFAULT_LOG_CONFIG, segmentBytes: 2048 };
    const first = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config });
    const log = await first.createLog('t', 0, config);
    const sizes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const { batch, header } = producedBatch(1, { valueBytes: 300, tag: `b${i}` });
      sizes.push(batch.length);
      await log.append(batch, header, { durable: false });
    }
    expect(log.segmentBaseOffsets().length).toBeGreaterThan(1);
    const secondBase = log.segmentBaseOffsets()[1]!;
    await first.close();

    // Drop the last batch of the first segment: the file still ends on a batch boundary.
    const partDir = path.join(dir, 't-0');
    const firstLog = path.join(partDir, readdirSync(partDir).filter((f) => f.endsWith('.log')).sort()[0]!);
    truncateSync(firstLog, statSync(firstLog).size - sizes[0]!);
    const missing = secondBase - 1n;

    const second = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config });
    try {
      const reopened = second.getLog('t', 0)!;
      const records = await reopened.read(missing, 1 << 20, true);
      expect(records).not.toBeNull();
      expect(readBatchHeader(records!, 0).baseOffset).toBe(secondBase);
    } finally {
      await second.close();
    }
  });
});
