// The log cleaner's worker thread: one CleanerCompute (cleaner-compute.ts) answering the cleaner's requests in order.
// A chunk is read here (mapChunkAt, cleanChunkAt), synchronously, from the descriptor the cleaner holds open on the
// segment for its walk, into this thread's own buffer: the copy out of the page cache then runs at this thread's low
// priority, not in libuv's pool beside the request path. (mapChunk and cleanChunk take a chunk the cleaner read,
// transferred, for a segment opened without a descriptor.) A cleaned chunk's batches go back in one buffer of their
// own, transferred. Writes, throttling and the swap stay with the cleaner.
import { parentPort } from 'node:worker_threads';
import { readFullySync } from '../fs.js';
import { CHUNK_BUFFER_BYTES, CleanerCompute, readChunkAt, type ComputeOp } from './cleaner-compute.js';
import { decompressRecords, MAX_DECOMPRESSED_BYTES } from '../../protocol/records/compression.js';
import { loadWorkerZstd } from './worker-zstd.js';
import { lowerCurrentThreadPriority, type CleanerThreadPriority } from './thread-priority.js';

const ZSTD_CODEC = 4;

const port = parentPort;
if (port === null) throw new Error('cleaner-worker.ts runs only as a worker thread');

let compute: CleanerCompute | undefined;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The buffer chunks are read into (nothing keeps a view of it past a request). A batch larger than a chunk is read
 * into one of its own size, dropped after its request: the worker lives as long as the process.
 */
const chunkBuffer = Buffer.allocUnsafeSlow(CHUNK_BUFFER_BYTES);

/** The chunk at `position` of the segment open as `descriptor`, `size` bytes long, read on this thread. */
function readChunk(descriptor: number, position: number, size: number): Promise<Buffer> {
  return readChunkAt(
    (p, length) => {
      return readFullySync(descriptor, length <= chunkBuffer.length ? chunkBuffer : Buffer.allocUnsafeSlow(length), length, p);
    },
    position,
    size,
  );
}

/** The cleaned batches in a buffer of their own, to transfer (Buffer.concat may hand out a slice of the shared pool). */
function ownOutput(output: Buffer): Uint8Array {
  const copy = new Uint8Array(output.length);
  copy.set(output);
  return copy;
}

async function handle(op: ComputeOp, args: unknown[]): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  if (op === 'init') {
    // Background work: a low CPU priority before any (thread-priority.ts). A priority not had never fails the start.
    const priority = await lowerCurrentThreadPriority(args[1] as CleanerThreadPriority, args[2] as string | undefined).catch((err: Error) => ({
      schedIdle: false,
      schedIdleFailure: `could not set the thread's priority: ${err.message}`,
    }));
    const zstd = await loadWorkerZstd();
    compute = new CleanerCompute(args[0] as number, (codec, payload) => (codec === ZSTD_CODEC ? zstd(payload, MAX_DECOMPRESSED_BYTES) : decompressRecords(codec, payload)));
    return { result: { usage: compute.usage, priority }, transfer: [] };
  }
  const c = compute!;
  switch (op) {
    case 'beginMap':
      return { result: c.beginMap(args[0] as number, args[1] as number, args[2] as never), transfer: [] };
    case 'mapChunk': {
      // The chunk goes back to the event loop with the answer, for its next read (nothing here keeps a view of it).
      const input = args[0] as Uint8Array;
      const r = await c.mapChunk(asBuffer(input), args[1] as bigint, args[2] as bigint);
      return { result: { ...r, input }, transfer: [input.buffer as ArrayBuffer] };
    }
    case 'mapChunkAt': {
      const chunk = await readChunk(args[0] as number, args[1] as number, args[2] as number);
      return { result: await c.mapChunk(chunk, args[3] as bigint, args[4] as bigint), transfer: [] };
    }
    case 'endSegmentMap':
      return { result: c.endSegmentMap(args[0] as bigint), transfer: [] };
    case 'latestOffset':
      return { result: c.latestOffset, transfer: [] };
    case 'beginClean':
      c.beginClean(args[0] as never);
      return { result: null, transfer: [] };
    case 'beginGroup':
      c.beginGroup();
      return { result: null, transfer: [] };
    case 'addAbortedTransactions':
      c.addAbortedTransactions(args[0] as never);
      return { result: null, transfer: [] };
    case 'cleanChunk': {
      const input = args[0] as Uint8Array;
      const r = await c.cleanChunk(asBuffer(input), args[1] as never);
      // The output is a copy, so the chunk goes back too.
      const output = ownOutput(r.output);
      return { result: { ...r, output, input }, transfer: [output.buffer as ArrayBuffer, input.buffer as ArrayBuffer] };
    }
    case 'cleanChunkAt': {
      const chunk = await readChunk(args[0] as number, args[1] as number, args[2] as number);
      const r = await c.cleanChunk(chunk, args[3] as never);
      const output = ownOutput(r.output);
      return { result: { ...r, output }, transfer: [output.buffer as ArrayBuffer] };
    }
    case 'retainedAbortedTxns':
      return { result: c.retainedAbortedTxns(), transfer: [] };
    case 'release':
      return { result: c.release(), transfer: [] };
  }
}

let chain: Promise<void> = Promise.resolve();
port.on('message', (msg: { id: number; op: ComputeOp; args: unknown[] }) => {
  chain = chain.then(async () => {
    try {
      const { result, transfer } = await handle(msg.op, msg.args);
      port.postMessage({ id: msg.id, result }, transfer);
    } catch (err) {
      const e = err as Error;
      port.postMessage({ id: msg.id, error: { message: e.message ?? String(err), stack: e.stack } });
    }
  });
});
