// Durable group state: committed offsets and group metadata, in one append-only file with snapshot compaction.
//
// Storage choice: a dedicated file, not an internal `__consumer_offsets` topic. One broker coordinates every
// group, so there is nothing to partition or replicate; a single file keeps load simple (read it once, before the
// coordinator answers) and lets us fsync every commit before acknowledging it without going through the produce
// path. The records carry what Kafka's OffsetCommitValue / GroupMetadataValue carry.
//
// Transactional offset commits are not written here while their transaction is open (they are pending in memory,
// src/group/pending-txn-offsets.ts); when the COMMIT marker arrives they are appended as ordinary OFFSET_COMMIT
// records, so this format has no transactional records and a reader never sees an uncommitted offset.
//
// Location: `<dataDir>/__group_metadata/groups.log` (a directory name without a `-<partition>` suffix, so the log
// manager never mistakes it for a partition). Compaction writes `groups.log.tmp` and renames it over the file.
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
// compacted topic. A reader:
// - refuses to start (BrokerError OFFSET_STORE_CORRUPT / OFFSET_STORE_VERSION) on a bad magic or an unknown format
//   version: a newer file must not be half-understood and then rewritten by compaction;
// - truncates at the first record that is torn (length past the end of the file) or whose CRC does not match,
//   logging a warning, as log recovery does: only unacknowledged commits can be lost, because a commit is
//   acknowledged after its record is fsynced;
// - refuses to start on a record with a valid CRC but an unknown type or a malformed body (written by a newer or
//   broken broker; dropping it silently could lose offsets).
//
// Writes: one queue; concurrent appends share one write + fsync (group commit); a caller's promise resolves only
// after the fsync. Compaction: when the file is larger than `offsets.topic.segment.bytes` and more than half of it
// is superseded, the live records are written to `groups.log.tmp`, fsynced, renamed over `groups.log`, and the
// directory is fsynced. It runs inside the write queue, so no append interleaves with it.
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { crc32c } from '@node-rs/crc32';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';

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

/** StoredOffset.expireTimestampMs when the offset has no explicit expiry. */
export const NO_EXPIRE_TIMESTAMP = -1;

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** A millisecond timestamp as int64, clamped to the int64 range (Number(Long.MAX) is 2^63, one past it). */
function int64FromMs(ms: number): bigint {
  const v = BigInt(ms);
  return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : v;
}

export interface StoredOffset {
  groupId: string;
  topic: string;
  partition: number;
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
  commitTimestampMs: number;
  /** NO_EXPIRE_TIMESTAMP (-1): no explicit expiry (Kafka 2.1+ semantics); else the v2–v4 per-commit expiry time. */
  expireTimestampMs: number;
}

export interface StoredMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface StoredGroup {
  groupId: string;
  protocolType: string | null;
  generationId: number;
  protocolName: string | null;
  leader: string | null;
  currentStateTimestampMs: number;
  members: StoredMember[];
}

export type StoreRecord =
  | { type: 'offset'; value: StoredOffset }
  | { type: 'offset-delete'; groupId: string; topic: string; partition: number }
  | { type: 'group'; value: StoredGroup }
  | { type: 'group-delete'; groupId: string };

export interface LoadedGroupState {
  groups: Map<string, StoredGroup>;
  /** groupId → committed offsets. A group may have offsets and no metadata (simple consumers). */
  offsets: Map<string, StoredOffset[]>;
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

function fileHeader(): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(b, 0);
  b.writeInt16BE(FORMAT_VERSION, 4);
  return b;
}

// ---- the live view (what a compacted topic would keep) ---------------------------------------------------------

function offsetKey(groupId: string, topic: string, partition: number): string {
  return `o\u0000${groupId}\u0000${topic}\u0000${partition}`;
}

class LiveRecords {
  /** key → framed record */
  readonly records = new Map<string, Buffer>();
  private readonly keysByGroup = new Map<string, Set<string>>();
  bytes = 0;

  private set(groupId: string, key: string, framed: Buffer): void {
    this.delete(groupId, key);
    this.records.set(key, framed);
    this.bytes += framed.length;
    let keys = this.keysByGroup.get(groupId);
    if (keys === undefined) this.keysByGroup.set(groupId, (keys = new Set()));
    keys.add(key);
  }

  private delete(groupId: string, key: string): void {
    const old = this.records.get(key);
    if (old === undefined) return;
    this.records.delete(key);
    this.bytes -= old.length;
    const keys = this.keysByGroup.get(groupId);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByGroup.delete(groupId);
  }

  apply(record: StoreRecord, framed: Buffer): void {
    switch (record.type) {
      case 'offset':
        this.set(record.value.groupId, offsetKey(record.value.groupId, record.value.topic, record.value.partition), framed);
        break;
      case 'offset-delete':
        this.delete(record.groupId, offsetKey(record.groupId, record.topic, record.partition));
        break;
      case 'group':
        this.set(record.value.groupId, `g\u0000${record.value.groupId}`, framed);
        break;
      case 'group-delete':
        for (const key of [...(this.keysByGroup.get(record.groupId) ?? [])]) this.delete(record.groupId, key);
        break;
    }
  }
}

// ---- the store ------------------------------------------------------------------------------------------------

export interface OffsetStoreOptions {
  dataDir: string;
  logger: Logger;
  /** Compaction threshold (offsets.topic.segment.bytes). */
  segmentBytes: number;
}

interface PendingWrite {
  framed: Buffer[];
  records: StoreRecord[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    if (bytesWritten <= 0) throw new Error('write made no progress');
    done += bytesWritten;
  }
}

