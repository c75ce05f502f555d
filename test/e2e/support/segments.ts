/**
 * Reads the broker's on-disk log the way Kafka lays it out (`<dataDir>/<topic>-<partition>/<20-digit base
 * offset>.log`, a sequence of record batches), independently of the broker's code: for tests that damage a
 * segment on purpose or check what was stored.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One record batch header found in a .log file. */
export interface BatchPosition {
  position: number;
  /** 12 + batchLength. */
  size: number;
  baseOffset: number;
  lastOffset: number;
  magic: number;
  /** attributes & 0x07: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
  compression: number;
}

export const COMPRESSION_CODES: Record<string, number> = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

/** Walks the segment framing: baseOffset int64, batchLength int32, then batchLength bytes; stops at a torn tail. */
export function scanBatches(file: Buffer): BatchPosition[] {
  const batches: BatchPosition[] = [];
  let position = 0;
  while (position + 61 <= file.length) {
    const baseOffset = Number(file.readBigInt64BE(position));
    const batchLength = file.readInt32BE(position + 8);
    const size = 12 + batchLength;
    if (batchLength < 49 || position + size > file.length) break;
    batches.push({
      position,
      size,
      baseOffset,
      lastOffset: baseOffset + file.readInt32BE(position + 23),
      magic: file.readInt8(position + 16),
      compression: file.readInt16BE(position + 21) & 0x07,
    });
    position += size;
  }
  return batches;
}

/** The .log segment files of one partition, oldest first. */
export function segmentFiles(dataDir: string, topic: string, partition: number): string[] {
  const dir = join(dataDir, `${topic}-${partition}`);
  if (!existsSync(dir)) throw new Error(`no partition directory ${dir}; data dir has: ${readdirSync(dataDir).join(', ')}`);
  return readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export function activeSegment(dataDir: string, topic: string, partition: number): string {
  const files = segmentFiles(dataDir, topic, partition);
  const last = files[files.length - 1];
  if (last === undefined) throw new Error(`no .log segment for ${topic}-${partition} in ${dataDir}`);
  return last;
}

/** Every batch of a partition across its segments. */
export function partitionBatches(dataDir: string, topic: string, partition: number): BatchPosition[] {
  return segmentFiles(dataDir, topic, partition).flatMap((file) => scanBatches(readFileSync(file)));
}
