// `eddy produce` and `eddy consume`, run as the compiled binary against an in-process broker.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../../src/client/client.js';
import { partitionForKey } from '../../../src/client/partitioner.js';
import { buildRecordBatch } from '../../../src/client/records.js';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { CLI, ensureBuilt, runCli } from './run-cli.js';

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

async function createTopic(name: string, partitions: number): Promise<void> {
  const [r] = await client.createTopics([{ name, numPartitions: partitions, replicationFactor: 1, configs: {} }]);
  expect(r!.errorCode).toBe(0);
}

describe('eddy produce → eddy consume', () => {
  it('round-trips stdin lines with keys and headers, each key on its murmur2 partition', async () => {
    await createTopic('lines', 3);
    const input = 'alice:hello world\nbob:second: with a colon\nno separator here\ncarol:\n';
    const produced = await runCli(['produce', 'lines', '--key-separator', ':', '--header', 'source=cli', '--header', 'trace=abc', ...b], { input });
    expect(produced.stderr).toBe('');
    expect(produced.status).toBe(0);
    expect(produced.stdout).toMatch(/^Produced 4 records to lines \(.+\)\.\n$/);

    const consumed = await runCli(['consume', 'lines', '--from-beginning', '--format', '%p|%k|%v|%h\\n', ...b]);
    expect(consumed).toMatchObject({ status: 0, stderr: '' });
    const lines = consumed.stdout.trimEnd().split('\n').sort();
    const p = (key: string) => partitionForKey(Buffer.from(key), 3);
    const expected = [
      `${p('alice')}|alice|hello world|source=cli,trace=abc`,
      `${p('bob')}|bob|second: with a colon|source=cli,trace=abc`,
      `${p('carol')}|carol||source=cli,trace=abc`,
    ];
    expect(lines.filter((l) => !l.includes('no separator'))).toEqual(expected.sort());
    expect(lines.find((l) => l.includes('no separator'))).toMatch(/^[0-2]\|\|no separator here\|source=cli,trace=abc$/);
  });

  it('repeatable flags take one value each, so they may come before the topic', async () => {
    await createTopic('ordered-flags', 1);
    const r = await runCli(['produce', '--header', 'a=1', '--header', 'b=2', 'ordered-flags', '--value', 'v', ...b]);
    expect(r.status).toBe(0);
    expect((await runCli(['consume', 'ordered-flags', '--from-beginning', '--format', '%h %v\\n', ...b])).stdout).toBe('a=1,b=2 v\n');
  });

  it('consume --json prints one object per record; --partition, --offset and --count narrow it', async () => {
    await createTopic('narrow', 2);
    const produced = await runCli(['produce', 'narrow', '--partition', '1', '--acks', '1', '--json', ...b], { input: 'a\nb\nc\nd\n' });
    expect(produced.status).toBe(0);
    expect(JSON.parse(produced.stdout)).toEqual({ topic: 'narrow', records: 4, partitions: [{ partition: 1, records: 4, firstOffset: 0, lastOffset: 3 }] });

    const r = await runCli(['consume', 'narrow', '--partition', '1', '--offset', '1', '--count', '2', '--json', ...b]);
    expect(r.status).toBe(0);
    const records = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(records.map((x) => [x.topic, x.partition, x.offset, x.key, x.value, x.headers])).toEqual([
      ['narrow', 1, 1, null, 'b', []],
      ['narrow', 1, 2, null, 'c', []],
    ]);
    expect(typeof records[0].timestamp).toBe('number');
  });

  it('--value produces one record; gzip batches and acks=0 are consumed back', async () => {
    await createTopic('single', 1);
    expect((await runCli(['produce', 'single', '--value', 'only', '--compression', 'gzip', ...b])).stdout).toBe('Produced 1 record to single (partition 0 offsets 0-0).\n');
    expect((await runCli(['produce', 'single', '--acks', '0', ...b], { input: 'fire\nforget\n' })).status).toBe(0);
    // acks=0 has no response: poll (bounded) until the broker has appended both records.
    let end = 0n;
    for (let i = 0; i < 50 && end < 3n; i++) {
      end = (await client.listOffsets('single', [0], -1n))[0]!.offset;
      if (end < 3n) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(end).toBe(3n);
    const r = await runCli(['consume', 'single', '--from-beginning', '--format', '%o=%v\\n', ...b]);
    expect(r.stdout).toBe('0=only\n1=fire\n2=forget\n');
  });

  it('produces idempotently by default with acks -1 (producer id, epoch, sequences per batch); --no-idempotent and acks 1 do not', async () => {
    await createTopic('idempotent', 1);
    const batchHeader = async (offset: bigint) => {
      const p = await client.fetch('idempotent', 0, offset);
      const records = p.records!;
      return { producerId: records.readBigInt64BE(43), producerEpoch: records.readInt16BE(51), baseSequence: records.readInt32BE(53), count: records.readInt32BE(57) };
    };
    const first = await runCli(['produce', 'idempotent', '--json', ...b], { input: 'a\nb\nc\n' });
    expect(first.status).toBe(0);
    const summary = JSON.parse(first.stdout) as { producerId: number; producerEpoch: number };
    const h0 = await batchHeader(0n);
    expect(h0).toEqual({ producerId: BigInt(summary.producerId), producerEpoch: summary.producerEpoch, baseSequence: 0, count: 3 });
    expect(h0.producerId >= 0n).toBe(true);

    expect((await runCli(['produce', 'idempotent', '--no-idempotent', ...b], { input: 'd\n' })).status).toBe(0);
    expect(await batchHeader(3n)).toEqual({ producerId: -1n, producerEpoch: -1, baseSequence: -1, count: 1 });
    expect((await runCli(['produce', 'idempotent', '--acks', '1', ...b], { input: 'e\n' })).status).toBe(0);
    expect((await batchHeader(4n)).producerId).toBe(-1n);

    const refused = await runCli(['produce', 'idempotent', '--idempotent', '--acks', '1', ...b], { input: 'f\n' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('--idempotent needs --acks -1');
    expect((await client.listOffsets('idempotent', [0], -1n))[0]!.offset).toBe(5n);
  });

  it('consume --from-timestamp starts at the first record at or after the timestamp', async () => {
    await createTopic('timed', 1);
    const records = [1_000n, 2_000n, 3_000n, 4_000n].map((timestamp) => ({ key: null, value: Buffer.from(`at-${timestamp}`), timestamp }));
    await client.produce('timed', 0, buildRecordBatch(records.slice(0, 2)), -1);
    await client.produce('timed', 0, buildRecordBatch(records.slice(2)), -1);
    const r = await runCli(['consume', 'timed', '--from-timestamp', '2500', '--format', '%o %T %v\\n', ...b]);
    expect(r).toMatchObject({ status: 0, stdout: '2 3000 at-3000\n3 4000 at-4000\n' });
    const fromStart = await runCli(['consume', 'timed', '--from-timestamp', '1500', '--count', '1', ...b]);
    expect(fromStart.stdout).toBe('at-2000\n');
  });

  it('consume without a start flag starts at the end and exits at once without --follow', async () => {
    await createTopic('latest', 1);
    await runCli(['produce', 'latest', '--value', 'old', ...b]);
    const r = await runCli(['consume', 'latest', ...b]);
    expect(r).toMatchObject({ status: 0, stdout: '', stderr: '' });
  });

  it('consume --follow waits for records produced after it started', async () => {
    await createTopic('follow', 1);
    const consuming = runCli(['consume', 'follow', '--follow', '--count', '2', ...b]);
    // Produce only once the consumer is fetching at the end (bounded wait for its first fetch).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await runCli(['produce', 'follow', ...b], { input: 'later-1\nlater-2\n' });
    const r = await consuming;
    expect(r).toMatchObject({ status: 0, stdout: 'later-1\nlater-2\n' });
  });

  it('consume --group resumes from the group\'s committed offset and commits what it printed', async () => {
    await createTopic('grouped', 1);
    await runCli(['produce', 'grouped', ...b], { input: 'r0\nr1\nr2\nr3\n' });
    const first = await runCli(['consume', 'grouped', '--group', 'readers', '--from-beginning', '--count', '2', ...b]);
    expect(first.stdout).toBe('r0\nr1\n');
    expect(await client.committedOffsets('readers', null)).toEqual([{ topic: 'grouped', partition: 0, offset: 2n, metadata: '' }]);
    const second = await runCli(['consume', 'grouped', '--group', 'readers', ...b]);
    expect(second.stdout).toBe('r2\nr3\n');
    expect((await client.committedOffsets('readers', null))[0]!.offset).toBe(4n);
  });

  it('produce and consume of an unknown topic exit 1 with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    for (const args of [['produce', 'nowhere', '--value', 'x'], ['consume', 'nowhere']]) {
      const r = await runCli([...args, ...b], { input: 'x\n' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('eddy: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.\n');
    }
  });

  it.each([
    [['produce', 'lines', '--acks', '5'], /^eddy: --acks 5: expected -1, 0 or 1$/m],
    [['produce', 'lines', '--compression', 'brotli'], /Invalid values:[\s\S]*compression/],
    [['produce', 'lines', '--partition', '9'], /^eddy: --partition 9: topic lines has partitions 0-2$/m],
    [['consume', 'lines', '--count', 'abc'], /^eddy: --count abc: expected an integer >= 1$/m],
    [['consume', 'lines', '--offset', '1', '--from-beginning'], /^eddy: give only one of --from-beginning, --offset and --from-timestamp$/m],
    [['consume', 'lines', '--format', '%q'], /^eddy: --format "%q": unknown field %q/m],
    [['consume'], /^eddy: Not enough non-option arguments/m],
  ])('a bad flag %j exits 2 with a one-line error', async (args, message) => {
    const r = await runCli([...args, ...b], { input: '' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('eddy produce, interactively', () => {
  it('sends each line as it arrives, while stdin stays open', async () => {
    await createTopic('typed', 1);
    const child = spawn(process.execPath, [CLI, 'produce', 'typed', ...b], { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      child.stdin.write('first line\n');
      // Bounded wait for the record to reach the log while the producer still waits for more input.
      let end = 0n;
      for (let i = 0; i < 100 && end < 1n; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        end = (await client.listOffsets('typed', [0], -1n))[0]!.offset;
      }
      expect(end).toBe(1n);
      expect(child.exitCode).toBeNull();
    } finally {
      child.stdin.end();
    }
    expect(await exited).toBe(0);
  });

  it('draws a progress line on stderr when it is a terminal (under script(1)), never when piped', async () => {
    await createTopic('progress', 1);
    const command = `(echo one; sleep 1.6; echo two) | ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} produce progress ${b.join(' ')}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tty = '';
    child.stdout.on('data', (d: Buffer) => (tty += d.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(status).toBe(0);
    expect(tty).toMatch(/\r\x1b\[Kread 1 lines, produced 1 records to progress/);
    expect(tty).toContain('Produced 2 records to progress');
    const piped = await runCli(['produce', 'progress', ...b], { input: 'three\n' });
    expect(piped.stderr).toBe('');
  });
});
