// What the coordinator knows about one transactional id, and the transitions it may make (Kafka 3.9
// TransactionMetadata.scala).
//
// A change is made in two steps, so that memory never runs ahead of the transaction log:
//   1. prepare…() checks the transition (transaction-state.ts) and returns a TxnTransitMetadata: the complete next
//      value, immutable, which is what gets written to `__transaction_state`. It sets `pendingState` to the target
//      state; while it is set, any other change of this transactional id is refused (the coordinator answers
//      CONCURRENT_TRANSACTIONS), so there is one write per transactional id at a time.
//   2. Once the record is durably written, completeTransitionTo(transit) copies it in and clears `pendingState`. A
//      failed write clears `pendingState` without applying anything (the coordinator does that).
//
// completeTransitionTo re-checks what the write may carry, by target state (anything else is a bug and throws
// TransactionStateError, Kafka's IllegalStateException):
//
//   target                         requires                                                  applies
//   Empty (InitProducerId)         same epoch, epoch + 1, or epoch 0 with a new producer id;  producer id/epoch, last
//                                  no partitions; no start timestamp (-1)                     id/epoch, timeout
//   Ongoing (AddPartitions)        same producer id and epoch; old partitions a subset of     start timestamp,
//                                  the new ones; same timeout                                 partitions
//   PrepareCommit / PrepareAbort   same producer id and epoch, partitions, timeout, start     nothing else
//   CompleteCommit / CompleteAbort same producer id and epoch, timeout; a start timestamp     start timestamp; clears
//                                                                                            the partitions
//   PrepareEpochFence, Dead        never completed (the first is always followed by           -
//                                  PrepareAbort, the second ends in removal)
//
// and in every case sets the last-update timestamp and the state.
//
// Producer epochs: an epoch of Short.MAX_VALUE - 1 (32766) or more is exhausted; InitProducerId then moves the
// transactional id to a new producer id at epoch 0 (prepareProducerIdRotation) so that the coordinator can always
// bump once more to fence an old producer. Timestamps are epoch milliseconds (JS numbers are exact for them).
//
// Transactions v2 (KIP-890 part 2; Kafka's TransactionMetadata at trunk 1eb7644): an EndTxn from a client of
// transaction version 2 bumps the epoch in its Prepare state (the markers carry the bumped epoch and the client
// goes on with it), and when the epoch is exhausted it also names the next producer id, which the Complete state
// moves to at epoch 0. The transition records the client's transaction version, and completeTransitionTo applies
// the bumped epoch (Prepare*) and the new producer id (Complete*) only for it:
//
//   target            transaction version 2 also applies                      its epoch check is against
//   PrepareCommit/    producer epoch (+1), last epoch (the old one), next     the last epoch (the one before the bump)
//   PrepareAbort      producer id
//   CompleteCommit/   producer id (the next one after an overflow, at epoch   the last epoch and the previous producer
//   CompleteAbort     0), epochs, previous and next producer id               id after an overflow, else the epoch
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { checkTransition, TransactionStateError, type TransactionState } from './transaction-state.js';

export const NO_PRODUCER_ID = -1n;
export const NO_PRODUCER_EPOCH = -1;
const SHORT_MAX_VALUE = 32767;

/** Topic → partitions of a transaction, in the order they were added. */
export type TopicPartitions = ReadonlyMap<string, ReadonlySet<number>>;

export function copyTopicPartitions(partitions: TopicPartitions): Map<string, Set<number>> {
  const copy = new Map<string, Set<number>>();
  for (const [topic, set] of partitions) copy.set(topic, new Set(set));
  return copy;
}

export function topicPartitionCount(partitions: TopicPartitions): number {
  let n = 0;
  for (const set of partitions.values()) n += set.size;
  return n;
}

/** Every partition of `a` is in `b`. */
export function isSubsetOf(a: TopicPartitions, b: TopicPartitions): boolean {
  for (const [topic, set] of a) {
    const other = b.get(topic);
    if (set.size > 0 && other === undefined) return false;
    for (const p of set) if (!other!.has(p)) return false;
  }
  return true;
}

function samePartitions(a: TopicPartitions, b: TopicPartitions): boolean {
  return topicPartitionCount(a) === topicPartitionCount(b) && isSubsetOf(a, b);
}

/** Kafka's TransactionMetadata.isEpochExhausted. */
export function isEpochExhausted(producerEpoch: number): boolean {
  return producerEpoch >= SHORT_MAX_VALUE - 1;
}

