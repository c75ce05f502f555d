// The log cleaner's CPU work, apart from its I/O (log-cleaner.ts): for each chunk of segment bytes the cleaner has
// read, the offset map is built from its batches (Cleaner.buildOffsetMapForSegment) or its batches are filtered and
// rewritten (Cleaner.cleanInto with its RecordFilter): records parsed (decompressed), keys hashed into the offset
// map, kept records recompressed, CRC-32C recomputed. The cleaner reads the segments, writes the cleaned segment,
// throttles, and swaps it in on the main thread (segment-swap.ts, PartitionLog.replaceSegments); only this work
// moves.
//
// Where it runs (CleanerComputeBackend):
//   WorkerCompute   a worker thread (cleaner-worker.ts) holding the CleanerCompute and the offset map. It reads the
//                   chunks itself, synchronously, through the descriptor the cleaner opened on the segment for the
//                   walk (ChunkSource.descriptor), into a buffer of its own; the kept batches come back in a buffer
//                   of their own. The worker decompresses on itself (worker-zstd.ts for zstd), all at a low CPU
//                   priority (thread-priority.ts), so neither the event loop nor libuv's pool (shared with the
//                   request path, at normal priority) copies, parses, hashes or decompresses for the cleaner
//                   (BENCHMARKS.md, cleaner section). A segment opened without a descriptor (a LogFs wrapped by a
//                   test) is read on the event loop instead, into buffers transferred to the worker and back.
//                   The default.
//   InlineCompute   the same object on the event loop, pausing on a work budget between batches (log-cleaner.ts
//                   maybeYield). Used when a worker cannot be started (the broker logs it once at warn), and by
//                   tests that want the cleaner's work on the thread they observe.
//
// Messages to the worker: { id, op, args }, answered in order by { id, result } or { id, error: { message, stack } };
// one request at a time (the cleaner awaits each). The worker is unref'd (it never keeps the process alive). A
// closed cleaner's worker, its map released, is kept for the next cleaner of the process (WorkerCompute.acquire,
// at most one idle): a broker has one cleaner, but tests and tools open many in turn.
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE } from '../../protocol/records/batch.js';
import type { AbortedTxn } from '../txn-index.js';
import { OWN_PACKAGE } from '../../package-root.js';
import { BatchRecords, rewriteBatch, viewBatch, type BatchRetention } from './batch-filter.js';
import { OffsetMap } from './offset-map.js';
import { CleanedTransactionMetadata } from './transaction-metadata.js';
import { samePriority, type AppliedThreadPriority, type CleanerThreadPriority } from './thread-priority.js';

/** A producer's last data offset (-1n: none) and epoch, as PartitionLog's producer state has them. */
export interface LastRecord {
  lastDataOffset: bigint;
  producerEpoch: number;
}

/**
 * What one chunk's processing did: whole batches consumed from its start; `stop` ends the segment's walk;
 * `bytesRead`, the chunk's length (the cleaner's stats and I/O throttle).
 */
export interface ChunkResult {
  consumed: number;
  stop: boolean;
  bytesRead: number;
}

/** One segment's walk as the compute reads it (log-cleaner.ts forEachChunk opens it). */
export interface ChunkSource {
  /** The segment's size when the walk began: where it ends. */
  readonly size: number;
  /** The .log's descriptor, open for the walk: a worker reads the chunks itself (see the header). */
  readonly descriptor?: number;
  /** Reads `length` bytes at `position` on the event loop, into `into` when given. */
  read(position: number, length: number, into?: Buffer): Promise<Buffer>;
}

/**
 * The chunk of a segment of `size` bytes at `position` (a batch boundary): CHUNK_BUFFER_BYTES or the rest of the
 * segment, or the whole first batch when that is larger. `read` returns exactly the bytes asked for.
 */
