// Transactional offset commits (TxnOffsetCommit, KIP-98) between the commit request and the transaction's marker:
// Kafka's GroupMetadata.pendingTransactionalOffsetCommits and GroupMetadataManager.openGroupsForProducer.
//
// Life of a transactional offset:
//   TxnOffsetCommit ──▶ pending for (group, producerId); invisible to OffsetFetch; require_stable (KIP-447) answers
//                        UNSTABLE_OFFSET_COMMIT for its partition
//   marker COMMIT   ──▶ GroupCoordinator.completeTransaction: written to the offset store as an ordinary commit
//                        record (fsynced), then visible, unless a newer commit of the partition wins (below)
//   marker ABORT    ──▶ dropped
//   OffsetDelete / topic deletion of the partition ──▶ dropped (Kafka's GroupMetadata.removeOffsets)
//
// Which commit wins. Kafka orders the commits of one partition by their offsets in `__consumer_offsets`: a
// transactional commit's record is appended when TxnOffsetCommit arrives, so on COMMIT it becomes the current
// offset only if the current one was appended before it (CommitRecordMetadataAndOffset.olderThan). Here each
// pending offset takes a `position` from the coordinator's write sequence when TxnOffsetCommit arrives, the same
// counter that orders ordinary commits, standing in for that log offset:
// | commit of the same partition                             | outcome at the COMMIT marker                      |
// |----------------------------------------------------------|---------------------------------------------------|
// | ordinary commit queued before the TxnOffsetCommit        | the transactional offset replaces it              |
// | ordinary commit queued after it (in flight or written)   | `superseded`: the ordinary commit stays           |
// | another producer's transactional offset, appended before | replaced, and that one is marked superseded       |
// |   it and committed after                                 |                                                   |
// Deliberate difference: an ordinary commit supersedes the pending offsets when it is queued, not when its write
// succeeds; if that write then fails (the client got NOT_COORDINATOR and normally retries), the transactional
// offset is still not applied, where Kafka would apply it.
//
// Durability (deliberate difference, until offsets move to `__consumer_offsets`): Kafka appends transactional
// offset commits to `__consumer_offsets` as transactional records before answering TxnOffsetCommit, so they
// survive a coordinator failover and are completed by the marker after a restart. Here committed offsets live in
// groups.log (offset-store.ts) and pending transactional offsets only in memory until the COMMIT marker, when they
// are fsynced as ordinary commits before they become visible. A broker restart, clean or a crash, between the
// TxnOffsetCommit and the marker reaching the group coordinator (in particular between the client's EndTxn and the
// marker) loses them: the transaction still commits its produced records (the transaction coordinator keeps the
// transaction in `__transaction_state` and completes it after the restart) but the group keeps its previous
// offsets, so a read-process-write application re-processes those records once. Storing offsets in
// `__consumer_offsets` as transactional records, and loading the ones still open, removes this window.
//
// Producer epochs: Kafka's `__consumer_offsets` partitions track each producer's epoch like any partition, so a
// TxnOffsetCommit from an epoch older than one already seen on that partition (a zombie fenced by
// InitProducerId, whose abort marker carried the bumped epoch) fails with INVALID_PRODUCER_EPOCH
// (ProducerAppendInfo.checkProducerEpoch). ProducerEpochs keeps that per offsets partition, and forgets a
// producer without pending offsets after producer.id.expiration.ms, as Kafka's producer state expires. Like the
// pending offsets the epochs are in memory only: after a restart the next TxnOffsetCommit or marker of a producer
// sets them again (Kafka rebuilds them from the partition's log).
import type { StoredOffset } from './offset-store.js';

export interface PendingTxnOffset {
  offset: StoredOffset;
  /** Write-sequence position when the TxnOffsetCommit arrived (Kafka: the record's offset in the log). */
  position: number;
  /** A later commit of the same partition was queued or applied: on COMMIT this offset is not applied. */
  superseded: boolean;
}

/** One group's pending transactional offsets: producerId → partitionKey → offset. */
export class PendingTxnOffsetCommits {
  private readonly byProducer = new Map<bigint, Map<string, PendingTxnOffset>>();
  /** partitionKey → how many producers have a pending offset for it (hasPendingForPartition is per fetch). */
  private readonly producersByPartition = new Map<string, number>();

  get isEmpty(): boolean {
    return this.byProducer.size === 0;
  }

  hasPendingFromProducer(producerId: bigint): boolean {
    return this.byProducer.has(producerId);
  }