/** TransactionVersion.TV_2: the first client transaction version whose EndTxn bumps the epoch (supportsEpochBump). */
export const TRANSACTION_VERSION_2 = 2;

export function supportsEpochBump(clientTransactionVersion: number): boolean {
  return clientTransactionVersion >= TRANSACTION_VERSION_2;
}

/** The next value of a transactional id's metadata, as written to the transaction log (Kafka's TxnTransitMetadata). */
export interface TxnTransitMetadata {
  readonly producerId: bigint;
  /** The producer id before this transition (Kafka's prevProducerId; PreviousProducerId in the log). */
  readonly lastProducerId: bigint;
  /** Transactions v2: the producer id the Complete state moves to after an epoch overflow, else -1. */
  readonly nextProducerId: bigint;
  /** The client's transaction version at this transition (0 unless an EndTxn v5 made it). */
  readonly clientTransactionVersion: number;
  readonly producerEpoch: number;
  readonly lastProducerEpoch: number;
  readonly txnTimeoutMs: number;
  readonly txnState: TransactionState;
  readonly topicPartitions: TopicPartitions;
  readonly txnStartTimestamp: number;
  readonly txnLastUpdateTimestamp: number;
}

export interface TransactionMetadataInit {
  transactionalId: string;
  producerId: bigint;
  lastProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TransactionState;
  topicPartitions?: TopicPartitions;
  /** -1 while no transaction has started. */
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  nextProducerId?: bigint;
  clientTransactionVersion?: number;
}

export class TransactionMetadata {
  readonly transactionalId: string;
  producerId: bigint;
  lastProducerId: bigint;
  producerEpoch: number;
  lastProducerEpoch: number;
  txnTimeoutMs: number;
  state: TransactionState;
  readonly topicPartitions: Map<string, Set<number>>;
  txnStartTimestamp: number;
  txnLastUpdateTimestamp: number;
  /** Transactions v2: the producer id to move to once the transaction completes (epoch overflow), else -1. */
  nextProducerId: bigint;
  /** The transaction version of the client's last EndTxn (2: every EndTxn bumps the epoch). */
  clientTransactionVersion: number;
  /** The state a write in flight will move to; set by prepare…(), cleared when the write completes or fails. */
  pendingState: TransactionState | undefined = undefined;
  /**
   * A previous fence's write failed after its epoch was bumped in memory: the next fence reuses that epoch instead
   * of bumping again (the bumped epoch was never returned to a client, so reusing it is safe).
   */
  hasFailedEpochFence = false;

  constructor(init: TransactionMetadataInit) {
    this.transactionalId = init.transactionalId;
    this.producerId = init.producerId;
    this.lastProducerId = init.lastProducerId;
    this.producerEpoch = init.producerEpoch;
    this.lastProducerEpoch = init.lastProducerEpoch;
    this.txnTimeoutMs = init.txnTimeoutMs;
    this.state = init.state;
    this.topicPartitions = init.topicPartitions ? copyTopicPartitions(init.topicPartitions) : new Map();
    this.txnStartTimestamp = init.txnStartTimestamp;
    this.txnLastUpdateTimestamp = init.txnLastUpdateTimestamp;
    this.nextProducerId = init.nextProducerId ?? NO_PRODUCER_ID;
    this.clientTransactionVersion = init.clientTransactionVersion ?? 0;
  }

  get pendingTransitionInProgress(): boolean {
    return this.pendingState !== undefined;
  }

  get isProducerEpochExhausted(): boolean {
    return isEpochExhausted(this.producerEpoch);
  }

  hasPartition(topic: string, partition: number): boolean {
    return this.topicPartitions.get(topic)?.has(partition) === true;
  }

  addPartitions(partitions: TopicPartitions): void {
    for (const [topic, set] of partitions) {
      let mine = this.topicPartitions.get(topic);
      if (mine === undefined) this.topicPartitions.set(topic, (mine = new Set()));
      for (const p of set) mine.add(p);
    }
  }

  /** A partition whose marker is written (or that needs none); only while the transaction is being completed. */
  removePartition(topic: string, partition: number): void {
    if (this.state !== 'PrepareCommit' && this.state !== 'PrepareAbort') {
      throw new TransactionStateError(
        `transactional id ${this.transactionalId} is ${this.state} (pending ${this.pendingState ?? 'none'}): partitions are only removed once their marker is written`,
      );
    }
    const set = this.topicPartitions.get(topic);
    if (set === undefined) return;
    set.delete(partition);
    if (set.size === 0) this.topicPartitions.delete(topic);
  }

