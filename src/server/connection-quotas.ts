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
// Overrides name addresses or host names; host names are resolved at startup (Kafka resolves them with
// InetAddress.getByName when the config is read). Addresses are compared in their canonical form, IPv4-mapped IPv6
// (`::ffff:10.0.0.1`, seen on a dual-stack listener) as the IPv4 address.
//
// Dynamic limits (Kafka's SocketServer.reconfigure → ConnectionQuotas.updateMaxConnectionsPerIp,
// updateMaxConnectionsPerIpOverride, updateBrokerMaxConnections): given the live BrokerConfig (`live`), which
// AlterConfigs / IncrementalAlterConfigs update in place (metadata/dynamic-broker-config.ts), each new connection is
// checked against the limits in force at that moment. A lowered max.connections.per.ip (or override) closes nothing:
// connections already open stay open and keep their slots; only new connections beyond it are refused, and a raised
// limit admits them at once. A lowered broker-wide max.connections also refuses new connections, and the server
// closes the least recently used client connections beyond it, as Kafka's processors do on each poll
// (server.ts closeExcessConnections). New overrides that name only addresses apply at once; ones naming a host name
// apply once it is resolved (the previous overrides stay in force until then; a name that does not resolve keeps
// them, logged at error, as Kafka's reconfigure fails on its UnknownHostException).
//
// Connection-creation rates (KIP-612; ConnectionQuotas.waitForConnectionSlot / recordIpConnectionMaybeThrottle;
// max.connection.creation.rate is dynamic, read from the live config at each new connection),
// ConnectionCreationQuotas below, measured with the client quotas' sampled rate (quota/sampled-rate.ts,
// quota.window.num × quota.window.size.seconds) and throttle times capped at one window, as Kafka's:
//
//   a new connection                                Kafka (3.9)                         Eddy
//   over max.connection.creation.rate (broker)      the acceptor waits the throttle     admitted after the throttle
//                                                   time before accepting it, and so    time, in arrival order: its
//                                                   does every connection behind it     socket is not read until then
//   over its IP's connection_creation_rate          accepted, closed after the          the same (and it no longer
//   (AlterClientQuotas ip=<ip>, else ip=<default>)  throttle time (DelayedCloseSocket); counts against the broker rate)
//                                                   unrecorded from the broker rate
//
// Connections beyond the rate are delayed, never refused at once. Deliberate difference: the TCP connection is
// accepted at once (Node cannot leave it in the backlog) and, on a TLS listener, the delay starts after the
// handshake; the client sees its first response late, as it would with Kafka.
import dns from 'node:dns/promises';
import net from 'node:net';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import { brokerListeners, interBrokerListener, parseMaxConnectionsPerIpOverrides, type BrokerConfig } from '../metadata/broker-config.js';
import type { ServerCounters } from './server-stats.js';
import type { BrokerServices } from '../handlers/types.js';
import { SampledRate, UNLIMITED_CONNECTION_RATE, type QuotaManager, type RateWindows } from '../quota/index.js';

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

/** The connection limits as the live BrokerConfig holds them (updated in place by dynamic broker configs). */
export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** max.connections.per.ip.overrides as configured: "host:count,host:count". */
  readonly maxConnectionsPerIpOverrides: string;
}

export class ConnectionQuotas {
  private readonly counts = new Map<string, number>();
  private total = 0;
  private refusedSinceLog = 0;
  private lastLogMs = -Infinity;
  /** The `live` overrides string the current `overrides` came from (or are being resolved from). */
  private overridesSource: string | undefined;

  constructor(
    private maxConnections: number,
    private maxConnectionsPerIp: number,
    private overrides: ReadonlyMap<string, number>,
    private readonly counters: ServerCounters,
    private readonly logger: Logger,
    /** The live config: its limits are read at each new connection (see the header); without it they are fixed. */
    private readonly live?: ConnectionLimits,
  ) {
    this.overridesSource = live?.maxConnectionsPerIpOverrides;
  }

  get openConnections(): number {
    return this.total;
  }

  /** The limits in force now (tests, tools). */
  get limits(): { maxConnections: number; maxConnectionsPerIp: number; overrides: ReadonlyMap<string, number> } {
    this.refreshLimits();
    return { maxConnections: this.maxConnections, maxConnectionsPerIp: this.maxConnectionsPerIp, overrides: this.overrides };
  }

