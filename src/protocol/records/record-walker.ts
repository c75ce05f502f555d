// One pass over the records of a RecordBatch v2, reading every field as Kafka's DefaultRecord.readFrom does and
// keeping only what produce validation needs (log/log-validator.ts). It allocates nothing per record: varints are
// read with a cursor into module scratch, and the results go into a caller-owned RecordWalk. The bytes are the
// batch itself (uncompressed: from byte 61 to the end of the batch) or the decompressed records section.
//
// Record layout (Kafka docs "Record"); every varint is zig-zag encoded:
//
//   length          varint   bytes after this field
//   attributes      int8     unused
//   timestampDelta  varlong  record timestamp = baseTimestamp + timestampDelta
//   offsetDelta     varint   record offset = baseOffset + offsetDelta
//   keyLength       varint   -1 (any negative): null key
//   key             bytes
//   valueLength     varint   negative: null value
//   value           bytes
//   headerCount     varint
//   headers         headerKeyLength varint (negative: refused), headerKey, headerValueLength varint, headerValue
//
// What is malformed, and the reason given (Kafka 3.9's wording, clients/.../record/DefaultRecord.java readFrom and
// DefaultRecordBatch.RecordIterator; all of them are InvalidRecordException, INVALID_RECORD on the wire):
//
//   condition                                                   reason
//   a varint longer than 5 bytes (varlong: 10), or a field or
//     key/value/header running past the end of the records      Found invalid record structure
//   no bytes left for the next of `count` records               Incorrect declared batch size, premature EOF reached
//   length larger than the bytes left                           Invalid record size: expected N bytes in record
//                                                               payload, but instead the buffer has only M …
//   headerCount negative, or larger than the bytes left         Found invalid number of record headers …
//   a negative header key length                                Invalid negative header key size N
//   the fields do not end exactly at the record's length        Invalid record size: expected to read N bytes …
//   bytes left after `count` records                            Incorrect declared batch size, records still
//                                                               remaining in file
//   offsetDelta other than the record's index (Eddy only; see   Record I has offset delta D: the offset deltas of a
//     log-validator.ts)                                         batch's records must be 0, 1, 2, ...
//
// Varints are read as Java reads them: a varint is an int32 (a 5th byte's bits beyond 32 are dropped, its high bit
// must be clear), a varlong an int64. Timestamp deltas are kept as JS numbers, exact up to 7 varint bytes (|delta|
// < 2^48 ms, about 8,900 years); a longer one sets `wideTimestampDelta` and the caller re-reads exactly with
// forEachRecord, which is also the slow path for building per-record errors (it allocates; errors only).

/** What walkRecords found. Reused across calls by its owner; every field is set by each call. */
export interface RecordWalk {
  /** Records read without error (the declared count when errorIndex is -1). */
  count: number;
  /** Largest timestampDelta (−Infinity when no record was read). */
  maxTimestampDelta: number;
  /** Index of the first record carrying maxTimestampDelta (-1 when none). */
  maxTimestampIndex: number;
  /** Smallest timestampDelta among records whose delta is not `skipTimestampDelta` (+Infinity when none). */
  minTimestampDelta: number;
  /** Records with a null key (negative key length). */
  keylessCount: number;
  /** Some timestampDelta took more than 7 varint bytes: the deltas above may be inexact. */
  wideTimestampDelta: boolean;
  /** Index of the first malformed record, -1 when every record is well formed. */
  errorIndex: number;
  /** Why that record is malformed (table in the header); '' when none is. */
  error: string;
}

export function makeRecordWalk(): RecordWalk {
  return {
    count: 0,
    maxTimestampDelta: -Infinity,
    maxTimestampIndex: -1,
    minTimestampDelta: Infinity,
    keylessCount: 0,
    wideTimestampDelta: false,
    errorIndex: -1,
    error: '',
  };
}

