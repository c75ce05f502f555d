// The web console's JSON API (/v1/cluster, topics, records, groups, broker configs, stats) against a real broker
// with kafkajs clients, and the console's static files: content types, caching, 404s, path traversal, and the page
// a clone without a build gets.
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Consumer } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBroker, type Broker } from '../../src/index.js';
import { FaultInjector } from '../../src/faults/index.js';
import { startAdminHttp, type AdminHttpServer } from '../../src/http/index.js';
import { ConsoleAssets, assetPathOf } from '../../src/http/console-assets.js';
import { MAX_PAGE_READ_BYTES, MAX_SHOWN_BYTES } from '../../src/http/console-api.js';
import { buildWeb } from '../../scripts/build-web.js';
import { REPO_ROOT } from '../helpers/spawn-broker.js';

let broker: Broker;
let base: string;
let kafka: Kafka;

beforeAll(async () => {
  broker = await createBroker({ httpPort: 0 });
  await broker.start();
  base = `http://127.0.0.1:${broker.httpPort}`;
  kafka = new Kafka({ clientId: 'console-test', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});

afterAll(async () => {
  await broker?.close();
});

afterEach(async () => {
  await broker.reset();
});

async function get(pathname: string): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${base}${pathname}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: await res.json(), headers: res.headers };
}

async function produce(topic: string, messages: Array<{ partition?: number; key?: string | null; value: string | Buffer | null; headers?: Record<string, string>; timestamp?: string }>) {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    for (const m of messages) await producer.send({ topic, acks: -1, messages: [{ partition: 0, ...m }] });
  } finally {
    await producer.disconnect();
  }
}

