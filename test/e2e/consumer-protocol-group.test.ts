// KIP-848 end to end: consumer-protocol members (test/helpers/consumer-protocol-member.ts, which follows the Java
// client's ConsumerMembershipManager) join and leave while a kafkajs producer writes; partitions move between
// members without stopping the others, every record is consumed exactly once across the group, and each
// partition's commits only move forward. Then a classic kafkajs consumer joins the consumer group as a classic
// member (Kafka 4.0, src/group/consumer-group/classic-members.ts) and the group is downgraded to a classic group
// when the consumer-protocol member leaves.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { ConsumerProtocolMember } from '../helpers/consumer-protocol-member.js';

let tb: TestBroker;
const members: ConsumerProtocolMember[] = [];

beforeEach(async () => {
  tb = await startTestBroker({ groupConsumerMinHeartbeatIntervalMs: 100, groupConsumerHeartbeatIntervalMs: 100 });
});
afterEach(async () => {
  for (const m of members.splice(0)) await m.stop();
  await tb.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('consumer-protocol members while producing', () => {
  it('members join and leave, partitions move, every record is consumed exactly once and commits are monotonic', async () => {
    await tb.broker.createTopic('kip848-a', { partitions: 4 });
    await tb.broker.createTopic('kip848-b', { partitions: 2 });
    const kafka = new Kafka({ clientId: 'kip848-producer', brokers: [tb.broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();

    const seen = new Map<string, string[]>();
    const commits = new Map<string, bigint[]>();
    const start = (memberId: string) => {
      const m = ConsumerProtocolMember.start({
        port: tb.port,
        groupId: 'kip848-e2e',
        topics: ['kip848-a', 'kip848-b'],
        memberId,
        onRecord: (r, by) => seen.set(r.value, [...(seen.get(r.value) ?? []), by]),
        onCommit: (topic, partition, offset) => commits.set(`${topic}-${partition}`, [...(commits.get(`${topic}-${partition}`) ?? []), offset]),
      });
      return m.then((x) => {
        members.push(x);
        return x;
      });
    };

    const total = 600;
    let sent = 0;
    const produce = async (count: number) => {
      for (let i = 0; i < count; i++, sent++) {
        await producer.send({ topic: sent % 3 === 0 ? 'kip848-b' : 'kip848-a', acks: -1, messages: [{ key: `k${sent}`, value: `v${sent}` }] });
      }
    };

    const m1 = await start('m1');
    await produce(100);
    const m2 = await start('m2');
    await produce(100);
    const m3 = await start('m3');
    await produce(100);
    await until('three members sharing the partitions', () => [m1, m2, m3].every((m) => m.owned.size > 0));
    // m2 leaves while the producer keeps writing; its partitions go to the others.
    await m2.stop();
    members.splice(members.indexOf(m2), 1);
    await produce(150);
    const m4 = await start('m4');
    await produce(150);
    expect(sent).toBe(total);
    await until('every record consumed', () => seen.size === total);
    await until('the members to own all six partitions', () => [m1, m3, m4].reduce((n, m) => n + m.owned.size, 0) === 6);
    await producer.disconnect();

    for (let i = 0; i < total; i++) expect(seen.get(`v${i}`), `v${i}`).toHaveLength(1);
    const consumers = new Set([...seen.values()].flat());
    expect([...consumers].sort()).toEqual(['m1', 'm2', 'm3', 'm4']);
    for (const [tp, offsets] of commits) {
      for (let i = 1; i < offsets.length; i++) expect(offsets[i]! >= offsets[i - 1]!, `${tp} commit ${offsets[i]} after ${offsets[i - 1]}`).toBe(true);
    }
    for (const m of [m1, m2, m3, m4]) expect(m.errors).toEqual([]);

    // Each partition's last commit reaches its end.
    await until('final commits', async () => {
      const c = await TestClient.connect(tb.port);
      try {
        const res = await c.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId: 'kip848-e2e', memberId: null, memberEpoch: -1, topics: null }], requireStable: true });
        const committed = res.groups[0].topics.flatMap((t: any) => t.partitions.map((p: any) => p.committedOffset as bigint));
        return committed.length === 6 && committed.reduce((a: bigint, b: bigint) => a + b, 0n) === BigInt(total);
      } finally {
        c.close();
      }
    });
  });
});

describe('a classic kafkajs consumer and consumer-protocol members on one group id', () => {
  it('joins the consumer group as a classic member (Kafka 4.0), shares the partitions, and the group turns classic when the member leaves', async () => {
    await tb.broker.createTopic('kip848-mixed', { partitions: 2 });
    const kafka = new Kafka({ clientId: 'kip848-classic', brokers: [tb.broker.bootstrap], logLevel: logLevel.NOTHING });
    const seen: string[] = [];
    const m = await ConsumerProtocolMember.start({ port: tb.port, groupId: 'kip848-mixed', topics: ['kip848-mixed'], memberId: 'modern', onRecord: (r) => seen.push(r.value) });
    members.push(m);
    await until('the member to own both partitions', () => m.owned.size === 2);

    // kafkajs joins the consumer group with JoinGroup/SyncGroup: the broker assigns it one partition once the
    // consumer-protocol member has revoked it.
    let classicAssigned: number[] = [];
    const classic = kafka.consumer({ groupId: 'kip848-mixed', heartbeatInterval: 100, maxWaitTimeInMs: 100 });
    classic.on(classic.events.GROUP_JOIN, (e) => void (classicAssigned = [...(e.payload.memberAssignment['kip848-mixed'] ?? [])]));
    await classic.connect();
    await classic.subscribe({ topic: 'kip848-mixed', fromBeginning: true });
    const got: string[] = [];
    await classic.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await until('each to hold one partition', () => classicAssigned.length === 1 && m.owned.size === 1);
    const c = await TestClient.connect(tb.port);
    const listed = await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    expect(listed.groups.map((g: any) => [g.groupId, g.groupType])).toEqual([['kip848-mixed', 'consumer']]);

    const producer = kafka.producer();
    await producer.connect();
    for (let i = 0; i < 20; i++) await producer.send({ topic: 'kip848-mixed', messages: [{ value: `r${i}`, partition: i % 2 }] });
    await until('every record consumed', () => new Set([...seen, ...got]).size === 20);
    expect(seen.length).toBeGreaterThan(0);
    expect(got.length).toBeGreaterThan(0);

    // The last consumer-protocol member leaves: the group is downgraded to a classic group with kafkajs in it.
    await m.stop();
    members.splice(members.indexOf(m), 1);
    await until('kafkajs to hold both partitions', () => classicAssigned.length === 2);
    const after = await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    c.close();
    expect(after.groups).toEqual([{ groupId: 'kip848-mixed', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }]);
    await producer.send({ topic: 'kip848-mixed', messages: [{ value: 'after', partition: 0 }, { value: 'after-1', partition: 1 }] });
    await until('the classic consumer to read both', () => got.includes('after') && got.includes('after-1'));
    await producer.disconnect();
    await classic.disconnect();
  });
});
