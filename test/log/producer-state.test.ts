import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { nodeLogFs, type LogFile } from '../../src/log/fs.js';
import {
  NUM_BATCHES_TO_RETAIN,
  ProducerStateEntry,
  ProducerStateManager,
  decodeProducerSnapshot,
  encodeProducerSnapshot,
  incrementSequence,
  snapshotFileName,
  type DuplicateProducerAppend,
  type PendingProducerAppend,
  type ProducerStateSegmentSource,
} from '../../src/log/producer-state.js';
import { readBatchHeader, type RecordBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { captureLogger, makeTempDir, type CapturedLogger } from './helpers.js';

const INT32_MAX = 0x7fffffff;
const T0 = 1_700_000_000_000n;
const TRANSACTIONAL = 0x10;

let dir: string;
let cleanup: () => Promise<void>;
let captured: CapturedLogger;
const openFiles: LogFile[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
  captured = captureLogger();
});

afterEach(async () => {
  for (const f of openFiles.splice(0)) await f.close().catch(() => undefined);
  await cleanup();
});

/** The clock stands just after T0, so producers written at T0 are not expired (producer.id.expiration.ms: 1 day). */
function options(extra: { clock?: () => number; producerIdExpirationMs?: number } = {}) {
  return { fs: nodeLogFs, dir, topic: 't', partition: 0, logger: captured.logger, clock: () => Number(T0) + 60_000, ...extra };
}

/** A produced batch's header (baseOffset 0, as a client sends it). */
function header(producerId: bigint, producerEpoch: number, baseSequence: number, records: number, attributes = 0): RecordBatchHeader {
  return {
    baseOffset: 0n,
    batchLength: 100,
    partitionLeaderEpoch: -1,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: records - 1,
    baseTimestamp: T0,
    maxTimestamp: T0,
    producerId,
    producerEpoch,
    baseSequence,
    recordCount: records,
  };
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err.errorCode;
    throw err;
  }
  return undefined;
}

/**
 * What PartitionLog.append does: check, assign offsets at `nextOffset`, commit; returns the assigned first offset
 * (or the duplicate). The caller calls onWritten to model the write completing.
 */
class Appender {
  nextOffset: bigint;
  constructor(
    readonly state: ProducerStateManager,
    start = 0n,
  ) {
    this.nextOffset = start;
  }

  append(h: RecordBatchHeader, timestamp = T0): { firstOffset: bigint; lastOffset: bigint } | DuplicateProducerAppend {
    const check = this.state.checkAndPrepare(h);
    if (check?.kind === 'duplicate') return check;
    const firstOffset = this.nextOffset;
    const lastOffset = firstOffset + BigInt(h.lastOffsetDelta);
    this.nextOffset = lastOffset + 1n;
    if (check) this.state.commit(check as PendingProducerAppend, firstOffset, timestamp);
    return { firstOffset, lastOffset };
  }

  written(): void {
    this.state.onWritten(this.nextOffset);
  }
}

describe('sequence arithmetic', () => {
  it('increments wrap from Int.MAX to 0 as in Kafka', () => {
    expect(incrementSequence(5, 2)).toBe(7);
    expect(incrementSequence(INT32_MAX, 1)).toBe(0);
    expect(incrementSequence(INT32_MAX - 1, 3)).toBe(1);
  });
});

