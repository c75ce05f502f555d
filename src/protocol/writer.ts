// Primitive writer for the Kafka wire protocol. Small fields go into a growable scratch buffer (doubling);
// a large byte field (>= 1 KiB, e.g. a record batch read from disk) is appended by reference: the scratch
// bytes written so far are sealed into a chunk and the field becomes its own chunk. `toBuffers()` returns
// the chunks in order for a vectored socket write, so record bytes are never copied.

/** A message that cannot be encoded at the requested version (Kafka's UnsupportedVersionException / NPE). */
export class ProtocolEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolEncodeError';
  }
}

/** Byte fields at least this large are appended by reference instead of copied. */
export const ZERO_COPY_THRESHOLD = 1024;

/** True when `b` is the all-zero uuid (the default for uuid fields). */
export function isZeroUuid(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export class Writer {
  private buf: Buffer;
  private pos = 0;
  /** Start, within `buf`, of the bytes not yet sealed into `chunks`. */
  private chunkStart = 0;
  private readonly chunks: Buffer[] = [];
  private sealedLength = 0;

  constructor(initialCapacity = 512) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialCapacity));
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.sealedLength + this.pos - this.chunkStart;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.chunkStart;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, pending + n));
    // Earlier sealed chunks keep referencing the old buffer, so only the unsealed tail moves.
    this.buf.copy(next, 0, this.chunkStart, this.pos);
    this.buf = next;
    this.pos = pending;
    this.chunkStart = 0;
  }

  writeInt8(n: number): this {
    this.ensure(1);
    this.pos = this.buf.writeInt8(n, this.pos);
    return this;
  }

  writeInt16(n: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(n, this.pos);
    return this;
  }

  writeUInt16(n: number): this {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(n, this.pos);
    return this;
  }

  writeInt32(n: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(n, this.pos);
    return this;
  }

  writeUInt32(n: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(n, this.pos);
    return this;
  }

  writeInt64(n: bigint): this {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(n, this.pos);
    return this;
  }

  writeFloat64(n: number): this {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(n, this.pos);
    return this;
  }

  writeBoolean(b: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = b ? 1 : 0;
    return this;
  }

  writeUuid(b: Buffer): this {
    if (b.length !== 16) throw new ProtocolEncodeError(`uuid must be 16 bytes, got ${b.length}`);
    this.ensure(16);
    this.pos += b.copy(this.buf, this.pos);
    return this;
  }

  /** Unsigned LEB128 of a value in [0, 2^32). */
  writeUnsignedVarint(n: number): this {
    if (n < 0 || n > 0xffffffff || !Number.isInteger(n)) {
      throw new ProtocolEncodeError(`unsigned varint out of range: ${n}`);
    }
    this.ensure(5);
    const buf = this.buf;
    let v = n;
    while (v >= 0x80) {
      buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[this.pos++] = v;
    return this;
  }

  /** Zigzag signed 32-bit varint. */
  writeVarint(n: number): this {
    return this.writeUnsignedVarint(((n << 1) ^ (n >> 31)) >>> 0);
  }

  /** Zigzag signed 64-bit varint. */
  writeVarlong(n: bigint): this {
    let v = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    this.ensure(10);
    const buf = this.buf;
    while (v >= 0x80n) {
      buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    buf[this.pos++] = Number(v);
    return this;
  }

  // Lengths: -1 writes null.

  writeArrayLength(n: number): this {
    return this.writeInt32(n);
  }

  writeCompactArrayLength(n: number): this {
    return this.writeUnsignedVarint(n + 1);
  }

  private writeUtf8(s: string, len: number): void {
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  writeString(s: string): this {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new ProtocolEncodeError(`string of ${len} bytes exceeds 32767`);
    this.writeInt16(len);
    this.writeUtf8(s, len);
    return this;
  }

  writeNullableString(s: string | null): this {
    return s === null ? this.writeInt16(-1) : this.writeString(s);
  }

  writeCompactString(s: string): this {
    const len = Buffer.byteLength(s, 'utf8');
    if (len > 0x7fff) throw new ProtocolEncodeError(`string of ${len} bytes exceeds 32767`);
    this.writeUnsignedVarint(len + 1);
    this.writeUtf8(s, len);
    return this;
  }

  writeCompactNullableString(s: string | null): this {
    return s === null ? this.writeUnsignedVarint(0) : this.writeCompactString(s);
  }

  writeBytes(b: Buffer): this {
    this.writeInt32(b.length);
    return this.writeRaw(b);
  }

  writeNullableBytes(b: Buffer | null): this {
    return b === null ? this.writeInt32(-1) : this.writeBytes(b);
  }

  writeCompactBytes(b: Buffer): this {
    this.writeUnsignedVarint(b.length + 1);
    return this.writeRaw(b);
  }

  writeCompactNullableBytes(b: Buffer | null): this {
    return b === null ? this.writeUnsignedVarint(0) : this.writeCompactBytes(b);
  }

  /**
   * Appends a byte field by reference (no copy) when it is large (>= 1 KiB), else copies into the scratch
   * buffer. Used for bytes/records so record batches read from disk are never copied.
   */
  writeRaw(b: Buffer): this {
    if (b.length >= ZERO_COPY_THRESHOLD) {
      if (this.pos > this.chunkStart) {
        this.chunks.push(this.buf.subarray(this.chunkStart, this.pos));
        this.sealedLength += this.pos - this.chunkStart;
        this.chunkStart = this.pos;
      }
      this.chunks.push(b);
      this.sealedLength += b.length;
      return this;
    }
    this.ensure(b.length);
    this.pos += b.copy(this.buf, this.pos);
    return this;
  }

  /** Appends everything written to `other` (used for tagged-field values, which are size-prefixed). */
  writeWriter(other: Writer): this {
    for (const chunk of other.toBuffers()) this.writeRaw(chunk);
    return this;
  }

  /** The chunks in order; large byte fields are the caller's buffers, not copies. */
  toBuffers(): Buffer[] {
    const out = this.chunks.slice();
    if (this.pos > this.chunkStart) out.push(this.buf.subarray(this.chunkStart, this.pos));
    return out;
  }

  /** One buffer with everything written (a view of the scratch buffer when nothing was appended by reference). */
  toBuffer(): Buffer {
    if (this.chunks.length === 0) return this.buf.subarray(this.chunkStart, this.pos);
    return Buffer.concat(this.toBuffers(), this.length);
  }
}
