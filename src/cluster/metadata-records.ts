// The values Eddy keeps in etcd, modelled on Kafka's KRaft metadata records (shared/kafka-protocol/metadata-records:
// TopicRecord, PartitionRecord / PartitionChangeRecord, RegisterBrokerRecord / FenceBrokerRecord, ConfigRecord,
// ProducerIdsRecord). etcd stores the current state of each record instead of a log of changes: a change is a CAS
// on the key's mod_revision, and the watch's revision order is the log order.
//
// Key layout under the prefix <p> (default /eddy):
//   <p>/cluster-id                           ClusterIdRecord     created once (create-if-absent)
//   <p>/brokers/<id, 10 digits>              BrokerRecord        attached to the broker's lease
//   <p>/controller                           ControllerRecord    attached to the controller's lease
//   <p>/topics/<name>                        TopicRecord         with the topic's configs (ConfigRecord)
//   <p>/partitions/<topicId>/<p, 10 digits>  PartitionRecord     changed by CAS only
//   <p>/producer-ids                         ProducerIdsRecord   next free block, CAS
//
// Encoding: UTF-8 JSON objects with `version: 1`; bigints as decimal strings; topic ids as 32 lower-case hex digits.
// A reader rejects (throws MetadataRecordError) any value it cannot read completely: unknown version, missing or
// mistyped field, broken invariant (ISR not a subset of the replicas, a leader outside the ISR, …) or a value that
// disagrees with its key. The image logs and skips such a key; it never stops a broker from starting.
//
// Epochs that come from etcd rather than from the value: a broker's epoch is the create_revision of its key (Kafka's
// broker epoch is the offset of its RegisterBrokerRecord, the same idea), and the controller's epoch is the
// create_revision of <p>/controller. A value cannot hold the revision of the txn that writes it.
export const RECORD_VERSION = 1;

export class MetadataRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataRecordError';
  }
}

export interface ClusterIdRecord {
  version: number;
  clusterId: string;
}

export interface BrokerEndpoint {
  /** Listener name, e.g. PLAINTEXT. */
  name: string;
  host: string;
  port: number;
  securityProtocol: string;
}

