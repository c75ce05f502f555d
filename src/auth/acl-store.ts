// The broker's ACLs, durable (Kafka keeps them as AccessControlEntryRecord / RemoveAccessControlEntryRecord in the
// metadata log; the fields here are that record's).
//
// Where: `<dataDir>/acls.json`, rewritten whole on every change (temp file, fsync, rename, fsync the directory:
// metadata-fs.ts writeFileAtomically), so a crash or kill -9 leaves the old or the new file, never a torn one.
// CreateAcls and DeleteAcls answer only after the rename is fsynced, and the authorizer sees a change only then.
// A file rather than records in an internal topic, as credential-store.ts argues: the set is small, changes rarely
// and is read whole at start; with replication each entry maps one-to-one onto an AccessControlEntryRecord.
//
// Format, version 1 (UTF-8 JSON), names as Kafka prints them:
//
//   {
//     "version": 1,
//     "acls": [
//       { "resourceType": "TOPIC", "resourceName": "orders", "patternType": "LITERAL",
//         "principal": "User:alice", "host": "*", "operation": "READ", "permissionType": "ALLOW" },
//       …
//     ]
//   }
//
// Every entry must pass acl.ts validateNewAcl (a concrete resource type, LITERAL or PREFIXED, a concrete operation,
// ALLOW or DENY, a non-empty name, "Type:name" principal); an ACL appears at most once (Kafka's existingAcls set).
//
// Reading at start: a missing file is no ACLs. A file that does not parse, has another version or has any entry
// that breaks the rules is not trusted at all: it is renamed `acls.json.corrupt-<ms>` (kept for a person to look
// at), the rename is fsynced, an error is logged, and the broker starts with no ACLs, as credential-store.ts does.
// With `allow.everyone.if.no.acl.found=false` (the default) that denies everyone but the super users, which is the
// safe side.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { entriesOfStateDocument, readStateFileOrSetAside, writeFileAtomically } from '../metadata/metadata-fs.js';
import {
  filterMatches,
  operationCode,
  operationName,
  patternTypeCode,
  patternTypeName,
  permissionTypeCode,
  permissionTypeName,
  resourceTypeCode,
  resourceTypeName,
  sameAcl,
  validateNewAcl,
  type AclBinding,
  type AclBindingFilter,
} from './acl.js';

export const ACLS_FILE = 'acls.json';
const FORMAT_VERSION = 1;

interface StoredAcl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permissionType: string;
}

function decode(text: string): AclBinding[] | string {
  const acls = entriesOfStateDocument(text, FORMAT_VERSION, 'acls');
  if (typeof acls === 'string') return acls;
  const out: AclBinding[] = [];
  for (const raw of acls) {
    const e = raw as Partial<StoredAcl> | null;
    if (typeof e !== 'object' || e === null) return 'an entry is not an object';
    for (const key of ['resourceType', 'resourceName', 'patternType', 'principal', 'host', 'operation', 'permissionType'] as const) {
      if (typeof e[key] !== 'string') return `an entry has no ${key}`;
    }
    const acl: AclBinding = {
      resourceType: resourceTypeCode(e.resourceType!) ?? 0,
      resourceName: e.resourceName!,
      patternType: patternTypeCode(e.patternType!) ?? 0,
      principal: e.principal!,
      host: e.host!,
      operation: operationCode(e.operation!) ?? 0,
      permissionType: permissionTypeCode(e.permissionType!) ?? 0,
    };
    const problem = validateNewAcl(acl);
    if (problem !== undefined) return `${problem} (entry ${out.length})`;
    if (out.some((other) => sameAcl(other, acl))) return `duplicate entry ${out.length}`;
    out.push(acl);
  }
  return out;
}

function encode(acls: readonly AclBinding[]): string {
  const stored: StoredAcl[] = acls.map((a) => ({
    resourceType: resourceTypeName(a.resourceType),
    resourceName: a.resourceName,
    patternType: patternTypeName(a.patternType),
    principal: a.principal,
    host: a.host,
    operation: operationName(a.operation),
    permissionType: permissionTypeName(a.permissionType),
  }));
  return `${JSON.stringify({ version: FORMAT_VERSION, acls: stored }, null, 2)}\n`;
}

export class AclStore {
  private acls: readonly AclBinding[];
  /** Changes are written one at a time, in call order. */
  private writes: Promise<void> = Promise.resolve();
  /** Called with the new set after each durable change (the authorizer rebuilds its index). */
  onChange: ((acls: readonly AclBinding[]) => void) | undefined;

  private constructor(
    private readonly file: string,
    acls: readonly AclBinding[],
  ) {
    this.acls = acls;
  }

  static async open(options: { dataDir: string; logger: Logger }): Promise<AclStore> {
    const file = path.join(options.dataDir, ACLS_FILE);
    const state = await readStateFileOrSetAside(file, decode, options.logger, 'ACL file is unreadable; kept aside, starting with no ACLs');
    return new AclStore(file, state ?? []);
  }

  /** Every ACL, in creation order. */
  list(): readonly AclBinding[] {
    return this.acls;
  }

  /** The ACLs matching a filter (DescribeAcls). */
  find(filter: AclBindingFilter): AclBinding[] {
    return this.acls.filter((acl) => filterMatches(filter, acl));
  }

  /** Adds the ACLs (already validated; ones already present are kept once), durably, before this resolves. */
  create(acls: readonly AclBinding[]): Promise<void> {
    return this.change((current) => {
      const next = [...current];
      for (const acl of acls) if (!next.some((other) => sameAcl(other, acl))) next.push(acl);
      return next.length === current.length ? undefined : next;
    });
  }

  /**
   * Removes every ACL matching any of the filters, durably; returns, per filter, the ACLs it matched (an ACL
   * matched by two filters is reported by both, as Kafka does).
   */
  async delete(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    let matched: AclBinding[][] = [];
    await this.change((current) => {
      matched = filters.map((f) => current.filter((acl) => filterMatches(f, acl)));
      const next = current.filter((acl) => !filters.some((f) => filterMatches(f, acl)));
      return next.length === current.length ? undefined : next;
    });
    return matched;
  }

  /** Runs `compute` on the current set after earlier writes; a returned set is written and then made visible. */
  private change(compute: (current: readonly AclBinding[]) => readonly AclBinding[] | undefined): Promise<void> {
    const run = this.writes.then(async () => {
      const next = compute(this.acls);
      if (next === undefined) return;
      await writeFileAtomically(this.file, encode(next));
      this.acls = next;
      this.onChange?.(next);
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}
