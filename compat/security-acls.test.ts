/**
 * ACLs with real clients over SASL (issue 13): the compiled broker started as the issue says, `eddy start
 * --listeners SASL_SSL://…,SASL_PLAINTEXT://… --ssl-cert-file … --ssl-key-file … --sasl-user alice:alice-secret
 * --sasl-user admin:admin-secret --super-users User:admin --authorizer acl --allow-everyone-if-no-acl-found false`.
 * User:admin (a super user) creates topics and ACLs with raw CreateAcls; kcat (librdkafka) and
 * confluent-kafka-python then act as alice and bob:
 * - alice has READ on acl-feed: kcat consumes it over SASL_SSL SCRAM-SHA-256, lists only it, and may not produce
 *   to it (librdkafka reports "Topic authorization failed").
 * - alice has READ + WRITE on ck-acl and READ on group ck-acl-group: confluent-kafka produces and consumes in the
 *   group over SASL_PLAINTEXT PLAIN; bob, without ACLs, gets no data through.
 * - ACLs survive a kill -9 (the ACL file is written atomically before CreateAcls answers).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from './lib/known-failures.js';
import { runPythonScript } from './lib/python.js';
import { freePort, spawnBroker, type SpawnedBroker } from '../test/helpers/spawn-broker.js';
import { describeResult, parseKcatJson, runProcess } from '../test/e2e/support/kcat.js';
import { makeCertificates, RawClient, authenticate, type TestCertificates } from '../test/auth/support.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../src/auth/acl.js';

const SCRIPT = new URL('./security/security_roundtrip.py', import.meta.url).pathname;
let certs: TestCertificates;
let broker: SpawnedBroker;
const ports = { sslSasl: 0, sasl: 0 };

async function startBroker(dataDir?: string): Promise<SpawnedBroker> {
  return spawnBroker({
    port: ports.sslSasl,
    dataDir,
    keepDataDir: true,
    extraArgs: [
      '--listeners', `SASL_SSL://127.0.0.1:${ports.sslSasl},SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`,
      '--ssl-cert-file', certs.serverCert,
      '--ssl-key-file', certs.serverKey,
      '--sasl-enabled-mechanisms', 'SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
      '--sasl-user', 'alice:alice-secret',
      '--sasl-user', 'bob:bob-secret',
      '--sasl-user', 'admin:admin-secret',
      '--super-users', 'User:admin',
      '--authorizer', 'acl',
      '--allow-everyone-if-no-acl-found', 'false',
      '--num-partitions', '1',
    ],
  });
}

async function asAdmin<T>(fn: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.connect(ports.sasl);
  try {
    expect((await authenticate(c, 'SCRAM-SHA-512', 'admin', 'admin-secret')).errorCode).toBe(0);
    return await fn(c);
  } finally {
    c.close();
  }
}

const acl = (resourceType: number, resourceName: string, operation: number, principal = 'User:alice') => ({
  resourceType,
  resourceName,
  resourcePatternType: PatternType.LITERAL,
  principal,
  host: '*',
  operation,
  permissionType: AclPermissionType.ALLOW,
});

beforeAll(async () => {
  certs = makeCertificates();
  ports.sslSasl = await freePort();
  ports.sasl = await freePort();
  broker = await startBroker();
  await asAdmin(async (c) => {
    const topics = await c.send(ApiKey.CreateTopics, 7, { topics: ['acl-feed', 'acl-other', 'ck-acl'].map((name) => ({ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] })), timeoutMs: 10_000 });
    expect(topics.topics.map((t: any) => t.errorCode)).toEqual([0, 0, 0]);
    const created = await c.send(ApiKey.CreateAcls, 3, {
      creations: [
        acl(ResourceType.TOPIC, 'acl-feed', AclOperation.READ),
        acl(ResourceType.TOPIC, 'ck-acl', AclOperation.READ),
        acl(ResourceType.TOPIC, 'ck-acl', AclOperation.WRITE),
        acl(ResourceType.GROUP, 'ck-acl-group', AclOperation.READ),
      ],
    });
    expect(created.results.map((r: any) => r.errorCode)).toEqual([0, 0, 0, 0]);
  });
  // The super user writes the records alice will read.
  const input = join(certs.dir, 'feed.txt');
  writeFileSync(input, Array.from({ length: 20 }, (_, i) => `v${i}`).join('\n') + '\n');
  const produced = await runProcess('kcat', [...kcatArgs('admin', 'admin-secret'), '-P', '-t', 'acl-feed', '-l', input], { timeoutMs: 60_000 });
  expect(produced.code, describeResult(produced)).toBe(0);
}, 180_000);

afterAll(async () => {
  await broker?.stop();
  if (broker !== undefined) rmSync(broker.dataDir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

function kcatArgs(user: string, password: string): string[] {
  return ['-b', `127.0.0.1:${ports.sslSasl}`, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`, '-X', `ssl.ca.location=${certs.caCert}`, '-X', 'ssl.endpoint.identification.algorithm=none'];
}

async function kcatConsumesFeed(): Promise<void> {
  const consumed = await runProcess('kcat', [...kcatArgs('alice', 'alice-secret'), '-C', '-t', 'acl-feed', '-o', 'beginning', '-e', '-J'], { timeoutMs: 60_000 });
  expect(consumed.code, describeResult(consumed)).toBe(0);
  expect(parseKcatJson(consumed.stdout).map((r) => r.payload)).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
}

describe('kcat with ACLs over SASL_SSL SCRAM-SHA-256', () => {
  compatTest('kcat: a user with READ on a topic consumes it', kcatConsumesFeed);

  compatTest('kcat: metadata lists only the topics the user may describe', async () => {
    const listed = await runProcess('kcat', [...kcatArgs('alice', 'alice-secret'), '-L', '-J'], { timeoutMs: 30_000 });
    expect(listed.code, describeResult(listed)).toBe(0);
    const topics = (JSON.parse(listed.stdout.toString()).topics as Array<{ topic: string }>).map((t) => t.topic).sort();
    expect(topics).toEqual(['acl-feed', 'ck-acl']);
  });

  compatTest('kcat: produce without WRITE fails with Topic authorization failed', async () => {
    const input = join(certs.dir, 'nope.txt');
    writeFileSync(input, 'nope\n');
    const produced = await runProcess('kcat', [...kcatArgs('alice', 'alice-secret'), '-P', '-t', 'acl-feed', '-l', input], { timeoutMs: 60_000 });
    expect(produced.code).not.toBe(0);
    expect(produced.stderr.toString()).toMatch(/[Aa]uthorization failed/);
  });

  compatTest('kcat: a topic without READ delivers nothing', async () => {
    const consumed = await runProcess('kcat', [...kcatArgs('alice', 'alice-secret'), '-C', '-t', 'acl-other', '-o', 'beginning', '-e', '-J'], { timeoutMs: 60_000 });
    expect(consumed.code).not.toBe(0);
    expect(consumed.stdout.toString()).toBe('');
  });
});

describe('confluent-kafka-python with ACLs over SASL_PLAINTEXT PLAIN', () => {
  compatTest('confluent-kafka: a user with READ/WRITE on the topic and READ on the group produces and consumes', async () => {
    const verdict = await runPythonScript(SCRIPT, [`127.0.0.1:${ports.sasl}`, 'ck-acl', 'SASL_PLAINTEXT', 'PLAIN', 'alice', 'alice-secret', '-', '100', 'ok'], 120_000);
    expect(verdict.problems).toEqual([]);
    expect(verdict.stats.consumed).toBe(100);
  });

  compatTest('confluent-kafka: a user without ACLs gets no data through', async () => {
    const verdict = await runPythonScript(SCRIPT, [`127.0.0.1:${ports.sasl}`, 'ck-acl', 'SASL_PLAINTEXT', 'PLAIN', 'bob', 'bob-secret', '-', '5', 'fail'], 120_000);
    expect(verdict.problems).toEqual([]);
  });
});

describe('ACLs and kill -9', () => {
  compatTest('ACLs survive kill -9: after a restart alice still reads acl-feed and nothing else', async () => {
    await broker.kill9();
    broker = await startBroker(broker.dataDir);
    await kcatConsumesFeed();
    const described = await asAdmin((c) => c.send(ApiKey.DescribeAcls, 3, { resourceTypeFilter: ResourceType.ANY, resourceNameFilter: null, patternTypeFilter: PatternType.ANY, principalFilter: 'User:alice', hostFilter: null, operation: AclOperation.ANY, permissionType: AclPermissionType.ANY }));
    expect(described.resources.flatMap((r: any) => r.acls)).toHaveLength(4);
  });
});
