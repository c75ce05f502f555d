// A broker closed while a CreateTopics of many partitions is still creating their logs (found by the wire-corpus
// fuzzer, test/server/fuzz.test.ts): close() used to resolve while the creation went on, so partition directories
// kept appearing in the data dir after the broker had stopped (and the test helper's removal of the dir failed with
// ENOTEMPTY). Now the creation stops with the shutdown, nothing is written after close(), and the next start creates
// the partitions that are missing.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker } from '../helpers/in-process-broker.js';

const PARTITIONS = 5000;

function partitionDirs(dataDir: string): number {
  return readdirSync(dataDir).filter((name) => name.startsWith('wide-')).length;
}

describe('closing the broker during a large topic creation', () => {
  it('stops creating partition logs at close(), and the next start creates the rest', async () => {
    let tb = await startTestBroker();
    const dataDir = tb.dataDir;
    const c = await TestClient.connect(tb.port);
    const answer = c
      .send(ApiKey.CreateTopics, 4, { topics: [{ name: 'wide', numPartitions: PARTITIONS, replicationFactor: 1, assignments: [], configs: [] }], timeoutMs: 60_000 })
      .catch(() => undefined);
    // Wait until the creation is under way, then close in the middle of it.
    for (let i = 0; i < 200 && partitionDirs(dataDir) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(partitionDirs(dataDir)).toBeGreaterThan(0);
    await tb.stop({ keepData: true });
    c.close();
    await answer;
    const atClose = partitionDirs(dataDir);
    expect(atClose).toBeLessThan(PARTITIONS);
    await new Promise((r) => setTimeout(r, 500));
    expect(partitionDirs(dataDir)).toBe(atClose);

    // The topic was registered: the restart creates every missing partition and serves the topic.
    tb = await startTestBroker({ dataDir });
    try {
      expect(partitionDirs(dataDir)).toBe(PARTITIONS);
      const c2 = await TestClient.connect(tb.port);
      const md = await c2.send(ApiKey.Metadata, 9, { topics: [{ name: 'wide' }], allowAutoTopicCreation: false });
      expect(md.topics[0].errorCode).toBe(ErrorCode.NONE);
      expect(md.topics[0].partitions).toHaveLength(PARTITIONS);
      c2.close();
    } finally {
      await tb.stop();
    }
  }, 120_000);
});
