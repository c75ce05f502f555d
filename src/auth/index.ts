// auth/: who a client is. The entry points the rest of the broker uses:
//
//   principal.ts          KafkaPrincipal, ANONYMOUS, the TLS principal (certificate subject DN, RFC 2253)
//   sasl-errors.ts        the SaslServer contract and its two failure kinds
//   plain.ts, scram.ts    the mechanisms (PLAIN, with its process-wide bound on password derivations and cache of
//                         successful checks; SCRAM-SHA-256/512 with Kafka's checks)
//   credential-store.ts   durable SCRAM credentials (Describe/AlterUserScramCredentials, --sasl-user)
//
// The connection-level state machine that drives a mechanism (what may be sent before authentication, how failures
// are answered, re-authentication) is network code and lives in server/sasl-authenticator.ts.
//
//   acl.ts                Kafka's ACL vocabulary (resource/pattern types, operations), filters and validation
//   acl-store.ts          durable ACLs (Create/Describe/DeleteAcls)
//   authorizer.ts         the StandardAuthorizer model and the one function handlers call,
//                         authorize(ctx, operation, resourceType, name), reading ctx.principal and ctx.clientAddress
import type { Logger } from 'pino';
import { CredentialStore, type CredentialChange } from './credential-store.js';
import { AclStore } from './acl-store.js';
import { Authorizer } from './authorizer.js';
import { PlainSaslServer } from './plain.js';
import { SCRAM_SHA_512, ScramSaslServer, generateCredential, passwordMatches, scramMechanismByName, type ScramMechanism } from './scram.js';
import type { SaslServer } from './sasl-errors.js';

export { CredentialStore } from './credential-store.js';
export { AclStore } from './acl-store.js';
export { Authorizer, authorize, authorizeByResourceType, authorizeCluster, authorizedNames, authorizedOperations, configResourceAuthorizationError, type AuthorizationContext, type AuthorizeOptions } from './authorizer.js';
export * from './acl.js';
export { ANONYMOUS, principalToString, userPrincipal, type KafkaPrincipal } from './principal.js';

/** The mechanisms Eddy implements (Kafka also has GSSAPI and OAUTHBEARER). */
export const SUPPORTED_SASL_MECHANISMS: readonly string[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'];

/** A new server-side exchange for an enabled mechanism. */
export function createSaslServer(mechanism: string, credentials: CredentialStore): SaslServer {
  const lookup = (user: string, m: ScramMechanism) => credentials.get(user, m);
  if (mechanism === 'PLAIN') return new PlainSaslServer(lookup);
  const scram = scramMechanismByName(mechanism);
  if (scram === undefined) throw new Error(`unsupported SASL mechanism ${mechanism}`);
  return new ScramSaslServer(scram, lookup);
}

/** `name:password`, split at the first ':' (a password may contain ':'; a user name may not). */
export function parseSaslUser(value: string): { user: string; password: string } | undefined {
  const colon = value.indexOf(':');
  if (colon <= 0 || colon === value.length - 1) return undefined;
  return { user: value.slice(0, colon), password: value.slice(colon + 1) };
}

/**
 * `--sasl-user name:password`: a credential for every enabled SCRAM mechanism (SCRAM-SHA-512 alone when only PLAIN
 * is enabled, since PLAIN checks passwords against a SCRAM credential). A credential that already matches the
 * password is kept (a restart rewrites nothing); the others are written in one durable change.
 */
export async function bootstrapSaslUsers(credentials: CredentialStore, users: readonly string[], enabledMechanisms: readonly string[], logger: Logger): Promise<void> {
  if (users.length === 0) return;
  let scram = enabledMechanisms.map((m) => scramMechanismByName(m)).filter((m): m is ScramMechanism => m !== undefined);
  if (scram.length === 0) scram = [SCRAM_SHA_512];
  const changes: CredentialChange[] = [];
  for (const entry of users) {
    const parsed = parseSaslUser(entry);
    if (parsed === undefined) continue; // validated in broker-config.ts
    for (const mechanism of scram) {
      const existing = credentials.get(parsed.user, mechanism);
      if (existing !== undefined && existing.iterations >= mechanism.minIterations && (await passwordMatches(mechanism, existing, parsed.password))) continue;
      changes.push({ user: parsed.user, mechanism, credential: await generateCredential(mechanism, parsed.password) });
    }
  }
  if (changes.length === 0) return;
  await credentials.apply(changes);
  logger.info({ users: [...new Set(changes.map((c) => c.user))], mechanisms: [...new Set(changes.map((c) => c.mechanism.name))] }, 'SASL users created or updated from --sasl-user');
}

/**
 * The authorizer for `--authorizer acl` (its ACLs loaded from the data dir), or undefined for `none`: then no ACL
 * file is read and every request is allowed.
 */
export async function openAuthorizer(
  options: { authorizer: 'acl' | 'none'; superUsers: readonly string[]; allowEveryoneIfNoAclFound: boolean },
  dataDir: string,
  logger: Logger,
): Promise<Authorizer | undefined> {
  if (options.authorizer !== 'acl') return undefined;
  const store = await AclStore.open({ dataDir, logger });
  // Kafka's audit logger name (log4j's kafka.authorizer.logger): denials at info, allows at debug (authorizer.ts).
  const auditLog = logger.child({ name: 'kafka.authorizer.logger' });
  const authorizer = new Authorizer({ store, superUsers: options.superUsers, allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound, auditLog });
  logger.info({ acls: store.list().length, superUsers: options.superUsers, allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound }, 'ACL authorizer enabled');
  return authorizer;
}
