// SASL/PLAIN (RFC 4616), server side, as Kafka's PlainSaslServer: one client token
//
//   [authzid] NUL authcid NUL passwd
//
// and an empty answer. Every failure is a SaslAuthenticationError, whose message the client sees (Kafka's
// messages): "Invalid SASL/PLAIN response: expected 3 tokens, got N", "Authentication failed: username not
// specified" / "password not specified", "Authentication failed: Invalid username or password", "Authentication
// failed: Client requested an authorization id that is different from username".
//
// Where the passwords come from (Kafka reads them in clear from the JAAS file, PlainServerCallbackHandler): Eddy
// keeps no passwords, so PLAIN checks the password against the user's SCRAM credential from the same store — the
// SCRAM-SHA-512 one when the user has it, else SCRAM-SHA-256 — by deriving the salted password with that
// credential's salt and iterations and comparing the StoredKey it yields in constant time (scram.ts
// passwordMatches). A user created with `--sasl-user` or AlterUserScramCredentials is thus a PLAIN user too.
// Each PLAIN login costs one PBKDF2 (4096 iterations by default) on the libuv thread pool.
import { SaslAuthenticationError, type SaslServer } from './sasl-errors.js';
import { SCRAM_SHA_256, SCRAM_SHA_512, passwordMatches, type CredentialLookup } from './scram.js';

export class PlainSaslServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  private complete = false;
  private user = '';

  constructor(private readonly lookup: CredentialLookup) {}

  get isComplete(): boolean {
    return this.complete;
  }

  get authorizationId(): string {
    if (!this.complete) throw new Error('Authentication exchange has not completed');
    return this.user;
  }

  async evaluateResponse(token: Buffer): Promise<Buffer> {
    if (this.complete) throw new SaslAuthenticationError('Unexpected challenge in Sasl server state COMPLETE');
    const tokens = token.toString('utf8').split('\u0000', 4);
    if (tokens.length !== 3) throw new SaslAuthenticationError(`Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`);
    const [authzid, username, password] = tokens as [string, string, string];
    if (username === '') throw new SaslAuthenticationError('Authentication failed: username not specified');
    if (password === '') throw new SaslAuthenticationError('Authentication failed: password not specified');
    let authenticated = false;
    for (const mechanism of [SCRAM_SHA_512, SCRAM_SHA_256]) {
      const credential = this.lookup(username, mechanism);
      if (credential === undefined) continue;
      authenticated = await passwordMatches(mechanism, credential, password);
      break;
    }
    if (!authenticated) throw new SaslAuthenticationError('Authentication failed: Invalid username or password');
    if (authzid !== '' && authzid !== username) {
      throw new SaslAuthenticationError('Authentication failed: Client requested an authorization id that is different from username');
    }
    this.user = username;
    this.complete = true;
    return Buffer.alloc(0);
  }
}
