// Shared helpers for log tests: a temp data dir per test, a silent logger that records warnings, an fs wrapper
// that counts fsyncs and can inject faults, and small batch factories.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { nodeLogFs, type LogFile, type LogFs } from '../../src/log/fs.js';
import { readBatchHeader, type RecordBatchHeader } from '../../src/protocol/records/batch.js';
import { buildRecordBatch, type BuildRecord } from '../protocol/records/batch-builder.js';

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'eddy-log-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface CapturedLogger {
  logger: Logger;
  records: Array<{ level: number; msg: string; [k: string]: unknown }>;
  warnings(): Array<{ msg: string; [k: string]: unknown }>;
}

export function captureLogger(): CapturedLogger {
  const records: CapturedLogger['records'] = [];
  const stream = {
    write(line: string) {
      records.push(JSON.parse(line));
    },
  };
  const logger = pino({ level: 'debug' }, stream);
  return { logger, records, warnings: () => records.filter((r) => r.level === 40) };
}

export interface CountingFs extends LogFs {
  syncs: number;
  writes: number;
  /** Bytes read from .log files. */
  logBytesRead: number;
  /** Read calls on .log files. */
  logReads: number;
  /** When true, every .log writev writes at most half of what it was given (a legal short write). */
  shortWrites: boolean;
  /** When set, called (and awaited) before each writev/sync; throw to inject a fault, or delay it. */
  fault: ((op: 'writev' | 'sync', path: string) => void | Promise<void>) | undefined;
}

export function countingFs(base: LogFs = nodeLogFs): CountingFs {
  const fs: CountingFs = {
    ...base,
    syncs: 0,
    writes: 0,
    logBytesRead: 0,
    logReads: 0,
    shortWrites: false,
    fault: undefined,
    async open(path, flags) {
      const file = await base.open(path, flags);
      const wrapped: LogFile = {
        read: async (b, o, l, p) => {
          const n = await file.read(b, o, l, p);
          if (path.endsWith('.log')) {
            fs.logBytesRead += n;
            fs.logReads++;
          }
          return n;
        },
        writev: async (buffers, position) => {
          await fs.fault?.('writev', path);
          if (path.endsWith('.log')) fs.writes++;
          if (fs.shortWrites && path.endsWith('.log')) {
            const all = Buffer.concat(buffers);
            return file.writev([all.subarray(0, Math.max(1, all.length >> 1))], position);
          }
          return file.writev(buffers, position);
        },
        sync: async () => {
          await fs.fault?.('sync', path);
          if (path.endsWith('.log')) fs.syncs++;
          return file.sync();
        },
        truncate: (l) => file.truncate(l),
        size: () => file.size(),
        close: () => file.close(),
      };
      return wrapped;
    },
  };
  return fs;
}

/** A produced batch (baseOffset 0) with `count` records and its parsed header. */
export function producedBatch(
  count: number,
  options: { valueBytes?: number; baseTimestamp?: bigint; tag?: string; timestampStep?: number } = {},
): { batch: Buffer; header: RecordBatchHeader } {
  const records: BuildRecord[] = [];
  for (let i = 0; i < count; i++) {
    records.push({
      key: `k${i}`,
      value: options.valueBytes !== undefined ? Buffer.alloc(options.valueBytes, i) : `${options.tag ?? 'v'}-${i}`,
      timestampDelta: i * (options.timestampStep ?? 1),
    });
  }
  const batch = buildRecordBatch({ records, baseTimestamp: options.baseTimestamp ?? 1_700_000_000_000n });
  return { batch, header: readBatchHeader(batch) };
}

/** Splits a buffer of whole batches into their headers. */
export function batchHeaders(buf: Buffer): RecordBatchHeader[] {
  const out: RecordBatchHeader[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const h = readBatchHeader(buf, pos);
    out.push(h);
    pos += 12 + h.batchLength;
  }
  return out;
}
