// Server-side assignors of consumer-protocol groups (KIP-848, `group.consumer.assignors`): `uniform` (the default)
// and `range`, with the behaviour of Kafka 3.9's assignor/UniformAssignor and assignor/RangeAssignor.
//
// Input (Kafka's GroupSpec): each member's subscribed topic ids, instance id, and its current *target* assignment;
// the subscription type (homogeneous when every member subscribes to the same topics); the partition count of each
// subscribed topic. Output: the new target assignment of every member.
//
// uniform, homogeneous (UniformHomogeneousAssignmentBuilder): quota = total partitions / members, the first
//   `total % members` members (in member order) get one more; each member keeps the partitions of its current
//   target that it still subscribes to, up to its quota; the freed and the never-assigned partitions then fill the
//   members below quota, in order. Sticky and balanced to within one partition.
// uniform, heterogeneous: Kafka's UniformHeterogeneousAssignmentBuilder balances with a priority queue and moves
//   partitions between members until no move improves balance. Ours (a deliberate simplification with the same
//   goals): every partition keeps its current owner if that member still subscribes to the topic; the others go, one
//   at a time, to the subscribed member with the fewest partitions; then, per topic, a partition moves from the
//   subscribed member with the most partitions to the one with the fewest while the difference is more than one.
// range (RangeAssignor): members sorted (static members by instance id first, then the others by member id); for
//   each topic, its subscribers in that order get contiguous ranges, the first `partitions % subscribers` one extra.
//   With a homogeneous subscription and equal partition counts this co-partitions the topics.
import { addPartition, type Assignment } from './assignment.js';

export interface AssignorMember {
  memberId: string;
  instanceId: string | null;
  rackId: string | null;
  /** Topic ids (hex) the member subscribes to that exist. */
  subscribedTopicIds: ReadonlySet<string>;
  /** The member's current target assignment. */
  assignment: Assignment;
}

export interface AssignorInput {
  /** In a stable order (the group's member order). */
  members: readonly AssignorMember[];
  homogeneous: boolean;
  /** topic id (hex) → partition count. */
  partitionCounts: ReadonlyMap<string, number>;
}

export interface ConsumerGroupAssignor {
  readonly name: string;
  assign(input: AssignorInput): Map<string, Assignment>;
}

function partitionCount(input: AssignorInput, topicId: string): number {
  return input.partitionCounts.get(topicId) ?? 0;
}

function assignUniformHomogeneous(input: AssignorInput): Map<string, Assignment> {
  const result = new Map<string, Assignment>();
  const members = input.members;
  const topics = [...(members[0]?.subscribedTopicIds ?? [])].sort();
  if (members.length === 0) return result;
  if (topics.length === 0) {
    for (const m of members) result.set(m.memberId, new Map());
    return result;
  }
  let total = 0;
  const assignedTo = new Map<string, Set<number>>();
  for (const m of members) {
    for (const [topicId, parts] of m.assignment) {
      let set = assignedTo.get(topicId);
      if (set === undefined) assignedTo.set(topicId, (set = new Set()));
      for (const p of parts) set.add(p);
    }
  }
  const unassigned: Array<[string, number]> = [];
  for (const topicId of topics) {
    const n = partitionCount(input, topicId);
    total += n;
    for (let p = 0; p < n; p++) if (!assignedTo.get(topicId)?.has(p)) unassigned.push([topicId, p]);
  }
  const minQuota = Math.floor(total / members.length);
  let extra = total % members.length;
  const unfilled: Array<{ memberId: string; remaining: number }> = [];
  const subscribed = new Set(topics);
  for (const m of members) {
    let quota = minQuota;
    if (extra > 0) {
      quota++;
      extra--;
    }
    const next = new Map<string, Set<number>>();
    for (const topicId of [...m.assignment.keys()].sort()) {
      const parts = m.assignment.get(topicId)!;
      const n = partitionCount(input, topicId);
      for (const p of [...parts].sort((a, b) => a - b)) {
        // A partition of an unsubscribed topic, or beyond the topic's partitions, is dropped.
        if (!subscribed.has(topicId) || p >= n) continue;
        if (quota > 0) {
          addPartition(next, topicId, p);
          quota--;
        } else {
          unassigned.push([topicId, p]);
        }
      }
    }
    result.set(m.memberId, next);
    if (quota > 0) unfilled.push({ memberId: m.memberId, remaining: quota });
  }
  let i = 0;
  for (const u of unfilled) {
    const next = result.get(u.memberId) as Map<string, Set<number>>;
    for (let k = 0; k < u.remaining && i < unassigned.length; k++, i++) addPartition(next, unassigned[i]![0], unassigned[i]![1]);
  }
  return result;
}

function countOf(a: Map<string, Set<number>>): number {
  let n = 0;
  for (const s of a.values()) n += s.size;
  return n;
}

