// RecordBatch v2 for the client: building one batch to produce, and decoding the batches a Fetch returns.
// Layout of the batch header: src/protocol/records/batch.ts; of each record: src/protocol/records/record-walker.ts.
//
// Building follows what Kafka's producer writes (MemoryRecordsBuilder / DefaultRecord.writeTo, Kafka 3.9):
//   baseOffset 0, partitionLeaderEpoch -1, magic 2, attributes = compression codec (CreateTime), lastOffsetDelta
//   = count - 1, baseTimestamp = the first record's timestamp, maxTimestamp = the largest, producerId,
//   producerEpoch and baseSequence those of an idempotent producer or -1, CRC-32C over attributes..end. Records carry
//   timestampDelta = timestamp - baseTimestamp and offsetDelta = index. With gzip only the records section is
//   compressed (node:zlib), the 61-byte header stays plain.
//
// Decoding reads every whole batch in a Fetch's records (the last one may be cut off at the fetch's max bytes:
// it is ignored, and the next fetch starts at it). Control batches (transaction markers) yield no records but
// move the next offset past them. Compressed batches are decompressed by src/protocol/records/compression.ts.
// Legacy message sets (magic 0/1) are not decoded: a broker converts them up only when asked with old Fetch
// versions, which this client never uses (Fetch v4+).
import { gzipSync } from 'node:zlib';
import { crc32c } from '@node-rs/crc32';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  CompressionType,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  compressionOf,
  isControlBatch,
  isLogAppendTime,
  readBatchHeader,
} from '../protocol/records/batch.js';
import { decompressRecords } from '../protocol/records/compression.js';

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record to produce. */
export interface ProducerRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** CreateTime in ms since the epoch; defaults to now. */
  timestamp?: bigint;
}

/** A record read from a Fetch. */
export interface ConsumedRecord {
  offset: bigint;
  timestamp: bigint;
  /** True when the timestamp was set by the broker (LogAppendTime topic). */
  logAppendTime: boolean;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export type Compression = 'none' | 'gzip';

const CODEC_BY_NAME: Record<Compression, number> = { none: CompressionType.NONE, gzip: CompressionType.GZIP };

/** The idempotent producer's fields of a batch: its id and epoch, and the sequence of the batch's first record. */
export interface ProducerIdentity {
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
}

/** One RecordBatch v2 holding `records` (at least one); idempotent when `producer` is given. */
export function buildRecordBatch(records: readonly ProducerRecord[], compression: Compression = 'none', producer?: ProducerIdentity): Buffer {
  if (records.length === 0) throw new RangeError('a record batch needs at least one record');
  const now = BigInt(Date.now());
  const baseTimestamp = records[0]!.timestamp ?? now;
  let maxTimestamp = baseTimestamp;
  const body = new Writer(1024);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const timestamp = r.timestamp ?? now;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const record = new Writer(64);
    record.writeInt8(0);
    record.writeVarlong(timestamp - baseTimestamp);
    record.writeVarint(i);
    writeVarBytes(record, r.key);
    writeVarBytes(record, r.value);
    const headers = r.headers ?? [];
    record.writeVarint(headers.length);
    for (const h of headers) {
      writeVarBytes(record, Buffer.from(h.key, 'utf8'));
      writeVarBytes(record, h.value);
    }
    body.writeVarint(record.length);
    body.writeWriter(record);
  }
  const codec = CODEC_BY_NAME[compression];
  const plain = body.toBuffer();
  const payload = codec === CompressionType.GZIP ? gzipSync(plain) : plain;

  const header = Buffer.alloc(RECORD_BATCH_HEADER_SIZE);
  header.writeBigInt64BE(0n, 0);
  header.writeInt32BE(RECORD_BATCH_HEADER_SIZE - LOG_OVERHEAD + payload.length, 8);
  header.writeInt32BE(-1, 12);
  header.writeInt8(2, 16);
  header.writeInt16BE(codec, ATTRIBUTES_OFFSET);
  header.writeInt32BE(records.length - 1, 23);
  header.writeBigInt64BE(baseTimestamp, 27);
  header.writeBigInt64BE(maxTimestamp, 35);
  header.writeBigInt64BE(producer?.producerId ?? -1n, 43);
  header.writeInt16BE(producer?.producerEpoch ?? -1, 51);
  header.writeInt32BE(producer?.baseSequence ?? -1, 53);
  header.writeInt32BE(records.length, 57);
  const batch = Buffer.concat([header, payload]);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_OFFSET)) >>> 0, CRC_OFFSET);
  return batch;
}

function writeVarBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.writeVarint(-1);
    return;
  }
  w.writeVarint(b.length);
  w.writeRaw(b);
}

export interface DecodedBatches {
  records: ConsumedRecord[];
  /** The offset after the last whole batch read, or undefined when there was none. */
  nextOffset: bigint | undefined;
}

/** Decodes every whole RecordBatch v2 in `buf` (a Fetch partition's records). */
export function decodeRecordBatches(buf: Buffer | null): DecodedBatches {
  const out: DecodedBatches = { records: [], nextOffset: undefined };
  if (buf === null) return out;
  let pos = 0;
  while (buf.length - pos >= LOG_OVERHEAD) {
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + 8);
    if (size < RECORD_BATCH_HEADER_SIZE || pos + size > buf.length) break;
    const h = readBatchHeader(buf, pos);
    if (h.magic !== 2) throw new Error(`message format v${h.magic} at offset ${h.baseOffset} is not supported (RecordBatch v2 only)`);
    const batchEnd = pos + size;
    out.nextOffset = h.baseOffset + BigInt(h.lastOffsetDelta) + 1n;
    if (!isControlBatch(h.attributes)) {
      const records = decompressRecords(compressionOf(h.attributes), buf.subarray(pos + RECORD_BATCH_HEADER_SIZE, batchEnd));
      const appendTime = isLogAppendTime(h.attributes);
      const r = new Reader(records);
      for (let i = 0; i < h.recordCount && r.remaining() > 0; i++) {
        const length = r.readVarint();
        const end = r.offset + length;
        r.readInt8();
        const timestampDelta = r.readVarlong();
        const offsetDelta = r.readVarint();
        const key = readVarBytes(r);
        const value = readVarBytes(r);
        const headerCount = r.readVarint();
        const headers: RecordHeader[] = [];
        for (let j = 0; j < headerCount; j++) {
          const k = readVarBytes(r);
          headers.push({ key: k === null ? '' : k.toString('utf8'), value: readVarBytes(r) });
        }
        r.offset = end;
        out.records.push({
          offset: h.baseOffset + BigInt(offsetDelta),
          timestamp: appendTime ? h.maxTimestamp : h.baseTimestamp + timestampDelta,
          logAppendTime: appendTime,
          key,
          value,
          headers,
        });
      }
    }
    pos = batchEnd;
  }
  return out;
}

function readVarBytes(r: Reader): Buffer | null {
  const n = r.readVarint();
  if (n < 0) return null;
  const at = r.offset;
  r.skip(n);
  return r.buf.subarray(at, at + n);
}
