// The TransactionMarkerWriter of a broker in a cluster (Kafka's TransactionMarkerChannelManager): each partition's
// marker goes to the partition's current leader, found in the cluster metadata when the marker is sent.
//
//   partition's leader (cluster metadata)     the marker is
//   this broker                               written here (partition-marker-writer.ts: acks=-1, the answer waits
//                                             for the ISR)
//   another live broker                       sent to it in one WriteTxnMarkers request per broker and round (one
//                                             connection per broker, kept between rounds, dropped on an error)
//   none (-1), or not live                    answered LEADER_NOT_AVAILABLE: the coordinator retries it after a
//                                             backoff, as Kafka holds it until a leader is known
//   topic unknown to the metadata             UNKNOWN_TOPIC_OR_PARTITION (the coordinator drops it: deleted)
// A request that fails (connection lost, timeout) answers NETWORK_EXCEPTION for its partitions, retried the same way.
// Connections: cluster/broker-connections.ts (the leader's first listener, without TLS or SASL; a cluster whose
// first listener needs them cannot deliver remote markers).
import type { Logger } from 'pino';
import { BrokerConnections } from '../cluster/broker-connections.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { WriteTxnMarkersRequest, WriteTxnMarkersResponse } from '../protocol/generated/write-txn-markers.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import type { ClusterState } from '../cluster/cluster-member.js';
import type { ClientSecurity } from '../client/security.js';
import type { TransactionMarkerPartition, TransactionMarkerRequest, TransactionMarkerResult, TransactionMarkerWriter } from './marker-writer.js';

export interface ClusterMarkerWriterOptions {
  nodeId: number;
  /** Writes the markers of partitions this broker leads (PartitionMarkerWriter with replication). */
  local: TransactionMarkerWriter;
  topics: TopicRegistry;
  cluster: ClusterState;
  /** request.timeout.ms for a remote WriteTxnMarkers. */
  /** How connections to the other brokers are secured (cluster/inter-broker-security.ts). */
  interBrokerSecurity: ClientSecurity | undefined;
  requestTimeoutMs: number;
  logger: Logger;
}

export class ClusterMarkerWriter implements TransactionMarkerWriter {
  private readonly connections: BrokerConnections;

  constructor(private readonly options: ClusterMarkerWriterOptions) {
    this.connections = new BrokerConnections({ clientId: `broker-${options.nodeId}-txn-markers`, requestTimeoutMs: options.requestTimeoutMs, what: 'marker writer', security: options.interBrokerSecurity });
  }

  async writeMarkers(request: TransactionMarkerRequest): Promise<TransactionMarkerResult[]> {
    const results: TransactionMarkerResult[] = [];
    const local: TransactionMarkerPartition[] = [];
    const remote = new Map<number, TransactionMarkerPartition[]>();
    const live = new Map(this.options.cluster.interBrokerPeers().map((b) => [b.nodeId, b]));
    for (const tp of request.partitions) {
      const info = this.options.topics.get(tp.topic);
      if (info === undefined || tp.partition < 0 || tp.partition >= info.partitions) {
        results.push({ ...tp, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
        continue;
      }
      const leader = this.options.cluster.partitionState(info, tp.partition)?.leader ?? -1;
      if (leader === this.options.nodeId) local.push(tp);
      else if (leader < 0 || !live.has(leader)) results.push({ ...tp, errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
      else {
        let list = remote.get(leader);
        if (list === undefined) remote.set(leader, (list = []));
        list.push(tp);
      }
    }
    const work: Array<Promise<TransactionMarkerResult[]>> = [];
    if (local.length > 0) work.push(this.options.local.writeMarkers({ ...request, partitions: local }));
    for (const [brokerId, partitions] of remote) {
      const b = live.get(brokerId)!;
      work.push(this.sendMarkers(brokerId, b.host, b.port, request, partitions));
    }
    for (const answered of await Promise.all(work)) results.push(...answered);
    return results;
  }

  private async sendMarkers(brokerId: number, host: string, port: number, request: TransactionMarkerRequest, partitions: TransactionMarkerPartition[]): Promise<TransactionMarkerResult[]> {
    const byTopic = new Map<string, number[]>();
    for (const tp of partitions) {
      let list = byTopic.get(tp.topic);
      if (list === undefined) byTopic.set(tp.topic, (list = []));
      list.push(tp.partition);
    }
    const body: WriteTxnMarkersRequest = {
      markers: [
        {
          producerId: request.producerId,
          producerEpoch: request.producerEpoch,
          transactionResult: request.commit,
          coordinatorEpoch: request.coordinatorEpoch,
          topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
    };
    try {
      const conn = await this.connections.connection(brokerId, host, port);
      const res = await conn.send<WriteTxnMarkersResponse>(ApiKey.WriteTxnMarkers, conn.versionFor(ApiKey.WriteTxnMarkers), body);
      const answered = new Map<string, number>();
      for (const m of res.markers) for (const t of m.topics) for (const p of t.partitions) answered.set(`${p.partitionIndex}:${t.name}`, p.errorCode);
      return partitions.map((tp) => ({ ...tp, errorCode: answered.get(`${tp.partition}:${tp.topic}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR }));
    } catch (err) {
      this.options.logger.info({ err, brokerId, producerId: request.producerId.toString() }, 'sending transaction markers failed; they are retried');
      this.connections.drop(brokerId);
      return partitions.map((tp) => ({ ...tp, errorCode: ErrorCode.NETWORK_EXCEPTION }));
    }
  }

  /** Closes every connection (after the transaction coordinator has closed). */
  close(): void {
    this.connections.close();
  }
}
