// `<partition dir>/partition.metadata`: which topic (by id) a partition's log belongs to, as Kafka's
// PartitionMetadataFile keeps it, so a broker that comes back after its topic was deleted and created again under
// the same name recognises its old log as a stray and deletes it instead of serving old records as the new topic's.
//
//   version: 0
//   topic_id: <the topic id, Kafka's Uuid.toString(): URL-safe base64 of the 16 bytes, no padding>
//
// Written once when the partition is first assigned here (write `.tmp`, rename); a log without the file (made by a
// single broker, or before it was written) is adopted by the cluster's topic of that name. An unreadable file is
// treated as absent (logged by the caller), never as a reason not to start.
import { promises as fs } from 'node:fs';
import path from 'node:path';

export const PARTITION_METADATA_FILE = 'partition.metadata';

/** The topic id recorded in `dir`, as 32 hex digits; undefined when there is no readable file. */
export async function readPartitionTopicId(dir: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, PARTITION_METADATA_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const match = /^version: 0\ntopic_id: ([A-Za-z0-9_-]{22})\n?$/.exec(text);
  if (match === null) return undefined;
  const bytes = Buffer.from(match[1]!, 'base64url');
  return bytes.length === 16 ? bytes.toString('hex') : undefined;
}

/** Records `topicIdHex` in `dir` unless the same id is there already. */
export async function writePartitionTopicId(dir: string, topicIdHex: string): Promise<void> {
  if ((await readPartitionTopicId(dir)) === topicIdHex) return;
  const file = path.join(dir, PARTITION_METADATA_FILE);
  const tmp = `${file}.tmp`;
  await fs.writeFile(tmp, `version: 0\ntopic_id: ${Buffer.from(topicIdHex, 'hex').toString('base64url')}\n`);
  await fs.rename(tmp, file);
}
