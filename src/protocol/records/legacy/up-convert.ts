// Up-conversion of a produced message set (magic 0 or 1, Produce v0–2) to one RecordBatch v2, as Kafka 3.9 does with
// the log's message format at v2 (log.message.format.version 3.0): UnifiedLog.analyzeAndValidateRecords reads the
// shallow messages, then LogValidator converts them (convertAndAssignOffsetsNonCompressed for uncompressed sets,
// validateMessagesAndAssignOffsetsCompressed + buildRecordsAndAssignOffsets for a compressed wrapper) and the
// records land in one new batch. Only this path pays for the conversion; v2 batches never come here.
//
// The checks, in Kafka's order (message-set.ts has the format):
//
//   shallow walk (ByteBufferLogInputStream, analyzeAndValidateRecords), per message:
//     size < 14                                            CORRUPT_MESSAGE "Record size N is less than the minimum …"
//     magic outside 0-2                                    CORRUPT_MESSAGE "Invalid magic found in record"
//     fewer bytes left than the message (a truncated tail) the walk stops: the tail is dropped, as Kafka trims it
//     12 + size > max.message.bytes                        MESSAGE_TOO_LARGE
//     CRC-32 mismatch                                      CORRUPT_MESSAGE "Record is corrupt (stored crc = …)"
//     codec id 4 (zstd) or 5-7                             INVALID_RECORD (zstd wrapper) / UNKNOWN_SERVER_ERROR
//   no whole message at all                                nothing is appended (Kafka: validBytes 0), answered NONE
//   a magic different from the first message's            INVALID_RECORD "Batch magic M is not the same as …"
//   a compressed message and more than one message         INVALID_RECORD "Compressed outer record has more than one batch"
//   wrapper (DeepRecordsIterator):
//     null value                                           INVALID_RECORD "Found invalid compressed record set with null value"
//     payload that does not decompress                     UNKNOWN_SERVER_ERROR (compression.ts)
//     inner size < 14                                      CORRUPT_MESSAGE; a truncated inner tail is dropped
//     no inner message                                     INVALID_RECORD "… with no inner records"
//     magic 1, wrapper offset ≠ 0 and < last inner offset  INVALID_RECORD "Found invalid wrapper offset …"
//     an inner message that is compressed (nesting)        INVALID_RECORD "Inner messages must not be compressed"
//     inner CRC-32 mismatch                                CORRUPT_MESSAGE
//   per record (record errors, RecordValidationError):
//     inner magic ≠ wrapper magic                          INVALID_RECORD "Record …'s magic does not match outer magic"
//     LogAppendTime bit set by the producer, on a
//       LogAppendTime topic or without a timestamp        INVALID_TIMESTAMP "… Producer should not set timestamp type …"
//     timestamp below -1                                   INVALID_TIMESTAMP (Eddy; Kafka's builder throws
//                                                          IllegalArgumentException there, UNKNOWN_SERVER_ERROR)
//   The remaining record checks (compacted topic without key, message.timestamp.* range) and the size of the
//   converted batch (MESSAGE_TOO_LARGE) are the v2 path's, run on the converted batch by the produce handler.
//
// Out-of-order inner offsets (0, 2, 1 …) are accepted and renumbered, as Kafka does ("Some older clients do not
// implement the V1 internal offsets correctly … rewriting the batches rather than rejecting"): the converted records
// get offset deltas 0, 1, 2, … in message order.
//
// The batch: baseOffset 0, partitionLeaderEpoch -1, no producer (id -1, epoch -1, sequence -1), CreateTime bit
// (on a LogAppendTime topic the log sets the time), the set's codec (compression.type=producer: Kafka recompresses
// with the producer's codec), baseTimestamp = the first record's timestamp, maxTimestamp = the largest (-1 when
// none). Records: attributes 0, timestampDelta = timestamp - baseTimestamp, offsetDelta = index, no headers. A
// magic-0 record has timestamp -1 (NO_TIMESTAMP); a magic-1 inner record of a LogAppendTime wrapper the wrapper's.
import { crc32c } from '@node-rs/crc32';
import { KafkaError, RecordValidationError, type RecordError } from '../../../errors.js';
import { ErrorCode } from '../../error-codes.js';
import { ATTRIBUTES_OFFSET, CRC_OFFSET, CompressionType, LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE } from '../batch.js';
import { compressRecords, decompressRecords } from '../compression.js';
import {
  LEGACY_CODEC_MASK,
  LEGACY_LOG_OVERHEAD,
  LEGACY_MAGIC_OFFSET,
  LEGACY_TIMESTAMP_TYPE_BIT,
  NO_TIMESTAMP,
  RECORD_OVERHEAD_V0,
  makeLegacyMessage,
  messageCrcIsValid,
  messageSizeAt,
  readMessage,
  storedCrc,
  withLz4ChecksumIgnored,
  type LegacyMessage,
} from './message-set.js';

