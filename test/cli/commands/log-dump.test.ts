// `eddy log dump PATH`, run as the compiled binary on a data dir a real broker wrote and then closed.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KafkaClient } from '../../../src/client/client.js';
import { buildRecordBatch } from '../../../src/client/records.js';
import { startTestBroker } from '../../helpers/in-process-broker.js';
import { ensureBuilt, runCli } from './run-cli.js';

let dataDir: string;

beforeAll(async () => {
  ensureBuilt();
  const broker = await startTestBroker();
  dataDir = broker.dataDir;
  const client = new KafkaClient({ bootstrap: `127.0.0.1:${broker.port}` });
  await client.createTopics([{ name: 'dumped', numPartitions: 1, replicationFactor: 1, configs: {} }]);
  await client.produce('dumped', 0, buildRecordBatch([{ key: Buffer.from('k'), value: Buffer.from('first'), headers: [{ key: 'h', value: Buffer.from('1') }], timestamp: 1_000n }]), -1);
  await client.produce('dumped', 0, buildRecordBatch([{ key: null, value: Buffer.from('second'), timestamp: 2_000n }, { key: null, value: Buffer.from('third'), timestamp: 3_000n }], 'gzip'), -1);
  await client.close();
  await broker.stop({ keepData: true });
}, 150_000);

afterAll(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const segment = () => path.join(dataDir, 'dumped-0', '00000000000000000000.log');

describe('eddy log dump', () => {
  it('prints each batch with a verified CRC and, with --records, each record', async () => {
    const r = await runCli(['log', 'dump', path.join(dataDir, 'dumped-0'), '--records']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toContain(`Dumping ${segment()}`);
    expect(r.stdout).toMatch(/^ {2}baseOffset 0 lastOffset 0 count 1 position 0 size \d+ magic 2 compression none crc \d+ valid baseTimestamp 1000 maxTimestamp 1000 /m);
    expect(r.stdout).toMatch(/^ {2}baseOffset 1 lastOffset 2 count 2 position \d+ size \d+ magic 2 compression gzip crc \d+ valid baseTimestamp 2000 maxTimestamp 3000 /m);
    expect(r.stdout).toContain('    offset 0 timestamp 1000 key "k" value "first" headers h=1\n');
    expect(r.stdout).toContain('    offset 2 timestamp 3000 key null value "third"\n');
    expect(r.stdout).toContain('.timeindex');
  });

  it('dumps a whole data dir, checkpoints included, as JSON', async () => {
    const r = await runCli(['log', 'dump', dataDir, '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.corrupt).toBe(0);
    expect(doc.entries.filter((e: { batch?: unknown }) => e.batch).map((e: { batch: { baseOffset: number; crcValid: boolean } }) => [e.batch.baseOffset, e.batch.crcValid])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(doc.entries).toContainEqual(expect.objectContaining({ type: 'checkpoint', lines: expect.arrayContaining(['dumped 0 3']) }));
  });

  it('a flipped byte fails the CRC check (exit 1) and a torn tail is reported', async () => {
    const original = readFileSync(segment());
    try {
      const corrupted = Buffer.concat([original, Buffer.from([0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 1, 0])]);
      corrupted[original.length - 1]! ^= 0xff;
      writeFileSync(segment(), corrupted);
      const r = await runCli(['log', 'dump', segment()]);
      expect(r.status).toBe(1);
      expect(r.stdout).toMatch(/^ {2}baseOffset 1 .* INVALID /m);
      expect(r.stdout).toMatch(/^ {2}torn tail at position \d+: batch of 268 bytes, 12 left$/m);
      expect(r.stdout).toMatch(/^2 problems found\.$/m);
    } finally {
      writeFileSync(segment(), original);
    }
  });

  it('a path that does not exist is a usage error (exit 2)', async () => {
    const r = await runCli(['log', 'dump', path.join(dataDir, 'nope')]);
    expect(r).toMatchObject({ status: 2, stderr: `eddy: ${path.join(dataDir, 'nope')}: no such file or directory\n` });
  });
});
