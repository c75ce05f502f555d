// The transaction coordinator (Kafka 3.9 TransactionCoordinator.scala, TransactionStateManager.scala,
// TransactionMarkerChannelManager.scala, TransactionMarkerRequestCompletionHandler.scala): it owns every
// transactional id, decides each transition (transaction-metadata.ts), writes it to `__transaction_state`
// (transaction-log.ts) before applying it, and drives COMMIT/ABORT markers to the transaction's partitions through
// a TransactionMarkerWriter (marker-writer.ts). Transaction version 0/1 semantics: no KIP-890 verification, and the
// producer epoch is bumped only by InitProducerId and fencing.
//
// One write per transactional id at a time: every change first sets the metadata's pendingState (prepare…), and a
// request that finds one pending answers CONCURRENT_TRANSACTIONS (retriable), as Kafka does; the record is written
// durably, and only then is the change applied. A failed write clears the pending state and applies nothing.
//
// Which error a request gets (checked in this order; `id` is the transactional id):
//
//   condition                                                  InitProducerId    AddPartitions/  EndTxn
//                                                                                AddOffsets
//   id is ""                                                   INVALID_REQUEST   INVALID_REQUEST INVALID_REQUEST
//   timeout <= 0 or > transaction.max.timeout.ms               INVALID_TRANSACTION_TIMEOUT  -     -
//   coordinator not started / loading id's partition           COORDINATOR_LOAD_IN_PROGRESS (all)
//   `__transaction_state` missing, or coordinator closed       NOT_COORDINATOR (all; FindCoordinator creates it)
//   unknown id                                                 new producer id   INVALID_PRODUCER_ID_MAPPING (both)
//   other producer id                                          see KIP-360 below INVALID_PRODUCER_ID_MAPPING (both)
//   other epoch (EndTxn from the fencing/timeout path: lower)  see KIP-360 below PRODUCER_FENCED (both)
//   a write pending for the id                                 CONCURRENT_TRANSACTIONS (all; EndTxn: unless the
//                                                              pending state is the fence it completes)
//   PrepareCommit/PrepareAbort                                 CONCURRENT_TRANSACTIONS; EndTxn: the same result
//                                                              again is CONCURRENT_TRANSACTIONS, the other one
//                                                              INVALID_TXN_STATE
//   CompleteCommit/CompleteAbort (EndTxn)                      the same result again is NONE (a retry), the other
//                                                              one INVALID_TXN_STATE; Empty is INVALID_TXN_STATE
//
// InitProducerId with an expected producer id and epoch (KIP-360): the producer id must be the current one, or the
// id is new (epoch -1), or it is the previous producer id and the expected epoch is exhausted (a retry of a
// rotation); otherwise PRODUCER_FENCED. Then, by state: Empty/Complete* bump the epoch (or move to a new producer id
// at epoch 0 once the epoch is exhausted; transaction-metadata.ts has the epoch rules); Ongoing fences the current
// producer: the epoch is bumped (PrepareEpochFence, in memory only), the transaction is aborted with it
// (PrepareAbort written, markers, CompleteAbort) and the client gets CONCURRENT_TRANSACTIONS, so its retry bumps
// once more and gets an epoch no old producer has.
//
// AddPartitionsToTxn, checked as KafkaApis does before the coordinator: a partition of an internal topic is
// TOPIC_AUTHORIZATION_FAILED (KafkaApis leaves internal topics out of the authorised set), a partition of an
// unknown topic or past its partition count UNKNOWN_TOPIC_OR_PARTITION; if any partition fails, nothing is added
// and the others get OPERATION_NOT_ATTEMPTED. When every partition is already in the Ongoing transaction nothing is
// written (NONE at once).
//
// EndTxn: PrepareCommit/PrepareAbort is written durably, the client is answered NONE, and the markers are written
// in the background (pendingState is CompleteCommit/CompleteAbort meanwhile). Per partition, the marker writer's
// answer (TransactionMarkerRequestCompletionHandler):
//
//   answer                                                   then
//   NONE                                                     done
//   UNKNOWN_TOPIC_OR_PARTITION                               dropped: the topic is gone (Kafka: no leader, "likely
//                                                            deleted"), nothing to mark
//   UNSUPPORTED_FOR_MESSAGE_FORMAT, UNSUPPORTED_VERSION      dropped (the producer could not have written there)
//   INVALID_PRODUCER_EPOCH, TRANSACTION_COORDINATOR_FENCED   a newer producer or coordinator owns it: stop sending
//                                                            (the transaction is left to a reload, as in Kafka)
//   anything else (KAFKA_STORAGE_ERROR, NOT_LEADER_OR_…)     retried, with a backoff from 100 ms doubling to 10 s
//
// Once no partition is left, CompleteCommit/CompleteAbort is written (retried with the same backoff until it is:
// with one broker there is no other coordinator to finish it) and the transaction is done.
//
// Timers (unref'd, so they never keep the process alive): every transaction.abort.timed.out.transaction.cleanup
// .interval.ms, Ongoing transactions open longer than their timeout are fenced and aborted exactly like the
// InitProducerId fence (the producer then gets PRODUCER_FENCED / INVALID_PRODUCER_EPOCH); every
// transaction.remove.expired.transaction.cleanup.interval.ms, transactional ids in Empty/CompleteCommit/
// CompleteAbort untouched for transactional.id.expiration.ms move to Dead, get a tombstone and are forgotten.
//
// start(): every partition of `__transaction_state` is read (transaction-log.ts); transactions left in
// PrepareCommit/PrepareAbort get their markers written and are completed; Ongoing ones are left to their timeout.
// A partition whose log is offline is retried on the abort timer; until then its ids get
// COORDINATOR_LOAD_IN_PROGRESS. coordinatorEpoch: one broker leads every partition, so it is always 0, but it is
// carried through every write and marker as Kafka carries the partition leader epoch.
//
// In a cluster (`replication`; Kafka's TransactionCoordinator.onElection / onResignation) this broker owns the
// transactional ids of the `__transaction_state` partitions it leads, and only while it leads them:
//   becomes leader of partition P at epoch E   P's ids answer COORDINATOR_LOAD_IN_PROGRESS while P is read
//                                              (TransactionStateManager.loadTransactionsForTxnTopicPartition), then
//                                              are served with coordinatorEpoch = E; Prepare* transactions get
//                                              their markers (sent to each partition's leader: cluster-marker-
//                                              writer.ts) and complete; Ongoing ones are left to their timeout
//   stops leading P                            P's ids are forgotten here (removeTransactionsForTxnTopicPartition);
//                                              marker deliveries and completions of the old epoch stop
//   any other partition                        NOT_COORDINATOR
// Writes wait for the ISR (internal-topic-log.ts); their codes map as appendTransactionToLog does
// (NOT_LEADER_OR_FOLLOWER → NOT_COORDINATOR; NOT_ENOUGH_REPLICAS*, REQUEST_TIMED_OUT → COORDINATOR_NOT_AVAILABLE).
//
// Deliberate differences from Kafka:
// - A failed CompleteCommit/CompleteAbort write is retried whatever the error (Kafka retries only
//   COORDINATOR_NOT_AVAILABLE and relies on another broker loading the partition for the rest).
// - Appends wait for the fsync when `flushOnAckAll` is set (the broker's meaning of acks=-1, which Kafka uses for
//   this log).
import type { Logger } from 'pino';
import { KafkaError, kafkaErrorCode } from '../errors.js';
import type { LogManager } from '../log/log-manager.js';
import type { BrokerConfig } from '../metadata/broker-config.js';
import {
  DEFAULT_OFFSETS_TOPIC_PARTITIONS,
  OFFSETS_TOPIC_NAME,
  internalPartitionFor,
} from '../metadata/internal-topics.js';
import type { ProducerIdManager } from '../metadata/producer-id-manager.js';
import { isInternalTopic, type TopicRegistry } from '../metadata/topic-registry.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { RECORD_BATCH_HEADER_SIZE } from '../protocol/records/batch.js';
import { keyValueRecordSize } from '../protocol/records/key-value-batch.js';
import type { InternalTopicReplication } from '../metadata/internal-topic-log.js';
import type { TransactionMarkerPartition, TransactionMarkerResult, TransactionMarkerWriter } from './marker-writer.js';
import {
  encodeTransactionLogKey,
  encodeTransactionLogValue,
  TransactionLog,
  type TransactionLogRecord,
} from './transaction-log.js';
import {
  isEpochExhausted,
  supportsEpochBump,
  NO_PRODUCER_EPOCH,
  NO_PRODUCER_ID,
  TransactionMetadata,
  type TopicPartitions,
  type TxnTransitMetadata,
} from './transaction-metadata.js';
import { isExpirationAllowed, transactionStateFromName, TransactionStateError, type TransactionState } from './transaction-state.js';

