/**
 * The `kalshiflow` command: dispatches to one module per subcommand, loaded lazily so a command
 * only pays for what it uses. Every command returns its exit code; errors meant for the user are
 * one line on stderr.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrlPasswords } from '../core/secrets.ts';
import { suggestFlag } from './flags.ts';
import { applyEnvNames, ConfigError, loadDotEnv } from '../app/config.ts';
import { UsageError } from '../app/errors.ts';

type CommandRunner = (argv: string[]) => Promise<number>;

const commands: Record<string, { summary: string; load: () => Promise<CommandRunner> }> = {
  start: {
    summary: 'run the trader (default: against the embedded simulator), dashboard on :8005',
    load: async () => (await import('./start.command.ts')).runStartCommand,
  },
  sim: {
    summary: 'run the Kalshi-compatible exchange simulator standalone',
    load: async () => (await import('./sim.command.ts')).runSimCommand,
  },
  record: { summary: 'record order books of chosen markets into a session (sim, paper or production, read-only)', load: async () => (await import('./record.command.ts')).runRecordCommand },
  session: { summary: 'scripted paper-trading sessions: `session run FILE`, `session sweep FILE --seeds 1-50`', load: async () => (await import('./session.command.ts')).runSessionCommand },
  features: { summary: 'the obs-v1 observation at every step of a recorded session, as CSV', load: async () => (await import('./features.command.ts')).runFeaturesCommand },
  train: { summary: 'train a PPO policy on recorded sessions, export it to ONNX (models table)', load: async () => (await import('./train.command.ts')).runTrainCommand },
  eval: { summary: 'evaluate an ONNX policy on held-out sessions against HOLD and a rule baseline', load: async () => (await import('./eval.command.ts')).runEvalCommand },
  rl: { summary: 'RL workbench: `rl regimes` (record simulator regimes), `rl sessions`, `rl models`', load: async () => (await import('./rl.command.ts')).runRlCommand },
  worker: { summary: 'run sweep jobs from PostgreSQL (any number of workers share one database)', load: async () => (await import('./sweep.command.ts')).runWorkerCommand },
  ctl: { summary: 'steer a running trader: `ctl pause|resume|cancel-all|flatten [--ticker T]`', load: async () => (await import('./ctl.command.ts')).runCtlCommand },
  db: {
    summary: 'database maintenance: `db migrate`',
    load: async () => (await import('./db.command.ts')).runDbCommand,
  },
};

export const USAGE = [
  'usage: kalshiflow <command> [options]',
  '',
  'commands:',
  ...Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
  '',
  'Run `kalshiflow help <command>` (or `kalshiflow <command> --help`) for a command\'s options;',
  '`kalshiflow --version` prints the version.',
].join('\n');

/** The package's version: the nearest package.json named kalshiflow above this file (sources or dist/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'kalshiflow' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<number> {
  // a .env file in the working folder, then the KALSHIFLOW_ names over their older aliases
  try {
    loadDotEnv();
  } catch (error) {
    console.error(`kalshiflow: .env: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  applyEnvNames(process.env);
  let [name, ...rest] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`kalshiflow ${packageVersion()}`);
    return 0;
  }
  // `kalshiflow help start` is `kalshiflow start --help`
  if (name === 'help' && rest.length > 0) [name, rest] = [rest[0], ['--help']];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    const guess = suggestFlag(name, Object.keys(commands));
    console.error(`kalshiflow: unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}\n\n${USAGE}`);
    return 2;
  }
  try {
    const run = await command.load();
    return await run(rest);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof UsageError) {
      console.error(`kalshiflow ${name}: ${redactUrlPasswords(error.message)}`);
      return 2;
    }
    // a driver's or library's message may quote a connection string
    console.error(`kalshiflow ${name}: ${redactUrlPasswords(error instanceof Error ? error.message : String(error))}`);
    return 1;
  }
}
