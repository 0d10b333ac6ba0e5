/**
 * The order actor: every state of the chart, reached through its real transitions, with the
 * adapter actors replaced by scripted promise actors and time on a VirtualClock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup, type AnyActorRef } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { VirtualClock } from '../../src/core/clock.ts';
import { orderMachine } from '../../src/machines/order.machine.ts';
import type { OrderEvent, OrderParentEvent } from '../../src/machines/order.events.ts';
import type {
  CancelOrderInput,
  CancelOrderResult,
  OrderInput,
  QueryOrderInput,
  QueryOrderResult,
  SubmitOrderInput,
  SubmitOrderResult,
} from '../../src/machines/order.types.ts';

const intent = { ticker: 'KX-TEST', side: 'bid' as const, price: 5600, count: 1000, timeInForce: 'good_till_canceled' as const };

type Script<I, O> = (input: I) => O | Promise<O>;

interface Harness {
  order: AnyActorRef;
  events: OrderParentEvent[];
  submits: SubmitOrderInput[];
  queries: QueryOrderInput[];
  cancels: CancelOrderInput[];
  clock: VirtualClock;
  state(): string;
  context(): any;
  send(e: OrderEvent): void;
}

const running: Array<{ stop(): void }> = [];
afterEach(() => {
  while (running.length) running.pop()!.stop();
});

const never = <T>() => new Promise<T>(() => {});
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function start(
  opts: {
    input?: Partial<OrderInput>;
    submit?: Script<SubmitOrderInput, SubmitOrderResult>;
    query?: Script<QueryOrderInput, QueryOrderResult>;
    cancel?: Script<CancelOrderInput, CancelOrderResult>;
  } = {},
): Harness {
  const clock = new VirtualClock();
  const events: OrderParentEvent[] = [];
  const submits: SubmitOrderInput[] = [];
  const queries: QueryOrderInput[] = [];
  const cancels: CancelOrderInput[] = [];
  const logic = orderMachine.provide({
    actors: {
      submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(async ({ input }) => {
        submits.push(input);
        return (opts.submit ?? (() => ({ outcome: 'accepted', orderId: 'o-1', fillCount: 0, remainingCount: input.intent.count })))(input);
      }),
      queryOrder: fromPromise<QueryOrderResult, QueryOrderInput>(async ({ input }) => {
        queries.push(input);
        return (opts.query ?? (() => never<QueryOrderResult>()))(input);
      }),
      cancelOrder: fromPromise<CancelOrderResult, CancelOrderInput>(async ({ input }) => {
        cancels.push(input);
        return (opts.cancel ?? (() => ({ outcome: 'canceled', reducedBy: 1000 })))(input);
      }),
    },
  });
  // A parent that records what the order reports, as the trader would receive it.
  const parentMachine = setup({ actors: { order: logic } }).createMachine({
    invoke: { id: 'order', src: 'order', input: ({ self }) => ({ clientOrderId: 'T1-run-1', intent, clock, parentRef: self, ...opts.input }) as OrderInput },
    on: {
      '*': {
        actions: ({ event }) => {
          if (event.type.startsWith('ORDER_')) events.push(event as OrderParentEvent);
        },
      },
    },
  });
  const parent = createActor(parentMachine, { clock });
  parent.start();
  running.push(parent);
  const order = parent.getSnapshot().children.order as AnyActorRef;
  return {
    order,
    events,
    submits,
    queries,
    cancels,
    clock,
    state: () => {
      const value = order.getSnapshot().value;
      return typeof value === 'string' ? value : Object.keys(value)[0];
    },
    context: () => order.getSnapshot().context,
    send: (e) => order.send(e),
  };
}

const fill = (fillId: string, count: number, price = 5600, fee = 100): OrderEvent => ({
  type: 'FILL',
  fillId,
  count,
  price,
  fee,
  isTaker: false,
  tsMs: 0,
});

describe('order actor: happy path', () => {
  it('accepted → partially_filled → filled, with exact average price and fees', async () => {
    const h = start();
    expect(h.state()).toBe('submitted');
    await flush();
    expect(h.state()).toBe('accepted');
    expect(h.context().orderId).toBe('o-1');
    expect(h.submits).toEqual([{ clientOrderId: 'T1-run-1', intent, attempt: 1 }]);

    h.send(fill('f1', 400, 5500, 70));
    expect(h.state()).toBe('partially_filled');
    expect(h.context().remainingCount).toBe(600);
    h.send(fill('f2', 600, 5600, 80));
    expect(h.state()).toBe('filled');
    const ctx = h.context();
    expect(ctx.filledCount).toBe(1000);
    expect(ctx.remainingCount).toBe(0);
    // (5500×400 + 5600×600) / 1000 = 5560
    expect(ctx.avgPrice).toBe(5560);
    expect(ctx.fees).toBe(150);
    // closed: it takes no more events and waits for its parent to stop it (not an XState final
    // state, so the parent gets no per-order xstate.done.actor.<id> event)
    const reported = h.events.length;
    h.send(fill('f3', 100, 5700, 10));
    expect(h.state()).toBe('filled');
    expect(h.context()).toMatchObject({ filledCount: 1000, fees: 150 });
    expect(h.events).toHaveLength(reported);

    // each fill reaches the parent as the order's new count (ORDER_UPDATED, then ORDER_CLOSED)
    const reportedCounts = [...new Set(h.events.map((e) => e.order.filledCount))].filter((c) => c > 0);
    expect(reportedCounts).toEqual([400, 1000]);
    const closed = h.events.filter((e) => e.type === 'ORDER_CLOSED');
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ state: 'filled', order: { filledCount: 1000, inFlight: false } });
  });

  it('applies a fill once even when it arrives twice (WS, then REST backfill)', async () => {
    const h = start();
    await flush();
    h.send(fill('f1', 300));
    const reportsAfterFirst = h.events.length;
    h.send(fill('f1', 300));
    expect(h.context().filledCount).toBe(300);
    expect(h.context().fees).toBe(100);
    // the duplicate is not reported to the parent again
    expect(h.events.length).toBe(reportsAfterFirst);
    expect(h.events.filter((e) => e.order.filledCount === 300).length).toBeGreaterThan(0);
    h.send(fill('f2', 700));
    h.send(fill('f2', 700));
    expect(h.state()).toBe('filled');
    expect(h.context().filledCount).toBe(1000);
  });

  it('a REST snapshot older than a WS fill does not reduce the fill count', async () => {
    const h = start();
    await flush();
    h.send(fill('f1', 400));
    // REST sync taken before the fill: resting, nothing filled, full size remaining
    h.send({ type: 'VENUE_UPDATE', status: 'resting', fillCount: 0, remainingCount: 1000 });
    expect(h.state()).toBe('partially_filled');
    expect(h.context().filledCount).toBe(400);
    expect(h.context().venueFilledCount).toBe(400);
    expect(h.context().remainingCount).toBe(600);
    // a newer report moves counts up
    h.send({ type: 'VENUE_UPDATE', status: 'resting', fillCount: 500, remainingCount: 500 });
    expect(h.context().venueFilledCount).toBe(500);
    expect(h.context().filledCount).toBe(400);
    expect(h.context().remainingCount).toBe(500);
    // and an old one again cannot move them back
    h.send({ type: 'VENUE_UPDATE', status: 'resting', fillCount: 400, remainingCount: 600 });
    expect(h.context().venueFilledCount).toBe(500);
    expect(h.context().remainingCount).toBe(500);
  });

  it('follows the venue to filled on an executed report before the fill records arrive', async () => {
    const h = start();
    await flush();
    h.send({ type: 'VENUE_UPDATE', status: 'executed', fillCount: 1000, remainingCount: 0 });
    expect(h.state()).toBe('filled');
    expect(h.context()).toMatchObject({ filledCount: 0, venueFilledCount: 1000, remainingCount: 0 });
  });

  it('create response with immediate fills: partially filled, fully filled, IOC remainder canceled', async () => {
    const partial = start({ submit: () => ({ outcome: 'accepted', orderId: 'o-2', fillCount: 300, remainingCount: 700 }) });
    const full = start({ submit: () => ({ outcome: 'accepted', orderId: 'o-3', fillCount: 1000, remainingCount: 0 }) });
    const ioc = start({
      input: { intent: { ...intent, timeInForce: 'immediate_or_cancel' } },
      submit: () => ({ outcome: 'accepted', orderId: 'o-4', fillCount: 200, remainingCount: 0 }),
    });
    await flush();
    expect(partial.state()).toBe('partially_filled');
    expect(partial.context().venueFilledCount).toBe(300);
    expect(full.state()).toBe('filled');
    expect(ioc.state()).toBe('canceled');
    expect(ioc.context().closeReason).toMatch(/remainder canceled/);
  });
});

describe('order actor: refusals and expiry', () => {
  it('denied by local risk: final at once, never sent', async () => {
    const h = start({ input: { denial: { rule: 'max_position', reason: 'position would exceed 50' } } });
    await flush();
    expect(h.state()).toBe('denied');
    expect(h.submits).toHaveLength(0);
    expect(h.events.at(-1)).toMatchObject({ type: 'ORDER_CLOSED', state: 'denied' });
    expect(h.context().closeReason).toContain('max_position');
  });

  it('rejected by the venue, with its reason', async () => {
    const h = start({ submit: () => ({ outcome: 'rejected', reason: 'insufficient_balance', code: '400' }) });
    await flush();
    expect(h.state()).toBe('rejected');
    expect(h.context().closeReason).toBe('venue rejected: insufficient_balance');
    expect(h.events.at(-1)).toMatchObject({ type: 'ORDER_CLOSED', state: 'rejected' });
  });

  it('expires on EXPIRE and on a venue cancel whose reason is expiry', async () => {
    const a = start();
    const b = start();
    await flush();
    a.send({ type: 'EXPIRE' });
    expect(a.state()).toBe('expired');
    b.send(fill('f1', 100));
    b.send({ type: 'VENUE_UPDATE', status: 'canceled', fillCount: 100, remainingCount: 0, reason: 'Expired' });
    expect(b.state()).toBe('expired');
    expect(b.context().closeReason).toBe('venue: Expired');
  });
});

describe('order actor: cancel', () => {
  it('cancel → pending_cancel → canceled', async () => {
    let release!: (r: CancelOrderResult) => void;
    const h = start({ cancel: () => new Promise((r) => (release = r)) });
    await flush();
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('pending_cancel');
    expect(h.context().state).toBe('pending_cancel');
    await flush();
    expect(h.cancels).toEqual([{ clientOrderId: 'T1-run-1', orderId: 'o-1', ticker: 'KX-TEST' }]);
    release({ outcome: 'canceled', reducedBy: 1000 });
    await flush();
    expect(h.state()).toBe('canceled');
    expect(h.events.at(-1)).toMatchObject({ type: 'ORDER_CLOSED', state: 'canceled' });
  });

  it('records fills the cancel response implies but that have not arrived yet', async () => {
    const h = start({ cancel: () => ({ outcome: 'canceled', reducedBy: 600 }) });
    await flush();
    h.send({ type: 'CANCEL' });
    await flush();
    expect(h.state()).toBe('canceled');
    expect(h.context()).toMatchObject({ filledCount: 0, venueFilledCount: 400, remainingCount: 0 });
  });

  it('a CANCEL before the venue acknowledged is carried out once the order is accepted', async () => {
    let accept!: (r: SubmitOrderResult) => void;
    const h = start({ submit: () => new Promise((r) => (accept = r)) });
    await flush();
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('submitted');
    accept({ outcome: 'accepted', orderId: 'o-9', fillCount: 0, remainingCount: 1000 });
    await flush();
    expect(h.cancels).toHaveLength(1);
    expect(h.cancels[0].orderId).toBe('o-9');
    expect(h.state()).toBe('canceled');
  });

  it('a fill that completes the order while canceling wins: filled', async () => {
    const h = start({ cancel: () => never() });
    await flush();
    h.send(fill('f1', 200));
    h.send({ type: 'CANCEL' });
    h.send(fill('f2', 300));
    expect(h.state()).toBe('pending_cancel');
    expect(h.context().filledCount).toBe(500);
    h.send(fill('f3', 500));
    expect(h.state()).toBe('filled');
  });

  it('cancel "not found" → unknown → query says executed → filled', async () => {
    const h = start({
      cancel: () => ({ outcome: 'not_found' }),
      query: () => ({ found: true, order: { orderId: 'o-1', status: 'executed', fillCount: 1000, remainingCount: 0 } }),
    });
    await flush();
    h.send({ type: 'CANCEL' });
    await flush();
    expect(h.state()).toBe('unknown');
    h.clock.advance(1000);
    await flush();
    expect(h.queries).toEqual([{ clientOrderId: 'T1-run-1', ticker: 'KX-TEST', orderId: 'o-1' }]);
    expect(h.state()).toBe('filled');
  });

  it('retries a failed cancel, then succeeds', async () => {
    let calls = 0;
    const h = start({
      cancel: () => {
        calls++;
        if (calls === 1) throw new Error('503');
        return { outcome: 'canceled', reducedBy: 1000 };
      },
    });
    await flush();
    h.send({ type: 'CANCEL' });
    await flush();
    expect(h.state()).toBe('pending_cancel');
    expect(h.context().lastError).toBe('cancel failed: 503');
    h.clock.advance(1000);
    await flush();
    expect(calls).toBe(2);
    expect(h.state()).toBe('canceled');
  });
});

describe('order actor: unknown (sent, no answer)', () => {
  it('a submit timeout → unknown → query finds it resting → accepted', async () => {
    const h = start({
      submit: () => never(),
      query: () => ({ found: true, order: { orderId: 'o-7', status: 'resting', fillCount: 0, remainingCount: 1000 } }),
    });
    await flush();
    h.clock.advance(9_999);
    expect(h.state()).toBe('submitted');
    h.clock.advance(1);
    expect(h.state()).toBe('unknown');
    expect(h.context().lastError).toBe('submit timed out');
    expect(h.events.at(-1)).toMatchObject({ type: 'ORDER_UPDATED', order: { state: 'unknown', inFlight: false } });
    h.clock.advance(1000);
    await flush();
    expect(h.state()).toBe('accepted');
    expect(h.context().orderId).toBe('o-7');
  });

  it('a network error → unknown → query finds it filled → filled', async () => {
    const h = start({
      submit: () => {
        throw new Error('ECONNRESET');
      },
      query: () => ({ found: true, order: { orderId: 'o-8', status: 'executed', fillCount: 1000, remainingCount: 0 } }),
    });
    await flush();
    expect(h.state()).toBe('unknown');
    expect(h.context().lastError).toBe('submit failed: ECONNRESET');
    h.clock.advance(1000);
    await flush();
    expect(h.state()).toBe('filled');
    expect(h.context().venueFilledCount).toBe(1000);
  });

  it('a 5xx ("unknown" outcome) → query finds a partial fill → partially_filled', async () => {
    const h = start({
      submit: () => ({ outcome: 'unknown', reason: '503 Service Unavailable' }),
      query: () => ({ found: true, order: { orderId: 'o-5', status: 'resting', fillCount: 100, remainingCount: 900 } }),
    });
    await flush();
    h.clock.advance(1000);
    await flush();
    expect(h.state()).toBe('partially_filled');
  });

  it('a timed-out create absent at the first look keeps its slot until it can no longer land, then → rejected "never reached venue"', async () => {
    let queries = 0;
    const h = start({
      submit: () => never(),
      query: () => {
        queries++;
        return { found: false };
      },
    });
    await flush();
    h.clock.advance(10_000); // the submit times out: the send is aborted, it may still land until 10 s from now
    h.clock.advance(1000);
    await flush();
    expect(queries).toBe(1);
    expect(h.state()).toBe('unknown'); // "not found" 1 s after is no answer
    expect(h.order.getSnapshot().matches({ unknown: "awaiting_landing" })).toBe(true);
    expect(h.events.filter((e) => e.type === 'ORDER_CLOSED')).toHaveLength(0);
    h.clock.advance(8_998);
    await flush();
    expect(h.state()).toBe('unknown');
    h.clock.advance(2);
    await flush();
    expect(queries).toBe(2);
    expect(h.state()).toBe('rejected');
    expect(h.context().closeReason).toBe('never reached venue');
    expect(h.submits).toHaveLength(1);
  });

  it('a create the venue refused before accepting it (every send 503/429) is looked up at once, with no landing wait', async () => {
    const h = start({ submit: () => ({ outcome: 'unknown', reason: '503 Service Unavailable', mayHaveLanded: false }), query: () => ({ found: false }) });
    await flush();
    h.clock.advance(1000);
    await flush();
    expect(h.state()).toBe('rejected');
  });

  it('an ambiguous create answer (a timeout or a reset after sending) absent at the first look waits out the landing window', async () => {
    const h = start({
      submit: () => ({ outcome: 'unknown', reason: 'timeout', mayHaveLanded: true }),
      query: () => ({ found: false }),
    });
    await flush();
    h.clock.advance(1000);
    await flush();
    expect(h.order.getSnapshot().matches({ unknown: "awaiting_landing" })).toBe(true);
    h.clock.advance(9000);
    await flush();
    expect(h.state()).toBe('rejected');
  });

  it('a timed-out create that lands late is found by the look after the window → accepted (never closed in between)', async () => {
    let landed = false;
    const h = start({
      submit: () => never(),
      query: () => (landed ? { found: true, order: { orderId: 'o-late', status: 'resting', fillCount: 0, remainingCount: 1000 } } : { found: false }),
    });
    await flush();
    h.clock.advance(10_000 + 1000);
    await flush();
    expect(h.state()).toBe('unknown');
    landed = true;
    h.clock.advance(9000);
    await flush();
    expect(h.state()).toBe('accepted');
    expect(h.context().orderId).toBe('o-late');
    expect(h.events.filter((e) => e.type === 'ORDER_CLOSED')).toHaveLength(0);
  });

  it('certainly absent with resubmission configured → resubmits once with the same client_order_id', async () => {
    let attempt = 0;
    const h = start({
      input: { resubmitIfAbsent: true },
      submit: () => {
        attempt++;
        return attempt === 1
          ? { outcome: 'unknown', reason: 'timeout' }
          : { outcome: 'accepted', orderId: 'o-6', fillCount: 0, remainingCount: 1000 };
      },
      query: () => ({ found: false }),
    });
    await flush();
    h.clock.advance(1000);
    await flush();
    expect(h.state()).toBe('accepted');
    expect(h.submits.map((s) => [s.clientOrderId, s.attempt])).toEqual([
      ['T1-run-1', 1],
      ['T1-run-1', 2],
    ]);
  });

  it('resubmits only once: absent again after the resubmission → rejected', async () => {
    const h = start({
      input: { resubmitIfAbsent: true },
      submit: () => ({ outcome: 'unknown', reason: 'timeout' }),
      query: () => ({ found: false }),
    });
    await flush();
    h.clock.advance(1000);
    await flush();
    h.clock.advance(2000); // the second query waits twice as long
    await flush();
    expect(h.submits).toHaveLength(2);
    expect(h.state()).toBe('rejected');
  });

  it('inconclusive queries are retried with exponential backoff', async () => {
    let calls = 0;
    const h = start({
      submit: () => ({ outcome: 'unknown', reason: 'timeout' }),
      query: () => {
        calls++;
        if (calls < 3) throw new Error('timeout');
        return { found: true, order: { orderId: 'o-1', status: 'resting', fillCount: 0, remainingCount: 1000 } };
      },
    });
    await flush();
    h.clock.advance(1000); // first query at +1 s
    await flush();
    expect(calls).toBe(1);
    h.clock.advance(1999); // second waits 2 s
    await flush();
    expect(calls).toBe(1);
    h.clock.advance(1);
    await flush();
    expect(calls).toBe(2);
    h.clock.advance(4000); // third waits 4 s
    await flush();
    expect(calls).toBe(3);
    expect(h.state()).toBe('accepted');
  });

  it('a fill or status report while unknown resolves it without a query', async () => {
    const h = start({ submit: () => ({ outcome: 'unknown', reason: 'timeout' }) });
    const g = start({ submit: () => ({ outcome: 'unknown', reason: 'timeout' }) });
    await flush();
    h.send({ ...fill('f1', 100), orderId: 'o-x' } as OrderEvent);
    expect(h.state()).toBe('partially_filled');
    expect(h.context().orderId).toBe('o-x');
    g.send({ type: 'VENUE_UPDATE', status: 'resting', fillCount: 0, remainingCount: 1000, orderId: 'o-y' });
    expect(g.state()).toBe('accepted');
    expect(h.queries).toHaveLength(0);
  });
});

describe('order chart (xstate/graph)', () => {
  it('every state is reachable from initialized', () => {
    const done = (id: string, output: unknown) => ({ type: `xstate.done.actor.${id}`, output }) as unknown as OrderEvent;
    const error = (id: string) => ({ type: `xstate.error.actor.${id}`, error: new Error('x') }) as unknown as OrderEvent;
    const events: OrderEvent[] = [
      done('submitOrder', { outcome: 'accepted', orderId: 'o', fillCount: 0, remainingCount: 1000 }),
      done('submitOrder', { outcome: 'rejected', reason: 'no' }),
      error('submitOrder'),
      done('queryOrder', { found: false }),
      done('cancelOrder', { outcome: 'canceled', reducedBy: 1000 }),
      fill('a', 500),
      fill('b', 1000),
      { type: 'CANCEL' },
      { type: 'EXPIRE' },
    ];
    const paths = getShortestPaths(orderMachine, {
      input: { clientOrderId: 'c', intent },
      events,
      serializeState: (s) => JSON.stringify(s.value),
      limit: 200,
    });
    const reached = new Set(paths.map((p) => (typeof p.state.value === 'string' ? p.state.value : Object.keys(p.state.value)[0])));
    const denied = getShortestPaths(orderMachine, {
      input: { clientOrderId: 'c', intent, denial: { rule: 'r', reason: 'x' } },
      events: [],
    });
    for (const p of denied) reached.add(p.state.value as string);
    expect([...reached].sort()).toEqual(
      [
        'accepted',
        'canceled',
        'denied',
        'expired',
        'filled',
        'partially_filled',
        'pending_cancel',
        'rejected',
        'submitted',
        'unknown',
      ].sort(),
    );
  });
});

describe('order actor: cancel while unknown', () => {
  it('a CANCEL while unknown is carried out once a query finds the order resting', async () => {
    const h = start({
      submit: () => ({ outcome: 'unknown', reason: 'timeout' }),
      query: () => ({ found: true, order: { orderId: 'o-3', status: 'resting', fillCount: 0, remainingCount: 1000 } }),
    });
    await flush();
    h.send({ type: 'CANCEL' });
    expect(h.state()).toBe('unknown');
    h.clock.advance(1000);
    await flush();
    expect(h.cancels.map((c) => c.orderId)).toEqual(['o-3']);
    expect(h.state()).toBe('canceled');
  });
});

describe("order actor: recovered (an earlier run's unanswered create)", () => {
  // sent 3 s ago by a killed run (the harness's VirtualClock starts at its default); the default
  // landing window is one request timeout (10 s)
  const T0 = new VirtualClock().now();
  function startRecovered(opts: Parameters<typeof start>[0] & { agoMs?: number }) {
    return start({ ...opts, input: { recovered: { sentAtMs: T0 - (opts.agoMs ?? 3_000) }, ...opts.input } });
  }

  it('keeps its slot while the create may still land; the lookup once it no longer can finds it resting → accepted, never resubmitted', async () => {
    const h = startRecovered({ query: () => ({ found: true, order: { orderId: 'o-late', status: 'resting', fillCount: 0, remainingCount: 1000 } }) });
    await flush();
    expect(h.state()).toBe('unknown');
    expect(h.order.getSnapshot().value).toEqual({ unknown: 'awaiting_landing' });
    expect(h.context().remainingCount).toBe(1000);
    h.clock.advance(6_999);
    await flush();
    expect(h.queries).toHaveLength(0);
    h.clock.advance(1);
    await flush();
    expect(h.queries).toHaveLength(1);
    expect(h.state()).toBe('accepted');
    expect(h.context().orderId).toBe('o-late');
    expect(h.submits).toHaveLength(0);
  });

  it('a "not found" before it can no longer land is not an answer: it waits and looks again; then it was never placed', async () => {
    const h = startRecovered({ query: () => ({ found: false }) });
    await flush();
    h.send({ type: 'QUERY_NOW' });
    await flush();
    expect(h.queries).toHaveLength(1);
    expect(h.state()).toBe('unknown');
    expect(h.order.getSnapshot().value).toEqual({ unknown: 'awaiting_landing' });
    h.clock.advance(7_000);
    await flush();
    expect(h.queries).toHaveLength(2);
    expect(h.state()).toBe('rejected');
    expect(h.events.at(-1)).toMatchObject({ type: 'ORDER_CLOSED', state: 'rejected', reason: 'never reached venue' });
    expect(h.submits).toHaveLength(0);
  });

  it('the stream seeing it land settles it at once (no lookup); a CANCEL asked meanwhile is carried out then', async () => {
    const h = startRecovered({});
    await flush();
    h.send({ type: 'CANCEL' });
    h.send({ type: 'VENUE_UPDATE', status: 'resting', fillCount: 0, remainingCount: 1000, orderId: 'o-ws' });
    await flush();
    expect(h.queries).toHaveLength(0);
    expect(h.cancels.map((c) => c.orderId)).toEqual(['o-ws']);
    expect(h.state()).toBe('canceled');
  });

  it('sent longer ago than a create can take to land: the start-up lookup was the answer — rejected at once, no lookup, never resubmitted', async () => {
    const h = startRecovered({ agoMs: 10_000, query: () => ({ found: false }), input: { resubmitIfAbsent: true } });
    await flush();
    expect(h.state()).toBe('rejected');
    expect(h.context().closeReason).toBe('never reached venue');
    expect(h.queries).toHaveLength(0);
    expect(h.submits).toHaveLength(0);
  });

  it('the landing window is a timing (createLandingMs), counted from when the create was sent', async () => {
    const h = startRecovered({ agoMs: 1_000, input: { timings: { createLandingMs: 2_000 } }, query: () => ({ found: false }) });
    await flush();
    expect(h.state()).toBe('unknown');
    h.clock.advance(1_000);
    await flush();
    expect(h.state()).toBe('rejected');
  });
});
