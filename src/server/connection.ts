// One client socket: frames in, responses out, strictly in request order.
//
// Requests are dispatched in arrival order and responses are written in that order (each frame gets a sequence
// number). Kafka mutes a channel while a request is in flight; Eddy does the same for every API except Produce:
//
//   request at the head of the queue      may start while earlier requests are still in flight when
//   Produce                               every in-flight request is a Produce with acks 1 or -1, and fewer than
//                                         MAX_PIPELINED are
//   anything else                         never: it waits until every earlier response has been written
//
// Pipelining Produce is safe because a produce handler assigns offsets synchronously when it starts (offsets
// follow arrival order), and it is what makes group commit work for one connection: a producer that keeps
// several acks=-1 requests in flight (librdkafka does) gets them into one fsync instead of one fsync each, and
// the CRC check of the next request overlaps the write of the previous one.
//
// An acks=0 Produce may start behind those, but nothing starts behind it until it is done: when it fails, the
// connection closes (KafkaApis closes it so the client refreshes its metadata) and Kafka, whose channel stays
// muted while the request is in flight, never reads what the client sent after it (SocketServer). So nothing
// queued behind it is dispatched: close() discards the queue. Its acks is read from the frame before dispatch
// (produceAcks), so acks=1/-1 pipelining is unchanged.
//
// Backpressure both ways:
// - inbound: when MAX_QUEUED_FRAMES frames (or socket.request.max.bytes of them), queued or in flight, wait, the
//   socket is paused, and it resumes once they have drained to half;
// - outbound: when socket.write() returns false, nothing new starts until 'drain'.
//
// A protocol violation (bad size prefix, undecodable request, unknown API key) closes this connection only, with a
// warn log; other connections are unaffected.
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { FrameReader } from './frame-reader.js';
import { dispatch } from './dispatch.js';
import type { ParsedRequestHeader } from '../protocol/header.js';
import type { BrokerServices, RequestContext } from '../handlers/types.js';
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';
import { Reader } from '../protocol/reader.js';
import { requestHeaderVersion } from '../protocol/header.js';
import type { DispatchOutcome } from './dispatch.js';

const MAX_QUEUED_FRAMES = 64;
/** Produce requests of one connection that may be in flight at once. */
const MAX_PIPELINED = 16;

interface InFlight {
  frameBytes: number;
  /** A Produce with acks 1 or -1: a later Produce may start while this one is in flight. */
  letsProduceFollow: boolean;
  outcome: Promise<DispatchOutcome | null>;
}

/**
 * The acks of a Produce request frame, read without decoding the request: header v1 (v2 with tagged fields from
 * Produce v9), then transactional_id (v3+, compact from v9), then acks (first in v0–v2). undefined when the frame
 * ends first; such a frame is treated like acks=0 (dispatch will close the connection for it).
 */
