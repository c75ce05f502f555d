// `eddy start --sasl-users-file` and `--inter-broker-sasl-user-file` (src/cli/secret-files.ts): passwords kept out
// of the command line, which every user of the machine can read in /proc/PID/cmdline. The compiled CLI as a real
// process, a real SASL handshake against it, and the usage errors, which name the file and line, never the password.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withSecretFiles } from '../../src/cli/secret-files.js';
import { CLI_PATH, ensureBuilt, freePort } from '../helpers/spawn-broker.js';
import { RawClient, authenticate } from '../auth/support.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await new Promise((resolve) => c.once('exit', resolve));
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'eddy-secret-files-'));
  dirs.push(dir);
  return dir;
}

/** Runs `eddy start ARGS` until it logs "listening" (resolves the child) or exits (resolves its exit and stderr). */
function start(args: string[]): Promise<{ child: ChildProcess; exit?: number | null; stderr: string }> {
  ensureBuilt();
  const child = spawn(process.execPath, [CLI_PATH, 'start', '--log-level', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  return new Promise((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('"msg":"listening"')) resolve({ child, stderr });
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => resolve({ child, exit: code, stderr }));
  });
}

describe('passwords from files', () => {
  it('--sasl-users-file creates its users (beside --sasl-user) and no password is in the command line', async () => {
    const dir = tempDir();
    const users = path.join(dir, 'users.txt');
    writeFileSync(users, '# brokers users\nalice:alice-secret\n\n  bob:b:with:colons  \n');
    const port = await freePort();
    const started = await start(['--listeners', `SASL_PLAINTEXT://127.0.0.1:${port}`, '--data-dir', path.join(dir, 'data'), '--sasl-users-file', users, '--sasl-user', 'carol:carol-secret']);
    expect(started.exit, started.stderr).toBeUndefined();
    const cmdline = readFileSync(`/proc/${started.child.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('--sasl-users-file');
    expect(cmdline).not.toContain('alice-secret');
    for (const [mechanism, user, password] of [['PLAIN', 'alice', 'alice-secret'], ['SCRAM-SHA-256', 'bob', 'b:with:colons'], ['SCRAM-SHA-512', 'carol', 'carol-secret']] as const) {
      const client = await RawClient.connect(port);
      try {
        expect((await authenticate(client, mechanism, user, password)).errorCode, `${mechanism} ${user}`).toBe(0);
      } finally {
        client.close();
      }
    }
    const wrong = await RawClient.connect(port);
    try {
      expect((await authenticate(wrong, 'PLAIN', 'alice', 'not-it')).errorCode).not.toBe(0);
    } finally {
      wrong.close();
    }
  });

  it('an unreadable file or a line that is not name:password is a usage error (exit 2) naming the file and line, not the password', async () => {
    const dir = tempDir();
    const missing = await start(['--port', '0', '--data-dir', path.join(dir, 'data'), '--sasl-users-file', path.join(dir, 'nope.txt')]);
    expect(missing.exit).toBe(2);
    expect(missing.stderr).toBe(`eddy: --sasl-users-file ${path.join(dir, 'nope.txt')}: cannot read it (ENOENT) [USAGE]\n`);

    const bad = path.join(dir, 'bad.txt');
    writeFileSync(bad, 'alice:fine\nno-colon-secret-here\n');
    const malformed = await start(['--port', '0', '--data-dir', path.join(dir, 'data'), '--sasl-users-file', bad]);
    expect(malformed.exit).toBe(2);
    expect(malformed.stderr).toContain(`--sasl-users-file ${bad} line 2: not name:password`);
    expect(malformed.stderr).not.toContain('no-colon-secret-here');
    expect(malformed.stderr).not.toContain('fine');
  });

  it('--inter-broker-sasl-user-file gives the inter-broker user; it and --inter-broker-sasl-user are not both taken; an empty file is refused', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'inter-broker.txt');
    writeFileSync(file, '\n  broker:b-secret\nignored:line\n');
    expect(await withSecretFiles({ saslUser: 'x:y' }, { interBrokerSaslUserFile: file })).toEqual({ saslUser: 'x:y', interBrokerSaslUser: 'broker:b-secret' });
    await expect(withSecretFiles({ interBrokerSaslUser: 'a:b' }, { interBrokerSaslUserFile: file })).rejects.toMatchObject({ code: 'USAGE', message: 'give --inter-broker-sasl-user or --inter-broker-sasl-user-file, not both' });
    const empty = path.join(dir, 'empty.txt');
    writeFileSync(empty, '\n\n');
    await expect(withSecretFiles({}, { interBrokerSaslUserFile: empty })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('empty') });
    const noPassword = path.join(dir, 'no-password.txt');
    writeFileSync(noPassword, 'broker:\n');
    await expect(withSecretFiles({}, { interBrokerSaslUserFile: noPassword })).rejects.toMatchObject({ code: 'USAGE', message: `--inter-broker-sasl-user-file ${noPassword} line 1: not name:password (a non-empty name, a colon, a non-empty password)` });
    // Without files, the options are as given.
    expect(await withSecretFiles({ saslUser: ['a:b'] }, {})).toEqual({ saslUser: ['a:b'] });
  });
});
