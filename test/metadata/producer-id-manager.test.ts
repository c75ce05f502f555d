import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokerError, KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { writeFileAtomically } from '../../src/metadata/metadata-fs.js';
import { PRODUCER_IDS_FILE, PRODUCER_ID_BLOCK_SIZE, ProducerIdManager } from '../../src/metadata/producer-id-manager.js';
import { makeTempDir } from '../log/helpers.js';

const logger = pino({ level: 'silent' });
let dataDir: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: dataDir, cleanup } = await makeTempDir());
});

afterEach(async () => {
  await cleanup();
});

async function persisted(): Promise<unknown> {
  return JSON.parse(await readFile(join(dataDir, PRODUCER_IDS_FILE), 'utf8'));
}

describe('ProducerIdManager', () => {
  it('hands out increasing ids from 0, persisting the end of the block before the first id', async () => {
    const manager = await ProducerIdManager.open({ dataDir, logger });
    const ids: bigint[] = [];
    for (let i = 0; i < 5; i++) ids.push(await manager.generateProducerId());
    expect(ids).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(await persisted()).toEqual({ version: 1, nextProducerId: String(PRODUCER_ID_BLOCK_SIZE) });
  });

  it('starts a restarted broker at the persisted block end: the rest of the block is skipped, never reused', async () => {
    const first = await ProducerIdManager.open({ dataDir, logger });
    await first.generateProducerId();
    await first.generateProducerId();
    const second = await ProducerIdManager.open({ dataDir, logger });
    expect(await second.generateProducerId()).toBe(1000n);
    expect(await persisted()).toEqual({ version: 1, nextProducerId: '2000' });
    const third = await ProducerIdManager.open({ dataDir, logger });
    expect(await third.generateProducerId()).toBe(2000n);
  });

  it('moves to the next block without a gap, prefetching it at 90% of the current one', async () => {
    const writes: string[] = [];
    const manager = await ProducerIdManager.open({
      dataDir,
      logger,
      blockSize: 10,
      writeFile: async (file, contents) => {
        writes.push(JSON.parse(contents).nextProducerId);
        await writeFileAtomically(file, contents);
      },
    });
    const ids: bigint[] = [];
    for (let i = 0; i < 25; i++) ids.push(await manager.generateProducerId());
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => BigInt(i)));
    expect(writes).toEqual(['10', '20', '30']);
  });

  it('concurrent requests get distinct ids', async () => {
    const manager = await ProducerIdManager.open({ dataDir, logger, blockSize: 7 });
    const ids = await Promise.all(Array.from({ length: 50 }, () => manager.generateProducerId()));
    expect(new Set(ids).size).toBe(50);
    expect(ids.every((id) => id >= 0n && id < 50n + 7n * 2n)).toBe(true);
  });

  it('never reuses an id after a crash between allocating a block and persisting it', async () => {
    const before = await ProducerIdManager.open({ dataDir, logger, blockSize: 10 });
    for (let i = 0; i < 8; i++) await before.generateProducerId(); // 0..7, block 0..9 persisted as 10
    // The broker "crashes" while persisting the next block (the prefetch at 9 and the block after it): the write
    // never completes, so the ids of that block must never have been handed out.
    let stalled = 0;
    const crashing = await ProducerIdManager.open({
      dataDir,
      logger,
      blockSize: 10,
      writeFile: () => {
        stalled++;
        return new Promise<void>(() => undefined);
      },
    });
    const pending = crashing.generateProducerId();
    const outcome = await Promise.race([pending.then(() => 'served'), new Promise((r) => setTimeout(() => r('waiting'), 50))]);
    expect(outcome).toBe('waiting');
    expect(stalled).toBe(1);
    expect(await persisted()).toEqual({ version: 1, nextProducerId: '10' });
    const after = await ProducerIdManager.open({ dataDir, logger, blockSize: 10 });
    expect(await after.generateProducerId()).toBe(10n);
  });

  it('answers COORDINATOR_LOAD_IN_PROGRESS when the block cannot be persisted, and retries on the next request', async () => {
    let fail = true;
    const manager = await ProducerIdManager.open({
      dataDir,
      logger,
      writeFile: async (file, contents) => {
        if (fail) throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        await writeFileAtomically(file, contents);
      },
    });
    const err = await manager.generateProducerId().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS);
    fail = false;
    expect(await manager.generateProducerId()).toBe(0n);
    expect(await persisted()).toEqual({ version: 1, nextProducerId: '1000' });
  });

  it('fails with UNKNOWN_SERVER_ERROR when the next block would pass the int64 limit', async () => {
    await writeFile(join(dataDir, PRODUCER_IDS_FILE), JSON.stringify({ version: 1, nextProducerId: (2n ** 63n - 500n).toString() }));
    const manager = await ProducerIdManager.open({ dataDir, logger });
    const err = await manager.generateProducerId().catch((e: unknown) => e);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
  });

  it('refuses to start on an unknown version or a malformed nextProducerId', async () => {
    await writeFile(join(dataDir, PRODUCER_IDS_FILE), JSON.stringify({ version: 2, nextProducerId: '1000' }));
    await expect(ProducerIdManager.open({ dataDir, logger })).rejects.toMatchObject({ code: 'METADATA_VERSION' });
    await writeFile(join(dataDir, PRODUCER_IDS_FILE), JSON.stringify({ version: 1, nextProducerId: 1000 }));
    await expect(ProducerIdManager.open({ dataDir, logger })).rejects.toBeInstanceOf(BrokerError);
    await writeFile(join(dataDir, PRODUCER_IDS_FILE), '{ torn');
    await expect(ProducerIdManager.open({ dataDir, logger })).rejects.toMatchObject({ code: 'METADATA_CORRUPT' });
  });
});
