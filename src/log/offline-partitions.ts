// Partitions whose log is offline after an I/O error, and how each comes back without a restart.
//
// A partition goes offline when its files fail: an append, flush or roll hits ENOSPC or EIO, or its files cannot
// be loaded at startup. Kafka takes the whole log directory offline (and a broker with one directory stops);
// Eddy isolates the one partition and keeps the rest of the broker serving, then retries that partition alone:
//
//   event                                   what happens
//   markOffline(key, cause, attempt)        the error is logged once (by the caller); attempt() is scheduled after
//                                           MIN_BACKOFF_MS, then after twice as long on each failure, capped at
//                                           MAX_BACKOFF_MS (a disk that stays full costs one probe per 30 s)
//   attempt() resolves                      the partition is online again; the entry is dropped
//   attempt() throws                        logged at debug (the first failure was logged at error), rescheduled
//   forget(key)                             the topic was deleted: no more attempts
//   close()                                 broker shutdown: timers cleared, no more attempts
//
// An attempt starts with probeWritable(): a small file written, fsynced and removed in the partition directory,
// so a still-full disk fails fast and cheaply before any log file is touched.
import type { Logger } from 'pino';
import type { LogFs } from './fs.js';

export const MIN_BACKOFF_MS = 500;
export const MAX_BACKOFF_MS = 30_000;
const PROBE_FILE = '.eddy-write-probe';
const PROBE_BYTES = 4096;

interface OfflineEntry {
  topic: string;
  partition: number;
  cause: Error;
  /** The recovery point to load from when it comes back (and to checkpoint meanwhile); undefined = start. */
  recoveryPoint: bigint | undefined;
  attempt: () => Promise<void>;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
}

export interface OfflinePartitionInfo {
  topic: string;
  partition: number;
  cause: Error;
  recoveryPoint: bigint | undefined;
}

/** Writes, fsyncs and removes a small file in `dir`: throws (ENOSPC, EIO, EROFS …) while the disk refuses writes. */
export async function probeWritable(fs: LogFs, dir: string): Promise<void> {
  const path = `${dir}/${PROBE_FILE}`;
  const file = await fs.open(path, 'w+');
  try {
    await file.writev([Buffer.alloc(PROBE_BYTES)], 0);
    await file.sync();
  } finally {
    await file.close().catch(() => undefined);
    await fs.unlink(path).catch(() => undefined);
  }
}

export class OfflinePartitions {
  private readonly entries = new Map<string, OfflineEntry>();
  private closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly backoff: { minMs: number; maxMs: number } = { minMs: MIN_BACKOFF_MS, maxMs: MAX_BACKOFF_MS },
  ) {}

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  list(): OfflinePartitionInfo[] {
    return [...this.entries.values()].map(({ topic, partition, cause, recoveryPoint }) => ({ topic, partition, cause, recoveryPoint }));
  }

  /** Records `key` as offline and schedules `attempt` (which throws while the partition cannot come back). */
  markOffline(
    key: string,
    info: { topic: string; partition: number; cause: Error; recoveryPoint: bigint | undefined },
    attempt: () => Promise<void>,
  ): void {
    if (this.closed) return;
    const existing = this.entries.get(key);
    if (existing) {
      existing.cause = info.cause;
      existing.attempt = attempt;
      return;
    }
    const entry: OfflineEntry = { ...info, attempt, backoffMs: this.backoff.minMs, timer: undefined, running: false };
    this.entries.set(key, entry);
    this.schedule(key, entry);
  }

  forget(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    this.entries.delete(key);
  }

  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) if (entry.timer) clearTimeout(entry.timer);
  }

  private schedule(key: string, entry: OfflineEntry): void {
    entry.timer = setTimeout(() => void this.run(key, entry), entry.backoffMs);
    entry.timer.unref();
  }

  private async run(key: string, entry: OfflineEntry): Promise<void> {
    entry.timer = undefined;
    if (this.closed || this.entries.get(key) !== entry || entry.running) return;
    entry.running = true;
    try {
      await entry.attempt();
      if (this.entries.get(key) === entry) this.entries.delete(key);
      this.logger.info({ topic: entry.topic, partition: entry.partition }, 'partition log is back online');
    } catch (err) {
      this.logger.debug({ topic: entry.topic, partition: entry.partition, err, retryInMs: entry.backoffMs }, 'partition log still offline');
      entry.backoffMs = Math.min(entry.backoffMs * 2, this.backoff.maxMs);
      if (!this.closed && this.entries.get(key) === entry) this.schedule(key, entry);
    } finally {
      entry.running = false;
    }
  }
}
