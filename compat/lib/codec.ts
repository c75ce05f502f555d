/**
 * Clients can silently send uncompressed batches: librdkafka enables a codec only when the broker's advertised
 * API versions allow it (lz4 needs FindCoordinator v0, zstd Produce 7 + Fetch 10) and also skips compression
 * for a batch that doesn't shrink. The broker stores batches as received, so the data dir shows what a client
 * really sent.
 */
import { expect } from 'vitest';
import { COMPRESSION_CODES, partitionBatches } from '../../test/e2e/support/segments.js';

/** Every stored batch is magic 2 and uses `codec` or none; at least one batch per non-empty partition uses `codec`. */
export function expectStoredWithCodec(dataDir: string, topic: string, partitions: number, codec: string): void {
  const code = COMPRESSION_CODES[codec];
  if (code === undefined) throw new Error(`unknown codec ${codec}`);
  for (let partition = 0; partition < partitions; partition++) {
    const batches = partitionBatches(dataDir, topic, partition);
    if (batches.length === 0) continue;
    expect([...new Set(batches.map((b) => b.magic))], `${topic}-${partition} magic`).toEqual([2]);
    const codecs = batches.map((b) => b.compression);
    expect(codecs.filter((c) => c !== 0 && c !== code), `${topic}-${partition} batch codecs`).toEqual([]);
    if (code !== 0) {
      expect(
        codecs.filter((c) => c === code).length,
        `${topic}-${partition}: no batch stored with ${codec} (codecs ${codecs.slice(0, 40).join(',')})`,
      ).toBeGreaterThan(0);
    }
  }
}
