import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { validateAndSummarize } from '../../src/log/log-validator.js';
import { DEFAULT_LOG_CONFIG, LONG_MAX_VALUE, type LogConfig } from '../../src/log/log-config.js';
import { logConfigFor } from '../../src/metadata/topic-config.js';
import { KafkaError, RecordValidationError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { batchCrcIsValid, readBatchHeader, validateProducedRecords } from '../../src/protocol/records/batch.js';
import { buildRecordBatch, type BuildBatchOptions } from '../protocol/records/batch-builder.js';
import { compressBatch, withRecordsPayload, type TestCodec } from '../protocol/records/compressed-batch.js';

const NOW = 1_700_000_000_000;
const T = BigInt(NOW);

function config(topicConfigs: Record<string, string> = {}): LogConfig {
  return logConfigFor(topicConfigs, DEFAULT_LOG_CONFIG);
}

function validate(batch: Buffer, cfg: LogConfig = config(), nowMs = NOW) {
  const header = validateProducedRecords(batch, 10 << 20);
  return { summary: validateAndSummarize(batch, header, cfg, 't', 0, nowMs), header };
}

function failure(batch: Buffer, cfg: LogConfig = config(), nowMs = NOW): KafkaError {
  try {
    validate(batch, cfg, nowMs);
  } catch (err) {
    if (err instanceof KafkaError) return err;
    throw err;
  }
  throw new Error('expected the batch to be refused');
}

function batchOf(options: Partial<BuildBatchOptions> & { records: BuildBatchOptions['records'] }): Buffer {
  return Buffer.from(buildRecordBatch({ baseTimestamp: T, ...options }));
}

describe('logConfigFor: the validator settings', () => {
  it('maps cleanup.policy and the message.timestamp.* limits, keeping Long.MAX_VALUE exact', () => {
    expect(config()).toMatchObject({ compact: false, messageTimestampBeforeMaxMs: LONG_MAX_VALUE, messageTimestampAfterMaxMs: LONG_MAX_VALUE, messageTimestampDifferenceMaxMs: LONG_MAX_VALUE });
    expect(config({ 'cleanup.policy': 'delete, compact' }).compact).toBe(true);
    expect(config({ 'cleanup.policy': 'delete' }).compact).toBe(false);
    expect(config({ 'message.timestamp.before.max.ms': '1000', 'message.timestamp.after.max.ms': '9223372036854775807', 'message.timestamp.difference.max.ms': '5' })).toMatchObject({
      messageTimestampBeforeMaxMs: 1000n,
      messageTimestampAfterMaxMs: LONG_MAX_VALUE,
      messageTimestampDifferenceMaxMs: 5n,
    });
  });
});

describe('validateAndSummarize: well-formed batches', () => {
  it('recomputes maxTimestamp from the records when the header says -1, rewriting it with a valid CRC', () => {
    const batch = batchOf({ maxTimestamp: -1n, records: [{ value: 'a' }, { value: 'b', timestampDelta: 100 }, { value: 'c', timestampDelta: 300 }, { value: 'd', timestampDelta: 300 }] });
    const { summary, header } = validate(batch);
    expect(summary).toEqual({ maxTimestamp: T + 300n, offsetOfMaxTimestampDelta: 2, maxTimestampRewritten: true });
    expect(readBatchHeader(batch).maxTimestamp).toBe(T + 300n);
    expect(header.maxTimestamp).toBe(T + 300n);
    expect(header.crc).toBe(batch.readUInt32BE(17));
    expect(batchCrcIsValid(batch)).toBe(true);
  });

  it('leaves a batch whose header is right untouched (same bytes, same CRC)', () => {
    const batch = batchOf({ records: [{ value: 'a', timestampDelta: 7 }, { value: 'b', timestampDelta: 3 }] });
    const before = Buffer.from(batch);
    expect(validate(batch).summary).toEqual({ maxTimestamp: T + 7n, offsetOfMaxTimestampDelta: 0, maxTimestampRewritten: false });
    expect(batch.equals(before)).toBe(true);
  });

  it('an overstated header maxTimestamp (Long.MAX_VALUE) is brought down to the records', () => {
    const batch = batchOf({ maxTimestamp: LONG_MAX_VALUE, records: [{ value: 'a', timestampDelta: 5 }] });
    expect(validate(batch).summary.maxTimestamp).toBe(T + 5n);
    expect(readBatchHeader(batch).maxTimestamp).toBe(T + 5n);
  });

  it('records all at or below -1 give maxTimestamp -1, as LogValidator starts from NO_TIMESTAMP', () => {
    const batch = batchOf({ baseTimestamp: -5n, maxTimestamp: 0n, records: [{ value: 'a' }, { value: 'b', timestampDelta: 4 }] });
    expect(validate(batch).summary).toEqual({ maxTimestamp: -1n, offsetOfMaxTimestampDelta: -1, maxTimestampRewritten: true });
  });

  it('timestamp deltas too large for a number are summed exactly, in int64', () => {
    // baseTimestamp + 2^61 + 1 as a varlong of 9 bytes.
    const batch = batchOf({ baseTimestamp: 10n, maxTimestamp: 0n, records: [{ value: 'a' }] });
    const big = buildRecordBatchWithDelta(2n ** 61n + 1n);
    expect(validate(big).summary.maxTimestamp).toBe(10n + 2n ** 61n + 1n);
    expect(validate(batch).summary.maxTimestamp).toBe(10n);
  });

  it('a producer-set LogAppendTime bit on a CreateTime topic: accepted, bit cleared, maxTimestamp kept', () => {
    const batch = batchOf({ attributes: 0x08, maxTimestamp: T + 50n, records: [{ value: 'a' }, { value: 'b', timestampDelta: 9 }] });
    const { summary, header } = validate(batch);
    expect(summary).toEqual({ maxTimestamp: T + 50n, offsetOfMaxTimestampDelta: 0, maxTimestampRewritten: true });
    expect(header.attributes & 0x08).toBe(0);
    expect(batch.readInt16BE(21) & 0x08).toBe(0);
    expect(batchCrcIsValid(batch)).toBe(true);
  });

  it('on a LogAppendTime topic the header is left to the log', () => {
    const batch = batchOf({ maxTimestamp: -1n, records: [{ value: 'a', timestampDelta: 9 }] });
    expect(validate(batch, config({ 'message.timestamp.type': 'LogAppendTime' })).summary).toEqual({ maxTimestamp: -1n, offsetOfMaxTimestampDelta: -1, maxTimestampRewritten: false });
  });

  for (const codec of ['gzip', 'snappy', 'snappy-xerial', 'lz4'] as TestCodec[]) {
    it(`a ${codec} batch is validated through its decompressed records and its maxTimestamp recomputed`, () => {
      const batch = compressBatch(batchOf({ maxTimestamp: -1n, records: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(100), timestampDelta: 20 - i })) }), codec);
      expect(validate(batch, config({ 'cleanup.policy': 'compact' })).summary).toEqual({ maxTimestamp: T + 20n, offsetOfMaxTimestampDelta: 0, maxTimestampRewritten: true });
      expect(batchCrcIsValid(batch)).toBe(true);
    });
  }
});

