/**
 * The trader actor with real order actors whose venue adapters are scripted promise actors, real
 * books (core OrderBook), real strategies and risk, on a VirtualClock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, type Actor, type AnyActorRef, type InspectionEvent } from 'xstate';
import { VirtualClock } from '../../src/core/clock.ts';
import { ONE_DOLLAR } from '../../src/core/money.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import { emptyPosition } from '../../src/core/positions.ts';
import type { FillRecord, VenueOrderRecord } from '../../src/core/reconcile.ts';
import { createStrategy } from '../../src/core/strategy/index.ts';
import type { Decision, MarketView, Strategy } from '../../src/core/strategy/types.ts';
import { priceRangesFor } from '../../src/core/ticks.ts';
import { orderMachine } from '../../src/machines/order.machine.ts';
import type {
  CancelOrderInput,
  CancelOrderResult,
  QueryOrderInput,
  QueryOrderResult,
  SubmitOrderInput,
  SubmitOrderResult,
} from '../../src/machines/order.types.ts';
import { traderMachine } from '../../src/machines/trader.machine.ts';
import type { TraderInput, TraderNotification } from '../../src/machines/trader.types.ts';

const T = 'KX-T';
const cents = priceRangesFor('linear_cent');

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

const running: Array<{ stop(): void }> = [];
afterEach(() => {
  while (running.length) running.pop()!.stop();
});

function bookWith(bid: number, ask: number, ownYes: Array<[number, number]> = [], ownNo: Array<[number, number]> = []): OrderBook {
  const levels = new Map<number, number>([[bid, 500]]);
  for (const [p, s] of ownYes) levels.set(p, (levels.get(p) ?? 0) + s);
  const noLevels = new Map<number, number>([[ONE_DOLLAR - ask, 500]]);
  for (const [p, s] of ownNo) noLevels.set(p, (noLevels.get(p) ?? 0) + s);
  const b = new OrderBook(T);
  b.applySnapshot([...levels], [...noLevels]);
  return b;
}

interface Venue {
  submits: SubmitOrderInput[];
  cancels: CancelOrderInput[];
  submit: (input: SubmitOrderInput) => SubmitOrderResult | Promise<SubmitOrderResult>;
  cancel: (input: CancelOrderInput) => CancelOrderResult | Promise<CancelOrderResult>;
  query: (input: QueryOrderInput) => QueryOrderResult | Promise<QueryOrderResult>;
}

function setupTrader(opts: { strategy: Strategy; input?: Partial<TraderInput>; venue?: Partial<Venue>; inspect?: (event: InspectionEvent) => void }) {
  const clock = new VirtualClock();
  const books = new Map<string, OrderBook | null>([[T, bookWith(4000, 4600)]]);
  const notes: TraderNotification[] = [];
  let nextOrderId = 1;
  const venue: Venue = {
    submits: [],
    cancels: [],
    submit: (input) => ({ outcome: 'accepted', orderId: `o-${nextOrderId++}`, fillCount: 0, remainingCount: input.intent.count }),
    cancel: (input) => ({ outcome: 'canceled', reducedBy: 0 * input.orderId.length }),
    query: () => new Promise<QueryOrderResult>(() => {}),
    ...opts.venue,
  };
  const order = orderMachine.provide({
    actors: {
      submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(async ({ input }) => {
        venue.submits.push(input);
        return venue.submit(input);
      }),
      cancelOrder: fromPromise<CancelOrderResult, CancelOrderInput>(async ({ input }) => {
        venue.cancels.push(input);
        return venue.cancel(input);
      }),
      queryOrder: fromPromise<QueryOrderResult, QueryOrderInput>(async ({ input }) => venue.query(input)),
    },
  });
  const machine = traderMachine.provide({ actors: { order } });
  const actor = createActor(machine, {
    clock,
    ...(opts.inspect ? { inspect: opts.inspect } : {}),
    input: {
      traderId: 'T1',
      runNonce: 'run',
      strategy: opts.strategy,
      books: { bookFor: (t) => books.get(t) ?? null, priceRangesFor: () => cents },
      cash: 1_000_000_000,
      notify: (n) => notes.push(n),
      clock,
      ...opts.input,
    },
  });
  actor.start();
  running.push(actor);
  return { actor, clock, books, notes, venue };
}

type TraderActor = Actor<typeof traderMachine>;
const ctx = (a: TraderActor) => a.getSnapshot().context;
const state = (a: TraderActor) => a.getSnapshot().value;
const orderChildren = (a: TraderActor) => Object.keys(a.getSnapshot().children).filter((id) => id.startsWith('T1-'));

async function startReady(a: TraderActor) {
  a.send({ type: 'START' });
  a.send({ type: 'RECONCILED', agreed: true, positions: [], externalOrders: [] });
  await flush();
}

/** A strategy that records each view and answers with a scripted list. */
function spy(answer: (view: MarketView) => Decision[] = () => []) {
  const views: MarketView[] = [];
  const strategy: Strategy = { name: 'spy', needsBook: true, decide: (v) => (views.push(v), answer(v)) };
  return { views, strategy };
}

const fillRecord = (over: Partial<FillRecord>): FillRecord => ({
  fillId: 'f1',
  orderId: 'o-1',
  ticker: T,
  side: 'bid',
  price: 4100,
  count: 100,
  fee: 700,
  isTaker: false,
  tsMs: 0,
  ...over,
});

