/**
 * The dashboard's panels: trading summary, P&L chart (SVG), markets, positions, open orders with
 * their actor state, recent fills, component health, system metrics and the system console with
 * its Copy button. Presentational only: they render slices of the DashboardState (store.ts).
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { formatCents, formatUsd } from '../../src/core/display.ts';
import { parseDollars, parsePrice } from '../../src/core/money.ts';
import { copyText, fetchText } from './api.ts';
import type { ActivityData, Component, Fill, Market, Order, PnlPoint, Position, TraderStatus, Trading } from './types.ts';

export const STATE_COLORS: Record<string, string> = {
  startup: 'gray',
  initializing: 'blue',
  orderbook_connect: 'blue',
  trading_client_connect: 'blue',
  kalshi_data_sync: 'blue',
  ready: 'green',
  acting: 'purple',
  error: 'red',
  shutdown: 'gray',
};

export function clock(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : new Date(ms).toISOString().slice(11, 19);
}

export function age(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, (now - ms) / 1000);
  return s < 60 ? `${s.toFixed(s < 10 ? 1 : 0)}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

export function duration(seconds: number): string {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

/** An exact dollar string of the API ("-12.340000") through the one money formatter: "-$12.34". */
export function dollars(text: string | null | undefined): string {
  if (text === null || text === undefined) return '—';
  return formatUsd(parseDollars(text));
}

/** An exact price string ("0.5650") in cents: "56.5¢". */
export function cents(text: string | null | undefined): string {
  if (text === null || text === undefined) return '—';
  return formatCents(parsePrice(text));
}

export function contracts(text: string): string {
  return text.endsWith('.00') ? text.slice(0, -3) : text;
}

const signClass = (text: string | undefined) => (text?.startsWith('-') ? 'neg' : text && /[1-9]/.test(text) ? 'pos' : '');

export function Panel({ title, children, id, actions }: { title: string; children: ComponentChildren; id: string; actions?: ComponentChildren }) {
  return (
    <section class="panel" id={id} aria-labelledby={`${id}-title`}>
      <header class="panel-header">
        <h2 id={`${id}-title`}>{title}</h2>
        {actions}
      </header>
      <div class="panel-body">{children}</div>
    </section>
  );
}

/** "stale 12s": a valuation at the last prices a book showed. */
function StaleMark({ atMs, now }: { atMs: number | null; now: number }) {
  return (
    <span class="pill stale" data-stale-mark="true" title="no order book now: valued at the last known prices">
      {atMs === null ? 'at cost: no price yet' : `stale ${age(atMs, now).replace(' ago', '')}`}
    </span>
  );
}

export function TradingSummary({ trading, now }: { trading: Trading | null; now: number }) {
  if (!trading) return <p class="muted">Waiting for the trading state…</p>;
  const items: Array<[string, string, string]> = [
    ['Balance', dollars(trading.balance), ''],
    ['Portfolio', dollars(trading.portfolioValue), ''],
    ['Realized P&L', dollars(trading.realizedPnl), signClass(trading.realizedPnl)],
    ['Unrealized P&L', dollars(trading.unrealizedPnl), signClass(trading.unrealizedPnl)],
    ['Total P&L', dollars(trading.totalPnl), signClass(trading.totalPnl)],
    ['Fees paid', dollars(trading.feesPaid), ''],
  ];
  return (
    <div>
      <dl class="figures">
        {items.map(([label, value, cls]) => (
          <div key={label}>
            <dt>{label}</dt>
            <dd class={cls} data-figure={label}>
              {value}
            </dd>
            {trading.staleMarks > 0 && (label === 'Unrealized P&L' || label === 'Portfolio') && <StaleMark atMs={trading.oldestStaleMarkMs} now={now} />}
          </div>
        ))}
      </dl>
      <p class="muted small">
        version {trading.version} · last sync {clock(trading.lastSyncMs)}
      </p>
    </div>
  );
}

