// Connection limits (Kafka's ConnectionQuotas in SocketServer.scala): `max.connections` for the broker and
// `max.connections.per.ip`, with per-address overrides in `max.connections.per.ip.overrides`.
//
//   a new connection from address A                 Kafka (3.9)                         Eddy
//   open connections >= max.connections             the acceptor waits for a free slot  closed at once, counted
//                                                   (waitForConnectionSlot); the peer
//                                                   waits in the listen backlog
//   open connections from A >= A's limit            closed at once                      closed at once, counted
//   (the override for A, else max.connections.per.ip)(TooManyConnectionsException, info)
//   otherwise                                       counted against both limits until it closes
//
// Deliberate difference: Node cannot stop accepting without closing its listening socket, so a connection over
// max.connections is closed instead of left waiting in the backlog; to the client it looks like a broker that went
// away, and clients reconnect with backoff. Refusals are logged at warn, at most once per REFUSAL_LOG_INTERVAL_MS
// with the number refused since the previous line, so a connection flood cannot become a log flood.
//
// Overrides name addresses or host names; host names are resolved once at startup (Kafka resolves them with
// InetAddress.getByName when the config is read). Addresses are compared in their canonical form, IPv4-mapped IPv6
// (`::ffff:10.0.0.1`, seen on a dual-stack listener) as the IPv4 address.
import dns from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import type { ServerCounters } from './server-stats.js';

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export type RefusalReason = 'max.connections' | 'max.connections.per.ip';

/** `::ffff:a.b.c.d` → `a.b.c.d`; anything else unchanged. */
export function canonicalAddress(address: string): string {
  return address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** Resolves the override hosts to addresses (each address of a host name gets its count). */
export async function resolveOverrides(overrides: ReadonlyMap<string, number>): Promise<Map<string, number>> {
  const resolved = new Map<string, number>();
  for (const [host, count] of overrides) {
    if (net.isIP(host) !== 0) {
      resolved.set(canonicalAddress(host), count);
      continue;
    }
    let addresses: Array<{ address: string }>;
    try {
      addresses = await dns.lookup(host, { all: true });
    } catch (err) {
      throw new BrokerError('INVALID_CONFIG', `Cannot resolve ${host} in maxConnectionsPerIpOverrides: ${(err as Error).message}`, { cause: err });
    }
    for (const { address } of addresses) resolved.set(canonicalAddress(address), count);
  }
  return resolved;
}

export class ConnectionQuotas {
  private readonly counts = new Map<string, number>();
  private total = 0;
  private refusedSinceLog = 0;
  private lastLogMs = -Infinity;

  constructor(
    private readonly maxConnections: number,
    private readonly maxConnectionsPerIp: number,
    private readonly overrides: ReadonlyMap<string, number>,
    private readonly counters: ServerCounters,
    private readonly logger: Logger,
  ) {}

  get openConnections(): number {
    return this.total;
  }

  /** Counts a new connection from `address`, or returns why it is refused (and counts and logs the refusal). */
  tryAcquire(address: string): RefusalReason | null {
    const count = this.counts.get(address) ?? 0;
    let reason: RefusalReason | null = null;
    let limit = 0;
    if (this.total >= this.maxConnections) {
      reason = 'max.connections';
      limit = this.maxConnections;
      this.counters.connectionsRefusedMaxConnections++;
    } else {
      limit = this.overrides.get(address) ?? this.maxConnectionsPerIp;
      if (count >= limit) {
        reason = 'max.connections.per.ip';
        this.counters.connectionsRefusedPerIp++;
      }
    }
    if (reason !== null) {
      this.logRefusal(address, reason, limit);
      return reason;
    }
    this.counts.set(address, count + 1);
    this.total++;
    return null;
  }

  release(address: string): void {
    const count = this.counts.get(address) ?? 0;
    if (count <= 1) this.counts.delete(address);
    else this.counts.set(address, count - 1);
    this.total--;
  }

  private logRefusal(address: string, reason: RefusalReason, limit: number): void {
    this.refusedSinceLog++;
    const now = Date.now();
    if (now - this.lastLogMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.logger.warn(
      { remoteAddress: address, reason, limit, refusedSinceLastLog: this.refusedSinceLog, openConnections: this.total },
      `connection refused: ${reason} reached; closing it`,
    );
    this.lastLogMs = now;
    this.refusedSinceLog = 0;
  }
}
