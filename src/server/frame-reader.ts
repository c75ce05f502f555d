// Splits a TCP byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
//
// Frames are handed out as Buffers the caller owns. When a whole frame sits inside one socket chunk it is a
// zero-copy subarray of that chunk (Node never reuses a chunk it has emitted); only a frame that spans chunks is
// assembled into a buffer of its own. Nothing is concatenated per chunk, and nothing handed out is ever overwritten,
// so a produce batch can be passed to the log without a defensive copy.
//
// The size is checked against the limit as soon as the 4 prefix bytes are known, before any body is buffered
// (`socket.request.max.bytes`): a negative or oversized size is a protocol violation and the connection must close.
//
// A frame buffer is allocated as its bytes arrive, never from the size prefix alone: a peer that announces 100 MB
// and then trickles must not cost 100 MB. Kafka allocates the whole receive from its pool once the size is known
// (NetworkReceive.readFrom); Eddy allocates in steps, so the pool only ever holds what was actually sent:
//
//   frame size            first buffer (when its first body byte arrives)   then
//   <= PREALLOCATE_BYTES  exactly the size (one copy per byte, as before)   —
//   larger                PREALLOCATE_BYTES                                 doubles, capped at the size, so the
//                                                                           last buffer is exactly the frame
//
// and while the memory budget is nearly spent a buffer grows only by what has arrived (or what the budget has left),
// never by a doubling step. Every allocation, and every zero-copy frame, is reported to `FrameMemory.reserve`; the
// bytes of a frame handed out belong to the caller from then on (it gives them back when the request is done), and
// `discard()` returns those of a frame still being assembled.

export type FrameSizeViolation = { kind: 'negative' | 'too-large'; size: number };

/** Where frame bytes are accounted (the connection's share of the broker's MemoryPool). */
export interface FrameMemory {
  /** Bytes that may still be allocated before the budget is spent. */
  readonly availableBytes: number;
  reserve(bytes: number): void;
}

/** Frames up to this size get their whole buffer at once; it is also the first step of a larger frame's buffer. */
export const PREALLOCATE_BYTES = 1 << 20;

const UNACCOUNTED: FrameMemory = { availableBytes: Infinity, reserve: () => undefined };

export class FrameReader {
  /** The size limit for frames whose size prefix has not arrived yet (a connection lowers it before SASL completes). */
  maxFrameBytes: number;
  private readonly memory: FrameMemory;
  /** Size of the frame whose body is being read, or -1 between frames. */
  private frameSize = -1;
  /** The buffer that frame is assembled in (null until its first body byte arrives); at most frameSize long. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Up to 3 bytes of a size prefix split across chunks. */
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeBytesFilled = 0;
  /** Frames handed out so far: tells a caller whether the partial frame after a push is a new one. */
  framesCompleted = 0;

  constructor(maxFrameBytes: number, memory: FrameMemory = UNACCOUNTED) {
    this.maxFrameBytes = maxFrameBytes;
    this.memory = memory;
  }

  /** True while part of a frame (or of its size prefix) has been received but not the whole of it. */
  get hasPartialFrame(): boolean {
    return this.frameSize >= 0 || this.sizeBytesFilled > 0;
  }

  /** Body bytes received of the frame being assembled, and the size its prefix announced (-1 when none). */
  get partialFrame(): { receivedBytes: number; size: number } {
    return { receivedBytes: this.partialFilled, size: this.frameSize };
  }

  /** Bytes allocated for the frame being assembled (what `discard()` gives back). */
  get bufferedBytes(): number {
    return this.partial?.length ?? 0;
  }

  /** Drops the frame being assembled; returns the bytes its buffer had reserved. */
  discard(): number {
    const bytes = this.bufferedBytes;
    this.partial = null;
    this.partialFilled = 0;
    this.frameSize = -1;
    this.sizeBytesFilled = 0;
    return bytes;
  }

  /**
   * Feeds one chunk; calls `onFrame` for each complete frame body (without its size prefix), in order.
   * Returns a violation (and stops reading) when a size prefix is negative or above the limit.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): FrameSizeViolation | null {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.frameSize >= 0) {
        const n = Math.min(this.frameSize - this.partialFilled, end - pos);
        this.ensureCapacity(this.partialFilled + n);
        chunk.copy(this.partial!, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === this.frameSize) {
          const frame = this.partial!;
          this.partial = null;
          this.partialFilled = 0;
          this.frameSize = -1;
          this.framesCompleted++;
          onFrame(frame);
        }
        continue;
      }

      let size: number;
      if (this.sizeBytesFilled === 0 && end - pos >= 4) {
        size = chunk.readInt32BE(pos);
        pos += 4;
      } else {
        const n = Math.min(4 - this.sizeBytesFilled, end - pos);
        chunk.copy(this.sizeBytes, this.sizeBytesFilled, pos, pos + n);
        this.sizeBytesFilled += n;
        pos += n;
        if (this.sizeBytesFilled < 4) return null;
        this.sizeBytesFilled = 0;
        size = this.sizeBytes.readInt32BE(0);
      }

      if (size < 0) return { kind: 'negative', size };
      if (size > this.maxFrameBytes) return { kind: 'too-large', size };

      if (end - pos >= size) {
        const frame = chunk.subarray(pos, pos + size);
        pos += size;
        this.memory.reserve(size);
        this.framesCompleted++;
        onFrame(frame);
      } else {
        this.frameSize = size;
        this.partialFilled = 0;
      }
    }
    return null;
  }

  /** Makes the frame buffer hold at least `needed` bytes, growing it by the rule in the table above. */
  private ensureCapacity(needed: number): void {
    const capacity = this.partial?.length ?? 0;
    if (needed <= capacity) return;
    let next = capacity === 0 ? Math.min(this.frameSize, PREALLOCATE_BYTES) : Math.min(this.frameSize, capacity * 2);
    const available = this.memory.availableBytes;
    if (next - capacity > available) next = capacity + available;
    if (next < needed) next = needed;
    const grown = Buffer.allocUnsafe(next);
    if (this.partial !== null) this.partial.copy(grown, 0, 0, this.partialFilled);
    this.memory.reserve(next - capacity);
    this.partial = grown;
  }
}