  /**
   * Takes the limits of the live config when they changed (SocketServer.reconfigure): three field comparisons per
   * new connection, and the overrides parsed only when their string changed.
   */
  private refreshLimits(): void {
    const live = this.live;
    if (live === undefined) return;
    if (live.maxConnectionsPerIp !== this.maxConnectionsPerIp) {
      this.logger.info({ maxConnectionsPerIp: live.maxConnectionsPerIp }, 'updating max.connections.per.ip');
      this.maxConnectionsPerIp = live.maxConnectionsPerIp;
    }
    if (live.maxConnections !== this.maxConnections) {
      this.logger.info({ maxConnections: live.maxConnections }, 'updating broker-wide max.connections');
      this.maxConnections = live.maxConnections;
    }
    const source = live.maxConnectionsPerIpOverrides;
    if (source !== this.overridesSource) {
      this.overridesSource = source;
      this.updateOverrides(source);
    }
  }

  private updateOverrides(source: string): void {
    let parsed: Map<string, number>;
    try {
      parsed = parseMaxConnectionsPerIpOverrides(source);
    } catch (err) {
      // Validated before it was applied (dynamic-broker-config.ts), so not expected.
      this.logger.error({ err, maxConnectionsPerIpOverrides: source }, 'max.connections.per.ip.overrides not applied');
      return;
    }
    const apply = (resolved: Map<string, number>): void => {
      if (source !== this.overridesSource) return;
      this.overrides = resolved;
      this.logger.info({ maxConnectionsPerIpOverrides: Object.fromEntries(resolved) }, 'updating max.connections.per.ip.overrides');
    };
    if ([...parsed.keys()].every((host) => net.isIP(host) !== 0)) {
      const resolved = new Map<string, number>();
      for (const [host, count] of parsed) resolved.set(canonicalAddress(host), count);
      apply(resolved);
      return;
    }
    resolveOverrides(parsed).then(apply, (err: unknown) => {
      this.logger.error({ err, maxConnectionsPerIpOverrides: source }, 'max.connections.per.ip.overrides not applied: a host name does not resolve; the previous overrides stay');
    });
  }

