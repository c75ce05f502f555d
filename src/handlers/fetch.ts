// Fetch (key 1), versions 0–17.
// - Topics by name up to v12 and by topic id from v13 (UNKNOWN_TOPIC_ID when the id is unknown), consistent with
//   Metadata returning topic ids from v10.
// - Per partition, in request order: UNKNOWN_TOPIC_OR_PARTITION, leader-epoch check (KIP-320),
//   OFFSET_OUT_OF_RANGE outside [logStartOffset, logEndOffset]; otherwise whole batches from one segment, up to
//   the partition's max bytes and what is left of the response's max bytes, never past the high watermark. The
//   first partition with data gets at least one whole batch even if it is larger (KIP-74).
// - Records are passed through as the bytes read from disk (the response writer references them, no copy).
// - Long polling: below min_bytes with max_wait_ms > 0 and no errors, wait for appends on the requested partitions
//   (or the timeout, or broker shutdown); read again once the bytes appended since the last read could meet
//   min_bytes, or when the wait ends. The log wakes us; nothing polls, and small appends cause no re-reads.
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
import { wholeBatchesWithin } from '../protocol/records/batch.js';
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

/** A requested partition during one pass: its log once resolved, and its answer once known. */
interface Slot {
  request: FetchRequest['topics'][number]['partitions'][number];
  topicName: string | undefined;
  log: PartitionLog | null;
  result: PartitionData | undefined;
}

/**
 * One pass over every requested partition. Returns the response topics, bytes gathered and whether any failed.
 *
 * Reads run concurrently in waves: a wave takes partitions in request order while their partition max bytes
 * still fit in what is left of the response's max bytes, so no read in a wave can push the response over it.
 * Results are then taken in request order, which keeps Kafka's rules: the first partition with data may return
 * one oversized batch (KIP-74); any later oversized batch is left out, and nothing goes past max bytes.
 */
async function readAll(ctx: RequestContext, request: FetchRequest, topics: ResolvedTopic[], logsOut: PartitionLog[] | null) {
  const readCommitted = (request.isolationLevel ?? 0) === READ_COMMITTED;
  let bytesLeft = ctx.apiVersion >= 3 ? request.maxBytes ?? 0x7fffffff : 0x7fffffff;
  let totalBytes = 0;
  let anyError = false;
  const fail = (slot: Slot, err: unknown) => {
    anyError = true;
    const code = partitionErrorCode(err, ctx.log, { api: 'Fetch', topic: slot.topicName, partition: slot.request.partition });
    slot.result = partitionResult(slot.request.partition, code, code === ErrorCode.OFFSET_OUT_OF_RANGE ? slot.log : null, EMPTY, readCommitted);
  };

  const perTopic: Slot[][] = [];
  const toRead: Slot[] = [];
  for (const { request: t, topic, unknownId } of topics) {
    const slots: Slot[] = [];
    for (const p of t.partitions) {
      const slot: Slot = { request: p, topicName: topic?.name, log: null, result: undefined };
      slots.push(slot);
      if (unknownId) {
        anyError = true;
        slot.result = partitionResult(p.partition, ErrorCode.UNKNOWN_TOPIC_ID, null, EMPTY, readCommitted);
        continue;
      }
      try {
        slot.log = lookupPartition(ctx.broker, topic, p.partition);
        logsOut?.push(slot.log);
        checkLeaderEpoch(p.currentLeaderEpoch);
        toRead.push(slot);
      } catch (err) {
        fail(slot, err);
      }
    }
    perTopic.push(slots);
  }

  let next = 0;
  while (next < toRead.length) {
    const wave: Array<{ slot: Slot; maxBytes: number; read: Promise<Buffer | null> }> = [];
    let planned = 0;
    while (next < toRead.length) {
      const slot = toRead[next]!;
      const wanted = Math.max(0, Math.min(slot.request.partitionMaxBytes, bytesLeft));
      if (wave.length > 0 && planned + wanted > bytesLeft) break;
      planned += wanted;
      next++;
      // A zero budget still reads when nothing has been gathered yet: KIP-74's "at least one batch".
      const read = wanted > 0 || totalBytes === 0 ? slot.log!.read(slot.request.fetchOffset, wanted, true) : Promise.resolve(null);
      wave.push({ slot, maxBytes: wanted, read });
    }
    const outcomes = await Promise.allSettled(wave.map((w) => w.read));
    outcomes.forEach((outcome, i) => {
      const { slot, maxBytes } = wave[i]!;
      if (outcome.status === 'rejected') return fail(slot, outcome.reason);
      let records = outcome.value ?? EMPTY;
      if (records.length > 0 && ctx.apiVersion < FIRST_MAGIC_2_VERSION) {
        return fail(slot, new KafkaError(ErrorCode.UNSUPPORTED_VERSION, 'Fetch v0-v3 needs message down-conversion, which is disabled'));
      }
      if (totalBytes > 0 && records.length > Math.min(maxBytes, bytesLeft)) {
        records = records.subarray(0, wholeBatchesWithin(records, Math.min(maxBytes, bytesLeft)));
      }
      totalBytes += records.length;
      bytesLeft -= records.length;
      slot.result = partitionResult(slot.request.partition, ErrorCode.NONE, slot.log, records, readCommitted);
    });
  }

  const responses: ResponseTopic[] = topics.map(({ request: t, topic }, i) => ({
    topic: t.topic ?? topic?.name ?? '',
    topicId: t.topicId ?? ZERO_UUID,
    partitions: perTopic[i]!.map((slot) => slot.result!),
  }) as ResponseTopic);
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
    const visibleBytes = () => logs.reduce((sum, log) => sum + log.visibleBytesAppended, 0);
    // readAll resolves the partitions (filling `logs`) before its first await, so the count taken here is from
    // before the read: bytes appended while it runs count as arrived (at worst one extra read, never a missed one).
    const firstPass = readAll(ctx, request, topics, logs);
    let visibleAtPass = visibleBytes();
    let pass = await firstPass;
    while (pass.totalBytes < request.minBytes && !pass.anyError && logs.length > 0 && !ctx.broker.shutdownSignal.aborted) {
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) break;
      await waitForAppendOrShutdown(logs, remainingMs, ctx.broker.shutdownSignal);
      // Read again only once enough has arrived for min_bytes, or when the wait is over and something arrived.
      const arrived = visibleBytes() - visibleAtPass;
      const waitOver = Date.now() >= deadline || ctx.broker.shutdownSignal.aborted;
      if (arrived === 0 && waitOver) break;
      if (pass.totalBytes + arrived < request.minBytes && !waitOver) continue;
      visibleAtPass = visibleBytes();
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
