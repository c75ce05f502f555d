// ListOffsets (key 2), versions 0–9.
// | timestamp                        | answer                                                        |
// |----------------------------------|---------------------------------------------------------------|
// | -1 LATEST                        | high watermark (= last stable offset without transactions)    |
// | -2 EARLIEST                      | log start offset                                              |
// | -3 MAX_TIMESTAMP (v7+, KIP-734)  | offset and timestamp of the largest timestamp, or -1/-1       |
// | -4 EARLIEST_LOCAL (v8+, KIP-405) | log start offset (no tiered storage: everything is local)     |
// | -5 LATEST_TIERED (v9+, KIP-1005) | -1/-1 (nothing is tiered)                                     |
// | t >= 0                           | first offset whose timestamp >= t, or -1/-1 when none         |
// Other negative timestamps find nothing (-1/-1), as in Kafka.
// - v0 answers with OldStyleOffsets (a list of at most MaxNumOffsets offsets) instead of Offset/Timestamp.
// - v1+ timestamp is -1 for LATEST/EARLIEST, as Kafka answers.
// - A partition named twice in one request gets INVALID_REQUEST for each occurrence (v1+, as Kafka).
// - currentLeaderEpoch (v4+) is checked as in Fetch (KIP-320); leaderEpoch in answers is 0.
import { ApiKey } from '../protocol/generated/index.js';
import { makeListOffsetsResponse, type ListOffsetsRequest, type ListOffsetsResponse } from '../protocol/generated/list-offsets.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler, RequestContext } from './types.js';
import { LEADER_EPOCH, checkLeaderEpoch, lookupPartition, partitionErrorCode } from './partition-lookup.js';
import type { PartitionLog } from '../log/partition-log.js';

type PartitionResponse = ListOffsetsResponse['topics'][number]['partitions'][number];

const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;
const EARLIEST_LOCAL = -4n;
const LATEST_TIERED = -5n;

/** Builds a partition answer with only the fields that exist at `apiVersion` (the others must stay default). */
function answer(partitionIndex: number, errorCode: number, offset: bigint, timestamp: bigint, apiVersion: number): PartitionResponse {
  const res = { partitionIndex, errorCode } as PartitionResponse;
  if (apiVersion === 0) {
    res.oldStyleOffsets = offset >= 0n ? [offset] : [];
  } else {
    res.timestamp = timestamp;
    res.offset = offset;
  }
  if (apiVersion >= 4) res.leaderEpoch = errorCode === ErrorCode.NONE ? LEADER_EPOCH : -1;
  return res;
}

async function lookupOffset(log: PartitionLog, timestamp: bigint, apiVersion: number): Promise<{ offset: bigint; timestamp: bigint }> {
  if (timestamp === LATEST) return { offset: log.highWatermark, timestamp: -1n };
  if (timestamp === EARLIEST || (timestamp === EARLIEST_LOCAL && apiVersion >= 8)) return { offset: log.logStartOffset, timestamp: -1n };
  if (timestamp === MAX_TIMESTAMP && apiVersion >= 7) return log.maxTimestampAndOffset() ?? { offset: -1n, timestamp: -1n };
  if (timestamp === LATEST_TIERED && apiVersion >= 9) return { offset: -1n, timestamp: -1n };
  if (timestamp < 0n) return { offset: -1n, timestamp: -1n };
  return (await log.offsetForTimestamp(timestamp)) ?? { offset: -1n, timestamp: -1n };
}

async function listPartition(ctx: RequestContext, topicName: string, p: ListOffsetsRequest['topics'][number]['partitions'][number], duplicate: boolean): Promise<PartitionResponse> {
  const v = ctx.apiVersion;
  if (duplicate) return answer(p.partitionIndex, ErrorCode.INVALID_REQUEST, -1n, -1n, v);
  try {
    const log = lookupPartition(ctx.broker, ctx.broker.topics.get(topicName), p.partitionIndex);
    checkLeaderEpoch(p.currentLeaderEpoch);
    const found = await lookupOffset(log, p.timestamp, v);
    return answer(p.partitionIndex, ErrorCode.NONE, found.offset, found.timestamp, v);
  } catch (err) {
    const code = partitionErrorCode(err, ctx.log, { api: 'ListOffsets', topic: topicName, partition: p.partitionIndex });
    return answer(p.partitionIndex, code, -1n, -1n, v);
  }
}

export const listOffsetsHandler: ApiHandler<ListOffsetsRequest, ListOffsetsResponse> = {
  apiKey: ApiKey.ListOffsets,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
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
          t.partitions.map((p) => listPartition(ctx, t.name, p, ctx.apiVersion >= 1 && seen.get(`${t.name}\u0000${p.partitionIndex}`)! > 1)),
        ),
      })),
    ) as ListOffsetsResponse['topics'];
    return res;
  },
  errorResponse(request, errorCode, apiVersion) {
    const res = makeListOffsetsResponse();
    res.topics = request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => answer(p.partitionIndex, errorCode, -1n, -1n, apiVersion)),
    })) as ListOffsetsResponse['topics'];
    return res;
  },
};
