// SaslHandshake (key 17), versions 0–1.
// - On a SASL listener the handshake is answered by the connection's SaslAuthenticator before authentication
//   (server/sasl-authenticator.ts: mechanism choice, UNSUPPORTED_SASL_MECHANISM, v0 raw tokens vs v1
//   SaslAuthenticate, KIP-43 / KIP-152) and when it begins a re-authentication (KIP-368). This handler answers the
//   handshakes that reach the ordinary pipeline, as KafkaApis.handleSaslHandshakeRequest does: ILLEGAL_SASL_STATE
//   with no mechanisms. That is a handshake on a PLAINTEXT or SSL listener, or on an authenticated SASL connection
//   that cannot re-authenticate (connections.max.reauth.ms is 0, or its last re-authentication began less than 1 s
//   ago).
// - Advertised in ApiVersions on every listener, as Kafka does.
import { ApiKey } from '../protocol/generated/index.js';
import { makeSaslHandshakeResponse, type SaslHandshakeRequest, type SaslHandshakeResponse } from '../protocol/generated/sasl-handshake.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './types.js';

export const saslHandshakeHandler: ApiHandler<SaslHandshakeRequest, SaslHandshakeResponse> = {
  apiKey: ApiKey.SaslHandshake,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,
  handle() {
    const res = makeSaslHandshakeResponse();
    res.errorCode = ErrorCode.ILLEGAL_SASL_STATE;
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makeSaslHandshakeResponse();
    res.errorCode = errorCode;
    return res;
  },
};
