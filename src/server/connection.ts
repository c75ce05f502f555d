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
// - outbound: when socket.write() returns false, nothing new starts until 'drain'. Only a Produce is ever started
//   behind another request, and Produce responses are small, so what one connection has queued for its peer is at
//   most one response: for a Fetch, fetch.max.bytes (or KIP-74's one oversized first batch). A peer that stops
//   reading it is dropped after connections.max.idle.ms without a byte written (the socket timeout below).
//
// Memory (memory-pool.ts): every frame buffer, and every frame queued or in flight, is reserved in the broker's
// MemoryPool (queued.max.request.bytes) and given back when its request is done or the connection closes. While the
// pool is out of memory the socket is paused, as Kafka mutes a channel that cannot get a receive buffer, and it
// resumes when memory frees. A frame that is still incomplete socket.request.read.timeout.ms after its first byte
// closes the connection (warn): each trickled byte would otherwise keep the idle timer from ever firing, and a
// stalled frame would hold its share of the pool forever. Time spent paused because this connection's own queue is
// full does not count against the peer (the timer starts over); time paused for memory does, so frames stuck behind
// an exhausted pool are eventually closed and their memory freed.
//
// Client quotas (quota/, KIP-219): a response whose request went over a quota carries throttle_time_ms and comes
// with the outcome's throttleTimeMs. The response is written at once, then the channel is muted for that long, as
// Kafka's SocketServer does (channel throttling): the socket is paused and no queued request starts until the time
// is up; responses of requests already in flight (pipelined Produce) are still written, and a later throttled
// response extends the mute to its own end. Time muted does not count against a partial frame's read timeout nor as
// idleness. Deliberate difference: Kafka delays the response itself (instead of muting after it) for request
// versions older than KIP-219's (e.g. Produce < v6, Fetch < v8); Eddy answers every version at once and mutes.
//
// Connection-creation rates (connection-quotas.ts ConnectionCreationQuotas): a new connection over
// max.connection.creation.rate is admitted later (its socket paused until then), one over its IP's
// connection_creation_rate is closed after its throttle time, as Kafka's acceptor does.
//
// A protocol violation (bad size prefix, undecodable request, unknown API key) closes this connection only, with a
// warn log; other connections are unaffected.
//
// Security (listeners.ts): the connection knows its listener (name, security protocol) and its principal, and puts
// both on every RequestContext. On a TLS listener the socket is already a TLSSocket whose handshake is done, and
// the principal (the client certificate's DN, or ANONYMOUS) comes from server.ts. On a SASL listener every frame
// goes to the SaslAuthenticator until it completes (sasl-authenticator.ts has the state machine); meanwhile frames
// are limited to sasl.server.max.receive.size, and the principal becomes User:<name> once it completes. After
// that, one check per request: a SaslHandshake may begin a re-authentication, and an expired session (KIP-368)
// closes the connection. A plaintext listener pays one null check per request.
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
import type { MemoryPool } from './memory-pool.js';
import type { ServerCounters } from './server-stats.js';
import { SaslAuthenticator } from './sasl-authenticator.js';
import type { SecurityProtocol } from './listeners.js';
import { ANONYMOUS, principalToString, type KafkaPrincipal } from '../auth/principal.js';
import type { CredentialStore } from '../auth/credential-store.js';
import { canonicalAddress, connectionCreationQuotasOf, type ConnectionCreationQuotas } from './connection-quotas.js';

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
  /** socket.request.read.timeout.ms: a request frame must be complete this long after its first byte. */
  requestReadTimeoutMs: number;
  /** queued.max.request.bytes, shared by every connection. */
  memoryPool: MemoryPool;
  counters: ServerCounters;
  /** Told, on close, how many bytes the connection dropped (unwritten response, frames): memory-reclaim.ts. */
  onMemoryDropped: (bytes: number) => void;
  logger: Logger;
  onClosed: (connection: Connection) => void;
  /** The listener this connection came through. */
  listenerName: string;
  securityProtocol: SecurityProtocol;
  /** The principal the transport established (TLS client certificate DN); ANONYMOUS when absent. */
  principal?: KafkaPrincipal;
  /** SASL listeners only: the authenticator's settings. */
  sasl?: ConnectionSaslOptions;
}

