// The compiled `eddy` client commands over TLS and SASL: --security-protocol, --sasl-*, --ssl-* and
// --command-config, against in-process brokers with SASL_SSL (SCRAM), SASL_PLAINTEXT (PLAIN) and SSL with mTLS
// (client auth required, the certificate's DN a super user of the ACL authorizer). Certificates come from openssl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { makeCertificates, type TestCertificates } from '../../auth/support.js';
import { ensureBuilt, runCli } from './run-cli.js';

let certs: TestCertificates;
let sasl: TestBroker;
let mtls: TestBroker;

const port = (tb: TestBroker, name: string) => tb.broker.listeners.find((l) => l.name === name)!.port;
const at = (tb: TestBroker, name: string) => ['--bootstrap', `127.0.0.1:${port(tb, name)}`];

beforeAll(async () => {
  ensureBuilt();
  certs = makeCertificates();
  sasl = await startTestBroker({
    listeners: 'SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0',
    sslCertFile: certs.serverCert,
    sslKeyFile: certs.serverKey,
    saslEnabledMechanisms: 'SCRAM-SHA-256,SCRAM-SHA-512,PLAIN',
    saslUser: ['alice:alice-secret'],
  });
  mtls = await startTestBroker({
    listeners: 'SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0',
    sslCertFile: certs.serverCert,
    sslKeyFile: certs.serverKey,
    sslCaFile: certs.caCert,
    sslClientAuth: 'required',
    authorizer: 'acl',
    allowEveryoneIfNoAclFound: false,
    superUsers: 'User:CN=alice,OU=Tests,O=Eddy,C=US',
  });
}, 180_000);

afterAll(async () => {
  await sasl?.stop();
  await mtls?.stop();
  if (certs !== undefined) rmSync(certs.dir, { recursive: true, force: true });
});

function scram(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512', password = 'alice-secret'): string[] {
  return [...at(sasl, 'SASL_SSL'), '--security-protocol', 'SASL_SSL', '--ssl-ca-file', certs.caCert, '--sasl-mechanism', mechanism, '--sasl-username', 'alice', '--sasl-password', password];
}

