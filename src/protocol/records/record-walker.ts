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
// Compressed batches are walked as a stream (RecordStream): the decompressed records arrive in pieces
// (protocol/records/compression.ts decompressRecordStream) and only the current piece is held. A record that lies
// wholly in a piece is read in place as above; one that straddles two pieces (or more: a record may be larger than a
// piece) is read by a resumable reader that keeps only the fields it has decoded so far and skips key, value and
// header bytes as they pass, so a varint split between pieces costs nothing either. The outcome is the same as
// walkRecords over the whole decompressed records: same checks, order and reasons. Two checks compare with the
// bytes left in the whole records ("expected N bytes ... only M remaining", "header count larger than the remaining
// size"); the stream cannot know M until it ends, so such a check is kept as a threshold, and a record that then
// fails is reported once the stream has ended, by the first check that fails in walkRecords' order. After a
// malformed record the rest of the stream is only counted (the caller keeps decompressing it, so a corrupt or
// over-long stream is still reported first, as when the whole batch was decompressed up front).
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

// ---- the streaming walk (compressed batches) ---------------------------------------------------------------------

/** Where the resumable reader is in a straddling record (readRecord's fields, in order). */
const enum Field {
  Length,
  Attributes,
  TimestampDelta,
  OffsetDelta,
  KeyLength,
  Key,
  ValueLength,
  Value,
  HeaderCount,
  HeaderKeyLength,
  HeaderKey,
  HeaderValueLength,
  HeaderValue,
  /** Every field read: the size and offset-delta checks are left. */
  Done,
}

/** Which of readRecord's remaining-bytes checks precede a failure (decided when the stream ends). */
const enum Pending {
  /** None: the failure is in the length varint, or after the whole records (bytes remaining). */
  None,
  /** The length check ("expected N bytes in record payload"): the failure is in the fields before the headers. */
  Size,
  /** The length check, then the header-count check: the failure is in the headers or after them. */
  SizeAndHeaders,
}

/**
 * walkRecords (or forEachRecord, with a visitor) over records that arrive in pieces: begin(), push() each piece in
 * order, end(). Nothing is allocated per record or per piece; reuse one instance (begin resets it).
 */
export class RecordStream {
  private out: RecordWalk = makeRecordWalk();
  private count = 0;
  private skipTimestampDelta = NaN;
  private visit: ((record: RecordView) => void) | undefined;
  /** Index of the record being read (records read so far). */
  private index = 0;
  /** Bytes pushed so far: the stream offset of the next piece's first byte. */
  private total = 0;
  private maxDelta = -Infinity;
  private maxIndex = -1;
  private minDelta = Infinity;
  private keyless = 0;
  private wideDelta = false;
  /** The walk has failed: later pieces are only counted, and the reason is decided at end(). */
  private failed = false;
  private failure = '';
  private failureIndex = -1;
  private failurePending = Pending.None;

  // The straddling record: the resumable reader's state (stream offsets, not piece offsets).
  private inRecord = false;
  private field = Field.Length;
  private varRaw = 0;
  private varScale = 1;
  private varBytes = 0;
  private skipLeft = 0;
  private size = 0;
  /** Stream offset just after the length varint (readRecord's recordStart). */
  private recordStart = 0;
  private timestampDelta = 0;
  /** The timestamp varlong's bytes, for the exact (bigint) value a visitor gets. */
  private readonly timestampBytes = Buffer.alloc(10);
  private offsetDelta = 0;
  private keyLength = 0;
  private valueLength = 0;
  private headerCount = 0;
  private headersLeft = 0;
  /** Stream offset just after the header-count varint. */
  private headersStart = 0;

  /** Starts a walk of `count` records (walkRecords' arguments; `visit` as forEachRecord's). */
  begin(count: number, skipTimestampDelta: number, out: RecordWalk, visit?: (record: RecordView) => void): void {
    this.out = out;
    this.count = count;
    this.skipTimestampDelta = skipTimestampDelta;
    this.visit = visit;
    this.index = 0;
    this.total = 0;
    this.maxDelta = -Infinity;
    this.maxIndex = -1;
    this.minDelta = Infinity;
    this.keyless = 0;
    this.wideDelta = false;
    this.failed = false;
    this.failure = '';
    this.failureIndex = -1;
    this.failurePending = Pending.None;
    this.inRecord = false;
  }

