/**
 * Real clients against the compiled broker's security listeners (issue 13): kcat (librdkafka 2.0.2) and
 * confluent-kafka-python over SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512 and over SASL_PLAINTEXT with PLAIN
 * produce and consume; a wrong password, an unknown user and a plaintext client on the TLS port get no data
 * through. Also: SCRAM credentials written by AlterUserScramCredentials survive kill -9.
 *
 * The broker runs as `eddy start --listeners SASL_SSL://127.0.0.1:A,SASL_PLAINTEXT://127.0.0.1:B,PLAINTEXT://…
 * --ssl-cert-file … --ssl-key-file … --sasl-user alice:alice-secret`, with certificates openssl makes here.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from './lib/known-failures.js';
import { runPythonScript } from './lib/python.js';
import { freePort, spawnBroker, type SpawnedBroker } from '../test/helpers/spawn-broker.js';
import { describeResult, parseKcatJson, runProcess } from '../test/e2e/support/kcat.js';
import { makeCertificates, RawClient, authenticate, type TestCertificates } from '../test/auth/support.js';
import { ApiKey } from '../src/protocol/generated/index.js';

const SCRIPT = new URL('./security/security_roundtrip.py', import.meta.url).pathname;
let certs: TestCertificates;
let broker: SpawnedBroker;
const ports = { sslSasl: 0, sasl: 0, plain: 0 };

async function startBroker(dataDir?: string): Promise<SpawnedBroker> {
  const listeners = `SASL_SSL://127.0.0.1:${ports.sslSasl},SASL_PLAINTEXT://127.0.0.1:${ports.sasl},PLAINTEXT://127.0.0.1:${ports.plain}`;
  return spawnBroker({
    port: ports.sslSasl,
    dataDir,
    keepDataDir: true,
    extraArgs: ['--listeners', listeners, '--ssl-cert-file', certs.serverCert, '--ssl-key-file', certs.serverKey, '--sasl-user', 'alice:alice-secret', '--sasl-user', 'admin:admin-secret', '--num-partitions', '1'],
  });
}

beforeAll(async () => {
  certs = makeCertificates();
  ports.sslSasl = await freePort();
  ports.sasl = await freePort();
  ports.plain = await freePort();
  broker = await startBroker();
}, 120_000);

afterAll(async () => {
  await broker?.stop();
  if (broker !== undefined) rmSync(broker.dataDir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

function kcatArgs(port: number, protocol: string, mechanism: string, user: string, password: string): string[] {
  const args = ['-b', `127.0.0.1:${port}`, '-X', `security.protocol=${protocol}`];
  if (mechanism !== '') args.push('-X', `sasl.mechanisms=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`);
  if (protocol.endsWith('SSL')) args.push('-X', `ssl.ca.location=${certs.caCert}`, '-X', 'ssl.endpoint.identification.algorithm=none');
  return args;
}

async function kcatRoundTrip(port: number, protocol: string, mechanism: string, topic: string): Promise<void> {
  const input = join(certs.dir, `${topic}.txt`);
  writeFileSync(input, Array.from({ length: 50 }, (_, i) => `k${i}:v${i}`).join('\n') + '\n');
  const auth = kcatArgs(port, protocol, mechanism, 'alice', 'alice-secret');
  const produced = await runProcess('kcat', [...auth, '-P', '-t', topic, '-K:', '-l', input], { timeoutMs: 60_000 });
  expect(produced.code, describeResult(produced)).toBe(0);
  const consumed = await runProcess('kcat', [...auth, '-C', '-t', topic, '-o', 'beginning', '-e', '-J'], { timeoutMs: 60_000 });
  expect(consumed.code, describeResult(consumed)).toBe(0);
  const records = parseKcatJson(consumed.stdout);
  expect(records.map((r) => r.payload)).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
}

describe('kcat over SASL', () => {
  compatTest('kcat SASL_SSL SCRAM-SHA-256 produces and consumes', () => kcatRoundTrip(ports.sslSasl, 'SASL_SSL', 'SCRAM-SHA-256', 'kcat-scram-256'));
  compatTest('kcat SASL_SSL SCRAM-SHA-512 produces and consumes', () => kcatRoundTrip(ports.sslSasl, 'SASL_SSL', 'SCRAM-SHA-512', 'kcat-scram-512'));
  compatTest('kcat SASL_PLAINTEXT PLAIN produces and consumes', () => kcatRoundTrip(ports.sasl, 'SASL_PLAINTEXT', 'PLAIN', 'kcat-plain'));

  for (const [label, args] of [
    ['a wrong password', () => kcatArgs(ports.sslSasl, 'SASL_SSL', 'SCRAM-SHA-256', 'alice', 'wrong')],
    ['an unknown user', () => kcatArgs(ports.sslSasl, 'SASL_SSL', 'SCRAM-SHA-512', 'mallory', 'x')],
    ['a plaintext client on the TLS port', () => kcatArgs(ports.sslSasl, 'PLAINTEXT', '', '', '')],
  ] as const) {
    compatTest(`kcat with ${label} lists no metadata and reads nothing`, async () => {
      const listed = await runProcess('kcat', [...args(), '-L', '-m', '5'], { timeoutMs: 30_000 });
      expect(listed.code).not.toBe(0);
      expect(listed.stdout.toString()).not.toContain('kcat-scram-256');
      const consumed = await runProcess('kcat', [...args(), '-C', '-t', 'kcat-scram-256', '-o', 'beginning', '-e', '-m', '5'], { timeoutMs: 30_000 });
      expect(consumed.stdout.toString()).not.toContain('v1');
    });
  }
});

describe('confluent-kafka-python over SASL', () => {
  for (const [protocol, mechanism, port] of [
    ['SASL_SSL', 'SCRAM-SHA-256', () => ports.sslSasl],
    ['SASL_SSL', 'SCRAM-SHA-512', () => ports.sslSasl],
    ['SASL_PLAINTEXT', 'PLAIN', () => ports.sasl],
  ] as const) {
    compatTest(`confluent-kafka ${protocol} ${mechanism} produces and consumes`, async () => {
      const topic = `ck-${mechanism.toLowerCase()}-${protocol.toLowerCase()}`;
      const verdict = await runPythonScript(SCRIPT, [`127.0.0.1:${port()}`, topic, protocol, mechanism, 'alice', 'alice-secret', protocol === 'SASL_SSL' ? certs.caCert : '-', '200', 'ok'], 120_000);
      expect(verdict.problems).toEqual([]);
      expect(verdict.stats.consumed).toBe(200);
    });
  }

  for (const [label, args] of [
    ['a wrong password', () => [`127.0.0.1:${ports.sslSasl}`, 'ck-refused', 'SASL_SSL', 'SCRAM-SHA-256', 'alice', 'wrong', certs.caCert]],
    ['an unknown user', () => [`127.0.0.1:${ports.sasl}`, 'ck-refused', 'SASL_PLAINTEXT', 'PLAIN', 'mallory', 'x', '-']],
    ['a plaintext client on the TLS port', () => [`127.0.0.1:${ports.sslSasl}`, 'ck-refused', 'PLAINTEXT', '-', '-', '-', '-']],
  ] as const) {
    compatTest(`confluent-kafka with ${label} gets no data through`, async () => {
      const verdict = await runPythonScript(SCRIPT, [...args(), '5', 'fail'], 120_000);
      expect(verdict.problems).toEqual([]);
    });
  }
});

describe('credentials and kill -9', () => {
  compatTest('a credential altered through AlterUserScramCredentials survives kill -9', async () => {
    const admin = await RawClient.connect(ports.plain);
    const salt = randomBytes(16);
    const res = await admin.send(ApiKey.AlterUserScramCredentials, 0, {
      upsertions: [{ name: 'carol', mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync('carol-secret', salt, 4096, 64, 'sha512') }],
    });
    admin.close();
    expect(res.results).toEqual([{ user: 'carol', errorCode: 0, errorMessage: null }]);
    await broker.kill9();
    broker = await startBroker(broker.dataDir);
    const client = await RawClient.connect(ports.sasl);
    expect((await authenticate(client, 'SCRAM-SHA-512', 'carol', 'carol-secret')).errorCode).toBe(0);
    client.close();
    await kcatRoundTrip(ports.sslSasl, 'SASL_SSL', 'SCRAM-SHA-512', 'kcat-after-kill9');
  });
});
