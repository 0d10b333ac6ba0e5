/**
 * `npm run bench`: runs every `bench/*.bench.ts` in its own process (so one benchmark's heap and
 * JIT state cannot colour another's) and passes their JSON-line figures through.
 * `npm run bench -- NAME… [--flag value …]` runs the named ones, with the flags after the names
 * passed to each. Long runs (the soak: hours of virtual time) only run when named.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const ON_REQUEST = new Set(['soak.bench.ts']);
const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith('--'));
const only = firstFlag < 0 ? args : args.slice(0, firstFlag);
const benchFlags = firstFlag < 0 ? [] : args.slice(firstFlag);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => (only.length === 0 ? !ON_REQUEST.has(f) : only.some((o) => f.includes(o))))
  .sort();
let failed = 0;
for (const file of files) {
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, file), ...benchFlags], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed += 1;
    console.error(JSON.stringify({ bench: file, error: `exited with ${result.status}` }));
  }
}
process.exitCode = failed > 0 ? 1 : 0;
