#!/usr/bin/env node
// Entry point of the `kalshiflow` command: runs the compiled CLI (dist/<hash>/kalshiflow.js, see
// scripts/build-cli.mjs), building it first when src/ changed since the last build — a stale
// build never runs. KALSHIFLOW_TSX=1 runs the TypeScript sources through tsx instead (development).
let main;
if (process.env.KALSHIFLOW_TSX === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  const { ensureCliBuild } = await import('../scripts/build-cli.mjs');
  // the build note goes to a terminal only: scripted callers read stderr as the command's own
  const entry = await ensureCliBuild(process.stderr.isTTY ? { log: (line) => console.error(line) } : {});
  ({ main } = await import(entry));
}
process.exitCode = await main(process.argv.slice(2));
