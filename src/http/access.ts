// Who may use the HTTP admin listener (index.ts applies both checks before any route):
//
// 1. The Host header (every request), against DNS rebinding: a page on attacker.example whose name is re-pointed
//    at 127.0.0.1 could otherwise read the loopback listener from the victim's browser. A request is answered only
//    when its Host (port and a trailing dot dropped, case-insensitive) is an IP literal (v4, or v6 in brackets),
//    `localhost`, or a name the broker is configured with: the HTTP bind host (--host), --advertised-host, and the
//    hosts of --listeners and --advertised-listeners. Anything else answers 403 HOST_NOT_ALLOWED, as dev servers
//    do (webpack-dev-server's allowedHosts, Vite's server.allowedHosts). A request without Host (HTTP/1.0; Node
//    answers 400 to HTTP/1.1 without one) is answered: browsers always send it.
// 2. The /v1/ routes (the console's data and /v1/faults) when the broker runs with security on — some listener is
//    not PLAINTEXT, or --authorizer acl: the HTTP API has no authentication, so it would read (and, for faults,
//    change) what SASL, TLS and ACLs guard on the Kafka ports. They then answer 403 CONSOLE_REFUSED_BY_SECURITY,
//    saying why, unless the HTTP listener is bound to a loopback address (127.0.0.0/8, ::1, localhost): only
//    local processes reach it then. /healthz, /readyz, /metrics and the console's static files always answer.
//    While the broker's config is not known yet (the listener starts before the broker opens) a non-loopback
//    listener answers /v1/ with 503 CONSOLE_UNAVAILABLE.
import net from 'node:net';
import { brokerListeners, type BrokerConfig } from '../metadata/broker-config.js';
import { parseAdvertisedListeners } from '../server/listeners.js';

/** The parts of the broker's config the checks read. */
export type AccessConfig = Pick<BrokerConfig, 'host' | 'port' | 'advertisedHost' | 'listeners' | 'listenerSecurityProtocolMap' | 'advertisedListeners' | 'authorizer'>;

function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The host part of a Host header: `[v6]:port` → v6, `name:port` → name; undefined when it is malformed. */
export function hostOfHeader(header: string): string | undefined {
  const value = header.trim();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    const rest = value.slice(end + 1);
    if (rest !== '' && !/^:\d*$/.test(rest)) return undefined;
    return value.slice(1, end);
  }
  const colon = value.indexOf(':');
  if (colon >= 0 && value.indexOf(':', colon + 1) >= 0) return value; // a bare IPv6 literal (not valid HTTP, but unambiguous)
  const host = colon < 0 ? value : value.slice(0, colon);
  if (colon >= 0 && !/^\d*$/.test(value.slice(colon + 1))) return undefined;
  return host === '' ? undefined : host;
}

/** True for 127.0.0.0/8, ::1, an IPv4-mapped loopback and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = normalizeName(host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/** The configured names a Host header may carry besides IP literals and localhost (lower-cased). */
export function configuredHostNames(bindHost: string, config: AccessConfig | undefined): Set<string> {
  const names = new Set<string>([normalizeName(bindHost)]);
  if (config === undefined) return names;
  names.add(normalizeName(config.host));
  if (config.advertisedHost !== undefined) names.add(normalizeName(config.advertisedHost));
  try {
    const listeners = brokerListeners(config);
    for (const l of listeners) names.add(normalizeName(l.host));
    if (config.advertisedListeners !== undefined) for (const e of parseAdvertisedListeners(config.advertisedListeners, listeners)) names.add(normalizeName(e.host));
  } catch {
    // Validated when the broker opened; a config that does not parse adds no names.
  }
  names.delete('');
  return names;
}

/** True when a request with this Host header (undefined: none sent) may be answered. */
export function hostAllowed(header: string | undefined, names: ReadonlySet<string>): boolean {
  if (header === undefined) return true;
  const host = hostOfHeader(header);
  if (host === undefined) return false;
  if (net.isIP(host) !== 0) return true;
  const name = normalizeName(host);
  return name === 'localhost' || names.has(name);
}

/** Why the broker counts as secured (for the 403 message), or undefined when it does not. */
export function securityReason(config: AccessConfig): string | undefined {
  const reasons: string[] = [];
  let secured: string[] = [];
  try {
    secured = brokerListeners(config)
      .filter((l) => l.securityProtocol !== 'PLAINTEXT')
      .map((l) => (l.name === l.securityProtocol ? l.name : `${l.name} (${l.securityProtocol})`));
  } catch {
    secured = ['(listeners that do not parse)'];
  }
  if (secured.length > 0) reasons.push(`listener${secured.length > 1 ? 's' : ''} ${secured.join(', ')}`);
  if (config.authorizer === 'acl') reasons.push('authorizer acl');
  return reasons.length === 0 ? undefined : reasons.join(' and ');
}
