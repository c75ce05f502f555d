/**
 * Checks, from a partition's .log files (read independently of the broker's code), that an idempotent producer's
 * batches were stored as Kafka stores them: every batch carries a producer id and epoch, and per (producer id,
 * epoch) the sequences start at 0 and have no gap and no repeat (each batch's baseSequence is the previous
 * batch's baseSequence + its record count).
 */
import { readFileSync } from 'node:fs';
import { scanBatches, segmentFiles } from './segments.js';

export interface StoredProducerBatch {
  baseOffset: number;
  producerId: bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export interface ProducerBatchReport {
  problems: string[];
  batches: number;
  records: number;
  /** "producerId/epoch" of every producer seen, in order of first appearance. */
  producers: string[];
}

export function storedProducerBatches(dataDir: string, topic: string, partition: number): StoredProducerBatch[] {
  const out: StoredProducerBatch[] = [];
  for (const file of segmentFiles(dataDir, topic, partition)) {
    const bytes = readFileSync(file);
    for (const b of scanBatches(bytes)) {
      out.push({
        baseOffset: b.baseOffset,
        producerId: bytes.readBigInt64BE(b.position + 43),
        producerEpoch: bytes.readInt16BE(b.position + 51),
        baseSequence: bytes.readInt32BE(b.position + 53),
        recordCount: bytes.readInt32BE(b.position + 57),
      });
    }
  }
  return out;
}

export function checkIdempotentBatches(dataDir: string, topic: string, partition: number): ProducerBatchReport {
  const batches = storedProducerBatches(dataDir, topic, partition);
  const problems: string[] = [];
  const nextSequence = new Map<string, number>();
  let records = 0;
  let expectedOffset = 0;
  for (const b of batches) {
    records += b.recordCount;
    if (b.baseOffset !== expectedOffset && problems.length < 5) problems.push(`${topic}-${partition}: batch at ${b.baseOffset}, expected ${expectedOffset}`);
    expectedOffset = b.baseOffset + b.recordCount;
    if (b.producerId < 0n || b.producerEpoch < 0) {
      if (problems.length < 5) problems.push(`${topic}-${partition}@${b.baseOffset}: no producer id (${b.producerId}/${b.producerEpoch})`);
      continue;
    }
    const key = `${b.producerId}/${b.producerEpoch}`;
    const want = nextSequence.get(key) ?? 0;
    if (b.baseSequence !== want && problems.length < 5) {
      problems.push(`${topic}-${partition}@${b.baseOffset}: producer ${key} baseSequence ${b.baseSequence}, expected ${want}`);
    }
    nextSequence.set(key, b.baseSequence + b.recordCount);
  }
  return { problems, batches: batches.length, records, producers: [...nextSequence.keys()] };
}