export class OffsetStore {
  private readonly dir: string;
  private readonly file: string;
  private fh: FileHandle | undefined;
  private size = 0;
  private readonly live = new LiveRecords();
  private queue: PendingWrite[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly options: OffsetStoreOptions) {
    this.dir = path.join(options.dataDir, GROUP_METADATA_DIR);
    this.file = path.join(this.dir, GROUP_METADATA_FILE);
  }

  /** Opens (creating if needed) and replays the file; returns the store and the latest state it holds. */
  static async open(options: OffsetStoreOptions): Promise<{ store: OffsetStore; state: LoadedGroupState }> {
    const store = new OffsetStore(options);
    const state = await store.load();
    return { store, state };
  }

  private async load(): Promise<LoadedGroupState> {
    await fsp.mkdir(this.dir, { recursive: true });
    await fsp.rm(`${this.file}.tmp`, { force: true });
    let data: Buffer;
    try {
      data = await fsp.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.writeSnapshot([]);
      data = fileHeader();
    }
    if (data.length < HEADER_BYTES || !data.subarray(0, 4).equals(MAGIC)) {
      throw new BrokerError('OFFSET_STORE_CORRUPT', `${this.file} is not a group metadata file (bad header)`);
    }
    const version = data.readInt16BE(4);
    if (version !== FORMAT_VERSION) {
      throw new BrokerError('OFFSET_STORE_VERSION', `${this.file} has format version ${version}; this broker reads version ${FORMAT_VERSION}`);
    }

    const groups = new Map<string, StoredGroup>();
    const offsets = new Map<string, Map<string, StoredOffset>>();
    let pos = HEADER_BYTES;
    let validEnd = pos;
    let problem: string | undefined;
    while (pos < data.length) {
      if (data.length - pos < RECORD_OVERHEAD) {
        problem = 'torn record header';
        break;
      }
      const length = data.readInt32BE(pos);
      if (length < 1 || length > data.length - pos - RECORD_OVERHEAD) {
        problem = `record length ${length} runs past the end of the file`;
        break;
      }
      const payload = data.subarray(pos + RECORD_OVERHEAD, pos + RECORD_OVERHEAD + length);
      if ((crc32c(payload) >>> 0) !== data.readUInt32BE(pos + 4)) {
        problem = 'CRC mismatch';
        break;
      }
      let record: StoreRecord;
      try {
        record = decodePayload(payload);
      } catch (err) {
        throw new BrokerError('OFFSET_STORE_CORRUPT', `${this.file} at byte ${pos}: ${(err as Error).message}`, { cause: err });
      }
      const framed = Buffer.from(data.subarray(pos, pos + RECORD_OVERHEAD + length));
      this.live.apply(record, framed);
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
      validEnd = pos;
    }

    this.fh = await fsp.open(this.file, 'r+');
    if (problem !== undefined) {
      this.options.logger.warn({ file: this.file, position: validEnd, size: data.length, problem }, 'truncating the group metadata file at a torn or corrupt record');
      await this.fh.truncate(validEnd);
      await this.fh.sync();
    }
    this.size = validEnd;
    if (this.shouldCompact()) await this.compact();

    const offsetLists = new Map<string, StoredOffset[]>();
    for (const [groupId, m] of offsets) if (m.size > 0) offsetLists.set(groupId, [...m.values()]);
    return { groups, offsets: offsetLists };
  }

  /** Appends records; resolves once they are fsynced. Records of one call land contiguously and in order. */
  append(records: StoreRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('group metadata store is closed'));
    if (records.length === 0) return Promise.resolve();
    const framed = records.map(encodeRecord);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ framed, records, resolve, reject });
      if (this.writing === undefined) this.writing = this.drain();
    });
  }

  /** Bytes in the file and bytes of live (latest) records; for tests and logs. */
  stats(): { fileBytes: number; liveBytes: number } {
    return { fileBytes: this.size, liveBytes: this.live.bytes + HEADER_BYTES };
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      const data = Buffer.concat(batch.flatMap((p) => p.framed));
      try {
        await writeFully(this.fh!, data, this.size);
        await this.fh!.sync();
      } catch (err) {
        this.options.logger.error({ err, file: this.file }, 'group metadata write failed');
        // Cut off whatever part of the batch reached the file, so a later append does not follow garbage.
        await this.fh!.truncate(this.size).catch(() => undefined);
        for (const p of batch) p.reject(err);
        continue;
      }
      this.size += data.length;
      for (const p of batch) p.records.forEach((r, i) => this.live.apply(r, p.framed[i]!));
      for (const p of batch) p.resolve();
      if (this.shouldCompact()) {
        try {
          await this.compact();
        } catch (err) {
          this.options.logger.error({ err, file: this.file }, 'group metadata compaction failed; the file keeps growing');
        }
      }
    }
    this.writing = undefined;
  }

  private shouldCompact(): boolean {
    return this.size > this.options.segmentBytes && (this.live.bytes + HEADER_BYTES) * 2 < this.size;
  }

  private async writeSnapshot(records: Buffer[]): Promise<number> {
    const tmp = `${this.file}.tmp`;
    const data = Buffer.concat([fileHeader(), ...records]);
    const fh = await fsp.open(tmp, 'w');
    try {
      await writeFully(fh, data, 0);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
    await syncDir(this.dir);
    return data.length;
  }

  /** Rewrites the file with only the live records. */
  async compact(): Promise<void> {
    const before = this.size;
    const size = await this.writeSnapshot([...this.live.records.values()]);
    await this.fh?.close();
    this.fh = await fsp.open(this.file, 'r+');
    this.size = size;
    this.options.logger.info({ file: this.file, beforeBytes: before, afterBytes: size }, 'compacted the group metadata file');
  }

  /** Waits for queued writes, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing !== undefined) await this.writing;
    await this.fh?.close();
    this.fh = undefined;
  }
}