export interface UpConvertOptions {
  /** The topic's max.message.bytes. */
  maxMessageBytes: number;
  /** message.timestamp.type is LogAppendTime. */
  logAppendTime: boolean;
  /** For messages: `<topic>-<partition>`. */
  topicPartition: string;
}

/** Where the shallow walk stopped, and what it found. */
interface ShallowScan {
  count: number;
  firstMagic: number;
  /** The codec of the (last) compressed message; 0 when none is. */
  codec: number;
}

/**
 * Kafka's shallow walk over the set (table in the header): framing, size, CRC, codec. Returns how many whole
 * messages there are; a truncated tail is left out.
 */
function scanShallow(records: Buffer, options: UpConvertOptions, message: LegacyMessage): ShallowScan {
  const scan: ShallowScan = { count: 0, firstMagic: -1, codec: CompressionType.NONE };
  let pos = 0;
  while (records.length - pos >= LEGACY_LOG_OVERHEAD) {
    const size = messageSizeAt(records, pos);
    if (size < RECORD_OVERHEAD_V0) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Record size ${size} is less than the minimum record overhead (${RECORD_OVERHEAD_V0})`);
    }
    if (records.length - pos <= LEGACY_MAGIC_OFFSET) break;
    const magic = records.readInt8(pos + LEGACY_MAGIC_OFFSET);
    if (magic < 0 || magic > 2) throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Invalid magic found in record: ${magic}`);
    if (records.length - pos < LEGACY_LOG_OVERHEAD + size) break;
    if (LEGACY_LOG_OVERHEAD + size > options.maxMessageBytes) {
      throw new KafkaError(
        ErrorCode.MESSAGE_TOO_LARGE,
        `The record batch size in the append to ${options.topicPartition} is ${LEGACY_LOG_OVERHEAD + size} bytes which exceeds the maximum configured value of ${options.maxMessageBytes}.`,
      );
    }
    if (scan.firstMagic < 0) scan.firstMagic = magic;
    if (magic !== scan.firstMagic) {
      // Kafka finds this in LogValidator.validateBatch, after the walk; a v2 batch after messages lands here too.
      throw new KafkaError(
        ErrorCode.INVALID_RECORD,
        `Batch magic ${magic} is not the same as the first batch's magic byte ${scan.firstMagic} in topic partition ${options.topicPartition}`,
      );
    }
    readMessage(records, pos, message);
    if (!messageCrcIsValid(records, message)) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${storedCrc(records, message)}) in topic partition ${options.topicPartition}.`);
    }
    const codec = message.attributes & LEGACY_CODEC_MASK;
    if (codec > CompressionType.ZSTD) throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${codec}`);
    if (codec !== CompressionType.NONE) scan.codec = codec;
    scan.count++;
    pos = message.end;
  }
  return scan;
}

