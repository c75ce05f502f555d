// What the broker's start needs for its listeners, from the config: the listener list, the TLS material (PEM files
// read once at start), the SCRAM credential store with the `--sasl-user` users in it, the SASL settings, and the
// rule that picks the endpoint each listener advertises.
//
//   advertised endpoint of listener L     from
//   named in advertisedListeners          that host; its port, or L's bound port when it is 0
//   the first listener, otherwise         advertisedHost / advertisedPort when given (the options from before
//                                         listeners existed), else as below
//   otherwise                             L's bind host (127.0.0.1 for a wildcard 0.0.0.0 / ::) and bound port
//
// ssl.client.auth (required or requested) without an ssl CA file: as in Kafka (DefaultSslEngineFactory trusts the
// JVM's default CA certificates when there is no truststore) the broker starts, trusting Node's bundled public
// roots, and logs a warning at start.
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { brokerListeners, enabledSaslMechanisms, type BrokerConfig } from '../metadata/broker-config.js';
import { CredentialStore, bootstrapSaslUsers } from '../auth/index.js';
import { parseAdvertisedListeners, usesSasl, usesTls, type EndpointSpec, type ListenerSpec } from './listeners.js';
import type { BoundListener, ServerTlsOptions } from './server.js';
import type { ConnectionSaslOptions } from './connection.js';

export interface ListenerSecurity {
  listeners: ListenerSpec[];
  tls: ServerTlsOptions | undefined;
  sasl: ConnectionSaslOptions | undefined;
  credentials: CredentialStore;
}

async function readPem(option: string, file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new BrokerError('TLS', `Cannot read ${option} ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function prepareListenerSecurity(config: BrokerConfig, dataDir: string, logger: Logger): Promise<ListenerSecurity> {
  const listeners = brokerListeners(config);
  let tls: ServerTlsOptions | undefined;
  if (listeners.some((l) => usesTls(l.securityProtocol))) {
    tls = {
      cert: await readPem('sslCertFile', config.sslCertFile!),
      key: await readPem('sslKeyFile', config.sslKeyFile!),
      ca: config.sslCaFile === undefined ? undefined : await readPem('sslCaFile', config.sslCaFile),
      clientAuth: config.sslClientAuth,
    };
    if (config.sslClientAuth !== 'none' && config.sslCaFile === undefined) {
      // Kafka starts in this case too (DefaultSslEngineFactory: no truststore → the JVM's default CA certificates).
      logger.warn(
        { sslClientAuth: config.sslClientAuth, listeners: listeners.filter((l) => usesTls(l.securityProtocol)).map((l) => l.name) },
        'ssl.client.auth is on without an ssl CA file: any client certificate that chains to one of Node\'s bundled public root CAs is accepted, and its subject becomes the principal; give --ssl-ca-file to trust only your CA',
      );
    }
  }
  const credentials = await CredentialStore.open({ dataDir, logger });
  const mechanisms = enabledSaslMechanisms(config);
  await bootstrapSaslUsers(credentials, config.saslUser, mechanisms, logger);
  const sasl = listeners.some((l) => usesSasl(l.securityProtocol))
    ? { enabledMechanisms: mechanisms, credentials, connectionsMaxReauthMs: config.connectionsMaxReauthMs, maxReceiveBytes: config.saslServerMaxReceiveSize }
    : undefined;
  return { listeners, tls, sasl, credentials };
}

/** advertisedEndpoint(listenerName) of BrokerServices: the table at the top of this file. */
export function makeAdvertisedEndpoints(config: BrokerConfig, bound: () => readonly BoundListener[]): (listenerName?: string) => { host: string; port: number } {
  const advertised: EndpointSpec[] = config.advertisedListeners === undefined ? [] : parseAdvertisedListeners(config.advertisedListeners, brokerListeners(config));
  return (listenerName) => {
    const all = bound();
    const listener = (listenerName === undefined ? undefined : all.find((l) => l.name === listenerName)) ?? all[0];
    if (listener === undefined) return { host: config.advertisedHost ?? config.host, port: config.advertisedPort ?? config.port };
    const explicit = advertised.find((a) => a.name === listener.name);
    if (explicit !== undefined) return { host: explicit.host, port: explicit.port === 0 ? listener.port : explicit.port };
    const bindHost = listener.bindHost === '0.0.0.0' || listener.bindHost === '::' ? '127.0.0.1' : listener.bindHost;
    if (listener === all[0]) return { host: config.advertisedHost ?? bindHost, port: config.advertisedPort ?? listener.port };
    return { host: bindHost, port: listener.port };
  };
}
