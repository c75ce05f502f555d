// `eddy topic …` and `eddy cluster info`, run as the compiled binary against an in-process broker.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../../../src/client/connection.js';
import { API_CODECS, ApiKey } from '../../../src/protocol/generated/index.js';
import { HANDLERS } from '../../../src/handlers/index.js';
import { startTestBroker, type TestBroker } from '../../helpers/in-process-broker.js';
import { ensureBuilt, runCli } from './run-cli.js';

let broker: TestBroker;
let b: string[];

beforeAll(async () => {
  ensureBuilt();
  broker = await startTestBroker();
  b = ['--bootstrap', `127.0.0.1:${broker.port}`];
}, 150_000);

afterAll(async () => {
  await broker?.stop();
});

async function refusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('eddy topic', () => {
  it('create, list, describe and delete a topic, as tables and as JSON', async () => {
    const created = await runCli(['topic', 'create', 'orders', '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=60000', ...b]);
    expect(created).toMatchObject({ status: 0, stderr: '' });
    expect(created.stdout).toBe('Created topic orders.\n');

    const list = await runCli(['topic', 'list', ...b]);
    expect(list.status).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+PARTITIONS\s+REPLICAS\s+ID$/);
    expect(list.stdout).toMatch(/^orders\s+3\s+1\s+\S+$/m);
    const listJson = JSON.parse((await runCli(['topic', 'list', '--json', ...b])).stdout);
    expect(listJson).toContainEqual(expect.objectContaining({ name: 'orders', partitions: 3, replicationFactor: 1, internal: false }));

    const describeTable = await runCli(['topic', 'describe', 'orders', ...b]);
    expect(describeTable.status).toBe(0);
    expect(describeTable.stdout).toMatch(/^PARTITIONS\s+3$/m);
    expect(describeTable.stdout).toMatch(/^PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START-OFFSET\s+HIGH-WATERMARK$/m);
    expect(describeTable.stdout).toMatch(/^2\s+1\s+\d+\s+1\s+1\s+0\s+0$/m);
    const described = JSON.parse((await runCli(['topic', 'describe', 'orders', '--json', ...b])).stdout);
    expect(described.name).toBe('orders');
    expect(described.partitions.map((p: { partition: number; leader: number; highWatermark: number }) => [p.partition, p.leader, p.highWatermark])).toEqual([
      [0, 1, 0],
      [1, 1, 0],
      [2, 1, 0],
    ]);

    const deleted = await runCli(['topic', 'delete', 'orders', ...b]);
    expect(deleted).toMatchObject({ status: 0, stdout: 'Deleted topic orders.\n' });
    expect((await runCli(['topic', 'list', ...b])).stdout).not.toMatch(/^orders\s/m);
  });

  it('creating a topic that exists exits 1 with the Kafka error name and message', async () => {
    expect((await runCli(['topic', 'create', 'twice', '-p', '1', ...b])).status).toBe(0);
    const again = await runCli(['topic', 'create', 'twice', '-p', '1', ...b]);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe("eddy: TOPIC_ALREADY_EXISTS: Topic 'twice' already exists.\n");
    const json = await runCli(['topic', 'create', 'twice', '-p', '1', '--json', ...b]);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'twice', error: 36 });
  });

  it('describing or deleting an unknown topic exits 1 with UNKNOWN_TOPIC_OR_PARTITION', async () => {
    for (const args of [['topic', 'describe', 'missing'], ['topic', 'delete', 'missing']]) {
      const r = await runCli([...args, ...b]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('eddy: UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition.\n');
    }
  });

  it('a refused connection exits 1 with one line naming the address', async () => {
    const port = await refusedPort();
    const r = await runCli(['topic', 'list', '--bootstrap', `127.0.0.1:${port}`]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`eddy: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n`);
  });

  it.each([
    [['topic', 'create', 'x', '--partitions', 'abc'], /^eddy: --partitions abc: expected an integer >= 1$/m],
    [['topic', 'create', 'x', '--partitions'], /^eddy: --partitions needs a value$/m],
    [['topic', 'create', 'x', '--config', 'novalue'], /^eddy: --config "novalue": expected key=value$/m],
    [['topic', 'list', '--bogus'], /^eddy: Unknown argument: bogus$/m],
    [['topic'], /^eddy: Name a topic command/m],
    [['topic', 'list', '--bootstrap', 'nohostport'], /^eddy: invalid bootstrap address "nohostport" \(expected host:port\)$/m],
  ])('a bad flag %j exits 2 with a one-line error', async (args, message) => {
    const r = await runCli([...args, ...(args.includes('--bootstrap') ? [] : b)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('alter-config and add-partitions work, or name the API the broker lacks (UNSUPPORTED_VERSION, exit 1)', async () => {
    expect((await runCli(['topic', 'create', 'alterable', '-p', '1', ...b])).status).toBe(0);
    const conn = await Connection.connect({ host: '127.0.0.1', port: broker.port });
    const offers = { alter: conn.supports(ApiKey.IncrementalAlterConfigs), partitions: conn.supports(ApiKey.CreatePartitions) };
    conn.close();

    const alter = await runCli(['topic', 'alter-config', 'alterable', '--set', 'retention.ms=1000', ...b]);
    if (offers.alter) expect(alter).toMatchObject({ status: 0, stdout: 'Altered the configs of topic alterable.\n' });
    else expect(alter).toMatchObject({ status: 1, stderr: 'eddy: UNSUPPORTED_VERSION: The version of API is not supported. (IncrementalAlterConfigs is not supported by the broker)\n' });

    const add = await runCli(['topic', 'add-partitions', 'alterable', '--num', '2', ...b]);
    if (offers.partitions) expect(add).toMatchObject({ status: 0, stdout: 'Topic alterable now has 3 partitions.\n' });
    else expect(add).toMatchObject({ status: 1, stderr: 'eddy: UNSUPPORTED_VERSION: The version of API is not supported. (CreatePartitions is not supported by the broker)\n' });
  });

  it.each(
    ['topic create', 'topic list', 'topic describe', 'topic delete', 'topic alter-config', 'topic add-partitions', 'produce', 'consume', 'group list', 'group describe', 'group reset-offsets', 'group delete', 'cluster info', 'log dump'],
  )('eddy %s --help shows examples and exits 0', async (command) => {
    const r = await runCli([...command.split(' '), '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`eddy ${command}`);
  });
});

describe('eddy cluster info', () => {
  it('prints the cluster id, the controller, the brokers and the API versions used', async () => {
    const r = await runCli(['cluster', 'info', ...b]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^CLUSTER\s+\S{22}$/m);
    expect(r.stdout).toMatch(/^CONTROLLER\s+1$/m);
    expect(r.stdout).toMatch(new RegExp(`^1\\*\\s+127\\.0\\.0\\.1\\s+${broker.port}\\s+-$`, 'm'));
    // The broker offers what its handler registry declares; the CLI uses the highest version both sides know.
    const md = HANDLERS.get(ApiKey.Metadata)!;
    const used = Math.min(md.maxVersion, API_CODECS.get(ApiKey.Metadata)!.maxVersion);
    expect(r.stdout).toMatch(new RegExp(`^Metadata\\s+3\\s+${md.minVersion}-${md.maxVersion}\\s+${used}$`, 'm'));
    const json = JSON.parse((await runCli(['cluster', 'info', '--json', ...b])).stdout);
    expect(json.controllerId).toBe(1);
    expect(json.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: broker.port, rack: null }]);
    expect(json.apis).toContainEqual({ apiKey: 18, name: 'ApiVersions', minVersion: 0, maxVersion: 4, usedVersion: 4 });
  });

  it('a refused connection exits 1', async () => {
    const port = await refusedPort();
    const r = await runCli(['cluster', 'info', '-b', `127.0.0.1:${port}`]);
    expect(r).toMatchObject({ status: 1, stderr: `eddy: cannot connect to 127.0.0.1:${port}: ECONNREFUSED\n` });
  });
});
