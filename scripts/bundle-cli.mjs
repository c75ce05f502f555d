// Bundles the `eddy` command (dist/cli/main.js, as tsc emitted it) into one ES module in place, with esbuild,
// as the last step of `npm run build`. Why: Node 20 loads ES modules one file at a time (resolve, read, compile,
// link), and the CLI's graph is ~370 files (245 of Eddy's, yargs and pino with theirs); bundled, `eddy start`
// answers its first Metadata ~100 ms sooner (BENCHMARKS.md, startup). Node 20 has no module compile cache
// (module.enableCompileCache is Node 22), so fewer files is the remedy.
//
// - Only the CLI is bundled. The library (`import 'eddy'`, dist/index.js) stays one file per module: embedders
//   and test suites load it with their own bundlers and source maps.
// - Dynamic imports stay lazy (`splitting`: they become chunks in dist/cli/chunks/, loaded on first use), and the
//   packages loaded on first use stay outside the bundle (native codecs, prom-client, pino-pretty): a broker that
//   never meets a snappy batch or never serves /metrics never loads them.
// - The packages that are bundled are listed, with their license texts, in dist/cli/THIRD-PARTY-NOTICES (their
//   MIT/ISC licenses ask for the notice to travel with copies).
// - Module-relative paths: code that finds files beside the package (version.ts, http/console-assets.ts) looks
//   for the package root (package-root.ts) instead of counting `..`, so it works from the bundle as from dist/.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = path.join(root, 'dist', 'cli');
const entry = path.join(cliDir, 'main.js');
if (!existsSync(entry)) {
  console.error('bundle-cli: dist/cli/main.js is missing: run tsc first (npm run build does)');
  process.exit(1);
}

/** Loaded on first use by the broker (dynamic import) or native: kept as imports of the installed package. */
const LOADED_ON_FIRST_USE = ['@node-rs/crc32', 'snappy', 'lz4-napi', '@mongodb-js/zstd', 'prom-client', 'pino-pretty'];

const chunksDir = path.join(cliDir, 'chunks');
rmSync(chunksDir, { recursive: true, force: true });

const result = await build({
  entryPoints: { main: entry },
  outdir: cliDir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  external: LOADED_ON_FIRST_USE,
  // The CommonJS packages inside the bundle (pino and its helpers) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __eddyCreateRequire } from 'node:module';\nconst require = __eddyCreateRequire(import.meta.url);" },
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

/** The packages whose code went into the bundle: name → directory, from the inputs esbuild read. */
const bundled = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!match) continue;
  const dir = path.join(root, input.slice(0, match.index + match[0].length));
  bundled.set(dir, match[1]);
}

const notices = ['Third-party code bundled into dist/cli/main.js and dist/cli/chunks/ (by scripts/bundle-cli.mjs).', ''];
for (const [dir, name] of [...bundled].sort(([, a], [, b]) => a.localeCompare(b))) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenseFile = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  notices.push(`== ${name} ${pkg.version} (${pkg.license ?? 'see below'})`);
  notices.push(licenseFile ? readFileSync(path.join(dir, licenseFile), 'utf8').trim() : `License: ${pkg.license ?? 'unknown'} (no license file in the package)`);
  notices.push('');
}
writeFileSync(path.join(cliDir, 'THIRD-PARTY-NOTICES'), `${notices.join('\n')}\n`);
// tsc's source map described the unbundled main.js; the bundle has none.
rmSync(`${entry}.map`, { force: true });
