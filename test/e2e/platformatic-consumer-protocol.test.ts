// KIP-848 with a real client: @platformatic/kafka 1.35 consumers with `groupProtocol: 'consumer'`
// (ConsumerGroupHeartbeat v1, the broker computes the assignment) on one 6-partition topic while a platformatic
// producer writes a bounded number of records. Members join and leave; every record is consumed, each partition's
// commits only move forward, the group's final commits reach the end of every partition, and a member keeps
// consuming the partitions it keeps while another joins (records during the rebalance window).
//
// Delivery guarantee checked: at-least-once with no gap, not exactly-once. platformatic's autocommit commits what it
// has fetched, and on a revocation it pauses its streams and sends the commit but does not wait for it before the
// heartbeat that gives the partitions up (consumer.js #revokePartitions; Java and librdkafka commit synchronously
// in onPartitionsRevoked first); a fetch already in flight can also deliver records of a partition just revoked.
// The new owner then starts from the last commit the broker has, so records between that commit and the old
// owner's last delivery are consumed twice. And whenever a member gains partitions, platformatic refreshes the
// positions of all its partitions from the committed offsets (messages-stream.js #assignOffsets), so it can
// re-read records of partitions it kept (Java keeps the positions of retained partitions). The test counts the
// duplicates and bounds them.
//
// Second case, Kafka 4.0's mixed group (src/group/consumer-group/classic-members.ts): a classic kafkajs consumer
// forms the group, a platformatic consumer-protocol member joins it (online upgrade), both consume their share while
// the broker never has one partition assigned to both, then the platformatic member leaves (online downgrade) and
// kafkajs takes every partition back in a classic rebalance.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Consumer, Producer, stringDeserializers, stringSerializers, type MessagesStream } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
const closers: Array<() => Promise<void>> = [];

