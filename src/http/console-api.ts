// The web console's JSON API (routes of the admin listener, index.ts): read-only views of the broker's own state,
// taken from its services when asked (TopicRegistry, LogManager, GroupCoordinator, ConfigAdmin, BrokerMetrics),
// never from the Kafka request path. Offsets and timestamps are JSON numbers (exact below 2^53).
//
//   GET /v1/cluster        {clusterId, nodeId, version, listener, topics, partitions, groups, connections}
//   GET /v1/topics         {topics: [{name, topicId, internal, partitions, sizeBytes, records}]}
//                          records: high watermark minus log start offset, summed (an upper bound: compaction and
//                          transaction markers leave offsets without records)
//   GET /v1/topics/{name}  {name, topicId, internal, partitions: [{partition, leader, logStartOffset,
//                          highWatermark, logEndOffset, lastStableOffset, sizeBytes, segments, offline}], configs}
//   GET /v1/topics/{name}/partitions/{p}/records?offset=N | timestamp=MS [&limit=L]
//                          {topic, partition, logStartOffset, highWatermark, startOffset, nextOffset, records: [
//                          {offset, timestamp, timestampType, key, value, headers: [{key, value}]}]}
//   GET /v1/groups         {groups: [{groupId, state, protocolType, members, lag}]}
//   GET /v1/groups/{id}    {groupId, state, protocolType, protocol, generationId, leaderId, members: [{memberId,
//                          groupInstanceId, clientId, clientHost, assignment}], partitions: [{topic, partition,
//                          committedOffset, logEndOffset, lag, memberId, clientId, clientHost, metadata}]}
//   GET /v1/broker/configs {configs}
//   GET /v1/stats          {timeMs, total, topics: [{topic, messagesIn, bytesIn, bytesOut}]}: the counters
//                          /metrics exports (BrokerMetrics), cumulative; the page turns two samples into rates
//
// configs are DescribeConfigs' answer (ConfigAdmin.describe): [{name, value, source, readOnly, sensitive, type,
// documentation}] with Kafka's ConfigSource names (DEFAULT_CONFIG, DYNAMIC_TOPIC_CONFIG …).
//
// Record pages, as a consumer reads them (read_uncommitted, control batches left out): `offset` is clamped into
// [logStartOffset, highWatermark] (the page says where it started: startOffset); `timestamp` starts at the first
// record whose timestamp is at or after it (ListOffsets' rule, PartitionLog.offsetForTimestamp), or at the high
// watermark when none is. Without either, the page starts at the log start offset. A page holds at most `limit`
// records (default 50, at most MAX_PAGE_RECORDS) and reads at most MAX_PAGE_READ_BYTES of log (the first batch is
// read whole even when larger, as Fetch does, KIP-74); nextOffset is where the following page starts. Keys,
// values and header values are {data: base64, size}, `data` cut to MAX_SHOWN_BYTES (size is the full length).
//
// Lag, as /metrics and kafka-consumer-groups.sh show it: the partition's high watermark (LOG-END-OFFSET) minus the
// committed offset. A group's partitions are its committed ones plus those assigned to a member without a commit
// (committedOffset and lag null); assignments are decoded from the "consumer" protocol only (Kafka's
// ConsumerProtocolAssignment), and shown while the group is Stable (Kafka's GroupMetadata.summary).
//
// Errors: a bad parameter is 400 INVALID_PARAMETER, an unknown topic, partition or group 404
// (UNKNOWN_TOPIC_OR_PARTITION, GROUP_ID_NOT_FOUND), and 503 CONSOLE_UNAVAILABLE while the broker is not open.
import { KafkaError } from '../errors.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { decodeRecordBatches, type ConsumedRecord } from '../client/records.js';
import { decodeConsumerAssignment, type TopicPartitions } from '../client/consumer-protocol.js';
import { ConfigAdmin } from '../metadata/config-admin.js';
import { ConfigResourceType, ConfigSource } from '../metadata/config-catalog.js';
import type { DescribedConfig } from '../metadata/dynamic-broker-config.js';
import { isInternalTopic } from '../metadata/topic-registry.js';
import type { BrokerServices } from '../handlers/types.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { Group } from '../group/group.js';
import { EDDY_VERSION } from '../version.js';
import type { BrokerMetrics } from './metrics.js';
import { HttpError, type AdminRequest, type Route } from './index.js';

/** What the console reads: the broker's services (BrokerServices has them all). */
export type ConsoleSource = Pick<BrokerServices, 'config' | 'clusterId' | 'nodeId' | 'topics' | 'logs' | 'groups' | 'advertisedEndpoint'>;

