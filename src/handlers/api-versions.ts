// ApiVersions (key 18), versions 0–4.
// - Lists every API in the handler registry with the versions this broker honours; nothing else is advertised
//   (Java and kafkajs pick the highest advertised version blindly, so an advertised API must be implemented).
// - Minimum versions stay at 0 wherever the schema allows (librdkafka 2.0 turns features off otherwise).
// - A version we don't support gets a v0 body with UNSUPPORTED_VERSION and our ranges (KIP-511); dispatch calls
//   unsupportedApiVersionsResponse() for that, and the response header is always v0.
// - v3+: ClientSoftwareName/Version must match Kafka's pattern, else INVALID_REQUEST (KIP-511).
// - No feature flags are advertised (SupportedFeatures empty, FinalizedFeaturesEpoch -1).
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

function response(errorCode: number): ApiVersionsResponse {
  const res = makeApiVersionsResponse();
  res.errorCode = errorCode;
  res.apiKeys = advertisedApiKeys();
  return res;
}

/** The v0 answer to an ApiVersions request at a version we don't support (KIP-511). */
export function unsupportedApiVersionsResponse(): ApiVersionsResponse {
  return response(ErrorCode.UNSUPPORTED_VERSION);
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
        return response(ErrorCode.INVALID_REQUEST);
      }
    }
    return response(ErrorCode.NONE);
  },
  errorResponse(_request, errorCode) {
    return response(errorCode);
  },
};
