// The listeners: accept sockets, give each a Connection, enforce the connection limits and shut down gracefully.
//
// One KafkaServer serves every listener of the broker (`listeners`, listeners.ts): each listener is its own
// net.Server on its own host:port, and all of them share one request memory pool, one set of connection quotas, one
// set of counters and one shutdown. A connection carries its listener's name and security protocol, so Metadata,
// FindCoordinator and DescribeCluster can advertise that listener's endpoint (RequestContext.listenerName).
//
//   security protocol   transport                                    principal before any SASL
//   PLAINTEXT           the TCP socket                               User:ANONYMOUS
//   SSL                 node:tls over it (PEM cert/key, optional     the client certificate's subject DN
//                       client auth against the CA file)             (RFC 2253), or ANONYMOUS without one
//   SASL_PLAINTEXT      the TCP socket, then SASL (connection.ts)    User:<SASL name> once authenticated
//   SASL_SSL            node:tls, then SASL                          User:<SASL name> once authenticated
//
// TLS: the listener's net.Server accepts the TCP connection (so connection quotas count it at once, as Kafka's
// acceptor does), then hands the socket to a tls.Server that never listens itself (emit('connection')); the
// Connection is made when the handshake is done ('secureConnection'). ssl.client.auth (Kafka's): `required`
// refuses a client without a certificate signed by the CA; `requested` asks for one, accepts a client without,
// and refuses one whose certificate does not verify (as Java's wantClientAuth does); `none` asks for nothing. A
// handshake that fails (a plaintext client on a TLS port, a bad or missing certificate) or does not finish within
// socket.request.read.timeout.ms closes that socket only: counted (tlsHandshakeFailures) and logged at warn at most
// once per REFUSAL_LOG_INTERVAL_MS. A TLS ClientHello sent to a plaintext port reads as a frame size far above
// socket.request.max.bytes (0x160301…), which closes the connection (connection.ts).
//
// Shutdown order: stop accepting → every connection stops reading, finishes its in-flight request and write →
// sockets close (forcibly after `graceMs`). The caller then closes the log, so acknowledged writes are flushed.
//
// Limits live here because they span connections: the request memory pool (queued.max.request.bytes, shared by
// every Connection: memory-pool.ts) and the connection quotas (max.connections, max.connections.per.ip[.overrides]:
// connection-quotas.ts). A refused connection is destroyed before a Connection exists for it. Connections that close
// holding a lot of memory (an unwritten Fetch answer, a half-read frame) report it to the MemoryReclaimer, which runs
// one GC so that an idle broker's RSS returns to its idle figure (memory-reclaim.ts).
//
// Running out of file descriptors (EMFILE/ENFILE): Node 20's libuv never spins on it and rarely reports it. When
// accept() fails with EMFILE it closes a reserved descriptor, accepts and at once closes every pending connection,
// reopens the reserve and waits for the next connection (uv__emfile_trick); net.Server sees none of this. Only when
// that trick is impossible does the listener emit 'error' — counted as an accept error and logged (rate-limited).
// To make the silent case visible, the server checks every OPEN_FILES_CHECK_INTERVAL_MS (Linux: /proc/self/fd
// against the soft RLIMIT_NOFILE) and, at the limit, counts it and logs at error, rate-limited like refusals.
import net from 'node:net';
import type tls from 'node:tls';
import { lazyBuiltin } from '../lazy-builtin.js';
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import { Connection } from './connection.js';
import { ConnectionQuotas, REFUSAL_LOG_INTERVAL_MS, canonicalAddress, protectedListenerName, resolveOverrides } from './connection-quotas.js';
import { MemoryPool } from './memory-pool.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { makeServerCounters, type ServerCounters } from './server-stats.js';
import type { BrokerServices } from '../handlers/types.js';
import { usesSasl, usesTls, type ListenerSpec, type SecurityProtocol } from './listeners.js';
import { tlsClientPrincipal } from '../auth/principal.js';
import type { ConnectionSaslOptions } from './connection.js';

export const OPEN_FILES_CHECK_INTERVAL_MS = 5000;

/** PEM contents for TLS listeners (ssl.keystore / ssl.truststore, as PEM files). */
export interface ServerTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** CA certificates client certificates must chain to (ssl.truststore). */
  ca?: Buffer;
  /** ssl.client.auth. */
  clientAuth: 'required' | 'requested' | 'none';
}