beforeEach(async () => {
  tb = await startTestBroker({ groupConsumerMinHeartbeatIntervalMs: 100, groupConsumerHeartbeatIntervalMs: 200 });
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await tb.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Delivery {
  member: string;
  partition: number;
  offset: bigint;
  atMs: number;
}

interface Member {
  name: string;
  consumer: Consumer<string, string, string, string>;
  stream: MessagesStream<string, string, string, string>;
  errors: unknown[];
  /** Autocommits refused with STALE_MEMBER_EPOCH (see below). */
  staleCommits: number;
  close(): Promise<void>;
}

/**
 * platformatic sends an autocommit with the member epoch it knows; one sent while a heartbeat that bumps the epoch
 * is in flight reaches the broker after it and is refused with STALE_MEMBER_EPOCH, as Kafka's
 * ConsumerGroup.validateOffsetCommit refuses it. Java's CommitRequestManager retries such a commit with the new
 * epoch; platformatic drops it (the next autocommit carries later offsets), so the test tolerates these.
 */
function isStaleMemberEpoch(err: unknown): boolean {
  const topics = (err as { response?: { topics?: Array<{ partitions: Array<{ errorCode: number }> }> } }).response?.topics;
  return topics !== undefined && topics.length > 0 && topics.every((t) => t.partitions.every((p) => p.errorCode === 0 || p.errorCode === 113));
}

/** Partitions of `topic` the member holds now. */
function ownedPartitions(m: Member, topic: string): number[] {
  return [...(m.consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? [])].sort((a, b) => a - b);
}

describe('@platformatic/kafka consumers with the consumer group protocol (KIP-848)', () => {
  it('members join and leave while producing: every record consumed, commits monotonic, kept partitions keep flowing', async () => {
    const topic = 'plt-kip848';
    const groupId = 'plt-kip848-group';
    await tb.broker.createTopic(topic, { partitions: 6 });
    const producer = new Producer({ clientId: 'plt-producer', bootstrapBrokers: [tb.broker.bootstrap], serializers: stringSerializers, acks: -1 });
    closers.push(() => producer.close());

    const deliveries = new Map<string, Delivery[]>();
    const commits = new Map<number, Array<{ member: string; offset: bigint }>>();

    const join = async (name: string): Promise<Member> => {
      const consumer = new Consumer({
        clientId: name,
        groupId,
        bootstrapBrokers: [tb.broker.bootstrap],
        groupProtocol: 'consumer',
        deserializers: stringDeserializers,
        maxWaitTime: 100,
        retries: 20,
        retryDelay: 100,
      });
      const errors: unknown[] = [];
      const stream = await consumer.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: true });
      stream.on('data', (m) => {
        const list = deliveries.get(m.value) ?? [];
        list.push({ member: name, partition: m.partition, offset: m.offset, atMs: Date.now() });
        deliveries.set(m.value, list);
      });
      stream.on('autocommit', (err: unknown, offsets?: Array<{ topic: string; partition: number; offset: bigint }>) => {
        if (err) {
          if (isStaleMemberEpoch(err)) member.staleCommits++;
          else errors.push(err);
          return;
        }
        for (const o of offsets ?? []) commits.set(o.partition, [...(commits.get(o.partition) ?? []), { member: name, offset: o.offset }]);
      });
      stream.on('error', (err) => errors.push(err));
      let closed = false;
      const member: Member = {
        name,
        consumer,
        stream,
        errors,
        staleCommits: 0,
        async close() {
          if (closed) return;
          closed = true;
          await stream.close();
          await consumer.close();
        },
      };
      closers.push(() => member.close());
      return member;
    };

    // A bounded producer writing in the background: one record every few ms, keys spread over the partitions.
    const total = 900;
    let sent = 0;
    const producing = (async () => {
      for (; sent < total; sent++) {
        await producer.send({ messages: [{ topic, key: `k${sent}`, value: `v${sent}`, partition: sent % 6 }] });
        if (sent % 10 === 0) await sleep(15);
      }
    })();

    const a = await join('a');
    await until('a to own all six partitions', () => ownedPartitions(a, topic).length === 6);
    await until('a to consume', () => deliveries.size >= 50);

    // b joins: the window runs from its join until both hold three partitions each.
    const windowStart = Date.now();
    const b = await join('b');
    await until('a and b to share the partitions', () => ownedPartitions(a, topic).length === 3 && ownedPartitions(b, topic).length === 3);
    const windowEnd = Date.now();
    const kept = ownedPartitions(a, topic);
    const keptDuringWindow = [...deliveries.values()].flat().filter((d) => d.member === 'a' && kept.includes(d.partition) && d.atMs >= windowStart && d.atMs <= windowEnd);
    expect(keptDuringWindow.length, `records a consumed on its kept partitions ${kept} during the ${windowEnd - windowStart} ms rebalance`).toBeGreaterThan(0);

    const c = await join('c');
    await until('three members with two partitions each', () => [a, b, c].every((m) => ownedPartitions(m, topic).length === 2));

    // b leaves (ConsumerGroupHeartbeat epoch -1); a and c take its partitions while the producer goes on.
    await b.close();
    await until('a and c to own all six partitions', () => ownedPartitions(a, topic).length + ownedPartitions(c, topic).length === 6);

    await producing;
    expect(sent).toBe(total);
    await until('every record consumed', () => deliveries.size === total);

    // No gap, every record at least once, each from one partition; duplicates are counted (see the header).
    let duplicates = 0;
    for (let i = 0; i < total; i++) {
      const got = deliveries.get(`v${i}`);
      expect(got, `v${i} consumed`).toBeDefined();
      expect(new Set(got!.map((d) => d.partition)).size).toBe(1);
      duplicates += got!.length - 1;
    }
    expect(duplicates).toBeLessThan(total / 4);
    expect(new Set([...deliveries.values()].flat().map((d) => d.member))).toEqual(new Set(['a', 'b', 'c']));

    // Each member's commits of a partition, and the group's as the clients saw them complete, only move forward.
    for (const [p, list] of commits) {
      for (let i = 1; i < list.length; i++) {
        expect(list[i]!.offset >= list[i - 1]!.offset, `partition ${p}: ${list[i]!.member} committed ${list[i]!.offset} after ${list[i - 1]!.member}'s ${list[i - 1]!.offset}`).toBe(true);
      }
    }
    // The group's committed offsets reach the end of every partition.
    await until('final commits', async () => {
      const client = await TestClient.connect(tb.port);
      try {
        const res = await client.send(ApiKey.OffsetFetch, 9, { groups: [{ groupId, memberId: null, memberEpoch: -1, topics: null }], requireStable: true });
        const committed = res.groups[0].topics.flatMap((t: any) => t.partitions.map((p: any) => p.committedOffset as bigint));
        return committed.length === 6 && committed.reduce((x: bigint, y: bigint) => x + y, 0n) === BigInt(total);
      } finally {
        client.close();
      }
    });
    for (const m of [a, b, c]) expect(m.errors).toEqual([]);
    console.log(`platformatic KIP-848: ${duplicates} records consumed twice, ${a.staleCommits + b.staleCommits + c.staleCommits} autocommits refused with STALE_MEMBER_EPOCH`);

    // The group is a consumer group with the two members left, as ConsumerGroupDescribe shows.
    const client = await TestClient.connect(tb.port);
    const described = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId], includeAuthorizedOperations: false });
    client.close();
    expect(described.groups[0].errorCode).toBe(0);
    expect(described.groups[0].members.map((m: any) => m.clientId).sort()).toEqual(['a', 'c']);
  }, 90_000);

  it('a classic kafkajs consumer and a consumer-protocol member share one group: upgrade, disjoint assignments, downgrade, every record consumed', async () => {
    const topic = 'plt-mixed';
    const groupId = 'plt-mixed-group';
    await tb.broker.createTopic(topic, { partitions: 6 });
    const kafka = new Kafka({ clientId: 'mixed-kafkajs', brokers: [tb.broker.bootstrap], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    closers.push(() => producer.disconnect());

    const consumedBy = new Map<string, Set<string>>();
    const record = (value: string, by: string) => consumedBy.set(value, (consumedBy.get(value) ?? new Set()).add(by));
    let kafkajsAssigned: number[] = [];
    // kafkajs heartbeats between fetches: a short fetch wait makes it notice REBALANCE_IN_PROGRESS quickly.
    const classic = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 200, rebalanceTimeout: 10000, maxWaitTimeInMs: 100 });
    classic.on(classic.events.GROUP_JOIN, (e) => void (kafkajsAssigned = [...(e.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b)));
    await classic.connect();
    closers.push(() => classic.disconnect());
    await classic.subscribe({ topic, fromBeginning: true });
    await classic.run({ eachMessage: async ({ message }) => void record(message.value!.toString(), 'kafkajs') });
    await until('kafkajs to own all six partitions', () => kafkajsAssigned.length === 6);

    let sent = 0;
    const produce = async (n: number) => {
      for (let i = 0; i < n; i++, sent++) await producer.send({ topic, acks: -1, messages: [{ key: `k${sent}`, value: `m${sent}`, partition: sent % 6 }] });
    };
    await produce(120);

    // The broker's view: no partition is ever held by both members (ConsumerGroupDescribe, current assignments).
    const overlaps: string[] = [];
    let describedWithBoth = 0;
    let polling = true;
    const admin = await TestClient.connect(tb.port, 'mixed-describe');
    const poller = (async () => {
      for (let i = 0; polling && i < 2000; i++) {
        const d = await admin.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: [groupId], includeAuthorizedOperations: false });
        const g = d.groups[0];
        if (g.errorCode === 0) {
          if (g.members.length === 2) describedWithBoth++;
          const holders = new Map<number, string>();
          for (const m of g.members) {
            for (const p of m.assignment.topicPartitions.flatMap((t: any) => t.partitions)) {
              if (holders.has(p)) overlaps.push(`partition ${p}: ${holders.get(p)} and ${m.memberId}`);
              holders.set(p, m.memberId);
            }
          }
        }
        await sleep(25);
      }
    })();

    const modern = new Consumer({ clientId: 'mixed-platformatic', groupId, bootstrapBrokers: [tb.broker.bootstrap], groupProtocol: 'consumer', deserializers: stringDeserializers, maxWaitTime: 100 });
    const stream = await modern.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: true });
    stream.on('data', (m) => record(m.value, 'platformatic'));
    let modernClosed = false;
    const closeModern = async () => {
      if (modernClosed) return;
      modernClosed = true;
      await stream.close();
      await modern.close();
    };
    closers.push(closeModern);
    await until('both members to hold partitions', () => kafkajsAssigned.length > 0 && kafkajsAssigned.length < 6 && ownedPartitionsOf(modern, topic).length > 0);
    await until('the two to split the six partitions', () => kafkajsAssigned.length + ownedPartitionsOf(modern, topic).length === 6);
    expect(kafkajsAssigned.filter((p) => ownedPartitionsOf(modern, topic).includes(p))).toEqual([]);
    const listedMixed = await admin.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    expect(listedMixed.groups.find((g: any) => g.groupId === groupId).groupType).toBe('consumer');
    await produce(240);
    await until('every record so far consumed', () => consumedBy.size === sent);
    const byModern = [...consumedBy.values()].filter((who) => who.has('platformatic')).length;
    expect(byModern).toBeGreaterThan(0);

    // The consumer-protocol member leaves: the group is classic again and kafkajs gets every partition.
    await closeModern();
    await until('kafkajs to own all six partitions again', () => kafkajsAssigned.length === 6);
    const listedAfter = await admin.send(ApiKey.ListGroups, 5, { statesFilter: [], typesFilter: [] });
    expect(listedAfter.groups.find((g: any) => g.groupId === groupId).groupType).toBe('classic');
    await produce(120);
    await until('every record consumed', () => consumedBy.size === sent);
    polling = false;
    await poller;
    admin.close();

    expect(overlaps).toEqual([]);
    expect(describedWithBoth).toBeGreaterThan(0);
    for (let i = 0; i < sent; i++) expect(consumedBy.has(`m${i}`), `m${i}`).toBe(true);
    const byKafkajsAfter = [...consumedBy.entries()].filter(([v]) => Number(v.slice(1)) >= 360).every(([, who]) => who.has('kafkajs'));
    expect(byKafkajsAfter).toBe(true);
  }, 90_000);
});

function ownedPartitionsOf(consumer: Consumer<string, string, string, string>, topic: string): number[] {
  return [...(consumer.assignments?.find((a) => a.topic === topic)?.partitions ?? [])].sort((a, b) => a - b);
}
