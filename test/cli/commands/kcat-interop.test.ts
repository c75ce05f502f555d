// The CLI's record batches against librdkafka (kcat): what `eddy produce` writes kcat reads, and what kcat writes
// with each compression codec `eddy consume` decodes.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../../src/client/client.js';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { ensureBuilt, runCli } from './run-cli.js';

let broker: TestBroker;
let b: string[];
let client: KafkaClient;

beforeAll(async () => {
  ensureBuilt();
  broker = await startTestBroker();
  b = ['--bootstrap', `127.0.0.1:${broker.port}`];
  client = new KafkaClient({ bootstrap: `127.0.0.1:${broker.port}` });
}, 150_000);

afterAll(async () => {
  await client?.close();
  await broker?.stop();
});

function kcat(args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', `127.0.0.1:${broker.port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kcat ${args.join(' ')} timed out: ${stderr}`));
    }, 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function createTopic(name: string): Promise<void> {
  const [r] = await client.createTopics([{ name, numPartitions: 1, replicationFactor: 1, configs: {} }]);
  expect(r!.errorCode).toBe(0);
}

describe('eddy CLI with kcat', () => {
  it.each(['none', 'gzip'])('kcat reads what eddy produce wrote (%s), keys and headers included', async (compression) => {
    const topic = `to-kcat-${compression}`;
    await createTopic(topic);
    const produced = await runCli(['produce', topic, '--key-separator', '=', '--header', 'h=1', '--compression', compression, ...b], { input: 'k1=v1\nk2=v2\n' });
    expect(produced.status).toBe(0);
    const r = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%k|%s|%h|%o\n']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('k1|v1|h=1|0\nk2|v2|h=1|1\n');
  });

  it.each(['gzip', 'snappy', 'lz4', 'zstd'])('eddy consume decodes what kcat produced with %s', async (codec) => {
    const topic = `from-kcat-${codec}`;
    await createTopic(topic);
    const p = await kcat(['-P', '-t', topic, '-z', codec, '-K', ':'], 'a:alpha\nb:beta\nc:gamma\n');
    expect(p.status).toBe(0);
    const r = await runCli(['consume', topic, '--from-beginning', '--format', '%o %k %v\\n', ...b]);
    expect(r).toMatchObject({ status: 0, stderr: '', stdout: '0 a alpha\n1 b beta\n2 c gamma\n' });
  });
});
