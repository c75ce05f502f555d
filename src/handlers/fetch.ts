// Fetch (key 1), versions 0–17.
// - Topics by name up to v12 and by topic id from v13 (UNKNOWN_TOPIC_ID when the id is unknown), consistent with
//   Metadata returning topic ids from v10.
// - Per partition, in request order: UNKNOWN_TOPIC_OR_PARTITION, leader-epoch check (KIP-320),
//   OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset]; otherwise whole batches from one segment, up to
//   the partition's max bytes and what is left of the response's max bytes, never past the high watermark. The
//   first partition with data gets at least one whole batch even if it is larger (KIP-74).
// - Records are passed through as the bytes read from disk (the response writer references them, no copy).
// - Long polling: below min_bytes with max_wait_ms > 0 and no errors, wait for an append on any of the requested
//   partitions (or the timeout, or broker shutdown), then read again. The log wakes us; nothing polls.
// - No transactions yet: last stable offset = high watermark; aborted transactions are [] for read_committed and
//   null for read_uncommitted (v4+).
// - Sessions (KIP-227): sessionless answers (session id 0); a request naming a session we never created gets
//   FETCH_SESSION_ID_NOT_FOUND, so the client falls back to full fetches.
// - v0–v3 readers expect magic 0/1 message sets; without down-conversion (as Kafka with
//   message.downconversion.enable=false) a partition with data answers UNSUPPORTED_VERSION there.
import { ApiKey } from '../protocol/generated/index.js';
import { makeFetchResponse, type FetchRequest, type FetchResponse } from '../protocol/generated/fetch.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { KafkaError } from '../errors.js';
import { waitForAppend } from '../log/log-manager.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { TopicInfo } from '../metadata/topic-registry.js';
import type { ApiHandler, RequestContext } from './types.js';
import { checkLeaderEpoch, lookupPartition, partitionErrorCode } from './partition-lookup.js';

type ResponseTopic = FetchResponse['responses'][number];
type PartitionData = ResponseTopic['partitions'][number];

const EMPTY = Buffer.alloc(0);
const ZERO_UUID = Buffer.alloc(16);
const READ_COMMITTED = 1;
const FIRST_MAGIC_2_VERSION = 4;

function partitionResult(partitionIndex: number, errorCode: number, log: PartitionLog | null, records: Buffer, readCommitted: boolean): PartitionData {
  const hw = log === null ? -1n : log.highWatermark;
  return {
    partitionIndex,
    errorCode,
    highWatermark: hw,
    lastStableOffset: hw,
    logStartOffset: log === null ? -1n : log.logStartOffset,
    abortedTransactions: readCommitted ? [] : null,
    preferredReadReplica: -1,
    records,
  } as PartitionData;
}

interface ResolvedTopic {
  request: FetchRequest['topics'][number];
  topic: TopicInfo | undefined;
  unknownId: boolean;
}

/** One pass over every requested partition. Returns the response topics, bytes gathered and whether any failed. */
async function readAll(ctx: RequestContext, request: FetchRequest, topics: ResolvedTopic[], logsOut: PartitionLog[] | null) {
  const readCommitted = (request.isolationLevel ?? 0) === READ_COMMITTED;
  let bytesLeft = ctx.apiVersion >= 3 ? request.maxBytes ?? 0x7fffffff : 0x7fffffff;
  let totalBytes = 0;
  let anyError = false;
  const responses: ResponseTopic[] = [];
  for (const { request: t, topic, unknownId } of topics) {
    const partitions: PartitionData[] = [];
    for (const p of t.partitions) {
      if (unknownId) {
        partitions.push(partitionResult(p.partition, ErrorCode.UNKNOWN_TOPIC_ID, null, EMPTY, readCommitted));
        anyError = true;
        continue;
      }
      let log: PartitionLog | null = null;
      try {
        log = lookupPartition(ctx.broker, topic, p.partition);
        logsOut?.push(log);
        checkLeaderEpoch(p.currentLeaderEpoch);
        const maxBytes = Math.min(p.partitionMaxBytes, bytesLeft);
        const minOneBatch = totalBytes === 0;
        const records = maxBytes > 0 || minOneBatch ? await log.read(p.fetchOffset, Math.max(maxBytes, 0), minOneBatch) : null;
        if (records !== null && records.length > 0 && ctx.apiVersion < FIRST_MAGIC_2_VERSION) {
          throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, 'Fetch v0-v3 needs message down-conversion, which is disabled');
        }
        const bytes = records?.length ?? 0;
        totalBytes += bytes;
        bytesLeft -= bytes;
        partitions.push(partitionResult(p.partition, ErrorCode.NONE, log, records ?? EMPTY, readCommitted));
      } catch (err) {
        anyError = true;
        const code = partitionErrorCode(err, ctx.log, { api: 'Fetch', topic: topic?.name, partition: p.partition });
        partitions.push(partitionResult(p.partition, code, code === ErrorCode.OFFSET_OUT_OF_RANGE ? log : null, EMPTY, readCommitted));
      }
    }
    responses.push({ topic: t.topic ?? topic?.name ?? '', topicId: t.topicId ?? ZERO_UUID, partitions } as ResponseTopic);
  }
  return { responses, totalBytes, anyError };
}

/** Resolves on the first append to any of `logs`, after `timeoutMs`, or when the broker shuts down. */
function waitForAppendOrShutdown(logs: PartitionLog[], timeoutMs: number, shutdown: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const wait = waitForAppend(logs, timeoutMs);
    const onShutdown = () => {
      wait.cancel();
      resolve();
    };
    shutdown.addEventListener('abort', onShutdown, { once: true });
    void wait.promise.then(() => {
      shutdown.removeEventListener('abort', onShutdown);
      resolve();
    });
  });
}

export const fetchHandler: ApiHandler<FetchRequest, FetchResponse> = {
  apiKey: ApiKey.Fetch,
  name: 'Fetch',
  minVersion: 0,
  maxVersion: 17,
  async handle(ctx, request) {
    const res = makeFetchResponse();
    if (ctx.apiVersion >= 7 && (request.sessionId ?? 0) !== 0) {
      res.errorCode = ErrorCode.FETCH_SESSION_ID_NOT_FOUND;
      return res;
    }
    const useIds = ctx.apiVersion >= 13;
    const topics: ResolvedTopic[] = request.topics.map((t) => {
      const topic = useIds ? ctx.broker.topics.getById(t.topicId ?? ZERO_UUID) : ctx.broker.topics.get(t.topic ?? '');
      return { request: t, topic, unknownId: useIds && topic === undefined };
    });

    const deadline = Date.now() + Math.max(0, request.maxWaitMs);
    const logs: PartitionLog[] = [];
    let pass = await readAll(ctx, request, topics, logs);
    while (pass.totalBytes < request.minBytes && !pass.anyError && logs.length > 0 && !ctx.broker.shutdownSignal.aborted) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      await waitForAppendOrShutdown(logs, remainingMs, ctx.broker.shutdownSignal);
      pass = await readAll(ctx, request, topics, null);
    }
    res.responses = pass.responses;
    return res;
  },
  errorResponse(request, errorCode) {
    const res = makeFetchResponse();
    res.errorCode = errorCode;
    res.responses = request.topics.map((t) => ({
      topic: t.topic ?? '',
      topicId: t.topicId ?? ZERO_UUID,
      partitions: t.partitions.map((p) => partitionResult(p.partition, errorCode, null, EMPTY, false)),
    })) as FetchResponse['responses'];
    return res;
  },
};