export interface ConnectionSaslOptions {
  enabledMechanisms: readonly string[];
  credentials: CredentialStore;
  connectionsMaxReauthMs: number;
  /** sasl.server.max.receive.size: the largest frame before authentication completes. */
  maxReceiveBytes: number;
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
  private readonly pool: MemoryPool;
  private readonly counters: ServerCounters;
  /** Bytes this connection holds in the pool: its frame buffer and its frames queued or in flight. */
  private reservedBytes = 0;
  /** Paused because the pool is out of memory; the function cancels the wait. */
  private cancelMemoryWait: (() => void) | null = null;
  private readonly requestReadTimeoutMs: number;
  private readTimer: NodeJS.Timeout | null = null;
  /** When the first byte of the frame being received arrived (Date.now()). */
  private partialStartedAtMs = 0;
  /** Bytes of the response waiting in the socket's buffer while the peer is not reading (0 once drained). */
  private unwrittenBytes = 0;
  private readonly onMemoryDropped: (bytes: number) => void;
  readonly listenerName: string;
  /** When the peer last sent bytes: which connection is least recently used (server.ts closeExcessConnections). */
  lastActiveMs = Date.now();
  private readonly securityProtocol: SecurityProtocol;
  private principal: KafkaPrincipal;
  /** SASL listeners: the authentication state machine; null elsewhere. */
  private readonly auth: SaslAuthenticator | null;
  private readonly saslMaxReceiveBytes: number;
  /** Set while the channel is muted for a quota (KIP-219); nothing starts and nothing is read until it fires. */
  private throttleTimer: NodeJS.Timeout | null = null;
  private throttleEndMs = 0;
  /** Not admitted yet: the connection-creation rate delays it (connection-quotas.ts). */
  private admissionPending = false;

