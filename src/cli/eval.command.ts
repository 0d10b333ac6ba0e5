/**
 * `kalshiflow eval --model M --sessions … --out DIR`: runs an ONNX policy greedily over every
 * market of recorded sessions, beside HOLD, buy-and-hold and the rule strategies `spread-quoter`
 * and `imbalance` on the same decision ticks and replay venue (`evaluatePolicy`), again under
 * stress (risk-averse queue, doubled order latency), and writes `report.json`, `chart.svg` and
 * `report.html` into DIR: per regime and split (in sample = sessions the model was trained or
 * validated on, from its registry row or `--in-sample`; out of sample = the others) net P&L after
 * fees, fees, fills, end inventory, max drawdown, Sharpe per episode with a bootstrap 95 %
 * interval; whether the policy collapsed (≥ 99 % one action); who is best, or a tie. When the
 * model is registered (by file digest or path, or named by id/name), its evaluation episodes are
 * stored (`episodes`, kind `evaluation`) and the summary is merged into its metrics.
 *
 * Isolation: sessions are loaded completely first; evaluation reads no live stream.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { getRecordedSession, recordEpisode, setModelStatus } from '../adapters/store/index.ts';
import type { StoredModel } from '../adapters/store/index.ts';
import { PolicyModelError, loadOnnxPolicy } from '../adapters/policy/onnx-policy.ts';
import { resolveMarketEnvConfig } from '../rl/env.ts';
import { evaluatePolicy, stressConfig } from '../rl/evaluate.ts';
import { buildEvalReport, writeEvalFiles } from '../rl/eval-report.ts';
import type { EvalReportJson, PolicyJson, Split } from '../rl/eval-report.ts';
import {
  ENV_FLAGS,
  ENV_FLAGS_USAGE,
  chooseStore,
  defaultIo,
  describeStore,
  dollars,
  envFlagValues,
  findModelForFile,
  integer,
  loadSessionTimelines,
  openStore,
  parseFlags,
  parseSessionSpec,
  positiveInt,
  regimeOf,
  resolveModel,
  resolveSessionIds,
  tickerList,
} from './rl-support.ts';
import type { CommandIo } from './rl-support.ts';
import { UsageError } from '../app/errors.ts';

export const EVAL_USAGE = `usage: kalshiflow eval --model M --sessions IDS --out DIR [--tickers A,B] [--db URL|DIR]
                       [--in-sample IDS] [--size N] [--bootstrap 2000] [--seed 1] [--no-stress]
                       [--fees quadratic] [--starting-cash 100] [--max-position 100] [--queue risk-averse]
                       [--decision-interval 250ms] [--order-latency 1.2ms]

  --model     an ONNX policy file, or a registered model: id (7 or #7) or name (its active, else newest, version)
  --sessions  recorded sessions: ids (3,4), ranges (3-8), \`all\`, regime:NAME — held-out ones, and
              training ones too for the in-sample rows
  --out       folder for report.json, chart.svg and report.html
  --tickers   only these markets of the sessions
  --db        postgres:// URL or embedded database folder (default DATABASE_URL, else $KALSHIFLOW_DATA_DIR/db)
  --in-sample sessions to count as in sample (default: the registered model's training and validation sessions)
  --size      order size of the baselines in contracts (default the policy's first size)
  --bootstrap resamples for the Sharpe intervals (default 2000); --seed their generator's seed (default 1)
  --no-stress skip the stress run (risk-averse queue, doubled order latency)
${ENV_FLAGS_USAGE}

Each market is one deterministic episode (masked argmax) from its first snapshot to its end; the
baselines run the same episodes. Money is in micros in report.json.`;

function row(p: PolicyJson, split: Split): string {
  const all = p.regimes.find((r) => r.name === 'all' && r.split === split);
  const sharpe = all ? `Sharpe/episode ${all.sharpe_episode.toFixed(2)} [${all.sharpe_ci95[0].toFixed(2)}, ${all.sharpe_ci95[1].toFixed(2)}]` : '';
  return (
    `  ${p.name.padEnd(13)} net ${dollars(all?.net_pnl ?? 0).padStart(9)}  fees ${dollars(all?.fees ?? 0).padStart(8)}  fills ${String(all?.fills ?? 0).padStart(5)}  ` +
    `end inv ${((all?.end_inventory ?? 0) / 100).toFixed(0).padStart(4)}  max dd ${dollars(all?.max_drawdown ?? 0).padStart(8)}  ${sharpe}`
  );
}

function printReport(report: EvalReportJson, io: CommandIo): void {
  for (const split of ['in_sample', 'out_of_sample'] as const) {
    if (!report.sessions.some((s) => s.split === split)) continue;
    io.out(`${split === 'in_sample' ? 'in sample' : 'out of sample'}:`);
    for (const p of report.policies) io.out(row(p, split));
    for (const r of report.comparison.by_regime.filter((x) => x.split === split)) {
      const pnl = report.policies.map((p) => `${p.name} ${dollars(p.regimes.find((x) => x.name === r.name && x.split === split)?.net_pnl ?? 0)}`).join(', ');
      io.out(`    ${r.name.padEnd(12)} best ${r.best}${r.tie ? ` (${r.leaders.join(', ')})` : ''}: ${pnl}`);
    }
  }
}

function trainingSessionsOf(model: StoredModel | null): number[] | null {
  const h = model?.hyperparameters;
  const list = (v: unknown) => (Array.isArray(v) && v.every((s) => typeof s === 'number') ? (v as number[]) : null);
  const trained = list(h?.sessions);
  if (!trained) return null;
  return [...trained, ...(list(h?.validation_sessions) ?? [])];
}

export async function runEvalCommand(argv: string[], io: CommandIo = defaultIo()): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    model: { type: 'string' },
    sessions: { type: 'string' },
    out: { type: 'string' },
    tickers: { type: 'string' },
    db: { type: 'string' },
    'in-sample': { type: 'string' },
    size: { type: 'string' },
    bootstrap: { type: 'string' },
    seed: { type: 'string' },
    'no-stress': { type: 'boolean' },
    ...ENV_FLAGS,
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.out(EVAL_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])} (see --help)`);
  if (!values.model) throw new UsageError('--model: required (an ONNX file, or a registered model id or name)');
  if (!values.sessions) throw new UsageError('--sessions: required (recorded session ids, ranges, `all` or regime:NAME)');
  parseSessionSpec(values.sessions);
  if (values['in-sample'] !== undefined) parseSessionSpec(values['in-sample'], 'in-sample');
  if (!values.out) throw new UsageError('--out: required (the folder for report.json and the chart)');
  const tickers = tickerList(values.tickers);
  const envFlags = envFlagValues(values);
  const baselineSize = values.size !== undefined ? positiveInt('size', values.size, 0) * 100 : undefined;
  const bootstrap = { samples: positiveInt('bootstrap', values.bootstrap, 2_000), seed: integer('seed', values.seed, 1) };
  const withStress = values['no-stress'] !== true;

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
      const trained = values['in-sample'] !== undefined ? await resolveSessionIds(db.pool, values['in-sample'], 'in-sample') : trainingSessionsOf(model);
      const overlap = trained ? ids.filter((id) => trained.includes(id)) : null;
      let trainingRegimes: string[] | null = null;
      if (trained) {
        const regimes = new Set<string>();
        for (const id of trained) {
          const info = await getRecordedSession(db.pool, id);
          const r = info ? regimeOf(info) : null;
          if (r) regimes.add(r);
        }
        trainingRegimes = [...regimes];
      }
      io.out(
        `evaluating ${resolve(resolved.path)} (version ${contract.version}${model ? `, model #${model.id} ${model.name}` : ''}) on ${ids.length} session(s) ` +
          `[${ids.join(', ')}]: ${timelines.length} markets, ${loaded.reduce((s, l) => s + l.events, 0)} events, from ${describeStore(db, choice)}`,
      );
      if (trained === null) io.err('warning: the training sessions are unknown (model not registered, no --in-sample): every session counts as out of sample and held_out is false');
      else if (overlap && overlap.length > 0) io.err(`note: the model was trained or validated on session(s) ${overlap.join(', ')}: those rows are in sample`);

      let envConfig;
      try {
        envConfig = resolveMarketEnvConfig({ actions: contract.actionSpace, ...envFlags });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      const result = await evaluatePolicy(policy, timelines, envConfig, { stress: withStress, ...(baselineSize !== undefined ? { baselineSize } : {}) });
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
        sessions: loaded.map((l) => ({
          id: l.info.id,
          regime: regimeOf(l.info),
          split: overlap?.includes(l.info.id) ? 'in_sample' : 'out_of_sample',
          tickers: l.timelines.map((t) => t.ticker),
          events: l.events,
        })),
        overlapWithTraining: overlap,
        trainingRegimes,
        env: { ...envConfig, start: 'beginning', maxEpisodeSteps: 0, maxEpisodeMs: 0 },
        stressEnv: withStress ? { ...stressConfig(envConfig), start: 'beginning', maxEpisodeSteps: 0, maxEpisodeMs: 0 } : null,
        bootstrap,
        createdAt: new Date().toISOString(),
      });
      const files = await writeEvalFiles(report, values.out);

      if (model) {
        const now = Date.now();
        const byKey = (name: string) => new Map((result.policies.find((p) => p.name === name)?.episodes ?? []).map((e) => [`${e.sessionId}/${e.ticker}`, e]));
        const baselines = Object.fromEntries(['hold', 'buy_and_hold', 'spread-quoter', 'imbalance'].map((n) => [n, byKey(n)]));
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
              end_position: e.endPosition,
              ...Object.fromEntries(Object.entries(baselines).map(([name, m]) => [`${name}_pnl`, m.get(key)?.netPnl ?? null])),
              report: resolve(files[0]),
            },
            createdMs: now,
          });
        }
        const oos = report.policies[0].regimes.find((r) => r.name === 'all' && r.split === 'out_of_sample');
        await setModelStatus(db.pool, model.id, model.status, now, {
          last_evaluation: {
            at_ms: now,
            sessions: ids,
            held_out: report.held_out,
            collapsed: report.collapsed,
            net_pnl: report.policies[0].net_pnl,
            baselines_net_pnl: Object.fromEntries(report.policies.slice(1).map((p) => [p.name, p.net_pnl])),
            out_of_sample_sharpe_episode: oos?.sharpe_episode ?? null,
            out_of_sample_sharpe_ci95: oos?.sharpe_ci95 ?? null,
            fills: report.policies[0].fills,
            fees: report.policies[0].fees,
            max_drawdown: report.policies[0].max_drawdown,
            comparison: report.comparison.summary,
            report: resolve(files[0]),
          },
        });
      }

      printReport(report, io);
      const dist = Object.entries(result.policy.actionDistribution)
        .filter(([, share]) => share > 0)
        .map(([name, share]) => `${name} ${(share * 100).toFixed(1)}%`)
        .join(', ');
      io.out(`  policy actions: ${dist || 'none'}${report.collapsed ? ` — COLLAPSED (${report.dominant_action.name} at ≥ 99 % of steps)` : ''}`);
      io.out(`${report.comparison.summary}`);
      if (report.stress) io.out(`under stress (risk-averse queue, ${report.stress.env.orderLatencyMs} ms order latency): ${report.stress.comparison.summary}`);
      io.out(`wrote ${files.join(', ')}`);
      return 0;
    } finally {
      await policy.release();
    }
  } finally {
    await db.close();
  }
}
