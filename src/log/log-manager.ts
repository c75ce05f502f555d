// The data directory: finds, loads and recovers every partition log, creates and deletes them, and owns the
// two files that make restarts fast and safe (formats in checkpoint.ts):
//
//   <dataDir>/.kafka_cleanshutdown                present only after a clean close()
//   <dataDir>/.boot-id                            the kernel boot id of the last broker that opened the dir:
//                                                 tells a process crash (same boot) from an OS crash
//   <dataDir>/recovery-point-offset-checkpoint    per-partition recovery points, rewritten every
//                                                 checkpointIntervalMs (Kafka: log.flush.offset.checkpoint
//                                                 .interval.ms, 60 s), after flushAll() and on close()
//   <dataDir>/<topic>-<partition>/                one PartitionLog each (topic names may contain '-', so the
//                                                 partition is after the LAST dash)
//   <dataDir>/<topic>-<partition>.<id>-delete/    a deleted log not yet removed; removed at startup
//
// Startup: with the clean-shutdown marker, logs are loaded from their index files and the last batch header of
// each active segment only (no walking, so start-up time does not grow with the data). Without it, each log
// is recovered from its checkpointed recovery point (PartitionLog.load). The marker is then deleted (and the
// deletion made durable) so a later crash is recognised. Other files and directories are ignored.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.js';
import {
  CLEAN_SHUTDOWN_FILE,
  RECOVERY_POINT_CHECKPOINT_FILE,
  encodeOffsetCheckpoint,
  readOffsetCheckpoint,
  tpKey,
} from './checkpoint.js';
import { nodeLogFs, type LogFs } from './fs.js';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.js';
import { PartitionLog } from './partition-log.js';

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
  /**
   * After a crash of the broker process alone (the kernel boot that wrote the data is still running), verify
   * only each walked segment's last batch CRC (recovery.ts explains why that is enough). Default false: every
   * batch is checked, as Kafka does.
   */
  trustPageCacheAfterProcessCrash?: boolean;
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

