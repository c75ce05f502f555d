// ListOffsets (key 2), versions 0–11.
// | timestamp                        | answer (v1+: offset, timestamp, leaderEpoch v4+)                          |
// |----------------------------------|----------------------------------------------------------------------------|
// | -1 LATEST                        | high watermark (read_committed, v2+: the last stable offset), -1, the      |
// |                                  | partition's leader epoch                                                   |
// | -2 EARLIEST                      | log start offset, -1, the epoch of the first leader-epoch cache entry when |
// |                                  | it starts at or below the log start offset, else -1                        |
// | -3 MAX_TIMESTAMP (v7+, KIP-734)  | earliest record carrying the largest timestamp, its timestamp, its batch's |
// |                                  | epoch; -1/-1/-1 for an empty log                                           |
// | -4 EARLIEST_LOCAL (v8+, KIP-405) | as EARLIEST (no tiered storage: everything is local)                       |
// | -5 LATEST_TIERED (v9+, KIP-1005) | -1, -1, -1 (nothing is tiered)                                             |
// | -6 EARLIEST_PENDING_UPLOAD (v11+,| -1, -1, -1 (no tiered storage: nothing waits for upload; Kafka 4.2 answers |
// |   KIP-1023)                      |   a topic without remote storage so)                                        |
// | other negative, or one above the | UNSUPPORTED_VERSION, -1/-1/-1 (KafkaApis timestampMinSupportedVersion)     |
// |   request's version              |                                                                            |
// | t >= 0                           | first record with timestamp >= t at or after the log start offset (also    |
// |                                  | inside a batch straddling it; compressed batches are decompressed, one     |
// |                                  | batch per lookup), its timestamp, its batch's epoch; -1/-1/-1 when none    |
// - Order of checks (v1+, KafkaApis.handleListOffsetRequestV1AndAbove): duplicate partition (INVALID_REQUEST for
//   each occurrence), unsupported negative timestamp, then the partition (unknown, leader epoch), then the lookup.
// - v0 (handleListOffsetRequestV0) answers OldStyleOffsets: a timestamp below -2 is UNSUPPORTED_VERSION; otherwise
//   the log end offset (the high watermark for a consumer) and segment base offsets, newest first, at most
//   MaxNumOffsets (PartitionLog.legacyFetchOffsetsBefore). No duplicate check in v0, as in Kafka.
// - currentLeaderEpoch (v4+) is checked as in Kafka (KIP-320; only -1 means "none"). Error answers carry
//   leaderEpoch -1, as Kafka's buildErrorResponse leaves the schema default.
// - isolation_level (v2+) read_committed: LATEST is the last stable offset, and lookups that find an offset at or
//   past it answer -1/-1/-1 (Kafka's Partition.fetchOffsetForTimestamp with lastFetchableOffset = LSO; read
//   uncommitted bounds them by the high watermark, which every lookup already respects).
// - v10 (KIP-1075) adds TimeoutMs, how long a lookup may wait for remote (tiered) storage; nothing is tiered here,
//   so every lookup answers at once and the timeout is unused. v11 (Kafka 4.2) only adds the -6 timestamp.
// - A batch that cannot be decompressed answers UNKNOWN_SERVER_ERROR (Kafka: KafkaException "Failed to
//   decompress record stream"), logged at error; a malformed record inside it INVALID_RECORD.
import { ApiKey } from '../protocol/generated/index.js';
import { makeListOffsetsResponse, type ListOffsetsRequest, type ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { AclOperation, ResourceType, authorize } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';
import { KafkaError } from '../errors.js';
import { lookupLeaderLog, partitionErrorCode } from './partition-lookup.js';
import type { PartitionLog } from '../log/partition-log.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];
type PartitionRequest = ListOffsetsRequest['topics'][number]['partitions'][number];

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;
const EARLIEST_PENDING_UPLOAD = -6n;
/** Kafka's ListOffsetsRequest timestamps and the first request version that may send each (KafkaApis). */
const TIMESTAMP_MIN_VERSION = new Map<bigint, number>([
  [EARLIEST, 1],
  [LATEST, 1],
  [MAX_TIMESTAMP, 7],
  [EARLIEST_LOCAL, 8],
  [LATEST_TIERED, 9],
  [EARLIEST_PENDING_UPLOAD, 11],
]);

interface Found {
  offset: bigint;
  timestamp: bigint;
  leaderEpoch: number;
}

const NOT_FOUND: Found = { offset: -1n, timestamp: -1n, leaderEpoch: -1 };

/** A v1+ partition answer with only the fields that exist at `apiVersion` (the others must stay default). */
function answer(partitionIndex: number, errorCode: number, found: Found, apiVersion: number): PartitionResponse {
  const res = { partitionIndex, errorCode } as PartitionResponse;
  if (apiVersion === 0) {
    res.oldStyleOffsets = [];
    return res;
  }
  res.timestamp = found.timestamp;
  res.offset = found.offset;
  if (apiVersion >= 4) res.leaderEpoch = found.leaderEpoch >= 0 ? found.leaderEpoch : -1;
  return res;
}

async function lookupOffset(log: PartitionLog, timestamp: bigint, readCommitted: boolean, fromReplica: boolean): Promise<Found> {
  // Kafka's Partition.fetchOffsetForTimestamp: a follower (replica id >= 0) sees up to the log end offset.
  const lastFetchable = fromReplica ? log.logEndOffset : readCommitted ? log.lastStableOffset : log.highWatermark;
  if (timestamp === LATEST) return { offset: lastFetchable, timestamp: -1n, leaderEpoch: log.leaderEpoch };
  // Kafka's Partition.fetchOffsetForTimestamp: EARLIEST is not bounded by the last fetchable offset.
  if (timestamp === EARLIEST || timestamp === EARLIEST_LOCAL) return log.earliestOffsetAndEpoch();
  if (timestamp === LATEST_TIERED || timestamp === EARLIEST_PENDING_UPLOAD) return NOT_FOUND;
  const found = timestamp === MAX_TIMESTAMP ? await log.maxTimestampAndOffset() : await log.offsetForTimestamp(timestamp);
  return found !== null && found.offset < lastFetchable ? found : NOT_FOUND;
}

function errorCodeOf(ctx: RequestContext, err: unknown, topic: string, partition: number): number {
  const code = partitionErrorCode(err, ctx.log, { api: 'ListOffsets', topic, partition });
  if (err instanceof KafkaError && code === ErrorCode.UNKNOWN_SERVER_ERROR) {
    ctx.log.error({ err, api: 'ListOffsets', topic, partition }, 'error while searching the log');
  }
  return code;
}

async function listPartition(
  ctx: RequestContext,
  topicName: string,
  p: PartitionRequest,
  duplicate: boolean,
  readCommitted: boolean,
  fromReplica: boolean,
): Promise<PartitionResponse> {
  const v = ctx.apiVersion;
  if (duplicate) return answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, NOT_FOUND, v);
  if (p.timestamp < 0n && !(v >= (TIMESTAMP_MIN_VERSION.get(p.timestamp) ?? Infinity))) {
    return answer(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION, NOT_FOUND, v);
  }
  try {
    const { log } = lookupLeaderLog(ctx.broker, ctx.broker.topics.get(topicName), p.partitionIndex, p.currentLeaderEpoch, 'only-minus-one');
    return answer(p.partitionIndex, ErrorCode.NONE, await lookupOffset(log, p.timestamp, readCommitted, fromReplica), v);
  } catch (err) {
    return answer(p.partitionIndex, errorCodeOf(ctx, err, topicName, p.partitionIndex), NOT_FOUND, v);
  }
}