describe('console JSON API', () => {
  it('/v1/cluster names the cluster, the node, the version and the Kafka listener', async () => {
    await broker.createTopic('c-one', { partitions: 3 });
    const { status, body, headers } = await get('/v1/cluster');
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ clusterId: broker.clusterId, nodeId: 1, listener: broker.bootstrap, partitions: expect.any(Number), groups: 0 });
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.topics).toBeGreaterThanOrEqual(1);
  });

  it('/v1/topics lists each topic with its partitions, records (end minus start offsets) and size', async () => {
    await broker.createTopic('t-list', { partitions: 2 });
    await produce('t-list', [{ value: 'a' }, { value: 'b' }, { partition: 1, value: 'c' }]);
    const { status, body } = await get('/v1/topics');
    expect(status).toBe(200);
    const topic = body.topics.find((t: { name: string }) => t.name === 't-list');
    expect(topic).toMatchObject({ name: 't-list', internal: false, partitions: 2, records: 3 });
    expect(topic.topicId).toMatch(/^[0-9a-f]{32}$/);
    expect(topic.sizeBytes).toBeGreaterThan(0);
  });

  it('/v1/topics/{name} gives each partition its offsets and size, and the topic configs with their sources', async () => {
    await broker.createTopic('t-detail', { partitions: 2, configs: { 'retention.ms': '3600000' } });
    await produce('t-detail', [{ value: 'x' }, { value: 'y' }]);
    const { status, body } = await get('/v1/topics/t-detail');
    expect(status).toBe(200);
    expect(body.partitions).toHaveLength(2);
    expect(body.partitions[0]).toMatchObject({ partition: 0, leader: 1, logStartOffset: 0, highWatermark: 2, logEndOffset: 2, segments: 1, offline: false });
    expect(body.partitions[0].sizeBytes).toBeGreaterThan(0);
    expect(body.partitions[1]).toMatchObject({ partition: 1, logStartOffset: 0, highWatermark: 0, sizeBytes: 0 });
    const config = (name: string) => body.configs.find((c: { name: string }) => c.name === name);
    expect(config('retention.ms')).toMatchObject({ value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG' });
    expect(config('cleanup.policy')).toMatchObject({ value: 'delete', source: 'DEFAULT_CONFIG' });
  });

  it('answers 404 with a JSON error for an unknown topic, partition, group or /v1 route', async () => {
    await broker.createTopic('t-404', { partitions: 1 });
    for (const [pathname, code] of [
      ['/v1/topics/nope', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['/v1/topics/nope/partitions/0/records', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['/v1/topics/t-404/partitions/1/records', 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['/v1/groups/nobody', 'GROUP_ID_NOT_FOUND'],
      ['/v1/nothing-here', 'NOT_FOUND'],
    ]) {
      const { status, body } = await get(pathname!);
      expect({ pathname, status, code: body.error.code }).toEqual({ pathname, status: 404, code });
    }
  });

  it('pages records from an offset with keys, values, headers and timestamps, and says where the next page starts', async () => {
    await broker.createTopic('t-records', { partitions: 1 });
    const t0 = 1_700_000_000_000;
    await produce(
      't-records',
      Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ n: i }), headers: { h: `v${i}` }, timestamp: String(t0 + i * 1000) })),
    );
    const { status, body } = await get('/v1/topics/t-records/partitions/0/records?offset=3&limit=4');
    expect(status).toBe(200);
    expect(body).toMatchObject({ topic: 't-records', partition: 0, logStartOffset: 0, highWatermark: 10, startOffset: 3, nextOffset: 7 });
    expect(body.records.map((r: { offset: number }) => r.offset)).toEqual([3, 4, 5, 6]);
    const r = body.records[0];
    const text = (b: { data: string }) => Buffer.from(b.data, 'base64').toString('utf8');
    expect(text(r.key)).toBe('k3');
    expect(JSON.parse(text(r.value))).toEqual({ n: 3 });
    expect(r.value.size).toBe(Buffer.byteLength(JSON.stringify({ n: 3 })));
    expect(r.timestamp).toBe(t0 + 3000);
    expect(r.timestampType).toBe('CreateTime');
    expect(r.headers.map((h: { key: string; value: { data: string } }) => [h.key, text(h.value)])).toEqual([['h', 'v3']]);

    // The next page continues where this one ended; without a start, the log start offset; past the end, nothing.
    const next = await get(`/v1/topics/t-records/partitions/0/records?offset=${body.nextOffset}&limit=100`);
    expect(next.body.records.map((x: { offset: number }) => x.offset)).toEqual([7, 8, 9]);
    expect(next.body.nextOffset).toBe(10);
    const first = await get('/v1/topics/t-records/partitions/0/records?limit=2');
    expect(first.body.records.map((x: { offset: number }) => x.offset)).toEqual([0, 1]);
    const past = await get('/v1/topics/t-records/partitions/0/records?offset=999');
    expect(past.body).toMatchObject({ startOffset: 10, nextOffset: 10, records: [] });
  });

  it('starts a record page at the first record at or after a timestamp, or at the high watermark when none is', async () => {
    await broker.createTopic('t-time', { partitions: 1 });
    const t0 = 1_700_000_000_000;
    await produce('t-time', Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, timestamp: String(t0 + i * 1000) })));
    const at = await get(`/v1/topics/t-time/partitions/0/records?timestamp=${t0 + 2500}&limit=10`);
    expect(at.body.startOffset).toBe(3);
    expect(at.body.records.map((r: { offset: number }) => r.offset)).toEqual([3, 4]);
    const after = await get(`/v1/topics/t-time/partitions/0/records?timestamp=${t0 + 60_000}`);
    expect(after.body).toMatchObject({ startOffset: 5, records: [] });
  });

  it('answers 400 INVALID_PARAMETER for a bad record page parameter', async () => {
    await broker.createTopic('t-bad', { partitions: 1 });
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'offset=-1', 'offset=abc', 'offset=1&timestamp=2', 'timestamp=yesterday', 'from=0']) {
      const { status, body } = await get(`/v1/topics/t-bad/partitions/0/records?${query}`);
      expect({ query, status, code: body.error.code }).toEqual({ query, status: 400, code: 'INVALID_PARAMETER' });
    }
    const partition = await get('/v1/topics/t-bad/partitions/x/records');
    expect(partition.status).toBe(400);
  });

  it('reads a bounded number of bytes per record page and cuts long values to what it shows', async () => {
    await broker.createTopic('t-big', { partitions: 1 });
    const big = Buffer.alloc(200 * 1024, 'v');
    await produce('t-big', Array.from({ length: 8 }, () => ({ value: big })));
    const { body } = await get('/v1/topics/t-big/partitions/0/records?limit=500');
    const perRecord = Math.ceil(MAX_PAGE_READ_BYTES / big.length);
    expect(body.records.length).toBeGreaterThan(0);
    expect(body.records.length).toBeLessThanOrEqual(perRecord);
    expect(body.records.length).toBeLessThan(8);
    expect(body.nextOffset).toBe(body.records.length);
    for (const r of body.records) {
      expect(r.value.size).toBe(big.length);
      expect(Buffer.from(r.value.data, 'base64').length).toBe(MAX_SHOWN_BYTES);
    }
    // Paging on reaches every record.
    let offset = body.nextOffset as number;
    let seen = body.records.length as number;
    for (let i = 0; i < 8 && offset < 8; i++) {
      const page = await get(`/v1/topics/t-big/partitions/0/records?offset=${offset}&limit=500`);
      seen += page.body.records.length;
      offset = page.body.nextOffset;
    }
    expect([seen, offset]).toEqual([8, 8]);
  });

  describe('groups', () => {
    let consumer: Consumer | undefined;
    afterEach(async () => {
      await consumer?.disconnect();
      consumer = undefined;
    });

    it('show state, members with client id, host and assignment, and committed offset and lag per partition', async () => {
      await broker.createTopic('t-group', { partitions: 2 });
      await produce('t-group', Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })));
      consumer = kafka.consumer({ groupId: 'g-console', maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic: 't-group', fromBeginning: true });
      // The first message means the member has joined and its runner runs (commitOffsets is ignored before).
      const consuming = new Promise<void>((resolve) => void consumer!.run({ autoCommit: false, eachMessage: async () => resolve() }));
      await consuming;
      await consumer.commitOffsets([{ topic: 't-group', partition: 0, offset: '6' }]);

      const list = await get('/v1/groups');
      expect(list.body.groups).toEqual([{ groupId: 'g-console', state: 'Stable', protocolType: 'consumer', members: 1, lag: 4 }]);
      const { status, body } = await get('/v1/groups/g-console');
      expect(status).toBe(200);
      expect(body).toMatchObject({ groupId: 'g-console', state: 'Stable', protocolType: 'consumer', generationId: expect.any(Number) });
      expect(body.members).toHaveLength(1);
      expect(body.members[0]).toMatchObject({ clientId: 'console-test', assignment: [{ topic: 't-group', partitions: [0, 1] }] });
      expect(body.members[0].clientHost).toContain('127.0.0.1');
      expect(body.leaderId).toBe(body.members[0].memberId);
      expect(body.partitions).toEqual([
        expect.objectContaining({ topic: 't-group', partition: 0, committedOffset: 6, logEndOffset: 10, lag: 4, clientId: 'console-test', memberId: body.members[0].memberId }),
        expect.objectContaining({ topic: 't-group', partition: 1, committedOffset: null, logEndOffset: 0, lag: null, clientId: 'console-test' }),
      ]);

      // Once the member leaves, the group is Empty and keeps its committed offsets (and lag).
      await consumer.disconnect();
      consumer = undefined;
      const empty = await get('/v1/groups/g-console');
      expect(empty.body).toMatchObject({ state: 'Empty', members: [] });
      expect(empty.body.partitions).toEqual([expect.objectContaining({ partition: 0, committedOffset: 6, lag: 4, memberId: null })]);
    });
  });

  it('/v1/broker/configs lists the broker configs with their values and sources', async () => {
    const { status, body } = await get('/v1/broker/configs');
    expect(status).toBe(200);
    expect(body.nodeId).toBe(1);
    const numPartitions = body.configs.find((c: { name: string }) => c.name === 'num.partitions');
    expect(numPartitions).toMatchObject({ value: '1', readOnly: expect.any(Boolean) });
    expect(typeof numPartitions.source).toBe('string');
    expect(body.configs.length).toBeGreaterThan(20);
  });

  it('/v1/stats counts the messages and bytes produced into each topic, and their total', async () => {
    await broker.createTopic('t-stats', { partitions: 1 });
    const before = (await get('/v1/stats')).body;
    await produce('t-stats', [{ value: 'one' }, { value: 'two' }, { value: 'three' }]);
    const { body } = await get('/v1/stats');
    expect(body.timeMs).toBeGreaterThanOrEqual(before.timeMs);
    const row = body.topics.find((t: { topic: string }) => t.topic === 't-stats');
    expect(row.messagesIn).toBe(3);
    expect(row.bytesIn).toBeGreaterThan(0);
    expect(body.total.messagesIn - before.total.messagesIn).toBe(3);
  });
});

