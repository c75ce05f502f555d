// Issue 8, defect 3: a full disk took partitions offline until restart, and a broker could not start at all on a
// full disk. On a real, small tmpfs data dir: writes fail with KAFKA_STORAGE_ERROR while the disk is full, reads
// and Metadata keep working, the partition comes back by itself once space is freed (no restart, nothing
// acknowledged lost, offsets continuing), shutdown on a full disk completes, and the broker starts on a full disk
// and serves what it holds. Mounting a tmpfs needs root, as CI runs.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { fillDisk, useSmallTmpfs } from '../helpers/small-tmpfs.js';

const tmpfs = useSmallTmpfs('eddy-full-');

async function produce(c: TestClient, tag: string): Promise<{ errorCode: number; baseOffset: bigint }> {
  const batch = Buffer.from(buildRecordBatch({ baseTimestamp: BigInt(Date.now()), records: [{ key: tag, value: Buffer.alloc(60 * 1024, 7) }] }));
  const res = await c.send(ApiKey.Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: 'full', partitionData: [{ index: 0, records: batch }] }] });
  return res.responses[0].partitionResponses[0];
}

async function fetchedRecordCount(c: TestClient): Promise<{ errorCode: number; highWatermark: bigint; batches: number }> {
  let offset = 0n;
  let batches = 0;
  for (let i = 0; i < 1000; i++) {
    const res = await c.send(ApiKey.Fetch, 11, {
      maxWaitMs: 0, minBytes: 0, maxBytes: 1 << 20, isolationLevel: 0,
      topics: [{ topic: 'full', partitions: [{ partition: 0, fetchOffset: offset, partitionMaxBytes: 1 << 20, currentLeaderEpoch: -1, logStartOffset: -1n, lastFetchedEpoch: -1 }] }],
      forgottenTopicsData: [], rackId: '',
    });
    const p = res.responses[0].partitions[0];
    if (p.errorCode !== 0) return { errorCode: p.errorCode, highWatermark: p.highWatermark, batches };
    if (p.records.length === 0 || offset >= p.highWatermark) return { errorCode: 0, highWatermark: p.highWatermark, batches };
    // Walk the whole batches returned: baseOffset (8) + batchLength (4) + ... + lastOffsetDelta at 23.
    let pos = 0;
    while (pos + 61 <= p.records.length) {
      const size = 12 + p.records.readInt32BE(pos + 8);
      if (pos + size > p.records.length) break;
      offset = p.records.readBigInt64BE(pos) + BigInt(p.records.readInt32BE(pos + 23)) + 1n;
      batches++;
      pos += size;
    }
  }
  throw new Error('fetch did not reach the high watermark');
}

describe('issue 8: a full disk', () => {
  it('fails writes cleanly, keeps serving, recovers by itself, shuts down, and starts on a full disk', async () => {
    const dataDir = path.join(tmpfs.dir(), 'data');
    const filler = path.join(tmpfs.dir(), 'filler');
    writeFileSync(filler, Buffer.alloc(5 * 1024 * 1024));
    let tb: TestBroker = await startTestBroker({ dataDir });
    let c = await TestClient.connect(tb.port);
    try {
      const created = await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 'full', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }] });
      expect(created.topics[0].errorCode).toBe(0);

      // Produce until the disk is full.
      let acked = 0;
      let failure: number | undefined;
      for (let i = 0; i < 400 && failure === undefined; i++) {
        const r = await produce(c, `a${i}`);
        if (r.errorCode === 0) {
          expect(r.baseOffset).toBe(BigInt(acked));
          acked++;
        } else failure = r.errorCode;
      }
      expect(failure).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
      expect(acked).toBeGreaterThan(10);

      // Still serving: Metadata, and every acknowledged record.
      const md = await c.send(ApiKey.Metadata, 9, { topics: [{ name: 'full' }] });
      expect(md.topics[0].errorCode).toBe(0);
      expect(await fetchedRecordCount(c)).toEqual({ errorCode: 0, highWatermark: BigInt(acked), batches: acked });

      // Space comes back: the partition takes writes again without a restart, right after the last acked offset.
      rmSync(filler);
      let resumed: { errorCode: number; baseOffset: bigint } | undefined;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const r = await produce(c, 'after');
        if (r.errorCode === 0) {
          resumed = r;
          break;
        }
        expect(r.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(resumed?.baseOffset).toBe(BigInt(acked));
      acked++;

      // Full again, then a shutdown on the full disk completes.
      fillDisk(filler);
      c.close();
      await tb.stop({ keepData: true });

      // And the broker starts on the full disk and serves everything it acknowledged.
      tb = await startTestBroker({ dataDir });
      c = await TestClient.connect(tb.port);
      expect(await fetchedRecordCount(c)).toEqual({ errorCode: 0, highWatermark: BigInt(acked), batches: acked });
      const refused = await produce(c, 'still-full');
      expect(refused.errorCode).toBe(ErrorCode.KAFKA_STORAGE_ERROR);
    } finally {
      c.close();
      await tb.stop({ keepData: true });
    }
  }, 60_000);
});
