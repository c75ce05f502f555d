// The authorizer: may this principal, from this host, do this operation on this resource? Kafka's
// StandardAuthorizer (StandardAuthorizerData.authorize / findAclRule / findResult), over the ACLs of acl-store.ts.
//
// Handlers call one function, authorize(ctx, operation, resourceType, name), with a LITERAL resource (a topic, a
// group, a transactional id, the cluster "kafka-cluster"). Without `--authorizer acl` there is no authorizer and
// every call answers true after one branch, as Kafka's AuthHelper does with no authorizer configured.
//
// The decision, in order:
//
//   1. the principal ("User:alice") is in super.users                           → allowed
//   2. the ACLs of that resource type that match the resource name: LITERAL with the same name, LITERAL "*",
//      PREFIXED whose name is a prefix of it ("resource ACLs")
//   3. of those, the ones whose principal is the client's or "User:*", whose host is "*" or the client's IP
//      address, and whose operation applies (table below)
//   4. any such DENY                                                             → denied (deny wins)
//   5. any such ALLOW                                                            → allowed
//   6. there are resource ACLs (step 2), none applying to this request           → denied
//   7. no ACL names the resource at all                                          → allow.everyone.if.no.acl.found
//
// Which ACL operations apply to a requested operation (implied operations apply to ALLOW ACLs only: a DENY READ
// does not deny DESCRIBE):
//
//   requested            ALLOW ACL operations that apply          DENY ACL operations that apply
//   DESCRIBE             DESCRIBE, READ, WRITE, DELETE, ALTER, ALL  DESCRIBE, ALL
//   DESCRIBE_CONFIGS     DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL       DESCRIBE_CONFIGS, ALL
//   any other op X       X, ALL                                     X, ALL
//
// Hosts are compared as Java's InetAddress.getHostAddress prints them: an IPv4-mapped IPv6 peer (::ffff:10.0.0.1,
// which node reports on dual-stack sockets) is its IPv4 address.
//
// Audit log (StandardAuthorizerData.logAuditMessage): every decision authorize() makes for a request goes to the
// `kafka.authorizer.logger` logger (a pino child of the broker's logger with that name): denials at info, allows at
// debug, each with Kafka's message, e.g.
//   Principal = User:alice is Denied operation = READ from host = 127.0.0.1 on resource = Topic:LITERAL:secret for
//   request = Fetch with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl(resourceType=TOPIC, …))
// The rule is SuperUser, DefaultAllow / DefaultDeny (no ACL applies) or MatchingAcl(acl=…). Checks that only compute
// authorized operations (authorizedOperations) are not requests and are not logged (Kafka logs them at trace), nor
// are denials of checks made with { logIfDenied: false } (Kafka's Action.logIfDenied: filters and probes). The
// rule is found again only when the line is written, so an unlogged decision costs nothing extra.
import type { Logger } from 'pino';
import { API_CODECS } from '../protocol/generated/index.js';
import type { KafkaPrincipal } from './principal.js';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  PatternType,
  ResourceType,
  SUPPORTED_OPERATIONS,
  WILDCARD,
  WILDCARD_PRINCIPAL,
  operationName,
  patternTypeName,
  permissionTypeName,
  resourceTypeName,
  type AclBinding,
} from './acl.js';
import type { AclStore } from './acl-store.js';

export interface AuthorizerOptions {
  readonly store: AclStore;
  /** Principals allowed everything, e.g. ["User:admin"] (Kafka: `super.users`, semicolon-separated). */
  readonly superUsers: readonly string[];
  /** The result when no ACL names a resource (Kafka: `allow.everyone.if.no.acl.found`, default false). */
  readonly allowEveryoneIfNoAclFound: boolean;
  /** The kafka.authorizer.logger audit log (header); none: decisions are not logged. */
  readonly auditLog?: Logger;
}

/** The ACLs of one resource type, split by how their names match. */
interface TypeIndex {
  literal: Map<string, AclBinding[]>;
  wildcard: AclBinding[];
  prefixed: AclBinding[];
}

const IMPLIES_DESCRIBE = new Set<number>([AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER]);
const IMPLIES_DESCRIBE_CONFIGS = new Set<number>([AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]);

