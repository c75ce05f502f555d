#!/usr/bin/env node
// eddy-cli-launcher: the `eddy` command as installed (scripts/bundle-cli.mjs copies this file to dist/cli/main.js).
// It runs the bundled CLI (dist/cli/eddy.cjs) compiled with the V8 code cache that `npm run build` made next to
// it (eddy.cjs.cache), so a start skips parsing and compiling most of the ~2 MB bundle: Node 20 has no module
// compile cache of its own (module.enableCompileCache is Node 22). V8 checks the cache against the source, its
// own version and flags; a cache that does not fit (another Node version) is ignored and the bundle compiled as
// usual. Nothing is written at run time: the cache ships in the package like the code.
//
// EDDY_CODE_CACHE_OUT=<file> (used by the build only): write the cache there when the process exits, after the
// code a start runs has been compiled.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const dir = path.dirname(fileURLToPath(import.meta.url));
const bundle = path.join(dir, 'eddy.cjs');
const cacheFile = `${bundle}.cache`;

// The bundle is stored already wrapped in CommonJS's module function (bundle-cli.mjs), and ASCII only.
const source = readFileSync(bundle, 'latin1');
let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(source, {
  filename: bundle,
  cachedData,
  // No importModuleDynamically: the bundle holds no import() (bundle-cli.mjs turns the ones of the packages it
  // keeps outside into require()), because Node 20 loses a vm.Script's import() callback in functions compiled
  // after the script came from cached data.
});
const cacheOut = process.env.EDDY_CODE_CACHE_OUT;
if (cacheOut) {
  delete process.env.EDDY_CODE_CACHE_OUT;
  process.once('exit', () => writeFileSync(cacheOut, script.createCachedData()));
}
const module = new Module(bundle);
module.filename = bundle;
module.loaded = true;
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dir);