describe('trader: calibration', () => {
  it('makes no decision until reconciliation agrees', async () => {
    const s = spy();
    const { actor } = setupTrader({ strategy: s.strategy });
    expect(state(actor)).toBe('idle');
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    actor.send({ type: 'START' });
    expect(state(actor)).toBe('calibrating');
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    actor.send({
      type: 'RECONCILED',
      agreed: false,
      findings: [{ kind: 'local_order_missing', severity: 'blocking', message: 'order T1-old-3 not at venue' }],
    });
    expect(state(actor)).toBe('calibrating');
    expect(ctx(actor).reason).toBe('reconciliation disagrees: order T1-old-3 not at venue');
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(s.views).toHaveLength(0);

    actor.send({ type: 'RECONCILED', agreed: true, positions: [{ ...emptyPosition(T), position: 200, costBasis: 800_000 }], cash: 5_000_000 });
    expect(state(actor)).toBe('ready');
    expect(ctx(actor).positions[T].position).toBe(200);
    expect(ctx(actor).cash).toBe(5_000_000);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(s.views).toHaveLength(1);
    expect(s.views[0]).toMatchObject({ ticker: T, position: 200, openOrders: [] });
    expect(s.views[0].book?.bestYesBid()).toBe(4000);
  });

  it('goes back to calibrating on a disagreeing reconciliation or CALIBRATE', async () => {
    const s = spy();
    const { actor } = setupTrader({ strategy: s.strategy });
    await startReady(actor);
    actor.send({ type: 'RECONCILED', agreed: false, findings: [] });
    expect(state(actor)).toBe('calibrating');
    actor.send({ type: 'RECONCILED', agreed: true });
    actor.send({ type: 'CALIBRATE', reason: 'stream reconnected' });
    expect(state(actor)).toBe('calibrating');
    expect(ctx(actor).reconciled).toBe(false);
  });
});

describe('trader: strategies', () => {
  it('hold places nothing', async () => {
    const { actor, venue } = setupTrader({ strategy: createStrategy('hold') });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(0);
    expect(ctx(actor).counters).toMatchObject({ decisionCycles: 1, ordersPlaced: 0 });
    expect(orderChildren(actor)).toEqual([]);
  });

  it('spread-quoter places a bid and an ask inside a wide spread, via order actors', async () => {
    const { actor, venue, notes } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(state(actor)).toBe('acting');
    expect(orderChildren(actor)).toEqual(['T1-run-1', 'T1-run-2']);
    await flush();
    expect(venue.submits.map((s) => [s.clientOrderId, s.intent.side, s.intent.price, s.intent.count])).toEqual([
      ['T1-run-1', 'bid', 4100, 100],
      ['T1-run-2', 'ask', 4500, 100],
    ]);
    expect(state(actor)).toBe('ready');
    const orders = Object.values(ctx(actor).orders);
    expect(orders.map((o) => [o.state, o.orderId])).toEqual([
      ['accepted', 'o-1'],
      ['accepted', 'o-2'],
    ]);
    expect(ctx(actor).orderIdIndex).toEqual({ 'o-1': 'T1-run-1', 'o-2': 'T1-run-2' });
    const kinds = notes.map((n) => n.type);
    expect(kinds.filter((k) => k === 'TRADER_ACTING' || k === 'TRADER_IDLE')).toEqual(['TRADER_ACTING', 'TRADER_IDLE']);
    expect(kinds.filter((k) => k === 'ORDER_PLACED')).toHaveLength(2);
  });

  it('spread-quoter respects inventory: at the limit it quotes only the reducing side', async () => {
    const { actor, venue } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100, maxInventory: 500 }) });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, positions: [{ ...emptyPosition(T), position: 500, costBasis: 2_000_000 }] });
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits.map((s) => s.intent.side)).toEqual(['ask']);
  });

  it('spread-quoter cancels a stale quote, the closed order is released, and it re-quotes on a later tick', async () => {
    const { actor, venue, clock, books } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    // the book now shows our quotes; then the others' bid moves up to 43¢
    books.set(T, bookWith(4300, 4600, [[4100, 100]], [[ONE_DOLLAR - 4500, 100]]));
    clock.advance(250);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(ctx(actor).orders['T1-run-1'].cancelPending).toBe(true);
    await flush();
    expect(venue.cancels.map((c) => c.clientOrderId)).toEqual(['T1-run-1']);
    expect(ctx(actor).orders['T1-run-1']).toBeUndefined();
    expect(orderChildren(actor)).toEqual(['T1-run-2']);
    books.set(T, bookWith(4300, 4600, [], [[ONE_DOLLAR - 4500, 100]]));
    clock.advance(250);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits.at(-1)).toMatchObject({ clientOrderId: 'T1-run-3', intent: { side: 'bid', price: 4400 } });
  });

  it('runs async strategies and places what they answer', async () => {
    const strategy: Strategy = {
      name: 'async',
      needsBook: true,
      decide: async (v) => [{ kind: 'place', intent: { ticker: v.ticker, side: 'bid', price: 3000, count: 100, timeInForce: 'good_till_canceled' } }],
    };
    const { actor, venue } = setupTrader({ strategy });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(ctx(actor).markets[T].deciding).toBe(true);
    await flush();
    expect(venue.submits.map((s) => s.intent.price)).toEqual([3000]);
    expect(ctx(actor).markets[T].deciding).toBe(false);
    expect(Object.keys(actor.getSnapshot().children)).not.toContain(`decide:${T}`);
  });

  it('records a strategy failure without stopping', async () => {
    const strategy: Strategy = {
      name: 'broken',
      needsBook: false,
      decide: () => {
        throw new Error('boom');
      },
    };
    const { actor, notes } = setupTrader({ strategy });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(state(actor)).toBe('ready');
    expect(ctx(actor).lastError).toBe('strategy broken failed on KX-T: boom');
    expect(notes.some((n) => n.type === 'DECISION_FAILED')).toBe(true);
  });
});