export async function readChunkAt(read: (position: number, length: number) => Buffer | Promise<Buffer>, position: number, size: number): Promise<Buffer> {
  if (size - position < RECORD_BATCH_HEADER_SIZE) throw new Error('the segment ends with a partial batch');
  const chunk = await read(position, Math.min(CHUNK_BUFFER_BYTES, size - position));
  const first = LOG_OVERHEAD + chunk.readInt32BE(8);
  if (first < RECORD_BATCH_HEADER_SIZE || position + first > size) throw new Error(`corrupt batch (size ${first})`);
  return first > chunk.length ? read(position, first) : chunk;
}

export interface MapChunkResult extends ChunkResult {
  /** The map filled up: mapping stops here. */
  full: boolean;
  /** A batch at or past nextSegmentStartOffset was met. */
  pastEnd: boolean;
}

export interface CleanChunkArgs {
  now: number;
  deleteRetentionMs: number;
  /** The cleaned segment's limit, its size before this chunk, and the group's input not yet read before it. */
  maxSize: number;
  writerSize: number;
  inputLeft: number;
}

export interface CleanChunkResult extends ChunkResult {
  /** The batches to append, back to back (each whole; split by their length fields). */
  output: Buffer;
  inputLeft: number;
  recordsRead: number;
  recordsKept: number;
}

export interface MapUsage {
  allocatedBytes: number;
  capacity: number;
}

/** Called after each batch with the bytes of work it took; a returned promise pauses the walk (InlineCompute). */
export type WorkPause = (workBytes: number) => Promise<void> | undefined;

/** The cleaner's state between chunks: the offset map, the transaction metadata and the producers' last batches. */
export class CleanerCompute {
  private map: OffsetMap;
  private mapBytes: number;
  private readonly records: BatchRecords;
  private kept = new Uint8Array(64);
  private mapTxns = new CleanedTransactionMetadata();
  private txns = new CleanedTransactionMetadata();
  private lastRecords = new Map<bigint, LastRecord>();

  /** `decompressHere`: decode batches synchronously on this thread (the worker's), see BatchRecords. */
  constructor(mapBytes: number, decompressHere?: (codec: number, payload: Buffer) => Buffer) {
    this.mapBytes = mapBytes;
    this.map = new OffsetMap(mapBytes);
    this.records = new BatchRecords(decompressHere);
  }

  get usage(): MapUsage {
    return { allocatedBytes: this.map.allocatedBytes, capacity: this.map.capacity };
  }

  /** Starts building a map for `offsetRange` offsets (a new map when log.cleaner.dedupe.buffer.size changed). */
  beginMap(mapBytes: number, offsetRange: number, abortedTxns: readonly AbortedTxn[]): MapUsage {
    if (mapBytes !== this.mapBytes) {
      this.map.release();
      this.map = new OffsetMap(mapBytes);
      this.mapBytes = mapBytes;
    }
    this.map.reset(offsetRange);
    this.mapTxns = new CleanedTransactionMetadata();
    this.mapTxns.addAbortedTransactions(abortedTxns);
    return this.usage;
  }

  get latestOffset(): number {
    return this.map.latestOffset;
  }

  /** Kafka's "fast forward to latest expected offset in this segment": a segment mapped to its end. */
  endSegmentMap(nextSegmentStartOffset: bigint): number {
    this.map.latestOffset = Number(nextSegmentStartOffset - 1n);
    return this.map.latestOffset;
  }

  /** Maps the keyed records of the chunk's whole batches in [startOffset, nextSegmentStartOffset). */
  async mapChunk(chunk: Buffer, startOffset: bigint, nextSegmentStartOffset: bigint, pause?: WorkPause): Promise<MapChunkResult> {
    const map = this.map;
    const records = this.records;
    const txns = this.mapTxns;
    const start = Number(startOffset);
    const result: MapChunkResult = { consumed: 0, stop: false, bytesRead: chunk.length, full: false, pastEnd: false };
    await forEachBatchIn(chunk, result, async (batch) => {
      const view = viewBatch(batch);
      if (view.lastOffset < startOffset) return batch.length;
      if (view.lastOffset >= nextSegmentStartOffset) {
        result.pastEnd = true;
        return -1;
      }
      let work = batch.length;
      if (view.isControl) txns.onControlBatchRead(view);
      else if (!txns.onBatchRead(view)) {
        await records.parse(batch);
        work += records.sourceBytes;
        const base = Number(view.baseOffset);
        for (let i = 0; i < records.count; i++) {
          const offset = base + records.offsetDeltas[i]!;
          if (records.keyLengths[i]! < 0 || offset < start) continue;
          if (map.isFull) {
            result.full = true;
            return -1;
          }
          map.put(records.source, records.keyStarts[i]!, records.keyLengths[i]!, offset);
        }
      }
      map.latestOffset = Number(view.lastOffset);
      return work;
    }, pause);
    return result;
  }

