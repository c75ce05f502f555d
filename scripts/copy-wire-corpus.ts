// Copies the wire corpus (../shared/wire-corpus: frames captured from real clients, hex without the size
// prefix) into test/fixtures/wire/<api-kebab>/<client>-<NNNN>-v<N>-{request,response}.hex, plus an
// index.json with what the codec tests need per pair. The fixtures are committed so tests run without
// ../shared.
//
//   tsx scripts/copy-wire-corpus.ts [corpusDir] [outDir]
import fs from 'node:fs';
import path from 'node:path';

interface CorpusPair {
  client: string;
  request_file: string;
  response_file: string;
  api_key: number;
  api_name: string;
  api_version: number;
  request_header_version: number;
  response_header_version: number;
  correlation_id: number;
  client_id: string | null;
  scenario: string;
  broker_profile: string;
}

function toKebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const corpusDir = process.argv[2] ?? '../shared/wire-corpus';
const outDir = process.argv[3] ?? 'test/fixtures/wire';
const index = JSON.parse(fs.readFileSync(path.join(corpusDir, 'index.json'), 'utf8')) as { pairs: CorpusPair[] };
const entries = [];
for (const p of index.pairs) {
  const seq = /\/(\d{4})-/.exec(p.request_file)?.[1];
  if (!seq) throw new Error(`unexpected file name ${p.request_file}`);
  const dir = toKebab(p.api_name);
  const base = `${p.client}-${seq}-v${p.api_version}`;
  fs.mkdirSync(path.join(outDir, dir), { recursive: true });
  fs.copyFileSync(path.join(corpusDir, p.request_file), path.join(outDir, dir, `${base}-request.hex`));
  fs.copyFileSync(path.join(corpusDir, p.response_file), path.join(outDir, dir, `${base}-response.hex`));
  entries.push({
    request: `${dir}/${base}-request.hex`,
    response: `${dir}/${base}-response.hex`,
    client: p.client,
    apiKey: p.api_key,
    apiName: p.api_name,
    apiVersion: p.api_version,
    requestHeaderVersion: p.request_header_version,
    responseHeaderVersion: p.response_header_version,
    correlationId: p.correlation_id,
    clientId: p.client_id,
    scenario: p.scenario,
    brokerProfile: p.broker_profile,
  });
}
fs.writeFileSync(path.join(outDir, 'index.json'), JSON.stringify({ source: 'copied from ../shared/wire-corpus by scripts/copy-wire-corpus.ts; requests are authoritative, responses come from franz-go kfake', pairs: entries }, null, 1) + '\n');
console.log(`copied ${entries.length} pairs to ${outDir}`);
