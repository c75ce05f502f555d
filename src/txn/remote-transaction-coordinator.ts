// Transactions v2 in a cluster: a partition leader (Produce v12+) or group coordinator (TxnOffsetCommit v5) adds
// partitions to a transaction whose coordinator is another broker, as Kafka's AddPartitionsToTxnManager does: one
// AddPartitionsToTxn v4+ (the brokers' form, verifyOnly false) to the leader of the transactional id's
// `__transaction_state` partition, found in the cluster metadata when the request is made.
//
//   coordinator (leader of the id's __transaction_state partition)   answer
//   this broker                                                        NOT_COORDINATOR (the caller asked the local
//                                                                      coordinator first, which is not ready)
//   none, not live, or __transaction_state not created yet             COORDINATOR_NOT_AVAILABLE
//   another live broker                                                its answer: the request's top-level code,
//                                                                      else the first partition's code that is not
//                                                                      NONE (the coordinator answers all alike)
//   the request fails (connection lost, timeout)                       NETWORK_EXCEPTION (the connection is dropped)
// The callers map these as Kafka does (handlers/txn-implicit-add.ts): retriable ones make the client retry.
import type { Logger } from 'pino';
import { BrokerConnections } from '../cluster/broker-connections.js';
import type { ClusterState } from '../cluster/cluster-member.js';
import type { ClientSecurity } from '../client/security.js';
import { TRANSACTION_STATE_TOPIC_NAME } from '../metadata/internal-topics.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { ApiKey } from '../protocol/generated/index.js';
import type { AddPartitionsToTxnRequest, AddPartitionsToTxnResponse } from '../protocol/generated/add-partitions-to-txn.js';
import type { TopicPartitions } from './transaction-metadata.js';

/** The first AddPartitionsToTxn version brokers send (batched transactions, verifyOnly; KIP-890). */
const BROKER_ADD_PARTITIONS_VERSION = 4;

export interface RemoteTransactionCoordinatorOptions {
  nodeId: number;
  topics: TopicRegistry;
  cluster: ClusterState;
  /** The id's __transaction_state partition (TransactionCoordinator.partitionFor). */
  partitionFor(transactionalId: string): number;
  /** How connections to the other brokers are secured (cluster/inter-broker-security.ts). */
  interBrokerSecurity: ClientSecurity | undefined;
  requestTimeoutMs: number;
  logger: Logger;
}

export class RemoteTransactionCoordinator {
  private readonly connections: BrokerConnections;

  constructor(private readonly options: RemoteTransactionCoordinatorOptions) {
    this.connections = new BrokerConnections({ clientId: `broker-${options.nodeId}-txn-add`, requestTimeoutMs: options.requestTimeoutMs, what: 'transaction coordinator client', security: options.interBrokerSecurity });
  }

  async addPartitions(transactionalId: string, producerId: bigint, producerEpoch: number, partitions: TopicPartitions): Promise<number> {
    const stateTopic = this.options.topics.get(TRANSACTION_STATE_TOPIC_NAME);
    if (stateTopic === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const coordinatorId = this.options.cluster.partitionState(stateTopic, this.options.partitionFor(transactionalId))?.leader ?? -1;
    if (coordinatorId === this.options.nodeId) return ErrorCode.NOT_COORDINATOR;
    const coordinator = this.options.cluster.interBrokerPeers().find((b) => b.nodeId === coordinatorId);
    if (coordinator === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const body: AddPartitionsToTxnRequest = {
      transactions: [{ transactionalId, producerId, producerEpoch, verifyOnly: false, topics: [...partitions].map(([name, set]) => ({ name, partitions: [...set] })) }],
    };
    try {
      const conn = await this.connections.connection(coordinatorId, coordinator.host, coordinator.port);
      const res = await conn.send<AddPartitionsToTxnResponse>(ApiKey.AddPartitionsToTxn, conn.versionFor(ApiKey.AddPartitionsToTxn, BROKER_ADD_PARTITIONS_VERSION), body);
      if ((res.errorCode ?? ErrorCode.NONE) !== ErrorCode.NONE) return res.errorCode!;
      for (const txn of res.resultsByTransaction ?? []) {
        for (const t of txn.topicResults) for (const p of t.resultsByPartition) if (p.partitionErrorCode !== ErrorCode.NONE) return p.partitionErrorCode;
      }
      return ErrorCode.NONE;
    } catch (err) {
      this.options.logger.info({ err, coordinatorId, transactionalId }, 'adding partitions at a remote transaction coordinator failed');
      this.connections.drop(coordinatorId);
      return ErrorCode.NETWORK_EXCEPTION;
    }
  }

  close(): void {
    this.connections.close();
  }
}
