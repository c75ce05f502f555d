// KIP-368 re-authentication with connections.max.reauth.ms: the session lifetime answered, re-authenticating on
// the same connection, the checks on it, and the close of an expired session.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, authenticate, plainToken } from './support.js';

const REAUTH_MS = 1500;
let tb: TestBroker;
let clients: RawClient[] = [];

async function connect(): Promise<RawClient> {
  const c = await RawClient.connect(tb.broker.port);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  tb = await startTestBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslUser: ['alice:a-secret', 'bob:b-secret'], connectionsMaxReauthMs: REAUTH_MS });
});
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await tb.stop();
});

describe('re-authentication (KIP-368)', () => {
  it('answers session_lifetime_ms = connections.max.reauth.ms and re-authenticates on the same connection', async () => {
    const c = await connect();
    const first = await authenticate(c, 'SCRAM-SHA-256', 'alice', 'a-secret', 1);
    expect(first).toMatchObject({ errorCode: 0, sessionLifetimeMs: BigInt(REAUTH_MS) });
    await sleep(1100); // Kafka allows one re-authentication per second
    const again = await authenticate(c, 'SCRAM-SHA-256', 'alice', 'a-secret', 2);
    expect(again).toMatchObject({ errorCode: 0, sessionLifetimeMs: BigInt(REAUTH_MS) });
    await sleep(700); // past the first session's end, inside the new one
    expect((await c.send(ApiKey.Metadata, 12, { topics: null })).brokers).toHaveLength(1);
    expect(tb.broker.stats().server.successfulReauthentications).toBe(1);
  });

  it('a request after the session expired closes the connection, unanswered', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'a-secret');
    await sleep(REAUTH_MS + 200);
    await expect(c.send(ApiKey.Metadata, 12, { topics: null })).rejects.toThrow('connection closed');
    expect(tb.broker.stats().server.expiredConnectionsKilled).toBe(1);
  });

  it('an expired session can still re-authenticate with a SaslHandshake', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'a-secret');
    await sleep(REAUTH_MS + 200);
    expect((await authenticate(c, 'PLAIN', 'alice', 'a-secret')).errorCode).toBe(0);
    expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
  });

  it('re-authenticating as another user fails with Kafka\'s message and closes', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'a-secret');
    await sleep(1100);
    const res = await authenticate(c, 'PLAIN', 'bob', 'b-secret');
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Cannot change principals during re-authentication from User.alice: User.bob' });
    expect(await c.closesWithin()).toBe(true);
    expect(tb.broker.stats().server.failedReauthentications).toBe(1);
  });

  it('re-authenticating with another mechanism: the handshake is answered, the next token closes', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'a-secret');
    await sleep(1100);
    expect((await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' })).errorCode).toBe(0);
    await expect(c.send(ApiKey.SaslAuthenticate, 2, { authBytes: plainToken('alice', 'a-secret') })).rejects.toThrow('connection closed');
  });

  it('a second handshake within a second of the last re-authentication goes to the handler (ILLEGAL_SASL_STATE)', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'a-secret');
    await sleep(1050);
    expect((await authenticate(c, 'PLAIN', 'alice', 'a-secret')).errorCode).toBe(0);
    expect((await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
  });
});
