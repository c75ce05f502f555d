// Transactions as a partition sees them (producer-state.ts markers, txn-index.ts, PartitionLog.appendMarker):
// the last stable offset, read_committed reads stopping at it, the aborted-transaction index, and all of it
// surviving a clean restart and a crash (load without the clean-shutdown marker), including a torn index file.
import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { KafkaError } from '../../src/errors.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { PartitionLog } from '../../src/log/partition-log.js';
import { TXN_INDEX_ENTRY_SIZE, decodeTxnIndex, txnIndexFileName } from '../../src/log/txn-index.js';
import { isControlBatch, readBatchHeader } from '../../src/protocol/records/batch.js';
import { END_TXN_MARKER_BATCH_SIZE, buildEndTxnMarkerBatch, readEndTxnMarker } from '../../src/protocol/records/control-batch.js';
import { batchCrcIsValid } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { captureLogger, countingFs, makeTempDir } from './helpers.js';

let base: string;
let cleanup: () => Promise<void>;
const opened: PartitionLog[] = [];
const NOW = Date.now();
const TRANSACTIONAL = 0x10;

beforeEach(async () => {
  ({ dir: base, cleanup } = await makeTempDir());
});

afterEach(async () => {
  for (const log of opened.splice(0)) await log.close({ flush: false }).catch(() => undefined);
  await cleanup();
});

function options(config: Partial<LogConfig> = {}) {
  return {
    dir: `${base}/t-0`,
    topic: 't',
    partition: 0,
    config: { ...DEFAULT_LOG_CONFIG, ...config },
    fs: countingFs(),
    logger: captureLogger().logger,
    clock: () => NOW,
  };
}

async function create(config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  const log = await PartitionLog.create(options(config));
  opened.push(log);
  return log;
}

async function load(clean: boolean, config: Partial<LogConfig> = {}): Promise<PartitionLog> {
  const log = await PartitionLog.load({ ...options(config), clean, recoveryPoint: undefined });
  opened.push(log);
  return log;
}

function append(log: PartitionLog, producerId: bigint, seq: number, count: number, transactional = true) {
  const bytes = buildRecordBatch({
    producerId,
    producerEpoch: 0,
    baseSequence: seq,
    baseTimestamp: BigInt(NOW),
    attributes: transactional ? TRANSACTIONAL : 0,
    records: Array.from({ length: count }, (_, i) => ({ value: `p${producerId}-${seq + i}` })),
  });
  return log.append(bytes, readBatchHeader(bytes), { durable: false });
}

function marker(log: PartitionLog, producerId: bigint, commit: boolean, epoch = 0) {
  return log.appendMarker(producerId, epoch, { commit, coordinatorEpoch: 0 }, { durable: true });
}

/** Base offsets of the batches in a read result. */
function baseOffsets(buf: Buffer | null): bigint[] {
  const out: bigint[] = [];
  for (let pos = 0; buf !== null && pos < buf.length; pos += 12 + buf.readInt32BE(pos + 8)) out.push(buf.readBigInt64BE(pos));
  return out;
}

describe('transaction marker batches', () => {
  it('build a 78-byte control batch with a valid CRC that reads back as the same marker', () => {
    for (const commit of [true, false]) {
      const bytes = buildEndTxnMarkerBatch(42n, 3, { commit, coordinatorEpoch: 7 }, 1_700_000_000_000n);
      expect(bytes.length).toBe(END_TXN_MARKER_BATCH_SIZE);
      expect(batchCrcIsValid(bytes)).toBe(true);
      const h = readBatchHeader(bytes);
      expect(isControlBatch(h.attributes)).toBe(true);
      expect(h).toMatchObject({ producerId: 42n, producerEpoch: 3, baseSequence: -1, recordCount: 1, lastOffsetDelta: 0, maxTimestamp: 1_700_000_000_000n });
      expect(readEndTxnMarker(bytes, 0)).toEqual({ commit, coordinatorEpoch: 7 });
    }
  });

  it('reads a control record that is not COMMIT/ABORT (or is cut short) as no marker', () => {
    const bytes = buildEndTxnMarkerBatch(1n, 0, { commit: true, coordinatorEpoch: 0 }, 0n);
    const otherType = Buffer.from(bytes);
    otherType.writeInt16BE(5, 61 + 5 + 2); // key type 5 (e.g. a KRaft control record)
    expect(readEndTxnMarker(otherType, 0)).toBeUndefined();
    const shortValue = Buffer.from(bytes);
    shortValue[61 + 9] = 4; // value length 2
    expect(readEndTxnMarker(shortValue, 0)).toBeUndefined();
  });
});

