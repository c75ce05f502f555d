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
//
// Bounding that cost (PlainPasswordChecks, one per process: the libuv thread pool it protects is per process). A
// derivation is one PBKDF2 (4096+ iterations) on libuv's 4-thread pool, which the log's fs.promises calls share, so
// unbounded failed logins from anyone who reaches a SASL port would stall every client's appends and reads. Hence:
//   - at most MAX_PLAIN_DERIVATIONS_IN_FLIGHT (2) derivations run at once, the others wait in a FIFO queue of at
//     most MAX_PLAIN_DERIVATIONS_QUEUED (32); an attempt that finds the queue full fails at once, answered as any
//     failed PLAIN login ("Authentication failed: Invalid username or password", SASL_AUTHENTICATION_FAILED);
//   - a successful check is remembered (PLAIN_CHECK_CACHE_ENTRIES, least recently used dropped first) under
//     HMAC-SHA-256(per-process random key, user NUL password) with the StoredKey it matched, so a good client that
//     reconnects does not derive again. No password is kept. A hit counts only while the user's current credential
//     still has that StoredKey: any credential change (new password, new salt, deletion) invalidates it. Failures
//     are never remembered.
// Unknown users fail without a derivation (as before). Kafka has none of this (it compares clear-text passwords).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslAuthenticationError, type SaslServer } from './sasl-errors.js';
import { SCRAM_SHA_256, SCRAM_SHA_512, passwordMatches, saltedPassword, type CredentialLookup, type DeriveSaltedPassword, type ScramCredential, type ScramMechanism } from './scram.js';

export const MAX_PLAIN_DERIVATIONS_IN_FLIGHT = 2;
export const MAX_PLAIN_DERIVATIONS_QUEUED = 32;
export const PLAIN_CHECK_CACHE_ENTRIES = 4096;

export interface PlainCheckStats {
  /** Derivations started. */
  derivations: number;
  /** Checks refused at once because the queue was full. */
  refused: number;
  /** Checks answered from the cache of successful ones. */
  cacheHits: number;
}

/** The broker-wide bound on PLAIN password derivations, and the cache of recent successful checks (see above). */
export class PlainPasswordChecks {
  /** The derivation (saltedPassword); replaceable so tests can count and hold derivations. */
  derive: DeriveSaltedPassword = saltedPassword;
  readonly stats: PlainCheckStats = { derivations: 0, refused: 0, cacheHits: 0 };
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly key = randomBytes(32);
  private readonly remembered = new Map<string, { mechanism: string; storedKey: Buffer }>();

  constructor(
    private readonly maxInFlight = MAX_PLAIN_DERIVATIONS_IN_FLIGHT,
    private readonly maxQueued = MAX_PLAIN_DERIVATIONS_QUEUED,
    private readonly cacheEntries = PLAIN_CHECK_CACHE_ENTRIES,
  ) {}

  /** Derivations running now, and waiting for a slot. */
  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** True when `password` is the user's (false too when refused for a full queue). */
  async matches(user: string, password: string, mechanism: ScramMechanism, credential: ScramCredential): Promise<boolean> {
    const cacheKey = createHmac('sha256', this.key).update(`${user}\u0000${password}`, 'utf8').digest('base64');
    const hit = this.remembered.get(cacheKey);
    if (hit !== undefined) {
      this.remembered.delete(cacheKey);
      if (hit.mechanism === mechanism.name && hit.storedKey.length === credential.storedKey.length && timingSafeEqual(hit.storedKey, credential.storedKey)) {
        this.remembered.set(cacheKey, hit);
        this.stats.cacheHits++;
        return true;
      }
    }
    if (!(await this.acquire())) {
      this.stats.refused++;
      return false;
    }
    let ok: boolean;
    try {
      this.stats.derivations++;
      ok = await passwordMatches(mechanism, credential, password, this.derive);
    } finally {
      this.release();
    }
    if (ok) {
      this.remembered.set(cacheKey, { mechanism: mechanism.name, storedKey: Buffer.from(credential.storedKey) });
      if (this.remembered.size > this.cacheEntries) this.remembered.delete(this.remembered.keys().next().value!);
    }
    return ok;
  }

  /** A slot to derive in: now, after the ones queued before (FIFO), or false when the queue is full. */
  private async acquire(): Promise<boolean> {
    if (this.running < this.maxInFlight) {
      this.running++;
      return true;
    }
    if (this.waiting.length >= this.maxQueued) return false;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    return true; // the releasing derivation handed its slot over
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.running--;
  }
}

/** The process's PLAIN checks: every PlainSaslServer uses them unless given others. */
export const plainPasswordChecks = new PlainPasswordChecks();

export class PlainSaslServer implements SaslServer {
  readonly mechanism = 'PLAIN';
  private complete = false;
  private user = '';

  constructor(
    private readonly lookup: CredentialLookup,
    private readonly checks: PlainPasswordChecks = plainPasswordChecks,
  ) {}

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
      authenticated = await this.checks.matches(username, password, mechanism, credential);
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
