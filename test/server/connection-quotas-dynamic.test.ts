// max.connections, max.connections.per.ip and max.connections.per.ip.overrides changed at runtime by AlterConfigs /
// IncrementalAlterConfigs apply at once, as Kafka's SocketServer.reconfigure (ConnectionQuotas.updateMaxConnections*):
// a lowered per-IP limit closes nothing and refuses new connections beyond it; a lowered max.connections also closes
// the least recently used connections beyond it (Kafka's closeExcessConnections); a raised one admits them at once. Real
// sockets against an in-process broker; the admin client's own connection counts like any other.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const BROKER = 4;
const SET = 0;
const DELETE = 1;

let tb: TestBroker | undefined;
let admin: TestClient | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  admin?.close();
  admin = undefined;
  await tb?.stop();
  tb = undefined;
});

/** Connects (from `localAddress` when given) and reports whether the broker keeps the connection and answers it. */
async function tryConnect(port: number, localAddress?: string): Promise<'accepted' | 'refused'> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  sockets.push(socket);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 1));
  return new Promise((resolve) => {
    socket.once('data', () => resolve('accepted'));
    socket.once('close', () => resolve('refused'));
  });
}

/** True when `socket` still answers a request (it was not closed by a limit change). */
async function answers(socket: net.Socket): Promise<boolean> {
  if (socket.destroyed) return false;
  socket.write(TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 2));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    socket.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function alterBroker(resourceName: string, configs: Array<{ name: string; configOperation: number; value: string | null }>): Promise<void> {
  const res = await admin!.send(ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType: BROKER, resourceName, configs }], validateOnly: false });
  expect(res.responses[0]).toMatchObject({ errorCode: ErrorCode.NONE });
}

async function untilConnections(count: number): Promise<void> {
  for (let i = 0; i < 200 && tb!.broker.connectionCount !== count; i++) await new Promise((r) => setTimeout(r, 10));
  expect(tb!.broker.connectionCount).toBe(count);
}

describe('connection limits changed by dynamic broker configs', () => {
  it('a lowered max.connections.per.ip keeps the open connections and refuses new ones; raising it admits them at once', async () => {
    tb = await startTestBroker({ maxConnectionsPerIp: 10 });
    admin = await TestClient.connect(tb.port);
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('accepted');
    await untilConnections(3);

    await alterBroker(String(tb.broker.config.nodeId), [{ name: 'max.connections.per.ip', configOperation: SET, value: '2' }]);
    expect(await tryConnect(tb.port)).toBe('refused');
    expect(tb.broker.stats().server.connectionsRefusedPerIp).toBe(1);
    // Nothing was closed: the admin connection and both others still answer, three connections over a limit of two.
    expect(await answers(sockets[0]!)).toBe(true);
    expect(await answers(sockets[1]!)).toBe(true);
    await untilConnections(3);

    // Another address is limited too (127.0.0.2 has none open yet: one more is allowed, then it is full).
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('accepted');
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('accepted');
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('refused');

    await alterBroker(String(tb.broker.config.nodeId), [{ name: 'max.connections.per.ip', configOperation: SET, value: '4' }]);
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');

    // DELETE restores the started-with limit (10).
    await alterBroker(String(tb.broker.config.nodeId), [{ name: 'max.connections.per.ip', configOperation: DELETE, value: null }]);
    for (let i = 0; i < 6; i++) expect(await tryConnect(tb.port)).toBe('accepted');
  });

  it('a lowered max.connections (cluster default) closes the least recently used connections beyond it and refuses new ones from every address', async () => {
    tb = await startTestBroker();
    admin = await TestClient.connect(tb.port);
    expect(await tryConnect(tb.port)).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('accepted');
    await untilConnections(3);
    const oldestClosed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));

    // 3 open, limit 2: the least recently active connection (sockets[0]) is closed, as Kafka's processors close
    // their lowest-priority channel while the broker is over the limit; the admin's (just used) stays.
    await alterBroker('', [{ name: 'max.connections', configOperation: SET, value: '2' }]);
    await oldestClosed;
    await untilConnections(2);
    expect(tb.broker.stats().server.connectionsClosedOverMaxConnections).toBe(1);
    expect(await tryConnect(tb.port)).toBe('refused');
    expect(await tryConnect(tb.port, '127.0.0.3')).toBe('refused');
    expect(tb.broker.stats().server.connectionsRefusedMaxConnections).toBe(2);
    expect(await answers(sockets[1]!)).toBe(true);

    // A slot frees when a connection closes.
    sockets[1]!.destroy();
    await untilConnections(1);
    expect(await tryConnect(tb.port, '127.0.0.3')).toBe('accepted');

    await alterBroker('', [{ name: 'max.connections', configOperation: SET, value: '5' }]);
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');
  });

  it('max.connections.per.ip.overrides set at runtime apply at once to addresses, and to host names once resolved', async () => {
    tb = await startTestBroker({ maxConnectionsPerIp: 3 });
    admin = await TestClient.connect(tb.port);
    const nodeId = String(tb.broker.config.nodeId);

    await alterBroker(nodeId, [{ name: 'max.connections.per.ip.overrides', configOperation: SET, value: '127.0.0.2:0,127.0.0.3:5' }]);
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('refused');
    for (let i = 0; i < 5; i++) expect(await tryConnect(tb.port, '127.0.0.3')).toBe('accepted');
    expect(await tryConnect(tb.port, '127.0.0.3')).toBe('refused');
    // 127.0.0.1 keeps the default (3): the admin connection and two more.
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');

    // A host name: localhost (127.0.0.1) may have 1. With one of the two closed, 127.0.0.1 has 2 open (the admin
    // connection and one more): the default would admit a third; the override refuses it once the name is resolved
    // (bounded wait; until then the previous overrides hold, so a connection may still get in: it is closed again).
    const freed = sockets.findLastIndex((s) => s.localAddress === '127.0.0.1' && !s.destroyed);
    sockets[freed]!.destroy();
    await untilConnections(1 + 5 + 1);
    await alterBroker(nodeId, [{ name: 'max.connections.per.ip.overrides', configOperation: SET, value: 'localhost:1' }]);
    let result: 'accepted' | 'refused' = 'accepted';
    for (let i = 0; i < 50 && result === 'accepted'; i++) {
      result = await tryConnect(tb.port);
      if (result === 'accepted') {
        sockets.at(-1)!.destroy();
        await untilConnections(1 + 5 + 1);
      }
    }
    expect(result).toBe('refused');
    // The two still open from 127.0.0.1 (over the override's 1) were not closed.
    expect(await answers(sockets.find((s) => s.localAddress === '127.0.0.1' && !s.destroyed)!)).toBe(true);
    // The new overrides replaced the old ones: 127.0.0.2 is back to the default of 3.
    expect(await tryConnect(tb.port, '127.0.0.2')).toBe('accepted');

    // Deleting the overrides restores the default for 127.0.0.1: 3, with 2 open.
    await alterBroker(nodeId, [{ name: 'max.connections.per.ip.overrides', configOperation: DELETE, value: null }]);
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');
  });

  it('invalid connection limits are refused by validation and change nothing', async () => {
    tb = await startTestBroker({ maxConnectionsPerIp: 2 });
    admin = await TestClient.connect(tb.port);
    const nodeId = String(tb.broker.config.nodeId);
    const bad = await admin.send(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'max.connections.per.ip.overrides', configOperation: SET, value: 'not a host:x' }] }],
      validateOnly: false,
    });
    expect(bad.responses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
    // max.connections.per.ip = 0 needs overrides (KafkaConfig's check).
    const zero = await admin.send(ApiKey.IncrementalAlterConfigs, 1, {
      resources: [{ resourceType: BROKER, resourceName: nodeId, configs: [{ name: 'max.connections.per.ip', configOperation: SET, value: '0' }] }],
      validateOnly: false,
    });
    expect(zero.responses[0].errorCode).toBe(ErrorCode.INVALID_REQUEST);
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');
  });
});