/** One record, as forEachRecord reports it (reused between calls: copy what you keep). */
export interface RecordView {
  index: number;
  /** Exact, as Java's long. */
  timestampDelta: bigint;
  offsetDelta: number;
  /** Negative for a null key. */
  keyLength: number;
  /** Negative for a null value. */
  valueLength: number;
}

const STRUCTURE = 'Found invalid record structure';
const PREMATURE_EOF = 'Incorrect declared batch size, premature EOF reached';
const REMAINING = 'Incorrect declared batch size, records still remaining in file';

// Cursor results of readVarint/readVarlong (module scratch: nothing allocated per field).
let value = 0;
let next = 0;
let wide = false;

/** Java's ByteUtils.readVarint at `pos`: an int32 into value/next; false when malformed or past `end`. */
function readVarint(buf: Buffer, pos: number, end: number): boolean {
  let raw = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) return false;
    const b = buf[pos++]!;
    raw |= (b & 0x7f) << shift;
    if (b < 0x80) {
      value = (raw >>> 1) ^ -(raw & 1);
      next = pos;
      return true;
    }
  }
  if (pos >= end) return false;
  const b = buf[pos++]!;
  if (b >= 0x80) return false; // "Varint is too long"
  raw |= b << 28;
  value = (raw >>> 1) ^ -(raw & 1);
  next = pos;
  return true;
}

/** ByteUtils.readVarlong at `pos` into value/next as a number, exact up to 7 bytes (else `wide` is set). */
function readVarlong(buf: Buffer, pos: number, end: number): boolean {
  let raw = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) return false;
    const b = buf[pos++]!;
    raw += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (i >= 7) wide = true;
      value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      next = pos;
      return true;
    }
    scale *= 128;
  }
  return false; // "Varlong is too long"
}

/** ByteUtils.readVarlong at `pos` as an exact int64 (slow path only). */
function readVarlongBig(buf: Buffer, pos: number): bigint {
  let raw = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    const b = buf[pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) break;
    shift += 7n;
  }
  raw = BigInt.asUintN(64, raw);
  return BigInt.asIntN(64, (raw >> 1n) ^ -(raw & 1n));
}

let visitor: ((record: RecordView) => void) | undefined;
const view: RecordView = { index: 0, timestampDelta: 0n, offsetDelta: 0, keyLength: 0, valueLength: 0 };

/**
 * Reads the `count` records in buf[start, end) (see the header) into `out`, stopping at the first malformed one.
 * `skipTimestampDelta` is left out of minTimestampDelta (the delta that makes a record's timestamp -1, "no
 * timestamp", which Kafka's timestamp checks skip; NaN to leave nothing out).
 */
export function walkRecords(
  buf: Buffer,
  start: number,
  end: number,
  count: number,
  skipTimestampDelta: number,
  out: RecordWalk,
): RecordWalk {
  out.count = 0;
  out.maxTimestampDelta = -Infinity;
  out.maxTimestampIndex = -1;
  out.minTimestampDelta = Infinity;
  out.keylessCount = 0;
  out.errorIndex = -1;
  out.error = '';
  wide = false;
  let maxDelta = -Infinity;
  let maxIndex = -1;
  let minDelta = Infinity;
  let keyless = 0;
  let pos = start;
  let i = 0;
  for (; i < count; i++) {
    const failure = readRecord(buf, pos, end, i);
    if (failure !== '') {
      out.errorIndex = i;
      out.error = failure;
      break;
    }
    pos = recordEnd;
    if (recordTimestampDelta > maxDelta) {
      maxDelta = recordTimestampDelta;
      maxIndex = i;
    }
    if (recordTimestampDelta < minDelta && recordTimestampDelta !== skipTimestampDelta) minDelta = recordTimestampDelta;
    if (recordKeyLength < 0) keyless++;
  }
  if (out.errorIndex < 0 && pos !== end) {
    out.errorIndex = count > 0 ? count - 1 : 0;
    out.error = REMAINING;
  }
  out.count = i;
  out.maxTimestampDelta = maxDelta;
  out.maxTimestampIndex = maxIndex;
  out.minTimestampDelta = minDelta;
  out.keylessCount = keyless;
  out.wideTimestampDelta = wide;
  return out;
}

