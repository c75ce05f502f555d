// SubscribedTopicRegex with RE2 semantics (re2js, the port of the RE2/J engine Kafka 4.0 compiles them with): syntax
// JavaScript's RegExp reads differently or refuses, linear-time matching where RegExp would backtrack, whole-name
// matching, and a reloaded regex member after a restart.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { compileTopicRegex, loadTopicRegexEngine } from '../../src/group/consumer-group/topic-regex.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import type { BrokerOptions } from '../../src/metadata/broker-config.js';

let tb: TestBroker;
let client: TestClient;

async function start(options: BrokerOptions = {}): Promise<void> {
  tb = await startTestBroker(options);
  client = await TestClient.connect(tb.port, 'cg-regex');
}

beforeEach(async () => {
  await start();
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

function joinRegex(groupId: string, regex: string, memberId: string): Promise<any> {
  return client.send(ApiKey.ConsumerGroupHeartbeat, 1, { groupId, memberId, memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicRegex: regex, topicPartitions: [] });
}

function topicIdsOf(res: any): string[] {
  return (res.assignment?.topicPartitions ?? []).map((t: any) => t.topicId.toString('hex')).sort();
}

describe('SubscribedTopicRegex with RE2 syntax', () => {
  it('RE2-only syntax subscribes: POSIX classes, \\pL, flags in the middle, \\z', async () => {
    const a = await tb.broker.createTopic('Orders-eu', { partitions: 1 });
    const b = await tb.broker.createTopic('orders-us', { partitions: 1 });
    await tb.broker.createTopic('orders-42', { partitions: 1 });
    const cases: Array<[string, string[]]> = [
      ['[[:alpha:]]+-[[:lower:]]+', [a.topicId, b.topicId]],
      ['\\pL+-\\pL+\\z', [a.topicId, b.topicId]],
      ['(?i:o)rders-(?i)US', [b.topicId]],
    ];
    let n = 0;
    for (const [regex, expected] of cases) {
      const res = await joinRegex(`g-re2-${n}`, regex, `m${n++}`);
      expect(res.errorCode, regex).toBe(ErrorCode.NONE);
      expect(topicIdsOf(res), regex).toEqual([...expected].sort());
    }
  });

  it('matches the whole topic name, never an internal topic', async () => {
    await tb.broker.createTopic('events', { partitions: 1 });
    const full = await tb.broker.createTopic('events-archive', { partitions: 1 });
    await client.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g-whole'] }); // creates __consumer_offsets
    const res = await joinRegex('g-whole', 'events-.*', 'w');
    expect(topicIdsOf(res)).toEqual([full.topicId]);
    const all = await joinRegex('g-all', '.*', 'x');
    const listed = await client.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false });
    const internal = listed.topics.filter((t: any) => t.name.startsWith('__')).map((t: any) => t.topicId.toString('hex'));
    expect(internal.length).toBeGreaterThan(0);
    for (const id of internal) expect(topicIdsOf(all)).not.toContain(id);
    expect(topicIdsOf(all)).toHaveLength(2);
  });

  it('a pattern RegExp backtracks on matches a long topic name in linear time', async () => {
    // RegExp needs ~2^n steps for /^(?:(a+)+)$/ on "a"*n + "b"; 249 characters is the longest topic name.
    const long = `${'a'.repeat(248)}b`;
    await tb.broker.createTopic(long, { partitions: 1 });
    const started = Date.now();
    const res = await joinRegex('g-linear', '(a+)+', 'l');
    expect(res.errorCode).toBe(ErrorCode.NONE);
    expect(res.assignment.topicPartitions).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    await loadTopicRegexEngine();
    const re = compileTopicRegex('(a|aa)+c?');
    expect(re.matches(long)).toBe(false);
    expect(re.matches('a'.repeat(249))).toBe(true);
  });

  it('RE2 refusals answer INVALID_REGULAR_EXPRESSION with the parser message', async () => {
    for (const [regex, why] of [
      ['(?<=x)y', 'invalid named capture'],
      ['x**', 'nested repetition'],
      ['[z-a]', 'character class range'],
    ]) {
      const res = await joinRegex('g-refused', regex!, 'r');
      expect(res.errorCode, regex).toBe(ErrorCode.INVALID_REGULAR_EXPRESSION);
      expect(res.errorMessage).toContain(why);
    }
  });

  it('after a restart a reloaded regex member keeps its topics in the target assignment when another member joins', async () => {
    const t = await tb.broker.createTopic('logs-app', { partitions: 2 });
    const r = await joinRegex('g-reload', 'logs-.*', 'r');
    expect(r.errorCode).toBe(ErrorCode.NONE);
    const dataDir = tb.dataDir;
    client.close();
    await tb.stop({ keepData: true });
    await start({ dataDir });
    // A member subscribing by name: the group's subscription metadata still includes what the regex matches.
    const n = await client.send(ApiKey.ConsumerGroupHeartbeat, 1, {
      groupId: 'g-reload',
      memberId: 'n',
      memberEpoch: 0,
      rebalanceTimeoutMs: 30000,
      subscribedTopicNames: ['logs-app'],
      topicPartitions: [],
    });
    expect(n.errorCode).toBe(ErrorCode.NONE);
    const d = await client.send(ApiKey.ConsumerGroupDescribe, 0, { groupIds: ['g-reload'] });
    const target = d.groups[0].members.flatMap((m: any) => m.targetAssignment.topicPartitions.flatMap((tp: any) => tp.partitions.map((p: number) => `${m.memberId}:${p}`)));
    expect(target).toHaveLength(2);
    expect(new Set(d.groups[0].members.flatMap((m: any) => m.targetAssignment.topicPartitions.map((tp: any) => tp.topicId.toString('hex'))))).toEqual(new Set([t.topicId]));
    expect(new Set(target.map((x: string) => x.split(':')[0]))).toEqual(new Set(['n', 'r']));
  });
});
