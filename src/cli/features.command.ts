/**
 * `kalshiflow features --session ID [--ticker T] [--out file.csv]`: the `obs-v1` observation at
 * every step of a recorded session, one CSV row per step and market (the agent flat and holding,
 * as the environment replays it), with a header row naming the columns: `ticker`, `event_index`,
 * `ts_ms`, then the 52 features in model order. For checking what a policy sees, and for
 * training elsewhere (e.g. Python) on exactly the same numbers.
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { FEATURE_NAMES } from '../core/features.ts';
import { getRecordedSession } from '../adapters/store/index.ts';
import { featuresTable } from '../rl/evaluate.ts';
import { chooseStore, defaultIo, loadSessionTimelines, openStore, parseFlags } from './rl-support.ts';
import type { CommandIo } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const FEATURES_USAGE = `usage: kalshiflow features --session ID [--ticker T] [--out file.csv] [--db URL|DIR]

  --session  recorded session id (see \`kalshiflow rl sessions\`)
  --ticker   one market of the session (default: every market, one after the other)
  --out      CSV file to write (default: standard output)
  --db       postgres:// URL or embedded database folder (default DATABASE_URL, else $KALSHIFLOW_DATA_DIR/db)

Columns: ticker, event_index, ts_ms, then the 52 obs-v1 features (${FEATURE_NAMES.slice(0, 3).join(', ')}, …).`;

function csvRow(ticker: string, row: number[]): string {
  let line = ticker;
  for (const v of row) line += `,${Number.isInteger(v) ? String(v) : v.toPrecision(7)}`;
  return line;
}

export async function runFeaturesCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    session: { type: 'string' },
    ticker: { type: 'string' },
    out: { type: 'string' },
    db: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(FEATURES_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (values.session === undefined || !/^\d+$/.test(values.session.trim())) {
    throw new UsageError(`--session: a recorded session id is required${values.session !== undefined ? `, got ${JSON.stringify(values.session)}` : ''}`);
  }
  const sessionId = Number(values.session);
  const choice = chooseStore(values.db, io.env);
  const db = await openStore(choice);
  try {
    if (!(await getRecordedSession(db.pool, sessionId))) throw new UsageError(`--session: recorded session ${sessionId} does not exist`);
    const tickers = values.ticker !== undefined ? [values.ticker.trim()] : undefined;
    const [loaded] = await loadSessionTimelines(db.pool, [sessionId], tickers, 'session');
    if (loaded.timelines.length === 0) {
      throw new UsageError(
        values.ticker !== undefined
          ? `--ticker: session ${sessionId} has no snapshot of ${values.ticker} (markets: ${loaded.info.tickers.join(', ') || 'none'})`
          : `session ${sessionId} has no market with a book snapshot`,
      );
    }
    const header = ['ticker', 'event_index', 'ts_ms', ...FEATURE_NAMES].join(',');
    let handle: FileHandle | null = null;
    if (values.out !== undefined) {
      try {
        handle = await open(values.out, 'w');
      } catch (error) {
        throw new UsageError(`--out: cannot write ${values.out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    const file = handle ? handle.createWriteStream() : null;
    const write = async (line: string) => {
      if (!file) {
        io.out(line);
        return;
      }
      if (!file.write(`${line}\n`)) await once(file, 'drain');
    };
    let rows = 0;
    try {
      await write(header);
      for (const timeline of loaded.timelines) {
        // a market whose recording never becomes playable has no steps
        if (timeline.events.length < 2) continue;
        let table;
        try {
          table = featuresTable(timeline);
        } catch (error) {
          if (error instanceof RangeError) continue;
          throw error;
        }
        for (const row of table.rows) {
          await write(csvRow(timeline.ticker, row));
          rows++;
        }
      }
    } finally {
      if (file) {
        file.end();
        await finished(file);
      }
    }
    if (file) io.err(`wrote ${rows} rows (${loaded.timelines.length} markets of session ${sessionId}) to ${values.out}`);
    return 0;
  } finally {
    await db.close();
  }
}
