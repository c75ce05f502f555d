// Bundles the `eddy` command (dist/cli/main.js, as tsc emitted it) into one CommonJS file, dist/cli/eddy.cjs, with
// esbuild, makes a V8 code cache for it, and puts the launcher (scripts/cli-launcher.mjs) in place of
// dist/cli/main.js; the last step of `npm run build`. Why (BENCHMARKS.md, startup): Node 20 loads ES modules one
// file at a time (resolve, read, compile, link) and the CLI's graph is ~370 files; and Node 20 has no module
// compile cache (module.enableCompileCache is Node 22), while a CommonJS bundle compiled through vm.Script takes
// V8 cached data, as v8-compile-cache does.
//
// - Only the CLI is bundled. The library (`import 'eddy'`, dist/index.js) stays one module per file: embedders
//   and test suites load it with their own tools and source maps.
// - The packages loaded on first use stay outside the bundle (native codecs, prom-client, pino-pretty, re2js): a
//   broker that never meets a snappy batch or never serves /metrics never loads them.
// - The code cache is made here, at build time, by one real `eddy start`, and ships in the package beside the
//   bundle; the launcher never writes one at run time (a cache in a shared temp dir could be planted by another
//   user: cached data is bytecode).
// - The packages that are bundled are listed, with their license texts, in dist/cli/THIRD-PARTY-NOTICES (their
//   MIT/ISC licenses ask for the notice to travel with copies).
// - Module-relative paths: code that finds files beside the package (version.ts, http/console-assets.ts) looks
//   for the package root (package-root.ts) instead of counting `..`, so it works from the bundle as from dist/.
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = path.join(root, 'dist', 'cli');
const entry = path.join(cliDir, 'main.js');
const bundleFile = path.join(cliDir, 'eddy.cjs');
const cacheFile = `${bundleFile}.cache`;
const LAUNCHER_MARK = 'eddy-cli-launcher';
if (!existsSync(entry) || readFileSync(entry, 'utf8').includes(LAUNCHER_MARK)) {
  console.error('bundle-cli: dist/cli/main.js is not tsc output (missing, or already the launcher): run tsc first (npm run build does)');
  process.exit(1);
}

/** Loaded on first use by the broker (dynamic import) or native: kept as imports of the installed package (etcd3 also
 * reads its .proto files from its own directory at run time, so it cannot be bundled). */
const LOADED_ON_FIRST_USE = ['@node-rs/crc32', 'snappy', 'lz4-napi', '@mongodb-js/zstd', 'prom-client', 'pino-pretty', 're2js', 'etcd3'];

// Outputs of the earlier (ES module, split) layout.
rmSync(path.join(cliDir, 'chunks'), { recursive: true, force: true });
rmSync(cacheFile, { force: true });

/**
 * string-width (through yargs's cliui) builds an Intl.Segmenter and Unicode-property regexes (\p{RGI_Emoji}) when
 * its module is evaluated: ~16 ms of every start, for text layout that only --help uses. In the bundle each import
 * of it becomes a small function that loads the real module (esbuild's lazily initialised require) on first call.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) => {
      // The shim's own require() of the real module resolves as usual, from the original importer's directory
      // (cliui and yargs depend on different versions).
      if (args.pluginData?.lazyShim) return undefined;
      return { path: `${args.resolveDir}/string-width (lazy)`, namespace: 'lazy-string-width', pluginData: { resolveDir: args.resolveDir } };
    });
    b.onLoad({ filter: /.*/, namespace: 'lazy-string-width' }, (args) => ({
      contents: "let real;\nexport default function stringWidth(text, options) {\n  real ??= require('string-width').default;\n  return real(text, options);\n}\n",
      resolveDir: args.pluginData.resolveDir,
      loader: 'js',
      pluginData: { lazyShim: true },
    }));
  },
};

