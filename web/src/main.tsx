/**
 * The TRADER V3 dashboard (served at `/` and `/v3-trader`): connects to /v3/ws (reconnecting
 * after 3 s, answering pings), polls /v3/status and /v3/machines as a backstop, loads the machine
 * definitions once, and renders the state badge, live statecharts, trading panels and console.
 * Bundled by esbuild (src/server/web-assets.ts) into web/dist; no CDN.
 */
import { render } from 'preact';
import { useEffect, useMemo, useReducer, useState } from 'preact/hooks';
import { feedUrl, fetchJson, postJson } from './api.ts';
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
  clock,
  duration,
} from './panels.tsx';
import { stateValueOf } from './statechart-model.ts';
import { StatechartView } from './statechart-view.tsx';
import { initialState, reduce, type DashboardState } from './store.ts';
import type { ControlAnswer, ControlName, Controls, Envelope, Status } from './types.ts';

const RECONNECT_MS = 3_000;
const STATUS_POLL_MS = 5_000;
const MACHINES_POLL_MS = 2_000;

function useDashboard(): { state: DashboardState; refresh: () => void } {
  const [state, dispatch] = useReducer(reduce, initialState);
  const [refreshes, setRefreshes] = useState(0);

  useEffect(() => {
    let ws: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let stopped = false;
    const open = () => {
      ws = new WebSocket(feedUrl());
      ws.onopen = () => dispatch({ kind: 'connected', connected: true, atMs: Date.now() });
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
        dispatch({ kind: 'connected', connected: false, atMs: Date.now() });
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

  // after a control: the status (controls, trader) and the machines at once, not at the next poll
  useEffect(() => {
    if (refreshes === 0) return;
    let alive = true;
    fetchJson<Status>('/v3/status')
      .then((status) => alive && dispatch({ kind: 'status', status }))
      .catch(() => {});
    fetchJson<Record<string, unknown>>('/v3/machines')
      .then((machines) => alive && dispatch({ kind: 'machines', machines }))
      .catch(() => {});
    return () => {
      alive = false;
    };
  }, [refreshes]);

  return { state, refresh: () => setRefreshes((n) => n + 1) };
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

/** The trader's state as the latest source has it: /v3/machines (every 2 s, and after a control), else the status. */
function traderOf(state: DashboardState): { state: string; reason: string | null } | null {
  const fromStatus = state.status?.trader ?? state.traderStatus?.trader ?? null;
  const value = state.machines.trader;
  if (typeof value === 'string') return { state: value, reason: value === 'paused' || value === 'calibrating' ? (fromStatus?.reason ?? null) : null };
  return fromStatus ? { state: fromStatus.state, reason: fromStatus.reason } : null;
}

const TRADER_COLORS: Record<string, string> = { ready: 'green', acting: 'purple', paused: 'amber', calibrating: 'blue', idle: 'gray', disabled: 'gray' };

function Header({ state, now }: { state: DashboardState; now: number }) {
  const s = state.status;
  const uptime = state.traderStatus?.metrics.uptime ?? s?.uptime ?? 0;
  const offline = state.disconnectedSinceMs !== null;
  const trader = traderOf(state);
  return (
    <header class="top">
      <div class="brand">
        <h1>TRADER V3</h1>
        <span class="muted">kalshiflow</span>
      </div>
      <div class="badges">
        <span
          id="state-badge"
          class={`badge badge-${offline ? 'gray' : (STATE_COLORS[state.state] ?? 'gray')}`}
          data-state={state.state}
          data-stale={offline ? 'true' : 'false'}
          title={offline ? 'last known state: the connection is lost' : undefined}
        >
          {state.state.toUpperCase()}
        </span>
        {state.degraded && (
          <span class="badge badge-amber" id="degraded-badge">
            DEGRADED
          </span>
        )}
        {trader && (
          <span
            id="trader-badge"
            class={`badge badge-${offline ? 'gray' : (TRADER_COLORS[trader.state] ?? 'gray')}`}
            data-state={trader.state}
            data-reason={trader.reason ?? ''}
          >
            TRADER {trader.state.toUpperCase()}
            {trader.reason && trader.state === 'paused' ? ` · ${trader.reason}` : ''}
          </span>
        )}
        <span id="connection" class={`conn ${state.connected ? 'on' : 'off'}`} data-connected={state.connected ? 'true' : 'false'}>
          {state.connected ? 'Connected' : offline ? `Disconnected since ${clock(state.disconnectedSinceMs)}` : 'Connecting…'}
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

const CONTROL_LABELS: Record<ControlName, string> = { pause: 'Pause', resume: 'Resume', 'cancel-all': 'Cancel all', flatten: 'Flatten' };
const CONTROL_CONFIRM: Partial<Record<ControlName, string>> = {
  'cancel-all': 'Cancel every resting order of the trader? (The strategy may quote again; pause to stop it.)',
  flatten: 'Pause the trader, cancel its orders and close every position with marketable orders?',
};

/** Pause / Resume / Cancel all / Flatten: disabled with the reason when the state does not allow them. */
function ControlsBar({ controls, connected, onDone }: { controls: Controls | null | undefined; connected: boolean; onDone: () => void }) {
  const [confirming, setConfirming] = useState<ControlName | null>(null);
  const [busy, setBusy] = useState(false);
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async (action: ControlName) => {
    setConfirming(null);
    setBusy(true);
    try {
      const res = await postJson<ControlAnswer>(`/v3/control/${action}`, {});
      setAnswer({ ok: res.body.applied === true, text: `${CONTROL_LABELS[action]}: ${res.body.message ?? res.body.error ?? `HTTP ${res.status}`}` });
    } catch (error) {
      setAnswer({ ok: false, text: `${CONTROL_LABELS[action]} failed: ${(error as Error).message}` });
    } finally {
      setBusy(false);
      onDone();
    }
  };
  if (controls === null) return null; // a read-only system: nothing to steer
  return (
    <div class="controls" id="controls" role="group" aria-label="Trader controls">
      {(Object.keys(CONTROL_LABELS) as ControlName[]).map((name) => {
        const availability = controls?.[name];
        const reason = !connected ? 'disconnected' : busy ? 'a control is being applied' : availability && !availability.allowed ? (availability.reason ?? 'not allowed now') : '';
        return (
          <button
            type="button"
            key={name}
            id={`control-${name}`}
            class={name === 'flatten' || name === 'cancel-all' ? 'danger' : ''}
            disabled={reason !== '' || !availability}
            title={reason || undefined}
            data-reason={reason}
            onClick={() => (CONTROL_CONFIRM[name] ? setConfirming(name) : void run(name))}
          >
            {CONTROL_LABELS[name]}
          </button>
        );
      })}
      {confirming && (
        <span class="confirm" role="alertdialog" aria-labelledby="confirm-text" id="control-confirm">
          <span id="confirm-text">{CONTROL_CONFIRM[confirming]}</span>{' '}
          <button type="button" id="confirm-yes" class="danger" onClick={() => void run(confirming)}>
            Yes, {CONTROL_LABELS[confirming].toLowerCase()}
          </button>{' '}
          <button type="button" id="confirm-no" onClick={() => setConfirming(null)}>
            No
          </button>
        </span>
      )}
      {answer && (
        <span id="control-result" role="status" class={`small ${answer.ok ? '' : 'neg'}`}>
          {answer.text}
        </span>
      )}
    </div>
  );
}

const CHARTS_OPEN_KEY = 'kalshiflow.statecharts.open';

function App() {
  const { state, refresh } = useDashboard();
  const [chartsOpen, setChartsOpen] = useState(() => localStorage.getItem(CHARTS_OPEN_KEY) !== 'false');
  const now = useNow();
  const [selection, setSelection] = useState<Selection>({ chart: 'market', subject: null });
  const markets = useMemo(() => Object.values(state.markets).sort((a, b) => a.ticker.localeCompare(b.ticker)), [state.markets]);
  const orders = useMemo(() => Object.values(state.orders).sort((a, b) => b.updatedMs - a.updatedMs), [state.orders]);
  const positions = useMemo(() => Object.values(state.positions).sort((a, b) => a.ticker.localeCompare(b.ticker)), [state.positions]);
  const components = state.traderStatus?.components ?? state.status?.components ?? [];
  const offline = state.disconnectedSinceMs !== null;
  const toggleCharts = (open: boolean) => {
    setChartsOpen(open);
    localStorage.setItem(CHARTS_OPEN_KEY, String(open));
  };
  return (
    <div class={`layout${offline ? ' offline' : ''}`} data-offline={offline ? 'true' : 'false'}>
      <Header state={state} now={now} />
      {offline && (
        <div class="offline-banner" id="offline-banner" role="alert">
          Disconnected since {clock(state.disconnectedSinceMs)} ({Math.max(0, Math.round((now - (state.disconnectedSinceMs ?? now)) / 1000))}s): everything below is the last
          known state; reconnecting…
        </div>
      )}
      <ControlsBar controls={state.status?.controls} connected={state.connected} onDone={refresh} />
      <main class="grid">
        <Panel title="Trading" id="trading">
          <TradingSummary trading={state.trading} now={now} />
          <PnlChart points={state.pnl} />
        </Panel>
        <Panel title="Positions" id="positions">
          <PositionsTable positions={positions} now={now} />
        </Panel>
        <Panel title={`Open orders (${orders.length})`} id="orders">
          <OrdersTable orders={orders} now={now} selected={selection.chart === 'order' ? selection.subject : null} onSelect={(id) => setSelection({ chart: 'order', subject: id })} />
        </Panel>
        <section class="panel" id="statecharts" aria-labelledby="statecharts-title">
          <details open={chartsOpen} onToggle={(e) => toggleCharts((e.currentTarget as HTMLDetailsElement).open)}>
            <summary class="panel-header">
              <h2 id="statecharts-title">Statecharts</h2>
            </summary>
            <div class="panel-body">{chartsOpen && <Charts state={state} selection={selection} onSelect={setSelection} />}</div>
          </details>
        </section>
        <Panel title="Component health" id="health">
          <HealthPanel components={components} now={now} />
        </Panel>
        <Panel title="System metrics" id="metrics">
          <MetricsPanel status={state.traderStatus} />
        </Panel>
        <Panel title={`Markets (${markets.length})`} id="markets">
          <MarketsTable markets={markets} now={now} selected={selection.chart === 'market' ? selection.subject : null} onSelect={(t) => setSelection({ chart: 'market', subject: t })} />
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
