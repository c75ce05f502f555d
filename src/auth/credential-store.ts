// The SCRAM credentials of this broker's users: salt, StoredKey, ServerKey and iterations per user and mechanism
// (Kafka keeps the same four fields in UserScramCredentialRecord metadata records), never a password.
//
// Where: `<dataDir>/scram-credentials.json`, rewritten whole on every change (temp file, fsync, rename, fsync the
// directory: metadata-fs.ts writeFileAtomically), so a crash or kill -9 leaves the old or the new file, never a
// torn one. A change is acknowledged (AlterUserScramCredentials answers, `--sasl-user` returns) only after the
// rename is fsynced. A file is used rather than records in an internal topic because the set is tiny, changes
// rarely and is read whole at start; when replication lands, the document maps one-to-one onto
// UserScramCredentialRecord / RemoveUserScramCredentialRecord.
//
// Format, version 1 (UTF-8 JSON):
//
//   {
//     "version": 1,
//     "credentials": [
//       { "user": "alice", "mechanism": "SCRAM-SHA-256", "iterations": 4096,
//         "salt": "<base64>", "storedKey": "<base64>", "serverKey": "<base64>" },
//       …
//     ]
//   }
//
// `mechanism` is SCRAM-SHA-256 or SCRAM-SHA-512; storedKey and serverKey are the hash's length (32 or 64 bytes);
// iterations is an integer >= 1 (Kafka's minimum of 4096 is enforced when credentials are created and when a
// client authenticates, not when reading). A (user, mechanism) pair appears at most once.
//
// Reading at start: a missing file is an empty store. A file that does not parse, has another version, or has any
// entry that breaks the rules above is not trusted at all: it is renamed `scram-credentials.json.corrupt-<ms>`
// (kept for a person to look at), the rename is fsynced, an error is logged, and the broker starts with an empty
// store (users given with `--sasl-user` are then created again), as group/legacy-group-file.ts keeps an unreadable
// file aside instead of refusing to start.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { entriesOfStateDocument, readStateFileOrSetAside, writeFileAtomically } from '../metadata/metadata-fs.js';
import { SCRAM_MECHANISMS, scramMechanismByName, type ScramCredential, type ScramMechanism } from './scram.js';

export const CREDENTIALS_FILE = 'scram-credentials.json';
const FORMAT_VERSION = 1;

export interface CredentialChange {
  readonly user: string;
  readonly mechanism: ScramMechanism;
  /** The new credential, or null to delete it. */
  readonly credential: ScramCredential | null;
}

interface StoredEntry {
  user: string;
  mechanism: string;
  iterations: number;
  salt: string;
  storedKey: string;
  serverKey: string;
}

function decode(text: string): Map<string, Map<string, ScramCredential>> | string {
  const credentials = entriesOfStateDocument(text, FORMAT_VERSION, 'credentials');
  if (typeof credentials === 'string') return credentials;
  const users = new Map<string, Map<string, ScramCredential>>();
  for (const raw of credentials) {
    const e = raw as Partial<StoredEntry> | null;
    if (typeof e !== 'object' || e === null || typeof e.user !== 'string' || e.user === '') return 'an entry has no user';
    const mechanism = typeof e.mechanism === 'string' ? scramMechanismByName(e.mechanism) : undefined;
    if (mechanism === undefined) return `unknown mechanism for user ${JSON.stringify(e.user)}`;
    if (typeof e.iterations !== 'number' || !Number.isInteger(e.iterations) || e.iterations < 1) return `bad iterations for ${e.user}`;
    if (typeof e.salt !== 'string' || typeof e.storedKey !== 'string' || typeof e.serverKey !== 'string') return `missing keys for ${e.user}`;
    const credential: ScramCredential = {
      salt: Buffer.from(e.salt, 'base64'),
      storedKey: Buffer.from(e.storedKey, 'base64'),
      serverKey: Buffer.from(e.serverKey, 'base64'),
      iterations: e.iterations,
    };
    if (credential.salt.length === 0 || credential.storedKey.length !== mechanism.keyBytes || credential.serverKey.length !== mechanism.keyBytes) {
      return `bad key lengths for ${e.user} ${mechanism.name}`;
    }
    let byMechanism = users.get(e.user);
    if (byMechanism === undefined) users.set(e.user, (byMechanism = new Map()));
    if (byMechanism.has(mechanism.name)) return `duplicate ${mechanism.name} credential for ${e.user}`;
    byMechanism.set(mechanism.name, credential);
  }
  return users;
}

export class CredentialStore {
  /** user → mechanism name → credential. */
  private users: Map<string, Map<string, ScramCredential>>;
  /** Changes are written one at a time, in call order. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    users: Map<string, Map<string, ScramCredential>>,
  ) {
    this.users = users;
  }

  static async open(options: { dataDir: string; logger: Logger }): Promise<CredentialStore> {
    const file = path.join(options.dataDir, CREDENTIALS_FILE);
    const state = await readStateFileOrSetAside(file, decode, options.logger, 'SCRAM credentials file is unreadable; kept aside, starting with no SCRAM credentials');
    return new CredentialStore(file, state ?? new Map());
  }

  get(user: string, mechanism: ScramMechanism): ScramCredential | undefined {
    return this.users.get(user)?.get(mechanism.name);
  }

  /** Every user that has a credential, with its mechanisms in Kafka's type order. */
  list(): Array<{ user: string; credentials: Array<{ mechanism: ScramMechanism; iterations: number }> }> {
    return [...this.users].map(([user, byMechanism]) => ({
      user,
      credentials: SCRAM_MECHANISMS.filter((m) => byMechanism.has(m.name)).map((m) => ({ mechanism: m, iterations: byMechanism.get(m.name)!.iterations })),
    }));
  }

  /** Applies the changes together: durable (fsynced) before this resolves, visible to logins only then. */
  apply(changes: readonly CredentialChange[]): Promise<void> {
    const run = this.writes.then(async () => {
      const next = new Map([...this.users].map(([user, byMechanism]) => [user, new Map(byMechanism)]));
      for (const change of changes) {
        let byMechanism = next.get(change.user);
        if (change.credential === null) {
          byMechanism?.delete(change.mechanism.name);
          if (byMechanism?.size === 0) next.delete(change.user);
          continue;
        }
        if (byMechanism === undefined) next.set(change.user, (byMechanism = new Map()));
        byMechanism.set(change.mechanism.name, change.credential);
      }
      await writeFileAtomically(this.file, encode(next));
      this.users = next;
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}

function encode(users: Map<string, Map<string, ScramCredential>>): string {
  const credentials: StoredEntry[] = [];
  for (const [user, byMechanism] of users) {
    for (const [mechanism, c] of byMechanism) {
      credentials.push({
        user,
        mechanism,
        iterations: c.iterations,
        salt: c.salt.toString('base64'),
        storedKey: c.storedKey.toString('base64'),
        serverKey: c.serverKey.toString('base64'),
      });
    }
  }
  return `${JSON.stringify({ version: FORMAT_VERSION, credentials }, null, 2)}\n`;
}
