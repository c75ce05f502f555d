// Retention: which of a partition's oldest segments go (Kafka 3.9's UnifiedLog.deleteOldSegments and
// deletableSegments), and the `.deleted` files a removed segment leaves until they are unlinked
// (LocalLog.deleteSegmentFiles). PartitionLog.deleteOldSegments applies a plan; LogManager runs it for every log
// each `log.retention.check.interval.ms`.
//
// One pass runs these rules in Kafka's order; the second and third only when cleanup.policy contains `delete`
// (Kafka's LogConfig.delete; a `compact` only log still loses what lies below its log start offset):
//
//   rule                       a segment (oldest first) may go when                       Kafka
//   log-start-offset-breach    the next segment's base offset <= the log start offset     deleteLogStartOffsetBreachedSegments
//   retention-bytes-breach     the partition's size minus retention.bytes still covers    deleteRetentionSizeBreachedSegments
//                              this segment's size (counted cumulatively); retention.bytes
//                              < 0, or a size below it: none
//   retention-ms-breach        now - its largest timestamp > retention.ms (< 0: none)     deleteRetentionMsBreachedSegments
//
// Each rule walks from the oldest segment and stops at the first one that may not go, at the first one whose
// offsets reach the high watermark (its upper bound, the next segment's base or the log end offset, is above the
// high watermark: the log start offset never passes the high watermark), and before an empty last segment.
// When every segment, the active one included, may go, the active segment is rolled first (Kafka's deleteSegments
// rolls when the plan covers every segment), so the log keeps one empty segment at the log end offset and the log
// start offset becomes the log end offset; an empty active segment is never deleted, so a log whose only data
// was in older segments needs no roll.
//
// A segment's largest timestamp is its largest batch maxTimestamp. Kafka falls back to the file's last-modified
// time for a segment without one (no batch carried a timestamp: -1); Eddy, whose file layer has no mtime, uses the
// time the segment's first append arrived (its rolling base) instead, which is never later than the file's mtime
// and therefore never keeps data longer than Kafka would.
//
// Removed segments leave the log at once (the log start offset moves to the next segment's base); their files are
// renamed `<name>.deleted` (Kafka's LogFileUtils.DELETED_FILE_SUFFIX) and unlinked file.delete.delay.ms later.
// `.deleted` files found when a log is loaded are leftovers of a crash or shutdown inside that delay and are
// unlinked at once (Kafka's LogLoader.removeTempFilesAndCollectSwapFiles).
import type { LogConfig } from './log-config.js';

export const DELETED_FILE_SUFFIX = '.deleted';

export type SegmentDeletionReason = 'log-start-offset-breach' | 'retention-bytes-breach' | 'retention-ms-breach';

/** What the rules need of one segment. */
export interface RetentionSegment {
  readonly baseOffset: bigint;
  /** Bytes in the .log. */
  readonly size: number;
  /** Largest batch maxTimestamp, or -1 when no batch had one. */
  readonly maxTimestamp: number;
  /** When the segment's first append arrived (the segment.ms base); undefined for a segment never written. */
  readonly rollingBaseMs: number | undefined;
}

/** The partition as the rules see it: segments oldest first, the active one last. */
export interface RetentionView {
  readonly segments: readonly RetentionSegment[];
  readonly highWatermark: bigint;
  readonly logEndOffset: bigint;
  readonly logStartOffset: bigint;
  readonly config: Pick<LogConfig, 'delete' | 'retentionMs' | 'retentionBytes'>;
  readonly nowMs: number;
}

/** The rules a pass applies to a log with this config, in Kafka's order. */
export function retentionRules(config: Pick<LogConfig, 'delete'>): readonly SegmentDeletionReason[] {
  return config.delete ? ['log-start-offset-breach', 'retention-bytes-breach', 'retention-ms-breach'] : ['log-start-offset-breach'];
}

/** Kafka's LogSegment.largestTimestamp, with the rolling base standing in for the file's mtime (header). */
export function largestTimestamp(segment: RetentionSegment, nowMs: number): number {
  return segment.maxTimestamp >= 0 ? segment.maxTimestamp : (segment.rollingBaseMs ?? nowMs);
}

/**
 * How many of the oldest segments `rule` deletes (0 … segments.length). segments.length means the active segment
 * goes too: the caller rolls it first and asks again (header).
 */
export function deletableSegmentCount(rule: SegmentDeletionReason, view: RetentionView): number {
  const { segments, config } = view;
  let mayGo: (segment: RetentionSegment, next: RetentionSegment | undefined) => boolean;
  switch (rule) {
    case 'log-start-offset-breach':
      mayGo = (_segment, next) => next !== undefined && next.baseOffset <= view.logStartOffset;
      break;
    case 'retention-bytes-breach': {
      if (config.retentionBytes < 0) return 0;
      let size = 0;
      for (const s of segments) size += s.size;
      if (size < config.retentionBytes) return 0;
      let diff = size - config.retentionBytes;
      mayGo = (segment) => {
        if (diff - segment.size < 0) return false;
        diff -= segment.size;
        return true;
      };
      break;
    }
    case 'retention-ms-breach':
      if (config.retentionMs < 0) return 0;
      mayGo = (segment) => view.nowMs - largestTimestamp(segment, view.nowMs) > config.retentionMs;
      break;
  }
  let count = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const next = segments[i + 1];
    if (next === undefined && segment.size === 0) break;
    const upperBoundOffset = next !== undefined ? next.baseOffset : view.logEndOffset;
    if (view.highWatermark < upperBoundOffset || !mayGo(segment, next)) break;
    count++;
  }
  return count;
}

/** The files of a removed segment, renamed in this order (the .log first: without it the rest is never loaded). */
export function deletedFileName(name: string): string {
  return name + DELETED_FILE_SUFFIX;
}

/** True for a file a removed segment left behind (`….deleted`). */
export function isDeletedFile(name: string): boolean {
  return name.endsWith(DELETED_FILE_SUFFIX);
}
