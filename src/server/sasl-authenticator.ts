// The SASL state machine of one connection on a SASL_PLAINTEXT or SASL_SSL listener, after Kafka's
// SaslServerAuthenticator (and KafkaChannel / SocketServer.Processor for re-authentication, KIP-368). Until it is
// complete, every frame of the connection comes here instead of to dispatch.
//
//   state                       frame                                    outcome
//   HANDSHAKE_OR_VERSIONS       not a Kafka request header (raw token    close, no answer (Kafka: GSSAPI is not
//                                 before the handshake)                    enabled, UnsupportedSaslMechanism)
//   HANDSHAKE_OR_VERSIONS,      any API but ApiVersions/SaslHandshake    close, no answer ("Unexpected Kafka
//   HANDSHAKE                                                              request of type X during SASL handshake")
//   HANDSHAKE_OR_VERSIONS       ApiVersions                              answered as usual → HANDSHAKE (stays when
//                                                                          the version is unsupported: KIP-511 retry)
//   HANDSHAKE                   ApiVersions (a second one)               close
//   either                      SaslHandshake, mechanism not enabled     UNSUPPORTED_SASL_MECHANISM + the enabled
//                                                                          mechanisms, then close
//   either                      SaslHandshake v0, mechanism enabled      NONE + mechanisms → AUTHENTICATE, raw
//                                                                          tokens follow (KIP-43)
//   either                      SaslHandshake v1, mechanism enabled      NONE + mechanisms → AUTHENTICATE, tokens in
//                                                                          SaslAuthenticate requests (KIP-152)
//   AUTHENTICATE (raw)          a token                                  the mechanism's answer as a raw
//                                                                          size-prefixed token; a failure closes
//                                                                          with no answer (nothing to carry it)
//   AUTHENTICATE (v1)           SaslAuthenticate v0–2                    NONE + token (+ session_lifetime_ms v1+
//                                                                          once complete); a failure answers
//                                                                          SASL_AUTHENTICATION_FAILED with Kafka's
//                                                                          message, then closes
//   AUTHENTICATE (v1)           any other API                            that API's error answer with
//                                                                          ILLEGAL_SASL_STATE, then close
//   mechanism complete          —                                        COMPLETE: principal User:<name>; frames go
//                                                                          to dispatch
//
// A frame larger than sasl.server.max.receive.size (524288) before authentication closes the connection (Kafka:
// "Failing SASL authentication due to invalid receive size"); the connection enforces that limit on the frame
// reader (connection.ts).
//
// Failure messages (sasl-errors.ts): a SaslAuthenticationError's own message, else "Authentication failed during
// authentication due to invalid credentials with SASL mechanism M" ("re-authentication" while re-authenticating).
//
// Re-authentication (KIP-368), with connections.max.reauth.ms > 0:
// - Completing authentication sets the session lifetime to connections.max.reauth.ms (sent as session_lifetime_ms in
//   SaslAuthenticate v1+; 0 and no expiry when the option is 0, Kafka's default).
// - A SaslHandshake on an authenticated connection whose session has a lifetime, at least 1 s after the previous
//   re-authentication began, starts a re-authentication (maybeBeginReauthentication): the state machine above runs
//   again from the handshake, on the same connection. The mechanism must be the same one ("SASL mechanism 'X'
//   requested by client is not supported for re-authentication of mechanism 'Y'": the handshake is answered, the
//   next token closes the connection) and so must the principal ("Cannot change principals during
//   re-authentication from User.a: User.b", SASL_AUTHENTICATION_FAILED).
// - Any other request on a connection whose session has expired closes it, unanswered (SocketServer's
//   "Disconnecting expired channel"); so does a SaslHandshake without a session lifetime or within the 1 s, which
//   goes to the SaslHandshake handler (ILLEGAL_SASL_STATE) if the session has not expired.
import type { Logger } from 'pino';
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';
import { readRequestHeader, type ParsedRequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { HANDLERS } from '../handlers/index.js';
import { createSaslServer, type CredentialStore } from '../auth/index.js';
import { ANONYMOUS, principalToString, samePrincipal, userPrincipal, type KafkaPrincipal } from '../auth/principal.js';
import { SaslAuthenticationError, SaslCredentialsError, type SaslServer } from '../auth/sasl-errors.js';
import type { SaslHandshakeRequest, SaslHandshakeResponse } from '../protocol/generated/sasl-handshake.js';
import type { SaslAuthenticateRequest, SaslAuthenticateResponse } from '../protocol/generated/sasl-authenticate.js';
import { encodeResponseFrame, type DispatchOutcome } from './dispatch.js';

/** Kafka's sasl.server.max.receive.size default. */
export const SASL_SERVER_MAX_RECEIVE_SIZE = 524288;
/** KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS. */
const MIN_REAUTH_INTERVAL_MS = 1000;

type SaslState = 'HANDSHAKE_OR_VERSIONS' | 'HANDSHAKE' | 'AUTHENTICATE' | 'REAUTH_BAD_MECHANISM' | 'COMPLETE' | 'FAILED';

export interface SaslAuthenticatorOptions {
  enabledMechanisms: readonly string[];
  credentials: CredentialStore;
  /** connections.max.reauth.ms; 0 = sessions never expire. */
  connectionsMaxReauthMs: number;
  logger: Logger;
  /** Runs an ApiVersions frame through the ordinary pipeline. */
  dispatchApiVersions: (frame: Buffer) => Promise<DispatchOutcome>;
  /** Counts outcomes (server-stats.ts). */
  onAuthenticated: (reauthentication: boolean) => void;
  onFailed: (reauthentication: boolean) => void;
}

export class SaslAuthenticator {
  private state: SaslState = 'HANDSHAKE_OR_VERSIONS';
  /** Tokens travel in SaslAuthenticate requests (handshake v1), not raw (v0). */
  private kafkaHeaders = false;
  private server: SaslServer | null = null;
  private mechanism = '';
  private authenticatedPrincipal: KafkaPrincipal = ANONYMOUS;
  /** Set while re-authenticating: the mechanism and principal of the session being renewed. */
  private previous: { mechanism: string; principal: KafkaPrincipal } | null = null;
  private badMechanismMessage = '';
  private sessionExpiresAtMs: number | null = null;
  private lastReauthStartMs = 0;

  constructor(private readonly options: SaslAuthenticatorOptions) {}

  get isComplete(): boolean {
    return this.state === 'COMPLETE';
  }

  /** User:<name> once authenticated; ANONYMOUS before. */
  get principal(): KafkaPrincipal {
    return this.authenticatedPrincipal;
  }

  private get reauthenticating(): boolean {
    return this.previous !== null;
  }

  /** SocketServer: a request (other than a re-authenticating handshake) on an expired session closes the connection. */
  sessionExpired(nowMs: number): boolean {
    return this.sessionExpiresAtMs !== null && nowMs > this.sessionExpiresAtMs;
  }

  /** KafkaChannel.maybeBeginServerReauthentication: true when the SaslHandshake frame must come here. */
  maybeBeginReauthentication(nowMs: number): boolean {
    if (this.state !== 'COMPLETE' || this.sessionExpiresAtMs === null) return false;
    if (this.lastReauthStartMs !== 0 && nowMs - this.lastReauthStartMs < MIN_REAUTH_INTERVAL_MS) return false;
    this.lastReauthStartMs = nowMs;
    this.previous = { mechanism: this.mechanism, principal: this.authenticatedPrincipal };
    this.state = 'HANDSHAKE';
    this.server = null;
    return true;
  }

  /** One frame while not complete. */
  async handleFrame(frame: Buffer): Promise<DispatchOutcome> {
    switch (this.state) {
      case 'HANDSHAKE_OR_VERSIONS':
      case 'HANDSHAKE':
        return this.handleHandshakePhase(frame);
      case 'AUTHENTICATE':
        return this.kafkaHeaders ? this.handleSaslAuthenticate(frame) : this.handleRawToken(frame);
      case 'REAUTH_BAD_MECHANISM':
        return this.fail(this.badMechanismMessage);
      default:
        return { kind: 'close', reason: `SASL state ${this.state}` };
    }
  }

  private fail(reason: string, header?: ParsedRequestHeader): DispatchOutcome {
    this.state = 'FAILED';
    this.options.onFailed(this.reauthenticating);
    return { kind: 'close', reason, header, quiet: true };
  }

  private handleHandshakePhase(frame: Buffer): Promise<DispatchOutcome> | DispatchOutcome {
    const reader = new Reader(frame);
    let header: ParsedRequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch {
      return this.fail('first packet is not a Kafka request (a raw SASL token before SaslHandshake?); GSSAPI is not supported');
    }
    const apiKey = header.requestApiKey;
    if (apiKey === ApiKey.ApiVersions && this.state === 'HANDSHAKE_OR_VERSIONS' && !this.reauthenticating) {
      // An ApiVersions at a version we do not support gets its UNSUPPORTED_VERSION answer and may be retried
      // (Kafka stays in HANDSHAKE_OR_VERSIONS_REQUEST then); a served one moves on to the handshake.
      const apiVersions = HANDLERS.get(ApiKey.ApiVersions)!;
      if (header.requestApiVersion >= apiVersions.minVersion && header.requestApiVersion <= apiVersions.maxVersion) this.state = 'HANDSHAKE';
      return this.options.dispatchApiVersions(frame);
    }
    if (apiKey !== ApiKey.SaslHandshake) {
      const name = API_CODECS.get(apiKey)?.name ?? `api key ${apiKey}`;
      return this.fail(`Unexpected Kafka request of type ${name} during SASL handshake.`, header);
    }
    const handler = HANDLERS.get(ApiKey.SaslHandshake)!;
    const version = header.requestApiVersion;
    if (version < handler.minVersion || version > handler.maxVersion) return this.fail(`SaslHandshake v${version} is not supported`, header);
    let request: SaslHandshakeRequest;
    try {
      request = API_CODECS.get(ApiKey.SaslHandshake)!.readRequest(reader, version) as SaslHandshakeRequest;
    } catch (err) {
      return this.fail(`undecodable SaslHandshake: ${(err as Error).message}`, header);
    }
    const mechanism = request.mechanism;
    const enabled = this.options.enabledMechanisms;
    const response: SaslHandshakeResponse = { errorCode: ErrorCode.NONE, mechanisms: [...enabled] };
    if (!enabled.includes(mechanism)) {
      response.errorCode = ErrorCode.UNSUPPORTED_SASL_MECHANISM;
      this.state = 'FAILED';
      this.options.onFailed(this.reauthenticating);
      this.options.logger.info({ mechanism, enabledMechanisms: enabled }, `Unsupported SASL mechanism ${mechanism}; closing connection`);
      return { kind: 'respond', buffers: encodeResponseFrame(ApiKey.SaslHandshake, version, header.correlationId, response), closeAfter: true };
    }
    this.kafkaHeaders = version >= 1;
    if (this.previous !== null && this.previous.mechanism !== mechanism) {
      this.badMechanismMessage = `SASL mechanism '${mechanism}' requested by client is not supported for re-authentication of mechanism '${this.previous.mechanism}'`;
      this.state = 'REAUTH_BAD_MECHANISM';
    } else {
      this.mechanism = mechanism;
      this.server = createSaslServer(mechanism, this.options.credentials);
      this.state = 'AUTHENTICATE';
    }
    return { kind: 'respond', buffers: encodeResponseFrame(ApiKey.SaslHandshake, version, header.correlationId, response), closeAfter: false };
  }

  /** Kafka's message for a SaslCredentialsError (nothing about why: the user may not exist). */
  private invalidCredentialsMessage(): string {
    return `Authentication failed during ${this.reauthenticating ? 're-authentication' : 'authentication'} due to invalid credentials with SASL mechanism ${this.mechanism}`;
  }

  /** Evaluates one token; on completion checks the principal and starts the session. Throws the mechanism's errors. */
  private async evaluate(token: Buffer): Promise<{ answer: Buffer; sessionLifetimeMs: number }> {
    const server = this.server!;
    const answer = await server.evaluateResponse(token);
    if (!server.isComplete) return { answer, sessionLifetimeMs: 0 };
    const principal = userPrincipal(server.authorizationId);
    if (this.previous !== null && !samePrincipal(this.previous.principal, principal)) {
      const p = this.previous.principal;
      throw new SaslAuthenticationError(`Cannot change principals during re-authentication from ${p.principalType}.${p.name}: ${principal.principalType}.${principal.name}`);
    }
    const lifetimeMs = this.options.connectionsMaxReauthMs > 0 ? this.options.connectionsMaxReauthMs : 0;
    this.sessionExpiresAtMs = lifetimeMs > 0 ? Date.now() + lifetimeMs : null;
    const reauthentication = this.reauthenticating;
    this.authenticatedPrincipal = principal;
    this.previous = null;
    this.server = null;
    this.state = 'COMPLETE';
    this.options.onAuthenticated(reauthentication);
    if (this.options.logger.isLevelEnabled('debug')) {
      this.options.logger.debug({ principal: principalToString(principal), mechanism: this.mechanism, sessionLifetimeMs: lifetimeMs, reauthentication }, 'SASL authentication complete');
    }
    return { answer, sessionLifetimeMs: lifetimeMs };
  }

  /** The client-facing message of a mechanism failure, logging the real reason. */
  private failureMessage(err: unknown): string {
    if (err instanceof SaslAuthenticationError) {
      this.options.logger.info({ mechanism: this.mechanism, reason: err.message }, 'failed authentication');
      return err.message;
    }
    if (err instanceof SaslCredentialsError) {
      this.options.logger.info({ mechanism: this.mechanism, reason: err.message }, 'failed authentication');
      return this.invalidCredentialsMessage();
    }
    throw err;
  }

  private async handleRawToken(frame: Buffer): Promise<DispatchOutcome> {
    try {
      const { answer } = await this.evaluate(frame);
      const sized = Buffer.allocUnsafe(4);
      sized.writeInt32BE(answer.length, 0);
      return { kind: 'respond', buffers: [sized, answer], closeAfter: false };
    } catch (err) {
      return this.fail(this.failureMessage(err));
    }
  }

  private async handleSaslAuthenticate(frame: Buffer): Promise<DispatchOutcome> {
    const reader = new Reader(frame);
    let header: ParsedRequestHeader;
    try {
      header = readRequestHeader(reader);
    } catch (err) {
      return this.fail(`undecodable request header during SASL authentication: ${(err as Error).message}`);
    }
    const apiKey = header.requestApiKey;
    const version = header.requestApiVersion;
    const codec = API_CODECS.get(apiKey);
    const handler = HANDLERS.get(apiKey);
    if (codec === undefined || handler === undefined || version < codec.minVersion || version > codec.maxVersion) {
      return this.fail(`unsupported request (api key ${apiKey} v${version}) during SASL authentication`, header);
    }
    let request: unknown;
    try {
      request = codec.readRequest(reader, version);
    } catch (err) {
      return this.fail(`undecodable ${codec.name} v${version} during SASL authentication: ${(err as Error).message}`, header);
    }
    if (apiKey !== ApiKey.SaslAuthenticate) {
      // Kafka answers the request with ILLEGAL_SASL_STATE (its getErrorResponse), then closes.
      this.state = 'FAILED';
      this.options.onFailed(this.reauthenticating);
      this.options.logger.info({ api: codec.name }, `Unexpected Kafka request of type ${codec.name} during SASL authentication; closing connection`);
      const body = handler.errorResponse(request, ErrorCode.ILLEGAL_SASL_STATE, version);
      return { kind: 'respond', buffers: encodeResponseFrame(apiKey, version, header.correlationId, body), closeAfter: true };
    }
    if (version < handler.minVersion || version > handler.maxVersion) return this.fail(`SaslAuthenticate v${version} is not supported`, header);
    const token = (request as SaslAuthenticateRequest).authBytes;
    const response: SaslAuthenticateResponse = { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0n };
    let closeAfter = false;
    try {
      const { answer, sessionLifetimeMs } = await this.evaluate(token);
      response.authBytes = answer;
      response.sessionLifetimeMs = BigInt(sessionLifetimeMs);
    } catch (err) {
      response.errorCode = ErrorCode.SASL_AUTHENTICATION_FAILED;
      response.errorMessage = this.failureMessage(err);
      this.state = 'FAILED';
      this.options.onFailed(this.reauthenticating);
      closeAfter = true;
    }
    return { kind: 'respond', buffers: encodeResponseFrame(apiKey, version, header.correlationId, response), closeAfter };
  }
}