export function PnlChart({ points }: { points: PnlPoint[] }) {
  const width = 520;
  const height = 150;
  const pad = { left: 56, right: 10, top: 10, bottom: 22 };
  if (points.length === 0) return <p class="muted">No P&L yet.</p>;
  const xs = points.map((p) => p.atMs);
  const ys = points.map((p) => p.raw.total);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(0, ...ys, y0 + 1);
  const sx = (x: number) => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number) => pad.top + (1 - (y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const line = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.atMs).toFixed(1)},${sy(p.raw.total).toFixed(1)}`).join(' ');
  const last = points[points.length - 1];
  const fmt = formatUsd;
  return (
    <svg class="pnl-chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`Total P&L over time, now ${dollars(last.total)}`}>
      <line x1={pad.left} x2={width - pad.right} y1={sy(0)} y2={sy(0)} class="zero" />
      <text x={pad.left - 6} y={sy(y1) + 4} text-anchor="end" class="axis">
        {fmt(y1)}
      </text>
      <text x={pad.left - 6} y={sy(y0) + 4} text-anchor="end" class="axis">
        {fmt(y0)}
      </text>
      <text x={pad.left} y={height - 4} class="axis">
        {clock(x0)}
      </text>
      <text x={width - pad.right} y={height - 4} text-anchor="end" class="axis">
        {clock(x1)}
      </text>
      <path d={line} class={`pnl-line ${last.raw.total < 0 ? 'neg' : 'pos'}`} />
      {points.length === 1 && <circle cx={sx(last.atMs)} cy={sy(last.raw.total)} r="3" class="pnl-dot" />}
    </svg>
  );
}

export function MarketsTable({ markets, now, selected, onSelect }: { markets: Market[]; now: number; selected: string | null; onSelect: (ticker: string) => void }) {
  if (markets.length === 0) return <p class="muted">No markets.</p>;
  return (
    <table class="data" id="markets-table">
      <thead>
        <tr>
          <th>Ticker</th>
          <th>Subscription</th>
          <th class="num">Bid</th>
          <th class="num">Ask</th>
          <th class="num">Spread</th>
          <th class="num">YES depth</th>
          <th class="num">NO depth</th>
          <th class="num">Deltas</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {markets.map((m) => (
          <tr key={m.ticker} data-ticker={m.ticker} class={selected === m.ticker ? 'selected' : ''} onClick={() => onSelect(m.ticker)}>
            <td class="mono">{m.ticker}</td>
            <td>
              <span class={`pill sub-${m.subscription}`}>{m.subscription}</span>
            </td>
            <td class="num" data-field="bid">{cents(m.bestYesBid)}</td>
            <td class="num" data-field="ask">{cents(m.bestYesAsk)}</td>
            <td class="num">{cents(m.spread)}</td>
            <td class="num">{contracts(m.yesDepth)}</td>
            <td class="num">{contracts(m.noDepth)}</td>
            <td class="num" data-field="deltas">{m.deltas}</td>
            <td>{age(m.lastUpdateMs, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function PositionsTable({ positions, now }: { positions: Position[]; now: number }) {
  const open = positions.filter((p) => p.raw.position !== 0 || p.raw.realizedPnl !== 0);
  if (open.length === 0) return <p class="muted">No positions.</p>;
  return (
    <table class="data" id="positions-table">
      <thead>
        <tr>
          <th>Ticker</th>
          <th class="num">Position</th>
          <th class="num">Cost</th>
          <th class="num">Realized</th>
          <th class="num">Unrealized</th>
          <th class="num">Fees</th>
        </tr>
      </thead>
      <tbody>
        {open.map((p) => (
          <tr key={p.ticker}>
            <td class="mono">{p.ticker}</td>
            <td class="num">{contracts(p.position)}</td>
            <td class="num">{dollars(p.costBasis)}</td>
            <td class={`num ${signClass(p.realizedPnl)}`}>{dollars(p.realizedPnl)}</td>
            <td class={`num ${signClass(p.unrealizedPnl)}`} data-field="unrealized">
              {dollars(p.unrealizedPnl)}
              {p.markStale && <StaleMark atMs={p.markAtMs} now={now} />}
            </td>
            <td class="num">{dollars(p.feesPaid)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function OrdersTable({ orders, now, selected, onSelect }: { orders: Order[]; now: number; selected: string | null; onSelect: (id: string) => void }) {
  if (orders.length === 0) return <p class="muted">No open orders.</p>;
  return (
    <table class="data" id="orders-table">
      <thead>
        <tr>
          <th>Client order id</th>
          <th>Ticker</th>
          <th>Side</th>
          <th class="num">Price</th>
          <th class="num">Filled / count</th>
          <th>Actor state</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {orders.map((o) => (
          <tr key={o.clientOrderId} class={selected === o.clientOrderId ? 'selected' : ''} onClick={() => onSelect(o.clientOrderId)} data-order={o.clientOrderId}>
            <td class="mono" title={o.orderId ?? 'no venue id yet'}>
              {o.clientOrderId}
              {o.external && <span class="pill">external</span>}
            </td>
            <td class="mono">{o.ticker}</td>
            <td>{o.side}</td>
            <td class="num">{cents(o.price)}</td>
            <td class="num">
              {contracts(o.filled)} / {contracts(o.count)}
            </td>
            <td>
              <span class={`pill order-${o.state}`}>{o.state}</span>
            </td>
            <td>{age(o.updatedMs, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function FillsTable({ fills }: { fills: Fill[] }) {
  if (fills.length === 0) return <p class="muted">No fills yet.</p>;
  return (
    <table class="data" id="fills-table">
      <thead>
        <tr>
          <th>Time</th>
          <th>Ticker</th>
          <th>Side</th>
          <th class="num">Price</th>
          <th class="num">Count</th>
          <th class="num">Fee</th>
          <th>Liquidity</th>
        </tr>
      </thead>
      <tbody>
        {fills.slice(0, 20).map((f) => (
          <tr key={f.fillId}>
            <td>{clock(f.tsMs)}</td>
            <td class="mono">{f.ticker}</td>
            <td>{f.side}</td>
            <td class="num">{cents(f.price)}</td>
            <td class="num">{contracts(f.count)}</td>
            <td class="num">{dollars(f.fee)}</td>
            <td>{f.isTaker ? 'taker' : 'maker'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HealthPanel({ components, now }: { components: Component[]; now: number }) {
  if (components.length === 0) return <p class="muted">No components reported.</p>;
  return (
    <ul class="health" id="component-health">
      {components.map((c) => (
        <li key={c.name} class={c.healthy ? 'ok' : 'bad'} data-component={c.name}>
          <span class="dot" aria-hidden="true" />
          <strong>{c.name}</strong> <span class="muted">{c.healthy ? 'healthy' : 'unhealthy'}</span>
          <div class="small">{c.detail}</div>
          <div class="small muted">last activity {age(c.lastActivityMs, now)}</div>
        </li>
      ))}
    </ul>
  );
}

export function MetricsPanel({ status }: { status: TraderStatus | null }) {
  if (!status) return <p class="muted">Waiting for the first status report…</p>;
  const m = status.metrics;
  const items: Array<[string, string]> = [
    ['Markets live', `${m.markets_connected} / ${m.markets_total}`],
    ['Deltas', String(m.deltas_received)],
    ['Uptime', duration(m.uptime)],
    ['Time in state', duration(m.time_in_state)],
    ['Trader', `${status.trader.state}${status.trader.reason ? ` (${status.trader.reason})` : ''}`],
    ['Decisions', String(status.trader.decisions)],
    ['Orders placed', String(status.trader.ordersPlaced)],
    ['Denied', String(status.trader.denied)],
    ['Syncs', `${m.sync_count} · last ${clock(m.last_sync_ms)}`],
    ['Console clients', String(m.ws_clients)],
  ];
  return (
    <dl class="figures compact" id="system-metrics">
      {items.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/** The message without the "from → to: " prefix the tag already shows. */
function consoleMessage(e: ActivityData): string {
  const prefix = e.from_state && e.to_state ? `${e.from_state} → ${e.to_state}: ` : '';
  return prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

const SEVERITY_ICON: Record<string, string> = { info: 'ℹ', success: '✔', warning: '⚠', error: '✖' };

export function ConsolePanel({ entries }: { entries: ActivityData[] }) {
  const [copied, setCopied] = useState<string | null>(null);
  // exactly the status log the API serves (same lines, same count), not the console's own list
  const copy = async () => {
    try {
      const text = await fetchText('/v3/status/log');
      await copyText(text);
      setCopied(`Copied ${text === '' ? 0 : text.split('\n').length} status-log lines`);
    } catch (error) {
      setCopied(`Copy failed: ${(error as Error).message}`);
    }
    setTimeout(() => setCopied(null), 2500);
  };
  return (
    <Panel
      title="System console"
      id="console"
      actions={
        <span class="actions">
          {copied && (
            <span class="muted small" role="status">
              {copied}
            </span>
          )}
          <button type="button" id="copy-log" onClick={copy} title="Copy the status log (GET /v3/status/log)">
            Copy
          </button>
        </span>
      }
    >
      <ol class="console" aria-live="polite">
        {entries.slice(0, 200).map((e) => (
          <li key={`${e.atMs}|${e.line}`} class={`sev-${e.severity} act-${e.activity_type}`}>
            <details>
              <summary>
                <span class="icon" aria-hidden="true">
                  {SEVERITY_ICON[e.severity] ?? '·'}
                </span>
                <time>{e.timestamp}</time>{' '}
                <span class="tag">{e.from_state && e.to_state ? `${e.from_state} → ${e.to_state}` : e.state}</span> {consoleMessage(e)}
              </summary>
              <pre>{JSON.stringify(e.metadata, null, 2)}</pre>
            </details>
          </li>
        ))}
      </ol>
    </Panel>
  );
}
