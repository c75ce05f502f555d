// The data directory as DescribeLogDirs reports it (Kafka 3.9 ReplicaManager.describeLogDirs): one log dir, its
// absolute path, its file system's total and usable bytes, and the size of each requested partition's log.
//
// - Size is the bytes in the log's .log segment files (UnifiedLog.size); the offset lag is 0 (this broker leads
//   every partition, so no log is behind) and there are no future logs (no AlterReplicaLogDirs).
// - Requested partitions without a log here are left out, and so are topics left without partitions; null asks
//   for every log (including the broker's internal topics, which are logs like any other).
// - Total and usable bytes come from statfs(2) (Files.getFileStore's getTotalSpace and getUsableSpace: blocks and
//   blocks available to unprivileged users, times the block size). When statfs fails the dir is reported with
//   KAFKA_STORAGE_ERROR and nothing else, as Kafka reports an offline log dir.
//
// statfs is the one call here outside log/fs.ts: LogFs has no statfs yet (it belongs there, so tests could inject
// its failure too).
import { statfs } from 'node:fs/promises';
import { ErrorCode } from '../protocol/error-codes.js';
import type { LogManager } from './log-manager.js';

export interface LogDirPartition {
  partition: number;
  sizeBytes: number;
}

export interface LogDirDescription {
  /** Absolute path of the data dir. */
  logDir: string;
  /** NONE, or KAFKA_STORAGE_ERROR when the dir could not be examined (then no topics and no byte counts). */
  errorCode: number;
  /** Topics in name order, each with its partitions in order. */
  topics: Array<{ topic: string; partitions: LogDirPartition[] }>;
  totalBytes: bigint;
  usableBytes: bigint;
}

/** The requested partitions by topic; null = every log. */
export type LogDirFilter = ReadonlyMap<string, ReadonlySet<number>> | null;

export async function describeLogDir(logs: LogManager, filter: LogDirFilter): Promise<LogDirDescription> {
  const logDir = logs.dataDir;
  let totalBytes: bigint;
  let usableBytes: bigint;
  try {
    const stats = await statfs(logDir, { bigint: true });
    totalBytes = stats.blocks * stats.bsize;
    usableBytes = stats.bavail * stats.bsize;
  } catch {
    return { logDir, errorCode: ErrorCode.KAFKA_STORAGE_ERROR, topics: [], totalBytes: -1n, usableBytes: -1n };
  }
  const byTopic = new Map<string, LogDirPartition[]>();
  for (const log of logs.listLogs()) {
    if (filter !== null && filter.get(log.topic)?.has(log.partition) !== true) continue;
    let partitions = byTopic.get(log.topic);
    if (partitions === undefined) byTopic.set(log.topic, (partitions = []));
    partitions.push({ partition: log.partition, sizeBytes: log.size });
  }
  const topics = [...byTopic]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, partitions]) => ({ topic, partitions: partitions.sort((a, b) => a.partition - b.partition) }));
  return { logDir, errorCode: ErrorCode.NONE, topics, totalBytes, usableBytes };
}
