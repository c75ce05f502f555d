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
// - Security (security.ts): SSL and SASL_SSL open a TLS socket (node:tls, loaded on first use so PLAINTEXT tools
//   never pay for it) and verify the broker's certificate; SASL_PLAINTEXT and SASL_SSL then authenticate right after
//   ApiVersions, as Java's SaslClientAuthenticator does: SaslHandshake v1 names the mechanism, SaslAuthenticate
//   carries each token (sasl.ts) until the mechanism completes. A failure is the broker's error code and message
//   (SASL_AUTHENTICATION_FAILED: Authentication failed during authentication due to invalid credentials with SASL
//   mechanism SCRAM-SHA-256), and the broker closes the connection. When the broker gives the session a lifetime
//   (session_lifetime_ms, KIP-368) the connection re-authenticates at 85-95% of it, as Java's client does.
// - A broker that closes the connection says little; the error adds what it most likely means:
//     closed before answering ApiVersions, over TCP    a TLS listener (security protocol SSL or SASL_SSL)
//     closed before answering ApiVersions, over TLS    a listener that wants a client certificate (mTLS)
//     closed at the first request after ApiVersions,   a SASL listener, which serves nothing before authentication
//       without SASL
//     TLS handshake fails over TLS                     the TLS error itself (certificate, alert, or a plaintext
//                                                      listener that dropped the ClientHello)
import net from 'node:net';
import type tls from 'node:tls';
import { lazyBuiltin } from '../lazy-builtin.js';
import { API_CODECS, ApiKey } from '../protocol/generated/index.js';
import { readResponseHeader, requestHeaderVersion, responseHeaderVersion, writeRequestHeader } from '../protocol/header.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { FrameReader } from '../server/frame-reader.js';
import type { ApiVersionsResponse } from '../protocol/generated/api-versions.js';
import type { SaslAuthenticateResponse } from '../protocol/generated/sasl-authenticate.js';
import type { SaslHandshakeResponse } from '../protocol/generated/sasl-handshake.js';
import { ConnectionError, KafkaClientError, UnsupportedApiError } from './errors.js';
import { createSaslClient, SaslClientError } from './sasl.js';
import { securityUsesSasl, securityUsesTls, type ClientSecurity } from './security.js';

