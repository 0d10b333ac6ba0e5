/**
 * Test harness for the coordinator statechart: invoked actors whose outcome the test decides
 * (resolve / reject / fail on command), and a virtual clock that can fire one XState delayed
 * event by its type (for model paths, where parallel timers fire in the order the path says).
 */
import { createActor, fromCallback, fromPromise } from 'xstate';
import type { AnyActorRef, EventObject } from 'xstate';
import { VirtualClock } from '../../src/core/clock.ts';
import type { TimerHandle } from '../../src/core/clock.ts';
import { coordinatorMachine } from '../../src/machines/coordinator.machine.ts';
import type { CoordinatorInput } from '../../src/machines/coordinator.types.ts';

interface Pending {
  id: string;
  input: unknown;
  startedAtMs: number;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** The invoked actors of one coordinator run, controlled by the test. */
export class ActorControl {
  readonly pending: Pending[] = [];
  /** Every invocation, in order: invoke id and input. */
  readonly started: { id: string; input: unknown; atMs: number }[] = [];
  /** Running watchers (their sendBack), by invoke id. */
  readonly watchers = new Map<string, (event: EventObject) => void>();
  /** Highest number of sync invocations running at the same time. */
  maxConcurrentSyncs = 0;
  /** Optional immediate outcomes: return a value to resolve, throw to reject, undefined to wait. */
  auto: Partial<Record<string, (input: unknown) => { ok: unknown } | { error: unknown } | undefined>> = {};

  constructor(private readonly clock: VirtualClock) {}

  running(id: string): number {
    return this.pending.filter((p) => p.id === id).length;
  }

  private runningSyncs(): number {
    return this.pending.filter((p) => p.id === 'syncKalshiData' || p.id === 'periodicSync').length;
  }

  start(id: string, input: unknown, signal: AbortSignal): Promise<unknown> {
    this.started.push({ id, input, atMs: this.clock.now() });
    const decided = this.auto[id]?.(input);
    if (decided && 'ok' in decided) return Promise.resolve(decided.ok);
    if (decided && 'error' in decided) return Promise.reject(decided.error);
    return new Promise((resolve, reject) => {
      const entry: Pending = { id, input, startedAtMs: this.clock.now(), resolve, reject };
      this.pending.push(entry);
      this.maxConcurrentSyncs = Math.max(this.maxConcurrentSyncs, this.runningSyncs());
      signal.addEventListener('abort', () => this.drop(entry));
    });
  }

  private drop(entry: Pending): void {
    const i = this.pending.indexOf(entry);
    if (i >= 0) this.pending.splice(i, 1);
  }

  private take(id: string): Pending {
    const entry = this.pending.find((p) => p.id === id);
    if (!entry) throw new Error(`no running invocation "${id}" (running: ${this.pending.map((p) => p.id).join(', ') || 'none'})`);
    this.drop(entry);
    return entry;
  }

  resolve(id: string, output: unknown): void {
    this.take(id).resolve(output);
  }

