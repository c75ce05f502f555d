// Client telemetry (KIP-714): GetTelemetrySubscriptions and PushTelemetry answered as Kafka 3.9 without a metrics
// reporter; raw requests against an in-process broker, plus the manager's timing rules with an injected clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { ClientMetricsManager, DEFAULT_PUSH_INTERVAL_MS } from '../../src/telemetry/client-metrics-manager.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;

beforeEach(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
});
afterEach(async () => {
  client.close();
  await tb.stop();
});

const ZERO = Buffer.alloc(16);

describe('GetTelemetrySubscriptions and PushTelemetry', () => {
  it('ApiVersions advertises both at version 0', async () => {
    const res = await client.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'eddy-test', clientSoftwareVersion: '1' });
    const keys = res.apiKeys.filter((k: any) => k.apiKey === 71 || k.apiKey === 72);
    expect(keys).toEqual([
      { apiKey: 71, minVersion: 0, maxVersion: 0 },
      { apiKey: 72, minVersion: 0, maxVersion: 0 },
    ]);
  });

  it('a client without an instance id gets a new one and the empty subscription', async () => {
    const res = await client.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO });
    expect(res).toMatchObject({
      errorCode: 0,
      requestedMetrics: [],
      acceptedCompressionTypes: [4, 3, 1, 2],
      pushIntervalMs: 300_000,
      telemetryMaxBytes: 1024 * 1024,
      deltaTemporality: true,
    });
    expect(res.clientInstanceId.equals(ZERO)).toBe(false);
    // Kafka's subscription id: CRC-32C("[]300000") ^ the Java hash of the instance id.
    const id: Buffer = res.clientInstanceId;
    const hash = id.readInt32BE(0) ^ id.readInt32BE(4) ^ id.readInt32BE(8) ^ id.readInt32BE(12);
    expect(res.subscriptionId).toBe((crc32c(Buffer.from('[]300000')) | 0) ^ hash);
  });

  it('asking again before the push interval answers THROTTLING_QUOTA_EXCEEDED and nothing else', async () => {
    const first = await client.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO });
    const again = await client.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: first.clientInstanceId });
    expect(again).toMatchObject({ errorCode: ErrorCode.THROTTLING_QUOTA_EXCEEDED, subscriptionId: 0, requestedMetrics: [] });
    expect(again.clientInstanceId.equals(ZERO)).toBe(true);
  });

  it('a push after the subscription is accepted (metrics dropped); a second one within the interval is throttled', async () => {
    const sub = await client.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO });
    const push = (fields: Record<string, unknown>) =>
      client.send(ApiKey.PushTelemetry, 0, { clientInstanceId: sub.clientInstanceId, subscriptionId: sub.subscriptionId, terminating: false, compressionType: 0, metrics: Buffer.from('otlp'), ...fields });
    expect((await push({})).errorCode).toBe(ErrorCode.NONE);
    expect((await push({})).errorCode).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    // A terminating push is not throttled; anything after it is INVALID_REQUEST.
    expect((await push({ terminating: true })).errorCode).toBe(ErrorCode.NONE);
    expect((await push({ terminating: true })).errorCode).toBe(ErrorCode.INVALID_REQUEST);
  });

  it('a push with a zero or reserved instance id answers INVALID_REQUEST', async () => {
    const reserved = Buffer.from('00000000000000000000000000000001', 'hex');
    for (const clientInstanceId of [ZERO, reserved]) {
      const res = await client.send(ApiKey.PushTelemetry, 0, { clientInstanceId, subscriptionId: 0, terminating: false, compressionType: 0, metrics: Buffer.alloc(0) });
      expect(res.errorCode).toBe(ErrorCode.INVALID_REQUEST);
    }
  });

  it('a push for an instance the broker does not know (e.g. after a restart) with a stale subscription id answers UNKNOWN_SUBSCRIPTION_ID', async () => {
    const res = await client.send(ApiKey.PushTelemetry, 0, { clientInstanceId: Buffer.alloc(16, 5), subscriptionId: 12345, terminating: false, compressionType: 0, metrics: Buffer.alloc(0) });
    expect(res.errorCode).toBe(ErrorCode.UNKNOWN_SUBSCRIPTION_ID);
  });

  it('an unknown compression type answers UNSUPPORTED_COMPRESSION_TYPE, metrics over 1 MiB TELEMETRY_TOO_LARGE', async () => {
    const other = await TestClient.connect(tb.port);
    try {
      for (const [fields, code] of [
        [{ compressionType: 9, metrics: Buffer.alloc(1) }, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE],
        [{ compressionType: 4, metrics: Buffer.alloc(1024 * 1024 + 1) }, ErrorCode.TELEMETRY_TOO_LARGE],
      ] as const) {
        const sub = await other.send(ApiKey.GetTelemetrySubscriptions, 0, { clientInstanceId: ZERO });
        const res = await other.send(ApiKey.PushTelemetry, 0, { clientInstanceId: sub.clientInstanceId, subscriptionId: sub.subscriptionId, terminating: false, ...fields });
        expect(res.errorCode).toBe(code);
      }
    } finally {
      other.close();
    }
  });
});