describe('the inter-broker listener is exempt from the broker-wide limits (Kafka\'s protected listener)', () => {
  it('max.connections refuses client-listener connections while the inter-broker one still accepts, closing the least recently used client connections to get back within it; per-IP limits still apply to it', async () => {
    tb = await startTestBroker({
      listeners: 'CLIENT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0',
      listenerSecurityProtocolMap: 'CLIENT:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      maxConnections: 2,
      maxConnectionsPerIpOverrides: '127.0.0.3:1',
    });
    const port = (name: string) => tb!.broker.listeners.find((l) => l.name === name)!.port;
    expect(await tryConnect(port('CLIENT'))).toBe('accepted');
    expect(await tryConnect(port('CLIENT'))).toBe('accepted');
    expect(await tryConnect(port('CLIENT'))).toBe('refused');
    // The first client connection is used again: the second is now the least recently used.
    const [first, second] = sockets;
    await new Promise((resolve) => setTimeout(resolve, 20));
    first!.write(TestClient.encodeRequest(ApiKey.ApiVersions, 0, {}, 2));
    await new Promise((resolve) => first!.once('data', resolve));
    const secondClosed = new Promise<void>((resolve) => second!.once('close', () => resolve()));
    // The inter-broker listener (PLAINTEXT: security.inter.broker.protocol's default) is past max.connections: it
    // is accepted, and the least recently used client connection is closed (Kafka's closeExcessConnections).
    expect(await tryConnect(port('PLAINTEXT'))).toBe('accepted');
    await secondClosed;
    expect(first!.destroyed).toBe(false);
    const firstClosed = new Promise<void>((resolve) => first!.once('close', () => resolve()));
    expect(await tryConnect(port('PLAINTEXT'), '127.0.0.3')).toBe('accepted');
    await firstClosed;
    expect(await tryConnect(port('PLAINTEXT'), '127.0.0.3')).toBe('refused');
    for (let i = 0; i < 100 && tb.broker.connectionCount !== 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(tb.broker.connectionCount).toBe(2);
    expect(tb.broker.stats().server.connectionsClosedOverMaxConnections).toBe(2);
  });

  it('a single listener is not protected: max.connections applies to it', async () => {
    tb = await startTestBroker({ maxConnections: 1 });
    expect(await tryConnect(tb.port)).toBe('accepted');
    expect(await tryConnect(tb.port)).toBe('refused');
  });
});
