// `eddy fault add|list|clear`, run as the compiled binary against a spawned `eddy start --http-port N`; the rules'
// effect is checked with `eddy produce` (our Kafka client) against the same broker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { ensureBuilt, runCli } from './commands/run-cli.js';

let broker: SpawnedBroker;
let httpPort: number;
let admin: string[];
let b: string[];

beforeAll(async () => {
  ensureBuilt();
  httpPort = await freePort();
  broker = await spawnBroker({ extraArgs: ['--http-port', String(httpPort)] });
  admin = ['--admin', `http://127.0.0.1:${httpPort}`];
  b = ['--bootstrap', broker.bootstrap];
  const created = await runCli(['topic', 'create', 'faulty', '--partitions', '1', ...b]);
  expect(created.status).toBe(0);
}, 150_000);

afterAll(async () => {
  await broker?.stop();
});

describe('eddy fault', () => {
  it('lists no rules on a fresh broker', async () => {
    const json = await runCli(['fault', 'list', '--json', ...admin]);
    expect(json).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual([]);
    const table = await runCli(['fault', 'list', ...admin]);
    expect(table.stdout).toMatch(/^ID\s+API\s+TOPIC\s+PARTITION\s+CLIENT-ID\s+ACTION\s+FIRED\s+REMAINING\s+STATE\s+EXPIRES$/m);
  });

  it('adds a rule that a Kafka client then hits, and lists it as fired', async () => {
    const added = await runCli(['fault', 'add', '--api', 'Produce', '--topic', 'faulty', '--error', 'TOPIC_AUTHORIZATION_FAILED', '--count', '1', '--json', ...admin]);
    expect(added).toMatchObject({ status: 0, stderr: '' });
    const rule = JSON.parse(added.stdout);
    expect(rule).toMatchObject({ api: 'Produce', topic: 'faulty', action: 'error', error: 'TOPIC_AUTHORIZATION_FAILED', count: 1, state: 'active' });

    const refused = await runCli(['produce', 'faulty', '--value', 'x', ...b]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
    const accepted = await runCli(['produce', 'faulty', '--value', 'y', ...b]);
    expect(accepted.status).toBe(0);

    const list = await runCli(['fault', 'list', ...admin]);
    expect(list.stdout).toMatch(new RegExp(`^${rule.id}\\s+Produce\\s+faulty\\s+-\\s+-\\s+error TOPIC_AUTHORIZATION_FAILED\\s+1\\s+0\\s+exhausted\\s+-$`, 'm'));
    const cleared = await runCli(['fault', 'clear', String(rule.id), ...admin]);
    expect(cleared).toMatchObject({ status: 0, stdout: `Removed fault rule ${rule.id}.\n` });
  });

  it('adds latency, drop and stall rules and clears them all', async () => {
    const latency = await runCli(['fault', 'add', '--api', 'Fetch', '--latency-ms', '200', '--duration-ms', '60000', ...admin]);
    expect(latency).toMatchObject({ status: 0 });
    expect(latency.stdout).toMatch(/^Added fault rule \d+: Fetch latency 200ms\.$/m);
    expect((await runCli(['fault', 'add', '--api', 'Metadata', '--drop', '--client-id', 'nobody', ...admin])).stdout).toMatch(/Metadata drop/);
    expect((await runCli(['fault', 'add', '--api', 'ListOffsets', '--stall', '--client-id', 'nobody', ...admin])).stdout).toMatch(/ListOffsets stall/);
    const rules = JSON.parse((await runCli(['fault', 'list', '--json', ...admin])).stdout);
    expect(rules.map((r: { action: string }) => r.action)).toEqual(['latency', 'drop', 'stall']);
    const cleared = await runCli(['fault', 'clear', ...admin]);
    expect(cleared).toMatchObject({ status: 0, stdout: 'Removed 3 fault rule(s).\n' });
    expect(JSON.parse((await runCli(['fault', 'list', '--json', ...admin])).stdout)).toEqual([]);
  });

  it('refuses a bad rule with exit 2 and the broker reason', async () => {
    const bad = await runCli(['fault', 'add', '--api', 'Produce', '--error', 'NOT_A_CODE', ...admin]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('eddy: INVALID_FAULT_RULE: error "NOT_A_CODE": expected a Kafka error name (e.g. "NOT_LEADER_OR_FOLLOWER") or code other than NONE\n');
    const two = await runCli(['fault', 'add', '--api', 'Produce', '--drop', '--stall', ...admin]);
    expect(two.status).toBe(2);
    expect(two.stderr).toBe('eddy: give exactly one of --error, --latency-ms, --drop, --stall\n');
    const noApi = await runCli(['fault', 'add', '--drop', ...admin]);
    expect(noApi.status).toBe(2);
    expect(noApi.stderr).toMatch(/api/);
    const count = await runCli(['fault', 'add', '--api', 'Produce', '--drop', '--count', 'abc', ...admin]);
    expect(count).toMatchObject({ status: 2, stderr: 'eddy: --count abc: expected an integer >= 1\n' });
  });

  it('answers an unknown rule id with exit 1', async () => {
    const r = await runCli(['fault', 'clear', '999', ...admin]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('eddy: UNKNOWN_FAULT_RULE: no fault rule with id "999"\n');
  });

  it('says so in one line when the admin listener cannot be reached', async () => {
    const port = await freePort();
    const r = await runCli(['fault', 'list', '--admin', `http://127.0.0.1:${port}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`eddy: cannot reach the admin listener at http://127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it('eddy start refuses --http-port without a number', async () => {
    const missing = await runCli(['start', '--http-port']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^eddy: --http-port needs a value/);
    const word = await runCli(['start', '--http-port', 'abc']);
    expect(word.status).toBe(2);
    expect(word.stderr).toMatch(/^eddy: --http-port abc: not a number/);
  });
});
