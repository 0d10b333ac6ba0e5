/**
 * The TRADER V3 dashboard (served at `/` and `/v3-trader`): connects to /v3/ws (reconnecting
 * after 3 s, answering pings), polls /v3/status and /v3/machines as a backstop, loads the machine
 * definitions once, and renders the state badge, live statecharts, trading panels and console.
 * Bundled by esbuild (src/server/web-assets.ts) into web/dist; no CDN.
 */
import { render } from 'preact';
import { useEffect, useMemo, useReducer, useState } from 'preact/hooks';
import { feedUrl, fetchJson } from './api.ts';
import {
  ConsolePanel,
  FillsTable,
  HealthPanel,
  MarketsTable,
  MetricsPanel,
  OrdersTable,
  Panel,
  PnlChart,
  PositionsTable,
  STATE_COLORS,
  TradingSummary,
  duration,
} from './panels.tsx';
import { stateValueOf } from './statechart-model.ts';
import { StatechartView } from './statechart-view.tsx';
import { initialState, reduce, type DashboardState } from './store.ts';
import type { Envelope, Status } from './types.ts';

const RECONNECT_MS = 3_000;
const STATUS_POLL_MS = 5_000;
const MACHINES_POLL_MS = 2_000;

function useDashboard(): DashboardState {
  const [state, dispatch] = useReducer(reduce, initialState);

  useEffect(() => {
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const open = () => {
      ws = new WebSocket(feedUrl());
      ws.onopen = () => dispatch({ kind: 'connected', connected: true });
      ws.onmessage = (event) => {
        let envelope: Envelope;
        try {
          envelope = JSON.parse(String(event.data)) as Envelope;
        } catch {
          return;
        }
        if (envelope.type === 'ping') ws?.send(JSON.stringify({ type: 'pong', timestamp: Date.now() }));
        dispatch({ kind: 'envelope', envelope, receivedMs: Date.now() });
      };
      ws.onclose = () => {
        dispatch({ kind: 'connected', connected: false });
        if (!stopped) retry = setTimeout(open, RECONNECT_MS);
      };
    };
    open();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    };
  }, []);

  useEffect(() => {
    let alive = true;
    const pollStatus = () =>
      fetchJson<Status>('/v3/status')
        .then((status) => alive && dispatch({ kind: 'status', status }))
        .catch(() => {});
    const pollMachines = () =>
      fetchJson<Record<string, unknown>>('/v3/machines')
        .then((machines) => alive && dispatch({ kind: 'machines', machines }))
        .catch(() => {});
    fetchJson<{ charts: Record<string, unknown>; problems: Array<{ file: string; problem: string }> }>('/v3/statecharts')
      .then((set) => alive && dispatch({ kind: 'charts', charts: set.charts, problems: set.problems }))
      .catch(() => {});
    void pollStatus();
    void pollMachines();
    const a = setInterval(pollStatus, STATUS_POLL_MS);
    const b = setInterval(pollMachines, MACHINES_POLL_MS);
    return () => {
      alive = false;
      clearInterval(a);
      clearInterval(b);
    };
  }, []);

  return state;
}

function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}

/** The coordinator's state value: from /v3/machines when present, else from the state label. */
function coordinatorValue(state: DashboardState): unknown {
  const fromMachines = stateValueOf(state.machines.coordinator);
  if (fromMachines !== null && typeof fromMachines !== 'string') return fromMachines;
  const label = typeof fromMachines === 'string' ? fromMachines : state.state;
  // `acting` is how the status names ready's activity region when the trader acts
  return label === 'acting' ? { ready: { activity: 'acting' } } : label;
}

type Selection = { chart: string; subject: string | null };

function Header({ state, now }: { state: DashboardState; now: number }) {
  const s = state.status;
  const uptime = state.traderStatus?.metrics.uptime ?? s?.uptime ?? 0;
  return (
    <header class="top">
      <div class="brand">
        <h1>TRADER V3</h1>
        <span class="muted">kalshiflow</span>
      </div>
      <div class="badges">
        <span id="state-badge" class={`badge badge-${STATE_COLORS[state.state] ?? 'gray'}`} data-state={state.state}>
          {state.state.toUpperCase()}
        </span>
        {state.degraded && (
          <span class="badge badge-amber" id="degraded-badge">
            DEGRADED
          </span>
        )}
        <span id="connection" class={`conn ${state.connected ? 'on' : 'off'}`} data-connected={state.connected ? 'true' : 'false'}>
          {state.connected ? 'Connected' : 'Disconnected'}
        </span>
      </div>
      <div class="meta muted small">
        {s && (
          <>
            <span>env {s.environment}</span> · <span>strategy {s.strategy}</span> · <span>up {duration(uptime)}</span>
            {state.lastMessageMs && <> · <span>last message {Math.max(0, Math.round((now - state.lastMessageMs) / 1000))}s ago</span></>}
            {s.inspectorUrl && (
              <>
                {' '}
                ·{' '}
                <a href={s.inspectorUrl} target="_blank" rel="noopener noreferrer">
                  Stately inspector
                </a>
              </>
            )}
          </>
        )}
      </div>
    </header>
  );
}