  /**
   * Counts a new connection from `address`, or returns why it is refused (and counts and logs the refusal). A
   * connection on the protected (inter-broker) listener is not held to max.connections, only to its address's
   * limit, as Kafka's ConnectionQuotas.protectedListener: brokers still reach each other when clients fill the
   * broker (Kafka then closes a client connection to make room; here the broker is over its limit until clients
   * leave).
   */
  tryAcquire(address: string, protectedListener = false): RefusalReason | null {
    this.refreshLimits();
    const count = this.counts.get(address) ?? 0;
    let reason: RefusalReason | null = null;
    let limit = 0;
    if (this.total >= this.maxConnections && !protectedListener) {
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

/** What happens to a new connection once the connection-creation rates have had their say. */
export type AdmissionDecision = 'admit' | 'close';

const IP_RATE_EXPIRATION_MS = 3_600_000;

const creationQuotas = new WeakMap<BrokerServices, ConnectionCreationQuotas>();

/**
 * The listener exempt from the broker-wide limits (max.connections, max.connection.creation.rate): the
 * inter-broker listener when the broker has more than one (Kafka's ConnectionQuotas.protectedListener); undefined
 * otherwise, or when the config names no usable inter-broker listener (a single broker without a PLAINTEXT one).
 */
export function protectedListenerName(config: BrokerConfig): string | undefined {
  try {
    return brokerListeners(config).length > 1 ? interBrokerListener(config).name : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The broker's one ConnectionCreationQuotas, made on first use from its config and quotas. (Kept beside the broker
 * services rather than in them so that handlers/types.ts needs nothing from server/.)
 */
export function connectionCreationQuotasOf(broker: BrokerServices): ConnectionCreationQuotas {
  let q = creationQuotas.get(broker);
  if (q === undefined) {
    q = new ConnectionCreationQuotas(broker.config, broker.quotas, broker.quotas.windows, broker.logger, protectedListenerName(broker.config));
    creationQuotas.set(broker, q);
  }
  return q;
}

interface PendingAdmission {
  address: string;
  done: (decision: AdmissionDecision) => void;
}

export class ConnectionCreationQuotas {
  private readonly brokerRate: SampledRate;
  private readonly ipRates = new Map<string, SampledRate>();
  private readonly pending: PendingAdmission[] = [];
  /** The broker-wide wait in progress (Kafka's acceptor blocked in waitForConnectionSlot). */
  private waitTimer: NodeJS.Timeout | null = null;
  private lastSweepMs = 0;

  constructor(
    /**
     * The live config's max.connection.creation.rate (2147483647: unlimited), read at each new connection, so a
     * dynamic change (AlterConfigs) applies to the next one, as Kafka's updateBrokerMaxConnectionRate.
     */
    private readonly live: { readonly maxConnectionCreationRate: number },
    private readonly quotas: QuotaManager,
    private readonly windows: RateWindows,
    private readonly logger?: Logger,
    /** The listener exempt from the broker-wide rate (protectedListenerName), worked out once: listeners are static. */
    readonly protectedListener?: string,
  ) {
    this.brokerRate = new SampledRate(windows);
  }

  private appliedRate: number | undefined;

  private get maxConnectionCreationRate(): number {
    const rate = this.live.maxConnectionCreationRate;
    if (rate !== this.appliedRate) {
      // Kafka logs its "Updating broker-wide maxConnectionCreationRate" too; the first read is the start value.
      if (this.appliedRate !== undefined) this.logger?.info({ maxConnectionCreationRate: rate }, 'updating broker-wide max.connection.creation.rate');
      this.appliedRate = rate;
    }
    return rate;
  }

  /** False when neither a broker-wide nor a per-IP rate is set: connections skip admit(). */
  get limited(): boolean {
    return this.maxConnectionCreationRate !== UNLIMITED_CONNECTION_RATE || this.quotas.ipQuotasEnabled;
  }

  /**
   * Records a new connection from `address`; `done` is called once it may be served, or is to be closed. One on
   * the protected (inter-broker) listener skips the broker-wide rate, as Kafka's (only its address's rate applies).
   */
  admit(address: string, done: (decision: AdmissionDecision) => void, protectedListener = false): void {
    if (protectedListener) {
      this.checkIpRate({ address, done });
      return;
    }
    this.pending.push({ address, done });
    if (this.waitTimer === null) this.admitPending();
  }

  /** Stops waiting (broker shutdown): the connections still waiting are closed. */
  close(): void {
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    for (const p of this.pending.splice(0)) p.done('close');
  }

  private admitPending(): void {
    while (this.pending.length > 0) {
      const head = this.pending.shift()!;
      const nowMs = Date.now();
      const throttleMs =
        this.maxConnectionCreationRate === UNLIMITED_CONNECTION_RATE ? 0 : this.brokerRate.recordAndGetThrottleTimeMs(1, nowMs, this.maxConnectionCreationRate, this.windows.windowMs);
      if (throttleMs > 0) {
        this.waitTimer = setTimeout(() => {
          this.waitTimer = null;
          this.checkIpRate(head);
          this.admitPending();
        }, throttleMs);
        this.waitTimer.unref();
        return;
      }
      this.checkIpRate(head);
    }
  }

  private checkIpRate(p: PendingAdmission): void {
    const limit = this.quotas.connectionCreationRate(p.address);
    if (limit === UNLIMITED_CONNECTION_RATE) {
      p.done('admit');
      return;
    }
    const nowMs = Date.now();
    let rate = this.ipRates.get(p.address);
    if (rate === undefined) {
      if (nowMs - this.lastSweepMs >= 60_000) this.sweep(nowMs);
      rate = new SampledRate(this.windows);
      this.ipRates.set(p.address, rate);
    }
    const throttleMs = rate.recordAndGetThrottleTimeMs(1, nowMs, limit, this.windows.windowMs);
    if (throttleMs <= 0) {
      p.done('admit');
      return;
    }
    // Not counted against the broker-wide rate (updateListenerMetrics unrecords it), closed after the throttle time.
    if (this.maxConnectionCreationRate !== UNLIMITED_CONNECTION_RATE) this.brokerRate.record(-1, nowMs);
    setTimeout(() => p.done('close'), throttleMs).unref();
  }

  private sweep(nowMs: number): void {
    this.lastSweepMs = nowMs;
    for (const [address, rate] of this.ipRates) if (nowMs - rate.lastRecordMs >= IP_RATE_EXPIRATION_MS) this.ipRates.delete(address);
  }
}