describe('trader: risk', () => {
  it('records a denial with its rule and reason, and spawns nothing', async () => {
    const { actor, venue, notes } = setupTrader({
      strategy: createStrategy('spread-quoter', { size: 500 }),
      input: { riskLimits: { maxOrderSize: 200 } },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(0);
    expect(orderChildren(actor)).toEqual([]);
    const denials = ctx(actor).denials;
    expect(denials).toHaveLength(2);
    expect(denials[0]).toMatchObject({ rule: 'max_order', intent: { side: 'bid', price: 4100 } });
    expect(denials[0].reason).toContain('exceeds the limit');
    expect(notes.filter((n) => n.type === 'ORDER_DENIED')).toHaveLength(2);
    expect(state(actor)).toBe('ready');
  });

  it('a bid and an ask in one cycle both pass the per-market throttle, and see each other', async () => {
    const { actor, venue } = setupTrader({
      strategy: createStrategy('spread-quoter', { size: 100 }),
      input: { riskLimits: { maxOpenOrders: 1 } },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(1);
    expect(ctx(actor).denials.map((d) => d.rule)).toEqual(['max_open_orders']);
  });

  it('pauses on a cash-reserve denial, with the reason, and resumes on RESUME', async () => {
    const { actor } = setupTrader({
      strategy: createStrategy('spread-quoter', { size: 100 }),
      input: { cash: 10_000, riskLimits: { cashReserve: 0 } },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toMatch(/^risk: cash_reserve: /);
    actor.send({ type: 'RESUME' });
    expect(state(actor)).toBe('ready');
    expect(ctx(actor).reason).toBeNull();
  });
});

describe('trader: throttle', () => {
  it('runs a market at most once per 250 ms, with one trailing run for updates inside the window', async () => {
    const s = spy();
    const { actor, clock } = setupTrader({ strategy: s.strategy });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T }); // t=0: runs
    clock.advance(100);
    actor.send({ type: 'BOOK_UPDATED', ticker: T }); // throttled
    clock.advance(100);
    actor.send({ type: 'BOOK_UPDATED', ticker: T }); // throttled (same trailing run)
    expect(s.views).toHaveLength(1);
    clock.advance(49);
    expect(s.views).toHaveLength(1);
    clock.advance(1); // t=250: the trailing run
    expect(s.views).toHaveLength(2);
    expect(s.views[1].nowMs - s.views[0].nowMs).toBe(250);
    clock.advance(1000);
    expect(s.views).toHaveLength(2);
    actor.send({ type: 'BOOK_UPDATED', ticker: T }); // a quiet market runs at once
    expect(s.views).toHaveLength(3);
    expect(ctx(actor).counters.throttledUpdates).toBe(2);
  });

  it('throttles each market separately and ignores markets not its own', async () => {
    const s = spy();
    const { actor } = setupTrader({ strategy: s.strategy, input: { tickers: [T, 'KX-U'] } });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    actor.send({ type: 'BOOK_UPDATED', ticker: 'KX-U' });
    actor.send({ type: 'BOOK_UPDATED', ticker: 'KX-OTHER' });
    expect(s.views.map((v) => [v.ticker, v.book === null])).toEqual([
      [T, false],
      ['KX-U', true],
    ]);
  });
});

describe('trader: fills, orders, pause', () => {
  it('applies fills to positions and cash once, forwards them to the order, and counts late fills', async () => {
    const { actor } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const cash0 = ctx(actor).cash;
    const f = fillRecord({ fillId: 'f1', orderId: 'o-1', count: 100, price: 4100, fee: 700 });
    actor.send({ type: 'FILL_RECEIVED', fill: f });
    actor.send({ type: 'FILL_RECEIVED', fill: f });
    await flush();
    expect(ctx(actor).positions[T]).toMatchObject({ position: 100, costBasis: 410_000, feesPaid: 700 });
    expect(ctx(actor).cash).toBe(cash0 - 410_000 - 700);
    expect(ctx(actor).counters).toMatchObject({ fillsApplied: 1, duplicateFills: 1, ordersClosed: 1 });
    // the bid filled completely: its actor is gone
    expect(ctx(actor).orders['T1-run-1']).toBeUndefined();
    expect(orderChildren(actor)).toEqual(['T1-run-2']);
    // a fill for an order whose actor is already released still moves the position
    actor.send({ type: 'FILL_RECEIVED', fill: fillRecord({ fillId: 'f-late', orderId: 'o-old', side: 'ask', price: 4500, count: 50, fee: 0 }) });
    expect(ctx(actor).positions[T].position).toBe(50);
    expect(ctx(actor).counters.unmanagedFills).toBe(1);
  });

  it('routes venue order status to the order actor by order id', async () => {
    const { actor } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    actor.send({ type: 'ORDER_STATUS_RECEIVED', orderId: 'o-2', status: 'canceled', fillCount: 0, remainingCount: 0 });
    await flush();
    expect(Object.keys(ctx(actor).orders)).toEqual(['T1-run-1']);
    expect(ctx(actor).counters.ordersClosed).toBe(1);
  });

  it('PAUSE cancels its resting orders, ignores books while paused, RESUME trades again', async () => {
    const s = createStrategy('spread-quoter', { size: 100 });
    const { actor, venue, clock } = setupTrader({ strategy: s });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    actor.send({ type: 'PAUSE', reason: 'degraded: orderbook unavailable' });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toBe('degraded: orderbook unavailable');
    await flush();
    expect(venue.cancels.map((c) => c.clientOrderId).sort()).toEqual(['T1-run-1', 'T1-run-2']);
    expect(ctx(actor).orders).toEqual({});
    clock.advance(1000);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(venue.submits).toHaveLength(2);
    actor.send({ type: 'RESUME' });
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(4);
  });

  it('tracks external orders from reconciliation and never manages them', async () => {
    const ext = { orderId: 'o-ext', clientOrderId: 'someone', ticker: T, side: 'bid' as const, price: 3900, status: 'resting' as const, fillCount: 0, remainingCount: 300 };
    const s = spy(() => [{ kind: 'cancel', clientOrderId: 'someone', reason: 'try' }]);
    const { actor, venue } = setupTrader({ strategy: s.strategy });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, externalOrders: [ext] });
    expect(ctx(actor).externalOrders).toEqual({ 'o-ext': ext });
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.cancels).toHaveLength(0);
    actor.send({ type: 'ORDER_STATUS_RECEIVED', orderId: 'o-ext', status: 'resting', fillCount: 100, remainingCount: 200 });
    expect(ctx(actor).externalOrders['o-ext']).toMatchObject({ fillCount: 100, remainingCount: 200 });
    actor.send({ type: 'ORDER_STATUS_RECEIVED', orderId: 'o-ext', status: 'canceled', fillCount: 100, remainingCount: 0 });
    expect(ctx(actor).externalOrders).toEqual({});
  });

  it('no leak: 1,000 orders placed and closed leave no actor and no order in context', async () => {
    let n = 0;
    const strategy: Strategy = {
      name: 'one-ioc',
      needsBook: false,
      decide: (v) => [{ kind: 'place', intent: { ticker: v.ticker, side: n++ % 2 ? 'ask' : 'bid', price: 5000, count: 100, timeInForce: 'immediate_or_cancel' } }],
    };
    const { actor, clock } = setupTrader({
      strategy,
      venue: { submit: () => ({ outcome: 'accepted', orderId: `o-${n}`, fillCount: 100, remainingCount: 0 }) },
      input: { riskLimits: { maxNotional: 10 ** 12 } },
    });
    await startReady(actor);
    for (let i = 0; i < 1_000; i++) {
      actor.send({ type: 'BOOK_UPDATED', ticker: T });
      await Promise.resolve();
      await Promise.resolve();
      await Promise.resolve();
      clock.advance(250);
    }
    await flush();
    const c = ctx(actor);
    expect(c.counters.ordersPlaced).toBe(1_000);
    expect(c.counters.ordersClosed).toBe(1_000);
    expect(c.orders).toEqual({});
    expect(c.orderIdIndex).toEqual({});
    expect(Object.keys(actor.getSnapshot().children)).toEqual([]);
    expect(c.seq).toBe(1_001);
    expect(state(actor)).toBe('ready');
  });

  it('tells its parent (the coordinator) TRADER_ACTING / TRADER_IDLE while requests are in flight', async () => {
    const seen: string[] = [];
    const order = orderMachine.provide({
      actors: {
        submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(async ({ input }) => ({
          outcome: 'accepted',
          orderId: `o-${input.clientOrderId}`,
          fillCount: 0,
          remainingCount: input.intent.count,
        })),
      },
    });
    const book = bookWith(4000, 4600);
    const parent = setup({ actors: { trader: traderMachine.provide({ actors: { order } }) } }).createMachine({
      invoke: {
        id: 'trader',
        src: 'trader',
        input: ({ self }) => ({
          traderId: 'T9',
          runNonce: 'r',
          strategy: createStrategy('spread-quoter'),
          books: { bookFor: () => book, priceRangesFor: () => cents },
          cash: 1_000_000_000,
          parentRef: self,
        }),
      },
      on: {
        TRADER_ACTING: { actions: ({ event }) => seen.push(`${event.type}:${(event as { traderId?: string }).traderId}`) },
        TRADER_IDLE: { actions: ({ event }) => seen.push(`${event.type}:${(event as { traderId?: string }).traderId}`) },
      },
    });
    const p = createActor(parent, { clock: new VirtualClock() });
    p.start();
    running.push(p);
    const trader = p.getSnapshot().children.trader as AnyActorRef;
    trader.send({ type: 'START' });
    trader.send({ type: 'RECONCILED', agreed: true });
    trader.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(seen).toEqual(['TRADER_ACTING:T9']);
    await flush();
    expect(seen).toEqual(['TRADER_ACTING:T9', 'TRADER_IDLE:T9']);
  });
});

describe('trader: bounded in a long run', () => {
  // XState memoizes a state node's transition candidates per event type, for the life of the
  // machine: an event type per order (a final order state sends xstate.done.actor.<id> to its
  // parent) grew the trader's heap with every finished order (the soak's main growth).
  it('the event types the trader receives do not grow with the number of finished orders', async () => {
    const types = new Set<string>();
    let trader: AnyActorRef | null = null;
    const strategy: Strategy = {
      name: 'taker',
      needsBook: false,
      decide: (v) => [{ kind: 'place', intent: { ticker: v.ticker, side: 'bid', price: 4600, count: 100, timeInForce: 'immediate_or_cancel' } }],
    };
    const { actor, clock, venue } = setupTrader({
      strategy,
      // every order fills at once: accepted with nothing left → filled → ORDER_CLOSED → released
      venue: { submit: (input) => ({ outcome: 'accepted', orderId: `o-${input.clientOrderId}`, fillCount: input.intent.count, remainingCount: 0 }) },
      inspect: (e) => {
        if (e.type === '@xstate.event' && trader !== null && e.actorRef === trader) types.add(e.event.type);
      },
    });
    trader = actor;
    await startReady(actor);
    const finishOrders = async (n: number) => {
      for (let i = 0; i < n; i++) {
        clock.advance(250);
        actor.send({ type: 'BOOK_UPDATED', ticker: T });
        await flush();
      }
    };
    await finishOrders(20);
    const typesAfter20 = [...types].sort();
    await finishOrders(180);
    expect(venue.submits).toHaveLength(200);
    expect(ctx(actor).counters.ordersClosed).toBe(200);
    expect(orderChildren(actor)).toEqual([]);
    expect([...types].filter((t) => t.includes('T1-run-'))).toEqual([]);
    expect([...types].sort()).toEqual(typesAfter20);
  });
});

describe('trader: orders left unknown by failed sends', () => {
  const placeOnce = () => {
    let placed = false;
    return spy((v) => {
      if (placed) return [];
      placed = true;
      return [{ kind: 'place', intent: { ticker: v.ticker, side: 'bid', price: 3000, count: 100, timeInForce: 'good_till_canceled' } }];
    });
  };

  it('a disagreement blocked by its own unknown order queries it at once and asks for a reconcile when it has resolved', async () => {
    const s = placeOnce();
    const queries: QueryOrderInput[] = [];
    const { actor, clock, notes } = setupTrader({
      strategy: s.strategy,
      venue: {
        submit: () => ({ outcome: 'unknown', reason: '503 service_unavailable' }),
        query: (input) => {
          queries.push(input);
          return { found: false };
        },
      },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const [id] = orderChildren(actor);
    expect(ctx(actor).orders[id].state).toBe('unknown');
    expect(queries).toHaveLength(0); // its own query waits out the backoff (1 s)
    const t0 = clock.now();

    // a sync meanwhile: the venue does not report the order → blocking
    actor.send({
      type: 'RECONCILED',
      agreed: false,
      findings: [{ kind: 'local_order_missing', severity: 'blocking', message: 'not reported by the venue', clientOrderId: id, ticker: T }],
    });
    expect(state(actor)).toBe('calibrating');
    expect(ctx(actor).lastReconcile?.recheck).toEqual([id]);
    await flush();
    // queried at once (no clock advance), certainly absent → closed; then one reconcile request
    expect(clock.now()).toBe(t0);
    expect(queries.map((q) => q.clientOrderId)).toEqual([id]);
    expect(ctx(actor).orders[id]).toBeUndefined();
    expect(notes.filter((n) => n.type === 'RECONCILE_REQUESTED')).toHaveLength(1);
    expect(ctx(actor).lastReconcile?.recheck).toBeNull();
    actor.send({ type: 'RECONCILED', agreed: true });
    expect(state(actor)).toBe('ready');
  });

  it('a disagreement about something else waits for the next sync (no request loop)', async () => {
    const s = spy();
    const { actor, notes } = setupTrader({ strategy: s.strategy });
    await startReady(actor);
    actor.send({
      type: 'RECONCILED',
      agreed: false,
      findings: [{ kind: 'local_order_missing', severity: 'blocking', message: 'not reported by the venue', clientOrderId: 'T1-old-3', ticker: T }],
    });
    await flush();
    expect(state(actor)).toBe('calibrating');
    expect(ctx(actor).lastReconcile?.recheck).toBeNull();
    expect(notes.filter((n) => n.type === 'RECONCILE_REQUESTED')).toHaveLength(0);
  });

  it('RESOLVE_UNKNOWN queries every unknown order now instead of after its backoff', async () => {
    const s = placeOnce();
    const queries: QueryOrderInput[] = [];
    const { actor, clock } = setupTrader({
      strategy: s.strategy,
      input: { order: { timings: { queryBackoffMs: 30_000 } } },
      venue: {
        submit: () => ({ outcome: 'unknown', reason: 'create outcome unknown' }),
        query: (input) => {
          queries.push(input);
          return { found: true, order: { orderId: 'o-9', status: 'resting', fillCount: 0, remainingCount: 100 } };
        },
      },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const [id] = orderChildren(actor);
    expect(ctx(actor).orders[id].state).toBe('unknown');
    const t0 = clock.now();
    actor.send({ type: 'RESOLVE_UNKNOWN', reason: 'trading API answering again' });
    await flush();
    expect(clock.now()).toBe(t0);
    expect(queries).toHaveLength(1);
    expect(ctx(actor).orders[id]).toMatchObject({ state: 'accepted', orderId: 'o-9', inFlight: false });
  });

  it('an order whose intent could not be journaled is closed as not sent, without any query', async () => {
    const s = placeOnce();
    const queries: QueryOrderInput[] = [];
    const { actor, notes } = setupTrader({
      strategy: s.strategy,
      venue: {
        submit: () => ({ outcome: 'not_sent', reason: 'journal unavailable (connect ECONNREFUSED)' }),
        query: (input) => {
          queries.push(input);
          return { found: false };
        },
      },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const closed = notes.find((n) => n.type === 'ORDER_CLOSED');
    expect(closed).toMatchObject({ order: { state: 'rejected' }, reason: 'not sent: journal unavailable (connect ECONNREFUSED)' });
    expect(queries).toHaveLength(0);
    expect(Object.keys(ctx(actor).orders)).toHaveLength(0);
  });
});

describe('trader: restarts and snapshots', () => {
  const resting = (over: Partial<VenueOrderRecord>): VenueOrderRecord => ({
    orderId: 'o-old',
    clientOrderId: 'T1-dead-1',
    ticker: T,
    side: 'bid',
    price: 4100,
    status: 'resting',
    fillCount: 0,
    remainingCount: 100,
    ...over,
  });

  it("adopts an earlier run's resting orders before quoting: managed (never resubmitted), seen by the strategy, counted by risk", async () => {
    const setupRefs = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    const { actor, venue, notes } = setupRefs;
    actor.send({ type: 'START' });
    // the dead run's bid sits where the quoter wants it; its ask sits at a stale price
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      adoptOrders: [
        resting({}),
        resting({ orderId: 'o-old-2', clientOrderId: 'T1-dead-2', side: 'ask', price: 4590, fillCount: 40, remainingCount: 60 }),
      ],
    });
    await flush();
    expect(ctx(actor).orders['T1-dead-1']).toMatchObject({ orderId: 'o-old', state: 'accepted', remainingCount: 100 });
    expect(ctx(actor).orders['T1-dead-2']).toMatchObject({ orderId: 'o-old-2', state: 'partially_filled', filledCount: 40, remainingCount: 60 });
    expect(orderChildren(actor).sort()).toEqual(['T1-dead-1', 'T1-dead-2']);
    expect(notes.filter((n) => n.type === 'ORDER_ADOPTED')).toHaveLength(2);
    const { books, clock } = setupRefs;
    books.set(T, bookWith(4000, 4600, [[4100, 100]], [[ONE_DOLLAR - 4590, 60]]));
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    // the bid is kept (no second bid at 4100), the stale ask is cancelled …
    expect(venue.cancels.map((c) => c.clientOrderId)).toEqual(['T1-dead-2']);
    expect(ctx(actor).orders['T1-dead-2']).toBeUndefined();
    books.set(T, bookWith(4000, 4600, [[4100, 100]]));
    clock.advance(250);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    // … and replaced on the next tick; nothing else was ever submitted
    expect(venue.submits.map((s) => [s.intent.side, s.intent.price])).toEqual([['ask', 4500]]);
    // a fill of the adopted order reaches it and the position, once
    actor.send({ type: 'FILL_RECEIVED', fill: fillRecord({ fillId: 'f-adopted', orderId: 'o-old', clientOrderId: 'T1-dead-1', count: 100 }) });
    await flush();
    expect(ctx(actor).positions[T].position).toBe(100);
    expect(ctx(actor).orders['T1-dead-1']).toBeUndefined(); // filled, released
    expect(ctx(actor).counters.unmanagedFills).toBe(0);
  });

  it('adopted and external orders count against the open-order limit; adopted ones over it are cancelled at once', async () => {
    const { actor, venue } = setupTrader({
      strategy: createStrategy('spread-quoter', { size: 100 }),
      input: { riskLimits: { maxOpenOrders: 2 } },
    });
    actor.send({ type: 'START' });
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      externalOrders: [resting({ orderId: 'o-ext', clientOrderId: 'someone-1', price: 3000 })],
      adoptOrders: [resting({ orderId: 'o-a', clientOrderId: 'T1-dead-1', price: 3500 }), resting({ orderId: 'o-b', clientOrderId: 'T1-dead-2', price: 3600 })],
    });
    await flush();
    // 1 external + 2 adopted = 3 > 2: the newest adopted one is cancelled before anything else happens
    expect(venue.cancels.map((c) => c.clientOrderId)).toEqual(['T1-dead-2']);
    expect(Object.keys(ctx(actor).orders)).toEqual(['T1-dead-1']);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    // the quoter cancels the stale adopted bid, but with the external order and that bid still
    // counted it may place only what fits under the limit
    const denied = ctx(actor).denials.filter((d) => d.rule === 'max_open_orders');
    expect(venue.submits.length + Object.keys(ctx(actor).externalOrders).length).toBeLessThanOrEqual(2);
    expect(denied.length).toBeGreaterThan(0);
  });

  it('a reconciliation never undoes a fill the snapshot does not account for, and never doubles one it does', async () => {
    const { actor } = setupTrader({ strategy: spy().strategy });
    await startReady(actor);
    const early = fillRecord({ fillId: 'f-early', count: 100, price: 4000, fee: 0 });
    const late = fillRecord({ fillId: 'f-late', count: 200, price: 4200, fee: 0 });
    actor.send({ type: 'FILL_RECEIVED', fill: early });
    // the sync reads the venue here: it shows f-early (position 100) …
    const venuePosition = { ...emptyPosition(T), position: 100, costBasis: 400_000, totalTraded: 400_000 };
    // … and f-late lands before the outcome arrives
    actor.send({ type: 'FILL_RECEIVED', fill: late });
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      positions: [venuePosition],
      reportedTickers: [T],
      accountedFillIds: ['f-early'],
      cash: 10_000_000,
    });
    expect(ctx(actor).positions[T].position).toBe(300);
    expect(ctx(actor).cash).toBe(10_000_000 - 200 * 4200);
    // the stream's late copy of an accounted fill, and a fill only the snapshot knew, count once
    const onlyVenue = fillRecord({ fillId: 'f-venue-only', count: 50, price: 4000, fee: 0 });
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      positions: [{ ...emptyPosition(T), position: 350, costBasis: 1_440_000 }],
      reportedTickers: [T],
      accountedFillIds: ['f-early', 'f-late', 'f-venue-only'],
      missingFills: [onlyVenue],
    });
    actor.send({ type: 'FILL_RECEIVED', fill: onlyVenue });
    actor.send({ type: 'FILL_RECEIVED', fill: late });
    expect(ctx(actor).positions[T].position).toBe(350);
    expect(ctx(actor).counters.duplicateFills).toBe(2);
  });
});

