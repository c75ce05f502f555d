// /metrics: the broker's Prometheus metrics (text format 0.0.4) through prom-client, one Registry per broker (never
// prom-client's global default registry: several brokers run in one process, and no process metrics are added).
//
// Names are Kafka's JMX names as jmx_exporter's Kafka example rules turn them into Prometheus names
// (`kafka.<domain><type=T, name=N[PerSec], k=v>` → `kafka_<domain>_<t>_<n>[_total]{k="v"}`, lower case), except
// where the Prometheus form is a native histogram (Kafka's yammer timers become `_seconds` histograms) or Kafka has
// no broker metric (consumer lag: the names kafka_exporter users know).
//
//   metric                                                   type       labels            Kafka source
//   kafka_network_request_total                              counter    api               RequestMetrics RequestsPerSec
//   kafka_network_request_duration_seconds                   histogram  api               RequestMetrics TotalTimeMs
//   kafka_server_brokertopicmetrics_messagesin_total         counter    topic             BrokerTopicMetrics MessagesInPerSec
//   kafka_server_brokertopicmetrics_bytesin_total            counter    topic             BrokerTopicMetrics BytesInPerSec
//   kafka_server_brokertopicmetrics_bytesout_total           counter    topic             BrokerTopicMetrics BytesOutPerSec
//   kafka_server_socket_server_metrics_connection_count      gauge      listener          socket-server-metrics connection-count
//   kafka_log_log_size                                       gauge      topic, partition  Log Size
//   kafka_log_log_logendoffset                               gauge      topic, partition  Log LogEndOffset
//   kafka_log_log_logstartoffset                             gauge      topic, partition  Log LogStartOffset
//   kafka_coordinator_group_groupmetadatamanager_numgroups   gauge      -                 GroupMetadataManager NumGroups
//   kafka_coordinator_group_groupmetadatamanager_numgroups{stable,preparingrebalance,completingrebalance,empty,dead}
//                                                            gauge      -                 … NumGroupsStable etc. (one each)
//   kafka_consumergroup_current_offset                       gauge      consumergroup, topic, partition   (kafka_exporter)
//   kafka_consumergroup_lag                                  gauge      consumergroup, topic, partition   (kafka_exporter)
//   kafka_log_logflushstats_logflush_duration_seconds        histogram  -                 LogFlushStats LogFlushRateAndTimeMs
//   kafka_server_fetchsessioncache_numincrementalfetchsessions          gauge    FetchSessionCache NumIncrementalFetchSessions
//   kafka_server_fetchsessioncache_numincrementalfetchpartitionscached  gauge    … NumIncrementalFetchPartitionsCached
//   kafka_server_fetchsessioncache_incrementalfetchsessionevictions_total  counter  … IncrementalFetchSessionEvictionsPerSec
//   kafka_server_fetchsessioncache_incrementalfetches_total             counter  (Eddy: Fetch requests answered from a session)
//   kafka_server_replicamanager_leadercount                  gauge      -                 ReplicaManager LeaderCount (all, alone)
//   kafka_server_replicamanager_underreplicatedpartitions    gauge      -                 ReplicaManager UnderReplicatedPartitions
//   kafka_server_replicamanager_underminisrpartitioncount    gauge      -                 ReplicaManager UnderMinIsrPartitionCount
//   kafka_controller_kafkacontroller_offlinepartitionscount  gauge      -                 KafkaController OfflinePartitionsCount
//   eddy_fault_rules                                         gauge      state             (Eddy: fault injection, faults/)
//   eddy_fault_injections_total                              counter    rule, api, action (Eddy: requests a rule acted on)
//
// Meanings, as in Kafka:
// - request_total / duration: every request that reached its handler (decoded, supported version), counted and
//   timed once in server/dispatch.ts from the frame's arrival at dispatch to its encoded response (Kafka's
//   TotalTimeMs also has queue and send time; a Fetch long poll counts its wait, as in Kafka). `api` is Kafka's
//   request name (Produce, Fetch, Metadata …: the `request` tag of RequestMetrics). The duration histogram is our
//   own small collector in prom-client's registry (bucket counts in a Float64Array per API), because
//   prom-client's Histogram builds a label object and hash string on every observe (measured: 330 ns a request
//   with prom-client's labelled child, 95 ns here, both including the two performance.now() calls).
// - messagesin / bytesin: records and batch bytes of each successful append (ReplicaManager.appendRecordsToLeader
//   marks them after the append); bytesout: record bytes of each Fetch response, per topic (KafkaApis
//   updateBytesOut). Counted on the hot path as plain numbers in a Map, handed to prom-client at scrape time, so a
//   request allocates nothing for them; a deleted topic's counters disappear at the next scrape (Kafka removes
//   its BrokerTopicStats).
// - log size / end offset / start offset per partition, group counts by state, committed offset and lag per group
//   and partition: read from the LogManager and the GroupCoordinator when scraped, never on the request path. Lag
//   is the partition's high watermark (the end offset a consumer can reach, what kafka-consumer-groups.sh shows
//   as LOG-END-OFFSET) minus the committed offset; partitions whose log is gone are left out.
// - logflush_duration_seconds: each fsync of a log file (segment, index), through timeFsyncs() around the
//   LogManager's LogFs; Kafka times LogSegment.flush, which is these fsyncs.
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { LogFile, LogFs } from '../log/fs.js';
import type { LogManager } from '../log/log-manager.js';
import type { GroupCoordinator } from '../group/coordinator.js';
import { GROUP_STATES } from '../group/group.js';

