// Fuzzing seeded by the wire corpus: real client requests with bytes flipped, truncated or extended must either
// decode or fail with ProtocolDecodeError — never another exception (RangeError, TypeError…), never a hang.
// Deterministic (seeded PRNG) and bounded in count.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import { readRequestHeader } from '../../src/protocol/header.js';
import { ProtocolDecodeError, Reader } from '../../src/protocol/reader.js';

const WIRE = path.resolve(__dirname, '../fixtures/wire');
const MUTATIONS_PER_FRAME = 40;

function* requestFrames(): Generator<[string, Buffer]> {
  for (const api of readdirSync(WIRE, { withFileTypes: true })) {
    if (!api.isDirectory()) continue;
    for (const file of readdirSync(path.join(WIRE, api.name))) {
      if (file.endsWith('-request.hex')) {
        yield [`${api.name}/${file}`, Buffer.from(readFileSync(path.join(WIRE, api.name, file), 'utf8').trim(), 'hex')];
      }
    }
  }
}

/** xorshift32: deterministic across runs. */
function prng(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function mutate(frame: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(frame);
  switch (Math.floor(rand() * 4)) {
    case 0: // flip a few random bytes
      for (let i = 0; i < 1 + Math.floor(rand() * 4); i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
      return out;
    case 1: // truncate
      return out.subarray(0, Math.floor(rand() * out.length));
    case 2: // set a length-looking int16/int32 to an extreme
      if (out.length > 4) {
        const at = Math.floor(rand() * (out.length - 4));
        out.writeInt32BE(rand() < 0.5 ? 0x7fffffff : -2, at);
      }
      return out;
    default: // append garbage
      return Buffer.concat([out, Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x0f])]);
  }
}

function decode(frame: Buffer): void {
  const r = new Reader(frame);
  const header = readRequestHeader(r);
  const codec = API_CODECS.get(header.requestApiKey);
  if (codec === undefined || header.requestApiVersion < codec.minVersion || header.requestApiVersion > codec.maxVersion) return;
  codec.readRequest(r, header.requestApiVersion);
}

describe('codec fuzzing from the wire corpus', () => {
  const frames = [...requestFrames()];

  it('has corpus frames to start from', () => {
    expect(frames.length).toBeGreaterThan(100);
  });

  it('every mutated request decodes or throws ProtocolDecodeError', () => {
    const rand = prng(0x5eed);
    const failures: string[] = [];
    for (const [name, frame] of frames) {
      for (let i = 0; i < MUTATIONS_PER_FRAME; i++) {
        const mutated = mutate(frame, rand);
        try {
          decode(mutated);
        } catch (err) {
          if (!(err instanceof ProtocolDecodeError)) failures.push(`${name} #${i}: ${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