/** Does `acl` apply to `operation` (the second table above)? */
function operationApplies(acl: AclBinding, operation: number): boolean {
  if (acl.operation === AclOperation.ALL || acl.operation === operation) return true;
  if (acl.permissionType !== AclPermissionType.ALLOW) return false;
  if (operation === AclOperation.DESCRIBE) return IMPLIES_DESCRIBE.has(acl.operation);
  if (operation === AclOperation.DESCRIBE_CONFIGS) return IMPLIES_DESCRIBE_CONFIGS.has(acl.operation);
  return false;
}

export function normalizeHost(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** SecurityUtils.resourceTypeName: Kafka's audit spelling of a resource type. */
const AUDIT_RESOURCE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [ResourceType.TOPIC]: 'Topic',
  [ResourceType.GROUP]: 'Group',
  [ResourceType.CLUSTER]: 'Cluster',
  [ResourceType.TRANSACTIONAL_ID]: 'TransactionalId',
  [ResourceType.DELEGATION_TOKEN]: 'DelegationToken',
};

/** StandardAcl.toString. */
function standardAclString(acl: AclBinding): string {
  return `StandardAcl(resourceType=${resourceTypeName(acl.resourceType)}, resourceName=${acl.resourceName}, patternType=${patternTypeName(acl.patternType)}, principal=${acl.principal}, host=${acl.host}, operation=${operationName(acl.operation)}, permissionType=${permissionTypeName(acl.permissionType)})`;
}

export class Authorizer {
  readonly store: AclStore;
  readonly auditLog: Logger | undefined;
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowEveryoneIfNoAclFound: boolean;
  private index = new Map<number, TypeIndex>();

  constructor(options: AuthorizerOptions) {
    this.store = options.store;
    this.superUsers = new Set(options.superUsers);
    this.allowEveryoneIfNoAclFound = options.allowEveryoneIfNoAclFound;
    this.auditLog = options.auditLog;
    this.rebuild(options.store.list());
    options.store.onChange = (acls) => this.rebuild(acls);
  }

  private rebuild(acls: readonly AclBinding[]): void {
    const index = new Map<number, TypeIndex>();
    for (const acl of acls) {
      let t = index.get(acl.resourceType);
      if (t === undefined) index.set(acl.resourceType, (t = { literal: new Map(), wildcard: [], prefixed: [] }));
      if (acl.patternType === PatternType.PREFIXED) t.prefixed.push(acl);
      else if (acl.resourceName === WILDCARD) t.wildcard.push(acl);
      else {
        const list = t.literal.get(acl.resourceName);
        if (list === undefined) t.literal.set(acl.resourceName, [acl]);
        else list.push(acl);
      }
    }
    this.index = index;
  }

  isSuperUser(principal: KafkaPrincipal): boolean {
    return this.superUsers.has(`${principal.principalType}:${principal.name}`);
  }

  /** The decision table at the top of this file, for a LITERAL resource. */
  authorize(principal: KafkaPrincipal, clientAddress: string, operation: number, resourceType: number, resourceName: string): boolean {
    const principalName = `${principal.principalType}:${principal.name}`;
    if (this.superUsers.has(principalName)) return true;
    const t = this.index.get(resourceType);
    if (t === undefined) return this.allowEveryoneIfNoAclFound;
    const host = normalizeHost(clientAddress);
    let hasResourceAcls = false;
    let allowed = false;
    const check = (acls: readonly AclBinding[] | undefined): boolean => {
      if (acls === undefined) return false;
      for (const acl of acls) {
        if (acl.patternType === PatternType.PREFIXED && !resourceName.startsWith(acl.resourceName)) continue;
        hasResourceAcls = true;
        if (acl.principal !== principalName && acl.principal !== WILDCARD_PRINCIPAL) continue;
        if (acl.host !== WILDCARD && acl.host !== host) continue;
        if (!operationApplies(acl, operation)) continue;
        if (acl.permissionType === AclPermissionType.DENY) return true;
        allowed = true;
      }
      return false;
    };
    if (check(t.literal.get(resourceName)) || check(t.prefixed) || check(t.wildcard)) return false;
    if (allowed) return true;
    return hasResourceAcls ? false : this.allowEveryoneIfNoAclFound;
  }

