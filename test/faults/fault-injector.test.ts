// Fault rules seen on the wire (our own codec's client over real sockets): each action, each filter, the
// lifetime of a rule, validation, logging, and one broker's rules never touching another's.
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { BrokerError } from '../../src/errors.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
let logLines: Array<Record<string, unknown>>;
let topicId: Buffer;

beforeEach(async () => {
  logLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  tb = await startTestBroker({ logger: pino({ level: 'info' }, sink) });
  client = await TestClient.connect(tb.port);
  topicId = Buffer.from((await tb.broker.createTopic('t', { partitions: 2 })).topicId, 'hex');
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

function batch(value: string): Buffer {
  return buildRecordBatch({ baseTimestamp: 1_700_000_000_000n, records: [{ key: 'k', value, timestampDelta: 0 }] });
}

function produce(c: TestClient, partitions: number[], acks = 1) {
  return c.send(ApiKey.Produce, 9, {
    acks,
    timeoutMs: 5000,
    topicData: [{ name: 't', partitionData: partitions.map((index) => ({ index, records: batch(`p${index}`) })) }],
  });
}

function fetchById(c: TestClient, topicId: Buffer, partitions: number[]) {
  return c.send(ApiKey.Fetch, 13, {
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    topics: [{ topicId, partitions: partitions.map((partition) => ({ partition, fetchOffset: 0n, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 })) }],
    forgottenTopicsData: [],
    rackId: '',
  });
}

function codes(res: { responses: Array<{ partitionResponses: Array<{ index: number; errorCode: number }> }> }): Record<number, number> {
  const out: Record<number, number> = {};
  for (const t of res.responses) for (const p of t.partitionResponses) out[p.index] = p.errorCode;
  return out;
}

function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

describe('fault rules', () => {
  it('answers every partition with the rule error for its count, appends nothing, then answers normally', async () => {
    const id = tb.broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER', count: 2 });
    expect(codes(await produce(client, [0, 1]))).toEqual({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER, 1: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(await tb.broker.records('t', 0)).toEqual([]);
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
    expect((await tb.broker.records('t', 0)).map((r) => r.value?.toString())).toEqual(['p0']);
    expect(tb.broker.faults.list()).toMatchObject([{ id, api: 'Produce', action: 'error', error: 'NOT_LEADER_OR_FOLLOWER', errorCode: 6, fired: 2, remaining: 0, state: 'exhausted' }]);
  });

  it('errors only the matched partition and appends the others of the same request', async () => {
    tb.broker.faults.add({ api: 0, topic: 't', partition: 1, error: ErrorCode.KAFKA_STORAGE_ERROR });
    const res = await produce(client, [0, 1]);
    expect(res.responses).toHaveLength(1);
    expect(codes(res)).toEqual({ 0: ErrorCode.NONE, 1: ErrorCode.KAFKA_STORAGE_ERROR });
    expect(await tb.broker.records('t', 0)).toHaveLength(1);
    expect(await tb.broker.records('t', 1)).toHaveLength(0);
  });

  it('does not fire on a request without the rule topic', async () => {
    await tb.broker.createTopic('other');
    tb.broker.faults.add({ api: 'Produce', topic: 'other', error: 'NOT_LEADER_OR_FOLLOWER' });
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
    expect(tb.broker.faults.list()[0]!.fired).toBe(0);
  });

  it('answers Fetch by topic id with per-partition errors and no top-level error', async () => {
    await produce(client, [0, 1]);
    tb.broker.faults.add({ api: 'Fetch', topic: 't', partition: 0, error: 'NOT_LEADER_OR_FOLLOWER' });
    const res = await fetchById(client, topicId, [0, 1]);
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.responses).toHaveLength(1);
    const byPartition = Object.fromEntries(res.responses[0].partitions.map((p: { partitionIndex: number }) => [p.partitionIndex, p]));
    expect(byPartition[0]).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1n });
    expect(byPartition[1]).toMatchObject({ errorCode: ErrorCode.NONE, highWatermark: 1n });
    expect(byPartition[1].records.length).toBeGreaterThan(0);
  });

  it('matches a rule topic in a Produce v13 that names its topic by id, and answers that partition with the error', async () => {
    await tb.broker.createTopic('other');
    tb.broker.faults.add({ api: 'Produce', topic: 't', partition: 1, error: 'NOT_LEADER_OR_FOLLOWER' });
    const res = await client.send(ApiKey.Produce, 13, {
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ topicId, partitionData: [0, 1].map((index) => ({ index, records: batch(`p${index}`) })) }],
    });
    expect(res.responses).toHaveLength(1);
    expect(res.responses[0].topicId).toEqual(topicId);
    expect(codes(res)).toEqual({ 0: ErrorCode.NONE, 1: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    expect(tb.broker.faults.list()[0]!.fired).toBe(1);
    expect(await tb.broker.records('t', 0)).toHaveLength(1);
    expect(await tb.broker.records('t', 1)).toHaveLength(0);
  });

  it('answers an API without partitions with its whole-request error response', async () => {
    tb.broker.faults.add({ api: 'FindCoordinator', error: 'COORDINATOR_NOT_AVAILABLE', count: 1 });
    const failed = await client.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] });
    expect(failed.coordinators[0].errorCode).toBe(ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const ok = await client.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] });
    expect(ok.coordinators[0].errorCode).toBe(ErrorCode.NONE);
  });

  it('matches the client id when the rule names one', async () => {
    const other = await TestClient.connect(tb.port, 'victim');
    try {
      tb.broker.faults.add({ api: 'Produce', clientId: 'victim', error: 'NOT_LEADER_OR_FOLLOWER' });
      expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
      expect(codes(await produce(other, [0]))).toEqual({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    } finally {
      other.close();
    }
  });

  it('adds latency and then answers normally', async () => {
    tb.broker.faults.add({ api: 'Produce', latencyMs: 300, count: 1 });
    let start = process.hrtime.bigint();
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
    expect(elapsedMs(start)).toBeGreaterThanOrEqual(290);
    start = process.hrtime.bigint();
    await produce(client, [0]);
    expect(elapsedMs(start)).toBeLessThan(250);
  });

  it('drops the connection without answering, and a new connection is served', async () => {
    tb.broker.faults.add({ api: 'Metadata', drop: true, count: 1 });
    await expect(client.send(ApiKey.Metadata, 9, { topics: [] })).rejects.toThrow('connection closed');
    await client.closed;
    const again = await TestClient.connect(tb.port);
    try {
      const md = await again.send(ApiKey.Metadata, 9, { topics: [] });
      expect(md.brokers).toHaveLength(1);
    } finally {
      again.close();
    }
  });

  it('stalls a request until the rule is removed, then answers it', async () => {
    const id = tb.broker.faults.add({ api: 'Produce', stall: true, count: 1 });
    let answered = false;
    const pending = produce(client, [0]).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    expect(tb.broker.faults.list()[0]).toMatchObject({ fired: 1, state: 'exhausted' });
    expect(tb.broker.faults.remove(id)).toBe(true);
    expect(codes(await pending)).toEqual({ 0: ErrorCode.NONE });
    expect(tb.broker.faults.list()).toEqual([]);
  });

  it('ends a stall and stops matching when the rule window ends', async () => {
    tb.broker.faults.add({ api: 'Produce', stall: true, durationMs: 400 });
    const start = process.hrtime.bigint();
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
    expect(elapsedMs(start)).toBeGreaterThanOrEqual(350);
    expect(tb.broker.faults.list()[0]).toMatchObject({ state: 'expired', fired: 1 });
    const quick = process.hrtime.bigint();
    await produce(client, [0]);
    expect(elapsedMs(quick)).toBeLessThan(250);
  });

  it('closes the connection for an acks=0 Produce hit by an error rule, as Kafka does', async () => {
    tb.broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER', count: 1 });
    client.sendNoResponse(ApiKey.Produce, 9, { acks: 0, timeoutMs: 5000, topicData: [{ name: 't', partitionData: [{ index: 0, records: batch('x') }] }] });
    await client.closed;
    expect(await tb.broker.records('t', 0)).toEqual([]);
  });

  it('logs one info line per firing with the rule id', async () => {
    const id = tb.broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER', count: 2 });
    await produce(client, [0]);
    await produce(client, [0]);
    await produce(client, [0]);
    const fired = logLines.filter((l) => l.msg === 'fault injected');
    expect(fired).toHaveLength(2);
    expect(fired[0]).toMatchObject({ level: 30, faultId: id, api: 'Produce', action: 'error', error: 'NOT_LEADER_OR_FOLLOWER', clientId: 'eddy-test' });
    expect(logLines.some((l) => l.msg === 'fault rule added')).toBe(true);
  });

  it('refuses malformed rules with INVALID_FAULT_RULE naming the field', () => {
    const refused = (rule: unknown): string => {
      try {
        tb.broker.faults.add(rule as never);
      } catch (err) {
        expect(err).toBeInstanceOf(BrokerError);
        expect((err as BrokerError).code).toBe('INVALID_FAULT_RULE');
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refused({ api: 'Produce' })).toMatch(/exactly one action/);
    expect(refused({ api: 'Produce', drop: true, stall: true })).toMatch(/exactly one action/);
    expect(refused({ api: 'Nope', drop: true })).toMatch(/^api "Nope"/);
    expect(refused({ api: 'Produce', error: 'NOT_AN_ERROR' })).toMatch(/^error "NOT_AN_ERROR"/);
    expect(refused({ api: 'Produce', error: 'NONE' })).toMatch(/^error "NONE"/);
    expect(refused({ api: 'Metadata', topic: 't', drop: true })).toMatch(/not on Metadata/);
    expect(refused({ api: 'Produce', partition: 0, drop: true })).toMatch(/partition needs topic/);
    expect(refused({ api: 'Produce', drop: true, count: 0 })).toMatch(/^count 0/);
    expect(refused({ api: 'Produce', drop: true, topics: 'x' })).toMatch(/unknown field "topics"/);
    expect(tb.broker.faults.list()).toEqual([]);
  });

  it('keeps each broker rules to itself', async () => {
    const second = await startTestBroker();
    const secondClient = await TestClient.connect(second.port);
    try {
      await second.broker.createTopic('t', { partitions: 2 });
      tb.broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER' });
      expect(codes(await produce(secondClient, [0]))).toEqual({ 0: ErrorCode.NONE });
      expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NOT_LEADER_OR_FOLLOWER });
      expect(second.broker.faults.list()).toEqual([]);
    } finally {
      secondClient.close();
      await second.stop();
    }
  });

  it('clear() removes every rule and disarms the request path', async () => {
    tb.broker.faults.add({ api: 'Produce', error: 'NOT_LEADER_OR_FOLLOWER' });
    tb.broker.faults.add({ api: 'Fetch', latencyMs: 1000 });
    tb.broker.faults.clear();
    expect(tb.broker.faults.list()).toEqual([]);
    expect((tb.broker.faults as unknown as { armed: boolean }).armed).toBe(false);
    expect(codes(await produce(client, [0]))).toEqual({ 0: ErrorCode.NONE });
  });
});
