// A partitioned leader, with real processes and a real network partition (issue 14, "How it is proven": a
// partitioned leader loses leadership; no acknowledged write is lost). Brokers 1 and 2 and etcd run in the host
// namespace on the host side of a veth; broker 3 runs inside a network namespace on its other side (netns.ts) and
// leads the partition (replica assignment [3, 1, 2], RF 3, min.insync.replicas 2). Setting the namespace's link
// down cuts broker 3 off from etcd, from the other brokers and from host clients, while a producer started inside
// the namespace (process-netns-producer.mjs) still reaches it, as a client on the wrong side of a partition would.
//
// What Kafka does, and what is asserted:
// - broker 3's lease lapses, the controller fences it and elects 1 or 2 from the ISR with a higher leader epoch
//   (about broker.session.timeout.ms); acks=all writes to the new leader are acknowledged;
// - the isolated broker acknowledges no acks=all write (its followers never fetch them and it cannot shrink its ISR
//   without the controller); acks=1 writes it may acknowledge while it still believes it leads, a zombie leader,
//   but none sent after it logged its fencing; those writes are its divergent tail;
// - after healing, broker 3 learns it is a follower, truncates that tail, catches up and rejoins the ISR; every
//   acknowledged acks=all write is at its acknowledged offset on all three replicas (segment files decoded), the
//   three logs are equal, and nothing broker 3 appended after the cut survives anywhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../src/client/client.js';
import { buildRecordBatch } from '../../src/client/records.js';
import { createNetNamespace, type NetNamespace } from '../helpers/netns.js';
import { spawnCluster, waitFor, type SpawnedCluster } from '../helpers/spawn-cluster.js';

const TOPIC = 'partitioned-leader';
const ISOLATED = 3;
const PRODUCER_SCRIPT = fileURLToPath(new URL('./process-netns-producer.mjs', import.meta.url));

interface ZombieOutcome {
  acks: number;
  value: string;
  sentAtMs: number;
  atMs: number;
  errorCode?: number;
  baseOffset?: string;
  failure?: string;
}

/** process-netns-producer.mjs run inside the namespace; outcomes are collected as its lines arrive. */
interface NamespacedProducer {
  child: ChildProcess;
  outcomes: ZombieOutcome[];
  ready: Promise<void>;
  exited: Promise<void>;
  output(): string;
}

function startNamespacedProducer(ns: NetNamespace, host: string, port: number): NamespacedProducer {
  const [command, ...args] = [...ns.commandPrefix, process.execPath, PRODUCER_SCRIPT, host, String(port), TOPIC, '60000'];
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const outcomes: ZombieOutcome[] = [];
  let output = '';
  let partial = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line === '') continue;
      const obj = JSON.parse(line) as ZombieOutcome & { ready?: boolean; done?: boolean };
      if (obj.ready === true) markReady();
      else if (obj.done === undefined) outcomes.push(obj);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, outcomes, ready, exited, output: () => output };
}

/** Rejects after `ms` naming `what`: every wait on another process is bounded. */
function within<T>(what: string, ms: number, p: Promise<T>, detail: () => string = () => ''): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}\n${detail()}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const byOffset = ([a]: [bigint, string], [b]: [bigint, string]): number => Number(a - b);

