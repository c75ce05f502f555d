// KIP-848 end to end: consumer-protocol members (test/helpers/consumer-protocol-member.ts, which follows the Java
// client's ConsumerMembershipManager) join and leave while a kafkajs producer writes; partitions move between
// members without stopping the others, every record is consumed exactly once across the group, and each
// partition's commits only move forward. Then a classic kafkajs consumer meets the same group id, as far as this
// broker takes Kafka's rules (src/group/coordinator.ts): refused while the consumer group has members, a classic
// member once it is empty.
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
  it('is refused while the consumer group has members, and joins as a classic group once it is empty', async () => {
    await tb.broker.createTopic('kip848-mixed', { partitions: 2 });
    const kafka = new Kafka({ clientId: 'kip848-classic', brokers: [tb.broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const seen: string[] = [];
    const m = await ConsumerProtocolMember.start({ port: tb.port, groupId: 'kip848-mixed', topics: ['kip848-mixed'], memberId: 'modern', onRecord: (r) => seen.push(r.value) });
    members.push(m);
    await until('the member to own both partitions', () => m.owned.size === 2);

    const refused = kafka.consumer({ groupId: 'kip848-mixed', retry: { retries: 0 } });
    await refused.connect();
    await refused.subscribe({ topic: 'kip848-mixed', fromBeginning: true });
    const crashed = new Promise<string>((resolve) => refused.on(refused.events.CRASH, (e) => resolve(String((e.payload.error as Error & { type?: string }).type ?? e.payload.error.message))));
    void refused.run({ eachMessage: async () => undefined }).catch(() => undefined);
    expect(await crashed).toBe('INCONSISTENT_GROUP_PROTOCOL');
    await refused.disconnect();

    await m.stop();
    members.splice(members.indexOf(m), 1);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kip848-mixed', messages: [{ value: 'after' }] });
    await producer.disconnect();
    const classic = kafka.consumer({ groupId: 'kip848-mixed' });
    await classic.connect();
    await classic.subscribe({ topic: 'kip848-mixed', fromBeginning: true });
    const got: string[] = [];
    await classic.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    await until('the classic consumer to read', () => got.includes('after'));
    const c = await TestClient.connect(tb.port);
    const listed = await c.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    c.close();
    expect(listed.groups).toEqual([{ groupId: 'kip848-mixed', protocolType: 'consumer', groupState: 'Stable', groupType: 'classic' }]);
    await classic.disconnect();
  });
});