export function produceAcks(frame: Buffer): number | undefined {
  try {
    const r = new Reader(frame);
    r.skip(2);
    const apiVersion = r.readInt16();
    r.skip(4);
    const clientIdLength = r.readInt16();
    if (clientIdLength > 0) r.skip(clientIdLength);
    const flexible = requestHeaderVersion(ApiKey.Produce, apiVersion) >= 2;
    if (flexible) r.skipTaggedFields();
    if (apiVersion >= 3) {
      if (flexible) {
        const lengthPlusOne = r.readUnsignedVarint();
        if (lengthPlusOne > 1) r.skip(lengthPlusOne - 1);
      } else {
        const length = r.readInt16();
        if (length > 0) r.skip(length);
      }
    }
    return r.readInt16();
  } catch {
    return undefined;
  }
}

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
  /** Dispatched requests whose responses are not written yet, oldest first. */
  private readonly inFlight: InFlight[] = [];
  /** Bytes of the frames queued or in flight. */
  private queuedBytes = 0;
  private writeBlocked = false;
  private readonly maxQueuedBytes: number;
  private processing = false;
  private paused = false;
  private closed = false;
  private stopping = false;
  private nextSequence = 0;
  private clientIdSeen: string | null = null;
  /** The logger without the client id, which a request header may change. */
  private readonly baseLog: Logger;
  private readonly socketClosed: Promise<void>;
  private idleWaiters: Array<() => void> = [];
  private readonly onClosed: (connection: Connection) => void;

  constructor(options: ConnectionOptions) {
    this.connId = options.connId;
    this.socket = options.socket;
    this.broker = options.broker;
    this.onClosed = options.onClosed;
    this.maxQueuedBytes = options.maxRequestBytes;
    this.frameReader = new FrameReader(options.maxRequestBytes);
    this.baseLog = options.logger.child({ connId: options.connId, remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` });
    this.log = this.baseLog;
    this.socketClosed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.setNoDelay(true);
    // Node's socket timeout fires after idleTimeoutMs without reads or writes. A long poll in flight is not idle,
    // but a response the peer has stopped reading (no byte written for that long) is: the connection and its
    // buffered response are dropped, as Kafka expires channels by last activity.
    this.socket.setTimeout(options.idleTimeoutMs, () => {
      if (this.writeBlocked) {
        this.log.warn({ idleTimeoutMs: options.idleTimeoutMs }, 'peer stopped reading its response; closing connection');
        this.socket.destroy();
        return;
      }
      if (this.processing) return;
      this.log.debug({ idleTimeoutMs: options.idleTimeoutMs }, 'closing idle connection');
      this.close();
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    this.socket.on('close', () => this.onSocketClosed());
    this.log.debug('connection opened');
  }

  /** Stop reading new requests, finish the one in flight and its write, then close once the bytes are flushed. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    for (const frame of this.queue) this.queuedBytes -= frame.length;
    this.queue.length = 0;
    this.socket.pause();
    if (this.processing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.close();
    await this.socketClosed;
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
    if (!this.paused && (this.queue.length + this.inFlight.length >= MAX_QUEUED_FRAMES || this.queuedBytes >= this.maxQueuedBytes)) {
      this.paused = true;
      this.socket.pause();
    }
    if (this.processing) this.startRequests();
    else void this.processQueue();
  }

  /** Dispatches queued frames as far as the pipelining rule (top of file) allows. */
  private startRequests(): void {
    while (this.queue.length > 0 && !this.closed && !this.stopping && !this.writeBlocked) {
      const frame = this.queue[0]!;
      const isProduce = frame.length >= 2 && frame.readInt16BE(0) === ApiKey.Produce;
      // Every in-flight request started behind the one before it, so the newest one decides.
      if (this.inFlight.length > 0 && (!isProduce || !this.inFlight.at(-1)!.letsProduceFollow || this.inFlight.length >= MAX_PIPELINED)) return;
      this.queue.shift();
      const acks = isProduce ? produceAcks(frame) : undefined;
      const letsProduceFollow = acks !== undefined && acks !== 0;
      this.inFlight.push({ frameBytes: frame.length, letsProduceFollow, outcome: this.dispatchFrame(frame, this.nextSequence++) });
    }
  }

  private async processQueue(): Promise<void> {
    this.processing = true;
    try {
      this.startRequests();
      while (this.inFlight.length > 0) {
        const head = this.inFlight[0]!;
        const outcome = await head.outcome;
        this.inFlight.shift();
        this.queuedBytes -= head.frameBytes;
        const keepGoing = outcome !== null && !this.closed && (await this.respond(outcome));
        if (!keepGoing) {
          this.close();
          // Requests already dispatched behind this one still finish (their appends are queued in the log) and
          // their responses are dropped with the connection. Only a Produce with acks 1 or -1 ever has requests
          // started behind it, and it closes the connection only when its body does not decode; an acks=0
          // Produce, the one that closes after an error, has none.
          await Promise.allSettled(this.inFlight.map((f) => f.outcome));
          this.inFlight.length = 0;
          break;
        }
        this.maybeResume();
        this.startRequests();
      }
    } finally {
      this.processing = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private maybeResume(): void {
    if (this.paused && this.queue.length + this.inFlight.length <= MAX_QUEUED_FRAMES / 2 && this.queuedBytes < this.maxQueuedBytes / 2) {
      this.paused = false;
      if (!this.stopping) this.socket.resume();
    }
  }

  /** Runs one request; null when it failed so badly that the connection must close (logged here). */
  private async dispatchFrame(frame: Buffer, _sequence: number): Promise<DispatchOutcome | null> {
    try {
      return await dispatch(frame, (header, closeAfter) => this.makeContext(header, closeAfter));
    } catch (err) {
      this.log.error({ err }, 'failed to process request; closing connection');
      return null;
    }
  }

  /** Writes the response of one request. Returns false when the connection must close. */
  private async respond(outcome: DispatchOutcome): Promise<boolean> {
    if (outcome.kind === 'close') {
      this.log.warn({ reason: outcome.reason, apiKey: outcome.header?.requestApiKey, apiVersion: outcome.header?.requestApiVersion, correlationId: outcome.header?.correlationId }, 'bad request; closing connection');
      return false;
    }
    if (outcome.kind === 'respond') {
      const drained = this.write(outcome.buffers);
      if (drained) {
        this.writeBlocked = true;
        await drained;
        this.writeBlocked = false;
      }
    }
    return !outcome.closeAfter;
  }

  private makeContext(header: ParsedRequestHeader, closeAfter: () => void): RequestContext {
    if (header.clientId !== this.clientIdSeen) {
      this.clientIdSeen = header.clientId;
      this.log = this.baseLog.child({ clientId: header.clientId });
    }
    if (this.log.isLevelEnabled('trace')) {
      this.log.trace({ api: API_CODECS.get(header.requestApiKey)?.name, apiVersion: header.requestApiVersion, correlationId: header.correlationId }, 'request');
    }
    return {
      apiKey: header.requestApiKey,
      apiVersion: header.requestApiVersion,
      correlationId: header.correlationId,
      clientId: header.clientId,
      clientAddress: this.socket.remoteAddress ?? 'unknown',
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
    // Nothing received after the request that closes the connection is processed.
    for (const frame of this.queue) this.queuedBytes -= frame.length;
    this.queue.length = 0;
    this.socket.end();
    // end() waits for the peer; don't keep half-closed sockets around.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private onSocketClosed(): void {
    this.closed = true;
    for (const frame of this.queue) this.queuedBytes -= frame.length;
    this.queue.length = 0;
    this.log.debug('connection closed');
    this.onClosed(this);
  }
}
