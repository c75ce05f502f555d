// The group metadata file: replay, torn and corrupt tails, versioning, compaction.
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { GROUP_METADATA_DIR, GROUP_METADATA_FILE, OffsetStore, encodeRecord, type StoreRecord, type StoredOffset } from '../../src/group/offset-store.js';
import { makeTempDir } from '../helpers/in-process-broker.js';

const logger = pino({ level: 'silent' });
let dataDir: string;
let file: string;

beforeEach(() => {
  dataDir = makeTempDir('eddy-offset-store-');
  file = path.join(dataDir, GROUP_METADATA_DIR, GROUP_METADATA_FILE);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const offset = (groupId: string, partition: number, value: bigint): StoredOffset => ({
  groupId, topic: 't', partition, offset: value, leaderEpoch: 1, metadata: 'm', commitTimestampMs: 1000, expireTimestampMs: -1,
});
const commit = (groupId: string, partition: number, value: bigint): StoreRecord => ({ type: 'offset', value: offset(groupId, partition, value) });

async function open(segmentBytes = 1 << 20) {
  return OffsetStore.open({ dataDir, logger, segmentBytes });
}

describe('offset store', () => {
  test('replays the latest record per key; tombstones remove offsets and groups', async () => {
    const { store } = await open();
    await store.append([commit('a', 0, 1n), commit('a', 0, 2n), commit('a', 1, 5n), commit('b', 0, 9n)]);
    await store.append([{ type: 'offset-delete', groupId: 'a', topic: 't', partition: 1 }]);
    await store.append([{ type: 'group', value: { groupId: 'b', protocolType: 'consumer', generationId: 3, protocolName: 'range', leader: 'm1', currentStateTimestampMs: 5, members: [{ memberId: 'm1', groupInstanceId: 'i1', clientId: 'c', clientHost: '/h', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: Buffer.from('s'), assignment: Buffer.from('x') }] } }]);
    await store.append([{ type: 'group-delete', groupId: 'c' }]);
    await store.close();
    const { store: again, state } = await open();
    expect(state.offsets.get('a')).toEqual([offset('a', 0, 2n)]);
    expect(state.offsets.get('b')).toEqual([offset('b', 0, 9n)]);
    expect(state.groups.get('b')!.members[0]!.assignment.toString()).toBe('x');
    await again.append([{ type: 'group-delete', groupId: 'b' }]);
    await again.close();
    const { store: third, state: after } = await open();
    expect(after.groups.has('b')).toBe(false);
    expect(after.offsets.has('b')).toBe(false);
    await third.close();
  });

  test('a torn tail and a record with a bad CRC are truncated; everything before them is kept', async () => {
    const { store } = await open();
    await store.append([commit('a', 0, 1n), commit('a', 1, 2n)]);
    await store.close();
    const good = statSync(file).size;
    appendFileSync(file, encodeRecord(commit('a', 2, 3n)).subarray(0, 10));
    let { store: s2, state } = await open();
    expect(state.offsets.get('a')).toHaveLength(2);
    await s2.close();
    expect(statSync(file).size).toBe(good);
    const corrupt = encodeRecord(commit('a', 2, 3n));
    corrupt[corrupt.length - 1]! ^= 0xff;
    appendFileSync(file, corrupt);
    ({ store: s2, state } = await open());
    expect(state.offsets.get('a')).toHaveLength(2);
    await s2.close();
  });

  test('an unknown format version refuses to load (OFFSET_STORE_VERSION); a foreign file is OFFSET_STORE_CORRUPT', async () => {
    const { store } = await open();
    await store.close();
    const bytes = readFileSync(file);
    bytes.writeInt16BE(2, 4);
    writeFileSync(file, bytes);
    await expect(open()).rejects.toMatchObject({ code: 'OFFSET_STORE_VERSION' });
    writeFileSync(file, Buffer.from('not a group file'));
    await expect(open()).rejects.toMatchObject({ code: 'OFFSET_STORE_CORRUPT' });
  });

  test('the file is compacted once it is over offsets.topic.segment.bytes and mostly superseded', async () => {
    const { store } = await open(4096);
    for (let i = 0; i < 200; i++) await store.append([commit('a', i % 4, BigInt(i))]);
    const { fileBytes, liveBytes } = store.stats();
    expect(fileBytes).toBeLessThan(4096 * 2);
    expect(liveBytes).toBeLessThan(fileBytes + 1);
    await store.close();
    const { store: again, state } = await open(4096);
    expect(state.offsets.get('a')!.map((o) => o.offset).sort()).toEqual([196n, 197n, 198n, 199n]);
    await again.close();
  });
});
