// The authorizer's decision table (auth/authorizer.ts, Kafka's StandardAuthorizerData) over a real ACL store in a
// temporary data dir.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import pino from 'pino';
import { makeTempDir } from '../helpers/in-process-broker.js';
import { AclStore } from '../../src/auth/acl-store.js';
import { Authorizer } from '../../src/auth/authorizer.js';
import { AclOperation as Op, AclPermissionType as Perm, PatternType, ResourceType, filterMatches, validateNewAcl, type AclBinding } from '../../src/auth/acl.js';
import { userPrincipal } from '../../src/auth/principal.js';

const logger = pino({ level: 'silent' });
let dir: string;
let store: AclStore;

beforeEach(async () => {
  dir = makeTempDir('eddy-authorizer-');
  store = await AclStore.open({ dataDir: dir, logger });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function acl(fields: Partial<AclBinding>): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: Op.READ,
    permissionType: Perm.ALLOW,
    ...fields,
  };
}

function authorizer(options: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean } = {}): Authorizer {
  return new Authorizer({ store, superUsers: options.superUsers ?? [], allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound ?? false });
}

const alice = userPrincipal('alice');
const bob = userPrincipal('bob');
const may = (a: Authorizer, op: number, name = 'orders', who = alice, host = '10.0.0.1', type: number = ResourceType.TOPIC) => a.authorize(who, host, op, type, name);

describe('authorizer', () => {
  it('a LITERAL ALLOW matches its own name only', async () => {
    await store.create([acl({})]);
    const a = authorizer();
    expect(may(a, Op.READ)).toBe(true);
    expect(may(a, Op.READ, 'orders2')).toBe(false);
    expect(may(a, Op.READ, 'order')).toBe(false);
    expect(may(a, Op.WRITE)).toBe(false);
    expect(may(a, Op.READ, 'orders', bob)).toBe(false);
  });

  it('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; ALL implies everything', async () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      await store.create([acl({ resourceName: `t${op}`, operation: op })]);
    }
    await store.create([acl({ resourceName: 'cfg', operation: Op.ALTER_CONFIGS }), acl({ resourceName: 'all', operation: Op.ALL })]);
    const a = authorizer();
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) expect(may(a, Op.DESCRIBE, `t${op}`)).toBe(true);
    expect(may(a, Op.DESCRIBE_CONFIGS, 'cfg')).toBe(true);
    expect(may(a, Op.DESCRIBE, 'cfg')).toBe(false);
    expect(may(a, Op.ALTER_CONFIGS, 'cfg')).toBe(true);
    for (const op of [Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS]) expect(may(a, op, 'all')).toBe(true);
  });

  it('a DENY wins over an ALLOW, and a DENY READ does not deny DESCRIBE', async () => {
    await store.create([acl({ operation: Op.ALL }), acl({ permissionType: Perm.DENY })]);
    const a = authorizer();
    expect(may(a, Op.READ)).toBe(false);
    expect(may(a, Op.WRITE)).toBe(true);
    expect(may(a, Op.DESCRIBE)).toBe(true);
  });

  it('a DENY on a prefix or on the wildcard wins over a LITERAL ALLOW', async () => {
    await store.create([acl({}), acl({ resourceName: 'ord', patternType: PatternType.PREFIXED, permissionType: Perm.DENY, operation: Op.WRITE })]);
    await store.create([acl({ operation: Op.WRITE, resourceName: 'ordinal' })]);
    await store.create([acl({ resourceName: '*', permissionType: Perm.DENY, operation: Op.DELETE }), acl({ operation: Op.DELETE })]);
    const a = authorizer();
    expect(may(a, Op.READ)).toBe(true);
    expect(may(a, Op.WRITE, 'ordinal')).toBe(false);
    expect(may(a, Op.DELETE)).toBe(false);
  });

  it('PREFIXED ACLs match every name starting with the prefix', async () => {
    await store.create([acl({ resourceName: 'team-a.', patternType: PatternType.PREFIXED })]);
    const a = authorizer();
    expect(may(a, Op.READ, 'team-a.orders')).toBe(true);
    expect(may(a, Op.READ, 'team-a.')).toBe(true);
    expect(may(a, Op.READ, 'team-b.orders')).toBe(false);
    expect(may(a, Op.READ, 'team-a')).toBe(false);
  });

  it('the LITERAL wildcard resource and the User:* principal match everything', async () => {
    await store.create([acl({ resourceName: '*', principal: 'User:*' })]);
    const a = authorizer();
    expect(may(a, Op.READ, 'anything', bob)).toBe(true);
    expect(may(a, Op.READ, 'other', alice)).toBe(true);
    expect(may(a, Op.WRITE, 'other', alice)).toBe(false);
  });

  it('hosts: "*" matches any client, an address only that client (IPv4-mapped IPv6 compared as IPv4)', async () => {
    await store.create([acl({ host: '10.0.0.1' })]);
    const a = authorizer();
    expect(may(a, Op.READ, 'orders', alice, '10.0.0.1')).toBe(true);
    expect(may(a, Op.READ, 'orders', alice, '::ffff:10.0.0.1')).toBe(true);
    expect(may(a, Op.READ, 'orders', alice, '10.0.0.2')).toBe(false);
  });

  it('super users are allowed everything, even against a DENY', async () => {
    await store.create([acl({ principal: 'User:admin', permissionType: Perm.DENY, operation: Op.ALL })]);
    const a = authorizer({ superUsers: ['User:admin'] });
    expect(may(a, Op.READ, 'orders', userPrincipal('admin'))).toBe(true);
    expect(may(a, Op.ALTER, 'kafka-cluster', userPrincipal('admin'), '1.2.3.4', ResourceType.CLUSTER)).toBe(true);
  });

  it('allow.everyone.if.no.acl.found applies only to resources no ACL names at all', async () => {
    await store.create([acl({ principal: 'User:bob' })]);
    const open = authorizer({ allowEveryoneIfNoAclFound: true });
    expect(may(open, Op.READ, 'unnamed')).toBe(true);
    expect(may(open, Op.READ, 'orders')).toBe(false);
    expect(may(open, Op.READ, 'g', alice, '1.1.1.1', ResourceType.GROUP)).toBe(true);
    const closed = authorizer();
    expect(may(closed, Op.READ, 'unnamed')).toBe(false);
  });

  it('sees ACLs created and deleted after it was built', async () => {
    const a = authorizer();
    expect(may(a, Op.READ)).toBe(false);
    await store.create([acl({})]);
    expect(may(a, Op.READ)).toBe(true);
    await store.delete([{ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: Op.ANY, permissionType: Perm.ANY }]);
    expect(may(a, Op.READ)).toBe(false);
  });

  it('authorizeByResourceType (KIP-679): WRITE on any topic, unless a DENY dominates it', async () => {
    await store.create([acl({ operation: Op.WRITE, resourceName: 'team.', patternType: PatternType.PREFIXED })]);
    const a = authorizer();
    expect(a.authorizeByResourceType(alice, '1.1.1.1', Op.WRITE, ResourceType.TOPIC)).toBe(true);
    expect(a.authorizeByResourceType(bob, '1.1.1.1', Op.WRITE, ResourceType.TOPIC)).toBe(false);
    await store.create([acl({ operation: Op.WRITE, resourceName: 'te', patternType: PatternType.PREFIXED, permissionType: Perm.DENY })]);
    expect(a.authorizeByResourceType(alice, '1.1.1.1', Op.WRITE, ResourceType.TOPIC)).toBe(false);
  });
});

