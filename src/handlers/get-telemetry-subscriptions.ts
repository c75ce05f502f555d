// GetTelemetrySubscriptions (key 71), version 0 (KIP-714 client telemetry).
// - Answered as a Kafka 3.9 broker with no client-metrics subscriptions and no metrics reporter does
//   (KafkaApis.handleGetTelemetrySubscriptionsRequest → ClientMetricsManager.processGetTelemetrySubscriptionRequest;
//   the rules are in telemetry/client-metrics-manager.ts): the empty subscription (no requested metrics, so clients
//   push nothing), a push interval of 5 minutes, zstd/lz4/gzip/snappy accepted, telemetry.max.bytes 1 MiB, delta
//   temporality, and a new client instance id when the request's is zero. A second request sooner than the push
//   interval answers THROTTLING_QUOTA_EXCEEDED with nothing else (GetTelemetrySubscriptionsRequest.getErrorResponse).
// - Deliberate difference: Kafka leaves keys 71 and 72 out of ApiVersions unless a metrics reporter with a telemetry
//   receiver is configured (ApiVersionManager clientTelemetryEnabled), so its clients do not send them at all; Eddy
//   advertises every API it answers (handlers/index.ts), so clients that support KIP-714 (Java 3.7+, librdkafka
//   2.5+) ask, get the empty subscription, and send nothing until they ask again one push interval later.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeGetTelemetrySubscriptionsResponse,
  type GetTelemetrySubscriptionsRequest,
  type GetTelemetrySubscriptionsResponse,
} from '../protocol/generated/get-telemetry-subscriptions.js';
import type { ApiHandler } from './types.js';

export const getTelemetrySubscriptionsHandler: ApiHandler<GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse> = {
  apiKey: ApiKey.GetTelemetrySubscriptions,
  name: 'GetTelemetrySubscriptions',
  minVersion: 0,
  maxVersion: 0,
  handle(ctx, request) {
    const res = makeGetTelemetrySubscriptionsResponse();
    const answer = ctx.broker.clientMetrics.getSubscriptions(request.clientInstanceId);
    if (!('clientInstanceId' in answer)) {
      res.errorCode = answer.errorCode;
      return res;
    }
    Object.assign(res, answer);
    return res;
  },
  // GetTelemetrySubscriptionsRequest.getErrorResponse: the code, nothing else.
  errorResponse(_request, errorCode) {
    const res = makeGetTelemetrySubscriptionsResponse();
    res.errorCode = errorCode;
    return res;
  },
};