describe('trader: operator controls', () => {
  it('OPERATOR_PAUSE holds it paused with reason `operator` (orders cancelled); a system RESUME does not end it, OPERATOR_RESUME does', async () => {
    const { actor, venue, clock } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(2);
    actor.send({ type: 'OPERATOR_PAUSE' });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toBe('operator');
    await flush();
    expect(venue.cancels).toHaveLength(2);
    // an outage comes and goes while the operator holds it: still paused afterwards, for the operator
    actor.send({ type: 'PAUSE', reason: 'database_outage' });
    expect(ctx(actor).reason).toBe('database_outage');
    actor.send({ type: 'RESUME' });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toBe('operator');
    clock.advance(1000);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(venue.submits).toHaveLength(2);
    actor.send({ type: 'OPERATOR_RESUME' });
    expect(state(actor)).toBe('ready');
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(4);
  });

  it('OPERATOR_RESUME cannot lift a system pause: it drops the hold, and the system RESUME resumes', async () => {
    const { actor } = setupTrader({ strategy: createStrategy('hold') });
    await startReady(actor);
    actor.send({ type: 'OPERATOR_PAUSE' });
    actor.send({ type: 'PAUSE', reason: 'trading_api_unavailable' });
    actor.send({ type: 'OPERATOR_RESUME' });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toBe('trading_api_unavailable');
    expect(ctx(actor).operatorHold).toBe(false);
    actor.send({ type: 'RESUME' });
    expect(state(actor)).toBe('ready');
  });

  it('the operator resume ends a risk pause', async () => {
    const { actor } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }), input: { cash: 10_000 } });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    expect(ctx(actor).reason).toMatch(/^risk: cash_reserve/);
    actor.send({ type: 'OPERATOR_RESUME' });
    expect(state(actor)).toBe('ready');
  });

  it('CANCEL_ALL with a ticker cancels only that market', async () => {
    const { actor, venue } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }) });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(Object.keys(ctx(actor).orders)).toHaveLength(2);
    actor.send({ type: 'CANCEL_ALL', reason: 'operator', ticker: 'KX-U' });
    await flush();
    expect(venue.cancels).toHaveLength(0);
    actor.send({ type: 'CANCEL_ALL', reason: 'operator', ticker: T });
    await flush();
    expect(venue.cancels.map((c) => c.clientOrderId).sort()).toEqual(['T1-run-1', 'T1-run-2']);
  });

  it('FLATTEN holds it paused, cancels, and closes a long with a marketable IOC sell at the bid capped at the order size', async () => {
    const { actor, venue, notes, clock } = setupTrader({ strategy: createStrategy('spread-quoter', { size: 100 }), input: { riskLimits: { maxOrderSize: 1_000 } } });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, positions: [{ ...emptyPosition(T), position: 1_500, costBasis: 600_000_000 }], externalOrders: [] });
    await flush();
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const quotes = venue.submits.length;
    expect(quotes).toBeGreaterThan(0);
    clock.advance(1000);
    actor.send({ type: 'FLATTEN' });
    expect(state(actor)).toBe('paused');
    expect(ctx(actor).reason).toBe('operator');
    await flush();
    const closing = venue.submits.slice(quotes);
    expect(closing.map((s) => s.intent)).toEqual([{ ticker: T, side: 'ask', price: 4000, count: 1_000, timeInForce: 'immediate_or_cancel' }]);
    // the quotes were cancelled, the closing order was not
    expect(venue.cancels.map((c) => c.clientOrderId)).not.toContain(closing[0].clientOrderId);
    expect(venue.cancels).toHaveLength(quotes);
    expect(notes.filter((n) => n.type === 'POSITION_CLOSING')).toEqual([
      { type: 'POSITION_CLOSING', traderId: 'T1', ticker: T, sent: true, detail: 'sell 10.00 YES immediate-or-cancel (5.00 left: flatten again)' },
    ]);
  });

  it('FLATTEN without a book sends nothing and says why', async () => {
    const { actor, venue, notes, books } = setupTrader({ strategy: createStrategy('hold') });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, positions: [{ ...emptyPosition(T), position: -300, costBasis: 100_000_000 }], externalOrders: [] });
    books.set(T, null);
    actor.send({ type: 'FLATTEN', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(0);
    expect(notes.filter((n) => n.type === 'POSITION_CLOSING')).toEqual([
      { type: 'POSITION_CLOSING', traderId: 'T1', ticker: T, sent: false, detail: 'no usable order book to price a closing order' },
    ]);
  });
});

