// SaslAuthenticate (key 36), versions 0–2.
// - Before authentication on a SASL listener, SaslAuthenticate carries the mechanism's tokens and is answered by
//   the connection's SaslAuthenticator (server/sasl-authenticator.ts): NONE with the server token, and from v1
//   session_lifetime_ms once complete (KIP-368: connections.max.reauth.ms, 0 when sessions never expire); a
//   failure answers SASL_AUTHENTICATION_FAILED with Kafka's message and closes the connection (KIP-152).
// - Requests that reach the ordinary pipeline (any listener after authentication, PLAINTEXT and SSL listeners)
//   are answered as KafkaApis.handleSaslAuthenticateRequest does: ILLEGAL_SASL_STATE, "SaslAuthenticate request
//   received after successful authentication".
// - Version notes: v1 adds session_lifetime_ms (KIP-368); v2 is the flexible version.
import { ApiKey } from '../protocol/generated/index.js';
import { makeSaslAuthenticateResponse, type SaslAuthenticateRequest, type SaslAuthenticateResponse } from '../protocol/generated/sasl-authenticate.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './types.js';

export const saslAuthenticateHandler: ApiHandler<SaslAuthenticateRequest, SaslAuthenticateResponse> = {
  apiKey: ApiKey.SaslAuthenticate,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  handle() {
    const res = makeSaslAuthenticateResponse();
    res.errorCode = ErrorCode.ILLEGAL_SASL_STATE;
    res.errorMessage = 'SaslAuthenticate request received after successful authentication';
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeSaslAuthenticateResponse();
    res.errorCode = errorCode;
    res.errorMessage = null;
    return res;
  },
};
