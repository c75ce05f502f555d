// WriteTxnMarkers (key 27), versions 0–1 (KafkaApis.handleWriteTxnMarkersRequest).
// - An inter-broker API: in Kafka the transaction coordinator sends it to each partition's leader to write the
//   COMMIT/ABORT control batch. Here the coordinator writes its markers itself (txn/marker-writer.ts), so only a
//   tool or test sends it. Kafka requires ALTER or CLUSTER_ACTION on the cluster; without an authorizer (as
//   here) it accepts any caller and writes the markers, and so do we.
// - Per marker, per partition: a topic or partition the metadata does not know UNKNOWN_TOPIC_OR_PARTITION (Kafka's
//   getMagic finds no log); the others go to the marker writer in one call, which answers each partition (NONE
//   once the marker is durable, INVALID_PRODUCER_EPOCH for a marker older than the partition's producer epoch,
//   KAFKA_STORAGE_ERROR for an offline partition, ...). Partitions of __consumer_offsets are not looked up: the
//   writer hands them to the group coordinator, which makes the producer's pending transactional offsets visible
//   (commit) or drops them (abort); its COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR
//   are answered as NOT_LEADER_OR_FOLLOWER, as KafkaApis translates them for the coordinator that sent the markers.
// - The answer has one entry per producer id (Kafka keys its answer by producer id: two markers of one producer
//   share an entry), in request order; a marker with no partitions has none.
// - Markers are written in parallel and the answer is sent when all are done.
// - Cluster mode: the transaction coordinators send it to each partition's leader (txn/cluster-marker-writer.ts); a
//   partition this broker does not lead answers NOT_LEADER_OR_FOLLOWER, and a marker is answered once the ISR has
//   it (acks=-1, as Kafka appends it; txn/partition-marker-writer.ts).
// - ACLs (auth/authorizer.ts): ALTER or CLUSTER_ACTION on the CLUSTER, otherwise every partition answers
//   CLUSTER_AUTHORIZATION_FAILED (Kafka fails the whole request with it).
// - Version notes: v1 is the first flexible version.
import { ApiKey } from '../protocol/generated/index.js';
import {
  makeWriteTxnMarkersResponse,
  type WriteTxnMarkersRequest,
  type WriteTxnMarkersRequestWritableTxnMarker,
  type WriteTxnMarkersResponse,
} from '../protocol/generated/write-txn-markers.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { OFFSETS_TOPIC_NAME } from '../metadata/internal-topics.js';
import type { TransactionMarkerPartition } from '../txn/marker-writer.js';
import { isKnownPartition } from './partition-lookup.js';
import { AclOperation, authorizeCluster } from '../auth/index.js';
import type { ApiHandler, RequestContext } from './types.js';

type Marker = WriteTxnMarkersRequestWritableTxnMarker;
/** topic → partition → error code, in insertion order. */
type MarkerErrors = Map<string, Map<number, number>>;

/** Group coordinator answers KafkaApis turns into NOT_LEADER_OR_FOLLOWER for the transaction coordinator. */
const NOT_READY_GROUP_COORDINATOR_CODES: ReadonlySet<number> = new Set([
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.NOT_COORDINATOR,
]);

function setError(errors: MarkerErrors, topic: string, partition: number, errorCode: number): void {
  let partitions = errors.get(topic);
  if (partitions === undefined) {
    partitions = new Map();
    errors.set(topic, partitions);
  }
  partitions.set(partition, errorCode);
}

async function writeMarker(ctx: RequestContext, marker: Marker): Promise<MarkerErrors> {
  const errors: MarkerErrors = new Map();
  const toWrite: TransactionMarkerPartition[] = [];
  for (const t of marker.topics) {
    const known = t.name === OFFSETS_TOPIC_NAME ? undefined : ctx.broker.topics.get(t.name);
    for (const partition of t.partitionIndexes) {
      if (t.name === OFFSETS_TOPIC_NAME || isKnownPartition(known, partition)) toWrite.push({ topic: t.name, partition });
      else setError(errors, t.name, partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    }
  }
  if (toWrite.length === 0) return errors;
  const results = await ctx.broker.transactionMarkers.writeMarkers({
    producerId: marker.producerId,
    producerEpoch: marker.producerEpoch,
    coordinatorEpoch: marker.coordinatorEpoch,
    commit: marker.transactionResult,
    partitions: toWrite,
  });
  for (const r of results) {
    const code = r.topic === OFFSETS_TOPIC_NAME && NOT_READY_GROUP_COORDINATOR_CODES.has(r.errorCode) ? ErrorCode.NOT_LEADER_OR_FOLLOWER : r.errorCode;
    setError(errors, r.topic, r.partition, code);
  }
  ctx.log.debug({ producerId: marker.producerId.toString(), commit: marker.transactionResult, partitions: toWrite.length }, 'WriteTxnMarkers: markers written');
  return errors;
}

/** Merges each marker's errors into one entry per producer id, in request order. */
function respond(markers: readonly Marker[], perMarker: readonly MarkerErrors[]): WriteTxnMarkersResponse {
  const byProducer = new Map<bigint, MarkerErrors>();
  markers.forEach((marker, i) => {
    const errors = perMarker[i]!;
    if (errors.size === 0) return;
    let merged = byProducer.get(marker.producerId);
    if (merged === undefined) {
      merged = new Map();
      byProducer.set(marker.producerId, merged);
    }
    for (const [topic, partitions] of errors) for (const [partition, code] of partitions) setError(merged, topic, partition, code);
  });
  const res = makeWriteTxnMarkersResponse();
  res.markers = [...byProducer].map(([producerId, errors]) => ({
    producerId,
    topics: [...errors].map(([name, partitions]) => ({
      name,
      partitions: [...partitions].map(([partitionIndex, errorCode]) => ({ partitionIndex, errorCode })),
    })),
  }));
  return res;
}

export const writeTxnMarkersHandler: ApiHandler<WriteTxnMarkersRequest, WriteTxnMarkersResponse> = {
  apiKey: ApiKey.WriteTxnMarkers,
  name: 'WriteTxnMarkers',
  minVersion: 0,
  maxVersion: 1,
  async handle(ctx, request) {
    if (!authorizeCluster(ctx, AclOperation.ALTER) && !authorizeCluster(ctx, AclOperation.CLUSTER_ACTION)) {
      return this.errorResponse(request, ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ctx.apiVersion);
    }
    const perMarker = await Promise.all(request.markers.map((marker) => writeMarker(ctx, marker)));
    return respond(request.markers, perMarker);
  },
  errorResponse(request, errorCode) {
    return respond(
      request.markers,
      request.markers.map((marker) => {
        const errors: MarkerErrors = new Map();
        for (const t of marker.topics) for (const p of t.partitionIndexes) setError(errors, t.name, p, errorCode);
        return errors;
      }),
    );
  },
};
