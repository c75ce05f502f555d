/**
 * Compares what a client produced with what kcat read back, and returns a short list of problems (empty when
 * all is well) instead of diffing 100 000-element arrays in an assertion.
 */
import { byPartition, offsetGaps, type KcatRecord } from '../../test/e2e/support/kcat.js';
import { indexOfValue, type TextMessage } from './messages.js';

const SAMPLES = 5;

export interface RoundTripReport {
  problems: string[];
  consumed: number;
  expected: number;
  perPartition: Record<number, number>;
}

export function verifyRoundTrip(
  expected: TextMessage[],
  records: KcatRecord[],
  expectedHeaders: Array<[string, string]>,
): RoundTripReport {
  const problems: string[] = [];
  const seen = new Uint8Array(expected.length);
  const mismatches: string[] = [];
  const duplicates: string[] = [];
  const unknown: string[] = [];
  const wantHeaders = JSON.stringify(expectedHeaders);

  for (const r of records) {
    const index = indexOfValue(r.payload);
    const want = index >= 0 && index < expected.length ? expected[index] : undefined;
    if (want === undefined) {
      unknown.push(`p${r.partition}@${r.offset}: ${JSON.stringify(r.payload?.slice(0, 60))}`);
      continue;
    }
    if (seen[index] === 1) duplicates.push(`#${index} again at p${r.partition}@${r.offset}`);
    seen[index] = 1;
    const gotHeaders = JSON.stringify(r.headers);
    if (r.key !== want.key || r.payload !== want.value || gotHeaders !== wantHeaders) {
      mismatches.push(
        `#${index} at p${r.partition}@${r.offset}: key ${JSON.stringify(r.key)} vs ${JSON.stringify(want.key)}, ` +
          `value ${r.payload === want.value ? 'equal' : `${JSON.stringify(r.payload?.slice(0, 80))} vs ${JSON.stringify(want.value.slice(0, 80))}`}, ` +
          `headers ${gotHeaders} vs ${wantHeaders}`,
      );
    }
  }
  const missing: number[] = [];
  for (let i = 0; i < expected.length; i++) if (seen[i] === 0) missing.push(i);

  if (unknown.length > 0) problems.push(`${unknown.length} records not produced by this test, e.g. ${unknown.slice(0, SAMPLES).join('; ')}`);
  if (duplicates.length > 0) problems.push(`${duplicates.length} duplicates, e.g. ${duplicates.slice(0, SAMPLES).join('; ')}`);
  if (mismatches.length > 0) problems.push(`${mismatches.length} byte mismatches, e.g. ${mismatches.slice(0, SAMPLES).join(' | ')}`);
  if (missing.length > 0) problems.push(`${missing.length} messages missing, e.g. #${missing.slice(0, SAMPLES * 2).join(', #')}`);

  const gaps = offsetGaps(records);
  if (gaps.length > 0) problems.push(`offsets not contiguous from 0: ${gaps.join('; ')}`);

  // Per key: a single partition, and the produce order preserved in offset order.
  const keyPartition = new Map<string, number>();
  const keyLastIndex = new Map<string, number>();
  const splitKeys: string[] = [];
  const reordered: string[] = [];
  const partitions = byPartition(records);
  const perPartition: Record<number, number> = {};
  for (const [partition, list] of [...partitions].sort((a, b) => a[0] - b[0])) {
    perPartition[partition] = list.length;
    for (const r of list) {
      if (r.key === null) continue;
      const index = indexOfValue(r.payload);
      const p = keyPartition.get(r.key);
      if (p === undefined) keyPartition.set(r.key, partition);
      else if (p !== partition && splitKeys.length < SAMPLES) splitKeys.push(`${r.key} in p${p} and p${partition}`);
      const last = keyLastIndex.get(r.key);
      if (last !== undefined && p === partition && index < last && reordered.length < SAMPLES) {
        reordered.push(`${r.key}: #${index} after #${last} (p${partition}@${r.offset})`);
      }
      keyLastIndex.set(r.key, index);
    }
  }
  if (splitKeys.length > 0) problems.push(`keys spread over partitions: ${splitKeys.join('; ')}`);
  if (reordered.length > 0) problems.push(`per-key order broken: ${reordered.join('; ')}`);

  return { problems, consumed: records.length, expected: expected.length, perPartition };
}
