// The README's test-suite examples, each run as a user would run it against the built package: node:test with
// `node --test`, jest (a devDependency for this) with `node --experimental-vm-modules` (Eddy is an ES module).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/commands/run-cli.js';

const ROOT = path.resolve(__dirname, '../..');

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('README test-suite examples', () => {
  beforeAll(() => ensureBuilt(), 150_000);

  it('the node:test example passes under node --test', async () => {
    const r = await run(['--test', '--test-reporter=tap', 'test/examples/node-test.example.mjs']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^# pass 2$/m);
    expect(r.stdout).toMatch(/^# fail 0$/m);
    expect(r.status).toBe(0);
  }, 90_000);

  it('the jest example passes under jest', async () => {
    const r = await run([
      '--experimental-vm-modules',
      'node_modules/jest/bin/jest.js',
      '--rootDir', 'test/examples',
      '--testMatch', '**/jest.example.mjs',
      '--ci', '--colors=false',
    ]);
    // jest reports on stderr.
    expect(r.stderr).toMatch(/^Tests:\s+2 passed, 2 total$/m);
    expect(r.stderr).toContain('PASS test/examples/jest.example.mjs');
    expect(r.status).toBe(0);
  }, 90_000);
});
