// The TCP listener: accepts sockets, gives each a Connection, and shuts down gracefully.
//
// Shutdown order: stop accepting → every connection stops reading, finishes its in-flight request and write →
// sockets close (forcibly after `graceMs`). The caller then closes the log, so acknowledged writes are flushed.
import net from 'node:net';
import type { Logger } from 'pino';
import { Connection } from './connection.js';
import type { BrokerServices } from '../handlers/types.js';

export interface KafkaServerOptions {
  host: string;
  port: number;
  maxRequestBytes: number;
  idleTimeoutMs: number;
  broker: BrokerServices;
  logger: Logger;
}

export class KafkaServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private nextConnId = 1;

  constructor(private readonly options: KafkaServerOptions) {
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => options.logger.error({ err }, 'listener error'));
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as net.AddressInfo;
        resolve({ host: address.address, port: address.port });
      });
    });
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  async close(graceMs = 5000): Promise<void> {
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
    const connection = new Connection({
      socket,
      connId: this.nextConnId++,
      broker: this.options.broker,
      maxRequestBytes: this.options.maxRequestBytes,
      idleTimeoutMs: this.options.idleTimeoutMs,
      logger: this.options.logger,
      onClosed: (c) => this.connections.delete(c),
    });
    this.connections.add(connection);
  }
}
