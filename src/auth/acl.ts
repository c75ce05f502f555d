// Kafka's ACL vocabulary (org.apache.kafka.common.acl and .resource): the wire codes of resource types, pattern
// types, operations and permission types, an ACL binding (a resource pattern plus an access control entry), the
// filters Describe/DeleteAcls send, and the checks a new ACL or a filter must pass.
//
// A binding here is flat, as StandardAcl is: resourceType, resourceName, patternType, principal ("User:alice"),
// host ("*" or an IP address), operation, permissionType.
//
// Filter matching (ResourcePatternFilter.matches + AccessControlEntryFilter.matches):
//
//   filter field       matches a binding when
//   resourceType       ANY, or equal
//   patternType        ANY: any pattern type, the name compared exactly
//                      MATCH: the name given is matched as a resource would be: a LITERAL binding with that name
//                      or with "*", a PREFIXED binding whose name is a prefix of it (no name: every binding)
//                      LITERAL / PREFIXED: that pattern type, the name compared exactly
//   resourceName       null: any name
//   principal, host    null: any; otherwise equal
//   operation          ANY, or equal
//   permissionType     ANY, or equal

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;
export type ResourceTypeCode = (typeof ResourceType)[keyof typeof ResourceType];

export const PatternType = {
  UNKNOWN: 0,
  ANY: 1,
  MATCH: 2,
  LITERAL: 3,
  PREFIXED: 4,
} as const;
export type PatternTypeCode = (typeof PatternType)[keyof typeof PatternType];

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;
export type AclOperationCode = (typeof AclOperation)[keyof typeof AclOperation];

export const AclPermissionType = {
  UNKNOWN: 0,
  ANY: 1,
  DENY: 2,
  ALLOW: 3,
} as const;
export type AclPermissionTypeCode = (typeof AclPermissionType)[keyof typeof AclPermissionType];

/** The one CLUSTER resource's name (Kafka: Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL resource name, host or principal name that matches every one (ResourcePattern.WILDCARD_RESOURCE). */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';

export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** Every binding. */
export const ANY_ACL_FILTER: AclBindingFilter = Object.freeze({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
});

/** The operations each resource type supports (AclEntry.supportedOperations): what authorizedOperations reports. */
export const SUPPORTED_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.CREATE,
    AclOperation.DESCRIBE,
    AclOperation.DELETE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
  ],
  [ResourceType.GROUP]: [AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE],
  [ResourceType.CLUSTER]: [
    AclOperation.CREATE,
    AclOperation.CLUSTER_ACTION,
    AclOperation.DESCRIBE_CONFIGS,
    AclOperation.ALTER_CONFIGS,
    AclOperation.IDEMPOTENT_WRITE,
    AclOperation.ALTER,
    AclOperation.DESCRIBE,
  ],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.DESCRIBE, AclOperation.WRITE],
  [ResourceType.DELEGATION_TOKEN]: [AclOperation.DESCRIBE],
  [ResourceType.USER]: [AclOperation.CREATE_TOKENS, AclOperation.DESCRIBE_TOKENS],
};

function nameOf(table: Record<string, number>, code: number): string {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return 'UNKNOWN';
}

/** Upper-case names as Kafka prints them (and as the ACL file and the CLI use them). */
export const resourceTypeName = (code: number): string => nameOf(ResourceType, code);
export const patternTypeName = (code: number): string => nameOf(PatternType, code);
export const operationName = (code: number): string => nameOf(AclOperation, code);
export const permissionTypeName = (code: number): string => nameOf(AclPermissionType, code);

/** The code for a name (case-insensitive, '-' or '_' between words), or undefined. */
function codeOf(table: Record<string, number>, name: string): number | undefined {
  const key = name.trim().toUpperCase().replace(/-/g, '_');
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}
export const resourceTypeCode = (name: string): number | undefined => codeOf(ResourceType, name);
export const patternTypeCode = (name: string): number | undefined => codeOf(PatternType, name);
export const operationCode = (name: string): number | undefined => codeOf(AclOperation, name);
export const permissionTypeCode = (name: string): number | undefined => codeOf(AclPermissionType, name);