  /** The next piece of the records; read during the call, not kept. */
  push(piece: Buffer): void {
    const base = this.total;
    this.total += piece.length;
    if (this.failed) return;
    const end = piece.length;
    let pos = 0;
    if (this.inRecord) {
      pos = this.resume(piece, 0, base);
      if (pos < 0) return;
    }
    visitor = this.visit;
    wide = false;
    try {
      while (this.index < this.count) {
        if (readRecord(piece, pos, end, this.index) === '') {
          this.recordDone(recordTimestampDelta, recordKeyLength);
          pos = recordEnd;
          continue;
        }
        // Not wholly in this piece, or malformed: the resumable reader decides, from the record's first byte.
        this.inRecord = true;
        this.field = Field.Length;
        this.varRaw = 0;
        this.varScale = 1;
        this.varBytes = 0;
        pos = this.resume(piece, pos, base);
        if (pos < 0) return;
      }
    } finally {
      visitor = undefined;
      if (wide) this.wideDelta = true;
    }
    if (pos < end) this.fail(REMAINING, Pending.None, this.count > 0 ? this.count - 1 : 0);
  }

  /** The stream ended (every piece pushed, the decompressor found no error): the outcome in `out`, as walkRecords. */
  end(): RecordWalk {
    if (!this.failed && this.inRecord) {
      // The records end inside a record: before its first byte, or in a field (read past the end).
      if (this.field === Field.Length && this.varBytes === 0) this.fail(PREMATURE_EOF, Pending.None);
      else this.fail(STRUCTURE, this.pendingAt());
    }
    const out = this.out;
    out.count = this.index;
    out.maxTimestampDelta = this.maxDelta;
    out.maxTimestampIndex = this.maxIndex;
    out.minTimestampDelta = this.minDelta;
    out.keylessCount = this.keyless;
    out.wideTimestampDelta = this.wideDelta;
    out.errorIndex = this.failed ? this.failureIndex : -1;
    out.error = this.failed ? this.decideFailure() : '';
    this.visit = undefined;
    return out;
  }

  private recordDone(timestampDelta: number, keyLength: number): void {
    if (timestampDelta > this.maxDelta) {
      this.maxDelta = timestampDelta;
      this.maxIndex = this.index;
    }
    if (timestampDelta < this.minDelta && timestampDelta !== this.skipTimestampDelta) this.minDelta = timestampDelta;
    if (keyLength < 0) this.keyless++;
    this.index++;
  }

  private fail(reason: string, pending: Pending, index = this.index): -1 {
    this.failed = true;
    this.inRecord = false;
    this.failure = reason;
    this.failureIndex = index;
    this.failurePending = pending;
    return -1;
  }

  /** The remaining-bytes checks that precede a failure at the current field. */
  private pendingAt(): Pending {
    if (this.field === Field.Length) return Pending.None;
    return this.field <= Field.HeaderCount ? Pending.Size : Pending.SizeAndHeaders;
  }

  /** The failure as walkRecords gives it, now that the records' length (this.total) is known. */
  private decideFailure(): string {
    if (this.failurePending === Pending.None) return this.failure;
    const remaining = this.total - this.recordStart;
    if (remaining < this.size) {
      return `Invalid record size: expected ${this.size} bytes in record payload, but instead the buffer has only ${remaining} remaining bytes.`;
    }
    if (this.failurePending === Pending.SizeAndHeaders && this.headerCount > this.total - this.headersStart) {
      return `Found invalid number of record headers. ${this.headerCount} is larger than the remaining size of the buffer`;
    }
    return this.failure;
  }

