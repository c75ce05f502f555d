// SASL on a SASL_PLAINTEXT listener, raw over our own codec: the handshake v1 + SaslAuthenticate flow and the v0
// raw-token flow, PLAIN and SCRAM good and bad, and everything a client may not do before it is authenticated.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, ScramClient, authenticate, plainToken } from './support.js';

const GENERIC = (m: string) => `Authentication failed during authentication due to invalid credentials with SASL mechanism ${m}`;

let tb: TestBroker;
let clients: RawClient[] = [];

async function connect(port = tb.broker.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

beforeEach(async () => {
  tb = await startTestBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    saslUser: ['alice:alice-secret', 'bob:bob-secret'],
  });
});

afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await tb.stop();
});

describe('SaslHandshake v1 + SaslAuthenticate', () => {
  it('answers the handshake with the enabled mechanisms, in the configured order', async () => {
    const c = await connect();
    const res = await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    expect(res).toEqual({ errorCode: 0, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
  });

  it('PLAIN with the right password authenticates and then serves ordinary requests', async () => {
    const c = await connect();
    const versions = await c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1' });
    expect(versions.errorCode).toBe(0);
    const res = await authenticate(c, 'PLAIN', 'alice', 'alice-secret');
    expect(res).toMatchObject({ errorCode: 0, errorMessage: null, sessionLifetimeMs: 0n });
    expect(res.authBytes.length).toBe(0);
    const metadata = await c.send(ApiKey.Metadata, 12, { topics: null });
    expect(metadata.brokers[0].port).toBe(tb.broker.listeners[1]!.port);
    expect(tb.broker.stats().server.successfulAuthentications).toBe(1);
  });

  it('PLAIN with a wrong password answers SASL_AUTHENTICATION_FAILED with Kafka\'s message and closes', async () => {
    const c = await connect();
    const res = await authenticate(c, 'PLAIN', 'alice', 'wrong');
    expect(res.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(res.errorMessage).toBe('Authentication failed: Invalid username or password');
    expect(await c.closesWithin()).toBe(true);
    expect(tb.broker.stats().server.failedAuthentications).toBe(1);
  });

  it('PLAIN for an unknown user fails the same way as a wrong password', async () => {
    const c = await connect();
    const res = await authenticate(c, 'PLAIN', 'nobody', 'x');
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Authentication failed: Invalid username or password' });
    expect(await c.closesWithin()).toBe(true);
  });

  it('PLAIN with a malformed token names the token count', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const res = await c.send(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.from('alice') });
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: 'Invalid SASL/PLAIN response: expected 3 tokens, got 1' });
    expect(await c.closesWithin()).toBe(true);
  });

  it('PLAIN with an authorization id other than the user is refused', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const res = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: plainToken('alice', 'alice-secret', 'bob') });
    expect(res.errorMessage).toBe('Authentication failed: Client requested an authorization id that is different from username');
  });

  for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
    for (const version of [0, 1, 2]) {
      it(`${mechanism} authenticates with SaslAuthenticate v${version} and the server signature verifies`, async () => {
        const c = await connect();
        const res = await authenticate(c, mechanism, 'bob', 'bob-secret', version);
        expect(res.errorCode).toBe(0);
        const produce = await c.send(ApiKey.Metadata, 1, { topics: [] });
        expect(produce.brokers).toHaveLength(1);
      });
    }

    it(`${mechanism} with a wrong password answers the generic message and closes`, async () => {
      const c = await connect();
      const res = await authenticate(c, mechanism, 'bob', 'nope');
      expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: GENERIC(mechanism) });
      expect(await c.closesWithin()).toBe(true);
    });
  }

  it('SCRAM for an unknown user fails at the first message with the generic message', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    const res = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: new ScramClient('sha256', 'nobody', 'x').clientFirst() });
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: GENERIC('SCRAM-SHA-256') });
    expect(await c.closesWithin()).toBe(true);
  });

  it('SCRAM with a wrong nonce in the final message fails', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-512' });
    const scram = new ScramClient('sha512', 'alice', 'alice-secret');
    const first = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.clientFirst() });
    const res = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.clientFinal(first.authBytes, `${scram.clientNonce}forged`) });
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: GENERIC('SCRAM-SHA-512') });
    expect(await c.closesWithin()).toBe(true);
  });

  it('SCRAM with a replayed client-final from an earlier exchange fails (fresh server nonce)', async () => {
    const a = await connect();
    await a.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    const scram = new ScramClient('sha256', 'alice', 'alice-secret');
    const first = await a.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.clientFirst() });
    const captured = scram.clientFinal(first.authBytes);
    const ok = await a.send(ApiKey.SaslAuthenticate, 2, { authBytes: captured });
    expect(ok.errorCode).toBe(0);

    const b = await connect();
    await b.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    await b.send(ApiKey.SaslAuthenticate, 2, { authBytes: scram.clientFirst() });
    const replayed = await b.send(ApiKey.SaslAuthenticate, 2, { authBytes: captured });
    expect(replayed.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(await b.closesWithin()).toBe(true);
    expect(a.isClosed).toBe(false);
  });

  it('SCRAM with a malformed first message fails with the generic message', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' });
    const res = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: Buffer.from('y,,n=alice,r=abc') });
    expect(res).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: GENERIC('SCRAM-SHA-256') });
  });

  it('a mechanism that is not enabled answers UNSUPPORTED_SASL_MECHANISM with the enabled ones, then closes', async () => {
    const c = await connect();
    const res = await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'GSSAPI' });
    expect(res).toEqual({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] });
    expect(await c.closesWithin()).toBe(true);
  });

  it('another request between the handshake and authentication gets its ILLEGAL_SASL_STATE answer, then a close', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const res = await c.send(ApiKey.Metadata, 9, { topics: null });
    expect(res.topics).toEqual([]);
    expect(res.brokers).toEqual([]);
    expect(await c.closesWithin()).toBe(true);
  });

  it('after authentication a SaslHandshake (no re-authentication configured) answers ILLEGAL_SASL_STATE', async () => {
    const c = await connect();
    await authenticate(c, 'PLAIN', 'alice', 'alice-secret');
    expect(await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).toEqual({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] });
    const again = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: plainToken('alice', 'alice-secret') });
    expect(again).toMatchObject({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate request received after successful authentication' });
    expect(c.isClosed).toBe(false);
  });
});