export interface TransactionCoordinatorOptions {
  logs: LogManager;
  topics: TopicRegistry;
  producerIds: ProducerIdManager;
  markers: TransactionMarkerWriter;
  config: BrokerConfig;
  logger: Logger;
  /** Epoch milliseconds; tests inject a clock. */
  now?: () => number;
  /** Cluster mode: only the `__transaction_state` partitions this broker leads are served (header). */
  replication?: InternalTopicReplication;
}

export interface TxnPartitionsResult {
  topic: string;
  partitions: Array<{ partition: number; errorCode: number }>;
}

export interface TransactionDescription {
  transactionalId: string;
  errorCode: number;
  /** Kafka's state name ("Empty", "Ongoing", …); "" with an error. */
  state: string;
  transactionTimeoutMs: number;
  /** -1 while no transaction is open. */
  transactionStartTimeMs: bigint;
  producerId: bigint;
  producerEpoch: number;
  /** Partitions in the transaction; while it completes, only those still waiting for their marker. */
  topics: Array<{ topic: string; partitions: number[] }>;
}

export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  transactionState: string;
}

/** A single broker leads every `__transaction_state` partition, always at this epoch (a cluster: the leader epoch). */
const COORDINATOR_EPOCH = 0;
const RETRY_BACKOFF_INITIAL_MS = 100;
const RETRY_BACKOFF_MAX_MS = 10_000;

type StateLookup = { errorCode: number } | { errorCode: typeof ErrorCode.NONE; coordinatorEpoch: number; metadata: TransactionMetadata | undefined };

/** An EndTxn's answer: the producer id and epoch the client goes on with (v5; -1/-1 with an error). */
export interface EndTxnResult {
  errorCode: number;
  producerId: bigint;
  producerEpoch: number;
}

