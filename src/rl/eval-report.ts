/**
 * The files `kalshiflow eval` writes: `report.json`, and a self-contained chart (`chart.svg`, also
 * inlined in `report.html`): cumulative P&L of the policy and its baselines over the evaluation
 * steps, and the policy's action distribution. No scripts, no external assets.
 *
 * report.json (format `kalshiflow-eval`, version 2), for other tools to read:
 * - `policies[]`: `policy`, `hold`, `buy_and_hold`, `spread-quoter`, `imbalance`, each with its
 *   totals and `regimes[]` — one row per regime and split (`in_sample`: sessions the model was
 *   trained or validated on; `out_of_sample`: the others), plus a row `all` per split — with
 *   `net_pnl` (after fees), `fees`, `fills`, `end_inventory` (Σ |end position|, Count),
 *   `max_drawdown` (the largest of one episode), `sharpe_episode` (mean / standard deviation of
 *   the episodes' net P&L; one episode = one market) and `sharpe_ci95` (its percentile-bootstrap
 *   95 % interval, seeded), and the per-episode rows with their executions;
 * - top-level `collapsed` (the policy chose one action at ≥ 99 % of its steps) and `held_out`
 *   (the training sessions are known and at least one evaluated session is not among them);
 * - `comparison`: the best net P&L overall and per regime row, `tie` when the best are within a
 *   cent of each other; `stress`: the same figures with a risk-averse queue and doubled latency.
 *
 * Money in the JSON is integer Micros (1/1,000,000 dollar), as everywhere in kalshiflow; the
 * cumulative-P&L curves are dollars (floats), for drawing only.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatUsd } from '../core/display.ts';
import type { EvaluationReport, EvaluationRun, EvaluationSummary, Execution } from './evaluate.ts';
import { bootstrapSharpeCi, dominantShare, isCollapsed, sharpe } from './statistics.ts';

export interface EvalModelInfo {
  path: string;
  version: string;
  sha256: string;
  obsVersion: string;
  actions: string[];
  /** The models row, when the file is registered. */
  modelId: number | null;
  name: string | null;
}

export type Split = 'in_sample' | 'out_of_sample';

export interface EvalSessionInfo {
  id: number;
  regime: string | null;
  split: Split;
  tickers: string[];
  events: number;
}

export interface EvalContext {
  model: EvalModelInfo;
  sessions: EvalSessionInfo[];
  /** Sessions the model was trained (or validated) on that are also evaluated here; null: unknown. */
  overlapWithTraining: number[] | null;
  /** Regimes of the sessions the model was trained on; null: unknown. */
  trainingRegimes: string[] | null;
  env: Record<string, unknown>;
  stressEnv: Record<string, unknown> | null;
  bootstrap: { samples: number; seed: number };
  createdAt: string;
}

export interface RegimeRowJson {
  name: string;
  split: Split;
  sessions: number[];
  episodes: number;
  net_pnl: number;
  fees: number;
  fills: number;
  end_inventory: number;
  max_drawdown: number;
  sharpe_episode: number;
  sharpe_ci95: [number, number];
  /** No session of this regime was trained on (a whole held-out regime); null: unknown. */
  regime_held_out: boolean | null;
}

export interface EpisodeJson {
  sessionId: string | null;
  ticker: string;
  steps: number;
  netPnl: number;
  maxDrawdown: number;
  trades: number;
  fees: number;
  endPosition: number;
  actionCounts: Record<string, number>;
  /** Executions at the replay venue, with the venue's time (an order's arrival, a recorded event's). */
  executions: Execution[];
}

export interface PolicyJson {
  name: string;
  net_pnl: number;
  fees: number;
  fills: number;
  max_drawdown: number;
  end_inventory: number;
  sharpe_by_session: Record<string, number>;
  /** Share of steps per action (the policy and HOLD; empty for rule strategies). */
  action_distribution: Record<string, number>;
  regimes: RegimeRowJson[];
  episodes: EpisodeJson[];
  /** Cumulative P&L in dollars over the concatenated episodes, downsampled: [step, dollars]. */
  curve: Array<[number, number]>;
}

