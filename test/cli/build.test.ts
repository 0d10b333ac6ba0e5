/**
 * The compiled command (scripts/build-cli.mjs): a build is keyed by the digest of the sources, so
 * an edited source gets a new bundle and the old one can never run for it; the bundle runs, ships
 * the migrations beside it, and a second call reuses it. Runs on a small source tree of its own
 * (the real one is exercised by every test that spawns bin/kalshiflow.js).
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without declarations
import { ensureCliBuild, sourceDigest } from '../../scripts/build-cli.mjs';
import { REPO_ROOT } from '../helpers/processes.ts';

const root = mkdtempSync(join(tmpdir(), 'kf-build-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

type Build = (options: { root: string }) => Promise<string>;

describe('compiled command', () => {
  it('builds from the sources, reuses a current build and never runs a stale one', async () => {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    write('src/cli/main.ts', "import { answer } from './answer.ts';\nexport async function main(): Promise<number> { return answer(); }\n");
    write('src/cli/answer.ts', 'export const answer = (): number => 7;\n');
    write('src/rl/ppo/rollout.worker.ts', 'export {};\n');
    write('src/adapters/store/migrations/0001_first.sql', 'SELECT 1;\n');
    const build = ensureCliBuild as Build;

    const first = await build({ root });
    await expect((await import(pathToFileURL(first).href)).main()).resolves.toBe(7);
    expect(readdirSync(join(dirname(first), 'migrations'))).toEqual(['0001_first.sql']);
    expect(await build({ root })).toBe(first);

    const digestBefore = (sourceDigest as (r: string) => string)(root);
    write('src/cli/answer.ts', 'export const answer = (): number => 8;\n');
    expect((sourceDigest as (r: string) => string)(root)).not.toBe(digestBefore);
    const second = await build({ root });
    expect(second).not.toBe(first);
    await expect((await import(pathToFileURL(second).href)).main()).resolves.toBe(8);
  });
});