/** A one-record batch whose timestampDelta is `delta` (any int64), header maxTimestamp 0. */
function buildRecordBatchWithDelta(delta: bigint): Buffer {
  const batch = batchOf({ baseTimestamp: 10n, maxTimestamp: 0n, records: [{ value: 'a', timestampDelta: 77 }] });
  // Replace the 1-byte delta (77 → zig-zag 154 = 2 bytes: 0x9a 0x01) with the long one; fix the lengths and CRC.
  const zz = delta >= 0n ? delta << 1n : (-delta << 1n) - 1n;
  const bytes: number[] = [];
  let x = zz;
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    bytes.push(b);
  } while (x !== 0n);
  const body = Buffer.concat([Buffer.from([0]), Buffer.from(bytes), Buffer.from([0, 1, 2, 'a'.charCodeAt(0), 0])]);
  const rec = Buffer.concat([Buffer.from([body.length * 2]), body]);
  return withRecordsPayload(batch, 0, rec);
}

describe('validateAndSummarize: malformed records', () => {
  it('the issue-8 batch (recordCount 3 holding 1 record) is INVALID_RECORD without record errors', () => {
    const err = failure(batchOf({ records: [{ value: 'only' }], recordCount: 3, lastOffsetDelta: 2 }));
    expect(err).not.toBeInstanceOf(RecordValidationError);
    expect([err.errorCode, err.message]).toEqual([ErrorCode.INVALID_RECORD, 'Incorrect declared batch size, premature EOF reached (record 1 of the batch in topic partition t-0)']);
  });

  it('garbage varints in the records are INVALID_RECORD', () => {
    const good = batchOf({ records: [{ value: 'x'.repeat(20) }] });
    const garbage = withRecordsPayload(good, 0, Buffer.alloc(good.length - 61, 0xff));
    expect(failure(garbage).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('a malformed record wins over record errors of earlier records', () => {
    const batch = batchOf({ records: [{ value: 'no key' }, { key: 'k', value: 'v', offsetDelta: 7 }] });
    const err = failure(batch, config({ 'cleanup.policy': 'compact' }));
    expect(err).not.toBeInstanceOf(RecordValidationError);
    expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
  });

  it('undefined codec ids 5-7 are UNKNOWN_SERVER_ERROR, as Kafka answers IllegalArgumentException', () => {
    for (const id of [5, 6, 7]) {
      const batch = withRecordsPayload(batchOf({ records: [{ value: 'a' }] }), id, Buffer.from('whatever'));
      expect([failure(batch).errorCode, failure(batch).message]).toEqual([ErrorCode.UNKNOWN_SERVER_ERROR, `Unknown compression type id: ${id}`]);
    }
  });

  it('an undecodable compressed payload is UNKNOWN_SERVER_ERROR ("Failed to decompress record stream")', () => {
    for (const id of [1, 2, 3, 4]) {
      const batch = withRecordsPayload(batchOf({ records: [{ value: 'a' }] }), id, Buffer.from('definitely not compressed data'));
      const err = failure(batch);
      expect(err.errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
      expect(err.message).toMatch(/^Failed to decompress record stream/);
    }
  });

  it('a compressed batch whose records are malformed is INVALID_RECORD', () => {
    const raw = batchOf({ records: [{ value: 'only' }], recordCount: 3, lastOffsetDelta: 2 });
    const batch = withRecordsPayload(raw, 1, gzipSync(raw.subarray(61)));
    expect(failure(batch).errorCode).toBe(ErrorCode.INVALID_RECORD);
  });
});

describe('validateAndSummarize: record errors', () => {
  it('a compacted topic refuses records without a key, listing each', () => {
    const batch = batchOf({ records: [{ key: 'k', value: 'a' }, { value: 'b' }, { key: 'k', value: 'c' }, { key: null, value: 'd' }] });
    const err = failure(batch, config({ 'cleanup.policy': 'compact' })) as RecordValidationError;
    expect(err).toBeInstanceOf(RecordValidationError);
    expect(err.errorCode).toBe(ErrorCode.INVALID_RECORD);
    const msg = 'Compacted topic cannot accept message without key in topic partition t-0';
    expect(err.recordErrors).toEqual([{ batchIndex: 1, batchIndexErrorMessage: msg }, { batchIndex: 3, batchIndexErrorMessage: msg }]);
    expect(err.message).toBe(
      `One or more records have been rejected due to 2 record errors in total, and only showing the first three errors at most: [RecordError(batchIndex=1, message='${msg}'), RecordError(batchIndex=3, message='${msg}')]`,
    );
  });

  it('the INVALID_RECORD message shows the first three record errors only', () => {
    const batch = batchOf({ records: Array.from({ length: 5 }, () => ({ value: 'v' })) });
    const err = failure(batch, config({ 'cleanup.policy': 'compact' })) as RecordValidationError;
    expect(err.recordErrors.map((e) => e.batchIndex)).toEqual([0, 1, 2, 3, 4]);
    expect(err.message.match(/RecordError\(/g)).toHaveLength(3);
    expect(err.message).toMatch(/^One or more records have been rejected due to 5 record errors in total/);
  });

  it('message.timestamp.before.max.ms refuses older records with INVALID_TIMESTAMP and Kafka text', () => {
    const batch = batchOf({ baseTimestamp: T - 5000n, records: [{ value: 'old', timestampDelta: 0 }, { value: 'ok', timestampDelta: 4500 }] });
    const err = failure(batch, config({ 'message.timestamp.before.max.ms': '1000' })) as RecordValidationError;
    expect(err).toBeInstanceOf(RecordValidationError);
    expect([err.errorCode, err.message]).toEqual([ErrorCode.INVALID_TIMESTAMP, 'One or more records have been rejected due to invalid timestamp']);
    expect(err.recordErrors).toEqual([
      {
        batchIndex: 0,
        batchIndexErrorMessage: `Timestamp ${T - 5000n} of message with offset 0 is out of range. The timestamp should be within [${T - 1000n}, ${BigInt.asIntN(64, T + LONG_MAX_VALUE)}]`,
      },
    ]);
  });

  it('message.timestamp.after.max.ms refuses records from the future; the boundary itself is accepted', () => {
    const cfg = config({ 'message.timestamp.after.max.ms': '1000' });
    const err = failure(batchOf({ records: [{ value: 'a', timestampDelta: 1000 }, { value: 'b', timestampDelta: 1001 }] }), cfg) as RecordValidationError;
    expect(err.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(err.recordErrors.map((e) => e.batchIndex)).toEqual([1]);
    expect(err.recordErrors[0]!.batchIndexErrorMessage).toContain('of message with offset 1 is out of range');
    expect(validate(batchOf({ records: [{ value: 'a', timestampDelta: 1000 }] }), cfg).summary.maxTimestamp).toBe(T + 1000n);
  });

  it('message.timestamp.difference.max.ms applies while before/after are at their defaults (KIP-937)', () => {
    const old = () => batchOf({ baseTimestamp: T - 5000n, records: [{ value: 'old' }] });
    const future = () => batchOf({ baseTimestamp: T + 5000n, records: [{ value: 'future' }] });
    const diff = config({ 'message.timestamp.difference.max.ms': '1000' });
    expect(failure(old(), diff).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(failure(future(), diff).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    // before.max.ms set: it wins for the past; the future still falls back to difference.max.ms.
    const both = config({ 'message.timestamp.difference.max.ms': '1000', 'message.timestamp.before.max.ms': '10000' });
    expect(validate(old(), both).summary.maxTimestamp).toBe(T - 5000n);
    expect(failure(future(), both).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
  });

  it('records with timestamp -1 are exempt from the timestamp limits', () => {
    const batch = batchOf({ baseTimestamp: -1n, records: [{ value: 'a' }, { value: 'b' }] });
    expect(validate(batch, config({ 'message.timestamp.before.max.ms': '1' })).summary.maxTimestamp).toBe(-1n);
    // A -1 among in-range records does not hide an out-of-range one.
    const mixed = batchOf({ baseTimestamp: T - 5001n, records: [{ value: 'a', timestampDelta: 5000 }, { value: 'b', timestampDelta: 0 }] });
    const exempt = batchOf({ baseTimestamp: -1n, records: [{ value: 'a' }, { value: 'b', timestampDelta: Number(T) + 1 }] });
    expect((failure(mixed, config({ 'message.timestamp.before.max.ms': '1000' })) as RecordValidationError).recordErrors.map((e) => e.batchIndex)).toEqual([1]);
    expect(validate(exempt, config({ 'message.timestamp.before.max.ms': '1000' })).summary.maxTimestamp).toBe(T);
  });

  it('timestamp limits do not apply on a LogAppendTime topic', () => {
    const batch = batchOf({ baseTimestamp: 0n, records: [{ value: 'ancient' }] });
    expect(() => validate(batch, config({ 'message.timestamp.type': 'LogAppendTime', 'message.timestamp.before.max.ms': '1' }))).not.toThrow();
  });

  it('a producer-set LogAppendTime bit is refused on a LogAppendTime topic, for every record', () => {
    const batch = batchOf({ attributes: 0x08, maxTimestamp: T, records: [{ key: 'kk', value: 'abc' }, { value: null }] });
    const err = failure(batch, config({ 'message.timestamp.type': 'LogAppendTime' })) as RecordValidationError;
    expect(err.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(err.recordErrors).toEqual([
      { batchIndex: 0, batchIndexErrorMessage: `Invalid timestamp type in message DefaultRecord(offset=0, timestamp=${T}, key=2 bytes, value=3 bytes). Producer should not set timestamp type to LogAppendTime.` },
      { batchIndex: 1, batchIndexErrorMessage: `Invalid timestamp type in message DefaultRecord(offset=1, timestamp=${T}, key=0 bytes, value=0 bytes). Producer should not set timestamp type to LogAppendTime.` },
    ]);
  });

  it('a LogAppendTime bit with maxTimestamp -1 is refused on a CreateTime topic too', () => {
    const batch = batchOf({ attributes: 0x08, maxTimestamp: -1n, records: [{ value: 'a' }] });
    expect(failure(batch).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
  });

  it('a LogAppendTime-bit batch on a CreateTime topic is range-checked by its maxTimestamp', () => {
    const batch = batchOf({ attributes: 0x08, maxTimestamp: T - 10_000n, records: [{ value: 'a' }, { value: 'b' }] });
    const err = failure(batch, config({ 'message.timestamp.before.max.ms': '1000' })) as RecordValidationError;
    expect(err.recordErrors.map((e) => e.batchIndex)).toEqual([0, 1]);
  });

  it('a key error and a timestamp error together are INVALID_TIMESTAMP listing both, one error per record', () => {
    const batch = batchOf({ baseTimestamp: T - 5000n, records: [{ value: 'no key, old' }, { key: 'k', value: 'old' }, { key: 'k', value: 'fine', timestampDelta: 5000 }] });
    const err = failure(batch, config({ 'cleanup.policy': 'compact', 'message.timestamp.before.max.ms': '1000' })) as RecordValidationError;
    expect(err.errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
    expect(err.recordErrors.map((e) => [e.batchIndex, e.batchIndexErrorMessage!.slice(0, 20)])).toEqual([
      [0, 'Compacted topic cann'],
      [1, `Timestamp ${T - 5000n}`.slice(0, 20)],
    ]);
  });

  it('timestamps far enough to wrap int64 are compared as Java does', () => {
    // ts = Long.MIN_VALUE + 10: now - ts overflows to a negative diff; Kafka then checks -diff against after.max.ms.
    const ts = -(2n ** 63n) + 10n;
    const batch = batchOf({ baseTimestamp: ts, records: [{ value: 'a' }] });
    const diff = BigInt.asIntN(64, T - ts);
    expect(diff < 0n).toBe(true);
    // before.max.ms alone does not refuse it (diff is negative); after.max.ms does.
    expect(() => validate(batch, config({ 'message.timestamp.before.max.ms': '1000' }))).not.toThrow();
    expect(failure(batch, config({ 'message.timestamp.after.max.ms': '1000' })).errorCode).toBe(ErrorCode.INVALID_TIMESTAMP);
  });
});
