// The file I/O of src/metadata: small documents that must never be left torn by a crash.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BrokerError } from '../errors.js';

/** Parses a JSON file; undefined when it does not exist. A file that exists but does not parse is a BrokerError. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new BrokerError('METADATA_CORRUPT', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads a text file; undefined when it does not exist. */
export async function readTextFile(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The entries of a versioned state document, `{ "version": N, "<field>": [ ... ] }` (the SCRAM, ACL and quota
 * stores' format): the array, or why the text is not such a document (for readStateFileOrSetAside's decode).
 */
export function entriesOfStateDocument(text: string, version: number, field: string): unknown[] | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not valid JSON: ${(err as Error).message}`;
  }
  if (typeof doc !== 'object' || doc === null) return 'not a JSON object';
  const fields = doc as Record<string, unknown>;
  if (fields.version !== version) return `unknown format version ${JSON.stringify(fields.version)}`;
  const entries = fields[field];
  if (!Array.isArray(entries)) return `"${field}" is not an array`;
  return entries as unknown[];
}

/**
 * Reads a state file the broker must be able to start without (SCRAM credentials, ACLs, client quotas): undefined
 * when it does not exist. When `decode` refuses its text (returns a problem string), the file is renamed to
 * `<file>.corrupt-<ms>` (the directory fsynced, so the rename survives a crash), `unreadable` is logged at error,
 * and undefined is returned: the broker starts without that state rather than not at all.
 */
export async function readStateFileOrSetAside<T>(
  file: string,
  decode: (text: string) => T | string,
  logger: { error(obj: object, msg: string): void },
  unreadable: string,
): Promise<T | undefined> {
  const text = await readTextFile(file);
  if (text === undefined) return undefined;
  const decoded = decode(text);
  if (typeof decoded !== 'string') return decoded;
  const aside = `${file}.corrupt-${Date.now()}`;
  await fs.rename(file, aside);
  await syncDirectory(path.dirname(file));
  logger.error({ file, renamedTo: aside, problem: decoded }, unreadable);
  return undefined;
}

async function syncDirectory(dirPath: string): Promise<void> {
  const dir = await fs.open(dirPath, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Replaces `file` with `contents`: write a temp file, fsync it, rename over the old one, fsync the directory. */
export async function writeFileAtomically(file: string, contents: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(contents);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
  const dir = await fs.open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
