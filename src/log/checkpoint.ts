// Checkpoint files in the data directory, in Kafka's formats.
//
// `recovery-point-offset-checkpoint` (Kafka's OffsetCheckpointFile), UTF-8 text, '\n' line ends:
//
//   line 1   version                 "0"
//   line 2   number of entries       e.g. "2"
//   line 3…  "<topic> <partition> <offset>"   one per partition, single spaces, decimal
//
// The offset is the partition's recovery point: every batch below it was fsynced, so an unclean start only
// walks segments from the one containing it. The file is replaced atomically (temp file, fsync, rename, fsync
// of the directory). A reader that finds another version, a count that does not match, or a malformed line
// ignores the whole file (logging a warning): every partition is then recovered from its first segment, which
// is slow but safe.
//
// `log-start-offset-checkpoint` (Kafka's LogManager.LogStartOffsetCheckpointFile), the same format: one line per
// partition whose log start offset lies above its first segment's base offset (DeleteRecords moved it inside a
// segment; Kafka's checkpointLogStartOffsetsInDir lists only those), the offset being the log start offset. It is
// rewritten (atomically, as above) after a log start offset moves, on close(), and by retention before it removes
// segments (the entry then holds the offset the removal sets, so a crash part-way through the renames cannot bring
// the removed offsets back; it becomes redundant, and is dropped at the next write, once they are gone); loading a log takes the larger of its entry and its first segment's base offset. An unreadable file is
// ignored (with a warning): every log then starts at its first segment, so records that DeleteRecords removed
// inside that segment become readable again, which Kafka accepts too for a lost checkpoint.
//
// `.kafka_cleanshutdown`: an empty file whose presence means every log was flushed and both checkpoints were
// written on shutdown, so indexes can be trusted and no segment is walked. Its content is ignored (Kafka 3.5+
// writes a small JSON document there; we accept either). It is deleted once the logs are loaded, and the
// directory fsynced, so a later crash is never mistaken for a clean stop.
import type { LogFs } from './fs.js';

export const RECOVERY_POINT_CHECKPOINT_FILE = 'recovery-point-offset-checkpoint';
export const LOG_START_OFFSET_CHECKPOINT_FILE = 'log-start-offset-checkpoint';
export const CLEAN_SHUTDOWN_FILE = '.kafka_cleanshutdown';
const CHECKPOINT_VERSION = 0;

export function tpKey(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function encodeOffsetCheckpoint(entries: Array<{ topic: string; partition: number; offset: bigint }>): Buffer {
  const lines = [String(CHECKPOINT_VERSION), String(entries.length)];
  for (const e of entries) lines.push(`${e.topic} ${e.partition} ${e.offset}`);
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/** Parses a checkpoint into `<topic>-<partition>` → offset; undefined when the file is unusable. */
export function decodeOffsetCheckpoint(data: Buffer): Map<string, bigint> | undefined {
  const lines = data.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2 || lines[0] !== String(CHECKPOINT_VERSION)) return undefined;
  const count = Number(lines[1]);
  if (!Number.isInteger(count) || count !== lines.length - 2) return undefined;
  const out = new Map<string, bigint>();
  for (let i = 2; i < lines.length; i++) {
    const m = /^(\S+) (\d+) (-?\d+)$/.exec(lines[i]!);
    if (!m) return undefined;
    out.set(tpKey(m[1]!, Number(m[2])), BigInt(m[3]!));
  }
  return out;
}

export async function readOffsetCheckpoint(
  fs: LogFs,
  path: string,
): Promise<{ offsets: Map<string, bigint>; problem: string | undefined }> {
  if ((await fs.fileSize(path)) === undefined) return { offsets: new Map(), problem: undefined };
  const offsets = decodeOffsetCheckpoint(await fs.readFile(path));
  return offsets ? { offsets, problem: undefined } : { offsets: new Map(), problem: 'unreadable checkpoint file' };
}
