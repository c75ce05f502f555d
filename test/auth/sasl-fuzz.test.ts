// A bounded fuzz run over SASL exchanges (fixed seed): valid PLAIN and SCRAM exchanges, handshake frames and raw
// tokens with bytes flipped, cut, repeated or inserted. Every connection must get answers or a close within a
// bound, the broker must log no error, and a correct login must still work at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { RawClient, ScramClient, authenticate, plainToken } from './support.js';

const SEED = 0x5eed13;
const CASES = 240;

/** mulberry32: a small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(rand: () => number, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const ops = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rand() * Math.max(1, b.length));
    switch (Math.floor(rand() * 5)) {
      case 0:
        if (b.length > 0) b[at] = b[at]! ^ (1 << Math.floor(rand() * 8));
        break;
      case 1:
        b = b.subarray(0, at);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(rand() * 256)]), b.subarray(at)]);
        break;
      case 3:
        b = Buffer.concat([b, b.subarray(at)]);
        break;
      default:
        if (b.length > 0) b[at] = [0x00, 0x2c, 0x3d, 0xff, 0x7f][Math.floor(rand() * 5)]!;
    }
  }
  return b;
}

let tb: TestBroker;
const errorLogs: any[] = [];

beforeAll(async () => {
  const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _e, done) => (errorLogs.push(chunk.toString()), done()) }));
  tb = await startTestBroker({ listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslUser: ['alice:alice-secret'], logger });
});
afterAll(async () => {
  await tb.stop();
});

/** Frames to send for one case: a mutated copy of one step of a valid exchange; the steps before it are valid. */
async function runCase(rand: () => number, n: number): Promise<'closed' | 'answered'> {
  const c = await RawClient.connect(tb.broker.port);
  try {
    const kind = n % 5;
    const mechanism = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'][n % 3]!;
    if (kind === 0) {
      // A mutated SaslHandshake frame (header and body).
      const frame = TestClient.encodeRequest(ApiKey.SaslHandshake, n % 2, { mechanism }, 1);
      c.writeToken(mutate(rand, frame.subarray(4)));
    } else if (kind === 1) {
      // Handshake v0, then a mutated raw token.
      await c.send(ApiKey.SaslHandshake, 0, { mechanism });
      const scram = new ScramClient(mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256', 'alice', 'alice-secret');
      c.writeToken(mutate(rand, mechanism === 'PLAIN' ? plainToken('alice', 'alice-secret') : scram.clientFirst()));
    } else if (kind === 2 || kind === 3) {
      // Handshake v1, then a SaslAuthenticate whose token (or whole frame) is mutated.
      await c.send(ApiKey.SaslHandshake, 1, { mechanism });
      const scram = new ScramClient(mechanism === 'SCRAM-SHA-512' ? 'sha512' : 'sha256', 'alice', 'alice-secret');
      let token = mechanism === 'PLAIN' ? plainToken('alice', 'alice-secret') : scram.clientFirst();
      if (mechanism !== 'PLAIN' && kind === 3) {
        const first = await c.send(ApiKey.SaslAuthenticate, 2, { authBytes: token });
        if (first.errorCode !== 0) return 'answered';
        token = scram.clientFinal(first.authBytes);
      }
      if (kind === 2) c.writeToken(mutate(rand, TestClient.encodeRequest(ApiKey.SaslAuthenticate, 2, { authBytes: token }, 9).subarray(4)));
      else c.writeToken(TestClient.encodeRequest(ApiKey.SaslAuthenticate, 1, { authBytes: mutate(rand, token) }, 9).subarray(4));
    } else {
      // Random bytes where the first frame should be.
      c.writeToken(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))));
    }
    // The broker must answer or close: read frames until it closes or stays quiet for a while.
    for (let i = 0; i < 4; i++) {
      try {
        await c.nextFrame(250);
      } catch {
        return c.isClosed ? 'closed' : 'answered';
      }
    }
    return 'answered';
  } finally {
    c.close();
  }
}

describe('SASL fuzz', () => {
  it(`${CASES} mutated exchanges (seed ${SEED}): the broker answers or closes each, logs no error and still authenticates`, async () => {
    const rand = prng(SEED);
    const outcomes = { closed: 0, answered: 0 };
    for (let n = 0; n < CASES; n++) outcomes[await runCase(rand, n)]++;
    expect(outcomes.closed + outcomes.answered).toBe(CASES);
    expect(outcomes.closed).toBeGreaterThan(CASES / 2);
    expect(errorLogs).toEqual([]);
    const c = await RawClient.connect(tb.broker.port);
    expect((await authenticate(c, 'SCRAM-SHA-512', 'alice', 'alice-secret')).errorCode).toBe(0);
    c.close();
    expect(tb.broker.stats().server.successfulAuthentications).toBeGreaterThan(0);
  }, 120_000);
});
