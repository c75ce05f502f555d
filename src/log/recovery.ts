// Recovery of a segment after an unclean shutdown (or when its indexes are missing or corrupt), following
// Kafka's LogSegment.recover: walk the .log from position 0 batch by batch, check each batch's framing, magic
// and CRC, rebuild both indexes from what is valid, and truncate the file at the first torn or corrupt batch.
// The caller (PartitionLog.load) then deletes every later segment, because offsets after a hole cannot be
// trusted. The checks, in the order they are made (the first failure ends the valid log):
//
//   check                                            reason logged
//   fewer than 61 bytes left in the file             torn batch header
//   batchLength < 49                                 invalid batchLength
//   batch runs past the end of the file              torn batch
//   magic != 2                                       unsupported magic
//   CRC-32C mismatch                                 CRC mismatch
//   baseOffset below the previous batch's end        offsets go backwards
//   lastOffsetDelta < 0 or relative offset >= 2^31   invalid offset range
import {
  LAST_OFFSET_DELTA_OFFSET,
  LOG_OVERHEAD,
  MAGIC_OFFSET,
  MAX_TIMESTAMP_OFFSET,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  RECORD_BATCH_HEADER_SIZE,
  batchCrcIsValid,
} from '../protocol/records/batch.js';
import type { LogFs } from './fs.js';
import type { LogSegment } from './segment.js';

/** Bytes read per syscall while walking a segment. */
const WALK_CHUNK_BYTES = 1024 * 1024;
/** Bytes read per syscall when only batch headers are checked: a large batch's body is skipped, not read. */
const HEADER_WALK_CHUNK_BYTES = 64 * 1024;

/**
 * How much of each batch a walk verifies.
 * | mode          | checks                                                    | when                              |
 * |---------------|-----------------------------------------------------------|-----------------------------------|
 * | 'every-batch' | length, magic, offsets and CRC-32C of every batch         | after an OS crash or power loss,  |
 * |               |                                                           | or when the boot is unknown       |
 * | 'last-batch'  | length, magic and offsets of every batch; CRC-32C of the  | after a crash of the broker       |
 * |               | segment's last batch only                                 | process alone (same kernel boot)  |
 * After a process crash the page cache still holds every byte each completed write() put there, so older batches
 * read back exactly as written; only the last write can be cut short, and a short write leaves the file ending
 * inside its last batch (caught by the length check) or a last batch whose CRC fails. Skipping the CRC of the
 * rest keeps a restart after `kill -9` from reading every unflushed byte (LogManager decides the mode).
 */
export type CrcCheck = 'every-batch' | 'last-batch';

export interface SegmentRecovery {
  /** Bytes of valid batches; the file was truncated to this. */
  validBytes: number;
  /** Bytes removed from the end of the file. */
  truncatedBytes: number;
  /** Offset after the last valid batch. */
  nextOffset: bigint;
  /** Why the walk stopped early, when it did. */
  reason: string | undefined;
}

/**
 * Walks and repairs one segment. `active`: the segment will be appended to, so its rebuilt index files are
 * written without fsync (the log's next flush covers them); otherwise they are replaced atomically and durably.
 */
export async function recoverSegment(
  segment: LogSegment,
  fs: LogFs,
  dir: string,
  options: {
    active: boolean;
    crcCheck?: CrcCheck;
    fromLastIndexEntry?: boolean;
    /** Called for each valid batch walked, in order (the leader-epoch cache, LogSegment.recover). */
    onBatch?: (partitionLeaderEpoch: number, baseOffset: bigint) => void;
  } = { active: false },
): Promise<SegmentRecovery> {
  const everyCrc = (options.crcCheck ?? 'every-batch') === 'every-batch';
  const chunkBytes = everyCrc ? WALK_CHUNK_BYTES : HEADER_WALK_CHUNK_BYTES;
  // Only with 'last-batch' checking (a process-only crash) may the walk trust the loaded index and start at its
  // last entry; otherwise the index is rebuilt from the segment start.
  const start = options.fromLastIndexEntry === true && !everyCrc ? segment.continueIndexesFromLastEntry() : undefined;
  const startPosition = start?.position ?? 0;
  if (startPosition === 0) segment.resetIndexes();
  const fileSize = segment.size;
  let chunk: Buffer = Buffer.alloc(0);
  let chunkPosition = startPosition;
  let pos = startPosition;
  // Offset after the last valid batch: when the walk starts mid-segment, the batch there begins at the entry's offset.
  let next = startPosition === 0 ? segment.baseOffset : start!.baseOffset;
  let reason: string | undefined;

  // One read buffer for the whole walk (grown only for a batch larger than it): allocating a fresh 1 MiB
  // buffer per read made the walk of 1 GB spend more time in the allocator and GC than in CRC-32C.
  let readBuffer = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(fileSize, RECORD_BATCH_HEADER_SIZE)));
  const ensure = async (length: number): Promise<void> => {
    if (pos + length <= chunkPosition + chunk.length) return;
    const want = Math.max(length, Math.min(chunkBytes, fileSize - pos));
    if (want > readBuffer.length) readBuffer = Buffer.allocUnsafe(want);
    chunk = await segment.readInto(readBuffer, pos, want);
    chunkPosition = pos;
  };

  while (pos < fileSize) {
    if (fileSize - pos < RECORD_BATCH_HEADER_SIZE) {
      reason = 'torn batch header';
      break;
    }
    await ensure(RECORD_BATCH_HEADER_SIZE);
    let off = pos - chunkPosition;
    const batchLength = chunk.readInt32BE(off + 8);
    if (batchLength < MIN_BATCH_LENGTH) {
      reason = `invalid batchLength ${batchLength}`;
      break;
    }
    const size = LOG_OVERHEAD + batchLength;
    if (pos + size > fileSize) {
      reason = 'torn batch';
      break;
    }
    const magic = chunk.readInt8(off + MAGIC_OFFSET);
    if (magic !== 2) {
      reason = `unsupported magic ${magic}`;
      break;
    }
    if (everyCrc || pos + size === fileSize) {
      await ensure(size);
      off = pos - chunkPosition;
      if (!batchCrcIsValid(chunk, off)) {
        reason = 'CRC mismatch';
        break;
      }
    }
    const baseOffset = chunk.readBigInt64BE(off);
    if (baseOffset < next) {
      reason = `offsets go backwards (${baseOffset} after ${next - 1n})`;
      break;
    }
    const lastOffsetDelta = chunk.readInt32BE(off + LAST_OFFSET_DELTA_OFFSET);
    const lastOffset = baseOffset + BigInt(lastOffsetDelta);
    if (lastOffsetDelta < 0 || lastOffset - segment.baseOffset > 0x7fffffffn) {
      reason = `invalid offset range ${baseOffset}..${lastOffset}`;
      break;
    }
    const maxTimestamp = Number(chunk.readBigInt64BE(off + MAX_TIMESTAMP_OFFSET));
    segment.indexBatch(pos, size, baseOffset, lastOffset, maxTimestamp);
    options.onBatch?.(chunk.readInt32BE(off + PARTITION_LEADER_EPOCH_OFFSET), baseOffset);
    next = lastOffset + 1n;
    pos += size;
  }

  segment.indexMaxTimestamp();
  if (pos < fileSize) await segment.truncateTo(pos);
  segment.size = pos;
  segment.visibleSize = pos;
  segment.nextOffset = next;
  await segment.writeIndexFiles(fs, dir, { durable: !options.active });
  return { validBytes: pos, truncatedBytes: fileSize - pos, nextOffset: next, reason };
}
