// KafkaClient: the small Kafka client the `eddy` CLI is built on. It speaks only through the generated codec,
// so it works against Eddy and any Kafka broker (it never assumes Eddy's extensions).
//
// - Bootstrap: `host:port[,host:port…]`; the first address that accepts a connection answers Metadata, which
//   names the brokers (their advertised addresses) and each partition's leader. Requests for a partition go to
//   its leader, group requests to the group's coordinator (FindCoordinator), topic admin requests to the
//   controller Metadata names (KRaft brokers forward them anyway), ListGroups to every broker.
// - One connection per broker, opened on first use; each runs the ApiVersions handshake (connection.ts) and picks
//   per API the highest version both sides know, with a floor where older versions lack what we need
//   (Produce v3 and Fetch v4: RecordBatch v2; ListOffsets v1: one offset per timestamp; Metadata v1: null = all).
// - Retries, bounded (RETRY_ATTEMPTS, linear backoff): a response error in RETRY_CODES refreshes the metadata
//   (the leader or coordinator may have moved) and resends. UNKNOWN_TOPIC_OR_PARTITION is retriable in Kafka
//   (metadata propagation) but is reported at once here: an admin tool asked about a topic that does not exist.
// - Security: every connection (bootstrap and brokers) uses the same ClientSecurity (TLS, SASL: connection.ts).
//   Metadata names the endpoints of the listener the client came in through, so they speak the same protocol.
// - Errors: KafkaClientError (Kafka's error name and message), ConnectionError, UnsupportedApiError (errors.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { ErrorCode, RETRIABLE_ERROR_CODES } from '../protocol/error-codes.js';
import type { MetadataResponse } from '../protocol/generated/metadata.js';
import type { ProduceResponse } from '../protocol/generated/produce.js';
import type { FetchResponse, FetchResponsePartitionData } from '../protocol/generated/fetch.js';
import { makeFetchRequest, makeFetchRequestFetchPartition, makeFetchRequestFetchTopic } from '../protocol/generated/fetch.js';
import type { ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import { makeCreateTopicsRequestCreatableTopic, type CreateTopicsResponse } from '../protocol/generated/create-topics.js';
import { makeDeleteTopicsRequest, type DeleteTopicsResponse } from '../protocol/generated/delete-topics.js';
import { makeFindCoordinatorRequest, type FindCoordinatorResponse } from '../protocol/generated/find-coordinator.js';
import type { ListGroupsResponse } from '../protocol/generated/list-groups.js';
import type { DescribeGroupsResponse, DescribeGroupsResponseDescribedGroup } from '../protocol/generated/describe-groups.js';
import { makeOffsetFetchRequest, type OffsetFetchResponse } from '../protocol/generated/offset-fetch.js';
import { makeOffsetCommitRequest, makeOffsetCommitRequestPartition, type OffsetCommitResponse } from '../protocol/generated/offset-commit.js';
import type { DeleteGroupsResponse } from '../protocol/generated/delete-groups.js';
import type { CreatePartitionsResponse } from '../protocol/generated/create-partitions.js';
import type { IncrementalAlterConfigsResponse } from '../protocol/generated/incremental-alter-configs.js';
import type { DescribeConfigsResponse } from '../protocol/generated/describe-configs.js';
import { makeInitProducerIdRequest, type InitProducerIdResponse } from '../protocol/generated/init-producer-id.js';
import type { CreateAclsResponse } from '../protocol/generated/create-acls.js';
import type { DescribeAclsResponse } from '../protocol/generated/describe-acls.js';
import type { DeleteAclsResponse } from '../protocol/generated/delete-acls.js';
import type { DescribeUserScramCredentialsResponse } from '../protocol/generated/describe-user-scram-credentials.js';
import type { AlterUserScramCredentialsResponse } from '../protocol/generated/alter-user-scram-credentials.js';
import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Connection } from './connection.js';
import type { ClientSecurity } from './security.js';
import { ConnectionError, KafkaClientError, throwIfError } from './errors.js';