/** A growing buffer for the converted records (one allocation per doubling, none per record). */
class RecordSink {
  buf: Buffer;
  pos = 0;
  count = 0;
  baseTimestamp = NO_TIMESTAMP;
  maxTimestamp = NO_TIMESTAMP;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Appends one v2 record (header comment) for key/value slices of `source` (length -1 = null). */
  append(source: Buffer, timestamp: bigint, keyStart: number, keyLength: number, valueStart: number, valueLength: number): void {
    if (this.count === 0) this.baseTimestamp = timestamp;
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
    const timestampDelta = timestamp - this.baseTimestamp;
    // Deltas between int64 timestamps may exceed 2^53 only for absurd timestamps: written exactly then, via bigint.
    const smallDelta = timestampDelta >= -SAFE && timestampDelta <= SAFE;
    const deltaNumber = smallDelta ? Number(timestampDelta) : 0;
    const body =
      1 + (smallDelta ? varintSize(deltaNumber) : bigVarlongSize(timestampDelta)) + varintSize(this.count) + varintSize(keyLength) +
      Math.max(0, keyLength) + varintSize(valueLength) + Math.max(0, valueLength) + 1;
    this.ensure(varintSize(body) + body);
    this.writeVarint(body);
    this.buf[this.pos++] = 0; // attributes
    if (smallDelta) this.writeVarint(deltaNumber);
    else this.writeBigVarlong(timestampDelta);
    this.writeVarint(this.count);
    this.writeVarint(keyLength);
    if (keyLength > 0) this.pos += source.copy(this.buf, this.pos, keyStart, keyStart + keyLength);
    this.writeVarint(valueLength);
    if (valueLength > 0) this.pos += source.copy(this.buf, this.pos, valueStart, valueStart + valueLength);
    this.buf[this.pos++] = 0; // headers
    this.count++;
  }

  /** Zig-zag varint of a safe integer (numbers: no bigint per field). */
  private writeVarint(n: number): void {
    let v = n >= 0 ? n * 2 : -n * 2 - 1;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  private writeBigVarlong(n: bigint): void {
    let v = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER) / 2n;

function varintSize(n: number): number {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  let size = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    size++;
  }
  return size;
}

function bigVarlongSize(n: bigint): number {
  let v = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  let size = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    size++;
  }
  return size;
}

/** Record-level checks that belong to the legacy formats (header table); collected as Kafka collects them. */
class RecordChecks {
  readonly errors: RecordError[] = [];
  timestampErrors = false;

  constructor(private readonly options: UpConvertOptions) {}

  check(index: number, message: LegacyMessage, batchMagic: number, timestamp: bigint, batchLogAppendTime: boolean): void {
    if (message.magic !== batchMagic) {
      this.errors.push({
        batchIndex: index,
        batchIndexErrorMessage: `Record ${describe(message, timestamp)}'s magic does not match outer magic ${batchMagic} in topic partition ${this.options.topicPartition}`,
      });
      return;
    }
    if ((this.options.logAppendTime || timestamp === NO_TIMESTAMP) && batchLogAppendTime) {
      this.timestampErrors = true;
      this.errors.push({
        batchIndex: index,
        batchIndexErrorMessage: `Invalid timestamp type in message ${describe(message, timestamp)}. Producer should not set timestamp type to LogAppendTime.`,
      });
      return;
    }
    if (timestamp < NO_TIMESTAMP) {
      this.timestampErrors = true;
      this.errors.push({ batchIndex: index, batchIndexErrorMessage: `Invalid negative timestamp ${timestamp}` });
    }
  }

  /** LogValidator.processRecordErrors. */
  throwIfAny(): void {
    if (this.errors.length === 0) return;
    if (this.timestampErrors) {
      throw new RecordValidationError(ErrorCode.INVALID_TIMESTAMP, 'One or more records have been rejected due to invalid timestamp', this.errors);
    }
    const shown = this.errors
      .slice(0, 3)
      .map((e) => `RecordError(batchIndex=${e.batchIndex}, message='${e.batchIndexErrorMessage}')`)
      .join(', ');
    throw new RecordValidationError(
      ErrorCode.INVALID_RECORD,
      `One or more records have been rejected due to ${this.errors.length} record errors in total, and only showing the first three errors at most: [${shown}]`,
      this.errors,
    );
  }
}

