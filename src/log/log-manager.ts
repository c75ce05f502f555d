// The data directory: finds, loads and recovers every partition log, creates and deletes them, and owns the
// two files that make restarts fast and safe (formats in checkpoint.ts):
//
//   <dataDir>/.kafka_cleanshutdown                present only after a clean close()
//   <dataDir>/.boot-id                            the kernel boot id of the last broker that opened the dir:
//                                                 tells a process crash (same boot) from an OS crash
//   <dataDir>/recovery-point-offset-checkpoint    per-partition recovery points, rewritten every
//                                                 checkpointIntervalMs (Kafka: log.flush.offset.checkpoint
//                                                 .interval.ms, 60 s), after flushAll(), after a replica's
//                                                 log is truncated (before its next append) and on close()
//   <dataDir>/log-start-offset-checkpoint         log start offsets moved inside a segment (DeleteRecords),
//                                                 rewritten after a log start offset moves, with the recovery
//                                                 points and on close()
//   <dataDir>/<topic>-<partition>/                one PartitionLog each (topic names may contain '-', so the
//                                                 partition is after the LAST dash)
//   <dataDir>/<topic>-<partition>.<id>-delete/    a deleted log not yet removed; removed at startup
//
// Startup: with the clean-shutdown marker, logs are loaded from their index files and the last batch header of
// each active segment only (no walking, so start-up time does not grow with the data). Without it, each log
// is recovered from its checkpointed recovery point (PartitionLog.load). The marker is then deleted (and the
// deletion made durable) so a later crash is recognised. Other files and directories are ignored.
//
// Retention: every `retentionCheckIntervalMs` (Kafka's log.retention.check.interval.ms, 5 minutes; the first run one
// interval after startup, where Kafka waits log.initial.task.delay.ms, 30 s) each log runs one retention pass
// (PartitionLog.deleteOldSegments, rules in retention.ts), one log at a time, off the request path; a pass still
// running when the next is due makes that one skip. deleteRecords() moves a log start offset for DeleteRecords and
// answers once the checkpoint holding it is written. Unlike Kafka, where the log cleaner thread runs retention for
// compacted logs between cleanings, this task covers every log; a cleaning and a retention pass of the same log
// exclude each other at the log's segment gate (PartitionLog.replaceSegments refuses a swap of removed segments).
//
// Compaction: startCleaner() runs the log cleaner (cleaner/log-cleaner.ts) over this manager's logs, with its
// `cleaner-offset-checkpoint` in the data dir; close() stops it before closing any log.
//
// File handles: every log file goes through one FileHandleCache (file-handle-cache.ts) capped at
// `maxOpenFiles` (`log.max.open.files`; default half the process's fd soft limit), so the number of partitions is
// bounded by memory and `max.broker.partitions`, not by `ulimit -n`.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  CLEAN_SHUTDOWN_FILE,
  LOG_START_OFFSET_CHECKPOINT_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  encodeOffsetCheckpoint,
  readOffsetCheckpoint,
  tpKey,
} from './checkpoint.js';
import { KafkaError } from '../errors.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { FileHandleCache, defaultMaxOpenFiles, type FileHandleCacheStats } from './file-handle-cache.js';
import { nodeLogFs, type LogFs } from './fs.js';
import { OfflinePartitions, probeWritable } from './offline-partitions.js';
import type { CrcCheck } from './recovery.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import { PartitionLog } from './partition-log.js';
import { DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS } from './producer-state.js';
import { LogCleaner, type CleanerConfig } from './cleaner/log-cleaner.js';

