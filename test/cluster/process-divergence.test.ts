// Divergence, with real processes (issue 14, "How it is proven"): a leader holds acks=all writes its followers
// never got (their fetches are stalled by a fault rule on it), then is frozen with SIGSTOP until its lease
// expires. Those writes must never be acknowledged; a follower is elected and takes new writes at the same
// offsets; on SIGCONT the old leader becomes a follower, truncates its divergent tail and ends with exactly the
// new leader's log.
import { afterEach, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../src/client/client.js';
import type { Connection } from '../../src/client/connection.js';
import { buildRecordBatch } from '../../src/client/records.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { spawnCluster, waitFor, type SpawnedCluster } from '../helpers/spawn-cluster.js';

const TOPIC = 'divergence';

function batchOf(value: string): Buffer {
  return buildRecordBatch([{ key: null, value: Buffer.from(value) }]);
}

/** One Produce attempt on one connection (no client retry): the partition's error code and base offset. */
async function produceOnce(conn: Connection, topicId: Buffer, value: string, timeoutMs: number): Promise<{ errorCode: number; baseOffset: bigint }> {
  const version = conn.versionFor(ApiKey.Produce, 3);
  const target = version >= 13 ? { topicId } : { name: TOPIC };
  const res = await conn.send<ProduceResponse>(ApiKey.Produce, version, { transactionalId: null, acks: -1, timeoutMs, topicData: [{ ...target, partitionData: [{ index: 0, records: batchOf(value) }] }] }, timeoutMs);
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: p.baseOffset };
}

describe('a leader cut off with SIGSTOP', () => {
  let cluster: SpawnedCluster | undefined;
  const clients: KafkaClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
    await cluster?.close();
    cluster = undefined;
  });

  it('never acknowledges the acks=all writes it holds once fenced, and truncates them as a follower to match the new leader', async () => {
    cluster = await spawnCluster({ brokers: 3, sessionTimeoutMs: 3000 });
    await cluster.createTopic(TOPIC, 1, 3, { 'min.insync.replicas': '2' });
    const client = new KafkaClient({ bootstrap: cluster.bootstrap(), clientId: 'divergence-test', requestTimeoutMs: 10_000 });
    clients.push(client);

    const acked = new Map<bigint, string>();
    for (let i = 0; i < 20; i++) {
      const r = await client.produce(TOPIC, 0, batchOf(`before-${i}`), -1);
      acked.set(r.baseOffset, `before-${i}`);
    }
    const before = await cluster.partition(TOPIC, 0);
    const oldLeader = before.leader;
    const followers = before.replicas.filter((id) => id !== oldLeader);
    const topicId = (await client.topic(TOPIC, true)).topicId;

    // The followers' fetches from the leader are held, so what it appends now stays on it alone.
    const rules = await Promise.all(followers.map((f) => cluster!.addFault(oldLeader, { api: 'Fetch', clientId: `broker-${f}-fetcher-${oldLeader}`, stall: true })));
    // A fetch already waiting on the leader (long poll, replica.fetch.wait.max.ms 200) is not held: let those end.
    await new Promise((r) => setTimeout(r, 600));
    const conn = await client.broker(oldLeader);
    const divergent = Array.from({ length: 5 }, (_, i) =>
      produceOnce(conn, topicId, `div-${i}`, 20_000).then(
        (r) => ({ ...r, failure: undefined as string | undefined }),
        (err: Error) => ({ errorCode: -1, baseOffset: -1n, failure: err.message }),
      ),
    );
    // Appended on the leader (its segment file has them), not acknowledged (the ISR has not fetched them).
    await waitFor('the divergent writes in the leader\'s log', async () => {
      const log = await cluster!.partitionLog(oldLeader, TOPIC, 0);
      return [...log.values()].filter((v) => v.startsWith('div-')).length === 5 ? true : undefined;
    }, 10_000);

    const pausedAt = Date.now();
    cluster.pause(oldLeader);
    const after = await waitFor('a new leader elected from the ISR', async () => {
      const p = await cluster!.partition(TOPIC, 0, [oldLeader]);
      return p.leader >= 0 && p.leader !== oldLeader ? p : undefined;
    });
    const electedMs = Date.now() - pausedAt;
    expect(followers).toContain(after.leader);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    expect(after.isr).not.toContain(oldLeader);

    // The new leader takes writes at the offsets the old one used for its divergent tail.
    const fresh = new KafkaClient({ bootstrap: followers.map((id) => `127.0.0.1:${cluster!.nodes.get(id)!.port}`).join(','), clientId: 'divergence-test-2', requestTimeoutMs: 10_000 });
    clients.push(fresh);
    for (let i = 0; i < 20; i++) {
      const r = await fresh.produce(TOPIC, 0, batchOf(`after-${i}`), -1);
      acked.set(r.baseOffset, `after-${i}`);
    }
    expect([...acked.keys()].sort((a, b) => Number(a - b))).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i)));

    cluster.resume(oldLeader);
    await Promise.all(rules.map((id) => cluster!.removeFault(oldLeader, id)));
    const outcomes = await Promise.all(divergent);
    for (const o of outcomes) expect(o.errorCode, JSON.stringify(o, (_, v) => (typeof v === 'bigint' ? String(v) : v))).not.toBe(0);

    await waitFor('the old leader truncating its divergent tail', () => (cluster!.logs(oldLeader).includes('truncating the divergent tail') ? true : undefined), 20_000);
    await waitFor('the old leader back in the ISR', async () => {
      const p = await cluster!.partition(TOPIC, 0, [oldLeader]);
      return p.isr.includes(oldLeader) ? p : undefined;
    }, 30_000);

    const expected = [...acked.entries()].sort(([a], [b]) => Number(a - b));
    for (const id of [1, 2, 3]) {
      const log = await waitFor(`broker ${id}: the new leader's log`, async () => {
        const l = await cluster!.partitionLog(id, TOPIC, 0);
        return l.size === expected.length ? l : undefined;
      }, 15_000);
      expect([...log.entries()].sort(([a], [b]) => Number(a - b)), `broker ${id}`).toEqual(expected);
    }
    const truncation = cluster.logs(oldLeader).split('\n').find((l) => l.includes('truncating the divergent tail'));
    console.log(JSON.stringify({ oldLeader, newLeader: after.leader, electedMs, divergentOutcomes: outcomes.map((o) => o.failure ?? o.errorCode), truncation: truncation && JSON.parse(truncation) }));
  }, 120_000);
});
