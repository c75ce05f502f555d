// The TransactionMarkerWriter of a single broker: every partition is local, so a marker is appended straight to
// the partition's log (what Kafka's WriteTxnMarkers handler does on each leader, ReplicaManager.appendRecords with
// AppendOrigin.COORDINATOR). A `__consumer_offsets` partition gets its marker like any other, and then the group
// coordinator completes the transaction's offsets in it (Kafka's GroupCoordinator.scheduleHandleTxnCompletion,
// which the WriteTxnMarkers handler calls once the marker is appended).
//
// Markers are durable appends when the broker fsyncs acks=all writes (flushOnAckAll): the coordinator writes
// CompleteCommit / CompleteAbort only after every marker is acknowledged, so a crash never forgets a marker the
// state log says was written.
//
// In a cluster (`replication`) this writer serves only the partitions this broker leads (the WriteTxnMarkers
// handler; the coordinator reaches the others through cluster-marker-writer.ts), and a marker is appended as Kafka's
// WriteTxnMarkers appends it, with acks=-1: NOT_LEADER_OR_FOLLOWER when this broker does not lead the partition,
// NOT_ENOUGH_REPLICAS below min.insync.replicas, and the answer waits until the ISR has the marker
// (REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND); only then are a `__consumer_offsets` partition's
// transactional offsets completed.
import type { Logger } from 'pino';
import { isStorageError, KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from '../log/log-manager.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { OFFSETS_TOPIC_NAME } from '../metadata/internal-topics.js';
import type { InternalTopicReplication } from '../metadata/internal-topic-log.js';
import type { TransactionMarkerPartition, TransactionMarkerRequest, TransactionMarkerResult, TransactionMarkerWriter } from './marker-writer.js';

export interface PartitionMarkerWriterOptions {
  logs: LogManager;
  topics: TopicRegistry;
  groups: GroupCoordinator;
  durable: boolean;
  logger: Logger;
  /** Cluster mode: only partitions led here, and the answer waits for the ISR (header). */
  replication?: InternalTopicReplication;
}

export class PartitionMarkerWriter implements TransactionMarkerWriter {
  constructor(private readonly options: PartitionMarkerWriterOptions) {}

  writeMarkers(request: TransactionMarkerRequest): Promise<TransactionMarkerResult[]> {
    return Promise.all(request.partitions.map((p) => this.writeOne(request, p)));
  }

  private async writeOne(request: TransactionMarkerRequest, target: TransactionMarkerPartition): Promise<TransactionMarkerResult> {
    const { topic, partition } = target;
    try {
      const info = this.options.topics.get(topic);
      const replication = this.options.replication;
      // Cluster: a partition led elsewhere may have no log here; it is NOT_LEADER_OR_FOLLOWER, not unknown.
      const leader = info === undefined || partition >= info.partitions ? undefined : replication?.leaderFor(topic, partition);
      const log = info === undefined ? undefined : this.options.logs.getLog(topic, partition);
      if (log === undefined) {
        const offline = info !== undefined && this.options.logs.isOffline(topic, partition);
        return { topic, partition, errorCode: offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
      }
      const minIsr = leader === undefined ? 1 : replication!.minInSyncReplicas(info!);
      leader?.checkEnoughReplicas(minIsr);
      const written = await log.appendMarker(
        request.producerId,
        request.producerEpoch,
        { commit: request.commit, coordinatorEpoch: request.coordinatorEpoch },
        { durable: this.options.durable },
      );
      if (leader !== undefined) await leader.waitForHighWatermark(written.lastOffset, replication!.timeoutMs, minIsr);
      if (topic === OFFSETS_TOPIC_NAME) this.options.groups.completeTransaction(request.producerId, partition, request.commit);
      return { topic, partition, errorCode: ErrorCode.NONE };
    } catch (err) {
      if (err instanceof KafkaError) return { topic, partition, errorCode: err.errorCode };
      const errorCode = isStorageError(err) ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.UNKNOWN_SERVER_ERROR;
      this.options.logger.error({ err, topic, partition, producerId: request.producerId.toString() }, 'writing a transaction marker failed');
      return { topic, partition, errorCode };
    }
  }
}
