// `<dataDir>/replication-offset-checkpoint` (Kafka's ReplicaManager highwatermark checkpoint): the high watermark of
// every partition this broker replicates, in the offset-checkpoint format of log/checkpoint.ts ("0", the count,
// then "<topic> <partition> <offset>" lines). Written every replica.high.watermark.checkpoint.interval.ms (Kafka's
// 5,000 ms) while the broker runs, when something changed, and once more at close(); replaced atomically (temp
// file, fsync, rename, fsync of the directory).
//
// At startup a replica's high watermark starts at its checkpointed value, bounded by its log start and log end
// offsets (Kafka's Partition.createLogIfNotExists), instead of the log start offset: consumers of a restarted
// leader see what was committed before, without waiting for the followers' first fetches. A missing file means no
// checkpoint yet (every HW starts at the log start offset, as before). An unreadable one is ignored with a warning:
// it never stops the broker from starting, the HWs then start low and move up with the followers' fetches.
//
// A checkpoint can only be behind the true high watermark (it is written after the HW moved, never before), so
// starting from it never exposes records the ISR did not have.
import path from 'node:path';
import type { Logger } from 'pino';
import { encodeOffsetCheckpoint, readOffsetCheckpoint, tpKey } from '../log/checkpoint.js';
import type { LogFs } from '../log/fs.js';

export const HIGH_WATERMARK_CHECKPOINT_FILE = 'replication-offset-checkpoint';
/** Kafka's replica.high.watermark.checkpoint.interval.ms default. */
export const HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS = 5000;

export interface CheckpointedHighWatermark {
  topic: string;
  partition: number;
  offset: bigint;
}

export class HighWatermarkCheckpoint {
  private readonly file: string;
  private loaded = new Map<string, bigint>();
  private timer: NodeJS.Timeout | undefined;
  /** What the last write held, to skip writes that would change nothing. */
  private lastWritten: string | undefined;
  private writing: Promise<void> = Promise.resolve();
  private opened = false;

  constructor(
    dataDir: string,
    private readonly fs: LogFs,
    private readonly logger: Logger,
    private readonly collect: () => CheckpointedHighWatermark[],
    private readonly logExists: (topic: string, partition: number) => boolean,
    private readonly intervalMs = HIGH_WATERMARK_CHECKPOINT_INTERVAL_MS,
  ) {
    this.file = path.join(dataDir, HIGH_WATERMARK_CHECKPOINT_FILE);
  }

  /** Reads the file left by the last run (never throws), then starts the periodic writes. */
  async open(): Promise<void> {
    try {
      const { offsets, problem } = await readOffsetCheckpoint(this.fs, this.file);
      if (problem !== undefined) this.logger.warn({ file: this.file, problem }, 'ignoring the high watermark checkpoint: high watermarks start at the log start offsets');
      this.loaded = offsets;
    } catch (err) {
      this.logger.warn({ file: this.file, err }, 'could not read the high watermark checkpoint: high watermarks start at the log start offsets');
    }
    this.opened = true;
    this.timer = setInterval(() => void this.write(), this.intervalMs);
    this.timer.unref();
  }

  /** The checkpointed high watermark of a partition, if the last run wrote one. */
  highWatermarkOf(topic: string, partition: number): bigint | undefined {
    return this.loaded.get(tpKey(topic, partition));
  }

  /**
   * Writes the current high watermarks (one write at a time; a failure is logged and retried at the next tick). A
   * partition not (yet) replicated here keeps its loaded entry while its log exists, so a broker that stops before
   * its assignments were applied does not lose the checkpoint.
   */
  write(): Promise<void> {
    if (!this.opened) return this.writing;
    this.writing = this.writing.then(async () => {
      const current = this.collect();
      const seen = new Set(current.map((e) => tpKey(e.topic, e.partition)));
      for (const [key, offset] of this.loaded) {
        if (seen.has(key)) continue;
        const dash = key.lastIndexOf('-');
        const topic = key.slice(0, dash);
        const partition = Number(key.slice(dash + 1));
        if (this.logExists(topic, partition)) current.push({ topic, partition, offset });
      }
      const entries = current.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
      const data = encodeOffsetCheckpoint(entries);
      const text = data.toString('utf8');
      if (text === this.lastWritten) return;
      try {
        await this.fs.writeFileAtomic(this.file, data);
        this.lastWritten = text;
      } catch (err) {
        this.logger.warn({ file: this.file, err }, 'could not write the high watermark checkpoint; retrying at the next interval');
      }
    });
    return this.writing;
  }

  /** Stops the timer and writes a last checkpoint. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.write();
  }
}
