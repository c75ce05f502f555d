// The `eddy` command, run as a real process (through tsx, so no build step is needed).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const CLI = path.resolve(__dirname, '../../src/cli/main.ts');
const TSX = path.resolve(__dirname, '../../node_modules/.bin/tsx');

function run(args: string[]) {
  return spawnSync(TSX, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('eddy CLI', () => {
  it('--help lists the start command', () => {
    const r = run(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('start');
  });

  it('start --help lists every option', () => {
    const r = run(['start', '--help']);
    expect(r.status).toBe(0);
    for (const option of ['--host', '--port', '--data-dir', '--advertised-host', '--advertised-port', '--node-id', '--auto-create-topics', '--num-partitions', '--message-max-bytes', '--socket-request-max-bytes', '--flush-on-ack-all', '--connections-max-idle-ms', '--log-flush-interval-messages', '--log-flush-interval-ms', '--log-segment-bytes', '--log-roll-ms', '--log-index-interval-bytes', '--log-level']) {
      expect(r.stdout).toContain(option);
    }
  });

  it('rejects an unknown option with a clear message and a non-zero exit', () => {
    const r = run(['start', '--bogus-flag', '1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Unknown argument/i);
  });

  it('rejects a missing command', () => {
    const r = run([]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('eddy start');
  });

  it.each([
    [['--port', 'abc'], 'port'],
    [['--port', '70000'], 'port'],
    [['--num-partitions', '0'], 'numPartitions'],
    [['--log-level', 'loud'], 'log-level'],
  ])('rejects a bad value %j naming the option', (args, option) => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-cli-'));
    dirs.push(dataDir);
    const r = run(['start', '--data-dir', dataDir, ...args]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(option);
  });

  it('starts with --host/--port/--data-dir, logs "listening" as JSON, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-cli-'));
    dirs.push(dataDir);
    const child = spawn(TSX, [CLI, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 20_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const line = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"listening"'))!);
    expect(line.port).toBeGreaterThan(0);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
