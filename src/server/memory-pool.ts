// The broker-wide budget for bytes of requests being read or queued (Kafka: `queued.max.request.bytes`, served by
// SimpleMemoryPool in SocketServer; NetworkReceive takes its frame buffer from it).
//
// What is counted: every request frame from the moment its bytes are buffered until its request is done — the
// buffer a frame is being assembled in (its capacity, which grows with the bytes that arrive: frame-reader.ts), and
// each complete frame while it is queued or in flight. A connection gives its bytes back as its requests finish and
// when it closes.
//
// Like Kafka's pool in non-strict mode (SocketServer builds it with strict = false), a reservation never fails: the
// bytes being counted have already arrived from the socket, so the pool cannot refuse them. What the pool decides
// is whether a connection may go on reading. Kafka mutes a channel whose receive cannot get a buffer and unmutes
// every channel once memory is available again (Selector.poll); a Connection here pauses its socket while the pool
// is out of memory and resumes when a release brings it back under its size (waitForMemory). So the pool can go
// over its size by what was already read when it ran out: at most one socket chunk (64 KiB) per reading
// connection — frame buffers grow only by what the pool has left once it is nearly full.
//
// A size of Infinity is Kafka's MemoryPool.NONE (queued.max.request.bytes <= 0): counted, never out of memory.
export class MemoryPool {
  readonly sizeBytes: number;
  private used = 0;
  private peak = 0;
  private waiters = new Set<() => void>();
  /** Times a connection had to wait for memory (Kafka's MemoryPoolDepletedTimeTotal counts the time instead). */
  mutedCount = 0;

  constructor(sizeBytes: number) {
    this.sizeBytes = sizeBytes > 0 ? sizeBytes : Infinity;
  }

  /** Bytes currently reserved (Kafka's MemoryPoolUsed gauge). */
  get usedBytes(): number {
    return this.used;
  }

  /** The most ever reserved at once since the pool was created. */
  get peakUsedBytes(): number {
    return this.peak;
  }

  /** Bytes left before the pool is out of memory (Kafka's MemoryPoolAvailable); 0 when over its size. */
  get availableBytes(): number {
    return Math.max(0, this.sizeBytes - this.used);
  }

  /** Kafka's isOutOfMemory: nothing left (non-strict mode allocates while anything is left). */
  get isOutOfMemory(): boolean {
    return this.used >= this.sizeBytes;
  }

  /** Connections currently waiting for memory. */
  get waitingCount(): number {
    return this.waiters.size;
  }

  reserve(bytes: number): void {
    this.used += bytes;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(bytes: number): void {
    if (bytes === 0) return;
    this.used -= bytes;
    if (this.waiters.size > 0 && this.used < this.sizeBytes) {
      // Every waiter resumes, as Kafka unmutes every channel; each pauses again if the pool runs out once more.
      const waiters = [...this.waiters];
      this.waiters.clear();
      for (const resume of waiters) resume();
    }
  }

  /** Calls `resume` once the pool is no longer out of memory. Returns a function that cancels the wait. */
  waitForMemory(resume: () => void): () => void {
    this.mutedCount++;
    this.waiters.add(resume);
    return () => {
      this.waiters.delete(resume);
    };
  }
}
