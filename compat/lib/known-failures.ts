/**
 * The explicit allowlist of compat cases known to fail (compat/known-failures.json, each explained in
 * compat/FINDINGS.md). A listed case runs as `test.fails`: it still runs, the run stays green while it fails,
 * and it turns red the moment it passes, so a fixed finding cannot linger. Unlisted cases are plain tests.
 */
import { readFileSync } from 'node:fs';
import { test, type TestOptions } from 'vitest';

interface KnownFailure {
  /** The test title exactly as passed to compatTest. */
  test: string;
  /** FINDINGS.md entry id, e.g. "F1". */
  finding: string;
}

const file = new URL('../known-failures.json', import.meta.url);
const known = new Map<string, KnownFailure>(
  (JSON.parse(readFileSync(file, 'utf8')) as { cases: KnownFailure[] }).cases.map((c) => [c.test, c]),
);

export function isKnownFailure(title: string): boolean {
  return known.has(title);
}

/** `test(title, options, fn)`, or `test.fails(…)` when the title is on the allowlist. */
export function compatTest(title: string, options: TestOptions, fn: () => Promise<void> | void): void;
export function compatTest(title: string, fn: () => Promise<void> | void): void;
export function compatTest(title: string, a: TestOptions | (() => Promise<void> | void), b?: () => Promise<void> | void): void {
  const run = known.has(title) ? test.fails : test;
  const shownTitle = known.has(title) ? `${title} [known failure ${known.get(title)?.finding}]` : title;
  if (typeof a === 'function') run(shownTitle, a);
  else run(shownTitle, a, b as () => Promise<void> | void);
}
