// The bundled CLI as `npm run build` leaves it (scripts/bundle-cli.mjs): what keeps `eddy start` fast holds —
// the V8 code cache shipped beside the bundle is accepted by this Node, the source is ASCII (one-byte in V8), it
// is stored pre-wrapped for the launcher, and it holds no import() (which Node 20's vm.Script cannot serve for
// code from cached data). Startup time itself is measured by `npm run bench -- --only startup`, not here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './commands/run-cli.js';

const CLI_DIR = path.resolve(__dirname, '../../dist/cli');
let source: string;

beforeAll(() => {
  ensureBuilt();
  source = readFileSync(path.join(CLI_DIR, 'eddy.cjs'), 'latin1');
}, 300_000);

describe('the bundled eddy CLI', () => {
  it('ships a V8 code cache that this Node accepts for the bundle', () => {
    const cachedData = readFileSync(path.join(CLI_DIR, 'eddy.cjs.cache'));
    expect(cachedData.length).toBeGreaterThan(100_000);
    const script = new vm.Script(source, { filename: path.join(CLI_DIR, 'eddy.cjs'), cachedData });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('is ASCII only, pre-wrapped in the CommonJS module function, and holds no import()', () => {
    expect(/[^\x00-\x7f]/.test(source)).toBe(false);
    expect(source.startsWith('(function (exports, require, module, __filename, __dirname) {')).toBe(true);
    expect(/\bimport\(\s*["'`]/.test(source)).toBe(false);
  });

  it('the launcher is what dist/cli/main.js holds, and THIRD-PARTY-NOTICES names the bundled packages', () => {
    expect(readFileSync(path.join(CLI_DIR, 'main.js'), 'utf8')).toContain('eddy-cli-launcher');
    const notices = readFileSync(path.join(CLI_DIR, 'THIRD-PARTY-NOTICES'), 'utf8');
    for (const name of ['yargs', 'pino']) expect(notices).toMatch(new RegExp(`^== ${name} \\d`, 'm'));
  });
});
