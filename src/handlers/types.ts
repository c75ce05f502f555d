// The contract every Kafka API handler implements (STYLE.md §4), and what a handler may reach.
import type { RemoteTransactionCoordinator } from '../txn/remote-transaction-coordinator.js';
import type { Logger } from 'pino';
import type { BrokerConfig } from '../metadata/broker-config.js';
import type { TopicRegistry } from '../metadata/topic-registry.js';
import type { LogManager } from '../log/log-manager.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import type { ProducerIdManager } from '../metadata/producer-id-manager.js';
import type { TransactionCoordinator } from '../txn/transaction-coordinator.js';
import type { TransactionMarkerWriter } from '../txn/marker-writer.js';
import type { FaultInjector } from '../faults/index.js';
import type { BrokerMetrics } from '../http/metrics.js';
import type { KafkaPrincipal } from '../auth/principal.js';
import type { CredentialStore } from '../auth/credential-store.js';
import type { Authorizer } from '../auth/authorizer.js';
import type { FetchSessionCache } from '../fetch/fetch-session-cache.js';
import type { ClientMetricsManager } from '../telemetry/client-metrics-manager.js';
import type { QuotaManager } from '../quota/index.js';
import type { ReplicaManager } from '../cluster/replica-manager.js';
import type { ClusterState } from '../cluster/cluster-member.js';

/** The broker's state and services, as handlers see them. */
export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly clusterId: string;
  readonly nodeId: number;
  readonly topics: TopicRegistry;
  readonly logs: LogManager;
  /** The group coordinator (this broker coordinates every group). */
  readonly groups: GroupCoordinator;
  /** Producer ids for InitProducerId, never reused (metadata/producer-id-manager.ts). */
  readonly producerIds: ProducerIdManager;
  /** The transaction coordinator (this broker coordinates every transactional id; txn/). */
  readonly transactions: TransactionCoordinator;
  /** Writes COMMIT/ABORT markers to this broker's partitions (txn/partition-marker-writer.ts). */
  readonly transactionMarkers: TransactionMarkerWriter;
  readonly logger: Logger;
  /**
   * Host and port put into Metadata, FindCoordinator and DescribeCluster: the advertised endpoint of the listener
   * named (the one the request came through, ctx.listenerName); the first listener's when no name is given.
   */
  advertisedEndpoint(listenerName?: string): { host: string; port: number };
  /** SCRAM credentials (auth/credential-store.ts): SASL logins, Describe/AlterUserScramCredentials. */
  readonly credentials: CredentialStore;
  /**
   * The ACL authorizer (auth/authorizer.ts) with `--authorizer acl`; undefined otherwise (everything allowed).
   * Handlers ask it through auth's authorize(ctx, operation, resourceType, name), never directly.
   */
  readonly authorizer: Authorizer | undefined;
  /** Aborted when the broker starts shutting down: long polls end early. */
  readonly shutdownSignal: AbortSignal;
  /** Fault rules (faults/); consulted by server/dispatch.ts only. */
  readonly faults?: FaultInjector;
  /** Prometheus metrics (http/metrics.ts), with the HTTP admin listener only; dispatch, Produce and Fetch count into it. */
  readonly metrics?: BrokerMetrics;
  /** Incremental fetch sessions (KIP-227; fetch/fetch-session-cache.ts), one cache per broker. */
  readonly fetchSessions: FetchSessionCache;
  /** Client telemetry instances (KIP-714; telemetry/client-metrics-manager.ts). */
  readonly clientMetrics: ClientMetricsManager;
  /** Client quotas (quota/): Describe/AlterClientQuotas, and the throttling server/dispatch.ts applies. */
  readonly quotas: QuotaManager;
  /**
   * Cluster mode only (`etcd`; cluster/): this broker's replicas. Handlers ask it who leads a partition
   * (leaderOf: NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH …) and wait on it for acks=all. Undefined on a single
   * broker, which leads every partition with epoch 0.
   */
  readonly replicas?: ReplicaManager;
  /** Cluster mode only: the brokers, the controller and every partition's state, for Metadata and admin APIs. */
  readonly cluster?: ClusterState;
  /** Cluster mode only: adds partitions at another broker's transaction coordinator (transactions v2). */
  readonly remoteTransactions?: RemoteTransactionCoordinator;
}

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  /** Who the client is (auth/principal.ts): User:ANONYMOUS on PLAINTEXT, the TLS DN or the SASL user otherwise. */
  readonly principal: KafkaPrincipal;
  /** The listener the request came through (upper-cased name, e.g. PLAINTEXT, SASL_SSL) and its protocol. */
  readonly listenerName: string;
  readonly securityProtocol: 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
  /** The peer's IP address (Kafka reports it as a member's client_host). */
  readonly clientAddress: string;
  /** The connection's child logger. */
  readonly log: Logger;
  readonly broker: BrokerServices;
  /** Close the connection once this request is done (Kafka does this on an acks=0 produce error). */
  closeConnectionAfterResponse(): void;
}

export interface ApiHandler<Req = any, Res = any> {
  readonly apiKey: number;
  readonly name: string;
  /** Lowest and highest versions this broker honours; advertised in ApiVersions. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** Returns the response, or null when the request gets none (Produce with acks=0). */
  handle(ctx: RequestContext, request: Req): Res | null | Promise<Res | null>;
  /** A response echoing every requested topic/partition/resource with `errorCode`. */
  errorResponse(request: Req, errorCode: number, apiVersion: number): Res;
}
