/**
 * `kalshiflow session`: scripted paper-trading sessions.
 *
 *   kalshiflow session run FILE [--realtime] [--out DIR] [--db URL]
 *   kalshiflow session schema            (the scenario JSON Schema)
 *
 * `run` exits 0 when every expectation holds, 1 when one fails (each printed with its observed
 * value) or the session itself broke, 2 when the file is invalid (with the path of the bad field).
 * A progress bar is drawn on a terminal, plain lines otherwise. The run is stored in Postgres
 * (DATABASE_URL / --db, or an embedded database in the data folder) and its report written to
 * --out (default `<data dir>/sessions/<name>-<run id>/`).
 */
import { join } from 'node:path';
import { parseFlags } from './flags.ts';
import { loadEnvConfig } from '../app/config.ts';
import { UsageError } from '../app/errors.ts';
import { runSession } from '../sessions/runner.ts';
import type { RunSessionOptions, SessionProgress } from '../sessions/runner.ts';
import { writeReportFiles } from '../sessions/report-files.ts';
import { formatDuration, loadScenario, scenarioJsonSchema, ScenarioError } from '../sessions/scenario.ts';

const HELP = `usage: kalshiflow session run FILE [--realtime] [--out DIR] [--db URL]
       kalshiflow session sweep FILE [--seeds 1-50] [--set path=a,b …] [--db URL] [--workers N]
       kalshiflow session schema

  run        run a scenario (YAML or JSON) against the embedded simulator
    --realtime   loopback sockets and the wall clock instead of the virtual clock
    --out DIR    where report.json and report.html go (default <data dir>/sessions/<name>-<run>)
    --db URL     PostgreSQL to store the run in (default DATABASE_URL, else an embedded database
                 in <data dir>/sessions-db)
  sweep      one run per combination of seeds × --set values, as jobs (see session sweep --help)
  schema     print the scenario file's JSON Schema

exit codes: 0 every expectation holds · 1 an expectation failed (or the session broke) · 2 invalid file`;

