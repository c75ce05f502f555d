// Truncation of a replica's log (Kafka's UnifiedLog.truncateTo / truncateFullyAndStartAt, LocalLog.truncateTo,
// LogSegment.truncateTo): a follower cuts the tail that diverges from its leader (the offset comes from
// OffsetForLeaderEpoch or a Fetch answer's divergingEpoch), or, when its log ends below the leader's log start
// offset, throws the whole log away and starts empty there. PartitionLog runs the steps below with its append queue
// drained and held and its segment gate closed (no read in flight, none starting), so nothing sees a half-cut log.
//
//   truncateTo(offset), firstSegmentBase <= offset < logEndOffset        Kafka
//   1 segments with baseOffset > offset: deleted, newest first            LocalLog.truncateTo (removeAndDeleteSegments)
//     (.log, .index, .timeindex, .txnindex unlinked)
//   2 the segment holding offset: the batch containing it and all later   LogSegment.truncateTo
//     ones cut from the .log; index entries at/after it removed; index
//     files rewritten atomically; .log fsynced; it is the active segment
//   3 partition directory fsynced (the unlinks are durable)
//   4 leader-epoch cache truncateFromEnd(offset), checkpoint written      leaderEpochCache.truncateFromEnd
//   5 aborted transactions whose marker is at/after offset removed         txnIndex.truncateTo
//     (memory, and that segment's .txnindex cut)
//   6 producer state truncated and reloaded: snapshots above offset        rebuildProducerState →
//     deleted, the newest at or below it loaded, batches after it          ProducerStateManager.truncateAndReload
//     replayed up to offset (skipped when no producer was known)
//   7 logEndOffset = offset, highWatermark = min(HW, offset), recovery    updateLogEndOffset, updateHighWatermark
//     point = min(recovery point, offset), log start = min(start, offset)
//   8 the owner's checkpoints (LogManager: recovery points, log start      LogManager.truncateTo →
//     offsets) written before the next append                              checkpointRecoveryOffsetsInDir
//
//   offset < firstSegmentBase, or truncateFullyAndStartAt(offset): every segment deleted newest first, one empty
//   segment created at offset and the directory fsynced, the epoch cache cleared and written, every producer
//   snapshot and .txnindex removed, log start = log end = HW = recovery point = offset.
//
// Crash safety (kill -9 or power loss at any point): the files are removed newest first, so every crash leaves a
// prefix of the old log, which loads as a consistent (longer) log; the follower then truncates again. Once step 2
// returns, the cut is on disk. A checkpointed recovery point above the new end is harmless until new data arrives
// (the segment holding it is walked at load); step 8 lowers it before any append, because a stale one could
// otherwise skip the walk of data appended after the cut. The epoch cache and producer snapshots are repaired by
// load either way (truncateFromEnd at the recovered end; snapshots above it deleted), and a .txnindex entry past the
// end is cut at load (txn-index.ts).
import type { LogFs } from './fs.js';
import type { LogSegment } from './segment.js';
import { txnIndexFileName } from './txn-index.js';

/** The segments a truncation to `offset` deletes (base offset above it) and the one it cuts (the last kept). */
export function truncationPlan(segments: readonly LogSegment[], offset: bigint): { kept: LogSegment[]; deleted: LogSegment[] } {
  let keep = segments.length;
  while (keep > 1 && segments[keep - 1]!.baseOffset > offset) keep--;
  return { kept: segments.slice(0, keep), deleted: segments.slice(keep) };
}

/** Step 1: closes and unlinks `segments` (oldest first in the array), newest first, with their `.txnindex` files. */
export async function deleteSegmentsNewestFirst(segments: readonly LogSegment[], fs: LogFs, dir: string): Promise<void> {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    await segment.deleteFiles(fs, dir);
    await fs.unlink(`${dir}/${txnIndexFileName(segment.baseOffset)}`);
  }
}
