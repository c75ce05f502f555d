// SASL/PLAIN's password derivations are bounded (plain.ts PlainPasswordChecks): a flood of failed logins over real
// sockets runs at most MAX_PLAIN_DERIVATIONS_IN_FLIGHT PBKDF2s at once, queues at most MAX_PLAIN_DERIVATIONS_QUEUED
// and refuses the rest at once with SASL_AUTHENTICATION_FAILED, while a good client that logged in before is
// answered from the cache of successful checks (invalidated by a credential change). The derivation is the real
// PBKDF2, wrapped to count how many run at once and held back by a gate so the flood piles up deterministically.
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { MAX_PLAIN_DERIVATIONS_IN_FLIGHT, MAX_PLAIN_DERIVATIONS_QUEUED, plainPasswordChecks } from '../../src/auth/plain.js';
import { saltedPassword } from '../../src/auth/scram.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, authenticate, plainToken } from './support.js';

const FAILED = 'Authentication failed: Invalid username or password';

let tb: TestBroker;
let clients: RawClient[] = [];
let release: () => void = () => undefined;
let running = 0;
let maxRunning = 0;

const saslPort = () => tb.broker.listeners.find((l) => l.name === 'SASL_PLAINTEXT')!.port;
const plainPort = () => tb.broker.listeners.find((l) => l.name === 'PLAINTEXT')!.port;

async function connect(port = saslPort()): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

/** Derivations from now on wait for the returned function (then run the real PBKDF2), counted while they run. */
function holdDerivations(): () => void {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  plainPasswordChecks.derive = async (mechanism, password, salt, iterations) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      await gate;
      return await saltedPassword(mechanism, password, salt, iterations);
    } finally {
      running--;
    }
  };
  release = open;
  return open;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

beforeEach(async () => {
  running = 0;
  maxRunning = 0;
  tb = await startTestBroker({
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    saslUser: ['alice:alice-secret', 'bob:bob-secret'],
  });
});

afterEach(async () => {
  release();
  plainPasswordChecks.derive = saltedPassword;
  for (const c of clients) c.close();
  clients = [];
  await tb.stop();
});

describe('PLAIN derivations are bounded', () => {
  it(`a flood of bad PLAIN logins runs at most ${MAX_PLAIN_DERIVATIONS_IN_FLIGHT} derivations at once, queues ${MAX_PLAIN_DERIVATIONS_QUEUED}, refuses the rest at once with SASL_AUTHENTICATION_FAILED, and a good login still works`, async () => {
    // alice logs in once before the flood: the successful check is remembered.
    const before = await connect();
    expect(await authenticate(before, 'PLAIN', 'alice', 'alice-secret')).toMatchObject({ errorCode: ErrorCode.NONE });

    holdDerivations();
    const stats0 = { ...plainPasswordChecks.stats };
    const FLOOD = MAX_PLAIN_DERIVATIONS_IN_FLIGHT + MAX_PLAIN_DERIVATIONS_QUEUED + 20;
    const flood = await Promise.all(Array.from({ length: FLOOD }, () => connect()));
    for (const c of flood) expect((await c.send(ApiKey.SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(ErrorCode.NONE);
    const answers: any[] = [];
    const pending = flood.map((c) => c.send(ApiKey.SaslAuthenticate, 2, { authBytes: plainToken('alice', 'guess') }).then((r) => answers.push(r), (err: Error) => answers.push({ error: err.message })));

    // With the derivations held, the excess 20 are answered while the others still wait.
    await until('the excess attempts to be refused', () => answers.length === 20);
    expect(answers.every((r) => r.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED && r.errorMessage === FAILED)).toBe(true);
    expect(plainPasswordChecks.inFlight).toBe(MAX_PLAIN_DERIVATIONS_IN_FLIGHT);
    expect(plainPasswordChecks.queued).toBe(MAX_PLAIN_DERIVATIONS_QUEUED);
    expect(plainPasswordChecks.stats.refused - stats0.refused).toBe(20);
    expect(running).toBe(MAX_PLAIN_DERIVATIONS_IN_FLIGHT);

    // During the flood: alice's good login is answered from the cache (no derivation) and she is served; a new
    // login that would need a derivation (bob, never checked) is refused like the flood.
    const good = await connect();
    expect(await authenticate(good, 'PLAIN', 'alice', 'alice-secret')).toMatchObject({ errorCode: ErrorCode.NONE, errorMessage: null });
    expect((await good.send(ApiKey.Metadata, 12, { topics: null })).brokers).toHaveLength(1);
    expect(plainPasswordChecks.stats.cacheHits - stats0.cacheHits).toBe(1);
    expect(await authenticate(await connect(), 'PLAIN', 'bob', 'bob-secret')).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: FAILED });
    // Requests on the other listener are not held up by the queue.
    const plain = await connect(plainPort());
    expect((await plain.send(ApiKey.Metadata, 12, { topics: null })).errorCode ?? 0).toBe(0);

    release();
    await Promise.all(pending);
    expect(answers).toHaveLength(FLOOD);
    expect(answers.every((r) => r.errorCode === ErrorCode.SASL_AUTHENTICATION_FAILED && r.errorMessage === FAILED)).toBe(true);
    expect(maxRunning).toBe(MAX_PLAIN_DERIVATIONS_IN_FLIGHT);
    expect(plainPasswordChecks.stats.derivations - stats0.derivations).toBe(MAX_PLAIN_DERIVATIONS_IN_FLIGHT + MAX_PLAIN_DERIVATIONS_QUEUED);
    expect(plainPasswordChecks.inFlight).toBe(0);
    expect(plainPasswordChecks.queued).toBe(0);

    // Once the flood has drained, a login that needs a derivation works again.
    expect(await authenticate(await connect(), 'PLAIN', 'bob', 'bob-secret')).toMatchObject({ errorCode: ErrorCode.NONE });
  });

  it('a remembered PLAIN check stops counting once the user\'s credential changes: the old password fails, the new one works', async () => {
    expect(await authenticate(await connect(), 'PLAIN', 'alice', 'alice-secret')).toMatchObject({ errorCode: ErrorCode.NONE });
    const hits0 = plainPasswordChecks.stats.cacheHits;
    expect(await authenticate(await connect(), 'PLAIN', 'alice', 'alice-secret')).toMatchObject({ errorCode: ErrorCode.NONE });
    expect(plainPasswordChecks.stats.cacheHits).toBe(hits0 + 1);

    // AlterUserScramCredentials gives alice a new SCRAM-SHA-512 credential (the one PLAIN checks first).
    const salt = randomBytes(24);
    const admin = await connect(plainPort());
    const altered = await admin.send(ApiKey.AlterUserScramCredentials, 0, {
      deletions: [],
      upsertions: [{ name: 'alice', mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync('alice-new', salt, 4096, 64, 'sha512') }],
    });
    expect(altered.results).toEqual([{ user: 'alice', errorCode: ErrorCode.NONE, errorMessage: null }]);

    const derivations0 = plainPasswordChecks.stats.derivations;
    expect(await authenticate(await connect(), 'PLAIN', 'alice', 'alice-secret')).toMatchObject({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: FAILED });
    expect(plainPasswordChecks.stats.derivations).toBe(derivations0 + 1);
    expect(await authenticate(await connect(), 'PLAIN', 'alice', 'alice-new')).toMatchObject({ errorCode: ErrorCode.NONE });
    expect(plainPasswordChecks.stats.cacheHits).toBe(hits0 + 1);
  });
});
