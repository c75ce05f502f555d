// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as Kafka's ScramSaslServer, ScramFormatter
// and ScramMessages implement them.
//
//   client-first   n,[a=<authzid>],[m=<reserved>,]n=<saslname>,r=<client nonce>[,<ext>=<value>]*
//   server-first   r=<client nonce><server nonce>,s=<base64 salt>,i=<iterations>
//   client-final   c=<base64 channel binding>,r=<nonce>[,<ext>=<value>]*,p=<base64 proof>
//   server-final   v=<base64 server signature>
//
// Keys (RFC 5802 §3): SaltedPassword = Hi(password, salt, i) = PBKDF2-HMAC-H(password, salt, i, |H|);
// ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword,
// "Server Key"); AuthMessage = client-first-bare + "," + server-first + "," + client-final-without-proof;
// ClientSignature = HMAC(StoredKey, AuthMessage); ClientProof = ClientKey XOR ClientSignature; the server checks
// H(ClientSignature XOR ClientProof) == StoredKey (constant time) and answers HMAC(ServerKey, AuthMessage).
// Only salt, StoredKey, ServerKey and the iteration count are ever stored (credential-store.ts), never a password.
//
// Checks, in order, and what they raise (sasl-errors.ts; Kafka's messages):
//   client-first does not match the grammar     SaslCredentialsError "Invalid SCRAM client first message format"
//   saslname has a '=' that is not =2C or =3D   SaslCredentialsError "Credentials could not be obtained"
//   unknown user (or tokenauth=true: no          SaslCredentialsError "Invalid user credentials"
//     delegation tokens here)
//   authzid given and not the user name         SaslAuthenticationError "Client requested an authorization id
//                                                 that is different from username" (the client sees this one)
//   stored iterations below the minimum (4096)  SaslCredentialsError
//   client-final does not match the grammar     SaslCredentialsError
//   nonce does not end with client+server nonce SaslCredentialsError "Invalid client nonce in the final client
//     (a replayed client-final carries an         message." — every exchange has a fresh server nonce
//     earlier exchange's nonce)
//   proof does not verify                       SaslCredentialsError "Invalid client credentials"
//
// As in Kafka, the channel binding value (c=) is not checked (gs2 "n" only: no channel binding) and extensions
// other than tokenauth are ignored. Deliberate difference: the AuthMessage uses the client's own bare messages
// verbatim (RFC 5802) where Kafka rebuilds them from the parsed fields; for every message the grammar accepts
// without a reserved m= part and with extensions in map order the two are the same bytes.
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslAuthenticationError, SaslCredentialsError, type SaslServer } from './sasl-errors.js';

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface ScramMechanism {
  readonly name: ScramMechanismName;
  /** The wire id in Describe/AlterUserScramCredentials and UserScramCredentialRecord. */
  readonly type: number;
  readonly hash: 'sha256' | 'sha512';
  readonly keyBytes: number;
  /** Kafka's ScramMechanism minIterations (4096) and ScramControlManager.MAX_ITERATIONS (16384). */
  readonly minIterations: number;
  readonly maxIterations: number;
}

export const SCRAM_SHA_256: ScramMechanism = { name: 'SCRAM-SHA-256', type: 1, hash: 'sha256', keyBytes: 32, minIterations: 4096, maxIterations: 16384 };
export const SCRAM_SHA_512: ScramMechanism = { name: 'SCRAM-SHA-512', type: 2, hash: 'sha512', keyBytes: 64, minIterations: 4096, maxIterations: 16384 };
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = [SCRAM_SHA_256, SCRAM_SHA_512];

export function scramMechanismByName(name: string): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => m.name === name);
}

export function scramMechanismByType(type: number): ScramMechanism | undefined {
  return SCRAM_MECHANISMS.find((m) => m.type === type);
}

export interface ScramCredential {
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
  readonly iterations: number;
}

/** The iteration count `--sasl-user` uses (Kafka's kafka-configs.sh default is 4096 too). */
export const DEFAULT_ITERATIONS = 4096;

