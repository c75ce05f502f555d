// One client socket: frames in, responses out, strictly in request order.
//
// Requests are handled one at a time in arrival order, as Kafka does (it mutes a channel while a request is in
// flight); clients still pipeline, so received frames queue up here. Each frame gets a sequence number and
// responses are written in sequence order, so "dispatch in order, complete concurrently" can come later
// without touching handlers.
//
// Backpressure both ways:
// - inbound: when MAX_QUEUED_FRAMES frames (or socket.request.max.bytes of them) wait, the socket is paused,
//   and it resumes once the queue has drained to half;
// - outbound: when socket.write() returns false the next request waits for 'drain'.
//
// A protocol violation (bad size prefix, undecodable request, unknown API key) closes this connection only, with a
// warn log; other connections are unaffected.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameReader } from './frame-reader.js';
import { dispatch } from './dispatch.js';
import type { ParsedRequestHeader } from '../protocol/header.js';
import type { BrokerServices, RequestContext } from '../handlers/types.js';
import { API_CODECS } from '../protocol/generated/index.js';

const MAX_QUEUED_FRAMES = 64;

export interface ConnectionOptions {
  socket: Socket;
  connId: number;
  broker: BrokerServices;
  maxRequestBytes: number;
  /** connections.max.idle.ms: a connection with no traffic this long is closed, as Kafka does. */
  idleTimeoutMs: number;
  logger: Logger;
  onClosed: (connection: Connection) => void;
}

export class Connection {
  readonly connId: number;
  private readonly socket: Socket;
  private readonly broker: BrokerServices;
  private log: Logger;
  private readonly frameReader: FrameReader;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private readonly maxQueuedBytes: number;
  private processing = false;
  private paused = false;
  private closed = false;
  private stopping = false;
  private nextSequence = 0;
  private clientIdSeen: string | null = null;
  private idleWaiters: Array<() => void> = [];
  private readonly onClosed: (connection: Connection) => void;

  constructor(options: ConnectionOptions) {
    this.connId = options.connId;
    this.socket = options.socket;
    this.broker = options.broker;
    this.onClosed = options.onClosed;
    this.maxQueuedBytes = options.maxRequestBytes;
    this.frameReader = new FrameReader(options.maxRequestBytes);
    this.log = options.logger.child({ connId: options.connId, remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` });
    this.socket.setNoDelay(true);
    // Node's socket timeout fires after idleTimeoutMs without reads or writes. A long poll in flight is not idle.
    this.socket.setTimeout(options.idleTimeoutMs, () => {
      if (this.processing) return;
      this.log.debug({ idleTimeoutMs: options.idleTimeoutMs }, 'closing idle connection');
      this.close();
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    this.socket.on('close', () => this.onSocketClosed());
    this.log.debug('connection opened');
  }

  /** Stop reading new requests, finish the one in flight and its write, then close. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    this.socket.pause();
    if (this.processing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.close();
  }

  /** Immediately destroys the socket (used when graceful shutdown takes too long). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.stopping) return;
    const violation = this.frameReader.push(chunk, (frame) => this.enqueue(frame));
    if (violation !== null) {
      this.log.warn(
        { size: violation.size, limit: this.maxQueuedBytes },
        violation.kind === 'negative' ? 'negative request size; closing connection' : 'request larger than socket.request.max.bytes; closing connection',
      );
      this.close();
    }
  }

  private enqueue(frame: Buffer): void {
    if (this.closed || this.stopping) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (!this.paused && (this.queue.length >= MAX_QUEUED_FRAMES || this.queuedBytes >= this.maxQueuedBytes)) {
      this.paused = true;
      this.socket.pause();
    }
    if (!this.processing) void this.processQueue();
  }

  private async processQueue(): Promise<void> {
    this.processing = true;
    try {
      while (this.queue.length > 0 && !this.closed && !this.stopping) {
        const frame = this.queue.shift()!;
        this.queuedBytes -= frame.length;
        this.maybeResume();
        const keepGoing = await this.processFrame(frame, this.nextSequence++);
        if (!keepGoing) {
          this.close();
          break;
        }
      }
    } finally {
      this.processing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.queue.length <= MAX_QUEUED_FRAMES / 2 && this.queuedBytes < this.maxQueuedBytes / 2) {
      this.paused = false;
      if (!this.stopping) this.socket.resume();
    }
  }

  /** Returns false when the connection must close. `_sequence` orders responses once requests run concurrently. */
  private async processFrame(frame: Buffer, _sequence: number): Promise<boolean> {
    try {
      const outcome = await dispatch(frame, (header, closeAfter) => this.makeContext(header, closeAfter));
      if (outcome.kind === 'close') {
        this.log.warn({ reason: outcome.reason, apiKey: outcome.header?.requestApiKey, apiVersion: outcome.header?.requestApiVersion, correlationId: outcome.header?.correlationId }, 'bad request; closing connection');
        return false;
      }
      if (outcome.kind === 'respond') await this.write(outcome.buffers);
      return !outcome.closeAfter;
    } catch (err) {
      this.log.error({ err }, 'failed to process request; closing connection');
      return false;
    }
  }

  private makeContext(header: ParsedRequestHeader, closeAfter: () => void): RequestContext {
    if (header.clientId !== this.clientIdSeen) {
      this.clientIdSeen = header.clientId;
      this.log = this.log.child({ clientId: header.clientId });
    }
    if (this.log.isLevelEnabled('trace')) {
      this.log.trace({ api: API_CODECS.get(header.requestApiKey)?.name, apiVersion: header.requestApiVersion, correlationId: header.correlationId }, 'request');
    }
    return {
      apiKey: header.requestApiKey,
      apiVersion: header.requestApiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      log: this.log,
      broker: this.broker,
      closeConnectionAfterResponse: closeAfter,
    };
  }

  /** Writes one response as a single writev (cork/uncork); waits for 'drain' when the socket buffer is full. */
  private write(buffers: Buffer[]): Promise<void> | void {
    if (this.closed) return;
    this.socket.cork();
    let ok = true;
    for (const b of buffers) ok = this.socket.write(b);
    this.socket.uncork();
    if (ok) return;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.end();
    // end() waits for the peer; don't keep half-closed sockets around.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onSocketClosed(): void {
    this.closed = true;
    this.queue.length = 0;
    this.log.debug('connection closed');
    this.onClosed(this);
  }
}
