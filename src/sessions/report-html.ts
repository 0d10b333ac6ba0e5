/**
 * report.html: one self-contained page (inline CSS and SVG, no scripts, no external assets) that
 * shows a scripted run — outcome, expectations, the P&L chart, the state timeline, faults and
 * the trader's reactions, positions, orders and fills. Renders a SessionReport; every value from
 * the run is HTML-escaped. Part of src/sessions.
 */
import { formatUsd } from '../core/display.ts';
import type { SessionReport } from './report.ts';
import { formatDuration } from './scenario.ts';

const MAX_ROWS = 1000;
const MAX_ACTIVITY = 400;

const STATE_COLORS: Record<string, string> = {
  startup: '#9aa5b1',
  initializing: '#7b93db',
  orderbook_connect: '#5b7be0',
  trading_client_connect: '#4a6fd1',
  kalshi_data_sync: '#3e8fd0',
  ready: '#2f9e55',
  acting: '#2f9e55',
  degraded: '#e08a1e',
  error: '#d64545',
  shutdown: '#6b7280',
  down: '#1f2937',
};

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Durations for reading: ms under a second, tenths under 10 s, whole seconds above. */
function shortDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(Math.round(ms / 100) / 10).toFixed(1)}s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** The one money formatter (core/display.ts). */
const fmtDollarsFromMicros = formatUsd;

