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
// - v3+ carries the feature tags a Kafka KRaft broker sends: SupportedFeatures metadata.version 1–21,
//   kraft.version 0–1, transaction.version 0–2 and group.version 0–1 (features whose minimum is 0 are left out
//   below v4, KAFKA-17492), FinalizedFeatures metadata.version 21 (3.9-IV0), transaction.version 2
//   (txn/transaction-version.ts: clients use transactions v2) and group.version 1 (GroupVersion.GV_1: the KIP-848
//   consumer protocol is on; `kafka-features.sh describe` and Admin describeFeatures show it), with epoch 0.
//   Kafka itself finalizes TV 2 and GV 1 only with metadata.version 4.0 (their bootstrap versions); Eddy keeps
//   metadata.version at 3.9's level, which no client checks against them.
// - Past Kafka 3.9 (issue 12; schemas in scripts/kafka-protocol/README.md), a version is advertised once its handler
//   builds it: Produce 13 and Fetch 18 (topics by id), ListOffsets 10, Metadata 13, OffsetCommit/OffsetFetch 10
//   (topics by id), ConsumerGroupHeartbeat 1, DescribeGroups 6, ConsumerGroupDescribe 1, and EndTxn 5 and
//   TxnOffsetCommit 5 (transactions v2, KIP-890 part 2).
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeApiVersionsResponse,
  type ApiVersionsRequest,
  type ApiVersionsResponse,
} from '../protocol/generated/api-versions.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './types.js';
import { HANDLERS } from './index.js';
import { finalizedTransactionVersion, MAX_TRANSACTION_VERSION, TRANSACTION_VERSION_FEATURE } from '../txn/transaction-version.js';

const SOFTWARE_NAME_PATTERN = /^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/;

function advertisedApiKeys(): ApiVersionsResponse['apiKeys'] {
  return [...HANDLERS.values()]
    .sort((a, b) => a.apiKey - b.apiKey)
    .map((h) => ({ apiKey: h.apiKey, minVersion: h.minVersion, maxVersion: h.maxVersion }));
}

/** GroupVersion: level 1 (GV_1) enables the consumer rebalance protocol, which this broker serves (group/consumer-group/). */
const GROUP_VERSION_FEATURE = 'group.version';
const GROUP_VERSION_CONSUMER_PROTOCOL = 1;

/** MetadataVersion.IBP_3_9_IV0: the metadata.version a fresh Kafka 3.9 cluster finalizes. */
const METADATA_VERSION_3_9 = 21;
/** MetadataVersion.MINIMUM_KRAFT_VERSION (3.0-IV1). */
const METADATA_VERSION_MIN = 1;
const SUPPORTED_FEATURES = [
  { name: 'metadata.version', minVersion: METADATA_VERSION_MIN, maxVersion: METADATA_VERSION_3_9 },
  { name: 'kraft.version', minVersion: 0, maxVersion: 1 },
  { name: TRANSACTION_VERSION_FEATURE, minVersion: 0, maxVersion: MAX_TRANSACTION_VERSION },
  { name: GROUP_VERSION_FEATURE, minVersion: 0, maxVersion: GROUP_VERSION_CONSUMER_PROTOCOL },
];

/** Kafka lists a finalized feature only at a level above 0. */
function finalizedFeatures(transactionVersion: number): ApiVersionsResponse['finalizedFeatures'] {
  const features = [{ name: 'metadata.version', minVersionLevel: METADATA_VERSION_3_9, maxVersionLevel: METADATA_VERSION_3_9 }];
  if (transactionVersion > 0) features.push({ name: TRANSACTION_VERSION_FEATURE, minVersionLevel: transactionVersion, maxVersionLevel: transactionVersion });
  features.push({ name: GROUP_VERSION_FEATURE, minVersionLevel: GROUP_VERSION_CONSUMER_PROTOCOL, maxVersionLevel: GROUP_VERSION_CONSUMER_PROTOCOL });
  return features;
}

function successResponse(apiVersion: number, transactionVersion: number): ApiVersionsResponse {
  const res = makeApiVersionsResponse();
  res.apiKeys = advertisedApiKeys();
  if (apiVersion >= 3) {
    res.supportedFeatures = SUPPORTED_FEATURES.filter((f) => apiVersion >= 4 || f.minVersion > 0);
    res.finalizedFeatures = finalizedFeatures(transactionVersion);
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
    return successResponse(ctx.apiVersion, finalizedTransactionVersion(ctx.broker));
  },
  errorResponse(_request, errorCode) {
    return errorAnswer(errorCode);
  },
};
