/**
 * `kalshiflow rl`: the RL workbench around `train` and `eval`.
 *
 *   kalshiflow rl regimes [--db URL|DIR] [--duration 20m] [--seeds 1,2,3] [--regimes calm,…] [--markets 3]
 *   kalshiflow rl sessions [--db URL|DIR]       recorded sessions (id, regime, seed, markets, rows)
 *   kalshiflow rl models [--db URL|DIR]         registered models and their last evaluation
 *
 * `regimes` records the simulator in four distinct regimes (calm, trending, jumpy, wide-spread),
 * one recorded session per regime and seed, through the real recording pipeline on a virtual
 * clock (20 simulated minutes take seconds), and prints the session ids — so that, without
 * Kalshi, one can train on some seeds and evaluate on others; the same `train`/`eval` commands
 * then work unchanged on sessions recorded from Kalshi with `kalshiflow record`.
 */
import { listEpisodes, listModels, listRecordedSessions } from '../adapters/store/index.ts';
import { REGIMES, REGIME_NAMES, isRegimeName, recordRegimeSession } from '../sessions/regimes.ts';
import type { RegimeName, RegimeRecording } from '../sessions/regimes.ts';
import { chooseStore, defaultIo, describeStore, dollars, durationFlag, formatSeconds, intList, openStore, parseFlags, positiveInt, progressBar, regimeOf } from './rl-support.ts';
import type { CommandIo } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const RL_USAGE = `usage: kalshiflow rl <regimes|sessions|models> [options]

  regimes    record simulator sessions in distinct market regimes (virtual clock, seconds per session)
    --db, --out-db URL|DIR  where the sessions go (default DATABASE_URL, else $KALSHIFLOW_DATA_DIR/db)
    --duration 20m          simulated time per session (default 20m)
    --seeds 1,2,3           one session per regime and seed (default 1,2,3)
    --regimes LIST          among ${REGIME_NAMES.join(', ')} (default all)
    --markets N             markets per session (default 3)
  sessions   list recorded sessions (finished and active) with their regime and row counts
  models     list registered models, their status and last evaluation

Regimes:
${REGIME_NAMES.map((n) => `  ${n.padEnd(12)} ${REGIMES[n].description}`).join('\n')}

Then, e.g.: kalshiflow train --sessions <seeds 1-2 ids> --out model.onnx
            kalshiflow eval --model model.onnx --sessions <seed 3 ids> --out eval/`;

async function regimesCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    db: { type: 'string' },
    'out-db': { type: 'string' },
    duration: { type: 'string' },
    seeds: { type: 'string' },
    regimes: { type: 'string' },
    markets: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(RL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (values.db !== undefined && values['out-db'] !== undefined) throw new UsageError('give --db or --out-db, not both');
  const durationMs = values.duration !== undefined ? durationFlag('duration', values.duration) : 20 * 60_000;
  const seeds = values.seeds !== undefined ? intList('seeds', values.seeds) : [1, 2, 3];
  if (new Set(seeds).size !== seeds.length) throw new UsageError('--seeds: a seed is repeated');
  let regimes: RegimeName[] = [...REGIME_NAMES];
  if (values.regimes !== undefined) {
    const names = values.regimes.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !isRegimeName(n));
    if (names.length === 0 || unknown.length > 0) {
      throw new UsageError(`--regimes: ${unknown.length ? `unknown ${unknown.map((u) => JSON.stringify(u)).join(', ')}` : 'empty list'} (known: ${REGIME_NAMES.join(', ')})`);
    }
    regimes = [...new Set(names)] as RegimeName[];
  }
  const markets = positiveInt('markets', values.markets, 3);
  if (markets > 26) throw new UsageError('--markets: at most 26 per session');

  const flagName = values['out-db'] !== undefined ? 'out-db' : 'db';
  const choice = chooseStore(values['out-db'] ?? values.db, io.env, flagName);
  const db = await openStore(choice);
  try {
    io.out(
      `recording ${regimes.length} regime(s) × ${seeds.length} seed(s), ${formatSeconds(durationMs)} of simulated market each, ` +
        `${markets} markets per session, into ${describeStore(db, choice)}`,
    );
    const done: RegimeRecording[] = [];
    for (const seed of seeds) {
      for (const regime of regimes) {
        const label = `${regime} seed ${seed}`;
        const recording = await recordRegimeSession({
          pool: db.pool,
          regime,
          seed,
          durationMs,
          markets,
          ...(io.rewrite ? { onProgress: (elapsed: number, total: number) => io.rewrite!(`${progressBar(elapsed / total)} ${label}: ${formatSeconds(elapsed)} of ${formatSeconds(total)}`) } : {}),
          onActivity: (text) => io.err(`  ${label}: ${text}`),
        });
        if (io.rewrite) io.rewrite('');
        done.push(recording);
        const c = recording.counts;
        io.out(
          `session ${recording.sessionId}: ${regime.padEnd(11)} seed ${seed}  ${recording.tickers.length} markets, ${c.snapshots} snapshots, ` +
            `${c.deltas} deltas, ${c.trades} trades, ${c.gaps} gaps${c.dropped ? `, ${c.dropped} DROPPED` : ''} (${(recording.wallMs / 1000).toFixed(1)} s)`,
        );
      }
    }
    const ids = done.map((r) => r.sessionId);
    io.out(`sessions: ${ids.join(',')}`);
    if (seeds.length > 1) {
      const last = seeds[seeds.length - 1];
      const trainIds = done.filter((r) => r.seed !== last).map((r) => r.sessionId);
      const evalIds = done.filter((r) => r.seed === last).map((r) => r.sessionId);
      io.out(`train on the first seeds:  kalshiflow train --sessions ${trainIds.join(',')} --out model.onnx`);
      io.out(`evaluate on seed ${last}:       kalshiflow eval --model model.onnx --sessions ${evalIds.join(',')} --out eval`);
    }
    return done.some((r) => r.counts.dropped > 0) ? 1 : 0;
  } finally {
    await db.close();
  }
}