function Charts({ state, selection, onSelect }: { state: DashboardState; selection: Selection; onSelect: (s: Selection) => void }) {
  const names = Object.keys(state.charts);
  const others = names.filter((n) => n !== 'coordinator');
  if (names.length === 0) {
    return (
      <p class="muted">
        No machine definitions: run <code>npm run statecharts</code>.
        {state.chartProblems.map((p) => (
          <span key={p.file}>
            {' '}
            {p.file}: {p.problem}.
          </span>
        ))}
      </p>
    );
  }
  const chart = others.includes(selection.chart) ? selection.chart : others[0];
  let value: unknown = null;
  let subjectLabel = '';
  if (chart === 'market') {
    const ticker = selection.subject ?? Object.keys(state.markets)[0] ?? null;
    value = ticker ? state.markets[ticker]?.subscription ?? null : null;
    subjectLabel = ticker ?? 'no market';
  } else if (chart === 'order') {
    const id = selection.subject ?? Object.keys(state.orders)[0] ?? null;
    value = id ? state.orders[id]?.state ?? null : null;
    subjectLabel = id ?? 'no open order';
  } else if (chart) {
    value = stateValueOf(state.machines[chart]) ?? (chart === 'trader' ? state.traderStatus?.trader.state ?? state.status?.trader.state ?? null : null);
    subjectLabel = chart;
  }
  return (
    <div class="charts">
      {state.charts.coordinator !== undefined && <StatechartView definition={state.charts.coordinator} value={coordinatorValue(state)} title="Coordinator" />}
      {chart && (
        <div>
          <label class="small">
            Actor chart{' '}
            <select value={chart} onChange={(e) => onSelect({ chart: (e.target as HTMLSelectElement).value, subject: null })} id="chart-select">
              {others.map((n) => (
                <option value={n} key={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
          <StatechartView definition={state.charts[chart]} value={value} title={`${chart} · ${subjectLabel}`} />
          {(chart === 'market' || chart === 'order') && <p class="muted small">Select a row in the {chart === 'market' ? 'markets' : 'orders'} table to follow it.</p>}
        </div>
      )}
    </div>
  );
}

function App() {
  const state = useDashboard();
  const now = useNow();
  const [selection, setSelection] = useState<Selection>({ chart: 'market', subject: null });
  const markets = useMemo(() => Object.values(state.markets).sort((a, b) => a.ticker.localeCompare(b.ticker)), [state.markets]);
  const orders = useMemo(() => Object.values(state.orders).sort((a, b) => b.updatedMs - a.updatedMs), [state.orders]);
  const positions = useMemo(() => Object.values(state.positions).sort((a, b) => a.ticker.localeCompare(b.ticker)), [state.positions]);
  const components = state.traderStatus?.components ?? state.status?.components ?? [];
  return (
    <div class="layout">
      <Header state={state} now={now} />
      <main class="grid">
        <Panel title="Statecharts" id="statecharts">
          <Charts state={state} selection={selection} onSelect={setSelection} />
        </Panel>
        <Panel title="Trading" id="trading">
          <TradingSummary trading={state.trading} />
          <PnlChart points={state.pnl} />
        </Panel>
        <Panel title="Component health" id="health">
          <HealthPanel components={components} now={now} />
        </Panel>
        <Panel title="System metrics" id="metrics">
          <MetricsPanel status={state.traderStatus} />
        </Panel>
        <Panel title={`Markets (${markets.length})`} id="markets">
          <MarketsTable markets={markets} now={now} selected={selection.chart === 'market' ? selection.subject : null} onSelect={(t) => setSelection({ chart: 'market', subject: t })} />
        </Panel>
        <Panel title="Positions" id="positions">
          <PositionsTable positions={positions} />
        </Panel>
        <Panel title={`Open orders (${orders.length})`} id="orders">
          <OrdersTable orders={orders} now={now} selected={selection.chart === 'order' ? selection.subject : null} onSelect={(id) => setSelection({ chart: 'order', subject: id })} />
        </Panel>
        <Panel title="Recent fills" id="fills">
          <FillsTable fills={state.fills} />
        </Panel>
        <ConsolePanel entries={state.console} />
      </main>
    </div>
  );
}

const container = document.getElementById('app')!;
// the static "Loading…" placeholder is not Preact's to diff: start from an empty container
container.textContent = '';
render(<App />, container);
