// Splits a TCP byte stream into Kafka frames: a 4-byte big-endian size, then that many bytes.
//
// Frames are handed out as Buffers the caller owns. When a whole frame sits inside one socket chunk it is a
// zero-copy subarray of that chunk (Node never reuses a chunk it has emitted); only a frame that spans chunks is
// assembled, once, into a buffer of exactly its size. Nothing is concatenated per chunk, and nothing handed out is
// ever overwritten, so a produce batch can be passed to the log without a defensive copy.
//
// The size is checked against the limit as soon as the 4 prefix bytes are known, before any body is buffered
// (`socket.request.max.bytes`): a negative or oversized size is a protocol violation and the connection must close.

export type FrameSizeViolation = { kind: 'negative' | 'too-large'; size: number };

export class FrameReader {
  private readonly maxFrameBytes: number;
  /** The frame being assembled across chunks, or null. */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  /** Up to 3 bytes of a size prefix split across chunks. */
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeBytesFilled = 0;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** True while part of a frame (or of its size prefix) has been received but not the whole of it. */
  get hasPartialFrame(): boolean {
    return this.partial !== null || this.sizeBytesFilled > 0;
  }

  /**
   * Feeds one chunk; calls `onFrame` for each complete frame body (without its size prefix), in order.
   * Returns a violation (and stops reading) when a size prefix is negative or above the limit.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): FrameSizeViolation | null {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.partial !== null) {
        const wanted = this.partial.length - this.partialFilled;
        const n = Math.min(wanted, end - pos);
        chunk.copy(this.partial, this.partialFilled, pos, pos + n);
        this.partialFilled += n;
        pos += n;
        if (this.partialFilled === this.partial.length) {
          const frame = this.partial;
          this.partial = null;
          this.partialFilled = 0;
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
        onFrame(frame);
      } else {
        this.partial = Buffer.allocUnsafe(size);
        this.partialFilled = 0;
      }
    }
    return null;
  }
}
