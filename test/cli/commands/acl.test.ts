// `eddy acl …` and `eddy user …`, run as the compiled binary against an in-process broker with --authorizer acl.
// The CLI connects over PLAINTEXT (principal User:ANONYMOUS, a super user here); what it changes is checked with
// raw requests from a SASL user on the broker's SASL_PLAINTEXT listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { RawClient, authenticate } from '../../auth/support.js';
import { ApiKey } from '../../../src/protocol/generated/index.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { ensureBuilt, runCli } from './run-cli.js';

let broker: TestBroker;
let b: string[];

beforeAll(async () => {
  ensureBuilt();
  broker = await startTestBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    authorizer: 'acl',
    superUsers: 'User:ANONYMOUS',
    saslUser: ['alice:alice-secret'],
  });
  b = ['--bootstrap', `127.0.0.1:${broker.broker.listeners[0]!.port}`];
}, 150_000);

afterAll(async () => {
  await broker?.stop();
});

async function saslLogin(user: string, password: string, mechanism = 'SCRAM-SHA-256'): Promise<{ client: RawClient; errorCode: number }> {
  const client = await RawClient.connect(broker.broker.listeners[1]!.port);
  const res = await authenticate(client, mechanism, user, password);
  return { client, errorCode: res.errorCode };
}

describe('eddy acl', () => {
  it('add creates every principal × operation × resource, list shows them as a table and as JSON', async () => {
    const add = await runCli(['acl', 'add', '--allow-principal', 'User:alice', '--operation', 'read', '--operation', 'describe', '--topic', 'orders', '--group', 'billing', ...b]);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    expect(add.stdout).toMatch(/^Added 4 ACLs:/);
    const table = await runCli(['acl', 'list', '--topic', 'orders', ...b]);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/RESOURCE-TYPE\s+PATTERN\s+RESOURCE\s+PRINCIPAL\s+HOST\s+OPERATION\s+PERMISSION/);
    expect(table.stdout).toMatch(/TOPIC\s+LITERAL\s+orders\s+User:alice\s+\*\s+READ\s+ALLOW/);
    expect(table.stdout).not.toMatch(/billing/);
    const json = await runCli(['acl', 'list', '--json', ...b]);
    const rows = JSON.parse(json.stdout);
    expect(rows).toContainEqual({ resourceType: 'GROUP', patternType: 'LITERAL', resourceName: 'billing', principal: 'User:alice', host: '*', operation: 'DESCRIBE', permissionType: 'ALLOW' });
    expect(rows).toHaveLength(4);
  });

  it('the ACLs it adds are enforced: alice may describe orders but not secret', async () => {
    await runCli(['topic', 'create', 'secret', ...b]);
    await runCli(['topic', 'create', 'orders', ...b]);
    const { client, errorCode } = await saslLogin('alice', 'alice-secret');
    try {
      expect(errorCode).toBe(0);
      const md = await client.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
      expect(md.topics.map((t: any) => t.name)).toEqual(['orders']);
    } finally {
      client.close();
    }
  });

  it('a prefixed DENY added with --deny-principal shows as DENY PREFIXED; match lists it for a topic it covers', async () => {
    const add = await runCli(['acl', 'add', '--deny-principal', 'User:bob', '--operation', 'all', '--topic', 'team-', '--resource-pattern-type', 'prefixed', ...b]);
    expect(add.status).toBe(0);
    const match = await runCli(['acl', 'list', '--topic', 'team-x', '--resource-pattern-type', 'match', '--json', ...b]);
    expect(JSON.parse(match.stdout)).toEqual([{ resourceType: 'TOPIC', patternType: 'PREFIXED', resourceName: 'team-', principal: 'User:bob', host: '*', operation: 'ALL', permissionType: 'DENY' }]);
  });

  it('remove deletes only what matches and reports it', async () => {
    const r = await runCli(['acl', 'remove', '--allow-principal', 'User:alice', '--operation', 'describe', '--group', 'billing', ...b]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Removed 1 ACL:/);
    const left = JSON.parse((await runCli(['acl', 'list', '--group', 'billing', '--json', ...b])).stdout);
    expect(left.map((a: any) => a.operation)).toEqual(['READ']);
  });

  it('bad input is a usage error (exit 2): no principal, an unknown operation, remove without a resource', async () => {
    const noPrincipal = await runCli(['acl', 'add', '--operation', 'read', '--topic', 'x', ...b]);
    expect(noPrincipal.status).toBe(2);
    expect(noPrincipal.stderr).toMatch(/--allow-principal or --deny-principal/);
    const badOp = await runCli(['acl', 'add', '--allow-principal', 'User:a', '--operation', 'fly', '--topic', 'x', ...b]);
    expect(badOp.status).toBe(2);
    expect(badOp.stderr).toMatch(/--operation "fly"/);
    const bare = await runCli(['acl', 'remove', ...b]);
    expect(bare.status).toBe(2);
  });

  it('against a broker without --authorizer acl it fails with SECURITY_DISABLED (exit 1)', async () => {
    const plain = await startTestBroker();
    try {
      const r = await runCli(['acl', 'list', '--bootstrap', `127.0.0.1:${plain.port}`]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/SECURITY_DISABLED/);
    } finally {
      await plain.stop();
    }
  });

  it('--help shows examples', async () => {
    const r = await runCli(['acl', 'add', '--help']);
    expect(r.status).toBe(0);
    // yargs wraps examples into two columns: check the pieces.
    const text = r.stdout.replace(/\s+/g, ' ');
    expect(text).toMatch(/Examples: eddy acl add --allow-principal/);
    expect(text).toMatch(/--resource-pattern-type prefixed/);
    expect(text).toMatch(/alice may consume orders in group/);
  });
});

describe('eddy user', () => {
  it('add creates a user that can log in with both SCRAM mechanisms; list shows it', async () => {
    const add = await runCli(['user', 'add', 'carol', '--password', 'carol-secret', ...b]);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']) {
      const { client, errorCode } = await saslLogin('carol', 'carol-secret', mechanism);
      client.close();
      expect(errorCode).toBe(0);
    }
    const wrong = await saslLogin('carol', 'nope');
    wrong.client.close();
    expect(wrong.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    const list = JSON.parse((await runCli(['user', 'list', '--json', ...b])).stdout);
    expect(list).toContainEqual({ user: 'carol', mechanism: 'SCRAM-SHA-256', iterations: 4096 });
    expect(list).toContainEqual({ user: 'carol', mechanism: 'SCRAM-SHA-512', iterations: 4096 });
  });

  it('remove deletes the credentials: the user can no longer log in', async () => {
    const r = await runCli(['user', 'remove', 'carol', ...b]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Removed SCRAM-SHA-256, SCRAM-SHA-512 credentials of user carol/);
    const gone = await saslLogin('carol', 'carol-secret');
    gone.client.close();
    expect(gone.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    const again = await runCli(['user', 'remove', 'carol', ...b]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/RESOURCE_NOT_FOUND/);
  });
});