describe('SaslHandshake v0 and raw tokens (KIP-43)', () => {
  it('PLAIN as a raw token authenticates and answers an empty raw token', async () => {
    const c = await connect();
    expect((await c.send(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    const answer = await c.sendToken(plainToken('alice', 'alice-secret'));
    expect(answer.length).toBe(0);
    const metadata = await c.send(ApiKey.Metadata, 4, { topics: [] });
    expect(metadata.brokers).toHaveLength(1);
  });

  it('SCRAM-SHA-256 as raw tokens authenticates', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 0, { mechanism: 'SCRAM-SHA-256' });
    const scram = new ScramClient('sha256', 'alice', 'alice-secret');
    const serverFirst = await c.sendToken(scram.clientFirst());
    const serverFinal = await c.sendToken(scram.clientFinal(serverFirst));
    expect(scram.verifyServerFinal(serverFinal)).toBe(true);
    expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
  });

  it('a failed raw-token exchange closes without an answer', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 0, { mechanism: 'PLAIN' });
    c.writeToken(plainToken('alice', 'wrong'));
    expect(await c.closesWithin()).toBe(true);
    await expect(c.nextFrame(100)).rejects.toThrow();
  });
});

describe('before authentication', () => {
  it('a raw SASL token before the handshake closes the connection', async () => {
    const c = await connect();
    c.writeToken(plainToken('alice', 'alice-secret'));
    expect(await c.closesWithin()).toBe(true);
  });

  it('a Metadata request before authentication closes the connection without an answer', async () => {
    const c = await connect();
    c.writeRaw((await import('../helpers/kafka-test-client.js')).TestClient.encodeRequest(ApiKey.Metadata, 9, { topics: null, allowAutoTopicCreation: true, includeTopicAuthorizedOperations: false }, 1));
    expect(await c.closesWithin()).toBe(true);
  });

  it('a Produce before authentication closes the connection and writes nothing', async () => {
    const c = await connect();
    await expect(c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 1000, topicData: [{ name: 'sneaky', partitionData: [] }] })).rejects.toThrow('connection closed');
    expect(tb.broker.stats().server.connections).toBeLessThanOrEqual(1);
  });

  it('a second ApiVersions before the handshake closes the connection', async () => {
    const c = await connect();
    expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
    await expect(c.send(ApiKey.ApiVersions, 0)).rejects.toThrow('connection closed');
  });

  it('a frame larger than sasl.server.max.receive.size closes the connection; other connections are unaffected', async () => {
    const good = await connect();
    await authenticate(good, 'PLAIN', 'alice', 'alice-secret');
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const size = Buffer.alloc(4);
    size.writeInt32BE(524289, 0);
    c.writeRaw(size);
    expect(await c.closesWithin()).toBe(true);
    expect((await good.send(ApiKey.Metadata, 1, { topics: [] })).brokers).toHaveLength(1);
  });

  it('a SaslAuthenticate token just under the limit is evaluated (and fails as PLAIN)', async () => {
    const c = await connect();
    await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' });
    const res = await c.send(ApiKey.SaslAuthenticate, 1, { authBytes: Buffer.alloc(500_000, 0x61) });
    expect(res.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
  });
});