  reject(id: string, error: unknown = new Error(`${id} failed`)): void {
    this.take(id).reject(error);
  }
}

export const MARKETS = ['KXA-1', 'KXB-2', 'KXC-3'];

export function syncSummary(kind: 'initial' | 'periodic', atMs: number) {
  return { kind, atMs, balance: 1_000_000_000, positions: 2, restingOrders: 1, newFills: 0 };
}

/** The coordinator with every named actor routed to `control` (via `control` on the input side). */
export function controlledCoordinator(getControl: () => ActorControl) {
  const promised = () =>
    fromPromise<any, any>(({ input, self, signal }) => getControl().start(self.id, input, signal));
  return coordinatorMachine.provide({
    actors: {
      initializeSystem: promised(),
      connectOrderbook: promised(),
      connectTradingClient: promised(),
      syncKalshiData: promised(),
      shutdownSystem: promised(),
      probeJournal: promised(),
      probeTradingApi: promised(),
      watchOrderbookHealth: fromCallback(({ sendBack, receive, self }) => {
        const control = getControl();
        control.started.push({ id: self.id, input: undefined, atMs: 0 });
        control.watchers.set(self.id, sendBack);
        // A FAIL sent to the watcher makes it throw: a genuine actor error for the parent.
        receive((event) => {
          if (event.type === 'FAIL') throw new Error('watcher crashed');
        });
        return () => control.watchers.delete(self.id);
      }),
    },
  });
}

interface ScheduledEventRecord {
  event: EventObject;
}

/**
 * A VirtualClock that knows which XState scheduled event each timer belongs to, so a test can
 * fire exactly `xstate.after.<delay>.<state>` (out of time order if the model path says so).
 */
export class ModelClock extends VirtualClock {
  private system: { _snapshot: { _scheduledEvents: Record<string, ScheduledEventRecord> } } | null = null;
  private readonly timerByKey = new Map<string, { handle: TimerHandle; fn: () => void }>();
  private readonly keyByHandle = new Map<TimerHandle, string>();

  attach(actor: AnyActorRef): void {
    this.system = actor.system as unknown as typeof this.system;
  }

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    let handle: TimerHandle;
    const wrapped = () => {
      const key = this.keyByHandle.get(handle);
      if (key !== undefined) this.timerByKey.delete(key);
      this.keyByHandle.delete(handle);
      fn();
    };
    handle = super.setTimeout(wrapped, ms);
    if (this.system) {
      // The scheduler records the event just before asking the clock: the unmapped key is ours.
      for (const key of Object.keys(this.system._snapshot._scheduledEvents)) {
        if (!this.timerByKey.has(key)) {
          this.timerByKey.set(key, { handle, fn: wrapped });
          this.keyByHandle.set(handle, key);
          break;
        }
      }
    }
    return handle;
  }

  override clearTimeout(handle: TimerHandle): void {
    const key = this.keyByHandle.get(handle);
    if (key !== undefined) this.timerByKey.delete(key);
    this.keyByHandle.delete(handle);
    super.clearTimeout(handle);
  }

  /** Fires the pending delayed event of this type now. */
  fireScheduled(eventType: string): void {
    if (!this.system) throw new Error('ModelClock not attached to an actor system');
    const entries = Object.entries(this.system._snapshot._scheduledEvents);
    const found = entries.find(([, ev]) => ev.event.type === eventType);
    if (!found) throw new Error(`no scheduled ${eventType} (scheduled: ${entries.map(([, e]) => e.event.type).join(', ') || 'none'})`);
    const timer = this.timerByKey.get(found[0]);
    if (!timer) throw new Error(`scheduled ${eventType} has no timer on this clock`);
    super.clearTimeout(timer.handle);
    timer.fn();
  }
}

/** Lets promise callbacks and actor done/error events settle. */
export async function settle(rounds = 2): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/** A coordinator actor on a VirtualClock with controlled actors (for targeted tests). */
export function startCoordinator(input: CoordinatorInput, clock = new VirtualClock(Date.UTC(2026, 0, 1))) {
  const control = new ActorControl(clock);
  const machine = controlledCoordinator(() => control);
  const actor = createActor(machine, { input: { startedAtMs: clock.now(), ...input }, clock });
  actor.start();
  return { actor, control, clock };
}

/** Drives a fresh coordinator to `ready` (all stages succeed). */
export async function bringUp(input: CoordinatorInput, clock?: VirtualClock) {
  const run = startCoordinator(input, clock);
  const { actor, control } = run;
  actor.send({ type: 'START' });
  await settle();
  control.resolve('initializeSystem', { markets: MARKETS });
  await settle();
  control.resolve('connectOrderbook', { marketsConnected: MARKETS.length });
  await settle();
  if (input.tradingEnabled) {
    control.resolve('connectTradingClient', { mode: 'paper' });
    await settle();
    control.resolve('syncKalshiData', syncSummary('initial', run.clock.now()));
    await settle();
  }
  return run;
}