  /** The rule behind a decision (the audit log's "based on rule …"), found as authorize() finds it. */
  matchingRule(principal: KafkaPrincipal, clientAddress: string, operation: number, resourceType: number, resourceName: string): string {
    const principalName = `${principal.principalType}:${principal.name}`;
    if (this.superUsers.has(principalName)) return 'SuperUser';
    const t = this.index.get(resourceType);
    const noAcl = this.allowEveryoneIfNoAclFound ? 'DefaultAllow' : 'DefaultDeny';
    if (t === undefined) return noAcl;
    const host = normalizeHost(clientAddress);
    let hasResourceAcls = false;
    let allow: AclBinding | undefined;
    for (const acl of [...(t.literal.get(resourceName) ?? []), ...t.prefixed, ...t.wildcard]) {
      if (acl.patternType === PatternType.PREFIXED && !resourceName.startsWith(acl.resourceName)) continue;
      hasResourceAcls = true;
      if (acl.principal !== principalName && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.host !== WILDCARD && acl.host !== host) continue;
      if (!operationApplies(acl, operation)) continue;
      if (acl.permissionType === AclPermissionType.DENY) return `MatchingAcl(acl=${standardAclString(acl)})`;
      allow ??= acl;
    }
    if (allow !== undefined) return `MatchingAcl(acl=${standardAclString(allow)})`;
    return hasResourceAcls ? 'DefaultDeny' : noAcl;
  }

  /**
   * May the principal do `operation` on some resource of the type (Authorizer.authorizeByResourceType, KIP-679:
   * idempotent produce is allowed with WRITE on any topic): allowed on an arbitrary name, or an ALLOW ACL (LITERAL or
   * PREFIXED) that no DENY dominates (a DENY LITERAL of the same name, a DENY PREFIXED of a prefix of it, a DENY
   * on "*").
   */
  authorizeByResourceType(principal: KafkaPrincipal, clientAddress: string, operation: number, resourceType: number): boolean {
    if (this.authorize(principal, clientAddress, operation, resourceType, 'hardcode')) return true;
    const t = this.index.get(resourceType);
    if (t === undefined) return false;
    const principalName = `${principal.principalType}:${principal.name}`;
    const host = normalizeHost(clientAddress);
    const applies = (acl: AclBinding) =>
      (acl.principal === principalName || acl.principal === WILDCARD_PRINCIPAL) &&
      (acl.host === WILDCARD || acl.host === host) &&
      (acl.operation === operation || acl.operation === AclOperation.ALL);
    const all = [...t.wildcard, ...t.prefixed, ...[...t.literal.values()].flat()].filter(applies);
    const deny = (acl: AclBinding) => acl.permissionType === AclPermissionType.DENY;
    if (all.some((acl) => deny(acl) && acl.patternType === PatternType.LITERAL && acl.resourceName === WILDCARD)) return false;
    if (all.some((acl) => !deny(acl) && acl.patternType === PatternType.LITERAL && acl.resourceName === WILDCARD)) return true;
    const denyLiteral = new Set(all.filter((a) => deny(a) && a.patternType === PatternType.LITERAL).map((a) => a.resourceName));
    const denyPrefixed = all.filter((a) => deny(a) && a.patternType === PatternType.PREFIXED).map((a) => a.resourceName);
    return all.some(
      (a) =>
        !deny(a) &&
        !(a.patternType === PatternType.LITERAL && denyLiteral.has(a.resourceName)) &&
        !denyPrefixed.some((prefix) => a.resourceName.startsWith(prefix)),
    );
  }
}

/** What authorize() reads from a handler's RequestContext. */
export interface AuthorizationContext {
  readonly principal: KafkaPrincipal;
  readonly clientAddress: string;
  readonly log: Logger;
  readonly broker: { readonly authorizer: Authorizer | undefined };
  /** The request's API (the audit log's "for request = …"). */
  readonly apiKey?: number;
}

/** The audit line of one decision (StandardAuthorizerData.buildAuditMessage). */
function auditMessage(authorizer: Authorizer, ctx: AuthorizationContext, allowed: boolean, operation: number, resourceType: number, resourceName: string): string {
  const principal = `${ctx.principal.principalType}:${ctx.principal.name}`;
  const request = ctx.apiKey === undefined ? 'UNKNOWN' : (API_CODECS.get(ctx.apiKey)?.name ?? String(ctx.apiKey));
  const rule = authorizer.matchingRule(ctx.principal, ctx.clientAddress, operation, resourceType, resourceName);
  return (
    `Principal = ${principal} is ${allowed ? 'Allowed' : 'Denied'} operation = ${operationName(operation)} from host = ${normalizeHost(ctx.clientAddress)} ` +
    `on resource = ${AUDIT_RESOURCE_TYPE_NAMES[resourceType] ?? resourceTypeName(resourceType)}:LITERAL:${resourceName} for request = ${request} ` +
    `with resourceRefCount = 1 based on rule ${rule}`
  );
}

