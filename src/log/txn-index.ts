// The aborted transactions of one partition (Kafka's TransactionIndex and AbortedTxn, one `.txnindex` file per
// segment), which read_committed Fetch answers carry so that consumers drop the aborted records.
//
// File `<dir>/<20-digit segment base offset>.txnindex`: the aborted transactions whose ABORT marker is in that
// segment, in marker order, each entry 34 bytes big-endian (AbortedTxn, version 0):
//
//   off  size  field
//   0    2     version            int16   0
//   2    8     producer_id        int64
//   10   8     first_offset       int64   the transaction's first offset on this partition
//   18   8     last_offset        int64   the offset of its ABORT marker
//   26   8     last_stable_offset int64   the partition's LSO once the marker was written
//
// Eddy keeps every entry in memory too (aborted transactions are few, and Fetch must not read files to answer
// them); the files make them survive restarts. Loading reads the files of the segments that exist (deleting
// those of segments that don't), cuts each file before its first entry at or past the log end offset (a torn
// tail), a trailing partial entry or an entry of an unknown version (Kafka's TransactionIndex throws
// CorruptIndexException there), and the log replay from the producer snapshot re-adds the ABORT markers it
// meets: add() skips entries already known (unique by last offset).
import type { LogFs } from './fs.js';

export const TXN_INDEX_SUFFIX = '.txnindex';
export const TXN_INDEX_ENTRY_SIZE = 34;
const TXN_INDEX_VERSION = 0;

export interface AbortedTxn {
  producerId: bigint;
  firstOffset: bigint;
  lastOffset: bigint;
  lastStableOffset: bigint;
}

export function txnIndexFileName(segmentBaseOffset: bigint): string {
  return segmentBaseOffset.toString().padStart(20, '0') + TXN_INDEX_SUFFIX;
}

export function encodeAbortedTxn(txn: AbortedTxn): Buffer {
  const buf = Buffer.alloc(TXN_INDEX_ENTRY_SIZE);
  buf.writeInt16BE(TXN_INDEX_VERSION, 0);
  buf.writeBigInt64BE(txn.producerId, 2);
  buf.writeBigInt64BE(txn.firstOffset, 10);
  buf.writeBigInt64BE(txn.lastOffset, 18);
  buf.writeBigInt64BE(txn.lastStableOffset, 26);
  return buf;
}

/** The entries of a `.txnindex` file's bytes, up to a partial entry or one of an unknown version. */
export function decodeTxnIndex(buf: Buffer): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (let p = 0; p + TXN_INDEX_ENTRY_SIZE <= buf.length; p += TXN_INDEX_ENTRY_SIZE) {
    if (buf.readInt16BE(p) !== TXN_INDEX_VERSION) break;
    out.push({
      producerId: buf.readBigInt64BE(p + 2),
      firstOffset: buf.readBigInt64BE(p + 10),
      lastOffset: buf.readBigInt64BE(p + 18),
      lastStableOffset: buf.readBigInt64BE(p + 26),
    });
  }
  return out;
}

export class AbortedTxnIndex {
  /** Sorted by lastOffset (markers are written in offset order). */
  private readonly txns: AbortedTxn[] = [];

  private constructor(
    private readonly fs: LogFs,
    private readonly dir: string,
  ) {}

  static empty(fs: LogFs, dir: string): AbortedTxnIndex {
    return new AbortedTxnIndex(fs, dir);
  }

  /**
   * Reads the `.txnindex` files of `segmentBases`. Entries at or past logEndOffset (a tail that recovery cut off)
   * are dropped and their file truncated before them, and files of segments that no longer exist are deleted,
   * so that a segment created later at the same base offset starts empty.
   */
  static async load(fs: LogFs, dir: string, segmentBases: readonly bigint[], logEndOffset: bigint): Promise<AbortedTxnIndex> {
    const index = new AbortedTxnIndex(fs, dir);
    const bases = new Set(segmentBases);
    for (const entry of await fs.readdir(dir)) {
      const m = /^(\d{20})\.txnindex$/.exec(entry.name);
      if (entry.isDirectory || m === null) continue;
      const base = BigInt(m[1]!);
      const path = `${dir}/${entry.name}`;
      if (!bases.has(base)) {
        await fs.unlink(path);
        continue;
      }
      const bytes = await fs.readFile(path);
      const txns = decodeTxnIndex(bytes);
      let kept = 0;
      for (const txn of txns) {
        if (txn.lastOffset >= logEndOffset || txn.lastOffset < base) break;
        index.insert(txn);
        kept++;
      }
      if (kept * TXN_INDEX_ENTRY_SIZE < bytes.length) {
        const file = await fs.open(path, 'r+');
        try {
          await file.truncate(kept * TXN_INDEX_ENTRY_SIZE);
        } finally {
          await file.close();
        }
      }
    }
    return index;
  }

