// Bounds-checked primitive reader for the Kafka wire protocol (big-endian ints, unsigned/zigzag varints,
// int16/int32 and compact length-prefixed strings, bytes and arrays, uuids, tagged-field framing).
// Every read is checked against `end` first, so malformed input raises ProtocolDecodeError and never a
// RangeError, never reads past `end`, and never allocates from a bogus length. Bytes come back as zero-copy
// subarrays of `buf`, so a Produce request's record batches are never copied.

/** Malformed or truncated input. The server treats it as an undecodable frame and closes the connection. */
export class ProtocolDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolDecodeError';
  }
}

export class Reader {
  offset: number;
  readonly buf: Buffer;
  readonly end: number;

  constructor(buf: Buffer, offset = 0, end = buf.length) {
    if (offset < 0 || end > buf.length || offset > end) {
      throw new ProtocolDecodeError(`invalid reader bounds [${offset}, ${end}) for a buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.offset = offset;
    this.end = end;
  }

  remaining(): number {
    return this.end - this.offset;
  }

  /** Throws unless `n` more bytes are available; returns the current offset. */
  private take(n: number): number {
    const at = this.offset;
    if (n > this.end - at) {
      throw new ProtocolDecodeError(`need ${n} bytes at offset ${at}, only ${this.end - at} left`);
    }
    this.offset = at + n;
    return at;
  }

  skip(n: number): void {
    if (n < 0) throw new ProtocolDecodeError(`negative skip ${n}`);
    this.take(n);
  }

  readInt8(): number {
    return this.buf.readInt8(this.take(1));
  }

  readInt16(): number {
    return this.buf.readInt16BE(this.take(2));
  }

  readUInt16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }

  readInt32(): number {
    return this.buf.readInt32BE(this.take(4));
  }

  readUInt32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }

  readInt64(): bigint {
    return this.buf.readBigInt64BE(this.take(8));
  }

  readFloat64(): number {
    return this.buf.readDoubleBE(this.take(8));
  }

  /** Any non-zero byte is true (Kafka's reader does the same). */
  readBoolean(): boolean {
    return this.buf[this.take(1)] !== 0;
  }

  /** 16 bytes, copied (a uuid is small and often kept beyond the request). */
  readUuid(): Buffer {
    const at = this.take(16);
    return Buffer.from(this.buf.subarray(at, at + 16));
  }

  /** Unsigned LEB128, at most 5 bytes, as an unsigned 32-bit number. */
  readUnsignedVarint(): number {
    const buf = this.buf;
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.offset >= this.end) throw new ProtocolDecodeError(`truncated varint at offset ${this.offset}`);
      const b = buf[this.offset++]!;
      value |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return value >>> 0;
      shift += 7;
    }
    throw new ProtocolDecodeError(`varint longer than 5 bytes ending at offset ${this.offset}`);
  }

  /** Zigzag-encoded signed 32-bit varint. */
  readVarint(): number {
    const u = this.readUnsignedVarint();
    return (u >>> 1) ^ -(u & 1);
  }

  /** Zigzag-encoded signed 64-bit varint, at most 10 bytes. */
  readVarlong(): bigint {
    const buf = this.buf;
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new ProtocolDecodeError(`truncated varlong at offset ${this.offset}`);
      const b = buf[this.offset++]!;
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        value = BigInt.asUintN(64, value);
        return (value >> 1n) ^ -(value & 1n);
      }
      shift += 7n;
    }
    throw new ProtocolDecodeError(`varlong longer than 10 bytes ending at offset ${this.offset}`);
  }

  // Lengths. Each returns -1 for null and validates the length against the remaining bytes.

  private checkLength(len: number, what: string): number {
    if (len < -1) throw new ProtocolDecodeError(`negative ${what} length ${len} at offset ${this.offset}`);
    if (len > this.end - this.offset) {
      throw new ProtocolDecodeError(`${what} length ${len} exceeds the ${this.end - this.offset} remaining bytes`);
    }
    return len;
  }

  /** int32 element count; -1 means null. A count larger than the remaining bytes is rejected. */
  readArrayLength(): number {
    return this.checkLength(this.readInt32(), 'array');
  }

  /** Unsigned varint count + 1; 0 means null (returned as -1). */
  readCompactArrayLength(): number {
    return this.checkLength(this.readUnsignedVarint() - 1, 'array');
  }

  private readUtf8(len: number): string {
    const at = this.offset;
    this.offset = at + len;
    return this.buf.toString('utf8', at, at + len);
  }

  private readSlice(len: number): Buffer {
    const at = this.offset;
    this.offset = at + len;
    return this.buf.subarray(at, at + len);
  }

  readString(): string {
    const len = this.checkLength(this.readInt16(), 'string');
    if (len < 0) throw new ProtocolDecodeError('non-nullable string was null');
    return this.readUtf8(len);
  }

  readNullableString(): string | null {
    const len = this.checkLength(this.readInt16(), 'string');
    return len < 0 ? null : this.readUtf8(len);
  }

  readCompactString(): string {
    const len = this.checkLength(this.readUnsignedVarint() - 1, 'string');
    if (len < 0) throw new ProtocolDecodeError('non-nullable compact string was null');
    if (len > 0x7fff) throw new ProtocolDecodeError(`string length ${len} exceeds 32767`);
    return this.readUtf8(len);
  }

  readCompactNullableString(): string | null {
    const len = this.checkLength(this.readUnsignedVarint() - 1, 'string');
    if (len > 0x7fff) throw new ProtocolDecodeError(`string length ${len} exceeds 32767`);
    return len < 0 ? null : this.readUtf8(len);
  }

  /** int32 length + bytes, as a zero-copy subarray. */
  readBytes(): Buffer {
    const len = this.checkLength(this.readInt32(), 'bytes');
    if (len < 0) throw new ProtocolDecodeError('non-nullable bytes was null');
    return this.readSlice(len);
  }

  readNullableBytes(): Buffer | null {
    const len = this.checkLength(this.readInt32(), 'bytes');
    return len < 0 ? null : this.readSlice(len);
  }

  readCompactBytes(): Buffer {
    const len = this.checkLength(this.readUnsignedVarint() - 1, 'bytes');
    if (len < 0) throw new ProtocolDecodeError('non-nullable compact bytes was null');
    return this.readSlice(len);
  }

  readCompactNullableBytes(): Buffer | null {
    const len = this.checkLength(this.readUnsignedVarint() - 1, 'bytes');
    return len < 0 ? null : this.readSlice(len);
  }

  // Tagged fields (KIP-482): count, then per field a tag, a size and the value.

  /** Reads a tagged field's size and returns the offset where its value ends. */
  readTaggedFieldEnd(): number {
    const size = this.readUnsignedVarint();
    if (size > this.end - this.offset) {
      throw new ProtocolDecodeError(`tagged field size ${size} exceeds the ${this.end - this.offset} remaining bytes`);
    }
    return this.offset + size;
  }

  /**
   * Ends a known tagged field at its declared size. A value that ran past the size is corrupt; one that used less
   * is skipped to its end, so a newer client's longer tagged struct still decodes (the bytes after the fields we
   * know are ignored, as Kafka ignores bytes after a request's last field).
   */
  finishTaggedField(end: number): void {
    if (this.offset > end) {
      throw new ProtocolDecodeError(`tagged field ended at offset ${this.offset}, its size said ${end}`);
    }
    this.offset = end;
  }

  /** Skips a whole tagged-field section (for structs that define no tagged fields). */
  skipTaggedFields(): void {
    const n = this.readUnsignedVarint();
    for (let i = 0; i < n; i++) {
      this.readUnsignedVarint();
      this.offset = this.readTaggedFieldEnd();
    }
  }
}
