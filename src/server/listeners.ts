// Listener configuration, as Kafka spells it (SocketServerConfigs, CoreUtils.listenerListToEndPoints, ListenerName):
//
//   listeners                          NAME://host:port[,NAME://host:port…]   e.g.
//                                      SASL_SSL://127.0.0.1:9093,PLAINTEXT://127.0.0.1:9092
//   listener.security.protocol.map     NAME:PROTOCOL[,…], default PLAINTEXT:PLAINTEXT,SSL:SSL,
//                                      SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL (Kafka's default)
//   advertised.listeners               NAME://host:port for some of the listeners; the rest advertise what they bind
//
// Rules (Kafka's): names are case-insensitive and compared upper-cased (ListenerName.normalised); each name must be
// in the protocol map ("No security protocol defined for listener"), and appear once; two listeners may not share
// a non-zero port; an empty host binds every interface (Kafka binds 0.0.0.0); an IPv6 host is written in brackets.
// Port 0 picks a free port (tests). An advertised listener must name a listener, and its port 0 means "the bound
// port". Protocols: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL.
//
// These parsers are pure and throw plain Errors whose message says what was expected; broker-config.ts turns them
// into InvalidConfigError for the option.
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';

export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export const DEFAULT_LISTENER_SECURITY_PROTOCOL_MAP = 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL';

export interface ListenerSpec {
  /** The listener name, upper-cased. */
  readonly name: string;
  readonly securityProtocol: SecurityProtocol;
  /** Bind host ('' in the option is 0.0.0.0 here). */
  readonly host: string;
  readonly port: number;
}

export interface EndpointSpec {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL';
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
}

export function parseSecurityProtocolMap(value: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim().toUpperCase() : '';
    const protocol = colon > 0 ? entry.slice(colon + 1).trim().toUpperCase() : '';
    if (name === '' || !/^[A-Z0-9_.-]+$/.test(name)) throw new Error(`NAME:PROTOCOL entries; "${entry}" has no valid listener name`);
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(protocol)) {
      throw new Error(`NAME:PROTOCOL entries with PROTOCOL one of ${SECURITY_PROTOCOLS.join(', ')}; "${entry}" is not`);
    }
    if (map.has(name)) throw new Error(`each listener name once; ${name} is mapped twice`);
    map.set(name, protocol as SecurityProtocol);
  }
  return map;
}

const ENDPOINT = /^([A-Za-z0-9_.-]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^:/\s]*):(\d+)$/;

export function parseEndpoints(value: string): EndpointSpec[] {
  const endpoints: EndpointSpec[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const match = ENDPOINT.exec(entry);
    if (match === null) throw new Error(`NAME://host:port entries; "${entry}" is not one`);
    const port = Number(match[3]);
    if (port > 65535) throw new Error(`ports in [0, 65535]; "${entry}" is not`);
    const host = match[2]!.startsWith('[') ? match[2]!.slice(1, -1) : match[2]!;
    endpoints.push({ name: match[1]!.toUpperCase(), host, port });
  }
  if (endpoints.length === 0) throw new Error('at least one NAME://host:port');
  const names = new Set<string>();
  for (const e of endpoints) {
    if (names.has(e.name)) throw new Error(`each listener name once; ${e.name} appears twice`);
    names.add(e.name);
  }
  return endpoints;
}

/** `listeners` with the protocol map applied; errors name what is wrong. */
export function parseListeners(listeners: string, protocolMap: string): ListenerSpec[] {
  const map = parseSecurityProtocolMap(protocolMap);
  const specs = parseEndpoints(listeners).map((e) => {
    const securityProtocol = map.get(e.name);
    if (securityProtocol === undefined) throw new Error(`listener names defined in listenerSecurityProtocolMap; no security protocol defined for listener ${e.name}`);
    return { name: e.name, securityProtocol, host: e.host === '' ? '0.0.0.0' : e.host, port: e.port };
  });
  const ports = new Set<number>();
  for (const s of specs) {
    if (s.port === 0) continue;
    if (ports.has(s.port)) throw new Error(`a different port for each listener; ${s.port} is used twice`);
    ports.add(s.port);
  }
  return specs;
}

/** `advertised.listeners`: each must name one of `listeners`. */
export function parseAdvertisedListeners(value: string, listeners: readonly ListenerSpec[]): EndpointSpec[] {
  const endpoints = parseEndpoints(value);
  for (const e of endpoints) {
    if (!listeners.some((l) => l.name === e.name)) throw new Error(`names of listeners; ${e.name} is not a listener`);
    if (e.host === '') throw new Error(`a host for every advertised listener; ${e.name} has none`);
  }
  return endpoints;
}
