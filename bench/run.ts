/**
 * `npm run bench`: runs every `bench/*.bench.ts` in its own process (so one benchmark's heap and
 * JIT state cannot colour another's) and passes their JSON-line figures through.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  const result = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(here, file)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    failed += 1;
    console.error(JSON.stringify({ bench: file, error: `exited with ${result.status}` }));
  }
}
process.exitCode = failed > 0 ? 1 : 0;
