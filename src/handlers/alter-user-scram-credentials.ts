// AlterUserScramCredentials (key 51), version 0 (KIP-554), as Kafka 3.9's controller decides it
// (ScramControlManager.alterCredentials): `kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[password=…]'`
// and Admin.alterUserScramCredentials send it.
// - Upsertions carry salt, salted password and iterations (the client ran PBKDF2); the broker stores salt,
//   StoredKey = H(HMAC(salted, "Client Key")), ServerKey = HMAC(salted, "Server Key") and iterations
//   (auth/credential-store.ts), never the salted password.
// - Each user may appear once in the whole request (deletions and upsertions together, whatever the mechanism);
//   a repeat → DUPLICATE_RESOURCE "A user credential cannot be altered twice in the same request" for that user,
//   and none of its changes apply.
// - Per change, in Kafka's order of checks: empty user name → UNACCEPTABLE_CREDENTIAL "Username must not be
//   empty"; mechanism other than 1 (SCRAM-SHA-256) / 2 (SCRAM-SHA-512) → UNSUPPORTED_SASL_MECHANISM "Unknown SCRAM
//   mechanism"; deleting a credential that does not exist → RESOURCE_NOT_FOUND "Attempt to delete a user
//   credential that does not exist"; iterations below 4096 → UNACCEPTABLE_CREDENTIAL "Too few iterations", above
//   16384 → "Too many iterations".
// - The valid changes are applied together and made durable before the answer (one atomic file rewrite); new
//   logins see them at once, sessions already authenticated are not affected (as in Kafka).
// - Results: deleted users, then upserted users (NONE, message null), then the users in error, each once.
// - ACLs (auth/authorizer.ts): ALTER on the CLUSTER first, otherwise every user answers CLUSTER_AUTHORIZATION_FAILED.
// - Deliberate difference: an empty salt or salted password is refused with UNACCEPTABLE_CREDENTIAL ("Salt must
//   not be empty" / "Salted password must not be empty"); Kafka stores such a credential, which no client can use.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeAlterUserScramCredentialsResponse,
  type AlterUserScramCredentialsRequest,
  type AlterUserScramCredentialsResponse,
} from '../protocol/generated/alter-user-scram-credentials.js';
import { ErrorCode, errorName } from '../protocol/error-codes.js';
import { credentialFromSaltedPassword, scramMechanismByType, type ScramMechanism } from '../auth/scram.js';
import type { CredentialChange } from '../auth/credential-store.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import type { ApiHandler } from './types.js';

interface ApiError {
  errorCode: number;
  errorMessage: string;
}

const DUPLICATE: ApiError = { errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: 'A user credential cannot be altered twice in the same request' };

function validateNameAndMechanism(name: string, mechanismType: number): ApiError | ScramMechanism {
  if (name === '') return { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Username must not be empty' };
  const mechanism = scramMechanismByType(mechanismType);
  if (mechanism === undefined) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, errorMessage: 'Unknown SCRAM mechanism' };
  return mechanism;
}

export const alterUserScramCredentialsHandler: ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> = {
  apiKey: ApiKey.AlterUserScramCredentials,
  name: 'AlterUserScramCredentials',
  minVersion: 0,
  maxVersion: 0,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.ALTER)) return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    const store = ctx.broker.credentials;
    const deletions = new Map<string, CredentialChange>();
    const upsertions = new Map<string, CredentialChange>();
    const errors = new Map<string, ApiError>();
    for (const d of request.deletions) {
      if (errors.has(d.name)) continue;
      if (deletions.delete(d.name)) {
        errors.set(d.name, DUPLICATE);
        continue;
      }
      const mechanism = validateNameAndMechanism(d.name, d.mechanism);
      if ('errorCode' in mechanism) errors.set(d.name, mechanism);
      else if (store.get(d.name, mechanism) === undefined) errors.set(d.name, { errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: 'Attempt to delete a user credential that does not exist' });
      else deletions.set(d.name, { user: d.name, mechanism, credential: null });
    }
    for (const u of request.upsertions) {
      if (errors.has(u.name)) continue;
      if (deletions.delete(u.name) || upsertions.delete(u.name)) {
        errors.set(u.name, DUPLICATE);
        continue;
      }
      const mechanism = validateNameAndMechanism(u.name, u.mechanism);
      if ('errorCode' in mechanism) errors.set(u.name, mechanism);
      else if (u.iterations < mechanism.minIterations) errors.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too few iterations' });
      else if (u.iterations > mechanism.maxIterations) errors.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Too many iterations' });
      else if (u.salt.length === 0) errors.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salt must not be empty' });
      else if (u.saltedPassword.length === 0) errors.set(u.name, { errorCode: ErrorCode.UNACCEPTABLE_CREDENTIAL, errorMessage: 'Salted password must not be empty' });
      else upsertions.set(u.name, { user: u.name, mechanism, credential: credentialFromSaltedPassword(mechanism, Buffer.from(u.salt), u.saltedPassword, u.iterations) });
    }
    const changes = [...deletions.values(), ...upsertions.values()];
    if (changes.length > 0) await store.apply(changes);
    if (changes.length > 0 && ctx.log.isLevelEnabled('info')) {
      ctx.log.info({ deleted: [...deletions.keys()], upserted: [...upsertions.keys()] }, 'SCRAM credentials altered');
    }
    const res = makeAlterUserScramCredentialsResponse();
    for (const user of [...deletions.keys(), ...upsertions.keys()]) res.results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
    for (const [user, e] of errors) res.results.push({ user, errorCode: e.errorCode, errorMessage: e.errorMessage });
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeAlterUserScramCredentialsResponse();
    const users = new Set([...request.deletions.map((d) => d.name), ...request.upsertions.map((u) => u.name)]);
    for (const user of users) res.results.push({ user, errorCode, errorMessage: errorName(errorCode) });
    return res;
  },
};
