// The group coordinator's state in `__consumer_offsets`: Kafka's record bytes, loading (tombstones, unknown keys,
// bad records), and the upgrade of an older data dir's groups.log into the topic.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  decodeGroupMetadataValue,
  decodeGroupRecordKey,
  decodeOffsetCommitValue,
  encodeGroupMetadataKey,
  encodeGroupMetadataValue,
  encodeOffsetCommitKey,
  encodeOffsetCommitValue,
  type StoreRecord,
  type StoredGroup,
  type StoredOffset,
} from '../../src/group/group-records.js';
import { encodeRecord, fileHeader, GROUP_METADATA_DIR, GROUP_METADATA_FILE } from '../../src/group/legacy-group-file.js';
import { OFFSETS_TOPIC_NAME } from '../../src/metadata/internal-topics.js';
import { readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildKeyValueBatch, forEachKeyValueRecord } from '../../src/protocol/records/key-value-batch.js';
import { openGroupCoordinator, type GroupCoordinatorHarness } from '../helpers/group-coordinator.js';
import { makeTempDir } from '../helpers/in-process-broker.js';

const hex = (s: string) => Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');

const offset = (groupId: string, partition: number, value: bigint, extra: Partial<StoredOffset> = {}): StoredOffset => ({
  groupId, topic: 't', partition, offset: value, leaderEpoch: 1, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: -1, ...extra,
});
const group: StoredGroup = {
  groupId: 'g',
  protocolType: 'consumer',
  generationId: 3,
  protocolName: 'range',
  leader: 'm1',
  currentStateTimestampMs: 5,
  members: [{ memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 7, sessionTimeoutMs: 2, subscription: Buffer.from('s'), assignment: Buffer.from('x') }],
};

describe("Kafka's __consumer_offsets record bytes", () => {
  test('OffsetCommitKey is written at version 1 and GroupMetadataKey at version 2', () => {
    expect(encodeOffsetCommitKey('g', 't', 7).toString('hex')).toBe(hex('0001 0001 67 0001 74 00000007').toString('hex'));
    expect(encodeGroupMetadataKey('g').toString('hex')).toBe('0002000167');
    expect(decodeGroupRecordKey(hex('0000 0001 67 0001 74 00000007'))).toEqual({ kind: 'offset', groupId: 'g', topic: 't', partition: 7 });
    expect(decodeGroupRecordKey(hex('0002 0001 67'))).toEqual({ kind: 'group', groupId: 'g' });
    expect(decodeGroupRecordKey(hex('0009 0001 67'))).toEqual({ kind: 'unknown', version: 9 });
  });

  test('OffsetCommitValue: version 3 without an explicit expiry, version 1 with one; 0, 2 and 4 are read', () => {
    expect(encodeOffsetCommitValue(offset('g', 0, 42n)).toString('hex')).toBe(
      hex('0003 000000000000002a 00000001 0001 6d 00000000000003e8').toString('hex'),
    );
    expect(encodeOffsetCommitValue(offset('g', 0, 42n, { expireTimestampMs: 9000 })).toString('hex')).toBe(
      hex('0001 000000000000002a 0001 6d 00000000000003e8 0000000000002328').toString('hex'),
    );
    const read = (h: string) => decodeOffsetCommitValue('g', 't', 0, hex(h));
    expect(read('0000 000000000000002a 0001 6d 00000000000003e8')).toEqual(offset('g', 0, 42n, { leaderEpoch: -1 }));
    expect(read('0002 000000000000002a 0001 6d 00000000000003e8')).toEqual(offset('g', 0, 42n, { leaderEpoch: -1 }));
    // v4 (flexible): compact string (length + 1) and an empty tagged-field section.
    expect(read('0004 000000000000002a 00000001 02 6d 00000000000003e8 00')).toEqual(offset('g', 0, 42n));
    expect(() => read('0005 000000000000002a')).toThrow(/Unknown offset message version: 5/);
  });

  test('GroupMetadataValue is written at version 3 and read back; version 0 takes the session timeout as rebalance timeout', () => {
    const v3 = encodeGroupMetadataValue(group);
    expect(v3.toString('hex')).toBe(
      hex(`0003 0008 636f6e73756d6572 00000003 0005 72616e6765 0002 6d31 0000000000000005
           00000001 0002 6d31 0002 6931 0001 63 0002 2f68 00000007 00000002 00000001 73 00000001 78`).toString('hex'),
    );
    expect(decodeGroupMetadataValue('g', v3)).toEqual(group);
    const v0 = decodeGroupMetadataValue('g', hex('0000 0000 00000000 ffff ffff 00000001 0002 6d31 0001 63 0002 2f68 00000002 00000000 00000000'));
    expect(v0).toMatchObject({ protocolType: null, protocolName: null, leader: null, currentStateTimestampMs: -1 });
    expect(v0.members[0]).toMatchObject({ groupInstanceId: null, rebalanceTimeoutMs: 2, sessionTimeoutMs: 2 });
  });
});