  /**
   * Reads the straddling record on from piece[pos] (stream offset base + pos), as readRecord does. Returns the
   * piece offset where the record ended, or -1 when the piece is used up first (the record goes on in the next
   * piece) or the record is malformed (the walk has failed).
   */
  private resume(piece: Buffer, pos: number, base: number): number {
    const end = piece.length;
    let p = pos;
    for (;;) {
      const field = this.field;
      if (field === Field.Key || field === Field.Value || field === Field.HeaderKey || field === Field.HeaderValue) {
        const n = Math.min(this.skipLeft, end - p);
        p += n;
        this.skipLeft -= n;
        if (this.skipLeft > 0) return -1;
        if (field === Field.Key) this.field = Field.ValueLength;
        else if (field === Field.Value) this.field = Field.HeaderCount;
        else if (field === Field.HeaderKey) this.field = Field.HeaderValueLength;
        else this.field = --this.headersLeft > 0 ? Field.HeaderKeyLength : Field.Done;
        continue;
      }
      if (field === Field.Done) return this.finishRecord(base + p) ? p : -1;
      if (p >= end) return -1;
      const b = piece[p++]!;
      if (field === Field.Attributes) {
        this.field = Field.TimestampDelta;
        continue;
      }
      // A varint (a varlong for the timestamp delta), one byte at a time: ByteUtils.readVarint / readVarlong.
      const n = this.varBytes++;
      let v = 0;
      if (field === Field.TimestampDelta) {
        this.timestampBytes[n] = b;
        this.varRaw += (b & 0x7f) * this.varScale;
        this.varScale *= 128;
        if (b >= 0x80) {
          if (n === 9) return this.fail(STRUCTURE, Pending.Size); // "Varlong is too long"
          continue;
        }
        if (n >= 7) this.wideDelta = true;
        const raw = this.varRaw;
        this.timestampDelta = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      } else {
        if (n < 4) {
          this.varRaw |= (b & 0x7f) << (7 * n);
          if (b >= 0x80) continue;
        } else {
          if (b >= 0x80) return this.fail(STRUCTURE, this.pendingAt()); // "Varint is too long"
          this.varRaw |= b << 28;
        }
        const raw = this.varRaw;
        v = (raw >>> 1) ^ -(raw & 1);
      }
      this.varRaw = 0;
      this.varScale = 1;
      this.varBytes = 0;
      switch (field) {
        case Field.Length:
          this.size = v;
          this.recordStart = base + p;
          this.field = Field.Attributes;
          break;
        case Field.TimestampDelta:
          this.field = Field.OffsetDelta;
          break;
        case Field.OffsetDelta:
          this.offsetDelta = v;
          this.field = Field.KeyLength;
          break;
        case Field.KeyLength:
          this.keyLength = v;
          this.skipLeft = v > 0 ? v : 0;
          this.field = Field.Key;
          break;
        case Field.ValueLength:
          this.valueLength = v;
          this.skipLeft = v > 0 ? v : 0;
          this.field = Field.Value;
          break;
        case Field.HeaderCount:
          if (v < 0) return this.fail(`Found invalid number of record headers ${v}`, Pending.Size);
          this.headerCount = v;
          this.headersStart = base + p;
          this.headersLeft = v;
          this.field = v > 0 ? Field.HeaderKeyLength : Field.Done;
          break;
        case Field.HeaderKeyLength:
          if (v < 0) return this.fail(`Invalid negative header key size ${v}`, Pending.SizeAndHeaders);
          this.skipLeft = v;
          this.field = Field.HeaderKey;
          break;
        case Field.HeaderValueLength:
          this.skipLeft = v > 0 ? v : 0;
          this.field = Field.HeaderValue;
          break;
      }
    }
  }

  /** Every field read, ending at stream offset `at`: readRecord's last two checks, then the record counts. */
  private finishRecord(at: number): boolean {
    const read = at - this.recordStart;
    if (read !== this.size) {
      this.fail(`Invalid record size: expected to read ${this.size} bytes in record payload, but instead read ${read}`, Pending.SizeAndHeaders);
      return false;
    }
    if (this.offsetDelta !== this.index) {
      this.fail(`Record ${this.index} has offset delta ${this.offsetDelta}: the offset deltas of a batch's records must be 0, 1, 2, ...`, Pending.SizeAndHeaders);
      return false;
    }
    this.inRecord = false;
    if (this.visit !== undefined) {
      view.index = this.index;
      view.timestampDelta = readVarlongBig(this.timestampBytes, 0);
      view.offsetDelta = this.offsetDelta;
      view.keyLength = this.keyLength;
      view.valueLength = this.valueLength;
      this.visit(view);
    }
    this.recordDone(this.timestampDelta, this.keyLength);
    return true;
  }
}