describe('eddy over SASL_SSL with SCRAM', () => {
  it('topic create, produce and consume work with SCRAM-SHA-256 over TLS', async () => {
    const create = await runCli(['topic', 'create', 'tls-orders', '--partitions', '1', ...scram('SCRAM-SHA-256')]);
    expect(create.stderr).toBe('');
    expect(create.status).toBe(0);
    const produce = await runCli(['produce', 'tls-orders', ...scram('SCRAM-SHA-256')], { input: 'one\ntwo\nthree\n' });
    expect(produce.stderr).toBe('');
    expect(produce.status).toBe(0);
    const consume = await runCli(['consume', 'tls-orders', '--from-beginning', '--count', '3', ...scram('SCRAM-SHA-256')]);
    expect(consume.stderr).toBe('');
    expect(consume.stdout.trim().split('\n')).toEqual(['one', 'two', 'three']);
  });

  it('SCRAM-SHA-512 from a --command-config file with Kafka client properties (ScramLoginModule, PEM truststore)', async () => {
    const file = path.join(certs.dir, 'scram-512.properties');
    writeFileSync(
      file,
      [
        '# as for kafka-topics.sh --command-config',
        'security.protocol=SASL_SSL',
        'sasl.mechanism=SCRAM-SHA-512',
        'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\',
        '    username="alice" password="alice-secret";',
        `ssl.truststore.location=${certs.caCert}`,
        'ssl.truststore.type=PEM',
        'client.id=ignored',
      ].join('\n'),
    );
    const r = await runCli(['topic', 'list', '--json', ...at(sasl, 'SASL_SSL'), '--command-config', file]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toContain('tls-orders');
  });

  it('a wrong password fails with SASL_AUTHENTICATION_FAILED and the broker\'s message, exit 1', async () => {
    const r = await runCli(['topic', 'list', ...scram('SCRAM-SHA-256', 'wrong')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('eddy: SASL_AUTHENTICATION_FAILED: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256\n');
  });

  it('an unknown user fails with SASL_AUTHENTICATION_FAILED', async () => {
    const r = await runCli(['topic', 'list', ...at(sasl, 'SASL_SSL'), '--security-protocol', 'SASL_SSL', '--ssl-ca-file', certs.caCert, '--sasl-mechanism', 'SCRAM-SHA-512', '--sasl-username', 'mallory', '--sasl-password', 'x']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^eddy: SASL_AUTHENTICATION_FAILED: /);
  });

  it('without the CA the broker\'s certificate does not verify: a TLS handshake error', async () => {
    const r = await runCli(['topic', 'list', ...at(sasl, 'SASL_SSL'), '--security-protocol', 'SASL_SSL', '--sasl-mechanism', 'PLAIN', '--sasl-username', 'alice', '--sasl-password', 'alice-secret']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^eddy: cannot connect to 127\\.0\\.0\\.1:${port(sasl, 'SASL_SSL')}: TLS handshake failed: .*(verify|certificate)`));
  });

  it('plaintext to the TLS port says the listener may be TLS', async () => {
    const r = await runCli(['topic', 'list', ...at(sasl, 'SASL_SSL')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/connection closed by the broker before answering ApiVersions: is it a TLS listener\?/);
  });

  it('TLS to a plaintext port is a TLS handshake error', async () => {
    const r = await runCli(['topic', 'list', ...at(sasl, 'PLAINTEXT'), '--security-protocol', 'SSL', '--ssl-ca-file', certs.caCert]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TLS handshake failed/);
  });
});

describe('eddy over SASL_PLAINTEXT with PLAIN', () => {
  it('produce and consume work, the password read from --sasl-password-file', async () => {
    const passwordFile = path.join(certs.dir, 'alice.password');
    writeFileSync(passwordFile, 'alice-secret\n');
    const args = [...at(sasl, 'SASL_PLAINTEXT'), '--security-protocol', 'SASL_PLAINTEXT', '--sasl-mechanism', 'PLAIN', '--sasl-username', 'alice', '--sasl-password-file', passwordFile];
    expect((await runCli(['topic', 'create', 'plain-events', ...args])).status).toBe(0);
    const produce = await runCli(['produce', 'plain-events', ...args], { input: 'a\nb\n' });
    expect(produce.stderr).toBe('');
    const consume = await runCli(['consume', 'plain-events', '--from-beginning', '--count', '2', ...args]);
    expect(consume.stderr).toBe('');
    expect(consume.stdout.trim().split('\n')).toEqual(['a', 'b']);
  });

  it('PLAIN from --command-config (PlainLoginModule); a wrong password is SASL_AUTHENTICATION_FAILED', async () => {
    const file = path.join(certs.dir, 'plain.properties');
    const write = (password: string) =>
      writeFileSync(file, `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="${password}";\n`);
    write('alice-secret');
    const ok = await runCli(['topic', 'describe', 'plain-events', ...at(sasl, 'SASL_PLAINTEXT'), '--command-config', file]);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    write('nope');
    const bad = await runCli(['topic', 'list', ...at(sasl, 'SASL_PLAINTEXT'), '--command-config', file]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe('eddy: SASL_AUTHENTICATION_FAILED: Authentication failed: Invalid username or password\n');
  });

  it('without SASL the SASL listener closes the connection, and the error says it may be a SASL listener', async () => {
    const r = await runCli(['topic', 'list', ...at(sasl, 'SASL_PLAINTEXT')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is it a SASL listener\?/);
  });

  it('flags that do not fit together are usage errors (exit 2) naming the flag', async () => {
    const noProtocol = await runCli(['topic', 'list', ...at(sasl, 'SASL_PLAINTEXT'), '--sasl-username', 'alice']);
    expect(noProtocol.status).toBe(2);
    expect(noProtocol.stderr).toBe('eddy: --sasl-username needs security protocol SASL_PLAINTEXT or SASL_SSL (--security-protocol is PLAINTEXT)\n');
    const noMechanism = await runCli(['topic', 'list', ...at(sasl, 'SASL_PLAINTEXT'), '--security-protocol', 'sasl_plaintext', '--sasl-username', 'alice', '--sasl-password', 'x']);
    expect(noMechanism.status).toBe(2);
    expect(noMechanism.stderr).toMatch(/needs --sasl-mechanism/);
    const badProtocol = await runCli(['topic', 'list', ...at(sasl, 'SASL_PLAINTEXT'), '--security-protocol', 'TLS']);
    expect(badProtocol.status).toBe(2);
    expect(badProtocol.stderr).toBe('eddy: --security-protocol "TLS": expected one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL\n');
    const caWithoutTls = await runCli(['topic', 'list', ...at(sasl, 'PLAINTEXT'), '--ssl-ca-file', certs.caCert]);
    expect(caWithoutTls.status).toBe(2);
    expect(caWithoutTls.stderr).toMatch(/--ssl-ca-file needs security protocol SSL or SASL_SSL/);
    const missingFile = await runCli(['topic', 'list', ...at(sasl, 'PLAINTEXT'), '--command-config', path.join(certs.dir, 'missing.properties')]);
    expect(missingFile.status).toBe(2);
    expect(missingFile.stderr).toMatch(/--command-config .*missing\.properties: cannot read it \(ENOENT\)/);
  });
});

describe('eddy over SSL with a client certificate (mTLS)', () => {
  const tlsArgs = () => [...at(mtls, 'SSL'), '--security-protocol', 'SSL', '--ssl-ca-file', certs.caCert];

  it('a certificate signed by the CA is accepted and its DN is the principal (a super user: topic create is authorized)', async () => {
    const r = await runCli(['topic', 'create', 'mtls-topic', ...tlsArgs(), '--ssl-cert-file', certs.clientCert, '--ssl-key-file', certs.clientKey]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The same over PLAINTEXT (User:ANONYMOUS, no ACLs, allow.everyone.if.no.acl.found=false) is refused.
    const anonymous = await runCli(['topic', 'create', 'anonymous-topic', ...at(mtls, 'PLAINTEXT')]);
    expect(anonymous.status).toBe(1);
    expect(anonymous.stderr).toMatch(/TOPIC_AUTHORIZATION_FAILED|CLUSTER_AUTHORIZATION_FAILED/);
  });

  it('the key and chain in one PEM keystore from --command-config work too', async () => {
    const keystore = path.join(certs.dir, 'client-keystore.pem');
    writeFileSync(keystore, Buffer.concat([readFileSync(certs.clientKey), readFileSync(certs.clientCert)]));
    const file = path.join(certs.dir, 'mtls.properties');
    writeFileSync(file, `security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=${certs.caCert}\nssl.keystore.type=PEM\nssl.keystore.location=${keystore}\n`);
    const r = await runCli(['topic', 'list', '--json', ...at(mtls, 'SSL'), '--command-config', file]);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).map((t: { name: string }) => t.name)).toContain('mtls-topic');
  });

  it('without a client certificate, or with one the CA did not sign, the broker refuses the connection', async () => {
    const none = await runCli(['topic', 'list', ...tlsArgs()]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/TLS (handshake failed|error)|does the listener want a client certificate/);
    const rogue = await runCli(['topic', 'list', ...tlsArgs(), '--ssl-cert-file', certs.rogueCert, '--ssl-key-file', certs.rogueKey]);
    expect(rogue.status).toBe(1);
    expect(rogue.stderr).toMatch(/TLS (handshake failed|error)|does the listener want a client certificate/);
    expect(rogue.stdout).toBe('');
  });

  it('a certificate without its key is a usage error', async () => {
    const r = await runCli(['topic', 'list', ...tlsArgs(), '--ssl-cert-file', certs.clientCert]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('eddy: --ssl-cert-file needs its private key (--ssl-key-file)\n');
  });
});
