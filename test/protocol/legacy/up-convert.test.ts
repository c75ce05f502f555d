import { describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { compressSync as snappyCompress } from 'snappy';
import { ErrorCode } from '../../../src/protocol/error-codes.js';
import { KafkaError, RecordValidationError } from '../../../src/errors.js';
import { decompressRecords } from '../../../src/protocol/records/compression.js';
import { upConvertMessageSet, type UpConvertOptions } from '../../../src/protocol/records/legacy/up-convert.js';
import {
  decodeRecords,
  gzip,
  lz4StoredFrame,
  message,
  messageSet,
  snappyXerialLiterals,
  wrapper,
  type MessageSpec,
} from './legacy-helpers.js';

const OPTIONS: UpConvertOptions = { maxMessageBytes: 1_048_588, logAppendTime: false, topicPartition: 't-0' };
const T = 1_700_000_000_000n;

/** The v2 header fields and decoded records of a converted batch. */
function readBatch(batch: Buffer) {
  const attributes = batch.readInt16BE(21);
  const codec = attributes & 7;
  const baseTimestamp = batch.readBigInt64BE(27);
  const records = decompressRecords(codec, batch.subarray(61));
  return {
    baseOffset: batch.readBigInt64BE(0),
    batchLength: batch.readInt32BE(8),
    partitionLeaderEpoch: batch.readInt32BE(12),
    magic: batch.readInt8(16),
    crcValid: (crc32c(batch.subarray(21)) >>> 0) === batch.readUInt32BE(17),
    attributes,
    codec,
    lastOffsetDelta: batch.readInt32BE(23),
    baseTimestamp,
    maxTimestamp: batch.readBigInt64BE(35),
    producerId: batch.readBigInt64BE(43),
    producerEpoch: batch.readInt16BE(51),
    baseSequence: batch.readInt32BE(53),
    recordCount: batch.readInt32BE(57),
    records: decodeRecords(records, 0n, baseTimestamp),
  };
}

function inner(magic: 0 | 1, count: number, relative = true): MessageSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    offset: BigInt(relative ? i : 100 + i),
    magic,
    timestamp: T + BigInt(i),
    key: `k${i}`,
    value: `value-${i}`,
  }));
}

async function rejects(set: Buffer, code: number, options = OPTIONS): Promise<KafkaError> {
  const err = await upConvertMessageSet(set, options).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KafkaError);
  expect((err as KafkaError).errorCode).toBe(code);
  return err as KafkaError;
}