describe('ACL filters and validation', () => {
  it('MATCH finds the LITERAL, wildcard and PREFIXED ACLs that apply to a name; ANY compares names exactly', () => {
    const literal = acl({});
    const wildcard = acl({ resourceName: '*' });
    const prefixed = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED });
    const other = acl({ resourceName: 'x', patternType: PatternType.PREFIXED });
    const f = { resourceType: ResourceType.TOPIC, resourceName: 'orders', principal: null, host: null, operation: Op.ANY, permissionType: Perm.ANY };
    const match = { ...f, patternType: PatternType.MATCH };
    expect([literal, wildcard, prefixed, other].map((a) => filterMatches(match, a))).toEqual([true, true, true, false]);
    const any = { ...f, patternType: PatternType.ANY };
    expect([literal, wildcard, prefixed, other].map((a) => filterMatches(any, a))).toEqual([true, false, false, false]);
    expect(filterMatches({ ...any, principal: 'User:bob' }, literal)).toBe(false);
  });

  it('a new ACL needs a concrete type, LITERAL or PREFIXED, a concrete operation and permission, a name and Type:name', () => {
    expect(validateNewAcl(acl({}))).toBeUndefined();
    expect(validateNewAcl(acl({ resourceType: ResourceType.ANY }))).toMatch(/Invalid resourceType/);
    expect(validateNewAcl(acl({ patternType: PatternType.MATCH }))).toMatch(/Invalid patternType/);
    expect(validateNewAcl(acl({ operation: Op.ANY }))).toMatch(/Invalid operation/);
    expect(validateNewAcl(acl({ permissionType: Perm.ANY }))).toMatch(/Invalid permissionType/);
    expect(validateNewAcl(acl({ resourceName: '' }))).toMatch(/empty resource name/);
    expect(validateNewAcl(acl({ resourceType: ResourceType.CLUSTER, resourceName: 'c' }))).toMatch(/kafka-cluster/);
    expect(validateNewAcl(acl({ principal: 'alice' }))).toMatch(/principalType:principalName/);
  });
});