describe('checkAndPrepare', () => {
  it('returns null for a batch without a producer id and records nothing', () => {
    const state = ProducerStateManager.empty(options());
    expect(state.checkAndPrepare(header(-1n, -1, -1, 3))).toBeNull();
    expect(state.activeProducers().size).toBe(0);
  });

  it('answers a retry of each of the last 5 batches with that batch offsets and timestamp', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state, 100n);
    const originals = [];
    for (let i = 0; i < NUM_BATCHES_TO_RETAIN; i++) originals.push(log.append(header(7n, 0, i * 3, 3), T0 + BigInt(i)));
    log.written();
    const end = log.nextOffset;
    for (let i = 0; i < NUM_BATCHES_TO_RETAIN; i++) {
      const again = log.append(header(7n, 0, i * 3, 3));
      expect(again).toEqual({ kind: 'duplicate', firstOffset: 100n + BigInt(i * 3), lastOffset: 102n + BigInt(i * 3), timestamp: T0 + BigInt(i) });
      expect(again).toMatchObject({ firstOffset: (originals[i] as { firstOffset: bigint }).firstOffset });
    }
    expect(log.nextOffset).toBe(end);
  });

  it('answers OUT_OF_ORDER_SEQUENCE_NUMBER for a retry of the 6th batch back (no longer retained), as Kafka', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    for (let i = 0; i < 6; i++) log.append(header(7n, 0, i * 2, 2));
    log.written();
    expect(state.activeProducers().get(7n)!.batches.length).toBe(5);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 0, 2)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(state.checkAndPrepare(header(7n, 0, 2, 2))?.kind).toBe('duplicate');
  });

  it('a retry with the same first sequence but another record count is not a duplicate but a sequence error', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 3));
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 0, 2)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('answers OUT_OF_ORDER_SEQUENCE_NUMBER for a gap and accepts the next sequence', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 5));
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 6, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 4, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(state.checkAndPrepare(header(7n, 0, 5, 1))?.kind).toBe('append');
  });

  it('accepts any first sequence from an unknown producer (Kafka 3.9 never answers UNKNOWN_PRODUCER_ID)', () => {
    const state = ProducerStateManager.empty(options());
    expect(state.checkAndPrepare(header(9n, 3, 4242, 1))?.kind).toBe('append');
  });

  it('accepts 0 after Int.MAX, and a batch whose sequences cross Int.MAX', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, INT32_MAX - 2, 3)); // sequences MAX-2 .. MAX
    expect(state.lastEntry(7n)!.lastSeq).toBe(INT32_MAX);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 1, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    log.append(header(7n, 0, 0, 1));
    log.append(header(7n, 0, 1, 2)); // 1..2
    const crossing = ProducerStateManager.empty(options());
    const log2 = new Appender(crossing);
    log2.append(header(8n, 0, INT32_MAX - 1, 4)); // MAX-1, MAX, 0, 1
    expect(crossing.lastEntry(8n)!.lastSeq).toBe(1);
    expect(crossing.checkAndPrepare(header(8n, 0, INT32_MAX - 1, 4))).toMatchObject({ kind: 'duplicate', firstOffset: 0n, lastOffset: 3n });
    expect(crossing.checkAndPrepare(header(8n, 0, 2, 1))?.kind).toBe('append');
  });

  it('answers INVALID_PRODUCER_EPOCH for an epoch older than the last seen', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 5, 0, 1));
    expect(codeOf(() => state.checkAndPrepare(header(7n, 4, 1, 1)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    // Even a batch that would be a duplicate in the old epoch.
    expect(codeOf(() => state.checkAndPrepare(header(7n, 4, 0, 1)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('requires a new epoch to start at sequence 0, then forgets the old epoch batches', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 3));
    log.append(header(7n, 0, 3, 3));
    expect(codeOf(() => state.checkAndPrepare(header(7n, 1, 6, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    const bumped = log.append(header(7n, 1, 0, 2));
    expect(bumped).toEqual({ firstOffset: 6n, lastOffset: 7n });
    expect(state.lastEntry(7n)!.producerEpoch).toBe(1);
    expect(state.lastEntry(7n)!.batches).toHaveLength(1);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 3, 3)))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
  });

  it('opens a transaction with the first transactional batch, and refuses non-transactional batches during it', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state, 10n);
    log.append(header(7n, 0, 0, 3, TRANSACTIONAL));
    expect(state.firstUnstableOffset).toBeUndefined(); // not written yet
    log.written();
    expect(state.firstUnstableOffset).toBe(10n);
    expect(state.activeProducers().get(7n)!.currentTxnFirstOffset).toBe(10n);
    log.append(header(7n, 0, 3, 2, TRANSACTIONAL));
    log.written();
    expect(state.firstUnstableOffset).toBe(10n);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 5, 1)))).toBe(ErrorCode.INVALID_TXN_STATE);
  });

  it('checks a second in-flight batch against the first one before its write completes', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    const first = log.append(header(7n, 0, 0, 4));
    // Not written yet: the written view is empty, the checks see the first batch.
    expect(state.activeProducers().size).toBe(0);
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 5, 1)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(state.checkAndPrepare(header(7n, 0, 0, 4))).toEqual({ kind: 'duplicate', firstOffset: 0n, lastOffset: 3n, timestamp: T0 });
    const second = log.append(header(7n, 0, 4, 2));
    expect(first).toEqual({ firstOffset: 0n, lastOffset: 3n });
    expect(second).toEqual({ firstOffset: 4n, lastOffset: 5n });
    // The first write completes: only it is in the written view.
    state.onWritten(4n);
    expect(state.activeProducers().get(7n)!.lastSeq).toBe(3);
    expect(state.lastEntry(7n)!.lastSeq).toBe(5);
    state.onWritten(6n);
    expect(state.activeProducers().get(7n)!.lastSeq).toBe(5);
    expect(state.activeProducers().get(7n)!.batches).toHaveLength(2);
    expect(state.endOffset).toBe(6n);
  });
});

