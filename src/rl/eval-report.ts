/**
 * The files `kalshiflow eval` writes: `report.json` (the policy and its two baselines — HOLD and
 * the order-book rule — on the same held-out timelines: net P&L after fees, Sharpe per session,
 * max drawdown, trades, fees, action distribution, per-episode rows) and a self-contained chart
 * (`chart.svg`, also inlined in `report.html`): cumulative P&L of the three over the evaluation
 * steps, and the action distributions side by side. No scripts, no external assets.
 *
 * Money in the JSON is integer Micros (1/1,000,000 dollar), as everywhere in kalshiflow; the
 * cumulative-P&L curves are dollars (floats), for drawing only.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationReport, EvaluationSummary, Execution } from './evaluate.ts';

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

export interface EvalSessionInfo {
  id: number;
  regime: string | null;
  tickers: string[];
  events: number;
}

export interface EvalContext {
  model: EvalModelInfo;
  sessions: EvalSessionInfo[];
  /** Sessions the model was trained on that are also evaluated here (should be empty). */
  overlapWithTraining: number[] | null;
  env: Record<string, unknown>;
  createdAt: string;
}

export interface SummaryJson {
  name: string;
  netPnl: number;
  fees: number;
  trades: number;
  maxDrawdown: number;
  sharpeBySession: Record<string, number>;
  actionDistribution: Record<string, number>;
  episodes: Array<{
    sessionId: string | null;
    ticker: string;
    steps: number;
    netPnl: number;
    maxDrawdown: number;
    trades: number;
    fees: number;
    actionCounts: Record<string, number>;
    /** Executions at the replay venue, with the venue's time (an order's arrival, a recorded event's). */
    executions: Execution[];
  }>;
  /** Cumulative P&L in dollars over the concatenated episodes, downsampled: [step, dollars]. */
  curve: Array<[number, number]>;
}

export interface EvalReportJson {
  format: 'kalshiflow-eval';
  version: 1;
  createdAt: string;
  units: { money: string; curve: string };
  model: EvalModelInfo;
  sessions: EvalSessionInfo[];
  heldOut: boolean | null;
  overlapWithTraining: number[] | null;
  env: Record<string, unknown>;
  policy: SummaryJson;
  baselines: { hold: SummaryJson; rule: SummaryJson };
  comparison: { policyMinusHold: number; policyMinusRule: number; best: 'policy' | 'hold' | 'rule' };
}

const CURVE_POINTS = 600;

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

function summaryJson(summary: EvaluationSummary, actions: string[]): SummaryJson {
  return {
    name: summary.name,
    netPnl: summary.netPnl,
    fees: summary.fees,
    trades: summary.trades,
    maxDrawdown: summary.maxDrawdown,
    sharpeBySession: summary.sharpeBySession,
    actionDistribution: summary.actionDistribution,
    episodes: summary.episodes.map((e) => ({
      sessionId: e.sessionId,
      ticker: e.ticker,
      steps: e.steps,
      netPnl: e.netPnl,
      maxDrawdown: e.maxDrawdown,
      trades: e.fills,
      fees: e.fees,
      actionCounts: Object.fromEntries(actions.map((name, a) => [name, e.actionCounts[a] ?? 0])),
      executions: e.executions,
    })),
    curve: curveOf(summary),
  };
}

export function buildEvalReport(report: EvaluationReport, context: EvalContext): EvalReportJson {
  const actions = Object.keys(report.policy.actionDistribution);
  const policy = summaryJson(report.policy, actions);
  const hold = summaryJson(report.baselines.hold, actions);
  const rule = summaryJson(report.baselines.rule, actions);
  const ranked = [policy, hold, rule].sort((a, b) => b.netPnl - a.netPnl);
  return {
    format: 'kalshiflow-eval',
    version: 1,
    createdAt: context.createdAt,
    units: { money: 'integer micros (1/1,000,000 dollar)', curve: '[evaluation step, cumulative P&L in dollars]' },
    model: context.model,
    sessions: context.sessions,
    heldOut: context.overlapWithTraining === null ? null : context.overlapWithTraining.length === 0,
    overlapWithTraining: context.overlapWithTraining,
    env: context.env,
    policy,
    baselines: { hold, rule },
    comparison: {
      policyMinusHold: policy.netPnl - hold.netPnl,
      policyMinusRule: policy.netPnl - rule.netPnl,
      best: ranked[0].name as 'policy' | 'hold' | 'rule',
    },
  };
}

// ---- chart --------------------------------------------------------------------------------------

const COLORS: Record<string, string> = { policy: '#2563eb', hold: '#6b7280', rule: '#d97706' };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '—';
}