  /** Bump the epoch to fence the current producer, then abort its transaction (PrepareEpochFence, never written). */
  prepareFenceProducerEpoch(): TxnTransitMetadata {
    if (this.producerEpoch === SHORT_MAX_VALUE) {
      throw new TransactionStateError(`cannot fence producer ${this.producerId} of ${this.transactionalId}: its epoch is already ${SHORT_MAX_VALUE}`);
    }
    const bumpedEpoch = this.hasFailedEpochFence ? this.producerEpoch : this.producerEpoch + 1;
    return this.prepareTransitionTo('PrepareEpochFence', this.producerId, bumpedEpoch, NO_PRODUCER_EPOCH, this.txnTimeoutMs, this.topicPartitions, this.txnStartTimestamp, this.txnLastUpdateTimestamp);
  }

  /**
   * InitProducerId on the same producer id. Without an expected epoch the epoch is bumped and the last epoch
   * forgotten; with one (KIP-360), the outcome depends on it:
   *
   *   expected epoch                                 outcome
   *   current epoch, or there is no epoch yet (-1)   bump; the last epoch becomes the current one
   *   the last epoch                                 a retry of a bump that succeeded: same epoch again
   *   anything else                                  PRODUCER_FENCED (thrown as KafkaError)
   */
  prepareIncrementProducerEpoch(newTxnTimeoutMs: number, expectedProducerEpoch: number | undefined, updateTimestamp: number): TxnTransitMetadata {
    if (this.isProducerEpochExhausted) {
      throw new TransactionStateError(`Cannot allocate any more producer epochs for producerId ${this.producerId}`);
    }
    const bumpedEpoch = this.producerEpoch + 1;
    let nextEpoch: number;
    let lastEpoch: number;
    if (expectedProducerEpoch === undefined) {
      nextEpoch = bumpedEpoch;
      lastEpoch = NO_PRODUCER_EPOCH;
    } else if (this.producerEpoch === NO_PRODUCER_EPOCH || expectedProducerEpoch === this.producerEpoch) {
      nextEpoch = bumpedEpoch;
      lastEpoch = this.producerEpoch;
    } else if (expectedProducerEpoch === this.lastProducerEpoch) {
      nextEpoch = this.producerEpoch;
      lastEpoch = this.lastProducerEpoch;
    } else {
      throw new KafkaError(
        ErrorCode.PRODUCER_FENCED,
        `Expected producer epoch ${expectedProducerEpoch} does not match current producer epoch ${this.producerEpoch} or previous producer epoch ${this.lastProducerEpoch}`,
      );
    }
    return this.prepareTransitionTo('Empty', this.producerId, nextEpoch, lastEpoch, newTxnTimeoutMs, new Map(), -1, updateTimestamp);
  }

  /** InitProducerId once the epochs of the producer id are exhausted: a new producer id at epoch 0. */
  prepareProducerIdRotation(newProducerId: bigint, newTxnTimeoutMs: number, updateTimestamp: number, recordLastEpoch: boolean): TxnTransitMetadata {
    if (this.state === 'Ongoing' || this.state === 'PrepareAbort' || this.state === 'PrepareCommit') {
      throw new TransactionStateError('Cannot rotate producer ids while a transaction is still pending');
    }
    return this.prepareTransitionTo('Empty', newProducerId, 0, recordLastEpoch ? this.producerEpoch : NO_PRODUCER_EPOCH, newTxnTimeoutMs, new Map(), -1, updateTimestamp);
  }

  /** AddPartitionsToTxn / AddOffsetsToTxn; the first partition of a transaction starts its clock. */
  prepareAddPartitions(added: TopicPartitions, updateTimestamp: number): TxnTransitMetadata {
    const startsTransaction = this.state === 'Empty' || this.state === 'CompleteAbort' || this.state === 'CompleteCommit';
    const partitions = copyTopicPartitions(this.topicPartitions);
    for (const [topic, set] of added) {
      let mine = partitions.get(topic);
      if (mine === undefined) partitions.set(topic, (mine = new Set()));
      for (const p of set) mine.add(p);
    }
    return this.prepareTransitionTo('Ongoing', this.producerId, this.producerEpoch, this.lastProducerEpoch, this.txnTimeoutMs, partitions, startsTransaction ? updateTimestamp : this.txnStartTimestamp, updateTimestamp);
  }