  hasPendingForPartition(key: string): boolean {
    return this.producersByPartition.has(key);
  }

  /** Kafka's prepareTxnOffsetCommit: a second commit of the partition by the same producer replaces the first. */
  prepare(producerId: bigint, key: string, pending: PendingTxnOffset): void {
    let offsets = this.byProducer.get(producerId);
    if (offsets === undefined) this.byProducer.set(producerId, (offsets = new Map()));
    if (!offsets.has(key)) this.producersByPartition.set(key, (this.producersByPartition.get(key) ?? 0) + 1);
    offsets.set(key, pending);
  }

  /** Removes and returns the producer's pending offsets (the marker for them has been written). */
  take(producerId: bigint): Map<string, PendingTxnOffset> | undefined {
    const offsets = this.byProducer.get(producerId);
    if (offsets === undefined) return undefined;
    this.byProducer.delete(producerId);
    for (const key of offsets.keys()) this.decrementPartition(key);
    return offsets;
  }

  /** Puts back offsets taken by take() whose completion failed, unless the producer has committed that partition again. */
  restore(producerId: bigint, offsets: Map<string, PendingTxnOffset>): void {
    for (const [key, pending] of offsets) {
      if (this.byProducer.get(producerId)?.has(key)) continue;
      this.prepare(producerId, key, pending);
    }
  }

  /** A commit of `key` at `position` was queued or applied: older pending offsets of that partition lose to it. */
  supersede(key: string, position: number): void {
    if (!this.producersByPartition.has(key)) return;
    for (const offsets of this.byProducer.values()) {
      const pending = offsets.get(key);
      if (pending !== undefined && pending.position < position) pending.superseded = true;
    }
  }

  /** Kafka's removeOffsets: drops every producer's pending offsets for these partitions. Returns how many. */
  removePartitions(keys: Iterable<string>): number {
    let removed = 0;
    for (const key of keys) {
      if (!this.producersByPartition.has(key)) continue;
      for (const [producerId, offsets] of this.byProducer) {
        if (!offsets.delete(key)) continue;
        removed++;
        this.decrementPartition(key);
        if (offsets.size === 0) this.byProducer.delete(producerId);
      }
    }
    return removed;
  }

  /** The partitionKeys of a topic that have pending offsets (topic deletion). */
  partitionsOfTopic(topic: string): string[] {
    const keys: string[] = [];
    for (const offsets of this.byProducer.values()) {
      for (const [key, pending] of offsets) if (pending.offset.topic === topic) keys.push(key);
    }
    return keys;
  }

  private decrementPartition(key: string): void {
    const n = (this.producersByPartition.get(key) ?? 1) - 1;
    if (n === 0) this.producersByPartition.delete(key);
    else this.producersByPartition.set(key, n);
  }
}

/** The latest producer epoch seen per `__consumer_offsets` partition and producer, with when it was last seen. */
export class ProducerEpochs {
  private readonly entries = new Map<string, { producerEpoch: number; lastSeenMs: number }>();

  private static key(offsetsPartition: number, producerId: bigint): string {
    return `${offsetsPartition}:${producerId}`;
  }

  /** True when `producerEpoch` is older than an epoch this partition has already seen for the producer. */
  isFenced(offsetsPartition: number, producerId: bigint, producerEpoch: number): boolean {
    const e = this.entries.get(ProducerEpochs.key(offsetsPartition, producerId));
    return e !== undefined && producerEpoch < e.producerEpoch;
  }

  /** Records an accepted TxnOffsetCommit or a written marker; the epoch never goes back. */
  observe(offsetsPartition: number, producerId: bigint, producerEpoch: number, nowMs: number): void {
    const key = ProducerEpochs.key(offsetsPartition, producerId);
    const e = this.entries.get(key);
    if (e === undefined) this.entries.set(key, { producerEpoch, lastSeenMs: nowMs });
    else {
      e.producerEpoch = Math.max(e.producerEpoch, producerEpoch);
      e.lastSeenMs = nowMs;
    }
  }

  /** Forgets producers not seen for `expirationMs` unless `isOpen` says they still have pending offsets. */
  expire(nowMs: number, expirationMs: number, isOpen: (producerId: bigint) => boolean): number {
    let removed = 0;
    for (const [key, e] of this.entries) {
      if (nowMs - e.lastSeenMs < expirationMs) continue;
      if (isOpen(BigInt(key.slice(key.indexOf(':') + 1)))) continue;
      this.entries.delete(key);
      removed++;
    }
    return removed;
  }

  get size(): number {
    return this.entries.size;
  }
}
