// The client side of SASL (src/client/sasl.ts) against the broker's own SCRAM server (src/auth/scram.ts), and
// KafkaClient over SASL_PLAINTEXT re-authenticating when the broker gives the session a lifetime (KIP-368).
import { afterEach, describe, expect, it } from 'vitest';
import { createSaslClient, SaslClientError } from '../../src/client/sasl.js';
import { KafkaClient } from '../../src/client/client.js';
import { KafkaClientError } from '../../src/client/errors.js';
import { generateCredential, ScramSaslServer, SCRAM_SHA_256, SCRAM_SHA_512, type ScramMechanism } from '../../src/auth/scram.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

async function exchange(mechanism: ScramMechanism, password: string, tamper?: (serverFinal: Buffer) => Buffer): Promise<void> {
  const credential = await generateCredential(mechanism, 'alice-secret');
  const server = new ScramSaslServer(mechanism, (user) => (user === 'al,ice' ? credential : undefined));
  const client = createSaslClient({ mechanism: mechanism.name, username: 'al,ice', password });
  const serverFirst = await server.evaluateResponse(client.first());
  const clientFinal = await client.next(serverFirst);
  const serverFinal = await server.evaluateResponse(clientFinal!);
  expect(await client.next(tamper ? tamper(serverFinal) : serverFinal)).toBeNull();
  expect(server.authorizationId).toBe('al,ice');
}

describe('SCRAM client', () => {
  it('completes SCRAM-SHA-256 and SCRAM-SHA-512 against the broker\'s server, a user name with a comma included', async () => {
    await exchange(SCRAM_SHA_256, 'alice-secret');
    await exchange(SCRAM_SHA_512, 'alice-secret');
  });

  it('a wrong password is refused by the server with "Invalid client credentials"', async () => {
    await expect(exchange(SCRAM_SHA_256, 'wrong')).rejects.toThrow('Invalid client credentials');
  });

  it('a server-final with a wrong signature, or an e= error, fails on the client', async () => {
    await expect(exchange(SCRAM_SHA_512, 'alice-secret', () => Buffer.from(`v=${Buffer.alloc(64).toString('base64')}`))).rejects.toThrow(new SaslClientError('Invalid server signature in server final message'));
    await expect(exchange(SCRAM_SHA_512, 'alice-secret', () => Buffer.from('e=invalid-proof'))).rejects.toThrow('Sasl authentication using SCRAM-SHA-512 failed with error: invalid-proof');
  });

  it('a server-first whose nonce does not extend ours, or with too few iterations, is refused', async () => {
    const a = createSaslClient({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' });
    a.first();
    await expect(a.next(Buffer.from('r=someone-else,s=c2FsdA==,i=4096'))).rejects.toThrow('Invalid server nonce: does not start with client nonce');
    const b = createSaslClient({ mechanism: 'SCRAM-SHA-256', username: 'u', password: 'p' });
    const nonce = /r=([^,]+)/.exec(b.first().toString())![1];
    await expect(b.next(Buffer.from(`r=${nonce}x,s=c2FsdA==,i=1000`))).rejects.toThrow('Requested iterations 1000 is less than the minimum 4096 for SCRAM-SHA-256');
  });

  it('PLAIN sends NUL user NUL password and is done after one token', async () => {
    const c = createSaslClient({ mechanism: 'PLAIN', username: 'alice', password: 'pw' });
    expect(c.first()).toEqual(Buffer.from('\u0000alice\u0000pw'));
    expect(await c.next(Buffer.alloc(0))).toBeNull();
  });
});

describe('KafkaClient over SASL_PLAINTEXT', () => {
  let tb: TestBroker | undefined;
  let client: KafkaClient | undefined;
  afterEach(async () => {
    await client?.close();
    await tb?.stop();
    client = undefined;
    tb = undefined;
  });

  it('re-authenticates before the session lifetime ends, so one connection keeps working past it (KIP-368)', async () => {
    tb = await startTestBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: 'SCRAM-SHA-512', saslUser: ['alice:alice-secret'], connectionsMaxReauthMs: 1500 });
    client = new KafkaClient({ bootstrap: `127.0.0.1:${tb.broker.listeners[0]!.port}`, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'alice-secret' } } });
    const first = await client.any();
    // Bounded: 9 requests over ~4.5 s, three session lifetimes; an expired session would close the connection.
    for (let i = 0; i < 9; i++) {
      await client.metadata([]);
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(await client.any()).toBe(first);
    expect(first.isOpen).toBe(true);
  }, 20_000);

  it('a mechanism the broker has not enabled is UNSUPPORTED_SASL_MECHANISM, naming the enabled ones', async () => {
    tb = await startTestBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslEnabledMechanisms: 'SCRAM-SHA-256', saslUser: ['alice:alice-secret'] });
    client = new KafkaClient({ bootstrap: `127.0.0.1:${tb.broker.listeners[0]!.port}`, security: { protocol: 'SASL_PLAINTEXT', sasl: { mechanism: 'PLAIN', username: 'alice', password: 'alice-secret' } } });
    const err = await client.metadata([]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaClientError);
    expect((err as KafkaClientError).errorCode).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM);
    expect((err as Error).message).toBe("UNSUPPORTED_SASL_MECHANISM: Client SASL mechanism 'PLAIN' not enabled in the server, enabled mechanisms are [SCRAM-SHA-256]");
  });
});