describe('PartitionLog transactions', () => {
  it('holds the last stable offset at an open transaction and moves it when the marker is written', async () => {
    const log = await create();
    await append(log, 1n, 0, 2, false); // 0-1 idempotent, not transactional
    await append(log, 7n, 0, 3); // 2-4 transaction of producer 7
    await append(log, 8n, 0, 1); // 5 transaction of producer 8
    expect(log.highWatermark).toBe(6n);
    expect(log.lastStableOffset).toBe(2n);
    // read_committed stops before the open transaction; read_uncommitted reads everything.
    expect(baseOffsets(await log.read(0n, 1 << 20, true, log.lastStableOffset))).toEqual([0n]);
    expect(await log.read(2n, 1 << 20, true, log.lastStableOffset)).toBeNull();
    expect(baseOffsets(await log.read(0n, 1 << 20, true))).toEqual([0n, 2n, 5n]);
    const commit = await marker(log, 7n, true);
    expect(commit.baseOffset).toBe(6n);
    expect(log.lastStableOffset).toBe(5n); // producer 8 still open
    const abort = await marker(log, 8n, false);
    expect(abort.baseOffset).toBe(7n);
    expect(log.lastStableOffset).toBe(8n);
    expect(log.abortedTransactionIndex()).toEqual([{ producerId: 8n, firstOffset: 5n, lastOffset: 7n, lastStableOffset: 8n }]);
    expect(log.abortedTransactions(0n, 8n)).toEqual([{ producerId: 8n, firstOffset: 5n }]);
    expect(log.abortedTransactions(0n, 5n)).toEqual([]); // the fetched data ends before the aborted transaction
    expect(log.abortedTransactions(8n, 9n)).toEqual([]); // its marker is before the fetch offset
    expect(baseOffsets(await log.read(0n, 1 << 20, true, log.lastStableOffset))).toEqual([0n, 2n, 5n, 6n, 7n]);
  });

  it('refuses a marker from an older epoch with INVALID_PRODUCER_EPOCH and writes nothing', async () => {
    const log = await create();
    await append(log, 7n, 0, 1);
    await marker(log, 7n, false, 2); // epoch 2 fences epoch 0
    const err = await marker(log, 7n, true, 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaError);
    expect((err as KafkaError).errorCode).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    expect(log.logEndOffset).toBe(2n);
  });

  it('keeps open transactions and aborted transactions across a clean restart', async () => {
    let log = await create();
    await append(log, 7n, 0, 2); // 0-1
    await marker(log, 7n, false); // 2
    await append(log, 8n, 0, 1); // 3, left open
    await log.close();
    opened.splice(opened.indexOf(log), 1);
    log = await load(true);
    expect(log.lastStableOffset).toBe(3n);
    expect(log.abortedTransactionIndex()).toEqual([{ producerId: 7n, firstOffset: 0n, lastOffset: 2n, lastStableOffset: 3n }]);
    await marker(log, 8n, true);
    expect(log.lastStableOffset).toBe(5n);
  });

  it('rebuilds open transactions and lost index entries from the log after a crash', async () => {
    let log = await create();
    await append(log, 7n, 0, 2); // 0-1
    await marker(log, 7n, false); // 2
    await append(log, 8n, 0, 1); // 3, left open
    // A crash that lost the .txnindex entry and the producer snapshot: only the log survives.
    await log.flush();
    const dir = `${base}/t-0`;
    await truncate(`${dir}/${txnIndexFileName(0n)}`, 0);
    for (const name of await readdir(dir)) if (name.endsWith('.snapshot')) await writeFile(`${dir}/${name}`, '');
    opened.splice(opened.indexOf(log), 1);
    log = await load(false);
    expect(log.lastStableOffset).toBe(3n);
    expect(log.abortedTransactionIndex()).toEqual([{ producerId: 7n, firstOffset: 0n, lastOffset: 2n, lastStableOffset: 3n }]);
    // ...and the rebuilt entry is back on disk.
    expect(decodeTxnIndex(await readFile(`${dir}/${txnIndexFileName(0n)}`))).toHaveLength(1);
  });

  it('drops index entries past the log end after recovery cut the tail, and a torn entry', async () => {
    let log = await create();
    await append(log, 7n, 0, 1); // 0
    await marker(log, 7n, false); // 1
    await log.close();
    opened.splice(opened.indexOf(log), 1);
    const dir = `${base}/t-0`;
    const path = `${dir}/${txnIndexFileName(0n)}`;
    const entry = await readFile(path);
    // An entry for a marker at offset 9 (beyond the log end) and half an entry, as a crash could leave them.
    const ghost = Buffer.from(entry);
    ghost.writeBigInt64BE(9n, 18);
    await writeFile(path, Buffer.concat([entry, ghost, entry.subarray(0, 10)]));
    log = await load(true);
    expect(log.abortedTransactionIndex().map((t) => t.lastOffset)).toEqual([1n]);
    expect((await readFile(path)).length).toBe(TXN_INDEX_ENTRY_SIZE);
  });
});
