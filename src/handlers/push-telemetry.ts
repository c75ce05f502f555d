// PushTelemetry (key 72), version 0 (KIP-714 client telemetry).
// - Answered as a Kafka 3.9 broker without a metrics reporter does (KafkaApis.handlePushTelemetryRequest →
//   ClientMetricsManager.processPushTelemetryRequest; the checks, in order, are in
//   telemetry/client-metrics-manager.ts): INVALID_REQUEST for a zero or reserved instance id or after a terminating
//   push, THROTTLING_QUOTA_EXCEEDED sooner than the push interval (unless terminating), UNKNOWN_SUBSCRIPTION_ID,
//   UNSUPPORTED_COMPRESSION_TYPE (not 0-4), TELEMETRY_TOO_LARGE (over 1 MiB); otherwise NONE. The metrics bytes
//   are neither decompressed nor decoded: with no receiver, Kafka drops them too.
// - Deliberate difference: advertised in ApiVersions, where Kafka without a telemetry receiver leaves it out
//   (get-telemetry-subscriptions.ts).
import { ApiKey } from '../protocol/generated/index.js';
import { makePushTelemetryResponse, type PushTelemetryRequest, type PushTelemetryResponse } from '../protocol/generated/push-telemetry.js';
import type { ApiHandler } from './types.js';

export const pushTelemetryHandler: ApiHandler<PushTelemetryRequest, PushTelemetryResponse> = {
  apiKey: ApiKey.PushTelemetry,
  name: 'PushTelemetry',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    const res = makePushTelemetryResponse();
    res.errorCode = ctx.broker.clientMetrics.push(request);
    return res;
  },
  errorResponse(_request, errorCode) {
    const res = makePushTelemetryResponse();
    res.errorCode = errorCode;
    return res;
  },
};