  constructor(options: ConnectionOptions) {
    this.connId = options.connId;
    this.socket = options.socket;
    this.broker = options.broker;
    this.onClosed = options.onClosed;
    this.maxQueuedBytes = options.maxRequestBytes;
    this.pool = options.memoryPool;
    this.counters = options.counters;
    this.requestReadTimeoutMs = options.requestReadTimeoutMs;
    this.onMemoryDropped = options.onMemoryDropped;
    const pool = this.pool;
    this.frameReader = new FrameReader(options.maxRequestBytes, {
      get availableBytes() {
        return pool.availableBytes;
      },
      reserve: (bytes) => {
        this.reservedBytes += bytes;
        pool.reserve(bytes);
      },
    });
    this.baseLog = options.logger.child({ connId: options.connId, remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` });
    this.log = this.baseLog;
    this.listenerName = options.listenerName;
    this.securityProtocol = options.securityProtocol;
    this.principal = options.principal ?? ANONYMOUS;
    this.saslMaxReceiveBytes = options.sasl?.maxReceiveBytes ?? options.maxRequestBytes;
    this.auth = options.sasl === undefined ? null : this.makeAuthenticator(options.sasl);
    if (this.auth !== null) this.frameReader.maxFrameBytes = Math.min(options.maxRequestBytes, this.saslMaxReceiveBytes);
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
      if (this.processing || this.throttleTimer !== null || this.admissionPending) return;
      this.log.debug({ idleTimeoutMs: options.idleTimeoutMs }, 'closing idle connection');
      this.close();
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.log.debug({ err }, 'socket error'));
    this.socket.on('close', () => this.onSocketClosed());
    if (this.log.isLevelEnabled('debug')) this.log.debug({ listener: this.listenerName, principal: principalToString(this.principal) }, 'connection opened');
    const creation = connectionCreationQuotasOf(this.broker);
    if (creation.limited) this.admit(creation, canonicalAddress(this.socket.remoteAddress ?? ''), this.listenerName === creation.protectedListener);
  }

  /** Connection-creation rates: paused until admitted, or closed after its throttle time (connection-quotas.ts). */
  private admit(creation: ConnectionCreationQuotas, address: string, protectedListener: boolean): void {
    this.admissionPending = true;
    this.socket.pause();
    creation.admit(address, (decision) => {
      this.admissionPending = false;
      if (this.closed) return;
      if (decision === 'close') {
        this.log.debug('connection_creation_rate of this address exceeded; closing connection');
        this.close();
        return;
      }
      if (!this.paused && !this.stopping && this.cancelMemoryWait === null && this.throttleTimer === null) this.socket.resume();
    }, protectedListener);
  }

  /** KIP-219: mute the channel for a quota's throttle time once its response is written (top of file). */
  private throttle(throttleTimeMs: number): void {
    const endMs = Date.now() + throttleTimeMs;
    if (this.throttleTimer !== null) {
      if (endMs <= this.throttleEndMs) return;
      clearTimeout(this.throttleTimer);
    }
    this.throttleEndMs = endMs;
    this.socket.pause();
    this.throttleTimer = setTimeout(this.onThrottleEnd, throttleTimeMs);
  }

  private readonly onThrottleEnd = (): void => {
    this.throttleTimer = null;
    if (this.closed || this.stopping) return;
    if (!this.paused && this.cancelMemoryWait === null && !this.admissionPending) this.socket.resume();
    if (this.processing) this.startRequests();
    else if (this.queue.length > 0) void this.processQueue();
  };

  /** Stop reading new requests, finish the one in flight and its write, then close once the bytes are flushed. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.discardQueue();
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
    this.lastActiveMs = Date.now();
    const reader = this.frameReader;
    const framesBefore = reader.framesCompleted;
    const hadPartial = reader.hasPartialFrame;
    const violation = reader.push(chunk, (frame) => this.enqueue(frame));
    if (violation !== null) {
      if (this.auth !== null && !this.auth.isComplete) {
        this.log.info({ size: violation.size, limit: this.frameReader.maxFrameBytes }, 'Failing SASL authentication due to invalid receive size; closing connection');
        this.counters.failedAuthentications++;
        this.close();
        return;
      }
      this.log.warn(
        { size: violation.size, limit: this.maxQueuedBytes },
        violation.kind === 'negative' ? 'negative request size; closing connection' : 'request larger than socket.request.max.bytes; closing connection',
      );
      this.close();
      return;
    }
    if (this.closed) return;
    if (reader.hasPartialFrame) {
      // A frame that began in this chunk starts its clock now; one continued from before keeps its start.
      if (!hadPartial || reader.framesCompleted !== framesBefore) this.partialStartedAtMs = Date.now();
      if (this.readTimer === null) this.readTimer = setTimeout(this.onReadTimeout, this.requestReadTimeoutMs);
    }
    if (this.pool.isOutOfMemory && this.cancelMemoryWait === null && !this.stopping) {
      this.socket.pause();
      this.cancelMemoryWait = this.pool.waitForMemory(this.onMemoryAvailable);
      if (this.log.isLevelEnabled('debug')) {
        this.log.debug({ usedBytes: this.pool.usedBytes, queuedMaxRequestBytes: this.pool.sizeBytes }, 'queued.max.request.bytes reached; pausing reads');
      }
    }
  }

  private readonly onMemoryAvailable = (): void => {
    this.cancelMemoryWait = null;
    if (!this.paused && !this.stopping && !this.closed && this.throttleTimer === null && !this.admissionPending) this.socket.resume();
  };

  private readonly onReadTimeout = (): void => {
    this.readTimer = null;
    if (this.closed || this.stopping || !this.frameReader.hasPartialFrame) return;
    const now = Date.now();
    // Paused by our own queue: the peer is not the one holding the frame back, so its clock starts over.
    if (this.paused || this.throttleTimer !== null) this.partialStartedAtMs = now;
    const remainingMs = this.partialStartedAtMs + this.requestReadTimeoutMs - now;
    if (remainingMs > 0) {
      this.readTimer = setTimeout(this.onReadTimeout, remainingMs);
      return;
    }
    this.counters.requestReadTimeouts++;
    const { receivedBytes, size } = this.frameReader.partialFrame;
    this.log.warn({ requestReadTimeoutMs: this.requestReadTimeoutMs, receivedBytes, size }, 'request not received within socket.request.read.timeout.ms; closing connection');
    this.close();
  };

  /** Gives back the pool bytes of one frame whose request is done (or dropped). */
  private releaseFrame(bytes: number): void {
    this.reservedBytes -= bytes;
    this.pool.release(bytes);
  }

  /** Drops the frames queued but not started (their requests will never run). */
  private discardQueue(): void {
    for (const frame of this.queue) {
      this.queuedBytes -= frame.length;
      this.releaseFrame(frame.length);
    }
    this.queue.length = 0;
  }

  private enqueue(frame: Buffer): void {
    if (this.closed || this.stopping) {
      this.releaseFrame(frame.length);
      return;
    }
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
    while (this.queue.length > 0 && !this.closed && !this.stopping && !this.writeBlocked && this.throttleTimer === null) {
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
        this.releaseFrame(head.frameBytes);
        const keepGoing = outcome !== null && !this.closed && (await this.respond(outcome));
        if (!keepGoing) {
          this.close();
          // Requests already dispatched behind this one still finish (their appends are queued in the log) and
          // their responses are dropped with the connection. Only a Produce with acks 1 or -1 ever has requests
          // started behind it, and it closes the connection only when its body does not decode; an acks=0
          // Produce, the one that closes after an error, has none.
          await Promise.allSettled(this.inFlight.map((f) => f.outcome));
          for (const f of this.inFlight) {
            this.queuedBytes -= f.frameBytes;
            this.releaseFrame(f.frameBytes);
          }
          this.inFlight.length = 0;
          break;
        }
        const throttleTimeMs = outcome.kind === 'close' ? 0 : (outcome.throttleTimeMs ?? 0);
        if (throttleTimeMs > 0) this.throttle(throttleTimeMs);
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
      if (!this.stopping && this.cancelMemoryWait === null && this.throttleTimer === null && !this.admissionPending) this.socket.resume();
    }
  }

  private makeAuthenticator(sasl: ConnectionSaslOptions): SaslAuthenticator {
    const counters = this.counters;
    return new SaslAuthenticator({
      enabledMechanisms: sasl.enabledMechanisms,
      credentials: sasl.credentials,
      connectionsMaxReauthMs: sasl.connectionsMaxReauthMs,
      logger: this.baseLog,
      dispatchApiVersions: (frame) => dispatch(frame, (header, closeAfter) => this.makeContext(header, closeAfter)),
      onAuthenticated: (reauthentication) => {
        if (reauthentication) counters.successfulReauthentications++;
        else counters.successfulAuthentications++;
      },
      onFailed: (reauthentication) => {
        if (reauthentication) counters.failedReauthentications++;
        else counters.failedAuthentications++;
      },
    });
  }

  /** A frame on a SASL listener: to the authenticator until it completes, then the re-authentication and expiry checks. */
  private async authenticateFrame(auth: SaslAuthenticator, frame: Buffer): Promise<DispatchOutcome | undefined> {
    if (auth.isComplete) {
      const now = Date.now();
      if (frame.length >= 2 && frame.readInt16BE(0) === ApiKey.SaslHandshake && auth.maybeBeginReauthentication(now)) {
        this.frameReader.maxFrameBytes = Math.min(this.maxQueuedBytes, this.saslMaxReceiveBytes);
      } else if (auth.sessionExpired(now)) {
        this.counters.expiredConnectionsKilled++;
        return { kind: 'close', reason: 'SASL session expired (connections.max.reauth.ms); disconnecting expired channel', quiet: true };
      } else {
        return undefined;
      }
    }
    const outcome = await auth.handleFrame(frame);
    if (auth.isComplete) {
      this.principal = auth.principal;
      this.frameReader.maxFrameBytes = this.maxQueuedBytes;
    }
    return outcome;
  }

  /** Runs one request; null when it failed so badly that the connection must close (logged here). */
  private async dispatchFrame(frame: Buffer, _sequence: number): Promise<DispatchOutcome | null> {
    try {
      if (this.auth !== null) {
        const outcome = await this.authenticateFrame(this.auth, frame);
        if (outcome !== undefined) return outcome;
      }
      return await dispatch(frame, (header, closeAfter) => this.makeContext(header, closeAfter));
    } catch (err) {
      this.log.error({ err }, 'failed to process request; closing connection');
      return null;
    }
  }

  /** Writes the response of one request. Returns false when the connection must close. */
  private async respond(outcome: DispatchOutcome): Promise<boolean> {
    if (outcome.kind === 'close') {
      if (outcome.quiet === true) {
        this.log.info({ reason: outcome.reason, apiKey: outcome.header?.requestApiKey, apiVersion: outcome.header?.requestApiVersion }, 'closing connection');
        return false;
      }
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
      principal: this.principal,
      listenerName: this.listenerName,
      securityProtocol: this.securityProtocol,
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
    this.unwrittenBytes = this.socket.writableLength;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.unwrittenBytes = 0;
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
    this.discardQueue();
    this.releaseReading();
    this.socket.end();
    // end() waits for the peer; don't keep half-closed sockets around.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  /** Stops reading for good: the partial frame's memory goes back to the pool, no timer or memory wait is left. */
  private releaseReading(): number {
    const buffered = this.frameReader.discard();
    this.reservedBytes -= buffered;
    this.pool.release(buffered);
    if (this.readTimer !== null) {
      clearTimeout(this.readTimer);
      this.readTimer = null;
    }
    if (this.throttleTimer !== null) {
      clearTimeout(this.throttleTimer);
      this.throttleTimer = null;
    }
    if (this.cancelMemoryWait !== null) {
      this.cancelMemoryWait();
      this.cancelMemoryWait = null;
    }
    return buffered;
  }

  private onSocketClosed(): void {
    this.closed = true;
    const queued = this.queuedBytes;
    this.discardQueue();
    this.onMemoryDropped(this.unwrittenBytes + queued + this.releaseReading());
    this.log.debug('connection closed');
    this.onClosed(this);
  }
}