  /** Starts rewriting: the producers whose last batch must survive (Kafka's lastRecordsOfActiveProducers). */
  beginClean(lastRecords: ReadonlyArray<readonly [bigint, LastRecord]>): void {
    this.txns = new CleanedTransactionMetadata();
    this.lastRecords = new Map(lastRecords);
  }

  /** A new cleaned segment: its aborted transactions start empty. */
  beginGroup(): void {
    this.txns.retainedAbortedTxns = [];
  }

  addAbortedTransactions(txns: readonly AbortedTxn[]): void {
    this.txns.addAbortedTransactions(txns);
  }

  retainedAbortedTxns(): AbortedTxn[] {
    return this.txns.retainedAbortedTxns;
  }

  /** The kept form of each whole batch of the chunk (the rules table in log-cleaner.ts, step 4). */
  async cleanChunk(chunk: Buffer, args: CleanChunkArgs, pause?: WorkPause): Promise<CleanChunkResult> {
    const map = this.map;
    const records = this.records;
    const txns = this.txns;
    const latest = map.latestOffset;
    const { now, deleteRetentionMs, maxSize, writerSize } = args;
    let inputLeft = args.inputLeft;
    let recordsRead = 0;
    let recordsKept = 0;
    const outputs: Buffer[] = [];
    let outputBytes = 0;
    const result: ChunkResult = { consumed: 0, stop: false, bytesRead: chunk.length };
    await forEachBatchIn(chunk, result, async (batch) => {
      inputLeft -= batch.length;
      const view = viewBatch(batch);
      const canDiscard = view.isControl ? txns.onControlBatchRead(view) : txns.onBatchRead(view);
      const discardRecords = view.isControl ? canDiscard && view.deleteHorizonMs !== undefined && view.deleteHorizonMs <= now : canDiscard;
      const last = view.producerId >= 0n ? this.lastRecords.get(view.producerId) : undefined;
      const lastOfProducer =
        last !== undefined && (last.lastDataOffset >= 0n ? view.lastOffset === last.lastDataOffset : view.isControl && view.producerEpoch === last.producerEpoch);
      const retention: BatchRetention = lastOfProducer ? 'RETAIN_EMPTY' : discardRecords ? 'DELETE' : 'DELETE_EMPTY';
      if (retention === 'DELETE') return batch.length;
      let work = batch.length;
      if (discardRecords) {
        records.count = 0;
      } else {
        await records.parse(batch);
        work += records.sourceBytes;
        if (this.kept.length < records.count) this.kept = new Uint8Array(Math.max(records.count, this.kept.length * 2));
        const kept = this.kept;
        const base = Number(view.baseOffset);
        const retainDeletes = view.deleteHorizonMs === undefined || now < view.deleteHorizonMs;
        for (let i = 0; i < records.count; i++) {
          if (view.isControl) {
            kept[i] = 1;
            continue;
          }
          const offset = base + records.offsetDeltas[i]!;
          let keep = offset > latest;
          if (!keep && records.keyLengths[i]! >= 0) {
            keep = offset >= map.get(records.source, records.keyStarts[i]!, records.keyLengths[i]!) && (records.hasValue[i] === 1 || retainDeletes);
          }
          kept[i] = keep ? 1 : 0;
          if (keep) recordsKept++;
        }
        recordsRead += records.count;
      }
      const maxBytes = maxSize - writerSize - outputBytes - inputLeft;
      const out = await rewriteBatch(batch, records, this.kept, { retention, markerForEmptyTxn: canDiscard && view.isControl, maxBytes }, now, deleteRetentionMs);
      if (out !== undefined) {
        outputs.push(out);
        outputBytes += out.length;
      }
      return work;
    }, pause);
    // One buffer: the chunk it may point into is the caller's (or was transferred to this thread).
    const output = outputs.length === 1 && outputs[0]!.length === outputBytes ? Buffer.from(outputs[0]!) : Buffer.concat(outputs, outputBytes);
    return { consumed: result.consumed, stop: result.stop, bytesRead: chunk.length, output, inputLeft, recordsRead, recordsKept };
  }

