// One classic-protocol group: Kafka's GroupMetadata plus the per-group half of its GroupCoordinator (join, sync,
// heartbeat, leave, commit validation, rebalance completion), with Kafka's state names and rules.
//
//   Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance ──leader sync──▶ Stable
//     ▲                 ▲   │ (no members left)                                  │                               │
//     └─────────────────┼───┘                                                    │                               │
//                       └──────── member joins, leaves, changes metadata, expires ┴───────────────────────────────┘
//   any state ──DeleteGroups / offsets expired / shutdown──▶ Dead
//
// Every state change goes through `transitionTo`, which checks Kafka's valid previous states and clears the timers
// that belong to the state being left, so no exit path can leak one:
//
// | timer             | armed when                                       | cleared when                                 |
// |-------------------|--------------------------------------------------|----------------------------------------------|
// | join timer        | entering PreparingRebalance (InitialDelayedJoin   | leaving PreparingRebalance, or re-armed       |
// |                   | from Empty: group.initial.rebalance.delay.ms,     |                                              |
// |                   | else DelayedJoin: the largest rebalance timeout)  |                                              |
// | sync timer        | join completes (KAFKA-13127: members that do not  | every member synced, or leaving Completing-   |
// |                   | SyncGroup within the rebalance timeout are removed)| Rebalance/Stable for another rebalance       |
// | member session    | join completes, sync answered, heartbeat, commit  | member removed, or re-armed                  |
// | pending member    | MEMBER_ID_REQUIRED handed out (KIP-394)           | that member joins or leaves, or it expires   |
// Entering Dead clears all of them and answers any waiting JoinGroup/SyncGroup.
//
// Waiting requests are promises: a JoinGroup resolves when the rebalance completes (or the member is fenced or
// removed), a SyncGroup when the leader's assignment is stored. Nothing polls.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/error-codes.js';
import { CONSUMER_PROTOCOL_TYPE, subscribedTopics } from './consumer-protocol.js';
import { EMPTY_BYTES, Member, joinError, syncError, type JoinGroupMemberInfo, type JoinResult, type MemberProtocol, type SyncResult } from './member.js';
import type { StoredGroup, StoredOffset } from './group-records.js';
import { PendingTxnOffsetCommits } from './pending-txn-offsets.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

export const GROUP_STATES: readonly GroupState[] = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'];

/** Kafka's GroupState.validPreviousStates. */
const VALID_PREVIOUS_STATES: Record<GroupState, readonly GroupState[]> = {
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  Empty: ['PreparingRebalance'],
};

/** Kafka's GroupCoordinator.NewMemberJoinTimeoutMs: a new member awaiting its first join is dropped after this. */
export const NEW_MEMBER_JOIN_TIMEOUT_MS = 5 * 60 * 1000;

export interface GroupSettings {
  initialRebalanceDelayMs: number;
  maxSize: number;
}

export interface GroupHooks {
  readonly logger: Logger;
  now(): number;
  /** Persists the group metadata with these assignments; resolves with NONE or the error code to report. */
  storeGroup(group: Group, assignment: Map<string, Buffer>): Promise<number>;
}

export interface JoinParams {
  memberId: string;
  groupInstanceId: string | null;
  /** JoinGroup v4+ from a dynamic member: hand out a member id first (KIP-394). */
  requireKnownMemberId: boolean;
  /** JoinGroup v9+: a rejoining static leader may be told to skip the assignment (KIP-814). */
  supportSkippingAssignment: boolean;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  protocolType: string;
  protocols: MemberProtocol[];
  reason: string | null;
}

export interface SyncParams {
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string | null;
  protocolName: string | null;
  assignments: Array<{ memberId: string; assignment: Buffer }>;
}

export interface LeaveResult {
  memberId: string;
  groupInstanceId: string | null;
  errorCode: number;
}

