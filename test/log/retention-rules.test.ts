// The retention decisions (log/retention.ts): which of the oldest segments each rule deletes, Kafka's
// UnifiedLog.deletableSegments and the three deleteXxxBreachedSegments predicates.
import { describe, expect, it } from 'vitest';
import { deletableSegmentCount, largestTimestamp, retentionRules, type RetentionSegment, type RetentionView } from '../../src/log/retention.js';

const NOW = 1_700_000_100_000;

function seg(baseOffset: bigint, size: number, maxTimestamp: number, rollingBaseMs?: number): RetentionSegment {
  return { baseOffset, size, maxTimestamp, rollingBaseMs };
}

/** Three sealed segments of 100 offsets and 1000 bytes, then the active one at 300. */
function view(overrides: Partial<RetentionView> & { active?: RetentionSegment } = {}): RetentionView {
  const segments = overrides.segments ?? [
    seg(0n, 1000, NOW - 10_000),
    seg(100n, 1000, NOW - 5_000),
    seg(200n, 1000, NOW - 1_000),
    overrides.active ?? seg(300n, 500, NOW - 100),
  ];
  return {
    segments,
    highWatermark: 350n,
    logEndOffset: 350n,
    logStartOffset: 0n,
    config: { delete: true, retentionMs: -1, retentionBytes: -1 },
    nowMs: NOW,
    ...overrides,
  };
}

describe('retention.ms', () => {
  it('deletes the oldest segments whose largest timestamp is older than retention.ms, stopping at the first newer one', () => {
    expect(deletableSegmentCount('retention-ms-breach', view({ config: { delete: true, retentionMs: 4_000, retentionBytes: -1 } }))).toBe(2);
    expect(deletableSegmentCount('retention-ms-breach', view({ config: { delete: true, retentionMs: 10_000, retentionBytes: -1 } }))).toBe(0);
  });

  it('is strict: a segment exactly retention.ms old stays', () => {
    expect(deletableSegmentCount('retention-ms-breach', view({ config: { delete: true, retentionMs: 5_000, retentionBytes: -1 } }))).toBe(1);
  });

  it('retention.ms -1 deletes nothing', () => {
    expect(deletableSegmentCount('retention-ms-breach', view({ nowMs: NOW + 1e12 }))).toBe(0);
  });

  it('covers the active segment too when it is past retention (the caller rolls it first)', () => {
    const v = view({ config: { delete: true, retentionMs: 50, retentionBytes: -1 } });
    expect(deletableSegmentCount('retention-ms-breach', v)).toBe(v.segments.length);
  });

  it('never deletes an empty active segment, so a log whose older segments all expired needs no roll', () => {
    const v = view({ active: seg(300n, 0, -1), highWatermark: 300n, logEndOffset: 300n, config: { delete: true, retentionMs: 50, retentionBytes: -1 } });
    expect(deletableSegmentCount('retention-ms-breach', v)).toBe(3);
  });

  it('stops at the segment whose offsets reach past the high watermark', () => {
    const v = view({ highWatermark: 150n, config: { delete: true, retentionMs: 50, retentionBytes: -1 } });
    expect(deletableSegmentCount('retention-ms-breach', v)).toBe(1);
  });

  it('a segment without timestamps is aged from its first append (the stand-in for the file mtime)', () => {
    expect(largestTimestamp(seg(0n, 10, -1, NOW - 7_000), NOW)).toBe(NOW - 7_000);
    expect(largestTimestamp(seg(0n, 10, NOW - 1, NOW - 7_000), NOW)).toBe(NOW - 1);
    const segments = [seg(0n, 1000, -1, NOW - 7_000), seg(100n, 1000, -1, NOW - 10), seg(200n, 0, -1)];
    expect(deletableSegmentCount('retention-ms-breach', view({ segments, highWatermark: 200n, logEndOffset: 200n, config: { delete: true, retentionMs: 5_000, retentionBytes: -1 } }))).toBe(1);
  });
});

describe('retention.bytes', () => {
  it('deletes the oldest segments while the partition stays at or above retention.bytes without them', () => {
    // 3500 bytes in all (1000 × 3 sealed + 500 active): the excess over retention.bytes is what may go, whole segments only.
    expect(deletableSegmentCount('retention-bytes-breach', view({ config: { delete: true, retentionMs: -1, retentionBytes: 2000 } }))).toBe(1);
    expect(deletableSegmentCount('retention-bytes-breach', view({ config: { delete: true, retentionMs: -1, retentionBytes: 1500 } }))).toBe(2);
    expect(deletableSegmentCount('retention-bytes-breach', view({ config: { delete: true, retentionMs: -1, retentionBytes: 500 } }))).toBe(3);
  });

  it('a partition smaller than retention.bytes, or retention.bytes -1, loses nothing', () => {
    expect(deletableSegmentCount('retention-bytes-breach', view({ config: { delete: true, retentionMs: -1, retentionBytes: 3501 } }))).toBe(0);
    expect(deletableSegmentCount('retention-bytes-breach', view())).toBe(0);
  });

  it('retention.bytes 0 covers the active segment too (the caller rolls it)', () => {
    const v = view({ config: { delete: true, retentionMs: -1, retentionBytes: 0 } });
    expect(deletableSegmentCount('retention-bytes-breach', v)).toBe(v.segments.length);
  });
});

describe('log start offset breach', () => {
  it('deletes the segments whose next segment starts at or below the log start offset', () => {
    expect(deletableSegmentCount('log-start-offset-breach', view({ logStartOffset: 150n }))).toBe(1);
    expect(deletableSegmentCount('log-start-offset-breach', view({ logStartOffset: 200n }))).toBe(2);
    expect(deletableSegmentCount('log-start-offset-breach', view({ logStartOffset: 99n }))).toBe(0);
  });

  it('never covers the active segment, whatever the log start offset', () => {
    expect(deletableSegmentCount('log-start-offset-breach', view({ logStartOffset: 350n }))).toBe(3);
  });
});

describe('rules per cleanup.policy', () => {
  it('delete runs all three rules in Kafka order; compact only the log start offset rule', () => {
    expect(retentionRules({ delete: true })).toEqual(['log-start-offset-breach', 'retention-bytes-breach', 'retention-ms-breach']);
    expect(retentionRules({ delete: false })).toEqual(['log-start-offset-breach']);
  });
});