  release(): MapUsage {
    this.map.release();
    this.lastRecords = new Map();
    return this.usage;
  }
}

/**
 * Calls `visit` for each whole batch of `chunk` from its start (a partial batch at its end is left for the next
 * read); `visit` returns the bytes of work it did, or -1 to stop. Sets `result.consumed` and `result.stop`.
 */
async function forEachBatchIn(chunk: Buffer, result: ChunkResult, visit: (batch: Buffer) => Promise<number>, pause?: WorkPause): Promise<void> {
  let off = 0;
  while (off + RECORD_BATCH_HEADER_SIZE <= chunk.length) {
    const batchSize = LOG_OVERHEAD + chunk.readInt32BE(off + 8);
    if (batchSize < RECORD_BATCH_HEADER_SIZE) throw new Error(`corrupt batch at chunk position ${off} (size ${batchSize})`);
    if (off + batchSize > chunk.length) break;
    const work = await visit(chunk.subarray(off, off + batchSize));
    if (work < 0) {
      result.stop = true;
      break;
    }
    off += batchSize;
    const paused = pause?.(work);
    if (paused !== undefined) await paused;
  }
  result.consumed = off;
}

/** The cleaner's view of its compute, wherever it runs. */
export interface CleanerComputeBackend {
  readonly usage: MapUsage;
  /** Reads a ChunkSource's descriptor itself when it has one (the worker): the cleaner then opens one per walk. */
  readonly readsDescriptors: boolean;
  beginMap(mapBytes: number, offsetRange: number, abortedTxns: readonly AbortedTxn[]): Promise<void>;
  /** Reads the chunk of `source` at `position` (readChunkAt) and maps it (CleanerCompute.mapChunk). */
  mapChunk(source: ChunkSource, position: number, startOffset: bigint, nextSegmentStartOffset: bigint): Promise<MapChunkResult>;
  endSegmentMap(nextSegmentStartOffset: bigint): Promise<void>;
  latestOffset(): Promise<number>;
  beginClean(lastRecords: ReadonlyArray<readonly [bigint, LastRecord]>): Promise<void>;
  beginGroup(): Promise<void>;
  addAbortedTransactions(txns: readonly AbortedTxn[]): Promise<void>;
  /** Reads the chunk of `source` at `position` (readChunkAt) and rewrites it (CleanerCompute.cleanChunk). */
  cleanChunk(source: ChunkSource, position: number, args: CleanChunkArgs): Promise<CleanChunkResult>;
  retainedAbortedTxns(): Promise<AbortedTxn[]>;
  release(): Promise<void>;
  close(): Promise<void>;
}

/** The compute on the calling thread (see the header). */
export class InlineCompute implements CleanerComputeBackend {
  readonly readsDescriptors = false;
  private readonly compute: CleanerCompute;

  constructor(mapBytes: number, private readonly pause: WorkPause) {
    this.compute = new CleanerCompute(mapBytes);
  }

  get usage(): MapUsage {
    return this.compute.usage;
  }