export interface BoundListener {
  name: string;
  securityProtocol: SecurityProtocol;
  /** The address bound (server.address()). */
  host: string;
  port: number;
  /** The host as configured (what an advertised endpoint defaults to). */
  bindHost: string;
}

export interface KafkaServerOptions {
  /** At least one; see listeners.ts. */
  listeners: readonly ListenerSpec[];
  /** Required when a listener is SSL or SASL_SSL. */
  tls?: ServerTlsOptions;
  /** Required when a listener is SASL_PLAINTEXT or SASL_SSL. */
  sasl?: ConnectionSaslOptions;
  maxRequestBytes: number;
  idleTimeoutMs: number;
  /** socket.request.read.timeout.ms */
  requestReadTimeoutMs: number;
  /** queued.max.request.bytes; <= 0 is unbounded. */
  queuedMaxRequestBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** max.connections.per.ip.overrides, parsed (host → count); host names are resolved in listen(). */
  maxConnectionsPerIpOverrides: ReadonlyMap<string, number>;
  broker: BrokerServices;
  logger: Logger;
}

/** What the server reports in Broker.stats(). */
export interface ServerStats extends ServerCounters {
  connections: number;
  /** Request bytes reserved in the pool now, the most ever at once, and its size (null when unbounded). */
  queuedRequestBytes: number;
  queuedRequestBytesPeak: number;
  queuedMaxRequestBytes: number | null;
  /** Connections waiting for pool memory now, and how many times one had to. */
  connectionsMutedForMemory: number;
  memoryPoolMutedCount: number;
  /** Full GCs run to give back memory dropped with closed connections (memory-reclaim.ts). */
  memoryReclaimRuns: number;
}

interface ListenerSocket {
  readonly spec: ListenerSpec;
  readonly server: net.Server;
  /** TLS listeners: the tls.Server the accepted sockets are handed to (it never listens). */
  readonly tlsServer: tls.Server | undefined;
}

export class KafkaServer {
  private readonly listeners: ListenerSocket[];
  private readonly connections = new Set<Connection>();
  private nextConnId = 1;
  private readonly counters = makeServerCounters();
  private readonly pool: MemoryPool;
  private readonly reclaimer: MemoryReclaimer;
  private quotas: ConnectionQuotas | undefined;
  /** The inter-broker listener, exempt from max.connections (connection-quotas.ts protectedListenerName). */
  private protectedListener: string | undefined;
  private openFilesTimer: NodeJS.Timeout | undefined;
  private lastAcceptErrorLogMs = -Infinity;
  private lastOpenFilesLogMs = -Infinity;
  private lastTlsFailureLogMs = -Infinity;
  private tlsFailuresSinceLog = 0;

  constructor(private readonly options: KafkaServerOptions) {
    if (options.listeners.length === 0) throw new Error('KafkaServer needs at least one listener');
    this.pool = new MemoryPool(options.queuedMaxRequestBytes);
    this.reclaimer = new MemoryReclaimer(options.logger);
    this.listeners = options.listeners.map((spec) => this.makeListener(spec));
  }

