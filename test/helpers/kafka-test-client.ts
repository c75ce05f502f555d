// A small Kafka client built on our own generated codec, for handler and server tests: it sends typed requests,
// or raw bytes, over a real TCP socket and decodes the responses in order.
import net from 'node:net';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import { readResponseHeader, requestHeaderVersion, responseHeaderVersion, writeRequestHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { FrameReader } from '../../src/server/frame-reader.js';

interface Pending {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  resolve: (body: any) => void;
  reject: (err: Error) => void;
}

export class TestClient {
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private readonly frames = new FrameReader(1 << 30);
  readonly closed: Promise<void>;
  private isClosed = false;

  private constructor(readonly socket: net.Socket, readonly clientId: string | null) {
    socket.on('data', (chunk: Buffer) => {
      this.frames.push(chunk, (frame) => this.onFrame(frame));
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const p of this.pending.splice(0)) p.reject(new Error('connection closed'));
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, clientId: string | null = 'eddy-test'): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new TestClient(socket, clientId)));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Encodes a full request frame (size prefix included). */
  static encodeRequest(apiKey: number, apiVersion: number, body: unknown, correlationId: number, clientId: string | null = 'eddy-test'): Buffer {
    const codec = API_CODECS.get(apiKey)!;
    const w = new Writer();
    w.writeInt32(0);
    writeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId }, requestHeaderVersion(apiKey, apiVersion));
    codec.writeRequest(w, apiVersion, body);
    const buf = w.toBuffer();
    buf.writeInt32BE(buf.length - 4, 0);
    return buf;
  }

  /** Sends a request built from `make…Request()` defaults overridden by `fields`; resolves with the decoded response. */
  send<T = any>(apiKey: number, apiVersion: number, fields: Record<string, unknown> = {}): Promise<T> {
    const codec = API_CODECS.get(apiKey)!;
    const body = { ...codec.makeRequest(), ...fields };
    const correlationId = this.nextCorrelationId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.push({ apiKey, apiVersion, correlationId, resolve, reject });
    });
    this.socket.write(TestClient.encodeRequest(apiKey, apiVersion, body, correlationId, this.clientId));
    return promise;
  }

  /** Sends a request that gets no response (Produce acks=0). */
  sendNoResponse(apiKey: number, apiVersion: number, fields: Record<string, unknown> = {}): void {
    const codec = API_CODECS.get(apiKey)!;
    this.socket.write(TestClient.encodeRequest(apiKey, apiVersion, { ...codec.makeRequest(), ...fields }, this.nextCorrelationId++, this.clientId));
  }

  /** Expects the next response to be decoded with a different version/header than requested (ApiVersions fallback). */
  sendExpecting<T = any>(apiKey: number, apiVersion: number, fields: Record<string, unknown>, responseVersion: number): Promise<T> {
    const codec = API_CODECS.get(apiKey)!;
    const correlationId = this.nextCorrelationId++;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.push({ apiKey, apiVersion: responseVersion, correlationId, resolve, reject });
    });
    this.socket.write(TestClient.encodeRequest(apiKey, apiVersion, { ...codec.makeRequest(), ...fields }, correlationId, this.clientId));
    return promise;
  }

  /**
   * Sends a captured request body (header included, no size prefix) as is; resolves with its response decoded at
   * `responseVersion` (the request's own version unless the broker answers with another, as ApiVersions may).
   */
  sendFrame<T = any>(body: Buffer, apiKey: number, apiVersion: number, correlationId: number, responseVersion = apiVersion): Promise<T> {
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.push({ apiKey, apiVersion: responseVersion, correlationId, resolve, reject });
    });
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    this.socket.write(Buffer.concat([size, body]));
    return promise;
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    const p = this.pending.shift();
    if (p === undefined) throw new Error('unexpected response frame');
    try {
      const r = new Reader(frame);
      const header = readResponseHeader(r, responseHeaderVersion(p.apiKey, p.apiVersion));
      if (header.correlationId !== p.correlationId) {
        throw new Error(`correlation id ${header.correlationId}, expected ${p.correlationId}`);
      }
      const body = API_CODECS.get(p.apiKey)!.readResponse(r, p.apiVersion);
      if (r.remaining() !== 0) throw new Error(`${r.remaining()} trailing bytes in response`);
      p.resolve(body);
    } catch (err) {
      p.reject(err as Error);
    }
  }
}