describe('listeners', () => {
  it('the PLAINTEXT listener serves without authentication and advertises its own port', async () => {
    const c = await connect(tb.broker.listeners[0]!.port);
    const metadata = await c.send(ApiKey.Metadata, 12, { topics: null });
    expect(metadata.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: tb.broker.listeners[0]!.port, rack: null }]);
    const coordinator = await c.send(ApiKey.FindCoordinator, 3, { key: 'g', keyType: 0 });
    expect(coordinator.port).toBe(tb.broker.listeners[0]!.port);
    expect(await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).toEqual({ errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms: [] });
  });

  it('the SASL listener advertises its own port in Metadata, FindCoordinator and DescribeCluster', async () => {
    const c = await connect();
    await authenticate(c, 'SCRAM-SHA-256', 'alice', 'alice-secret');
    const port = tb.broker.listeners[1]!.port;
    expect((await c.send(ApiKey.Metadata, 12, { topics: null })).brokers[0].port).toBe(port);
    expect((await c.send(ApiKey.FindCoordinator, 4, { keyType: 0, coordinatorKeys: ['g'] })).coordinators[0].port).toBe(port);
    expect((await c.send(ApiKey.DescribeCluster, 0)).brokers[0].port).toBe(port);
  });

  it('broker.port and broker.bootstrap are the first listener', () => {
    expect(tb.broker.port).toBe(tb.broker.listeners[0]!.port);
    expect(tb.broker.bootstrap).toBe(`127.0.0.1:${tb.broker.listeners[0]!.port}`);
    expect(tb.broker.listeners.map((l) => [l.name, l.securityProtocol])).toEqual([
      ['PLAINTEXT', 'PLAINTEXT'],
      ['SASL_PLAINTEXT', 'SASL_PLAINTEXT'],
    ]);
  });
});

describe('ApiVersions before the handshake', () => {
  it('an ApiVersions at an unsupported version is answered and may be retried before the handshake (KIP-511)', async () => {
    const c = await connect();
    const { TestClient } = await import('../helpers/kafka-test-client.js');
    const frame = TestClient.encodeRequest(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }, 77);
    frame.writeInt16BE(9, 6); // request_api_version: 9, above what the broker supports
    c.writeRaw(frame);
    const answer = await c.nextFrame();
    expect(answer.readInt32BE(0)).toBe(77); // response header v0: the correlation id
    expect(answer.readInt16BE(4)).toBe(ErrorCode.UNSUPPORTED_VERSION);
    expect((await c.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
    expect((await authenticate(c, 'PLAIN', 'alice', 'alice-secret')).errorCode).toBe(0);
  });
});