describe('up-conversion of magic 0 and 1 message sets to RecordBatch v2', () => {
  it('converts an uncompressed magic-0 set to one batch whose records have no timestamp (-1)', async () => {
    const set = messageSet([
      { offset: 0n, magic: 0, key: 'a', value: 'one' },
      { offset: 1n, magic: 0, key: null, value: 'two' },
      { offset: 2n, magic: 0, key: 'c', value: null },
    ]);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b).toMatchObject({
      baseOffset: 0n, partitionLeaderEpoch: -1, magic: 2, crcValid: true, attributes: 0, lastOffsetDelta: 2, baseTimestamp: -1n,
      maxTimestamp: -1n, producerId: -1n, producerEpoch: -1, baseSequence: -1, recordCount: 3,
    });
    expect(b.records).toEqual([
      { offset: 0n, timestamp: -1n, key: 'a', value: 'one', headerCount: 0 },
      { offset: 1n, timestamp: -1n, key: null, value: 'two', headerCount: 0 },
      { offset: 2n, timestamp: -1n, key: 'c', value: null, headerCount: 0 },
    ]);
    expect(b.batchLength + 12).toBe((await upConvertMessageSet(set, OPTIONS))!.length);
  });

  it('keeps magic-1 CreateTime timestamps and sets maxTimestamp to the largest', async () => {
    const set = messageSet([
      { offset: 0n, magic: 1, timestamp: T + 5n, key: 'a', value: 'x' },
      { offset: 0n, magic: 1, timestamp: T, key: 'b', value: 'y' },
    ]);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b).toMatchObject({ baseTimestamp: T + 5n, maxTimestamp: T + 5n, recordCount: 2, codec: 0 });
    expect(b.records.map((r) => [r.offset, r.timestamp, r.key])).toEqual([[0n, T + 5n, 'a'], [1n, T, 'b']]);
  });

  it('writes timestamp deltas beyond 2^53 exactly', async () => {
    const far = 1n << 62n;
    const set = messageSet([
      { offset: 0n, magic: 1, timestamp: 0n, key: 'a', value: 'x' },
      { offset: 0n, magic: 1, timestamp: far, key: 'b', value: 'y' },
    ]);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b.records.map((r) => r.timestamp)).toEqual([0n, far]);
    expect(b.maxTimestamp).toBe(far);
  });

  it.each([
    ['gzip', 1, (b: Buffer) => gzip(b)],
    ['snappy (xerial, by hand)', 2, (b: Buffer) => snappyXerialLiterals(b)],
    ['snappy (raw block from the snappy library)', 2, (b: Buffer) => snappyCompress(b)],
    ['lz4', 3, (b: Buffer) => lz4StoredFrame(b)],
  ])('converts a nested %s magic-1 wrapper with relative inner offsets to one batch with that codec', async (_name, codec, compress) => {
    const set = wrapper(2n, 1, codec, compress(messageSet(inner(1, 3))), T + 2n);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b).toMatchObject({ codec, recordCount: 3, lastOffsetDelta: 2, baseTimestamp: T, maxTimestamp: T + 2n, crcValid: true });
    expect(b.records.map((r) => [r.offset, r.timestamp, r.key, r.value])).toEqual([
      [0n, T, 'k0', 'value-0'],
      [1n, T + 1n, 'k1', 'value-1'],
      [2n, T + 2n, 'k2', 'value-2'],
    ]);
  });

  it.each([
    ['gzip', 1, (b: Buffer) => gzip(b)],
    ['snappy', 2, (b: Buffer) => snappyXerialLiterals(b)],
    ['lz4 with the broken magic-0 descriptor checksum', 3, (b: Buffer) => lz4StoredFrame(b, true)],
    ['lz4 with a correct descriptor checksum', 3, (b: Buffer) => lz4StoredFrame(b, false)],
  ])('converts a %s magic-0 wrapper with absolute inner offsets', async (_name, codec, compress) => {
    const payload = compress(messageSet(inner(0, 2, false)));
    const set = wrapper(101n, 0, codec, payload);
    const before = Buffer.from(set);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b).toMatchObject({ codec, recordCount: 2, baseTimestamp: -1n, maxTimestamp: -1n });
    expect(b.records.map((r) => [r.offset, r.key])).toEqual([[0n, 'k0'], [1n, 'k1']]);
    expect(set.equals(before)).toBe(true); // the request bytes are left as they came
  });

  it('refuses a magic-1 lz4 wrapper with the broken descriptor checksum (Kafka checks it for magic 1)', async () => {
    await rejects(wrapper(1n, 1, 3, lz4StoredFrame(messageSet(inner(1, 2)), true), T), ErrorCode.UNKNOWN_SERVER_ERROR);
  });

  it('gives inner records of a LogAppendTime wrapper the wrapper timestamp, on a CreateTime topic', async () => {
    const set = wrapper(1n, 1, 1, gzip(messageSet(inner(1, 2))), T + 99n, true);
    const b = readBatch((await upConvertMessageSet(set, OPTIONS))!);
    expect(b.records.map((r) => r.timestamp)).toEqual([T + 99n, T + 99n]);
    expect(b.attributes & 0x08).toBe(0);
  });

  it('accepts out-of-order inner offsets and renumbers them 0, 1, 2 (Kafka rewrites such batches)', async () => {
    const specs = inner(1, 3);
    specs[1]!.offset = 2n;
    specs[2]!.offset = 1n;
    const b = readBatch((await upConvertMessageSet(wrapper(2n, 1, 1, gzip(messageSet(specs)), T), OPTIONS))!);
    expect(b.records.map((r) => [r.offset, r.key])).toEqual([[0n, 'k0'], [1n, 'k1'], [2n, 'k2']]);
  });

  it('accepts a magic-1 wrapper offset of 0 (librdkafka) and refuses one below the last inner offset', async () => {
    expect(await upConvertMessageSet(wrapper(0n, 1, 1, gzip(messageSet(inner(1, 3))), T), OPTIONS)).not.toBeNull();
    const err = await rejects(wrapper(1n, 1, 1, gzip(messageSet(inner(1, 3))), T), ErrorCode.INVALID_RECORD);
    expect(err.message).toContain("wrapper offset '1' is less than the last inner message offset '2'");
  });

  it('answers CORRUPT_MESSAGE for a magic-1 message with a bad CRC', async () => {
    const set = messageSet([{ offset: 0n, magic: 1, timestamp: T, key: 'a', value: 'b' }]);
    set[set.length - 1] ^= 0xff;
    expect((await rejects(set, ErrorCode.CORRUPT_MESSAGE)).message).toMatch(/^Record is corrupt \(stored crc = \d+\)/);
  });

  it('answers CORRUPT_MESSAGE for an inner message with a bad CRC inside a valid wrapper', async () => {
    const innerSet = messageSet(inner(1, 2));
    innerSet[innerSet.length - 1] ^= 0xff;
    await rejects(wrapper(1n, 1, 1, gzip(innerSet), T), ErrorCode.CORRUPT_MESSAGE);
  });

  it('refuses a wrapper inside a wrapper (nesting deeper than one) with INVALID_RECORD', async () => {
    const innermost = gzip(messageSet(inner(1, 2)));
    const bomb = wrapper(1n, 1, 1, gzip(wrapper(1n, 1, 1, innermost, T)), T);
    expect((await rejects(bomb, ErrorCode.INVALID_RECORD)).message).toBe('Inner messages must not be compressed');
  });

  it('refuses a wrapper with no inner messages, or with a null value, with INVALID_RECORD', async () => {
    expect((await rejects(wrapper(0n, 1, 1, gzip(Buffer.alloc(0)), T), ErrorCode.INVALID_RECORD)).message).toContain('no inner records');
    const nullValue = message({ offset: 0n, magic: 1, attributes: 1, timestamp: T, key: null, value: null });
    expect((await rejects(nullValue, ErrorCode.INVALID_RECORD)).message).toContain('null value');
  });

  it('refuses a compressed message followed by another message, and a zstd wrapper', async () => {
    const w = wrapper(1n, 1, 1, gzip(messageSet(inner(1, 2))), T);
    await rejects(Buffer.concat([w, w]), ErrorCode.INVALID_RECORD);
    await rejects(wrapper(1n, 1, 4, Buffer.from('zstd?'), T), ErrorCode.INVALID_RECORD);
  });

  it('refuses a set mixing magic 0 and magic 1 messages with INVALID_RECORD', async () => {
    const set = messageSet([{ offset: 0n, magic: 0, key: 'a', value: 'b' }, { offset: 1n, magic: 1, timestamp: T, key: 'a', value: 'b' }]);
    expect((await rejects(set, ErrorCode.INVALID_RECORD)).message).toContain('Batch magic 1 is not the same');
  });

  it('answers an inner message of another magic with a record error', async () => {
    const specs = inner(1, 2);
    specs[1] = { ...specs[1]!, magic: 0 };
    const err = await rejects(wrapper(1n, 1, 1, gzip(messageSet(specs)), T), ErrorCode.INVALID_RECORD);
    expect(err).toBeInstanceOf(RecordValidationError);
    expect((err as RecordValidationError).recordErrors).toEqual([{ batchIndex: 1, batchIndexErrorMessage: expect.stringContaining("'s magic does not match outer magic 1") }]);
  });

  it('drops a truncated tail and answers null when no whole message is left', async () => {
    const set = messageSet(inner(1, 2).map((s) => ({ ...s, offset: 0n })));
    const truncated = set.subarray(0, set.length - 3);
    const b = readBatch((await upConvertMessageSet(truncated, OPTIONS))!);
    expect(b.records.map((r) => r.key)).toEqual(['k0']);
    expect(await upConvertMessageSet(set.subarray(0, 20), OPTIONS)).toBeNull();
    expect(await upConvertMessageSet(Buffer.alloc(0), OPTIONS)).toBeNull();
  });

  it('answers CORRUPT_MESSAGE for a message size below the 14-byte minimum or fields running past it', async () => {
    const set = messageSet([{ offset: 0n, magic: 0, key: 'a', value: 'b' }]);
    const small = Buffer.from(set);
    small.writeInt32BE(13, 8);
    expect((await rejects(small, ErrorCode.CORRUPT_MESSAGE)).message).toContain('less than the minimum record overhead');
  });

  it('answers MESSAGE_TOO_LARGE for a message above max.message.bytes', async () => {
    const set = messageSet([{ offset: 0n, magic: 1, timestamp: T, key: null, value: Buffer.alloc(2000) }]);
    await rejects(set, ErrorCode.MESSAGE_TOO_LARGE, { ...OPTIONS, maxMessageBytes: 1000 });
  });

  it('answers INVALID_TIMESTAMP for a producer-set LogAppendTime bit on a LogAppendTime topic', async () => {
    const set = messageSet([{ offset: 0n, magic: 1, attributes: 0x08, timestamp: T, key: 'a', value: 'b' }]);
    const err = await rejects(set, ErrorCode.INVALID_TIMESTAMP, { ...OPTIONS, logAppendTime: true });
    expect((err as RecordValidationError).recordErrors[0]!.batchIndexErrorMessage).toContain('Producer should not set timestamp type to LogAppendTime');
    expect(await upConvertMessageSet(set, OPTIONS)).not.toBeNull();
  });
});
