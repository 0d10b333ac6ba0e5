/**
 * The dashboard's files: building them (esbuild bundles `web/src/main.tsx` with Preact into
 * `web/dist/assets/app.js`, next to `index.html` and `styles.css`) and serving them from disk
 * with a path-traversal guard. `scripts/build-web.ts` (`npm run build:web`) calls `buildWeb`;
 * `startHttpServer` calls `ensureWebBuild` so `npm start` works from a clean clone. Everything is
 * served locally (no CDN). Part of src/server.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_SOURCE_DIR = join(REPO_ROOT, 'web');
export const DEFAULT_WEB_ROOT = join(WEB_SOURCE_DIR, 'dist');
export const DEFAULT_STATECHARTS_DIR = join(REPO_ROOT, 'statecharts');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

export interface BuildWebOptions {
  sourceDir?: string;
  outDir?: string;
  minify?: boolean;
}

export interface BuildWebResult {
  outDir: string;
  files: string[];
}

/** Bundles the dashboard. Needs the `esbuild` package (a devDependency). */
export async function buildWeb(options: BuildWebOptions = {}): Promise<BuildWebResult> {
  const sourceDir = options.sourceDir ?? WEB_SOURCE_DIR;
  const outDir = options.outDir ?? join(sourceDir, 'dist');
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error('the dashboard is not built and esbuild is not installed: run `npm install` (dev dependencies) then `npm run build:web`');
  }
  await mkdir(join(outDir, 'assets'), { recursive: true });
  await esbuild.build({
    entryPoints: [join(sourceDir, 'src', 'main.tsx')],
    outfile: join(outDir, 'assets', 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'silent',
    absWorkingDir: REPO_ROOT,
  });
  await copyFile(join(sourceDir, 'index.html'), join(outDir, 'index.html'));
  await copyFile(join(sourceDir, 'styles.css'), join(outDir, 'assets', 'styles.css'));
  await copyFile(join(sourceDir, 'favicon.svg'), join(outDir, 'assets', 'favicon.svg'));
  return { outDir, files: ['index.html', 'assets/app.js', 'assets/app.js.map', 'assets/styles.css', 'assets/favicon.svg'] };
}

/** Builds the dashboard into `webRoot` when it has no index.html yet. Returns whether it built. */
export async function ensureWebBuild(webRoot: string = DEFAULT_WEB_ROOT, sourceDir: string = WEB_SOURCE_DIR): Promise<boolean> {
  if (existsSync(join(webRoot, 'index.html'))) return false;
  if (!existsSync(join(sourceDir, 'src', 'main.tsx'))) return false;
  await buildWeb({ sourceDir, outDir: webRoot });
  return true;
}

export interface Asset {
  body: Uint8Array;
  contentType: string;
}

/** Reads `relativePath` under `root`, or null if it is missing or would escape `root`. */
export async function readAsset(root: string, relativePath: string): Promise<Asset | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relativePath);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = resolve(root);
  const file = resolve(base, normalize(decoded).replace(/^([/\\])+/, ''));
  if (file !== base && !file.startsWith(base + sep)) return null;
  try {
    const info = await stat(file);
    if (!info.isFile()) return null;
    const body = await readFile(file);
    return { body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), contentType: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' };
  } catch {
    return null;
  }
}
