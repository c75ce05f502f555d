import { describe, expect, it } from 'vitest';
import { FrameReader, PREALLOCATE_BYTES } from '../../src/server/frame-reader.js';

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

/** A FrameMemory that records what is reserved, with `availableBytes` left. */
function budget(availableBytes = Infinity) {
  const m = {
    reserved: 0,
    availableBytes,
    reserve(bytes: number) {
      m.reserved += bytes;
      m.availableBytes = Math.max(0, m.availableBytes - bytes);
    },
  };
  return m;
}

describe('FrameReader: buffers grow with the bytes that arrive', () => {
  it('a 100 MB size prefix followed by a trickle allocates only the first step, not 100 MB', () => {
    const memory = budget();
    const reader = new FrameReader(104857600, memory);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(100_000_000, 0);
    expect(reader.push(prefix, () => expect.fail('no frame expected'))).toBeNull();
    expect(reader.bufferedBytes).toBe(0);
    expect(memory.reserved).toBe(0);
    for (let i = 0; i < 100; i++) reader.push(Buffer.from([i]), () => expect.fail('no frame expected'));
    expect(reader.partialFrame).toEqual({ receivedBytes: 100, size: 100_000_000 });
    expect(reader.bufferedBytes).toBe(PREALLOCATE_BYTES);
    expect(memory.reserved).toBe(PREALLOCATE_BYTES);
    expect(reader.discard()).toBe(PREALLOCATE_BYTES);
    expect(reader.hasPartialFrame).toBe(false);
  });

  it('a frame up to PREALLOCATE_BYTES gets one buffer of exactly its size', () => {
    const memory = budget();
    const body = Buffer.alloc(300_000, 9);
    const wire = frame(body);
    const out = collect(new FrameReader(1 << 20, memory), [wire.subarray(0, 1000), wire.subarray(1000, 200_000), wire.subarray(200_000)]);
    expect(out.length).toBe(1);
    expect(Buffer.compare(out[0]!, body)).toBe(0);
    expect(memory.reserved).toBe(body.length);
  });

  it('a larger frame doubles its buffer up to exactly the frame size, reserving exactly the frame size in all', () => {
    const memory = budget();
    const reader = new FrameReader(16 << 20, memory);
    const body = Buffer.alloc(5 * 1024 * 1024 + 3);
    for (let i = 0; i < body.length; i += 4096) body[i] = i & 0xff;
    const wire = frame(body);
    const seen: number[] = [];
    const frames: Buffer[] = [];
    for (let pos = 0; pos < wire.length; pos += 65536) {
      reader.push(wire.subarray(pos, pos + 65536), (f) => frames.push(f));
      if (reader.hasPartialFrame) seen.push(reader.bufferedBytes);
    }
    expect(frames.length).toBe(1);
    expect(Buffer.compare(frames[0]!, body)).toBe(0);
    expect(frames[0]!.buffer.byteLength).toBeGreaterThanOrEqual(body.length);
    expect([...new Set(seen)]).toEqual([1 << 20, 2 << 20, 4 << 20, body.length]);
    expect(memory.reserved).toBe(body.length);
  });

  it('with the budget spent, a buffer grows only by the bytes that arrived', () => {
    const memory = budget(10);
    const reader = new FrameReader(1 << 20, memory);
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(500_000, 0);
    reader.push(Buffer.concat([prefix, Buffer.alloc(100)]), () => undefined);
    expect(reader.bufferedBytes).toBe(100);
    reader.push(Buffer.alloc(50), () => undefined);
    expect(reader.bufferedBytes).toBe(150);
    expect(memory.reserved).toBe(150);
  });

  it('reserves a zero-copy frame by its size', () => {
    const memory = budget();
    collect(new FrameReader(1024, memory), [Buffer.concat([frame(bodyA), frame(bodyB)])]);
    expect(memory.reserved).toBe(bodyA.length + bodyB.length);
  });
});
