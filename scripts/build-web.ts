/**
 * `npm run build:web`: bundles the dashboard (web/src, Preact) with esbuild into web/dist, which
 * the operator server serves at `/` and `/v3-trader`. `--out <dir>` builds elsewhere,
 * `--no-minify` keeps the bundle readable. The server also runs this build on first start when
 * web/dist is missing.
 */
import { parseArgs } from 'node:util';
import { buildWeb } from '../src/server/web-assets.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    'no-minify': { type: 'boolean', default: false },
  },
});

try {
  const result = await buildWeb({ ...(values.out ? { outDir: values.out } : {}), minify: !values['no-minify'] });
  console.log(`built the dashboard into ${result.outDir}: ${result.files.join(', ')}`);
} catch (error) {
  console.error(`build:web failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
