// The TCP listener: accepts sockets, gives each a Connection, enforces the connection limits and shuts down
// gracefully.
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
import { promises as fs } from 'node:fs';
import type { Logger } from 'pino';
import { Connection } from './connection.js';
import { ConnectionQuotas, REFUSAL_LOG_INTERVAL_MS, canonicalAddress, resolveOverrides } from './connection-quotas.js';
import { MemoryPool } from './memory-pool.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { makeServerCounters, type ServerCounters } from './server-stats.js';
import type { BrokerServices } from '../handlers/types.js';

export const OPEN_FILES_CHECK_INTERVAL_MS = 5000;

export interface KafkaServerOptions {
  host: string;
  port: number;
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

export class KafkaServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private nextConnId = 1;
  private readonly counters = makeServerCounters();
  private readonly pool: MemoryPool;
  private readonly reclaimer: MemoryReclaimer;
  private quotas: ConnectionQuotas | undefined;
  private openFilesTimer: NodeJS.Timeout | undefined;
  private lastAcceptErrorLogMs = -Infinity;
  private lastOpenFilesLogMs = -Infinity;

  constructor(private readonly options: KafkaServerOptions) {
    this.pool = new MemoryPool(options.queuedMaxRequestBytes);
    this.reclaimer = new MemoryReclaimer(options.logger);
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<{ host: string; port: number }> {
    const overrides = await resolveOverrides(this.options.maxConnectionsPerIpOverrides);
    this.quotas = new ConnectionQuotas(this.options.maxConnections, this.options.maxConnectionsPerIp, overrides, this.counters, this.options.logger);
    const bound = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as net.AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
    this.server.on('error', (err) => this.onListenerError(err));
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
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
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

  private accept(socket: net.Socket): void {
    const address = canonicalAddress(socket.remoteAddress ?? '');
    if (this.quotas!.tryAcquire(address) !== null) {
      // Closed at once, as Kafka closes a channel over its quota (ConnectionQuotas.closeChannel).
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const connection = new Connection({
      socket,
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
        if (this.connections.delete(c)) this.quotas!.release(address);
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