let dataDir: string;
const open: GroupCoordinatorHarness[] = [];
beforeEach(() => {
  dataDir = makeTempDir('eddy-offsets-topic-');
});
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<GroupCoordinatorHarness> {
  const h = await openGroupCoordinator(dataDir);
  open.push(h);
  return h;
}
async function restart(h: GroupCoordinatorHarness): Promise<GroupCoordinatorHarness> {
  await h.close();
  open.splice(open.indexOf(h), 1);
  return start();
}
const fetchedOffsets = (h: GroupCoordinatorHarness, groupId: string) =>
  h.coordinator.fetchOffsets(groupId, null).topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}=${p.offset}`)).sort();

/** Every record of the group's partition of `__consumer_offsets`, decoded. */
async function recordsOf(h: GroupCoordinatorHarness, groupId: string) {
  const log = h.logs.getLog(OFFSETS_TOPIC_NAME, h.coordinator.partitionFor(groupId))!;
  const buf = (await log.read(0n, 1 << 20, true)) ?? Buffer.alloc(0);
  const out: Array<{ key: ReturnType<typeof decodeGroupRecordKey>; tombstone: boolean; transactional: boolean }> = [];
  forEachKeyValueRecord(buf, { record: (r, _o, batch) => out.push({ key: decodeGroupRecordKey(r.key!), tombstone: r.value === null, transactional: (batch.attributes & 0x10) !== 0 }) });
  return out;
}

describe('the group coordinator on __consumer_offsets', () => {
  test('the topic is created on first use with 50 partitions and the configs Kafka enforces; commits and tombstones replay', async () => {
    const h = await start();
    expect(h.topics.get(OFFSETS_TOPIC_NAME)).toBeUndefined(); // nothing written yet: not created at startup
    const c = h.coordinator;
    expect(await c.commitOffsets('a', '', null, -1, [offset('a', 0, 1n), offset('a', 1, 5n)])).toEqual([0, 0]);
    expect(await c.commitOffsets('a', '', null, -1, [offset('a', 0, 2n)])).toEqual([0]);
    expect(await c.commitOffsets('b', '', null, -1, [offset('b', 0, 9n)])).toEqual([0]);
    expect((await c.deleteOffsets('a', [{ topic: 't', partition: 1 }])).codes).toEqual([0]);
    const topic = h.topics.get(OFFSETS_TOPIC_NAME)!;
    expect(topic.partitions).toBe(50);
    expect(topic.configs).toEqual({ 'cleanup.policy': 'compact', 'compression.type': 'producer', 'segment.bytes': '104857600' });
    expect((await recordsOf(h, 'a')).filter((r) => r.key.kind === 'offset' && r.key.groupId === 'a').map((r) => r.tombstone)).toEqual([false, false, false, true]);

    const again = await restart(h);
    expect(fetchedOffsets(again, 'a')).toEqual(['t-0=2']);
    expect(fetchedOffsets(again, 'b')).toEqual(['t-0=9']);
  });

  test('records with an unknown key version are skipped and an undecodable value stops only its partition; the broker starts', async () => {
    const h = await start();
    await h.coordinator.commitOffsets('a', '', null, -1, [offset('a', 0, 1n)]);
    await h.coordinator.commitOffsets('b', '', null, -1, [offset('b', 0, 2n)]);
    const pa = h.coordinator.partitionFor('a');
    expect(h.coordinator.partitionFor('b')).not.toBe(pa);
    const log = h.logs.getLog(OFFSETS_TOPIC_NAME, pa)!;
    const append = (key: Buffer, value: Buffer | null) => {
      const batch = buildKeyValueBatch([{ key, value }], 1);
      return log.append(batch, readBatchHeader(batch), { durable: true });
    };
    await append(hex('0007 0001 61'), hex('00')); // a future key version
    await append(encodeOffsetCommitKey('a', 't', 0), hex('0009 00')); // a value version nobody reads
    await append(encodeOffsetCommitKey('a', 't', 0), encodeOffsetCommitValue(offset('a', 0, 3n))); // after the bad one: not read
    const again = await restart(h);
    expect(fetchedOffsets(again, 'a')).toEqual(['t-0=1']);
    expect(fetchedOffsets(again, 'b')).toEqual(['t-0=2']);
  });
});

describe('upgrade from groups.log', () => {
  const legacyFile = () => path.join(dataDir, GROUP_METADATA_DIR, GROUP_METADATA_FILE);
  function writeLegacy(records: StoreRecord[], tail: Buffer = Buffer.alloc(0)): void {
    mkdirSync(path.join(dataDir, GROUP_METADATA_DIR), { recursive: true });
    writeFileSync(legacyFile(), Buffer.concat([fileHeader(), ...records.map(encodeRecord), tail]));
  }

  test('groups and offsets move into __consumer_offsets, the file is kept as groups.log.migrated, and it happens once', async () => {
    writeLegacy([
      { type: 'offset', value: offset('a', 0, 1n) },
      { type: 'offset', value: offset('a', 0, 2n) },
      { type: 'offset', value: offset('a', 1, 7n, { expireTimestampMs: 99_000 }) },
      { type: 'offset', value: offset('gone', 0, 1n) },
      { type: 'group-delete', groupId: 'gone' },
      { type: 'group', value: group },
      { type: 'offset', value: offset('g', 3, 30n) },
    ]);
    const h = await start();
    expect(fetchedOffsets(h, 'a')).toEqual(['t-0=2', 't-1=7']);
    expect(fetchedOffsets(h, 'gone')).toEqual([]);
    expect(h.coordinator.group('g')).toMatchObject({ generationId: 3, protocolName: 'range', state: 'Stable' });
    expect(existsSync(legacyFile())).toBe(false);
    expect(existsSync(`${legacyFile()}.migrated`)).toBe(true);
    expect((await recordsOf(h, 'a')).filter((r) => r.key.kind === 'offset' && r.key.groupId === 'a')).toHaveLength(2);

    const again = await restart(h);
    expect(fetchedOffsets(again, 'a')).toEqual(['t-0=2', 't-1=7']);
    expect((await recordsOf(again, 'a')).filter((r) => r.key.kind === 'offset' && r.key.groupId === 'a')).toHaveLength(2); // not migrated twice
    expect(again.coordinator.group('a')!.offsets.get('t\u00001')!.expireTimestampMs).toBe(99_000);
  });

  test('a crash after the records are written but before the rename migrates them again with the same result', async () => {
    const records: StoreRecord[] = [{ type: 'offset', value: offset('a', 0, 5n) }];
    writeLegacy(records);
    const h = await start();
    await h.close();
    open.splice(open.indexOf(h), 1);
    writeLegacy(records); // the rename never happened
    const again = await start();
    expect(fetchedOffsets(again, 'a')).toEqual(['t-0=5']);
  });

  test('a torn tail is dropped; an unreadable file is kept as groups.log.unreadable and the broker still starts', async () => {
    writeLegacy([{ type: 'offset', value: offset('a', 0, 5n) }], encodeRecord({ type: 'offset', value: offset('a', 0, 6n) }).subarray(0, 10));
    const h = await start();
    expect(fetchedOffsets(h, 'a')).toEqual(['t-0=5']);
    expect(existsSync(`${legacyFile()}.migrated`)).toBe(true);
    await h.close();
    open.splice(open.indexOf(h), 1);

    const unknownType = encodeRecord({ type: 'group-delete', groupId: 'x' });
    unknownType[8] = 9; // a record type this reader does not know, CRC fixed below
    const { crc32c } = await import('@node-rs/crc32');
    unknownType.writeUInt32BE(crc32c(unknownType.subarray(8)) >>> 0, 4);
    writeLegacy([{ type: 'offset', value: offset('b', 0, 8n) }], unknownType);
    const again = await start();
    expect(fetchedOffsets(again, 'b')).toEqual(['t-0=8']); // what came before the bad record
    expect(existsSync(`${legacyFile()}.unreadable`)).toBe(true);
    await again.close();
    open.splice(open.indexOf(again), 1);

    writeLegacy([]);
    writeFileSync(legacyFile(), Buffer.from('not a group file'));
    const third = await start();
    expect(fetchedOffsets(third, 'b')).toEqual(['t-0=8']);
    expect(existsSync(legacyFile())).toBe(false);
  });
});