function endTxnError(errorCode: number): EndTxnResult {
  return { errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
}

/** Short.MAX_VALUE - 1: the last epoch a client may hold; a v2 EndTxn at it moves to the next producer id. */
const EXHAUSTED_EPOCH = 32766;

function initError(errorCode: number): { errorCode: number; producerId: bigint; producerEpoch: number } {
  return { errorCode, producerId: NO_PRODUCER_ID, producerEpoch: NO_PRODUCER_EPOCH };
}

/** A log append's code as the coordinator answers it (TransactionStateManager.appendTransactionToLog). */
function coordinatorErrorFor(appendError: number): number {
  switch (appendError) {
    case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode.NOT_ENOUGH_REPLICAS:
    case ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode.REQUEST_TIMED_OUT:
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    case ErrorCode.NOT_LEADER_OR_FOLLOWER:
    case ErrorCode.KAFKA_STORAGE_ERROR:
      return ErrorCode.NOT_COORDINATOR;
    case ErrorCode.MESSAGE_TOO_LARGE:
    case ErrorCode.RECORD_LIST_TOO_LARGE:
      return ErrorCode.UNKNOWN_SERVER_ERROR;
    default:
      return appendError;
  }
}

function topicList(partitions: TopicPartitions): Array<{ topic: string; partitions: number[] }> {
  return [...partitions].map(([topic, set]) => ({ topic, partitions: [...set] }));
}

function markerPartitions(partitions: TopicPartitions): TransactionMarkerPartition[] {
  const out: TransactionMarkerPartition[] = [];
  for (const [topic, set] of partitions) for (const partition of set) out.push({ topic, partition });
  return out;
}

export class TransactionCoordinator {
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly stateLog: TransactionLog;
  private readonly txns = new Map<string, TransactionMetadata>();
  /** Loaded `__transaction_state` partitions → their coordinator epoch (Kafka's transactionMetadataCache keys). */
  private readonly loadedPartitions = new Map<number, number>();
  /** Cluster mode: partitions being loaded → the leader epoch they are loaded at. */
  private readonly loadingPartitions = new Map<number, number>();
  private state: 'new' | 'loading' | 'running' | 'closed' = 'new';
  /** Partition loads run one after another. */
  private loadChain: Promise<void> = Promise.resolve();
  private creatingTopic: Promise<void> | undefined;
  private abortTimer: NodeJS.Timeout | undefined;
  private expirationTimer: NodeJS.Timeout | undefined;
  private abortRunning = false;
  private expirationRunning = false;
  /** Marker deliveries and completions in flight (awaited by close()). */
  private readonly background = new Set<Promise<void>>();
  /** Wakes the backoff sleeps at close(). */
  private readonly sleepers = new Set<() => void>();

  constructor(private readonly options: TransactionCoordinatorOptions) {
    this.log = options.logger.child({ component: 'txn-coordinator' });
    this.now = options.now ?? Date.now;
    this.stateLog = new TransactionLog({
      logs: options.logs,
      topics: options.topics,
      logger: this.log,
      durable: options.config.flushOnAckAll,
      replication: options.replication,
    });
  }

  /** Loads __transaction_state (if it exists), completes transactions left in PrepareCommit/PrepareAbort, starts the timers. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('TransactionCoordinator.start() may be called once');
    this.state = 'loading';
    const startedMs = Date.now();
    await this.loadMissingPartitions();
    if (this.state !== 'loading') return;
    this.state = 'running';
    const config = this.options.config;
    this.abortTimer = setInterval(() => void this.abortTimedOutTransactions(), config.transactionAbortTimedOutTransactionCleanupIntervalMs);
    this.abortTimer.unref();
    this.expirationTimer = setInterval(() => void this.removeExpiredTransactionalIds(), config.transactionRemoveExpiredTransactionCleanupIntervalMs);
    this.expirationTimer.unref();
    this.log.info({ transactionalIds: this.txns.size, partitions: this.loadedPartitions.size, durationMs: Date.now() - startedMs }, 'transaction coordinator started');
  }

  /** Stops the timers and the marker retries; resolves once the writes in flight have finished. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.abortTimer);
    clearInterval(this.expirationTimer);
    for (const wake of this.sleepers) wake();
    await Promise.allSettled([...this.background]);
    await this.loadChain;
    this.options.markers.close?.();
  }

  /** Partitions of `__transaction_state`: the topic's own count once it exists (as Kafka reads it), else the config. */
  private get partitionCount(): number {
    return this.stateLog.topic?.partitions ?? this.options.config.transactionStateLogNumPartitions;
  }

  /** The __transaction_state partition owning `transactionalId`. */
  partitionFor(transactionalId: string): number {
    return internalPartitionFor(transactionalId, this.partitionCount);
  }

  /** Creates __transaction_state if missing (FindCoordinator key type 1 calls this, as Kafka auto-creates it). */
  async ensureStateTopic(): Promise<void> {
    if (this.stateLog.topic === undefined) {
      this.creatingTopic ??= (async () => {
        try {
          const topic = await this.stateLog.ensureTopic(this.options.config.transactionStateLogNumPartitions);
          this.log.info({ topic: topic.name, partitions: topic.partitions }, 'created the transaction state topic');
        } finally {
          this.creatingTopic = undefined;
        }
      })();
      await this.creatingTopic;
    }
    const topic = this.stateLog.topic;
    const allLoaded = topic !== undefined && this.loadedPartitions.size >= topic.partitions;
    if (!allLoaded && (this.state === 'loading' || this.state === 'running')) await this.loadMissingPartitions();
  }

  /** Loads every partition of the topic not loaded yet whose log is there (at start, after creation, after an outage). */
  private loadMissingPartitions(): Promise<void> {
    // A cluster loads a partition when this broker becomes its leader (onElection), never otherwise.
    if (this.options.replication !== undefined) return Promise.resolve();
    const run = this.loadChain.then(async () => {
      const topic = this.stateLog.topic;
      if (topic === undefined) return;
      for (let p = 0; p < topic.partitions; p++) {
        if (this.state === 'closed') return;
        if (this.loadedPartitions.has(p) || !this.stateLog.hasLog(p)) continue;
        await this.loadPartition(p, COORDINATOR_EPOCH);
      }
    });
    this.loadChain = run.catch((err: unknown) => this.log.error({ err }, 'loading the transaction state failed'));
    return this.loadChain;
  }

  /** TransactionStateManager.loadTransactionsForTxnTopicPartition: read, publish, then complete the Prepare* ones. */
  private async loadPartition(partition: number, coordinatorEpoch: number): Promise<void> {
    const clustered = this.options.replication !== undefined;
    if (clustered && this.loadingPartitions.get(partition) !== coordinatorEpoch) return;
    const loaded = await this.stateLog.load(partition);
    if (this.state === 'closed') return;
    if (clustered) {
      // Resigned, or elected again, while reading: this load is stale.
      if (this.loadingPartitions.get(partition) !== coordinatorEpoch) return;
      this.loadingPartitions.delete(partition);
    }
    const toComplete: Array<{ txn: TransactionMetadata; commit: boolean; transit: TxnTransitMetadata }> = [];
    for (const [transactionalId, txn] of loaded) {
      this.txns.set(transactionalId, txn);
      if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') {
        toComplete.push({ txn, commit: txn.state === 'PrepareCommit', transit: txn.prepareComplete(this.now()) });
      }
    }
    this.loadedPartitions.set(partition, coordinatorEpoch);
    for (const { txn, commit, transit } of toComplete) {
      this.log.info({ transactionalId: txn.transactionalId, partition, commit }, 'completing a transaction left in its prepare state');
      this.completeInBackground(txn, coordinatorEpoch, commit, transit);
    }
    if (loaded.size > 0) this.log.debug({ partition, transactionalIds: loaded.size, completing: toComplete.length }, 'loaded transaction state partition');
  }

  /**
   * Kafka's getTransactionState: the id's metadata (or undefined), or the error owning it answers. Partitions are
   * served as soon as they are loaded, also while start() loads the others (their Prepare* transactions are being
   * completed meanwhile).
   */
  private lookup(transactionalId: string): StateLookup {
    if (this.state === 'new') return { errorCode: ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    if (this.state === 'closed' || this.stateLog.topic === undefined) return { errorCode: ErrorCode.NOT_COORDINATOR };
    const partition = this.partitionFor(transactionalId);
    const coordinatorEpoch = this.loadedPartitions.get(partition);
    if (coordinatorEpoch === undefined) {
      const notOurs = this.options.replication !== undefined && !this.loadingPartitions.has(partition);
      return { errorCode: notOurs ? ErrorCode.NOT_COORDINATOR : ErrorCode.COORDINATOR_LOAD_IN_PROGRESS };
    }
    return { errorCode: ErrorCode.NONE, coordinatorEpoch, metadata: this.txns.get(transactionalId) };
  }

  /** Still the metadata the coordinator holds for its id, under the same coordinator epoch? */
  private isCurrent(txn: TransactionMetadata, coordinatorEpoch: number): boolean {
    const found = this.lookup(txn.transactionalId);
    return 'metadata' in found && found.metadata === txn && found.coordinatorEpoch === coordinatorEpoch;
  }

  /**
   * TransactionStateManager.appendTransactionToLog: writes `transit` for the id and applies it once durable.
   * Returns the coordinator's code. On failure the pending state is cleared, unless `keepPendingOnError`.
   */
  private async appendTransactionToLog(transactionalId: string, coordinatorEpoch: number, transit: TxnTransitMetadata, keepPendingOnError = false): Promise<number> {
    const before = this.lookup(transactionalId);
    if (!('metadata' in before)) return before.errorCode;
    if (before.metadata === undefined || before.coordinatorEpoch !== coordinatorEpoch) return ErrorCode.NOT_COORDINATOR;
    const record: TransactionLogRecord = { key: encodeTransactionLogKey(transactionalId), value: encodeTransactionLogValue(transit) };
    let errorCode: number = ErrorCode.NONE;
    try {
      await this.stateLog.append(this.partitionFor(transactionalId), [record], this.now());
    } catch (err) {
      const code = kafkaErrorCode(err);
      if (code === undefined) {
        this.log.error({ err, transactionalId }, 'appending to the transaction log failed');
        errorCode = ErrorCode.UNKNOWN_SERVER_ERROR;
      } else {
        this.log.debug({ transactionalId, state: transit.txnState, errorCode: code, reason: (err as Error).message }, 'appending to the transaction log failed');
        errorCode = coordinatorErrorFor(code);
      }
    }
    const after = this.lookup(transactionalId);
    if (errorCode === ErrorCode.NONE) {
      if (!('metadata' in after)) return after.errorCode;
      if (after.metadata === undefined || after.coordinatorEpoch !== coordinatorEpoch) return ErrorCode.NOT_COORDINATOR;
      after.metadata.completeTransitionTo(transit);
      return ErrorCode.NONE;
    }
    if ('metadata' in after && after.metadata !== undefined && after.coordinatorEpoch === coordinatorEpoch && !keepPendingOnError) {
      after.metadata.pendingState = undefined;
    }
    return errorCode;
  }

  // ---- cluster mode: leadership of `__transaction_state` partitions -----------------------------------------------

  /**
   * This broker became leader of `__transaction_state` partition `partition` at `leaderEpoch`
   * (TransactionCoordinator.onElection): its ids are loaded with coordinator epoch = leaderEpoch, answering
   * COORDINATOR_LOAD_IN_PROGRESS meanwhile. Resolves once this load has run (tests).
   */
  onElection(partition: number, leaderEpoch: number): Promise<void> {
    if (this.options.replication === undefined || this.state === 'closed') return Promise.resolve();
    if (this.loadedPartitions.has(partition)) this.unloadPartition(partition);
    this.loadingPartitions.set(partition, leaderEpoch);
    const run = this.loadChain.then(() => this.loadPartition(partition, leaderEpoch));
    this.loadChain = run.catch((err: unknown) => {
      this.log.error({ err, partition, leaderEpoch }, 'loading a __transaction_state partition failed');
      if (this.loadingPartitions.get(partition) === leaderEpoch) this.loadingPartitions.delete(partition);
    });
    return this.loadChain;
  }

  /** This broker no longer leads the partition (TransactionCoordinator.onResignation). */
  onResignation(partition: number): void {
    if (this.options.replication === undefined) return;
    this.loadingPartitions.delete(partition);
    if (this.loadedPartitions.has(partition)) this.unloadPartition(partition);
  }

  /** TransactionStateManager.removeTransactionsForTxnTopicPartition: the ids of the partition are forgotten here. */
  private unloadPartition(partition: number): void {
    this.loadedPartitions.delete(partition);
    let removed = 0;
    for (const transactionalId of [...this.txns.keys()]) {
      if (this.partitionFor(transactionalId) !== partition) continue;
      this.txns.delete(transactionalId);
      removed++;
    }
    this.log.info({ partition, transactionalIds: removed }, 'unloaded the transactional ids of a __transaction_state partition');
  }

  /** InitProducerId with a transactional id (TransactionCoordinator.handleInitProducerId). */
  async initProducerId(
    transactionalId: string,
    transactionTimeoutMs: number,
    expectedProducerId: bigint,
    expectedEpoch: number,
  ): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    if (transactionalId === '') return initError(ErrorCode.INVALID_REQUEST);
    if (!(transactionTimeoutMs > 0 && transactionTimeoutMs <= this.options.config.transactionMaxTimeoutMs)) {
      return initError(ErrorCode.INVALID_TRANSACTION_TIMEOUT);
    }
    if ((expectedProducerId === NO_PRODUCER_ID) !== (expectedEpoch === NO_PRODUCER_EPOCH)) return initError(ErrorCode.INVALID_REQUEST);
    const expected = expectedProducerId === NO_PRODUCER_ID ? undefined : { producerId: expectedProducerId, epoch: expectedEpoch };

    // Producer ids may need a write (a new block); the state is looked at again after each wait, and the decision
    // is made in one synchronous step. An id asked for but then not needed is never used, as in Kafka.
    let spareProducerId: bigint | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const found = this.lookup(transactionalId);
      if (!('metadata' in found)) return initError(found.errorCode);
      let txn = found.metadata;
      const needsId =
        txn === undefined ||
        (!txn.pendingTransitionInProgress &&
          (txn.state === 'Empty' || txn.state === 'CompleteCommit' || txn.state === 'CompleteAbort') &&
          txn.isProducerEpochExhausted &&
          (expected === undefined || expected.epoch === txn.producerEpoch));
      if (needsId && spareProducerId === undefined) {
        try {
          spareProducerId = await this.options.producerIds.generateProducerId();
        } catch (err) {
          const code = kafkaErrorCode(err);
          if (code === undefined) throw err;
          return initError(code);
        }
        continue;
      }
      if (txn === undefined) {
        txn = new TransactionMetadata({
          transactionalId,
          producerId: spareProducerId!,
          lastProducerId: NO_PRODUCER_ID,
          producerEpoch: NO_PRODUCER_EPOCH,
          lastProducerEpoch: NO_PRODUCER_EPOCH,
          txnTimeoutMs: transactionTimeoutMs,
          state: 'Empty',
          txnStartTimestamp: -1,
          txnLastUpdateTimestamp: this.now(),
        });
        this.txns.set(transactionalId, txn);
        spareProducerId = undefined;
      }
      return this.completeInitProducerId(transactionalId, transactionTimeoutMs, found.coordinatorEpoch, txn, expected, spareProducerId);
    }
    return initError(ErrorCode.CONCURRENT_TRANSACTIONS);
  }

  private async completeInitProducerId(
    transactionalId: string,
    transactionTimeoutMs: number,
    coordinatorEpoch: number,
    txn: TransactionMetadata,
    expected: { producerId: bigint; epoch: number } | undefined,
    spareProducerId: bigint | undefined,
  ): Promise<{ errorCode: number; producerId: bigint; producerEpoch: number }> {
    let transit: TxnTransitMetadata;
    try {
      transit = this.prepareInitProducerIdTransit(transactionalId, transactionTimeoutMs, txn, expected, spareProducerId);
    } catch (err) {
      const code = kafkaErrorCode(err);
      if (code === undefined) throw err;
      return initError(code);
    }
    if (transit.txnState === 'PrepareEpochFence') {
      // Abort the ongoing transaction with the bumped epoch; the client retries and gets an epoch of its own.
      const { errorCode: code } = await this.endTransactionAs(transactionalId, transit.producerId, transit.producerEpoch, false, false);
      return initError(code === ErrorCode.NONE ? ErrorCode.CONCURRENT_TRANSACTIONS : code);
    }
    const code = await this.appendTransactionToLog(transactionalId, coordinatorEpoch, transit);
    if (code !== ErrorCode.NONE) return initError(code);
    this.log.info(
      { transactionalId, producerId: transit.producerId.toString(), producerEpoch: transit.producerEpoch, partition: this.partitionFor(transactionalId) },
      'initialized transactional id',
    );
    return { errorCode: ErrorCode.NONE, producerId: transit.producerId, producerEpoch: transit.producerEpoch };
  }

  /** prepareInitProducerIdTransit: the transition, or a KafkaError with the answer. */
  private prepareInitProducerIdTransit(
    transactionalId: string,
    transactionTimeoutMs: number,
    txn: TransactionMetadata,
    expected: { producerId: bigint; epoch: number } | undefined,
    spareProducerId: bigint | undefined,
  ): TxnTransitMetadata {
    const isValidProducerId = (e: { producerId: bigint; epoch: number }): boolean =>
      txn.producerEpoch === NO_PRODUCER_EPOCH || e.producerId === txn.producerId || (e.producerId === txn.lastProducerId && isEpochExhausted(e.epoch));
    if (txn.pendingTransitionInProgress) throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS);
    if (expected !== undefined && !isValidProducerId(expected)) throw new KafkaError(ErrorCode.PRODUCER_FENCED);
    switch (txn.state) {
      case 'PrepareAbort':
      case 'PrepareCommit':
        throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'CompleteAbort':
      case 'CompleteCommit':
      case 'Empty':
        if (txn.isProducerEpochExhausted && (expected === undefined || expected.epoch === txn.producerEpoch)) {
          // Asked for by initProducerId before this synchronous step; state changes in between are retried there.
          if (spareProducerId === undefined) throw new KafkaError(ErrorCode.CONCURRENT_TRANSACTIONS);
          return txn.prepareProducerIdRotation(spareProducerId, transactionTimeoutMs, this.now(), expected !== undefined);
        }
        return txn.prepareIncrementProducerEpoch(transactionTimeoutMs, expected?.epoch, this.now());
      case 'Ongoing':
        return txn.prepareFenceProducerEpoch();
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TransactionStateError(`Found transactionalId ${transactionalId} with state ${txn.state}: it should never have moved there`);
    }
  }

  /**
   * AddPartitionsToTxn for one transaction: the KafkaApis checks (internal and unknown topics), then the
   * coordinator. `results` has every requested partition (once) with its code; `errorCode` is the coordinator's
   * code, or the first partition error when the request was refused per partition (Kafka's v4 per-transaction
   * error_code stays 0 in every one of these cases).
   */
  async addPartitions(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    topics: Array<{ topic: string; partitions: number[] }>,
    allowInternalTopics = false,
  ): Promise<{ errorCode: number; results: TxnPartitionsResult[] }> {
    const requested = new Map<string, Set<number>>();
    for (const t of topics) {
      let set = requested.get(t.topic);
      if (set === undefined) requested.set(t.topic, (set = new Set()));
      for (const p of t.partitions) set.add(p);
    }
    const refused = new Map<string, number>();
    let firstError: number = ErrorCode.NONE;
    for (const [topic, set] of requested) {
      const info = this.options.topics.get(topic);
      for (const p of set) {
        const code = isInternalTopic(topic) && !allowInternalTopics
          ? ErrorCode.TOPIC_AUTHORIZATION_FAILED
          : info === undefined || p < 0 || p >= info.partitions
            ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            : ErrorCode.NONE;
        if (code !== ErrorCode.NONE) {
          refused.set(`${p}:${topic}`, code);
          if (firstError === ErrorCode.NONE) firstError = code;
        }
      }
    }
    const results = (codeOf: (topic: string, partition: number) => number): TxnPartitionsResult[] =>
      [...requested].map(([topic, set]) => ({ topic, partitions: [...set].map((partition) => ({ partition, errorCode: codeOf(topic, partition) })) }));
    if (refused.size > 0) {
      return { errorCode: firstError, results: results((topic, p) => refused.get(`${p}:${topic}`) ?? ErrorCode.OPERATION_NOT_ATTEMPTED) };
    }
    const errorCode = await this.addPartitionsToTransaction(transactionalId, producerId, producerEpoch, requested);
    return { errorCode, results: results(() => errorCode) };
  }

  /**
   * AddOffsetsToTxn: adds the group's __consumer_offsets partition (Kafka's groupCoordinator.partitionFor: the
   * topic's partition count, or offsets.topic.num.partitions before it exists).
   */
  addOffsetsPartition(transactionalId: string, producerId: bigint, producerEpoch: number, groupId: string): Promise<number> {
    return this.addPartitionsToTransaction(transactionalId, producerId, producerEpoch, this.offsetsPartitionOf(groupId));
  }

  /** The group's `__consumer_offsets` partition, as a transaction's partitions. */
  offsetsPartitionOf(groupId: string): TopicPartitions {
    const partitions = this.options.topics.get(OFFSETS_TOPIC_NAME)?.partitions ?? this.options.config.offsetsTopicNumPartitions ?? DEFAULT_OFFSETS_TOPIC_PARTITIONS;
    return new Map([[OFFSETS_TOPIC_NAME, new Set([internalPartitionFor(groupId, partitions)])]]);
  }

  /**
   * Transactions v2: partitions a Produce v12+ writes, added by the broker itself (handlers/txn-implicit-add.ts);
   * the checks and the write of handleAddPartitionsToTransaction, answered with its code.
   */
  addPartitionsImplicitly(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartitions): Promise<number> {
    return this.addPartitionsToTransaction(transactionalId, producerId, producerEpoch, partitions);
  }

  /** TransactionCoordinator.handleAddPartitionsToTransaction. */
  private async addPartitionsToTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartitions): Promise<number> {
    if (transactionalId === '') return ErrorCode.INVALID_REQUEST;
    const found = this.lookup(transactionalId);
    if (!('metadata' in found)) return found.errorCode;
    const txn = found.metadata;
    if (txn === undefined) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    // Transactions v2 after an epoch overflow: the client already holds the next producer id while the markers of
    // the last transaction (under the old one) are written; it retries once the transaction completes.
    const preparing = txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort';
    if (preparing && txn.nextProducerId !== NO_PRODUCER_ID && txn.nextProducerId === producerId && producerEpoch === 0) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (txn.producerEpoch !== producerEpoch) return ErrorCode.PRODUCER_FENCED;
    if (txn.pendingTransitionInProgress) return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (txn.state === 'PrepareCommit' || txn.state === 'PrepareAbort') return ErrorCode.CONCURRENT_TRANSACTIONS;
    if (txn.state === 'Ongoing' && [...partitions].every(([topic, set]) => [...set].every((p) => txn.hasPartition(topic, p)))) {
      return ErrorCode.NONE;
    }
    const transit = txn.prepareAddPartitions(partitions, this.now());
    return this.appendTransactionToLog(transactionalId, found.coordinatorEpoch, transit);
  }

  /**
   * EndTxn from a client. `clientTransactionVersion` 2 (EndTxn v5, KIP-890 part 2) bumps the epoch; the answer
   * carries the producer id and epoch the client goes on with (-1/-1 on an error).
   */
  endTransaction(transactionalId: string, producerId: bigint, producerEpoch: number, commit: boolean, clientTransactionVersion = 0): Promise<EndTxnResult> {
    return this.endTransactionAs(transactionalId, producerId, producerEpoch, commit, true, clientTransactionVersion);
  }

  /**
   * TransactionCoordinator.endTransaction (Kafka trunk 1eb7644, with transactions v2). `isFromClient` false: the
   * coordinator's own abort after fencing (the epoch given is the bumped one, and a pending PrepareEpochFence is
   * what it completes).
   *
   * Epoch checks. Transactions v0/v1: a client's epoch must equal the current one. Transactions v2 (the state was
   * last written by a v2 EndTxn), where an equal epoch in a Prepare or Complete state means the next transaction:
   *   state                        valid epoch
   *   Ongoing, Empty               the current one
   *   PrepareCommit/PrepareAbort   the one before the bump (a retried EndTxn)
   *   CompleteCommit/CompleteAbort the one before the bump, or 32766 of the previous producer id when the bump
   *                                overflowed to a new producer id at epoch 0
   */
  private async endTransactionAs(
    transactionalId: string,
    producerId: bigint,
    producerEpoch: number,
    commit: boolean,
    isFromClient: boolean,
    clientTransactionVersion = 0,
  ): Promise<EndTxnResult> {
    if (transactionalId === '') return endTxnError(ErrorCode.INVALID_REQUEST);
    const found = this.lookup(transactionalId);
    if (!('metadata' in found)) return endTxnError(found.errorCode);
    let txn = found.metadata;
    if (txn === undefined) return endTxnError(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    const coordinatorEpoch = found.coordinatorEpoch;

    // An exhausted epoch cannot be bumped: a v2 EndTxn first takes the next producer id (a write, maybe), then
    // decides in one synchronous step.
    let nextProducerId = NO_PRODUCER_ID;
    if (supportsEpochBump(clientTransactionVersion) && txn.state === 'Ongoing' && txn.pendingState !== 'PrepareEpochFence' && txn.isProducerEpochExhausted) {
      try {
        nextProducerId = await this.options.producerIds.generateProducerId();
      } catch (err) {
        const code = kafkaErrorCode(err);
        if (code === undefined) throw err;
        return endTxnError(code);
      }
      const again = this.lookup(transactionalId);
      if (!('metadata' in again)) return endTxnError(again.errorCode);
      if (again.metadata === undefined || again.coordinatorEpoch !== coordinatorEpoch) return endTxnError(ErrorCode.NOT_COORDINATOR);
      txn = again.metadata;
    }

    const currentIsV2 = txn.pendingState !== 'PrepareEpochFence' && supportsEpochBump(txn.clientTransactionVersion);
    const retryOnOverflow = currentIsV2 && txn.lastProducerId === producerId && producerEpoch === EXHAUSTED_EPOCH && txn.producerEpoch === 0;
    const retryOnEpochBump = this.endTxnEpochBumped(txn, producerEpoch);
    let isValidEpoch: boolean;
    if (currentIsV2) {
      switch (txn.state) {
        case 'Ongoing':
        case 'Empty':
        case 'Dead':
        case 'PrepareEpochFence':
          isValidEpoch = producerEpoch === txn.producerEpoch;
          break;
        case 'PrepareCommit':
        case 'PrepareAbort':
          isValidEpoch = retryOnEpochBump;
          break;
        case 'CompleteCommit':
        case 'CompleteAbort':
          isValidEpoch = retryOnEpochBump || retryOnOverflow;
          break;
      }
    } else {
      // Clients must match the epoch exactly; the coordinator's own abort carries a bumped one.
      isValidEpoch = (!isFromClient || producerEpoch === txn.producerEpoch) && producerEpoch >= txn.producerEpoch;
    }
    if (txn.producerId !== producerId && !retryOnOverflow) return endTxnError(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (!isValidEpoch) return endTxnError(ErrorCode.PRODUCER_FENCED);
    if (txn.pendingTransitionInProgress && txn.pendingState !== 'PrepareEpochFence') return endTxnError(ErrorCode.CONCURRENT_TRANSACTIONS);
    // A retry of an EndTxn that is done answers with what the client goes on with.
    const done = (): EndTxnResult => ({ errorCode: ErrorCode.NONE, producerId: txn.producerId, producerEpoch: txn.producerEpoch });
    let isEpochFence = false;
    let transit: TxnTransitMetadata;
    switch (txn.state) {
      case 'Ongoing': {
        const nextState = commit ? 'PrepareCommit' : 'PrepareAbort';
        if (nextState === 'PrepareAbort' && txn.pendingState === 'PrepareEpochFence') {
          // The fence's bumped epoch goes into the PrepareAbort record (it was never written on its own).
          isEpochFence = true;
          txn.pendingState = undefined;
          txn.producerEpoch = producerEpoch;
          txn.lastProducerEpoch = NO_PRODUCER_EPOCH;
        }
        transit = txn.prepareAbortOrCommit(nextState, isEpochFence ? 0 : clientTransactionVersion, isEpochFence ? NO_PRODUCER_ID : nextProducerId, this.now());
        break;
      }
      case 'CompleteCommit':
        return commit ? done() : endTxnError(this.invalidTxnState(transactionalId, txn.state, commit));
      case 'CompleteAbort':
        return commit ? endTxnError(this.invalidTxnState(transactionalId, txn.state, commit)) : done();
      case 'PrepareCommit':
        return endTxnError(commit ? ErrorCode.CONCURRENT_TRANSACTIONS : this.invalidTxnState(transactionalId, txn.state, commit));
      case 'PrepareAbort':
        return endTxnError(commit ? this.invalidTxnState(transactionalId, txn.state, commit) : ErrorCode.CONCURRENT_TRANSACTIONS);
      case 'Empty':
        return endTxnError(this.invalidTxnState(transactionalId, txn.state, commit));
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TransactionStateError(`Found transactionalId ${transactionalId} with state ${txn.state}: it should never have moved there`);
    }

    const code = await this.appendTransactionToLog(transactionalId, coordinatorEpoch, transit);
    if (code !== ErrorCode.NONE) {
      if (isEpochFence) {
        const after = this.lookup(transactionalId);
        if ('metadata' in after && after.metadata !== undefined && after.coordinatorEpoch === coordinatorEpoch) {
          after.metadata.hasFailedEpochFence = true;
          this.log.warn({ transactionalId, errorCode: code, producerEpoch: transit.producerEpoch }, 'could not write an epoch fence; the bumped epoch was not returned to any client');
        }
      }
      return endTxnError(code);
    }

    // Written: check again, then answer and write the markers in the background.
    const after = this.lookup(transactionalId);
    if (!('metadata' in after)) return endTxnError(after.errorCode);
    const current = after.metadata;
    if (current === undefined) throw new TransactionStateError(`the coordinator owns ${transactionalId} but has no metadata for it`);
    if (after.coordinatorEpoch !== coordinatorEpoch) return endTxnError(ErrorCode.NOT_COORDINATOR);
    if (current.producerId !== producerId) return endTxnError(ErrorCode.INVALID_PRODUCER_ID_MAPPING);
    if (current.producerEpoch !== producerEpoch && !this.endTxnEpochBumped(current, producerEpoch)) return endTxnError(ErrorCode.PRODUCER_FENCED);
    if (current.pendingTransitionInProgress) return endTxnError(ErrorCode.CONCURRENT_TRANSACTIONS);
    switch (current.state) {
      case 'PrepareCommit':
        if (!commit) return endTxnError(this.invalidTxnState(transactionalId, current.state, commit));
        break;
      case 'PrepareAbort':
        if (commit) return endTxnError(this.invalidTxnState(transactionalId, current.state, commit));
        break;
      case 'Dead':
      case 'PrepareEpochFence':
        throw new TransactionStateError(`Found transactionalId ${transactionalId} with state ${current.state}: it should never have moved there`);
      default:
        return endTxnError(this.invalidTxnState(transactionalId, current.state, commit));
    }
    // The client goes on with the bumped epoch, or with the next producer id at epoch 0 after an overflow (which
    // the Complete state moves to).
    const answer: EndTxnResult =
      supportsEpochBump(current.clientTransactionVersion) && current.nextProducerId !== NO_PRODUCER_ID
        ? { errorCode: ErrorCode.NONE, producerId: current.nextProducerId, producerEpoch: 0 }
        : { errorCode: ErrorCode.NONE, producerId: current.producerId, producerEpoch: current.producerEpoch };
    this.completeInBackground(current, coordinatorEpoch, commit, current.prepareComplete(this.now()));
    return answer;
  }

  /** Transactions v2: the state's epoch is the client's + 1, i.e. its EndTxn already bumped it (endTxnEpochBumped). */
  private endTxnEpochBumped(txn: TransactionMetadata, producerEpoch: number): boolean {
    return txn.pendingState !== 'PrepareEpochFence' && supportsEpochBump(txn.clientTransactionVersion) && txn.producerEpoch === producerEpoch + 1;
  }

  private invalidTxnState(transactionalId: string, state: TransactionState, commit: boolean): number {
    this.log.debug({ transactionalId, state, commit }, 'EndTxn result does not fit the transaction state');
    return ErrorCode.INVALID_TXN_STATE;
  }

  /** Writes the markers, then the Complete* record (TransactionMarkerChannelManager.addTxnMarkersToSend onwards). */
  private completeInBackground(txn: TransactionMetadata, coordinatorEpoch: number, commit: boolean, complete: TxnTransitMetadata): void {
    const task = this.writeMarkersAndComplete(txn, coordinatorEpoch, commit, complete)
      .catch((err: unknown) => {
        this.log.error({ err, transactionalId: txn.transactionalId, commit }, 'completing the transaction failed');
      })
      .finally(() => {
        this.background.delete(task);
      });
    this.background.add(task);
  }

  private async writeMarkersAndComplete(txn: TransactionMetadata, coordinatorEpoch: number, commit: boolean, complete: TxnTransitMetadata): Promise<void> {
    const transactionalId = txn.transactionalId;
    const producerId = txn.producerId;
    const producerEpoch = txn.producerEpoch;
    let pending = markerPartitions(txn.topicPartitions);
    let backoffMs = RETRY_BACKOFF_INITIAL_MS;
    // Each round either finishes a partition or waits a backoff; close() or a change of owner ends it.
    while (pending.length > 0) {
      if (!this.isCurrent(txn, coordinatorEpoch)) return;
      let results: TransactionMarkerResult[];
      try {
        results = await this.options.markers.writeMarkers({ producerId, producerEpoch, coordinatorEpoch, commit, partitions: pending });
      } catch (err) {
        this.log.error({ err, transactionalId }, 'the marker writer failed; retrying');
        results = [];
      }
      if (!this.isCurrent(txn, coordinatorEpoch)) return;
      const answered = new Map<string, number>();
      for (const r of results) answered.set(`${r.partition}:${r.topic}`, r.errorCode);
      const retry: TransactionMarkerPartition[] = [];
      for (const tp of pending) {
        const code = answered.get(`${tp.partition}:${tp.topic}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
        switch (code) {
          case ErrorCode.NONE:
            txn.removePartition(tp.topic, tp.partition);
            break;
          case ErrorCode.UNKNOWN_TOPIC_OR_PARTITION:
          case ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT:
          case ErrorCode.UNSUPPORTED_VERSION:
            this.log.info({ transactionalId, topic: tp.topic, partition: tp.partition, errorCode: code }, 'no marker needed for a partition that cannot take one; dropped from the transaction');
            txn.removePartition(tp.topic, tp.partition);
            break;
          case ErrorCode.INVALID_PRODUCER_EPOCH:
          case ErrorCode.TRANSACTION_COORDINATOR_FENCED:
            this.log.warn({ transactionalId, topic: tp.topic, partition: tp.partition, errorCode: code }, 'a marker was refused for a newer producer or coordinator epoch; no more markers are sent for this transaction');
            return;
          default:
            this.log.info({ transactionalId, topic: tp.topic, partition: tp.partition, errorCode: code, backoffMs }, 'writing a transaction marker failed; retrying');
            retry.push(tp);
        }
      }
      pending = retry;
      if (pending.length > 0) {
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, RETRY_BACKOFF_MAX_MS);
      }
    }
    backoffMs = RETRY_BACKOFF_INITIAL_MS;
    for (;;) {
      if (!this.isCurrent(txn, coordinatorEpoch)) return;
      const code = await this.appendTransactionToLog(transactionalId, coordinatorEpoch, complete, true);
      if (code === ErrorCode.NONE) {
        this.log.debug({ transactionalId, state: complete.txnState }, 'transaction completed');
        return;
      }
      this.log.warn({ transactionalId, state: complete.txnState, errorCode: code, backoffMs }, 'writing the transaction completion failed; retrying');
      await this.sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, RETRY_BACKOFF_MAX_MS);
    }
  }

  /** Resolves after `ms`, or at close(). */
  private sleep(ms: number): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.sleepers.add(wake);
    });
  }

  /**
   * Aborts Ongoing transactions open longer than their timeout, fencing their producer with a bumped epoch
   * (TransactionCoordinator.abortTimedOutTransactions); the abort timer runs it, and it also retries loading
   * partitions that were offline. Resolves once every abort it started has been answered.
   */
  async abortTimedOutTransactions(): Promise<void> {
    if (this.state !== 'running' || this.abortRunning) return;
    this.abortRunning = true;
    try {
      const now = this.now();
      const aborts: Array<Promise<void>> = [];
      for (const txn of this.txns.values()) {
        if (txn.pendingTransitionInProgress || txn.state !== 'Ongoing' || txn.txnStartTimestamp + txn.txnTimeoutMs >= now) continue;
        const found = this.lookup(txn.transactionalId);
        if (!('metadata' in found) || found.metadata !== txn) continue;
        const transactionalId = txn.transactionalId;
        const transit = txn.prepareFenceProducerEpoch();
        this.log.info({ transactionalId, producerId: txn.producerId.toString(), producerEpoch: txn.producerEpoch }, 'aborting a transaction open longer than its timeout');
        aborts.push(
          this.endTransactionAs(transactionalId, transit.producerId, transit.producerEpoch, false, false).then(({ errorCode: code }) => {
            if (code === ErrorCode.NONE) this.log.info({ transactionalId }, 'rolled back a timed-out transaction');
            else if (code === ErrorCode.INVALID_PRODUCER_ID_MAPPING || code === ErrorCode.PRODUCER_FENCED || code === ErrorCode.CONCURRENT_TRANSACTIONS) {
              this.log.debug({ transactionalId, errorCode: code }, 'rollback of a timed-out transaction cancelled');
            } else this.log.warn({ transactionalId, errorCode: code }, 'rollback of a timed-out transaction failed');
          }),
        );
      }
      await Promise.all(aborts);
      await this.loadMissingPartitions();
    } catch (err) {
      this.log.error({ err }, 'aborting timed-out transactions failed');
    } finally {
      this.abortRunning = false;
    }
  }

  /**
   * Forgets transactional ids without a transaction that were not updated for transactional.id.expiration.ms:
   * Dead, a tombstone in their partition, then removal (TransactionStateManager.removeExpiredTransactionalIds); the
   * expiration timer runs it.
   */
  async removeExpiredTransactionalIds(): Promise<void> {
    if (this.state !== 'running' || this.expirationRunning) return;
    this.expirationRunning = true;
    try {
      const now = this.now();
      const byPartition = new Map<number, Array<{ txn: TransactionMetadata; transit: TxnTransitMetadata; record: TransactionLogRecord }>>();
      for (const txn of this.txns.values()) {
        if (txn.pendingTransitionInProgress || !isExpirationAllowed(txn.state)) continue;
        if (txn.txnLastUpdateTimestamp > now - this.options.config.transactionalIdExpirationMs) continue;
        const partition = this.partitionFor(txn.transactionalId);
        if (!this.loadedPartitions.has(partition)) continue;
        let list = byPartition.get(partition);
        if (list === undefined) byPartition.set(partition, (list = []));
        list.push({ txn, transit: txn.prepareDead(), record: { key: encodeTransactionLogKey(txn.transactionalId), value: null } });
      }
      const maxBatchBytes = this.stateLog.topic?.maxMessageBytes ?? Number.MAX_SAFE_INTEGER;
      for (const [partition, expired] of byPartition) {
        // Batches under max.message.bytes, as Kafka's builder checks hasRoomFor.
        let start = 0;
        while (start < expired.length) {
          let size = RECORD_BATCH_HEADER_SIZE;
          let end = start;
          while (end < expired.length) {
            const next = keyValueRecordSize(expired[end]!.record, end - start);
            if (end > start && size + next > maxBatchBytes) break;
            size += next;
            end++;
          }
          await this.writeTombstones(partition, expired.slice(start, end), now);
          start = end;
        }
      }
    } catch (err) {
      this.log.error({ err }, 'removing expired transactional ids failed');
    } finally {
      this.expirationRunning = false;
    }
  }

  private async writeTombstones(
    partition: number,
    expired: ReadonlyArray<{ txn: TransactionMetadata; transit: TxnTransitMetadata; record: TransactionLogRecord }>,
    timestampMs: number,
  ): Promise<void> {
    const coordinatorEpoch = this.loadedPartitions.get(partition);
    let errorCode: number = ErrorCode.NONE;
    try {
      await this.stateLog.append(partition, expired.map((e) => e.record), timestampMs);
    } catch (err) {
      errorCode = kafkaErrorCode(err) ?? ErrorCode.UNKNOWN_SERVER_ERROR;
      if (kafkaErrorCode(err) === undefined) this.log.error({ err, partition }, 'writing transactional id tombstones failed');
    }
    for (const { txn, transit } of expired) {
      const transactionalId = txn.transactionalId;
      if (
        errorCode === ErrorCode.NONE &&
        this.loadedPartitions.get(partition) === coordinatorEpoch &&
        this.txns.get(transactionalId) === txn &&
        txn.pendingState === 'Dead' &&
        txn.producerEpoch === transit.producerEpoch
      ) {
        this.txns.delete(transactionalId);
        this.log.debug({ transactionalId }, 'expired transactional id removed');
      } else {
        this.log.warn({ transactionalId, errorCode, pendingState: txn.pendingState }, 'could not remove an expired transactional id');
        txn.pendingState = undefined;
      }
    }
  }

  /** DescribeTransactions (TransactionCoordinator.handleDescribeTransactions). */
  describe(transactionalIds: readonly string[]): TransactionDescription[] {
    return transactionalIds.map((transactionalId) => {
      const fail = (errorCode: number): TransactionDescription => ({
        transactionalId,
        errorCode,
        state: '',
        transactionTimeoutMs: 0,
        transactionStartTimeMs: 0n,
        producerId: 0n,
        producerEpoch: 0,
        topics: [],
      });
      if (this.state === 'new' || this.state === 'closed') return fail(ErrorCode.COORDINATOR_NOT_AVAILABLE);
      if (transactionalId === '') return fail(ErrorCode.INVALID_REQUEST);
      const found = this.lookup(transactionalId);
      if (!('metadata' in found)) return fail(found.errorCode);
      const txn = found.metadata;
      // Dead: being expired and removed.
      if (txn === undefined || txn.state === 'Dead') return fail(ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
      return {
        transactionalId,
        errorCode: ErrorCode.NONE,
        state: txn.state,
        transactionTimeoutMs: txn.txnTimeoutMs,
        transactionStartTimeMs: BigInt(txn.txnStartTimestamp),
        producerId: txn.producerId,
        producerEpoch: txn.producerEpoch,
        topics: topicList(txn.topicPartitions),
      };
    });
  }

  /**
   * ListTransactions (TransactionStateManager.listTransactionStates): every transactional id except Dead ones,
   * filtered by state names (an unknown name matches nothing; the handler reports it as an unknown filter), producer
   * ids, and open for longer than `durationFilterMs` when that is >= 0. Throws KafkaError COORDINATOR_NOT_AVAILABLE
   * before start() or after close(), COORDINATOR_LOAD_IN_PROGRESS while loading.
   */
  list(stateFilters: readonly string[], producerIdFilters: readonly bigint[], durationFilterMs: bigint): TransactionListing[] {
    if (this.state === 'new' || this.state === 'closed') throw new KafkaError(ErrorCode.COORDINATOR_NOT_AVAILABLE, 'the transaction coordinator is not running');
    if (this.state === 'loading') throw new KafkaError(ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, 'the transaction coordinator is loading');
    const states = new Set<TransactionState>();
    for (const name of stateFilters) {
      const state = transactionStateFromName(name);
      if (state !== undefined) states.add(state);
    }
    const producerIds = new Set(producerIdFilters);
    const now = BigInt(this.now());
    const out: TransactionListing[] = [];
    for (const txn of this.txns.values()) {
      if (txn.state === 'Dead') continue;
      if (producerIds.size > 0 && !producerIds.has(txn.producerId)) continue;
      if (stateFilters.length > 0 && !states.has(txn.state)) continue;
      if (durationFilterMs >= 0n && now - BigInt(txn.txnStartTimestamp) <= durationFilterMs) continue;
      out.push({ transactionalId: txn.transactionalId, producerId: txn.producerId, transactionState: txn.state });
    }
    return out;
  }

}