  private makeListener(spec: ListenerSpec): ListenerSocket {
    let tlsServer: tls.Server | undefined;
    if (usesTls(spec.securityProtocol)) {
      const t = this.options.tls;
      if (t === undefined) throw new Error(`listener ${spec.name} (${spec.securityProtocol}) needs TLS options`);
      tlsServer = lazyBuiltin<typeof tls>('node:tls').createServer({
        cert: t.cert,
        key: t.key,
        ca: t.ca,
        requestCert: t.clientAuth !== 'none',
        rejectUnauthorized: t.clientAuth === 'required',
        handshakeTimeout: this.options.requestReadTimeoutMs,
      });
      tlsServer.on('secureConnection', (socket: tls.TLSSocket) => this.onSecureConnection(spec, socket));
      tlsServer.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => this.onTlsFailure(spec, err, socket));
    }
    if (usesSasl(spec.securityProtocol) && this.options.sasl === undefined) throw new Error(`listener ${spec.name} (${spec.securityProtocol}) needs SASL options`);
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(spec, tlsServer, socket));
    return { spec, server, tlsServer };
  }

  /** Binds every listener, in order; resolves with what each one bound. */
  async listen(): Promise<BoundListener[]> {
    const overrides = await resolveOverrides(this.options.maxConnectionsPerIpOverrides);
    // The live broker config: max.connections* changed by AlterConfigs apply to the next connection.
    this.protectedListener = protectedListenerName(this.options.broker.config);
    this.quotas = new ConnectionQuotas(this.options.maxConnections, this.options.maxConnectionsPerIp, overrides, this.counters, this.options.logger, this.options.broker.config);
    const bound: BoundListener[] = [];
    try {
      for (const { spec, server } of this.listeners) {
        const address = await new Promise<net.AddressInfo>((resolve, reject) => {
          const onError = (err: Error) => reject(err);
          server.once('error', onError);
          server.listen(spec.port, spec.host, () => {
            server.off('error', onError);
            resolve(server.address() as net.AddressInfo);
          });
        });
        server.on('error', (err) => this.onListenerError(err));
        bound.push({ name: spec.name, securityProtocol: spec.securityProtocol, host: address.address, port: address.port, bindHost: spec.host });
      }
    } catch (err) {
      for (const { server } of this.listeners) if (server.listening) server.close();
      throw err;
    }
    void this.startOpenFilesCheck();
    return bound;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  stats(): ServerStats {
    return {
      ...this.counters,
      connections: this.connections.size,
      queuedRequestBytes: this.pool.usedBytes,
      queuedRequestBytesPeak: this.pool.peakUsedBytes,
      queuedMaxRequestBytes: Number.isFinite(this.pool.sizeBytes) ? this.pool.sizeBytes : null,
      connectionsMutedForMemory: this.pool.waitingCount,
      memoryPoolMutedCount: this.pool.mutedCount,
      memoryReclaimRuns: this.reclaimer.runs,
    };
  }

  async close(graceMs = 5000): Promise<void> {
    clearInterval(this.openFilesTimer);
    this.reclaimer.stop();
    // Resolves once every connection has closed: graceful ones after their last response is flushed.
    const closed = Promise.all(this.listeners.map(({ server }) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))));
    const graceful = Promise.all([...this.connections].map((c) => c.shutdown()));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    if ((await Promise.race([graceful.then(() => 'done' as const), timedOut])) === 'timeout') {
      this.options.logger.warn({ connections: this.connections.size }, 'connections did not finish in time; closing them');
      for (const c of this.connections) c.destroy();
    }
    clearTimeout(timer);
    await closed;
  }

  private accept(spec: ListenerSpec, tlsServer: tls.Server | undefined, socket: net.Socket): void {
    const address = canonicalAddress(socket.remoteAddress ?? '');
    socket.on('error', () => undefined);
    if (this.quotas!.tryAcquire(address, spec.name === this.protectedListener) !== null) {
      // Closed at once, as Kafka closes a channel over its quota (ConnectionQuotas.closeChannel).
      socket.destroy();
      return;
    }
    // The TCP connection holds its quota until it closes, whatever happens above it (TLS, SASL).
    socket.once('close', () => this.quotas!.release(address));
    if (spec.name === this.protectedListener) this.closeExcessConnections();
    if (tlsServer !== undefined) {
      tlsServer.emit('connection', socket);
      return;
    }
    this.startConnection(spec, socket, undefined);
  }

  /**
   * While more connections are open than max.connections, client connections are closed, least recently active
   * first, until the broker is back within it (Kafka's Processor.closeExcessConnections with
   * Selector.lowestPriorityChannel, which every listener's processor but the protected one runs on each poll). Two
   * things take the broker past the limit: an inter-broker connection (exempt from it, KIP-402), and a lowered
   * max.connections (AlterConfigs). The inter-broker listener's own connections are never closed this way.
   */
  closeExcessConnections(): void {
    const max = this.quotas?.limits.maxConnections;
    if (max === undefined) return;
    let excess = this.quotas!.openConnections - max;
    if (excess <= 0) return;
    const candidates = [...this.connections].filter((c) => c.listenerName !== this.protectedListener).sort((a, b) => a.lastActiveMs - b.lastActiveMs);
    for (const c of candidates) {
      if (excess-- <= 0) break;
      this.counters.connectionsClosedOverMaxConnections++;
      this.options.logger.info({ listener: c.listenerName, maxConnections: max }, 'closing the least recently used client connection: more connections are open than max.connections');
      c.destroy();
    }
  }

  private onSecureConnection(spec: ListenerSpec, socket: tls.TLSSocket): void {
    if (this.options.tls!.clientAuth === 'requested' && !socket.authorized && socket.getPeerX509Certificate() !== undefined) {
      // A certificate was offered and does not verify: refused, as Java's wantClientAuth does.
      this.onTlsFailure(spec, new Error(`client certificate refused: ${String(socket.authorizationError)}`), socket);
      socket.destroy();
      return;
    }
    const certificate = socket.authorized ? socket.getPeerX509Certificate() : undefined;
    this.startConnection(spec, socket, tlsClientPrincipal(certificate));
  }

  private onTlsFailure(spec: ListenerSpec, err: Error, socket: tls.TLSSocket): void {
    this.counters.tlsHandshakeFailures++;
    this.tlsFailuresSinceLog++;
    socket.destroy();
    const now = Date.now();
    if (now - this.lastTlsFailureLogMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastTlsFailureLogMs = now;
    this.options.logger.warn(
      { listener: spec.name, remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message, failuresSinceLastLog: this.tlsFailuresSinceLog },
      'TLS handshake failed; closing connection',
    );
    this.tlsFailuresSinceLog = 0;
  }

  private startConnection(spec: ListenerSpec, socket: net.Socket, principal: ReturnType<typeof tlsClientPrincipal> | undefined): void {
    const connection = new Connection({
      socket,
      listenerName: spec.name,
      securityProtocol: spec.securityProtocol,
      principal,
      sasl: usesSasl(spec.securityProtocol) ? this.options.sasl : undefined,
      connId: this.nextConnId++,
      broker: this.options.broker,
      maxRequestBytes: this.options.maxRequestBytes,
      idleTimeoutMs: this.options.idleTimeoutMs,
      requestReadTimeoutMs: this.options.requestReadTimeoutMs,
      memoryPool: this.pool,
      counters: this.counters,
      onMemoryDropped: (bytes) => this.reclaimer.noteDropped(bytes),
      logger: this.options.logger,
      onClosed: (c) => {
        this.connections.delete(c);
      },
    });
    this.connections.add(connection);
  }

  private onListenerError(err: NodeJS.ErrnoException): void {
    this.counters.acceptErrors++;
    const now = Date.now();
    if (now - this.lastAcceptErrorLogMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastAcceptErrorLogMs = now;
    this.options.logger.error({ err, acceptErrors: this.counters.acceptErrors, connections: this.connections.size }, 'failed to accept a connection');
  }

  /** Linux only: the soft open-file limit from /proc/self/limits, then a periodic count of /proc/self/fd. */
  private async startOpenFilesCheck(): Promise<void> {
    let limit: number;
    try {
      const limits = await fs.readFile('/proc/self/limits', 'utf8');
      const match = /^Max open files\s+(\d+)/m.exec(limits);
      if (match === null) return;
      limit = Number(match[1]);
    } catch {
      return;
    }
    this.openFilesTimer = setInterval(() => void this.checkOpenFiles(limit), OPEN_FILES_CHECK_INTERVAL_MS);
    this.openFilesTimer.unref();
  }

  private async checkOpenFiles(limit: number): Promise<void> {
    let open: number;
    try {
      open = (await fs.readdir('/proc/self/fd')).length - 1; // the directory handle itself
    } catch (err) {
      // Listing needs a descriptor too: EMFILE here is the limit itself.
      if ((err as NodeJS.ErrnoException).code !== 'EMFILE' && (err as NodeJS.ErrnoException).code !== 'ENFILE') return;
      open = limit;
    }
    if (open < limit) return;
    this.counters.openFileLimitReached++;
    const now = Date.now();
    if (now - this.lastOpenFilesLogMs < REFUSAL_LOG_INTERVAL_MS) return;
    this.lastOpenFilesLogMs = now;
    this.options.logger.error(
      { openFiles: open, limit, connections: this.connections.size },
      'open file limit reached: new connections are closed as they arrive; raise the limit (ulimit -n) or lower max.connections',
    );
  }
}
