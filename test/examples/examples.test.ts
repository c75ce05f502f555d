// The README's test-suite examples that can run without a new dependency: node:test (built into Node) is run as
// a user would run it, `node --test`, against the built package. Jest is documented in the README but not run
// here: it is not a dependency of this repository.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../cli/commands/run-cli.js';

const ROOT = path.resolve(__dirname, '../..');

function runNodeTest(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node --test ${file} timed out\n${stdout}\n${stderr}`));
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
    const r = await runNodeTest('test/examples/node-test.example.mjs');
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^# pass 2$/m);
    expect(r.stdout).toMatch(/^# fail 0$/m);
    expect(r.status).toBe(0);
  }, 90_000);
});
