// Fetch v0–3 readers and the message format they read (Kafka 3.9 KafkaApis.handleFetchRequest, maybeConvertFetchedData,
// with the log's format at v2 as with log.message.format.version 3.0):
//
//   Fetch version   magic read   answer for a partition with data
//   0–1             0            down-converted to magic 0
//   2–3             1            down-converted to magic 1
//   4+              2            the stored batches as they are (this file is not involved)
//
// Down-conversion is on unless `message.downconversion.enable` is false: the topic's config, else the broker's
// `log.message.downconversion.enable` (BrokerConfig.messageDownconversionEnable, `eddy start
// --message-downconversion-enable`). When off, fetch.ts answers UNSUPPORTED_VERSION as before.
//
// The conversion runs once, after the read and any long-poll wait (as in Kafka, whose conversion happens when the
// response is sent): the bytes read count toward min_bytes, and only the final answer is converted. Each partition's
// answer is converted from the bytes read for it (nothing else is converted), in request order, within its
// partition max bytes and what is left of the response's max bytes, at whole messages; the first message of a
// partition always goes (KIP-74; protocol/records/legacy/down-convert.ts). Converted messages are usually larger
// than the v2 bytes they come from (a message header per record), so an answer may carry fewer records than were
// read; the reader asks again from the next offset. Kafka bounds the converted answer by the bytes read instead,
// cutting the last message short when it does not fit.
//
// Deliberate difference: when the bytes read convert to nothing (only transaction markers, which old formats cannot
// carry), Eddy reads on from the next batch, a bounded number of times, so the reader moves past them. Kafka sends
// a 12-byte overflow stub there and the old reader asks for the same offset again.
import { ErrorCode } from '../protocol/error-codes.js';
import { downConvertRecords, type LegacyMagic } from '../protocol/records/legacy/down-convert.js';
import type { PartitionLog } from '../log/partition-log.js';
import type { TopicInfo } from '../metadata/topic-registry.js';
import type { RequestContext } from './types.js';
import { partitionErrorCode } from './partition-lookup.js';

/** The first Fetch version that reads RecordBatch v2. */
export const FIRST_MAGIC_2_FETCH_VERSION = 4;
/** Reads past batches that convert to nothing, at most this many times per partition. */
const MAX_EXTRA_READS = 8;

/** The magic a Fetch version reads (table above). */
export function fetchMagicFor(apiVersion: number): LegacyMagic | 2 {
  if (apiVersion <= 1) return 0;
  if (apiVersion <= 3) return 1;
  return 2;
}

/** Kafka's ConfigDef BOOLEAN parsing: "true"/"false", any case. */
function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

/** message.downconversion.enable for `topic`: its own config, else the broker's default. */
export function downConversionEnabled(ctx: RequestContext, topic: TopicInfo | undefined): boolean {
  return parseBoolean(topic?.configs['message.downconversion.enable']) ?? ctx.broker.config.messageDownconversionEnable;
}

/** The parts of a fetch.ts slot this file reads and rewrites. */
interface LegacySlot {
  request: { partition: number; fetchOffset: bigint; partitionMaxBytes: number };
  topic: TopicInfo | undefined;
  log: PartitionLog | null;
  result: { errorCode: number; records: Buffer | null; highWatermark: bigint } | undefined;
}

/**
 * Converts, in place, the records of every answered partition with data to the magic `ctx.apiVersion` reads.
 * A zstd batch first in line answers UNSUPPORTED_COMPRESSION_TYPE (Kafka's UnsupportedCompressionTypeException).
 */
export async function downConvertFetchedSlots(ctx: RequestContext, slots: readonly LegacySlot[], responseMaxBytes: number): Promise<void> {
  const magic = fetchMagicFor(ctx.apiVersion);
  if (magic === 2) return;
  let bytesLeft = responseMaxBytes;
  for (const slot of slots) {
    const result = slot.result;
    if (result === undefined || result.errorCode !== ErrorCode.NONE || result.records === null || result.records.length === 0) continue;
    if (slot.log === null) continue;
    try {
      const limitBytes = Math.max(0, Math.min(slot.request.partitionMaxBytes, bytesLeft));
      result.records = await convertPartition(slot.log, result.records, magic, slot.request.fetchOffset, limitBytes);
      bytesLeft -= result.records.length;
    } catch (err) {
      const code = partitionErrorCode(err, ctx.log, { api: 'Fetch', topic: slot.topic?.name, partition: slot.request.partition });
      // FetchResponse.partitionResponse: the error with no offsets and no records.
      Object.assign(result, { errorCode: code, highWatermark: -1n, lastStableOffset: -1n, logStartOffset: -1n, abortedTransactions: null, records: Buffer.alloc(0) });
    }
  }
}

async function convertPartition(log: PartitionLog, read: Buffer, magic: LegacyMagic, fetchOffset: bigint, limitBytes: number): Promise<Buffer> {
  let converted = await downConvertRecords(read, magic, fetchOffset, limitBytes);
  for (let extra = 0; extra < MAX_EXTRA_READS && converted.records.length === 0 && converted.complete; extra++) {
    if (converted.nextOffset >= log.highWatermark) break;
    const next = await log.read(converted.nextOffset, Math.max(limitBytes, 1), true);
    if (next === null || next.length === 0) break;
    converted = await downConvertRecords(next, magic, converted.nextOffset, limitBytes);
  }
  return converted.records;
}
