import { describe, expect, it } from 'vitest';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const reader = (s: string): Reader => new Reader(hex(s));

describe('Reader', () => {
  it('reads big-endian fixed-width ints, floats, booleans and uuids', () => {
    const r = reader('ff 8000 ffff 80000000 ffffffff 8000000000000000 3ff8000000000000 00 02 000102030405060708090a0b0c0d0e0f');
    expect(r.readInt8()).toBe(-1);
    expect(r.readInt16()).toBe(-32768);
    expect(r.readUInt16()).toBe(65535);
    expect(r.readInt32()).toBe(-2147483648);
    expect(r.readUInt32()).toBe(4294967295);
    expect(r.readInt64()).toBe(-9223372036854775808n);
    expect(r.readFloat64()).toBe(1.5);
    expect(r.readBoolean()).toBe(false);
    expect(r.readBoolean()).toBe(true);
    expect(r.readUuid()).toEqual(hex('000102030405060708090a0b0c0d0e0f'));
    expect(r.remaining()).toBe(0);
  });

  it('reads unsigned varints at edge values', () => {
    expect(reader('00').readUnsignedVarint()).toBe(0);
    expect(reader('7f').readUnsignedVarint()).toBe(127);
    expect(reader('8001').readUnsignedVarint()).toBe(128);
    expect(reader('ffffffff07').readUnsignedVarint()).toBe(0x7fffffff);
    expect(reader('ffffffff0f').readUnsignedVarint()).toBe(0xffffffff);
  });

  it('reads zigzag varints at edge values', () => {
    expect(reader('00').readVarint()).toBe(0);
    expect(reader('01').readVarint()).toBe(-1);
    expect(reader('02').readVarint()).toBe(1);
    expect(reader('feffffff0f').readVarint()).toBe(2147483647);
    expect(reader('ffffffff0f').readVarint()).toBe(-2147483648);
  });

  it('reads zigzag varlongs at edge values', () => {
    expect(reader('00').readVarlong()).toBe(0n);
    expect(reader('01').readVarlong()).toBe(-1n);
    expect(reader('feffffffffffffffff01').readVarlong()).toBe(9223372036854775807n);
    expect(reader('ffffffffffffffffff01').readVarlong()).toBe(-9223372036854775808n);
  });

  it('reads strings: int16 length, compact (length + 1) and null', () => {
    expect(reader('0003616263').readString()).toBe('abc');
    expect(reader('0000').readString()).toBe('');
    expect(reader('ffff').readNullableString()).toBeNull();
    expect(reader('04616263').readCompactString()).toBe('abc');
    expect(reader('00').readCompactNullableString()).toBeNull();
    expect(reader('01').readCompactNullableString()).toBe('');
    expect(reader('0002c3a9').readString()).toBe('é');
  });

  it('reads bytes as zero-copy slices, and null bytes', () => {
    const buf = hex('00000002abcd 03abcd ffffffff 00');
    const r = new Reader(buf);
    const b = r.readBytes();
    expect(b).toEqual(hex('abcd'));
    expect(b.buffer).toBe(buf.buffer);
    expect(r.readCompactBytes()).toEqual(hex('abcd'));
    expect(r.readNullableBytes()).toBeNull();
    expect(r.readCompactNullableBytes()).toBeNull();
  });

  it('reads array lengths, -1 meaning null', () => {
    expect(reader('00000001 00').readArrayLength()).toBe(1);
    expect(reader('ffffffff').readArrayLength()).toBe(-1);
    expect(reader('00').readCompactArrayLength()).toBe(-1);
    expect(reader('02 00').readCompactArrayLength()).toBe(1);
  });

  it('skips unknown tagged fields', () => {
    const r = reader('02 05 02 abcd 07 00 ee');
    r.skipTaggedFields();
    expect(r.readInt8()).toBe(-18);
  });

  it('respects an end bound inside a larger buffer', () => {
    const r = new Reader(hex('0001020304'), 1, 3);
    expect(r.readInt16()).toBe(0x0102);
    expect(() => r.readInt8()).toThrow(ProtocolDecodeError);
  });

  describe('malformed input throws ProtocolDecodeError', () => {
    const cases: [string, string, (r: Reader) => unknown][] = [
      ['truncated int32', '000000', (r) => r.readInt32()],
      ['truncated int64', '00000000000000', (r) => r.readInt64()],
      ['truncated uuid', '00'.repeat(15), (r) => r.readUuid()],
      ['empty varint', '', (r) => r.readUnsignedVarint()],
      ['truncated varint', '8080', (r) => r.readUnsignedVarint()],
      ['varint longer than 5 bytes', '808080808001', (r) => r.readUnsignedVarint()],
      ['varlong longer than 10 bytes', '80'.repeat(10) + '01', (r) => r.readVarlong()],
      ['null non-nullable string', 'ffff', (r) => r.readString()],
      ['negative string length', 'fffe', (r) => r.readNullableString()],
      ['string length past end', '0005616263', (r) => r.readString()],
      ['compact string length past end', '0a6162', (r) => r.readCompactString()],
      ['null non-nullable compact string', '00', (r) => r.readCompactString()],
      ['negative bytes length', 'fffffffe', (r) => r.readNullableBytes()],
      ['null non-nullable bytes', 'ffffffff', (r) => r.readBytes()],
      ['bytes length past end', '00000010abcd', (r) => r.readBytes()],
      ['compact bytes length past end', '10abcd', (r) => r.readCompactBytes()],
      ['huge array length', '7fffffff', (r) => r.readArrayLength()],
      ['negative array length', 'fffffff0', (r) => r.readArrayLength()],
      ['huge compact array length', 'ffffffff0f', (r) => r.readCompactArrayLength()],
      ['tagged field size past end', '01 00 05 ab', (r) => r.skipTaggedFields()],
    ];
    for (const [name, input, read] of cases) {
      it(name, () => {
        expect(() => read(reader(input))).toThrow(ProtocolDecodeError);
      });
    }

    it('never reads past end, even from a larger buffer', () => {
      const r = new Reader(hex('0003616263'), 0, 4);
      expect(() => r.readString()).toThrow(ProtocolDecodeError);
    });

    it('a truncated generated message throws ProtocolDecodeError, never RangeError', async () => {
      const { makeMetadataRequest, writeMetadataRequest, readMetadataRequest } = await import('../../src/protocol/generated/metadata.js');
      const m = makeMetadataRequest();
      m.topics = [{ topicId: Buffer.alloc(16, 1), name: 'orders' }];
      const w = new Writer();
      writeMetadataRequest(w, 12, m);
      const full = w.toBuffer();
      for (let cut = 0; cut < full.length; cut++) {
        expect(() => readMetadataRequest(new Reader(full, 0, cut), 12)).toThrow(ProtocolDecodeError);
      }
    });
  });
});
