// Frame generators. Each fuzz frame is a pure function of (seed, index): `generateFrame` picks a strategy and
// builds the bytes to write, so a saved frame can be regenerated exactly (`--indexes`).
//
// Strategies:
// - bitflip / byteset / insert / delete / truncate / splice: byte-level mutations of a captured client request,
//   re-prefixed with its new length (the request header is left intact 80% of the time so mutations get past
//   dispatch into the handlers).
// - structure: the captured request decoded with the generated codec, field values replaced by extremes (int
//   bounds, empty/huge/odd strings, emptied or multiplied arrays, hostile record batches), re-encoded.
// - batch: a well-formed Produce request whose record batch has a valid CRC-32C and hostile contents
//   (hostile-batch.ts), aimed at the harness's own topics (plain, compacted, LogAppendTime).
// - size: size-prefix abuse on a fresh connection: huge declared sizes, 0, negative, sizes that disagree with
//   the body, a valid frame trickled a few bytes at a time (bounded to about a second), pipelined floods.
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { requestHeaderVersion, writeRequestHeader } from '../../src/protocol/header.js';
import { Writer } from '../../src/protocol/writer.js';
import type { CorpusFrame } from './corpus.js';
import { sizePrefixed } from './corpus.js';
import { hostileBatch, validBatch } from './hostile-batch.js';
import { frameRng, type Rng } from './rng.js';

export const STRATEGIES = ['bitflip', 'byteset', 'insert', 'delete', 'truncate', 'splice', 'structure', 'batch', 'size'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Cumulative weights (out of 100) of STRATEGIES, in order. */
const WEIGHTS: Record<Strategy, number> = { bitflip: 14, byteset: 9, insert: 7, delete: 7, truncate: 6, splice: 4, structure: 22, batch: 23, size: 8 };

export interface FuzzTopics {
  /** Topic names the batch strategy produces to (created by the harness before the run). */
  names: string[];
  partitions: number;
}

export interface GeneratedFrame {
  index: number;
  strategy: Strategy;
  /** Human-readable description: the seed frame and what was changed. */
  detail: string;
  /** Bytes to write, in order; with `delayMs` > 0 they are written that many ms apart. */
  chunks: Buffer[];
  delayMs: number;
  /** Write on a new connection and close it afterwards (size abuse), instead of a worker's reused one. */
  fresh: boolean;
}

const INTERESTING_BYTES = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];

function pickStrategy(rng: Rng): Strategy {
  let roll = rng.next() * 100;
  for (const s of STRATEGIES) {
    roll -= WEIGHTS[s];
    if (roll < 0) return s;
  }
  return 'bitflip';
}

function mutableFrom(frame: CorpusFrame, rng: Rng): number {
  return rng.chance(0.8) ? Math.min(frame.headerLength, frame.body.length) : 0;
}

function at(rng: Rng, from: number, length: number): number {
  return from + rng.int(Math.max(1, length - from));
}

function byteMutation(strategy: Strategy, frame: CorpusFrame, other: CorpusFrame, rng: Rng): { body: Buffer; detail: string } {
  const from = mutableFrom(frame, rng);
  const src = frame.body;
  switch (strategy) {
    case 'bitflip': {
      const body = Buffer.from(src);
      const flips = rng.range(1, 8);
      for (let i = 0; i < flips; i++) {
        const pos = at(rng, from, body.length);
        if (pos < body.length) body[pos]! ^= 1 << rng.int(8);
      }
      return { body, detail: `${flips} bit flips after byte ${from}` };
    }
    case 'byteset': {
      const body = Buffer.from(src);
      const sets = rng.range(1, 6);
      for (let i = 0; i < sets; i++) {
        const pos = at(rng, from, body.length);
        // Sometimes a whole int16/int32 worth of 0xff/0x7f/0x80 (counts, lengths, sizes become -1 / huge).
        const width = rng.pick([1, 1, 2, 4]);
        const value = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
        for (let k = 0; k < width && pos + k < body.length; k++) body[pos + k] = value;
      }
      return { body, detail: `${sets} byte sets after byte ${from}` };
    }
    case 'insert': {
      const pos = at(rng, from, src.length + 1);
      const bytes = rng.chance(0.5) ? rng.bytes(rng.range(1, 16)) : Buffer.alloc(rng.range(1, 64), rng.pick(INTERESTING_BYTES));
      return { body: Buffer.concat([src.subarray(0, pos), bytes, src.subarray(pos)]), detail: `insert ${bytes.length} bytes at ${pos}` };
    }
    case 'delete': {
      const pos = at(rng, from, src.length);
      const count = Math.min(src.length - pos, rng.range(1, 32));
      return { body: Buffer.concat([src.subarray(0, pos), src.subarray(pos + count)]), detail: `delete ${count} bytes at ${pos}` };
    }
    case 'truncate': {
      const keep = rng.int(src.length);
      return { body: Buffer.from(src.subarray(0, keep)), detail: `truncate to ${keep} of ${src.length} bytes` };
    }
    default: {
      // splice: this frame's front with another frame's back (same or different API).
      const cut = at(rng, from, src.length);
      const cut2 = rng.int(other.body.length);
      return { body: Buffer.concat([src.subarray(0, cut), other.body.subarray(cut2)]), detail: `splice ${cut} bytes + ${other.file}[${cut2}..]` };
    }
  }
}

