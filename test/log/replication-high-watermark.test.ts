// The managed high watermark (PartitionLog.setHighWatermarkManaged, high-watermark.ts): writes move the log end
// offset only, the owner moves the high watermark, consumer reads and long polls follow it, replica reads follow
// the log end offset, and the last stable offset never passes it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { waitForAppend } from '../../src/log/partition-log.js';
import { LogDirs, headersOf, produced } from './replication-support.js';

const dirs = new LogDirs();
beforeEach(() => dirs.setUp());
afterEach(() => dirs.tearDown());

async function appendBatches(log: Awaited<ReturnType<LogDirs['create']>>, batches: number, records = 2): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const { bytes, header } = produced(records);
    await log.append(bytes, header, { durable: false });
  }
}

describe('managed high watermark', () => {
  it('a write moves only the log end offset; consumer reads stop at the high watermark, replica reads at the log end', async () => {
    const log = await dirs.create('t');
    log.setHighWatermarkManaged(true);
    const ends: bigint[] = [];
    log.onLogEndOffsetAdvanced((leo) => ends.push(leo));
    await appendBatches(log, 3);
    expect(log.logEndOffset).toBe(6n);
    expect(log.highWatermark).toBe(0n);
    expect(ends).toEqual([2n, 4n, 6n]);
    expect(await log.read(0n, 1 << 20, true)).toBeNull();
    expect(headersOf(await log.readForReplica(0n, 1 << 20)).map((h) => h.baseOffset)).toEqual([0n, 2n, 4n]);

    expect(log.updateHighWatermark(4n)).toBe(4n);
    // On disk are three batches; consumers see the two below the high watermark, returned as a slice.
    expect(headersOf(await log.read(0n, 1 << 20, true)).map((h) => h.baseOffset)).toEqual([0n, 2n]);
    expect(await log.read(4n, 1 << 20, true)).toBeNull();
    // A tailing consumer's next read starts where the trimmed read ended.
    expect(headersOf(await log.read(2n, 1 << 20, true)).map((h) => h.baseOffset)).toEqual([2n]);
    log.updateHighWatermark(6n);
    expect(headersOf(await log.read(4n, 1 << 20, true)).map((h) => h.baseOffset)).toEqual([4n]);
  });

  it('updateHighWatermark clamps to [log start, log end] and never moves it down', async () => {
    const log = await dirs.create('t');
    log.setHighWatermarkManaged(true);
    await appendBatches(log, 2);
    expect(log.updateHighWatermark(100n)).toBe(4n);
    expect(log.updateHighWatermark(1n)).toBe(4n);
    expect(log.highWatermark).toBe(4n);
    const other = await dirs.create('u');
    other.setHighWatermarkManaged(true);
    expect(other.updateHighWatermark(-5n)).toBe(0n);
  });

  it('turning the mode on can start the high watermark lower, and turning it off moves it to the log end', async () => {
    const log = await dirs.create('t');
    await appendBatches(log, 3);
    expect(log.highWatermark).toBe(6n);
    log.setHighWatermarkManaged(true, 2n);
    expect(log.highWatermark).toBe(2n);
    expect(headersOf(await log.read(0n, 1 << 20, true)).map((h) => h.baseOffset)).toEqual([0n]);
    const before = log.visibleBytesAppended;
    log.updateHighWatermark(4n);
    // Data written before the mode began counts at least one byte per offset exposed.
    expect(log.visibleBytesAppended).toBeGreaterThan(before);
    log.setHighWatermarkManaged(false);
    expect(log.highWatermark).toBe(6n);
    await appendBatches(log, 1);
    expect(log.highWatermark).toBe(8n);
  });

  it('long polls wake on high watermark moves only, and visibleBytesAppended grows by the bytes exposed', async () => {
    const log = await dirs.create('t');
    log.setHighWatermarkManaged(true);
    const wait = waitForAppend([log], 10_000);
    const { bytes, header } = produced(3);
    const size = bytes.length;
    await log.append(bytes, header, { durable: false });
    await appendBatches(log, 1, 1);
    expect(log.visibleBytesAppended).toBe(0);
    const early = await Promise.race([wait.promise, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 50))]);
    expect(early).toBe('still waiting');
    log.updateHighWatermark(3n);
    expect(await wait.promise).toBe('append');
    expect(log.visibleBytesAppended).toBe(size);
    // A second call at the same high watermark wakes nobody.
    const again = waitForAppend([log], 10_000);
    log.updateHighWatermark(3n);
    const still = await Promise.race([again.promise, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 50))]);
    expect(still).toBe('still waiting');
    log.updateHighWatermark(4n);
    expect(await again.promise).toBe('append');
    expect(log.bytesWritten).toBe(log.visibleBytesAppended);
  });

  it('the last stable offset stays at or below the high watermark, and a committed transaction holds it until its marker is below the HW', async () => {
    const log = await dirs.create('t');
    log.setHighWatermarkManaged(true);
    const txn = produced(2, { producerId: 9n, transactional: true });
    await log.append(txn.bytes, txn.header, { durable: false });
    await appendBatches(log, 1);
    expect(log.lastStableOffset).toBe(0n);
    log.updateHighWatermark(4n);
    expect(log.lastStableOffset).toBe(0n);
    await log.appendMarker(9n, 0, { commit: true, coordinatorEpoch: 0 }, { durable: false });
    expect(log.logEndOffset).toBe(5n);
    // The marker (offset 4) is written but not below the high watermark: the transaction still holds the LSO.
    expect(log.lastStableOffset).toBe(0n);
    expect(await log.read(0n, 1 << 20, true, log.lastStableOffset)).toBeNull();
    log.updateHighWatermark(5n);
    expect(log.lastStableOffset).toBe(5n);
    const nonTxn = await dirs.create('u');
    nonTxn.setHighWatermarkManaged(true);
    await appendBatches(nonTxn, 2);
    nonTxn.updateHighWatermark(2n);
    expect(nonTxn.lastStableOffset).toBe(2n);
  });

  it('readForReplica is out of range outside [log start, log end] and returns whole batches even past maxBytes', async () => {
    const log = await dirs.create('t');
    await appendBatches(log, 2, 5);
    const error = await log.readForReplica(11n, 100).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KafkaError);
    expect((error as KafkaError).errorCode).toBe(ErrorCode.OFFSET_OUT_OF_RANGE);
    expect(await log.readForReplica(10n, 100)).toBeNull();
    expect(headersOf(await log.readForReplica(0n, 1)).map((h) => h.baseOffset)).toEqual([0n]);
    expect(headersOf(await log.readForReplica(7n, 1 << 20)).map((h) => h.baseOffset)).toEqual([5n]);
  });

  it('the default mode keeps the high watermark at the log end after each write, and updateHighWatermark is refused', async () => {
    const log = await dirs.create('t');
    let advanced = 0;
    log.onLogEndOffsetAdvanced(() => advanced++);
    await appendBatches(log, 2);
    expect(log.highWatermark).toBe(4n);
    expect(log.visibleBytesAppended).toBe(log.bytesWritten);
    expect(advanced).toBe(2);
    expect(() => log.updateHighWatermark(2n)).toThrow(/high watermark follows its writes/);
  });
});