/** v0: OldStyleOffsets (Kafka's handleListOffsetRequestV0). */
function listPartitionV0(ctx: RequestContext, request: ListOffsetsRequest, topicName: string, p: PartitionRequest): PartitionResponse {
  // Negative timestamps other than LATEST and EARLIEST are reserved and were never valid in v0.
  if (p.timestamp < EARLIEST) return answer(p.partitionIndex, ErrorCode.UNSUPPORTED_VERSION, NOT_FOUND, 0);
  try {
    const { log } = lookupLeaderLog(ctx.broker, ctx.broker.topics.get(topicName), p.partitionIndex, undefined, 'only-minus-one');
    // Kafka sizes an array with maxNumOffsets: a negative count fails there (NegativeArraySizeException).
    if (p.maxNumOffsets! < 0) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `maxNumOffsets ${p.maxNumOffsets} is negative`);
    const res = { partitionIndex: p.partitionIndex, errorCode: ErrorCode.NONE } as PartitionResponse;
    res.oldStyleOffsets = log.legacyFetchOffsetsBefore(p.timestamp, p.maxNumOffsets!, request.replicaId === -1);
    return res;
  } catch (err) {
    return answer(p.partitionIndex, errorCodeOf(ctx, err, topicName, p.partitionIndex), NOT_FOUND, 0);
  }
}

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 11,
  async handle(ctx, request) {
    const seen = new Map<string, number>();
    for (const t of request.topics) for (const p of t.partitions) {
      const key = `${t.name}\u0000${p.partitionIndex}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const res = makeListOffsetsResponse();
    res.topics = await Promise.all(
      request.topics.map(async (t) => ({
        name: t.name,
        partitions: await Promise.all(
          t.partitions.map((p) =>
            // ACLs (auth/authorizer.ts): DESCRIBE on the topic, else TOPIC_AUTHORIZATION_FAILED for each partition.
            !authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t.name)
              ? answer(p.partitionIndex, ErrorCode.TOPIC_AUTHORIZATION_FAILED, NOT_FOUND, ctx.apiVersion)
              : ctx.apiVersion === 0
              ? listPartitionV0(ctx, request, t.name, p)
              : listPartition(ctx, t.name, p, seen.get(`${t.name}\u0000${p.partitionIndex}`)! > 1, (request.isolationLevel ?? 0) === 1, ctx.broker.replicas !== undefined && request.replicaId >= 0),
          ),
        ),
      })),
    ) as ListOffsetsResponse['topics'];
    return res;
  },
  errorResponse(request, errorCode, apiVersion) {
    const res = makeListOffsetsResponse();
    res.topics = request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => answer(p.partitionIndex, errorCode, NOT_FOUND, apiVersion)),
    })) as ListOffsetsResponse['topics'];
    return res;
  },
};
