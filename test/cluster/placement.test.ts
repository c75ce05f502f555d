import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ReplicationFactorError, placeReplicas, validateManualAssignment, type RandomInt } from '../../src/cluster/placement.js';

/** A deterministic RandomInt (a small LCG). */
function seeded(seed: number): RandomInt {
  let state = seed;
  return (bound) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % bound;
  };
}

function countBy<T>(items: T[]): Map<T, number> {
  const m = new Map<T, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return m;
}

describe('replica placement', () => {
  it('3 brokers, 6 partitions, RF 3: every broker leads 2 partitions and holds all 6', () => {
    for (let seed = 1; seed < 20; seed++) {
      const brokers = [1, 2, 3].map((brokerId) => ({ brokerId, rack: null }));
      const placed = placeReplicas(brokers, 6, 3, seeded(seed));
      expect(placed).toHaveLength(6);
      for (const replicas of placed) expect(new Set(replicas).size).toBe(3);
      expect([...countBy(placed.map((r) => r[0]!)).values()]).toEqual([2, 2, 2]);
    }
  });

  it('spreads leaders over 5 brokers for 10 partitions with RF 2', () => {
    const brokers = [1, 2, 3, 4, 5].map((brokerId) => ({ brokerId, rack: null }));
    const placed = placeReplicas(brokers, 10, 2, seeded(7));
    expect([...countBy(placed.map((r) => r[0]!)).values()].sort()).toEqual([2, 2, 2, 2, 2]);
  });

  it('rack-aware: with 3 racks and RF 3 every partition has one replica per rack, and leaders rotate racks', () => {
    const rackOf = new Map([[1, 'a'], [2, 'a'], [3, 'b'], [4, 'b'], [5, 'c'], [6, 'c']]);
    const brokers = [...rackOf].map(([brokerId, rack]) => ({ brokerId, rack }));
    for (let seed = 1; seed < 10; seed++) {
      const placed = placeReplicas(brokers, 6, 3, seeded(seed));
      for (const replicas of placed) expect(new Set(replicas.map((id) => rackOf.get(id))).size).toBe(3);
      expect([...countBy(placed.map((r) => rackOf.get(r[0]!))).values()]).toEqual([2, 2, 2]);
      expect([...countBy(placed.map((r) => r[0]!)).values()]).toEqual([1, 1, 1, 1, 1, 1]);
    }
  });

  it('rack-aware with RF 2 on 2 racks never puts both replicas in one rack', () => {
    const rackOf = new Map([[1, 'east'], [2, 'east'], [3, 'west'], [4, 'west']]);
    const placed = placeReplicas([...rackOf].map(([brokerId, rack]) => ({ brokerId, rack })), 8, 2, seeded(3));
    for (const replicas of placed) expect(rackOf.get(replicas[0]!)).not.toBe(rackOf.get(replicas[1]!));
  });

  it("refuses a replication factor above the broker count with Kafka's message", () => {
    const brokers = [1, 2].map((brokerId) => ({ brokerId, rack: null }));
    expect(() => placeReplicas(brokers, 1, 3)).toThrow(new ReplicationFactorError('The target replication factor of 3 cannot be reached because only 2 broker(s) are registered.'));
    expect(() => placeReplicas(brokers, 1, 0)).toThrow('Invalid replication factor 0: the replication factor must be positive.');
    expect(() => placeReplicas([], 1, 1)).toThrow('All brokers are currently fenced.');
  });

  it('validates manual assignments as CreateTopics does (INVALID_REPLICA_ASSIGNMENT)', () => {
    const registered = (id: number): boolean => [1, 2, 3].includes(id);
    const code = (fn: () => void): number | undefined => {
      try {
        fn();
        return undefined;
      } catch (err) {
        return (err as { errorCode?: number }).errorCode;
      }
    };
    expect(code(() => validateManualAssignment([1, 2], registered))).toBeUndefined();
    expect(code(() => validateManualAssignment([], registered))).toBe(ErrorCode.INVALID_REPLICA_ASSIGNMENT);
    expect(() => validateManualAssignment([1, 1], registered)).toThrow('The manual partition assignment includes the broker 1 more than once.');
    expect(() => validateManualAssignment([1, 9], registered)).toThrow('The manual partition assignment includes broker 9, but no such broker is registered.');
    expect(() => validateManualAssignment([1, 2, 3], registered, 2)).toThrow(
      'The manual partition assignment includes a partition with 3 replica(s), but this is not consistent with previous partitions, which have 2 replica(s).',
    );
  });
});
