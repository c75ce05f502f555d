// The start-time checks of security-setup.ts: ssl.client.auth without ssl CA file. Kafka (DefaultSslEngineFactory
// getTrustManagers: TrustManagerFactory.init(null)) then trusts the JVM's default CA certificates and starts; Eddy
// does the same with Node's bundled public roots, and logs a warning saying so.
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { RawClient, makeCertificates, pem, type TestCertificates } from '../auth/support.js';

let certs: TestCertificates;
let tb: TestBroker | undefined;

beforeAll(() => {
  certs = makeCertificates();
});
afterAll(() => rmSync(certs.dir, { recursive: true, force: true }));
afterEach(async () => {
  await tb?.stop();
  tb = undefined;
});

async function startCapturing(options: { sslClientAuth: 'required' | 'requested' | 'none'; sslCaFile?: string }): Promise<any[]> {
  const lines: any[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  tb = await startTestBroker({
    listeners: 'SSL://127.0.0.1:0',
    sslCertFile: certs.serverCert,
    sslKeyFile: certs.serverKey,
    ...options,
    logger: pino({ level: 'info' }, stream),
  });
  return lines;
}

const warningsAboutPublicRoots = (lines: any[]) => lines.filter((l) => l.level === 40 && /ssl\.client\.auth/.test(l.msg) && /public/.test(l.msg));

describe('ssl.client.auth without an ssl CA file', () => {
  it('ssl.client.auth=required without sslCaFile starts (as Kafka does) and logs a warning that any publicly trusted certificate is accepted', async () => {
    const lines = await startCapturing({ sslClientAuth: 'required' });
    const warnings = warningsAboutPublicRoots(lines);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ sslClientAuth: 'required', listeners: ['SSL'] });
    // The listener runs: a client certificate signed by the test CA (not a public root) is refused in the handshake.
    const port = tb!.broker.listeners[0]!.port;
    await expect(RawClient.connectTls(port, { ca: pem(certs.caCert), cert: pem(certs.clientCert), key: pem(certs.clientKey) }).then((c) => c.nextFrame(2000))).rejects.toThrow();
  });

  it('ssl.client.auth=requested without sslCaFile logs the warning too', async () => {
    const lines = await startCapturing({ sslClientAuth: 'requested' });
    expect(warningsAboutPublicRoots(lines)).toHaveLength(1);
  });

  it('no warning with an sslCaFile, or with ssl.client.auth=none', async () => {
    expect(warningsAboutPublicRoots(await startCapturing({ sslClientAuth: 'required', sslCaFile: certs.caCert }))).toEqual([]);
    await tb!.stop();
    tb = undefined;
    expect(warningsAboutPublicRoots(await startCapturing({ sslClientAuth: 'none' }))).toEqual([]);
  });
});
