/**
 * kafkajs 2.2.4 consumer groups against an in-process broker (JoinGroup v5, SyncGroup v3, Heartbeat v3,
 * LeaveGroup v3, OffsetCommit v5, OffsetFetch v4, FindCoordinator v2, DescribeGroups v2, ListGroups v2,
 * DeleteGroups v1): partition spreading, take-over after a clean leave and after a crash (session expiry),
 * independent groups, resuming from committed offsets after a broker restart, and the admin group operations.
 * Small session timeouts and group.initial.rebalance.delay.ms=0 keep it fast; every wait is on an event, bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Partitioners, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { kafkaClient } from './support/in-process.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const SESSION_TIMEOUT_MS = 4000;
const GROUP_OPTIONS = { groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: 1000 };
const here = path.dirname(fileURLToPath(import.meta.url));

let tb: TestBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
const consumers: Consumer[] = [];
const children: ChildProcess[] = [];

async function startBroker(dataDir?: string): Promise<void> {
  tb = await startTestBroker({ ...GROUP_OPTIONS, ...(dataDir ? { dataDir } : {}) });
  kafka = kafkaClient(`127.0.0.1:${tb.port}`, 'e2e-kafkajs-groups');
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
}

async function stopBroker(keepData = false): Promise<void> {
  for (const c of consumers.splice(0)) await c.disconnect().catch(() => undefined);
  await producer?.disconnect().catch(() => undefined);
  await admin?.disconnect().catch(() => undefined);
  await tb?.stop({ keepData });
}

beforeAll(async () => {
  await startBroker();
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.disconnect().catch(() => undefined);
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

afterAll(async () => {
  await stopBroker();
});

/** Latest assignment per consumer, with a way to wait (bounded) until a predicate over all of them holds. */
class AssignmentWatch {
  readonly latest = new Map<string, Record<string, number[]>>();
  private waiters: Array<() => void> = [];

  track(name: string, consumer: Consumer): void {
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.latest.set(name, e.payload.memberAssignment);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  forget(name: string): void {
    this.latest.delete(name);
  }

  async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<number> {
    const started = Date.now();
    while (!predicate()) {
      const remaining = timeoutMs - (Date.now() - started);
      if (remaining <= 0) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...this.latest])}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return Date.now() - started;
  }
}

function count(assignment: Record<string, number[]> | undefined, topic: string): number {
  return assignment?.[topic]?.length ?? 0;
}

function newConsumer(groupId: string, extra: Record<string, unknown> = {}): Consumer {
  const c = kafka.consumer({ groupId, sessionTimeout: SESSION_TIMEOUT_MS, rebalanceTimeout: 20000, heartbeatInterval: 300, maxWaitTimeInMs: 200, ...extra });
  consumers.push(c);
  return c;
}

async function produce(topic: string, n: number, prefix: string): Promise<void> {
  await producer.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `${prefix}-${i}`, value: `${prefix}-${i}` })) });
}

