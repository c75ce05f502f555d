// A test-only member of a KIP-848 consumer group, on our own codec over a real socket, following the Java client's
// ConsumerMembershipManager: it joins with epoch 0 (full request), then heartbeats with its epoch and the
// partitions it owns; when an answer carries a new assignment it reconciles as Java does: commits and drops the
// revoked partitions, looks up the committed offsets of the added ones (OffsetFetch v9 with its member id and
// epoch), and acknowledges at once with a heartbeat reporting what it owns now. Between heartbeats it fetches its
// partitions (Fetch v12) and commits its positions (OffsetCommit v9 with its member epoch). FENCED_MEMBER_EPOCH or
// UNKNOWN_MEMBER_ID lose every partition (no commit, as onPartitionsLost) and rejoin with epoch 0.
//
// Every loop is bounded by `stop()` (and by the socket closing); the heartbeat cadence is the interval the broker
// hands out.
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { decodeRecordBatches } from '../../src/client/records.js';
import { TestClient } from './kafka-test-client.js';

export interface ConsumedByMember {
  topic: string;
  partition: number;
  offset: bigint;
  value: string;
}

export interface ConsumerProtocolMemberOptions {
  port: number;
  groupId: string;
  topics: string[];
  memberId: string;
  instanceId?: string;
  rebalanceTimeoutMs?: number;
  onRecord(record: ConsumedByMember, memberId: string): void;
  /** Called for every successful commit, in order. */
  onCommit?(topic: string, partition: number, offset: bigint, memberId: string): void;
}

interface OwnedPartition {
  topic: string;
  topicId: Buffer;
  partition: number;
  position: bigint;
}

const key = (topicIdHex: string, partition: number) => `${topicIdHex}:${partition}`;

export class ConsumerProtocolMember {
  memberEpoch = 0;
  heartbeatIntervalMs = 1000;
  readonly owned = new Map<string, OwnedPartition>();
  private readonly topicNames = new Map<string, string>();
  private running = true;
  private loop: Promise<void> | undefined;
  /** Errors the loop met (asserted empty by tests). */
  readonly errors: string[] = [];
  /** Assignments received, as sorted "topic:partition" lists. */
  readonly assignments: string[][] = [];

  private constructor(
    private readonly client: TestClient,
    private readonly options: ConsumerProtocolMemberOptions,
  ) {}

  static async start(options: ConsumerProtocolMemberOptions): Promise<ConsumerProtocolMember> {
    const client = await TestClient.connect(options.port, `member-${options.memberId}`);
    const member = new ConsumerProtocolMember(client, options);
    member.loop = member.run();
    return member;
  }

  get memberId(): string {
    return this.options.memberId;
  }

  private async refreshTopicIds(): Promise<void> {
    const md = await this.client.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    for (const t of md.topics) if (t.name !== null) this.topicNames.set((t.topicId as Buffer).toString('hex'), t.name);
  }

