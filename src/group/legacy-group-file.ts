// The group metadata file of Eddy before offsets moved to `__consumer_offsets` (offsets-topic.ts): read once, at
// the first start of a newer broker on an older data dir, so its committed offsets and groups are migrated into the
// topic; then the file is renamed `groups.log.migrated` and never read again (it stays as a backup).
//
// Location: `<dataDir>/__group_metadata/groups.log` (a directory name without a `-<partition>` suffix, so the log
// manager never mistakes it for a partition).
//
// File format, version 1 (all integers big-endian):
//
//   header   8 bytes   bytes 0-3  magic "EGRP" (0x45 0x47 0x52 0x50)
//                      bytes 4-5  int16 format version = 1
//                      bytes 6-7  int16 reserved = 0
//   record*            bytes 0-3  int32 payload length N (>= 1)
//                      bytes 4-7  uint32 CRC-32C (Castagnoli) of the N payload bytes
//                      bytes 8..  payload: int8 type, then the type's fields
//
//   string  = int16 length + UTF-8 bytes; a nullable string has length -1 for null
//   bytes   = int32 length + bytes
//
//   type 1 OFFSET_COMMIT   string group, string topic, int32 partition, int64 committed offset,
//                          int32 committed leader epoch (-1 = none), nullable string metadata,
//                          int64 commit timestamp (ms), int64 expire timestamp (ms, -1 = none: the
//                          Kafka 2.1+ rule, expire once the group has been empty for offsets.retention.minutes;
//                          any other value, negative ones included, is an explicit expiry time). Timestamps are
//                          JS numbers in memory; one beyond the int64 range (a client's Long.MAX rounds up to
//                          2^63) is written as the nearest int64.
//   type 2 OFFSET_DELETE   string group, string topic, int32 partition            (tombstone for one offset)
//   type 3 GROUP_METADATA  string group, nullable string protocol type, int32 generation,
//                          nullable string protocol name, nullable string leader, int64 current state timestamp,
//                          int32 member count, then per member: string member id, nullable string group
//                          instance id, string client id, string client host, int32 rebalance timeout ms,
//                          int32 session timeout ms, bytes subscription (metadata of the selected protocol),
//                          bytes assignment
//   type 4 GROUP_DELETE    string group                  (tombstone for the group's metadata and all its offsets)
//
// The latest record for a key wins (key: group+topic+partition for offsets, group for metadata), as in a
// compacted topic. The reader (readLegacyGroupFile) keeps everything before the first record it cannot use: a
// torn record or a CRC mismatch (a crash while appending: only unacknowledged commits are there) ends the file as
// log recovery would; a bad header, an unknown format version, or a record with a valid CRC but an unknown type
// or a malformed body (written by a newer or broken broker) is reported as `problem`, and the caller keeps the
// file aside instead of deleting it, so nothing is lost silently and the broker still starts.
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Logger } from 'pino';
import { int64FromMs, type StoreRecord, type StoredGroup, type StoredMember, type StoredOffset } from './group-records.js';

export const GROUP_METADATA_DIR = '__group_metadata';
export const GROUP_METADATA_FILE = 'groups.log';
const MAGIC = Buffer.from('EGRP', 'latin1');
export const FORMAT_VERSION = 1;
const HEADER_BYTES = 8;
const RECORD_OVERHEAD = 8;

const enum RecordType {
  OffsetCommit = 1,
  OffsetDelete = 2,
  GroupMetadata = 3,
  GroupDelete = 4,
}

// ---- encoding ------------------------------------------------------------------------------------------------

class RecordWriter {
  private parts: Buffer[] = [];
  private length = 0;

