/**
 * The operator's controls over a running trader (pause, resume, cancel-all, flatten): which ones
 * the state allows, and applying one — an event to the trader actor, whose chart holds the rules
 * (the operator's hold, flatten's closing orders: trader.machine.ts, core/flatten.ts) — answered
 * with what it did, recorded in the status log and the console, and journaled in
 * `operator_actions`. The trading system (trading-system.ts) owns one and feeds it the trader's
 * notifications; the HTTP API reaches it through SystemView.control().
 */
import type { Actor } from 'xstate';
import type { Clock } from '../core/clock.ts';
import { recordOperatorAction } from '../adapters/store/journal.ts';
import type { Queryable } from '../adapters/store/database.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import type { traderMachine } from '../machines/trader.machine.ts';
import type { TraderEvent } from '../machines/trader.events.ts';
import type { TraderNotification } from '../machines/trader.types.ts';
import type { ControlAction, ControlAvailability, ControlCommand, ControlResult, Severity } from './system-view.ts';

/** The journal write waits this long at most: a control must answer during a database outage too. */
const JOURNAL_WAIT_MS = 2_000;

export interface OperatorControlsDeps {
  trader: Actor<typeof traderMachine> | null;
  traderId: string;
  env: StoreEnvironment;
  pool: Queryable;
  clock: Clock;
  /** The coordinator's status label now (`ready`, `ready (degraded)`, `shutdown`…). */
  systemLabel: () => string;
  /** Markets the trader was given (a ticker outside them is refused). */
  markets: () => readonly string[];
  /** A line in the status log (`[label → label] operator …`). */
  statusLine: (label: string, message: string, metadata: Record<string, unknown>) => void;
  activity: (message: string, severity: Severity, metadata: Record<string, unknown>) => void;
  onError: (message: string) => void;
}

type TraderSnapshot = ReturnType<Actor<typeof traderMachine>['getSnapshot']>;

const no = (reason: string): ControlAvailability => ({ allowed: false, reason });
const yes: ControlAvailability = { allowed: true, reason: null };

/** Managed orders the venue may still hold (filled, canceled or closed ones are released). */
function restingOrders(snap: TraderSnapshot, ticker?: string): number {
  return Object.values(snap.context.orders).filter((o) => o.remainingCount > 0 && !o.cancelPending && (ticker === undefined || o.ticker === ticker)).length;
}

function openPositions(snap: TraderSnapshot, ticker?: string): number {
  return Object.values(snap.context.positions).filter((p) => p.position !== 0 && (ticker === undefined || p.ticker === ticker)).length;
}

export class OperatorControls {
  private collecting: TraderNotification[] | null = null;

  constructor(private readonly deps: OperatorControlsDeps) {}

  /** The trading system passes every trader notification here (kept while a control is applied). */
  observe(notification: TraderNotification): void {
    this.collecting?.push(notification);
  }

  availability(ticker?: string): Record<ControlAction, ControlAvailability> {
    const trader = this.deps.trader;
    const label = this.deps.systemLabel();
    if (!trader) return { pause: no('read-only: no trader'), resume: no('read-only: no trader'), 'cancel-all': no('read-only: no trader'), flatten: no('read-only: no trader') };
    if (label.startsWith('shutdown')) return { pause: no('shutting down'), resume: no('shutting down'), 'cancel-all': no('shutting down'), flatten: no('shutting down') };
    const snap = trader.getSnapshot();
    const state = String(snap.value);
    const ctx = snap.context;
    const started = state !== 'idle';
    const pause = !started ? no('the trader has not started') : ctx.operatorHold ? no('already paused by the operator') : yes;
    const resume =
      state !== 'paused'
        ? no(`not paused (${state})`)
        : ctx.systemPause !== null
          ? no(`paused by the system (${ctx.systemPause}): it resumes on its own when that clears`)
          : yes;
    const cancelAll = restingOrders(snap, ticker) === 0 ? no(ticker ? `no open orders in ${ticker}` : 'no open orders') : yes;
    const flatten = !started
      ? no('the trader has not started')
      : openPositions(snap, ticker) === 0 && restingOrders(snap, ticker) === 0
        ? no(ticker ? `no position or order in ${ticker}` : 'no positions or orders')
        : yes;
    return { pause, resume, 'cancel-all': cancelAll, flatten };
  }

