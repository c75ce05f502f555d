// DescribeLogDirs over the wire (our codec), against Kafka 3.9's answers (ReplicaManager.describeLogDirs): the one
// data dir, per-partition sizes that match the files, filters, and the v3/v4 fields.
import { statSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

let tb: TestBroker;
let client: TestClient;
beforeAll(async () => {
  tb = await startTestBroker();
  client = await TestClient.connect(tb.port);
  for (const [name, numPartitions] of [['d1', 2], ['d2', 1]] as const) {
    await client.send(ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions, replicationFactor: 1, assignments: [], configs: [] }] });
  }
  for (let i = 0; i < 3; i++) {
    await client.send(ApiKey.Produce, 7, {
      acks: 1,
      timeoutMs: 1000,
      topicData: [{ name: 'd1', partitionData: [{ index: 1, records: buildRecordBatch({ records: [{ value: `value-${i}`.repeat(10) }] }) }] }],
    });
  }
});
afterAll(async () => {
  client.close();
  await tb.stop();
});

/** Bytes of the partition's .log files on disk. */
function logBytes(name: string): bigint {
  return BigInt(statSync(path.join(tb.dataDir, name, '00000000000000000000.log')).size);
}

type Result = { errorCode: number; logDir: string; topics: Array<{ name: string; partitions: Array<{ partitionIndex: number; partitionSize: bigint; offsetLag: bigint; isFutureKey: boolean }> }>; totalBytes?: bigint; usableBytes?: bigint };

describe('DescribeLogDirs', () => {
  it.each([0, 1, 2, 3, 4])('v%i with topics null reports the data dir and every partition with its size on disk', async (version) => {
    const res = await client.send(ApiKey.DescribeLogDirs, version, { topics: null });
    expect(res.results).toHaveLength(1);
    const dir: Result = res.results[0];
    expect(dir.errorCode).toBe(ErrorCode.NONE);
    expect(dir.logDir).toBe(path.resolve(tb.dataDir));
    expect(dir.topics).toEqual([
      {
        name: 'd1',
        partitions: [
          { partitionIndex: 0, partitionSize: 0n, offsetLag: 0n, isFutureKey: false },
          { partitionIndex: 1, partitionSize: logBytes('d1-1'), offsetLag: 0n, isFutureKey: false },
        ],
      },
      { name: 'd2', partitions: [{ partitionIndex: 0, partitionSize: 0n, offsetLag: 0n, isFutureKey: false }] },
    ]);
    expect(logBytes('d1-1')).toBeGreaterThan(0n);
    if (version >= 3) expect(res.errorCode).toBe(ErrorCode.NONE);
    if (version >= 4) {
      const fsStats = statfsSync(tb.dataDir, { bigint: true });
      expect(dir.totalBytes).toBe(fsStats.blocks * fsStats.bsize);
      expect(dir.usableBytes! > 0n && dir.usableBytes! <= dir.totalBytes!).toBe(true);
    } else {
      expect(dir.totalBytes ?? -1n).toBe(-1n);
    }
  });

  it('with a filter reports only the requested partitions that exist, and leaves out topics left empty', async () => {
    const res = await client.send(ApiKey.DescribeLogDirs, 4, {
      topics: [
        { topic: 'd1', partitions: [1, 7] },
        { topic: 'nope', partitions: [0] },
        { topic: 'd2', partitions: [3] },
      ],
    });
    expect(res.results[0].topics).toEqual([{ name: 'd1', partitions: [{ partitionIndex: 1, partitionSize: logBytes('d1-1'), offsetLag: 0n, isFutureKey: false }] }]);
  });

  it('an empty topics list reports the dir with no topics', async () => {
    const res = await client.send(ApiKey.DescribeLogDirs, 4, { topics: [] });
    expect(res.results).toHaveLength(1);
    expect(res.results[0]).toMatchObject({ errorCode: ErrorCode.NONE, topics: [] });
  });
});