  private push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  int8(v: number): void {
    const b = Buffer.allocUnsafe(1);
    b.writeInt8(v);
    this.push(b);
  }
  int16(v: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeInt16BE(v);
    this.push(b);
  }
  int32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32BE(v);
    this.push(b);
  }
  int64(v: bigint): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64BE(v);
    this.push(b);
  }
  string(v: string | null): void {
    if (v === null) {
      this.int16(-1);
      return;
    }
    const b = Buffer.from(v, 'utf8');
    if (b.length > 0x7fff) throw new RangeError(`string of ${b.length} bytes is too long for the group metadata file`);
    this.int16(b.length);
    this.push(b);
  }
  bytes(v: Buffer): void {
    this.int32(v.length);
    this.push(v);
  }
  /** The framed record: length, CRC-32C, payload. */
  frame(): Buffer {
    const payload = Buffer.concat(this.parts, this.length);
    const head = Buffer.allocUnsafe(RECORD_OVERHEAD);
    head.writeInt32BE(payload.length, 0);
    head.writeUInt32BE(crc32c(payload) >>> 0, 4);
    return Buffer.concat([head, payload]);
  }
}

/** A framed record of the old file (tests build old data dirs with it). */
export function encodeRecord(record: StoreRecord): Buffer {
  const w = new RecordWriter();
  switch (record.type) {
    case 'offset': {
      const o = record.value;
      w.int8(RecordType.OffsetCommit);
      w.string(o.groupId);
      w.string(o.topic);
      w.int32(o.partition);
      w.int64(o.offset);
      w.int32(o.leaderEpoch);
      w.string(o.metadata);
      w.int64(int64FromMs(o.commitTimestampMs));
      w.int64(int64FromMs(o.expireTimestampMs));
      break;
    }
    case 'offset-delete':
      w.int8(RecordType.OffsetDelete);
      w.string(record.groupId);
      w.string(record.topic);
      w.int32(record.partition);
      break;
    case 'group': {
      const g = record.value;
      w.int8(RecordType.GroupMetadata);
      w.string(g.groupId);
      w.string(g.protocolType);
      w.int32(g.generationId);
      w.string(g.protocolName);
      w.string(g.leader);
      w.int64(BigInt(g.currentStateTimestampMs));
      w.int32(g.members.length);
      for (const m of g.members) {
        w.string(m.memberId);
        w.string(m.groupInstanceId);
        w.string(m.clientId);
        w.string(m.clientHost);
        w.int32(m.rebalanceTimeoutMs);
        w.int32(m.sessionTimeoutMs);
        w.bytes(m.subscription);
        w.bytes(m.assignment);
      }
      break;
    }
    case 'group-delete':
      w.int8(RecordType.GroupDelete);
      w.string(record.groupId);
      break;
  }
  return w.frame();
}

class RecordReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError('record body ends early');
  }
  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n === -1) return null;
    if (n < 0) throw new RangeError(`bad string length ${n}`);
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new RangeError('null where a string is required');
    return s;
  }
  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new RangeError(`bad bytes length ${n}`);
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new RangeError(`${this.buf.length - this.pos} trailing bytes in record`);
  }
}

export function decodePayload(payload: Buffer): StoreRecord {
  const r = new RecordReader(payload);
  const type = r.int8();
  let record: StoreRecord;
  switch (type) {
    case RecordType.OffsetCommit:
      record = {
        type: 'offset',
        value: {
          groupId: r.string(),
          topic: r.string(),
          partition: r.int32(),
          offset: r.int64(),
          leaderEpoch: r.int32(),
          metadata: r.nullableString(),
          commitTimestampMs: Number(r.int64()),
          expireTimestampMs: Number(r.int64()),
        },
      };
      break;
    case RecordType.OffsetDelete:
      record = { type: 'offset-delete', groupId: r.string(), topic: r.string(), partition: r.int32() };
      break;
    case RecordType.GroupMetadata: {
      const groupId = r.string();
      const protocolType = r.nullableString();
      const generationId = r.int32();
      const protocolName = r.nullableString();
      const leader = r.nullableString();
      const currentStateTimestampMs = Number(r.int64());
      const count = r.int32();
      if (count < 0) throw new RangeError(`bad member count ${count}`);
      const members: StoredMember[] = [];
      for (let i = 0; i < count; i++) {
        members.push({
          memberId: r.string(),
          groupInstanceId: r.nullableString(),
          clientId: r.string(),
          clientHost: r.string(),
          rebalanceTimeoutMs: r.int32(),
          sessionTimeoutMs: r.int32(),
          subscription: r.bytes(),
          assignment: r.bytes(),
        });
      }
      record = { type: 'group', value: { groupId, protocolType, generationId, protocolName, leader, currentStateTimestampMs, members } };
      break;
    }
    case RecordType.GroupDelete:
      record = { type: 'group-delete', groupId: r.string() };
      break;
    default:
      throw new RangeError(`unknown record type ${type}`);
  }
  r.end();
  return record;
}

