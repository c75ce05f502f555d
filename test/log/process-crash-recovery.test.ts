// After a crash of the broker process alone (same kernel boot), recovery trusts the page cache for all but each
// walked segment's last batch; after an OS crash (another boot, or an unknown one) it checks every batch.
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { BOOT_ID_FILE, LogManager } from '../../src/log/log-manager.js';
import { captureLogger, countingFs, makeTempDir, producedBatch } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

// A dense index (an entry about every batch) so the index files on disk cover most of a 2 MB segment.
const config = { ...DEFAULT_LOG_CONFIG, indexIntervalBytes: 512 };

/** Writes `batches` batches and "crashes": the manager is dropped without close(), so no clean-shutdown marker. */
async function writeAndCrash(batches: number): Promise<number[]> {
  const manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config, trustPageCacheAfterProcessCrash: true });
  const log = await manager.createLog('t', 0, config);
  const sizes: number[] = [];
  for (let i = 0; i < batches; i++) {
    const { batch, header } = producedBatch(3, { valueBytes: 200, tag: `b${i}` });
    sizes.push(batch.length);
    await log.append(batch, header, { durable: false });
  }
  return sizes;
}

async function reopen() {
  const captured = captureLogger();
  const manager = await LogManager.open({ dataDir: dir, logger: captured.logger, defaultConfig: config, trustPageCacheAfterProcessCrash: true });
  const log = manager.getLog('t', 0)!;
  const loaded = captured.records.find((r) => r.msg === 'logs loaded') as { recoveryCrcCheck?: string } | undefined;
  return { manager, log, mode: loaded?.recoveryCrcCheck, warnings: captured.warnings() };
}

const segmentFile = () => path.join(dir, 't-0', readdirSync(path.join(dir, 't-0')).find((f) => f.endsWith('.log'))!);

describe('recovery after a process crash (same boot)', () => {
  it('records the boot id, and checks only the last batch CRC on a same-boot restart', async () => {
    await writeAndCrash(20);
    expect(readFileSync(path.join(dir, BOOT_ID_FILE), 'utf8').trim()).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    const { manager, log, mode } = await reopen();
    expect(mode).toBe('last-batch');
    expect(log.logEndOffset).toBe(60n);
    await manager.close();
  });

  it('still truncates a torn tail and a corrupt last batch', async () => {
    const sizes = await writeAndCrash(10);
    const file = segmentFile();
    truncateSync(file, statSync(file).size - 7); // the last write cut short
    const torn = await reopen();
    expect(torn.log.logEndOffset).toBe(27n);
    expect(torn.warnings.length).toBeGreaterThan(0);
    // Crash again (no close), then flip a byte in the (new) last batch's records.
    const bytes = readFileSync(file);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(file, bytes);
    const corrupt = await reopen();
    expect(corrupt.log.logEndOffset).toBe(24n);
    expect(sizes.length).toBe(10);
    await corrupt.manager.close();
    await torn.manager.close().catch(() => undefined);
  });

  it('checks every batch when the data was written under another boot (an OS crash)', async () => {
    await writeAndCrash(10);
    writeFileSync(path.join(dir, BOOT_ID_FILE), 'some-other-boot\n');
    const file = segmentFile();
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff; // damage in the middle of the segment
    writeFileSync(file, bytes);
    const { manager, log, mode } = await reopen();
    expect(mode).toBe('every-batch');
    expect(log.logEndOffset).toBeLessThan(30n);
    await manager.close();
  });

  it('continues from the last index entry on disk, reading a small part of a large segment', async () => {
    await writeAndCrash(3000); // ~2 MB: the log writes its index entries to disk as it goes
    const size = statSync(segmentFile()).size;
    const fs = countingFs();
    const manager = await LogManager.open({ dataDir: dir, logger: captureLogger().logger, defaultConfig: config, trustPageCacheAfterProcessCrash: true, fs });
    try {
      const log = manager.getLog('t', 0)!;
      expect(log.logEndOffset).toBe(9000n);
      expect(fs.logBytesRead).toBeLessThan(size / 4); // bytes read by recovery, before any fetch
      // Everything is still readable from the start, batch after batch.
      let offset = 0n;
      while (offset < log.highWatermark) {
        const buf = await log.read(offset, 1 << 20, true);
        let pos = 0;
        while (pos < buf!.length) {
          offset = buf!.readBigInt64BE(pos) + BigInt(buf!.readInt32BE(pos + 23)) + 1n;
          pos += 12 + buf!.readInt32BE(pos + 8);
        }
      }
      expect(offset).toBe(9000n);
    } finally {
      await manager.close();
    }
  });
});