/** Hi() of RFC 5802: PBKDF2 with HMAC-H, on the libuv thread pool (never blocks the event loop). */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, iterations, mechanism.keyBytes, mechanism.hash, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function hmac(mechanism: ScramMechanism, key: Buffer, data: Buffer | string): Buffer {
  return createHmac(mechanism.hash, key).update(data).digest();
}

function hash(mechanism: ScramMechanism, data: Buffer): Buffer {
  return createHash(mechanism.hash).update(data).digest();
}

/** StoredKey and ServerKey from a salted password (what AlterUserScramCredentials upsertions carry). */
export function credentialFromSaltedPassword(mechanism: ScramMechanism, salt: Buffer, salted: Buffer, iterations: number): ScramCredential {
  const clientKey = hmac(mechanism, salted, 'Client Key');
  return { salt, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, salted, 'Server Key'), iterations };
}

/** A fresh credential for `password` with a random salt. */
export async function generateCredential(mechanism: ScramMechanism, password: string, iterations = DEFAULT_ITERATIONS): Promise<ScramCredential> {
  const salt = randomBytes(24);
  return credentialFromSaltedPassword(mechanism, salt, await saltedPassword(mechanism, password, salt, iterations), iterations);
}

/** How a salted password is derived: saltedPassword, or a wrapper of it (plain.ts bounds and counts them). */
export type DeriveSaltedPassword = (mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number) => Promise<Buffer>;

/**
 * True when `password` produces the credential's StoredKey (constant-time compare): SASL/PLAIN (through plain.ts's
 * bounded PlainPasswordChecks) and `--sasl-user` at start use this. One PBKDF2 per call, through `derive`.
 */
export async function passwordMatches(mechanism: ScramMechanism, credential: ScramCredential, password: string, derive: DeriveSaltedPassword = saltedPassword): Promise<boolean> {
  const salted = await derive(mechanism, password, credential.salt, credential.iterations);
  const candidate = hash(mechanism, hmac(mechanism, salted, 'Client Key'));
  return candidate.length === credential.storedKey.length && timingSafeEqual(candidate, credential.storedKey);
}

// ---- message grammar (ScramMessages), anchored as Java's matches() -------------------------------------------

const VALUE_SAFE_CHAR = '[\\x01-\\x2B\\x2D-\\x3C\\x3E-\\x7F]';
const VALUE = '[\\x01-\\x2B\\x2D-\\x7F]+';
const PRINTABLE = '[\\x21-\\x2B\\x2D-\\x7E]+';
const SASLNAME = `(?:${VALUE_SAFE_CHAR}|=2C|=3D)+`;
const B64 = '[a-zA-Z0-9/+]';
const BASE64 = `(?:${B64}{4})*(?:${B64}{3}=|${B64}{2}==)?`;
const RESERVED = `(?:m=${VALUE},)?`;
const EXTENSIONS = `(?:,[A-Za-z]+=${VALUE})*`;

const CLIENT_FIRST = new RegExp(`^n,(?:a=(?<authzid>${SASLNAME}))?,(?<bare>${RESERVED}n=(?<saslname>${SASLNAME}),r=(?<nonce>${PRINTABLE})(?<extensions>${EXTENSIONS}))$`);
const CLIENT_FINAL = new RegExp(`^(?<withoutProof>c=(?<channel>${BASE64}),r=(?<nonce>${PRINTABLE})${EXTENSIONS}),p=(?<proof>${BASE64})$`);

/** ScramFormatter.username: =2C → ',', =3D → '='; any other '=' is invalid. */
export function usernameFromSaslName(saslName: string): string | undefined {
  const commas = saslName.replaceAll('=2C', ',');
  if (commas.replaceAll('=3D', '').includes('=')) return undefined;
  return commas.replaceAll('=3D', '=');
}

