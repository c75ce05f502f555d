// How a client connection is secured, in Kafka's client terms (security.protocol, sasl.mechanism, ssl.*):
//
//   security.protocol   socket           then, after ApiVersions
//   PLAINTEXT           TCP              -
//   SSL                 TLS              -
//   SASL_PLAINTEXT      TCP              SaslHandshake v1 + SaslAuthenticate (sasl.ts), re-authenticated (KIP-368)
//   SASL_SSL            TLS              the same
//
// TLS material is PEM bytes (the CLI reads the files): `ca` replaces Node's bundled roots when given (as a
// truststore replaces the JVM's), `cert`+`key` (or a PKCS#12 `pfx`) is the client certificate for mTLS. The
// broker's certificate is always verified; `verifyHostname: false` is ssl.endpoint.identification.algorithm=""
// (the chain is still checked, the name in it is not).
import type { SaslCredentials } from './sasl.js';

export type ClientSecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export const CLIENT_SECURITY_PROTOCOLS: readonly ClientSecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export interface ClientTlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  pfx?: Buffer;
  /** Of the key or the PKCS#12 file. */
  passphrase?: string;
  /** Check the broker's name against its certificate (Kafka's default, ssl.endpoint.identification.algorithm=https). */
  verifyHostname?: boolean;
}

export interface ClientSecurity {
  protocol: ClientSecurityProtocol;
  /** Required for SASL_PLAINTEXT and SASL_SSL. */
  sasl?: SaslCredentials;
  tls?: ClientTlsOptions;
}

export function securityUsesTls(protocol: ClientSecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function securityUsesSasl(protocol: ClientSecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}
