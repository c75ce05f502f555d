// One TCP connection to one broker: framing, correlation ids, responses matched in order, and the ApiVersions
// handshake that fixes the version used for each API on this connection.
//
// - Kafka answers the requests of one connection strictly in the order they were sent (the broker handles one at
//   a time per connection), so pending requests are a FIFO queue and each response must carry the correlation id
//   at the head of the queue; anything else is a protocol violation and closes the connection.
// - Produce with acks=0 gets no response: it is written without entering the queue.
// - Version negotiation (KIP-35, KIP-511): the first request is ApiVersions at the highest version our codec knows.
//   A broker that does not know that version answers in v0 with UNSUPPORTED_VERSION and its own ApiVersions range,
//   and the client asks again at the highest version both sides know (Java's NetworkClient does the same). For each
//   API the connection then uses min(our codec's max, the broker's max), provided it is not below
//   max(our min, the broker's min, the caller's floor); otherwise the API is unusable (UnsupportedApiError).
import net from 'node:net';
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';
import { readResponseHeader, requestHeaderVersion, responseHeaderVersion, writeRequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { FrameReader } from '../server/frame-reader.js';
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import { ConnectionError, KafkaClientError, UnsupportedApiError } from './errors.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  connectTimeoutMs?: number;
  /** Time allowed for each response (Fetch adds its maxWaitMs to it). */
  requestTimeoutMs?: number;
}

interface Pending {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  resolve: (body: any) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** The broker's range for one API. */
export interface VersionRange {
  minVersion: number;
  maxVersion: number;
}

const SOFTWARE_VERSION = '0.1.0';
/** Largest response frame accepted (Kafka's clients have no limit; this guards against garbage lengths). */
const MAX_RESPONSE_BYTES = 1 << 30;

export class Connection {
  readonly host: string;
  readonly port: number;
  readonly clientId: string;
  /** The broker's advertised ranges, by API key (filled by the ApiVersions handshake). */
  readonly brokerVersions = new Map<number, VersionRange>();
  private readonly requestTimeoutMs: number;
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closedError: Error | undefined;
  // The broker's frame reader: each frame body is its own buffer (or a slice of a chunk), so decoded byte
  // fields (records) may outlive the next chunk.
  private readonly frames = new FrameReader(MAX_RESPONSE_BYTES);

