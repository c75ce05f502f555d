// zstd decoding for the cleaner's worker thread (cleaner-worker.ts). The event loop's cleaner decodes zstd with
// libzstd on libuv's thread pool (compression.ts decompressRecordsAsync); in the worker that would put the cleaner's
// heaviest work back on the pool the request path's file reads and writes share, at normal CPU priority. Here it
// runs on the worker itself, synchronously, at the worker's low priority:
//
//   a batch's zstd payload                                 decoded by
//   output of at most WASM_DECODE_MAX_BYTES (and maxBytes) zstddec: libzstd's decoder built to WebAssembly
//                                                          (ZSTD_decompress: every frame, ~300-450 MB/s here, 3-5x
//                                                          fzstd) into a buffer of the frame's declared content
//                                                          size, or, as streaming compressors (@mongodb-js/zstd,
//                                                          ZSTD_compressStream) declare none, of 8x the payload,
//                                                          grown 4x at a time while libzstd says it is too small
//   anything else (a larger output or payload, a first     compression.ts decompressRecords
//   frame declaring 0 bytes, what libzstd refuses): fzstd, streaming,
//                                                          bounded by maxBytes, and the error Kafka's reader gives
//
// ZSTD_decompress either decodes all of the input or fails; zstddec hands a failure back as a slice with a negative
// end (often empty, but counted from the heap's end when libzstd's buffer pointer is 0), so only an output that fits
// the buffer given is taken as the whole batch.
//
// The size bound keeps the WebAssembly heap small: it grows to the largest output decoded and never shrinks, and
// real batches are about 1 MB (a producer's batch.size) before compression.
import { decompressRecords, readZstdFrameHeader } from '../../protocol/records/compression.js';

/** Largest declared content size decoded through WebAssembly (larger frames stream through fzstd). */
export const WASM_DECODE_MAX_BYTES = 8 * 1024 * 1024;
/** The first output buffer for a frame without a declared size (then 8x its payload). */
const MIN_GUESS_BYTES = 64 * 1024;

/** The content size the zstd frame at the start of `payload` declares in its header; undefined without one. */
export function zstdDeclaredContentSize(payload: Buffer): number | undefined {
  return readZstdFrameHeader(payload)?.contentSize;
}

export type ZstdDecoder = (payload: Buffer, maxBytes: number) => Buffer;

/** Loads the WebAssembly decoder (once per thread) and returns the decoder of the table above. */
export async function loadWorkerZstd(): Promise<ZstdDecoder> {
  const { ZSTDDecoder } = await import('zstddec');
  const wasm = new ZSTDDecoder();
  await wasm.init();
  return (payload, maxBytes) => {
    const limit = Math.min(maxBytes, WASM_DECODE_MAX_BYTES);
    // The input is copied into the WebAssembly heap too: a payload past the bound streams through fzstd.
    if (payload.length > limit) return decompressRecords(4, payload, maxBytes);
    const declared = zstdDeclaredContentSize(payload);
    let capacity = declared ?? Math.min(Math.max(payload.length * 8, MIN_GUESS_BYTES), limit);
    // capacity 0 (an empty first frame) would make zstddec ask libzstd for the size instead, and an unknown size
    // (-1) then mallocs nothing: never called with it.
    while (capacity > 0 && capacity <= limit) {
      let out: Uint8Array;
      try {
        out = wasm.decode(payload, capacity);
      } catch {
        break;
      }
      // A failure comes back as a negative size, which heap.slice may count from the heap's end: only an output
      // that fits the buffer given is the batch.
      if (out.length > 0 && out.length <= capacity) return Buffer.from(out.buffer, out.byteOffset, out.length);
      if (declared !== undefined || capacity === limit) break;
      capacity = Math.min(capacity * 4, limit);
    }
    return decompressRecords(4, payload, maxBytes);
  };
}