export interface ClientOptions {
  /** `host:port[,host:port…]`. */
  bootstrap: string;
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** TLS and SASL for every connection (security.ts); PLAINTEXT when absent. */
  security?: ClientSecurity;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionInfo {
  partition: number;
  errorCode: number;
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
}

export interface TopicInfo {
  name: string;
  errorCode: number;
  /** 16 bytes; all zero when the broker has no topic ids (Metadata < v10). */
  topicId: Buffer;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

export interface ClusterMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
  topics: TopicInfo[];
}

export interface TopicSpec {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  configs: Record<string, string>;
}

export interface TopicResult {
  name: string;
  errorCode: number;
  errorMessage: string | null;
}

export interface ProduceResult {
  baseOffset: bigint;
  logAppendTimeMs: bigint;
}

export interface PartitionOffset {
  partition: number;
  offset: bigint;
  timestamp: bigint;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: string | null;
}

/** An ACL as the ACL APIs carry it: resource pattern + entry, every field a Kafka code (AclOperation, …). */
export interface AclEntry {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A DescribeAcls / DeleteAcls filter: null name, principal or host = any; ANY (1) codes match every value. */
export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** SCRAM mechanisms by ScramMechanism type code (1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512), as the credential APIs name them. */
export const SCRAM_MECHANISM_TYPES: Readonly<Record<string, { type: number; hash: string; keyBytes: number }>> = {
  'SCRAM-SHA-256': { type: 1, hash: 'sha256', keyBytes: 32 },
  'SCRAM-SHA-512': { type: 2, hash: 'sha512', keyBytes: 64 },
};
const pbkdf2Async = promisify(pbkdf2);

/** ListOffsets sentinel timestamps (ListOffsetsRequest.EARLIEST_TIMESTAMP / LATEST_TIMESTAMP). */
export const EARLIEST_TIMESTAMP = -2n;
export const LATEST_TIMESTAMP = -1n;

/** IncrementalAlterConfigs operation codes (AlterConfigOp.OpType) and ConfigResource.Type.TOPIC. */
export const ConfigOperation = { SET: 0, DELETE: 1 } as const;
const RESOURCE_TYPE_TOPIC = 2;

/** The Java producer's transaction.timeout.ms default, which it sends even without a transactional id. */
const IDEMPOTENT_TRANSACTION_TIMEOUT_MS = 60_000;
const RETRY_ATTEMPTS = 5;
const RETRY_BACKOFF_MS = 100;
const RETRY_CODES: ReadonlySet<number> = new Set(
  [...RETRIABLE_ERROR_CODES].filter((c) => c !== ErrorCode.UNKNOWN_TOPIC_OR_PARTITION && c !== ErrorCode.UNKNOWN_TOPIC_ID && c !== ErrorCode.CORRUPT_MESSAGE),
);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Parses `host:port[,host:port…]`; throws a RangeError naming the bad entry. */
export function parseBootstrap(bootstrap: string): Array<{ host: string; port: number }> {
  const out: Array<{ host: string; port: number }> = [];
  for (const entry of bootstrap.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new RangeError(`invalid bootstrap address "${entry}" (expected host:port)`);
    out.push({ host: m[1]!, port });
  }
  if (out.length === 0) throw new RangeError(`invalid bootstrap address "${bootstrap}" (expected host:port)`);
  return out;
}

export class KafkaClient {
  private readonly bootstrap: Array<{ host: string; port: number }>;
  private readonly options: ClientOptions;
  private bootstrapConnection: Promise<Connection> | undefined;
  private readonly connections = new Map<number, Promise<Connection>>();
  private readonly brokers = new Map<number, BrokerInfo>();
  private readonly topicCache = new Map<string, TopicInfo>();
  private controllerId = -1;

  constructor(options: ClientOptions) {
    this.options = options;
    this.bootstrap = parseBootstrap(options.bootstrap);
  }

  // ---- connections ----------------------------------------------------------------------------------------

  /** A connection to any broker: the first bootstrap address that accepts one. */
  any(): Promise<Connection> {
    if (this.bootstrapConnection === undefined) {
      const p = this.connectBootstrap();
      this.bootstrapConnection = p;
      p.catch(() => {
        if (this.bootstrapConnection === p) this.bootstrapConnection = undefined;
      });
    }
    return this.bootstrapConnection.then((c) => {
      if (c.isOpen) return c;
      this.bootstrapConnection = undefined;
      return this.any();
    });
  }

