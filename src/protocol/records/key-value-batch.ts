// Record batches of key/value records as the broker's coordinators write them to their internal topics
// (`__transaction_state`, `__consumer_offsets`): what Kafka builds with MemoryRecords.withRecords /
// MemoryRecords.builder for a coordinator, and the loop its loaders run over what they read back.
//
// A batch: RecordBatch v2, baseOffset 0 (the log assigns it), partitionLeaderEpoch -1, no compression,
// CreateTime, baseTimestamp = maxTimestamp = the write's time, and either no producer (producerId -1, epoch -1,
// baseSequence -1) or, for a transactional offset commit, the transaction's producer id and epoch with
// baseSequence 0 and the transactional attribute (GroupMetadataManager.storeOffsets). Each record: attributes 0,
// timestampDelta 0, offsetDelta = its index, no headers; the key is never null, a null value is a tombstone.
import { crc32c } from '@node-rs/crc32';
import { Reader } from '../reader.js';
import { Writer } from '../writer.js';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  CompressionType,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  compressionOf,
  isControlBatch,
  readBatchHeader,
  type RecordBatchHeader,
} from './batch.js';
import { decompressRecords } from './compression.js';
import { TRANSACTIONAL_ATTRIBUTE } from './control-batch.js';

export interface KeyValueRecord {
  key: Buffer;
  /** null: a tombstone. */
  value: Buffer | null;
}

/** The producer of a transactional coordinator batch (TxnOffsetCommit). */
export interface TransactionalBatchProducer {
  producerId: bigint;
  producerEpoch: number;
}

function varintSize(n: number): number {
  let v = ((n << 1) ^ (n >> 31)) >>> 0;
  let size = 1;
  while (v >= 0x80) {
    v >>>= 7;
    size++;
  }
  return size;
}

/** Bytes of a record after its length prefix: attributes, timestampDelta 0, offsetDelta, key, value, 0 headers. */
function recordBodySize(record: KeyValueRecord, index: number): number {
  const valueLength = record.value === null ? -1 : record.value.length;
  return 1 + 1 + varintSize(index) + varintSize(record.key.length) + record.key.length + varintSize(valueLength) + Math.max(0, valueLength) + 1;
}

/** Bytes a record at position `index` takes inside a batch (length prefix included), for splitting into batches. */
export function keyValueRecordSize(record: KeyValueRecord, index: number): number {
  const body = recordBodySize(record, index);
  return varintSize(body) + body;
}

/** One uncompressed RecordBatch v2 of `records` (at least one) written at `timestampMs` (header above). */
export function buildKeyValueBatch(records: readonly KeyValueRecord[], timestampMs: number, producer?: TransactionalBatchProducer): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  let size = RECORD_BATCH_HEADER_SIZE;
  for (let i = 0; i < records.length; i++) size += keyValueRecordSize(records[i]!, i);
  const w = new Writer(size);
  const timestamp = BigInt(timestampMs);
  w.writeInt64(0n); // baseOffset
  w.writeInt32(size - LOG_OVERHEAD); // batchLength
  w.writeInt32(-1); // partitionLeaderEpoch
  w.writeInt8(2); // magic
  w.writeUInt32(0); // crc, set below
  w.writeInt16(producer === undefined ? CompressionType.NONE : TRANSACTIONAL_ATTRIBUTE); // attributes
  w.writeInt32(records.length - 1); // lastOffsetDelta
  w.writeInt64(timestamp); // baseTimestamp
  w.writeInt64(timestamp); // maxTimestamp
  w.writeInt64(producer?.producerId ?? -1n);
  w.writeInt16(producer?.producerEpoch ?? -1);
  w.writeInt32(producer === undefined ? -1 : 0); // baseSequence
  w.writeInt32(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    w.writeVarint(recordBodySize(record, i));
    w.writeInt8(0); // attributes
    w.writeVarlong(0n); // timestampDelta
    w.writeVarint(i); // offsetDelta
    w.writeVarint(record.key.length);
    w.writeRaw(record.key);
    if (record.value === null) {
      w.writeVarint(-1);
    } else {
      w.writeVarint(record.value.length);
      w.writeRaw(record.value);
    }
    w.writeVarint(0); // headers
  }
  const batch = w.toBuffer();
  if (batch.length !== size) throw new Error(`key/value batch is ${batch.length} bytes, expected ${size}`);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return batch;
}

export interface KeyValueBatchVisitor {
  /** A record of a data batch; a record with a null key is passed with `key` null. */
  record(record: { key: Buffer | null; value: Buffer | null }, offset: bigint, batch: RecordBatchHeader): void;
  /** A control batch (transaction marker) starting at buf[position], whole in `buf`. */
  control?(batch: RecordBatchHeader, buf: Buffer, position: number): void;
}

/**
 * Walks the whole v2 batches in `buf` (compressed ones decompressed; older magics skipped); returns the offset after
 * the last batch read, or undefined when `buf` held no whole batch. Throws ProtocolDecodeError (or the codec's
 * error) on malformed records.
 */
export function forEachKeyValueRecord(buf: Buffer, visitor: KeyValueBatchVisitor): bigint | undefined {
  let pos = 0;
  let nextOffset: bigint | undefined;
  while (buf.length - pos >= RECORD_BATCH_HEADER_SIZE) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + 8);
    if (size < RECORD_BATCH_HEADER_SIZE || pos + size > buf.length) break;
    const h = readBatchHeader(buf, pos);
    const end = pos + size;
    nextOffset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    if (h.magic === 2 && isControlBatch(h.attributes)) {
      visitor.control?.(h, buf, pos);
    } else if (h.magic === 2) {
      const codec = compressionOf(h.attributes);
      const payload = buf.subarray(pos + RECORD_BATCH_HEADER_SIZE, end);
      const records = codec === CompressionType.NONE ? payload : decompressRecords(codec, payload);
      const r = new Reader(records);
      for (let i = 0; i < h.recordCount && r.remaining() > 0; i++) {
        const length = r.readVarint();
        const recordEnd = r.offset + length;
        r.readInt8();
        r.readVarlong();
        const offsetDelta = r.readVarint();
        const keyLength = r.readVarint();
        let key: Buffer | null = null;
        if (keyLength >= 0) {
          const keyAt = r.offset;
          r.skip(keyLength);
          key = records.subarray(keyAt, keyAt + keyLength);
        }
        const valueLength = r.readVarint();
        let value: Buffer | null = null;
        if (valueLength >= 0) {
          const valueAt = r.offset;
          r.skip(valueLength);
          value = records.subarray(valueAt, valueAt + valueLength);
        }
        r.offset = recordEnd;
        visitor.record({ key, value }, h.baseOffset + BigInt(offsetDelta), h);
      }
    }
    pos = end;
  }
  return nextOffset;
}