  /**
   * EndTxn: PrepareCommit or PrepareAbort, with every partition of the transaction still waiting for its marker.
   * A client of transaction version 2 gets the epoch bumped (the caller made sure it cannot overflow: at an
   * exhausted epoch it passes the next producer id).
   */
  prepareAbortOrCommit(newState: 'PrepareCommit' | 'PrepareAbort', clientTransactionVersion: number, nextProducerId: bigint, updateTimestamp: number): TxnTransitMetadata {
    const bump = supportsEpochBump(clientTransactionVersion);
    const epoch = bump ? this.producerEpoch + 1 : this.producerEpoch;
    const lastEpoch = bump ? this.producerEpoch : this.lastProducerEpoch;
    return this.prepareTransitionTo(newState, this.producerId, epoch, lastEpoch, this.txnTimeoutMs, this.topicPartitions, this.txnStartTimestamp, updateTimestamp, nextProducerId, clientTransactionVersion);
  }

  /**
   * Every marker is written: CompleteCommit or CompleteAbort, with no partitions. After a transactions-v2 epoch
   * overflow the transactional id moves to its next producer id at epoch 0.
   */
  prepareComplete(updateTimestamp: number): TxnTransitMetadata {
    const newState = this.state === 'PrepareCommit' ? 'CompleteCommit' : 'CompleteAbort';
    // The Prepare state was written, so a fence that failed earlier is behind us.
    this.hasFailedEpochFence = false;
    const rotate = supportsEpochBump(this.clientTransactionVersion) && this.nextProducerId !== NO_PRODUCER_ID;
    return this.prepareTransitionTo(
      newState,
      rotate ? this.nextProducerId : this.producerId,
      rotate ? 0 : this.producerEpoch,
      this.producerEpoch,
      this.txnTimeoutMs,
      new Map(),
      this.txnStartTimestamp,
      updateTimestamp,
      NO_PRODUCER_ID,
      this.clientTransactionVersion,
    );
  }

  /** transactional.id.expiration.ms: about to be removed (a tombstone is written, then the id is forgotten). */
  prepareDead(): TxnTransitMetadata {
    return this.prepareTransitionTo('Dead', this.producerId, this.producerEpoch, this.lastProducerEpoch, this.txnTimeoutMs, new Map(), this.txnStartTimestamp, this.txnLastUpdateTimestamp);
  }

  private prepareTransitionTo(
    newState: TransactionState,
    newProducerId: bigint,
    newEpoch: number,
    newLastEpoch: number,
    newTxnTimeoutMs: number,
    newTopicPartitions: TopicPartitions,
    newTxnStartTimestamp: number,
    updateTimestamp: number,
    nextProducerId: bigint = NO_PRODUCER_ID,
    clientTransactionVersion = 0,
  ): TxnTransitMetadata {
    if (this.pendingState !== undefined) {
      throw new TransactionStateError(`${this.transactionalId}: preparing a transition to ${newState} while a transition to ${this.pendingState} is pending`);
    }
    if (newProducerId < 0n) throw new TransactionStateError(`${this.transactionalId}: illegal new producer id ${newProducerId}`);
    // A new transactional id has epoch -1 until its first InitProducerId completes, and may expire like that.
    if (newState !== 'Dead' && newEpoch < 0) throw new TransactionStateError(`${this.transactionalId}: illegal new producer epoch ${newEpoch}`);
    checkTransition(this.state, newState);
    const transit: TxnTransitMetadata = {
      producerId: newProducerId,
      lastProducerId: this.producerId,
      nextProducerId,
      clientTransactionVersion,
      producerEpoch: newEpoch,
      lastProducerEpoch: newLastEpoch,
      txnTimeoutMs: newTxnTimeoutMs,
      txnState: newState,
      topicPartitions: copyTopicPartitions(newTopicPartitions),
      txnStartTimestamp: newTxnStartTimestamp,
      txnLastUpdateTimestamp: updateTimestamp,
    };
    this.pendingState = newState;
    return transit;
  }

