// Request/response header versions per API, and thin wrappers over the generated header codecs.
//
// | header           | version | when                                                                  |
// |------------------|---------|-----------------------------------------------------------------------|
// | request header   | 0       | ControlledShutdown (7) v0 only (no ClientId)                           |
// | request header   | 1       | API version below the API's first flexible version                    |
// | request header   | 2       | flexible API version (KIP-482): adds a tagged-field section            |
// | response header  | 0       | non-flexible API version, and ApiVersions (18) at every version        |
// | response header  | 1       | flexible API version: adds a tagged-field section                      |
//
// The request header's ClientId is always the int16-length nullable string, even in header v2, so that a
// broker can read any ApiVersions request header (RequestHeader.json, "flexibleVersions": "none").
// ApiVersions responses stay on header v0 so clients can parse them before versions are agreed (KIP-511).
import { API_CODECS, ApiKey } from './generated/index.js';
import { readRequestHeader as readRequestHeaderAt, writeRequestHeader as writeRequestHeaderAt } from './generated/request-header.js';
import { readResponseHeader as readResponseHeaderAt, writeResponseHeader as writeResponseHeaderAt } from './generated/response-header.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

function isFlexible(apiKey: number, apiVersion: number): boolean {
  const codec = API_CODECS.get(apiKey);
  return codec !== undefined && apiVersion >= codec.flexibleMinVersion;
}

/** 2 if the API version is flexible, else 1; ControlledShutdown v0 → 0. Unknown API keys → 1. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

/** 1 if the API version is flexible, else 0; ApiVersions always 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexible(apiKey, apiVersion) ? 1 : 0;
}

export interface ParsedRequestHeader {
  requestApiKey: number;
  requestApiVersion: number;
  correlationId: number;
  clientId: string | null;
  headerVersion: number;
}

/**
 * Reads a request header, choosing its version from the api key and version at the front of it. For an api
 * key not in API_CODECS it reads a v1 header (so the caller can log and close).
 */
export function readRequestHeader(r: Reader): ParsedRequestHeader {
  const start = r.offset;
  const apiKey = r.readInt16();
  const apiVersion = r.readInt16();
  r.offset = start;
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  const h = readRequestHeaderAt(r, headerVersion);
  return {
    requestApiKey: h.requestApiKey,
    requestApiVersion: h.requestApiVersion,
    correlationId: h.correlationId,
    clientId: h.clientId ?? null,
    headerVersion,
  };
}

export function writeRequestHeader(
  w: Writer,
  h: { requestApiKey: number; requestApiVersion: number; correlationId: number; clientId: string | null },
  headerVersion: number,
): void {
  writeRequestHeaderAt(w, headerVersion, {
    requestApiKey: h.requestApiKey,
    requestApiVersion: h.requestApiVersion,
    correlationId: h.correlationId,
    // Header v0 has no ClientId; ignorable, so it is dropped rather than rejected.
    clientId: h.clientId,
  });
}

export function writeResponseHeader(w: Writer, correlationId: number, headerVersion: number): void {
  writeResponseHeaderAt(w, headerVersion, { correlationId });
}

export function readResponseHeader(r: Reader, headerVersion: number): { correlationId: number } {
  return { correlationId: readResponseHeaderAt(r, headerVersion).correlationId };
}
