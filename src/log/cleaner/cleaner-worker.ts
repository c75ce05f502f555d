// The log cleaner's worker thread: one CleanerCompute (cleaner-compute.ts) answering the cleaner's requests in order.
// Chunks arrive as transferred Uint8Arrays; a cleaned chunk's batches go back in one buffer of their own,
// transferred. Nothing here touches files: reads, writes, throttling and the swap stay with the cleaner.
import { parentPort } from 'node:worker_threads';
import { CleanerCompute, type ComputeOp } from './cleaner-compute.js';
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
      // A buffer of its own to transfer (Buffer.concat may hand out a slice of the shared pool); the output is a
      // copy, so the chunk goes back too.
      const output = new Uint8Array(r.output.length);
      output.set(r.output);
      return { result: { ...r, output, input }, transfer: [output.buffer, input.buffer as ArrayBuffer] };
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