export interface GroupSummary {
  state: GroupState;
  protocolType: string;
  protocolData: string;
  members: Array<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; metadata: Buffer; assignment: Buffer }>;
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class Group {
  state: GroupState;
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  currentStateTimestampMs: number;
  /** Topics the members subscribe to (consumer protocol only); undefined when unknown. */
  subscribedTopics: Set<string> | undefined;
  readonly members = new Map<string, Member>();
  /** Committed offsets by partitionKey(topic, partition). */
  readonly offsets = new Map<string, StoredOffset>();
  /** Offset commits written but not yet acknowledged, by partitionKey: expiry leaves these alone. */
  readonly pendingOffsetCommits = new Map<string, number>();
  /**
   * Per offset key, the store sequence of the last write applied in memory. Writes reach the file in sequence
   * order; a commit whose fsync completes after a later OffsetDelete/expiry of the same key must not bring the
   * offset back in memory.
   */
  readonly offsetWriteSeq = new Map<string, number>();
  /** Transactional offset commits awaiting their transaction's marker (pending-txn-offsets.ts). */
  readonly pendingTxnOffsets = new PendingTxnOffsetCommits();
  private readonly staticMembers = new Map<string, string>();
  private readonly pendingMembers = new Map<string, NodeJS.Timeout>();
  private readonly pendingSyncMembers = new Set<string>();
  private newMemberAdded = false;
  private joinTimer: NodeJS.Timeout | undefined;
  private joinTimerKind: 'initial' | 'normal' | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    readonly groupId: string,
    private readonly settings: GroupSettings,
    private readonly hooks: GroupHooks,
  ) {
    this.state = 'Empty';
    this.currentStateTimestampMs = hooks.now();
    this.log = hooks.logger.child({ groupId });
  }

  /** Rebuilds a group from its stored metadata (Kafka's GroupMetadata.loadGroup): Empty, or Stable with members. */
  static load(stored: StoredGroup, settings: GroupSettings, hooks: GroupHooks): Group {
    const g = new Group(stored.groupId, settings, hooks);
    g.generationId = stored.generationId;
    g.protocolType = stored.protocolType;
    g.protocolName = stored.protocolName;
    g.leaderId = stored.leader;
    g.currentStateTimestampMs = stored.currentStateTimestampMs;
    for (const m of stored.members) {
      const member = new Member(
        m.memberId,
        m.groupInstanceId,
        m.clientId,
        m.clientHost,
        m.rebalanceTimeoutMs,
        m.sessionTimeoutMs,
        stored.protocolType ?? '',
        [{ name: stored.protocolName ?? '', metadata: m.subscription }],
      );
      member.assignment = m.assignment;
      g.members.set(member.memberId, member);
      if (member.groupInstanceId !== null) g.staticMembers.set(member.groupInstanceId, member.memberId);
    }
    if (g.members.size > 0) {
      if (g.protocolName === null) throw new Error(`stored group ${stored.groupId} has members but no protocol`);
      g.state = 'Stable';
    }
    g.subscribedTopics = g.computeSubscribedTopics();
    return g;
  }

  /** Called once the coordinator has loaded the group: members must heartbeat within their session timeout. */
  onLoaded(): void {
    for (const member of this.members.values()) this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
    if (this.members.size > this.settings.maxSize) this.prepareRebalance('freshly-loaded group is over capacity');
  }

  // ---- state ---------------------------------------------------------------------------------------------------

  is(state: GroupState): boolean {
    return this.state === state;
  }

  /** The one place the state changes. */
  private transitionTo(target: GroupState): void {
    if (!VALID_PREVIOUS_STATES[target].includes(this.state)) {
      throw new Error(`group ${this.groupId} cannot move from ${this.state} to ${target}`);
    }
    const from = this.state;
    if (from === 'PreparingRebalance' && target !== 'PreparingRebalance') this.clearJoinTimer();
    if (target === 'PreparingRebalance' || target === 'Empty' || target === 'Dead') this.clearSyncExpiration();
    this.state = target;
    this.currentStateTimestampMs = this.hooks.now();
    if (target === 'Dead') {
      this.clearJoinTimer();
      for (const timer of this.pendingMembers.values()) clearTimeout(timer);
      this.pendingMembers.clear();
      for (const member of this.members.values()) member.clearSessionTimer();
    }
    this.log.debug({ from, to: target, generationId: this.generationId }, 'group state change');
  }

  get canRebalance(): boolean {
    return VALID_PREVIOUS_STATES.PreparingRebalance.includes(this.state);
  }

  get size(): number {
    return this.members.size;
  }

  get hasOffsets(): boolean {
    return this.offsets.size > 0 || this.pendingOffsetCommits.size > 0 || !this.pendingTxnOffsets.isEmpty;
  }

  /** The largest rebalance timeout of the members (Kafka's GroupMetadata.rebalanceTimeoutMs). */
  get rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  private get numAwaitingJoin(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.isAwaitingJoin) n++;
    return n;
  }

  private get hasAllMembersJoined(): boolean {
    return this.members.size === this.numAwaitingJoin && this.pendingMembers.size === 0;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** Kafka's supportsProtocols: a new group needs a protocol type and at least one protocol; otherwise the same
   * protocol type and one protocol every member supports. */
  private supportsProtocols(protocolType: string, protocols: MemberProtocol[]): boolean {
    if (this.is('Empty')) return protocolType.length > 0 && protocols.length > 0;
    if (this.protocolType !== protocolType) return false;
    return protocols.some((p) => [...this.members.values()].every((m) => m.protocols.some((x) => x.name === p.name)));
  }

  /** Kafka's selectProtocol: among protocols all members support, the one most members list first. */
  selectProtocol(): string {
    const all = [...this.members.values()];
    if (all.length === 0) throw new Error('cannot select a protocol for a group without members');
    const candidates = new Set(all[0]!.protocols.map((p) => p.name).filter((name) => all.every((m) => m.protocols.some((x) => x.name === name))));
    const votes = new Map<string, number>();
    for (const m of all) {
      const choice = m.vote(candidates);
      votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    // Ties go to the candidate the first member prefers (Kafka's choice among equal counts is unspecified).
    let best: string | undefined;
    for (const name of candidates) if (best === undefined || (votes.get(name) ?? 0) > (votes.get(best) ?? 0)) best = name;
    return best!;
  }

  private computeSubscribedTopics(): Set<string> | undefined {
    if (this.protocolType !== CONSUMER_PROTOCOL_TYPE) return undefined;
    if (this.members.size === 0) return new Set();
    if (this.protocolName === null) return undefined;
    const topics = new Set<string>();
    for (const m of this.members.values()) {
      const p = m.protocols.find((x) => x.name === this.protocolName);
      const t = p === undefined ? undefined : subscribedTopics(p.metadata);
      if (t === undefined) return undefined;
      for (const name of t) topics.add(name);
    }
    return topics;
  }

  isSubscribedToTopic(topic: string): boolean {
    return this.subscribedTopics?.has(topic) ?? false;
  }

  private currentMemberMetadata(): JoinGroupMemberInfo[] {
    const protocol = this.protocolName!;
    return [...this.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: m.metadataFor(protocol) }));
  }

  private joinSuccess(member: Member, withMembers: boolean, leader: string | null, skipAssignment = false): JoinResult {
    return {
      errorCode: ErrorCode.NONE,
      generationId: this.generationId,
      protocolType: this.protocolType,
      protocolName: this.protocolName,
      leader: leader ?? '',
      skipAssignment,
      memberId: member.memberId,
      members: withMembers ? this.currentMemberMetadata() : [],
    };
  }

  // ---- membership bookkeeping ------------------------------------------------------------------------------------

  private add(member: Member, callback: ((r: JoinResult) => void) | undefined): void {
    if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
    if (this.members.size === 0) this.protocolType = member.protocolType;
    if (this.leaderId === null) this.leaderId = member.memberId;
    this.members.set(member.memberId, member);
    member.awaitingJoin = callback;
    this.removePendingMember(member.memberId);
  }

  /** Kafka's GroupMetadata.remove, plus clearing the member's timer and answering anything it still waits for. */
  private remove(memberId: string): void {
    const member = this.members.get(memberId);
    if (member !== undefined) {
      this.members.delete(memberId);
      member.clearSessionTimer();
      if (member.groupInstanceId !== null && this.staticMembers.get(member.groupInstanceId) === memberId) {
        this.staticMembers.delete(member.groupInstanceId);
      }
      this.maybeInvokeJoinCallback(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
      this.maybeInvokeSyncCallback(member, syncError(ErrorCode.UNKNOWN_MEMBER_ID));
    }
    if (this.isLeader(memberId)) this.leaderId = this.members.keys().next().value ?? null;
    this.removePendingMember(memberId);
    this.removePendingSyncMember(memberId);
  }

  private updateMember(member: Member, p: JoinParams, callback: ((r: JoinResult) => void) | undefined): void {
    member.protocols = p.protocols;
    member.rebalanceTimeoutMs = p.rebalanceTimeoutMs;
    member.sessionTimeoutMs = p.sessionTimeoutMs;
    member.clientId = p.clientId;
    member.clientHost = p.clientHost;
    member.awaitingJoin = callback;
  }

  currentStaticMemberId(groupInstanceId: string): string | undefined {
    return this.staticMembers.get(groupInstanceId);
  }

  /** KIP-345: the new member id takes over the instance; the old one's waiting requests are fenced. */
  private replaceStaticMember(groupInstanceId: string, oldMemberId: string, newMemberId: string): Member {
    const member = this.members.get(oldMemberId);
    if (member === undefined) throw new Error(`static member ${groupInstanceId} maps to unknown member ${oldMemberId}`);
    this.members.delete(oldMemberId);
    this.maybeInvokeJoinCallback(member, joinError(oldMemberId, ErrorCode.FENCED_INSTANCE_ID));
    this.maybeInvokeSyncCallback(member, syncError(ErrorCode.FENCED_INSTANCE_ID));
    member.memberId = newMemberId;
    this.members.set(newMemberId, member);
    if (this.isLeader(oldMemberId)) this.leaderId = newMemberId;
    if (this.pendingSyncMembers.delete(oldMemberId)) this.pendingSyncMembers.add(newMemberId);
    this.staticMembers.set(groupInstanceId, newMemberId);
    return member;
  }

  private maybeInvokeJoinCallback(member: Member, result: JoinResult): void {
    const cb = member.awaitingJoin;
    if (cb === undefined) return;
    member.awaitingJoin = undefined;
    cb(result);
  }

  private maybeInvokeSyncCallback(member: Member, result: SyncResult): boolean {
    const cb = member.awaitingSync;
    if (cb === undefined) return false;
    member.awaitingSync = undefined;
    cb(result);
    return true;
  }

  /** Kafka 3.x validateCurrentMember: a group instance id must map to this member id; the member must exist. */
  private validateCurrentMember(memberId: string, groupInstanceId: string | null): number {
    if (groupInstanceId !== null) {
      const current = this.staticMembers.get(groupInstanceId);
      if (current === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
      if (current !== memberId) {
        this.log.info({ memberId, groupInstanceId, currentMemberId: current }, 'static member fenced');
        return ErrorCode.FENCED_INSTANCE_ID;
      }
      return ErrorCode.NONE;
    }
    return this.members.has(memberId) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
  }

  // ---- timers --------------------------------------------------------------------------------------------------

  private clearJoinTimer(): void {
    if (this.joinTimer !== undefined) clearTimeout(this.joinTimer);
    this.joinTimer = undefined;
    this.joinTimerKind = undefined;
  }

  private startJoinTimer(kind: 'initial' | 'normal', delayMs: number, remainingMs = 0): void {
    this.clearJoinTimer();
    this.joinTimerKind = kind;
    this.joinTimer = setTimeout(() => {
      this.joinTimer = undefined;
      this.joinTimerKind = undefined;
      if (kind === 'initial') this.onInitialDelayExpired(delayMs, remainingMs);
      else this.onCompleteJoin();
    }, delayMs);
  }

  /** Kafka's InitialDelayedJoin: keep waiting (up to the rebalance timeout) while new members keep arriving. */
  private onInitialDelayExpired(delayMs: number, remainingMs: number): void {
    const delay = Math.min(this.settings.initialRebalanceDelayMs, remainingMs);
    // With a zero delay there is nothing to wait for (Kafka would re-arm a zero-delay timer that fires at once).
    if (this.newMemberAdded && remainingMs !== 0 && delay > 0) {
      this.newMemberAdded = false;
      this.startJoinTimer('initial', delay, Math.max(remainingMs - delayMs, 0));
    } else {
      this.newMemberAdded = false;
      this.onCompleteJoin();
    }
  }

  /** Kafka's DelayedJoin.tryComplete: the rebalance completes as soon as every member has rejoined. */
  private tryCompleteJoin(): void {
    if (this.is('PreparingRebalance') && this.joinTimerKind === 'normal' && this.hasAllMembersJoined) {
      this.clearJoinTimer();
      this.onCompleteJoin();
    }
  }

  private clearSyncExpiration(): void {
    this.pendingSyncMembers.clear();
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
  }

  private removePendingSyncMember(memberId: string): void {
    this.pendingSyncMembers.delete(memberId);
    if (this.pendingSyncMembers.size === 0 && this.syncTimer !== undefined) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
  }

  private schedulePendingSync(): void {
    const generationId = this.generationId;
    if (this.syncTimer !== undefined) clearTimeout(this.syncTimer);
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.onExpirePendingSync(generationId);
    }, this.rebalanceTimeoutMs);
  }

  private onExpirePendingSync(generationId: number): void {
    if (generationId !== this.generationId || !(this.is('CompletingRebalance') || this.is('Stable'))) return;
    if (this.pendingSyncMembers.size === 0) return;
    const late = [...this.pendingSyncMembers];
    for (const memberId of late) this.remove(memberId);
    this.log.info({ members: late }, 'removed members that did not send SyncGroup within the rebalance timeout');
    this.prepareRebalance(`removing ${late.join(', ')} on pending sync request expiration`);
  }

  private scheduleHeartbeatExpiration(member: Member, timeoutMs: number): void {
    member.clearSessionTimer();
    member.sessionTimer = setTimeout(() => {
      member.sessionTimer = undefined;
      this.onExpireHeartbeat(member);
    }, timeoutMs);
  }

  /** Kafka's hasSatisfiedHeartbeat: members waiting in a rebalance are alive, unless they are new. */
  private onExpireHeartbeat(member: Member): void {
    if (this.is('Dead') || this.members.get(member.memberId) !== member) return;
    if (!member.isNew && (member.isAwaitingJoin || member.isAwaitingSync)) return;
    this.log.info({ memberId: member.memberId }, 'member session expired; removing it from the group');
    this.removeMemberAndUpdateGroup(member, `removing member ${member.memberId} on heartbeat expiration`);
  }

  private addPendingMember(memberId: string, sessionTimeoutMs: number): void {
    const timer = setTimeout(() => {
      this.pendingMembers.delete(memberId);
      this.log.info({ memberId }, 'pending member removed after session timeout expiration');
      if (this.is('PreparingRebalance')) this.tryCompleteJoin();
    }, sessionTimeoutMs);
    this.pendingMembers.set(memberId, timer);
  }

  private removePendingMember(memberId: string): void {
    const timer = this.pendingMembers.get(memberId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.pendingMembers.delete(memberId);
  }

  // ---- rebalance -----------------------------------------------------------------------------------------------

  private maybePrepareRebalance(reason: string): void {
    if (this.canRebalance) this.prepareRebalance(reason);
  }

  private prepareRebalance(reason: string): void {
    // Members waiting for an assignment of the generation being abandoned must rejoin.
    if (this.is('CompletingRebalance')) this.resetAndPropagateAssignmentError(ErrorCode.REBALANCE_IN_PROGRESS);
    const fromEmpty = this.is('Empty');
    this.transitionTo('PreparingRebalance');
    this.log.info({ generationId: this.generationId, reason }, 'preparing to rebalance');
    if (fromEmpty) {
      const delay = this.settings.initialRebalanceDelayMs;
      this.startJoinTimer('initial', delay, Math.max(this.rebalanceTimeoutMs - delay, 0));
    } else {
      this.startJoinTimer('normal', this.rebalanceTimeoutMs);
      this.tryCompleteJoin();
    }
  }

  private onCompleteJoin(): void {
    if (!this.is('PreparingRebalance')) return;
    for (const member of [...this.members.values()]) {
      if (!member.isAwaitingJoin && !member.isStatic) this.remove(member.memberId);
    }
    if (!this.maybeElectNewJoinedLeader() && this.members.size > 0) {
      // Only static members that have not rejoined are left: wait another round, their sessions will expire.
      // (Kafka logs this at error; it is the clients' doing, so warn here, as STYLE §11 asks.)
      this.log.warn({ generationId: this.generationId }, 'could not complete rebalance because no members rejoined');
      this.startJoinTimer('normal', this.rebalanceTimeoutMs);
      return;
    }
    this.initNextGeneration();
    if (this.is('Empty')) {
      this.log.info({ generationId: this.generationId }, 'group is now empty');
      void this.hooks.storeGroup(this, new Map()).then((code) => {
        if (code !== ErrorCode.NONE) this.log.warn({ errorCode: code }, 'failed to write the empty group metadata');
      });
      return;
    }
    this.log.info({ generationId: this.generationId, members: this.members.size, protocol: this.protocolName }, 'group stabilized');
    for (const member of this.members.values()) {
      this.maybeInvokeJoinCallback(member, this.joinSuccess(member, this.isLeader(member.memberId), this.leaderId));
      this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
      member.isNew = false;
      this.pendingSyncMembers.add(member.memberId);
    }
    this.schedulePendingSync();
  }

  private maybeElectNewJoinedLeader(): boolean {
    if (this.leaderId === null) return false;
    const leader = this.members.get(this.leaderId);
    if (leader !== undefined && leader.isAwaitingJoin) return true;
    for (const m of this.members.values()) {
      if (m.isAwaitingJoin) {
        this.leaderId = m.memberId;
        return true;
      }
    }
    return false;
  }

  private initNextGeneration(): void {
    this.generationId++;
    if (this.members.size > 0) {
      this.protocolName = this.selectProtocol();
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('CompletingRebalance');
    } else {
      this.protocolName = null;
      this.subscribedTopics = this.computeSubscribedTopics();
      this.transitionTo('Empty');
    }
    this.pendingSyncMembers.clear();
  }

  private resetAndPropagateAssignmentError(errorCode: number): void {
    for (const m of this.members.values()) m.assignment = EMPTY_BYTES;
    this.propagateAssignment(errorCode);
  }

  private setAndPropagateAssignment(assignment: Map<string, Buffer>): void {
    for (const m of this.members.values()) m.assignment = assignment.get(m.memberId) ?? EMPTY_BYTES;
    this.propagateAssignment(ErrorCode.NONE);
  }

  private propagateAssignment(errorCode: number): void {
    for (const m of this.members.values()) {
      const answered = this.maybeInvokeSyncCallback(m, {
        errorCode,
        protocolType: this.protocolType,
        protocolName: this.protocolName,
        assignment: m.assignment,
      });
      // The session restarts once the assignment is delivered (a session that ran out while waiting was kept).
      if (answered) this.scheduleHeartbeatExpiration(m, m.sessionTimeoutMs);
    }
  }

  private removeMemberAndUpdateGroup(member: Member, reason: string): void {
    this.maybeInvokeJoinCallback(member, joinError('', ErrorCode.UNKNOWN_MEMBER_ID));
    this.remove(member.memberId);
    switch (this.state) {
      case 'Stable':
      case 'CompletingRebalance':
        this.maybePrepareRebalance(reason);
        break;
      case 'PreparingRebalance':
        this.tryCompleteJoin();
        break;
      default:
        break;
    }
  }

  // ---- JoinGroup -----------------------------------------------------------------------------------------------

  /** Kafka 3.x acceptJoiningMember (group.max.size). */
  private acceptJoiningMember(memberId: string): boolean {
    switch (this.state) {
      case 'Empty':
      case 'Dead':
        return true;
      case 'PreparingRebalance':
        return (this.members.get(memberId)?.isAwaitingJoin ?? false) || this.numAwaitingJoin < this.settings.maxSize;
      default:
        return this.members.has(memberId) || this.members.size < this.settings.maxSize;
    }
  }

  join(p: JoinParams): Promise<JoinResult> {
    return new Promise<JoinResult>((resolve) => {
      if (!this.acceptJoiningMember(p.memberId)) {
        this.remove(p.memberId);
        resolve(joinError('', ErrorCode.GROUP_MAX_SIZE_REACHED));
      } else if (p.memberId === '') {
        this.doNewMemberJoin(p, resolve);
      } else {
        this.doCurrentMemberJoin(p, resolve);
      }
      if (this.is('PreparingRebalance')) this.tryCompleteJoin();
    });
  }

  private doNewMemberJoin(p: JoinParams, cb: (r: JoinResult) => void): void {
    if (this.is('Dead')) return cb(joinError('', ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!this.supportsProtocols(p.protocolType, p.protocols)) return cb(joinError('', ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const newMemberId = `${p.groupInstanceId ?? p.clientId}-${randomUUID()}`;
    if (p.groupInstanceId !== null) {
      const oldMemberId = this.staticMembers.get(p.groupInstanceId);
      if (oldMemberId !== undefined) {
        this.log.info({ groupInstanceId: p.groupInstanceId, oldMemberId, newMemberId }, 'static member rejoins with a new member id');
        this.updateStaticMemberAndRebalance(oldMemberId, newMemberId, p, cb);
      } else {
        this.addMemberAndRebalance(newMemberId, p, cb);
      }
    } else if (p.requireKnownMemberId) {
      this.addPendingMember(newMemberId, p.sessionTimeoutMs);
      cb(joinError(newMemberId, ErrorCode.MEMBER_ID_REQUIRED));
    } else {
      this.addMemberAndRebalance(newMemberId, p, cb);
    }
  }

  private doCurrentMemberJoin(p: JoinParams, cb: (r: JoinResult) => void): void {
    if (this.is('Dead')) return cb(joinError(p.memberId, ErrorCode.COORDINATOR_NOT_AVAILABLE));
    if (!this.supportsProtocols(p.protocolType, p.protocols)) return cb(joinError(p.memberId, ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (this.pendingMembers.has(p.memberId)) {
      // Pending ids are only handed to dynamic members; Kafka treats a group instance id here as a bug.
      if (p.groupInstanceId !== null) return cb(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
      return this.addMemberAndRebalance(p.memberId, p, cb);
    }
    const error = this.validateCurrentMember(p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) return cb(joinError(p.memberId, error));
    const member = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'PreparingRebalance':
        return this.updateMemberAndRebalance(member, p, cb, 'member joining during PreparingRebalance');
      case 'CompletingRebalance':
        // Same metadata: a retry of a join whose answer was lost; answer with the current generation.
        if (member.matches(p.protocols)) return cb(this.joinSuccess(member, this.isLeader(member.memberId), this.leaderId));
        return this.updateMemberAndRebalance(member, p, cb, 'member changed its metadata during CompletingRebalance');
      case 'Stable':
        // A rejoining leader forces a rebalance (it may have seen metadata changes the others have not).
        if (this.isLeader(member.memberId)) return this.updateMemberAndRebalance(member, p, cb, 'leader rejoining');
        if (!member.matches(p.protocols)) return this.updateMemberAndRebalance(member, p, cb, 'member changed its metadata');
        return cb(this.joinSuccess(member, false, this.leaderId));
      default:
        this.log.warn({ memberId: p.memberId, state: this.state }, 'rejoining member in unexpected group state');
        return cb(joinError(p.memberId, ErrorCode.UNKNOWN_MEMBER_ID));
    }
  }

  private addMemberAndRebalance(memberId: string, p: JoinParams, cb: (r: JoinResult) => void): void {
    const member = new Member(memberId, p.groupInstanceId, p.clientId, p.clientHost, p.rebalanceTimeoutMs, p.sessionTimeoutMs, p.protocolType, p.protocols);
    member.isNew = true;
    if (this.is('PreparingRebalance') && this.generationId === 0) this.newMemberAdded = true;
    this.add(member, cb);
    // A new member cannot heartbeat until its join completes, so its join itself is bounded instead.
    this.scheduleHeartbeatExpiration(member, NEW_MEMBER_JOIN_TIMEOUT_MS);
    this.maybePrepareRebalance(`adding new member ${memberId}${p.reason ? ` (${p.reason})` : ''}`);
  }

  private updateMemberAndRebalance(member: Member, p: JoinParams, cb: (r: JoinResult) => void, reason: string): void {
    this.updateMember(member, p, cb);
    this.maybePrepareRebalance(`${reason}: ${member.memberId}${p.reason ? ` (${p.reason})` : ''}`);
  }

  private updateStaticMemberAndRebalance(oldMemberId: string, newMemberId: string, p: JoinParams, cb: (r: JoinResult) => void): void {
    const groupInstanceId = p.groupInstanceId!;
    const currentLeader = this.leaderId;
    const member = this.replaceStaticMember(groupInstanceId, oldMemberId, newMemberId);
    this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
    const old = { protocols: member.protocols, rebalanceTimeoutMs: member.rebalanceTimeoutMs, sessionTimeoutMs: member.sessionTimeoutMs };
    this.updateMember(member, p, cb);
    switch (this.state) {
      case 'Stable': {
        if (this.protocolName !== this.selectProtocol()) {
          this.maybePrepareRebalance(`static member ${groupInstanceId} rejoined with a protocol change`);
          return;
        }
        // Nothing the assignment depends on changed: keep the generation, persist the new member id.
        const generationId = this.generationId;
        const assignment = new Map([...this.members.values()].map((m) => [m.memberId, m.assignment] as const));
        void this.hooks.storeGroup(this, assignment).then((code) => {
          if (this.members.get(newMemberId) !== member) return;
          if (code !== ErrorCode.NONE) {
            member.protocols = old.protocols;
            member.rebalanceTimeoutMs = old.rebalanceTimeoutMs;
            member.sessionTimeoutMs = old.sessionTimeoutMs;
            const cbNow = member.awaitingJoin;
            member.awaitingJoin = undefined;
            const reverted = this.replaceStaticMember(groupInstanceId, newMemberId, oldMemberId);
            this.scheduleHeartbeatExpiration(reverted, reverted.sessionTimeoutMs);
            cbNow?.({ ...joinError('', code), generationId, protocolType: this.protocolType, protocolName: this.protocolName, leader: currentLeader ?? '' });
          } else if (p.supportSkippingAssignment) {
            // KIP-814 (v9+): the leader learns it is the leader but must not compute a new assignment.
            const isLeader = this.isLeader(newMemberId);
            this.maybeInvokeJoinCallback(member, this.joinSuccess(member, isLeader, this.leaderId, isLeader));
          } else {
            // Older versions: answer with the old leader id so the rejoined leader does not run a pointless assignment.
            this.maybeInvokeJoinCallback(member, this.joinSuccess(member, false, currentLeader));
          }
        });
        return;
      }
      case 'CompletingRebalance':
        // The leader may already be assigning with the old member id: rebalance so the new id gets an assignment.
        this.prepareRebalance(`static member ${groupInstanceId} rejoined during CompletingRebalance`);
        return;
      default:
        return;
    }
  }

  // ---- SyncGroup -----------------------------------------------------------------------------------------------

  sync(p: SyncParams): Promise<SyncResult> {
    if (this.is('Dead')) return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    const error = this.validateCurrentMember(p.memberId, p.groupInstanceId);
    if (error !== ErrorCode.NONE) return Promise.resolve(syncError(error));
    if (p.generationId !== this.generationId) return Promise.resolve(syncError(ErrorCode.ILLEGAL_GENERATION));
    if (p.protocolType !== null && p.protocolType !== this.protocolType) return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    if (p.protocolName !== null && p.protocolName !== this.protocolName) return Promise.resolve(syncError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL));
    const member = this.members.get(p.memberId)!;
    switch (this.state) {
      case 'Empty':
        return Promise.resolve(syncError(ErrorCode.UNKNOWN_MEMBER_ID));
      case 'PreparingRebalance':
        return Promise.resolve(syncError(ErrorCode.REBALANCE_IN_PROGRESS));
      case 'CompletingRebalance': {
        const promise = new Promise<SyncResult>((resolve) => {
          // A retried SyncGroup replaces the earlier one, whose answer is then never read.
          this.maybeInvokeSyncCallback(member, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
          member.awaitingSync = resolve;
        });
        this.removePendingSyncMember(p.memberId);
        // Only the leader's assignments count; a follower's are ignored, as in Kafka.
        if (this.isLeader(p.memberId)) this.completeSyncFromLeader(p);
        return promise;
      }
      case 'Stable':
        this.removePendingSyncMember(p.memberId);
        this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
        return Promise.resolve({ errorCode: ErrorCode.NONE, protocolType: this.protocolType, protocolName: this.protocolName, assignment: member.assignment });
      default:
        return Promise.resolve(syncError(ErrorCode.COORDINATOR_NOT_AVAILABLE));
    }
  }

  private completeSyncFromLeader(p: SyncParams): void {
    const generationId = this.generationId;
    this.log.info({ generationId }, 'assignment received from leader');
    const assignment = new Map<string, Buffer>();
    for (const a of p.assignments) if (this.members.has(a.memberId)) assignment.set(a.memberId, a.assignment);
    for (const memberId of this.members.keys()) if (!assignment.has(memberId)) assignment.set(memberId, EMPTY_BYTES);
    void this.hooks.storeGroup(this, assignment).then((code) => {
      // Another member may have joined (or the group died) while the metadata was being written.
      if (!this.is('CompletingRebalance') || generationId !== this.generationId) return;
      if (code !== ErrorCode.NONE) {
        this.resetAndPropagateAssignmentError(code);
        this.maybePrepareRebalance('error when storing the group assignment');
      } else {
        this.setAndPropagateAssignment(assignment);
        this.transitionTo('Stable');
      }
    });
  }

  // ---- Heartbeat, LeaveGroup, offset commit validation ---------------------------------------------------------

  heartbeat(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const error = this.validateCurrentMember(memberId, groupInstanceId);
    if (error !== ErrorCode.NONE) return error;
    if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    const member = this.members.get(memberId)!;
    switch (this.state) {
      case 'Empty':
        return ErrorCode.UNKNOWN_MEMBER_ID;
      case 'CompletingRebalance':
        // Consumers may heartbeat between their JoinGroup and SyncGroup answers: a normal heartbeat.
        this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
      case 'PreparingRebalance':
        this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
        return ErrorCode.REBALANCE_IN_PROGRESS;
      default:
        this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
        return ErrorCode.NONE;
    }
  }

  /** Returns the per-member results; a Dead group answers COORDINATOR_NOT_AVAILABLE at the top level (undefined here). */
  leave(members: Array<{ memberId: string; groupInstanceId: string | null; reason: string | null }>): LeaveResult[] | undefined {
    if (this.is('Dead')) return undefined;
    return members.map(({ memberId, groupInstanceId, reason }) => {
      const result = (errorCode: number): LeaveResult => ({ memberId, groupInstanceId, errorCode });
      const why = `member left the group${reason ? ` (${reason})` : ''}`;
      if (memberId === '') {
        // Administrative removal of a static member by its group instance id (KIP-345).
        const current = groupInstanceId === null ? undefined : this.staticMembers.get(groupInstanceId);
        if (current === undefined) return result(ErrorCode.UNKNOWN_MEMBER_ID);
        this.removeMemberAndUpdateGroup(this.members.get(current)!, why);
        return result(ErrorCode.NONE);
      }
      if (this.pendingMembers.has(memberId)) {
        this.removePendingMember(memberId);
        if (this.is('PreparingRebalance')) this.tryCompleteJoin();
        return result(ErrorCode.NONE);
      }
      const error = this.validateCurrentMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return result(error);
      this.log.info({ memberId, groupInstanceId, reason }, 'member left the group');
      this.removeMemberAndUpdateGroup(this.members.get(memberId)!, why);
      return result(ErrorCode.NONE);
    });
  }

  /**
   * Kafka's validateOffsetCommit + doCommitOffsets state check. Returns NONE when the commit may be written.
   * | generation / member / instance id given | group state          | outcome                                  |
   * |-----------------------------------------|----------------------|------------------------------------------|
   * | generation < 0, no member, no instance  | Empty                | accepted (simple consumer, admin)        |
   * | generation < 0, no member, no instance  | has members          | UNKNOWN_MEMBER_ID                        |
   * | any of them                             | unknown member       | UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID   |
   * | any of them                             | other generation     | ILLEGAL_GENERATION                       |
   * | current member and generation           | CompletingRebalance  | REBALANCE_IN_PROGRESS                    |
   * | current member and generation           | Stable / Preparing…  | accepted; counts as a heartbeat          |
   */
  validateOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const error = this.validateCurrentMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    } else if (!this.is('Empty')) {
      return ErrorCode.UNKNOWN_MEMBER_ID;
    }
    if (this.is('CompletingRebalance')) return ErrorCode.REBALANCE_IN_PROGRESS;
    const member = this.members.get(memberId);
    if (member !== undefined) this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
    return ErrorCode.NONE;
  }

  /**
   * Kafka's validateOffsetCommit with isTransactional = true (TxnOffsetCommit). Unlike an ordinary commit, a
   * commit without generation, member or instance id is accepted whatever the state (TxnOffsetCommit before v3
   * carries none of them), a commit during CompletingRebalance is accepted, and it does not count as a heartbeat.
   * | generation / member / instance id given | group                | outcome                                  |
   * |-----------------------------------------|----------------------|------------------------------------------|
   * | generation < 0                          | Empty                | accepted                                 |
   * | none of them                            | any                  | accepted                                 |
   * | any of them                             | unknown member       | UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID   |
   * | any of them                             | other generation     | ILLEGAL_GENERATION                       |
   * | current member and generation           | any                  | accepted                                 |
   */
  validateTxnOffsetCommit(memberId: string, groupInstanceId: string | null, generationId: number): number {
    if (this.is('Dead')) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    if (generationId < 0 && this.is('Empty')) return ErrorCode.NONE;
    if (generationId >= 0 || memberId !== '' || groupInstanceId !== null) {
      const error = this.validateCurrentMember(memberId, groupInstanceId);
      if (error !== ErrorCode.NONE) return error;
      if (generationId !== this.generationId) return ErrorCode.ILLEGAL_GENERATION;
    }
    return ErrorCode.NONE;
  }

  // ---- admin ---------------------------------------------------------------------------------------------------

  /** Kafka's GroupMetadata.summary: member metadata and assignments are shown only when Stable. */
  summary(): GroupSummary {
    const stable = this.is('Stable');
    return {
      state: this.state,
      protocolType: this.protocolType ?? '',
      protocolData: stable ? (this.protocolName ?? '') : '',
      members: [...this.members.values()].map((m) => ({
        memberId: m.memberId,
        groupInstanceId: m.groupInstanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: stable ? m.metadataFor(this.protocolName!) : EMPTY_BYTES,
        assignment: stable ? m.assignment : EMPTY_BYTES,
      })),
    };
  }

  /** The metadata record Kafka's storeGroup writes (GroupMetadataValue). */
  toStored(assignment: Map<string, Buffer>): StoredGroup {
    const protocol = this.protocolName;
    return {
      groupId: this.groupId,
      protocolType: this.protocolType,
      generationId: this.generationId,
      protocolName: protocol,
      leader: this.leaderId,
      currentStateTimestampMs: this.currentStateTimestampMs,
      members:
        protocol === null
          ? []
          : [...this.members.values()].map((m) => ({
              memberId: m.memberId,
              groupInstanceId: m.groupInstanceId,
              clientId: m.clientId,
              clientHost: m.clientHost,
              rebalanceTimeoutMs: m.rebalanceTimeoutMs,
              sessionTimeoutMs: m.sessionTimeoutMs,
              subscription: m.protocols.find((x) => x.name === protocol)?.metadata ?? EMPTY_BYTES,
              assignment: assignment.get(m.memberId) ?? m.assignment,
            })),
    };
  }

  // ---- KIP-848 conversions (consumer-group/classic-members.ts) --------------------------------------------------

  /**
   * Online upgrade to a consumer group, before its write (Kafka's convertToConsumerGroup): waiting JoinGroup and
   * SyncGroup answers get REBALANCE_IN_PROGRESS, so the clients rejoin (in the consumer group when the write
   * succeeds; in this group, which keeps its members, when it fails).
   */
  answerWaitingMembersForUpgrade(): void {
    for (const m of this.members.values()) {
      this.maybeInvokeJoinCallback(m, joinError(m.memberId, ErrorCode.REBALANCE_IN_PROGRESS));
      this.maybeInvokeSyncCallback(m, syncError(ErrorCode.REBALANCE_IN_PROGRESS));
    }
  }

  /**
   * The members now belong to the consumer group (its upgrade was written), or a downgrade into this group failed
   * to be written: every member and timer goes. This object stays as the holder of the group's committed offsets,
   * Empty without a protocol, as for every consumer group. Not a transition of the classic state machine: the
   * classic group ends here (Kafka drops the object).
   */
  dropAllMembers(): void {
    for (const m of this.members.values()) m.clearSessionTimer();
    this.clearJoinTimer();
    this.clearSyncExpiration();
    for (const timer of this.pendingMembers.values()) clearTimeout(timer);
    this.pendingMembers.clear();
    this.pendingSyncMembers.clear();
    this.members.clear();
    this.staticMembers.clear();
    this.newMemberAdded = false;
    this.state = 'Empty';
    this.currentStateTimestampMs = this.hooks.now();
    this.protocolType = null;
    this.protocolName = null;
    this.leaderId = null;
    this.subscribedTopics = undefined;
  }

  /**
   * Online downgrade from a consumer group (Kafka's convertToClassicGroup + ClassicGroup.fromConsumerGroup): the
   * consumer group's classic members form this group, Stable at `generationId` with the given assignments (the first
   * member leads), then a rebalance starts so they rejoin, unless the downgrade came from a static member replacing
   * the last consumer-protocol one (`rebalance` false: it takes over that member's assignment and the group stays
   * Stable). Returns the metadata to write, taken while Stable.
   */
  adoptDowngradedMembers(
    generationId: number,
    members: ReadonlyArray<{ memberId: string; groupInstanceId: string | null; clientId: string; clientHost: string; rebalanceTimeoutMs: number; sessionTimeoutMs: number; protocols: MemberProtocol[]; assignment: Buffer }>,
    rebalance = true,
  ): StoredGroup {
    this.generationId = generationId;
    this.protocolType = CONSUMER_PROTOCOL_TYPE;
    this.leaderId = null;
    for (const m of members) {
      const member = new Member(m.memberId, m.groupInstanceId, m.clientId, m.clientHost, m.rebalanceTimeoutMs, m.sessionTimeoutMs, CONSUMER_PROTOCOL_TYPE, m.protocols);
      member.assignment = m.assignment;
      this.members.set(member.memberId, member);
      if (member.groupInstanceId !== null) this.staticMembers.set(member.groupInstanceId, member.memberId);
      this.leaderId ??= member.memberId;
      this.scheduleHeartbeatExpiration(member, member.sessionTimeoutMs);
    }
    this.protocolName = this.selectProtocol();
    this.subscribedTopics = this.computeSubscribedTopics();
    this.state = 'Stable';
    this.currentStateTimestampMs = this.hooks.now();
    const stored = this.toStored(new Map());
    if (rebalance) this.prepareRebalance(`Downgrade group ${this.groupId} from consumer to classic.`);
    return stored;
  }

  /** Deleted, expired or unloaded: answers every waiting request with `errorCode` and stops every timer. */
  markDead(errorCode: number = ErrorCode.COORDINATOR_NOT_AVAILABLE): void {
    if (this.is('Dead')) return;
    for (const m of this.members.values()) {
      this.maybeInvokeJoinCallback(m, joinError(m.memberId, errorCode));
      this.maybeInvokeSyncCallback(m, syncError(errorCode));
    }
    this.transitionTo('Dead');
  }
}