// --- structure-aware -----------------------------------------------------------------------------------------

const NUMBERS = [-1, 0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, -0x8000, 0xffff, 0x7fffffff, -0x80000000, 100_000, 1_000_000, 65_536];
const BIGINTS = [-1n, 0n, 1n, -2n, -3n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x7ffffffffffffffen, 2n ** 53n + 1n, 2n ** 32n];
const STRINGS = ['', 'a', '.', '..', 'x'.repeat(249), 'x'.repeat(250), 'y'.repeat(3000), '__consumer_offsets', 'fuzz-plain', 'a/b', 'é€😀', '\u0000', ' '];

/** The harness's own topics stay out of DeleteTopics (the run checks they survive). */
const DELETE_SAFE_STRINGS = STRINGS.filter((v) => !v.startsWith('fuzz-'));

function hostileValue(value: unknown, rng: Rng, strings: readonly string[]): unknown {
  if (Buffer.isBuffer(value)) {
    if (rng.chance(0.6)) return value;
    if (value.length === 16) return rng.chance(0.5) ? Buffer.alloc(16) : rng.bytes(16);
    // A bytes/records field: a hostile batch, a valid one, random bytes or nothing.
    const roll = rng.int(4);
    if (roll === 0) return hostileBatch(rng).bytes;
    if (roll === 1) return validBatch(rng);
    if (roll === 2) return rng.bytes(rng.int(128));
    return Buffer.alloc(0);
  }
  if (value === null) return rng.chance(0.8) ? null : rng.pick(['', 0, []]);
  if (Array.isArray(value)) {
    let arr = value;
    if (rng.chance(0.2)) {
      const roll = rng.int(4);
      if (roll === 0) arr = [];
      else if (roll === 1) arr = [...value, ...value];
      else if (roll === 2 && value.length > 0) arr = Array.from({ length: rng.pick([50, 200, 1000]) }, () => value[rng.int(value.length)]);
      else if (rng.chance(0.5)) return null;
    }
    return arr.map((v) => hostileValue(v, rng, strings));
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = hostileValue(v, rng, strings);
    return out;
  }
  if (rng.chance(0.75)) return value;
  if (typeof value === 'number') return rng.chance(0.85) ? rng.pick(NUMBERS) : rng.int(0x100000000) - 0x80000000;
  if (typeof value === 'bigint') return rng.pick(BIGINTS);
  if (typeof value === 'string') return rng.chance(0.8) ? rng.pick(strings) : value + rng.bytes(3).toString('latin1');
  if (typeof value === 'boolean') return !value;
  return value;
}

function encodeRequest(apiKey: number, apiVersion: number, body: unknown, correlationId: number, clientId: string | null): Buffer {
  const codec = API_CODECS.get(apiKey)!;
  const w = new Writer();
  writeRequestHeader(w, { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId }, requestHeaderVersion(apiKey, apiVersion));
  codec.writeRequest(w, apiVersion, body);
  return w.toBuffer();
}

function structureMutation(frame: CorpusFrame, rng: Rng): { body: Buffer; detail: string } | null {
  if (frame.decoded === null) return null;
  for (let attempt = 0; attempt < 4; attempt++) {
    const mutated = hostileValue(frame.decoded, rng, frame.apiKey === ApiKey.DeleteTopics ? DELETE_SAFE_STRINGS : STRINGS);
    try {
      return { body: encodeRequest(frame.apiKey, frame.apiVersion, mutated, rng.int(0x7fffffff), frame.clientId), detail: `fields mutated (attempt ${attempt + 1})` };
    } catch {
      // A value this version cannot encode (e.g. an int8 out of range, a null in a non-nullable field): retry.
    }
  }
  return null;
}

// --- hostile batches in valid Produce requests ---------------------------------------------------------------

const PRODUCE_VERSIONS = [3, 5, 7, 8, 9, 10, 11];

function batchProduce(topics: FuzzTopics, rng: Rng): { body: Buffer; detail: string } {
  const version = rng.pick(PRODUCE_VERSIONS);
  const details: string[] = [];
  const partitionData = [];
  const partitions = rng.chance(0.85) ? 1 : rng.range(2, 4);
  for (let p = 0; p < partitions; p++) {
    const batches: Buffer[] = [];
    const count = rng.chance(0.9) ? 1 : rng.range(2, 3);
    for (let b = 0; b < count; b++) {
      if (b > 0 && rng.chance(0.5)) {
        batches.push(validBatch(rng));
        continue;
      }
      const batch = hostileBatch(rng);
      batches.push(batch.bytes);
      details.push(batch.mutations.join(',') || 'valid');
    }
    // A partition index past the topic's end now and then (UNKNOWN_TOPIC_OR_PARTITION path).
    const index = rng.chance(0.95) ? rng.int(topics.partitions) : rng.pick([topics.partitions, -1, 0x7fffffff]);
    partitionData.push({ index, records: Buffer.concat(batches) });
  }
  const topic = rng.pick(topics.names);
  const acks = rng.pick([-1, -1, 1, 1, 0]);
  const request = { transactionalId: null, acks, timeoutMs: rng.pick([0, 100, 1000, 30000]), topicData: [{ name: topic, partitionData }] };
  return {
    body: encodeRequest(ApiKey.Produce, version, request, rng.int(0x7fffffff), 'eddy-fuzz'),
    detail: `Produce v${version} acks=${acks} to ${topic}: ${details.join(' | ')}`,
  };
}