describe('snapshots', () => {
  /** A snapshot file built by hand from Kafka's PID_SNAPSHOT_MAP_SCHEMA (version 1). */
  function handBuiltSnapshot(
    entries: Array<{ pid: bigint; epoch: number; lastSeq: number; lastOffset: bigint; offsetDelta: number; timestamp: bigint; coordinatorEpoch: number; txnFirstOffset: bigint }>,
  ): Buffer {
    const body = Buffer.alloc(4 + 46 * entries.length);
    body.writeInt32BE(entries.length, 0);
    entries.forEach((e, i) => {
      const p = 4 + 46 * i;
      body.writeBigInt64BE(e.pid, p);
      body.writeInt16BE(e.epoch, p + 8);
      body.writeInt32BE(e.lastSeq, p + 10);
      body.writeBigInt64BE(e.lastOffset, p + 14);
      body.writeInt32BE(e.offsetDelta, p + 22);
      body.writeBigInt64BE(e.timestamp, p + 26);
      body.writeInt32BE(e.coordinatorEpoch, p + 34);
      body.writeBigInt64BE(e.txnFirstOffset, p + 38);
    });
    const head = Buffer.alloc(6);
    head.writeInt16BE(1, 0);
    head.writeUInt32BE(crc32c(body) >>> 0, 2);
    return Buffer.concat([head, body]);
  }

  const EXPECTED = [
    { pid: 7n, epoch: 2, lastSeq: 14, lastOffset: 24n, offsetDelta: 4, timestamp: T0 + 9n, coordinatorEpoch: -1, txnFirstOffset: -1n },
    { pid: 1234567890123n, epoch: 0, lastSeq: 0, lastOffset: 25n, offsetDelta: 0, timestamp: T0 + 10n, coordinatorEpoch: -1, txnFirstOffset: -1n },
  ];

  async function stateWithTwoProducers(): Promise<ProducerStateManager> {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state, 10n);
    log.append(header(7n, 2, 0, 5), T0 + 7n); // 10..14
    log.append(header(7n, 2, 5, 5), T0 + 8n); // 15..19
    log.append(header(7n, 2, 10, 5), T0 + 9n); // 20..24
    log.append(header(1234567890123n, 0, 0, 1), T0 + 10n); // 25
    log.written();
    return state;
  }

  it('writes <20-digit offset>.snapshot byte for byte as Kafka schema lays it out', async () => {
    const state = await stateWithTwoProducers();
    expect(await state.takeSnapshot(26n)).toBe(true);
    const bytes = await readFile(join(dir, '00000000000000000026.snapshot'));
    expect(bytes.equals(handBuiltSnapshot(EXPECTED))).toBe(true);
    expect(bytes.length).toBe(10 + 2 * 46);
    expect(encodeProducerSnapshot(state.activeProducers().values()).equals(bytes)).toBe(true);
    expect(snapshotFileName(26n)).toBe('00000000000000000026.snapshot');
    expect(await readdir(dir)).toEqual(['00000000000000000026.snapshot']);
  });

  it('decodes a hand-built snapshot into entries holding each producer last batch', () => {
    const entries = decodeProducerSnapshot(
      handBuiltSnapshot([
        ...EXPECTED,
        { pid: 99n, epoch: 1, lastSeq: -1, lastOffset: -1n, offsetDelta: 0, timestamp: T0, coordinatorEpoch: 3, txnFirstOffset: 40n },
      ]),
    );
    expect(entries.map((e) => [e.producerId, e.producerEpoch, e.lastSeq, e.firstSeq, e.lastDataOffset, e.lastTimestamp, e.coordinatorEpoch, e.currentTxnFirstOffset])).toEqual([
      [7n, 2, 14, 10, 24n, T0 + 9n, -1, undefined],
      [1234567890123n, 0, 0, 0, 25n, T0 + 10n, -1, undefined],
      [99n, 1, -1, -1, -1n, T0, 3, 40n],
    ]);
    expect(entries[2]!.batches).toEqual([]);
  });

  it('a restart from a snapshot recognises a retry of each producer last batch, and continues its sequence', async () => {
    const before = await stateWithTwoProducers();
    await before.takeSnapshot(26n);
    const logFile = await writeSegment(0n, Buffer.alloc(0));
    const after = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 26n, clean: true, segments: [logFile] });
    expect(after.checkAndPrepare(header(7n, 2, 10, 5))).toEqual({ kind: 'duplicate', firstOffset: 20n, lastOffset: 24n, timestamp: T0 + 9n });
    expect(after.checkAndPrepare(header(7n, 2, 15, 1))?.kind).toBe('append');
    // Only the last batch is in the snapshot (Kafka's format): an older retry is a sequence error.
    expect(codeOf(() => after.checkAndPrepare(header(7n, 2, 5, 5)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  });

  it('rejects a snapshot with a bad CRC, an unknown version, a short body or a negative count', () => {
    const good = handBuiltSnapshot(EXPECTED);
    const badCrc = Buffer.from(good);
    badCrc[20]! ^= 0xff;
    expect(() => decodeProducerSnapshot(badCrc)).toThrow(/CRC mismatch/);
    const v2 = Buffer.from(good);
    v2.writeInt16BE(2, 0);
    expect(() => decodeProducerSnapshot(v2)).toThrow(/unknown snapshot version 2/);
    expect(() => decodeProducerSnapshot(good.subarray(0, good.length - 1))).toThrow(/do not fit/);
    expect(() => decodeProducerSnapshot(good.subarray(0, 5))).toThrow(/shorter than its header/);
    const negative = Buffer.from(good);
    negative.writeInt32BE(-1, 6);
    expect(() => decodeProducerSnapshot(negative)).toThrow(/negative entry count/);
  });

  it('takes no snapshot at an offset not above the last one', async () => {
    const state = await stateWithTwoProducers();
    expect(await state.takeSnapshot(26n)).toBe(true);
    expect(await state.takeSnapshot(26n)).toBe(false);
    expect(await state.takeSnapshot(20n)).toBe(false);
    expect(state.snapshotOffsets()).toEqual([26n]);
  });

  it('snapshots hold only written batches, not those still in flight', async () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 2)); // 0..1
    state.onWritten(2n);
    log.append(header(7n, 0, 2, 2)); // 2..3, in flight
    await state.takeSnapshot(2n);
    const [entry] = decodeProducerSnapshot(await readFile(join(dir, snapshotFileName(2n))));
    expect(entry!.lastSeq).toBe(1);
    expect(entry!.lastDataOffset).toBe(1n);
  });

  it('deleteSnapshotsBefore removes the files below the offset', async () => {
    const state = await stateWithTwoProducers();
    await state.takeSnapshot(26n);
    await state.takeSnapshot(30n);
    await state.takeSnapshot(40n);
    await state.deleteSnapshotsBefore(30n);
    expect(state.snapshotOffsets()).toEqual([30n, 40n]);
    expect((await readdir(dir)).sort()).toEqual([snapshotFileName(30n), snapshotFileName(40n)]);
  });
});

