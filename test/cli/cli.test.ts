// The `eddy` command, run as the real compiled binary (dist/cli/main.js, built once if stale): exit codes 0/1/2
// (ok, runtime error, usage), one-line errors naming the flag as typed, the startup line, --log-format, --dev.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, REPO_ROOT, ensureBuilt } from '../helpers/spawn-broker.js';

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

beforeAll(() => ensureBuilt(), 300_000);

function run(args: string[], cwd?: string) {
  return spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 30_000, cwd });
}

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'eddy-cli-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts `eddy start …`, waits (bounded) for the startup line, then stops it with SIGTERM. */
async function startAndStop(args: string[], until: (out: string) => boolean = (out) => out.includes('"msg":"listening"')) {
  const child = spawn(process.execPath, [CLI_PATH, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line: ${out}${err}`)), 20_000);
    child.on('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before starting: ${out}${err}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (until(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  const code = await exit;
  return { code, out, err };
}

function listeningLine(out: string): Record<string, unknown> {
  return JSON.parse(out.split('\n').find((l) => l.includes('"msg":"listening"'))!) as Record<string, unknown>;
}

describe('eddy CLI: commands, help and version', () => {
  it('--help lists the start command', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('start');
  });

  it('start --help lists every option', () => {
    const r = run(['start', '--help']);
    expect(r.status).toBe(0);
    for (const option of ['--host', '--port', '--data-dir', '--advertised-host', '--advertised-port', '--node-id', '--auto-create-topics', '--num-partitions', '--message-max-bytes', '--socket-request-max-bytes', '--flush-on-ack-all', '--connections-max-idle-ms', '--log-flush-interval-messages', '--log-flush-interval-ms', '--log-segment-bytes', '--log-roll-ms', '--log-index-interval-bytes', '--log-level', '--log-format', '--dev']) {
      expect(r.stdout).toContain(option);
    }
  });

  it("--version prints Eddy's own version, whatever project it is run from", () => {
    const project = tempDir();
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'someone-else', version: '9.9.9' }));
    const r = run(['--version'], project);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('an unknown command says "unknown command" and exits 2', () => {
    const r = run(['frobnicate', '--port', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('eddy: unknown command "frobnicate"');
    expect(r.stderr).toContain('start');
  });

  it('a missing command exits 2 naming `eddy start`', () => {
    const r = run([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('eddy start');
  });

  it('an unknown flag exits 2 naming it', () => {
    const r = run(['start', '--bogus-flag', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('eddy: unknown flag --bogus-flag\n');
  });
});

describe('eddy start refuses what it does not understand (exit 2, one line naming the flag as typed)', () => {
  it.each([
    [['--port'], '--port needs a value'],
    [['--data-dir'], '--data-dir needs a value'],
    [['--port', '--host', '127.0.0.1'], '--port needs a value'],
    [['--port='], '--port "": not a number'],
    [['--port', 'abc'], '--port abc: not a number'],
    [['--port', '70000'], '--port 70000: expected an integer in [0, 65535] [INVALID_CONFIG]'],
    [['--port', '1', '--port', '2'], '--port given 2 times (1, 2)'],
    [['--num-partitions', '0'], '--num-partitions 0: expected an integer in [1, 100000]'],
    [['--num-partitions=1.5'], '--num-partitions 1.5: expected an integer'],
    [['--log-level', 'loud'], '--log-level loud: expected one of fatal, error, warn, info, debug, trace, silent'],
    [['--log-format', 'xml'], '--log-format xml: expected one of json, pretty'],
  ])('%j', (args, message) => {
    const dataDir = tempDir();
    const r = run(['start', '--data-dir', path.join(dataDir, 'd'), ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`eddy: ${message}`);
    expect(r.stderr).not.toMatch(/NaN|\n\s+at /);
    expect(r.stdout).not.toContain('listening');
  });

  it.each([
    ['a regular file', (dir: string) => {
      const file = path.join(dir, 'file');
      writeFileSync(file, 'x');
      return file;
    }],
    ['under a regular file', (dir: string) => {
      const file = path.join(dir, 'file');
      writeFileSync(file, 'x');
      return path.join(file, 'data');
    }],
    ['in procfs, where nothing can be created', () => '/proc/eddy-cannot-create-this'],
  ])('a data dir that cannot be created or written (%s) is one [DATA_DIR] line and exit 2', (_name, makePath) => {
    const dataDir = makePath(tempDir());
    const r = run(['start', '--port', '0', '--data-dir', dataDir]);
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^eddy: Cannot use data directory .*\[DATA_DIR\]$/);
    expect(lines[0]).toContain(dataDir);
  });

  it('a port already in use is a runtime error: one [LISTEN] line and exit 1', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const r = run(['start', '--port', String(port), '--data-dir', path.join(tempDir(), 'd')]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^eddy: Cannot listen on 127\.0\.0\.1:\d+: .*\[LISTEN\]$/m);
    } finally {
      blocker.close();
    }
  });
});

describe('eddy start: startup line, log format, --dev', () => {
  it('logs one JSON startup line with version, listener, data dir and non-default config, and exits 0 on SIGTERM', async () => {
    const dataDir = path.join(tempDir(), 'new');
    const { code, out } = await startAndStop(['--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--num-partitions', '3']);
    expect(code).toBe(0);
    const line = listeningLine(out);
    expect(line.port).toBeGreaterThan(0);
    expect(line.version).toBe(VERSION);
    expect(line.listeners).toEqual([`PLAINTEXT://127.0.0.1:${String(line.port)}`]);
    expect(line.dataDir).toBe(dataDir);
    expect(line.config).toEqual({ numPartitions: 3 });
    expect(typeof line.startupMs).toBe('number');
    // A brand-new data dir was not shut down uncleanly: nothing may say so.
    expect(out).not.toMatch(/unclean/i);
    expect(existsSync(dataDir)).toBe(true);
  });

  it('keeps Kafka defaults without --dev: the initial rebalance delay stays 3000 ms (not reported as non-default)', async () => {
    const { out } = await startAndStop(['--port', '0', '--data-dir', path.join(tempDir(), 'd')]);
    expect(listeningLine(out).config).toEqual({});
  });

  it('--log-format pretty prints a sentence a person can read instead of JSON', async () => {
    const dataDir = path.join(tempDir(), 'd');
    const { code, out } = await startAndStop(['--port', '0', '--data-dir', dataDir, '--log-format', 'pretty', '--num-partitions', '2'], (o) => o.includes(' listening on '));
    expect(code).toBe(0);
    const line = out.split('\n').find((l) => l.includes(' listening on '))!;
    expect(line).toMatch(new RegExp(`INFO: Eddy ${VERSION.replace(/\./g, '\\.')} listening on PLAINTEXT://127\\.0\\.0\\.1:\\d+; data dir ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`));
    expect(line).toContain('non-default config: --num-partitions=2');
    expect(line).not.toContain('{');
    expect(out).not.toContain('"level"');
  });

  it('--dev: a temporary data dir removed on exit and no initial rebalance delay', async () => {
    const { code, out } = await startAndStop(['--port', '0', '--dev']);
    expect(code).toBe(0);
    const line = listeningLine(out);
    expect(line.temporaryDataDir).toBe(true);
    expect(line.config).toEqual({ groupInitialRebalanceDelayMs: 0 });
    expect(existsSync(line.dataDir as string)).toBe(false);
  });

  it('--dev keeps what was typed: --data-dir is kept, --group-initial-rebalance-delay-ms wins', async () => {
    const dataDir = path.join(tempDir(), 'kept');
    const { out } = await startAndStop(['--port', '0', '--dev', '--data-dir', dataDir, '--group-initial-rebalance-delay-ms', '500']);
    const line = listeningLine(out);
    expect(line.dataDir).toBe(dataDir);
    expect(line.temporaryDataDir).toBeUndefined();
    expect(line.config).toEqual({ groupInitialRebalanceDelayMs: 500 });
    expect(existsSync(path.join(dataDir, 'meta.properties'))).toBe(true);
  });
});