/**
 * Calls `visit` for each of the `count` records in buf[start, end), with exact timestamp deltas; the slow path
 * (errors, wide deltas). Returns the malformed reason of the record it stopped at, or ''.
 */
export function forEachRecord(buf: Buffer, start: number, end: number, count: number, visit: (record: RecordView) => void): string {
  let pos = start;
  visitor = visit;
  try {
    for (let i = 0; i < count; i++) {
      const failure = readRecord(buf, pos, end, i);
      if (failure !== '') return failure;
      pos = recordEnd;
    }
    return pos === end ? '' : REMAINING;
  } finally {
    visitor = undefined;
  }
}

// Fields of the record readRecord just read (module scratch).
let recordEnd = 0;
let recordTimestampDelta = 0;
let recordKeyLength = 0;

/** Reads the record at `pos` into the scratch fields above; returns '' or why it is malformed. */
function readRecord(buf: Buffer, pos: number, end: number, index: number): string {
  if (pos >= end) return PREMATURE_EOF;
  if (!readVarint(buf, pos, end)) return STRUCTURE;
  const size = value;
  const recordStart = next;
  if (end - recordStart < size) {
    return `Invalid record size: expected ${size} bytes in record payload, but instead the buffer has only ${end - recordStart} remaining bytes.`;
  }
  // Like Kafka, fields are bounded by the end of the records, and must then end exactly at the record's size.
  let p = recordStart + 1; // attributes
  if (p > end) return STRUCTURE;
  const timestampPos = p;
  if (!readVarlong(buf, p, end)) return STRUCTURE;
  const timestampDelta = value;
  if (!readVarint(buf, next, end)) return STRUCTURE;
  const offsetDelta = value;
  if (!readVarint(buf, next, end)) return STRUCTURE;
  const keyLength = value;
  p = next + (keyLength > 0 ? keyLength : 0);
  if (p > end || !readVarint(buf, p, end)) return STRUCTURE;
  const valueLength = value;
  p = next + (valueLength > 0 ? valueLength : 0);
  if (p > end || !readVarint(buf, p, end)) return STRUCTURE;
  const headerCount = value;
  p = next;
  if (headerCount < 0) return `Found invalid number of record headers ${headerCount}`;
  if (headerCount > end - p) {
    return `Found invalid number of record headers. ${headerCount} is larger than the remaining size of the buffer`;
  }
  for (let h = 0; h < headerCount; h++) {
    if (!readVarint(buf, p, end)) return STRUCTURE;
    const headerKeyLength = value;
    if (headerKeyLength < 0) return `Invalid negative header key size ${headerKeyLength}`;
    p = next + headerKeyLength;
    if (p > end || !readVarint(buf, p, end)) return STRUCTURE;
    p = next + (value > 0 ? value : 0);
    if (p > end) return STRUCTURE;
  }
  if (p - recordStart !== size) {
    return `Invalid record size: expected to read ${size} bytes in record payload, but instead read ${p - recordStart}`;
  }
  if (offsetDelta !== index) {
    return `Record ${index} has offset delta ${offsetDelta}: the offset deltas of a batch's records must be 0, 1, 2, ...`;
  }
  recordEnd = p;
  recordTimestampDelta = timestampDelta;
  recordKeyLength = keyLength;
  if (visitor !== undefined) {
    view.index = index;
    view.timestampDelta = readVarlongBig(buf, timestampPos);
    view.offsetDelta = offsetDelta;
    view.keyLength = keyLength;
    view.valueLength = valueLength;
    visitor(view);
  }
  return '';
}