// ---- rebuilding from the log ------------------------------------------------------------------------------------

interface CountingSource extends ProducerStateSegmentSource {
  reads: number;
}

/** Writes `bytes` as the segment file at `base` and returns a source reading it back. */
async function writeSegment(base: bigint, bytes: Buffer): Promise<CountingSource> {
  const path = join(dir, `${base.toString().padStart(20, '0')}.log`);
  await writeFile(path, bytes);
  const file = await nodeLogFs.open(path, 'r');
  openFiles.push(file);
  const source: CountingSource = {
    baseOffset: base,
    size: bytes.length,
    reads: 0,
    positionOf: () => 0,
    async read(position, length) {
      source.reads++;
      const buf = Buffer.alloc(length);
      let done = 0;
      while (done < length) {
        const n = await file.read(buf, done, length - done, position + done);
        if (n <= 0) throw new Error('short read');
        done += n;
      }
      return buf;
    },
  };
  return source;
}

/** Batches as the log stores them: offsets assigned, producer fields as sent. */
function logBatches(specs: Array<{ offset: bigint; pid: bigint; epoch: number; seq: number; records: number; ts?: bigint; attributes?: number }>): Buffer {
  return Buffer.concat(
    specs.map((s) =>
      buildRecordBatch({
        baseOffset: s.offset,
        producerId: s.pid,
        producerEpoch: s.epoch,
        baseSequence: s.seq,
        attributes: s.attributes ?? 0,
        baseTimestamp: s.ts ?? T0,
        records: Array.from({ length: s.records }, (_, i) => ({ value: `v${i}`, timestampDelta: 0 })),
      }),
    ),
  );
}

