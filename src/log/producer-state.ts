// Per-partition producer state for idempotent and transactional producers: Kafka 3.9's ProducerStateManager,
// ProducerAppendInfo, ProducerStateEntry and BatchMetadata (storage/.../internals/log/), and its `.snapshot` files.
//
// What is kept, per producer id (ProducerStateEntry): the producer epoch, the metadata of its last
// NUM_BATCHES_TO_RETAIN (5) batches in sequence order (BatchMetadata: last sequence, last offset, offset delta,
// timestamp), the last timestamp, the coordinator epoch of the last end-transaction marker and the first offset of
// its ongoing transaction on this partition.
//
// Checking a produced batch (checkAndPrepare), in Kafka's order (UnifiedLog.analyzeAndValidateProducerState, then
// ProducerAppendInfo.checkProducerEpoch and checkSequence). `entry` is the producer's state including every batch
// accepted before this one, written or not; an unknown producer has epoch -1 and no batches:
//
//   condition                                                           outcome
//   producerId < 0 (not idempotent)                                     null: nothing to check or record
//   same epoch as entry, and (firstSeq, lastSeq) equals a retained      duplicate: answered with that batch's offsets
//     batch's                                                           and timestamp, nothing is written
//   epoch < entry epoch                                                 INVALID_PRODUCER_EPOCH (Kafka ≥ 2.7 answers
//                                                                       this on Produce, never PRODUCER_FENCED)
//   epoch > entry epoch, firstSeq != 0, entry epoch != -1               OUT_OF_ORDER_SEQUENCE_NUMBER (new epoch
//                                                                       must start at 0)
//   epoch > entry epoch otherwise                                       accepted (a bumped epoch, KIP-360; an
//                                                                       unknown producer accepts any sequence)
//   same epoch, entry epoch -1, or firstSeq follows the last retained   accepted (after Int.MAX comes 0; no
//     lastSeq (-1 when none)                                            retained batch: only 0 follows)
//   same epoch otherwise (a gap, or a retry older than the 5 kept)      OUT_OF_ORDER_SEQUENCE_NUMBER
//   non-transactional batch while a transaction is ongoing              INVALID_TXN_STATE
//
// A batch a coordinator writes (origin 'coordinator': the group coordinator's transactional offset commits on
// `__consumer_offsets`) has only its epoch checked, as Kafka's AppendOrigin.COORDINATOR: no duplicate detection,
// no sequence rule.
//
// A batch a follower appends as its leader wrote it (commitReplicated, Kafka's AppendOrigin.REPLICATION) is
// recorded without any check; its markers end transactions the same way. With a managed high watermark
// (replication), a transaction whose marker is written but not yet below the high watermark keeps holding the
// first unstable offset (Kafka's unreplicatedTxns) until onHighWatermarkUpdated passes it. A replica's truncation
// reloads the state (truncateAndReload: snapshots above the cut deleted, the newest below it loaded, the rest of
// the log replayed) or clears it (truncateFullyAndStartAt).
//
// A transactional batch from a producer without an ongoing transaction here starts one at its first offset
// (Kafka 3.9 with transaction version 0/1: the partition trusts the coordinator's AddPartitionsToTxn and does not
// verify it, KIP-890's verification being off by default).
//
// Transaction markers (checkMarker, then commitMarker; Kafka's ProducerAppendInfo.appendEndTxnMarker), written
// by the transaction coordinator only:
//
//   condition                                                           outcome
//   marker epoch < the producer's epoch                                 INVALID_PRODUCER_EPOCH
//   marker coordinator epoch < the last marker's coordinator epoch      TRANSACTION_COORDINATOR_FENCED
//   otherwise                                                           the transaction ends: from its first
//                                                                       offset (the marker's own offset when the
//                                                                       producer wrote nothing here) to the marker
//
// Ongoing transactions, oldest first, give the partition's first unstable offset (firstUnstableOffset); the
// last stable offset is that or the high watermark, whichever is lower (PartitionLog). An ABORT marker, once
// written, yields an AbortedTxn (takeAbortedTxns) with the LSO it leaves behind, for the `.txnindex`
// (txn-index.ts). Both are kept in the written view only: a marker not yet written leaves its transaction open.
//
// Kafka 3.9 never answers UNKNOWN_PRODUCER_ID on Produce: a producer it does not know (expired, or its batches
// removed by retention) "accepts writes with any sequence number" (ProducerAppendInfo.checkSequence). Neither do
// we. A negative baseSequence with a producer id is INVALID_RECORD, checked earlier by validateProducedRecords.
//
// Two views of the state, because Eddy writes asynchronously (PartitionLog's queue) while Kafka writes to the page
// cache under its log lock:
//
//   view       contains                                  used by
//   in flight  every accepted batch, in arrival order    checkAndPrepare (a second batch from the same producer,
//              (an overlay: only producers with          checked before the first one's write completes, must see
//              unwritten batches have an entry here)     it; a retry of a batch still being written is a duplicate)
//   written    batches whose write completed             snapshots, expiration, activeProducers()
//
// commit() adds an accepted batch to the in-flight view and to a FIFO of unwritten batches; onWritten(endOffset),
// called once a write completes, moves the batches below endOffset into the written view. So a snapshot taken at a
// segment roll (when every batch below the new base offset is written and none above is) holds exactly the state
// below its offset, which is what recovery needs. When a write fails the partition goes offline and is reloaded
// from disk (LogManager, offline-partitions.ts): this object is discarded with its PartitionLog and the new one is
// rebuilt from snapshot + log, so nothing is ever rolled back here.
//
// Expiration (Kafka's removeExpiredProducers, isProducerExpired): a producer without an ongoing transaction whose
// last batch timestamp (the batch's maxTimestamp, as Kafka uses it) is `producer.id.expiration.ms` or more in the
// past is forgotten; so are expired entries in a snapshot being loaded. A producer with unwritten batches is not
// idle and is kept.
//
// Snapshot file `<dir>/<20-digit offset>.snapshot` (Kafka's ProducerStateManager.writeSnapshot, schema
// PID_SNAPSHOT_MAP_SCHEMA, version 1), big-endian; the offset in the name is the first offset NOT covered (every
// batch below it is in the snapshot, none at or above it):
//
//   off   size  field                       notes
//   0     2     version          int16      1
//   2     4     crc              uint32     CRC-32C (Castagnoli) of bytes 6..end of file
//   6     4     entry count      int32      n >= 0
//   10    46·n  entries, each:
//     +0  8     producer_id      int64
//     +8  2     epoch            int16
//     +10 4     last_sequence    int32      -1 when the producer has no retained batch
//     +14 8     last_offset      int64      -1 when the producer has no retained batch
//     +22 4     offset_delta     int32      last_offset - first offset of that batch (0 when none)
//     +26 8     timestamp        int64      the producer's last timestamp
//     +34 4     coordinator_epoch int32     -1 until an end-transaction marker was written
//     +38 8     current_txn_first_offset int64  -1 when no transaction is ongoing
//
// Only the last batch of each producer is stored (as in Kafka): after a restart from a snapshot, only a retry of a
// producer's last batch before the snapshot is recognised as a duplicate; batches replayed from the log after the
// snapshot are all retained again. Bytes after the last entry are covered by the CRC and otherwise ignored (Kafka's
// Schema.read does the same).
//
// A reader treats as corrupt a file too short for its count, a negative count, a version other than 1 or a CRC
// mismatch (checked in that order, as Kafka's readSnapshot): it logs a warning, deletes the file and falls back to
// the next older snapshot, down to none (then the state is rebuilt from the log start). A newer Eddy that changes
// the format must bump the version; an older reader then rebuilds from the log, which is slow but correct.
// Snapshots are written whole to a temp file and renamed, without fsync (takeSnapshot says why that is safe;
// Kafka writes in place and fsyncs); a leftover `.snapshot.tmp` is deleted at load.
//
// Which snapshots exist (Kafka's rules): one at each segment roll (at the new segment's base offset, written after
// the old segment is fsynced, so a durable snapshot never covers data a crash could lose), one at clean shutdown
// (at the log end offset), one after recovery replayed producer batches, and an empty one at the log end offset
// on a clean start that found none (a data dir from before producer state). At load, snapshots that match no segment
// base offset are removed except the newest one (removeStraySnapshots), then those above the log end offset or at
// or below the log start offset (truncateAndReload). deleteSnapshotsBefore(logStartOffset) removes those of
// deleted segments. Producer state lives with its partition directory, so it is replicated with the log later.
import type { Logger } from 'pino';
import { crc32c } from '@node-rs/crc32';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import {
  ATTRIBUTES_OFFSET,
  BASE_SEQUENCE_OFFSET,
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAX_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  isControlBatch,
  isTransactional,
  type RecordBatchHeader,
} from '../protocol/records/batch.js';
import type { LogFs } from './fs.js';
import type { AbortedTxn } from './txn-index.js';
import { readEndTxnMarker, type EndTxnMarker } from '../protocol/records/control-batch.js';