/** ScramFormatter.saslName: the reverse, for clients and tests. */
export function saslNameFromUsername(username: string): string {
  return username.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function parseExtensions(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** Server nonce as Kafka makes it: 130 random bits in base 36. */
function serverNonce(): string {
  return BigInt(`0x${randomBytes(17).toString('hex')}`)
    .toString(36)
    .slice(0, 26);
}

export type CredentialLookup = (username: string, mechanism: ScramMechanism) => ScramCredential | undefined;

type State = 'RECEIVE_CLIENT_FIRST_MESSAGE' | 'RECEIVE_CLIENT_FINAL_MESSAGE' | 'COMPLETE' | 'FAILED';

export class ScramSaslServer implements SaslServer {
  private state: State = 'RECEIVE_CLIENT_FIRST_MESSAGE';
  private username = '';
  private credential: ScramCredential | undefined;
  private clientFirstBare = '';
  private serverFirst = '';
  private combinedNonce = '';

  constructor(
    private readonly scram: ScramMechanism,
    private readonly lookup: CredentialLookup,
  ) {}

  get mechanism(): string {
    return this.scram.name;
  }

  get isComplete(): boolean {
    return this.state === 'COMPLETE';
  }

  get authorizationId(): string {
    if (!this.isComplete) throw new Error('Authentication exchange has not completed');
    return this.username;
  }

  async evaluateResponse(token: Buffer): Promise<Buffer> {
    try {
      switch (this.state) {
        case 'RECEIVE_CLIENT_FIRST_MESSAGE':
          return this.clientFirst(token.toString('utf8'));
        case 'RECEIVE_CLIENT_FINAL_MESSAGE':
          return this.clientFinal(token.toString('utf8'));
        default:
          throw new SaslAuthenticationError(`Unexpected challenge in Sasl server state ${this.state}`);
      }
    } catch (err) {
      this.credential = undefined;
      this.state = 'FAILED';
      throw err;
    }
  }

  private clientFirst(message: string): Buffer {
    const match = CLIENT_FIRST.exec(message);
    if (match === null) throw new SaslCredentialsError('Invalid SCRAM client first message format');
    const groups = match.groups!;
    const username = usernameFromSaslName(groups.saslname!);
    if (username === undefined) throw new SaslCredentialsError('Authentication failed: Credentials could not be obtained');
    const extensions = parseExtensions(groups.extensions!);
    const credential = extensions.get('tokenauth') === 'true' ? undefined : this.lookup(username, this.scram);
    if (credential === undefined) throw new SaslCredentialsError('Authentication failed: Invalid user credentials');
    const authzid = groups.authzid;
    if (authzid !== undefined && authzid !== '' && authzid !== username) {
      throw new SaslAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
    }
    if (credential.iterations < this.scram.minIterations) {
      throw new SaslCredentialsError(`Iterations ${credential.iterations} is less than the minimum ${this.scram.minIterations} for ${this.scram.name}`);
    }
    this.username = username;
    this.credential = credential;
    this.clientFirstBare = groups.bare!;
    this.combinedNonce = groups.nonce! + serverNonce();
    this.serverFirst = `r=${this.combinedNonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = 'RECEIVE_CLIENT_FINAL_MESSAGE';
    return Buffer.from(this.serverFirst, 'utf8');
  }

  private clientFinal(message: string): Buffer {
    const match = CLIENT_FINAL.exec(message);
    if (match === null) throw new SaslCredentialsError('Invalid SCRAM client final message format');
    const groups = match.groups!;
    if (!groups.nonce!.endsWith(this.combinedNonce)) throw new SaslCredentialsError('Invalid client nonce in the final client message.');
    const credential = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${groups.withoutProof!}`;
    const proof = Buffer.from(groups.proof!, 'base64');
    const clientSignature = hmac(this.scram, credential.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new SaslCredentialsError('Invalid client credentials');
    for (let i = 0; i < proof.length; i++) clientSignature[i]! ^= proof[i]!;
    const computedStoredKey = hash(this.scram, clientSignature);
    if (!timingSafeEqual(computedStoredKey, credential.storedKey)) throw new SaslCredentialsError('Invalid client credentials');
    const serverSignature = hmac(this.scram, credential.serverKey, authMessage);
    this.credential = undefined;
    this.state = 'COMPLETE';
    return Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8');
  }
}