describe('a leader cut off by a network partition (network namespace)', () => {
  let ns: NetNamespace | undefined;
  let cluster: SpawnedCluster | undefined;
  let producer: NamespacedProducer | undefined;
  const clients: KafkaClient[] = [];
  afterEach(async () => {
    if (producer !== undefined && producer.child.exitCode === null && producer.child.signalCode === null) producer.child.kill('SIGKILL');
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await cluster?.close();
    ns?.destroy();
    producer = undefined;
    cluster = undefined;
    ns = undefined;
  });

  it('loses leadership: the controller fences it and elects a follower, it acknowledges no acks=all write, and after healing it truncates its acks=1 tail and rejoins with the new leader\'s log', async () => {
    ns = createNetNamespace();
    const isolatedHost = ns.nsAddress;
    cluster = await spawnCluster({
      brokers: 3,
      sessionTimeoutMs: 3000,
      etcdHost: ns.hostAddress,
      perBroker: { 1: { host: ns.hostAddress }, 2: { host: ns.hostAddress }, [ISOLATED]: { host: isolatedHost, commandPrefix: ns.commandPrefix } },
    });
    const others = [1, 2];
    const isolatedPort = cluster.nodes.get(ISOLATED)!.port;
    // `ip netns exec` execs: the pid the cluster signals (kill -9, SIGSTOP) is node itself, in the namespace.
    const isolatedPid = cluster.nodes.get(ISOLATED)!.broker!.process.pid!;
    expect(readlinkSync(`/proc/${isolatedPid}/exe`)).toBe(realpathSync(process.execPath));
    expect(readlinkSync(`/proc/${isolatedPid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    await cluster.createTopic(TOPIC, 1, 3, { 'min.insync.replicas': '2' }, { assignments: [[ISOLATED, 1, 2]] });
    const before = await cluster.partition(TOPIC, 0);
    expect(before.leader).toBe(ISOLATED);
    expect([...before.isr].sort()).toEqual([1, 2, 3]);

    // 1. acks=all writes to broker 3, acknowledged, so on every replica of the ISR.
    const acked = new Map<bigint, string>();
    const hostClient = new KafkaClient({ bootstrap: cluster.bootstrap(), clientId: 'network-partition-test', requestTimeoutMs: 10_000 });
    clients.push(hostClient);
    for (let i = 0; i < 20; i++) {
      const r = await hostClient.produce(TOPIC, 0, buildRecordBatch([{ key: null, value: Buffer.from(`before-${i}`) }]), -1);
      acked.set(r.baseOffset, `before-${i}`);
    }
    const beforeCut = [...acked.entries()].sort(byOffset);
    for (const id of others) {
      await waitFor(`broker ${id}: the writes acknowledged before the cut`, async () => ((await cluster!.partitionLog(id, TOPIC, 0)).size === 20 ? true : undefined), 10_000);
    }
    await hostClient.close();

    // The namespace's producer connects while the link is up, and starts writing the moment it is cut.
    producer = startNamespacedProducer(ns, isolatedHost, isolatedPort);
    const running = producer;
    await within('the producer inside the namespace to connect', 20_000, running.ready, running.output);

    // 2. The cut.
    const cutAt = Date.now();
    ns.cut();
    running.child.stdin!.write('go\n');

    const after = await waitFor('a new leader elected from the ISR', async () => {
      const p = await cluster!.partition(TOPIC, 0, [ISOLATED]);
      return p.leader >= 0 && p.leader !== ISOLATED ? p : undefined;
    }, 20_000);
    const electedMs = Date.now() - cutAt;
    expect(others).toContain(after.leader);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(after.isr).not.toContain(ISOLATED);
    expect([...after.isr].sort()).toEqual(others);

    // (b) The new leader takes acks=all writes from the host, at the offsets that follow the acknowledged ones.
    const fresh = new KafkaClient({ bootstrap: others.map((id) => `${ns!.hostAddress}:${cluster!.nodes.get(id)!.port}`).join(','), clientId: 'network-partition-test-2', requestTimeoutMs: 10_000 });
    clients.push(fresh);
    for (let i = 0; i < 20; i++) {
      const r = await fresh.produce(TOPIC, 0, buildRecordBatch([{ key: null, value: Buffer.from(`after-${i}`) }]), -1);
      acked.set(r.baseOffset, `after-${i}`);
    }
    expect([...acked.keys()].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));

    // (c) The isolated broker notices its lease is gone (its writes stop being accepted); the producer inside
    // keeps writing a little longer, then stops.
    const fencedLine = await waitFor('broker 3 to log its fencing', () => cluster!.logs(ISOLATED).split('\n').find((l) => l.includes('broker lease lost: fenced')), 20_000);
    // The broker logs ISO times (src/logger.ts); this process and the broker share the machine's clock.
    const fencedAtMs = Date.parse((JSON.parse(fencedLine) as { time: string }).time);
    expect(fencedAtMs).toBeGreaterThan(cutAt);
    await sleep(Math.max(0, fencedAtMs + 1500 - Date.now()));
    running.child.stdin!.end();
    await within('the producer inside the namespace to finish', 30_000, running.exited, running.output);
    expect(running.child.exitCode, running.output()).toBe(0);

    const outcomes = running.outcomes;
    const acks1 = outcomes.filter((o) => o.acks === 1);
    const acksAll = outcomes.filter((o) => o.acks === -1);
    expect(acks1.length).toBeGreaterThan(0);
    expect(acksAll.length).toBeGreaterThan(0);
    for (const o of acksAll) expect(o.errorCode, `acks=all write to the isolated leader acknowledged: ${JSON.stringify(o)}`).not.toBe(0);
    const zombieAcked = acks1.filter((o) => o.errorCode === 0);
    for (const o of zombieAcked) expect(o.sentAtMs, `acks=1 write sent after broker 3 was fenced, yet acknowledged: ${JSON.stringify(o)}`).toBeLessThan(fencedAtMs);

    // Its divergent tail: what it appended after the cut (acks=1 writes and unacknowledged acks=all writes),
    // above the acknowledged prefix that every replica shares.
    const isolatedLog = [...(await cluster.partitionLog(ISOLATED, TOPIC, 0)).entries()].sort(byOffset);
    expect(isolatedLog.slice(0, 20)).toEqual(beforeCut);
    const divergentTail = isolatedLog.slice(20);
    expect(divergentTail.length, 'broker 3 appended nothing while cut off').toBeGreaterThan(0);
    for (const [, value] of divergentTail) expect(value).toMatch(/^zombie-/);
    for (const o of zombieAcked) expect(divergentTail).toContainEqual([BigInt(o.baseOffset!), o.value]);
    // Still cut off: the others' view is unchanged.
    expect((await cluster.partition(TOPIC, 0, [ISOLATED])).leader).toBe(after.leader);

    // 3. Heal: broker 3 registers again, follows the new leader, truncates its tail and rejoins the ISR.
    const healedAt = Date.now();
    ns.heal();
    const rejoined = await waitFor('broker 3 back in the ISR', async () => {
      const p = await cluster!.partition(TOPIC, 0, [ISOLATED]);
      return p.isr.includes(ISOLATED) ? p : undefined;
    }, 60_000);
    const rejoinMs = Date.now() - healedAt;
    expect(rejoined.leader).toBe(after.leader);
    expect(rejoined.leaderEpoch).toBe(after.leaderEpoch);
    const truncation = cluster.logs(ISOLATED).split('\n').find((l) => l.includes('truncating the divergent tail'));
    expect(truncation, 'broker 3 never logged the truncation of its divergent tail').toBeDefined();
    const ownView = await waitFor('broker 3 reporting the new leader itself', async () => {
      const p = await cluster!.partition(TOPIC, 0, others);
      return p.leader === after.leader ? p : undefined;
    }, 20_000);
    expect(ownView.leaderEpoch).toBe(after.leaderEpoch);

    // 4. Every acknowledged acks=all write at its offset on all three replicas; the logs equal; no zombie write.
    const expected = [...acked.entries()].sort(byOffset);
    for (const id of [1, 2, 3]) {
      const log = await waitFor(`broker ${id}: the new leader's log`, async () => {
        const l = await cluster!.partitionLog(id, TOPIC, 0);
        return l.size === expected.length && [...l.values()].every((v) => !v.startsWith('zombie-')) ? l : undefined;
      }, 30_000);
      expect([...log.entries()].sort(byOffset), `broker ${id}`).toEqual(expected);
    }

    console.log(JSON.stringify({
      namespace: `${ns.name} ${ns.hostAddress} ↔ ${ns.nsAddress}`,
      newLeader: after.leader,
      leaderEpoch: { before: before.leaderEpoch, after: after.leaderEpoch },
      electedMs,
      fencedAfterCutMs: fencedAtMs - cutAt,
      rejoinMs,
      zombie: {
        acks1Sent: acks1.length,
        acks1Acked: zombieAcked.length,
        acksAllSent: acksAll.length,
        acksAllErrors: [...new Set(acksAll.map((o) => o.failure ?? o.errorCode))],
        acks1Errors: [...new Set(acks1.filter((o) => o.errorCode !== 0).map((o) => o.failure ?? o.errorCode))],
        divergentTail: divergentTail.length,
      },
      truncation: JSON.parse(truncation!),
    }));
  }, 180_000);
});
