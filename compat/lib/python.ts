/**
 * Runs a compat Python script with Debian's interpreter (/usr/bin/python3, where python3-kafka and
 * python3-confluent-kafka live; a pyenv `python3` on PATH does not have them) and parses its one-line JSON
 * verdict `{ ok, problems, stats }`.
 */
import { describeResult, runProcess } from '../../test/e2e/support/kcat.js';

export const PYTHON = '/usr/bin/python3';

export interface ScriptVerdict {
  ok: boolean;
  problems: string[];
  stats: Record<string, unknown>;
}

export async function runPythonScript(script: string, args: string[], timeoutMs: number): Promise<ScriptVerdict> {
  const result = await runProcess(PYTHON, ['-u', script, ...args], {
    timeoutMs,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  const lines = result.stdout.toString('utf8').trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (result.code !== 0 || result.timedOut || !last.startsWith('{')) {
    throw new Error(`python script failed: ${describeResult(result)}`);
  }
  const verdict = JSON.parse(last) as ScriptVerdict;
  // Keep the client's own warnings next to the verdict for the failure message.
  if (!verdict.ok) verdict.problems.push(`stderr tail: ${result.stderr.slice(-3000)}`);
  return verdict;
}
