// The log cleaner's worker thread: one CleanerCompute (cleaner-compute.ts) answering the cleaner's requests in order.
// Chunks arrive as transferred Uint8Arrays; a cleaned chunk's batches go back in one buffer of their own,
// transferred. Nothing here touches files: reads, writes, throttling and the swap stay with the cleaner.
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { CleanerCompute, type ComputeOp } from './cleaner-compute.js';
import { decompressRecords, MAX_DECOMPRESSED_BYTES } from '../../protocol/records/compression.js';
import { loadWorkerZstd } from './worker-zstd.js';

const ZSTD_CODEC = 4;

const port = parentPort;
if (port === null) throw new Error('cleaner-worker.ts runs only as a worker thread');

/**
 * Compaction is background work: this thread asks the OS for a lower CPU priority (the nice value the cleaner is
 * configured with, 10 by default: log-cleaner.ts DEFAULT_CLEANER_THREAD_NICE), so that when the cores are
 * contended the event loop and the I/O threads serving requests run first and the cleaner takes a smaller share
 * (on an idle machine it still gets a whole core). Linux schedules threads individually: setpriority() on the
 * thread's own id (from /proc/thread-self) changes this thread only. Lowering a priority needs no privilege
 * (raising it back does: a worker reused at a lower nice value keeps its higher one); elsewhere, or if refused,
 * the thread keeps the process's priority. Returns the thread's nice value, undefined when it could not be set.
 */
export function setCleanerThreadPriority(nice: number): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0 || tid === process.pid) return undefined;
    os.setPriority(tid, nice);
    return os.getPriority(tid);
  } catch {
    return undefined;
  }
}

let compute: CleanerCompute | undefined;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

async function handle(op: ComputeOp, args: unknown[]): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  if (op === 'priority') {
    setCleanerThreadPriority(args[0] as number);
    return { result: null, transfer: [] };
  }
  if (op === 'init') {
    setCleanerThreadPriority(args[1] as number);
    const zstd = await loadWorkerZstd();
    compute = new CleanerCompute(args[0] as number, (codec, payload) => (codec === ZSTD_CODEC ? zstd(payload, MAX_DECOMPRESSED_BYTES) : decompressRecords(codec, payload)));
    return { result: compute.usage, transfer: [] };
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
