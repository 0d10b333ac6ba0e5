/**
 * The compiled `kalshiflow` command: esbuild bundles src/cli/main.ts (and the RL rollout worker)
 * into `dist/<hash>/`, where <hash> is a digest of every file under src/, this script and the
 * esbuild version. `bin/kalshiflow.js` computes the digest at each start (a few ms) and runs that
 * folder's bundle, building it first when it is missing — so a stale build can never run: an
 * edited source file has another digest. Builds land in a temporary folder renamed into place, so
 * processes starting together never see half a build. `npm ci` builds it (`prepare`); `npm run
 * build` by hand. Packages stay external (node_modules, resolved at run time).
 *
 * Layout: `dist/<hash>/` sits two levels below the repository, like `src/<folder>/`, so the few
 * modules that find files from their own location (`../../` for web/ and statecharts/,
 * `./migrations` for the SQL, copied next to the bundle) resolve the same in both.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Old builds are removed once this old (a process started from one may still load its worker). */
const KEEP_OLD_BUILDS_MS = 60 * 60 * 1000;

function listFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

function esbuildVersion() {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', 'esbuild', 'package.json'), 'utf8')).version;
  } catch {
    return 'missing';
  }
}

/** Digest of what the bundle is made from: src/ (paths and contents), this script, esbuild's version. */
export function sourceDigest(root = ROOT) {
  const hash = createHash('sha256');
  for (const file of listFiles(join(root, 'src')).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  hash.update(readFileSync(fileURLToPath(import.meta.url))).update(esbuildVersion());
  return hash.digest('hex').slice(0, 16);
}

/**
 * The bundle's entry for the current sources: `dist/<hash>/kalshiflow.js`, built when missing.
 * `options.root` is the repository (default: this script's); `options.log` hears of a build.
 */
export async function ensureCliBuild(options = {}) {
  const root = options.root ?? ROOT;
  const src = join(root, 'src');
  const dist = join(root, 'dist');
  const digest = sourceDigest(root);
  const outDir = join(dist, digest);
  const entry = join(outDir, 'kalshiflow.js');
  if (existsSync(entry)) return entry;
  const started = performance.now();
  mkdirSync(dist, { recursive: true });
  const tmp = join(dist, `.tmp-${digest}-${process.pid}-${Date.now()}`);
  const esbuild = await import('esbuild');
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: { kalshiflow: join(src, 'cli', 'main.ts'), 'rollout.worker': join(src, 'rl', 'ppo', 'rollout.worker.ts') },
      outdir: tmp,
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      splitting: true,
      chunkNames: '[name]-[hash]',
      target: 'node20',
      sourcemap: 'linked',
      logLevel: 'silent',
    });
    cpSync(join(src, 'adapters', 'store', 'migrations'), join(tmp, 'migrations'), { recursive: true });
    try {
      renameSync(tmp, outDir);
    } catch (error) {
      // another process finished the same build first: theirs is identical
      if (!existsSync(entry)) throw error;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  removeOldBuilds(dist, digest);
  if (options.log) options.log(`kalshiflow: built dist/${digest} (${Math.round(performance.now() - started)} ms)`);
  return entry;
}

function removeOldBuilds(dist, current) {
  for (const name of readdirSync(dist)) {
    if (name === current) continue;
    const path = join(dist, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by another process meanwhile
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const entry = await ensureCliBuild({ log: (line) => console.log(line) });
  console.log(`kalshiflow: ${relative(ROOT, entry)} is current`);
}