/** What the scrape-time gauges read; given by the broker once its logs and coordinator are open. */
export interface MetricsSource {
  logs: LogManager;
  groups: GroupCoordinator;
  connectionCount(): number;
  /** KIP-227 fetch sessions (fetch/fetch-session-cache.ts), read at scrape time. */
  fetchSessions?: { stats(): { sessions: number; partitionsCached: number; evictions: number; incrementalFetches: number } };
  /** Fault-injection rules (faults/), read at scrape time. */
  faults?: { list(): Array<{ id: number; api: string; action: string; state: string; fired: number }> };
  /** Cluster mode only: this broker's replicas (cluster/replica-manager.ts), read at scrape time. */
  replicas?: { readonly leaderCount: number; readonly underReplicatedCount: number; readonly underMinIsrCount: number };
  /** Cluster mode only: partitions without a leader in the cluster metadata (counted by the controller in Kafka). */
  offlinePartitionCount?: () => number;
}

/** Request latency buckets in seconds: 0.5 ms … 30 s (a Fetch long poll waits up to its max_wait_ms). */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** fsync latency buckets in seconds: 0.1 ms … 10 s. */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

interface TopicCounts {
  messagesIn: number;
  bytesIn: number;
  bytesOut: number;
}

/** The parts of a Fetch's partition reads bytesOut() needs (handlers/fetch.ts' slots). */
export interface FetchedPartition {
  readonly log: { readonly topic: string } | null;
  readonly result: { readonly records?: Buffer | null } | undefined;
}

/** A broker's metrics; `registry` holds them all. */
export class BrokerMetrics {
  readonly registry = new Registry();
  private source: MetricsSource | undefined;
  private readonly requestDuration = new ApiLatencyHistogram(
    'kafka_network_request_duration_seconds',
    'Time from a request frame reaching dispatch to its encoded response, by API (Kafka RequestMetrics TotalTimeMs)',
    REQUEST_BUCKETS,
  );
  private readonly topicCounts = new Map<string, TopicCounts>();
  readonly fsyncDuration: Histogram;

