// Where Eddy's package is installed: the nearest directory above this module holding Eddy's own package.json.
// Code that reads files shipped beside the code (the version, the web console's assets) starts from here rather
// than counting `..` from its own module, because the same code runs from src/ (tsx), from dist/ (one file per
// module) and from the bundled CLI (dist/cli/main.js and its chunks; scripts/bundle-cli.mjs).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package.json fields Eddy reads about itself. */
export interface OwnPackage {
  root: string;
  version: string;
}

function findOwnPackage(): OwnPackage | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'eddy' && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    } catch {
      // no (readable) package.json here: keep climbing
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Eddy's package root and version (read once, synchronously, at first use: module load of version.ts). */
export const OWN_PACKAGE: OwnPackage | undefined = findOwnPackage();