describe('load', () => {
  const SIX_BATCHES = [0, 1, 2, 3, 4, 5].map((i) => ({ offset: BigInt(i * 2), pid: 7n, epoch: 0, seq: i * 2, records: 2, ts: T0 + BigInt(i) }));

  it('after a crash without snapshots, rebuilds from batch headers: each of the last 5 batches is a duplicate', async () => {
    const segment = await writeSegment(0n, Buffer.concat([logBatches(SIX_BATCHES), logBatches([{ offset: 12n, pid: -1n, epoch: -1, seq: -1, records: 3 }])]));
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 15n, clean: false, segments: [segment] });
    for (let i = 1; i < 6; i++) {
      expect(state.checkAndPrepare(header(7n, 0, i * 2, 2))).toEqual({ kind: 'duplicate', firstOffset: BigInt(i * 2), lastOffset: BigInt(i * 2 + 1), timestamp: T0 + BigInt(i) });
    }
    expect(codeOf(() => state.checkAndPrepare(header(7n, 0, 0, 2)))).toBe(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    expect(state.checkAndPrepare(header(7n, 0, 12, 1))?.kind).toBe('append');
    expect(state.endOffset).toBe(15n);
    // The rebuilt state is snapshotted at the log end offset.
    expect(state.snapshotOffsets()).toEqual([15n]);
    expect(decodeProducerSnapshot(await readFile(join(dir, snapshotFileName(15n))))[0]!.lastSeq).toBe(11);
  });

  it('replays only the batches after the latest snapshot', async () => {
    const first = ProducerStateManager.empty(options());
    const log = new Appender(first);
    log.append(header(7n, 0, 0, 2), T0); // 0..1
    log.append(header(7n, 0, 2, 2), T0 + 1n); // 2..3
    log.written();
    await first.takeSnapshot(4n);
    // The log holds different producer fields below 4 than the snapshot: proof that they are not replayed.
    const bytes = logBatches([
      { offset: 0n, pid: 99n, epoch: 0, seq: 0, records: 2 },
      { offset: 2n, pid: 99n, epoch: 0, seq: 2, records: 2 },
      { offset: 4n, pid: 7n, epoch: 0, seq: 4, records: 2, ts: T0 + 2n },
    ]);
    const segment = await writeSegment(0n, bytes);
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 6n, clean: false, segments: [segment] });
    expect([...state.activeProducers().keys()]).toEqual([7n]);
    expect(state.checkAndPrepare(header(7n, 0, 2, 2))).toMatchObject({ kind: 'duplicate', firstOffset: 2n });
    expect(state.checkAndPrepare(header(7n, 0, 4, 2))).toMatchObject({ kind: 'duplicate', firstOffset: 4n, lastOffset: 5n });
  });

  it('ignores and deletes a corrupt snapshot, then rebuilds the state from the log', async () => {
    const segment = await writeSegment(0n, logBatches(SIX_BATCHES));
    const bogus = encodeProducerSnapshot([new ProducerStateEntry(55n, 0, -1, T0)]);
    bogus[12]! ^= 0x01; // inside the CRC'd range
    await writeFile(join(dir, snapshotFileName(12n)), bogus);
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 12n, clean: true, segments: [segment] });
    expect(captured.warnings().some((w) => /corrupt producer state snapshot/.test(w.msg) && /CRC mismatch/.test(String(w.reason)))).toBe(true);
    expect([...state.activeProducers().keys()]).toEqual([7n]);
    expect(state.checkAndPrepare(header(7n, 0, 10, 2))).toMatchObject({ kind: 'duplicate', firstOffset: 10n });
    // Rebuilt and snapshotted again, this time readable.
    expect(decodeProducerSnapshot(await readFile(join(dir, snapshotFileName(12n))))[0]!.producerId).toBe(7n);
  });

  it('falls back to an older snapshot when the newest one has an unknown version', async () => {
    const older = ProducerStateManager.empty(options());
    const log = new Appender(older);
    log.append(header(7n, 0, 0, 2));
    log.written();
    await older.takeSnapshot(2n);
    const newer = encodeProducerSnapshot([]);
    newer.writeInt16BE(9, 0);
    await writeFile(join(dir, snapshotFileName(4n)), newer);
    const s0 = await writeSegment(0n, logBatches([{ offset: 0n, pid: 99n, epoch: 0, seq: 0, records: 2 }]));
    const s2 = await writeSegment(2n, logBatches([{ offset: 2n, pid: 7n, epoch: 0, seq: 2, records: 2 }]));
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 4n, clean: false, segments: [s0, s2] });
    expect(captured.warnings().some((w) => /unknown snapshot version 9/.test(String(w.reason)))).toBe(true);
    // From the snapshot at 2 (producer 7's first batch), then the batch at 2 replayed; segment 0 is not read.
    expect(s0.reads).toBe(0);
    expect([...state.activeProducers().keys()]).toEqual([7n]);
    expect(state.lastEntry(7n)!.lastSeq).toBe(3);
    expect(state.snapshotOffsets()).toEqual([2n, 4n]);
    expect(decodeProducerSnapshot(await readFile(join(dir, snapshotFileName(4n))))[0]!.lastSeq).toBe(3);
  });

  it('deletes snapshots above the log end offset (the log was truncated by recovery)', async () => {
    const before = ProducerStateManager.empty(options());
    const log = new Appender(before);
    log.append(header(7n, 0, 0, 2)); // 0..1
    log.append(header(7n, 0, 2, 2)); // 2..3
    log.written();
    await before.takeSnapshot(4n);
    // Recovery truncated the log after the first batch: the snapshot at 4 describes data that is gone.
    const segment = await writeSegment(0n, logBatches([{ offset: 0n, pid: 7n, epoch: 0, seq: 0, records: 2 }]));
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 2n, clean: false, segments: [segment] });
    expect(state.lastEntry(7n)!.lastSeq).toBe(1);
    expect(state.checkAndPrepare(header(7n, 0, 2, 2))?.kind).toBe('append');
    expect(state.snapshotOffsets()).toEqual([2n]);
  });

  it('a clean start without any snapshot reads no segment and writes an empty snapshot at the log end offset', async () => {
    const segment = await writeSegment(0n, logBatches(SIX_BATCHES));
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 12n, clean: true, segments: [segment] });
    expect(segment.reads).toBe(0);
    expect(state.activeProducers().size).toBe(0);
    expect(state.snapshotOffsets()).toEqual([12n]);
  });

  it('removes stray snapshots and .snapshot.tmp leftovers at load', async () => {
    const s0 = await writeSegment(0n, logBatches([{ offset: 0n, pid: 7n, epoch: 0, seq: 0, records: 2 }]));
    const s2 = await writeSegment(2n, logBatches([{ offset: 2n, pid: 7n, epoch: 0, seq: 2, records: 2 }]));
    const empty = encodeProducerSnapshot([]);
    await writeFile(join(dir, snapshotFileName(1n)), empty); // stray, below the last segment base
    await writeFile(join(dir, snapshotFileName(2n)), empty);
    await writeFile(join(dir, `${snapshotFileName(3n)}.tmp`), empty);
    const state = await ProducerStateManager.load({ ...options(), logStartOffset: 0n, logEndOffset: 4n, clean: false, segments: [s0, s2] });
    const names = (await readdir(dir)).filter((n) => n.includes('.snapshot')).sort();
    expect(names).toEqual([snapshotFileName(2n), snapshotFileName(4n)]);
    // The snapshot at 2 was empty, so only the batch at 2 was replayed.
    expect(state.lastEntry(7n)!.batches).toHaveLength(1);
  });

  it('drops expired producers when loading a snapshot', async () => {
    const before = ProducerStateManager.empty(options());
    const log = new Appender(before);
    log.append(header(7n, 0, 0, 1), T0);
    log.append(header(8n, 0, 0, 1), T0 + 5_000n);
    log.written();
    await before.takeSnapshot(2n);
    const segment = await writeSegment(0n, Buffer.alloc(0));
    const state = await ProducerStateManager.load({
      ...options({ producerIdExpirationMs: 10_000, clock: () => Number(T0) + 12_000 }),
      logStartOffset: 0n,
      logEndOffset: 2n,
      clean: true,
      segments: [segment],
    });
    expect([...state.activeProducers().keys()]).toEqual([8n]);
  });
});

