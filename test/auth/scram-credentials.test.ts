// SCRAM credential administration: DescribeUserScramCredentials / AlterUserScramCredentials with Kafka's checks
// and codes, the durable store across restarts, --sasl-user, and a corrupt store file.
import { afterEach, describe, expect, it } from 'vitest';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { createBroker } from '../../src/broker.js';
import { makeTempDir, startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, authenticate } from './support.js';
import { rfc2253FromOpenSslSubject } from '../../src/auth/principal.js';
import { usernameFromSaslName } from '../../src/auth/scram.js';

let tb: TestBroker | undefined;
let clients: RawClient[] = [];
const LISTENERS = 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0';

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await tb?.stop();
  tb = undefined;
});

async function client(name = 'PLAINTEXT'): Promise<RawClient> {
  const c = await RawClient.connect(tb!.broker.listeners.find((l) => l.name === name)!.port);
  clients.push(c);
  return c;
}

function upsertion(name: string, mechanism: number, password: string, iterations = 4096) {
  const salt = randomBytes(16);
  const hash = mechanism === 1 ? 'sha256' : 'sha512';
  return { name, mechanism, iterations, salt, saltedPassword: pbkdf2Sync(password, salt, iterations, mechanism === 1 ? 32 : 64, hash) };
}

describe('AlterUserScramCredentials and DescribeUserScramCredentials', () => {
  it('an upserted credential is described (mechanism and iterations only) and logs in with SCRAM and PLAIN', async () => {
    tb = await startTestBroker({ listeners: LISTENERS });
    const admin = await client();
    const altered = await admin.send(ApiKey.AlterUserScramCredentials, 0, { upsertions: [upsertion('carol', 1, 'c-secret'), upsertion('dave', 2, 'd-secret', 8192)] });
    expect(altered.results).toEqual([
      { user: 'carol', errorCode: 0, errorMessage: null },
      { user: 'dave', errorCode: 0, errorMessage: null },
    ]);
    const described = await admin.send(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    expect(described).toMatchObject({ errorCode: 0, results: [
      { user: 'carol', errorCode: 0, credentialInfos: [{ mechanism: 1, iterations: 4096 }] },
      { user: 'dave', errorCode: 0, credentialInfos: [{ mechanism: 2, iterations: 8192 }] },
    ] });
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'SCRAM-SHA-256', 'carol', 'c-secret')).errorCode).toBe(0);
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'PLAIN', 'dave', 'd-secret')).errorCode).toBe(0);
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'SCRAM-SHA-512', 'carol', 'c-secret')).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  });

  it('answers Kafka\'s codes: duplicates, unknown mechanism, iteration bounds, empty name, missing credential', async () => {
    tb = await startTestBroker({ listeners: LISTENERS, saslUser: ['alice:a'] });
    const admin = await client();
    const res = await admin.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [{ name: 'alice', mechanism: 1 }, { name: 'ghost', mechanism: 1 }, { name: 'x', mechanism: 7 }],
      upsertions: [upsertion('alice', 2, 'b'), upsertion('few', 1, 'p', 4095), upsertion('many', 2, 'p', 16385), upsertion('', 1, 'p'), upsertion('ok', 1, 'p')],
    });
    const byUser = Object.fromEntries(res.results.map((r: any) => [r.user, [r.errorCode, r.errorMessage]]));
    expect(byUser).toEqual({
      ok: [0, null],
      alice: [ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request'],
      ghost: [ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist'],
      x: [ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism'],
      few: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations'],
      many: [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations'],
      '': [ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty'],
    });
    // alice was in error: none of her changes applied.
    const alice = await admin.send(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'alice' }] });
    expect(alice.results[0].credentialInfos).toEqual([
      { mechanism: 1, iterations: 4096 },
      { mechanism: 2, iterations: 4096 },
    ]);
  });

  it('describes a missing user as RESOURCE_NOT_FOUND and a repeated one as DUPLICATE_RESOURCE', async () => {
    tb = await startTestBroker({ listeners: LISTENERS, saslUser: ['alice:a'] });
    const admin = await client();
    const res = await admin.send(ApiKey.DescribeUserScramCredentials, 0, { users: [{ name: 'nobody' }, { name: 'alice' }, { name: 'alice' }] });
    expect(res.results).toEqual([
      { user: 'nobody', errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to describe a user credential that does not exist: nobody', credentialInfos: [] },
      { user: 'alice', errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'Cannot describe SCRAM credentials for the same user twice in a single request: alice', credentialInfos: [] },
    ]);
  });

  it('a deleted credential no longer logs in', async () => {
    tb = await startTestBroker({ listeners: LISTENERS, saslUser: ['alice:a'], saslEnabledMechanisms: 'SCRAM-SHA-256' });
    const admin = await client();
    const res = await admin.send(ApiKey.AlterUserScramCredentials, 0, { deletions: [{ name: 'alice', mechanism: 1 }] });
    expect(res.results).toEqual([{ user: 'alice', errorCode: 0, errorMessage: null }]);
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'SCRAM-SHA-256', 'alice', 'a')).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  });
});

