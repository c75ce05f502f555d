// Who a connection is: Kafka's KafkaPrincipal (type + name) and the default principal builder's rules
// (DefaultKafkaPrincipalBuilder.build):
//
//   listener security protocol   principal
//   PLAINTEXT                    User:ANONYMOUS
//   SSL                          User:<the client certificate's subject DN, RFC 2253>, or User:ANONYMOUS when the
//                                client sent no certificate (ssl.client.auth=none|requested)
//   SASL_PLAINTEXT, SASL_SSL     User:<the SASL authorization id> (the user name PLAIN or SCRAM authenticated)
//
// The principal sits on every RequestContext (ctx.principal), so an authorizer can be added later as one call per
// handler: authorize(ctx, operation, resource) reads ctx.principal and ctx.clientAddress, nothing else.
//
// The DN string follows javax.security.auth.x500.X500Principal.getName(RFC2253), which Kafka's builder uses: the
// RDNs in reverse order of the certificate's sequence (most specific first), joined by ',', multi-valued RDNs
// joined by '+', values escaped as RFC 2253 says. OpenSSL (through node:crypto's X509Certificate.subject) already
// escapes values the RFC 2253 way and lists the RDNs in certificate order, one per line; the keywords RFC 2253 and
// Java know (CN, L, ST, O, OU, C, STREET, DC, UID) come out the same. Deliberate difference: an attribute Java has
// no keyword for is printed by Java as its OID with a '#'-hex DER value (e.g. emailAddress); here it keeps
// OpenSSL's short name and string value (emailAddress=a@b).
import type { X509Certificate } from 'node:crypto';

export interface KafkaPrincipal {
  /** "User" for every principal the default builder makes. */
  readonly principalType: string;
  readonly name: string;
}

export const USER_TYPE = 'User';

/** KafkaPrincipal.ANONYMOUS: PLAINTEXT connections, and TLS connections without a client certificate. */
export const ANONYMOUS: KafkaPrincipal = Object.freeze({ principalType: USER_TYPE, name: 'ANONYMOUS' });

export function userPrincipal(name: string): KafkaPrincipal {
  return { principalType: USER_TYPE, name };
}

/** "User:alice", as Kafka prints principals (KafkaPrincipal.toString) and ACLs name them. */
export function principalToString(principal: KafkaPrincipal): string {
  return `${principal.principalType}:${principal.name}`;
}

export function samePrincipal(a: KafkaPrincipal, b: KafkaPrincipal): boolean {
  return a.principalType === b.principalType && a.name === b.name;
}

/**
 * The RFC 2253 form of a certificate subject as node:crypto prints it (X509Certificate.subject: one RDN per line,
 * certificate order, multi-valued RDNs as "A=x + B=y", values already RFC 2253-escaped).
 */
export function rfc2253FromOpenSslSubject(subject: string): string {
  const rdns = subject
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .map((line) => line.split(' + ').join('+'));
  return rdns.reverse().join(',');
}

/** The principal of a TLS client from its verified certificate; ANONYMOUS when it sent none. */
export function tlsClientPrincipal(certificate: X509Certificate | undefined): KafkaPrincipal {
  if (certificate === undefined) return ANONYMOUS;
  return userPrincipal(rfc2253FromOpenSslSubject(certificate.subject));
}
