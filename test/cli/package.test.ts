// The npm package as a user gets it: `npm pack` (its `prepack` builds dist/) ships only what runs, with no
// install-time script; installed from the tarball into an empty project, `npx eddy --version` prints Eddy's
// version and `npx eddy start` listens with no build step; `import 'eddy'` resolves through the exports map;
// cluster mode without the optional etcd3 package says to install it.
//
// The pack runs in a copy of the sources (package.json, tsconfigs, README.md, LICENSE, src/), so the build it does
// never touches this checkout's dist/. The install resolves the dependencies with --prefer-offline: from npm's
// cache after `npm ci`, from the registry otherwise. Every step is bounded.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, ensureBuilt } from '../helpers/spawn-broker.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'eddy-pack-'));
const project = path.join(tmp, 'project');
let packedFiles: string[] = [];
let tarball = '';
let install: SpawnSyncReturns<string>;

function sh(command: string, args: string[], cwd: string, timeoutMs: number): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

beforeAll(() => {
  const source = path.join(tmp, 'source');
  // What `npm run build` reads: the sources, the CLI bundler (scripts/bundle-cli.mjs) and the web console's build.
  for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'src', 'scripts', 'web']) {
    if (existsSync(path.join(REPO_ROOT, entry))) cpSync(path.join(REPO_ROOT, entry), path.join(source, entry), { recursive: true });
  }
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(source, 'node_modules'), 'dir');
  const packed = sh('npm', ['pack', '--json', '--pack-destination', tmp], source, 120_000);
  const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packedFiles = report[0]!.files.map((f) => f.path).sort();
  tarball = path.join(tmp, report[0]!.filename);

  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', version: '9.9.9', private: true }));
  install = sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball], project, 120_000);
}, 300_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm pack', () => {
  it('ships only dist (JavaScript, type declarations, the console assets, the bundle notices), README.md, LICENSE and package.json', () => {
    expect(packedFiles).toContain('dist/cli/main.js');
    expect(packedFiles).toContain('dist/cli/THIRD-PARTY-NOTICES');
    // The bundled CLI and its V8 code cache (scripts/bundle-cli.mjs), run by the dist/cli/main.js launcher.
    expect(packedFiles).toEqual(expect.arrayContaining(['dist/cli/eddy.cjs', 'dist/cli/eddy.cjs.cache']));
    expect(packedFiles).toContain('dist/index.js');
    expect(packedFiles).toContain('dist/index.d.ts');
    expect(packedFiles).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
    const shipped = (f: string) =>
      /^dist\/.+\.(?:js|d\.ts)$/.test(f) || /^dist\/web\//.test(f) || ['dist/cli/THIRD-PARTY-NOTICES', 'dist/cli/eddy.cjs', 'dist/cli/eddy.cjs.cache'].includes(f);
    const stray = packedFiles.filter((f) => !shipped(f) && !['LICENSE', 'README.md', 'package.json'].includes(f));
    expect(stray).toEqual([]);
  });

  it('ships a package.json with no install-time script and an exports map', () => {
    const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules/eddy/package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
      exports: Record<string, unknown>;
      license: string;
    };
    for (const script of ['preinstall', 'install', 'postinstall', 'prepare']) expect(manifest.scripts?.[script]).toBeUndefined();
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.license).toBe('Apache-2.0');
    expect(readFileSync(path.join(project, 'node_modules/eddy/LICENSE'), 'utf8')).toMatch(/^\s+Apache License\s+Version 2\.0, January 2004/);
  });

  it('installs from the tarball without npm flagging install scripts', () => {
    expect(`${install.stdout}${install.stderr}`).not.toMatch(/install-scripts|install script/i);
    expect(existsSync(path.join(project, 'node_modules/.bin/eddy'))).toBe(true);
  });
});

describe('the installed package', () => {
  it("npx eddy --version prints Eddy's version, not the installing project's", () => {
    const r = sh('npx', ['--no-install', 'eddy', '--version'], project, 60_000);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('asks for the optional etcd3 package when started in cluster mode without it', () => {
    // etcd3 is an optional peer dependency: a plain install does not bring it (nor its gRPC stack's install script).
    expect(existsSync(path.join(project, 'node_modules/etcd3'))).toBe(false);
    const r = spawnSync('npx', ['--no-install', 'eddy', 'start', '--port', '0', '--data-dir', path.join(tmp, 'cluster-data'), '--etcd', 'http://127.0.0.1:1'], {
      cwd: project,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).not.toBe(0);
    expect(`${r.stdout}${r.stderr}`).toMatch(/needs the etcd3 package.*npm install etcd3/);
  });

  it("import 'eddy' gives createBroker", () => {
    const r = sh(process.execPath, ['--input-type=module', '-e', "const m = await import('eddy'); console.log(typeof m.createBroker, typeof m.BrokerError)"], project, 30_000);
    expect(r.stdout.trim()).toBe('function function');
  });

  it('npx eddy start listens with no build step and stops cleanly on Ctrl-C (SIGINT to the process group)', async () => {
    const dataDir = path.join(tmp, 'data');
    // detached: npx and the broker it runs form one process group, which the test kills if anything goes wrong.
    const child = spawn('npx', ['--no-install', 'eddy', 'start', '--port', '0', '--data-dir', dataDir], { cwd: project, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // npx may exit before the broker it started; stdout closes only when both have (the broker inherits it).
    const closed = new Promise<void>((resolve) => child.stdout.on('close', () => resolve()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line within 30 s: ${out}${err}`)), 30_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('"msg":"listening"')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const line = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"listening"'))!) as { port: number; version: string };
      expect(line.port).toBeGreaterThan(0);
      expect(line.version).toBe(VERSION);
      // Ctrl-C in a terminal: SIGINT to the foreground process group (npx, the shell npx runs the bin with, and
      // the broker). npx alone would not do: it passes a signal to that shell, which does not pass it on.
      process.kill(-child.pid!, 'SIGINT');
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      expect(out).toContain('"msg":"broker stopped"');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 60_000);
});

describe("import 'eddy' inside this repository (the exports map resolves the package to itself)", () => {
  beforeAll(() => ensureBuilt(), 300_000);

  it('node resolves eddy to this checkout', () => {
    const r = sh(process.execPath, ['--input-type=module', '-e', "const m = await import('eddy'); console.log(typeof m.createBroker, import.meta.resolve('eddy'))"], REPO_ROOT, 30_000);
    expect(r.stdout.trim()).toBe(`function ${new URL('dist/index.js', `file://${REPO_ROOT.endsWith('/') ? REPO_ROOT : `${REPO_ROOT}/`}`).href}`);
  });
});
