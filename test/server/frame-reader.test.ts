import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/server/frame-reader.js';

function frame(body: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function collect(reader: FrameReader, chunks: Buffer[]): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) {
    const violation = reader.push(c, (f) => out.push(Buffer.from(f)));
    expect(violation).toBeNull();
  }
  return out;
}

const bodyA = Buffer.from('the first frame body, with some bytes');
const bodyB = Buffer.from([0, 1, 2, 3, 255, 254]);

describe('FrameReader', () => {
  it('yields a frame that arrives whole in one chunk', () => {
    expect(collect(new FrameReader(1024), [frame(bodyA)])).toEqual([bodyA]);
  });

  it('yields two frames that arrive in one chunk, in order', () => {
    expect(collect(new FrameReader(1024), [Buffer.concat([frame(bodyA), frame(bodyB)])])).toEqual([bodyA, bodyB]);
  });

  it('reassembles a frame split at every byte offset, including inside the size prefix', () => {
    const wire = Buffer.concat([frame(bodyA), frame(bodyB)]);
    for (let split = 1; split < wire.length; split++) {
      const reader = new FrameReader(1024);
      expect(collect(reader, [wire.subarray(0, split), wire.subarray(split)])).toEqual([bodyA, bodyB]);
      expect(reader.hasPartialFrame).toBe(false);
    }
  });

  it('reassembles frames delivered one byte at a time', () => {
    const wire = Buffer.concat([frame(bodyA), frame(bodyB), frame(Buffer.alloc(0))]);
    const chunks = [...wire].map((b) => Buffer.from([b]));
    expect(collect(new FrameReader(1024), chunks)).toEqual([bodyA, bodyB, Buffer.alloc(0)]);
  });

  it('hands out zero-copy slices when the frame is inside one chunk', () => {
    const wire = frame(bodyA);
    let seen: Buffer | undefined;
    new FrameReader(1024).push(wire, (f) => {
      seen = f;
    });
    expect(seen!.buffer).toBe(wire.buffer);
  });

  it('reports a negative size prefix before reading any body', () => {
    const reader = new FrameReader(1024);
    const wire = Buffer.from([0xff, 0xff, 0xff, 0xfe, 1, 2, 3]);
    expect(reader.push(wire, () => expect.fail('no frame expected'))).toEqual({ kind: 'negative', size: -2 });
  });

  it('reports a size above the limit as soon as the prefix is complete', () => {
    const reader = new FrameReader(100);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(101, 0);
    expect(reader.push(prefix.subarray(0, 2), () => undefined)).toBeNull();
    expect(reader.push(prefix.subarray(2), () => undefined)).toEqual({ kind: 'too-large', size: 101 });
  });

  it('accepts a frame exactly at the limit', () => {
    const body = Buffer.alloc(100, 7);
    expect(collect(new FrameReader(100), [frame(body)])).toEqual([body]);
  });
});