export const NUM_BATCHES_TO_RETAIN = 5;
/** Kafka's `producer.id.expiration.ms` default: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;
/** Kafka's `producer.id.expiration.check.interval.ms` default: how often LogManager calls removeExpiredProducers. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS = 600_000;
export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
export const NO_SEQUENCE = -1;
export const SNAPSHOT_SUFFIX = '.snapshot';
export const PRODUCER_SNAPSHOT_VERSION = 1;
const INT32_MAX = 0x7fffffff;
const SNAPSHOT_HEADER_BYTES = 10;
const SNAPSHOT_ENTRY_BYTES = 46;
const SNAPSHOT_CRC_START = 6;
const PRODUCER_EPOCH_OFFSET = 51;
/** Bytes read per syscall while replaying batch headers (bodies of large batches are skipped, not read). */
const HEADER_READ_BYTES = 64 * 1024;

/** Kafka's DefaultRecordBatch.incrementSequence: sequences wrap from Int.MAX to 0. */
export function incrementSequence(sequence: number, increment: number): number {
  return sequence > INT32_MAX - increment ? increment - (INT32_MAX - sequence) - 1 : sequence + increment;
}

/** Kafka's DefaultRecordBatch.decrementSequence. */
export function decrementSequence(sequence: number, decrement: number): number {
  return sequence < decrement ? INT32_MAX - (decrement - sequence) + 1 : sequence - decrement;
}

function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

/** One retained batch of a producer (Kafka's BatchMetadata). */
export interface BatchMetadata {
  readonly lastSeq: number;
  readonly lastOffset: bigint;
  /** lastOffset - firstOffset. */
  readonly offsetDelta: number;
  /** The batch's maxTimestamp as written (the append time on LogAppendTime topics). */
  readonly timestamp: bigint;
}

export function batchFirstSeq(batch: BatchMetadata): number {
  return decrementSequence(batch.lastSeq, batch.offsetDelta);
}

export function batchFirstOffset(batch: BatchMetadata): bigint {
  return batch.lastOffset - BigInt(batch.offsetDelta);
}

/** The state of one producer id on this partition (Kafka's ProducerStateEntry). */
export class ProducerStateEntry {
  /** Oldest first; at most NUM_BATCHES_TO_RETAIN, all of the current epoch. */
  readonly batches: BatchMetadata[] = [];

  constructor(
    readonly producerId: bigint,
    public producerEpoch: number = NO_PRODUCER_EPOCH,
    /** Epoch of the transaction coordinator that wrote the last end-transaction marker; -1 before any. */
    public coordinatorEpoch = -1,
    public lastTimestamp = -1n,
    /** First offset of the ongoing transaction on this partition; undefined when none. */
    public currentTxnFirstOffset: bigint | undefined = undefined,
  ) {}

  get lastSeq(): number {
    return this.batches.length === 0 ? NO_SEQUENCE : this.batches[this.batches.length - 1]!.lastSeq;
  }

  get firstSeq(): number {
    return this.batches.length === 0 ? NO_SEQUENCE : batchFirstSeq(this.batches[0]!);
  }

  get lastDataOffset(): bigint {
    return this.batches.length === 0 ? -1n : this.batches[this.batches.length - 1]!.lastOffset;
  }

  get lastOffsetDelta(): number {
    return this.batches.length === 0 ? 0 : this.batches[this.batches.length - 1]!.offsetDelta;
  }

  clone(): ProducerStateEntry {
    const copy = new ProducerStateEntry(this.producerId, this.producerEpoch, this.coordinatorEpoch, this.lastTimestamp, this.currentTxnFirstOffset);
    for (const b of this.batches) copy.batches.push(b);
    return copy;
  }

  /** The retained batch with exactly this sequence range, in this epoch (Kafka's findDuplicateBatch). */
  findDuplicateBatch(producerEpoch: number, firstSeq: number, lastSeq: number): BatchMetadata | undefined {
    if (producerEpoch !== this.producerEpoch) return undefined;
    for (const b of this.batches) if (b.lastSeq === lastSeq && batchFirstSeq(b) === firstSeq) return b;
    return undefined;
  }

  /** A new epoch forgets the old epoch's batches (Kafka's maybeUpdateProducerEpoch). */
  private updateEpoch(producerEpoch: number): void {
    if (this.producerEpoch !== producerEpoch) {
      this.batches.length = 0;
      this.producerEpoch = producerEpoch;
    }
  }

  /** Records a data batch (Kafka's addBatch). */
  addBatch(producerEpoch: number, lastSeq: number, lastOffset: bigint, offsetDelta: number, timestamp: bigint): void {
    this.updateEpoch(producerEpoch);
    if (this.batches.length === NUM_BATCHES_TO_RETAIN) this.batches.shift();
    this.batches.push({ lastSeq, lastOffset, offsetDelta, timestamp });
    this.lastTimestamp = timestamp;
  }