describe('console API and broker security', () => {
  const DATA_PATHS = ['/v1/cluster', '/v1/topics', '/v1/topics/s-topic', '/v1/topics/s-topic/partitions/0/records', '/v1/groups', '/v1/groups/g', '/v1/broker/configs', '/v1/stats', '/v1/faults'];
  let secured: Broker | undefined;
  afterEach(async () => {
    await secured?.close();
    secured = undefined;
  });

  async function startSecured(options: Parameters<typeof createBroker>[0]): Promise<string> {
    secured = await createBroker({ httpPort: 0, ...options });
    await secured.start();
    await secured.createTopic('s-topic', { partitions: 1 });
    return `http://127.0.0.1:${secured.httpPort}`;
  }

  it('with a SASL listener and the HTTP listener not on a loopback address, every /v1 endpoint answers 403 saying why; /healthz, /readyz and /metrics still answer', async () => {
    // 0.0.0.0 is the only non-loopback bind a test can count on; the test still talks to 127.0.0.1 only.
    const securedBase = await startSecured({ host: '0.0.0.0', listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslUser: ['alice:alice-secret'] });
    for (const pathname of DATA_PATHS) {
      const res = await fetch(`${securedBase}${pathname}`);
      expect({ pathname, status: res.status }).toEqual({ pathname, status: 403 });
      const body: any = await res.json();
      expect(body.error.code).toBe('CONSOLE_REFUSED_BY_SECURITY');
      expect(body.error.message).toContain('SASL_PLAINTEXT');
      expect(body.error.message).toContain('loopback');
    }
    expect((await fetch(`${securedBase}/healthz`)).status).toBe(200);
    expect((await fetch(`${securedBase}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${securedBase}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('kafka_server_');
  });

  it('with --authorizer acl and the HTTP listener not on a loopback address, the console data answers 403 naming the authorizer', async () => {
    const securedBase = await startSecured({ host: '0.0.0.0', authorizer: 'acl', allowEveryoneIfNoAclFound: true });
    const res = await fetch(`${securedBase}/v1/topics`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.message).toContain('authorizer acl');
  });

  it('with security on and the HTTP listener on a loopback address, the console data answers', async () => {
    const securedBase = await startSecured({ host: '127.0.0.1', authorizer: 'acl', allowEveryoneIfNoAclFound: true, listeners: 'SASL_PLAINTEXT://127.0.0.1:0', saslUser: ['alice:alice-secret'] });
    for (const pathname of DATA_PATHS.filter((p) => p !== '/v1/groups/g')) {
      const res = await fetch(`${securedBase}${pathname}`);
      expect({ pathname, status: res.status }).toEqual({ pathname, status: 200 });
    }
  });

  it('without security the console data answers on any bind address', async () => {
    const securedBase = await startSecured({ host: '0.0.0.0' });
    const res = await fetch(`${securedBase}/v1/topics`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).topics.map((t: { name: string }) => t.name)).toContain('s-topic');
  });
});

describe('console static files', () => {
  let dir: string;
  let assetsDir: string;
  let server: AdminHttpServer;
  let files: Awaited<ReturnType<typeof buildWeb>>;
  let staticBase: string;
  const quiet = pino({ level: 'silent' });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-console-'));
    assetsDir = path.join(dir, 'web');
    files = await buildWeb({ outDir: assetsDir, typecheck: false });
    // Files beside (outside) the assets directory, which no URL may reach.
    writeFileSync(path.join(dir, 'secret.txt'), 'top secret');
    mkdirSync(path.join(assetsDir, 'assets', 'sub'));
    writeFileSync(path.join(assetsDir, '.hidden'), 'dot file body');
    server = await startAdminHttp({ host: '127.0.0.1', port: 0, logger: quiet, faults: new FaultInjector(quiet), readiness: () => 'ready', consoleAssetsDir: assetsDir });
    staticBase = `http://127.0.0.1:${server.port}`;
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A raw GET (fetch would normalise `..` and `%2e%2e` before sending). */
  function rawGet(port: number, rawPath: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('builds one index.html, one JS bundle and one stylesheet, small', () => {
    expect(files.map((f) => f.name.replace(/-[A-Z0-9]{8}\./, '-HASH.'))).toEqual(['index.html', 'assets/console-HASH.js', 'assets/console-HASH.css']);
    const gzipped = files.reduce((n, f) => n + f.gzipBytes, 0);
    expect(gzipped).toBeLessThan(40 * 1024);
  });

  it('serves index.html at / (no-cache) and the hashed bundle it names (immutable) with their content types', async () => {
    const page = await fetch(`${staticBase}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const js = html.match(/src="(\/assets\/console-[A-Z0-9]{8}\.js)"/)?.[1];
    const css = html.match(/href="(\/assets\/console-[A-Z0-9]{8}\.css)"/)?.[1];
    expect(js).toBeDefined();
    expect(css).toBeDefined();
    expect(html).not.toMatch(/https?:\/\//);
    const script = await fetch(`${staticBase}${js}`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const code = await script.text();
    expect(code.length).toBe(files[1]!.bytes);
    expect(code).not.toContain('sourceMappingURL');
    const style = await fetch(`${staticBase}${css}`);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(`${staticBase}/index.html`)).status).toBe(200);
  });

  it('answers 404 for unknown files and directories', async () => {
    for (const p of ['/nope.js', '/assets/console-AAAAAAAA.js', '/assets', '/assets/sub', '/assets/']) {
      const res = await fetch(`${staticBase}${p}`);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    }
  });

  it('never serves a file outside the assets directory, nor a dot file (path traversal)', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%5csecret.txt',
      '/.hidden',
      '/assets/%00',
      '/%E0%A4%A',
      '//etc/passwd',
      'http://a:b/',
      `/${encodeURIComponent(path.join(dir, 'secret.txt'))}`,
    ];
    for (const p of attempts) {
      const res = await rawGet(server.port, p);
      expect({ p, status: res.status }).toEqual({ p, status: p.startsWith('http:') ? 400 : 404 });
      expect(res.body).not.toContain('top secret');
      expect(res.body).not.toContain('dot file body');
    }
    expect(assetPathOf('/a/../b')).toBeNull();
    expect(assetPathOf('/assets/x.js')).toBe('assets/x.js');
  });

  it('answers / with a page saying to run npm run build when the assets are missing', async () => {
    const bare = await startAdminHttp({ host: '127.0.0.1', port: 0, logger: quiet, faults: new FaultInjector(quiet), readiness: () => 'ready', consoleAssetsDir: path.join(dir, 'missing') });
    try {
      const res = await fetch(`http://127.0.0.1:${bare.port}/`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('npm run build');
      expect((await fetch(`http://127.0.0.1:${bare.port}/assets/console-AAAAAAAA.js`)).status).toBe(404);
      // The data API answers 503 while no broker state is attached.
      const api = await fetch(`http://127.0.0.1:${bare.port}/v1/topics`);
      expect(api.status).toBe(503);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('CONSOLE_UNAVAILABLE');
    } finally {
      await bare.close();
    }
  });

  it('finds the assets in dist/web of the package by default', () => {
    expect(ConsoleAssets.defaultDir()).toBe(path.join(REPO_ROOT, 'dist', 'web'));
  });
});
