// Transaction state carried through one cleaning pass (Kafka's LogCleaner CleanedTransactionMetadata): which
// batches belong to aborted transactions (dropped), and which transaction markers may go.
//
//   batch met                          state change                                          result
//   data, transactional, its producer  the aborted txn notes it saw data                     aborted: discard
//     has an aborted txn open here
//   data, transactional, otherwise     the producer has an ongoing committed txn             keep (compact as usual)
//   data, not transactional            -                                                     keep
//   ABORT marker                       the producer's aborted txn ends; if data of it was    marker may be discarded
//                                      seen in this pass, the txn goes to the cleaned        only when no data was seen
//                                      segment's .txnindex and the marker must stay
//   COMMIT marker                      the producer's committed txn ends                     may be discarded only when
//                                                                                             none of its data was seen
//   empty control batch (cleaned)      -                                                     may be discarded
//
// An aborted transaction is "open" from the batch at or after its first offset until its ABORT marker. "May be
// discarded" for a marker still waits for its delete horizon (log-cleaner.ts, KIP-534).
import type { AbortedTxn } from '../txn-index.js';
import type { BatchView } from './batch-filter.js';

export class CleanedTransactionMetadata {
  private readonly ongoingCommitted = new Set<bigint>();
  private readonly ongoingAborted = new Map<bigint, { txn: AbortedTxn; sawData: boolean }>();
  /** Aborted transactions not yet reached, by first offset, from pendingHead on. */
  private pending: AbortedTxn[] = [];
  private pendingHead = 0;
  private readonly known = new Set<bigint>();
  /** The aborted transactions to write into the cleaned segment being built (Kafka's cleanedIndex). */
  retainedAbortedTxns: AbortedTxn[] = [];

  /**
   * Adds aborted transactions of the range about to be read (each once: they are unique by marker offset). The
   * new ones are sorted and merged into those not yet reached: linear in what is pending, not a re-sort of all.
   */
  addAbortedTransactions(txns: Iterable<AbortedTxn>): void {
    const added: AbortedTxn[] = [];
    for (const txn of txns) {
      if (this.known.has(txn.lastOffset)) continue;
      this.known.add(txn.lastOffset);
      added.push(txn);
    }
    if (added.length === 0) return;
    added.sort(byFirstOffset);
    const merged: AbortedTxn[] = [];
    let i = this.pendingHead;
    let j = 0;
    while (i < this.pending.length || j < added.length) {
      if (j === added.length || (i < this.pending.length && byFirstOffset(this.pending[i]!, added[j]!) <= 0)) merged.push(this.pending[i++]!);
      else merged.push(added[j++]!);
    }
    this.pending = merged;
    this.pendingHead = 0;
  }

  private consumeAbortedUpTo(offset: bigint): void {
    const pending = this.pending;
    while (this.pendingHead < pending.length && pending[this.pendingHead]!.firstOffset <= offset) {
      const txn = pending[this.pendingHead++]!;
      if (!this.ongoingAborted.has(txn.producerId)) this.ongoingAborted.set(txn.producerId, { txn, sawData: false });
    }
  }

  /** A control batch was read; true when it may be discarded (table above). */
  onControlBatchRead(batch: BatchView): boolean {
    this.consumeAbortedUpTo(batch.lastOffset);
    if (batch.recordCount === 0) return true;
    if (batch.controlCommit === false) {
      const aborted = this.ongoingAborted.get(batch.producerId);
      this.ongoingAborted.delete(batch.producerId);
      if (aborted?.sawData) {
        this.retainedAbortedTxns.push(aborted.txn);
        return false;
      }
      return true;
    }
    if (batch.controlCommit === true) return !this.ongoingCommitted.delete(batch.producerId);
    return false;
  }

  /** A data batch was read; true when it belongs to an aborted transaction. */
  onBatchRead(batch: BatchView): boolean {
    this.consumeAbortedUpTo(batch.lastOffset);
    if (!batch.isTransactional) return false;
    const aborted = this.ongoingAborted.get(batch.producerId);
    if (aborted) {
      aborted.sawData = true;
      return true;
    }
    this.ongoingCommitted.add(batch.producerId);
    return false;
  }
}

function byFirstOffset(a: AbortedTxn, b: AbortedTxn): number {
  return a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0;
}