/** Cumulative P&L lines and action-distribution bars, as one standalone SVG. */
export function evalChartSvg(report: EvalReportJson): string {
  const series = [report.policy, report.baselines.hold, report.baselines.rule];
  const W = 960;
  const H = 560;
  const left = 70;
  const right = 20;
  const top = 62;
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
  // axes and grid
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
  // session boundaries along the concatenated episodes
  let at = 0;
  let previous: string | null = null;
  for (const e of report.policy.episodes) {
    const id = e.sessionId ?? e.ticker;
    if (id !== previous) {
      const xx = x(at);
      if (at > 0) parts.push(`<line x1="${fmt(xx, 1)}" x2="${fmt(xx, 1)}" y1="${top}" y2="${top + lineH}" stroke="#d1d5db" stroke-dasharray="3 3"/>`);
      parts.push(`<text x="${fmt(xx + 4, 1)}" y="${top + lineH - 6}" fill="#6b7280" font-size="10">session ${esc(id)}</text>`);
      previous = id;
    }
    at += e.steps;
  }
  series.forEach((s, i) => {
    const lx = left + 10 + i * 230;
    const ly = top - 12;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="14" height="4" fill="${COLORS[s.name]}"/>`);
    parts.push(`<text x="${lx + 20}" y="${ly - 3}" fill="#111827">${esc(s.name)}: ${esc(money(s.netPnl))}, ${s.trades} trades</text>`);
  });
  // action distribution bars
  const actions = Object.keys(report.policy.actionDistribution);
  const barTop = top + lineH + 50;
  const barH = 150;
  parts.push(`<text x="${left}" y="${barTop - 12}" font-size="14" font-weight="600">Action distribution (share of steps)</text>`);
  const groupW = (W - left - right) / Math.max(1, actions.length);
  const bw = Math.max(2, Math.min(28, (groupW - 12) / series.length));
  actions.forEach((name, a) => {
    const gx = left + a * groupW;
    series.forEach((s, k) => {
      const share = s.actionDistribution[name] ?? 0;
      const h = barH * share;
      parts.push(`<rect x="${fmt(gx + 6 + k * bw, 1)}" y="${fmt(barTop + barH - h, 1)}" width="${fmt(bw - 1, 1)}" height="${fmt(h, 1)}" fill="${COLORS[s.name]}"><title>${esc(s.name)} ${esc(name)}: ${(share * 100).toFixed(1)}%</title></rect>`);
    });
    parts.push(`<text x="${fmt(gx + groupW / 2, 1)}" y="${barTop + barH + 16}" text-anchor="middle" fill="#374151" font-size="${actions.length > 9 ? 9 : 11}">${esc(name)}</text>`);
  });
  parts.push(`<line x1="${left}" x2="${W - right}" y1="${barTop + barH}" y2="${barTop + barH}" stroke="#9ca3af"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function money(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  return `${sign}$${(Math.abs(micros) / 1_000_000).toFixed(2)}`;
}

function meanSharpe(s: SummaryJson): number {
  const v = Object.values(s.sharpeBySession);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
}

export function evalReportHtml(report: EvalReportJson, svg: string): string {
  const series = [report.policy, report.baselines.hold, report.baselines.rule];
  const sessionIds = [...new Set(series.flatMap((s) => Object.keys(s.sharpeBySession)))];
  const rows = series
    .map(
      (s) =>
        `<tr><td>${esc(s.name)}</td><td>${money(s.netPnl)}</td><td>${money(s.fees)}</td><td>${s.trades}</td><td>${money(s.maxDrawdown)}</td><td>${fmt(meanSharpe(s), 3)}</td>${sessionIds
          .map((id) => `<td>${fmt(s.sharpeBySession[id] ?? Number.NaN, 3)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const sessions = report.sessions.map((s) => `${s.id}${s.regime ? ` (${esc(s.regime)})` : ''}`).join(', ');
  const heldOut =
    report.heldOut === null ? 'unknown (model not registered)' : report.heldOut ? 'yes' : `NO — also trained on ${report.overlapWithTraining!.join(', ')}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kalshiflow eval — ${esc(report.model.version)}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#111827}table{border-collapse:collapse;margin:12px 0}td,th{border:1px solid #d1d5db;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}code{background:#f3f4f6;padding:1px 4px}</style>
</head><body>
<h1>Policy evaluation</h1>
<p>Model <code>${esc(report.model.path)}</code> version <code>${esc(report.model.version)}</code> (${esc(report.model.obsVersion)}, ${report.model.actions.length} actions)${report.model.modelId !== null ? `, registered as #${report.model.modelId}` : ''}.<br>
Sessions: ${sessions}. Held out from training: ${heldOut}. Generated ${esc(report.createdAt)}.</p>
<table><thead><tr><th>strategy</th><th>net P&amp;L (after fees)</th><th>fees</th><th>trades</th><th>max drawdown</th><th>mean Sharpe</th>${sessionIds.map((id) => `<th>Sharpe ${esc(id)}</th>`).join('')}</tr></thead>
<tbody>
${rows}
</tbody></table>
<p>Best net P&amp;L: <b>${esc(report.comparison.best)}</b>; policy − HOLD ${money(report.comparison.policyMinusHold)}, policy − rule ${money(report.comparison.policyMinusRule)}.</p>
${svg}
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