export const MAX_PAGE_RECORDS = 500;
export const DEFAULT_PAGE_RECORDS = 50;
/** Log bytes one record page reads at most (beyond a first batch that is larger on its own). */
export const MAX_PAGE_READ_BYTES = 1024 * 1024;
/** Bytes of a key, value or header value a page carries; the rest is cut (its `size` is the whole length). */
export const MAX_SHOWN_BYTES = 16 * 1024;

const SOURCE_NAMES = new Map<number, string>(Object.entries(ConfigSource).map(([name, id]) => [id, name]));

interface Bytes {
  data: string;
  size: number;
}

function bytesOf(buf: Buffer | null): Bytes | null {
  if (buf === null) return null;
  return { data: buf.subarray(0, MAX_SHOWN_BYTES).toString('base64'), size: buf.length };
}

function badParameter(message: string): HttpError {
  return new HttpError(400, 'INVALID_PARAMETER', message);
}

/** A decimal integer in [0, 2^53) from `raw`, or HttpError 400 naming the parameter. */
function parseCount(name: string, raw: string): number {
  if (!/^\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw badParameter(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function configsOf(configs: readonly DescribedConfig[]) {
  return configs.map((c) => ({
    name: c.name,
    value: c.value,
    source: SOURCE_NAMES.get(c.source) ?? 'UNKNOWN',
    readOnly: c.readOnly,
    sensitive: c.isSensitive,
    type: c.type,
    documentation: c.documentation,
  }));
}

function describeConfigs(source: ConsoleSource, type: number, name: string) {
  const outcome = ConfigAdmin.forRegistry(source.topics).describe({ type, name }, null);
  if (outcome.errorCode !== ErrorCode.NONE) throw new HttpError(outcome.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? 404 : 400, errorName(outcome.errorCode), outcome.errorMessage ?? errorName(outcome.errorCode));
  return configsOf(outcome.configs);
}

function openLog(source: ConsoleSource, topic: string, partition: number): PartitionLog | undefined {
  const log = source.logs.getLog(topic, partition);
  return log === undefined || log.isClosed ? undefined : log;
}

function topicOr404(source: ConsoleSource, name: string) {
  const topic = source.topics.get(name);
  if (topic === undefined) throw new HttpError(404, 'UNKNOWN_TOPIC_OR_PARTITION', `no topic ${JSON.stringify(name)}`);
  return topic;
}

function groupOr404(source: ConsoleSource, groupId: string): Group {
  const group = source.groups.group(groupId);
  if (group === undefined || group.is('Dead')) throw new HttpError(404, 'GROUP_ID_NOT_FOUND', `no group ${JSON.stringify(groupId)}`);
  return group;
}

/** High watermark minus committed offset, summed over the group's committed partitions that still have a log. */
function totalLag(source: ConsoleSource, group: Group): number {
  let lag = 0;
  for (const o of group.offsets.values()) {
    const log = openLog(source, o.topic, o.partition);
    if (log !== undefined) lag += Number(log.highWatermark - o.offset);
  }
  return lag;
}

function describeTopics(source: ConsoleSource) {
  const topics = source.topics
    .list()
    .map((t) => {
      let sizeBytes = 0;
      let records = 0;
      for (let p = 0; p < t.partitions; p++) {
        const log = openLog(source, t.name, p);
        if (log === undefined) continue;
        sizeBytes += log.size;
        records += Number(log.highWatermark - log.logStartOffset);
      }
      return { name: t.name, topicId: t.topicId.toString('hex'), internal: isInternalTopic(t.name), partitions: t.partitions, sizeBytes, records };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { topics };
}

function describeTopic(source: ConsoleSource, name: string) {
  const topic = topicOr404(source, name);
  const partitions = [];
  for (let p = 0; p < topic.partitions; p++) {
    const log = openLog(source, topic.name, p);
    partitions.push({
      partition: p,
      leader: source.nodeId,
      logStartOffset: log === undefined ? null : Number(log.logStartOffset),
      highWatermark: log === undefined ? null : Number(log.highWatermark),
      logEndOffset: log === undefined ? null : Number(log.logEndOffset),
      lastStableOffset: log === undefined ? null : Number(log.lastStableOffset),
      sizeBytes: log === undefined ? null : log.size,
      segments: log === undefined ? null : log.segmentCount,
      offline: log === undefined || log.isOffline,
    });
  }
  return {
    name: topic.name,
    topicId: topic.topicId.toString('hex'),
    internal: isInternalTopic(topic.name),
    partitions,
    configs: describeConfigs(source, ConfigResourceType.TOPIC, topic.name),
  };
}

function recordView(r: ConsumedRecord) {
  return {
    offset: Number(r.offset),
    timestamp: Number(r.timestamp),
    timestampType: r.logAppendTime ? 'LogAppendTime' : 'CreateTime',
    key: bytesOf(r.key),
    value: bytesOf(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: bytesOf(h.value) })),
  };
}

async function readPage(source: ConsoleSource, request: AdminRequest) {
  const { name, partition: rawPartition } = request.params as { name: string; partition: string };
  const topic = topicOr404(source, name);
  const partition = parseCount('partition', rawPartition);
  const log = partition < topic.partitions ? openLog(source, topic.name, partition) : undefined;
  if (log === undefined) throw new HttpError(404, 'UNKNOWN_TOPIC_OR_PARTITION', `no partition ${topic.name}-${rawPartition}`);
  const query = request.query;
  for (const key of query.keys()) {
    if (key !== 'offset' && key !== 'timestamp' && key !== 'limit') throw badParameter(`unknown parameter ${JSON.stringify(key)} (offset, timestamp, limit)`);
  }
  const rawOffset = query.get('offset');
  const rawTimestamp = query.get('timestamp');
  const rawLimit = query.get('limit');
  if (rawOffset !== null && rawTimestamp !== null) throw badParameter('give offset or timestamp, not both');
  const limit = rawLimit === null ? DEFAULT_PAGE_RECORDS : parseCount('limit', rawLimit);
  if (limit < 1 || limit > MAX_PAGE_RECORDS) throw badParameter(`limit must be between 1 and ${MAX_PAGE_RECORDS}, got ${limit}`);

  const highWatermark = log.highWatermark;
  const logStartOffset = log.logStartOffset;
  let start: bigint;
  if (rawTimestamp !== null) {
    const found = await log.offsetForTimestamp(BigInt(parseCount('timestamp', rawTimestamp)));
    start = found === null ? highWatermark : found.offset;
  } else {
    start = rawOffset === null ? logStartOffset : BigInt(parseCount('offset', rawOffset));
  }
  if (start < logStartOffset) start = logStartOffset;
  if (start > highWatermark) start = highWatermark;

  const records: ReturnType<typeof recordView>[] = [];
  let next = start;
  let bytesRead = 0;
  // Each step starts past what the previous one returned, so the loop ends by the high watermark, the byte budget,
  // the record limit or an empty read.
  while (records.length < limit && next < highWatermark && bytesRead < MAX_PAGE_READ_BYTES) {
    let buf: Buffer | null;
    try {
      buf = await log.read(next, MAX_PAGE_READ_BYTES - bytesRead, bytesRead === 0);
    } catch (err) {
      // Retention moved the log start offset past `next` since it was read: the caller asks again.
      if (err instanceof KafkaError) throw new HttpError(409, errorName(err.errorCode), err.message);
      throw err;
    }
    if (buf === null || buf.length === 0) break;
    bytesRead += buf.length;
    const decoded = decodeRecordBatches(buf);
    let last: bigint | undefined;
    for (const r of decoded.records) {
      if (r.offset < next || r.offset >= highWatermark) continue;
      records.push(recordView(r));
      last = r.offset;
      if (records.length === limit) break;
    }
    if (records.length === limit && last !== undefined) {
      next = last + 1n;
      break;
    }
    if (decoded.nextOffset === undefined || decoded.nextOffset <= next) break;
    next = decoded.nextOffset < highWatermark ? decoded.nextOffset : highWatermark;
  }
  return {
    topic: topic.name,
    partition,
    logStartOffset: Number(logStartOffset),
    highWatermark: Number(highWatermark),
    startOffset: Number(start),
    nextOffset: Number(next),
    records,
  };
}

function describeGroups(source: ConsoleSource) {
  const groups = source.groups
    .listGroups([], [])
    .groups.flatMap((g) => {
      const group = source.groups.group(g.groupId);
      if (group === undefined) return [];
      return [{ groupId: g.groupId, state: g.state, protocolType: g.protocolType, members: group.size, lag: totalLag(source, group) }];
    })
    .sort((a, b) => a.groupId.localeCompare(b.groupId));
  return { groups };
}

function describeGroup(source: ConsoleSource, groupId: string) {
  const group = groupOr404(source, groupId);
  const summary = group.summary();
  const consumer = summary.protocolType === 'consumer';
  const members = summary.members.map((m) => {
    const assignment: TopicPartitions[] | null = consumer ? (decodeConsumerAssignment(m.assignment) ?? null) : null;
    return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId, clientHost: m.clientHost, assignment };
  });
  interface Row {
    topic: string;
    partition: number;
    committedOffset: number | null;
    logEndOffset: number | null;
    lag: number | null;
    memberId: string | null;
    clientId: string | null;
    clientHost: string | null;
    metadata: string | null;
  }
  const rows = new Map<string, Row>();
  const rowOf = (topic: string, partition: number): Row => {
    const key = `${topic}\u0000${partition}`;
    let row = rows.get(key);
    if (row === undefined) {
      const log = openLog(source, topic, partition);
      row = { topic, partition, committedOffset: null, logEndOffset: log === undefined ? null : Number(log.highWatermark), lag: null, memberId: null, clientId: null, clientHost: null, metadata: null };
      rows.set(key, row);
    }
    return row;
  };
  for (const o of group.offsets.values()) {
    const row = rowOf(o.topic, o.partition);
    row.committedOffset = Number(o.offset);
    row.metadata = o.metadata;
    if (row.logEndOffset !== null) row.lag = row.logEndOffset - row.committedOffset;
  }
  for (const m of members) {
    for (const tp of m.assignment ?? []) {
      for (const p of tp.partitions) {
        const row = rowOf(tp.topic, p);
        row.memberId = m.memberId;
        row.clientId = m.clientId;
        row.clientHost = m.clientHost;
      }
    }
  }
  const partitions = [...rows.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return {
    groupId,
    state: summary.state,
    protocolType: summary.protocolType,
    protocol: group.protocolName,
    generationId: group.generationId,
    leaderId: group.leaderId,
    members,
    partitions,
  };
}

/** The cumulative per-topic counters of /metrics (kafka_server_brokertopicmetrics_*), read from its registry. */
async function readStats(metrics: BrokerMetrics | undefined) {
  const byTopic = new Map<string, { topic: string; messagesIn: number; bytesIn: number; bytesOut: number }>();
  const fields = [
    ['messagesIn', 'kafka_server_brokertopicmetrics_messagesin_total'],
    ['bytesIn', 'kafka_server_brokertopicmetrics_bytesin_total'],
    ['bytesOut', 'kafka_server_brokertopicmetrics_bytesout_total'],
  ] as const;
  for (const [field, name] of fields) {
    const metric = metrics?.registry.getSingleMetric(name);
    if (metric === undefined) continue;
    for (const v of (await metric.get()).values) {
      const topic = String(v.labels['topic']);
      let row = byTopic.get(topic);
      if (row === undefined) {
        row = { topic, messagesIn: 0, bytesIn: 0, bytesOut: 0 };
        byTopic.set(topic, row);
      }
      row[field] = v.value;
    }
  }
  const topics = [...byTopic.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  const total = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
  for (const t of topics) {
    total.messagesIn += t.messagesIn;
    total.bytesIn += t.bytesIn;
    total.bytesOut += t.bytesOut;
  }
  return { timeMs: Date.now(), total, topics };
}

async function connections(metrics: BrokerMetrics | undefined): Promise<number | null> {
  const metric = metrics?.registry.getSingleMetric('kafka_server_socket_server_metrics_connection_count');
  if (metric === undefined) return null;
  return (await metric.get()).values[0]?.value ?? 0;
}

export function consoleRoutes(source: () => ConsoleSource | undefined, metrics: BrokerMetrics | undefined): Route[] {
  const open = (): ConsoleSource => {
    const s = source();
    if (s === undefined) throw new HttpError(503, 'CONSOLE_UNAVAILABLE', 'the broker is not open (starting or stopping)');
    return s;
  };
  const ok = (body: unknown) => ({ status: 200, body });
  return [
    {
      method: 'GET',
      path: '/v1/cluster',
      handle: async () => {
        const s = open();
        const endpoint = s.advertisedEndpoint();
        return ok({
          clusterId: s.clusterId,
          nodeId: s.nodeId,
          version: EDDY_VERSION,
          listener: `${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`,
          topics: s.topics.list().length,
          partitions: s.topics.totalPartitions,
          groups: s.groups.listGroups([], []).groups.length,
          connections: await connections(metrics),
        });
      },
    },
    { method: 'GET', path: '/v1/topics', handle: () => ok(describeTopics(open())) },
    { method: 'GET', path: '/v1/topics/:name', handle: ({ params }) => ok(describeTopic(open(), params['name']!)) },
    { method: 'GET', path: '/v1/topics/:name/partitions/:partition/records', handle: async (request) => ok(await readPage(open(), request)) },
    { method: 'GET', path: '/v1/groups', handle: () => ok(describeGroups(open())) },
    { method: 'GET', path: '/v1/groups/:id', handle: ({ params }) => ok(describeGroup(open(), params['id']!)) },
    {
      method: 'GET',
      path: '/v1/broker/configs',
      handle: () => {
        const s = open();
        return ok({ nodeId: s.nodeId, configs: describeConfigs(s, ConfigResourceType.BROKER, String(s.nodeId)) });
      },
    },
    {
      method: 'GET',
      path: '/v1/stats',
      handle: async () => {
        open();
        return ok(await readStats(metrics));
      },
    },
  ];
}