  async beginMap(mapBytes: number, offsetRange: number, abortedTxns: readonly AbortedTxn[]): Promise<void> {
    this.compute.beginMap(mapBytes, offsetRange, abortedTxns);
  }
  async mapChunk(source: ChunkSource, position: number, startOffset: bigint, nextSegmentStartOffset: bigint): Promise<MapChunkResult> {
    const chunk = await readChunkAt((p, length) => source.read(p, length), position, source.size);
    return this.compute.mapChunk(chunk, startOffset, nextSegmentStartOffset, this.pause);
  }
  async endSegmentMap(nextSegmentStartOffset: bigint): Promise<void> {
    this.compute.endSegmentMap(nextSegmentStartOffset);
  }
  async latestOffset(): Promise<number> {
    return this.compute.latestOffset;
  }
  async beginClean(lastRecords: ReadonlyArray<readonly [bigint, LastRecord]>): Promise<void> {
    this.compute.beginClean(lastRecords);
  }
  async beginGroup(): Promise<void> {
    this.compute.beginGroup();
  }
  async addAbortedTransactions(txns: readonly AbortedTxn[]): Promise<void> {
    this.compute.addAbortedTransactions(txns);
  }
  async cleanChunk(source: ChunkSource, position: number, args: CleanChunkArgs): Promise<CleanChunkResult> {
    const chunk = await readChunkAt((p, length) => source.read(p, length), position, source.size);
    return this.compute.cleanChunk(chunk, args, this.pause);
  }
  async retainedAbortedTxns(): Promise<AbortedTxn[]> {
    return this.compute.retainedAbortedTxns();
  }
  async release(): Promise<void> {
    this.compute.release();
  }
  async close(): Promise<void> {
    this.compute.release();
  }
}

/** The request ops the worker answers (cleaner-worker.ts). */
export type ComputeOp =
  | 'init'
  | 'beginMap'
  | 'mapChunk'
  | 'mapChunkAt'
  | 'endSegmentMap'
  | 'latestOffset'
  | 'beginClean'
  | 'beginGroup'
  | 'addAbortedTransactions'
  | 'cleanChunk'
  | 'cleanChunkAt'
  | 'retainedAbortedTxns'
  | 'release';

/**
 * Starts the worker script: beside this module in dist/, from the CLI bundle (dist/cli/eddy.cjs) the one in
 * dist/log/cleaner/, and from the TypeScript sources (tsx, vitest) the .ts through tsx's loader, registered in the
 * worker first (a worker does not inherit the parent's loader hooks).
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // The keyword is assembled so that scripts/bundle-cli.mjs, which refuses a dynamic import left in the CLI
    // bundle, does not take this string (never run from the bundle) for one.
    const load = ['imp', 'ort'].join('');
    const script = new URL('./cleaner-worker.ts', here).href;
    return new Worker(`${load}('tsx/esm/api').then((tsx) => { tsx.register(); return ${load}(${JSON.stringify(script)}); });`, { eval: true });
  }
  if (here.endsWith('.cjs') && OWN_PACKAGE !== undefined) return new Worker(pathToFileURL(path.join(OWN_PACKAGE.root, 'dist', 'log', 'cleaner', 'cleaner-worker.js')));
  return new Worker(new URL('./cleaner-worker.js', here));
}

/** Bytes read from a segment at a time (Kafka's log.cleaner.io.buffer.size is 512 KiB for read + write). */
export const CHUNK_BUFFER_BYTES = 512 * 1024;
/** Chunk buffers kept between reads: one at the worker, one being read, one spare. */
const MAX_SPARE_CHUNKS = 2;