  private async connectBootstrap(): Promise<Connection> {
    let last: unknown;
    for (const { host, port } of this.bootstrap) {
      try {
        return await Connection.connect({ host, port, clientId: this.options.clientId, connectTimeoutMs: this.options.connectTimeoutMs, requestTimeoutMs: this.options.requestTimeoutMs, security: this.options.security });
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }

  /** The connection to broker `nodeId` (an address learned from Metadata). */
  async broker(nodeId: number): Promise<Connection> {
    const existing = this.connections.get(nodeId);
    if (existing !== undefined) {
      const c = await existing;
      if (c.isOpen) return c;
      this.connections.delete(nodeId);
    }
    if (!this.brokers.has(nodeId)) await this.metadata([]);
    const info = this.brokers.get(nodeId);
    if (info === undefined) throw new KafkaClientError(ErrorCode.BROKER_NOT_AVAILABLE, `Broker ${nodeId} is not in the cluster metadata.`);
    const p = Connection.connect({ host: info.host, port: info.port, clientId: this.options.clientId, connectTimeoutMs: this.options.connectTimeoutMs, requestTimeoutMs: this.options.requestTimeoutMs, security: this.options.security });
    this.connections.set(nodeId, p);
    p.catch(() => {
      if (this.connections.get(nodeId) === p) this.connections.delete(nodeId);
    });
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    if (this.bootstrapConnection) all.push(this.bootstrapConnection);
    this.connections.clear();
    this.bootstrapConnection = undefined;
    await Promise.all(all.map((p) => p.then((c) => c.end(), () => undefined)));
  }

  /** Runs `fn`, resending after a metadata refresh when it fails with a retriable Kafka error (bounded). */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retriable = err instanceof KafkaClientError && RETRY_CODES.has(err.errorCode);
        if (!retriable || attempt >= RETRY_ATTEMPTS) throw err;
        this.topicCache.clear();
        await sleep(RETRY_BACKOFF_MS * attempt);
      }
    }
  }

  // ---- metadata -------------------------------------------------------------------------------------------

