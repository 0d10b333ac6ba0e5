/**
 * The layering rule, checked on the source itself: imports point inwards. The inner layers
 * (core, machines, actors, adapters, rl, sim) never import the wiring (app) nor what sits on top
 * (cli, server, sessions); core imports only core, plus the few pure packages listed here (no
 * I/O). Specifiers come from TypeScript's own pre-processor, so dynamic `import()` and
 * `export … from` count and comments do not.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');
const INNER = ['actors', 'machines', 'adapters', 'core', 'rl', 'sim'];
const OUTER = ['app', 'cli', 'server', 'sessions'];
/** Packages core may use: validation and pure computation (request signing), nothing that does I/O. */
const CORE_PACKAGES = new Set(['zod', 'node:crypto']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

/** Every import of one file: its top-level src folder (or the package name) and the specifier. */
function importsOf(file: string): { target: string; specifier: string }[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { target: `package:${specifier}`, specifier };
    const path = relative(SRC, resolve(dirname(file), specifier));
    return { target: path.startsWith('..') ? `outside:${path}` : (path.split(/[\\/]/)[0] ?? path), specifier };
  });
}

function layerOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0] ?? '';
}

const files = sourceFiles(SRC);

describe('layers: imports point inwards', () => {
  it('reads the source tree and finds imports in it', () => {
    // guards the check itself: an empty walk or a parser that finds nothing would pass every rule
    for (const layer of [...INNER, ...OUTER]) expect(files.some((f) => layerOf(f) === layer), layer).toBe(true);
    expect(importsOf(join(SRC, 'app', 'runtime.ts')).map((i) => i.target)).toContain('actors');
  });

  it('no inner layer imports app, cli, server or sessions', () => {
    const violations = files
      .filter((file) => INNER.includes(layerOf(file)))
      .flatMap((file) => importsOf(file).filter((i) => OUTER.includes(i.target)).map((i) => `${relative(SRC, file)} → ${i.specifier}`));
    expect(violations).toEqual([]);
  });

  it('core imports only core and pure packages', () => {
    const violations = files
      .filter((file) => layerOf(file) === 'core')
      .flatMap((file) =>
        importsOf(file)
          .filter((i) => i.target !== 'core' && !(i.target.startsWith('package:') && CORE_PACKAGES.has(i.specifier)))
          .map((i) => `${relative(SRC, file)} → ${i.specifier}`),
      );
    expect(violations).toEqual([]);
  });
});