const known = (table: Record<string, number>, code: number): boolean => code > 0 && Object.values(table).includes(code);

/** "Type:name" with a non-empty type (SecurityUtils.parseKafkaPrincipal), split at the first ':'. */
export function isValidPrincipal(principal: string): boolean {
  const colon = principal.indexOf(':');
  return colon > 0;
}

/**
 * Why a new ACL is refused (AclControlManager.validateNewAcl, AclApis.handleCreateAcls), or undefined when it is
 * valid. Every refusal is INVALID_REQUEST.
 */
export function validateNewAcl(acl: AclBinding): string | undefined {
  if (!known(ResourceType, acl.resourceType) || acl.resourceType === ResourceType.ANY) return `Invalid resourceType ${resourceTypeName(acl.resourceType)}`;
  if (acl.patternType !== PatternType.LITERAL && acl.patternType !== PatternType.PREFIXED) return `Invalid patternType ${patternTypeName(acl.patternType)}`;
  if (!known(AclOperation, acl.operation) || acl.operation === AclOperation.ANY) return `Invalid operation ${operationName(acl.operation)}`;
  if (acl.permissionType !== AclPermissionType.ALLOW && acl.permissionType !== AclPermissionType.DENY) {
    return `Invalid permissionType ${permissionTypeName(acl.permissionType)}`;
  }
  if (acl.resourceName === '') return 'Invalid empty resource name';
  if (acl.resourceType === ResourceType.CLUSTER && acl.resourceName !== CLUSTER_NAME) return `The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`;
  if (!isValidPrincipal(acl.principal)) return `expected a string in format principalType:principalName but got ${acl.principal}`;
  if (acl.host === '') return 'Invalid empty host';
  return undefined;
}

/** Why a filter is refused (UNKNOWN or out-of-range codes, which Kafka rejects when parsing), or undefined. */
export function validateFilter(filter: AclBindingFilter): string | undefined {
  if (!known(ResourceType, filter.resourceType)) return `Unknown resource type filter ${filter.resourceType}`;
  if (!known(PatternType, filter.patternType)) return `Unknown pattern type filter ${filter.patternType}`;
  if (!known(AclOperation, filter.operation)) return `Unknown operation filter ${filter.operation}`;
  if (!known(AclPermissionType, filter.permissionType)) return `Unknown permission type filter ${filter.permissionType}`;
  return undefined;
}

/** The table at the top of this file. */
export function filterMatches(filter: AclBindingFilter, acl: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== acl.resourceType) return false;
  const pt = filter.patternType;
  if (pt !== PatternType.ANY && pt !== PatternType.MATCH && pt !== acl.patternType) return false;
  if (filter.resourceName !== null) {
    if (pt === PatternType.ANY || pt === acl.patternType) {
      if (filter.resourceName !== acl.resourceName) return false;
    } else if (acl.patternType === PatternType.LITERAL) {
      if (filter.resourceName !== acl.resourceName && acl.resourceName !== WILDCARD) return false;
    } else if (!filter.resourceName.startsWith(acl.resourceName)) {
      return false;
    }
  }
  if (filter.principal !== null && filter.principal !== acl.principal) return false;
  if (filter.host !== null && filter.host !== acl.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== acl.operation) return false;
  return filter.permissionType === AclPermissionType.ANY || filter.permissionType === acl.permissionType;
}

export function sameAcl(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permissionType === b.permissionType
  );
}

/** "(principal=User:alice, host=*, operation=READ, permissionType=ALLOW) on TOPIC:LITERAL:orders", for logs and CLI. */
export function aclToString(acl: AclBinding): string {
  return (
    `(principal=${acl.principal}, host=${acl.host}, operation=${operationName(acl.operation)}, permissionType=${permissionTypeName(acl.permissionType)})` +
    ` on ${resourceTypeName(acl.resourceType)}:${patternTypeName(acl.patternType)}:${acl.resourceName}`
  );
}
