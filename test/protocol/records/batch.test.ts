import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../../src/errors.js';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import {
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  batchCrcIsValid,
  compressionOf,
  isControlBatch,
  isLogAppendTime,
  isTransactional,
  readBatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
  validateProducedRecords,
} from '../../../src/protocol/records/batch.js';
import { buildRecordBatch, fixCrc } from './batch-builder.js';

const MAX = 1_048_588;

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof KafkaError) return err.errorCode;
    throw err;
  }
  return undefined;
}

function batch3(): Buffer {
  return buildRecordBatch({
    baseTimestamp: 1000n,
    records: [
      { key: 'k1', value: 'v1', timestampDelta: 0 },
      { key: null, value: 'v2', timestampDelta: 5, headers: [{ key: 'h', value: 'x' }] },
      { value: null, timestampDelta: 3 },
    ],
  });
}

/** A legacy v1 message set holding one message (offset, size, crc, magic=1, attributes, timestamp, key, value). */
function legacyMessageSet(magic: 0 | 1): Buffer {
  const body = Buffer.alloc(4 + 1 + 1 + (magic === 1 ? 8 : 0) + 4 + 4 + 1);
  let p = 4;
  body.writeInt8(magic, p++);
  body.writeInt8(0, p++);
  if (magic === 1) {
    body.writeBigInt64BE(0n, p);
    p += 8;
  }
  body.writeInt32BE(-1, p);
  p += 4;
  body.writeInt32BE(1, p);
  p += 4;
  body.write('x', p);
  const set = Buffer.alloc(12 + body.length);
  set.writeInt32BE(body.length, 8);
  body.copy(set, 12);
  return set;
}

describe('readBatchHeader', () => {
  it('parses every header field of a built batch', () => {
    const b = buildRecordBatch({
      baseOffset: 7n,
      records: [{ value: 'a' }, { value: 'b', timestampDelta: 9 }],
      baseTimestamp: 100n,
      producerId: 42n,
      producerEpoch: 3,
      baseSequence: 11,
      attributes: 0x10,
    });
    const h = readBatchHeader(b);
    expect(h).toMatchObject({
      baseOffset: 7n,
      batchLength: b.length - LOG_OVERHEAD,
      magic: 2,
      attributes: 0x10,
      lastOffsetDelta: 1,
      baseTimestamp: 100n,
      maxTimestamp: 109n,
      producerId: 42n,
      producerEpoch: 3,
      baseSequence: 11,
      recordCount: 2,
    });
    expect(isTransactional(h.attributes)).toBe(true);
    expect(isControlBatch(h.attributes)).toBe(false);
    expect(compressionOf(0x13)).toBe(3);
    expect(batchCrcIsValid(b)).toBe(true);
  });
});

describe('validateProducedRecords', () => {
  it('accepts a valid single batch and returns its header', () => {
    const b = batch3();
    const h = validateProducedRecords(b, MAX);
    expect(h.recordCount).toBe(3);
    expect(h.maxTimestamp).toBe(1005n);
  });

  it('rejects an empty record set with CORRUPT_MESSAGE', () => {
    expect(codeOf(() => validateProducedRecords(Buffer.alloc(0), MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects a record set shorter than the header with CORRUPT_MESSAGE', () => {
    const b = batch3().subarray(0, 40);
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects a batchLength that runs past the buffer with CORRUPT_MESSAGE', () => {
    const b = batch3();
    expect(codeOf(() => validateProducedRecords(b.subarray(0, b.length - 1), MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects a batchLength smaller than the header with CORRUPT_MESSAGE', () => {
    const b = batch3();
    b.writeInt32BE(10, 8);
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects legacy magic 0 and 1 with UNSUPPORTED_FOR_MESSAGE_FORMAT', () => {
    expect(codeOf(() => validateProducedRecords(legacyMessageSet(0), MAX))).toBe(
      ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    );
    expect(codeOf(() => validateProducedRecords(legacyMessageSet(1), MAX))).toBe(
      ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
    );
  });

  it('rejects an unknown magic with CORRUPT_MESSAGE', () => {
    const b = batch3();
    b.writeInt8(3, 16);
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects two batches in one record set with INVALID_RECORD', () => {
    const b = Buffer.concat([batch3(), batch3()]);
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a CRC mismatch with CORRUPT_MESSAGE', () => {
    const b = batch3();
    b[b.length - 2] ^= 0xff;
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.CORRUPT_MESSAGE);
  });

  it('rejects a lastOffsetDelta that disagrees with recordCount with INVALID_RECORD', () => {
    const b = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], lastOffsetDelta: 5 });
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a negative or zero recordCount with INVALID_RECORD', () => {
    const neg = buildRecordBatch({ records: [{ value: 'a' }], recordCount: -1, lastOffsetDelta: -2 });
    expect(codeOf(() => validateProducedRecords(neg, MAX))).toBe(ErrorCode.INVALID_RECORD);
    const zero = buildRecordBatch({ records: [], recordCount: 0, lastOffsetDelta: -1 });
    expect(codeOf(() => validateProducedRecords(zero, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a control batch from a client with INVALID_RECORD', () => {
    const b = buildRecordBatch({ records: [{ key: 'k', value: 'v' }], attributes: 0x20 });
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a non-zero baseOffset with INVALID_RECORD', () => {
    const b = buildRecordBatch({ baseOffset: 5n, records: [{ value: 'a' }] });
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a producerId with a negative baseSequence with INVALID_RECORD', () => {
    const b = buildRecordBatch({ records: [{ value: 'a' }], producerId: 1n, producerEpoch: 0, baseSequence: -1 });
    expect(codeOf(() => validateProducedRecords(b, MAX))).toBe(ErrorCode.INVALID_RECORD);
  });

  it('rejects a batch larger than max.message.bytes with MESSAGE_TOO_LARGE', () => {
    const b = buildRecordBatch({ records: [{ value: Buffer.alloc(1000) }] });
    expect(codeOf(() => validateProducedRecords(b, b.length - 1))).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(codeOf(() => validateProducedRecords(b, b.length))).toBeUndefined();
  });

  it('accepts a compressed batch without decoding its records', () => {
    // Compressed payload bytes are opaque: garbage records with a valid CRC pass header validation.
    const b = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], attributes: 0x04 });
    b[RECORD_BATCH_HEADER_SIZE] = 0xff;
    fixCrc(b);
    expect(validateProducedRecords(b, MAX).recordCount).toBe(2);
  });
});

describe('header rewrites', () => {
  it('setBaseOffset and setPartitionLeaderEpoch keep the CRC valid', () => {
    const b = batch3();
    setBaseOffset(b, 0, 123456789012n);
    setPartitionLeaderEpoch(b, 0, 7);
    const h = readBatchHeader(b);
    expect(h.baseOffset).toBe(123456789012n);
    expect(h.partitionLeaderEpoch).toBe(7);
    expect(batchCrcIsValid(b)).toBe(true);
  });

  it('setLogAppendTime sets the timestamp type and maxTimestamp, keeps baseTimestamp (as Kafka), and a valid CRC', () => {
    const b = Buffer.concat([Buffer.alloc(5), batch3()]);
    const before = readBatchHeader(b, 5);
    setLogAppendTime(b, 5, 999_999n);
    const h = readBatchHeader(b, 5);
    expect(isLogAppendTime(h.attributes)).toBe(true);
    expect(h.maxTimestamp).toBe(999_999n);
    expect(h.baseTimestamp).toBe(before.baseTimestamp);
    expect(batchCrcIsValid(b, 5)).toBe(true);
  });
});