function assignUniformHeterogeneous(input: AssignorInput): Map<string, Assignment> {
  const next = new Map<string, Map<string, Set<number>>>();
  for (const m of input.members) next.set(m.memberId, new Map());
  const counts = new Map<string, number>(input.members.map((m) => [m.memberId, 0]));
  const owner = new Map<string, string>();
  for (const m of input.members) {
    for (const [topicId, parts] of m.assignment) {
      if (!m.subscribedTopicIds.has(topicId)) continue;
      const n = partitionCount(input, topicId);
      for (const p of parts) {
        const key = `${topicId}:${p}`;
        if (p >= n || owner.has(key)) continue;
        owner.set(key, m.memberId);
        addPartition(next.get(m.memberId)!, topicId, p);
        counts.set(m.memberId, counts.get(m.memberId)! + 1);
      }
    }
  }
  const topics = [...input.partitionCounts.keys()].sort();
  const subscribersOf = new Map<string, AssignorMember[]>();
  for (const topicId of topics) subscribersOf.set(topicId, input.members.filter((m) => m.subscribedTopicIds.has(topicId)));
  const fewest = (candidates: readonly AssignorMember[]) => candidates.reduce((best, m) => (counts.get(m.memberId)! < counts.get(best.memberId)! ? m : best));
  for (const topicId of topics) {
    const subscribers = subscribersOf.get(topicId)!;
    if (subscribers.length === 0) continue;
    for (let p = 0; p < partitionCount(input, topicId); p++) {
      if (owner.has(`${topicId}:${p}`)) continue;
      const m = fewest(subscribers);
      owner.set(`${topicId}:${p}`, m.memberId);
      addPartition(next.get(m.memberId)!, topicId, p);
      counts.set(m.memberId, counts.get(m.memberId)! + 1);
    }
  }
  // Balance: bounded by the number of partitions (each move lowers the spread between two members).
  let moves = 0;
  const maxMoves = [...input.partitionCounts.values()].reduce((a, b) => a + b, 0);
  for (const topicId of topics) {
    const subscribers = subscribersOf.get(topicId)!;
    if (subscribers.length < 2) continue;
    while (moves < maxMoves) {
      const low = fewest(subscribers);
      const donors = subscribers.filter((m) => (next.get(m.memberId)!.get(topicId)?.size ?? 0) > 0);
      if (donors.length === 0) break;
      const high = donors.reduce((best, m) => (counts.get(m.memberId)! > counts.get(best.memberId)! ? m : best));
      if (counts.get(high.memberId)! - counts.get(low.memberId)! <= 1) break;
      const parts = next.get(high.memberId)!.get(topicId)!;
      const p = Math.max(...parts);
      parts.delete(p);
      if (parts.size === 0) next.get(high.memberId)!.delete(topicId);
      addPartition(next.get(low.memberId)!, topicId, p);
      counts.set(high.memberId, counts.get(high.memberId)! - 1);
      counts.set(low.memberId, counts.get(low.memberId)! + 1);
      moves++;
    }
  }
  for (const [memberId, a] of next) if (countOf(a) === 0) next.set(memberId, new Map());
  return next;
}

export const UNIFORM_ASSIGNOR: ConsumerGroupAssignor = {
  name: 'uniform',
  assign(input) {
    return input.homogeneous ? assignUniformHomogeneous(input) : assignUniformHeterogeneous(input);
  },
};

function rangeOrder(a: AssignorMember, b: AssignorMember): number {
  if (a.instanceId !== null && b.instanceId !== null) return a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0;
  if (a.instanceId !== null) return -1;
  if (b.instanceId !== null) return 1;
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;
}

export const RANGE_ASSIGNOR: ConsumerGroupAssignor = {
  name: 'range',
  assign(input) {
    const members = [...input.members].sort(rangeOrder);
    const result = new Map<string, Map<string, Set<number>>>();
    for (const m of members) result.set(m.memberId, new Map());
    const topics = new Set<string>();
    for (const m of members) for (const t of m.subscribedTopicIds) topics.add(t);
    for (const topicId of topics) {
      const subscribers = members.filter((m) => m.subscribedTopicIds.has(topicId));
      const n = partitionCount(input, topicId);
      const minQuota = Math.floor(n / subscribers.length);
      let extra = n % subscribers.length;
      let start = 0;
      for (const m of subscribers) {
        let quota = minQuota;
        if (extra > 0) {
          quota++;
          extra--;
        }
        const end = Math.min(start + quota, n);
        for (let p = start; p < end; p++) addPartition(result.get(m.memberId)!, topicId, p);
        start = end;
      }
    }
    return result;
  },
};

const BY_NAME: ReadonlyMap<string, ConsumerGroupAssignor> = new Map([
  ['uniform', UNIFORM_ASSIGNOR],
  ['org.apache.kafka.coordinator.group.assignor.UniformAssignor', UNIFORM_ASSIGNOR],
  ['range', RANGE_ASSIGNOR],
  ['org.apache.kafka.coordinator.group.assignor.RangeAssignor', RANGE_ASSIGNOR],
]);

/** The assignors of `group.consumer.assignors`, in order (the first is the default), by their short names. */
export function configuredAssignors(names: readonly string[]): ConsumerGroupAssignor[] {
  const out: ConsumerGroupAssignor[] = [];
  for (const n of names) {
    const a = BY_NAME.get(n);
    if (a !== undefined && !out.includes(a)) out.push(a);
  }
  return out.length > 0 ? out : [UNIFORM_ASSIGNOR, RANGE_ASSIGNOR];
}