function table(headers: string[], rows: string[][], options: { empty?: string; className?: string } = {}): string {
  if (rows.length === 0) return `<p class="muted">${escapeHtml(options.empty ?? 'none')}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${options.className ? ` class="${options.className}"` : ''}><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function truncated(total: number, shown: number, what: string): string {
  return total > shown ? `<p class="muted">showing ${shown} of ${total} ${escapeHtml(what)} (all of them are in report.json)</p>` : '';
}

/** The P&L line over session time, with zero line, min/max labels and fault markers. */
function pnlChart(report: SessionReport): string {
  const series = report.pnl?.series ?? [];
  if (series.length < 2) return '<p class="muted">not enough samples for a chart</p>';
  const width = 900;
  const height = 260;
  const pad = { left: 70, right: 16, top: 16, bottom: 30 };
  const totalMs = Math.max(1, report.scenario.duration_ms + report.scenario.drain_ms, series[series.length - 1][0]);
  let lo = Math.min(0, ...series.map((p) => p[1]));
  let hi = Math.max(0, ...series.map((p) => p[1]));
  if (hi === lo) {
    hi += 1_000_000;
    lo -= 1_000_000;
  }
  const x = (t: number) => pad.left + (t / totalMs) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + ((hi - v) / (hi - lo)) * (height - pad.top - pad.bottom);
  const points = series.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const faults = report.faults
    .map((f) => `<line x1="${x(f.atMs).toFixed(1)}" x2="${x(f.atMs).toFixed(1)}" y1="${pad.top}" y2="${height - pad.bottom}" class="fault-line"><title>${escapeHtml(`${formatDuration(f.atMs)} ${f.kind}: ${f.applied}`)}</title></line>`)
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const t = Math.round(totalMs * f);
      return `<text x="${x(t).toFixed(1)}" y="${height - 8}" text-anchor="middle">${escapeHtml(shortDuration(t))}</text>`;
    })
    .join('');
  // the $0 label only where it does not sit on the top or bottom label
  const zeroY = y(0);
  const zeroLabel =
    zeroY - pad.top > 18 && height - pad.bottom - zeroY > 14 ? `<text x="${pad.left - 6}" y="${(zeroY + 4).toFixed(1)}" text-anchor="end">$0</text>` : '';
  return `<svg viewBox="0 0 ${width} ${height}" class="chart" role="img" aria-label="P&amp;L over time">
  <rect x="${pad.left}" y="${pad.top}" width="${width - pad.left - pad.right}" height="${height - pad.top - pad.bottom}" class="plot"/>
  <line x1="${pad.left}" x2="${width - pad.right}" y1="${y(0).toFixed(1)}" y2="${y(0).toFixed(1)}" class="zero"/>
  ${faults}
  <polyline points="${points}" class="pnl"/>
  <text x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end">${escapeHtml(fmtDollarsFromMicros(hi))}</text>
  ${zeroLabel}
  <text x="${pad.left - 6}" y="${height - pad.bottom}" text-anchor="end">${escapeHtml(fmtDollarsFromMicros(lo))}</text>
  ${ticks}
</svg>`;
}

/**
 * The coordinator's states over session time, one bar coloured by state (every state entered,
 * error included, whatever the parallel regions do), with a thinner band above it while a
 * component was degraded.
 */
function stateTimeline(report: SessionReport): string {
  const segments = report.states.timeline;
  if (segments.length === 0) return '<p class="muted">no states recorded</p>';
  const width = 900;
  const height = 70;
  const left = 10;
  const right = 10;
  const totalMs = Math.max(1, report.scenario.duration_ms + report.scenario.drain_ms, ...segments.map((s) => s.to_ms));
  const x = (t: number) => left + (t / totalMs) * (width - left - right);
  const span = (s: { from_ms: number; to_ms: number }) => `x="${x(s.from_ms).toFixed(2)}" width="${Math.max(0.8, x(s.to_ms) - x(s.from_ms)).toFixed(2)}"`;
  const when = (s: { from_ms: number; to_ms: number; generation: number }) =>
    `${s.generation >= 0 ? ` (trader ${s.generation})` : ''}: ${shortDuration(s.from_ms)} – ${shortDuration(s.to_ms)}`;
  const rects = segments
    .map((s) => {
      const label = `${s.label}${s.degraded === true ? ' (degraded)' : ''}${when(s)}`;
      const band = s.degraded === true ? `<rect ${span(s)} y="6" height="6" fill="${STATE_COLORS.degraded}" class="degraded-band"><title>${escapeHtml(`degraded${when(s)}`)}</title></rect>` : '';
      return `<rect ${span(s)} y="14" height="24" fill="${STATE_COLORS[s.label] ?? '#8b5cf6'}" data-state="${escapeHtml(s.label)}"><title>${escapeHtml(label)}</title></rect>${band}`;
    })
    .join('');
  const faults = report.faults
    .map((f) => `<path d="M ${x(f.atMs).toFixed(1)} 40 l -5 9 h 10 z" class="fault-mark"><title>${escapeHtml(`${formatDuration(f.atMs)} ${f.kind}`)}</title></path>`)
    .join('');
  const labels = [...new Set(segments.map((s) => s.label))];
  if (segments.some((s) => s.degraded === true) && !labels.includes('degraded')) labels.push('degraded');
  const legend = labels
    .map((l) => `<span class="legend"><span class="swatch" style="background:${STATE_COLORS[l] ?? '#8b5cf6'}"></span>${escapeHtml(l)}</span>`)
    .join(' ');
  return `<svg viewBox="0 0 ${width} ${height}" class="timeline" role="img" aria-label="state timeline">${rects}${faults}
  <text x="${left}" y="${height - 4}">0s</text><text x="${width - right}" y="${height - 4}" text-anchor="end">${escapeHtml(formatDuration(totalMs))}</text></svg>
  <div>${legend} <span class="legend"><span class="swatch fault-swatch"></span>fault</span></div>`;
}

export function renderReportHtml(report: SessionReport): string {
  const r = report;
  const badge = r.result === 'passed' ? 'pass' : r.result === 'failed' ? 'fail' : 'error';
  const expectations = table(
    ['', 'expectation', 'expected', 'observed', 'detail'],
    r.expectations.map((e) => [
      e.passed ? '<span class="ok">✓</span>' : '<span class="bad">✗</span>',
      escapeHtml(e.name),
      `<code>${escapeHtml(JSON.stringify(e.expected))}</code>`,
      `<code>${escapeHtml(JSON.stringify(e.observed))}</code>`,
      escapeHtml(e.detail),
    ]),
    { empty: 'the scenario has no expectations' },
  );
  const visited = table(
    ['state', 'entries', 'time'],
    Object.entries(r.states.visited).map(([label, v]) => [
      `<span class="swatch" style="background:${STATE_COLORS[label] ?? '#8b5cf6'}"></span> ${escapeHtml(label)}`,
      String(v.entries),
      escapeHtml(shortDuration(v.total_ms)),
    ]),
  );
  const faults = table(
    ['at', 'fault', 'applied', 'reaction', 'activity'],
    r.faults.map((f) => [
      escapeHtml(shortDuration(f.atMs)),
      `<b>${escapeHtml(f.kind)}</b>`,
      escapeHtml(f.applied),
      escapeHtml(f.reaction.summary),
      f.reaction.events.length
        ? `<details><summary>${f.reaction.events.length} lines</summary><ul>${f.reaction.events
            .map((e) => `<li class="sev-${escapeHtml(e.severity)}">+${escapeHtml(shortDuration(e.afterMs))} ${escapeHtml(e.message)}</li>`)
            .join('')}</ul></details>`
        : '<span class="muted">—</span>',
    ]),
    { empty: 'no faults' },
  );
  const positions = table(
    ['market', 'trader', 'exchange'],
    r.trader.positions.map((p) => [escapeHtml(p.ticker), escapeHtml(p.trader), p.trader === p.exchange ? escapeHtml(p.exchange) : `<span class="bad">${escapeHtml(p.exchange)}</span>`]),
    { empty: 'no positions' },
  );
  const orders = table(
    ['at', 'client order id', 'market', 'side', 'price', 'count', 'filled', 'state', 'error'],
    r.orders.slice(0, MAX_ROWS).map((o) => [
      escapeHtml(shortDuration(o.created_ms)),
      `<code>${escapeHtml(o.client_order_id)}</code>`,
      escapeHtml(o.ticker),
      escapeHtml(o.side),
      escapeHtml(o.price),
      escapeHtml(o.count),
      escapeHtml(o.filled),
      escapeHtml(o.state),
      escapeHtml(o.error ?? ''),
    ]),
    { empty: 'no orders', className: 'dense' },
  );
  const fills = table(
    ['at', 'fill id', 'client order id', 'market', 'side', 'price', 'count', 'fee', 'taker', 'source'],
    r.fills.slice(0, MAX_ROWS).map((f) => [
      escapeHtml(shortDuration(f.ts_ms)),
      `<code>${escapeHtml(f.fill_id)}</code>`,
      `<code>${escapeHtml(f.client_order_id ?? '')}</code>`,
      escapeHtml(f.ticker),
      escapeHtml(f.side),
      escapeHtml(f.price),
      escapeHtml(f.count),
      escapeHtml(f.fee),
      f.is_taker ? 'yes' : 'no',
      escapeHtml(f.source),
    ]),
    { empty: 'no fills', className: 'dense' },
  );
  const activity = r.activity
    .slice(0, MAX_ACTIVITY)
    .map((a) => `<li class="sev-${escapeHtml(a.severity)}"><code>${escapeHtml(shortDuration(a.at_ms))}</code> ${escapeHtml(a.message)}</li>`)
    .join('\n');
  const pnl = r.pnl
    ? `<p>final P&amp;L <b>$${escapeHtml(r.pnl.final)}</b> (after fees) · fees $${escapeHtml(r.pnl.fees)} · largest drawdown $${escapeHtml(r.pnl.max_drawdown)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(r.scenario.name)} — ${escapeHtml(r.result)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1000px; padding: 0 16px; color: #1f2937; }
  h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
  .badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; font-size: 13px; vertical-align: middle; }
  .badge.pass { background: #2f9e55; } .badge.fail { background: #d64545; } .badge.error { background: #7c2d12; }
  .muted { color: #6b7280; } .ok { color: #2f9e55; font-weight: 700; } .bad { color: #d64545; font-weight: 700; }
  table { border-collapse: collapse; width: 100%; margin: 8px 0; } th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
  th { background: #f8fafc; font-weight: 600; } table.dense td, table.dense th { padding: 2px 6px; font-size: 12.5px; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-word; }
  td:last-child { min-width: 180px; }
  .chart, .timeline { width: 100%; height: auto; } .chart text, .timeline text { font-size: 11px; fill: #6b7280; }
  .plot { fill: #fbfcfd; stroke: #e5e7eb; } .zero { stroke: #9ca3af; stroke-dasharray: 4 3; } .pnl { fill: none; stroke: #2563eb; stroke-width: 1.6; }
  .fault-line { stroke: #d64545; stroke-width: 1; stroke-dasharray: 2 3; } .fault-mark { fill: #d64545; }
  .legend { margin-right: 12px; white-space: nowrap; } .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  .fault-swatch { background: #d64545; }
  .sev-warning { color: #9a5b0a; } .sev-error { color: #b91c1c; } ul { margin: 4px 0; padding-left: 18px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; } dt { color: #6b7280; }
</style>
</head>
<body>
<h1>${escapeHtml(r.scenario.name)} <span class="badge ${badge}">${escapeHtml(r.result.toUpperCase())}</span></h1>
${r.scenario.description ? `<p>${escapeHtml(r.scenario.description)}</p>` : ''}
${r.error ? `<p class="bad">session error: ${escapeHtml(r.error)}</p>` : ''}
<dl>
  <dt>scenario</dt><dd>${escapeHtml(r.scenario.file ?? '(inline)')} · sha256 <code>${escapeHtml(r.scenario.sha256.slice(0, 12))}</code></dd>
  <dt>seed · clock</dt><dd>${escapeHtml(r.scenario.seed)} · ${escapeHtml(r.scenario.clock)}</dd>
  <dt>duration</dt><dd>${escapeHtml(formatDuration(r.scenario.duration_ms))} + ${escapeHtml(formatDuration(r.scenario.drain_ms))} drain · ran in ${escapeHtml((r.run.wall_ms / 1000).toFixed(1))} s (${escapeHtml(r.run.speed)}× real time)</dd>
  <dt>strategy</dt><dd>${escapeHtml(r.scenario.strategy)} on ${escapeHtml(r.scenario.markets.length)} markets</dd>
  <dt>trader</dt><dd>final state ${escapeHtml(r.trader.final_state ?? '—')} · ${escapeHtml(r.run.trader_generations)} generation(s), ${escapeHtml(r.run.crashes)} crash(es)</dd>
  <dt>run</dt><dd>#${escapeHtml(r.run.id ?? '—')} · ledger schema ${escapeHtml(r.run.ledger_schema ?? '—')} · started ${escapeHtml(r.run.started_at)}</dd>
</dl>

<h2>Expectations</h2>
${expectations}

<h2>P&amp;L</h2>
${pnl}
${pnlChart(r)}

<h2>States</h2>
${stateTimeline(r)}
${visited}

<h2>Faults and reactions</h2>
${faults}

<h2>Positions at the end</h2>
${positions}

<h2>Orders (${r.orders.length})</h2>
${orders}
${truncated(r.orders.length, Math.min(r.orders.length, MAX_ROWS), 'orders')}

<h2>Fills (${r.fills.length})</h2>
${fills}
${truncated(r.fills.length, Math.min(r.fills.length, MAX_ROWS), 'fills')}

<h2>Activity</h2>
<details><summary>${Math.min(r.activity.length, MAX_ACTIVITY)} lines</summary>
<ul>
${activity}
</ul>
${truncated(r.activity.length, Math.min(r.activity.length, MAX_ACTIVITY), 'lines')}
</details>
</body>
</html>
`;
}
