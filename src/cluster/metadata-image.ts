// The cluster's metadata as this broker sees it (Kafka's MetadataImage / MetadataDelta / MetadataLoader).
//
// - MetadataImage is an immutable snapshot: brokers, controller, topics by name and id, partitions. A new image is
//   built per batch of etcd events (one watch response, which never splits a revision), copying only the maps that
//   change.
// - MetadataLoader builds the first image from one range read of the prefix, then keeps it current with one prefix
//   watch from the next revision, applying events strictly in revision order. After each batch it publishes
//   (image, delta) to its listeners and wakes `waitForRevision` callers. If the watch's revision was compacted, it
//   reloads from a fresh range read and publishes the difference as one delta.
// - A value that does not decode (metadata-records.ts) is logged at warn and skipped: the key keeps its previous
//   state in the image (absent if it had none). It never stops the load.
// - Partitions whose topic key is absent (a topic being created in several txns, see cluster-metadata.ts) are held
//   but not listed: partition(), partitionsLedBy(), partitionsOnBroker() and the delta only show partitions of
//   known topics; when the topic appears, all its partitions are in that delta's changedPartitions.
import type { Logger } from 'pino';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { EtcdEvent, EtcdKeyValue, EtcdStore, EtcdWatch } from './etcd/etcd-store.js';
import {
  decodeBrokerRecord,
  decodeClusterIdRecord,
  decodeControllerRecord,
  decodePartitionRecord,
  decodeTopicRecord,
  parseKey,
  type BrokerEndpoint,
} from './metadata-records.js';

export interface BrokerRegistration {
  brokerId: number;
  incarnationId: string;
  /** The create_revision of the broker's key: changes on every registration. */
  brokerEpoch: number;
  endpoints: readonly BrokerEndpoint[];
  rack: string | null;
  fenced: boolean;
  inControlledShutdown: boolean;
  /** The etcd lease the key is attached to. */
  leaseId: string;
  modRevision: number;
}

export interface ControllerRegistration {
  brokerId: number;
  /** The create_revision of <p>/controller. */
  epoch: number;
  leaseId: string;
}

export interface TopicImage {
  name: string;
  /** 32 hex digits. */
  topicId: string;
  configs: Readonly<Record<string, string>>;
  /** Number of partitions present in the image. */
  partitionCount: number;
  modRevision: number;
  createRevision: number;
}

export interface PartitionImage {
  topicId: string;
  partition: number;
  replicas: readonly number[];
  isr: readonly number[];
  /** -1 = no leader. */
  leader: number;
  leaderEpoch: number;
  partitionEpoch: number;
  leaderRecoveryState: number;
  /** For CAS writes. */
  modRevision: number;
}

export interface MetadataDelta {
  /** The revision of the new image. */
  revision: number;
  /** Topics created or whose configs changed (new state). */
  changedTopics: TopicImage[];
  /** Topics deleted (their last state). */
  removedTopics: TopicImage[];
  /** Partitions created or changed (new state). */
  changedPartitions: PartitionImage[];
  /** Partitions gone with a deleted topic (their last state). */
  removedPartitions: PartitionImage[];
  /** Brokers registered, changed or gone (look them up in the new image: absent = gone). */
  changedBrokers: number[];
  controllerChanged: boolean;
  clusterIdChanged: boolean;
}

export type MetadataListener = (image: MetadataImage, delta: MetadataDelta) => void;

type PartitionMap = ReadonlyMap<number, PartitionImage>;

interface ImageState {
  revision: number;
  clusterId: string | null;
  brokers: ReadonlyMap<number, BrokerRegistration>;
  controller: ControllerRegistration | null;
  topicsByName: ReadonlyMap<string, TopicImage>;
  topicsById: ReadonlyMap<string, TopicImage>;
  partitions: ReadonlyMap<string, PartitionMap>;
}

export class MetadataImage {
  static readonly EMPTY = new MetadataImage({
    revision: 0,
    clusterId: null,
    brokers: new Map(),
    controller: null,
    topicsByName: new Map(),
    topicsById: new Map(),
    partitions: new Map(),
  });

  /** @internal */
  constructor(readonly state: ImageState) {}

  /** The etcd revision applied. */
  get revision(): number {
    return this.state.revision;
  }

  get clusterId(): string | null {
    return this.state.clusterId;
  }

  /** The controller's broker id, or -1 when none is elected. */
  get controllerId(): number {
    return this.state.controller?.brokerId ?? -1;
  }