describe('expiration', () => {
  it('forgets a producer idle for producer.id.expiration.ms (from its last batch timestamp), then accepts any sequence', () => {
    const state = ProducerStateManager.empty(options({ producerIdExpirationMs: 1_000 }));
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 3), T0);
    log.written();
    expect(state.removeExpiredProducers(Number(T0) + 999)).toBe(0);
    expect(state.checkAndPrepare(header(7n, 0, 0, 3))?.kind).toBe('duplicate');
    expect(state.removeExpiredProducers(Number(T0) + 1_000)).toBe(1);
    expect(state.activeProducers().size).toBe(0);
    expect(state.checkAndPrepare(header(7n, 0, 0, 3))?.kind).toBe('append');
    expect(state.checkAndPrepare(header(7n, 0, 77, 1))?.kind).toBe('append');
  });

  it('keeps a producer with a batch still being written', () => {
    const state = ProducerStateManager.empty(options({ producerIdExpirationMs: 1_000 }));
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 1), T0);
    log.written();
    log.append(header(7n, 0, 1, 1), T0);
    expect(state.removeExpiredProducers(Number(T0) + 5_000)).toBe(0);
    log.written();
    expect(state.removeExpiredProducers(Number(T0) + 5_000)).toBe(1);
  });
});

describe('updateFromBatchHeader', () => {
  it('applies a stored batch header without validating it', () => {
    const state = ProducerStateManager.empty(options());
    const batch = buildRecordBatch({ baseOffset: 40n, producerId: 7n, producerEpoch: 3, baseSequence: 100, records: [{ value: 'a' }, { value: 'b' }] });
    expect(state.updateFromBatchHeader(readBatchHeader(batch))).toBe(true);
    expect(state.checkAndPrepare(header(7n, 3, 100, 2))).toMatchObject({ kind: 'duplicate', firstOffset: 40n, lastOffset: 41n });
    expect(state.endOffset).toBe(42n);
    expect(state.updateFromBatchHeader(readBatchHeader(buildRecordBatch({ baseOffset: 42n, records: [{ value: 'c' }] })))).toBe(false);
    expect(state.endOffset).toBe(43n);
  });
});

