import yargs from 'yargs';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerOptionsFromArgs, startOptions } from '../../src/cli/start.js';
import { resolveBrokerConfig } from '../../src/metadata/broker-config.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker | undefined;
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await tb?.stop();
  tb = undefined;
});

async function connect(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port);
  clients.push(c);
  return c;
}

const apiVersions = (c: TestClient) => c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' });

describe('max.connection.creation.rate (KIP-612)', () => {
  it('eddy start --max-connection-creation-rate and --quota-window-* set the broker options (Kafka defaults otherwise)', async () => {
    const parse = async (argv: string[]) => brokerOptionsFromArgs((await startOptions(yargs(argv)).parse()) as never);
    const set = await parse(['--max-connection-creation-rate', '7', '--quota-window-num', '3', '--quota-window-size-seconds', '2']);
    expect(set).toMatchObject({ maxConnectionCreationRate: 7, quotaWindowNum: 3, quotaWindowSizeSeconds: 2 });
    expect(await parse([])).toMatchObject({ maxConnectionCreationRate: 2147483647, quotaWindowNum: 11, quotaWindowSizeSeconds: 1 });
    expect(() => resolveBrokerConfig({ maxConnectionCreationRate: -1 })).toThrow();
    expect(() => resolveBrokerConfig({ quotaWindowNum: 0 })).toThrow();
  });

  it('connections beyond the broker-wide rate are delayed, not refused', async () => {
    // 2 per second over quota.window.num = 2 one-second windows: the first two are free, then one every ~0.5 s.
    tb = await startTestBroker({ maxConnectionCreationRate: 2, quotaWindowNum: 2 });
    const start = Date.now();
    const sockets = await Promise.all(Array.from({ length: 6 }, () => connect(tb!.port)));
    const answeredAfterMs = await Promise.all(
      sockets.map(async (c) => {
        const res = await apiVersions(c);
        expect(res.errorCode).toBe(0);
        return Date.now() - start;
      }),
    );
    expect(sockets.every((c) => c.isOpen)).toBe(true);
    answeredAfterMs.sort((a, b) => a - b);
    expect(answeredAfterMs[0]).toBeLessThan(500);
    // 6 connections at 2/s with 2 s of credit at most: the last cannot be served before ~1 s.
    expect(answeredAfterMs[5]).toBeGreaterThanOrEqual(900);
  });

  it('a rate set, changed and deleted by IncrementalAlterConfigs applies to the next connections, as Kafka\'s dynamic max.connection.creation.rate', async () => {
    tb = await startTestBroker({ quotaWindowNum: 2 });
    const admin = await connect(tb.port);
    const alter = async (value: string | null) => {
      const res = await admin.send(ApiKey.IncrementalAlterConfigs, 1, {
        resources: [{ resourceType: 4, resourceName: '', configs: [{ name: 'max.connection.creation.rate', configOperation: value === null ? 1 : 0, value }] }],
        validateOnly: false,
      });
      expect(res.responses[0].errorCode).toBe(0);
    };
    /** Opens six connections at once; ms until the last one is answered. */
    const lastAnsweredAfterMs = async (): Promise<number> => {
      const start = Date.now();
      const sockets = await Promise.all(Array.from({ length: 6 }, () => connect(tb!.port)));
      await Promise.all(sockets.map(apiVersions));
      for (const c of sockets) c.close();
      return Date.now() - start;
    };
    await alter('2');
    // 2 per second over 2 windows: the sixth cannot be served before ~1 s (it was at once before the change).
    expect(await lastAnsweredAfterMs()).toBeGreaterThanOrEqual(900);
    const described = await admin.send(ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 4, resourceName: '', configurationKeys: ['max.connection.creation.rate'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    expect(described.results[0].configs[0]).toMatchObject({ name: 'max.connection.creation.rate', value: '2', readOnly: false });
    await alter(null);
    expect(await lastAnsweredAfterMs()).toBeLessThan(900);
  });

  it('the inter-broker listener skips the broker-wide rate (Kafka\'s protected listener); the client listener is delayed', async () => {
    tb = await startTestBroker({
      listeners: 'CLIENT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0',
      listenerSecurityProtocolMap: 'CLIENT:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      maxConnectionCreationRate: 2,
      quotaWindowNum: 2,
    });
    const port = (name: string) => tb!.broker.listeners.find((l) => l.name === name)!.port;
    const lastAnsweredAfterMs = async (p: number): Promise<number> => {
      const start = Date.now();
      const sockets = await Promise.all(Array.from({ length: 6 }, () => connect(p)));
      await Promise.all(sockets.map(apiVersions));
      return Date.now() - start;
    };
    expect(await lastAnsweredAfterMs(port('PLAINTEXT'))).toBeLessThan(900);
    expect(await lastAnsweredAfterMs(port('CLIENT'))).toBeGreaterThanOrEqual(900);
  });

  it('without a rate, connections are served at once', async () => {
    tb = await startTestBroker();
    const start = Date.now();
    const sockets = await Promise.all(Array.from({ length: 6 }, () => connect(tb!.port)));
    await Promise.all(sockets.map(apiVersions));
    expect(Date.now() - start).toBeLessThan(900);
  });
});

describe('connection_creation_rate for an IP (AlterClientQuotas ip entity)', () => {
  it('a connection over its address\'s rate is closed after its throttle time, as Kafka\'s acceptor does', async () => {
    tb = await startTestBroker({ quotaWindowNum: 2 });
    const admin = await connect(tb.port);
    const res = await admin.send(ApiKey.AlterClientQuotas, 1, {
      entries: [{ entity: [{ entityType: 'ip', entityName: '127.0.0.1' }], ops: [{ key: 'connection_creation_rate', value: 1, remove: false }] }],
      validateOnly: false,
    });
    expect(res.entries[0].errorCode).toBe(0);
    const start = Date.now();
    const sockets = await Promise.all(Array.from({ length: 4 }, () => connect(tb!.port)));
    const outcomes = await Promise.all(
      sockets.map((c) =>
        apiVersions(c).then(
          () => 'served',
          () => `closed after ${Date.now() - start} ms`,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'served').length).toBeGreaterThanOrEqual(1);
    const closed = outcomes.filter((o) => o !== 'served');
    expect(closed.length).toBeGreaterThanOrEqual(1);
    // Closed after a delay (the throttle time), not refused at accept.
    for (const o of closed) expect(Number(/after (\d+)/.exec(o)![1])).toBeGreaterThanOrEqual(100);
    // The admin connection, made before the quota, still works.
    expect((await apiVersions(admin)).errorCode).toBe(0);
  });
});
