// The two ways a SASL mechanism fails, as Kafka separates them (SaslServerAuthenticator.handleSaslToken):
//
//   error                       Kafka's type                    what the client is told
//   SaslAuthenticationError     SaslAuthenticationException     its own message (written to be safe to show)
//   SaslCredentialsError        SaslException                   only "Authentication failed during authentication
//                                                               due to invalid credentials with SASL mechanism M",
//                                                               so nothing leaks (e.g. whether the user exists);
//                                                               the real reason is logged at debug
//
// Either one ends the exchange: the broker answers SASL_AUTHENTICATION_FAILED (SaslAuthenticate) or nothing (raw
// v0 tokens) and closes the connection.
export class SaslAuthenticationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslAuthenticationError';
  }
}

export class SaslCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SaslCredentialsError';
  }
}

/** A running mechanism exchange on one connection (javax.security.sasl.SaslServer's part that Kafka uses). */
export interface SaslServer {
  readonly mechanism: string;
  /** Evaluates one client token; resolves with the server's answer token (empty when there is none). */
  evaluateResponse(token: Buffer): Promise<Buffer>;
  readonly isComplete: boolean;
  /** The authenticated user name; valid once complete. */
  readonly authorizationId: string;
}