  async apply(command: ControlCommand): Promise<ControlResult> {
    const ticker = command.ticker ?? null;
    const base = { action: command.action, ticker, cancelsSent: 0, ordersPlaced: [], ordersDenied: [], positions: [] };
    const trader = this.deps.trader;
    if (ticker !== null && !this.deps.markets().includes(ticker) && !(trader && trader.getSnapshot().context.positions[ticker])) {
      return this.finish({ ...base, applied: false, message: `${ticker} is not one of this trader's markets`, trader: this.traderState() });
    }
    const allowed = this.availability(command.ticker)[command.action];
    if (!trader || !allowed.allowed) {
      return this.finish({ ...base, applied: false, message: `${command.action} refused: ${allowed.reason ?? 'not allowed now'}`, trader: this.traderState() });
    }
    const event: TraderEvent =
      command.action === 'pause'
        ? { type: 'OPERATOR_PAUSE' }
        : command.action === 'resume'
          ? { type: 'OPERATOR_RESUME' }
          : command.action === 'cancel-all'
            ? { type: 'CANCEL_ALL', reason: 'operator', ...(command.ticker ? { ticker: command.ticker } : {}) }
            : { type: 'FLATTEN', ...(command.ticker ? { ticker: command.ticker } : {}) };
    const before = trader.getSnapshot().context.counters.cancelsSent;
    const notes: TraderNotification[] = [];
    // the trader handles an event synchronously: what it reports meanwhile is this control's doing
    this.collecting = notes;
    try {
      trader.send(event);
    } finally {
      this.collecting = null;
    }
    const after = trader.getSnapshot();
    const result: Omit<ControlResult, 'journaled'> = {
      ...base,
      applied: true,
      message: '',
      trader: this.traderState(),
      cancelsSent: after.context.counters.cancelsSent - before,
      ordersPlaced: notes.flatMap((n) =>
        n.type === 'ORDER_PLACED' ? [{ clientOrderId: n.clientOrderId, ticker: n.intent.ticker, side: n.intent.side, price: n.intent.price, count: n.intent.count }] : [],
      ),
      ordersDenied: notes.flatMap((n) => (n.type === 'ORDER_DENIED' ? [{ ticker: n.intent.ticker, rule: n.rule, reason: n.reason }] : [])),
      positions: notes.flatMap((n) => (n.type === 'POSITION_CLOSING' ? [{ ticker: n.ticker, sent: n.sent, detail: n.detail }] : [])),
    };
    result.message = describe(result);
    return this.finish(result);
  }

  private traderState(): { state: string; reason: string | null } {
    const snap = this.deps.trader?.getSnapshot();
    return snap ? { state: String(snap.value), reason: snap.context.reason } : { state: 'disabled', reason: null };
  }

  /** Status log, console, journal; then the answer. */
  private async finish(result: Omit<ControlResult, 'journaled'>): Promise<ControlResult> {
    const label = this.deps.systemLabel();
    const metadata = { operator_action: result.action, ticker: result.ticker, applied: result.applied, trader_state: result.trader.state };
    this.deps.statusLine(label, `operator ${result.action}${result.ticker ? ` ${result.ticker}` : ''}: ${result.message}`, metadata);
    this.deps.activity(`operator ${result.action}: ${result.message}`, result.applied ? 'info' : 'warning', metadata);
    let journaled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const write = recordOperatorAction(this.deps.pool, {
        trader: this.deps.traderId,
        env: this.deps.env,
        atMs: this.deps.clock.now(),
        action: result.action,
        ticker: result.ticker,
        outcome: result.applied ? 'applied' : 'refused',
        message: result.message,
        details: { trader: result.trader, cancelsSent: result.cancelsSent, ordersPlaced: result.ordersPlaced, ordersDenied: result.ordersDenied, positions: result.positions },
      });
      // wall time, not the system's clock: a virtual clock may not advance while we wait
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${JOURNAL_WAIT_MS} ms`)), JOURNAL_WAIT_MS);
      });
      await Promise.race([write, timeout]);
      journaled = true;
    } catch (error) {
      this.deps.onError(`could not journal the operator's ${result.action}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
    return { ...result, journaled };
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One line of what a control did. */
function describe(r: Omit<ControlResult, 'journaled'>): string {
  const parts: string[] = [];
  const paused = r.trader.state === 'paused';
  switch (r.action) {
    case 'pause':
      parts.push(`trader paused (${r.trader.reason ?? 'operator'})`);
      break;
    case 'resume':
      parts.push(paused ? `operator hold released; still paused: ${r.trader.reason ?? 'paused'}` : `trader ${r.trader.state}`);
      break;
    case 'cancel-all':
      break;
    case 'flatten':
      parts.push(`trader paused (${r.trader.reason ?? 'operator'})`);
      break;
  }
  if (r.cancelsSent > 0 || r.action === 'cancel-all') parts.push(`${plural(r.cancelsSent, 'cancel')} sent`);
  for (const p of r.positions) parts.push(`${p.ticker}: ${p.sent ? p.detail : `not closed (${p.detail})`}`);
  for (const d of r.ordersDenied) parts.push(`${d.ticker}: closing order denied (${d.rule}: ${d.reason})`);
  if (r.action === 'cancel-all' && !paused) parts.push('the strategy may quote again (pause to stop it)');
  return parts.join('; ');
}