/** Copies `chunk` into a buffer of its own, to transfer. */
function transferable(chunk: Buffer): Uint8Array {
  const copy = new Uint8Array(chunk.length);
  copy.set(chunk);
  return copy;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** SCHED_IDLE refused or unavailable is said once per process (a broker starts one worker; tests start many). */
let schedIdleFailureReported = false;

function reportPriority(logger: Logger, wanted: CleanerThreadPriority, applied: AppliedThreadPriority): void {
  if (applied.schedIdleFailure !== undefined && !schedIdleFailureReported) {
    schedIdleFailureReported = true;
    const fallback = applied.nice === undefined ? "keeps the broker's priority" : 'runs at its nice value';
    logger.warn({ reason: applied.schedIdleFailure, nice: applied.nice ?? null }, `the log cleaner thread cannot run under SCHED_IDLE; it ${fallback}, and competes more with requests for the CPU`);
  } else {
    logger.debug({ schedIdle: applied.schedIdle, nice: applied.nice ?? null, wantedNice: wanted.nice }, 'log cleaner thread priority');
  }
}

/** A closed cleaner's worker, alive, with its map released (see the header). */
let idleWorker: WorkerCompute | undefined;

/** The compute in a worker thread (see the header). `ready` settles once the worker answered. */
export class WorkerCompute implements CleanerComputeBackend {
  /**
   * The idle worker of the process, or a new one. A worker's priority is only ever lowered (raising it needs
   * privilege), so an idle worker with another priority is ended and a new one started.
   */
  static acquire(mapBytes: number, logger: Logger, priority: CleanerThreadPriority, chrtCommand?: string): WorkerCompute {
    const idle = idleWorker;
    idleWorker = undefined;
    // A worker that did not get SCHED_IDLE (chrt timed out, say) is not kept at the wrong priority: a new one tries again.
    if (idle !== undefined && idle.alive && samePriority(idle.priority, priority) && idle.appliedPriority?.schedIdleFailure === undefined && idle.chrtCommand === chrtCommand) {
      idle.logger = logger;
      return idle;
    }
    void idle?.terminate();
    return new WorkerCompute(mapBytes, logger, priority, chrtCommand);
  }

  readonly readsDescriptors = true;
  private readonly worker: Worker;
  /**
   * Chunk buffers back from the worker, for the next reads of a source without a descriptor. Every such chunk
   * crosses to the worker and back by transfer (no copy), so the event loop allocates no chunk buffers in steady
   * state: at the cleaner's ~100 MB/s, allocating (and copying) each 512 KiB chunk kept V8 running a full GC every
   * few hundred ms on the request path's thread, for the external memory alone.
   */
  private readonly spareChunks: ArrayBuffer[] = [];
  /** Buffers handed out by chunkBuffer() and not yet sent: these go to the worker as they are. */
  private readonly ownChunks = new WeakSet<ArrayBuffer>();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  usage: MapUsage;
  /** What the worker's thread runs at, once `ready`. */
  appliedPriority: AppliedThreadPriority | undefined;
  readonly ready: Promise<void>;

  private constructor(
    mapBytes: number,
    private logger: Logger,
    private readonly priority: CleanerThreadPriority,
    private readonly chrtCommand: string | undefined,
  ) {
    this.usage = { allocatedBytes: 0, capacity: 0 };
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; result?: unknown; error?: { message: string; stack?: string } }) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error !== undefined) {
        const err = new Error(msg.error.message);
        err.stack = msg.error.stack ?? err.stack;
        p.reject(err);
      } else p.resolve(msg.result);
    });
    const fail = (err: Error): void => {
      this.failure ??= err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => {
      this.logger.error({ err }, 'log cleaner worker failed');
      fail(err);
    });
    this.worker.on('exit', (code) => fail(new Error(`the log cleaner worker exited (code ${code})`)));
    this.ready = this.call<{ usage: MapUsage; priority: AppliedThreadPriority }>('init', [mapBytes, priority, chrtCommand]).then(({ usage, priority: applied }) => {
      this.usage = usage;
      this.appliedPriority = applied;
      reportPriority(this.logger, priority, applied);
    });
  }

  /** False once the worker failed or exited: the cleaner starts another. */
  get alive(): boolean {
    return this.failure === undefined;
  }

  private call<T>(op: ComputeOp, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  async beginMap(mapBytes: number, offsetRange: number, abortedTxns: readonly AbortedTxn[]): Promise<void> {
    this.usage = await this.call<MapUsage>('beginMap', [mapBytes, offsetRange, abortedTxns]);
  }
  private chunkBuffer(length: number): Buffer {
    const spare = this.spareChunks.pop();
    const buffer = spare !== undefined && spare.byteLength >= length ? spare : new ArrayBuffer(Math.max(length, CHUNK_BUFFER_BYTES));
    this.ownChunks.add(buffer);
    return Buffer.from(buffer, 0, length);
  }

  /** The chunk as it crosses to the worker: its own buffer when chunkBuffer() made it, else a copy. */
  private outgoing(chunk: Buffer): Uint8Array {
    const buffer = chunk.buffer as ArrayBuffer;
    if (chunk.byteOffset === 0 && this.ownChunks.has(buffer)) {
      this.ownChunks.delete(buffer);
      return new Uint8Array(buffer, 0, chunk.length);
    }
    return transferable(chunk);
  }

  /** A chunk buffer the worker sent back, kept for the next read. */
  private recycle(input: Uint8Array | undefined): void {
    if (input !== undefined && input.buffer.byteLength >= CHUNK_BUFFER_BYTES && this.spareChunks.length < MAX_SPARE_CHUNKS) this.spareChunks.push(input.buffer as ArrayBuffer);
  }

  async mapChunk(source: ChunkSource, position: number, startOffset: bigint, nextSegmentStartOffset: bigint): Promise<MapChunkResult> {
    if (source.descriptor !== undefined) return this.call<MapChunkResult>('mapChunkAt', [source.descriptor, position, source.size, startOffset, nextSegmentStartOffset]);
    const bytes = this.outgoing(await this.readHere(source, position));
    const { input, ...result } = await this.call<MapChunkResult & { input?: Uint8Array }>('mapChunk', [bytes, startOffset, nextSegmentStartOffset], [bytes.buffer as ArrayBuffer]);
    this.recycle(input);
    return result;
  }
  async endSegmentMap(nextSegmentStartOffset: bigint): Promise<void> {
    await this.call('endSegmentMap', [nextSegmentStartOffset]);
  }
  latestOffset(): Promise<number> {
    return this.call<number>('latestOffset', []);
  }
  async beginClean(lastRecords: ReadonlyArray<readonly [bigint, LastRecord]>): Promise<void> {
    await this.call('beginClean', [lastRecords]);
  }
  async beginGroup(): Promise<void> {
    await this.call('beginGroup', []);
  }
  async addAbortedTransactions(txns: readonly AbortedTxn[]): Promise<void> {
    await this.call('addAbortedTransactions', [txns]);
  }
  async cleanChunk(source: ChunkSource, position: number, args: CleanChunkArgs): Promise<CleanChunkResult> {
    type Answer = Omit<CleanChunkResult, 'output'> & { output: Uint8Array; input?: Uint8Array };
    if (source.descriptor !== undefined) {
      const result = await this.call<Answer>('cleanChunkAt', [source.descriptor, position, source.size, args]);
      return { ...result, output: asBuffer(result.output) };
    }
    const bytes = this.outgoing(await this.readHere(source, position));
    const { input, ...result } = await this.call<Answer>('cleanChunk', [bytes, args], [bytes.buffer as ArrayBuffer]);
    this.recycle(input);
    return { ...result, output: asBuffer(result.output) };
  }

  /** A source without a descriptor: its chunk read on the event loop, into a recycled buffer. */
  private readHere(source: ChunkSource, position: number): Promise<Buffer> {
    return readChunkAt((p, length) => source.read(p, length, this.chunkBuffer(length)), position, source.size);
  }
  retainedAbortedTxns(): Promise<AbortedTxn[]> {
    return this.call<AbortedTxn[]>('retainedAbortedTxns', []);
  }
  async release(): Promise<void> {
    if (this.failure !== undefined) return;
    this.usage = await this.call<MapUsage>('release', []);
  }
  /** The cleaner is done with it: kept for the next one when it is alive and no other is kept, else terminated. */
  async close(): Promise<void> {
    if (this.alive && idleWorker === undefined) {
      try {
        await this.release();
        if (this.alive && idleWorker === undefined) {
          idleWorker = this;
          return;
        }
      } catch {
        // terminated below
      }
    }
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    this.failure ??= new Error('the log cleaner worker is closed');
    await this.worker.terminate();
  }
}

/** Splits back-to-back whole batches (CleanChunkResult.output) into one Buffer each, as the writer appends them. */
export function splitBatches(output: Buffer): Buffer[] {
  const batches: Buffer[] = [];
  let off = 0;
  while (off + LOG_OVERHEAD <= output.length) {
    const size = LOG_OVERHEAD + output.readInt32BE(off + 8);
    batches.push(output.subarray(off, off + size));
    off += size;
  }
  return batches;
}
