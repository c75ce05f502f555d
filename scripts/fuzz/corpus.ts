// The fuzzer's seeds: every captured client request in test/fixtures/wire (listed by index.json), as request
// bodies (header included, no size prefix), with the header length and, where our generated codec can read the
// version, the decoded request for structure-aware mutation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { API_CODECS } from '../../src/protocol/generated/index.js';
import { readRequestHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const WIRE_DIR = path.join(REPO_ROOT, 'test/fixtures/wire');

export interface CorpusFrame {
  /** Path under test/fixtures/wire. */
  file: string;
  client: string;
  apiKey: number;
  apiVersion: number;
  clientId: string | null;
  /** Request header + body, without the size prefix. */
  body: Buffer;
  /** Bytes of the request header at the front of `body`. */
  headerLength: number;
  /** The decoded request body, or null when the codec cannot read this version (newer than Kafka 3.9). */
  decoded: unknown;
}

interface IndexJson {
  pairs: Array<{ request: string; client: string; apiKey: number; apiVersion: number }>;
}

export function loadCorpus(dir = WIRE_DIR): CorpusFrame[] {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as IndexJson;
  const frames: CorpusFrame[] = [];
  for (const pair of index.pairs) {
    const body = Buffer.from(readFileSync(path.join(dir, pair.request), 'utf8').trim(), 'hex');
    const r = new Reader(body);
    let headerLength = 8;
    let clientId: string | null = null;
    let decoded: unknown = null;
    try {
      const header = readRequestHeader(r);
      headerLength = r.offset;
      clientId = header.clientId;
      const codec = API_CODECS.get(pair.apiKey);
      if (codec !== undefined && pair.apiVersion <= codec.maxVersion) decoded = codec.readRequest(r, pair.apiVersion);
    } catch {
      decoded = null;
    }
    frames.push({ file: pair.request, client: pair.client, apiKey: pair.apiKey, apiVersion: pair.apiVersion, clientId, body, headerLength, decoded });
  }
  if (frames.length === 0) throw new Error(`no request frames listed in ${dir}/index.json`);
  return frames;
}

/** Prefixes a body with its int32 size. */
export function sizePrefixed(body: Buffer, declared = body.length): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(declared | 0, 0);
  body.copy(out, 4);
  return out;
}