  private async heartbeat(): Promise<void> {
    const joining = this.memberEpoch === 0;
    const res = await this.client.send(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: this.options.groupId,
      memberId: this.options.memberId,
      memberEpoch: this.memberEpoch,
      instanceId: this.options.instanceId ?? null,
      rebalanceTimeoutMs: joining ? (this.options.rebalanceTimeoutMs ?? 30000) : -1,
      subscribedTopicNames: joining ? this.options.topics : null,
      topicPartitions: joining ? [] : this.ownedList(),
    });
    if (res.errorCode === ErrorCode.FENCED_MEMBER_EPOCH || res.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
      // onPartitionsLost: no commit, rejoin from scratch.
      this.owned.clear();
      this.memberEpoch = 0;
      return;
    }
    if (res.errorCode !== ErrorCode.NONE) {
      this.errors.push(`heartbeat: error ${res.errorCode} ${res.errorMessage ?? ''}`);
      return;
    }
    this.memberEpoch = res.memberEpoch;
    this.heartbeatIntervalMs = res.heartbeatIntervalMs;
    if (res.assignment !== null) await this.reconcile(res.assignment.topicPartitions);
  }

  private ownedList(): Array<{ topicId: Buffer; partitions: number[] }> {
    const byTopic = new Map<string, { topicId: Buffer; partitions: number[] }>();
    for (const o of this.owned.values()) {
      const hex = o.topicId.toString('hex');
      let t = byTopic.get(hex);
      if (t === undefined) byTopic.set(hex, (t = { topicId: o.topicId, partitions: [] }));
      t.partitions.push(o.partition);
    }
    return [...byTopic.values()];
  }

  /** Java's reconcile: revoke (commit first), then assign (committed offsets), then acknowledge. */
  private async reconcile(assignment: Array<{ topicId: Buffer; partitions: number[] }>): Promise<void> {
    const target = new Set<string>();
    for (const t of assignment) for (const p of t.partitions) target.add(key(t.topicId.toString('hex'), p));
    const revoked = [...this.owned.entries()].filter(([k]) => !target.has(k));
    if (revoked.length > 0) {
      await this.commit(revoked.map(([, o]) => o));
      for (const [k] of revoked) this.owned.delete(k);
    }
    const added: OwnedPartition[] = [];
    for (const t of assignment) {
      const hex = t.topicId.toString('hex');
      if (!this.topicNames.has(hex)) await this.refreshTopicIds();
      const topic = this.topicNames.get(hex);
      if (topic === undefined) continue;
      for (const p of t.partitions) if (!this.owned.has(key(hex, p))) added.push({ topic, topicId: t.topicId, partition: p, position: 0n });
    }
    if (added.length > 0) {
      const byTopic = new Map<string, number[]>();
      for (const a of added) byTopic.set(a.topic, [...(byTopic.get(a.topic) ?? []), a.partition]);
      const res = await this.client.send(ApiKey.OffsetFetch, 9, {
        groups: [{ groupId: this.options.groupId, memberId: this.options.memberId, memberEpoch: this.memberEpoch, topics: [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes })) }],
        requireStable: true,
      });
      const g = res.groups[0];
      if (g.errorCode !== ErrorCode.NONE) {
        this.errors.push(`offset fetch: error ${g.errorCode}`);
        return;
      }
      for (const a of added) {
        const committed = g.topics.find((t: any) => t.name === a.topic)?.partitions.find((p: any) => p.partitionIndex === a.partition);
        a.position = committed !== undefined && committed.committedOffset >= 0n ? committed.committedOffset : 0n;
        this.owned.set(key(a.topicId.toString('hex'), a.partition), a);
      }
    }
    this.assignments.push([...this.owned.values()].map((o) => `${o.topic}:${o.partition}`).sort());
    // Acknowledge at once, so partitions move without waiting for the next interval.
    if (this.running && (revoked.length > 0 || added.length > 0)) await this.heartbeat();
  }

  private async commit(partitions: OwnedPartition[]): Promise<void> {
    if (partitions.length === 0 || this.memberEpoch <= 0) return;
    const byTopic = new Map<string, OwnedPartition[]>();
    for (const o of partitions) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await this.client.send(ApiKey.OffsetCommit, 9, {
      groupId: this.options.groupId,
      generationIdOrMemberEpoch: this.memberEpoch,
      memberId: this.options.memberId,
      groupInstanceId: this.options.instanceId ?? null,
      topics: [...byTopic].map(([name, list]) => ({
        name,
        partitions: list.map((o) => ({ partitionIndex: o.partition, committedOffset: o.position, committedLeaderEpoch: -1, committedMetadata: null })),
      })),
    });
    for (const t of res.topics) {
      for (const p of t.partitions) {
        if (p.errorCode === ErrorCode.NONE) {
          const o = partitions.find((x) => x.topic === t.name && x.partition === p.partitionIndex)!;
          this.options.onCommit?.(t.name, p.partitionIndex, o.position, this.options.memberId);
        } else if (p.errorCode !== ErrorCode.STALE_MEMBER_EPOCH) {
          this.errors.push(`commit ${t.name}-${p.partitionIndex}: error ${p.errorCode}`);
        }
      }
    }
  }

  private async fetchOnce(): Promise<void> {
    if (this.owned.size === 0) {
      await new Promise((r) => setTimeout(r, 20));
      return;
    }
    const byTopic = new Map<string, OwnedPartition[]>();
    for (const o of this.owned.values()) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
    const res = await this.client.send(ApiKey.Fetch, 12, {
      replicaId: -1,
      maxWaitMs: 50,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, list]) => ({
        topic,
        partitions: list.map((o) => ({ partition: o.partition, currentLeaderEpoch: -1, fetchOffset: o.position, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 })),
      })),
      forgottenTopicsData: [],
      rackId: '',
    });
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const o = byTopic.get(t.topic)?.find((x) => x.partition === p.partitionIndex);
        // A partition revoked meanwhile is not processed (the fetch was sent before the revocation).
        if (o === undefined || this.owned.get(key(o.topicId.toString('hex'), o.partition)) !== o || p.errorCode !== ErrorCode.NONE) continue;
        const decoded = decodeRecordBatches(p.records);
        for (const r of decoded.records) {
          if (r.offset < o.position) continue;
          this.options.onRecord({ topic: o.topic, partition: o.partition, offset: r.offset, value: r.value?.toString() ?? '' }, this.options.memberId);
          o.position = r.offset + 1n;
        }
      }
    }
  }

  private async run(): Promise<void> {
    await this.refreshTopicIds();
    let nextHeartbeat = 0;
    while (this.running && this.client.isOpen) {
      try {
        if (Date.now() >= nextHeartbeat || this.memberEpoch === 0) {
          await this.heartbeat();
          nextHeartbeat = Date.now() + this.heartbeatIntervalMs;
        }
        await this.fetchOnce();
        await this.commit([...this.owned.values()]);
      } catch (err) {
        if (this.running) this.errors.push(`loop: ${(err as Error).message}`);
        return;
      }
    }
  }

  /** Commits, leaves the group (epoch -1) and closes the connection. */
  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    if (this.client.isOpen) {
      await this.commit([...this.owned.values()]);
      await this.client.send(ApiKey.ConsumerGroupHeartbeat, 1, { groupId: this.options.groupId, memberId: this.options.memberId, memberEpoch: -1, topicPartitions: null });
    }
    this.owned.clear();
    this.client.close();
  }
}