  constructor() {
    const registers = [this.registry];
    const self = this;
    new Counter({
      name: 'kafka_network_request_total',
      help: 'Requests handled, by API (Kafka RequestMetrics RequestsPerSec)',
      labelNames: ['api'],
      registers,
      collect() {
        this.reset();
        self.requestDuration.forEachApi((api, count) => this.inc({ api }, count));
      },
    });
    this.registry.registerMetric(this.requestDuration as unknown as Metric);
    const topicCounter = (name: string, help: string, field: keyof TopicCounts) =>
      new Counter({
        name,
        help,
        labelNames: ['topic'],
        registers,
        collect() {
          this.reset();
          self.dropDeletedTopics();
          for (const [topic, counts] of self.topicCounts) this.inc({ topic }, counts[field]);
        },
      });
    topicCounter('kafka_server_brokertopicmetrics_messagesin_total', 'Records appended by Produce, by topic (Kafka MessagesInPerSec)', 'messagesIn');
    topicCounter('kafka_server_brokertopicmetrics_bytesin_total', 'Record batch bytes appended by Produce, by topic (Kafka BytesInPerSec)', 'bytesIn');
    topicCounter('kafka_server_brokertopicmetrics_bytesout_total', 'Record bytes sent in Fetch responses, by topic (Kafka BytesOutPerSec)', 'bytesOut');
    new Gauge({
      name: 'kafka_server_socket_server_metrics_connection_count',
      help: 'Client connections open (Kafka socket-server-metrics connection-count)',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        if (self.source !== undefined) this.set({ listener: 'PLAINTEXT' }, self.source.connectionCount());
      },
    });
    // Kafka's ReplicaManager and controller gauges, from the replica manager in cluster mode (cluster/).
    const clusterGauge = (name: string, help: string, read: (source: MetricsSource) => number | undefined) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const value = self.source === undefined ? undefined : read(self.source);
          if (value !== undefined) this.set(value);
        },
      });
    // A single broker leads every partition it has, and none is under-replicated or without a leader.
    clusterGauge('kafka_server_replicamanager_leadercount', 'Partitions this broker leads (Kafka ReplicaManager LeaderCount)', (s) => s.replicas?.leaderCount ?? s.logs.partitionCount);
    clusterGauge(
      'kafka_server_replicamanager_underreplicatedpartitions',
      'Partitions led here whose ISR is smaller than their replica set (Kafka ReplicaManager UnderReplicatedPartitions)',
      (s) => s.replicas?.underReplicatedCount ?? 0,
    );
    clusterGauge(
      'kafka_server_replicamanager_underminisrpartitioncount',
      'Partitions led here whose ISR is below min.insync.replicas (Kafka ReplicaManager UnderMinIsrPartitionCount)',
      (s) => s.replicas?.underMinIsrCount ?? 0,
    );
    clusterGauge(
      'kafka_controller_kafkacontroller_offlinepartitionscount',
      'Partitions of the cluster without a leader (Kafka KafkaController OfflinePartitionsCount)',
      (s) => s.offlinePartitionCount?.() ?? 0,
    );
    const partitionGauge = (name: string, help: string, read: (log: ReturnType<LogManager['listLogs']>[number]) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const log of self.source?.logs.listLogs() ?? []) {
            if (!log.isClosed) this.set({ topic: log.topic, partition: String(log.partition) }, read(log));
          }
        },
      });
    partitionGauge('kafka_log_log_size', 'Bytes in the partition\'s segments (Kafka Log Size)', (log) => log.size);
    partitionGauge('kafka_log_log_logendoffset', 'The partition\'s log end offset (Kafka Log LogEndOffset)', (log) => Number(log.logEndOffset));
    partitionGauge('kafka_log_log_logstartoffset', 'The partition\'s log start offset (Kafka Log LogStartOffset)', (log) => Number(log.logStartOffset));
    new Gauge({
      name: 'kafka_coordinator_group_groupmetadatamanager_numgroups',
      help: 'Consumer groups this broker coordinates (Kafka GroupMetadataManager NumGroups)',
      registers,
      collect() {
        this.set(self.groupsByState().size);
      },
    });
    for (const state of GROUP_STATES) {
      new Gauge({
        name: `kafka_coordinator_group_groupmetadatamanager_numgroups${state.toLowerCase()}`,
        help: `Consumer groups in state ${state} (Kafka GroupMetadataManager NumGroups${state})`,
        registers,
        collect() {
          let n = 0;
          for (const s of self.groupsByState().values()) if (s === state) n++;
          this.set(n);
        },
      });
    }
    const offsetGauge = (name: string, help: string, value: (committed: bigint, highWatermark: bigint) => bigint) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumergroup', 'topic', 'partition'],
        registers,
        collect() {
          this.reset();
          const source = self.source;
          if (source === undefined) return;
          for (const groupId of self.groupsByState().keys()) {
            const group = source.groups.group(groupId);
            if (group === undefined) continue;
            for (const o of group.offsets.values()) {
              const log = source.logs.getLog(o.topic, o.partition);
              if (log === undefined || log.isClosed) continue;
              this.set({ consumergroup: groupId, topic: o.topic, partition: String(o.partition) }, Number(value(o.offset, log.highWatermark)));
            }
          }
        },
      });
    offsetGauge('kafka_consumergroup_current_offset', 'Committed offset of a group on a partition', (committed) => committed);
    offsetGauge('kafka_consumergroup_lag', 'High watermark minus the committed offset, per group and partition', (committed, hw) => hw - committed);
    const sessionMetrics = [
      ['numincrementalfetchsessions', Gauge, 'Incremental fetch sessions in the cache (KIP-227)', 'sessions'],
      ['numincrementalfetchpartitionscached', Gauge, 'Partitions cached over all incremental fetch sessions', 'partitionsCached'],
      ['incrementalfetchsessionevictions_total', Counter, 'Fetch sessions evicted to make room for new ones', 'evictions'],
      ['incrementalfetches_total', Counter, 'Fetch requests answered from an incremental fetch session', 'incrementalFetches'],
    ] as const;
    for (const [name, Metric, help, field] of sessionMetrics) {
      const value = (): number | undefined => self.source?.fetchSessions?.stats()[field];
      const metric = { name: `kafka_server_fetchsessioncache_${name}`, help, registers };
      if (Metric === Gauge) new Gauge({ ...metric, collect() { this.set(value() ?? 0); } });
      else new Counter({ ...metric, collect() { this.reset(); this.inc(value() ?? 0); } });
    }
    // Fault injection (faults/): rules by state, and the requests each rule acted on (labelled by rule id, so a
    // dashboard shows which test's rule fired; rules are few and live until removed).
    new Gauge({
      name: 'eddy_fault_rules',
      help: 'Fault-injection rules, by state (active, exhausted, expired)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const byState = new Map<string, number>([['active', 0], ['exhausted', 0], ['expired', 0]]);
        for (const rule of self.source?.faults?.list() ?? []) byState.set(rule.state, (byState.get(rule.state) ?? 0) + 1);
        for (const [state, n] of byState) this.set({ state }, n);
      },
    });
    new Counter({
      name: 'eddy_fault_injections_total',
      help: 'Requests a fault-injection rule acted on, by rule, API and action',
      labelNames: ['rule', 'api', 'action'],
      registers,
      collect() {
        this.reset();
        for (const rule of self.source?.faults?.list() ?? []) this.inc({ rule: String(rule.id), api: rule.api, action: rule.action }, rule.fired);
      },
    });
    this.fsyncDuration = new Histogram({
      name: 'kafka_log_logflushstats_logflush_duration_seconds',
      help: 'Time of each fsync of a log file (Kafka LogFlushStats LogFlushRateAndTimeMs)',
      buckets: FSYNC_BUCKETS,
      registers,
    });
  }

  /** The broker's logs, groups and connections, read at scrape time. */
  attach(source: MetricsSource): void {
    this.source = source;
  }

  /** server/dispatch.ts, once per request that reached its handler: `startedAt` is performance.now() at arrival. */
  requestDone(apiKey: number, api: string, startedAt: number): void {
    this.requestDuration.observe(apiKey, api, (performance.now() - startedAt) / 1000);
  }

  /** handlers/produce.ts, after a successful append. */
  appended(topic: string, records: number, bytes: number): void {
    const counts = this.countsOf(topic);
    counts.messagesIn += records;
    counts.bytesIn += bytes;
  }

  /** handlers/fetch.ts, once per Fetch with its final partition reads. */
  fetched(partitions: readonly FetchedPartition[]): void {
    for (const p of partitions) {
      const bytes = p.result?.records?.length ?? 0;
      if (bytes > 0 && p.log !== null) this.countsOf(p.log.topic).bytesOut += bytes;
    }
  }

  /** The text /metrics answers. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** `fs` with every LogFile.sync timed into the fsync histogram (give it to LogManager.open). */
  timeFsyncs(fs: LogFs): LogFs {
    const histogram = this.fsyncDuration;
    const timed = (file: LogFile): LogFile => ({
      // The OS descriptor goes through: the log cleaner's worker reads segments by it (log/fs.ts).
      descriptor: file.descriptor,
      read: (buffer, offset, length, position) => file.read(buffer, offset, length, position),
      writev: (buffers, position) => file.writev(buffers, position),
      sync: async () => {
        const startedAt = performance.now();
        try {
          await file.sync();
        } finally {
          histogram.observe((performance.now() - startedAt) / 1000);
        }
      },
      truncate: (length) => file.truncate(length),
      size: () => file.size(),
      close: () => file.close(),
    });
    return Object.assign(Object.create(fs) as LogFs, {
      open: async (path: string, flags: 'r' | 'r+' | 'w+') => timed(await fs.open(path, flags)),
    });
  }

  private countsOf(topic: string): TopicCounts {
    let counts = this.topicCounts.get(topic);
    if (counts === undefined) {
      counts = { messagesIn: 0, bytesIn: 0, bytesOut: 0 };
      this.topicCounts.set(topic, counts);
    }
    return counts;
  }

  /** Topics with no open log any more (deleted) lose their counters, as Kafka removes their BrokerTopicStats. */
  private dropDeletedTopics(): void {
    const logs = this.source?.logs;
    if (logs === undefined) return;
    for (const topic of this.topicCounts.keys()) {
      if (logs.getLog(topic, 0) === undefined) this.topicCounts.delete(topic);
    }
  }

  /** Group id → state, one snapshot per scrape call site (the coordinator's ListGroups view, Dead excluded). */
  private groupsByState(): Map<string, string> {
    const out = new Map<string, string>();
    const groups = this.source?.groups;
    if (groups === undefined) return out;
    for (const g of groups.listGroups([], []).groups) out.set(g.groupId, g.state);
    return out;
  }
}