  get size(): number {
    return this.txns.length;
  }

  /** Every entry, oldest marker first (tests, tools). */
  all(): readonly AbortedTxn[] {
    return this.txns;
  }

  /** Adds an entry in memory; false when an entry with its lastOffset is already known (a replayed marker). */
  insert(txn: AbortedTxn): boolean {
    const txns = this.txns;
    let i = txns.length;
    while (i > 0 && txns[i - 1]!.lastOffset > txn.lastOffset) i--;
    if (i > 0 && txns[i - 1]!.lastOffset === txn.lastOffset) return false;
    txns.splice(i, 0, txn);
    return true;
  }

  /**
   * Records `txn` (its marker is in the segment at `segmentBase`): in memory, and appended to that segment's file,
   * fsynced when `durable`. A replayed entry already known writes nothing.
   */
  async add(txn: AbortedTxn, segmentBase: bigint, durable: boolean): Promise<void> {
    if (!this.insert(txn)) return;
    const path = `${this.dir}/${txnIndexFileName(segmentBase)}`;
    const exists = (await this.fs.fileSize(path)) !== undefined;
    const file = await this.fs.open(path, exists ? 'r+' : 'w+');
    try {
      const size = await file.size();
      // A partial entry left by a crash is overwritten (it is ignored on load anyway).
      const at = size - (size % TXN_INDEX_ENTRY_SIZE);
      const bytes = encodeAbortedTxn(txn);
      let written = 0;
      while (written < bytes.length) written += await file.writev([bytes.subarray(written)], at + written);
      if (durable) await file.sync();
    } finally {
      await file.close();
    }
  }

  /**
   * Kafka's TransactionIndex.truncateTo, after a replica's log was cut at `offset` (truncation.ts): forgets the
   * entries whose marker is at or after it and cuts the file of `segmentBase` (the segment that now ends the log)
   * before its first such entry. Files of segments removed by the truncation are the caller's to unlink.
   */
  async truncateTo(offset: bigint, segmentBase: bigint): Promise<void> {
    let keep = this.txns.length;
    while (keep > 0 && this.txns[keep - 1]!.lastOffset >= offset) keep--;
    this.txns.length = keep;
    const path = `${this.dir}/${txnIndexFileName(segmentBase)}`;
    if ((await this.fs.fileSize(path)) === undefined) return;
    const bytes = await this.fs.readFile(path);
    let kept = 0;
    for (const txn of decodeTxnIndex(bytes)) {
      if (txn.lastOffset >= offset) break;
      kept++;
    }
    if (kept * TXN_INDEX_ENTRY_SIZE >= bytes.length) return;
    const file = await this.fs.open(path, 'r+');
    try {
      await file.truncate(kept * TXN_INDEX_ENTRY_SIZE);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  /**
   * The aborted transactions a read_committed fetch of [fetchOffset, upperBoundOffset) must report (Kafka's
   * collectAbortedTxns): those whose marker is at or after fetchOffset and whose first offset is below the bound.
   */
  collect(fetchOffset: bigint, upperBoundOffset: bigint): Array<{ producerId: bigint; firstOffset: bigint }> {
    const out: Array<{ producerId: bigint; firstOffset: bigint }> = [];
    const txns = this.txns;
    // Binary search for the first marker at or after fetchOffset.
    let lo = 0;
    let hi = txns.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (txns[mid]!.lastOffset < fetchOffset) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < txns.length; i++) {
      const t = txns[i]!;
      if (t.firstOffset < upperBoundOffset) out.push({ producerId: t.producerId, firstOffset: t.firstOffset });
      // Markers are in offset order and a marker's first offset is below it: once the markers pass the bound and
      // the partition's LSO at the time did too, no later transaction can start below the bound.
      if (t.lastStableOffset >= upperBoundOffset) break;
    }
    return out;
  }
}
