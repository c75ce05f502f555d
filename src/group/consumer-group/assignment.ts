// Partition assignments of consumer-protocol groups (KIP-848): topic id → partitions, as Kafka's
// modern/Assignment.java keeps them. Topic ids are the registry's 16-byte UUIDs, held here as 32-char hex strings
// so they can key a Map; they turn back into Buffers only at the wire and in records.

/** topic id (hex) → partition indexes. Treated as immutable once built: changes make a new map. */
export type Assignment = ReadonlyMap<string, ReadonlySet<number>>;

export const EMPTY_ASSIGNMENT: Assignment = new Map();

export function topicIdHex(topicId: Buffer): string {
  return topicId.toString('hex');
}

export function topicIdBuffer(hex: string): Buffer {
  return Buffer.from(hex, 'hex');
}

export function assignmentSize(a: Assignment): number {
  let n = 0;
  for (const parts of a.values()) n += parts.size;
  return n;
}

export function assignmentsEqual(a: Assignment, b: Assignment): boolean {
  if (a === b) return true;
  let sizeA = 0;
  for (const [topicId, parts] of a) {
    if (parts.size === 0) continue;
    sizeA++;
    const other = b.get(topicId);
    if (other === undefined || other.size !== parts.size) return false;
    for (const p of parts) if (!other.has(p)) return false;
  }
  let sizeB = 0;
  for (const parts of b.values()) if (parts.size > 0) sizeB++;
  return sizeA === sizeB;
}

/** Builds an assignment from wire or record form, dropping empty topics. */
export function assignmentFrom(list: ReadonlyArray<{ topicId: Buffer; partitions: readonly number[] }>): Assignment {
  const out = new Map<string, Set<number>>();
  for (const t of list) {
    if (t.partitions.length === 0) continue;
    const key = topicIdHex(t.topicId);
    let set = out.get(key);
    if (set === undefined) out.set(key, (set = new Set()));
    for (const p of t.partitions) set.add(p);
  }
  return out;
}

/** Wire or record form, topics and partitions in ascending order (stable bytes for equal assignments). */
export function assignmentToList(a: Assignment): Array<{ topicId: Buffer; partitions: number[] }> {
  return [...a]
    .filter(([, parts]) => parts.size > 0)
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([topicId, parts]) => ({ topicId: topicIdBuffer(topicId), partitions: [...parts].sort((p, q) => p - q) }));
}

/** True when every partition of `owned` is in `assigned` (Kafka's GroupMetadataManager.isSubset). */
export function isSubset(owned: ReadonlyArray<{ topicId: Buffer; partitions: readonly number[] }> | null, assigned: Assignment): boolean {
  if (owned === null) return false;
  for (const t of owned) {
    const parts = assigned.get(topicIdHex(t.topicId));
    for (const p of t.partitions) if (parts === undefined || !parts.has(p)) return false;
  }
  return true;
}

/** A mutable copy, for building the next assignment. */
export function copyAssignment(a: Assignment): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const [topicId, parts] of a) if (parts.size > 0) out.set(topicId, new Set(parts));
  return out;
}

export function addPartition(a: Map<string, Set<number>>, topicId: string, partition: number): void {
  let set = a.get(topicId);
  if (set === undefined) a.set(topicId, (set = new Set()));
  set.add(partition);
}