describe("trader: an earlier run's create still in flight at the restart", () => {
  const gtc = (price: number, side: 'bid' | 'ask' = 'bid') => ({ ticker: T, side, price, count: 100, timeInForce: 'good_till_canceled' as const });
  /** Places two bids (3000, 3100) each cycle it sees fewer than two orders of its own. */
  const twoBids = () =>
    spy((v) =>
      v.openOrders.length >= 2
        ? []
        : [
            { kind: 'place', intent: gtc(3000) },
            { kind: 'place', intent: gtc(3100) },
          ],
    );
  const resting = (over: Partial<VenueOrderRecord>): VenueOrderRecord => ({
    orderId: 'o-old',
    clientOrderId: 'T1-dead-1',
    ticker: T,
    side: 'bid',
    price: 4100,
    status: 'resting',
    fillCount: 0,
    remainingCount: 100,
    ...over,
  });

  it('one the venue did not know at start-up keeps an open-order slot (and its exposure) until a lookup after it could land finds it', async () => {
    const queries: QueryOrderInput[] = [];
    let landed = false;
    const s = twoBids();
    const { actor, clock, venue, notes } = setupTrader({
      strategy: s.strategy,
      input: { riskLimits: { maxOpenOrders: 2 } },
      venue: {
        query: (input) => {
          queries.push(input);
          return landed ? { found: true, order: { orderId: 'o-late', status: 'resting', fillCount: 0, remainingCount: 100 } } : { found: false };
        },
      },
    });
    actor.send({ type: 'START' });
    // the killed run sent it 2 s ago; the start-up lookup did not find it
    actor.send({ type: 'RECONCILED', agreed: true, unansweredCreates: [{ clientOrderId: 'T1-dead-9', intent: gtc(4100), sentAtMs: clock.now() - 2_000 }] });
    await flush();
    expect(ctx(actor).orders['T1-dead-9']).toMatchObject({ state: 'unknown', remainingCount: 100, orderId: null });
    expect(notes.filter((n) => n.type === 'ORDER_RECOVERED').map((n) => (n as { clientOrderId: string }).clientOrderId)).toEqual(['T1-dead-9']);
    // the strategy sees it as its own, and risk counts it: of two new bids only one fits under the limit of 2
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(s.views.at(-1)!.openOrders.map((o) => o.clientOrderId)).toEqual(['T1-dead-9']);
    expect(venue.submits.map((x) => x.intent.price)).toEqual([3000]);
    expect(ctx(actor).denials.map((d) => d.rule)).toEqual(['max_open_orders']);
    // no lookup while it may still land, then one: it landed meanwhile, so it is managed from now on
    clock.advance(7_999);
    await flush();
    expect(queries).toHaveLength(0);
    landed = true;
    clock.advance(1);
    await flush();
    expect(queries.map((q) => q.clientOrderId)).toEqual(['T1-dead-9']);
    expect(ctx(actor).orders['T1-dead-9']).toMatchObject({ state: 'accepted', orderId: 'o-late' });
    expect(ctx(actor).orderIdIndex['o-late']).toBe('T1-dead-9');
    expect(venue.submits.filter((x) => x.clientOrderId === 'T1-dead-9')).toEqual([]);
  });

  it("this run's own create that timed out keeps its open-order slot while it may still land, though the first lookup did not find it", async () => {
    const s = twoBids();
    let calls = 0;
    const { actor, clock, venue } = setupTrader({
      strategy: s.strategy,
      input: { riskLimits: { maxOpenOrders: 2 } },
      venue: {
        // the first create is never answered (it times out); later ones are accepted
        submit: (input) => (++calls === 1 ? new Promise<SubmitOrderResult>(() => {}) : { outcome: 'accepted', orderId: `o-${calls}`, fillCount: 0, remainingCount: input.intent.count }),
        query: () => ({ found: false }),
      },
    });
    await startReady(actor);
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    const [late] = venue.submits.map((x) => x.clientOrderId);
    expect(venue.submits).toHaveLength(2);
    clock.advance(10_000); // the submit times out
    clock.advance(1_000); // the first lookup: not found
    await flush();
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(ctx(actor).orders[late!]).toMatchObject({ state: 'unknown' });
    expect(venue.submits).toHaveLength(2); // its slot is still taken: nothing placed in its place
    clock.advance(9_000); // one request timeout after the actor stopped waiting: it can no longer land
    await flush();
    expect(ctx(actor).orders[late!]).toBeUndefined();
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(3);
  });

  it('one that never lands is settled as never placed once it can no longer land, and its slot is free again', async () => {
    const s = twoBids();
    const { actor, clock, venue, notes } = setupTrader({
      strategy: s.strategy,
      input: { riskLimits: { maxOpenOrders: 2 } },
      venue: { query: () => ({ found: false }) },
    });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, unansweredCreates: [{ clientOrderId: 'T1-dead-9', intent: gtc(4100), sentAtMs: clock.now() - 2_000 }] });
    await flush();
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits).toHaveLength(1);
    clock.advance(8_000);
    await flush();
    expect(ctx(actor).orders['T1-dead-9']).toBeUndefined();
    expect(notes.find((n) => n.type === 'ORDER_CLOSED' && n.order.clientOrderId === 'T1-dead-9')).toMatchObject({ order: { state: 'rejected' }, reason: 'never reached venue' });
    actor.send({ type: 'BOOK_UPDATED', ticker: T });
    await flush();
    expect(venue.submits.map((x) => x.intent.price)).toEqual([3000, 3000]);
  });

  it('the stream reporting it resting settles it at once; its fills reach it as a managed order', async () => {
    const queries: QueryOrderInput[] = [];
    const { actor, clock } = setupTrader({ strategy: spy().strategy, venue: { query: (q) => (queries.push(q), { found: false }) } });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: true, unansweredCreates: [{ clientOrderId: 'T1-dead-9', intent: gtc(4100), sentAtMs: clock.now() - 2_000 }] });
    await flush();
    actor.send({ type: 'ORDER_STATUS_RECEIVED', orderId: 'o-late', clientOrderId: 'T1-dead-9', ticker: T, status: 'resting', fillCount: 0, remainingCount: 100 });
    await flush();
    expect(ctx(actor).orders['T1-dead-9']).toMatchObject({ state: 'accepted', orderId: 'o-late' });
    actor.send({ type: 'FILL_RECEIVED', fill: fillRecord({ fillId: 'f-late', orderId: 'o-late', clientOrderId: 'T1-dead-9', count: 100 }) });
    await flush();
    expect(ctx(actor).orders['T1-dead-9']).toBeUndefined(); // filled, released
    expect(ctx(actor).counters.unmanagedFills).toBe(0);
    expect(ctx(actor).positions[T].position).toBe(100);
    clock.advance(30_000);
    await flush();
    expect(queries).toHaveLength(0);
  });

  it('taken over even when the reconciliation disagrees; one the venue holds resting is adopted instead; over the limit, resting ones are cancelled first', async () => {
    const { actor, clock, venue } = setupTrader({ strategy: spy().strategy, input: { riskLimits: { maxOpenOrders: 2 } } });
    actor.send({ type: 'START' });
    actor.send({ type: 'RECONCILED', agreed: false, unansweredCreates: [{ clientOrderId: 'T1-dead-8', intent: gtc(4000), sentAtMs: clock.now() - 1_000 }] });
    await flush();
    expect(state(actor)).toBe('calibrating');
    expect(ctx(actor).orders['T1-dead-8']).toMatchObject({ state: 'unknown' });
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      adoptOrders: [resting({ orderId: 'o-a', clientOrderId: 'T1-dead-1' }), resting({ orderId: 'o-b', clientOrderId: 'T1-dead-2', price: 4200 })],
      // T1-dead-2 landed between the lookup and the snapshot: adopted, not recovered
      unansweredCreates: [{ clientOrderId: 'T1-dead-2', intent: gtc(4200), sentAtMs: clock.now() - 1_000 }],
    });
    await flush();
    // 1 recovered + 2 adopted = 3 > 2: the newest resting one is cancelled (it certainly exists)
    expect(venue.cancels.map((c) => c.clientOrderId)).toEqual(['T1-dead-2']);
    expect(Object.keys(ctx(actor).orders).sort()).toEqual(['T1-dead-1', 'T1-dead-8']);
    expect(ctx(actor).orders['T1-dead-8']).toMatchObject({ state: 'unknown', cancelPending: false });
  });

  it('recovered and adopted in one reconciliation: counted together, the resting one over the limit is cancelled', async () => {
    const { actor, clock, venue } = setupTrader({ strategy: spy().strategy, input: { riskLimits: { maxOpenOrders: 2 } } });
    actor.send({ type: 'START' });
    actor.send({
      type: 'RECONCILED',
      agreed: true,
      adoptOrders: [resting({ orderId: 'o-a', clientOrderId: 'T1-dead-1' }), resting({ orderId: 'o-b', clientOrderId: 'T1-dead-2', price: 4200 })],
      unansweredCreates: [{ clientOrderId: 'T1-dead-8', intent: gtc(4000), sentAtMs: clock.now() - 1_000 }],
    });
    await flush();
    expect(venue.cancels.map((c) => c.clientOrderId)).toEqual(['T1-dead-2']);
    expect(Object.keys(ctx(actor).orders).sort()).toEqual(['T1-dead-1', 'T1-dead-8']);
  });
});
