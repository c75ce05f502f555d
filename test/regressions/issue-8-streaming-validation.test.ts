// Issue 8, "Record validation on produce ... for compressed batches by streaming decompression", and the fuzz RSS
// goal: produce validation decompressed a compressed batch whole (up to the 128 MiB cap) before walking its
// records, so one gzip bomb left ~120 MiB of RSS behind (RELIABILITY.md, "Where the RSS goes"). Now the records are
// decompressed in bounded pieces and walked as they come (log/log-validator.ts, RecordStream in
// protocol/records/record-walker.ts). This file checks that: bombs of every codec are still refused with the code
// and message of before; a broker process's RSS stays bounded across bombs; a record cut by a piece boundary at any
// byte (a varint split included) is read exactly as when the batch was decompressed whole; and a malformed record
// deep in a compressed batch is still INVALID_RECORD.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { KafkaError } from '../../src/errors.js';
import { validateAndSummarize } from '../../src/log/log-validator.js';
import { DEFAULT_LOG_CONFIG } from '../../src/log/log-config.js';
import { validateProducedRecords } from '../../src/protocol/records/batch.js';
import { MAX_DECOMPRESSED_BYTES, decompressRecordStream } from '../../src/protocol/records/compression.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { spawnBroker, type SpawnedBroker } from '../helpers/spawn-broker.js';
import { buildRecordBatch, encodeVarint, fixCrc, type BuildRecord } from '../protocol/records/batch-builder.js';
import { compressPayload, lz4Frame, withRecordsPayload, xerialSnappy } from '../protocol/records/compressed-batch.js';

type Codec = 'gzip' | 'snappy' | 'snappy-xerial' | 'lz4' | 'zstd';
const CODEC_IDS: Record<Codec, number> = { gzip: 1, snappy: 2, 'snappy-xerial': 2, lz4: 3, zstd: 4 };
const CODEC_NAMES: Record<Codec, string> = { gzip: 'gzip', snappy: 'snappy', 'snappy-xerial': 'snappy', lz4: 'lz4', zstd: 'zstd' };
/** The piece each codec hands the walker (compression.ts, decompressRecordStream), for the encoders used here. */
const PIECE_BYTES: Partial<Record<Codec, number>> = { gzip: 65536, 'snappy-xerial': 32768, lz4: 65536, zstd: 131072 };
const CODECS: Codec[] = ['gzip', 'snappy', 'snappy-xerial', 'lz4', 'zstd'];

async function compress(codec: Codec, raw: Buffer): Promise<Buffer> {
  switch (codec) {
    case 'gzip':
      return gzipSync(raw);
    case 'snappy':
      return compressPayload('snappy', raw);
    case 'snappy-xerial':
      return xerialSnappy(raw, 32768);
    case 'lz4':
      return lz4Frame(raw, 65536, false);
    case 'zstd':
      return await zstdCompress(raw, 3);
  }
}

const NOW = Date.now();

function plainBatch(records: BuildRecord[]): Buffer {
  return Buffer.from(buildRecordBatch({ baseTimestamp: BigInt(NOW), records }));
}

async function compressedBatch(codec: Codec, plain: Buffer): Promise<Buffer> {
  return withRecordsPayload(plain, CODEC_IDS[codec], await compress(codec, plain.subarray(61)));
}

/** validateAndSummarize's outcome: the summary, or the refusal's code and message. */
function outcome(batch: Buffer): unknown {
  try {
    const header = validateProducedRecords(batch, 64 << 20);
    return validateAndSummarize(batch, header, DEFAULT_LOG_CONFIG, 't', 0, NOW);
  } catch (err) {
    if (err instanceof KafkaError) return { code: err.errorCode, message: err.message };
    throw err;
  }
}

// ---- bombs ------------------------------------------------------------------------------------------------------

const SIXTEEN_MIB = 16 * 1024 * 1024;

/** A compressed payload inflating past the 128 MiB cap (zeros: the records are malformed from the first byte). */
async function bomb(codec: Codec): Promise<Buffer> {
  switch (codec) {
    case 'gzip': // 9 concatenated gzip members of 16 MiB: 144 MiB from ~150 KB
      return Buffer.concat(Array.from({ length: 9 }, () => gzipSync(Buffer.alloc(SIXTEEN_MIB), { level: 9 })));
    case 'zstd': // 9 concatenated zstd frames of 16 MiB (2 MiB windows)
      return Buffer.concat(await Promise.all(Array.from({ length: 9 }, () => zstdCompress(Buffer.alloc(SIXTEEN_MIB), 3))));
    case 'lz4': {
      // One frame of 33 identical 4 MiB blocks: 132 MiB from ~540 KB.
      const one = lz4Frame(Buffer.alloc(4 * 1024 * 1024), 4194304, false);
      const block = one.subarray(7, one.length - 4);
      return Buffer.concat([one.subarray(0, 7), ...Array.from({ length: 33 }, () => block), Buffer.alloc(4)]);
    }
    case 'snappy-xerial': {
      // 4,200 chunks of 32 KiB of zeros (snappy expands ~21x at most: ~6.5 MB for 131 MiB).
      const framed = xerialSnappy(Buffer.alloc(32768), 32768);
      const chunk = framed.subarray(16);
      return Buffer.concat([framed.subarray(0, 16), ...Array.from({ length: 4200 }, () => chunk)]);
    }
    case 'snappy': {
      // A raw block declaring 130 MiB (its length is an unsigned varint), then one literal byte: refused from its
      // length, before anything is decoded (raw snappy is decoded whole; compression.ts says why).
      const bytes: number[] = [];
      for (let n = 130 * 1024 * 1024; ; n = Math.floor(n / 128)) {
        if (n < 0x80) {
          bytes.push(n);
          break;
        }
        bytes.push((n & 0x7f) | 0x80);
      }
      return Buffer.from([...bytes, 0x00, 0x61]);
    }
  }
}

