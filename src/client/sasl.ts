// The client side of SASL/PLAIN (RFC 4616) and SASL/SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as Kafka's
// PlainSaslClient-equivalent and ScramSaslClient produce them. connection.ts carries the tokens in SaslAuthenticate
// requests after a SaslHandshake v1 (KIP-152).
//
//   mechanism   client → broker                                  broker → client
//   PLAIN       <authzid=empty> NUL <username> NUL <password>    (empty)
//   SCRAM       n,,n=<saslname>,r=<client nonce>                 r=<nonce>,s=<salt>,i=<iterations>
//               c=biws,r=<nonce>,p=<base64 proof>                v=<base64 server signature> | e=<error>
//
// Checks on the broker's messages (ScramSaslClient), each a SaslClientError:
//   server-first nonce does not start with ours     "Invalid server nonce: does not start with client nonce"
//   iterations below the mechanism's minimum        "Requested iterations N is less than the minimum 4096 for M"
//   server-final e=<error>                          "Sasl authentication using M failed with error: <error>"
//   server signature does not verify                "Invalid server signature in server final message"
// The key derivation is src/auth/scram.ts's (saltedPassword, credentialFromSaltedPassword), shared with the broker.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { credentialFromSaltedPassword, saltedPassword, saslNameFromUsername, scramMechanismByName, type ScramMechanism } from '../auth/scram.js';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export const CLIENT_SASL_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

export interface SaslCredentials {
  mechanism: SaslMechanismName;
  username: string;
  password: string;
}

/** A SASL exchange the client cannot continue (the broker's answer is malformed or does not verify). */
export class SaslClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslClientError';
  }
}

/** One exchange: `first()` is the initial token, `next(challenge)` the answer to each broker token (null = done). */
export interface SaslClient {
  readonly mechanism: SaslMechanismName;
  first(): Buffer;
  next(challenge: Buffer): Promise<Buffer | null>;
}

export function createSaslClient(credentials: SaslCredentials): SaslClient {
  if (credentials.mechanism === 'PLAIN') return new PlainSaslClient(credentials.username, credentials.password);
  return new ScramSaslClient(scramMechanismByName(credentials.mechanism)!, credentials.username, credentials.password);
}

class PlainSaslClient implements SaslClient {
  readonly mechanism = 'PLAIN' as const;

  constructor(
    private readonly username: string,
    private readonly password: string,
  ) {}

  first(): Buffer {
    return Buffer.from(`\u0000${this.username}\u0000${this.password}`, 'utf8');
  }

  async next(): Promise<Buffer | null> {
    return null;
  }
}

type ScramState = 'SEND_CLIENT_FIRST' | 'RECEIVE_SERVER_FIRST' | 'RECEIVE_SERVER_FINAL' | 'COMPLETE';

/** A printable nonce without ',' (RFC 5802 `printable`): base64url of 24 random bytes. */
function clientNonce(): string {
  return randomBytes(24).toString('base64url');
}

function fields(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length >= 2 && part[1] === '=') out.set(part[0]!, part.slice(2));
  }
  return out;
}

class ScramSaslClient implements SaslClient {
  private state: ScramState = 'SEND_CLIENT_FIRST';
  private readonly nonce = clientNonce();
  private clientFirstBare = '';
  private authMessage = '';
  private serverKey: Buffer = Buffer.alloc(0);

  constructor(
    private readonly scram: ScramMechanism,
    private readonly username: string,
    private readonly password: string,
  ) {}

  get mechanism(): SaslMechanismName {
    return this.scram.name;
  }

  first(): Buffer {
    this.clientFirstBare = `n=${saslNameFromUsername(this.username)},r=${this.nonce}`;
    this.state = 'RECEIVE_SERVER_FIRST';
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  async next(challenge: Buffer): Promise<Buffer | null> {
    const message = challenge.toString('utf8');
    if (this.state === 'RECEIVE_SERVER_FIRST') return this.serverFirst(message);
    if (this.state === 'RECEIVE_SERVER_FINAL') {
      this.serverFinal(message);
      return null;
    }
    throw new SaslClientError(`Unexpected challenge in Sasl client state ${this.state}`);
  }

  private async serverFirst(message: string): Promise<Buffer> {
    const f = fields(message);
    const nonce = f.get('r');
    const salt = f.get('s');
    const iterations = Number(f.get('i'));
    if (nonce === undefined || salt === undefined || !Number.isSafeInteger(iterations)) throw new SaslClientError(`Invalid SCRAM server first message format: ${message}`);
    if (!nonce.startsWith(this.nonce)) throw new SaslClientError('Invalid server nonce: does not start with client nonce');
    if (iterations < this.scram.minIterations) throw new SaslClientError(`Requested iterations ${iterations} is less than the minimum ${this.scram.minIterations} for ${this.scram.name}`);
    const saltBytes = Buffer.from(salt, 'base64');
    const salted = await saltedPassword(this.scram, this.password, saltBytes, iterations);
    const { storedKey, serverKey } = credentialFromSaltedPassword(this.scram, saltBytes, salted, iterations);
    const clientKey = createHmac(this.scram.hash, salted).update('Client Key').digest();
    // c=biws is base64("n,,"): gs2 header without channel binding, as ScramSaslClient sends.
    const withoutProof = `c=biws,r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${message},${withoutProof}`;
    const signature = createHmac(this.scram.hash, storedKey).update(this.authMessage).digest();
    for (let i = 0; i < clientKey.length; i++) clientKey[i]! ^= signature[i]!;
    this.serverKey = serverKey;
    this.state = 'RECEIVE_SERVER_FINAL';
    return Buffer.from(`${withoutProof},p=${clientKey.toString('base64')}`, 'utf8');
  }

  private serverFinal(message: string): void {
    const f = fields(message);
    const error = f.get('e');
    if (error !== undefined) throw new SaslClientError(`Sasl authentication using ${this.scram.name} failed with error: ${error}`);
    const expected = createHmac(this.scram.hash, this.serverKey).update(this.authMessage).digest();
    const got = Buffer.from(f.get('v') ?? '', 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw new SaslClientError('Invalid server signature in server final message');
    this.state = 'COMPLETE';
  }
}
