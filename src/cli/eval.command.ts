/**
 * `kalshiflow eval --model M --sessions … --out DIR`: runs an ONNX policy greedily over every
 * market of held-out recorded sessions, beside the HOLD and order-book rule baselines on the same
 * timelines (`evaluatePolicy`), and writes `report.json`, `chart.svg` and `report.html` into DIR:
 * net P&L after fees, Sharpe per session, max drawdown, trades, fees, action distribution. When
 * the model is registered (by file digest or path, or named by id/name), its evaluation episodes
 * are stored (`episodes`, kind `evaluation`) and the summary is merged into its metrics; a model
 * evaluated on sessions it was trained on is flagged (the report says `heldOut: false`).
 *
 * Isolation: sessions are loaded completely first; evaluation reads no live stream.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { recordEpisode, setModelStatus } from '../adapters/store/index.ts';
import type { StoredModel } from '../adapters/store/index.ts';
import { PolicyModelError, loadOnnxPolicy } from '../adapters/policy/onnx-policy.ts';
import { resolveMarketEnvConfig } from '../rl/env.ts';
import { evaluatePolicy } from '../rl/evaluate.ts';
import type { EvaluationSummary } from '../rl/evaluate.ts';
import { buildEvalReport, writeEvalFiles } from '../rl/eval-report.ts';
import {
  chooseStore,
  defaultIo,
  describeStore,
  dollars,
  durationFlag,
  findModelForFile,
  loadSessionTimelines,
  openStore,
  parseFlags,
  parseSessionSpec,
  regimeOf,
  resolveModel,
  resolveSessionIds,
  tickerList,
} from './rl-support.ts';
import type { CommandIo } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const EVAL_USAGE = `usage: kalshiflow eval --model M --sessions IDS --out DIR [--tickers A,B] [--db URL|DIR]
                       [--decision-interval 250ms] [--order-latency 1ms]

  --model     an ONNX policy file, or a registered model: id (7 or #7) or name (its active, else newest, version)
  --sessions  held-out recorded sessions: ids (3,4), ranges (3-8), \`all\`, regime:NAME
  --out       folder for report.json, chart.svg and report.html
  --tickers   only these markets of the sessions
  --db        postgres:// URL or embedded database folder (default DATABASE_URL, else $KALSHIFLOW_DATA_DIR/db)
  --decision-interval  least time between two decisions (default 250ms, the live throttle)
  --order-latency      decision → order at the venue (default 1.2 ms, the simulator's measured REST round trip)

Each market is one deterministic episode (masked argmax) from its first snapshot to its end; the
HOLD and rule baselines run the same episodes. Money is in micros in report.json.`;

function line(s: EvaluationSummary): string {
  const sharpe = Object.values(s.sharpeBySession);
  const mean = sharpe.length ? sharpe.reduce((a, b) => a + b, 0) / sharpe.length : 0;
  return (
    `  ${s.name.padEnd(7)} net ${dollars(s.netPnl).padStart(9)}  fees ${dollars(s.fees).padStart(8)}  trades ${String(s.trades).padStart(5)}  ` +
    `max drawdown ${dollars(s.maxDrawdown).padStart(8)}  mean Sharpe ${mean.toFixed(3)}`
  );
}

function trainingSessionsOf(model: StoredModel | null): number[] | null {
  const sessions = model?.hyperparameters?.sessions;
  return Array.isArray(sessions) && sessions.every((s) => typeof s === 'number') ? (sessions as number[]) : null;
}

export async function runEvalCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    model: { type: 'string' },
    sessions: { type: 'string' },
    out: { type: 'string' },
    tickers: { type: 'string' },
    db: { type: 'string' },
    'decision-interval': { type: 'string' },
    'order-latency': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(EVAL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (!values.model) throw new UsageError('--model: required (an ONNX file, or a registered model id or name)');
  if (!values.sessions) throw new UsageError('--sessions: required (held-out recorded session ids, ranges, `all` or regime:NAME)');
  parseSessionSpec(values.sessions);
  if (!values.out) throw new UsageError('--out: required (the folder for report.json and the chart)');
  const tickers = tickerList(values.tickers);
  const timing = {
    ...(values['decision-interval'] !== undefined ? { decisionIntervalMs: durationFlag('decision-interval', values['decision-interval'], 0) } : {}),
    ...(values['order-latency'] !== undefined ? { orderLatencyMs: durationFlag('order-latency', values['order-latency'], 0) } : {}),
  };

  const choice = chooseStore(values.db, io.env);
  const db = await openStore(choice);
  try {
    const resolved = await resolveModel(db.pool, values.model, existsSync);
    let policy;
    try {
      policy = await loadOnnxPolicy(resolved.path);
    } catch (error) {
      if (error instanceof PolicyModelError) throw new UsageError(`--model: ${error.message}`);
      throw error;
    }
    try {
      const contract = policy.contract;
      const model = resolved.model ?? (await findModelForFile(db.pool, resolved.path, contract.sha256));
      const ids = await resolveSessionIds(db.pool, values.sessions);
      const loaded = await loadSessionTimelines(db.pool, ids, tickers);
      const timelines = loaded.flatMap((l) => l.timelines);
      if (timelines.length === 0) throw new UsageError(`--sessions: no market with a book snapshot in sessions ${ids.join(', ')}`);
      const trained = trainingSessionsOf(model);
      const overlap = trained ? ids.filter((id) => trained.includes(id)) : null;
      io.out(
        `evaluating ${resolve(resolved.path)} (version ${contract.version}${model ? `, model #${model.id} ${model.name}` : ''}) on ${ids.length} session(s) ` +
          `[${ids.join(', ')}]: ${timelines.length} markets, ${loaded.reduce((s, l) => s + l.events, 0)} events, from ${describeStore(db, choice)}`,
      );
      if (overlap && overlap.length > 0) io.err(`warning: the model was trained on session(s) ${overlap.join(', ')}: those results are not held out`);

      const envConfig = { actions: contract.actionSpace, ...timing };
      const result = await evaluatePolicy(policy, timelines, envConfig);
      const report = buildEvalReport(result, {
        model: {
          path: resolve(resolved.path),
          version: contract.version,
          sha256: contract.sha256,
          obsVersion: contract.obsVersion,
          actions: contract.actions,
          modelId: model?.id ?? null,
          name: model?.name ?? null,
        },
        sessions: loaded.map((l) => ({ id: l.info.id, regime: regimeOf(l.info), tickers: l.timelines.map((t) => t.ticker), events: l.events })),
        overlapWithTraining: overlap,
        env: { ...resolveMarketEnvConfig(envConfig), start: 'beginning', maxEpisodeSteps: 0 },
        createdAt: new Date().toISOString(),
      });
      const files = await writeEvalFiles(report, values.out);

      if (model) {
        const now = Date.now();
        const rule = new Map(result.baselines.rule.episodes.map((e) => [`${e.sessionId}/${e.ticker}`, e]));
        const hold = new Map(result.baselines.hold.episodes.map((e) => [`${e.sessionId}/${e.ticker}`, e]));
        let n = 0;
        for (const e of result.policy.episodes) {
          const key = `${e.sessionId}/${e.ticker}`;
          await recordEpisode(db.pool, {
            modelId: model.id,
            kind: 'evaluation',
            recordingSessionId: e.sessionId !== null && /^\d+$/.test(e.sessionId) ? Number(e.sessionId) : null,
            ticker: e.ticker,
            episodeNumber: n++,
            steps: e.steps,
            totalReward: e.stepPnl.reduce((s, v) => s + v, 0),
            pnl: e.netPnl,
            fees: e.fees,
            trades: e.fills,
            actionCounts: Object.fromEntries(contract.actions.map((name, a) => [name, e.actionCounts[a] ?? 0])),
            metrics: {
              max_drawdown: e.maxDrawdown,
              hold_pnl: hold.get(key)?.netPnl ?? null,
              rule_pnl: rule.get(key)?.netPnl ?? null,
              report: resolve(files[0]),
            },
            createdMs: now,
          });
        }
        await setModelStatus(db.pool, model.id, model.status, now, {
          last_evaluation: {
            at_ms: now,
            sessions: ids,
            held_out: overlap === null ? null : overlap.length === 0,
            net_pnl: report.policy.netPnl,
            hold_net_pnl: report.baselines.hold.netPnl,
            rule_net_pnl: report.baselines.rule.netPnl,
            trades: report.policy.trades,
            fees: report.policy.fees,
            max_drawdown: report.policy.maxDrawdown,
            sharpe_by_session: report.policy.sharpeBySession,
            report: resolve(files[0]),
          },
        });
      }

      io.out(line(result.policy));
      io.out(line(result.baselines.hold));
      io.out(line(result.baselines.rule));
      const dist = Object.entries(result.policy.actionDistribution)
        .filter(([, share]) => share > 0)
        .map(([name, share]) => `${name} ${(share * 100).toFixed(1)}%`)
        .join(', ');
      io.out(`  policy actions: ${dist || 'none'}`);
      io.out(`best net P&L: ${report.comparison.best}; wrote ${files.join(', ')}`);
      return 0;
    } finally {
      await policy.release();
    }
  } finally {
    await db.close();
  }
}