describe('ClientMetricsManager timing', () => {
  it('accepts a Get again after the push interval, and a push after the interval since the last accepted one', () => {
    const clock = { ms: 1_700_000_000_000 };
    const manager = new ClientMetricsManager({ now: () => clock.ms });
    const sub = manager.getSubscriptions(ZERO);
    expect(sub.errorCode).toBe(0);
    const { clientInstanceId, subscriptionId } = sub as { clientInstanceId: Buffer; subscriptionId: number };
    const push = { clientInstanceId, subscriptionId, terminating: false, compressionType: 0, metrics: Buffer.alloc(0) };
    expect(manager.push(push)).toBe(0);
    clock.ms += DEFAULT_PUSH_INTERVAL_MS - 1;
    expect(manager.push(push)).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    expect(manager.getSubscriptions(clientInstanceId).errorCode).toBe(ErrorCode.THROTTLING_QUOTA_EXCEEDED);
    clock.ms += 1;
    expect(manager.push(push)).toBe(0);
    clock.ms += DEFAULT_PUSH_INTERVAL_MS;
    expect(manager.getSubscriptions(clientInstanceId)).toMatchObject({ errorCode: 0, subscriptionId });
    // Right after a Get, a push is on time whatever the interval.
    expect(manager.push(push)).toBe(0);
  });

  it('forgets an instance after 3 push intervals without a request', () => {
    const clock = { ms: 1_700_000_000_000 };
    const manager = new ClientMetricsManager({ now: () => clock.ms });
    const sub = manager.getSubscriptions(ZERO) as { clientInstanceId: Buffer; subscriptionId: number };
    const push = { clientInstanceId: sub.clientInstanceId, subscriptionId: sub.subscriptionId, terminating: true, compressionType: 0, metrics: Buffer.alloc(0) };
    expect(manager.push(push)).toBe(0);
    expect(manager.push(push)).toBe(ErrorCode.INVALID_REQUEST);
    clock.ms += 3 * DEFAULT_PUSH_INTERVAL_MS + 1;
    // A fresh instance: not terminating any more.
    expect(manager.push({ ...push, terminating: false })).toBe(0);
    expect(manager.size).toBe(1);
  });

  it('drops instances that never come back once 3 push intervals have passed, not only at the LRU cap (issue 8)', () => {
    const clock = { ms: 1_700_000_000_000 };
    const manager = new ClientMetricsManager({ now: () => clock.ms });
    for (let i = 0; i < 100; i++) manager.getSubscriptions(ZERO);
    clock.ms += 2 * DEFAULT_PUSH_INTERVAL_MS;
    const later = Array.from({ length: 50 }, () => manager.getSubscriptions(ZERO) as { clientInstanceId: Buffer });
    expect(manager.size).toBe(150);
    // Kafka's expiration timer would have dropped the first 100 by now; any request sweeps them.
    clock.ms += DEFAULT_PUSH_INTERVAL_MS + 1;
    expect(manager.getSubscriptions(later[0]!.clientInstanceId).errorCode).toBe(0);
    expect(manager.size).toBe(50);
  });
});
