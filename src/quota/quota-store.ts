// The client quotas set through AlterClientQuotas (and shown by DescribeClientQuotas): entity → key → value, as
// Kafka's ClientQuotaControlManager keeps them (ClientQuotaRecord in the metadata log).
//
// Where: `<dataDir>/client-quotas.json`, rewritten whole on every change (temp file, fsync, rename, fsync the
// directory: metadata-fs.ts writeFileAtomically), so a crash leaves the old or the new file, never a torn one. An
// AlterClientQuotas is answered only after its rename is fsynced. A file rather than records in an internal topic
// because the set is small, changes rarely and is read whole at start (the same choice as auth/credential-store.ts).
//
// Format, version 1 (UTF-8 JSON):
//
//   {
//     "version": 1,
//     "quotas": [
//       { "entity": [["client-id", "app"], ["user", null]], "values": { "producer_byte_rate": 1048576 } },
//       …
//     ]
//   }
//
// `entity` lists (type, name) pairs sorted by type, a null name being the type's default; each entity passes
// quota-entity.ts's validation, appears once, and has at least one value; values are numbers > 0 for keys valid
// for the entity.
//
// Reading at start: a missing file is an empty store. A file that does not parse, has another version or breaks a
// rule above is not trusted at all: it is renamed `client-quotas.json.corrupt-<ms>` (kept for a person to look at),
// the rename is fsynced, an error is logged, and the broker starts with no quotas.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { entriesOfStateDocument, readStateFileOrSetAside, writeFileAtomically } from '../metadata/metadata-fs.js';
import { entityFromEntries, entityFromKey, entityKey, keysForEntity, validateQuotaValue, type QuotaEntity } from './quota-entity.js';

export const QUOTAS_FILE = 'client-quotas.json';
const FORMAT_VERSION = 1;

/** One entity's change: key → new value, or null to remove the key. */
export interface QuotaAlteration {
  readonly entity: QuotaEntity;
  readonly values: ReadonlyMap<string, number | null>;
}

/** entity key (quota-entity.ts entityKey) → quota key → value. */
export type QuotaMap = ReadonlyMap<string, ReadonlyMap<string, number>>;

function decode(text: string): Map<string, Map<string, number>> | string {
  const quotas = entriesOfStateDocument(text, FORMAT_VERSION, 'quotas');
  if (typeof quotas === 'string') return quotas;
  const result = new Map<string, Map<string, number>>();
  for (const raw of quotas) {
    const e = raw as { entity?: unknown; values?: unknown } | null;
    if (typeof e !== 'object' || e === null || !Array.isArray(e.entity)) return 'an entry has no entity';
    const pairs = e.entity as unknown[];
    if (!pairs.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && (p[1] === null || typeof p[1] === 'string'))) return 'an entity is not a list of [type, name]';
    const entity = entityFromEntries((pairs as Array<[string, string | null]>).map(([entityType, entityName]) => ({ entityType, entityName })));
    if (typeof entity === 'string') return entity;
    const keys = keysForEntity(entity);
    if (typeof keys === 'string') return keys;
    if (typeof e.values !== 'object' || e.values === null) return 'an entry has no values';
    const values = new Map<string, number>();
    for (const [key, value] of Object.entries(e.values as Record<string, unknown>)) {
      if (typeof value !== 'number') return `value of ${key} is not a number`;
      const problem = validateQuotaValue(keys, key, value);
      if (problem !== null) return problem;
      values.set(key, value);
    }
    if (values.size === 0) return 'an entry has no values';
    const k = entityKey(entity);
    if (result.has(k)) return `duplicate entity ${k}`;
    result.set(k, values);
  }
  return result;
}

function encode(quotas: QuotaMap): string {
  const entries = [...quotas].map(([key, values]) => ({ entity: [...entityFromKey(key)].sort(([a], [b]) => (a < b ? -1 : 1)), values: Object.fromEntries(values) }));
  return `${JSON.stringify({ version: FORMAT_VERSION, quotas: entries }, null, 2)}\n`;
}

export class QuotaStore {
  private quotas: Map<string, Map<string, number>>;
  /** Changes are written one at a time, in call order. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    quotas: Map<string, Map<string, number>>,
  ) {
    this.quotas = quotas;
  }

  static async open(options: { dataDir: string; logger: Logger }): Promise<QuotaStore> {
    const file = path.join(options.dataDir, QUOTAS_FILE);
    const state = await readStateFileOrSetAside(file, decode, options.logger, 'client quotas file is unreadable; kept aside, starting with no client quotas');
    return new QuotaStore(file, state ?? new Map());
  }

  /** Every entity with its values (a snapshot; entity keys as entityKey makes them). */
  all(): QuotaMap {
    return this.quotas;
  }

  /** Applies the alterations together: durable (fsynced) before this resolves, enforced from then on. */
  apply(alterations: readonly QuotaAlteration[]): Promise<QuotaMap> {
    const run = this.writes.then(async () => {
      const next = new Map([...this.quotas].map(([k, v]) => [k, new Map(v)]));
      for (const { entity, values } of alterations) {
        const k = entityKey(entity);
        const current = next.get(k) ?? new Map<string, number>();
        for (const [key, value] of values) {
          if (value === null) current.delete(key);
          else current.set(key, value);
        }
        if (current.size === 0) next.delete(k);
        else next.set(k, current);
      }
      await writeFileAtomically(this.file, encode(next));
      this.quotas = next;
      return next as QuotaMap;
    });
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}