  /** Metadata for `topics` (null: every topic; []: brokers only). Never creates topics. */
  async metadata(topics: string[] | null): Promise<ClusterMetadata> {
    const conn = await this.any();
    const version = conn.versionFor(ApiKey.Metadata, 1);
    const res = await conn.send<MetadataResponse>(ApiKey.Metadata, version, {
      topics: topics === null ? null : topics.map((name) => ({ topicId: Buffer.alloc(16), name })),
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const md: ClusterMetadata = {
      clusterId: res.clusterId ?? null,
      controllerId: res.controllerId ?? -1,
      brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null })),
      topics: res.topics.map((t) => ({
        name: t.name ?? '',
        errorCode: t.errorCode,
        topicId: t.topicId ?? Buffer.alloc(16),
        isInternal: t.isInternal ?? false,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            errorCode: p.errorCode,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas ?? [],
          }))
          .sort((a, b) => a.partition - b.partition),
      })),
    };
    for (const b of md.brokers) this.brokers.set(b.nodeId, b);
    this.controllerId = md.controllerId;
    for (const t of md.topics) if (t.errorCode === ErrorCode.NONE) this.topicCache.set(t.name, t);
    return md;
  }

  /** One topic's metadata; throws UNKNOWN_TOPIC_OR_PARTITION (or the topic's error) when it is not usable. */
  async topic(name: string, refresh = false): Promise<TopicInfo> {
    const cached = this.topicCache.get(name);
    if (cached !== undefined && !refresh) return cached;
    const md = await this.metadata([name]);
    const t = md.topics.find((x) => x.name === name);
    if (t === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    throwIfError(t.errorCode);
    return t;
  }

  private async partitionLeader(topic: string, partition: number): Promise<{ conn: Connection; info: TopicInfo }> {
    const info = await this.topic(topic);
    const p = info.partitions.find((x) => x.partition === partition);
    if (p === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic-partition. (${topic}-${partition})`);
    if (p.leader < 0) throw new KafkaClientError(ErrorCode.LEADER_NOT_AVAILABLE);
    return { conn: await this.broker(p.leader), info };
  }

  /** The controller (for topic admin requests), or any broker when Metadata names none. */
  private async controller(): Promise<Connection> {
    if (this.controllerId < 0) await this.metadata([]);
    return this.controllerId >= 0 && this.brokers.has(this.controllerId) ? this.broker(this.controllerId) : this.any();
  }

  // ---- topics ---------------------------------------------------------------------------------------------

  async createTopics(specs: TopicSpec[], timeoutMs = 30_000): Promise<TopicResult[]> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.CreateTopics);
    const res = await conn.send<CreateTopicsResponse>(ApiKey.CreateTopics, version, {
      timeoutMs,
      validateOnly: false,
      topics: specs.map((s) => ({
        ...makeCreateTopicsRequestCreatableTopic(),
        name: s.name,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        assignments: [],
        configs: Object.entries(s.configs).map(([name, value]) => ({ name, value })),
      })),
    });
    return res.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, errorMessage: t.errorMessage ?? null }));
  }

  async deleteTopics(names: string[], timeoutMs = 30_000): Promise<TopicResult[]> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.DeleteTopics);
    const res = await conn.send<DeleteTopicsResponse>(ApiKey.DeleteTopics, version, {
      ...makeDeleteTopicsRequest(),
      timeoutMs,
      // v6+ names topics by name or id (KIP-516).
      ...(version >= 6 ? { topics: names.map((name) => ({ name, topicId: Buffer.alloc(16) })) } : { topicNames: names }),
    });
    return res.responses.map((t) => ({ name: t.name ?? '', errorCode: t.errorCode, errorMessage: t.errorMessage ?? null }));
  }

  /** Grows `topic` to `count` partitions (CreatePartitions). */
  async createPartitions(topic: string, count: number, timeoutMs = 30_000): Promise<TopicResult> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.CreatePartitions);
    const res = await conn.send<CreatePartitionsResponse>(ApiKey.CreatePartitions, version, {
      timeoutMs,
      validateOnly: false,
      topics: [{ name: topic, count, assignments: null }],
    });
    const r = res.results[0]!;
    return { name: r.name, errorCode: r.errorCode, errorMessage: r.errorMessage };
  }

  /** Sets and deletes topic configs (IncrementalAlterConfigs, KIP-339). */
  async alterTopicConfigs(topic: string, set: Record<string, string>, remove: string[]): Promise<TopicResult> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.IncrementalAlterConfigs);
    const res = await conn.send<IncrementalAlterConfigsResponse>(ApiKey.IncrementalAlterConfigs, version, {
      validateOnly: false,
      resources: [
        {
          resourceType: RESOURCE_TYPE_TOPIC,
          resourceName: topic,
          configs: [
            ...Object.entries(set).map(([name, value]) => ({ name, configOperation: ConfigOperation.SET, value })),
            ...remove.map((name) => ({ name, configOperation: ConfigOperation.DELETE, value: null })),
          ],
        },
      ],
    });
    const r = res.responses[0]!;
    return { name: r.resourceName, errorCode: r.errorCode, errorMessage: r.errorMessage };
  }

  /** A topic's configs (DescribeConfigs), or undefined when the broker does not offer DescribeConfigs. */
  async describeTopicConfigs(topic: string): Promise<Array<{ name: string; value: string | null; isDefault: boolean }> | undefined> {
    const conn = await this.any();
    if (!conn.supports(ApiKey.DescribeConfigs)) return undefined;
    const version = conn.versionFor(ApiKey.DescribeConfigs);
    const res = await conn.send<DescribeConfigsResponse>(ApiKey.DescribeConfigs, version, {
      includeSynonyms: false,
      includeDocumentation: false,
      resources: [{ resourceType: RESOURCE_TYPE_TOPIC, resourceName: topic, configurationKeys: null }],
    });
    const r = res.results[0]!;
    throwIfError(r.errorCode, r.errorMessage);
    // configSource 5 = DEFAULT_CONFIG (DescribeConfigsResponse.ConfigSource); v0 has isDefault instead.
    return r.configs.map((c) => ({ name: c.name, value: c.value, isDefault: c.isDefault ?? c.configSource === 5 }));
  }

  // ---- produce / fetch / offsets --------------------------------------------------------------------------

  /**
   * Appends one RecordBatch v2 to topic-partition. With acks=0 nothing comes back: resolves once written, with
   * baseOffset -1.
   */
  produce(topic: string, partition: number, batch: Buffer, acks: number, timeoutMs = 30_000): Promise<ProduceResult> {
    return this.retrying(async () => {
      const { conn, info } = await this.partitionLeader(topic, partition);
      const version = conn.versionFor(ApiKey.Produce, 3);
      // v13+ names the topic by id (KIP-516).
      const target = version >= 13 ? { topicId: info.topicId } : { name: topic };
      const body = { transactionalId: null, acks, timeoutMs, topicData: [{ ...target, partitionData: [{ index: partition, records: batch }] }] };
      if (acks === 0) {
        await conn.sendNoResponse(ApiKey.Produce, version, body);
        return { baseOffset: -1n, logAppendTimeMs: -1n };
      }
      const res = await conn.send<ProduceResponse>(ApiKey.Produce, version, body, timeoutMs);
      const p = res.responses[0]?.partitionResponses[0];
      if (p === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, 'empty Produce response');
      const recordError = p.recordErrors?.[0]?.batchIndexErrorMessage;
      throwIfError(p.errorCode, p.errorMessage ?? recordError);
      return { baseOffset: p.baseOffset, logAppendTimeMs: p.logAppendTimeMs ?? -1n };
    });
  }

  /** True when the broker gives out producer ids (InitProducerId), so an idempotent producer can run. */
  async supportsIdempotence(): Promise<boolean> {
    return (await this.any()).supports(ApiKey.InitProducerId);
  }

  /**
   * A producer id and epoch for an idempotent, non-transactional producer: InitProducerId with a null
   * transactional id, to any broker (as the Java producer asks its least loaded node).
   */
  initProducerId(): Promise<{ producerId: bigint; producerEpoch: number }> {
    return this.retrying(async () => {
      const conn = await this.any();
      const version = conn.versionFor(ApiKey.InitProducerId);
      const res = await conn.send<InitProducerIdResponse>(ApiKey.InitProducerId, version, {
        ...makeInitProducerIdRequest(),
        transactionalId: null,
        transactionTimeoutMs: IDEMPOTENT_TRANSACTION_TIMEOUT_MS,
      });
      throwIfError(res.errorCode);
      return { producerId: res.producerId, producerEpoch: res.producerEpoch };
    });
  }

  /** One Fetch of topic-partition from `offset`; the caller decodes `records` (records.ts). */
  fetch(topic: string, partition: number, offset: bigint, options: { maxWaitMs?: number; maxBytes?: number } = {}): Promise<FetchResponsePartitionData> {
    return this.retrying(async () => {
      const { conn, info } = await this.partitionLeader(topic, partition);
      const version = conn.versionFor(ApiKey.Fetch, 4);
      const maxWaitMs = options.maxWaitMs ?? 500;
      const maxBytes = options.maxBytes ?? 1024 * 1024;
      const res = await conn.send<FetchResponse>(
        ApiKey.Fetch,
        version,
        {
          ...makeFetchRequest(),
          maxWaitMs,
          minBytes: 1,
          maxBytes,
          // v13+ names topics by id (KIP-516).
          topics: [{ ...makeFetchRequestFetchTopic(), ...(version >= 13 ? { topicId: info.topicId } : { topic }), partitions: [{ ...makeFetchRequestFetchPartition(), partition, fetchOffset: offset, partitionMaxBytes: maxBytes }] }],
        },
        maxWaitMs,
      );
      throwIfError(res.errorCode);
      const p = res.responses[0]?.partitions[0];
      if (p === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, 'empty Fetch response');
      throwIfError(p.errorCode);
      return p;
    });
  }

  /**
   * The offset for `timestamp` in each partition (ListOffsets): EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, or a time
   * in ms (the first offset whose timestamp is at or after it; the log end offset when there is none).
   */
  async listOffsets(topic: string, partitions: number[], timestamp: bigint): Promise<PartitionOffset[]> {
    const info = await this.topic(topic);
    const byLeader = new Map<number, number[]>();
    for (const partition of partitions) {
      const p = info.partitions.find((x) => x.partition === partition);
      if (p === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `This server does not host this topic-partition. (${topic}-${partition})`);
      byLeader.set(p.leader, [...(byLeader.get(p.leader) ?? []), partition]);
    }
    const out: PartitionOffset[] = [];
    for (const [leader, parts] of byLeader) {
      const res = await this.retrying(async () => {
        const conn = await this.broker(leader);
        const version = conn.versionFor(ApiKey.ListOffsets, 1);
        return conn.send<ListOffsetsResponse>(ApiKey.ListOffsets, version, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: topic, partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp, maxNumOffsets: 1 })) }],
        });
      });
      for (const t of res.topics) {
        for (const p of t.partitions) {
          throwIfError(p.errorCode);
          out.push({ partition: p.partitionIndex, offset: p.offset ?? p.oldStyleOffsets?.[0] ?? -1n, timestamp: p.timestamp ?? -1n });
        }
      }
    }
    return out.sort((a, b) => a.partition - b.partition);
  }

  // ---- groups ---------------------------------------------------------------------------------------------

  /** The connection to `groupId`'s coordinator (FindCoordinator, retried while it is loading). */
  coordinator(groupId: string): Promise<Connection> {
    return this.retrying(async () => {
      const conn = await this.any();
      const version = conn.versionFor(ApiKey.FindCoordinator);
      // v4+ batches keys (KIP-699): `coordinatorKeys` replaces `key`.
      const body = version >= 4 ? { keyType: 0, coordinatorKeys: [groupId] } : { key: groupId, keyType: 0 };
      const res = await conn.send<FindCoordinatorResponse>(ApiKey.FindCoordinator, version, { ...makeFindCoordinatorRequest(), ...body });
      if (version >= 4) {
        const c = res.coordinators?.[0];
        if (c === undefined) throw new KafkaClientError(ErrorCode.COORDINATOR_NOT_AVAILABLE);
        throwIfError(c.errorCode, c.errorMessage);
        this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
        return this.broker(c.nodeId);
      }
      throwIfError(res.errorCode, res.errorMessage);
      this.brokers.set(res.nodeId!, { nodeId: res.nodeId!, host: res.host!, port: res.port!, rack: null });
      return this.broker(res.nodeId!);
    });
  }

  /** Every group on every broker (ListGroups goes to each broker: each lists the groups it coordinates). */
  async listGroups(): Promise<Array<{ groupId: string; protocolType: string; state: string | null; broker: number }>> {
    const md = await this.metadata([]);
    const out: Array<{ groupId: string; protocolType: string; state: string | null; broker: number }> = [];
    for (const b of md.brokers) {
      const conn = await this.broker(b.nodeId);
      const version = conn.versionFor(ApiKey.ListGroups);
      const res = await conn.send<ListGroupsResponse>(ApiKey.ListGroups, version, { statesFilter: [], typesFilter: [] });
      throwIfError(res.errorCode);
      for (const g of res.groups) out.push({ groupId: g.groupId, protocolType: g.protocolType, state: g.groupState ?? null, broker: b.nodeId });
    }
    return out.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  async describeGroup(groupId: string): Promise<DescribeGroupsResponseDescribedGroup> {
    return this.retrying(async () => {
      const conn = await this.coordinator(groupId);
      const version = conn.versionFor(ApiKey.DescribeGroups);
      const res = await conn.send<DescribeGroupsResponse>(ApiKey.DescribeGroups, version, { groups: [groupId], includeAuthorizedOperations: false });
      const g = res.groups[0];
      if (g === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, 'empty DescribeGroups response');
      // v6 (KIP-1043) answers GROUP_ID_NOT_FOUND where older versions answered a Dead group: callers see it as before.
      if (version >= 6 && g.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) return { ...g, errorCode: ErrorCode.NONE, errorMessage: null, groupState: 'Dead' };
      throwIfError(g.errorCode);
      return g;
    });
  }

  /** The committed offsets of `groupId` (every partition it has committed when `topics` is null). */
  async committedOffsets(groupId: string, topics: Array<{ topic: string; partitions: number[] }> | null = null): Promise<CommittedOffset[]> {
    return this.retrying(async () => {
      const conn = await this.coordinator(groupId);
      // v2+: null topics means every committed partition (KIP-88).
      // v10 names topics by id only (KIP-848); this client commits and reads by name.
      const version = conn.versionFor(ApiKey.OffsetFetch, topics === null ? 2 : 1, 9);
      const wireTopics = topics === null ? null : topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions }));
      // v8+ batches groups (KIP-709).
      const body = version >= 8 ? { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: wireTopics }] } : { groupId, topics: wireTopics };
      const res = await conn.send<OffsetFetchResponse>(ApiKey.OffsetFetch, version, { ...makeOffsetFetchRequest(), ...body, requireStable: false });
      const out: CommittedOffset[] = [];
      if (version >= 8) {
        const g = res.groups?.[0];
        if (g === undefined) throw new KafkaClientError(ErrorCode.UNKNOWN_SERVER_ERROR, 'empty OffsetFetch response');
        throwIfError(g.errorCode);
        for (const t of g.topics) for (const p of t.partitions) {
          throwIfError(p.errorCode);
          out.push({ topic: t.name ?? '', partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
        }
      } else {
        throwIfError(res.errorCode);
        for (const t of res.topics ?? []) for (const p of t.partitions) {
          throwIfError(p.errorCode);
          out.push({ topic: t.name ?? '', partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata });
        }
      }
      return out.filter((o) => o.offset >= 0n).sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    });
  }

  /**
   * Commits offsets for `groupId` outside any generation (generation -1, no member id), as a consumer with
   * manual assignment does; the coordinator refuses it while the group has active members.
   */
  async commitOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; offset: bigint }>): Promise<void> {
    await this.retrying(async () => {
      const conn = await this.coordinator(groupId);
      // v10 names topics by id only (KIP-848); this client commits by name.
      const version = conn.versionFor(ApiKey.OffsetCommit, 2, 9);
      const byTopic = new Map<string, Array<{ partition: number; offset: bigint }>>();
      for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
      const res = await conn.send<OffsetCommitResponse>(ApiKey.OffsetCommit, version, {
        ...makeOffsetCommitRequest(),
        groupId,
        topics: [...byTopic].map(([name, parts]) => ({
          name,
          partitions: parts.map((p) => ({ ...makeOffsetCommitRequestPartition(), partitionIndex: p.partition, committedOffset: p.offset, committedMetadata: '' })),
        })),
      });
      for (const t of res.topics) for (const p of t.partitions) throwIfError(p.errorCode);
    });
  }

  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    const out: Array<{ groupId: string; errorCode: number }> = [];
    for (const groupId of groupIds) {
      const conn = await this.coordinator(groupId);
      const version = conn.versionFor(ApiKey.DeleteGroups);
      const res = await conn.send<DeleteGroupsResponse>(ApiKey.DeleteGroups, version, { groupsNames: [groupId] });
      for (const r of res.results) out.push({ groupId: r.groupId, errorCode: r.errorCode });
    }
    return out;
  }

  // ---- ACLs and SCRAM users (sent to the controller, which KRaft brokers forward to) -------------------------

  /** CreateAcls: one result per ACL, in order (errorCode 0 = created or already there). */
  async createAcls(acls: AclEntry[]): Promise<Array<{ errorCode: number; errorMessage: string | null }>> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.CreateAcls);
    const res = await conn.send<CreateAclsResponse>(ApiKey.CreateAcls, version, {
      creations: acls.map((a) => ({ resourceType: a.resourceType, resourceName: a.resourceName, resourcePatternType: a.patternType, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })),
    });
    return res.results.map((r) => ({ errorCode: r.errorCode, errorMessage: r.errorMessage }));
  }

  /** DescribeAcls: every ACL matching the filter (a KafkaClientError for a request-level error). */
  async describeAcls(filter: AclFilter): Promise<AclEntry[]> {
    const conn = await this.any();
    const version = conn.versionFor(ApiKey.DescribeAcls);
    const res = await conn.send<DescribeAclsResponse>(ApiKey.DescribeAcls, version, {
      resourceTypeFilter: filter.resourceType,
      resourceNameFilter: filter.resourceName,
      patternTypeFilter: filter.patternType,
      principalFilter: filter.principal,
      hostFilter: filter.host,
      operation: filter.operation,
      permissionType: filter.permissionType,
    });
    throwIfError(res.errorCode, res.errorMessage);
    return res.resources.flatMap((r) => r.acls.map((a) => ({ resourceType: r.resourceType, resourceName: r.resourceName, patternType: r.patternType ?? 3, ...a })));
  }

  /** DeleteAcls: per filter, its error and the ACLs it removed. */
  async deleteAcls(filters: AclFilter[]): Promise<Array<{ errorCode: number; errorMessage: string | null; deleted: AclEntry[] }>> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.DeleteAcls);
    const res = await conn.send<DeleteAclsResponse>(ApiKey.DeleteAcls, version, {
      filters: filters.map((f) => ({
        resourceTypeFilter: f.resourceType,
        resourceNameFilter: f.resourceName,
        patternTypeFilter: f.patternType,
        principalFilter: f.principal,
        hostFilter: f.host,
        operation: f.operation,
        permissionType: f.permissionType,
      })),
    });
    return res.filterResults.map((r) => ({
      errorCode: r.errorCode,
      errorMessage: r.errorMessage,
      deleted: r.matchingAcls.map((a) => ({ resourceType: a.resourceType, resourceName: a.resourceName, patternType: a.patternType ?? 3, principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })),
    }));
  }

  /** DescribeUserScramCredentials: the users (all when null) with their mechanisms and iterations. */
  async describeUserScramCredentials(users: string[] | null = null): Promise<Array<{ user: string; errorCode: number; errorMessage: string | null; credentials: Array<{ mechanism: number; iterations: number }> }>> {
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.DescribeUserScramCredentials);
    const res = await conn.send<DescribeUserScramCredentialsResponse>(ApiKey.DescribeUserScramCredentials, version, { users: users === null ? null : users.map((name) => ({ name })) });
    throwIfError(res.errorCode, res.errorMessage);
    return res.results.map((r) => ({ user: r.user, errorCode: r.errorCode, errorMessage: r.errorMessage, credentials: r.credentialInfos.map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })) }));
  }

  /**
   * AlterUserScramCredentials: upserts (the salted password computed here, as Kafka's admin client does: a random
   * salt, PBKDF2 over the password) and deletions; one result per user.
   */
  async alterUserScramCredentials(changes: {
    upsertions?: Array<{ user: string; mechanism: string; password: string; iterations?: number }>;
    deletions?: Array<{ user: string; mechanism: string }>;
  }): Promise<Array<{ user: string; errorCode: number; errorMessage: string | null }>> {
    const mechanismOf = (name: string) => {
      const m = SCRAM_MECHANISM_TYPES[name.toUpperCase()];
      if (m === undefined) throw new RangeError(`unknown SCRAM mechanism ${name} (SCRAM-SHA-256 or SCRAM-SHA-512)`);
      return m;
    };
    const upsertions = await Promise.all(
      (changes.upsertions ?? []).map(async (u) => {
        const m = mechanismOf(u.mechanism);
        const iterations = u.iterations ?? 4096;
        const salt = randomBytes(32);
        return { name: u.user, mechanism: m.type, iterations, salt, saltedPassword: await pbkdf2Async(u.password, salt, iterations, m.keyBytes, m.hash) };
      }),
    );
    const conn = await this.controller();
    const version = conn.versionFor(ApiKey.AlterUserScramCredentials);
    const res = await conn.send<AlterUserScramCredentialsResponse>(ApiKey.AlterUserScramCredentials, version, {
      deletions: (changes.deletions ?? []).map((d) => ({ name: d.user, mechanism: mechanismOf(d.mechanism).type })),
      upsertions,
    });
    return res.results.map((r) => ({ user: r.user, errorCode: r.errorCode, errorMessage: r.errorMessage }));
  }
}

