/**
 * Model-based tests of the coordinator chart with xstate/graph: traverse the machine (pure
 * transitions) to get every (state, event) edge, then replay the shortest path to each edge on a
 * REAL actor (virtual clock, test-controlled invoked actors) and check it lands where the model
 * says. The transitions the real actor took (from inspection microsteps) must cover every
 * transition defined in the chart — every timeout, every recovery edge, degraded ⇄ normal, the
 * acting timeout, the deferred/queued sync, and SHUTDOWN from every state.
 */
import { describe, expect, it } from 'vitest';
import { __unsafe_getAllOwnEventDescriptors, createActor } from 'xstate';
import type { AnyStateMachine, EventObject, SnapshotFrom } from 'xstate';
import { getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph';
import type { CoordinatorEvent, CoordinatorInput } from '../../src/machines/coordinator.types.ts';
import { ActorControl, MARKETS, ModelClock, controlledCoordinator, settle, syncSummary } from './coordinator-harness.ts';

let currentControl: ActorControl | null = null;
const machine = controlledCoordinator(() => {
  if (!currentControl) throw new Error('no active control');
  return currentControl;
});
type Snap = SnapshotFrom<typeof machine>;

const MODEL_INPUT = { maxSyncFailures: 2, tradingApiFaultThreshold: 2, seed: 7, startedAtMs: 0 } as const;
const DEPENDENCY_EVENTS = new Set(['JOURNAL_FAILED', 'TRADING_API_FAILED', 'TRADING_API_OK']);
const isDependencyEvent = (e: EventObject) =>
  DEPENDENCY_EVENTS.has(e.type) || /probe(Journal|TradingApi)$/.test(e.type) || /^xstate\.after\.(journalProbeDelay|tradingApiProbeDelay|probeTimeout)\./.test(e.type);
/** Orderbook and second-trader events, left out where the journal and trading-API regions are explored. */
const isOrderbookOrSecondTrader = (e: EventObject) =>
  e.type === 'ORDERBOOK_DOWN' ||
  e.type === 'ORDERBOOK_UP' ||
  /(reconnectOrderbook|watchOrderbookHealth)$/.test(e.type) ||
  e.type.startsWith('xstate.after.orderbookRetryDelay.') ||
  (e as { traderId?: string }).traderId === 't2' ||
  (e.type === 'FATAL' && (e as { resumeAt?: string }).resumeAt !== undefined);

/**
 * Three models, so the product of the parallel regions stays small enough to replay edge by edge:
 * the orderbook, activity and sync regions (trading and read-only), and the journal and trading-API
 * regions with activity and sync (trading). Together they cover every transition of the chart.
 */
const CONFIGS: { name: string; input: CoordinatorInput; exclude: (e: EventObject) => boolean }[] = [
  { name: 'trading', input: { tradingEnabled: true, ...MODEL_INPUT }, exclude: isDependencyEvent },
  { name: 'read-only', input: { tradingEnabled: false, ...MODEL_INPUT }, exclude: isDependencyEvent },
  { name: 'trading, journal and trading API', input: { tradingEnabled: true, ...MODEL_INPUT }, exclude: isOrderbookOrSecondTrader },
];

const OUTPUTS: Record<string, unknown> = {
  initializeSystem: { markets: MARKETS },
  connectOrderbook: { marketsConnected: MARKETS.length },
  reconnectOrderbook: { marketsConnected: MARKETS.length },
  connectTradingClient: { mode: 'paper' },
  syncKalshiData: syncSummary('initial', 0),
  periodicSync: syncSummary('periodic', 0),
  shutdownSystem: undefined,
  probeJournal: undefined,
  probeTradingApi: undefined,
};
const INVOKE_IDS = [...Object.keys(OUTPUTS), 'watchOrderbookHealth'];

const EXTERNAL_EVENTS: CoordinatorEvent[] = [
  { type: 'START' },
  { type: 'SHUTDOWN', reason: 'test' },
  { type: 'FATAL', reason: 'store unreachable' },
  { type: 'FATAL', reason: 'resubscribe needed', resumeAt: 'orderbook_connect' },
  { type: 'ORDERBOOK_DOWN', reason: 'no message for 30s' },
  { type: 'ORDERBOOK_UP' },
  { type: 'SYNC_NOW' },
  { type: 'JOURNAL_FAILED', reason: 'connect ECONNREFUSED', atMs: 1 },
  { type: 'TRADING_API_FAILED', reason: '503 on GET /portfolio/balance', atMs: 1 },
  { type: 'TRADING_API_OK' },
  { type: 'TRADER_ACTING', traderId: 't1' },
  { type: 'TRADER_ACTING', traderId: 't2' },
  { type: 'TRADER_IDLE', traderId: 't1' },
  { type: 'TRADER_IDLE', traderId: 't2' },
];

const MODEL_EVENTS: EventObject[] = [
  ...EXTERNAL_EVENTS,
  ...Object.entries(OUTPUTS).map(([id, output]) => ({ type: `xstate.done.actor.${id}`, output })),
  ...INVOKE_IDS.map((id) => ({ type: `xstate.error.actor.${id}`, error: { message: `${id} failed` } })),
];

/** The model's notion of "same state": value plus the context that changes behaviour. */
function serializeState(snapshot: Snap): string {
  const c = snapshot.context;
  const inError = snapshot.value === 'error';
  const apiHealthy = snapshot.matches({ ready: { tradingApi: 'healthy' } } as any);
  return JSON.stringify({
    value: snapshot.value,
    trading: c.tradingEnabled,
    degraded: c.degraded,
    syncQueued: c.syncQueued,
    syncFailures: c.consecutiveSyncFailures,
    // the streak toward the fault threshold (while faulted, failures only accumulate for display)
    apiFailures: apiHealthy ? c.tradingApi.failures : null,
    acting: c.actingTraders,
    resumeAt: inError ? c.resumeAt : undefined,
    stage: c.stage,
  });
}

function traversalOptions(input: CoordinatorInput, exclude: (e: EventObject) => boolean) {
  return {
    input,
    serializeState: (s: Snap) => serializeState(s),
    // The events each state handles (incl. its delayed and actor done/error events), with
    // payloads from MODEL_EVENTS where one is needed.
    events: (state: Snap) =>
      __unsafe_getAllOwnEventDescriptors(state).flatMap((type: string) => {
        const matching = MODEL_EVENTS.filter((e) => e.type === type);
        return matching.length > 0 ? matching : [{ type }];
      }),
    // ACTIVITY_IDLE and DEPENDENCY_RESTORED are internal (raised by the activity, journal and
    // trading-API regions); they are covered through those.
    filterEvents: (_: Snap, event: EventObject) =>
      event.type !== 'ACTIVITY_IDLE' && event.type !== 'DEPENDENCY_RESTORED' && !exclude(event),
    // A final state takes no events (the pure transition function would still compute some).
    stopWhen: (s: Snap) => s.status === 'done',
    limit: 20_000,
  };
}

interface TransitionKey {
  key: string;
}

function describeTransition(t: any, index: number): string {
  const targets = (t.target ?? []).map((n: any) => n.id).join(',') || '(self)';
  const guard = t.guard ? `[${typeof t.guard === 'string' ? t.guard : (t.guard.type ?? 'inline')}${t.guard.params ? JSON.stringify(t.guard.params) : ''}]` : '';
  return `${t.source.id} --${t.eventType || 'always'}${guard}--> ${targets} #${index}`;
}

/** Every transition defined in the chart, keyed by object identity. */
function allTransitions(m: AnyStateMachine): Map<unknown, string> {
  const out = new Map<unknown, string>();
  for (const node of [m.root, ...getStateNodes(m.root)]) {
    let i = 0;
    for (const list of node.transitions.values()) for (const t of list) out.set(t, describeTransition(t, i++));
    for (const t of node.always ?? []) out.set(t, describeTransition(t, i++));
  }
  return out;
}

async function perform(
  actor: ReturnType<typeof createActor<typeof machine>>,
  control: ActorControl,
  clock: ModelClock,
  event: EventObject,
): Promise<void> {
  const type = event.type;
  if (type.startsWith('xstate.done.actor.')) {
    control.resolve(type.slice('xstate.done.actor.'.length), (event as any).output);
  } else if (type.startsWith('xstate.error.actor.')) {
    const id = type.slice('xstate.error.actor.'.length);
    if (id === 'watchOrderbookHealth') {
      const child = (actor.getSnapshot().children as Record<string, { send(e: EventObject): void } | undefined>)[id];
      if (!child) throw new Error('watcher not running');
      child.send({ type: 'FAIL' });
    } else {
      control.reject(id, new Error(`${id} failed`));
    }
  } else if (type.startsWith('xstate.after.')) {
    clock.fireScheduled(type);
  } else {
    actor.send(event as CoordinatorEvent);
  }
  await settle();
}

interface Edge {
  from: string;
  event: EventObject;
  to: Snap;
  prefix: EventObject[];
}

function modelEdges(input: CoordinatorInput, exclude: (e: EventObject) => boolean): { edges: Edge[]; states: Map<string, Snap> } {
  const options = traversalOptions(input, exclude);
  const adjacency = getAdjacencyMap(machine, options as any);
  const paths = getShortestPaths(machine, options as any);
  const prefixes = new Map<string, EventObject[]>();
  for (const p of paths) prefixes.set(serializeState(p.state as Snap), p.steps.map((s) => s.event as EventObject));
  const edges: Edge[] = [];
  const states = new Map<string, Snap>();
  for (const [key, value] of Object.entries(adjacency)) {
    states.set(key, value.state as Snap);
    const prefix = prefixes.get(key);
    if (!prefix) throw new Error(`no path to ${key}`);
    for (const t of Object.values(value.transitions) as { event: EventObject; state: unknown }[]) {
      edges.push({ from: key, event: t.event, to: t.state as Snap, prefix });
    }
  }
  return { edges, states };
}

describe('coordinator chart, model-based', () => {
  const models = CONFIGS.map((c) => ({ ...c, ...modelEdges(c.input, c.exclude) }));

  it('the model reaches every state node of the chart', () => {
    const reached = new Set<string>();
    for (const m of models) {
      for (const s of m.states.values()) for (const node of (s as any)._nodes) reached.add(node.id);
    }
    const all = getStateNodes(machine.root).map((n) => n.id);
    expect(all.filter((id) => !reached.has(id))).toEqual([]);
  });

  it('SHUTDOWN from every reachable state leads to shutdown', () => {
    let checked = 0;
    for (const m of models) {
      for (const [key, snap] of m.states) {
        if (snap.status === 'done') continue;
        const edge = m.edges.find((e) => e.from === key && e.event.type === 'SHUTDOWN');
        expect(edge, `no SHUTDOWN edge from ${key}`).toBeDefined();
        expect(edge!.to.value).toBe('shutdown');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it(
    'replaying the shortest path to every edge on a real actor matches the model and covers every transition',
    async () => {
      const definitions = allTransitions(machine);
      const covered = new Set<unknown>();
      let replayed = 0;
      for (const m of models) {
        for (const edge of m.edges) {
          const clock = new ModelClock(0);
          const control = new ActorControl(clock);
          currentControl = control;
          const taken = new Set<unknown>();
          const actor = createActor(machine, {
            input: m.input,
            clock,
            inspect: (ev) => {
              if (ev.type === '@xstate.microstep') for (const t of (ev as any)._transitions) taken.add(t);
            },
          });
          clock.attach(actor);
          actor.start();
          const steps = [...edge.prefix, edge.event];
          try {
            for (const step of steps) await perform(actor, control, clock, step);
          } catch (err) {
            throw new Error(`${m.name}: replaying ${steps.map((s) => s.type).join(' → ')}: ${(err as Error).message}`);
          }
          const actual = serializeState(actor.getSnapshot());
          expect(actual, `${m.name}: ${steps.map((s) => s.type).join(' → ')}`).toBe(serializeState(edge.to));
          actor.stop();
          for (const t of taken) covered.add(t);
          replayed++;
        }
      }
      currentControl = null;
      const missing = [...definitions].filter(([t]) => !covered.has(t)).map(([, d]) => d);
      expect(missing).toEqual([]);
      expect(definitions.size).toBeGreaterThan(50);
      expect(replayed).toBeGreaterThan(definitions.size);
    },
    120_000,
  );

  it('every recovery edge out of error is in the model', () => {
    const targets = new Set<string>();
    for (const m of models) {
      for (const e of m.edges) {
        if (e.event.type.startsWith('xstate.after.errorBackoff')) {
          const v = e.to.value;
          targets.add(typeof v === 'string' ? v : JSON.stringify(v).includes('degraded') ? 'ready(degraded)' : 'ready');
        }
      }
    }
    expect([...targets].sort()).toEqual(
      ['initializing', 'kalshi_data_sync', 'orderbook_connect', 'ready', 'ready(degraded)', 'trading_client_connect'].sort(),
    );
  });

  it('the model never has two syncs running: no state invokes both sync actors', () => {
    for (const m of models) {
      for (const s of m.states.values()) {
        const children = Object.keys(s.children);
        const syncs = children.filter((id) => id === 'syncKalshiData' || id === 'periodicSync');
        expect(syncs.length).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('coordinator chart, model-based: journal and trading API', () => {
  const m = CONFIGS.find((c) => c.name.includes('journal'))!;
  const { edges, states } = modelEdges(m.input, m.exclude);
  const dependencyDown = (s: Snap) =>
    s.matches({ ready: { journal: 'outage' } } as any) || s.matches({ ready: { tradingApi: 'faulted' } } as any);
  const syncing = (s: Snap) => s.matches({ ready: { sync: 'syncing' } } as any);

  it('reaches outage and faulted, and recovers from both by a probe', () => {
    const values = [...states.values()].map((s) => JSON.stringify(s.value));
    expect(values.some((v) => v.includes('"journal":{"outage":"probing"}'))).toBe(true);
    expect(values.some((v) => v.includes('"tradingApi":{"faulted":"probing"}'))).toBe(true);
    const recoveries = edges.filter((e) => /probe(Journal|TradingApi)$/.test(e.event.type) && e.event.type.startsWith('xstate.done.'));
    expect(recoveries.length).toBeGreaterThan(0);
    for (const e of recoveries) expect(JSON.stringify(e.to.value)).toMatch(/"(journal|tradingApi)":"healthy"/);
  });

  it('no decision cycle starts while the journal or the trading API is down', () => {
    let checked = 0;
    for (const e of edges) {
      if (e.event.type !== 'TRADER_ACTING') continue;
      const from = states.get(e.from)!;
      if (!dependencyDown(from) || from.matches({ ready: { activity: 'acting' } } as any)) continue;
      expect(e.to.matches({ ready: { activity: 'acting' } } as any), `${e.from} --TRADER_ACTING-->`).toBe(false);
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('no sync starts while the journal is down, and one starts when it recovers if it was held', () => {
    const journalDown = (s: Snap) => s.matches({ ready: { journal: 'outage' } } as any);
    let held = 0;
    for (const e of edges) {
      const from = states.get(e.from)!;
      if (!syncing(from) && syncing(e.to)) expect(journalDown(e.to), `${e.from} --${e.event.type}-->`).toBe(false);
      if (from.matches({ ready: { sync: 'held' } } as any) && e.event.type === 'xstate.done.actor.probeJournal') {
        expect(syncing(e.to) || e.to.matches({ ready: { sync: 'due' } } as any)).toBe(true);
        held++;
      }
    }
    expect(held).toBeGreaterThan(0);
  });

  it('a single failed request does not fault the trading API; the threshold does', () => {
    const healthyWithoutFailures = [...states.entries()].filter(
      ([key, s]) => s.matches({ ready: { tradingApi: 'healthy' } } as any) && JSON.parse(key).apiFailures === 0,
    );
    expect(healthyWithoutFailures.length).toBeGreaterThan(0);
    for (const [key] of healthyWithoutFailures) {
      const e = edges.find((x) => x.from === key && x.event.type === 'TRADING_API_FAILED')!;
      expect(e.to.matches({ ready: { tradingApi: 'healthy' } } as any)).toBe(true);
      const again = edges.find((x) => x.from === serializeState(e.to) && x.event.type === 'TRADING_API_FAILED')!;
      expect(again.to.matches({ ready: { tradingApi: 'faulted' } } as any)).toBe(true);
    }
  });
});