/**
 * A histogram labelled by API, in prom-client's registry (its metric interface: name, help, type, get()). Per API
 * key: bucket counts (not cumulative), count and sum, in one Float64Array; observe() allocates nothing.
 */
class ApiLatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** By api key: [bucket 0 … bucket n-1, +Inf bucket, count, sum]. */
  private readonly byApi: Array<Float64Array | undefined> = [];
  private readonly names: string[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {}

  observe(apiKey: number, api: string, seconds: number): void {
    let slots = this.byApi[apiKey];
    if (slots === undefined) {
      slots = new Float64Array(this.bounds.length + 3);
      this.byApi[apiKey] = slots;
      this.names[apiKey] = api;
    }
    const bounds = this.bounds;
    let b = 0;
    while (b < bounds.length && seconds > bounds[b]!) b++;
    slots[b]!++;
    slots[bounds.length + 1]!++;
    slots[bounds.length + 2]! += seconds;
  }

  /** Each API seen, with its request count. */
  forEachApi(visit: (api: string, count: number) => void): void {
    this.byApi.forEach((slots, apiKey) => {
      if (slots !== undefined) visit(this.names[apiKey]!, slots[this.bounds.length + 1]!);
    });
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> } {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    const n = this.bounds.length;
    this.byApi.forEach((slots, apiKey) => {
      if (slots === undefined) return;
      const api = this.names[apiKey]!;
      let cumulative = 0;
      for (let b = 0; b <= n; b++) {
        cumulative += slots[b]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { api, le: b < n ? this.bounds[b]! : '+Inf' }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { api }, value: slots[n + 2]! });
      values.push({ metricName: `${this.name}_count`, labels: { api }, value: slots[n + 1]! });
    });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.byApi.length = 0;
  }
}
