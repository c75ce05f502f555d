// Builds the web console (web/) into dist/web/: index.html, assets/console-<hash>.js and assets/console-<hash>.css,
// minified, no source maps, nothing fetched at run time. `npm run build` runs it after tsc; the npm package ships
// the result, so users never build it.
//
//   tsx scripts/build-web.ts [--out DIR] [--no-typecheck]
//
// Steps: type-check web/ (`tsc -p web/tsconfig.json`: esbuild only strips types), bundle web/src/main.tsx with
// esbuild (Preact's automatic JSX runtime; the CSS it imports becomes the one stylesheet), then write index.html
// from web/index.html with the hashed names, replacing what was in DIR. Prints each file's size and the gzipped
// total (what a browser downloads).
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WEB = path.join(ROOT, 'web');

export interface BuiltFile {
  /** Path inside the output directory. */
  name: string;
  bytes: number;
  gzipBytes: number;
}

/** Builds the console into `outDir` (default dist/web); returns the files written. */
export async function buildWeb(options: { outDir?: string; typecheck?: boolean } = {}): Promise<BuiltFile[]> {
  const outDir = path.resolve(options.outDir ?? path.join(ROOT, 'dist', 'web'));
  if (options.typecheck !== false) {
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(WEB, 'tsconfig.json')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (tsc.status !== 0) throw new Error(`web/ does not type-check:\n${tsc.stdout}${tsc.stderr}`);
  }
  const result = await build({
    entryPoints: [path.join(WEB, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    sourcemap: false,
    legalComments: 'none',
    entryNames: 'console-[hash]',
    outdir: path.join(outDir, 'assets'),
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (js === undefined || css === undefined || result.outputFiles.length !== 2) {
    throw new Error(`expected one .js and one .css from esbuild, got ${result.outputFiles.map((f) => f.path).join(', ')}`);
  }
  const rel = (p: string) => path.relative(outDir, p).split(path.sep).join('/');
  const template = await fs.readFile(path.join(WEB, 'index.html'), 'utf8');
  const html = template.replace('%CSS%', `/${rel(css.path)}`).replace('%JS%', `/${rel(js.path)}`);
  // Replace the whole directory: old hashed files would otherwise pile up (and ship in the package).
  await fs.rm(outDir, { recursive: true, force: true });
  await fs.mkdir(path.join(outDir, 'assets'), { recursive: true });
  const files: Array<[string, Uint8Array]> = [
    [path.join(outDir, 'index.html'), Buffer.from(html)],
    [js.path, js.contents],
    [css.path, css.contents],
  ];
  for (const [file, contents] of files) await fs.writeFile(file, contents);
  return files.map(([file, contents]) => ({ name: rel(file), bytes: contents.length, gzipBytes: gzipSync(contents, { level: 9 }).length }));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const outDir = outAt >= 0 ? args[outAt + 1] : undefined;
  if (outAt >= 0 && outDir === undefined) throw new Error('--out needs a directory');
  const files = await buildWeb({ outDir, typecheck: !args.includes('--no-typecheck') });
  const kb = (n: number) => `${(n / 1024).toFixed(1)} kB`;
  for (const f of files) console.log(`web: ${f.name.padEnd(32)} ${kb(f.bytes).padStart(9)}  gzip ${kb(f.gzipBytes).padStart(8)}`);
  const total = files.reduce((n, f) => n + f.gzipBytes, 0);
  console.log(`web: ${files.length} files, ${kb(total)} gzipped, in ${path.relative(process.cwd(), path.resolve(outDir ?? path.join(ROOT, 'dist', 'web'))) || '.'}`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
