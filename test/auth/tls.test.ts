// TLS listeners: SSL with mTLS (required and requested), SASL_SSL, and the wrong protocol on each port. The
// certificates are made with openssl in a temp dir for this file.
import { afterAll, beforeAll, afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { RawClient, authenticate, makeCertificates, pem, type TestCertificates } from './support.js';

let certs: TestCertificates;
let tb: TestBroker | undefined;
let clients: RawClient[] = [];
let logLines: any[] = [];

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const c of clients) c.close();
  clients = [];
  await tb?.stop();
  tb = undefined;
  logLines = [];
});

function capturingLogger() {
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logLines.push(JSON.parse(line));
      done();
    },
  });
  return pino({ level: 'debug' }, stream);
}

async function start(clientAuth: 'required' | 'requested' | 'none', listeners = 'SSL://127.0.0.1:0,PLAINTEXT://127.0.0.1:0'): Promise<TestBroker> {
  tb = await startTestBroker({
    listeners,
    sslCertFile: certs.serverCert,
    sslKeyFile: certs.serverKey,
    sslCaFile: certs.caCert,
    sslClientAuth: clientAuth,
    saslUser: ['alice:alice-secret'],
    logger: capturingLogger(),
  });
  return tb;
}

const port = (name: string) => tb!.broker.listeners.find((l) => l.name === name)!.port;

async function tlsClient(name: string, options: Parameters<typeof RawClient.connectTls>[1] = {}): Promise<RawClient> {
  const c = await RawClient.connectTls(port(name), { ca: pem(certs.caCert), ...options });
  clients.push(c);
  return c;
}

/** Resolves with the error of a TLS connection the server refuses (or 'closed' when it closes after the handshake). */
function refusedTls(name: string, options: Parameters<typeof RawClient.connectTls>[1]): Promise<string> {
  return new Promise((resolve) => {
    RawClient.connectTls(port(name), { ca: pem(certs.caCert), ...options }).then(
      async (c) => {
        clients.push(c);
        // TLS 1.3: the client may finish its side before the server refuses the certificate.
        try {
          await c.send(ApiKey.ApiVersions, 0);
          resolve('answered');
        } catch {
          resolve('closed');
        }
      },
      (err: Error) => resolve(err.message),
    );
  });
}

describe('SSL listener with ssl.client.auth=required', () => {
  it('accepts a client certificate signed by the CA, and its subject DN (RFC 2253) is the principal', async () => {
    await start('required');
    const c = await tlsClient('SSL', { cert: pem(certs.clientCert), key: pem(certs.clientKey) });
    const metadata = await c.send(ApiKey.Metadata, 12, { topics: null });
    expect(metadata.brokers[0].port).toBe(port('SSL'));
    const opened = logLines.filter((l) => l.msg === 'connection opened' && l.listener === 'SSL');
    expect(opened.map((l) => l.principal)).toEqual(['User:CN=alice,OU=Tests,O=Eddy,C=US']);
  });

  it('refuses a client without a certificate and one with a self-signed certificate; the broker keeps serving', async () => {
    await start('required');
    expect(await refusedTls('SSL', {})).not.toBe('answered');
    expect(await refusedTls('SSL', { cert: pem(certs.rogueCert), key: pem(certs.rogueKey) })).not.toBe('answered');
    const good = await tlsClient('SSL', { cert: pem(certs.clientCert), key: pem(certs.clientKey) });
    expect((await good.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    expect(tb!.broker.stats().server.tlsHandshakeFailures).toBeGreaterThanOrEqual(2);
  });
});

describe('SSL listener with ssl.client.auth=requested and none', () => {
  it('requested: a client without a certificate is User:ANONYMOUS, one with a signed certificate is its DN, a self-signed one is refused', async () => {
    await start('requested');
    const anonymous = await tlsClient('SSL');
    await anonymous.send(ApiKey.ApiVersions, 0);
    const signed = await tlsClient('SSL', { cert: pem(certs.clientCert), key: pem(certs.clientKey) });
    await signed.send(ApiKey.ApiVersions, 0);
    expect(logLines.filter((l) => l.msg === 'connection opened').map((l) => l.principal)).toEqual(['User:ANONYMOUS', 'User:CN=alice,OU=Tests,O=Eddy,C=US']);
    expect(await refusedTls('SSL', { cert: pem(certs.rogueCert), key: pem(certs.rogueKey) })).not.toBe('answered');
  });

  it('none: the client is not asked for a certificate and is User:ANONYMOUS', async () => {
    await start('none');
    const c = await tlsClient('SSL', { cert: pem(certs.clientCert), key: pem(certs.clientKey) });
    await c.send(ApiKey.ApiVersions, 0);
    expect(logLines.find((l) => l.msg === 'connection opened')?.principal).toBe('User:ANONYMOUS');
  });
});

describe('SASL_SSL', () => {
  it('SCRAM-SHA-512 over TLS authenticates; the principal is the SASL user', async () => {
    await start('none', 'SASL_SSL://127.0.0.1:0');
    const c = await tlsClient('SASL_SSL');
    expect((await authenticate(c, 'SCRAM-SHA-512', 'alice', 'alice-secret')).errorCode).toBe(0);
    expect((await c.send(ApiKey.Metadata, 12, { topics: null })).brokers[0].port).toBe(port('SASL_SSL'));
    expect(logLines.find((l) => l.msg === 'SASL authentication complete')?.principal).toBe('User:alice');
  });
});

describe('the wrong protocol on a port', () => {
  it('a TLS ClientHello on the plaintext port closes that connection; the broker and other connections are fine', async () => {
    await start('none');
    const plain = await TestClient.connect(port('PLAINTEXT'));
    await plain.send(ApiKey.ApiVersions, 0);
    const hello = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port('PLAINTEXT'), '127.0.0.1');
      // A real ClientHello: let node:tls write it, then see the broker close the socket.
      const tlsSocket = tls.connect({ socket, servername: 'localhost', ca: pem(certs.caCert) });
      tlsSocket.on('error', () => undefined);
      socket.on('close', () => resolve(true));
      setTimeout(() => resolve(false), 5000).unref();
    });
    expect(hello).toBe(true);
    expect((await plain.send(ApiKey.Metadata, 1, { topics: [] })).brokers).toHaveLength(1);
    plain.close();
  });

  it('plaintext Kafka bytes on the TLS port fail the handshake: closed, counted, broker fine', async () => {
    await start('none');
    const raw = await RawClient.connect(port('SSL'));
    clients.push(raw);
    raw.writeRaw(TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 1));
    expect(await raw.closesWithin()).toBe(true);
    expect(tb!.broker.stats().server.tlsHandshakeFailures).toBe(1);
    const good = await tlsClient('SSL');
    expect((await good.send(ApiKey.ApiVersions, 0)).errorCode).toBe(0);
  });
});