async function bombBatch(codec: Codec): Promise<Buffer> {
  return withRecordsPayload(plainBatch([{ value: 'x' }]), CODEC_IDS[codec], await bomb(codec));
}

const TOO_LARGE = (codec: Codec) => `${CODEC_NAMES[codec]} records decompress to more than ${MAX_DECOMPRESSED_BYTES} bytes`;

// ---- a broker ---------------------------------------------------------------------------------------------------

let tb: TestBroker | undefined;
let spawned: SpawnedBroker | undefined;
let client: TestClient | undefined;
afterEach(async () => {
  client?.close();
  await tb?.stop();
  await spawned?.stop();
  tb = undefined;
  spawned = undefined;
  client = undefined;
});

async function createTopic(c: TestClient, name: string): Promise<void> {
  const res = await c.send(ApiKey.CreateTopics, 4, {
    topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [{ name: 'max.message.bytes', value: String(16 << 20) }] }],
  });
  expect([res.topics[0].errorCode, res.topics[0].errorMessage]).toEqual([0, null]);
}

async function produce(c: TestClient, topic: string, batch: Buffer): Promise<{ errorCode: number; errorMessage: string | null }> {
  const res = await c.send(ApiKey.Produce, 9, { acks: 1, timeoutMs: 30_000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  return res.responses[0].partitionResponses[0];
}

function vmRssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line!.replace(/\D+/g, ''));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('issue 8: compressed batches are validated as a stream', () => {
  it('a decompression bomb of every codec is refused with INVALID_RECORD and the cap message, as before', async () => {
    tb = await startTestBroker({ autoCreateTopics: false });
    client = await TestClient.connect(tb.port);
    await createTopic(client, 'bombs');
    for (const codec of CODECS) {
      const batch = await bombBatch(codec);
      expect(batch.length).toBeLessThan(16 << 20);
      expect(await produce(client, 'bombs', batch)).toMatchObject({ errorCode: ErrorCode.INVALID_RECORD, errorMessage: TOO_LARGE(codec) });
    }
    // And the partition still takes a good compressed batch.
    const good = await compressedBatch('gzip', plainBatch([{ key: 'k', value: 'after the bombs' }]));
    expect(await produce(client, 'bombs', good)).toMatchObject({ errorCode: ErrorCode.NONE });
  }, 60_000);

  it('a broker process refusing bombs keeps its RSS bounded: 12 gzip/snappy/lz4 bombs within 64 MiB, 3 zstd bombs 96 MiB more (VmRSS)', async () => {
    spawned = await spawnBroker({ extraArgs: ['--auto-create-topics', 'false'], logLevel: 'warn' });
    client = await TestClient.connect(spawned.port);
    await createTopic(client, 'rss');
    const pid = spawned.process.pid!;
    // Warm-up: good batches of every codec (code loaded, buffers and JIT settled), ~1 MB of records each.
    const records = Array.from({ length: 8000 }, (_, i) => ({ key: `key-${i % 100}`, value: `{"id":${i},"s":"ok"}`.padEnd(120, ' '), timestampDelta: i }));
    const goods = await Promise.all(CODECS.map((codec) => compressedBatch(codec, plainBatch(records))));
    for (let round = 0; round < 4; round++) {
      for (const good of goods) expect((await produce(client, 'rss', good)).errorCode).toBe(ErrorCode.NONE);
    }
    const streamed: Codec[] = ['gzip', 'snappy', 'snappy-xerial', 'lz4'];
    const bombs = await Promise.all(streamed.map(bombBatch));
    const zstdBomb = await bombBatch('zstd');
    await sleep(1000);
    const start = vmRssKiB(pid);
    for (let round = 0; round < 3; round++) {
      for (const bomb of bombs) expect((await produce(client, 'rss', bomb)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    }
    await sleep(1000);
    const afterStreamed = vmRssKiB(pid);
    // Before streaming, one gzip bomb alone left ~120 MiB behind (15 of one codec: 121-219 MiB).
    const report = () => `VmRSS ${(start / 1024).toFixed(1)} -> ${(afterStreamed / 1024).toFixed(1)} MiB after the gzip/snappy/lz4 bombs`;
    expect((afterStreamed - start) / 1024, report()).toBeLessThan(64);
    // zstd: pieces of one block, but fzstd allocates each block afresh (compression.ts), so its garbage is
    // freed when V8 collects it, after the heap has grown; bounded, not streamed to a fixed window.
    for (let round = 0; round < 3; round++) expect((await produce(client, 'rss', zstdBomb)).errorCode).toBe(ErrorCode.INVALID_RECORD);
    await sleep(1000);
    const afterZstd = vmRssKiB(pid);
    expect((afterZstd - afterStreamed) / 1024, `${report()}, ${(afterZstd / 1024).toFixed(1)} MiB after the zstd bombs`).toBeLessThan(96);
    expect((await produce(client, 'rss', goods[0]!)).errorCode).toBe(ErrorCode.NONE);
  }, 120_000);

  it.each(CODECS)('%s: a record cut by a piece boundary at any byte reads as in the whole records, well-formed or not', async (codec) => {
    const piece = PIECE_BYTES[codec];
    // The record that the boundary cuts: 2-byte length varint, 6-byte timestamp varlong, key, value and a header.
    const target: BuildRecord = { key: 'target-key', value: 'v'.repeat(90), headers: [{ key: 'h1', value: 'header-value' }], timestampDelta: 2 ** 35 };
    const targetLength = plainBatch([target]).length - 61;
    const boundary = piece ?? 65536; // raw snappy is not streamed: one piece, the same check
    const trailer: BuildRecord[] = [{ key: 'after', value: 'the boundary', timestampDelta: 1 }];
    for (let cut = 0; cut <= targetLength; cut++) {
      // A filler record sized so that the target starts `cut` bytes before the boundary.
      let fillerValue = boundary - cut - 12;
      for (let tries = 0; tries < 8; tries++) {
        const size = plainBatch([{ key: 'f', value: 'x'.repeat(fillerValue) }]).length - 61;
        if (size === boundary - cut) break;
        fillerValue += boundary - cut - size;
      }
      const filler: BuildRecord = { key: 'f', value: 'x'.repeat(fillerValue) };
      expect(plainBatch([filler]).length - 61, 'the filler ends where the target must start').toBe(boundary - cut);
      const good = plainBatch([filler, { ...target, offsetDelta: 1 }, ...trailer.map((r) => ({ ...r, offsetDelta: 2 }))]);
      const badOffset = plainBatch([filler, { ...target, offsetDelta: 7 }, ...trailer.map((r) => ({ ...r, offsetDelta: 2 }))]);
      // The target's length varint raised to 5000 (still 2 bytes): "expected 5000 bytes ... only M remaining".
      const badLength = Buffer.from(good);
      badLength.set(encodeVarint(5000), 61 + boundary - cut);
      fixCrc(badLength);
      const cases = cut % 4 === 0 ? [good, badOffset, badLength] : [good, badOffset];
      for (const plain of cases) {
        const batch = await compressedBatch(codec, plain);
        if (piece !== undefined && cut === 0) {
          const pieces: number[] = [];
          decompressRecordStream(CODEC_IDS[codec], batch.subarray(61), (p) => pieces.push(p.length));
          expect(pieces[0], 'the encoder puts the first piece boundary where the test expects it').toBe(piece);
        }
        const expected = outcome(plain);
        expect(outcome(batch), `cut ${cut}`).toEqual(expected);
      }
      expect(outcome(good)).toMatchObject({ maxTimestamp: BigInt(NOW) + 2n ** 35n, offsetOfMaxTimestampDelta: 1 });
      expect(outcome(badOffset)).toMatchObject({ code: ErrorCode.INVALID_RECORD });
    }
  }, 120_000);

  it('a malformed record deep in a compressed batch (record 4000 of 5000) is INVALID_RECORD through Produce, every codec', async () => {
    tb = await startTestBroker({ autoCreateTopics: false });
    client = await TestClient.connect(tb.port);
    await createTopic(client, 'deep');
    const records = Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, value: `value-${i}`.padEnd(100, '.'), timestampDelta: i, ...(i === 4000 ? { offsetDelta: 4321 } : {}) }));
    const plain = plainBatch(records);
    expect(plain.length).toBeGreaterThan(5 * 65536);
    for (const codec of CODECS) {
      const res = await produce(client, 'deep', await compressedBatch(codec, plain));
      expect(res.errorCode, codec).toBe(ErrorCode.INVALID_RECORD);
      expect(res.errorMessage).toBe(
        "Record 4000 has offset delta 4321: the offset deltas of a batch's records must be 0, 1, 2, ... (record 4000 of the batch in topic partition deep-0)",
      );
    }
  }, 60_000);
});
