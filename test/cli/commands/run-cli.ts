// Runs the real compiled `eddy` (node dist/cli/main.js) as a child process, asynchronously so the in-process
// broker of the same test process keeps answering. The first call builds dist (npm run build's tsc and CLI
// bundle) when any file under src/ is newer than dist/cli/main.js.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
export const CLI = path.join(ROOT, 'dist/cli/main.js');

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtimeMs(p) : statSync(p).mtimeMs);
  }
  return newest;
}

let built = false;

/** Builds dist unless it is newer than every source file. */
export function ensureBuilt(): void {
  if (built) return;
  let distMtime = 0;
  try {
    distMtime = statSync(CLI).mtimeMs;
  } catch {
    distMtime = 0;
  }
  if (distMtime < newestMtimeMs(path.join(ROOT, 'src'))) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { encoding: 'utf8', timeout: 120_000 });
    // Type errors elsewhere in the tree still emit; only a missing output is fatal.
    if (r.error) throw r.error;
    // Then bundle the CLI as `npm run build` does, so the tests run the `eddy` users get.
    const bundled = spawnSync(process.execPath, [path.join(ROOT, 'scripts/bundle-cli.mjs')], { encoding: 'utf8', timeout: 120_000 });
    if (bundled.status !== 0) throw new Error(`scripts/bundle-cli.mjs failed: ${bundled.stderr}`);
  }
  statSync(CLI);
  built = true;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `eddy ...args` with `input` on stdin (stdin closed when undefined); bounded by `timeoutMs`. */
export function runCli(args: string[], options: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`eddy ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