/** The old file's 8-byte header. */
export function fileHeader(): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeInt16BE(FORMAT_VERSION, 4);
  return b;
}

// ---- reading ------------------------------------------------------------------------------------------------

export interface LegacyGroupFileContents {
  file: string;
  groups: Map<string, StoredGroup>;
  /** groupId → committed offsets. A group may have offsets and no metadata (simple consumers). */
  offsets: Map<string, StoredOffset[]>;
  /** Why reading stopped before the end, for a file that must be kept aside (see the header). */
  problem?: string;
}

export function legacyGroupFilePath(dataDir: string): string {
  return path.join(dataDir, GROUP_METADATA_DIR, GROUP_METADATA_FILE);
}

/** Reads `<dataDir>/__group_metadata/groups.log`; undefined when there is none. */
export async function readLegacyGroupFile(dataDir: string, logger: Logger): Promise<LegacyGroupFileContents | undefined> {
  const file = legacyGroupFilePath(dataDir);
  let data: Buffer;
  try {
    data = await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const groups = new Map<string, StoredGroup>();
  const offsets = new Map<string, Map<string, StoredOffset>>();
  const contents = (problem?: string): LegacyGroupFileContents => {
    const offsetLists = new Map<string, StoredOffset[]>();
    for (const [groupId, m] of offsets) if (m.size > 0) offsetLists.set(groupId, [...m.values()]);
    return { file, groups, offsets: offsetLists, ...(problem === undefined ? {} : { problem }) };
  };
  if (data.length < HEADER_BYTES || !data.subarray(0, 4).equals(MAGIC)) return contents('not a group metadata file (bad header)');
  const version = data.readInt16BE(4);
  if (version !== FORMAT_VERSION) return contents(`format version ${version}; this broker reads version ${FORMAT_VERSION}`);

  let pos = HEADER_BYTES;
  while (pos < data.length) {
    const length = data.length - pos >= RECORD_OVERHEAD ? data.readInt32BE(pos) : -1;
    if (length < 1 || length > data.length - pos - RECORD_OVERHEAD) {
      logger.warn({ file, position: pos, size: data.length }, 'the group metadata file ends in a torn record; reading up to it');
      break;
    }
    const payload = data.subarray(pos + RECORD_OVERHEAD, pos + RECORD_OVERHEAD + length);
    if ((crc32c(payload) >>> 0) !== data.readUInt32BE(pos + 4)) {
      logger.warn({ file, position: pos, size: data.length }, 'the group metadata file has a record with a bad CRC; reading up to it');
      break;
    }
    let record: StoreRecord;
    try {
      record = decodePayload(payload);
    } catch (err) {
      return contents(`record at byte ${pos}: ${(err as Error).message}`);
    }
    switch (record.type) {
      case 'offset': {
        let m = offsets.get(record.value.groupId);
        if (m === undefined) offsets.set(record.value.groupId, (m = new Map()));
        m.set(`${record.value.topic}\u0000${record.value.partition}`, record.value);
        break;
      }
      case 'offset-delete':
        offsets.get(record.groupId)?.delete(`${record.topic}\u0000${record.partition}`);
        break;
      case 'group':
        groups.set(record.value.groupId, record.value);
        break;
      case 'group-delete':
        groups.delete(record.groupId);
        offsets.delete(record.groupId);
        break;
    }
    pos += RECORD_OVERHEAD + length;
  }
  return contents();
}

/**
 * Moves the file out of the way once its contents are safely in `__consumer_offsets`: `groups.log.migrated`, or
 * `groups.log.unreadable` when reading stopped at a problem. The rename is fsynced before this resolves.
 */
export async function retireLegacyGroupFile(file: string, unreadable: boolean): Promise<string> {
  const target = `${file}.${unreadable ? 'unreadable' : 'migrated'}`;
  await fsp.rename(file, target);
  await fsp.rm(`${file}.tmp`, { force: true });
  const dir = await fsp.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return target;
}