  /** Records an end-transaction marker (Kafka's update(epoch, coordinatorEpoch, timestamp)). */
  endTransaction(producerEpoch: number, coordinatorEpoch: number, timestamp: bigint): void {
    this.updateEpoch(producerEpoch);
    this.coordinatorEpoch = coordinatorEpoch;
    this.currentTxnFirstOffset = undefined;
    this.lastTimestamp = timestamp;
  }
}

/** A batch that checkAndPrepare accepted, to be passed to commit() once its offsets are assigned. */
export interface PendingProducerAppend {
  readonly kind: 'append';
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly lastSeq: number;
  readonly lastOffsetDelta: number;
  readonly isTransactional: boolean;
}

/** A transaction marker that checkMarker accepted, to be passed to commitMarker once its offset is assigned. */
export interface PendingMarker {
  readonly kind: 'marker';
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly coordinatorEpoch: number;
  readonly commit: boolean;
}

/** A retry of a batch already accepted: answer with its offsets and write nothing. */
export interface DuplicateProducerAppend {
  readonly kind: 'duplicate';
  readonly firstOffset: bigint;
  readonly lastOffset: bigint;
  /** The original batch's timestamp: Kafka answers it as the partition's logAppendTimeMs (UnifiedLog.append). */
  readonly timestamp: bigint;
}

export type ProducerAppendCheck = PendingProducerAppend | DuplicateProducerAppend;

interface UnwrittenAppend {
  pending: PendingProducerAppend | PendingMarker;
  firstOffset: bigint;
  lastOffset: bigint;
  timestamp: bigint;
}

interface InFlightEntry {
  entry: ProducerStateEntry;
  /** Batches of this producer in the unwritten FIFO. */
  unwritten: number;
}

/** One segment, as load() reads it to replay batch headers. */
export interface ProducerStateSegmentSource {
  readonly baseOffset: bigint;
  /** Bytes of whole batches in the segment (after recovery). */
  readonly size: number;
  /** A batch boundary at or before the batch containing `offset` (an offset-index lookup; 0 is always right). */
  positionOf(offset: bigint): number | Promise<number>;
  read(position: number, length: number): Promise<Buffer>;
}

export interface ProducerStateOptions {
  fs: LogFs;
  dir: string;
  topic: string;
  partition: number;
  logger: Logger;
  /** `producer.id.expiration.ms`. */
  producerIdExpirationMs?: number;
  /** Epoch milliseconds; injectable for tests. */
  clock?: () => number;
}

export interface ProducerStateLoadOptions extends ProducerStateOptions {
  logStartOffset: bigint;
  logEndOffset: bigint;
  /** True when the data dir had a clean-shutdown marker. */
  clean: boolean;
  /** The log's segments after recovery, oldest first. */
  segments: readonly ProducerStateSegmentSource[];
}

export class CorruptSnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptSnapshotError';
  }
}

export function snapshotFileName(offset: bigint): string {
  return `${offset.toString().padStart(20, '0')}${SNAPSHOT_SUFFIX}`;
}

export function parseSnapshotFileName(name: string): bigint | undefined {
  const m = /^(\d{20})\.snapshot$/.exec(name);
  return m ? BigInt(m[1]!) : undefined;
}

/** Encodes entries in the snapshot format above (Kafka's writeSnapshot). */
export function encodeProducerSnapshot(entries: Iterable<ProducerStateEntry>): Buffer {
  const list = [...entries];
  const buf = Buffer.alloc(SNAPSHOT_HEADER_BYTES + SNAPSHOT_ENTRY_BYTES * list.length);
  buf.writeInt16BE(PRODUCER_SNAPSHOT_VERSION, 0);
  buf.writeInt32BE(list.length, 6);
  let pos = SNAPSHOT_HEADER_BYTES;
  for (const e of list) {
    buf.writeBigInt64BE(e.producerId, pos);
    buf.writeInt16BE(e.producerEpoch, pos + 8);
    buf.writeInt32BE(e.lastSeq, pos + 10);
    buf.writeBigInt64BE(e.lastDataOffset, pos + 14);
    buf.writeInt32BE(e.lastOffsetDelta, pos + 22);
    buf.writeBigInt64BE(e.lastTimestamp, pos + 26);
    buf.writeInt32BE(e.coordinatorEpoch, pos + 34);
    buf.writeBigInt64BE(e.currentTxnFirstOffset ?? -1n, pos + 38);
    pos += SNAPSHOT_ENTRY_BYTES;
  }
  buf.writeUInt32BE(crc32c(buf.subarray(SNAPSHOT_CRC_START)) >>> 0, 2);
  return buf;
}

/** Decodes a snapshot (Kafka's readSnapshot); throws CorruptSnapshotError as the format header describes. */
export function decodeProducerSnapshot(buf: Buffer): ProducerStateEntry[] {
  if (buf.length < SNAPSHOT_HEADER_BYTES) throw new CorruptSnapshotError(`snapshot of ${buf.length} bytes is shorter than its header`);
  const version = buf.readInt16BE(0);
  const count = buf.readInt32BE(6);
  if (count < 0) throw new CorruptSnapshotError(`negative entry count ${count}`);
  if (SNAPSHOT_HEADER_BYTES + count * SNAPSHOT_ENTRY_BYTES > buf.length) {
    throw new CorruptSnapshotError(`${count} entries do not fit in ${buf.length} bytes`);
  }
  if (version !== PRODUCER_SNAPSHOT_VERSION) throw new CorruptSnapshotError(`unknown snapshot version ${version}`);
  const storedCrc = buf.readUInt32BE(2);
  const crc = crc32c(buf.subarray(SNAPSHOT_CRC_START)) >>> 0;
  if (crc !== storedCrc) throw new CorruptSnapshotError(`CRC mismatch: stored ${storedCrc}, computed ${crc}`);
  const entries: ProducerStateEntry[] = [];
  let pos = SNAPSHOT_HEADER_BYTES;
  for (let i = 0; i < count; i++, pos += SNAPSHOT_ENTRY_BYTES) {
    const timestamp = buf.readBigInt64BE(pos + 26);
    const txnFirstOffset = buf.readBigInt64BE(pos + 38);
    const entry = new ProducerStateEntry(
      buf.readBigInt64BE(pos),
      buf.readInt16BE(pos + 8),
      buf.readInt32BE(pos + 34),
      timestamp,
      txnFirstOffset >= 0n ? txnFirstOffset : undefined,
    );
    const lastOffset = buf.readBigInt64BE(pos + 14);
    if (lastOffset >= 0n) {
      entry.batches.push({ lastSeq: buf.readInt32BE(pos + 10), lastOffset, offsetDelta: buf.readInt32BE(pos + 22), timestamp });
    }
    entries.push(entry);
  }
  return entries;
}