/** Runs a consumer until it has seen `n` messages; returns their values. */
async function consumeN(consumer: Consumer, topic: string, n: number, timeoutMs = 30000): Promise<string[]> {
  const values: string[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed ${values.length} of ${n}`)), timeoutMs);
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!.toString());
        if (values.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  return values;
}

describe('kafkajs consumer groups', () => {
  test('3 consumers on a 6-partition topic get 2 partitions each; a clean leave hands its partitions over at once', async () => {
    const topic = 'grp-spread';
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }] });
    const watch = new AssignmentWatch();
    const members = ['a', 'b', 'c'].map((name) => {
      const c = newConsumer('grp-spread-g');
      watch.track(name, c);
      return c;
    });
    for (const c of members) {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
    }
    await watch.until(() => ['a', 'b', 'c'].every((n) => count(watch.latest.get(n), topic) === 2), 30000, '2 partitions each');
    const all = ['a', 'b', 'c'].flatMap((n) => watch.latest.get(n)![topic]!).sort();
    expect(all).toEqual([0, 1, 2, 3, 4, 5]);

    await members[2]!.disconnect();
    watch.forget('c');
    const elapsed = await watch.until(() => count(watch.latest.get('a'), topic) === 3 && count(watch.latest.get('b'), topic) === 3, 30000, '3 partitions each');
    expect(elapsed).toBeLessThan(SESSION_TIMEOUT_MS);
    const described = await admin.describeGroups(['grp-spread-g']);
    expect(described.groups[0]!.state).toBe('Stable');
    expect(described.groups[0]!.members).toHaveLength(2);
  });

  test('a crashed consumer (killed, no LeaveGroup) is expired after its session timeout and its partitions move', async () => {
    const topic = 'grp-crash';
    const groupId = 'grp-crash-g';
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] });
    const watch = new AssignmentWatch();
    const survivor = newConsumer(groupId);
    watch.track('survivor', survivor);
    await survivor.connect();
    await survivor.subscribe({ topic, fromBeginning: true });
    await survivor.run({ eachMessage: async () => {} });
    await watch.until(() => count(watch.latest.get('survivor'), topic) === 4, 30000, 'survivor owns everything');

    const child = spawn(process.execPath, [path.join(here, 'kafkajs-groups-member.mjs'), `127.0.0.1:${tb.port}`, groupId, topic, String(SESSION_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await watch.until(() => count(watch.latest.get('survivor'), topic) === 2, 30000, 'the child takes half');
    let described = await admin.describeGroups([groupId]);
    expect(described.groups[0]!.members).toHaveLength(2);

    child.kill('SIGKILL');
    const killedAt = Date.now();
    await watch.until(() => count(watch.latest.get('survivor'), topic) === 4, 30000, 'survivor takes over after expiry');
    // The broker waited for the session to run out (it never heard from the crashed member again).
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(SESSION_TIMEOUT_MS - 1500);
    described = await admin.describeGroups([groupId]);
    expect(described.groups[0]!.members).toHaveLength(1);
    expect(described.groups[0]!.members[0]!.clientId).toBe('e2e-kafkajs-groups');
  });

  test('a second group reads the same messages independently', async () => {
    const topic = 'grp-two-groups';
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] });
    await produce(topic, 30, 'm');
    const first = await consumeN(newConsumer('grp-two-1'), topic, 30);
    const second = await consumeN(newConsumer('grp-two-2'), topic, 30);
    expect(new Set(first).size).toBe(30);
    expect(new Set(second)).toEqual(new Set(first));
  });

  test('admin: describeGroups, listGroups, fetchOffsets, resetOffsets, deleteGroups', async () => {
    const topic = 'grp-admin';
    const groupId = 'grp-admin-g';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await produce(topic, 10, 'a');
    const consumer = newConsumer(groupId);
    await consumeN(consumer, topic, 10);

    const described = await admin.describeGroups([groupId]);
    const g = described.groups[0]!;
    expect(g.state).toBe('Stable');
    expect(g.protocolType).toBe('consumer');
    expect(g.protocol).toBe('RoundRobinAssigner');
    expect(g.members).toHaveLength(1);
    expect(g.members[0]!.memberAssignment.length).toBeGreaterThan(0);

    const listed = await admin.listGroups();
    expect(listed.groups).toContainEqual({ groupId, protocolType: 'consumer' });

    await consumer.commitOffsets([
      { topic, partition: 0, offset: '3' },
      { topic, partition: 1, offset: '4' },
    ]);
    let offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)).toEqual(['3', '4']);

    // resetOffsets needs a group without running members.
    await consumer.disconnect();
    expect((await admin.describeGroups([groupId])).groups[0]!.state).toBe('Empty');
    await admin.resetOffsets({ groupId, topic, earliest: true });
    offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    // kafkajs commits the logical offset -2 (earliest), which the broker stores as given, like Kafka.
    expect(offsets[0]!.partitions.map((p) => p.offset)).toEqual(['-2', '-2']);
    const again = newConsumer(groupId);
    expect((await consumeN(again, topic, 10)).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `a-${i}`).sort());
    await again.disconnect();

    await admin.deleteGroups([groupId]);
    expect((await admin.listGroups()).groups.map((x) => x.groupId)).not.toContain(groupId);
    offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]!.partitions.map((p) => p.offset)).toEqual(['-1', '-1']);
    expect((await admin.describeGroups([groupId])).groups[0]!.state).toBe('Dead');
  });

  test('a consumer restarted after a broker restart resumes from its committed offset', async () => {
    const topic = 'grp-restart';
    const groupId = 'grp-restart-g';
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    await produce(topic, 10, 'before');
    const first = newConsumer(groupId);
    const seen = await consumeN(first, topic, 10);
    expect(seen).toHaveLength(10);
    await first.disconnect(); // commits what it consumed, then leaves

    const dataDir = tb.dataDir;
    await stopBroker(true);
    await startBroker(dataDir);
    await produce(topic, 5, 'after');
    const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(offsets[0]!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(10);
    const resumed = await consumeN(newConsumer(groupId), topic, 5);
    expect(resumed.sort()).toEqual(['after-0', 'after-1', 'after-2', 'after-3', 'after-4']);
  });
});