  private constructor(private readonly socket: net.Socket, options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId ?? 'eddy-cli';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(new ConnectionError(this.host, this.port, err.code ?? err.message, 'connection to'));
    });
    socket.on('close', () => this.fail(new ConnectionError(this.host, this.port, 'connection closed by the broker', 'connection to')));
  }

  /** Opens the socket and runs the ApiVersions handshake. */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(options.host, options.port, 'ETIMEDOUT'));
      }, options.connectTimeoutMs ?? 10_000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new ConnectionError(options.host, options.port, err.code ?? err.message));
      });
    });
    socket.setNoDelay(true);
    const conn = new Connection(socket, options);
    try {
      await conn.negotiateVersions();
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get isOpen(): boolean {
    return this.closedError === undefined;
  }

  /**
   * The version this connection uses for `apiKey`: the highest both our codec and the broker know, at least
   * `minVersion` (the oldest version the caller can work with). Throws UnsupportedApiError when there is none.
   */
  versionFor(apiKey: number, minVersion = 0): number {
    const codec = API_CODECS.get(apiKey);
    const name = codec?.name ?? `API ${apiKey}`;
    const broker = this.brokerVersions.get(apiKey);
    if (codec === undefined || broker === undefined) throw new UnsupportedApiError(name, 'is not supported by the broker');
    const version = Math.min(codec.maxVersion, broker.maxVersion);
    if (version < Math.max(codec.minVersion, broker.minVersion, minVersion)) {
      throw new UnsupportedApiError(name, `v${Math.max(codec.minVersion, minVersion)}+ is not supported by the broker (it offers v${broker.minVersion}-v${broker.maxVersion})`);
    }
    return version;
  }

  /** True when the broker offers `apiKey` at a version we can use. */
  supports(apiKey: number, minVersion = 0): boolean {
    try {
      this.versionFor(apiKey, minVersion);
      return true;
    } catch {
      return false;
    }
  }

  /** Sends a request at `apiVersion` and resolves with its decoded response. */
  send<T = any>(apiKey: number, apiVersion: number, body: unknown, extraTimeoutMs = 0): Promise<T> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    const correlationId = this.nextId();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new ConnectionError(this.host, this.port, `no response to ${API_CODECS.get(apiKey)?.name ?? apiKey} within ${this.requestTimeoutMs + extraTimeoutMs} ms`, 'request to'));
      }, this.requestTimeoutMs + extraTimeoutMs);
      this.pending.push({ apiKey, apiVersion, correlationId, resolve, reject, timer });
      this.write(apiKey, apiVersion, body, correlationId);
    });
  }

  /** Sends a request that gets no response (Produce with acks=0); resolves once the bytes are handed to the OS. */
  sendNoResponse(apiKey: number, apiVersion: number, body: unknown): Promise<void> {
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.write(apiKey, apiVersion, body, this.nextId(), (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Closes after the bytes already written have been sent. */
  async end(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
      setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, 2_000).unref();
    });
  }

  close(): void {
    this.fail(new ConnectionError(this.host, this.port, 'connection closed', 'connection to'));
  }

  private nextId(): number {
    const id = this.nextCorrelationId;
    this.nextCorrelationId = id === 0x7fffffff ? 1 : id + 1;
    return id;
  }

  private write(apiKey: number, apiVersion: number, body: unknown, correlationId: number, cb?: (err?: Error | null) => void): void {
    const codec = API_CODECS.get(apiKey)!;
    const w = new Writer();
    w.writeInt32(0);
    writeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId: this.clientId }, requestHeaderVersion(apiKey, apiVersion));
    codec.writeRequest(w, apiVersion, body);
    const chunks = w.toBuffers();
    chunks[0]!.writeInt32BE(w.length - 4, 0);
    for (let i = 0; i < chunks.length; i++) {
      this.socket.write(chunks[i]!, i === chunks.length - 1 ? cb : undefined);
    }
  }

  private async negotiateVersions(): Promise<void> {
    const codec = API_CODECS.get(ApiKey.ApiVersions)!;
    let version = codec.maxVersion;
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await this.send<ApiVersionsResponse>(ApiKey.ApiVersions, version, {
        ...codec.makeRequest(),
        clientSoftwareName: 'eddy-cli',
        clientSoftwareVersion: SOFTWARE_VERSION,
      });
      if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION && attempt === 0) {
        const own = res.apiKeys.find((k) => k.apiKey === ApiKey.ApiVersions);
        version = Math.min(codec.maxVersion, own?.maxVersion ?? 0);
        continue;
      }
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaClientError(res.errorCode);
      for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, { minVersion: k.minVersion, maxVersion: k.maxVersion });
      return;
    }
  }

  private onData(chunk: Buffer): void {
    const violation = this.frames.push(chunk, (frame) => {
      if (this.closedError === undefined) this.onFrame(frame);
    });
    if (violation) this.protocolError(`response frame of ${violation.size} bytes`);
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending.shift();
    if (p === undefined) {
      this.protocolError('a response arrived with no request pending');
      return;
    }
    clearTimeout(p.timer);
    let body: unknown;
    try {
      const r = new Reader(frame);
      const header = readResponseHeader(r, responseHeaderVersion(p.apiKey, p.apiVersion));
      if (header.correlationId !== p.correlationId) {
        p.reject(new ConnectionError(this.host, this.port, `response correlation id ${header.correlationId}, expected ${p.correlationId}`, 'protocol error on'));
        this.protocolError('out-of-order response');
        return;
      }
      // An ApiVersions request at a version the broker does not know is answered in v0 (KIP-511).
      const version = p.apiKey === ApiKey.ApiVersions && r.remaining() >= 2 && frame.readInt16BE(r.offset) === ErrorCode.UNSUPPORTED_VERSION ? 0 : p.apiVersion;
      body = API_CODECS.get(p.apiKey)!.readResponse(r, version);
    } catch (err) {
      p.reject(new ConnectionError(this.host, this.port, `undecodable ${API_CODECS.get(p.apiKey)?.name} v${p.apiVersion} response: ${(err as Error).message}`, 'protocol error on'));
      return;
    }
    p.resolve(body);
  }

  private protocolError(reason: string): void {
    this.fail(new ConnectionError(this.host, this.port, reason, 'protocol error on'));
  }

  private fail(err: Error): void {
    if (this.closedError === undefined) this.closedError = err;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