describe('the credential store', () => {
  it('keeps credentials across a restart and stores no password', async () => {
    const dataDir = makeTempDir();
    tb = await startTestBroker({ dataDir, listeners: LISTENERS });
    await (await client()).send(ApiKey.AlterUserScramCredentials, 0, { upsertions: [upsertion('erin', 2, 'e-very-secret')] });
    await tb.stop({ keepData: true });
    const file = readFileSync(path.join(dataDir, 'scram-credentials.json'), 'utf8');
    expect(file).not.toContain('e-very-secret');
    expect(JSON.parse(file)).toMatchObject({ version: 1, credentials: [{ user: 'erin', mechanism: 'SCRAM-SHA-512', iterations: 4096 }] });
    tb = await startTestBroker({ dataDir, listeners: LISTENERS });
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'SCRAM-SHA-512', 'erin', 'e-very-secret')).errorCode).toBe(0);
  });

  it('--sasl-user creates a credential for every enabled SCRAM mechanism and a restart with the same password rewrites nothing', async () => {
    const dataDir = makeTempDir();
    tb = await startTestBroker({ dataDir, listeners: LISTENERS, saslUser: 'admin:admin-secret' });
    await tb.stop({ keepData: true });
    const before = readFileSync(path.join(dataDir, 'scram-credentials.json'), 'utf8');
    expect(JSON.parse(before).credentials.map((c: any) => c.mechanism)).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    tb = await startTestBroker({ dataDir, listeners: LISTENERS, saslUser: ['admin:admin-secret'] });
    expect(readFileSync(path.join(dataDir, 'scram-credentials.json'), 'utf8')).toBe(before);
    await tb.stop({ keepData: true });
    tb = await startTestBroker({ dataDir, listeners: LISTENERS, saslUser: ['admin:new-secret'] });
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'PLAIN', 'admin', 'new-secret')).errorCode).toBe(0);
  });

  it('a corrupt store file is renamed aside and logged; the broker starts and --sasl-user users work', async () => {
    const dataDir = makeTempDir();
    writeFileSync(path.join(dataDir, 'scram-credentials.json'), '{"version": 1, "credentials": [{"user": "x"');
    const lines: any[] = [];
    const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(chunk.toString())), done()) }));
    tb = await startTestBroker({ dataDir, listeners: LISTENERS, saslUser: ['alice:a-secret'], logger });
    expect(readdirSync(dataDir).filter((f) => f.startsWith('scram-credentials.json.corrupt-'))).toHaveLength(1);
    expect(lines.some((l) => l.msg.includes('SCRAM credentials file is unreadable'))).toBe(true);
    expect((await authenticate(await client('SASL_PLAINTEXT'), 'SCRAM-SHA-256', 'alice', 'a-secret')).errorCode).toBe(0);
  });

  it('a store file with a bad key length is not trusted either', async () => {
    const dataDir = makeTempDir();
    const doc = { version: 1, credentials: [{ user: 'x', mechanism: 'SCRAM-SHA-256', iterations: 4096, salt: 'c2FsdA==', storedKey: 'AAAA', serverKey: 'AAAA' }] };
    writeFileSync(path.join(dataDir, 'scram-credentials.json'), JSON.stringify(doc));
    tb = await startTestBroker({ dataDir, listeners: LISTENERS });
    expect(existsSync(path.join(dataDir, 'scram-credentials.json'))).toBe(false);
    const res = await (await client()).send(ApiKey.DescribeUserScramCredentials, 0, { users: null });
    expect(res.results).toEqual([]);
  });
});

describe('options', () => {
  it('refuses a bad --sasl-user, an unknown mechanism, a listener without a protocol and TLS without a certificate', async () => {
    await expect(createBroker({ saslUser: ['nopassword'] })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ saslEnabledMechanisms: 'GSSAPI' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ listeners: 'INTERNAL://127.0.0.1:0' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ listeners: 'SSL://127.0.0.1:0' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ listeners: 'PLAINTEXT://127.0.0.1:9500,SSL://127.0.0.1:9500', sslCertFile: 'a', sslKeyFile: 'b' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ listeners: 'PLAINTEXT://127.0.0.1:0', advertisedListeners: 'OTHER://h:1' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  it('a custom listener name mapped by listenerSecurityProtocolMap, and advertisedListeners per listener', async () => {
    tb = await startTestBroker({
      listeners: 'CLIENT://127.0.0.1:0,internal://127.0.0.1:0',
      listenerSecurityProtocolMap: 'CLIENT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT',
      advertisedListeners: 'CLIENT://kafka.example.com:19092',
    });
    expect(tb.broker.listeners.map((l) => [l.name, l.securityProtocol])).toEqual([
      ['CLIENT', 'PLAINTEXT'],
      ['INTERNAL', 'SASL_PLAINTEXT'],
    ]);
    const c = await client('CLIENT');
    expect((await c.send(ApiKey.Metadata, 12, { topics: null })).brokers[0]).toMatchObject({ host: 'kafka.example.com', port: 19092 });
  });

  it('the startup line names the --sasl-user users but never their passwords', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }));
    tb = await startTestBroker({ listeners: LISTENERS, saslUser: ['alice:topsecret'], logger });
    const listening = JSON.parse(lines.find((l) => l.includes('"msg":"listening"'))!);
    expect(listening.config.saslUser).toEqual(['alice']);
    expect(listening.listeners).toHaveLength(2);
    expect(lines.join('')).not.toContain('topsecret');
  });
});

describe('helpers', () => {
  it('turns node\'s multi-line subject into RFC 2253 order, keeping multi-valued RDNs and escapes', () => {
    expect(rfc2253FromOpenSslSubject('C=US\nO=Eddy\nOU=Tests\nCN=alice')).toBe('CN=alice,OU=Tests,O=Eddy,C=US');
    expect(rfc2253FromOpenSslSubject('O=A\\, Inc.\nCN=bob + UID=7')).toBe('CN=bob+UID=7,O=A\\, Inc.');
  });

  it('decodes SCRAM sasl names as Kafka does', () => {
    expect(usernameFromSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(usernameFromSaslName('a=41')).toBeUndefined();
  });
});
