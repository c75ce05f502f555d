// Issue 7, item 7: OffsetCommit divergences from Kafka 3.9, over a real socket.
// - Metadata size is checked as Java's String.length() (UTF-16 code units, JS `string.length`), not UTF-8 bytes
//   (GroupMetadataManager.validateOffsetMetadataLength, GroupMetadataManager.scala 989-990).
// - commit_timestamp (v1) and retention_time_ms (v2-v4) of Long.MAX are accepted (NONE): Kafka stores the commit
//   timestamp as sent and computes the expire timestamp as now + retention in 64-bit arithmetic, which wraps
//   (GroupCoordinatorAdapter.commitOffsets / createOffsetAndMetadata), so such an offset is already expired.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const LONG_MAX = 9223372036854775807n;

let tb: TestBroker;
let c: TestClient;

async function start(options: { dataDir?: string } = {}): Promise<void> {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0, offsetsRetentionCheckIntervalMs: 20, ...options });
  c = await TestClient.connect(tb.port);
}

beforeEach(async () => {
  await start();
  await c.send(ApiKey.CreateTopics, 4, { topics: [{ name: 't', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [] }] });
});

afterEach(async () => {
  c.close();
  await tb.stop();
});

const commitCode = async (version: number, fields: Record<string, unknown>, partition: Record<string, unknown>): Promise<number> => {
  const r = await c.send(ApiKey.OffsetCommit, version, { generationIdOrMemberEpoch: -1, memberId: '', ...fields, topics: [{ name: 't', partitions: [{ partitionIndex: 0, committedOffset: 7n, committedMetadata: '', ...partition }] }] });
  return r.topics[0].partitions[0].errorCode;
};

const fetchPartitions = async (groupId: string, partitionIndexes: number[]): Promise<Array<{ partitionIndex: number; committedOffset: bigint; metadata: string }>> => {
  const f = await c.send(ApiKey.OffsetFetch, 5, { groupId, topics: [{ name: 't', partitionIndexes }] });
  expect(f.errorCode).toBe(ErrorCode.NONE);
  return f.topics[0].partitions;
};

describe('OffsetCommit metadata size is counted in UTF-16 code units, as Java String.length()', () => {
  test('3,000 "€" (9,000 UTF-8 bytes) are accepted under offset.metadata.max.bytes 4096 and read back intact', async () => {
    const metadata = '€'.repeat(3000);
    expect(await commitCode(8, { groupId: 'euro' }, { committedMetadata: metadata })).toBe(ErrorCode.NONE);
    const [p] = await fetchPartitions('euro', [0]);
    expect(p).toMatchObject({ committedOffset: 7n, metadata });
  });

  test('4,096 code units are accepted and 4,097 get OFFSET_METADATA_TOO_LARGE; a surrogate pair counts as two', async () => {
    expect(await commitCode(8, { groupId: 'len' }, { committedMetadata: 'x'.repeat(4096) })).toBe(ErrorCode.NONE);
    expect(await commitCode(8, { groupId: 'len' }, { committedMetadata: '€'.repeat(4097) })).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    expect(await commitCode(8, { groupId: 'len' }, { committedMetadata: '😀'.repeat(2048) })).toBe(ErrorCode.NONE);
    expect(await commitCode(8, { groupId: 'len' }, { committedMetadata: '😀'.repeat(2048) + 'x' })).toBe(ErrorCode.OFFSET_METADATA_TOO_LARGE);
    const [p] = await fetchPartitions('len', [0]);
    expect(p!.metadata).toBe('😀'.repeat(2048));
  });
});

describe('OffsetCommit with Long.MAX timestamps answers NONE, as Kafka does', () => {
  test('v1 commit_timestamp Long.MAX is stored, never expires for a simple consumer, and survives a restart', async () => {
    expect(await commitCode(1, { groupId: 'max-ts' }, { commitTimestamp: LONG_MAX })).toBe(ErrorCode.NONE);
    // A marker offset with an already-past expiry: once it is gone, at least one expiry pass has run over the group.
    expect(await commitCode(2, { groupId: 'max-ts', retentionTimeMs: 1n }, { partitionIndex: 1 })).toBe(ErrorCode.NONE);
    await waitForExpiry('max-ts', 1);
    const [p] = await fetchPartitions('max-ts', [0]);
    expect(p!.committedOffset).toBe(7n);

    const dataDir = tb.dataDir;
    c.close();
    await tb.stop({ keepData: true });
    await start({ dataDir });
    const [reloaded] = await fetchPartitions('max-ts', [0]);
    expect(reloaded!.committedOffset).toBe(7n);
  });

  test('v2-v4 retention_time_ms Long.MAX is accepted; now + retention wraps as in Kafka, so the offset expires at the next check', async () => {
    for (const version of [2, 3, 4]) {
      const groupId = `max-retention-v${version}`;
      expect(await commitCode(version, { groupId, retentionTimeMs: LONG_MAX }, {})).toBe(ErrorCode.NONE);
      await waitForExpiry(groupId, 0);
    }
  });

  test('v1 commit_timestamp Long.MAX in a group with members is accepted from the generation', async () => {
    const join = await c.send(ApiKey.JoinGroup, 5, {
      groupId: 'max-member', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    // JoinGroup v4+ first answers MEMBER_ID_REQUIRED with the id to use.
    const memberId: string = join.memberId;
    const joined = join.errorCode === ErrorCode.MEMBER_ID_REQUIRED
      ? await c.send(ApiKey.JoinGroup, 5, { groupId: 'max-member', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }] })
      : join;
    expect(joined.errorCode).toBe(ErrorCode.NONE);
    const sync = await c.send(ApiKey.SyncGroup, 3, { groupId: 'max-member', generationId: joined.generationId, memberId: joined.memberId, assignments: [{ memberId: joined.memberId, assignment: Buffer.alloc(0) }] });
    expect(sync.errorCode).toBe(ErrorCode.NONE);
    const code = await commitCode(1, { groupId: 'max-member', generationIdOrMemberEpoch: joined.generationId, memberId: joined.memberId }, { commitTimestamp: LONG_MAX });
    expect(code).toBe(ErrorCode.NONE);
    const [p] = await fetchPartitions('max-member', [0]);
    expect(p!.committedOffset).toBe(7n);
  });
});

/** Polls (bounded) until the group's committed offset for `partition` is gone. */
async function waitForExpiry(groupId: string, partition: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [p] = await fetchPartitions(groupId, [partition]);
    if (p!.committedOffset === -1n) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`offset ${groupId}/t-${partition} did not expire`);
}