describe('transaction markers', () => {
  function marker(log: Appender, pid: bigint, epoch: number, commit: boolean, coordinatorEpoch = 0): bigint {
    const pending = log.state.checkMarker(pid, epoch, coordinatorEpoch, commit);
    const offset = log.nextOffset++;
    log.state.commitMarker(pending, offset, T0);
    return offset;
  }

  it('ends the transaction once the marker is written; an ABORT yields its aborted transaction with the LSO after it', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 0, 0, 2, TRANSACTIONAL)); // 0-1
    log.append(header(8n, 0, 0, 1, TRANSACTIONAL)); // 2
    log.written();
    expect(state.ongoingTransactions()).toEqual([{ firstOffset: 0n, producerId: 7n }, { firstOffset: 2n, producerId: 8n }]);
    const abortAt = marker(log, 7n, 0, false); // 3
    // Not written: still ongoing, nothing aborted yet.
    expect(state.firstUnstableOffset).toBe(0n);
    expect(state.takeAbortedTxns()).toEqual([]);
    log.written();
    expect(state.firstUnstableOffset).toBe(2n);
    expect(state.takeAbortedTxns()).toEqual([{ producerId: 7n, firstOffset: 0n, lastOffset: abortAt, lastStableOffset: 2n }]);
    const commitAt = marker(log, 8n, 0, true); // 4
    log.written();
    expect(commitAt).toBe(4n);
    expect(state.firstUnstableOffset).toBeUndefined();
    expect(state.takeAbortedTxns()).toEqual([]);
    // After the marker the producer may write non-transactional batches again.
    expect(state.checkAndPrepare(header(7n, 0, 2, 1))?.kind).toBe('append');
  });

  it('answers INVALID_PRODUCER_EPOCH for a marker older than the producer and TRANSACTION_COORDINATOR_FENCED for an older coordinator', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state);
    log.append(header(7n, 3, 0, 1, TRANSACTIONAL));
    log.written();
    expect(codeOf(() => state.checkMarker(7n, 2, 0, true))).toBe(ErrorCode.INVALID_PRODUCER_EPOCH);
    marker(log, 7n, 3, true, 5);
    log.written();
    log.append(header(7n, 3, 1, 1, TRANSACTIONAL));
    log.written();
    expect(codeOf(() => state.checkMarker(7n, 3, 4, false))).toBe(ErrorCode.TRANSACTION_COORDINATOR_FENCED);
    // A bumped epoch (the coordinator fencing the producer) is accepted.
    expect(state.checkMarker(7n, 4, 5, false).kind).toBe('marker');
  });

  it('an ABORT for a producer that wrote nothing here covers only the marker itself', () => {
    const state = ProducerStateManager.empty(options());
    const log = new Appender(state, 5n);
    const at = marker(log, 9n, 0, false);
    log.written();
    expect(state.takeAbortedTxns()).toEqual([{ producerId: 9n, firstOffset: at, lastOffset: at, lastStableOffset: at + 1n }]);
  });
});
