// Shared by the replication tests (replication-*.test.ts): partition logs in a temp dir, batches as a leader wrote
// them (offsets and partitionLeaderEpoch set), and readers of what a log holds.
import { cp, rm } from 'node:fs/promises';
import { DEFAULT_LOG_CONFIG, type LogConfig } from '../../src/log/log-config.js';
import { PartitionLog, type PartitionLogOptions } from '../../src/log/partition-log.js';
import { readBatchHeader, type RecordBatchHeader } from '../../src/protocol/records/batch.js';
import { buildEndTxnMarkerBatch } from '../../src/protocol/records/control-batch.js';
import { buildRecordBatch } from '../protocol/records/batch-builder.js';
import { captureLogger, countingFs, makeTempDir, type CountingFs } from './helpers.js';

export const NOW = Date.now();
export const TRANSACTIONAL = 0x10;

export class LogDirs {
  base = '';
  private cleanupDir: (() => Promise<void>) | undefined;
  private readonly opened: PartitionLog[] = [];

  async setUp(): Promise<void> {
    const { dir, cleanup } = await makeTempDir();
    this.base = dir;
    this.cleanupDir = cleanup;
  }

  async tearDown(): Promise<void> {
    for (const log of this.opened.splice(0)) await log.close({ flush: false }).catch(() => undefined);
    await this.cleanupDir?.();
  }

  options(name: string, config: Partial<LogConfig> = {}, fs: CountingFs = countingFs(), extra: Partial<PartitionLogOptions> = {}): PartitionLogOptions {
    return {
      dir: `${this.base}/${name}-0`,
      topic: name,
      partition: 0,
      config: { ...DEFAULT_LOG_CONFIG, ...config },
      fs,
      logger: captureLogger().logger,
      clock: () => NOW,
      ...extra,
    };
  }

  async create(name: string, config: Partial<LogConfig> = {}, fs?: CountingFs, extra: Partial<PartitionLogOptions> = {}): Promise<PartitionLog> {
    const log = await PartitionLog.create(this.options(name, config, fs, extra));
    this.opened.push(log);
    return log;
  }

  async load(
    name: string,
    load: { clean: boolean; recoveryPoint?: bigint; logStartOffset?: bigint },
    config: Partial<LogConfig> = {},
    fs?: CountingFs,
  ): Promise<PartitionLog> {
    const log = await PartitionLog.load({ ...this.options(name, config, fs), clean: load.clean, recoveryPoint: load.recoveryPoint, logStartOffset: load.logStartOffset });
    this.opened.push(log);
    return log;
  }

  /** The files of `from`'s directory as a kill -9 would leave them (copied while the log is open), named `to`. */
  async snapshotDir(from: string, to: string): Promise<void> {
    // Background producer snapshots are written to a temp name and renamed: a copy racing one retries.
    for (let attempt = 0; ; attempt++) {
      try {
        await cp(`${this.base}/${from}-0`, `${this.base}/${to}-0`, { recursive: true, force: true, filter: (src) => !src.endsWith('.tmp') });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
        await rm(`${this.base}/${to}-0`, { recursive: true, force: true });
      }
    }
  }
}

/** A batch as a leader wrote it: `count` records from `baseOffset`, stamped with `epoch`. */
export function leaderBatch(
  baseOffset: bigint,
  count: number,
  epoch: number,
  options: { producerId?: bigint; producerEpoch?: number; baseSequence?: number; transactional?: boolean; valueBytes?: number; tag?: string } = {},
): Buffer {
  return buildRecordBatch({
    baseOffset,
    partitionLeaderEpoch: epoch,
    producerId: options.producerId ?? -1n,
    producerEpoch: options.producerEpoch ?? (options.producerId !== undefined ? 0 : -1),
    baseSequence: options.baseSequence ?? (options.producerId !== undefined ? 0 : -1),
    attributes: options.transactional ? TRANSACTIONAL : 0,
    baseTimestamp: BigInt(NOW),
    records: Array.from({ length: count }, (_, i) => ({
      key: `k${i}`,
      value: options.valueBytes !== undefined ? Buffer.alloc(options.valueBytes, i) : `${options.tag ?? 'v'}-${baseOffset + BigInt(i)}`,
    })),
  });
}

/** A COMMIT/ABORT marker at `offset` as a leader wrote it. */
export function leaderMarker(offset: bigint, epoch: number, producerId: bigint, commit: boolean, producerEpoch = 0): Buffer {
  const bytes = buildEndTxnMarkerBatch(producerId, producerEpoch, { commit, coordinatorEpoch: 0 }, BigInt(NOW));
  bytes.writeBigInt64BE(offset, 0);
  bytes.writeInt32BE(epoch, 12);
  return bytes;
}

/** A produced batch (base offset 0) and its header, as Produce hands it to append(). */
export function produced(count: number, options: { producerId?: bigint; producerEpoch?: number; baseSequence?: number; transactional?: boolean } = {}): {
  bytes: Buffer;
  header: RecordBatchHeader;
} {
  const bytes = leaderBatch(0n, count, -1, options);
  return { bytes, header: readBatchHeader(bytes) };
}

/** Headers of the whole batches in `buf` (null: none). */
export function headersOf(buf: Buffer | null): RecordBatchHeader[] {
  const out: RecordBatchHeader[] = [];
  for (let pos = 0; buf !== null && pos + 61 <= buf.length; pos += 12 + buf.readInt32BE(pos + 8)) out.push(readBatchHeader(buf, pos));
  return out;
}

/** Every batch of the log from its start, read as a replica does (up to the log end offset). */
export async function allBatches(log: PartitionLog): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  for (let i = 0; i < 10_000 && offset < log.logEndOffset; i++) {
    const buf = await log.readForReplica(offset, 1 << 20);
    const headers = headersOf(buf);
    if (buf === null || headers.length === 0) break;
    parts.push(buf);
    const last = headers.at(-1)!;
    offset = last.baseOffset + BigInt(last.lastOffsetDelta) + 1n;
  }
  return Buffer.concat(parts);
}
