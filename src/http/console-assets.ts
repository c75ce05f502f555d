// The web console's files, served by the admin listener (index.ts) from the directory scripts/build-web.ts writes:
//
//   <dir>/index.html                the page (`/` and `/index.html`), Cache-Control: no-cache
//   <dir>/assets/console-<hash>.js  the bundle and its stylesheet; the name changes with the content, so they are
//   <dir>/assets/console-<hash>.css cached for a year (`immutable`); any other file: no-cache
//
// The directory is dist/web of Eddy's package root (package-root.ts: the same from src/ under tsx or vitest, from
// dist/ and from the bundled CLI's chunks; in the npm tarball, in a clone after `npm run build`). A clone that was
// never built has no dist/web: `/` then answers 503 with a page saying so.
//
// Paths are checked before any file system call: percent-decoded, split on `/`, and refused (404) when a segment
// is empty, `.`, `..`, starts with a dot, or holds a backslash or NUL; the joined path must still lie inside the
// directory, and only regular files are served. Unknown files are 404 (JSON, as every admin error).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OWN_PACKAGE } from '../package-root.js';

/** What ConsoleAssets.serve() answers: an AdminResponse with a body (HEAD responses drop it in node:http). */
export interface AssetResponse {
  status: number;
  body: unknown;
  contentType?: string;
  headers: Record<string, string>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Names build-web.ts gives the bundle: `console-` and esbuild's content hash (8 base32 characters). */
const HASHED_NAME = /^assets\/[a-z]+-[A-Z0-9]{8}\.(js|css)$/;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Eddy console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The Eddy web console is not built</h1>
<p>This copy of Eddy runs from a source checkout without the console's assets. Run <code>npm run build</code> in the
repository (it writes <code>dist/web/</code>), then reload this page. Installed packages ship the console prebuilt.</p>
<p>The JSON API is available: <a href="/v1/cluster">/v1/cluster</a>, <a href="/v1/topics">/v1/topics</a>.</p>
</body></html>
`;

function notFound(pathname: string): AssetResponse {
  return { status: 404, body: { error: { code: 'NOT_FOUND', message: `no route or console file ${pathname}` } }, headers: {} };
}

/** The relative file path `pathname` names inside the assets directory, or null when it is not a safe one. */
export function assetPathOf(pathname: string): string | null {
  if (pathname === '/' || pathname === '') return 'index.html';
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (!decoded.startsWith('/')) return null;
  const segments = decoded.slice(1).split('/');
  for (const s of segments) {
    if (s.length === 0 || s.startsWith('.') || s.includes('\\') || s.includes('\0')) return null;
  }
  return segments.join('/');
}

export class ConsoleAssets {
  private readonly root: string;

  constructor(dir: string) {
    this.root = path.resolve(dir);
  }

  /** dist/web of Eddy's package (without a package.json above this module: two levels up, as in src/http/). */
  static defaultDir(): string {
    const root = OWN_PACKAGE?.root ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
    return path.join(root, 'dist', 'web');
  }

  get dir(): string {
    return this.root;
  }

  async serve(pathname: string): Promise<AssetResponse> {
    const relative = assetPathOf(pathname);
    if (relative === null) return notFound(pathname);
    const file = path.join(this.root, relative);
    if (!file.startsWith(this.root + path.sep)) return notFound(pathname);
    let body: Buffer;
    try {
      const stat = await fs.stat(file);
      if (!stat.isFile()) return notFound(pathname);
      body = await fs.readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      if (relative === 'index.html') {
        return { status: 503, body: NOT_BUILT_PAGE, contentType: CONTENT_TYPES['.html'], headers: { 'cache-control': 'no-store' } };
      }
      return notFound(pathname);
    }
    const contentType = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const cacheControl = HASHED_NAME.test(relative) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { status: 200, body, contentType, headers: { 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' } };
  }
}
