// How a broker connects to the other brokers of its cluster (Kafka's inter-broker channel): to their endpoint of the
// inter-broker listener (inter.broker.listener.name, resolved and checked by broker-config.ts interBrokerListener),
// secured as that listener is:
//
//   listener protocol   the connection
//   PLAINTEXT           TCP
//   SSL                 TLS: trusts the broker's ssl CA file (Node's bundled roots without one, as Kafka trusts the
//                       JVM's), presents the broker's own certificate and key (mTLS when peers require it), checks
//                       the peer's host name unless ssl.endpoint.identification.algorithm is empty
//   SASL_PLAINTEXT      TCP + SASL with sasl.mechanism.inter.broker.protocol as the interBrokerSaslUser
//   SASL_SSL            both
//
// Every inter-broker connection uses it: the replica fetchers (replica-fetcher.ts) and the broker-to-broker
// requests (broker-connections.ts: transaction markers, the transactions-v2 coordinator client). A peer without an
// endpoint of that listener is not reached at all (Kafka: BrokerEndPointNotAvailableException), never on another.
import type { ClientSecurity } from '../client/security.js';
import type { SaslMechanismName } from '../client/sasl.js';
import { interBrokerListener, type BrokerConfig } from '../metadata/broker-config.js';
import { usesTls } from '../server/listeners.js';
import type { ServerTlsOptions } from '../server/server.js';

export interface InterBrokerChannel {
  /** The listener name whose endpoint is used on every peer. */
  listenerName: string;
  /** How connections are secured; undefined for PLAINTEXT. */
  security: ClientSecurity | undefined;
}

/** The channel from the config and the TLS material the broker read at start (its listeners' certificate). */
export function interBrokerChannel(config: BrokerConfig, tls: ServerTlsOptions | undefined): InterBrokerChannel {
  const listener = interBrokerListener(config);
  if (listener.securityProtocol === 'PLAINTEXT') return { listenerName: listener.name, security: undefined };
  const security: ClientSecurity = { protocol: listener.securityProtocol };
  if (usesTls(listener.securityProtocol)) {
    // interBrokerListener() found a TLS listener, so the broker has a certificate (checked with the listeners).
    security.tls = { ca: tls?.ca, cert: tls?.cert, key: tls?.key, verifyHostname: config.sslEndpointIdentificationAlgorithm !== '' };
  }
  if (listener.sasl !== undefined) {
    security.sasl = { mechanism: listener.sasl.mechanism as SaslMechanismName, username: listener.sasl.username, password: listener.sasl.password };
  }
  return { listenerName: listener.name, security };
}

/**
 * Why the inter-broker listener's advertised endpoint only works on this host, or undefined. A listener bound to
 * every interface advertises 127.0.0.1 unless advertised.listeners names it (server/security-setup.ts): brokers on
 * other hosts would then connect to themselves. Kafka refuses a wildcard in advertised.listeners and otherwise
 * advertises the canonical host name; here the broker still starts (one-host clusters: tests, `eddy dev cluster`)
 * and logs this at warn.
 */
export function localInterBrokerEndpoint(
  bound: ReadonlyArray<{ name: string; bindHost: string }>,
  advertised: ReadonlyArray<{ name: string; host: string }>,
  interBrokerListenerName: string,
): string | undefined {
  const listener = bound.find((l) => l.name === interBrokerListenerName);
  const endpoint = advertised.find((e) => e.name === interBrokerListenerName);
  if (listener === undefined || endpoint === undefined) return undefined;
  const wildcard = listener.bindHost === '0.0.0.0' || listener.bindHost === '::' || listener.bindHost === '';
  if (!wildcard || (endpoint.host !== '127.0.0.1' && endpoint.host !== '::1')) return undefined;
  return `the inter-broker listener ${interBrokerListenerName} binds every interface but advertises ${endpoint.host}: brokers on other hosts cannot reach this one; name it in --advertised-listeners (${interBrokerListenerName}://<host>:<port>)`;
}
