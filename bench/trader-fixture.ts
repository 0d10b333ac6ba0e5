/**
 * The trader the tick-to-order benchmarks drive: a 30-level book on the 1¢ grid, an order machine
 * whose venue answers at once (the benchmark decides how), and a trader that has reconciled and is
 * ready to act. Shared by bench/tick-to-order (rule strategy) and bench/rl-tick-to-order (ONNX).
 */
import { createActor, fromPromise } from 'xstate';
import type { Clock } from '../src/core/clock.ts';
import type { Micros } from '../src/core/money.ts';
import { ONE_DOLLAR } from '../src/core/money.ts';
import { OrderBook } from '../src/core/orderbook.ts';
import type { Strategy } from '../src/core/strategy/index.ts';
import { priceRangesFor } from '../src/core/ticks.ts';
import { orderMachine } from '../src/machines/order.machine.ts';
import type { SubmitOrderInput, SubmitOrderResult } from '../src/machines/order.types.ts';
import { traderMachine } from '../src/machines/trader.machine.ts';

export const TICKER = 'KX-BENCH';
export const ranges = priceRangesFor('linear_cent');

/** YES bids 40¢ down, NO bids 46¢ down (YES asks from 54¢), 30 levels each. */
export function benchBook(): OrderBook {
  const book = new OrderBook(TICKER);
  const yes: Array<[number, number]> = [];
  const no: Array<[number, number]> = [];
  for (let i = 0; i < 30; i++) {
    yes.push([4000 - i * 100, 10_000 + i * 100]);
    no.push([ONE_DOLLAR - 4600 - i * 100, 10_000 + i * 100]);
  }
  book.applySnapshot(yes, no);
  return book;
}

export function benchTrader(options: {
  clock: Clock;
  book: OrderBook;
  strategy: Strategy;
  cash: Micros;
  /** The venue's answer to each create (called when the order actor submits). */
  submit: (input: SubmitOrderInput) => SubmitOrderResult;
}) {
  const order = orderMachine.provide({
    actors: {
      submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(({ input }) => Promise.resolve(options.submit(input))),
    },
  });
  const trader = createActor(traderMachine.provide({ actors: { order } }), {
    clock: options.clock,
    input: {
      traderId: 'B',
      runNonce: 'bench',
      strategy: options.strategy,
      books: { bookFor: () => options.book, priceRangesFor: () => ranges },
      cash: options.cash,
      riskLimits: { maxNotional: 10 ** 12, maxPositionPerMarket: 10 ** 9 },
      ...(options.clock ? { clock: options.clock } : {}),
    },
  });
  trader.start();
  trader.send({ type: 'START' });
  trader.send({ type: 'RECONCILED', agreed: true });
  return trader;
}

/** Lets queued promises and the order actors' follow-ups run. */
export async function drain(): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.resolve();
  await new Promise((r) => setImmediate(r));
}