async function sessionsCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.out(RL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  const choice = chooseStore(values.db, io.env);
  const db = await openStore(choice);
  try {
    const sessions = (await listRecordedSessions(db.pool, { limit: 1_000_000, includeActive: true })).reverse();
    if (sessions.length === 0) {
      io.out(`no recorded sessions in ${describeStore(db, choice)} (kalshiflow record, or kalshiflow rl regimes)`);
      return 0;
    }
    io.out(`${'id'.padStart(5)}  ${'status'.padEnd(11)} ${'env'.padEnd(10)} ${'regime'.padEnd(12)} ${'seed'.padStart(4)}  ${'length'.padStart(7)}  ${'markets'.padStart(7)}  ${'deltas'.padStart(8)}  started`);
    for (const s of sessions) {
      const seed = typeof s.metadata?.seed === 'number' ? String(s.metadata.seed) : '';
      const length = s.endedMs !== null ? formatSeconds(s.endedMs - s.startedMs) : '…';
      io.out(
        `${String(s.id).padStart(5)}  ${s.status.padEnd(11)} ${s.env.padEnd(10)} ${(regimeOf(s) ?? '-').padEnd(12)} ${seed.padStart(4)}  ${length.padStart(7)}  ` +
          `${String(s.tickers.length).padStart(7)}  ${String(s.counts.deltas).padStart(8)}  ${new Date(s.startedMs).toISOString()}`,
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}

async function modelsCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseFlags(argv, { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.out(RL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  const choice = chooseStore(values.db, io.env);
  const db = await openStore(choice);
  try {
    const models = await listModels(db.pool);
    if (models.length === 0) {
      io.out(`no registered models in ${describeStore(db, choice)} (kalshiflow train …)`);
      return 0;
    }
    for (const m of models) {
      const steps = typeof m.metrics.steps_done === 'number' ? `${m.metrics.steps_done} steps` : 'not finished';
      const trainedOn = Array.isArray(m.hyperparameters.sessions) ? `sessions ${(m.hyperparameters.sessions as unknown[]).join(',')}` : '';
      const evaluation = m.metrics.last_evaluation as { net_pnl?: unknown; hold_net_pnl?: unknown; rule_net_pnl?: unknown; sessions?: unknown } | undefined;
      const evalText =
        evaluation && typeof evaluation.net_pnl === 'number'
          ? `; last eval on ${Array.isArray(evaluation.sessions) ? evaluation.sessions.join(',') : '?'}: ${dollars(evaluation.net_pnl)} (hold ${dollars(Number(evaluation.hold_net_pnl))}, rule ${dollars(Number(evaluation.rule_net_pnl))})`
          : '';
      const iterations = (await listEpisodes(db.pool, { modelId: m.id, kind: 'training' })).length;
      io.out(`#${m.id} ${m.name} ${m.version} [${m.status}] ${m.algorithm} ${m.obsVersion}, ${steps}, ${iterations} iterations stored, ${trainedOn}${evalText}`);
      if (m.filePath) io.out(`    ${m.filePath}${m.sha256 ? ` (sha256 ${m.sha256.slice(0, 12)})` : ''}`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

export async function runRlCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'regimes':
      return regimesCommand(rest, io);
    case 'sessions':
      return sessionsCommand(rest, io);
    case 'models':
      return modelsCommand(rest, io);
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.out(RL_USAGE);
      return sub === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (regimes, sessions or models; see --help)`);
  }
}