const BAR_WIDTH = 28;

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/** Draws progress on a terminal (one redrawn line) or as plain lines every 10 %. */
function progressPrinter(stream: ProgressStream | null): { update(p: SessionProgress): void; clear(): void } {
  if (stream === null) return { update: () => {}, clear: () => {} };
  const tty = stream.isTTY === true;
  let lastDecile = -1;
  let drawn = false;
  return {
    update(p) {
      const fraction = p.totalMs > 0 ? Math.min(1, p.elapsedMs / p.totalMs) : 0;
      const status = `${formatDuration(Math.floor(p.elapsedMs / 1000) * 1000)}/${formatDuration(p.totalMs)} ${p.phase} · ${p.state ?? '—'} · orders ${p.orders} · fills ${p.fills} · faults ${p.faultsApplied}`;
      if (tty) {
        const filled = Math.round(fraction * BAR_WIDTH);
        stream.write(`\r\x1b[2K[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${status}`);
        drawn = true;
        return;
      }
      const decile = Math.floor(fraction * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${String(decile * 10).padStart(3)}% ${status}\n`);
      }
    },
    clear() {
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseFlags(argv, {
    realtime: { type: 'boolean' },
    out: { type: 'string' },
    db: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file) throw new UsageError('session run: FILE is required (see --help)');
  if (extra.length) throw new UsageError(`session run: unexpected argument ${extra[0]}`);
  const config = loadEnvConfig();
  const databaseUrl = parsed.values.db ?? config.DATABASE_URL;
  if (parsed.values.db !== undefined && !/^postgres(ql)?:\/\//.test(parsed.values.db)) {
    throw new UsageError('--db: must be a postgres:// URL');
  }

  return runScenarioFile(file, {
    ...(databaseUrl ? { databaseUrl } : { storeDataDir: join(config.KALSHIFLOW_DATA_DIR, 'sessions-db') }),
    dataDir: config.KALSHIFLOW_DATA_DIR,
    realtime: parsed.values.realtime === true,
    ...(parsed.values.out ? { outDir: parsed.values.out } : {}),
  });
}

export interface ScenarioFileOptions extends Pick<RunSessionOptions, 'store' | 'databaseUrl' | 'storeDataDir'> {
  /** Local data folder (simulator keys; default report folder under it). */
  dataDir: string;
  realtime?: boolean;
  outDir?: string;
  /** Where lines go (default the console). */
  print?: (line: string) => void;
  printError?: (line: string) => void;
  /** Where the progress bar goes (default stderr); null for none. */
  progressStream?: ProgressStream | null;
}

/** Loads, runs and reports one scenario file; returns the exit code (0 passed, 1 failed, 2 invalid). */
export async function runScenarioFile(file: string, options: ScenarioFileOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const printError = options.printError ?? ((line: string) => console.error(line));
  let loaded;
  try {
    loaded = await loadScenario(file);
  } catch (error) {
    if (error instanceof ScenarioError) {
      printError(`kalshiflow session: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const scenario = loaded.scenario;
  const realtime = options.realtime === true || scenario.clock === 'realtime';
  print(
    `${scenario.name}: ${formatDuration(scenario.duration)} (+${formatDuration(scenario.drain)} drain) on the ${realtime ? 'wall clock over loopback' : 'virtual clock'}, seed ${scenario.seed}, ${scenario.faults.length} faults`,
  );
  const printer = progressPrinter(options.progressStream === undefined ? process.stderr : options.progressStream);
  let outcome;
  try {
    outcome = await runSession(loaded, {
      ...(options.store ? { store: options.store } : {}),
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      ...(options.storeDataDir ? { storeDataDir: options.storeDataDir } : {}),
      dataDir: options.dataDir,
      realtime,
      onProgress: (p) => printer.update(p),
      log: (line) => {
        printer.clear();
        print(line);
      },
    });
  } catch (error) {
    printer.clear();
    if (error instanceof ScenarioError) {
      printError(`kalshiflow session: ${file}: ${error.field ? `${error.field}: ` : ''}${error.reason}`);
      return 2;
    }
    throw error;
  }
  printer.clear();

  const report = outcome.report;
  const outDir = options.outDir ?? join(options.dataDir, 'sessions', `${scenario.name.replace(/[^\w.-]+/g, '_')}-${outcome.runId ?? 'unsaved'}`);
  let files: string[] = [];
  try {
    files = await writeReportFiles(report, outDir);
  } catch (error) {
    printError(`kalshiflow session: could not write the report to ${outDir}: ${error instanceof Error ? error.message : String(error)}`);
  }

  const verdict = outcome.status === 'passed' ? 'PASSED' : outcome.status === 'failed' ? 'FAILED' : 'ERROR';
  print(
    `${scenario.name}: ${verdict} in ${(report.run.wall_ms / 1000).toFixed(1)} s (${formatDuration(report.run.simulated_ms)} simulated, ${report.run.speed}× real time) — run #${report.run.id ?? '?'}`,
  );
  for (const e of report.expectations) {
    if (e.passed) print(`  ✓ ${e.name}: ${e.detail}`);
    else printError(`  ✗ ${e.name}: ${e.detail} (observed: ${JSON.stringify(e.observed)})`);
  }
  if (outcome.status === 'error') for (const line of outcome.failures) printError(line);
  if (report.pnl) print(`  P&L $${report.pnl.final} (fees $${report.pnl.fees}, max drawdown $${report.pnl.max_drawdown}); ${report.orders.length} orders, ${report.fills.length} fills`);
  if (files.length) print(`report: ${files.join(', ')}`);
  return outcome.exitCode;
}

export async function runSessionCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'run':
      return runCommand(rest);
    case 'sweep':
      return (await import('./sweep.command.ts')).runSweepCommand(rest);
    case 'schema':
      console.log(JSON.stringify(scenarioJsonSchema(), null, 2));
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      console.log(HELP);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`session: unknown subcommand '${sub}' (run | sweep | schema)`);
  }
}