export interface ComparisonJson {
  /** The name with the best net P&L, or `tie`. */
  best: string;
  tie: boolean;
  /** Every name within a cent of the best. */
  leaders: string[];
  /** One line for people: "best net P&L: tie (policy, hold at $0.00)". */
  summary: string;
  by_regime: Array<{ name: string; split: Split; best: string; tie: boolean; leaders: string[]; policy_beats: string[] }>;
}

export interface EvalRunJson {
  env: Record<string, unknown>;
  policies: PolicyJson[];
  comparison: ComparisonJson;
}

export interface EvalReportJson extends EvalRunJson {
  format: 'kalshiflow-eval';
  version: 2;
  createdAt: string;
  units: { money: string; curve: string; end_inventory: string };
  model: EvalModelInfo;
  sessions: EvalSessionInfo[];
  held_out: boolean;
  collapsed: boolean;
  /** The policy's most frequent action and its share of steps. */
  dominant_action: { name: string; share: number };
  overlapWithTraining: number[] | null;
  bootstrap: { samples: number; seed: number };
  stress: EvalRunJson | null;
}

const CURVE_POINTS = 600;
/** Net P&Ls closer than this are a tie (a cent). */
const TIE_MICROS = 10_000;

function curveOf(summary: EvaluationSummary): Array<[number, number]> {
  const total = summary.episodes.reduce((s, e) => s + e.stepPnl.length, 0);
  const every = Math.max(1, Math.ceil(total / CURVE_POINTS));
  const points: Array<[number, number]> = [[0, 0]];
  let step = 0;
  let cumulative = 0;
  for (const e of summary.episodes) {
    for (const v of e.stepPnl) {
      cumulative += v;
      step++;
      if (step % every === 0 || step === total) points.push([step, Math.round(cumulative * 1e6) / 1e6]);
    }
  }
  return points;
}

