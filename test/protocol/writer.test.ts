import { describe, expect, it } from 'vitest';
import { Reader } from '../../src/protocol/reader.js';
import { ProtocolEncodeError, Writer } from '../../src/protocol/writer.js';

const hexOf = (f: (w: Writer) => unknown): string => {
  const w = new Writer();
  f(w);
  return w.toBuffer().toString('hex');
};

describe('Writer', () => {
  it('writes big-endian fixed-width ints, floats, booleans and uuids', () => {
    expect(
      hexOf((w) =>
        w
          .writeInt8(-1)
          .writeInt16(-32768)
          .writeUInt16(65535)
          .writeInt32(-2147483648)
          .writeUInt32(4294967295)
          .writeInt64(-9223372036854775808n)
          .writeFloat64(1.5)
          .writeBoolean(false)
          .writeBoolean(true),
      ),
    ).toBe('ff8000ffff80000000ffffffff80000000000000003ff80000000000000001');
    expect(hexOf((w) => w.writeUuid(Buffer.alloc(16, 0xab)))).toBe('ab'.repeat(16));
    expect(() => new Writer().writeUuid(Buffer.alloc(15))).toThrow(ProtocolEncodeError);
  });

  it('writes unsigned varints at edge values', () => {
    expect(hexOf((w) => w.writeUnsignedVarint(0))).toBe('00');
    expect(hexOf((w) => w.writeUnsignedVarint(127))).toBe('7f');
    expect(hexOf((w) => w.writeUnsignedVarint(128))).toBe('8001');
    expect(hexOf((w) => w.writeUnsignedVarint(0x7fffffff))).toBe('ffffffff07');
    expect(hexOf((w) => w.writeUnsignedVarint(0xffffffff))).toBe('ffffffff0f');
    expect(() => new Writer().writeUnsignedVarint(-1)).toThrow(ProtocolEncodeError);
  });

  it('writes zigzag varints and varlongs at edge values', () => {
    expect(hexOf((w) => w.writeVarint(0))).toBe('00');
    expect(hexOf((w) => w.writeVarint(-1))).toBe('01');
    expect(hexOf((w) => w.writeVarint(1))).toBe('02');
    expect(hexOf((w) => w.writeVarint(2147483647))).toBe('feffffff0f');
    expect(hexOf((w) => w.writeVarint(-2147483648))).toBe('ffffffff0f');
    expect(hexOf((w) => w.writeVarlong(0n))).toBe('00');
    expect(hexOf((w) => w.writeVarlong(-1n))).toBe('01');
    expect(hexOf((w) => w.writeVarlong(9223372036854775807n))).toBe('feffffffffffffffff01');
    expect(hexOf((w) => w.writeVarlong(-9223372036854775808n))).toBe('ffffffffffffffffff01');
  });

  it('round-trips varints and varlongs through the Reader', () => {
    const ints = [0, 1, -1, 63, -64, 64, 8191, -8192, 2147483647, -2147483648];
    const longs = [0n, -1n, 1n, 2n ** 31n, -(2n ** 31n), 2n ** 62n, 9223372036854775807n, -9223372036854775808n];
    const w = new Writer(16);
    for (const n of ints) w.writeVarint(n);
    for (const n of longs) w.writeVarlong(n);
    const r = new Reader(w.toBuffer());
    for (const n of ints) expect(r.readVarint()).toBe(n);
    for (const n of longs) expect(r.readVarlong()).toBe(n);
    expect(r.remaining()).toBe(0);
  });

  it('writes strings: int16 length, compact (length + 1) and null', () => {
    expect(hexOf((w) => w.writeString('abc'))).toBe('0003616263');
    expect(hexOf((w) => w.writeNullableString(null))).toBe('ffff');
    expect(hexOf((w) => w.writeCompactString('abc'))).toBe('04616263');
    expect(hexOf((w) => w.writeCompactNullableString(null))).toBe('00');
    expect(hexOf((w) => w.writeCompactNullableString(''))).toBe('01');
    expect(hexOf((w) => w.writeString('é'))).toBe('0002c3a9');
    expect(() => new Writer().writeString('x'.repeat(32768))).toThrow(ProtocolEncodeError);
  });

  it('writes bytes and null bytes', () => {
    expect(hexOf((w) => w.writeBytes(Buffer.from([1, 2])))).toBe('000000020102');
    expect(hexOf((w) => w.writeNullableBytes(null))).toBe('ffffffff');
    expect(hexOf((w) => w.writeCompactBytes(Buffer.from([1, 2])))).toBe('030102');
    expect(hexOf((w) => w.writeCompactNullableBytes(null))).toBe('00');
    expect(hexOf((w) => w.writeArrayLength(-1).writeCompactArrayLength(-1).writeCompactArrayLength(2))).toBe('ffffffff0003');
  });

  it('grows its scratch buffer by doubling and keeps earlier bytes', () => {
    const w = new Writer(16);
    for (let i = 0; i < 1000; i++) w.writeInt32(i);
    expect(w.length).toBe(4000);
    const r = new Reader(w.toBuffer());
    for (let i = 0; i < 1000; i++) expect(r.readInt32()).toBe(i);
  });

  it('appends large byte fields by reference and small ones by copy', () => {
    const big = Buffer.alloc(4096, 7);
    const small = Buffer.alloc(100, 9);
    const w = new Writer(16);
    w.writeInt32(1).writeBytes(big).writeInt16(2).writeBytes(small).writeRaw(big);
    const chunks = w.toBuffers();
    expect(chunks).toHaveLength(4);
    expect(chunks[1]).toBe(big);
    expect(chunks[3]).toBe(big);
    expect(chunks[0]!.toString('hex')).toBe('0000000100001000');
    expect(w.length).toBe(4 + 4 + 4096 + 2 + 4 + 100 + 4096);
    const flat = w.toBuffer();
    expect(flat.length).toBe(w.length);
    expect(flat.subarray(8, 8 + 4096)).toEqual(big);
    expect(flat.subarray(8 + 4096 + 6, 8 + 4096 + 106)).toEqual(small);
  });

  it('keeps sealed chunks intact when the scratch buffer grows afterwards', () => {
    const w = new Writer(16);
    w.writeInt32(0x11111111).writeRaw(Buffer.alloc(2048, 1));
    for (let i = 0; i < 100; i++) w.writeInt32(i);
    const chunks = w.toBuffers();
    expect(chunks[0]!.toString('hex')).toBe('11111111');
    const r = new Reader(chunks[2]!);
    for (let i = 0; i < 100; i++) expect(r.readInt32()).toBe(i);
  });

  it('appends another writer (tagged-field values)', () => {
    const inner = new Writer();
    inner.writeInt16(5).writeRaw(Buffer.alloc(1024, 3));
    const w = new Writer();
    w.writeInt8(1).writeWriter(inner);
    expect(w.length).toBe(1 + 2 + 1024);
    expect(w.toBuffer().subarray(0, 3).toString('hex')).toBe('010005');
  });
});