export class LogManager {
  private readonly logs = new Map<string, PartitionLog>();
  private readonly creating = new Map<string, Promise<PartitionLog>>();
  private checkpointTimer: NodeJS.Timeout | undefined;
  private lastCheckpoint = '';
  private checkpointing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dataDir: string,
    private readonly logger: Logger,
    readonly defaultConfig: LogConfig,
    private readonly fs: LogFs,
    private readonly clock: (() => number) | undefined,
  ) {}

  static async open(options: LogManagerOptions): Promise<LogManager> {
    const fs = options.fs ?? nodeLogFs;
    const defaultConfig: LogConfig = { ...DEFAULT_LOG_CONFIG, ...options.defaultConfig };
    const manager = new LogManager(options.dataDir, options.logger, defaultConfig, fs, options.clock);
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

    // Which kernel boot wrote this data: the same one still running means only the broker process died, so the
    // page cache kept every completed write. Any doubt (no file, no /proc, another boot) means a full check.
    const bootId = await fs.readFile(KERNEL_BOOT_ID_PATH).then((b) => b.toString('utf8').trim(), () => undefined);
    const writerBootId = await fs.readFile(`${options.dataDir}/${BOOT_ID_FILE}`).then((b) => b.toString('utf8').trim(), () => undefined);
    const sameBoot = bootId !== undefined && bootId !== '' && bootId === writerBootId;
    const crcCheck = !clean && sameBoot && options.trustPageCacheAfterProcessCrash === true ? 'last-batch' : 'every-batch';
    if (bootId !== undefined && bootId !== writerBootId) {
      await fs.writeFileAtomic(`${options.dataDir}/${BOOT_ID_FILE}`, Buffer.from(`${bootId}\n`));
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
    const worker = async (): Promise<void> => {
      while (next < found.length) {
        const { topic, partition, name } = found[next++]!;
        const log = await PartitionLog.load({
          dir: `${options.dataDir}/${name}`,
          topic,
          partition,
          config: options.topicConfigs?.get(topic) ?? defaultConfig,
          fs,
          logger: options.logger,
          clock: options.clock,
          clean,
          recoveryPoint: checkpoint.offsets.get(tpKey(topic, partition)),
          crcCheck,
        });
        manager.logs.set(tpKey(topic, partition), log);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(concurrency, found.length) }, worker));
    } catch (err) {
      await Promise.allSettled([...manager.logs.values()].map((l) => l.close({ flush: false })));
      throw new BrokerError('LOG_LOAD_FAILED', `failed to load the logs in ${options.dataDir}: ${String(err)}`, {
        cause: err,
      });
    }

    if (clean) {
      await fs.unlink(markerPath);
      await fs.syncDir(options.dataDir);
    }
    await manager.writeCheckpoint();
    const intervalMs = options.checkpointIntervalMs ?? 60_000;
    manager.checkpointTimer = setInterval(() => {
      manager.writeCheckpoint().catch((err: unknown) => {
        options.logger.error({ err }, 'failed to write the recovery point checkpoint');
      });
    }, intervalMs);
    manager.checkpointTimer.unref();
    options.logger.info(
      { dataDir: options.dataDir, logs: manager.logs.size, cleanShutdown: clean, recoveryCrcCheck: clean ? undefined : crcCheck, durationMs: Date.now() - startedMs },
      'logs loaded',
    );
    return manager;
  }

  getLog(topic: string, partition: number): PartitionLog | undefined {
    return this.logs.get(tpKey(topic, partition));
  }

  listLogs(): PartitionLog[] {
    return [...this.logs.values()];
  }

  /** Creates the partition's directory and first segment; returns the existing log (with `config`) if any. */
  async createLog(topic: string, partition: number, config: LogConfig): Promise<PartitionLog> {
    const key = tpKey(topic, partition);
    const existing = this.logs.get(key);
    if (existing) {
      existing.updateConfig(config);
      return existing;
    }
    const pending = this.creating.get(key);
    if (pending) return pending;
    const creation = (async () => {
      const log = await PartitionLog.load({
        dir: `${this.dataDir}/${key}`,
        topic,
        partition,
        config,
        fs: this.fs,
        logger: this.logger,
        clock: this.clock,
        clean: true,
        recoveryPoint: undefined,
      });
      await this.fs.syncDir(this.dataDir);
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
    await Promise.all(
      doomed.map(async ([key, log]) => {
        try {
          await log.close({ flush: false });
        } catch (err) {
          this.logger.warn({ topic, partition: log.partition, err }, 'error closing a log being deleted');
        }
        const deletedDir = `${this.dataDir}/${key}.${randomUUID().replaceAll('-', '')}-delete`;
        await this.fs.rename(log.dir, deletedDir);
        await this.fs.rmdir(deletedDir);
      }),
    );
    if (doomed.length > 0) {
      await this.fs.syncDir(this.dataDir);
      this.logger.info({ topic, partitions: doomed.map(([, l]) => l.partition) }, 'deleted logs');
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
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    const logs = this.listLogs();
    const results = await Promise.allSettled(logs.map((log) => log.close()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    await this.writeCheckpoint(true);
    if (failed.length > 0) {
      throw new AggregateError(
        failed.map((f) => f.reason as unknown),
        `${failed.length} log(s) failed to close; no clean-shutdown marker written`,
      );
    }
    await this.fs.touch(`${this.dataDir}/${CLEAN_SHUTDOWN_FILE}`);
    this.logger.info({ dataDir: this.dataDir, logs: logs.length }, 'logs closed cleanly');
  }

  /** Writes recovery-point-offset-checkpoint when it changed (serialised: one write at a time). */
  private writeCheckpoint(force = false): Promise<void> {
    const run = async (): Promise<void> => {
      const entries = this.listLogs()
        .map((log) => ({ topic: log.topic, partition: log.partition, offset: log.recoveryPoint }))
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