/** Kafka's Action.logIfDenied: false for checks that only filter or probe (a denial is then not an audit event). */
export interface AuthorizeOptions {
  readonly logIfDenied?: boolean;
}

/**
 * The one call a handler makes: may the request's principal do `operation` on the LITERAL resource? True without an
 * authorizer (`--authorizer acl` not given).
 */
export function authorize(ctx: AuthorizationContext, operation: number, resourceType: number, resourceName: string, options?: AuthorizeOptions): boolean {
  const authorizer = ctx.broker.authorizer;
  if (authorizer === undefined) return true;
  const allowed = authorizer.authorize(ctx.principal, ctx.clientAddress, operation, resourceType, resourceName);
  const audit = authorizer.auditLog;
  if (audit !== undefined && (allowed || options?.logIfDenied !== false) && audit.isLevelEnabled(allowed ? 'debug' : 'info')) {
    const line = auditMessage(authorizer, ctx, allowed, operation, resourceType, resourceName);
    if (allowed) audit.debug(line);
    else audit.info(line);
  }
  return allowed;
}

/** authorize() on the CLUSTER resource. */
export function authorizeCluster(ctx: AuthorizationContext, operation: number, options?: AuthorizeOptions): boolean {
  return authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME, options);
}

/**
 * The batch form: the names (deduplicated) the principal may do `operation` on (AuthHelper.filterByAuthorized).
 * Without an authorizer, every name.
 */
export function authorizedNames(ctx: AuthorizationContext, operation: number, resourceType: number, names: Iterable<string>, options?: AuthorizeOptions): Set<string> {
  const out = new Set<string>();
  for (const name of names) if (!out.has(name) && authorize(ctx, operation, resourceType, name, options)) out.add(name);
  return out;
}

/** Operation `operation` on any resource of the type (KIP-679); true without an authorizer. */
export function authorizeByResourceType(ctx: AuthorizationContext, operation: number, resourceType: number): boolean {
  const authorizer = ctx.broker.authorizer;
  return authorizer === undefined || authorizer.authorizeByResourceType(ctx.principal, ctx.clientAddress, operation, resourceType);
}

/**
 * The authorized-operations bit field of a resource (AuthHelper.authorizedOperations): each operation the type
 * supports that the principal may do, as bit (1 << operation code); every supported one without an authorizer.
 */
export function authorizedOperations(ctx: AuthorizationContext, resourceType: number, resourceName: string): number {
  const authorizer = ctx.broker.authorizer;
  let bits = 0;
  for (const op of SUPPORTED_OPERATIONS[resourceType] ?? []) {
    // Not a request to act: no denial is logged (Kafka's logIfDenied = false).
    if (authorizer === undefined || authorizer.authorize(ctx.principal, ctx.clientAddress, op, resourceType, resourceName)) bits |= 1 << op;
  }
  return bits;
}

/** Config resource types (ConfigResource.Type) whose ACL resource is the cluster. */
const CONFIG_RESOURCE_TOPIC = 2;

/**
 * The code for a config resource the principal may not describe or alter (KafkaApis.configsAuthorizationApiError,
 * ConfigHelper): a TOPIC needs `operation` (DESCRIBE_CONFIGS or ALTER_CONFIGS) on the topic, else
 * TOPIC_AUTHORIZATION_FAILED (29); BROKER, BROKER_LOGGER and CLIENT_METRICS need it on the CLUSTER, else
 * CLUSTER_AUTHORIZATION_FAILED (31). 0 when allowed; other types are left to the config code (0).
 */
export function configResourceAuthorizationError(ctx: AuthorizationContext, operation: number, configResourceType: number, name: string): number {
  if (configResourceType === CONFIG_RESOURCE_TOPIC) return authorize(ctx, operation, ResourceType.TOPIC, name) ? 0 : 29;
  if (configResourceType === 4 || configResourceType === 8 || configResourceType === 16) return authorizeCluster(ctx, operation) ? 0 : 31;
  return 0;
}