  /** Applies a transition whose record is durably written (checks in the header table). */
  completeTransitionTo(transit: TxnTransitMetadata): void {
    const toState = this.pendingState;
    if (toState === undefined) {
      throw new TransactionStateError(`${this.transactionalId}: completing a transition to ${transit.txnState} without a pending state`);
    }
    if (toState !== transit.txnState) this.failTransition(transit);
    switch (toState) {
      case 'Empty':
        if ((this.producerEpoch !== transit.producerEpoch && !this.validProducerEpochBump(transit)) || transit.topicPartitions.size > 0 || transit.txnStartTimestamp !== -1) {
          this.failTransition(transit);
        }
        this.txnTimeoutMs = transit.txnTimeoutMs;
        this.producerEpoch = transit.producerEpoch;
        this.lastProducerEpoch = transit.lastProducerEpoch;
        this.producerId = transit.producerId;
        this.lastProducerId = transit.lastProducerId;
        break;
      case 'Ongoing':
        if (!this.validProducerEpoch(transit) || !isSubsetOf(this.topicPartitions, transit.topicPartitions) || this.txnTimeoutMs !== transit.txnTimeoutMs) {
          this.failTransition(transit);
        }
        this.txnStartTimestamp = transit.txnStartTimestamp;
        this.addPartitions(transit.topicPartitions);
        break;
      case 'PrepareCommit':
      case 'PrepareAbort':
        if (
          !this.validProducerEpoch(transit) ||
          !samePartitions(this.topicPartitions, transit.topicPartitions) ||
          this.txnTimeoutMs !== transit.txnTimeoutMs ||
          this.txnStartTimestamp !== transit.txnStartTimestamp
        ) {
          this.failTransition(transit);
        }
        if (supportsEpochBump(transit.clientTransactionVersion)) {
          this.producerEpoch = transit.producerEpoch;
          this.lastProducerEpoch = transit.lastProducerEpoch;
          this.nextProducerId = transit.nextProducerId;
        }
        break;
      case 'CompleteCommit':
      case 'CompleteAbort':
        if (!this.validProducerEpoch(transit) || this.txnTimeoutMs !== transit.txnTimeoutMs || transit.txnStartTimestamp === -1) {
          this.failTransition(transit);
        }
        this.txnStartTimestamp = transit.txnStartTimestamp;
        this.topicPartitions.clear();
        if (supportsEpochBump(transit.clientTransactionVersion)) {
          this.producerEpoch = transit.producerEpoch;
          this.lastProducerEpoch = transit.lastProducerEpoch;
          this.lastProducerId = transit.lastProducerId;
          this.producerId = transit.producerId;
          this.nextProducerId = transit.nextProducerId;
        }
        break;
      case 'PrepareEpochFence':
      case 'Dead':
        this.failTransition(transit);
    }
    this.clientTransactionVersion = transit.clientTransactionVersion;
    this.txnLastUpdateTimestamp = transit.txnLastUpdateTimestamp;
    this.pendingState = undefined;
    this.state = toState;
  }

  /**
   * The transition keeps this producer id and epoch; for transactions v2 a Prepare state's (and an overflowed
   * Complete state's) epoch is checked through its last epoch, the one before the bump (Kafka's validProducerEpoch).
   */
  private validProducerEpoch(transit: TxnTransitMetadata): boolean {
    const v2 = supportsEpochBump(transit.clientTransactionVersion);
    const completing = transit.txnState === 'CompleteCommit' || transit.txnState === 'CompleteAbort';
    const overflowComplete = v2 && completing && transit.producerEpoch === 0;
    const preparing = transit.txnState === 'PrepareCommit' || transit.txnState === 'PrepareAbort';
    const epoch = overflowComplete || (v2 && preparing) ? transit.lastProducerEpoch : transit.producerEpoch;
    const producerId = overflowComplete ? transit.lastProducerId : transit.producerId;
    return epoch === this.producerEpoch && producerId === this.producerId;
  }

  private validProducerEpochBump(transit: TxnTransitMetadata): boolean {
    return transit.producerEpoch === this.producerEpoch + 1 || (transit.producerEpoch === 0 && transit.producerId !== this.producerId);
  }

  private failTransition(transit: TxnTransitMetadata): never {
    throw new TransactionStateError(
      `${this.transactionalId}: unexpected transition from ${this.state} (producer ${this.producerId} epoch ${this.producerEpoch}) to ${transit.txnState} (producer ${transit.producerId} epoch ${transit.producerEpoch})`,
    );
  }
}