export interface ConnectionOptions {
  host: string;
  port: number;
  clientId?: string;
  connectTimeoutMs?: number;
  /** Time allowed for each response (Fetch adds its maxWaitMs to it). */
  requestTimeoutMs?: number;
  /** PLAINTEXT when absent. */
  security?: ClientSecurity;
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
/** SaslClientAuthenticator: re-authenticate at 85% of the session lifetime plus up to 10% jitter. */
const REAUTH_WINDOW_FACTOR = 0.85;
const REAUTH_WINDOW_JITTER = 0.1;

type Phase = 'API_VERSIONS' | 'AUTHENTICATING' | 'READY';

const TLS_CLOSE_HINT = 'connection closed by the broker before answering ApiVersions: is it a TLS listener? (security protocol SSL or SASL_SSL)';
// TLS 1.3: a broker that refuses the client certificate (ssl.client.auth) may only close after the handshake.
const MTLS_CLOSE_HINT = 'connection closed by the broker before answering ApiVersions: does the listener want a client certificate its CA signed? (ssl.client.auth)';
const SASL_CLOSE_HINT =
  'connection closed by the broker at the first request after ApiVersions: is it a SASL listener? (security protocol SASL_PLAINTEXT or SASL_SSL, with a SASL mechanism, user name and password)';

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
  private readonly security: ClientSecurity;
  private phase: Phase = 'API_VERSIONS';
  /** Responses received since the connection became READY (the SASL hint only fits before the first). */
  private responsesWhenReady = 0;
  private responses = 0;
  private reauthTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly socket: net.Socket, options: ConnectionOptions) {
    this.host = options.host;
    this.port = options.port;
    this.clientId = options.clientId ?? 'eddy-cli';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.security = options.security ?? { protocol: 'PLAINTEXT' };
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.fail(new ConnectionError(this.host, this.port, socketErrorReason(err, securityUsesTls(this.security.protocol), true), 'connection to'));
    });
    socket.on('close', () => this.fail(new ConnectionError(this.host, this.port, this.closeReason(), 'connection to')));
  }

  /** Opens the socket (TLS for SSL / SASL_SSL), runs the ApiVersions handshake, then SASL for SASL_*. */
  static async connect(options: ConnectionOptions): Promise<Connection> {
    const security = options.security ?? { protocol: 'PLAINTEXT' };
    const useTls = securityUsesTls(security.protocol);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = useTls ? connectTls(options.host, options.port, security) : net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(options.host, options.port, 'ETIMEDOUT'));
      }, options.connectTimeoutMs ?? 10_000);
      s.once(useTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        s.destroy();
        reject(new ConnectionError(options.host, options.port, socketErrorReason(err, useTls)));
      });
    });
    socket.setNoDelay(true);
    const conn = new Connection(socket, options);
    try {
      await conn.negotiateVersions();
      if (securityUsesSasl(security.protocol)) {
        conn.phase = 'AUTHENTICATING';
        await conn.authenticate();
      }
      conn.phase = 'READY';
      conn.responsesWhenReady = conn.responses;
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
   * `minVersion` (the oldest version the caller can work with) and at most `maxVersion` (the newest whose shape it
   * speaks). Throws UnsupportedApiError when there is none.
   */
  versionFor(apiKey: number, minVersion = 0, maxVersion = Infinity): number {
    const codec = API_CODECS.get(apiKey);
    const name = codec?.name ?? `API ${apiKey}`;
    const broker = this.brokerVersions.get(apiKey);
    if (codec === undefined || broker === undefined) throw new UnsupportedApiError(name, 'is not supported by the broker');
    const version = Math.min(codec.maxVersion, broker.maxVersion, maxVersion);
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

  /**
   * SaslHandshake v1 + SaslAuthenticate until the mechanism completes (KIP-152); also a re-authentication on a
   * READY connection (KIP-368), whose requests queue behind those already sent.
   */
  private async authenticate(): Promise<void> {
    const credentials = this.security.sasl;
    if (credentials === undefined) throw new SaslClientError(`security protocol ${this.security.protocol} needs a SASL mechanism, user name and password`);
    const handshake = await this.send<SaslHandshakeResponse>(ApiKey.SaslHandshake, this.versionFor(ApiKey.SaslHandshake, 1), { mechanism: credentials.mechanism });
    if (handshake.errorCode === ErrorCode.UNSUPPORTED_SASL_MECHANISM) {
      throw new KafkaClientError(handshake.errorCode, `Client SASL mechanism '${credentials.mechanism}' not enabled in the server, enabled mechanisms are [${handshake.mechanisms.join(', ')}]`);
    }
    if (handshake.errorCode !== ErrorCode.NONE) throw new KafkaClientError(handshake.errorCode);
    const version = this.versionFor(ApiKey.SaslAuthenticate);
    const client = createSaslClient(credentials);
    let token: Buffer | null = client.first();
    let sessionLifetimeMs = 0n;
    // PLAIN is one round trip, SCRAM two; the bound only guards against a broker that never completes.
    for (let round = 0; token !== null; round++) {
      if (round >= 4) throw new SaslClientError(`SASL/${credentials.mechanism} did not complete in ${round} rounds`);
      const res: SaslAuthenticateResponse = await this.send<SaslAuthenticateResponse>(ApiKey.SaslAuthenticate, version, { authBytes: token });
      if (res.errorCode !== ErrorCode.NONE) throw new KafkaClientError(res.errorCode, res.errorMessage);
      sessionLifetimeMs = res.sessionLifetimeMs ?? 0n;
      token = await client.next(res.authBytes);
    }
    this.scheduleReauthentication(Number(sessionLifetimeMs));
  }

  private scheduleReauthentication(sessionLifetimeMs: number): void {
    clearTimeout(this.reauthTimer);
    this.reauthTimer = undefined;
    if (!(sessionLifetimeMs > 0) || this.closedError !== undefined) return;
    const delayMs = Math.floor(sessionLifetimeMs * (REAUTH_WINDOW_FACTOR + Math.random() * REAUTH_WINDOW_JITTER));
    this.reauthTimer = setTimeout(() => {
      this.reauthTimer = undefined;
      this.authenticate().catch((err: Error) => this.fail(err));
    }, delayMs);
    // A CLI that has finished should exit without waiting for the next re-authentication.
    this.reauthTimer.unref();
  }

  private closeReason(): string {
    if (this.phase === 'API_VERSIONS') return securityUsesTls(this.security.protocol) ? MTLS_CLOSE_HINT : TLS_CLOSE_HINT;
    if (this.phase === 'READY' && this.responses === this.responsesWhenReady && !securityUsesSasl(this.security.protocol)) return SASL_CLOSE_HINT;
    return 'connection closed by the broker';
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
    this.responses++;
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
    clearTimeout(this.reauthTimer);
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.closedError);
    }
    if (!this.socket.destroyed) this.socket.destroy();
  }
}

function connectTls(host: string, port: number, security: ClientSecurity): tls.TLSSocket {
  const t = security.tls ?? {};
  const nodeTls = lazyBuiltin<typeof import('node:tls')>('node:tls');
  return nodeTls.connect({
    host,
    port,
    // SNI takes a host name only; an IP address is still checked against the certificate's IP SANs.
    servername: net.isIP(host) === 0 ? host : undefined,
    ca: t.ca,
    cert: t.cert,
    key: t.key,
    pfx: t.pfx,
    passphrase: t.passphrase,
    rejectUnauthorized: true,
    checkServerIdentity: t.verifyHostname === false ? () => undefined : nodeTls.checkServerIdentity,
  });
}

/** The errno code, or for a TLS failure its code and OpenSSL's words (which say what went wrong). */
function socketErrorReason(err: NodeJS.ErrnoException, overTls: boolean, handshakeDone = false): string {
  if (!overTls || (handshakeDone && !err.code?.startsWith('ERR_SSL'))) return err.code ?? err.message;
  // TLS 1.3: the broker checks the client certificate after the client's handshake is done, so its alert (unknown
  // CA, certificate required) arrives as an error on the open connection.
  if (handshakeDone) return `TLS error: ${err.message}`;
  if (err.code === 'ECONNRESET' && /before secure TLS connection/.test(err.message)) {
    return 'TLS handshake failed: the broker closed the connection (is it a PLAINTEXT or SASL_PLAINTEXT listener?)';
  }
  return `TLS handshake failed: ${err.message}${err.code !== undefined && !err.message.includes(err.code) ? ` (${err.code})` : ''}`;
}