const result = await build({
  plugins: [lazyStringWidth],
  entryPoints: [entry],
  outfile: bundleFile,
  bundle: true,
  // CommonJS, so the launcher can compile it with vm.Script and V8 cached data (ES modules cannot take cached
  // data in Node 20). Our modules dynamically imported (the HTTP listener, metrics) are inlined and evaluated on
  // first use; the packages above stay import()/require() of the installed package.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: LOADED_ON_FIRST_USE,
  // import.meta.url (package-root.ts, console-assets.ts) becomes the bundle's own file URL.
  define: { 'import.meta.url': '__eddyBundleUrl' },
  banner: { js: "const __eddyBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  metafile: true,
  legalComments: 'none',
  // Non-ASCII in strings and regular expressions is written as escapes: one non-ASCII character anywhere makes V8
  // hold the ~2 MB source as a two-byte string (twice the memory). Comments are made ASCII below.
  charset: 'ascii',
  logLevel: 'warning',
});

// The packages kept outside are loaded with import() in the sources; in the bundle that becomes require() (they
// are all CommonJS, so the same named exports), because the launcher's vm.Script cannot serve import() in Node 20
// once its code comes from cached data. Any other import() left in the bundle would fail at run time: refuse it.
let bundleText = readFileSync(bundleFile, 'utf8');
for (const name of LOADED_ON_FIRST_USE) {
  bundleText = bundleText.split(`import(${JSON.stringify(name)})`).join(`Promise.resolve().then(() => require(${JSON.stringify(name)}))`);
}
// What is still not ASCII can only be in comments now (charset above): replaced, so the source is one-byte.
bundleText = bundleText.replace(/[^\x00-\x7f]/g, '?');
const leftover = /\bimport\(\s*["'`]/.exec(bundleText);
if (leftover) {
  const at = bundleText.lastIndexOf('\n', leftover.index);
  console.error(`bundle-cli: the bundle still has an import() (${bundleText.slice(leftover.index, leftover.index + 60)} at offset ${leftover.index}, line start ${at}); add the package to LOADED_ON_FIRST_USE or import it statically`);
  process.exit(1);
}
// Written as the exact text the launcher compiles (the entry's `#!` line dropped, CommonJS's function wrapper
// around it), so the launcher holds the ~2 MB source once instead of building wrapped copies of it.
bundleText = bundleText.replace(/^#![^\n]*\n/, '');
writeFileSync(bundleFile, `(function (exports, require, module, __filename, __dirname) {${bundleText}\n})`);

// The command itself: the launcher, which compiles the bundle with the code cache made below.
copyFileSync(path.join(root, 'scripts', 'cli-launcher.mjs'), entry);
chmodSync(entry, 0o755);
rmSync(`${entry}.map`, { force: true });

/** The packages whose code went into the bundle: name → directory, from the inputs esbuild read. */
const bundled = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  if (input.startsWith('lazy-string-width:')) continue; // the shim above, not a package's file
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (!match) continue;
  const dir = path.join(root, input.slice(0, match.index + match[0].length));
  bundled.set(dir, match[1]);
}

const notices = ['Third-party code bundled into dist/cli/eddy.cjs (by scripts/bundle-cli.mjs).', ''];
for (const [dir, name] of [...bundled].sort(([, a], [, b]) => a.localeCompare(b))) {
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenseFile = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  notices.push(`== ${name} ${pkg.version} (${pkg.license ?? 'see below'})`);
  notices.push(licenseFile ? readFileSync(path.join(dir, licenseFile), 'utf8').trim() : `License: ${pkg.license ?? 'unknown'} (no license file in the package)`);
  notices.push('');
}
writeFileSync(path.join(cliDir, 'THIRD-PARTY-NOTICES'), `${notices.join('\n')}\n`);

/**
 * The V8 code cache: one `eddy start` on an empty temporary data dir, asked ApiVersions and Metadata once it listens
 * and then stopped, so the cache holds what a start and a client's first requests compile (V8 compiles functions
 * lazily, on first call). The launcher writes it at exit
 * (EDDY_CODE_CACHE_OUT). A failure here leaves no cache (starts are then ~30 ms slower) and says so; it does not fail
 * the build.
 */
/** ApiVersions v0 then Metadata v0 (all topics) on one connection; resolves when both are answered (or after 5 s). */
function firstRequests(port) {
  const frame = (apiKey, correlationId, body) => {
    const clientId = Buffer.from('eddy-build');
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(0, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    const size = Buffer.alloc(4);
    size.writeInt32BE(header.length + clientId.length + body.length, 0);
    return Buffer.concat([size, header, clientId, body]);
  };
  const allTopics = Buffer.alloc(4); // Metadata v0: an empty topic array means every topic
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 5000);
    let received = Buffer.alloc(0);
    let answers = 0;
    socket.on('error', done);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        received = received.subarray(4 + received.readInt32BE(0));
        if (++answers === 2) done();
      }
    });
    socket.write(Buffer.concat([frame(18, 1, Buffer.alloc(0)), frame(3, 2, allTopics)]));
  });
}

async function makeCodeCache() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-code-cache-'));
  try {
    await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [entry, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
        env: { ...process.env, EDDY_CODE_CACHE_OUT: cacheFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('no "listening" line within 30 s'));
      }, 30_000);
      let out = '';
      let asked = false;
      child.stdout.on('data', (chunk) => {
        out += chunk;
        const line = out.split('\n').find((l) => l.includes('"msg":"listening"'));
        if (line === undefined || asked) return;
        asked = true;
        // One ApiVersions and one Metadata, as a client's first requests, so their code is in the cache too.
        firstRequests(JSON.parse(line).port).finally(() => child.kill('SIGTERM'));
      });
      child.stderr.resume();
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (existsSync(cacheFile)) resolve();
        else reject(new Error(`the broker exited (code ${code}, signal ${signal}) without writing the cache`));
      });
    });
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

try {
  await makeCodeCache();
} catch (err) {
  console.warn(`bundle-cli: no V8 code cache (${err.message}); eddy starts without one`);
}
