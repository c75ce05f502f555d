// The security section of `npm run bench` (issue 13): produce and consume throughput over TLS and SASL_SSL next
// to plaintext. One broker process (compiled JS) with three listeners — PLAINTEXT, SSL and SASL_SSL
// (SCRAM-SHA-512) — and certificates openssl makes for the run. Per listener, kcat (librdkafka) produces
// `messages` messages of `messageBytes` bytes (acks=1, linger 5 ms, no compression) into a fresh one-partition
// topic, then a second kcat reads them all back (-e). Throughput = payload bytes / wall time of each kcat run, so
// it includes kcat's own start, connect and TLS/SASL handshake (a few ms). Bounded: one produce and one consume
// per listener.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeCertificates } from '../../test/auth/support.js';
import { startBroker } from './broker-process.js';
import { run } from './proc.js';

export interface SecurityBenchOptions {
  tmpRoot: string;
  mainJs?: string;
  messages: number;
  messageBytes: number;
  log: (line: string) => void;
}

export interface SecurityCase {
  listener: string;
  produceMBps: number;
  produceMsgsPerSec: number;
  consumeMBps: number;
  consumeMsgsPerSec: number;
}

export type SecurityBenchResult = { messages: number; messageBytes: number; cases: SecurityCase[] } | { error: string };

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function securityBench(options: SecurityBenchOptions): Promise<SecurityBenchResult> {
  const dir = mkdtempSync(path.join(options.tmpRoot, 'security-'));
  const certs = makeCertificates();
  const ports = { PLAINTEXT: await freePort(), SSL: await freePort(), SASL_SSL: await freePort() };
  const broker = await startBroker({
    dataDir: path.join(dir, 'data'),
    mainJs: options.mainJs,
    extraArgs: [
      '--listeners',
      Object.entries(ports).map(([name, port]) => `${name}://127.0.0.1:${port}`).join(','),
      '--ssl-cert-file',
      certs.serverCert,
      '--ssl-key-file',
      certs.serverKey,
      '--sasl-user',
      'bench:bench-secret',
    ],
  });
  try {
    const input = path.join(dir, 'input.txt');
    const payload = 'x'.repeat(options.messageBytes);
    writeFileSync(input, `${Array.from({ length: options.messages }, () => payload).join('\n')}\n`);
    const totalMB = (options.messages * options.messageBytes) / 1e6;
    const cases: SecurityCase[] = [];
    for (const [listener, port] of Object.entries(ports)) {
      const args = ['-b', `127.0.0.1:${port}`, '-X', `security.protocol=${listener}`];
      if (listener !== 'PLAINTEXT') args.push('-X', `ssl.ca.location=${certs.caCert}`, '-X', 'ssl.endpoint.identification.algorithm=none');
      if (listener === 'SASL_SSL') args.push('-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', 'sasl.username=bench', '-X', 'sasl.password=bench-secret');
      const topic = `security-${listener.toLowerCase()}`;
      const produced = await run('kcat', [...args, '-P', '-t', topic, '-X', 'linger.ms=5', '-X', 'acks=1', '-l', input], 300_000);
      if (produced.code !== 0) throw new Error(`kcat produce on ${listener} failed: ${produced.stderr.slice(-500)}`);
      const consumed = await run('kcat', [...args, '-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '.'], 300_000);
      const count = consumed.stdout.length; // one '.' per message (stdout is capped at 1 MiB)
      if (consumed.code !== 0 || count !== options.messages) throw new Error(`kcat consume on ${listener}: ${count} of ${options.messages} (${consumed.stderr.slice(-500)})`);
      const produceS = produced.seconds;
      const consumeS = consumed.seconds;
      const c = { listener, produceMBps: totalMB / produceS, produceMsgsPerSec: options.messages / produceS, consumeMBps: totalMB / consumeS, consumeMsgsPerSec: options.messages / consumeS };
      options.log(`security: ${listener} produce ${c.produceMBps.toFixed(1)} MB/s, consume ${c.consumeMBps.toFixed(1)} MB/s`);
      cases.push(c);
    }
    return { messages: options.messages, messageBytes: options.messageBytes, cases };
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(certs.dir, { recursive: true, force: true });
  }
}

export function renderSecurity(r: SecurityBenchResult): string[] {
  if ('error' in r) return [`security: ${r.error}`, ''];
  const n = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  return [
    `| kcat, ${n(r.messages)} x ${r.messageBytes} B, one partition, acks=1 | produce MB/s | produce msgs/s | consume MB/s | consume msgs/s |`,
    '|---|---:|---:|---:|---:|',
    ...r.cases.map((c) => `| ${c.listener}${c.listener === 'SASL_SSL' ? ' (SCRAM-SHA-512)' : ''} | ${n(c.produceMBps, 1)} | ${n(c.produceMsgsPerSec)} | ${n(c.consumeMBps, 1)} | ${n(c.consumeMsgsPerSec)} |`),
    '',
  ];
}
