/**
 * The order actors over their narrow dependencies (three venue calls and a ledger): journal first,
 * a definite "no" is rejected, anything unanswered is unknown, a query misses only on a real answer.
 */
import { describe, expect, it } from 'vitest';
import { createActor, toPromise, type AnyActorLogic } from 'xstate';
import { KalshiApiError, KalshiOrderOutcomeUnknownError } from '../../src/adapters/kalshi/errors.ts';
import type { KalshiOrder } from '../../src/adapters/kalshi/rest.schemas.ts';
import { orderActors, type OrderActorDeps } from '../../src/actors/order.actors.ts';
import type { SubmitOrderInput } from '../../src/machines/order.types.ts';

const input: SubmitOrderInput = {
  clientOrderId: 'trader-1',
  intent: { ticker: 'SIM-A', side: 'bid', price: 4500, count: 500, timeInForce: 'good_till_canceled' },
  attempt: 1,
};

function fakeDeps(overrides: Partial<OrderActorDeps> = {}) {
  const log: string[] = [];
  const deps: OrderActorDeps = {
    submit: async (request) => {
      log.push(`create ${request.clientOrderId}`);
      return { orderId: 'o-1', clientOrderId: request.clientOrderId, fillCount: 100, remainingCount: 400, source: 'created', averageFillPrice: null, averageFeePaid: null, tsMs: 7, order: null, posts: 1 };
    },
    query: async () => null,
    cancel: async (order) => ({ orderId: order.orderId, clientOrderId: order.clientOrderId, reducedBy: 400, tsMs: 9, alreadyGone: false }),
    journal: {
      submit: async (i) => void log.push(`journal intent ${i.clientOrderId}`),
      resent: async (id) => void log.push(`journal resend ${id}`),
      answer: async (id, answer) => void log.push(`journal answer ${id} ${JSON.stringify(answer)}`),
      note: async (id, kind, details) => void log.push(`journal ${kind} ${id} ${JSON.stringify(details)}`),
      failed: (error) => void log.push(`journal failed ${String(error)}`),
    },
    ...overrides,
  };
  return { deps, log };
}

function run<T>(logic: AnyActorLogic, actorInput: unknown): Promise<T> {
  return toPromise(createActor(logic, { input: actorInput }).start()) as Promise<T>;
}

const apiError = (status: number, code: string | null) =>
  new KalshiApiError({ status, code, kalshiMessage: null, method: 'POST', path: '/portfolio/events/orders' });

describe('order actors', () => {
  it('journals the intent before the create, then the answer', async () => {
    const { deps, log } = fakeDeps();
    const result = await run(orderActors(deps).submitOrder, input);
    expect(result).toEqual({ outcome: 'accepted', orderId: 'o-1', fillCount: 100, remainingCount: 400, tsMs: 7 });
    expect(log[0]).toBe('journal intent trader-1');
    expect(log[1]).toBe('create trader-1');
    expect(log[2]).toContain('"status":"resting"');
  });

  it('does not send an intent the journal refused: not_sent, and the failure is reported', async () => {
    const { deps, log } = fakeDeps({
      journal: { ...fakeDeps().deps.journal, submit: async () => Promise.reject(new Error('db down')), failed: (e) => void log.push(`failed ${String(e)}`) },
    });
    const result = await run<{ outcome: string; reason: string }>(orderActors(deps).submitOrder, input);
    expect(result.outcome).toBe('not_sent');
    expect(result.reason).toContain('journal unavailable');
    expect(log).toEqual(['failed Error: db down']);
  });

  it('a definite venue "no" is rejected; a 5xx or a lost answer is unknown', async () => {
    const rejected = fakeDeps({ submit: async () => Promise.reject(apiError(400, 'insufficient_balance')) });
    expect(await run(orderActors(rejected.deps).submitOrder, input)).toMatchObject({ outcome: 'rejected', code: 'insufficient_balance' });
    const failing = fakeDeps({ submit: async () => Promise.reject(apiError(503, null)) });
    expect(await run(orderActors(failing.deps).submitOrder, input)).toMatchObject({ outcome: 'unknown', mayHaveLanded: false });
    expect(failing.log.at(-1)).toContain('"state":"unknown"');
    const lost = fakeDeps({ submit: async () => Promise.reject(new KalshiOrderOutcomeUnknownError('trader-1', 'SIM-A', new Error('reset'))) });
    expect(await run(orderActors(lost.deps).submitOrder, input)).toEqual({ outcome: 'unknown', reason: 'create outcome unknown', mayHaveLanded: true });
  });

  it('a query misses only when the venue answered without the order; a cancel of a gone order is not_found', async () => {
    const miss = fakeDeps();
    expect(await run(orderActors(miss.deps).queryOrder, { clientOrderId: 'trader-1', ticker: 'SIM-A', orderId: null })).toEqual({ found: false });
    expect(miss.log).toEqual(['journal query trader-1 {"found":false}']);
    const order = { orderId: 'o-1', status: 'canceled', fillCount: 0, remainingCount: 0, lastUpdateReason: 'Expired' } as KalshiOrder;
    const hit = fakeDeps({ query: async () => order });
    expect(await run(orderActors(hit.deps).queryOrder, { clientOrderId: 'trader-1', ticker: 'SIM-A', orderId: 'o-1' })).toEqual({
      found: true,
      order: { orderId: 'o-1', status: 'canceled', fillCount: 0, remainingCount: 0, reason: 'Expired' },
    });
    const failing = fakeDeps({ query: async () => Promise.reject(new Error('timeout')) });
    await expect(run(orderActors(failing.deps).queryOrder, { clientOrderId: 'trader-1', ticker: 'SIM-A', orderId: null })).rejects.toThrow('timeout');
    const gone = fakeDeps({ cancel: async (o) => ({ orderId: o.orderId, clientOrderId: null, reducedBy: null, tsMs: null, alreadyGone: true }) });
    expect(await run(orderActors(gone.deps).cancelOrder, { clientOrderId: 'trader-1', orderId: 'o-1', ticker: 'SIM-A' })).toEqual({ outcome: 'not_found' });
    const canceled = fakeDeps();
    expect(await run(orderActors(canceled.deps).cancelOrder, { clientOrderId: 'trader-1', orderId: 'o-1', ticker: 'SIM-A' })).toEqual({ outcome: 'canceled', reducedBy: 400 });
  });
});