  get controller(): ControllerRegistration | null {
    return this.state.controller;
  }

  /** Registered brokers (their lease is alive), by id ascending. */
  brokers(): BrokerRegistration[] {
    return [...this.state.brokers.values()].sort((a, b) => a.brokerId - b.brokerId);
  }

  broker(brokerId: number): BrokerRegistration | undefined {
    return this.state.brokers.get(brokerId);
  }

  /** Registered, not fenced and not in controlled shutdown: may lead and join ISRs (Kafka's isActive). */
  isActive(brokerId: number): boolean {
    const b = this.state.brokers.get(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown;
  }

  topic(name: string): TopicImage | undefined {
    return this.state.topicsByName.get(name);
  }

  topicById(topicId: string): TopicImage | undefined {
    return this.state.topicsById.get(topicId);
  }

  topics(): TopicImage[] {
    return [...this.state.topicsByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  partition(topicId: string, partition: number): PartitionImage | undefined {
    if (!this.state.topicsById.has(topicId)) return undefined;
    return this.state.partitions.get(topicId)?.get(partition);
  }

  /** The partitions of a topic, by partition index. */
  partitionsOf(topicId: string): PartitionImage[] {
    if (!this.state.topicsById.has(topicId)) return [];
    const parts = this.state.partitions.get(topicId);
    return parts === undefined ? [] : [...parts.values()].sort((a, b) => a.partition - b.partition);
  }

  /** Every partition of every known topic. */
  *allPartitions(): IterableIterator<PartitionImage> {
    for (const topicId of this.state.topicsById.keys()) {
      const parts = this.state.partitions.get(topicId);
      if (parts !== undefined) yield* parts.values();
    }
  }

  partitionsLedBy(brokerId: number): PartitionImage[] {
    const out: PartitionImage[] = [];
    for (const p of this.allPartitions()) if (p.leader === brokerId) out.push(p);
    return out;
  }

  /** Partitions with `brokerId` among their replicas. */
  partitionsOnBroker(brokerId: number): PartitionImage[] {
    const out: PartitionImage[] = [];
    for (const p of this.allPartitions()) if (p.replicas.includes(brokerId)) out.push(p);
    return out;
  }
}

/** Applies one batch of key-values / deletes to an image, producing the next image and its delta. */
class ImageBuilder {
  private brokers: Map<number, BrokerRegistration> | undefined;
  private topicsByName: Map<string, TopicImage> | undefined;
  private topicsById: Map<string, TopicImage> | undefined;
  private partitions: Map<string, PartitionMap> | undefined;
  private readonly copiedPartitionMaps = new Set<string>();
  private clusterId: string | null;
  private controller: ControllerRegistration | null;
  private readonly changedTopicIds = new Set<string>();
  private readonly removedTopics = new Map<string, TopicImage>();
  private readonly changedPartitionKeys = new Map<string, Set<number>>();
  private readonly removedPartitions: PartitionImage[] = [];
  private readonly changedBrokers = new Set<number>();
  private controllerChanged = false;
  private clusterIdChanged = false;

  constructor(
    private readonly base: MetadataImage,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.clusterId = base.state.clusterId;
    this.controller = base.state.controller;
  }

  private brokersW(): Map<number, BrokerRegistration> {
    return (this.brokers ??= new Map(this.base.state.brokers));
  }
  private topicsByNameW(): Map<string, TopicImage> {
    return (this.topicsByName ??= new Map(this.base.state.topicsByName));
  }
  private topicsByIdW(): Map<string, TopicImage> {
    return (this.topicsById ??= new Map(this.base.state.topicsById));
  }
  private partitionsW(topicId: string): Map<number, PartitionImage> {
    this.partitions ??= new Map(this.base.state.partitions);
    if (!this.copiedPartitionMaps.has(topicId)) {
      this.copiedPartitionMaps.add(topicId);
      this.partitions.set(topicId, new Map(this.partitions.get(topicId) ?? []));
    }
    return this.partitions.get(topicId) as Map<number, PartitionImage>;
  }
  private currentPartitions(topicId: string): PartitionMap | undefined {
    return (this.partitions ?? this.base.state.partitions).get(topicId);
  }

  put(kv: EtcdKeyValue): void {
    const parsed = parseKey(this.prefix, kv.key);
    if (parsed === undefined) return;
    try {
      switch (parsed.kind) {
        case 'cluster-id': {
          const r = decodeClusterIdRecord(kv.value);
          if (r.clusterId !== this.clusterId) this.clusterIdChanged = true;
          this.clusterId = r.clusterId;
          break;
        }
        case 'broker': {
          const r = decodeBrokerRecord(kv.value, parsed.brokerId);
          this.brokersW().set(r.brokerId, {
            brokerId: r.brokerId,
            incarnationId: r.incarnationId,
            brokerEpoch: kv.createRevision,
            endpoints: r.endpoints,
            rack: r.rack,
            fenced: r.fenced,
            inControlledShutdown: r.inControlledShutdown,
            leaseId: kv.lease,
            modRevision: kv.modRevision,
          });
          this.changedBrokers.add(r.brokerId);
          break;
        }
        case 'controller': {
          const r = decodeControllerRecord(kv.value);
          this.controller = { brokerId: r.brokerId, epoch: kv.createRevision, leaseId: kv.lease };
          this.controllerChanged = true;
          break;
        }
        case 'topic': {
          const r = decodeTopicRecord(kv.value, parsed.name);
          const byName = this.topicsByNameW();
          const byId = this.topicsByIdW();
          const previous = byName.get(r.name);
          if (previous !== undefined && previous.topicId !== r.topicId) {
            // Same name, new id: the old topic is gone (deleted and created again within one batch).
            byId.delete(previous.topicId);
            this.removedTopics.set(previous.topicId, previous);
          }
          const topic: TopicImage = {
            name: r.name,
            topicId: r.topicId,
            configs: r.configs,
            partitionCount: this.currentPartitions(r.topicId)?.size ?? 0,
            modRevision: kv.modRevision,
            createRevision: kv.createRevision,
          };
          byName.set(r.name, topic);
          byId.set(r.topicId, topic);
          this.changedTopicIds.add(r.topicId);
          if (previous === undefined || previous.topicId !== r.topicId) {
            // A topic that appears brings every partition already held for it.
            const held = this.currentPartitions(r.topicId);
            if (held !== undefined) for (const p of held.keys()) this.markPartition(r.topicId, p);
          }
          break;
        }
        case 'partition': {
          const r = decodePartitionRecord(kv.value, parsed.topicId, parsed.partition);
          this.partitionsW(r.topicId).set(r.partition, {
            topicId: r.topicId,
            partition: r.partition,
            replicas: r.replicas,
            isr: r.isr,
            leader: r.leader,
            leaderEpoch: r.leaderEpoch,
            partitionEpoch: r.partitionEpoch,
            leaderRecoveryState: r.leaderRecoveryState,
            modRevision: kv.modRevision,
          });
          this.markPartition(r.topicId, r.partition);
          break;
        }
        case 'producer-ids':
          break;
      }
    } catch (err) {
      this.logger.warn({ key: kv.key, modRevision: kv.modRevision, err: (err as Error).message }, 'skipping unreadable cluster metadata value');
    }
  }

  delete(key: string): void {
    const parsed = parseKey(this.prefix, key);
    if (parsed === undefined) return;
    switch (parsed.kind) {
      case 'cluster-id':
        break;
      case 'broker':
        if ((this.brokers ?? this.base.state.brokers).has(parsed.brokerId)) {
          this.brokersW().delete(parsed.brokerId);
          this.changedBrokers.add(parsed.brokerId);
        }
        break;
      case 'controller':
        if (this.controller !== null) {
          this.controller = null;
          this.controllerChanged = true;
        }
        break;
      case 'topic': {
        const previous = (this.topicsByName ?? this.base.state.topicsByName).get(parsed.name);
        if (previous === undefined) break;
        this.topicsByNameW().delete(parsed.name);
        this.topicsByIdW().delete(previous.topicId);
        this.changedTopicIds.delete(previous.topicId);
        this.removedTopics.set(previous.topicId, previous);
        break;
      }
      case 'partition': {
        const previous = this.currentPartitions(parsed.topicId)?.get(parsed.partition);
        if (previous === undefined) break;
        this.partitionsW(parsed.topicId).delete(parsed.partition);
        this.changedPartitionKeys.get(parsed.topicId)?.delete(parsed.partition);
        if (this.base.state.topicsById.has(parsed.topicId)) this.removedPartitions.push(previous);
        break;
      }
      case 'producer-ids':
        break;
    }
  }

  private markPartition(topicId: string, partition: number): void {
    let set = this.changedPartitionKeys.get(topicId);
    if (set === undefined) this.changedPartitionKeys.set(topicId, (set = new Set()));
    set.add(partition);
  }

  build(revision: number): { image: MetadataImage; delta: MetadataDelta } {
    let topicsByName = this.topicsByName ?? this.base.state.topicsByName;
    let topicsById = this.topicsById ?? this.base.state.topicsById;
    const partitions = this.partitions ?? this.base.state.partitions;
    // Drop the partition maps of deleted topics (their keys are deleted in the same txn; this covers leftovers).
    if (this.partitions !== undefined) {
      for (const topicId of this.partitions.keys()) {
        if (this.partitions.get(topicId)?.size === 0) this.partitions.delete(topicId);
      }
    }
    // Refresh partitionCount of topics whose partitions changed.
    for (const topicId of this.changedPartitionKeys.keys()) {
      const topic = topicsById.get(topicId);
      if (topic === undefined) continue;
      const count = partitions.get(topicId)?.size ?? 0;
      if (count !== topic.partitionCount) {
        const updated = { ...topic, partitionCount: count };
        if (this.topicsById === undefined) topicsById = this.topicsByIdW();
        if (this.topicsByName === undefined) topicsByName = this.topicsByNameW();
        (topicsById as Map<string, TopicImage>).set(topicId, updated);
        (topicsByName as Map<string, TopicImage>).set(topic.name, updated);
        this.changedTopicIds.add(topicId);
      }
    }
    const image = new MetadataImage({
      revision,
      clusterId: this.clusterId,
      brokers: this.brokers ?? this.base.state.brokers,
      controller: this.controller,
      topicsByName,
      topicsById,
      partitions,
    });
    const changedPartitions: PartitionImage[] = [];
    for (const [topicId, set] of this.changedPartitionKeys) {
      if (!topicsById.has(topicId)) continue;
      const parts = partitions.get(topicId);
      for (const p of set) {
        const part = parts?.get(p);
        if (part !== undefined) changedPartitions.push(part);
      }
    }
    const removedPartitions = [...this.removedPartitions];
    for (const removed of this.removedTopics.values()) {
      if (topicsById.has(removed.topicId)) continue;
      const held = this.base.state.partitions.get(removed.topicId);
      if (held === undefined) continue;
      for (const p of held.values()) if (!removedPartitions.includes(p)) removedPartitions.push(p);
    }
    const delta: MetadataDelta = {
      revision,
      changedTopics: [...this.changedTopicIds].map((id) => topicsById.get(id)).filter((t): t is TopicImage => t !== undefined),
      removedTopics: [...this.removedTopics.values()].filter((t) => !topicsById.has(t.topicId) || topicsById.get(t.topicId) !== t),
      changedPartitions,
      removedPartitions,
      changedBrokers: [...this.changedBrokers].sort((a, b) => a - b),
      controllerChanged: this.controllerChanged,
      clusterIdChanged: this.clusterIdChanged,
    };
    return { image, delta };
  }
}

/** Builds an image from one range read. */
function imageFromRange(prefix: string, revision: number, kvs: EtcdKeyValue[], logger: Logger): MetadataImage {
  const builder = new ImageBuilder(MetadataImage.EMPTY, prefix, logger);
  for (const kv of kvs) builder.put(kv);
  return builder.build(revision).image;
}

/** The delta between two images (after a reload). */
function diffImages(before: MetadataImage, after: MetadataImage): MetadataDelta {
  const a = before.state;
  const b = after.state;
  const changedBrokers = new Set<number>();
  for (const [id, reg] of b.brokers) if (a.brokers.get(id)?.modRevision !== reg.modRevision) changedBrokers.add(id);
  for (const id of a.brokers.keys()) if (!b.brokers.has(id)) changedBrokers.add(id);
  const changedTopics = [...b.topicsById.values()].filter((t) => a.topicsById.get(t.topicId)?.modRevision !== t.modRevision || a.topicsById.get(t.topicId)?.partitionCount !== t.partitionCount);
  const removedTopics = [...a.topicsById.values()].filter((t) => !b.topicsById.has(t.topicId));
  const changedPartitions: PartitionImage[] = [];
  for (const p of after.allPartitions()) if (before.partition(p.topicId, p.partition)?.modRevision !== p.modRevision) changedPartitions.push(p);
  const removedPartitions: PartitionImage[] = [];
  for (const p of before.allPartitions()) if (after.partition(p.topicId, p.partition) === undefined) removedPartitions.push(p);
  return {
    revision: b.revision,
    changedTopics,
    removedTopics,
    changedPartitions,
    removedPartitions,
    changedBrokers: [...changedBrokers].sort((x, y) => x - y),
    controllerChanged: a.controller?.epoch !== b.controller?.epoch || a.controller?.brokerId !== b.controller?.brokerId,
    clusterIdChanged: a.clusterId !== b.clusterId,
  };
}

interface RevisionWaiter {
  revision: number;
  resolve: (image: MetadataImage) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class MetadataLoader {
  private current: MetadataImage;
  private watch: EtcdWatch | undefined;
  private readonly listeners = new Set<MetadataListener>();
  private waiters: RevisionWaiter[] = [];
  private closed = false;
  private reloading = false;

  private constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
    private readonly logger: Logger,
    initial: MetadataImage,
  ) {
    this.current = initial;
  }

  /** Reads everything under `prefix` and starts watching from the next revision. */
  static async start(store: EtcdStore, prefix: string, logger: Logger): Promise<MetadataLoader> {
    const { revision, kvs } = await store.range(`${prefix}/`);
    const loader = new MetadataLoader(store, prefix, logger, imageFromRange(prefix, revision, kvs, logger));
    loader.startWatch(revision + 1);
    return loader;
  }

  get image(): MetadataImage {
    return this.current;
  }

  /** Calls `listener(image, delta)` after every applied batch; returns a function that unsubscribes. */
  onChange(listener: MetadataListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the image once it has applied `revision` (e.g. the revision of one's own write); rejects with
   * KafkaError REQUEST_TIMED_OUT after `timeoutMs`.
   */
  waitForRevision(revision: number, timeoutMs = 10_000): Promise<MetadataImage> {
    if (this.current.revision >= revision) return Promise.resolve(this.current);
    if (this.closed) return Promise.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the cluster metadata is closed'));
    return new Promise<MetadataImage>((resolve, reject) => {
      const waiter: RevisionWaiter = {
        revision,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, `cluster metadata did not reach revision ${revision} within ${timeoutMs} ms (at ${this.current.revision})`));
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private startWatch(fromRevision: number): void {
    this.watch = this.store.watchPrefix(`${this.prefix}/`, fromRevision, {
      onEvents: (events) => this.apply(events),
      onProgress: (revision) => {
        if (revision > this.current.revision) this.publish(new ImageBuilder(this.current, this.prefix, this.logger).build(revision));
      },
      onCompacted: () => void this.reload(),
    });
  }

  private apply(events: EtcdEvent[]): void {
    if (this.closed || events.length === 0) return;
    // One watch response may hold several revisions; each revision is applied in order, one image per response.
    const builder = new ImageBuilder(this.current, this.prefix, this.logger);
    for (const ev of events) {
      if (ev.type === 'put') builder.put(ev.kv);
      else builder.delete(ev.kv.key);
    }
    this.publish(builder.build(events[events.length - 1]!.kv.modRevision));
  }

  private publish({ image, delta }: { image: MetadataImage; delta: MetadataDelta }): void {
    this.current = image;
    for (const listener of [...this.listeners]) {
      try {
        listener(image, delta);
      } catch (err) {
        this.logger.error({ err }, 'cluster metadata listener failed');
      }
    }
    const ready = this.waiters.filter((w) => w.revision <= image.revision);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((w) => w.revision > image.revision);
      for (const w of ready) {
        clearTimeout(w.timer);
        w.resolve(image);
      }
    }
  }

  /** After a compaction: a fresh range read, published as one delta, then a new watch. Retried until it works. */
  private async reload(): Promise<void> {
    if (this.reloading || this.closed) return;
    this.reloading = true;
    try {
      // Bounded by close(): one attempt per second while etcd does not answer.
      while (!this.closed) {
        try {
          const { revision, kvs } = await this.store.range(`${this.prefix}/`);
          if (this.closed) return;
          const next = imageFromRange(this.prefix, revision, kvs, this.logger);
          this.logger.info({ revision }, 'cluster metadata reloaded after etcd compaction');
          this.publish({ image: next, delta: diffImages(this.current, next) });
          this.startWatch(revision + 1);
          return;
        } catch (err) {
          this.logger.warn({ err: (err as Error).message }, 'cluster metadata reload failed; retrying');
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    } finally {
      this.reloading = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.close();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'the cluster metadata is closed'));
    }
    this.waiters = [];
    this.listeners.clear();
  }
}
