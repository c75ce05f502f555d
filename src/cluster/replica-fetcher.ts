// One follower fetcher per leader broker (Kafka's ReplicaFetcherThread / AbstractFetcherThread): a loop of Fetch
// requests carrying every partition this broker follows on that leader, each answered batch appended unchanged.
//
//   per partition in a Fetch response        what the follower does (Kafka 3.9)
//   records                                  appended as the leader wrote them (offsets and leader epochs kept),
//                                            then HW = min(leader's HW, own LEO)
//   divergingEpoch (v12+)                    the leader's log differs from ours after that epoch: truncate to
//                                            min(its end offset for the epoch, ours for the same epoch), then
//                                            fetch again (truncateOnFetchResponse; the leader compares our
//                                            lastFetchedEpoch, so no OffsetForLeaderEpoch round trip is needed)
//   OFFSET_OUT_OF_RANGE                      asks the leader (ListOffsets as a replica) for its log end and
//                                            start: above its end (an unclean election) truncate to it; below its
//                                            start, start empty at it (AbstractFetcherThread.fetchOffsetAndTruncate)
//   logStartOffset above ours                the leader deleted records (retention, DeleteRecords): so do we
//   FENCED_LEADER_EPOCH, NOT_LEADER_OR_      our metadata is behind or the leader's is: hold the partition until
//   FOLLOWER, UNKNOWN_LEADER_EPOCH, others   the replica manager hands it a new leader/epoch, retrying after
//                                            replica.fetch.backoff.ms
//
// The request is a long poll (replica.fetch.wait.max.ms, min bytes 1) that the leader ends as soon as it has written
// something past our fetch offset, so there is no polling: a write on the leader reaches us within one round trip.
// A lost connection is retried after the backoff; the loop stops when no partition is left or close() is called.
// Partitions fetched move to the end of the order (Kafka's updateAndMoveToEnd), so a large batch of a later
// partition is not starved by earlier partitions always having data. The replica manager removes a partition only
// once the response being applied to it is done (removePartition resolves then), so a new leadership never races
// a truncation or append of the old one.
import type { Logger } from 'pino';
import { Connection } from '../client/connection.js';
import type { ClientSecurity } from '../client/security.js';
import { ApiKey } from '../protocol/generated/index.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import type { FetchRequest, FetchResponse } from '../protocol/generated/fetch.js';
import type { ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import { KafkaError } from '../errors.js';

/** What the fetcher needs from a follower's log (PartitionLog). */
export interface FollowerLog {
  readonly logStartOffset: bigint;
  readonly logEndOffset: bigint;
  readonly highWatermark: bigint;
  /** The epoch of the last leader-epoch entry (lastFetchedEpoch), -1 when there is none. */
  latestEpoch(): number;
  endOffsetForEpoch(leaderEpoch: number): { leaderEpoch: number; endOffset: bigint } | null;
  appendAsFollower(records: Buffer): Promise<unknown>;
  truncateTo(offset: bigint): Promise<void>;
  truncateFullyAndStartAt(offset: bigint): Promise<void>;
  updateHighWatermark(offset: bigint): unknown;
  /** A follower takes the leader's log start offset (records deleted or retained away on the leader). */
  maybeIncrementLogStartOffset(offset: bigint, reason: 'leader-offset-incremented'): boolean;
}

export interface FollowedPartition {
  topic: string;
  topicId: Buffer;
  partition: number;
  /** The leader epoch the metadata gave us for this leadership. */
  leaderEpoch: number;
  log: FollowerLog;
}

interface FetchState extends FollowedPartition {
  /** Not fetched until then (ms): after an error, until the metadata changes or the backoff ends. */
  delayedUntil: number;
  /** The partition error last logged (each is logged at warn once, not at every backoff), until a success. */
  loggedError?: number;
}

export interface ReplicaFetcherOptions {
  leaderId: number;
  leaderHost: string;
  leaderPort: number;
  localBrokerId: number;
  /** Our broker epoch (ReplicaState.replicaEpoch, v15+). */
  brokerEpoch: () => bigint;
  clusterClientId: string;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  partitionMaxBytes: number;
  backoffMs: number;
  requestTimeoutMs: number;
  /** The inter-broker channel's security (inter-broker-security.ts); undefined: PLAINTEXT. */
  security?: ClientSecurity;
  logger: Logger;
  /** Called after every successful response (for metrics and tests). */
  onProgress?: () => void;
}

/** Fetch v12 is the first with lastFetchedEpoch/divergingEpoch; v13 addresses topics by id. */
const MIN_FETCH_VERSION = 13;

export class ReplicaFetcher {
  private readonly partitions = new Map<string, FetchState>();
  /** The partition whose part of a response is being applied now, and when that ends. */
  private applying: { key: string; done: Promise<void> } | undefined;
  private connection: Connection | undefined;
  /** Why the last connection attempt failed (logged once per reason). */
  private lastConnectFailure: string | undefined;
  /** Why the last fetch failed, until one succeeds (logged at warn once per reason). */
  private lastFetchFailure: string | undefined;
  private running = false;
  private closed = false;
  private loop: Promise<void> | undefined;
  /** Wakes the loop when it sleeps with nothing to fetch or in a backoff. */
  private wake: (() => void) | undefined;

  constructor(private readonly options: ReplicaFetcherOptions) {}

  get leaderId(): number {
    return this.options.leaderId;
  }

  get leaderHost(): string {
    return this.options.leaderHost;
  }

  get leaderPort(): number {
    return this.options.leaderPort;
  }

  get partitionCount(): number {
    return this.partitions.size;
  }

  private key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** Follow (or keep following, with a new epoch) a partition led by this fetcher's leader. */
  addPartition(p: FollowedPartition): void {
    this.partitions.set(this.key(p.topic, p.partition), { ...p, delayedUntil: 0 });
    this.start();
    this.wake?.();
  }

  /** Stops following a partition; resolves once no response is being applied to it any more. */
  async removePartition(topic: string, partition: number): Promise<void> {
    const key = this.key(topic, partition);
    this.partitions.delete(key);
    if (this.applying?.key === key) await this.applying.done.catch(() => undefined);
  }

  has(topic: string, partition: number): boolean {
    return this.partitions.has(this.key(topic, partition));
  }

  private start(): void {
    if (this.running || this.closed) return;
    this.running = true;
    this.loop = this.run().finally(() => {
      this.running = false;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.partitions.clear();
    this.wake?.();
    this.connection?.close();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = (): void => done();
      this.wake = wake;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private async run(): Promise<void> {
    const o = this.options;
    while (!this.closed && this.partitions.size > 0) {
      const now = Date.now();
      const ready = [...this.partitions.values()].filter((p) => p.delayedUntil <= now);
      if (ready.length === 0) {
        const next = Math.min(...[...this.partitions.values()].map((p) => p.delayedUntil));
        await this.sleep(Math.max(1, next - now));
        continue;
      }
      try {
        const connection = await this.connect();
        const version = connection.versionFor(ApiKey.Fetch, MIN_FETCH_VERSION);
        const request = this.buildRequest(ready, version);
        const response = await connection.send<FetchResponse>(ApiKey.Fetch, version, request, o.maxWaitMs);
        if (this.closed) return;
        await this.handleResponse(ready, response);
        this.lastFetchFailure = undefined;
        o.onProgress?.();
      } catch (err) {
        if (this.closed) return;
        this.connection?.close();
        this.connection = undefined;
        // A failure repeats at every backoff: a new reason is said at warn (connect() says why it could not
        // connect), the same one again only at debug.
        const reason = (err as Error).message;
        if (reason !== this.lastConnectFailure && reason !== this.lastFetchFailure) o.logger.warn({ err, leader: o.leaderId }, 'replica fetch failed; retrying after the backoff');
        else o.logger.debug({ err, leader: o.leaderId }, 'replica fetch failed; retrying after the backoff');
        this.lastFetchFailure = reason;
        await this.sleep(o.backoffMs);
      }
    }
  }

  private async connect(): Promise<Connection> {
    if (this.connection?.isOpen) return this.connection;
    const o = this.options;
    let connection: Connection;
    try {
      connection = await Connection.connect({
        host: o.leaderHost,
        port: o.leaderPort,
        clientId: o.clusterClientId,
        connectTimeoutMs: o.requestTimeoutMs,
        requestTimeoutMs: o.requestTimeoutMs,
        security: o.security,
      });
    } catch (err) {
      // A refused TLS handshake or SASL login (a wrong inter-broker password, an untrusted certificate) repeats at
      // every backoff: said once at warn, again only when the reason changes.
      const reason = (err as Error).message;
      if (reason !== this.lastConnectFailure && !this.closed) {
        o.logger.warn({ leader: o.leaderId, host: o.leaderHost, port: o.leaderPort, reason }, 'cannot connect to the leader on the inter-broker listener; retrying after the backoff');
      }
      this.lastConnectFailure = reason;
      throw err;
    }
    this.lastConnectFailure = undefined;
    // close() ran while connecting: nobody else will close this one.
    if (this.closed) {
      connection.close();
      throw new Error('replica fetcher closed');
    }
    this.connection = connection;
    return connection;
  }

  private buildRequest(ready: FetchState[], version: number): FetchRequest {
    const o = this.options;
    const byTopic = new Map<string, FetchRequest['topics'][number]>();
    for (const p of ready) {
      let topic = byTopic.get(p.topic);
      if (topic === undefined) {
        topic = { topic: p.topic, topicId: p.topicId, partitions: [] };
        byTopic.set(p.topic, topic);
      }
      topic.partitions.push({
        partition: p.partition,
        currentLeaderEpoch: p.leaderEpoch,
        fetchOffset: p.log.logEndOffset,
        lastFetchedEpoch: p.log.latestEpoch(),
        logStartOffset: p.log.logStartOffset,
        partitionMaxBytes: o.partitionMaxBytes,
      });
    }
    return {
      replicaId: version < 15 ? o.localBrokerId : -1,
      replicaState: { replicaId: o.localBrokerId, replicaEpoch: o.brokerEpoch() },
      maxWaitMs: o.maxWaitMs,
      minBytes: o.minBytes,
      maxBytes: o.maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic.values()],
      forgottenTopicsData: [],
      rackId: '',
    };
  }

  private async handleResponse(ready: FetchState[], response: FetchResponse): Promise<void> {
    if (response.errorCode !== undefined && response.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(response.errorCode, `replica fetch from broker ${this.options.leaderId} failed: ${errorName(response.errorCode)}`);
    }
    const byKey = new Map(ready.map((p) => [`${p.topicId.toString('hex')}:${p.partition}`, p]));
    for (const topic of response.responses) {
      for (const data of topic.partitions) {
        const state = byKey.get(`${(topic.topicId ?? Buffer.alloc(16)).toString('hex')}:${data.partitionIndex}`);
        // Removed or handed to another leader while the fetch was in flight: the answer is not ours to apply.
        const key = state === undefined ? '' : this.key(state.topic, state.partition);
        if (state === undefined || this.partitions.get(key) !== state) continue;
        const done = this.applyPartition(state, data).catch((err: unknown) => {
          this.options.logger.warn({ err, topic: state.topic, partition: state.partition, leader: this.options.leaderId }, 'replica fetch: partition failed');
          state.delayedUntil = Date.now() + this.options.backoffMs;
        });
        this.applying = { key, done };
        await done;
        this.applying = undefined;
        // Fetched partitions go to the end of the order (AbstractFetcherThread.updateAndMoveToEnd).
        if (this.partitions.get(key) === state) {
          this.partitions.delete(key);
          this.partitions.set(key, state);
        }
      }
    }
  }

  /** The leader's log end and start offsets for one partition (ListOffsets as a replica: LATEST is its LEO). */
  private async leaderOffsets(state: FetchState): Promise<{ end: bigint; start: bigint }> {
    const connection = await this.connect();
    const version = connection.versionFor(ApiKey.ListOffsets, 4);
    const ask = async (timestamp: bigint): Promise<bigint> => {
      const res = await connection.send<ListOffsetsResponse>(ApiKey.ListOffsets, version, {
        replicaId: this.options.localBrokerId,
        isolationLevel: 0,
        topics: [{ name: state.topic, partitions: [{ partitionIndex: state.partition, currentLeaderEpoch: state.leaderEpoch, timestamp }] }],
      });
      const p = res.topics[0]?.partitions[0];
      if (p === undefined || p.errorCode !== ErrorCode.NONE) {
        throw new KafkaError(p?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR, `ListOffsets from broker ${this.options.leaderId} for ${state.topic}-${state.partition} failed`);
      }
      return p.offset!;
    };
    return { end: await ask(-1n), start: await ask(-2n) };
  }

  /** Kafka's fetchOffsetAndTruncate after OFFSET_OUT_OF_RANGE. */
  private async resolveOutOfRange(state: FetchState): Promise<void> {
    const log = state.log;
    const leader = await this.leaderOffsets(state);
    if (leader.end < log.logEndOffset) {
      this.options.logger.warn(
        { topic: state.topic, partition: state.partition, leader: this.options.leaderId, from: log.logEndOffset, to: leader.end },
        "truncating a follower log to its leader's end offset (the leader's log is shorter)",
      );
      await log.truncateTo(leader.end);
    } else if (leader.start > log.logEndOffset) {
      this.options.logger.info({ topic: state.topic, partition: state.partition, leader: this.options.leaderId, startOffset: leader.start }, "restarting a follower log at its leader's log start offset");
      await log.truncateFullyAndStartAt(leader.start);
    } else {
      // In range again (the leader moved meanwhile): fetch again after the backoff.
      state.delayedUntil = Date.now() + this.options.backoffMs;
    }
  }

  private async applyPartition(state: FetchState, data: FetchResponse['responses'][number]['partitions'][number]): Promise<void> {
    const log = state.log;
    if (data.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
      await this.resolveOutOfRange(state);
      return;
    }
    if (data.errorCode !== ErrorCode.NONE) {
      // The replica manager gives the partition a new leader or epoch when the metadata changes (addPartition
      // resets the delay); until then, try again after the backoff.
      state.delayedUntil = Date.now() + this.options.backoffMs;
      const expected = data.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER || data.errorCode === ErrorCode.FENCED_LEADER_EPOCH || data.errorCode === ErrorCode.UNKNOWN_LEADER_EPOCH;
      if (!expected && state.loggedError !== data.errorCode) {
        // e.g. TOPIC_AUTHORIZATION_FAILED: the inter-broker principal lacks CLUSTER_ACTION.
        this.options.logger.warn({ topic: state.topic, partition: state.partition, leader: this.options.leaderId, error: errorName(data.errorCode) }, 'replica fetch: partition error; retrying after the backoff');
        state.loggedError = data.errorCode;
      }
      return;
    }
    state.loggedError = undefined;
    const diverging = data.divergingEpoch;
    if (diverging !== undefined && diverging.epoch >= 0 && diverging.endOffset >= 0n) {
      await this.truncateDivergentTail(state, diverging.epoch, diverging.endOffset);
      return;
    }
    if (data.records !== null && data.records.length > 0) await log.appendAsFollower(data.records);
    const hw = data.highWatermark < log.logEndOffset ? data.highWatermark : log.logEndOffset;
    if (hw > log.highWatermark) log.updateHighWatermark(hw);
    // The leader's log start moved (retention, DeleteRecords): ours follows, within what we have committed.
    const leaderStart = data.logStartOffset ?? -1n;
    if (leaderStart > log.logStartOffset && leaderStart <= log.highWatermark) log.maybeIncrementLogStartOffset(leaderStart, 'leader-offset-incremented');
  }

  /** Kafka's getOffsetTruncationState for a divergingEpoch answer. */
  private async truncateDivergentTail(state: FetchState, leaderEpoch: number, leaderEndOffset: bigint): Promise<void> {
    const log = state.log;
    const ours = log.endOffsetForEpoch(leaderEpoch);
    let offset: bigint;
    if (ours === null || ours.endOffset < 0n) offset = leaderEndOffset;
    else if (ours.leaderEpoch !== leaderEpoch) offset = ours.endOffset; // our epoch below theirs ends here; look again
    else offset = ours.endOffset < leaderEndOffset ? ours.endOffset : leaderEndOffset;
    if (offset > log.logEndOffset) offset = log.logEndOffset;
    if (offset < log.logEndOffset) {
      this.options.logger.info(
        { topic: state.topic, partition: state.partition, leader: this.options.leaderId, from: log.logEndOffset, to: offset, leaderEpoch },
        'truncating the divergent tail of a follower log',
      );
    }
    // Always, even at the log end: an epoch entry of ours that starts there (a leadership that wrote nothing) must go,
    // or the next fetch would diverge again (Kafka's UnifiedLog.truncateTo always truncates the epoch cache).
    await log.truncateTo(offset);
  }
}
