// Transactional offset commits (TxnOffsetCommit, KIP-98) between the commit request and the transaction's marker:
// Kafka's GroupMetadata.pendingTransactionalOffsetCommits and GroupMetadataManager.openGroupsForProducer.
//
// Life of a transactional offset:
//   TxnOffsetCommit ──▶ appended to `__consumer_offsets` as a transactional record, pending for (group,
//                        producerId); invisible to OffsetFetch; require_stable (KIP-447) answers
//                        UNSTABLE_OFFSET_COMMIT for its partition
//   marker COMMIT   ──▶ GroupCoordinator.completeTransaction, once the marker is in the partition: visible, unless
//                        a newer commit of the partition wins (below)
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
// Durability: the TxnOffsetCommit is answered after its offsets are appended to the group's `__consumer_offsets`
// partition as a transactional batch of the producer (offsets-topic.ts), as Kafka does; the marker written to that
// partition decides them, and a restart before the marker reloads them as pending with their log positions.
//
// Producer epochs: the `__consumer_offsets` partition tracks each producer's epoch like any partition
// (producer-state.ts, durable with the log), so a TxnOffsetCommit from an epoch older than one the partition has
// seen (a zombie fenced by InitProducerId, whose abort marker carried the bumped epoch) fails to append with
// INVALID_PRODUCER_EPOCH (ProducerAppendInfo.checkProducerEpoch) and its offsets never become pending.
import type { StoredOffset } from './group-records.js';

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

  /** Takes back one prepared offset whose write failed, unless something replaced or removed it meanwhile. */
  discard(producerId: bigint, key: string, pending: PendingTxnOffset): void {
    const offsets = this.byProducer.get(producerId);
    if (offsets?.get(key) !== pending) return;
    offsets.delete(key);
    this.decrementPartition(key);
    if (offsets.size === 0) this.byProducer.delete(producerId);
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