function regimeRows(summary: EvaluationSummary, context: EvalContext): RegimeRowJson[] {
  const byId = new Map(context.sessions.map((s) => [String(s.id), s]));
  const groups = new Map<string, { name: string; split: Split; sessions: Set<number>; episodes: EvaluationSummary['episodes'] }>();
  const add = (name: string, split: Split, session: number | null, e: EvaluationSummary['episodes'][number]) => {
    const key = `${split}\u0000${name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { name, split, sessions: new Set(), episodes: [] }));
    if (session !== null) g.sessions.add(session);
    g.episodes.push(e);
  };
  for (const e of summary.episodes) {
    const info = e.sessionId === null ? undefined : byId.get(e.sessionId);
    const split: Split = info?.split ?? 'out_of_sample';
    add(info?.regime ?? 'unknown', split, info?.id ?? null, e);
    add('all', split, info?.id ?? null, e);
  }
  const trained = context.trainingRegimes;
  const rows = [...groups.values()].map((g): RegimeRowJson => {
    const pnl = g.episodes.map((e) => e.netPnl / 1_000_000);
    return {
      name: g.name,
      split: g.split,
      sessions: [...g.sessions],
      episodes: g.episodes.length,
      net_pnl: g.episodes.reduce((s, e) => s + e.netPnl, 0),
      fees: g.episodes.reduce((s, e) => s + e.fees, 0),
      fills: g.episodes.reduce((s, e) => s + e.fills, 0),
      end_inventory: g.episodes.reduce((s, e) => s + Math.abs(e.endPosition), 0),
      max_drawdown: g.episodes.reduce((m, e) => Math.max(m, e.maxDrawdown), 0),
      sharpe_episode: sharpe(pnl),
      sharpe_ci95: bootstrapSharpeCi(pnl, context.bootstrap),
      regime_held_out: trained === null || g.name === 'all' ? null : !trained.includes(g.name),
    };
  });
  const order = (r: RegimeRowJson) => (r.split === 'in_sample' ? 0 : 1) * 1000 + (r.name === 'all' ? 999 : 0);
  return rows.sort((a, b) => order(a) - order(b) || a.name.localeCompare(b.name));
}

function policyJson(summary: EvaluationSummary, actions: string[], context: EvalContext): PolicyJson {
  return {
    name: summary.name,
    net_pnl: summary.netPnl,
    fees: summary.fees,
    fills: summary.trades,
    max_drawdown: summary.maxDrawdown,
    end_inventory: summary.episodes.reduce((s, e) => s + Math.abs(e.endPosition), 0),
    sharpe_by_session: summary.sharpeBySession,
    action_distribution: summary.actionDistribution,
    regimes: regimeRows(summary, context),
    episodes: summary.episodes.map((e) => ({
      sessionId: e.sessionId,
      ticker: e.ticker,
      steps: e.steps,
      netPnl: e.netPnl,
      maxDrawdown: e.maxDrawdown,
      trades: e.fills,
      fees: e.fees,
      endPosition: e.endPosition,
      actionCounts: e.actionCounts.length ? Object.fromEntries(actions.map((name, a) => [name, e.actionCounts[a] ?? 0])) : {},
      executions: e.executions,
    })),
    curve: curveOf(summary),
  };
}

function leadersOf(entries: Array<{ name: string; pnl: number }>): string[] {
  const top = Math.max(...entries.map((e) => e.pnl));
  return entries.filter((e) => top - e.pnl < TIE_MICROS).map((e) => e.name);
}

/** The one money formatter (core/display.ts). */
const money = formatUsd;

/** Who has the best net P&L, overall and per regime row; a tie when the best are within a cent. */
export function compare(policies: PolicyJson[]): ComparisonJson {
  const leaders = leadersOf(policies.map((p) => ({ name: p.name, pnl: p.net_pnl })));
  const tie = leaders.length > 1;
  const bestPnl = policies.find((p) => p.name === leaders[0])!.net_pnl;
  const summary = tie ? `best net P&L: tie (${leaders.join(', ')} at ${money(bestPnl)})` : `best net P&L: ${leaders[0]} (${money(bestPnl)})`;
  const policy = policies.find((p) => p.name === 'policy');
  const rows = policies[0]?.regimes ?? [];
  const by_regime = rows.map((row) => {
    const entries = policies.map((p) => ({ name: p.name, pnl: p.regimes.find((r) => r.name === row.name && r.split === row.split)?.net_pnl ?? 0 }));
    const l = leadersOf(entries);
    const mine = policy ? (entries.find((e) => e.name === 'policy')?.pnl ?? 0) : 0;
    return {
      name: row.name,
      split: row.split,
      best: l.length > 1 ? 'tie' : l[0],
      tie: l.length > 1,
      leaders: l,
      policy_beats: policy ? entries.filter((e) => e.name !== 'policy' && mine - e.pnl >= TIE_MICROS).map((e) => e.name) : [],
    };
  });
  return { best: tie ? 'tie' : leaders[0], tie, leaders, summary, by_regime };
}

function runJson(run: EvaluationRun, actions: string[], context: EvalContext, env: Record<string, unknown>): EvalRunJson {
  const policies = run.policies.map((s) => policyJson(s, actions, context));
  return { env, policies, comparison: compare(policies) };
}

export function buildEvalReport(report: EvaluationReport, context: EvalContext): EvalReportJson {
  const actions = Object.keys(report.policy.actionDistribution);
  const main = runJson(report, actions, context, context.env);
  const counts = actions.map((_, a) => report.policy.episodes.reduce((s, e) => s + (e.actionCounts[a] ?? 0), 0));
  let top = 0;
  for (let a = 1; a < counts.length; a++) if (counts[a] > counts[top]) top = a;
  const known = context.overlapWithTraining !== null;
  return {
    format: 'kalshiflow-eval',
    version: 2,
    createdAt: context.createdAt,
    units: {
      money: 'integer micros (1/1,000,000 dollar)',
      curve: '[evaluation step, cumulative P&L in dollars]',
      end_inventory: 'sum of |end position| over episodes, 1/100 contract',
    },
    model: context.model,
    sessions: context.sessions,
    held_out: known && context.sessions.some((s) => s.split === 'out_of_sample'),
    collapsed: isCollapsed(counts),
    dominant_action: { name: actions[top] ?? 'HOLD', share: dominantShare(counts) },
    overlapWithTraining: context.overlapWithTraining,
    bootstrap: context.bootstrap,
    ...main,
    stress: report.stress && context.stressEnv ? runJson(report.stress, actions, context, context.stressEnv) : null,
  };
}

// ---- chart --------------------------------------------------------------------------------------

const COLORS: Record<string, string> = {
  policy: '#2563eb',
  hold: '#6b7280',
  buy_and_hold: '#16a34a',
  'spread-quoter': '#d97706',
  imbalance: '#9333ea',
};

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

/** Cumulative P&L lines of every strategy and the policy's action distribution, as one standalone SVG. */
export function evalChartSvg(report: EvalReportJson): string {
  const series = report.policies;
  const W = 960;
  const H = 560;
  const left = 70;
  const right = 20;
  const top = 80;
  const lineH = 250;
  const maxStep = Math.max(1, ...series.map((s) => s.curve[s.curve.length - 1]?.[0] ?? 0));
  let lo = 0;
  let hi = 0;
  for (const s of series) for (const [, v] of s.curve) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi - lo < 1e-9) {
    hi += 1;
    lo -= 1;
  }
  const x = (step: number) => left + ((W - left - right) * step) / maxStep;
  const y = (v: number) => top + lineH - (lineH * (v - lo)) / (hi - lo);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${left}" y="22" font-size="15" font-weight="600">Cumulative P&amp;L after fees ($) — ${esc(report.model.version)} on ${report.sessions.length} session(s)</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const yy = y(v);
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${fmt(yy, 1)}" y2="${fmt(yy, 1)}" stroke="#e5e7eb"/>`);
    parts.push(`<text x="${left - 6}" y="${fmt(yy + 4, 1)}" text-anchor="end" fill="#374151">${fmt(v)}</text>`);
  }
  if (lo < 0 && hi > 0) parts.push(`<line x1="${left}" x2="${W - right}" y1="${fmt(y(0), 1)}" y2="${fmt(y(0), 1)}" stroke="#9ca3af" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${W - right}" y="${top + lineH + 16}" text-anchor="end" fill="#374151">${maxStep} steps</text>`);
  for (const s of series) {
    const d = s.curve.map(([step, v], i) => `${i === 0 ? 'M' : 'L'}${fmt(x(step), 1)} ${fmt(y(v), 1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${COLORS[s.name] ?? '#111827'}" stroke-width="${s.name === 'policy' ? 2.2 : 1.6}"/>`);
  }
  let at = 0;
  let previous: string | null = null;
  for (const e of series[0]?.episodes ?? []) {
    const id = e.sessionId ?? e.ticker;
    if (id !== previous) {
      const xx = x(at);
      if (at > 0) parts.push(`<line x1="${fmt(xx, 1)}" x2="${fmt(xx, 1)}" y1="${top}" y2="${top + lineH}" stroke="#d1d5db" stroke-dasharray="3 3"/>`);
      previous = id;
    }
    at += e.steps;
  }
  series.forEach((s, i) => {
    const lx = left + 10 + (i % 3) * 290;
    const ly = 44 + Math.floor(i / 3) * 16;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${COLORS[s.name] ?? '#111827'}"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly - 3}" fill="#111827">${esc(s.name)}: ${esc(money(s.net_pnl))}, ${s.fills} fills</text>`);
  });
  const dist = report.policies[0]?.action_distribution ?? {};
  const actions = Object.keys(dist);
  const barTop = top + lineH + 50;
  const barH = 150;
  parts.push(`<text x="${left}" y="${barTop - 12}" font-size="14" font-weight="600">Policy action distribution (share of steps)${report.collapsed ? ' — COLLAPSED' : ''}</text>`);
  const groupW = (W - left - right) / Math.max(1, actions.length);
  const bw = Math.max(2, Math.min(40, groupW - 12));
  actions.forEach((name, a) => {
    const gx = left + a * groupW;
    const share = dist[name] ?? 0;
    const h = barH * share;
    parts.push(`<rect x="${fmt(gx + 6, 1)}" y="${fmt(barTop + barH - h, 1)}" width="${fmt(bw, 1)}" height="${fmt(h, 1)}" fill="${COLORS.policy}"><title>${esc(name)}: ${(share * 100).toFixed(1)}%</title></rect>`);
    parts.push(`<text x="${fmt(gx + groupW / 2, 1)}" y="${barTop + barH + 16}" text-anchor="middle" fill="#374151" font-size="${actions.length > 9 ? 9 : 11}">${esc(name)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${barTop + barH}" y2="${barTop + barH}" stroke="#9ca3af"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function regimeTable(run: EvalRunJson): string {
  const rows: string[] = [];
  for (const p of run.policies) {
    for (const r of p.regimes) {
      rows.push(
        `<tr><td>${esc(p.name)}</td><td>${esc(r.name)}</td><td>${r.split === 'in_sample' ? 'in sample' : 'out of sample'}</td><td>${r.episodes}</td><td>${money(r.net_pnl)}</td><td>${money(r.fees)}</td><td>${r.fills}</td>` +
          `<td>${(r.end_inventory / 100).toFixed(2)}</td><td>${money(r.max_drawdown)}</td><td>${fmt(r.sharpe_episode, 2)}</td><td>[${fmt(r.sharpe_ci95[0], 2)}, ${fmt(r.sharpe_ci95[1], 2)}]</td></tr>`,
      );
    }
  }
  return `<table><thead><tr><th>strategy</th><th>regime</th><th>split</th><th>episodes</th><th>net P&amp;L</th><th>fees</th><th>fills</th><th>end inventory</th><th>max drawdown</th><th>Sharpe / episode</th><th>95 % CI</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

export function evalReportHtml(report: EvalReportJson, svg: string): string {
  const sessions = report.sessions.map((s) => `${s.id}${s.regime ? ` (${esc(s.regime)}, ${s.split === 'in_sample' ? 'in sample' : 'out of sample'})` : ''}`).join(', ');
  const heldOut = report.overlapWithTraining === null ? 'unknown (model not registered, no --in-sample)' : report.held_out ? 'yes' : 'no out-of-sample session';
  const stress = report.stress
    ? `<h2>Stress: risk-averse queue, doubled order latency</h2>
<p>${esc(report.stress.comparison.summary)}.</p>
${regimeTable(report.stress)}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kalshiflow eval — ${esc(report.model.version)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#111827}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #d1d5db;padding:4px 8px;text-align:right}td:first-child,th:first-child,td:nth-child(2),td:nth-child(3){text-align:left}code{background:#f3f4f6;padding:1px 4px}</style>
</head><body>
<h1>Policy evaluation</h1>
<p>Model <code>${esc(report.model.path)}</code> version <code>${esc(report.model.version)}</code> (${esc(report.model.obsVersion)}, ${report.model.actions.length} actions)${report.model.modelId !== null ? `, registered as #${report.model.modelId}` : ''}.<br>
Sessions: ${sessions}. Held out: ${heldOut}. Generated ${esc(report.createdAt)}.<br>
Policy actions: ${esc(report.dominant_action.name)} at ${(report.dominant_action.share * 100).toFixed(1)} % of steps${report.collapsed ? ' — <b>collapsed</b> (≥ 99 % one action)' : ''}.</p>
<p>${esc(report.comparison.summary)}.</p>
${regimeTable(report)}
${svg}
${stress}
</body></html>
`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** Writes report.json, chart.svg and report.html into `dir`; returns their paths. */
export async function writeEvalFiles(report: EvalReportJson, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const svg = evalChartSvg(report);
  const files = [join(dir, 'report.json'), join(dir, 'chart.svg'), join(dir, 'report.html')];
  await writeAtomic(files[0], `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomic(files[1], `${svg}\n`);
  await writeAtomic(files[2], evalReportHtml(report, svg));
  return files;
}
