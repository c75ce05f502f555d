// ApiVersions (key 18), versions 0–4.
// - Lists every API in the handler registry with the versions this broker honours; nothing else is advertised
//   (Java and kafkajs pick the highest advertised version blindly, so an advertised API must be implemented).
// - Minimum versions stay at 0 wherever the schema allows (librdkafka 2.0 turns features off otherwise).
// - Error answers list what Kafka lists (ApiVersionsRequest.getErrorResponse):
//   | error                                              | apiKeys                                  |
//   |----------------------------------------------------|------------------------------------------|
//   | UNSUPPORTED_VERSION (a version above 4; v0 body,   | only ApiVersions and its range, so the   |
//   |   header v0, from dispatch: KIP-511)               |   client retries at a version it finds   |
//   | INVALID_REQUEST (v3+ ClientSoftwareName/Version    | none                                     |
//   |   not matching Kafka's pattern, KIP-511)           |                                          |
// - v3+ carries the feature tags a Kafka 3.9 KRaft broker sends: SupportedFeatures metadata.version 1–21 and
//   kraft.version 0–1 (features whose minimum is 0 are left out below v4, KAFKA-17492), FinalizedFeatures
//   metadata.version 21 (3.9-IV0) with epoch 0. transaction.version and group.version stay unadvertised (0 in
//   3.9), so clients use the classic transaction and group protocols.
// - Past Kafka 3.9 (issue 12; schemas in scripts/kafka-protocol/README.md), a version is advertised once its handler
//   builds it: Produce 13 and Fetch 18 (topics by id), ListOffsets 10, Metadata 13, OffsetCommit/OffsetFetch 10
//   (topics by id), ConsumerGroupHeartbeat 1. EndTxn 5 and TxnOffsetCommit 5 (KIP-890 part 2) are not: without
//   transaction.version 2 no client needs them, and franz-go and the Java client keep transactional Produce at 11.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../protocol/generated/api-versions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './types.js';
import { HANDLERS } from './index.js';

const SOFTWARE_NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

function advertisedApiKeys(): ApiVersionsResponse['apiKeys'] {
  return [...HANDLERS.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

/** MetadataVersion.IBP_3_9_IV0: the metadata.version a fresh Kafka 3.9 cluster finalizes. */
const METADATA_VERSION_3_9 = 21;
/** MetadataVersion.MINIMUM_KRAFT_VERSION (3.0-IV1). */
const METADATA_VERSION_MIN = 1;
const SUPPORTED_FEATURES = [
  { name: 'metadata.version', minVersion: METADATA_VERSION_MIN, maxVersion: METADATA_VERSION_3_9 },
  { name: 'kraft.version', minVersion: 0, maxVersion: 1 },
];
const FINALIZED_FEATURES = [{ name: 'metadata.version', minVersionLevel: METADATA_VERSION_3_9, maxVersionLevel: METADATA_VERSION_3_9 }];

function successResponse(apiVersion: number): ApiVersionsResponse {
  const res = makeApiVersionsResponse();
  res.apiKeys = advertisedApiKeys();
  if (apiVersion >= 3) {
    res.supportedFeatures = SUPPORTED_FEATURES.filter((f) => apiVersion >= 4 || f.minVersion > 0);
    res.finalizedFeatures = FINALIZED_FEATURES;
    res.finalizedFeaturesEpoch = 0n;
  }
  return res;
}

function errorAnswer(errorCode: number): ApiVersionsResponse {
  const res = makeApiVersionsResponse();
  res.errorCode = errorCode;
  if (errorCode === ErrorCode.UNSUPPORTED_VERSION) {
    const self = HANDLERS.get(ApiKey.ApiVersions)!;
    res.apiKeys = [{ apiKey: ApiKey.ApiVersions, minVersion: self.minVersion, maxVersion: self.maxVersion }];
  }
  return res;
}

/** The v0 answer to an ApiVersions request at a version we don't support (KIP-511). */
export function unsupportedApiVersionsResponse(): ApiVersionsResponse {
  return errorAnswer(ErrorCode.UNSUPPORTED_VERSION);
}

export const apiVersionsHandler: ApiHandler<ApiVersionsRequest, ApiVersionsResponse> = {
  apiKey: ApiKey.ApiVersions,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  handle(ctx, request) {
    if (ctx.apiVersion >= 3) {
      const name = request.clientSoftwareName ?? '';
      const version = request.clientSoftwareVersion ?? '';
      if (!SOFTWARE_NAME_PATTERN.test(name) || !SOFTWARE_NAME_PATTERN.test(version)) {
        ctx.log.warn({ clientSoftwareName: name, clientSoftwareVersion: version }, 'invalid client software name or version');
        return errorAnswer(ErrorCode.INVALID_REQUEST);
      }
    }
    return successResponse(ctx.apiVersion);
  },
  errorResponse(_request, errorCode) {
    return errorAnswer(errorCode);
  },
};