/** LegacyRecord.toString, for messages. */
function describe(m: LegacyMessage, timestamp: bigint): string {
  const codec = ['NONE', 'GZIP', 'SNAPPY', 'LZ4', 'ZSTD'][m.attributes & LEGACY_CODEC_MASK] ?? 'UNKNOWN';
  const key = Math.max(0, m.keyLength);
  const value = Math.max(0, m.valueLength);
  if (m.magic === 0) return `Record(magic=0, attributes=${m.attributes}, compression=${codec}, key=${key} bytes, value=${value} bytes)`;
  const type = (m.attributes & LEGACY_TIMESTAMP_TYPE_BIT) !== 0 ? 'LogAppendTime' : 'CreateTime';
  return `Record(magic=${m.magic}, attributes=${m.attributes}, compression=${codec}, ${type}=${timestamp}, key=${key} bytes, value=${value} bytes)`;
}

/**
 * Converts the produced message set `records` (first message magic 0 or 1) to one RecordBatch v2 (header comment),
 * or null when the set holds no whole message (nothing to append). Throws KafkaError / RecordValidationError with
 * Kafka's codes (table in the header).
 */
export async function upConvertMessageSet(records: Buffer, options: UpConvertOptions): Promise<Buffer | null> {
  const message = makeLegacyMessage();
  const scan = scanShallow(records, options, message);
  if (scan.count === 0) return null;
  const checks = new RecordChecks(options);
  let sink: RecordSink;
  if (scan.codec === CompressionType.NONE) {
    // convertAndAssignOffsetsNonCompressed: every message is one record.
    sink = new RecordSink(records.length);
    let pos = 0;
    for (let i = 0; i < scan.count; i++) {
      readMessage(records, pos, message);
      const logAppendTimeBit = message.magic >= 1 && (message.attributes & LEGACY_TIMESTAMP_TYPE_BIT) !== 0;
      // Kafka's record index restarts at 0 for every shallow message (one record each).
      checks.check(0, message, scan.firstMagic, message.timestamp, logAppendTimeBit);
      checks.throwIfAny();
      sink.append(records, message.timestamp, message.keyStart, message.keyLength, message.valueStart, message.valueLength);
      pos = message.end;
    }
  } else {
    if (scan.count > 1) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Compressed outer record has more than one batch');
    readMessage(records, 0, message);
    sink = convertWrapper(records, message, checks);
  }
  return buildBatch(sink, scan.codec);
}

