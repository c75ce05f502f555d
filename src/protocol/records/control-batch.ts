// Transaction markers: the control batch that ends a producer's transaction on one partition (Kafka's
// EndTransactionMarker, ControlRecordType and MemoryRecords.withEndTransactionMarker).
//
// A marker batch is an ordinary RecordBatch v2 with the control (0x20) and transactional (0x10) attribute bits,
// no compression, CreateTime, baseSequence -1, the producer's id and epoch, and exactly one record:
//
//   record field      value
//   attributes        0
//   timestampDelta    0 (the batch's base and max timestamp are the marker's time)
//   offsetDelta       0
//   key (4 bytes)     int16 version 0, int16 type: 0 ABORT, 1 COMMIT (ControlRecordType)
//   value (6 bytes)   int16 version 0, int32 coordinator epoch (EndTransactionMarker v0)
//   headers           none
//
// That is 78 bytes in all. Reading follows Kafka: a key shorter than 4 bytes or a value shorter than 6 is
// invalid; a higher version of either is read by its version 0 fields (Kafka only logs it).
import {
  ATTRIBUTES_OFFSET,
  CRC_OFFSET,
  LOG_OVERHEAD,
  RECORD_BATCH_HEADER_SIZE,
  computeBatchCrc,
} from './batch.js';

export const CONTROL_ATTRIBUTE = 0x20;
export const TRANSACTIONAL_ATTRIBUTE = 0x10;
export const CONTROL_TYPE_ABORT = 0;
export const CONTROL_TYPE_COMMIT = 1;
export const END_TXN_MARKER_BATCH_SIZE = 78;

export interface EndTxnMarker {
  commit: boolean;
  coordinatorEpoch: number;
}

/** A marker batch at offset 0 (the log assigns the real offset and leader epoch). */
export function buildEndTxnMarkerBatch(
  producerId: bigint,
  producerEpoch: number,
  marker: EndTxnMarker,
  timestampMs: bigint,
): Buffer {
  const buf = Buffer.alloc(END_TXN_MARKER_BATCH_SIZE);
  buf.writeBigInt64BE(0n, 0); // baseOffset
  buf.writeInt32BE(END_TXN_MARKER_BATCH_SIZE - LOG_OVERHEAD, 8);
  buf.writeInt32BE(-1, 12); // partitionLeaderEpoch
  buf.writeInt8(2, 16); // magic
  buf.writeInt16BE(CONTROL_ATTRIBUTE | TRANSACTIONAL_ATTRIBUTE, ATTRIBUTES_OFFSET);
  buf.writeInt32BE(0, 23); // lastOffsetDelta
  buf.writeBigInt64BE(timestampMs, 27); // baseTimestamp
  buf.writeBigInt64BE(timestampMs, 35); // maxTimestamp
  buf.writeBigInt64BE(producerId, 43);
  buf.writeInt16BE(producerEpoch, 51);
  buf.writeInt32BE(-1, 53); // baseSequence
  buf.writeInt32BE(1, 57); // record count
  let p = RECORD_BATCH_HEADER_SIZE;
  buf[p++] = 32; // record length 16, zig-zag
  buf[p++] = 0; // attributes
  buf[p++] = 0; // timestampDelta
  buf[p++] = 0; // offsetDelta
  buf[p++] = 8; // key length 4
  buf.writeInt16BE(0, p); // key version
  buf.writeInt16BE(marker.commit ? CONTROL_TYPE_COMMIT : CONTROL_TYPE_ABORT, p + 2);
  p += 4;
  buf[p++] = 12; // value length 6
  buf.writeInt16BE(0, p); // value version
  buf.writeInt32BE(marker.coordinatorEpoch, p + 2);
  p += 6;
  buf[p++] = 0; // header count
  buf.writeUInt32BE(computeBatchCrc(buf, 0), CRC_OFFSET);
  return buf;
}

/** Zig-zag varint at buf[pos], or undefined when it runs past `end` or is longer than 5 bytes. */
function varint(buf: Buffer, pos: number, end: number): { value: number; next: number } | undefined {
  let raw = 0;
  for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
    if (pos >= end) return undefined;
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) return { value: (raw >>> 1) ^ -(raw & 1), next: pos };
  }
  return undefined;
}

/**
 * The marker in the control batch at buf[pos] (whole batch in the buffer), or undefined when its record is not a
 * COMMIT/ABORT marker (another control type, or malformed): callers treat such a batch as ending nothing.
 */
export function readEndTxnMarker(buf: Buffer, pos: number): EndTxnMarker | undefined {
  const end = pos + LOG_OVERHEAD + buf.readInt32BE(pos + 8);
  if (end > buf.length) return undefined;
  let p = pos + RECORD_BATCH_HEADER_SIZE;
  const length = varint(buf, p, end);
  if (length === undefined) return undefined;
  p = length.next + 1; // attributes
  // timestampDelta is a varlong: skip up to 10 bytes.
  let i = 0;
  while (i < 10 && p < end && buf[p]! >= 0x80) {
    p++;
    i++;
  }
  p++;
  const offsetDelta = varint(buf, p, end);
  if (offsetDelta === undefined) return undefined;
  const keyLength = varint(buf, offsetDelta.next, end);
  if (keyLength === undefined || keyLength.value < 4 || keyLength.next + keyLength.value > end) return undefined;
  const type = buf.readInt16BE(keyLength.next + 2);
  if (type !== CONTROL_TYPE_ABORT && type !== CONTROL_TYPE_COMMIT) return undefined;
  const valueLength = varint(buf, keyLength.next + keyLength.value, end);
  if (valueLength === undefined || valueLength.value < 6 || valueLength.next + valueLength.value > end) return undefined;
  return { commit: type === CONTROL_TYPE_COMMIT, coordinatorEpoch: buf.readInt32BE(valueLength.next + 2) };
}
