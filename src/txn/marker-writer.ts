// The seam between the transaction coordinator (txn/transaction-coordinator.ts) and the partitions a transaction
// wrote to: the coordinator decides COMMIT or ABORT, and a TransactionMarkerWriter makes that decision visible by
// writing a control batch (Kafka's EndTransactionMarker) to each partition. In Kafka this is the
// TransactionMarkerChannelManager sending WriteTxnMarkers to each partition's leader; on a single broker every
// partition is local (partition-marker-writer.ts), in a cluster the leaders are found per marker
// (cluster-marker-writer.ts). Partitions of `__consumer_offsets` (added by AddOffsetsToTxn) get their marker too, and then the group
// coordinator makes the transaction's pending offsets visible (commit) or drops them (abort).

export interface TransactionMarkerPartition {
  topic: string;
  partition: number;
}

export interface TransactionMarkerRequest {
  producerId: bigint;
  producerEpoch: number;
  /** The coordinator epoch of the __transaction_state partition that owns the transactional id. */
  coordinatorEpoch: number;
  /** COMMIT (true) or ABORT (false). */
  commit: boolean;
  partitions: readonly TransactionMarkerPartition[];
}

export interface TransactionMarkerResult extends TransactionMarkerPartition {
  /** 0 when the marker is written (durably, under the broker's flush policy); else Kafka's error code. */
  errorCode: number;
}

export interface TransactionMarkerWriter {
  /**
   * Writes the marker to every partition (in parallel) and answers each partition's outcome. Never rejects:
   * failures are error codes (UNKNOWN_TOPIC_OR_PARTITION for a deleted topic, KAFKA_STORAGE_ERROR for an offline
   * partition, INVALID_PRODUCER_EPOCH for a marker older than the partition's producer epoch, ...).
   */
  writeMarkers(request: TransactionMarkerRequest): Promise<TransactionMarkerResult[]>;
  /** Releases what the writer holds (connections to other brokers); called by the coordinator's close(). */
  close?(): void;
}