export interface BrokerRecord {
  version: number;
  brokerId: number;
  incarnationId: string;
  endpoints: BrokerEndpoint[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
}

export interface ControllerRecord {
  version: number;
  brokerId: number;
}

export interface TopicRecord {
  version: number;
  name: string;
  /** 32 hex digits. */
  topicId: string;
  configs: Record<string, string>;
}

/** LeaderRecoveryState (KIP-704): 0 RECOVERED, 1 RECOVERING (after an unclean election, until the leader's AlterPartition). */
export const LeaderRecoveryState = { RECOVERED: 0, RECOVERING: 1 } as const;

export interface PartitionRecord {
  version: number;
  topicId: string;
  partition: number;
  replicas: number[];
  isr: number[];
  /** -1 when the partition has no leader (offline). */
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  leaderRecoveryState: number;
}

export interface ProducerIdsRecord {
  version: number;
  /** The broker that took the last block, and its epoch. */
  brokerId: number;
  brokerEpoch: number;
  /** First id of the next free block (decimal string of an int64). */
  nextProducerId: string;
}

export const NO_LEADER = -1;

// ---- keys ----

export function clusterIdKey(prefix: string): string {
  return `${prefix}/cluster-id`;
}
export function brokersPrefix(prefix: string): string {
  return `${prefix}/brokers/`;
}
export function brokerKey(prefix: string, brokerId: number): string {
  return `${prefix}/brokers/${String(brokerId).padStart(10, '0')}`;
}
export function controllerKey(prefix: string): string {
  return `${prefix}/controller`;
}
export function topicKey(prefix: string, name: string): string {
  return `${prefix}/topics/${name}`;
}
export function topicPartitionsPrefix(prefix: string, topicId: string): string {
  return `${prefix}/partitions/${topicId}/`;
}
export function partitionKey(prefix: string, topicId: string, partition: number): string {
  return `${prefix}/partitions/${topicId}/${String(partition).padStart(10, '0')}`;
}
export function producerIdsKey(prefix: string): string {
  return `${prefix}/producer-ids`;
}

export type ParsedKey =
  | { kind: 'cluster-id' }
  | { kind: 'broker'; brokerId: number }
  | { kind: 'controller' }
  | { kind: 'topic'; name: string }
  | { kind: 'partition'; topicId: string; partition: number }
  | { kind: 'producer-ids' };

const TEN_DIGITS = /^\d{10}$/;
const TOPIC_ID = /^[0-9a-f]{32}$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/** What a key under `prefix` names, or undefined for a key outside the layout. */
export function parseKey(prefix: string, key: string): ParsedKey | undefined {
  if (!key.startsWith(`${prefix}/`)) return undefined;
  const rest = key.slice(prefix.length + 1);
  if (rest === 'cluster-id') return { kind: 'cluster-id' };
  if (rest === 'controller') return { kind: 'controller' };
  if (rest === 'producer-ids') return { kind: 'producer-ids' };
  const parts = rest.split('/');
  if (parts[0] === 'brokers' && parts.length === 2 && TEN_DIGITS.test(parts[1]!)) {
    return { kind: 'broker', brokerId: Number(parts[1]) };
  }
  if (parts[0] === 'topics' && parts.length === 2 && TOPIC_NAME.test(parts[1]!)) return { kind: 'topic', name: parts[1]! };
  if (parts[0] === 'partitions' && parts.length === 3 && TOPIC_ID.test(parts[1]!) && TEN_DIGITS.test(parts[2]!)) {
    return { kind: 'partition', topicId: parts[1]!, partition: Number(parts[2]) };
  }
  return undefined;
}

// ---- validation helpers ----

type Json = Record<string, unknown>;

function parseObject(value: Buffer | string, what: string): Json {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new MetadataRecordError(`${what}: not JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new MetadataRecordError(`${what}: not a JSON object`);
  const obj = parsed as Json;
  if (obj.version !== RECORD_VERSION) throw new MetadataRecordError(`${what}: unsupported version ${JSON.stringify(obj.version)}`);
  return obj;
}

function int(obj: Json, field: string, what: string, min: number, max = 0x7fffffff): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new MetadataRecordError(`${what}: ${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return v;
}

function str(obj: Json, field: string, what: string, pattern?: RegExp): string {
  const v = obj[field];
  if (typeof v !== 'string' || (pattern !== undefined && !pattern.test(v))) {
    throw new MetadataRecordError(`${what}: ${field} is not a valid string: ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(obj: Json, field: string, what: string): boolean {
  const v = obj[field];
  if (typeof v !== 'boolean') throw new MetadataRecordError(`${what}: ${field} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function brokerIdList(obj: Json, field: string, what: string): number[] {
  const v = obj[field];
  if (!Array.isArray(v)) throw new MetadataRecordError(`${what}: ${field} must be an array`);
  const seen = new Set<number>();
  for (const id of v) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
      throw new MetadataRecordError(`${what}: ${field} holds an invalid broker id ${JSON.stringify(id)}`);
    }
    if (seen.has(id)) throw new MetadataRecordError(`${what}: ${field} lists broker ${id} twice`);
    seen.add(id);
  }
  return v as number[];
}

// ---- encode / decode ----

function encode(record: object): Buffer {
  return Buffer.from(JSON.stringify(record), 'utf8');
}

export function encodeClusterIdRecord(r: Omit<ClusterIdRecord, 'version'>): Buffer {
  return encode({ version: RECORD_VERSION, clusterId: r.clusterId });
}

export function decodeClusterIdRecord(value: Buffer | string): ClusterIdRecord {
  const what = 'cluster-id record';
  const obj = parseObject(value, what);
  return { version: RECORD_VERSION, clusterId: str(obj, 'clusterId', what, /^[A-Za-z0-9_-]{1,64}$/) };
}

export function encodeBrokerRecord(r: Omit<BrokerRecord, 'version'>): Buffer {
  return encode({
    version: RECORD_VERSION,
    brokerId: r.brokerId,
    incarnationId: r.incarnationId,
    endpoints: r.endpoints.map((e) => ({ name: e.name, host: e.host, port: e.port, securityProtocol: e.securityProtocol })),
    rack: r.rack,
    fenced: r.fenced,
    inControlledShutdown: r.inControlledShutdown,
  });
}

export function decodeBrokerRecord(value: Buffer | string, keyBrokerId?: number): BrokerRecord {
  const what = `broker record${keyBrokerId === undefined ? '' : ` ${keyBrokerId}`}`;
  const obj = parseObject(value, what);
  const brokerId = int(obj, 'brokerId', what, 0);
  if (keyBrokerId !== undefined && brokerId !== keyBrokerId) throw new MetadataRecordError(`${what}: brokerId ${brokerId} does not match its key`);
  const endpointsRaw = obj.endpoints;
  if (!Array.isArray(endpointsRaw)) throw new MetadataRecordError(`${what}: endpoints must be an array`);
  const endpoints = endpointsRaw.map((e, i): BrokerEndpoint => {
    const ew = `${what} endpoint ${i}`;
    if (e === null || typeof e !== 'object') throw new MetadataRecordError(`${ew}: not an object`);
    const eo = e as Json;
    return { name: str(eo, 'name', ew, /^.+$/), host: str(eo, 'host', ew, /^.+$/), port: int(eo, 'port', ew, 0, 65535), securityProtocol: str(eo, 'securityProtocol', ew, /^.+$/) };
  });
  const rack = obj.rack;
  if (rack !== null && typeof rack !== 'string') throw new MetadataRecordError(`${what}: rack must be a string or null`);
  return {
    version: RECORD_VERSION,
    brokerId,
    incarnationId: str(obj, 'incarnationId', what, /^.+$/),
    endpoints,
    rack,
    fenced: bool(obj, 'fenced', what),
    inControlledShutdown: bool(obj, 'inControlledShutdown', what),
  };
}

export function encodeControllerRecord(r: Omit<ControllerRecord, 'version'>): Buffer {
  return encode({ version: RECORD_VERSION, brokerId: r.brokerId });
}

export function decodeControllerRecord(value: Buffer | string): ControllerRecord {
  const what = 'controller record';
  const obj = parseObject(value, what);
  return { version: RECORD_VERSION, brokerId: int(obj, 'brokerId', what, 0) };
}

export function encodeTopicRecord(r: Omit<TopicRecord, 'version'>): Buffer {
  return encode({ version: RECORD_VERSION, name: r.name, topicId: r.topicId, configs: r.configs });
}

export function decodeTopicRecord(value: Buffer | string, keyName?: string): TopicRecord {
  const what = `topic record${keyName === undefined ? '' : ` ${keyName}`}`;
  const obj = parseObject(value, what);
  const name = str(obj, 'name', what, TOPIC_NAME);
  if (keyName !== undefined && name !== keyName) throw new MetadataRecordError(`${what}: name ${name} does not match its key`);
  const topicId = str(obj, 'topicId', what, TOPIC_ID);
  if (/^0+$/.test(topicId)) throw new MetadataRecordError(`${what}: topicId is the zero UUID`);
  const configsRaw = obj.configs;
  if (configsRaw === null || typeof configsRaw !== 'object' || Array.isArray(configsRaw)) throw new MetadataRecordError(`${what}: configs must be an object`);
  const configs: Record<string, string> = {};
  for (const [k, v] of Object.entries(configsRaw as Json)) {
    if (typeof v !== 'string') throw new MetadataRecordError(`${what}: config ${k} must be a string`);
    configs[k] = v;
  }
  return { version: RECORD_VERSION, name, topicId, configs };
}

export function encodePartitionRecord(r: Omit<PartitionRecord, 'version'>): Buffer {
  return encode({
    version: RECORD_VERSION,
    topicId: r.topicId,
    partition: r.partition,
    replicas: r.replicas,
    isr: r.isr,
    leader: r.leader,
    leaderEpoch: r.leaderEpoch,
    partitionEpoch: r.partitionEpoch,
    leaderRecoveryState: r.leaderRecoveryState,
  });
}

export function decodePartitionRecord(value: Buffer | string, keyTopicId?: string, keyPartition?: number): PartitionRecord {
  const what = `partition record${keyTopicId === undefined ? '' : ` ${keyTopicId}-${keyPartition}`}`;
  const obj = parseObject(value, what);
  const topicId = str(obj, 'topicId', what, TOPIC_ID);
  const partition = int(obj, 'partition', what, 0);
  if (keyTopicId !== undefined && (topicId !== keyTopicId || partition !== keyPartition)) {
    throw new MetadataRecordError(`${what}: topicId/partition ${topicId}-${partition} do not match its key`);
  }
  const replicas = brokerIdList(obj, 'replicas', what);
  const isr = brokerIdList(obj, 'isr', what);
  if (replicas.length === 0) throw new MetadataRecordError(`${what}: replicas is empty`);
  if (isr.length === 0) throw new MetadataRecordError(`${what}: isr is empty`);
  for (const id of isr) if (!replicas.includes(id)) throw new MetadataRecordError(`${what}: isr member ${id} is not a replica`);
  const leader = int(obj, 'leader', what, -1);
  if (leader !== NO_LEADER && !isr.includes(leader)) throw new MetadataRecordError(`${what}: leader ${leader} is not in the isr`);
  const leaderRecoveryState = int(obj, 'leaderRecoveryState', what, 0, 1);
  return {
    version: RECORD_VERSION,
    topicId,
    partition,
    replicas,
    isr,
    leader,
    leaderEpoch: int(obj, 'leaderEpoch', what, 0),
    partitionEpoch: int(obj, 'partitionEpoch', what, 0),
    leaderRecoveryState,
  };
}

const INT64_MAX = (1n << 63n) - 1n;

export function encodeProducerIdsRecord(r: { brokerId: number; brokerEpoch: number; nextProducerId: bigint }): Buffer {
  return encode({ version: RECORD_VERSION, brokerId: r.brokerId, brokerEpoch: r.brokerEpoch, nextProducerId: r.nextProducerId.toString() });
}

export function decodeProducerIdsRecord(value: Buffer | string): ProducerIdsRecord & { nextProducerIdValue: bigint } {
  const what = 'producer-ids record';
  const obj = parseObject(value, what);
  const nextProducerId = str(obj, 'nextProducerId', what, /^\d{1,19}$/);
  const nextProducerIdValue = BigInt(nextProducerId);
  if (nextProducerIdValue > INT64_MAX) throw new MetadataRecordError(`${what}: nextProducerId ${nextProducerId} exceeds int64`);
  return {
    version: RECORD_VERSION,
    brokerId: int(obj, 'brokerId', what, 0),
    brokerEpoch: int(obj, 'brokerEpoch', what, -1, Number.MAX_SAFE_INTEGER),
    nextProducerId,
    nextProducerIdValue,
  };
}
