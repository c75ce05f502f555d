// The server-side assignors (uniform, range) and the ConsumerGroup* record codec of KIP-848 groups, without sockets.
import { describe, expect, it } from 'vitest';
import { RANGE_ASSIGNOR, UNIFORM_ASSIGNOR, type AssignorMember } from '../../src/group/consumer-group/assignors.js';
import type { Assignment } from '../../src/group/consumer-group/assignment.js';
import { decodeConsumerGroupRecord, encodeConsumerGroupRecordKey, encodeConsumerGroupRecordValue, readConsumerGroupRecordKey, type ConsumerGroupRecord } from '../../src/group/consumer-group/records.js';
import { Reader } from '../../src/protocol/reader.js';

const T1 = 'a'.repeat(32);
const T2 = 'b'.repeat(32);

function member(memberId: string, topics: string[], assignment: Record<string, number[]> = {}, instanceId: string | null = null): AssignorMember {
  return { memberId, instanceId, rackId: null, subscribedTopicIds: new Set(topics), assignment: new Map(Object.entries(assignment).map(([t, ps]) => [t, new Set(ps)])) };
}

function flat(a: Assignment | undefined): string[] {
  return [...(a ?? new Map())].flatMap(([t, ps]) => [...ps].map((p) => `${t.slice(0, 1)}${p}`)).sort();
}

describe('uniform assignor', () => {
  it('balances a homogeneous group to within one partition and keeps what members already had', () => {
    const counts = new Map([[T1, 5]]);
    const first = UNIFORM_ASSIGNOR.assign({ members: [member('m1', [T1])], homogeneous: true, partitionCounts: counts });
    expect(flat(first.get('m1'))).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    const second = UNIFORM_ASSIGNOR.assign({
      members: [member('m1', [T1], { [T1]: [0, 1, 2, 3, 4] }), member('m2', [T1])],
      homogeneous: true,
      partitionCounts: counts,
    });
    expect(flat(second.get('m1'))).toEqual(['a0', 'a1', 'a2']);
    expect(flat(second.get('m2'))).toEqual(['a3', 'a4']);
  });

  it('gives every partition of a heterogeneous group to a subscriber, sticky and balanced', () => {
    const counts = new Map([
      [T1, 4],
      [T2, 2],
    ]);
    const out = UNIFORM_ASSIGNOR.assign({
      members: [member('m1', [T1, T2], { [T1]: [0, 1, 2, 3], [T2]: [0, 1] }), member('m2', [T1])],
      homogeneous: false,
      partitionCounts: counts,
    });
    const all = [...flat(out.get('m1')), ...flat(out.get('m2'))].sort();
    expect(all).toEqual(['a0', 'a1', 'a2', 'a3', 'b0', 'b1']);
    expect(flat(out.get('m2')).every((p) => p.startsWith('a'))).toBe(true);
    expect(flat(out.get('m1'))).toHaveLength(3);
    expect(flat(out.get('m2'))).toHaveLength(3);
  });
});

describe('range assignor', () => {
  it('co-partitions topics with equal partition counts, static members first', () => {
    const counts = new Map([
      [T1, 3],
      [T2, 3],
    ]);
    const out = RANGE_ASSIGNOR.assign({ members: [member('z-dynamic', [T1, T2]), member('m-static', [T1, T2], {}, 'i0')], homogeneous: true, partitionCounts: counts });
    expect(flat(out.get('m-static'))).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(flat(out.get('z-dynamic'))).toEqual(['a2', 'b2']);
  });
});

describe('ConsumerGroup* records', () => {
  const roundTrip = (r: ConsumerGroupRecord) => {
    const key = encodeConsumerGroupRecordKey(r);
    const reader = new Reader(key);
    const k = readConsumerGroupRecordKey(reader.readInt16(), reader)!;
    return { key, value: encodeConsumerGroupRecordValue(r), decoded: decodeConsumerGroupRecord(k, encodeConsumerGroupRecordValue(r)) };
  };

  it('writes ConsumerGroupMetadataKey v3 / Value v0 as Kafka does', () => {
    const { key, value, decoded } = roundTrip({ type: 'epoch', groupId: 'g', value: 7 });
    expect(key.toString('hex')).toBe('000300' + '0167');
    expect(value!.toString('hex')).toBe('0000' + '00000007' + '00');
    expect(decoded).toEqual({ type: 'epoch', groupId: 'g', value: 7 });
  });

  it('round-trips a member with its classic metadata (tagged field 0) and a current assignment', () => {
    const m: ConsumerGroupRecord = {
      type: 'member',
      groupId: 'g',
      memberId: 'm',
      value: {
        instanceId: 'i',
        rackId: null,
        clientId: 'c',
        clientHost: '/127.0.0.1',
        subscribedTopicNames: ['a', 'b'],
        subscribedTopicRegex: 'x.*',
        rebalanceTimeoutMs: 30000,
        serverAssignor: 'range',
        classicMemberMetadata: { sessionTimeoutMs: 10000, supportedProtocols: [{ name: 'range', metadata: Buffer.from([1, 2]) }] },
      },
    };
    expect(roundTrip(m).decoded).toEqual(m);
    expect(roundTrip(m).key.readInt16BE(0)).toBe(5);
    const c: ConsumerGroupRecord = {
      type: 'current-assignment',
      groupId: 'g',
      memberId: 'm',
      value: { memberEpoch: 3, previousMemberEpoch: 2, state: 1, assignedPartitions: new Map([[T1, new Set([0, 2])]]), partitionsPendingRevocation: new Map([[T2, new Set([1])]]) },
    };
    expect(roundTrip(c).decoded).toEqual(c);
    expect(roundTrip(c).key.readInt16BE(0)).toBe(8);
    expect(roundTrip({ type: 'target-member', groupId: 'g', memberId: 'm', value: null }).value).toBeNull();
  });
});