export { PartitionLog, waitForAppend, type AppendResult, type WakeReason } from './partition-log.js';
export { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';

export interface LogManagerOptions {
  dataDir: string;
  logger: Logger;
  defaultConfig?: Partial<LogConfig>;
  /** Settings of the topics already known (from the topic registry), so their logs load with them. */
  topicConfigs?: ReadonlyMap<string, LogConfig>;
  /** File system (tests inject faults and count fsyncs). */
  fs?: LogFs;
  /** Epoch milliseconds (tests inject a clock for segment.ms). */
  clock?: () => number;
  /** How often recovery points are checkpointed; default 60 s. */
  checkpointIntervalMs?: number;
  /** Logs loaded in parallel at startup; default 8. */
  loadConcurrency?: number;
  /** Cap on log files open at once (`log.max.open.files`); default: half the fd soft limit (file-handle-cache.ts). */
  maxOpenFiles?: number;
  /**
   * After a crash of the broker process alone (the kernel boot that wrote the data is still running), verify
   * only each walked segment's last batch CRC (recovery.ts explains why that is enough). Default false: every
   * batch is checked, as Kafka does.
   */
  trustPageCacheAfterProcessCrash?: boolean;
  /** `producer.id.expiration.ms`: idle idempotent producers are forgotten after it; default one day. */
  producerIdExpirationMs?: number;
  /** `producer.id.expiration.check.interval.ms`: how often expiration runs; default 10 minutes. */
  producerIdExpirationCheckIntervalMs?: number;
  /** `log.retention.check.interval.ms`: how often retention runs over every log; default 5 minutes. */
  retentionCheckIntervalMs?: number;
}

/** Kafka's log.retention.check.interval.ms default. */
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 300_000;

/** Logs closed at once by close(). */
const CLOSE_CONCURRENCY = 16;

/** Promise.allSettled over `items`, running at most `concurrency` of `fn` at a time; results in item order. */
async function settleBounded<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const results: PromiseSettledResult<void>[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!);
        results[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Where Linux names the current boot; elsewhere there is no boot id and every unclean start checks everything. */
const KERNEL_BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
/** The boot id of the last broker that opened this data dir (a line of text; unreadable = unknown). */
export const BOOT_ID_FILE = '.boot-id';

/** `<topic>-<partition>` → its parts, or undefined when the name is not a partition directory. */
export function parseLogDirName(name: string): { topic: string; partition: number } | undefined {
  if (name.endsWith('-delete')) return undefined;
  const dash = name.lastIndexOf('-');
  if (dash <= 0) return undefined;
  const partitionText = name.slice(dash + 1);
  if (!/^\d{1,10}$/.test(partitionText)) return undefined;
  const partition = Number(partitionText);
  if (partition > 0x7fffffff) return undefined;
  return { topic: name.slice(0, dash), partition };
}

/**
 * `<topic>-<partition>.<uuid>-delete`, the name a deleted log's directory is renamed to, with the topic cut so
 * the name fits in 255 bytes as Kafka's LocalLog.logDirNameWithSuffixCappedLength does (a 249-character topic
 * name plus the suffix would otherwise fail with ENAMETOOLONG).
 */
export function deletedLogDirName(key: string): string {
  const dash = key.lastIndexOf('-');
  const topic = key.slice(0, dash);
  const suffix = `-${key.slice(dash + 1)}.${randomUUID().replaceAll('-', '')}-delete`;
  return `${topic.slice(0, Math.max(0, 255 - suffix.length))}${suffix}`;
}

export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private producerExpirationTimer: NodeJS.Timeout | undefined;
  private producerIdExpirationMs: number | undefined;
  private lastCheckpoint = '';
  private checkpointing: Promise<void> = Promise.resolve();
  private lastLogStartCheckpoint = '';
  private logStartCheckpointing: Promise<void> = Promise.resolve();
  /** Log start offsets of partitions that are offline (from the checkpoint or the log that failed): kept in it. */
  private readonly offlineLogStartOffsets = new Map<string, bigint>();
  private retentionTimer: NodeJS.Timeout | undefined;
  private retentionRun: Promise<void> | undefined;
  /** Shared by every log: a log start offset moved, so the checkpoint is rewritten (coalesced). */
  private readonly onLogStartOffsetIncremented = (): Promise<void> =>
    this.writeLogStartOffsetCheckpoint().catch((err: unknown) => {
      this.logger.error({ err, file: LOG_START_OFFSET_CHECKPOINT_FILE }, 'failed to write the log start offset checkpoint');
      throw err;
    });
  /**
   * Shared by every log: a replica's log was truncated (PartitionLog.truncateTo, truncateFullyAndStartAt), so its
   * lowered recovery point and log start offset are checkpointed before it takes another append (Kafka's
   * LogManager.truncateTo → checkpointRecoveryOffsetsInDir).
   */
  private readonly onLogTruncated = async (): Promise<void> => {
    await this.writeCheckpoint();
    await this.onLogStartOffsetIncremented();
  };
  private closed = false;
  private cleaner: LogCleaner | undefined;
  private readonly offline: OfflinePartitions;
  /** Shared by every log (one closure, not one per partition). */
  private readonly onLogFailure = (log: PartitionLog, cause: Error): void => this.takeOffline(log, cause);

  private constructor(
    readonly dataDir: string,
    private readonly logger: Logger,
    readonly defaultConfig: LogConfig,
    private readonly fs: LogFs,
    private readonly clock: (() => number) | undefined,
    private readonly files: FileHandleCache,
  ) {
    this.offline = new OfflinePartitions(logger);
  }

  static async open(options: LogManagerOptions): Promise<LogManager> {
    const fs = options.fs ?? nodeLogFs;
    const defaultConfig: LogConfig = { ...DEFAULT_LOG_CONFIG, ...options.defaultConfig };
    const maxOpenFiles = options.maxOpenFiles ?? (await defaultMaxOpenFiles(fs));
    const files = new FileHandleCache(fs, maxOpenFiles, options.logger);
    const manager = new LogManager(options.dataDir, options.logger, defaultConfig, fs, options.clock, files);
    manager.producerIdExpirationMs = options.producerIdExpirationMs;
    const startedMs = Date.now();
    await fs.mkdir(options.dataDir);
    const markerPath = `${options.dataDir}/${CLEAN_SHUTDOWN_FILE}`;
    const clean = await fs.exists(markerPath);
    const checkpoint = await readOffsetCheckpoint(fs, `${options.dataDir}/${RECOVERY_POINT_CHECKPOINT_FILE}`);
    if (checkpoint.problem) {
      options.logger.warn(
        { file: RECOVERY_POINT_CHECKPOINT_FILE, problem: checkpoint.problem },
        'ignoring the recovery point checkpoint; logs are recovered from their first segment if needed',
      );
    }
    const logStartCheckpointPath = `${options.dataDir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`;
    // Written once some log start offset needs it (an empty one is not created: most data dirs never need it).
    if ((await fs.fileSize(logStartCheckpointPath)) === undefined) manager.lastLogStartCheckpoint = encodeOffsetCheckpoint([]).toString('utf8');
    const logStartCheckpoint = await readOffsetCheckpoint(fs, logStartCheckpointPath);
    if (logStartCheckpoint.problem) {
      options.logger.warn(
        { file: LOG_START_OFFSET_CHECKPOINT_FILE, problem: logStartCheckpoint.problem },
        'ignoring the log start offset checkpoint; every log starts at its first segment',
      );
    }

    // Which kernel boot wrote this data: the same one still running means only the broker process died, so the
    // page cache kept every completed write. Any doubt (no file, no /proc, another boot) means a full check.
    const bootId = await fs.readFile(KERNEL_BOOT_ID_PATH).then((b) => b.toString('utf8').trim(), () => undefined);
    const writerBootId = await fs.readFile(`${options.dataDir}/${BOOT_ID_FILE}`).then((b) => b.toString('utf8').trim(), () => undefined);
    const sameBoot = bootId !== undefined && bootId !== '' && bootId === writerBootId;
    const crcCheck = !clean && sameBoot && options.trustPageCacheAfterProcessCrash === true ? 'last-batch' : 'every-batch';
    if (bootId !== undefined && bootId !== writerBootId) {
      // Not fatal (a full disk must not stop the broker from starting): the old id stays, so the next unclean
      // start sees another boot and checks every batch.
      await fs.writeFileAtomic(`${options.dataDir}/${BOOT_ID_FILE}`, Buffer.from(`${bootId}\n`)).catch((err: unknown) => {
        options.logger.warn({ err, file: BOOT_ID_FILE }, 'could not record the boot id; the next unclean start checks every batch');
      });
    }

    const found: Array<{ topic: string; partition: number; name: string }> = [];
    for (const entry of await fs.readdir(options.dataDir)) {
      if (!entry.isDirectory) continue;
      if (entry.name.endsWith('-delete')) {
        await fs.rmdir(`${options.dataDir}/${entry.name}`);
        continue;
      }
      const tp = parseLogDirName(entry.name);
      if (tp) found.push({ ...tp, name: entry.name });
    }

    const concurrency = Math.max(1, options.loadConcurrency ?? 8);
    let next = 0;
    // One partition whose files cannot be loaded never stops the others: it is reported, kept offline and retried.
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const { topic, partition, name } = found[next++]!;
        const key = tpKey(topic, partition);
        const load = {
          dir: `${options.dataDir}/${name}`,
          topic,
          partition,
          config: options.topicConfigs?.get(topic) ?? defaultConfig,
          recoveryPoint: checkpoint.offsets.get(key),
          logStartOffset: logStartCheckpoint.offsets.get(key),
        };
        try {
          manager.logs.set(key, await manager.loadLog({ ...load, clean, crcCheck }));
        } catch (err) {
          const cause = err instanceof Error ? err : new Error(String(err));
          options.logger.error({ topic, partition, dir: load.dir, err: cause }, 'partition log failed to load; it stays offline and is retried');
          if (load.logStartOffset !== undefined) manager.offlineLogStartOffsets.set(key, load.logStartOffset);
          manager.offline.markOffline(key, { topic, partition, cause, recoveryPoint: load.recoveryPoint }, () => manager.reload(key, load));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, found.length) }, worker));

    if (clean) {
      await fs.unlink(markerPath);
      await fs.syncDir(options.dataDir);
    }
    await manager.writeCheckpoint().catch((err: unknown) => {
      options.logger.warn({ err, file: RECOVERY_POINT_CHECKPOINT_FILE }, 'could not write the recovery point checkpoint');
    });
    const intervalMs = options.checkpointIntervalMs ?? 60_000;
    manager.checkpointTimer = setInterval(() => {
      manager.writeCheckpoint().catch((err: unknown) => {
        options.logger.error({ err }, 'failed to write the recovery point checkpoint');
      });
    }, intervalMs);
    manager.checkpointTimer.unref();
    // Kafka's PeriodicProducerExpirationCheck, for every log at once (a Map walk; 100,000 logs take a few ms).
    manager.producerExpirationTimer = setInterval(() => {
      const nowMs = (options.clock ?? Date.now)();
      for (const log of manager.logs.values()) log.removeExpiredProducers(nowMs);
    }, options.producerIdExpirationCheckIntervalMs ?? DEFAULT_PRODUCER_ID_EXPIRATION_CHECK_INTERVAL_MS);
    manager.producerExpirationTimer.unref();
    await manager.writeLogStartOffsetCheckpoint().catch((err: unknown) => {
      options.logger.warn({ err, file: LOG_START_OFFSET_CHECKPOINT_FILE }, 'could not write the log start offset checkpoint');
    });
    // Kafka's kafka-log-retention task (fixed rate); a run still going when the next is due makes that one skip.
    manager.retentionTimer = setInterval(() => {
      if (manager.retentionRun === undefined) void manager.runRetention();
    }, options.retentionCheckIntervalMs ?? DEFAULT_RETENTION_CHECK_INTERVAL_MS);
    manager.retentionTimer.unref();
    options.logger.info(
      { dataDir: options.dataDir, logs: manager.logs.size, cleanShutdown: found.length === 0 ? undefined : clean, recoveryCrcCheck: clean || found.length === 0 ? undefined : crcCheck, maxOpenFiles, openFiles: files.openFiles, durationMs: Date.now() - startedMs },
      'logs loaded',
    );
    return manager;
  }

  /** The file handle cache's figures (open files, cap, opens, evictions, EMFILE retries): metrics and tests. */
  fileHandleStats(): FileHandleCacheStats {
    return this.files.stats();
  }

  /** Partition logs open (or offline) on this broker. */
  get partitionCount(): number {
    return this.logs.size + this.offline.size;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(tpKey(topic, partition));
  }

  /**
   * True while the partition's log is offline after an I/O error, whether its PartitionLog still serves reads
   * (failed while appending) or could not be loaded at all; handlers answer KAFKA_STORAGE_ERROR for it.
   */
  isOffline(topic: string, partition: number): boolean {
    const key = tpKey(topic, partition);
    return this.offline.has(key) || this.logs.get(key)?.isOffline === true;
  }

  /** Partitions currently offline (for logs, metrics and tests). */
  offlinePartitions(): Array<{ topic: string; partition: number; cause: Error }> {
    return this.offline.list().map(({ topic, partition, cause }) => ({ topic, partition, cause }));
  }

  /** Opens one log with this manager's file system, clock and failure handling. */
  private loadLog(load: {
    dir: string;
    topic: string;
    partition: number;
    config: LogConfig;
    recoveryPoint: bigint | undefined;
    logStartOffset?: bigint;
    clean: boolean;
    crcCheck?: CrcCheck;
  }): Promise<PartitionLog> {
    return PartitionLog.load({
      ...load,
      fs: this.fs,
      files: this.files,
      logger: this.logger,
      clock: this.clock,
      onFailure: this.onLogFailure,
      onLogStartOffsetIncremented: this.onLogStartOffsetIncremented,
      onTruncated: this.onLogTruncated,
      producerIdExpirationMs: this.producerIdExpirationMs,
    });
  }

  /**
   * An I/O error took `log` offline (its appends fail with KAFKA_STORAGE_ERROR; it still serves what it has).
   * Once the disk takes writes again: cut the torn tail, close it, and load it again from disk with recovery
   * from its recovery point, which checks every batch written since the last fsync.
   */
  private takeOffline(log: PartitionLog, cause: Error): void {
    const key = tpKey(log.topic, log.partition);
    if (this.closed || this.logs.get(key) !== log) return;
    const load = { dir: log.dir, topic: log.topic, partition: log.partition, config: log.logConfig, recoveryPoint: log.recoveryPoint, logStartOffset: log.logStartOffset };
    this.offlineLogStartOffsets.set(key, log.logStartOffset);
    this.offline.markOffline(key, { topic: log.topic, partition: log.partition, cause, recoveryPoint: log.recoveryPoint }, async () => {
      const current = this.logs.get(key);
      if (current === log) {
        await log.discardUnwrittenTail();
        await probeWritable(this.fs, log.dir);
        this.logs.delete(key);
        await log.close({ flush: false }).catch(() => undefined);
      }
      await this.reload(key, load);
    });
  }

  /** One attempt to bring an offline partition back: the disk must take a write, then the log must load. */
  private async reload(
    key: string,
    load: { dir: string; topic: string; partition: number; config: LogConfig; recoveryPoint: bigint | undefined; logStartOffset?: bigint },
  ): Promise<void> {
    if (this.closed) throw new Error('log manager is closed');
    await probeWritable(this.fs, load.dir);
    const log = await this.loadLog({ ...load, clean: false, crcCheck: 'every-batch' });
    if (this.closed || this.logs.has(key) || !this.offline.has(key)) {
      // Closed, deleted or recreated meanwhile: this copy is not wanted.
      await log.close({ flush: false }).catch(() => undefined);
      return;
    }
    this.logs.set(key, log);
    this.offlineLogStartOffsets.delete(key);
  }

  listLogs(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /**
   * `producer.id.expiration.ms` changed (a dynamic broker config, applied at once as Kafka does): every open log
   * uses it from its next expiry check, and logs opened later get it too.
   */
  setProducerIdExpirationMs(ms: number): void {
    this.producerIdExpirationMs = ms;
    for (const log of this.logs.values()) if (!log.isClosed) log.setProducerIdExpirationMs(ms);
  }

  /**
   * Opens the log cleaner over these logs and starts it (unless `config.enable` is false); returns it (tests run
   * passes with cleanOnce()). Called once, after the logs are loaded.
   */
  async startCleaner(config: CleanerConfig): Promise<LogCleaner> {
    if (this.cleaner) return this.cleaner;
    const cleaner = await LogCleaner.open({
      dataDir: this.dataDir,
      fs: this.fs,
      logs: () => this.logs.values(),
      config,
      logger: this.logger,
      clock: this.clock,
    });
    this.cleaner = cleaner;
    cleaner.start();
    return cleaner;
  }

  /** Stops the log cleaner (a cleaning in progress is abandoned, or its swap finished). */
  async stopCleaner(): Promise<void> {
    await this.cleaner?.close();
  }

  /**
   * One retention pass over every open log (PartitionLog.deleteOldSegments), one log at a time; a failure of one
   * log is logged (an I/O error has already taken it offline) and the others go on. Returns the segments removed.
   * A call while a run is under way waits for that run.
   */
  async runRetention(): Promise<number> {
    if (this.retentionRun) {
      await this.retentionRun;
      return 0;
    }
    let removed = 0;
    const run = (async () => {
      const startedMs = Date.now();
      for (const log of this.listLogs()) {
        if (this.closed) break;
        if (log.isClosed || log.isOffline) continue;
        try {
          removed += await log.deleteOldSegments();
        } catch (err) {
          this.logger.error({ topic: log.topic, partition: log.partition, err }, 'retention failed for a log');
        }
      }
      if (removed > 0) this.logger.info({ segments: removed, durationMs: Date.now() - startedMs }, 'retention deleted segments');
    })();
    this.retentionRun = run;
    try {
      await run;
    } finally {
      this.retentionRun = undefined;
    }
    return removed;
  }

  /**
   * DeleteRecords on one partition (PartitionLog.deleteRecordsOnLeader: `offset` -1 is the high watermark):
   * moves its log start offset and returns it (the low watermark) once log-start-offset-checkpoint holds it, so
   * an acknowledged deletion survives a crash. KafkaError for the refusals listed there.
   */
  async deleteRecords(log: PartitionLog, offset: bigint): Promise<bigint> {
    const lowWatermark = log.deleteRecordsOnLeader(offset);
    await this.writeLogStartOffsetCheckpoint();
    return lowWatermark;
  }

  /** Creates the partition's directory and first segment; returns the existing log (with `config`) if any. */
  async createLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const key = tpKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    if (this.offline.has(key)) {
      throw new KafkaError(ErrorCode.KAFKA_STORAGE_ERROR, `log ${key} is offline after an I/O error`);
    }
    return this.openNewLog(topic, partition, config);
  }

  /** createLog without the offline check (an offline partition's own retry uses it). */
  private async openNewLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const key = tpKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) return existing;
    const pending = this.creating.get(key);
    if (pending) return pending;
    const creation = (async () => {
      // No fsync per partition: the log fsyncs its directory (and the data dir) before its first durable append,
      // and syncCreatedLogs() makes a whole CreateTopics' directories durable with one data-dir fsync.
      const log = await PartitionLog.create({
        dir: `${this.dataDir}/${key}`,
        topic,
        partition,
        config,
        fs: this.fs,
        files: this.files,
        logger: this.logger,
        clock: this.clock,
        onFailure: this.onLogFailure,
        onLogStartOffsetIncremented: this.onLogStartOffsetIncremented,
        onTruncated: this.onLogTruncated,
        producerIdExpirationMs: this.producerIdExpirationMs,
      });
      this.logs.set(key, log);
      return log;
    })();
    this.creating.set(key, creation);
    try {
      return await creation;
    } finally {
      this.creating.delete(key);
    }
  }

  /**
   * At startup, a registered partition whose log is missing (a crash between registering the topic and creating
   * its directory) is created; a partition already offline is left to its retries, and one that cannot be
   * created now (a full disk) goes offline and is retried, so the broker still starts.
   */
  async ensureLogAtStartup(topic: string, partition: number, config: LogConfig): Promise<void> {
    await this.ensureLog(topic, partition, config);
  }

  /**
   * The partition's log, created if missing (a new topic's partitions, or startup repairing a crash); a creation
   * that fails goes offline and is retried, and undefined is returned (also for a partition already offline).
   */
  async ensureLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog | undefined> {
    // Closing: no new partition directories (a creation racing the shutdown leaves the rest to the next start).
    if (this.closed) return undefined;
    const key = tpKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing !== undefined || this.offline.has(key)) return existing;
    try {
      return await this.createLog(topic, partition, config);
    } catch (err) {
      const cause = err instanceof Error ? err : new Error(String(err));
      this.logger.error({ topic, partition, err: cause }, 'partition log could not be created; it stays offline and is retried');
      this.offline.markOffline(key, { topic, partition, cause, recoveryPoint: undefined }, async () => {
        await probeWritable(this.fs, this.dataDir);
        await this.openNewLog(topic, partition, config);
      });
      return undefined;
    }
  }

  /**
   * One fsync of the data dir, after which the directories of `logs` (just created) are durable; each log then
   * skips that fsync at its first flush.
   */
  async syncCreatedLogs(logs: readonly PartitionLog[]): Promise<void> {
    if (logs.length === 0) return;
    await this.fs.syncDir(this.dataDir);
    for (const log of logs) log.parentDirSynced();
  }

  updateConfig(topic: string, config: LogConfig): void {
    for (const log of this.logs.values()) if (log.topic === topic) log.updateConfig(config);
  }

  /**
   * Closes the topic's logs (queued appends finish, nothing is fsynced), renames each directory to
   * `<topic>-<partition>.<id>-delete` (Kafka's convention, so a crash mid-delete never resurrects the log) and
   * removes it. Every log leaves the map before any is closed, and closing wakes the Fetch long polls waiting on
   * it, so they answer UNKNOWN_TOPIC_OR_PARTITION at once (Kafka completes delayed fetches as it stops the
   * partitions, ReplicaManager.stopPartitions).
   */
  async deleteLogs(topic: string): Promise<void> {
    const doomed = [...this.logs.entries()].filter(([, log]) => log.topic === topic);
    for (const [key] of doomed) this.logs.delete(key);
    // Offline partitions have no open log (or one that is being replaced); their directories go too.
    const offline = this.offline.list().filter((o) => o.topic === topic && !doomed.some(([key]) => key === tpKey(o.topic, o.partition)));
    for (const o of offline) this.offline.forget(tpKey(o.topic, o.partition));
    for (const [key] of doomed) this.offline.forget(key);
    for (const key of [...doomed.map(([k]) => k), ...offline.map((o) => tpKey(o.topic, o.partition))]) this.offlineLogStartOffsets.delete(key);
    const removeDir = async (key: string): Promise<void> => {
      const dir = `${this.dataDir}/${key}`;
      if (!(await this.fs.exists(dir))) return;
      const deletedDir = `${this.dataDir}/${deletedLogDirName(key)}`;
      await this.fs.rename(dir, deletedDir);
      await this.fs.rmdir(deletedDir);
    };
    await Promise.all([
      ...doomed.map(async ([key, log]) => {
        try {
          await log.close({ flush: false });
        } catch (err) {
          this.logger.warn({ topic, partition: log.partition, err }, 'error closing a log being deleted');
        }
        await removeDir(key);
      }),
      ...offline.map((o) => removeDir(tpKey(o.topic, o.partition))),
    ]);
    if (doomed.length + offline.length > 0) {
      await this.fs.syncDir(this.dataDir);
      // A topic recreated under this name must not inherit a log start offset (Kafka checkpoints at deletion too).
      await this.writeLogStartOffsetCheckpoint().catch((err: unknown) => {
        this.logger.warn({ err, file: LOG_START_OFFSET_CHECKPOINT_FILE }, 'could not write the log start offset checkpoint');
      });
      this.logger.info({ topic, partitions: [...doomed.map(([, l]) => l.partition), ...offline.map((o) => o.partition)] }, 'deleted logs');
    }
  }

  /** fsyncs every log, then checkpoints the recovery points. */
  async flushAll(): Promise<void> {
    await Promise.all(this.listLogs().map((log) => log.flush()));
    await this.writeCheckpoint();
  }

  /**
   * Stops the checkpoint timer, closes every log (queued appends finish, everything is fsynced), writes the
   * recovery point checkpoint and then the clean-shutdown marker. The marker is not written when any log
   * failed to close cleanly, so the next start recovers.
   */
  /**
   * Stops the checkpoint timer and the offline retries, closes every log (queued appends finish, everything is
   * fsynced), writes the recovery point checkpoint and then the clean-shutdown marker. Shutdown completes even
   * when the disk fails: a log that cannot close cleanly (offline, disk full) or a checkpoint that cannot be
   * written is logged, and the marker is then left out so the next start recovers those logs.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stopCleaner().catch((err: unknown) => this.logger.error({ err }, 'log cleaner did not stop cleanly'));
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    if (this.producerExpirationTimer) clearInterval(this.producerExpirationTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    await this.retentionRun?.catch(() => undefined);
    this.offline.close();
    const logs = this.listLogs();
    // At most CLOSE_CONCURRENCY at a time: closing fsyncs every log with unflushed data, and 100,000 closes at once
    // would only thrash the file handle cache and queue on the thread pool's four threads.
    const results = await settleBounded(logs, CLOSE_CONCURRENCY, (log) => log.close());
    let clean = this.offline.size === 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      clean = false;
      this.logger.error({ topic: logs[i]!.topic, partition: logs[i]!.partition, err: r.reason as unknown }, 'log did not close cleanly; the next start recovers it');
    });
    // Every log closed its files; this only catches a descriptor left by a log that failed mid-close.
    await this.files.closeAll();
    try {
      await this.writeCheckpoint(true);
      await this.writeLogStartOffsetCheckpoint();
      if (clean) await this.fs.touch(`${this.dataDir}/${CLEAN_SHUTDOWN_FILE}`);
    } catch (err) {
      clean = false;
      this.logger.error({ err, dataDir: this.dataDir }, 'could not write the shutdown checkpoint; the next start recovers every log');
    }
    if (clean) this.logger.info({ dataDir: this.dataDir, logs: logs.length }, 'logs closed cleanly');
    else this.logger.warn({ dataDir: this.dataDir, logs: logs.length, offline: this.offline.size }, 'logs closed; no clean-shutdown marker written');
  }

  /**
   * Writes log-start-offset-checkpoint when it changed (serialised: one write at a time): the partitions whose log
   * start offset is above their first segment's base offset (Kafka's checkpointLogStartOffsetsInDir), and the
   * offline ones' last known values.
   */
  writeLogStartOffsetCheckpoint(): Promise<void> {
    const run = async (): Promise<void> => {
      const entries: Array<{ topic: string; partition: number; offset: bigint }> = [];
      for (const log of this.logs.values()) {
        const offset = log.logStartOffsetToCheckpoint;
        if (offset > log.firstSegmentBaseOffset) entries.push({ topic: log.topic, partition: log.partition, offset });
      }
      for (const o of this.offline.list()) {
        const key = tpKey(o.topic, o.partition);
        const offset = this.offlineLogStartOffsets.get(key);
        if (offset !== undefined && !this.logs.has(key)) entries.push({ topic: o.topic, partition: o.partition, offset });
      }
      entries.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      const data = encodeOffsetCheckpoint(entries);
      const text = data.toString('utf8');
      if (text === this.lastLogStartCheckpoint) return;
      await this.fs.writeFileAtomic(`${this.dataDir}/${LOG_START_OFFSET_CHECKPOINT_FILE}`, data);
      this.lastLogStartCheckpoint = text;
    };
    this.logStartCheckpointing = this.logStartCheckpointing.then(run, run);
    return this.logStartCheckpointing;
  }

  /** Writes recovery-point-offset-checkpoint when it changed (serialised: one write at a time). */
  private writeCheckpoint(force = false): Promise<void> {
    const run = async (): Promise<void> => {
      const offline = this.offline.list().filter((o) => o.recoveryPoint !== undefined && !this.logs.has(tpKey(o.topic, o.partition)));
      const entries = [
        ...this.listLogs().map((log) => ({ topic: log.topic, partition: log.partition, offset: log.recoveryPoint })),
        ...offline.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.recoveryPoint! })),
      ]
        .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      const data = encodeOffsetCheckpoint(entries);
      const text = data.toString('utf8');
      if (!force && text === this.lastCheckpoint) return;
      await this.fs.writeFileAtomic(`${this.dataDir}/${RECOVERY_POINT_CHECKPOINT_FILE}`, data);
      this.lastCheckpoint = text;
    };
    this.checkpointing = this.checkpointing.then(run, run);
    return this.checkpointing;
  }
}
