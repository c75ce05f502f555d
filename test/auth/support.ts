// Test support for the security tests: a raw Kafka client over TCP or TLS that can also send raw SASL tokens
// (KIP-43 v0 flow), a SCRAM client (RFC 5802) built on node:crypto, and openssl-made certificates.
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { readResponseHeader, responseHeaderVersion } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { FrameReader } from '../../src/server/frame-reader.js';
import { TestClient } from '../helpers/kafka-test-client.js';

type Waiter = { resolve: (frame: Buffer) => void; reject: (err: Error) => void };

/** One socket; frames in order. Each request/response helper waits for the next frame. */
export class RawClient {
  private readonly frames: Buffer[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly reader = new FrameReader(1 << 30);
  private nextCorrelationId = 1;
  isClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk, (frame) => this.onFrame(frame)));
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters.splice(0)) w.reject(new Error('connection closed'));
        resolve();
      }),
    );
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  static connectTls(port: number, options: tls.ConnectionOptions = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  private onFrame(frame: Buffer): void {
    const w = this.waiters.shift();
    if (w !== undefined) w.resolve(frame);
    else this.frames.push(frame);
  }

  nextFrame(timeoutMs = 5000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.isClosed) return Promise.reject(new Error('connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame in time')), timeoutMs);
      this.waiters.push({
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Sends a typed request (make…Request defaults overridden by fields); resolves with the decoded response. */
  async send<T = any>(apiKey: number, apiVersion: number, fields: Record<string, unknown> = {}): Promise<T> {
    const codec = API_CODECS.get(apiKey)!;
    const correlationId = this.nextCorrelationId++;
    this.socket.write(TestClient.encodeRequest(apiKey, apiVersion, { ...codec.makeRequest(), ...fields }, correlationId));
    const frame = await this.nextFrame();
    const r = new Reader(frame);
    const header = readResponseHeader(r, responseHeaderVersion(apiKey, apiVersion));
    if (header.correlationId !== correlationId) throw new Error(`correlation id ${header.correlationId}, expected ${correlationId}`);
    return codec.readResponse(r, apiVersion) as T;
  }

  /** A raw size-prefixed token (SaslHandshake v0 flow); resolves with the raw answer token. */
  async sendToken(token: Buffer): Promise<Buffer> {
    this.writeToken(token);
    return this.nextFrame();
  }

  writeToken(token: Buffer): void {
    const size = Buffer.alloc(4);
    size.writeInt32BE(token.length, 0);
    this.socket.write(Buffer.concat([size, token]));
  }

  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves true if the broker closes the connection within timeoutMs. */
  async closesWithin(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}

// ---- SCRAM client (RFC 5802) ----------------------------------------------------------------------------------

export type ScramHash = 'sha256' | 'sha512';

export class ScramClient {
  readonly clientNonce = randomBytes(18).toString('base64').replace(/[+/=]/g, 'x');
  private serverFirst = '';
  private authMessage = '';
  private saltedPassword = Buffer.alloc(0);

  constructor(
    readonly hash: ScramHash,
    readonly user: string,
    readonly password: string,
  ) {}

  get clientFirstBare(): string {
    return `n=${this.user.replaceAll('=', '=3D').replaceAll(',', '=2C')},r=${this.clientNonce}`;
  }

  clientFirst(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  /** The client-final message for the server-first; `nonceOverride` sends a wrong nonce. */
  clientFinal(serverFirst: Buffer, nonceOverride?: string): Buffer {
    this.serverFirst = serverFirst.toString();
    const fields = Object.fromEntries(this.serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    const nonce = nonceOverride ?? fields.r!;
    const salt = Buffer.from(fields.s!, 'base64');
    const iterations = Number(fields.i);
    const keyBytes = this.hash === 'sha256' ? 32 : 64;
    this.saltedPassword = pbkdf2Sync(this.password, salt, iterations, keyBytes, this.hash);
    const withoutProof = `c=biws,r=${nonce}`;
    this.authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientKey = createHmac(this.hash, this.saltedPassword).update('Client Key').digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const signature = createHmac(this.hash, storedKey).update(this.authMessage).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /** True when the server-final carries the expected server signature. */
  verifyServerFinal(serverFinal: Buffer): boolean {
    const serverKey = createHmac(this.hash, this.saltedPassword).update('Server Key').digest();
    const expected = createHmac(this.hash, serverKey).update(this.authMessage).digest('base64');
    return serverFinal.toString() === `v=${expected}`;
  }
}

export function plainToken(user: string, password: string, authzid = ''): Buffer {
  return Buffer.from(`${authzid}\u0000${user}\u0000${password}`);
}

/** SaslHandshake v1 + SaslAuthenticate exchange; resolves with the last SaslAuthenticate response. */
export async function authenticate(client: RawClient, mechanism: string, user: string, password: string, authenticateVersion = 2): Promise<any> {
  const handshake = await client.send(ApiKey.SaslHandshake, 1, { mechanism });
  if (handshake.errorCode !== 0) return handshake;
  if (mechanism === 'PLAIN') return client.send(ApiKey.SaslAuthenticate, authenticateVersion, { authBytes: plainToken(user, password) });
  const scram = new ScramClient(mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', user, password);
  const first = await client.send(ApiKey.SaslAuthenticate, authenticateVersion, { authBytes: scram.clientFirst() });
  if (first.errorCode !== 0) return first;
  const final = await client.send(ApiKey.SaslAuthenticate, authenticateVersion, { authBytes: scram.clientFinal(first.authBytes) });
  if (final.errorCode === 0 && !scram.verifyServerFinal(final.authBytes)) throw new Error('server signature did not verify');
  return final;
}

// ---- certificates (openssl) ---------------------------------------------------------------------------------

export interface TestCertificates {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** Signed by the CA, subject /C=US/O=Eddy/OU=Tests/CN=alice. */
  clientCert: string;
  clientKey: string;
  /** Self-signed, not by the CA. */
  rogueCert: string;
  rogueKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A CA, a server certificate for localhost/127.0.0.1, a client certificate it signed and a self-signed one. */
export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-certs-'));
  const days = ['-days', '2'];
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=Eddy Test CA', ...days], dir);
  writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-extfile', 'server.ext', ...days], dir);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/C=US/O=Eddy/OU=Tests/CN=alice'], dir);
  openssl(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.crt', ...days], dir);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.crt', '-subj', '/CN=mallory', ...days], dir);
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
    rogueCert: p('rogue.crt'),
    rogueKey: p('rogue.key'),
  };
}

export function pem(file: string): Buffer {
  return readFileSync(file);
}
