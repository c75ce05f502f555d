// The HTTP admin listener: health and readiness, the /v1/faults API over real HTTP, its errors, the Host header
// check against DNS rebinding, and that it is off unless asked for.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createBroker, type Broker } from '../../src/index.js';
import { FaultInjector } from '../../src/faults/index.js';
import { MAX_BODY_BYTES, startAdminHttp } from '../../src/http/index.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

async function startWithHttp(): Promise<{ broker: Broker; base: string }> {
  broker = await createBroker({ httpPort: 0 });
  await broker.start();
  return { broker, base: `http://127.0.0.1:${broker.httpPort}` };
}

/** A GET to 127.0.0.1 with the given Host header (fetch does not let a caller set Host). */
function rawGet(port: number, pathname: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathname, headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
}

async function json(res: Response): Promise<any> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.json();
}

describe('HTTP admin listener', () => {
  it('is off unless httpPort is given', async () => {
    broker = await createBroker();
    await broker.start();
    expect(broker.httpPort).toBeUndefined();
  });

  it('answers /healthz and /readyz with 200 once the broker runs, and stops listening on close', async () => {
    const { base } = await startWithHttp();
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await json(health)).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await json(ready)).toEqual({ status: 'ready' });
    await broker!.close();
    broker = undefined;
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('answers /readyz with 503 while the broker is still starting or stopping', async () => {
    let state: 'starting' | 'ready' | 'stopping' = 'starting';
    const server = await startAdminHttp({ host: '127.0.0.1', port: 0, logger: pino({ level: 'silent' }), faults: new FaultInjector(pino({ level: 'silent' })), readiness: () => state });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      let res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(await json(res)).toEqual({ status: 'starting' });
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      state = 'ready';
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      state = 'stopping';
      res = await fetch(`${base}/readyz`);
      expect(res.status).toBe(503);
      expect(await json(res)).toEqual({ status: 'stopping' });
    } finally {
      await server.close();
    }
  });

  it('adds, lists, reads and removes fault rules over /v1/faults, and the rules act on Kafka requests', async () => {
    const { broker: b, base } = await startWithHttp();
    await b.createTopic('t');
    const created = await fetch(`${base}/v1/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'Metadata', error: 'NOT_LEADER_OR_FOLLOWER', count: 1 }),
    });
    expect(created.status).toBe(201);
    const rule = await json(created);
    expect(rule).toMatchObject({ id: 1, api: 'Metadata', apiKey: ApiKey.Metadata, action: 'error', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, count: 1, fired: 0, state: 'active' });

    const client = await TestClient.connect(b.port);
    try {
      const md = await client.send(ApiKey.Metadata, 9, { topics: [{ name: 't' }] });
      expect(md.topics[0].errorCode).toBe(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    } finally {
      client.close();
    }
    const one = await json(await fetch(`${base}/v1/faults/1`));
    expect(one).toMatchObject({ id: 1, fired: 1, remaining: 0, state: 'exhausted' });
    expect(await json(await fetch(`${base}/v1/faults`))).toMatchObject({ rules: [{ id: 1, fired: 1 }] });

    const removed = await fetch(`${base}/v1/faults/1`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect(await json(removed)).toEqual({ removed: 1 });
    expect(b.faults.list()).toEqual([]);
  });

  it('DELETE /v1/faults clears every rule', async () => {
    const { broker: b, base } = await startWithHttp();
    b.faults.add({ api: 'Produce', drop: true });
    b.faults.add({ api: 'Fetch', latencyMs: 10 });
    const res = await fetch(`${base}/v1/faults`, { method: 'DELETE' });
    expect(await json(res)).toEqual({ removed: 2 });
    expect(b.faults.list()).toEqual([]);
  });

  it('answers errors as JSON: bad rule 400, bad JSON 400, unknown rule 404, unknown path 404, wrong method 405, large body 413', async () => {
    const { base } = await startWithHttp();
    const bad = await fetch(`${base}/v1/faults`, { method: 'POST', body: JSON.stringify({ api: 'Produce', error: 'NOPE' }) });
    expect(bad.status).toBe(400);
    expect(await json(bad)).toMatchObject({ error: { code: 'INVALID_FAULT_RULE', message: expect.stringMatching(/^error "NOPE"/) } });
    const notJson = await fetch(`${base}/v1/faults`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await json(notJson)).toMatchObject({ error: { code: 'INVALID_JSON' } });
    const empty = await fetch(`${base}/v1/faults`, { method: 'POST' });
    expect(empty.status).toBe(400);
    const unknown = await fetch(`${base}/v1/faults/42`, { method: 'DELETE' });
    expect(unknown.status).toBe(404);
    expect(await json(unknown)).toMatchObject({ error: { code: 'UNKNOWN_FAULT_RULE' } });
    expect((await fetch(`${base}/v1/faults/abc`)).status).toBe(404);
    const path = await fetch(`${base}/nope`);
    expect(path.status).toBe(404);
    expect(await json(path)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const method = await fetch(`${base}/healthz`, { method: 'DELETE' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
    const large = await fetch(`${base}/v1/faults`, { method: 'POST', body: 'x'.repeat(MAX_BODY_BYTES + 1) });
    expect(large.status).toBe(413);
  });

  it('answers 403 HOST_NOT_ALLOWED to a Host header that is not an IP literal, localhost or a configured host name, on every path (DNS rebinding)', async () => {
    broker = await createBroker({ httpPort: 0, advertisedHost: 'kafka.example.test' });
    await broker.start();
    const port = broker.httpPort!;
    for (const pathname of ['/healthz', '/readyz', '/metrics', '/v1/faults', '/v1/topics', '/', '/assets/x.js']) {
      for (const host of [`attacker.example:${port}`, 'attacker.example', `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
        const res = await rawGet(port, pathname, host);
        expect({ pathname, host, status: res.status }).toEqual({ pathname, host, status: 403 });
        expect(JSON.parse(res.body).error.code).toBe('HOST_NOT_ALLOWED');
      }
    }
    for (const host of [`127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'LOCALHOST', 'localhost.', `[::1]:${port}`, `[::ffff:7f00:1]:${port}`, `10.1.2.3:${port}`, `kafka.example.test:${port}`, 'Kafka.Example.Test']) {
      const res = await rawGet(port, '/healthz', host);
      expect({ host, status: res.status }).toEqual({ host, status: 200 });
    }
    // /v1 answers as before for an allowed Host.
    expect((await rawGet(port, '/v1/faults', `localhost:${port}`)).status).toBe(200);
  });

  it('answers a request without a Host header (HTTP/1.0)', async () => {
    const { broker: b } = await startWithHttp();
    const net = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: b.httpPort! }, () => socket.end('GET /healthz HTTP/1.0\r\n\r\n'));
      let text = '';
      socket.on('data', (c) => (text += c.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('refuses a port that is taken with BrokerError LISTEN and leaves nothing running', async () => {
    const { broker: first } = await startWithHttp();
    const second = await createBroker({ httpPort: first.httpPort });
    await expect(second.start()).rejects.toMatchObject({ code: 'LISTEN' });
  });
});