// --- size-prefix abuse ---------------------------------------------------------------------------------------

function sizeAbuse(frame: CorpusFrame, rng: Rng): { chunks: Buffer[]; delayMs: number; detail: string } {
  const body = frame.body;
  const int32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v | 0, 0);
    return b;
  };
  switch (rng.int(8)) {
    case 0: {
      // A huge declared size, then a few bytes trickled (bounded: at most ~1 s), then close.
      const declared = rng.pick([100 * 1024 * 1024, 104857600, 104857601, 0x7fffffff, 0x7ffffff0, 50 * 1024 * 1024, 1 << 24]);
      const pieces = rng.range(1, 10);
      return { chunks: [int32(declared), ...Array.from({ length: pieces }, () => rng.bytes(rng.range(1, 64)))], delayMs: rng.range(10, 100), detail: `declared ${declared}, ${pieces} trickled pieces` };
    }
    case 1:
      return { chunks: [int32(0), ...(rng.chance(0.5) ? [sizePrefixed(body)] : [])], delayMs: 0, detail: 'size 0' };
    case 2: {
      const declared = rng.pick([-1, -0x80000000, -4, -rng.range(1, 0x7fffffff)]);
      return { chunks: [int32(declared), body], delayMs: 0, detail: `negative size ${declared}` };
    }
    case 3: {
      // Declared size smaller or larger than the body, so the rest (or the next frame) is framed wrongly.
      const declared = Math.max(1, body.length + rng.pick([-1, -4, -8, 1, 4, 8, rng.range(-body.length + 1, 64)]));
      return { chunks: [sizePrefixed(body, declared), sizePrefixed(body)], delayMs: 0, detail: `declared ${declared} for a ${body.length}-byte body` };
    }
    case 4: {
      // A valid frame trickled a few bytes at a time: must still be answered (or cut off by a read timeout).
      const whole = sizePrefixed(body);
      const step = Math.max(1, Math.ceil(whole.length / 40));
      const chunks: Buffer[] = [];
      for (let i = 0; i < whole.length; i += step) chunks.push(whole.subarray(i, i + step));
      return { chunks, delayMs: rng.range(2, 20), detail: `trickle ${whole.length} bytes in ${chunks.length} writes` };
    }
    case 5: {
      // The size prefix itself split across writes.
      const whole = sizePrefixed(body);
      const cut = rng.range(1, 3);
      return { chunks: [whole.subarray(0, cut), whole.subarray(cut)], delayMs: rng.range(1, 50), detail: `size prefix split at ${cut}` };
    }
    case 6: {
      // A pipelined flood of the same request.
      const copies = rng.pick([20, 100, 300]);
      const whole = sizePrefixed(body);
      return { chunks: [Buffer.concat(Array.from({ length: copies }, () => whole))], delayMs: 0, detail: `${copies} pipelined copies` };
    }
    default: {
      // Declared size just over the broker's socket.request.max.bytes, body follows for a while.
      const declared = 104857600 + rng.range(1, 1024);
      return { chunks: [int32(declared), rng.bytes(rng.range(1, 4096))], delayMs: 0, detail: `declared ${declared} (over socket.request.max.bytes)` };
    }
  }
}

/** Frame `index` of the run seeded with `seed`. */
export function generateFrame(seed: number, index: number, corpus: readonly CorpusFrame[], topics: FuzzTopics): GeneratedFrame {
  const rng = frameRng(seed, index);
  let strategy = pickStrategy(rng);
  const frame = rng.pick(corpus);
  const base = `${frame.file} (${frame.client})`;
  if (strategy === 'size') {
    const s = sizeAbuse(frame, rng);
    return { index, strategy, detail: `${base}: ${s.detail}`, chunks: s.chunks, delayMs: s.delayMs, fresh: true };
  }
  if (strategy === 'batch') {
    const b = batchProduce(topics, rng);
    return { index, strategy, detail: b.detail, chunks: [sizePrefixed(b.body)], delayMs: 0, fresh: false };
  }
  if (strategy === 'structure') {
    const s = structureMutation(frame, rng);
    if (s !== null) return { index, strategy, detail: `${base}: ${s.detail}`, chunks: [sizePrefixed(s.body)], delayMs: 0, fresh: false };
    strategy = 'bitflip'; // a version the codec cannot re-encode: fall back to bytes
  }
  const m = byteMutation(strategy, frame, rng.pick(corpus), rng);
  return { index, strategy, detail: `${base}: ${m.detail}`, chunks: [sizePrefixed(m.body)], delayMs: 0, fresh: false };
}
