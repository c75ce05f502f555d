// Client quota entities and keys, as Kafka names and validates them (ClientQuotaEntity, QuotaConfigs,
// metadata/.../controller/ClientQuotaControlManager.java).
//
// An entity is a set of (entity type → name) with types `user`, `client-id` and `ip`; a null name is the type's
// default (`<default>` in kafka-configs.sh). Valid combinations and the keys each may set:
//
//   entity                          keys (type)
//   user, client-id, or both        producer_byte_rate (long), consumer_byte_rate (long),
//                                   request_percentage (double), controller_mutation_rate (double)
//   ip (alone)                      connection_creation_rate (int)
//   anything else                   INVALID_REQUEST
//
// Values must be > 0; integral keys may not be fractional (more than 1e-6 off) nor exceed their Java type.
import net from 'node:net';

export const USER = 'user';
export const CLIENT_ID = 'client-id';
export const IP = 'ip';
export const ENTITY_TYPES: readonly string[] = [USER, CLIENT_ID, IP];

export const PRODUCER_BYTE_RATE = 'producer_byte_rate';
export const CONSUMER_BYTE_RATE = 'consumer_byte_rate';
export const REQUEST_PERCENTAGE = 'request_percentage';
export const CONTROLLER_MUTATION_RATE = 'controller_mutation_rate';
export const CONNECTION_CREATION_RATE = 'connection_creation_rate';

type KeyType = 'long' | 'double' | 'int';

const CLIENT_KEYS: ReadonlyMap<string, KeyType> = new Map<string, KeyType>([
  [PRODUCER_BYTE_RATE, 'long'],
  [CONSUMER_BYTE_RATE, 'long'],
  [REQUEST_PERCENTAGE, 'double'],
  [CONTROLLER_MUTATION_RATE, 'double'],
]);
const IP_KEYS: ReadonlyMap<string, KeyType> = new Map<string, KeyType>([[CONNECTION_CREATION_RATE, 'int']]);

/** entity type → name (null: the default entity of that type). */
export type QuotaEntity = ReadonlyMap<string, string | null>;

/** A stable key for an entity: its entries sorted by type. */
export function entityKey(entity: QuotaEntity): string {
  return JSON.stringify([...entity].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function entityFromKey(key: string): QuotaEntity {
  return new Map(JSON.parse(key) as Array<[string, string | null]>);
}

/** Builds an entity from wire entries; a string is the INVALID_REQUEST message (validateEntity). */
export function entityFromEntries(entries: ReadonlyArray<{ entityType: string; entityName: string | null }>): QuotaEntity | string {
  if (entries.length === 0) return 'Invalid empty client quota entity';
  const entity = new Map<string, string | null>();
  for (const { entityType, entityName } of entries) {
    if (entity.has(entityType)) return `Invalid client quota entity, duplicate entity entry ${entityType}`;
    if (!ENTITY_TYPES.includes(entityType)) return `Unhandled client quota entity type: ${entityType}`;
    if (entityName !== null && entityName === '') return `Empty ${entityType} not supported`;
    entity.set(entityType, entityName);
  }
  return entity;
}

/** The keys the entity may set, or the INVALID_REQUEST message (configKeysForEntityType). */
export function keysForEntity(entity: QuotaEntity): ReadonlyMap<string, KeyType> | string {
  const hasIp = entity.has(IP);
  if (hasIp) {
    if (entity.has(USER) || entity.has(CLIENT_ID)) return 'Invalid quota entity combination, IP entity should not be combined with User or ClientId';
    const ip = entity.get(IP)!;
    // Kafka accepts anything InetAddress.getByName resolves; Eddy accepts IP literals (no DNS on the request path).
    if (ip !== null && net.isIP(ip) === 0) return `${ip} is not a valid IP or resolvable host.`;
    return IP_KEYS;
  }
  if (entity.has(USER) || entity.has(CLIENT_ID)) return CLIENT_KEYS;
  return 'Invalid empty client quota entity';
}

const TYPE_MAX: Record<KeyType, number> = { long: Number.MAX_SAFE_INTEGER, int: 2 ** 31 - 1, double: Number.MAX_VALUE };

/** null when `value` may be set for `key`, else the INVALID_REQUEST message (validateQuotaKeyValue). */
export function validateQuotaValue(keys: ReadonlyMap<string, KeyType>, key: string, value: number): string | null {
  const type = keys.get(key);
  if (type === undefined) return `Invalid configuration key ${key}`;
  if (!(value > 0)) return `Quota ${key} must be greater than 0`;
  if (type === 'double') return Number.isFinite(value) ? null : `Proposed value for ${key} is too large for a DOUBLE.`;
  if (value > TYPE_MAX[type]) return `Proposed value for ${key} is too large for ${type === 'int' ? 'an INT' : 'a LONG'}.`;
  if (Math.abs(value % 1) > 1e-6) return `${key} cannot be a fractional value.`;
  return null;
}
