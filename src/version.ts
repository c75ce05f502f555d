// Eddy's own version, read from Eddy's package.json beside the code (src/ or dist/, both one level below the
// package root), never from process.cwd(): `eddy --version` in another project must not print that project's.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === 'eddy' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The `version` field of Eddy's package.json ("unknown" if it cannot be read). */
export const EDDY_VERSION: string = readVersion();