/** The inner messages of the wrapper `wrapper` (in `records`) as records (DeepRecordsIterator, LogValidator). */
function convertWrapper(records: Buffer, wrapper: LegacyMessage, checks: RecordChecks): RecordSink {
  const codec = wrapper.attributes & LEGACY_CODEC_MASK;
  const magic = wrapper.magic;
  if (codec === CompressionType.ZSTD) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `Invalid wrapper compressionType found in legacy deep record iterator ${magic}`);
  }
  if (wrapper.valueLength < 0) {
    throw new KafkaError(ErrorCode.INVALID_RECORD, `Found invalid compressed record set with null value (magic = ${magic})`);
  }
  const payload = records.subarray(wrapper.valueStart, wrapper.valueStart + wrapper.valueLength);
  const inner =
    magic === 0 && codec === CompressionType.LZ4
      ? withLz4ChecksumIgnored(payload, (frame) => decompressRecords(codec, frame))
      : decompressRecords(codec, payload);
  const wrapperLogAppendTime = magic >= 1 && (wrapper.attributes & LEGACY_TIMESTAMP_TYPE_BIT) !== 0;

  // DataLogInputStream: whole inner messages; a truncated tail ends the set.
  const message = makeLegacyMessage();
  let count = 0;
  let lastInnerOffset = 0n;
  let pos = 0;
  while (inner.length - pos >= LEGACY_LOG_OVERHEAD) {
    const size = messageSizeAt(inner, pos);
    if (size < RECORD_OVERHEAD_V0) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Record size is less than the minimum record overhead (${RECORD_OVERHEAD_V0})`);
    }
    if (inner.length - pos < LEGACY_LOG_OVERHEAD + size) break;
    lastInnerOffset = inner.readBigInt64BE(pos);
    count++;
    pos += LEGACY_LOG_OVERHEAD + size;
  }
  const end = pos;
  if (count === 0) throw new KafkaError(ErrorCode.INVALID_RECORD, 'Found invalid compressed record set with no inner records');
  if (magic === 1 && wrapper.offset !== 0n && wrapper.offset < lastInnerOffset) {
    throw new KafkaError(
      ErrorCode.INVALID_RECORD,
      `Found invalid wrapper offset in compressed v1 message set, wrapper offset '${wrapper.offset}' is less than the last inner message offset '${lastInnerOffset}' and it is not zero.`,
    );
  }

  const sink = new RecordSink(end);
  pos = 0;
  let index = 0;
  while (pos < end) {
    const innerMagic = inner.readInt8(pos + LEGACY_MAGIC_OFFSET);
    if ((inner.readInt8(pos + LEGACY_MAGIC_OFFSET + 1) & LEGACY_CODEC_MASK) !== CompressionType.NONE) {
      throw new KafkaError(ErrorCode.INVALID_RECORD, 'Inner messages must not be compressed');
    }
    const size = messageSizeAt(inner, pos);
    if (innerMagic !== 0 && innerMagic !== 1) {
      // Not a legacy message: only its magic is looked at (the record error below).
      message.magic = innerMagic;
      message.attributes = 0;
      message.keyLength = -1;
      message.valueLength = -1;
      checks.check(index, message, magic, NO_TIMESTAMP, false);
      pos += LEGACY_LOG_OVERHEAD + size;
      index++;
      continue;
    }
    readMessage(inner, pos, message);
    const timestamp = innerMagic === 0 ? NO_TIMESTAMP : wrapperLogAppendTime ? wrapper.timestamp : message.timestamp;
    if (innerMagic === magic && !messageCrcIsValid(inner, message)) {
      throw new KafkaError(ErrorCode.CORRUPT_MESSAGE, `Record is corrupt (stored crc = ${storedCrc(inner, message)})`);
    }
    checks.check(index, message, magic, timestamp, wrapperLogAppendTime);
    if (checks.errors.length === 0) sink.append(inner, timestamp, message.keyStart, message.keyLength, message.valueStart, message.valueLength);
    pos = message.end;
    index++;
  }
  checks.throwIfAny();
  return sink;
}

/** The RecordBatch v2 of the sink's records (header comment), compressed with `codec`. */
async function buildBatch(sink: RecordSink, codec: number): Promise<Buffer> {
  const recordsSection = sink.buf.subarray(0, sink.pos);
  const payload = codec === CompressionType.NONE ? recordsSection : await compressRecords(codec, recordsSection);
  const batch = Buffer.allocUnsafe(RECORD_BATCH_HEADER_SIZE + payload.length);
  batch.writeBigInt64BE(0n, 0); // baseOffset
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, 8); // batchLength
  batch.writeInt32BE(-1, 12); // partitionLeaderEpoch
  batch.writeInt8(2, 16); // magic
  batch.writeInt16BE(codec, ATTRIBUTES_OFFSET); // CreateTime
  batch.writeInt32BE(sink.count - 1, 23); // lastOffsetDelta
  batch.writeBigInt64BE(sink.baseTimestamp, 27);
  batch.writeBigInt64BE(sink.maxTimestamp, 35);
  batch.writeBigInt64BE(-1n, 43); // producerId
  batch.writeInt16BE(-1, 51); // producerEpoch
  batch.writeInt32BE(-1, 53); // baseSequence
  batch.writeInt32BE(sink.count, 57);
  payload.copy(batch, RECORD_BATCH_HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return batch;
}
