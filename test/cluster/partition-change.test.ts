import { describe, expect, it } from 'vitest';
import { buildPartitionChange } from '../../src/cluster/partition-change.js';
import type { PartitionImage } from '../../src/cluster/metadata-image.js';

const base: PartitionImage = {
  topicId: 'ab'.repeat(16),
  partition: 0,
  replicas: [1, 2, 3],
  isr: [1, 2, 3],
  leader: 1,
  leaderEpoch: 5,
  partitionEpoch: 9,
  leaderRecoveryState: 0,
  modRevision: 100,
};
const activeOf = (ids: number[]) => (id: number): boolean => ids.includes(id);

describe('partition change rules (PartitionChangeBuilder)', () => {
  it('a lost leader is replaced by the first live ISR member in replica order; both epochs bump', () => {
    const live = activeOf([2, 3]);
    expect(buildPartitionChange(base, { election: 'online', isAcceptable: live, targetIsr: [2, 3] })).toMatchObject({
      leader: 2,
      isr: [2, 3],
      leaderEpoch: 6,
      partitionEpoch: 10,
    });
  });

  it('an ISR shrink that keeps the leader bumps only the partition epoch', () => {
    expect(buildPartitionChange(base, { election: 'online', isAcceptable: activeOf([1, 3]), targetIsr: [1, 3] })).toMatchObject({
      leader: 1,
      isr: [1, 3],
      leaderEpoch: 5,
      partitionEpoch: 10,
    });
  });

  it('the ISR never becomes empty: the last member stays and the partition goes offline', () => {
    const p = { ...base, isr: [2], leader: 2 };
    expect(buildPartitionChange(p, { election: 'online', isAcceptable: activeOf([1, 3]), targetIsr: [] })).toMatchObject({
      leader: -1,
      isr: [2],
      leaderEpoch: 6,
    });
  });

  it('unclean election picks the first live replica and forces the ISR to it, RECOVERING', () => {
    const p = { ...base, isr: [2], leader: -1 };
    expect(buildPartitionChange(p, { election: 'unclean', isAcceptable: activeOf([3]), targetIsr: [] })).toMatchObject({
      leader: 3,
      isr: [3],
      leaderRecoveryState: 1,
    });
    expect(buildPartitionChange(p, { election: 'online', isAcceptable: activeOf([3]), targetIsr: [] })).toBeUndefined();
  });

  it('a broker coming back leads a leaderless partition whose ISR still holds it', () => {
    const p = { ...base, isr: [2], leader: -1, leaderEpoch: 6 };
    expect(buildPartitionChange(p, { election: 'online', isAcceptable: activeOf([1, 2]), targetIsr: [2] })).toMatchObject({ leader: 2, isr: [2], leaderEpoch: 7 });
  });

  it('preferred election moves leadership to replicas[0] when it is live and in the ISR', () => {
    const p = { ...base, leader: 2 };
    expect(buildPartitionChange(p, { election: 'preferred', isAcceptable: activeOf([1, 2, 3]) })).toMatchObject({ leader: 1, leaderEpoch: 6 });
    expect(buildPartitionChange({ ...p, isr: [2, 3] }, { election: 'preferred', isAcceptable: activeOf([1, 2, 3]) })).toBeUndefined();
  });

  it('no change means no record', () => {
    expect(buildPartitionChange(base, { election: 'online', isAcceptable: activeOf([1, 2, 3]), targetIsr: [1, 2, 3] })).toBeUndefined();
  });
});
