// CreateAcls, DescribeAcls and DeleteAcls over real sockets (handlers/create-acls.ts, describe-acls.ts,
// delete-acls.ts), the ACL file across restarts and a corrupt ACL file.
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestBroker, makeTempDir, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient } from '../auth/support.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { AclOperation as Op, AclPermissionType as Perm, PatternType, ResourceType } from '../../src/auth/acl.js';

let tb: TestBroker | undefined;
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tb?.stop();
  tb = undefined;
});

/** A broker whose PLAINTEXT principal (User:ANONYMOUS) is a super user, so raw requests may manage ACLs. */
async function start(options: Record<string, unknown> = {}): Promise<RawClient> {
  tb = await startTestBroker({ authorizer: 'acl', superUsers: 'User:ANONYMOUS', ...options });
  const c = await RawClient.connect(tb.port);
  clients.push(c);
  return c;
}

const creation = (fields: Record<string, unknown> = {}) => ({
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  resourcePatternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: Op.READ,
  permissionType: Perm.ALLOW,
  ...fields,
});
const anyFilter = (fields: Record<string, unknown> = {}) => ({
  resourceTypeFilter: ResourceType.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: Op.ANY,
  permissionType: Perm.ANY,
  ...fields,
});

describe('CreateAcls / DescribeAcls / DeleteAcls', () => {
  it('without --authorizer acl every ACL API answers SECURITY_DISABLED', async () => {
    tb = await startTestBroker();
    const c = await RawClient.connect(tb.port);
    clients.push(c);
    const created = await c.send(ApiKey.CreateAcls, 3, { creations: [creation()] });
    expect(created.results).toEqual([{ errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: 'No Authorizer is configured.' }]);
    const described = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(described.errorCode).toBe(ErrorCode.SECURITY_DISABLED);
    expect(described.errorMessage).toBe('No Authorizer is configured on the broker');
    const deleted = await c.send(ApiKey.DeleteAcls, 3, { filters: [anyFilter()] });
    expect(deleted.filterResults[0].errorCode).toBe(ErrorCode.SECURITY_DISABLED);
  });

  it('creates ACLs, describes them grouped by resource pattern, and a duplicate is kept once', async () => {
    const c = await start();
    const created = await c.send(ApiKey.CreateAcls, 3, {
      creations: [creation(), creation({ operation: Op.WRITE }), creation({ resourceName: 'team.', resourcePatternType: PatternType.PREFIXED }), creation()],
    });
    expect(created.results.map((r: any) => r.errorCode)).toEqual([0, 0, 0, 0]);
    const all = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(all.errorCode).toBe(0);
    expect(all.resources).toEqual([
      {
        resourceType: ResourceType.TOPIC,
        resourceName: 'orders',
        patternType: PatternType.LITERAL,
        acls: [
          { principal: 'User:alice', host: '*', operation: Op.READ, permissionType: Perm.ALLOW },
          { principal: 'User:alice', host: '*', operation: Op.WRITE, permissionType: Perm.ALLOW },
        ],
      },
      { resourceType: ResourceType.TOPIC, resourceName: 'team.', patternType: PatternType.PREFIXED, acls: [{ principal: 'User:alice', host: '*', operation: Op.READ, permissionType: Perm.ALLOW }] },
    ]);
    const match = await c.send(ApiKey.DescribeAcls, 3, anyFilter({ resourceTypeFilter: ResourceType.TOPIC, resourceNameFilter: 'team.x', patternTypeFilter: PatternType.MATCH }));
    expect(match.resources.map((r: any) => r.resourceName)).toEqual(['team.']);
    const byOp = await c.send(ApiKey.DescribeAcls, 3, anyFilter({ operation: Op.WRITE }));
    expect(byOp.resources).toHaveLength(1);
    expect(byOp.resources[0].acls).toHaveLength(1);
  });

  it('refuses invalid creations with INVALID_REQUEST and keeps the valid ones of the same request', async () => {
    const c = await start();
    const created = await c.send(ApiKey.CreateAcls, 3, {
      creations: [
        creation({ resourceType: ResourceType.ANY }),
        creation({ resourcePatternType: PatternType.MATCH }),
        creation({ operation: Op.ANY }),
        creation({ permissionType: Perm.ANY }),
        creation({ resourceName: '' }),
        creation({ resourceType: ResourceType.CLUSTER, resourceName: 'other' }),
        creation({ principal: 'alice' }),
        creation({ resourceType: ResourceType.CLUSTER, resourceName: 'kafka-cluster', operation: Op.ALTER }),
      ],
    });
    expect(created.results.map((r: any) => r.errorCode)).toEqual([42, 42, 42, 42, 42, 42, 42, 0]);
    expect(created.results[5].errorMessage).toBe('The only valid name for the CLUSTER resource is kafka-cluster');
    const all = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(all.resources.map((r: any) => r.resourceName)).toEqual(['kafka-cluster']);
  });

  it('v0 knows only LITERAL patterns: a v0 DescribeAcls does not list a PREFIXED ACL created at v1', async () => {
    const c = await start();
    const v1 = await c.send(ApiKey.CreateAcls, 1, { creations: [creation({ resourcePatternType: PatternType.PREFIXED })] });
    expect(v1.results[0].errorCode).toBe(0);
    const v0 = await c.send(ApiKey.DescribeAcls, 0, anyFilter({ patternTypeFilter: undefined }));
    expect(v0.errorCode).toBe(0);
    expect(v0.resources).toEqual([]);
    const any = await c.send(ApiKey.DescribeAcls, 1, anyFilter());
    expect(any.resources).toHaveLength(1);
  });

  it('a filter with an unknown code answers INVALID_REQUEST', async () => {
    const c = await start();
    const described = await c.send(ApiKey.DescribeAcls, 3, anyFilter({ resourceTypeFilter: 0 }));
    expect(described.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    const deleted = await c.send(ApiKey.DeleteAcls, 3, { filters: [anyFilter({ operation: 99 }), anyFilter()] });
    expect(deleted.filterResults.map((r: any) => r.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, 0]);
  });

  it('deletes the ACLs each filter matches and reports them under every filter that matched', async () => {
    const c = await start();
    await c.send(ApiKey.CreateAcls, 3, { creations: [creation(), creation({ principal: 'User:bob' }), creation({ resourceType: ResourceType.GROUP, resourceName: 'g' })] });
    const deleted = await c.send(ApiKey.DeleteAcls, 3, {
      filters: [anyFilter({ principalFilter: 'User:alice', resourceTypeFilter: ResourceType.TOPIC }), anyFilter({ resourceNameFilter: 'orders' }), anyFilter({ resourceNameFilter: 'none' })],
    });
    expect(deleted.filterResults.map((r: any) => r.matchingAcls.length)).toEqual([1, 2, 0]);
    expect(deleted.filterResults[0].matchingAcls[0]).toEqual({
      errorCode: 0,
      errorMessage: null,
      resourceType: ResourceType.TOPIC,
      resourceName: 'orders',
      patternType: PatternType.LITERAL,
      principal: 'User:alice',
      host: '*',
      operation: Op.READ,
      permissionType: Perm.ALLOW,
    });
    const left = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(left.resources.map((r: any) => r.resourceName)).toEqual(['g']);
  });

  it('without ALTER on the cluster CreateAcls and DeleteAcls answer CLUSTER_AUTHORIZATION_FAILED, DescribeAcls needs DESCRIBE', async () => {
    const c = await start({ superUsers: '' });
    const created = await c.send(ApiKey.CreateAcls, 3, { creations: [creation()] });
    expect(created.results[0].errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const deleted = await c.send(ApiKey.DeleteAcls, 3, { filters: [anyFilter()] });
    expect(deleted.filterResults[0].errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const described = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(described.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
  });

  it('ACLs are durable: a restart on the same data dir enforces and describes them', async () => {
    const dataDir = makeTempDir();
    let c = await start({ dataDir });
    await c.send(ApiKey.CreateAcls, 3, { creations: [creation({ principal: 'User:ANONYMOUS', resourceName: 'kept', operation: Op.DESCRIBE })] });
    const doc = JSON.parse(readFileSync(path.join(dataDir, 'acls.json'), 'utf8'));
    expect(doc).toEqual({
      version: 1,
      acls: [{ resourceType: 'TOPIC', resourceName: 'kept', patternType: 'LITERAL', principal: 'User:ANONYMOUS', host: '*', operation: 'DESCRIBE', permissionType: 'ALLOW' }],
    });
    c.close();
    await tb!.stop({ keepData: true });
    // Not a super user this time: the ACL decides.
    c = await start({ dataDir, superUsers: '', autoCreateTopics: false });
    const described = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(described.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    const md = await c.send(ApiKey.Metadata, 12, { topics: [{ name: 'kept', topicId: Buffer.alloc(16) }, { name: 'hidden', topicId: Buffer.alloc(16) }], allowAutoTopicCreation: false });
    expect(md.topics.map((t: any) => [t.name, t.errorCode])).toEqual([
      ['kept', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
      ['hidden', ErrorCode.TOPIC_AUTHORIZATION_FAILED],
    ]);
  });

  it('a corrupt ACL file is renamed aside and the broker starts with no ACLs', async () => {
    const dataDir = makeTempDir();
    writeFileSync(path.join(dataDir, 'acls.json'), '{"version": 1, "acls": [{"resourceType": "TOPIC"');
    const c = await start({ dataDir });
    const described = await c.send(ApiKey.DescribeAcls, 3, anyFilter());
    expect(described.errorCode).toBe(0);
    expect(described.resources).toEqual([]);
    expect(existsSync(path.join(dataDir, 'acls.json'))).toBe(false);
    expect(readdirSync(dataDir).filter((f) => f.startsWith('acls.json.corrupt-'))).toHaveLength(1);
  });
});
