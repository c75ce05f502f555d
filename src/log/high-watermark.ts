// The managed-high-watermark mode's byte count (PartitionLog.setHighWatermarkManaged). In that mode a write moves
// the log end offset only, and the owner (the replica manager: HW = min LEO over the ISR, Kafka's
// Partition.maybeIncrementLeaderHW) moves the high watermark later. Fetch long polls compare
// PartitionLog.visibleBytesAppended before and after a wake-up (min_bytes), so that count must follow the high
// watermark, not the writes: this queue keeps, for each batch written above the high watermark, its end offset and
// the total bytes written up to it, in two typed arrays (no object per batch), and hands back the count at the last
// batch end the high watermark reaches. Entries leave when the high watermark passes them or a truncation removes
// their batches, so the queue holds about one replication round trip of batches.
//
//   high watermark moves to H                                visible byte count becomes
//   some recorded batch ends at or below H                   the bytes written up to the last such batch
//   none does (data loaded from disk before the mode began)  the old count plus (H - old HW): at least one byte per
//                                                            offset, so a move is never mistaken for "nothing new"

const FIRST_CAPACITY = 64;

export class WrittenAboveHighWatermark {
  private ends = new BigInt64Array(0);
  private totals = new Float64Array(0);
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  /** A batch ending at `endOffset` (exclusive) was written; `bytesWrittenTotal` counts every byte up to its end. */
  push(endOffset: bigint, bytesWrittenTotal: number): void {
    if (this.tail === this.ends.length) this.makeRoom();
    this.ends[this.tail] = endOffset;
    this.totals[this.tail] = bytesWrittenTotal;
    this.tail++;
  }

  /** Drops the entries ending at or below `highWatermark`; returns the byte total of the last one, if any. */
  advanceTo(highWatermark: bigint): number | undefined {
    let total: number | undefined;
    while (this.head < this.tail && this.ends[this.head]! <= highWatermark) total = this.totals[this.head++]!;
    if (this.head === this.tail) this.head = this.tail = 0;
    return total;
  }

  /** The log was cut at `offset`: entries of batches ending past it go. */
  truncateTo(offset: bigint): void {
    while (this.tail > this.head && this.ends[this.tail - 1]! > offset) this.tail--;
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  clear(): void {
    this.head = this.tail = 0;
  }

  private makeRoom(): void {
    const live = this.tail - this.head;
    if (this.head > 0 && live * 2 <= this.ends.length) {
      this.ends.copyWithin(0, this.head, this.tail);
      this.totals.copyWithin(0, this.head, this.tail);
    } else {
      const capacity = Math.max(FIRST_CAPACITY, this.ends.length * 2);
      const ends = new BigInt64Array(capacity);
      const totals = new Float64Array(capacity);
      ends.set(this.ends.subarray(this.head, this.tail));
      totals.set(this.totals.subarray(this.head, this.tail));
      this.ends = ends;
      this.totals = totals;
    }
    this.head = 0;
    this.tail = live;
  }
}