const NO_PRODUCERS: ReadonlyMap<bigint, ProducerStateEntry> = new Map();
/** Shared while nothing is unwritten; replaced (never pushed to) by the first commit(). */
const NO_UNWRITTEN: UnwrittenAppend[] = [];
const NO_ABORTED: AbortedTxn[] = [];

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Who writes a batch (Kafka's AppendOrigin): a client's produce or a coordinator's own write. */
export type AppendOrigin = 'client' | 'coordinator';

export class ProducerStateManager {
  private readonly fs: LogFs;
  private readonly dir: string;
  private readonly topic: string;
  private readonly partition: number;
  private readonly logger: Logger;
  private readonly clock: () => number;
  private producerIdExpirationMs: number;
  // The maps are created on first use: most of a broker's partitions never see an idempotent producer, and an
  // empty Map costs about 100 bytes each.
  /** The written view: batches whose write completed. */
  private producers: Map<bigint, ProducerStateEntry> | undefined;
  /** The in-flight overlay: producers with unwritten batches, with those batches applied. */
  private inFlight: Map<bigint, InFlightEntry> | undefined;
  /** Accepted batches not yet written, in arrival (= offset) order. */
  private unwritten: UnwrittenAppend[] = NO_UNWRITTEN;
  /** Offsets of the snapshot files on disk, ascending. */
  private snapshots: bigint[] = [];
  /** The written view covers every batch below this offset (Kafka's lastMapOffset). */
  private mapEndOffset = 0n;
  /** Offset of the newest snapshot taken (Kafka's lastSnapOffset). */
  private lastSnapOffset = 0n;
  /** Ongoing transactions of the written view, by first offset ascending (Kafka's ongoingTxns). */
  private ongoing: Array<{ firstOffset: bigint; producerId: bigint }> = [];
  /** ABORT markers written since the last takeAbortedTxns(), for the aborted-transaction index. */
  private abortedSinceTaken: AbortedTxn[] = [];
  /** Completed transactions whose marker is not yet below the high watermark, by first offset (Kafka's unreplicatedTxns). */
  private unreplicated: Array<{ firstOffset: bigint; lastOffset: bigint }> = [];
  private trackUnreplicated = false;

  private constructor(options: ProducerStateOptions) {
    this.fs = options.fs;
    this.dir = options.dir;
    this.topic = options.topic;
    this.partition = options.partition;
    this.logger = options.logger;
    this.clock = options.clock ?? Date.now;
    this.producerIdExpirationMs = options.producerIdExpirationMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_MS;
  }

  /** The state of a new, empty log: no files are read or written. */
  static empty(options: ProducerStateOptions): ProducerStateManager {
    return new ProducerStateManager(options);
  }

  /**
   * Loads the state of a log after its segments were loaded and recovered (Kafka's LogLoader →
   * UnifiedLog.rebuildProducerState → truncateAndReload → loadFromSnapshot → loadProducersFromRecords):
   *
   *   1 list `.snapshot` files (deleting `.snapshot.tmp` leftovers) and remove stray ones
   *   2 clean start without any snapshot (a log written before producer state existed): no scan; the state
   *     starts empty at the log end offset, and an empty snapshot is written there so that a later crash does
   *     not replay the whole log (Kafka writes empty ones at the last two segment bases and the log end offset)
   *   3 otherwise delete snapshots above the log end offset or at/below the log start offset, load the newest
   *     readable one (corrupt ones are deleted, falling back to older ones, then to none), dropping expired
   *     producers
   *   4 replay batch headers from the snapshot's offset (or the log start) to the log end offset, without
   *     validation (Kafka's AppendOrigin.REPLICATION) and without decoding records; snapshots are taken at the
   *     base offsets of the last two segments on the way, as Kafka does
   *   5 when step 4 applied any producer batch, write a snapshot at the log end offset
   */
  static async load(options: ProducerStateLoadOptions): Promise<ProducerStateManager> {
    const state = new ProducerStateManager(options);
    const { logStartOffset, logEndOffset, segments } = options;
    await state.listSnapshots();
    await state.removeStraySnapshots(segments.map((s) => s.baseOffset));
    if (state.snapshots.length === 0 && options.clean) {
      state.mapEndOffset = logEndOffset;
      if (logEndOffset > 0n) await state.takeSnapshot(logEndOffset);
      return state;
    }
    await state.reloadFromSnapshot(logStartOffset, logEndOffset, segments);
    return state;
  }

  /** Steps 3 to 5 of load(): out-of-range snapshots deleted, the newest readable one loaded, the log replayed after it. */
  private async reloadFromSnapshot(logStartOffset: bigint, logEndOffset: bigint, segments: readonly ProducerStateSegmentSource[]): Promise<void> {
    for (const offset of [...this.snapshots]) {
      if (offset > logEndOffset || offset <= logStartOffset) await this.deleteSnapshot(offset);
    }
    await this.loadLatestSnapshot(logStartOffset);
    this.rebuildOngoing();

    const snapshotBases = new Set(segments.slice(-2).map((s) => s.baseOffset));
    let applied = 0;
    if (this.mapEndOffset < logEndOffset) {
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i]!;
        const segmentEnd = i + 1 < segments.length ? segments[i + 1]!.baseOffset : logEndOffset;
        if (segmentEnd <= this.mapEndOffset) continue;
        let from = segment.baseOffset;
        if (this.mapEndOffset > from) from = this.mapEndOffset;
        if (logStartOffset > from) from = logStartOffset;
        this.mapEndOffset = from;
        if (from === segment.baseOffset && snapshotBases.has(from)) await this.takeSnapshot(from);
        applied += await this.replaySegment(segment, from, logEndOffset);
      }
    }
    this.mapEndOffset = logEndOffset;
    if (applied > 0) await this.takeSnapshot(logEndOffset);
  }

  /**
   * Kafka's truncateAndReload (through UnifiedLog.rebuildProducerState), after a replica's log was cut at
   * `logEndOffset` (truncation.ts; the append queue is idle, so nothing is unwritten): snapshots above the new end
   * or at/below the log start go, and the state is rebuilt from the newest remaining snapshot plus the batch headers
   * after it. As Kafka does, a state that knew no producer and already covered the new end skips the reload (the
   * truncation cannot have added one). Transactions completed but not yet replicated are forgotten (the new end is
   * where the leader's log agrees with ours).
   */
  async truncateAndReload(logStartOffset: bigint, logEndOffset: bigint, segments: readonly ProducerStateSegmentSource[]): Promise<void> {
    const wasEmpty = (this.producers === undefined || this.producers.size === 0) && this.mapEndOffset >= logEndOffset;
    this.producers = undefined;
    this.inFlight = undefined;
    this.unwritten = NO_UNWRITTEN;
    this.ongoing = [];
    this.unreplicated = [];
    this.abortedSinceTaken = [];
    this.lastSnapOffset = 0n;
    if (wasEmpty) {
      for (const offset of [...this.snapshots]) {
        if (offset > logEndOffset || offset <= logStartOffset) await this.deleteSnapshot(offset);
      }
      this.mapEndOffset = logEndOffset;
      this.lastSnapOffset = this.snapshots.at(-1) ?? 0n;
      return;
    }
    await this.reloadFromSnapshot(logStartOffset, logEndOffset, segments);
  }

  /** Kafka's truncateFullyAndStartAt: every snapshot deleted, no producer known, the state starts at `offset`. */
  async truncateFullyAndStartAt(offset: bigint): Promise<void> {
    this.producers = undefined;
    this.inFlight = undefined;
    this.unwritten = NO_UNWRITTEN;
    this.ongoing = [];
    this.unreplicated = [];
    this.abortedSinceTaken = [];
    for (const o of [...this.snapshots]) await this.deleteSnapshot(o);
    this.lastSnapOffset = 0n;
    this.mapEndOffset = offset;
  }

  /**
   * A batch a leader wrote, appended by a follower (Kafka's AppendOrigin.REPLICATION, PartitionLog.appendAsFollower):
   * recorded like an accepted batch (commit / commitMarker, so the written view follows the writes), without any
   * epoch, sequence or transaction check. `marker` is the control batch's COMMIT/ABORT record (a control batch
   * without one ends nothing, as in Kafka).
   */
  commitReplicated(header: RecordBatchHeader, marker: EndTxnMarker | undefined): void {
    if (header.producerId < 0n) return;
    if (isControlBatch(header.attributes)) {
      if (marker === undefined) return;
      const pending: PendingMarker = {
        kind: 'marker',
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        coordinatorEpoch: marker.coordinatorEpoch,
        commit: marker.commit,
      };
      this.commitMarker(pending, header.baseOffset, header.maxTimestamp);
      return;
    }
    const pending: PendingProducerAppend = {
      kind: 'append',
      producerId: header.producerId,
      producerEpoch: header.producerEpoch,
      lastSeq: incrementSequence(header.baseSequence, header.lastOffsetDelta),
      lastOffsetDelta: header.lastOffsetDelta,
      isTransactional: isTransactional(header.attributes),
    };
    this.commit(pending, header.baseOffset, header.maxTimestamp);
  }

  /**
   * Managed high watermark (PartitionLog.setHighWatermarkManaged): a transaction whose marker is written but not yet
   * below the high watermark keeps holding the last stable offset at its first offset (Kafka's unreplicatedTxns),
   * until onHighWatermarkUpdated passes the marker. Off by default: the single broker's HW follows every write.
   */
  setTrackUnreplicatedTransactions(track: boolean): void {
    this.trackUnreplicated = track;
    if (!track) this.unreplicated = [];
  }

  /** Kafka's onHighWatermarkUpdated: completed transactions whose marker is below `highWatermark` stop holding the LSO. */
  onHighWatermarkUpdated(highWatermark: bigint): void {
    if (this.unreplicated.length === 0) return;
    this.unreplicated = this.unreplicated.filter((t) => t.lastOffset >= highWatermark);
  }

  /** `producer.id.expiration.ms` changed (a dynamic broker config in Kafka). */
  setProducerIdExpirationMs(ms: number): void {
    this.producerIdExpirationMs = ms;
  }

  /** Offsets of the snapshot files on disk, ascending (tests, tools). */
  snapshotOffsets(): bigint[] {
    return [...this.snapshots];
  }

  /** The written view covers every batch below this offset. */
  get endOffset(): bigint {
    return this.mapEndOffset;
  }

  /** Producers with written batches (DescribeProducers later; tests). */
  activeProducers(): ReadonlyMap<bigint, ProducerStateEntry> {
    return this.producers ?? NO_PRODUCERS;
  }

  /** The producer's state including unwritten batches. */
  lastEntry(producerId: bigint): ProducerStateEntry | undefined {
    return this.inFlight?.get(producerId)?.entry ?? this.producers?.get(producerId);
  }

  /**
   * Checks a produced batch against its producer's state, synchronously, before offsets are assigned: the rules
   * table at the top of this file. Returns null for a batch without a producer id, a duplicate to answer with
   * the original offsets, or a pending append to pass to commit(); throws KafkaError otherwise. Nothing changes
   * until commit(), and nothing may happen between the two calls (they run in one synchronous section of
   * PartitionLog.append, so appends are checked and committed in arrival order).
   */
  checkAndPrepare(header: RecordBatchHeader, origin: AppendOrigin = 'client'): ProducerAppendCheck | null {
    const { producerId } = header;
    if (producerId < 0n) return null;
    const epoch = header.producerEpoch;
    const firstSeq = header.baseSequence;
    const lastSeq = incrementSequence(firstSeq, header.lastOffsetDelta);
    const transactional = isTransactional(header.attributes);
    const entry = this.lastEntry(producerId);
    if (entry !== undefined && origin === 'client') {
      const duplicate = entry.findDuplicateBatch(epoch, firstSeq, lastSeq);
      if (duplicate !== undefined) {
        return { kind: 'duplicate', firstOffset: batchFirstOffset(duplicate), lastOffset: duplicate.lastOffset, timestamp: duplicate.timestamp };
      }
    }
    const ongoingTxn = entry?.currentTxnFirstOffset !== undefined;
    const currentEpoch = entry?.producerEpoch ?? NO_PRODUCER_EPOCH;
    if (epoch < currentEpoch) {
      throw new KafkaError(
        ErrorCode.INVALID_PRODUCER_EPOCH,
        `epoch ${epoch} of producer ${producerId} in ${this.topic}-${this.partition} is smaller than the last seen epoch ${currentEpoch}`,
      );
    }
    if (origin === 'coordinator') {
      // Kafka's maybeValidateDataBatch: only a client's batches have their sequence checked.
    } else if (epoch !== currentEpoch) {
      if (firstSeq !== 0 && currentEpoch !== NO_PRODUCER_EPOCH) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `invalid sequence ${firstSeq} for new epoch ${epoch} of producer ${producerId} in ${this.topic}-${this.partition} (current epoch ${currentEpoch}): a new epoch starts at 0`,
        );
      }
    } else {
      const currentLastSeq = entry?.lastSeq ?? NO_SEQUENCE;
      if (currentEpoch !== NO_PRODUCER_EPOCH && !inSequence(currentLastSeq, firstSeq)) {
        throw new KafkaError(
          ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
          `out of order sequence ${firstSeq} for producer ${producerId} in ${this.topic}-${this.partition}: last sequence ${currentLastSeq}`,
        );
      }
    }
    if (ongoingTxn && !transactional) {
      throw new KafkaError(ErrorCode.INVALID_TXN_STATE, `non-transactional batch from producer ${producerId} during its ongoing transaction`);
    }
    return { kind: 'append', producerId, producerEpoch: epoch, lastSeq, lastOffsetDelta: header.lastOffsetDelta, isTransactional: transactional };
  }

  /**
   * Records an accepted batch once its offsets are assigned (synchronously after checkAndPrepare). `timestamp` is
   * the batch's maxTimestamp as it will be written (the append time on LogAppendTime topics).
   */
  commit(pending: PendingProducerAppend, firstOffset: bigint, timestamp: bigint): void {
    const inFlightMap = (this.inFlight ??= new Map());
    let inFlight = inFlightMap.get(pending.producerId);
    if (inFlight === undefined) {
      const written = this.producers?.get(pending.producerId);
      inFlight = { entry: written?.clone() ?? new ProducerStateEntry(pending.producerId), unwritten: 0 };
      inFlightMap.set(pending.producerId, inFlight);
    }
    if (this.unwritten === NO_UNWRITTEN) this.unwritten = [];
    const lastOffset = firstOffset + BigInt(pending.lastOffsetDelta);
    applyDataBatch(inFlight.entry, pending, firstOffset, lastOffset, timestamp);
    inFlight.unwritten++;
    this.unwritten.push({ pending, firstOffset, lastOffset, timestamp });
  }

  /**
   * Every batch below `endOffset` is written (called by the append path after each completed write, and before
   * the next roll): moves those batches from the in-flight overlay into the written view.
   */
  onWritten(endOffset: bigint): void {
    let done = 0;
    while (done < this.unwritten.length && this.unwritten[done]!.lastOffset < endOffset) {
      const u = this.unwritten[done++]!;
      const pid = u.pending.producerId;
      const entry = this.entryFor(pid);
      if (u.pending.kind === 'marker') this.applyWrittenMarker(entry, u.pending, u.firstOffset, u.timestamp);
      else this.applyWrittenData(entry, u.pending, u.firstOffset, u.lastOffset, u.timestamp);
      const inFlight = this.inFlight!.get(pid)!;
      if (--inFlight.unwritten === 0) this.inFlight!.delete(pid);
    }
    if (done > 0) {
      if (done === this.unwritten.length) {
        this.unwritten = NO_UNWRITTEN;
        this.inFlight = undefined;
      } else {
        this.unwritten.splice(0, done);
      }
    }
    if (endOffset > this.mapEndOffset) this.mapEndOffset = endOffset;
  }

  /**
   * Applies a batch read back from the log (its header already carries its offsets), without validation: the
   * rebuild after the latest snapshot (Kafka's loadProducersFromRecords with AppendOrigin.REPLICATION). A control
   * batch ends its producer's transaction; `coordinatorEpoch` comes from its marker record, which the caller
   * decodes once transactions exist (until then no control batch is ever written). Returns false for a batch
   * without a producer id.
   */
  updateFromBatchHeader(header: RecordBatchHeader, marker?: EndTxnMarker): boolean {
    return this.applyHeaderFields(
      header.producerId,
      header.producerEpoch,
      header.baseSequence,
      header.attributes,
      header.baseOffset,
      header.lastOffsetDelta,
      header.maxTimestamp,
      marker,
    );
  }

  private applyHeaderFields(
    producerId: bigint,
    producerEpoch: number,
    baseSequence: number,
    attributes: number,
    baseOffset: bigint,
    lastOffsetDelta: number,
    maxTimestamp: bigint,
    marker: EndTxnMarker | undefined,
  ): boolean {
    const lastOffset = baseOffset + BigInt(lastOffsetDelta);
    if (lastOffset + 1n > this.mapEndOffset) this.mapEndOffset = lastOffset + 1n;
    if (producerId < 0n) return false;
    const entry = this.entryFor(producerId);
    if (producerEpoch < entry.producerEpoch) {
      // Kafka only warns for replicated appends; the batch is in the log, so its state is recorded anyway.
      this.logger.warn(
        { topic: this.topic, partition: this.partition, producerId: producerId.toString(), producerEpoch, lastEpoch: entry.producerEpoch, offset: baseOffset.toString() },
        'batch in the log has an epoch older than an earlier batch of its producer',
      );
    }
    if (isControlBatch(attributes)) {
      // A control batch that is not a COMMIT/ABORT marker ends nothing (Kafka ignores other control types here).
      if (marker !== undefined) {
        this.applyWrittenMarker(entry, { kind: 'marker', producerId, producerEpoch, coordinatorEpoch: marker.coordinatorEpoch, commit: marker.commit }, baseOffset, maxTimestamp);
      }
      return true;
    }
    const pending: PendingProducerAppend = {
      kind: 'append',
      producerId,
      producerEpoch,
      lastSeq: incrementSequence(baseSequence, lastOffsetDelta),
      lastOffsetDelta,
      isTransactional: isTransactional(attributes),
    };
    this.applyWrittenData(entry, pending, baseOffset, lastOffset, maxTimestamp);
    return true;
  }

  /** A data batch into the written view: its batch metadata, and a transaction it opens. */
  private applyWrittenData(entry: ProducerStateEntry, pending: PendingProducerAppend, firstOffset: bigint, lastOffset: bigint, timestamp: bigint): void {
    const hadTxn = entry.currentTxnFirstOffset !== undefined;
    applyDataBatch(entry, pending, firstOffset, lastOffset, timestamp);
    if (!hadTxn && entry.currentTxnFirstOffset !== undefined) {
      // Transactions start in offset order, so the new one goes last.
      this.ongoing.push({ firstOffset: entry.currentTxnFirstOffset, producerId: entry.producerId });
    }
  }

  /** A written marker ends its producer's transaction; an ABORT is remembered for the aborted-transaction index. */
  private applyWrittenMarker(entry: ProducerStateEntry, marker: PendingMarker, offset: bigint, timestamp: bigint): void {
    const firstOffset = entry.currentTxnFirstOffset ?? offset;
    if (entry.currentTxnFirstOffset !== undefined) {
      const i = this.ongoing.findIndex((t) => t.producerId === entry.producerId);
      if (i >= 0) this.ongoing.splice(i, 1);
      if (this.trackUnreplicated) {
        let at = this.unreplicated.length;
        while (at > 0 && this.unreplicated[at - 1]!.firstOffset > firstOffset) at--;
        this.unreplicated.splice(at, 0, { firstOffset, lastOffset: offset });
      }
    }
    entry.endTransaction(marker.producerEpoch, marker.coordinatorEpoch, timestamp);
    if (!marker.commit) {
      // Kafka's lastStableOffset(completedTxn): the next ongoing transaction's start, else just past the marker.
      const lastStableOffset = this.ongoing.length > 0 ? this.ongoing[0]!.firstOffset : offset + 1n;
      this.abortedSinceTaken.push({ producerId: entry.producerId, firstOffset, lastOffset: offset, lastStableOffset });
    }
  }

  /** The ongoing transactions from the written view's entries (after a snapshot is loaded). */
  private rebuildOngoing(): void {
    this.ongoing = [];
    for (const entry of this.producers?.values() ?? []) {
      if (entry.currentTxnFirstOffset !== undefined) this.ongoing.push({ firstOffset: entry.currentTxnFirstOffset, producerId: entry.producerId });
    }
    this.ongoing.sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  }

  /** First offset of the oldest ongoing transaction (written view); undefined when none (Kafka's firstUnstableOffset). */
  get firstUnstableOffset(): bigint | undefined {
    const undecided = this.ongoing.length > 0 ? this.ongoing[0]!.firstOffset : undefined;
    if (this.unreplicated.length === 0) return undecided;
    const unreplicated = this.unreplicated[0]!.firstOffset;
    return undecided !== undefined && undecided < unreplicated ? undecided : unreplicated;
  }

  /** The ongoing transactions, oldest first (DescribeProducers, tests). */
  ongoingTransactions(): ReadonlyArray<{ firstOffset: bigint; producerId: bigint }> {
    return this.ongoing;
  }

  /** The ABORT markers written (or replayed) since the last call, oldest first; the caller indexes them. */
  takeAbortedTxns(): AbortedTxn[] {
    if (this.abortedSinceTaken.length === 0) return NO_ABORTED;
    const taken = this.abortedSinceTaken;
    this.abortedSinceTaken = [];
    return taken;
  }

  /**
   * Checks a transaction marker for `producerId` against its state (the marker table at the top), before its
   * offset is assigned; throws KafkaError when the marker is stale. Pass the result to commitMarker().
   */
  checkMarker(producerId: bigint, producerEpoch: number, coordinatorEpoch: number, commit: boolean): PendingMarker {
    const entry = this.lastEntry(producerId);
    if (entry !== undefined) {
      if (producerEpoch < entry.producerEpoch) {
        throw new KafkaError(
          ErrorCode.INVALID_PRODUCER_EPOCH,
          `transaction marker epoch ${producerEpoch} of producer ${producerId} in ${this.topic}-${this.partition} is older than the producer's epoch ${entry.producerEpoch}`,
        );
      }
      if (coordinatorEpoch < entry.coordinatorEpoch) {
        throw new KafkaError(
          ErrorCode.TRANSACTION_COORDINATOR_FENCED,
          `transaction marker of producer ${producerId} in ${this.topic}-${this.partition} has coordinator epoch ${coordinatorEpoch}, older than ${entry.coordinatorEpoch}`,
        );
      }
    }
    return { kind: 'marker', producerId, producerEpoch, coordinatorEpoch, commit };
  }

  /** Records an accepted marker at `offset` (synchronously after checkMarker). */
  commitMarker(pending: PendingMarker, offset: bigint, timestamp: bigint): void {
    const inFlightMap = (this.inFlight ??= new Map());
    let inFlight = inFlightMap.get(pending.producerId);
    if (inFlight === undefined) {
      const written = this.producers?.get(pending.producerId);
      inFlight = { entry: written?.clone() ?? new ProducerStateEntry(pending.producerId), unwritten: 0 };
      inFlightMap.set(pending.producerId, inFlight);
    }
    if (this.unwritten === NO_UNWRITTEN) this.unwritten = [];
    inFlight.entry.endTransaction(pending.producerEpoch, pending.coordinatorEpoch, timestamp);
    inFlight.unwritten++;
    this.unwritten.push({ pending, firstOffset: offset, lastOffset: offset, timestamp });
  }

  /** The producer's entry in the written view, created empty when missing. */
  private entryFor(producerId: bigint): ProducerStateEntry {
    const producers = (this.producers ??= new Map());
    let entry = producers.get(producerId);
    if (entry === undefined) {
      entry = new ProducerStateEntry(producerId);
      producers.set(producerId, entry);
    }
    return entry;
  }

  /**
   * Forgets producers idle for `producer.id.expiration.ms` (Kafka's removeExpiredProducers): no ongoing
   * transaction, no unwritten batch, last timestamp at least that long before `nowMs`. LogManager calls it for
   * every log every `producer.id.expiration.check.interval.ms`. Returns how many were removed.
   */
  removeExpiredProducers(nowMs: number): number {
    let removed = 0;
    const producers = this.producers;
    if (producers === undefined) return 0;
    for (const [pid, entry] of producers) {
      if (this.isExpired(entry, nowMs) && this.inFlight?.has(pid) !== true) {
        producers.delete(pid);
        removed++;
      }
    }
    return removed;
  }

  private isExpired(entry: ProducerStateEntry, nowMs: number): boolean {
    return entry.currentTxnFirstOffset === undefined && BigInt(nowMs) - entry.lastTimestamp >= BigInt(this.producerIdExpirationMs);
  }

  /**
   * Takes a snapshot of the written view at `offset` (the new segment's base offset at a roll, the log end offset
   * at close), unless one at or above it was taken already (Kafka's takeSnapshot: "not a new offset"). The bytes
   * are encoded synchronously, at the call, so what is written is the state at that moment even when the write
   * starts later: after `writeAfter` resolves (at a roll, the old segment's seal and fsync); it is skipped when
   * `writeAfter` rejects. Every batch below `offset` must be written and none at or above it (true at a roll and
   * once the append queue is idle).
   *
   * The file is written to a temp name and renamed, without fsync (Kafka fsyncs each one). That is safe because a
   * snapshot is only ever written after the log data below its offset is fsynced (the caller's order), its
   * content never changes once named, and a file that a power loss leaves empty or torn fails its CRC and is
   * ignored; it keeps a clean shutdown of many partitions from costing an fsync each. Resolves true when a file
   * was written; a write error is logged and resolves false (the snapshot is only a shortcut for recovery).
   */
  takeSnapshot(offset: bigint, writeAfter?: Promise<unknown>): Promise<boolean> {
    if (offset > this.mapEndOffset) this.mapEndOffset = offset;
    if (offset <= this.lastSnapOffset) return Promise.resolve(false);
    const bytes = encodeProducerSnapshot((this.producers ?? NO_PRODUCERS).values());
    this.lastSnapOffset = offset;
    const at = this.snapshots.findIndex((o) => o >= offset);
    if (at < 0) this.snapshots.push(offset);
    else if (this.snapshots[at] !== offset) this.snapshots.splice(at, 0, offset);
    const producers = this.producers?.size ?? 0;
    const written = writeAfter === undefined ? this.writeSnapshotFile(offset, bytes) : writeAfter.then(() => this.writeSnapshotFile(offset, bytes));
    return written.then(
      () => {
        this.logger.debug({ topic: this.topic, partition: this.partition, offset: offset.toString(), producers }, 'wrote producer state snapshot');
        return true;
      },
      (err: unknown) => {
        this.snapshots = this.snapshots.filter((o) => o !== offset);
        this.logger.warn({ topic: this.topic, partition: this.partition, offset: offset.toString(), err }, 'could not write producer state snapshot');
        return false;
      },
    );
  }

  private async writeSnapshotFile(offset: bigint, bytes: Buffer): Promise<void> {
    const path = this.snapshotPath(offset);
    const tmp = `${path}.tmp`;
    const file = await this.fs.open(tmp, 'w+');
    try {
      let done = 0;
      while (done < bytes.length) {
        const n = await file.writev([bytes.subarray(done)], done);
        if (n <= 0) throw new Error(`short write of ${tmp}`);
        done += n;
      }
    } finally {
      await file.close();
    }
    await this.fs.rename(tmp, path);
  }

  /**
   * An interim snapshot at `offset` inside the active segment (`segmentBaseOffset`), taken as the log's index
   * files are persisted, so that recovery after a process crash replays batch headers from near the log end
   * rather than from the segment's base (Kafka only snapshots at rolls and shutdown, and replays the whole active
   * segment). The previous interim snapshots of this segment are deleted once it is written; the snapshot at the
   * segment's base stays.
   */
  async takeInterimSnapshot(offset: bigint, segmentBaseOffset: bigint): Promise<void> {
    const previous = this.snapshots.filter((o) => o > segmentBaseOffset && o < offset);
    if (!(await this.takeSnapshot(offset))) return;
    for (const o of previous) await this.deleteSnapshot(o);
  }

  /** Deletes snapshots below `offset` (segments deleted by retention; Kafka's deleteSnapshotsBefore). */
  async deleteSnapshotsBefore(offset: bigint): Promise<void> {
    for (const o of this.snapshots.filter((s) => s < offset)) await this.deleteSnapshot(o);
  }

  private snapshotPath(offset: bigint): string {
    return `${this.dir}/${snapshotFileName(offset)}`;
  }

  private async listSnapshots(): Promise<void> {
    const offsets: bigint[] = [];
    for (const e of await this.fs.readdir(this.dir)) {
      if (e.isDirectory) continue;
      if (e.name.endsWith(`${SNAPSHOT_SUFFIX}.tmp`)) {
        await this.fs.unlink(`${this.dir}/${e.name}`);
        continue;
      }
      const offset = parseSnapshotFileName(e.name);
      if (offset !== undefined) offsets.push(offset);
    }
    this.snapshots = offsets.sort(compareBigint);
  }

  /**
   * Kafka's removeStraySnapshots: a snapshot whose offset is no segment base offset is stray; all but the newest
   * stray one are deleted, and that one too unless it is above every segment base offset (a clean shutdown's).
   */
  private async removeStraySnapshots(segmentBaseOffsets: readonly bigint[]): Promise<void> {
    const bases = new Set(segmentBaseOffsets);
    let maxBase: bigint | undefined;
    for (const b of segmentBaseOffsets) if (maxBase === undefined || b > maxBase) maxBase = b;
    let latestStray: bigint | undefined;
    for (const offset of [...this.snapshots]) {
      if (bases.has(offset)) continue;
      if (latestStray !== undefined) await this.deleteSnapshot(latestStray);
      latestStray = offset;
    }
    if (latestStray !== undefined && maxBase !== undefined && latestStray < maxBase) await this.deleteSnapshot(latestStray);
  }

  private async deleteSnapshot(offset: bigint): Promise<void> {
    await this.fs.unlink(this.snapshotPath(offset));
    this.snapshots = this.snapshots.filter((o) => o !== offset);
  }

  private async loadLatestSnapshot(logStartOffset: bigint): Promise<void> {
    const now = this.clock();
    while (this.snapshots.length > 0) {
      const offset = this.snapshots[this.snapshots.length - 1]!;
      const path = this.snapshotPath(offset);
      try {
        const entries = decodeProducerSnapshot(await this.fs.readFile(path));
        for (const entry of entries) if (!this.isExpired(entry, now)) (this.producers ??= new Map()).set(entry.producerId, entry);
        this.mapEndOffset = offset;
        this.lastSnapOffset = offset;
        return;
      } catch (err) {
        if (!(err instanceof CorruptSnapshotError)) throw err;
        this.logger.warn(
          { topic: this.topic, partition: this.partition, file: path, reason: err.message },
          'corrupt producer state snapshot; deleting it and rebuilding from an older snapshot or the log',
        );
        await this.deleteSnapshot(offset);
      }
    }
    this.mapEndOffset = logStartOffset;
    this.lastSnapOffset = logStartOffset;
  }

  /** Replays the headers of `segment`'s batches that end at or after `from` and start below `to`; returns how many had a producer id. */
  private async replaySegment(segment: ProducerStateSegmentSource, from: bigint, to: bigint): Promise<number> {
    let applied = 0;
    let pos = await segment.positionOf(from);
    let chunk: Buffer = Buffer.alloc(0);
    let chunkPosition = pos;
    while (pos + RECORD_BATCH_HEADER_SIZE <= segment.size) {
      if (pos + RECORD_BATCH_HEADER_SIZE > chunkPosition + chunk.length) {
        chunk = await segment.read(pos, Math.min(HEADER_READ_BYTES, segment.size - pos));
        chunkPosition = pos;
      }
      const off = pos - chunkPosition;
      const size = LOG_OVERHEAD + chunk.readInt32BE(off + 8);
      if (size < RECORD_BATCH_HEADER_SIZE || pos + size > segment.size) break;
      const baseOffset = chunk.readBigInt64BE(off);
      if (baseOffset >= to) break;
      const lastOffsetDelta = chunk.readInt32BE(off + LAST_OFFSET_DELTA_OFFSET);
      if (baseOffset + BigInt(lastOffsetDelta) >= from) {
        const attributes = chunk.readInt16BE(off + ATTRIBUTES_OFFSET);
        let marker: EndTxnMarker | undefined;
        if (isControlBatch(attributes)) {
          // The marker record follows the header: make sure the whole (small) batch is in the chunk.
          if (off + size > chunk.length) {
            chunk = await segment.read(pos, Math.min(Math.max(HEADER_READ_BYTES, size), segment.size - pos));
            chunkPosition = pos;
          }
          marker = readEndTxnMarker(chunk, pos - chunkPosition);
        }
        const at = pos - chunkPosition;
        const hasProducer = this.applyHeaderFields(
          chunk.readBigInt64BE(at + PRODUCER_ID_OFFSET),
          chunk.readInt16BE(at + PRODUCER_EPOCH_OFFSET),
          chunk.readInt32BE(at + BASE_SEQUENCE_OFFSET),
          attributes,
          baseOffset,
          lastOffsetDelta,
          chunk.readBigInt64BE(at + MAX_TIMESTAMP_OFFSET),
          marker,
        );
        if (hasProducer) applied++;
      }
      pos += size;
    }
    return applied;
  }
}

/** Kafka's ProducerAppendInfo.appendDataBatch after validation: records the batch, opens a transaction. */
function applyDataBatch(entry: ProducerStateEntry, pending: PendingProducerAppend, firstOffset: bigint, lastOffset: bigint, timestamp: bigint): void {
  entry.addBatch(pending.producerEpoch, pending.lastSeq, lastOffset, Number(lastOffset - firstOffset), timestamp);
  if (pending.isTransactional && entry.currentTxnFirstOffset === undefined) entry.currentTxnFirstOffset = firstOffset;
}
