import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { CENTICENT_PRECISION, makerFee, takerFee } from '../../src/core/fees.ts';
import { Exchange } from '../../src/sim/exchange.ts';
import type { ExchangeEvent } from '../../src/sim/exchange.types.ts';
import { T0, TICKER, harness, marketDef, usd } from './exchange.helpers.ts';

// Prices are 1/10,000 dollar (5600 = $0.56); counts 1/100 contract (1000 = 10 contracts).

describe('resting orders', () => {
  it('rests a non-crossing bid, shows it in the L2 book and reserves collateral until canceled', () => {
    const { ex, place } = harness();
    const before = ex.balance('alice');
    const { order, fills } = place('alice', 'bid', 5600, 1000, { clientOrderId: 'a-1' });
    expect(fills).toEqual([]);
    expect(order).toMatchObject({ status: 'resting', fillCount: 0, remainingCount: 1000, initialCount: 1000, clientOrderId: 'a-1' });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [[5600, 1000]], no: [] });
    const { reserved } = ex.cashSummary('alice');
    // notional $5.60 plus a fee allowance (taker fee at worst price $0.50, plus one rounding unit)
    expect(reserved).toBe(usd(5.6) + takerFee(5000, 1000) + 10_000);
    expect(ex.balance('alice')).toBe(before - reserved);

    const c = ex.cancelOrder('alice', order.orderId);
    expect(c.ok && c.value.reducedBy).toBe(1000);
    expect(c.ok && c.value.order).toMatchObject({ status: 'canceled', remainingCount: 0, lastUpdateReason: 'Canceled' });
    expect(ex.balance('alice')).toBe(before);
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [] });
  });

  it('shows a resting ask as a NO bid at $1 − p', () => {
    const { ex, place } = harness();
    place('bob', 'ask', 5800, 300);
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [[4200, 300]] });
  });
});

describe('matching', () => {
  it('partially fills a resting order at the maker price', () => {
    const { ex, place } = harness();
    const maker = place('alice', 'bid', 5600, 1000).order;
    const { order: taker, fills } = place('bob', 'ask', 5500, 400);
    expect(taker).toMatchObject({ status: 'executed', fillCount: 400, remainingCount: 0 });
    expect(fills).toHaveLength(1);
    expect(fills[0]).toMatchObject({ price: 5600, count: 400, isTaker: true, userId: 'bob', side: 'ask', postPosition: -400 });
    expect(ex.getOrder('alice', maker.orderId)).toMatchObject({ status: 'resting', fillCount: 400, remainingCount: 600 });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [[5600, 600]], no: [] });
    const makerFills = ex.listFills('alice');
    expect(makerFills).toHaveLength(1);
    expect(makerFills[0]).toMatchObject({ isTaker: false, price: 5600, count: 400, tradeId: fills[0]!.tradeId, postPosition: 400 });
    expect(makerFills[0]!.fillId).not.toBe(fills[0]!.fillId);
    expect(ex.listTrades({ ticker: TICKER })).toEqual([
      { tradeId: fills[0]!.tradeId, ticker: TICKER, price: 5600, count: 400, takerSide: 'ask', tsMs: T0 },
    ]);
    expect(ex.getMarket(TICKER)).toMatchObject({ lastPrice: 5600, volume: 400, openInterest: 400 });
  });

  it('sweeps several levels, each at its maker price, and rests nothing when filled', () => {
    const { ex, place } = harness({ accountPrecision: CENTICENT_PRECISION });
    place('m1', 'ask', 5000, 200);
    place('m2', 'ask', 5200, 300);
    place('m3', 'ask', 5500, 500);
    const { order, fills } = place('taker', 'bid', 6000, 800);
    expect(fills.map((f) => [f.price, f.count])).toEqual([
      [5000, 200],
      [5200, 300],
      [5500, 300],
    ]);
    expect(order.status).toBe('executed');
    expect(order.takerFillCost).toBe(5000 * 200 + 5200 * 300 + 5500 * 300);
    expect(order.takerFees).toBe(takerFee(5000, 200) + takerFee(5200, 300) + takerFee(5500, 300));
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [[4500, 200]] });
    expect(ex.listPositions('taker')[0]).toMatchObject({ position: 800, exposure: order.takerFillCost });
  });

  it('fills one level first-in first-out', () => {
    const { ex, place } = harness();
    const a = place('a', 'ask', 5000, 300).order;
    const b = place('b', 'ask', 5000, 300).order;
    const c = place('c', 'ask', 5000, 300).order;
    const { fills } = place('t', 'bid', 5000, 500);
    expect(fills.map((f) => f.count)).toEqual([300, 200]);
    expect(ex.getOrder('a', a.orderId)!.status).toBe('executed');
    expect(ex.getOrder('b', b.orderId)).toMatchObject({ status: 'resting', remainingCount: 100 });
    expect(ex.getOrder('c', c.orderId)).toMatchObject({ status: 'resting', remainingCount: 300, fillCount: 0 });
  });

  it('keeps queue priority when an order is decreased', () => {
    const { ex, place } = harness();
    const a = place('a', 'bid', 4000, 500).order;
    place('b', 'bid', 4000, 500);
    const d = ex.decreaseOrder('a', a.orderId, 200);
    expect(d.ok && d.value).toMatchObject({ remainingCount: 300, lastUpdateReason: 'Decreased', status: 'resting' });
    expect(ex.bookLevels(TICKER)!.yes).toEqual([[4000, 800]]);
    const { fills } = place('t', 'ask', 4000, 300);
    expect(fills).toHaveLength(1);
    expect(ex.listFills('a')).toHaveLength(1);
    expect(ex.listFills('b')).toHaveLength(0);
    expect(ex.getOrder('a', a.orderId)!.status).toBe('executed');
  });

  it('does not let the book stay crossed: a crossing order trades instead of resting', () => {
    const { ex, place } = harness();
    place('a', 'bid', 5000, 100);
    place('b', 'ask', 4000, 300);
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [[6000, 200]] });
  });
});

describe('time in force, post-only, expiry', () => {
  it('IOC fills what crosses and cancels the rest', () => {
    const { ex, place } = harness();
    place('m', 'ask', 5000, 400);
    const { order, fills } = place('t', 'bid', 5100, 1000, { timeInForce: 'immediate_or_cancel' });
    expect(fills.map((f) => f.count)).toEqual([400]);
    expect(order).toMatchObject({ status: 'canceled', fillCount: 400, remainingCount: 0, lastUpdateReason: 'ImmediateOrCancel' });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [] });
    expect(ex.cashSummary('t').reserved).toBe(0);
  });

  it('IOC with an expiration time is invalid', () => {
    const { ex, request } = harness();
    const r = ex.createOrder(request('t', 'bid', 5000, 100, { timeInForce: 'immediate_or_cancel', expirationTime: T0 / 1000 + 60 }));
    expect(r).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_order' } });
  });

  it('FOK fills completely or not at all', () => {
    const { ex, place } = harness();
    place('m', 'ask', 5000, 400);
    const killed = place('t', 'bid', 5000, 500, { timeInForce: 'fill_or_kill' });
    expect(killed.fills).toEqual([]);
    expect(killed.order).toMatchObject({ status: 'canceled', fillCount: 0, remainingCount: 0, lastUpdateReason: 'FillOrKillCancel' });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [[5000, 400]] });
    const filled = place('t', 'bid', 5000, 400, { timeInForce: 'fill_or_kill' });
    expect(filled.order).toMatchObject({ status: 'executed', fillCount: 400 });
  });

  it('FOK does not count the own orders it would hit under taker_at_cross', () => {
    const { place } = harness();
    place('t', 'ask', 5000, 400);
    place('m', 'ask', 5000, 400);
    const r = place('t', 'bid', 5000, 400, { timeInForce: 'fill_or_kill' });
    expect(r.fills).toEqual([]);
    expect(r.order.status).toBe('canceled');
    const r2 = place('t', 'bid', 5000, 400, { timeInForce: 'fill_or_kill', selfTradePrevention: 'maker' });
    expect(r2.order).toMatchObject({ status: 'executed', fillCount: 400 });
    expect(r2.fills.every((f) => f.price === 5000)).toBe(true);
  });

  it('post-only that would cross is canceled with PostOnlyCrossCancel and no fills', () => {
    const { ex, place } = harness();
    place('m', 'ask', 5000, 400);
    const r = place('t', 'bid', 5000, 100, { postOnly: true });
    expect(r.fills).toEqual([]);
    expect(r.order).toMatchObject({ status: 'canceled', lastUpdateReason: 'PostOnlyCrossCancel', fillCount: 0 });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [], no: [[5000, 400]] });
    const ok = place('t', 'bid', 4900, 100, { postOnly: true });
    expect(ok.order.status).toBe('resting');
  });

  it('expires a good-till-time order on the clock', () => {
    const { ex, clock, place, events } = harness();
    const expiresAt = T0 / 1000 + 60;
    const { order } = place('a', 'bid', 4500, 100, { expirationTime: expiresAt });
    clock.advance(59_999);
    expect(ex.getOrder('a', order.orderId)!.status).toBe('resting');
    clock.advance(1);
    expect(ex.getOrder('a', order.orderId)).toMatchObject({ status: 'canceled', lastUpdateReason: 'Expired', remainingCount: 0 });
    expect(ex.bookLevels(TICKER)!.yes).toEqual([]);
    expect(ex.cashSummary('a').reserved).toBe(0);
    expect(events.filter((e) => e.type === 'order_update').at(-1)).toMatchObject({ order: { lastUpdateReason: 'Expired' } });
  });

  it('expires an order due months ahead (beyond one timer delay) exactly on time', () => {
    const { ex, clock, place } = harness();
    const sixtyDays = 60 * 86_400;
    const { order } = place('a', 'bid', 4500, 100, { expirationTime: T0 / 1000 + sixtyDays });
    clock.advance(sixtyDays * 1000 - 1);
    expect(ex.getOrder('a', order.orderId)!.status).toBe('resting');
    clock.advance(1);
    expect(ex.getOrder('a', order.orderId)).toMatchObject({ status: 'canceled', lastUpdateReason: 'Expired', lastUpdateTimeMs: T0 + sixtyDays * 1000 });
    expect(clock.pending).toBe(0);
  });

  it('expireOrders cancels due orders when driven by hand', () => {
    const clock = new VirtualClock(T0);
    const ex = new Exchange({ clock, autoExpire: false });
    ex.addMarket(marketDef());
    const base = { userId: 'a', ticker: TICKER, side: 'bid' as const, count: 100, timeInForce: 'good_till_canceled' as const, selfTradePrevention: 'maker' as const };
    const early = ex.createOrder({ ...base, price: 4000, expirationTime: T0 / 1000 + 10 });
    const late = ex.createOrder({ ...base, price: 4100, expirationTime: T0 / 1000 + 20 });
    const never = ex.createOrder({ ...base, price: 4200 });
    expect(clock.pending).toBe(0);
    ex.expireOrders(T0 + 15_000);
    const status = (r: typeof early) => (r.ok ? ex.getOrder('a', r.value.order.orderId)!.status : 'refused');
    expect([status(early), status(late), status(never)]).toEqual(['canceled', 'resting', 'resting']);
    ex.expireOrders(T0 + 20_000);
    expect([status(early), status(late), status(never)]).toEqual(['canceled', 'canceled', 'resting']);
  });
});

describe('self-trade prevention', () => {
  it('taker_at_cross cancels the taker at its own order; earlier fills stand', () => {
    const { ex, place } = harness();
    place('m', 'ask', 5000, 200);
    const own = place('t', 'ask', 5100, 300).order;
    place('m', 'ask', 5200, 300);
    const { order, fills } = place('t', 'bid', 6000, 1000, { selfTradePrevention: 'taker_at_cross' });
    expect(fills.map((f) => [f.price, f.count])).toEqual([[5000, 200]]);
    expect(order).toMatchObject({ status: 'canceled', fillCount: 200, remainingCount: 0, lastUpdateReason: 'SelfTradePrevention' });
    expect(ex.getOrder('t', own.orderId)!.status).toBe('resting');
    expect(ex.bookLevels(TICKER)!.no).toEqual([
      [4800, 300],
      [4900, 300],
    ]);
  });

  it('maker mode cancels the own resting order and keeps matching', () => {
    const { ex, place } = harness();
    place('m', 'ask', 5000, 200);
    const own = place('t', 'ask', 5100, 300).order;
    place('m', 'ask', 5200, 300);
    const { order, fills } = place('t', 'bid', 6000, 1000, { selfTradePrevention: 'maker' });
    expect(fills.map((f) => [f.price, f.count])).toEqual([
      [5000, 200],
      [5200, 300],
    ]);
    expect(ex.getOrder('t', own.orderId)).toMatchObject({ status: 'canceled', lastUpdateReason: 'SelfTradePrevention' });
    expect(order).toMatchObject({ status: 'resting', fillCount: 500, remainingCount: 500 });
    expect(ex.bookLevels(TICKER)).toEqual({ yes: [[6000, 500]], no: [] });
  });
});

describe('validation', () => {
  it('rejects a duplicate client_order_id of the same user with 409', () => {
    const { ex, place, request } = harness();
    place('a', 'bid', 4000, 100, { clientOrderId: 'dup' });
    const r = ex.createOrder(request('a', 'bid', 4100, 100, { clientOrderId: 'dup' }));
    expect(r).toMatchObject({ ok: false, error: { status: 409, code: 'order_already_exists' } });
    expect(place('b', 'bid', 4100, 100, { clientOrderId: 'dup' }).order.status).toBe('resting');
  });

  it('checks prices against the market grid', () => {
    const { ex, request } = harness();
    ex.addMarket(marketDef({ ticker: 'DECI', priceLevelStructure: 'deci_cent' }));
    expect(ex.createOrder(request('a', 'bid', 5650, 100))).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_price' } });
    for (const bad of [0, 10_000, -100, 5600.5]) {
      expect(ex.createOrder(request('a', 'bid', bad, 100))).toMatchObject({ ok: false, error: { code: 'invalid_price' } });
    }
    const deci = ex.createOrder({ ...request('a', 'bid', 5650, 100), ticker: 'DECI' });
    expect(deci.ok && deci.value.order.status).toBe('resting');
    expect(ex.bookLevels('DECI')!.yes).toEqual([[5650, 100]]);
  });

  it('rejects non-positive and fractional counts, unknown and closed markets', () => {
    const { ex, request } = harness();
    for (const bad of [0, -100, 12.5]) {
      expect(ex.createOrder(request('a', 'bid', 4000, bad))).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_order' } });
    }
    expect(ex.createOrder({ ...request('a', 'bid', 4000, 100), ticker: 'NOPE' })).toMatchObject({
      ok: false,
      error: { status: 404, code: 'market_not_found' },
    });
    ex.closeMarket(TICKER);
    expect(ex.createOrder(request('a', 'bid', 4000, 100))).toMatchObject({ ok: false, error: { status: 400, code: 'market_closed' } });
  });

  it('does not trade a market before its open time, then opens it on the clock', () => {
    const { ex, clock, request } = harness();
    ex.addMarket(marketDef({ ticker: 'LATER', openTimeMs: T0 + 1000 }));
    expect(ex.getMarket('LATER')!.status).toBe('initialized');
    expect(ex.createOrder({ ...request('a', 'bid', 4000, 100), ticker: 'LATER' })).toMatchObject({ ok: false, error: { code: 'market_closed' } });
    clock.advance(1000);
    expect(ex.createOrder({ ...request('a', 'bid', 4000, 100), ticker: 'LATER' }).ok).toBe(true);
    expect(ex.getMarket('LATER')!.status).toBe('active');
  });

  it('refuses an order the balance cannot cover', () => {
    const { ex, request } = harness();
    ex.ensureAccount('poor', usd(1));
    expect(ex.createOrder(request('poor', 'bid', 5600, 1000))).toMatchObject({ ok: false, error: { status: 400, code: 'insufficient_balance' } });
    expect(ex.balance('poor')).toBe(usd(1));
    expect(ex.createOrder(request('poor', 'bid', 5600, 100)).ok).toBe(true);
    // buying NO costs $1 − p: an ask at $0.90 needs only $0.10 a contract
    ex.ensureAccount('poor2', usd(1));
    expect(ex.createOrder(request('poor2', 'ask', 9000, 800)).ok).toBe(true);
  });

  it('caps reduce-only orders at the position and refuses them when there is nothing to reduce', () => {
    const { ex, place, request } = harness();
    const ioc = { reduceOnly: true, timeInForce: 'immediate_or_cancel' as const };
    expect(ex.createOrder(request('a', 'ask', 5000, 100, ioc))).toMatchObject({ ok: false, error: { status: 400 } });
    place('m', 'ask', 5000, 500);
    place('a', 'bid', 5000, 500);
    // spec 3.31: reduce-only is immediate-or-cancel only
    expect(ex.createOrder(request('a', 'ask', 5500, 1000, { reduceOnly: true }))).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_order' } });
    place('b', 'bid', 5500, 300);
    const r = place('a', 'ask', 5500, 1000, ioc);
    expect(r.order).toMatchObject({ initialCount: 500, fillCount: 300, remainingCount: 0 });
  });

  it('answers 404 for unknown orders and 409 for orders no longer resting', () => {
    const { ex, place } = harness();
    expect(ex.cancelOrder('a', 'nope')).toMatchObject({ ok: false, error: { status: 404 } });
    const { order } = place('a', 'bid', 4000, 100);
    expect(ex.cancelOrder('someone-else', order.orderId)).toMatchObject({ ok: false, error: { status: 404 } });
    ex.cancelOrder('a', order.orderId);
    expect(ex.cancelOrder('a', order.orderId)).toMatchObject({ ok: false, error: { status: 409 } });
    expect(ex.decreaseOrder('a', order.orderId, 10)).toMatchObject({ ok: false, error: { status: 409 } });
  });
});

describe('fees and cash', () => {
  it('charges the taker 7% and the maker nothing on a quadratic market (cent-precision rounding)', () => {
    const { ex, place } = harness();
    place('maker', 'ask', 5000, 1000);
    const { fills } = place('taker', 'bid', 5000, 1000);
    // 0.07 × 10 × 0.5 × 0.5 = $0.175; the balance moves by floor(−5.175) to the cent → $0.18 in total
    expect(fills[0]!.fee).toBe(usd(0.18));
    expect(ex.cashSummary('taker').cash).toBe(usd(10_000 - 5.18));
    expect(ex.listFills('maker')[0]!.fee).toBe(0);
    expect(ex.cashSummary('maker').cash).toBe(usd(10_000 - 5));
  });

  it('charges makers on quadratic_with_maker_fees markets', () => {
    const { ex, place } = harness({ accountPrecision: CENTICENT_PRECISION }, { feeType: 'quadratic_with_maker_fees' });
    place('maker', 'ask', 5000, 1000);
    const { fills, order } = place('taker', 'bid', 5000, 1000);
    const schedule = { feeType: 'quadratic_with_maker_fees' as const };
    expect(fills[0]!.fee).toBe(takerFee(5000, 1000, schedule));
    expect(order.takerFees).toBe(usd(0.175));
    const makerFill = ex.listFills('maker')[0]!;
    expect(makerFill.fee).toBe(makerFee(5000, 1000, schedule));
    expect(makerFill.fee).toBe(usd(0.0438));
    expect(ex.listPositions('maker')[0]!.feesPaid).toBe(usd(0.0438));
    expect(ex.cashSummary('maker').cash).toBe(usd(10_000 - 5 - 0.0438));
  });

  it('makes many small fills cost what one fill costs (per-order rounding rebate)', () => {
    const { ex, place } = harness();
    for (let i = 0; i < 10; i++) place(`m${i}`, 'ask', 5000, 100);
    const { order, fills } = place('taker', 'bid', 5000, 1000);
    expect(fills).toHaveLength(10);
    expect(order.takerFees).toBe(usd(0.18));
    expect(ex.cashSummary('taker').cash).toBe(usd(10_000 - 5.18));
  });

  it('buys NO with an ask: pays $1 − p and holds a negative position', () => {
    const { ex, place } = harness({ accountPrecision: CENTICENT_PRECISION });
    place('m', 'bid', 4000, 1000);
    const { order } = place('nobuyer', 'ask', 4000, 1000);
    expect(order.takerFillCost).toBe(usd(6));
    expect(ex.listPositions('nobuyer')[0]).toMatchObject({ position: -1000, exposure: usd(6) });
    expect(ex.cashSummary('nobuyer').cash).toBe(usd(10_000 - 6) - takerFee(4000, 1000));
  });

  it('nets: buying NO while long YES closes the position and realizes P&L', () => {
    const { ex, place } = harness({ accountPrecision: CENTICENT_PRECISION });
    place('m1', 'ask', 4000, 1000);
    place('u', 'bid', 4000, 1000);
    place('m2', 'bid', 5500, 1000);
    place('u', 'ask', 5500, 1000);
    const [pos] = ex.listPositions('u');
    expect(pos).toMatchObject({ position: 0, exposure: 0, realizedPnl: usd(1.5) });
    const fees = takerFee(4000, 1000) + takerFee(5500, 1000);
    expect(pos!.feesPaid).toBe(fees);
    expect(ex.cashSummary('u')).toEqual({ cash: usd(10_000 + 1.5) - fees, reserved: 0, balance: usd(10_000 + 1.5) - fees });
    expect(ex.getMarket(TICKER)!.openInterest).toBe(1000); // m1 now holds NO against m2's YES
  });

  it('needs no collateral for the closing part of an order', () => {
    const { ex, place } = harness({ defaultCash: usd(100) });
    place('m', 'ask', 5000, 10_000);
    place('u', 'bid', 5000, 10_000); // long 100 YES, cash spent to ~$49.82
    const cashLeft = ex.balance('u');
    expect(cashLeft).toBeLessThan(usd(50));
    // selling all 100 YES at $0.01 would "cost" $99 as a NO purchase, but it only closes
    const r = place('u', 'ask', 100, 10_000);
    expect(r.order.status).toBe('resting');
  });
});

describe('settlement and lifecycle', () => {
  it('closes the market, pays $1 per winning contract and records settlements', () => {
    const { ex, place, events } = harness({ accountPrecision: CENTICENT_PRECISION });
    place('yes', 'bid', 6000, 1000);
    place('no', 'ask', 6000, 700);
    const resting = place('yes', 'bid', 3000, 500).order;
    const cashBefore = { yes: ex.cashSummary('yes').cash, no: ex.cashSummary('no').cash };
    const r = ex.settleMarket(TICKER, 'yes');
    expect(r.ok && r.value).toMatchObject({ status: 'finalized', result: 'yes', openInterest: 0, settledTimeMs: T0 });
    expect(ex.getOrder('yes', resting.orderId)).toMatchObject({ status: 'canceled', lastUpdateReason: 'MarketClosed' });
    expect(ex.cashSummary('yes')).toMatchObject({ cash: cashBefore.yes + usd(7), reserved: 0 });
    expect(ex.cashSummary('no')).toMatchObject({ cash: cashBefore.no, reserved: 0 });
    expect(ex.listSettlements('yes')).toEqual([
      { ticker: TICKER, eventTicker: 'KXTEST-26JAN01', result: 'yes', yesCount: 700, noCount: 0, yesTotalCost: usd(4.2), noTotalCost: 0, revenue: usd(7), fee: 0, settledTimeMs: T0 },
    ]);
    expect(ex.listSettlements('no')[0]).toMatchObject({ yesCount: 0, noCount: 700, noTotalCost: usd(2.8), revenue: 0 });
    expect(ex.listPositions('yes')[0]).toMatchObject({ position: 0, realizedPnl: usd(7 - 4.2) });
    expect(ex.listPositions('no')[0]).toMatchObject({ position: 0, realizedPnl: -usd(2.8) });
    const lifecycle = events.filter((e) => e.type === 'market_lifecycle').map((e) => (e.type === 'market_lifecycle' ? [e.event, e.result] : []));
    expect(lifecycle).toEqual([
      ['closed', undefined],
      ['determined', 'yes'],
      ['settled', 'yes'],
    ]);
    expect(ex.settleMarket(TICKER, 'no')).toMatchObject({ ok: false, error: { status: 409 } });
  });
});

describe('events', () => {
  it('announces a cross in order: level change, trade, maker fill/update/position, taker fill/position, taker update, ticker', () => {
    const { place, events } = harness();
    place('m', 'ask', 5000, 300, { clientOrderId: 'mk' });
    events.length = 0;
    place('t', 'bid', 5000, 100, { clientOrderId: 'tk' });
    const summary = events.map((e: ExchangeEvent) => {
      switch (e.type) {
        case 'book_delta':
          return `delta ${e.side} ${e.price} ${e.delta} ${e.userId}/${e.clientOrderId}`;
        case 'fill':
          return `fill ${e.fill.userId}`;
        case 'order_update':
          return `order ${e.order.userId} ${e.order.status}`;
        case 'position':
          return `position ${e.userId} ${e.position.position}`;
        default:
          return e.type;
      }
    });
    expect(summary).toEqual([
      'delta no 5000 -100 t/tk',
      'trade',
      'fill m',
      'order m resting',
      'position m -100',
      'fill t',
      'position t 100',
      'order t executed',
      'ticker',
    ]);
  });

  it('keeps emitted orders as snapshots and survives a throwing listener', async () => {
    const { ex, place } = harness();
    const seen: ExchangeEvent[] = [];
    ex.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = ex.subscribe((e) => seen.push(e));
    const errors: unknown[] = [];
    const onError = (err: unknown) => errors.push(err);
    process.on('uncaughtException', onError);
    try {
      const { order } = place('a', 'bid', 4000, 100);
      await new Promise((r) => setTimeout(r, 0));
      expect(errors.length).toBeGreaterThan(0);
      ex.cancelOrder('a', order.orderId);
      const updates = seen.filter((e) => e.type === 'order_update');
      expect(updates.map((e) => e.type === 'order_update' && e.order.status)).toEqual(['resting', 'canceled']);
      unsubscribe();
      place('a', 'bid', 4000, 100);
      expect(seen.filter((e) => e.type === 'order_update')).toHaveLength(2);
    } finally {
      await new Promise((r) => setTimeout(r, 0));
      process.off('uncaughtException', onError);
    }
  });
});

describe('queries', () => {
  it('filters orders and fills by ticker, status, order and time, newest first', () => {
    const { ex, clock, place } = harness();
    ex.addMarket(marketDef({ ticker: 'OTHER' }));
    const o1 = place('u', 'bid', 4000, 100).order;
    clock.advance(1000);
    const o2 = place('u', 'bid', 4100, 100, { ticker: 'OTHER' }).order;
    clock.advance(1000);
    place('m', 'ask', 4000, 100);
    clock.advance(1000);
    place('m', 'ask', 4100, 50, { ticker: 'OTHER' });
    expect(ex.listOrders('u').map((o) => o.orderId)).toEqual([o2.orderId, o1.orderId]);
    expect(ex.listOrders('u', { status: 'resting' }).map((o) => o.orderId)).toEqual([o2.orderId]);
    expect(ex.listOrders('u', { status: 'executed', ticker: TICKER }).map((o) => o.orderId)).toEqual([o1.orderId]);
    expect(ex.listOrders('u', { ticker: 'OTHER' }).map((o) => o.orderId)).toEqual([o2.orderId]);
    const fills = ex.listFills('u');
    expect(fills.map((f) => f.orderId)).toEqual([o2.orderId, o1.orderId]);
    expect(ex.listFills('u', { orderId: o1.orderId })).toHaveLength(1);
    expect(ex.listFills('u', { ticker: 'OTHER' })[0]!.count).toBe(50);
    expect(ex.listFills('u', { minTsMs: T0 + 2500 }).map((f) => f.orderId)).toEqual([o2.orderId]);
    expect(ex.listFills('u', { maxTsMs: T0 + 2000 }).map((f) => f.orderId)).toEqual([o1.orderId]);
    expect(ex.listTrades().map((t) => t.ticker)).toEqual(['OTHER', TICKER]);
    expect(ex.listOrders('nobody')).toEqual([]);
  });

  it('bounds the kept history by count, never dropping resting orders', () => {
    const { ex, place } = harness({ history: { maxCount: 10 } });
    const resting = place('u', 'bid', 1000, 100).order;
    let last = '';
    for (let i = 0; i < 200; i++) {
      place('m', 'ask', 5000, 100);
      last = place('u', 'bid', 5000, 100, { timeInForce: 'immediate_or_cancel', clientOrderId: `c${i}` }).order.orderId;
    }
    const orders = ex.listOrders('u');
    expect(orders.length).toBeGreaterThanOrEqual(11);
    expect(orders.length).toBeLessThanOrEqual(10 + 64 + 1);
    expect(orders[0]!.orderId).toBe(last);
    expect(ex.getOrder('u', resting.orderId)!.status).toBe('resting');
    expect(ex.listOrders('u', { ticker: TICKER }).length).toBe(orders.length);
    expect(ex.listFills('u').length).toBeLessThanOrEqual(10 + 64);
    expect(ex.listFills('u')[0]!.orderId).toBe(last);
    expect(ex.listTrades().length).toBeLessThanOrEqual(10 + 64);
    // the client_order_id of a dropped order may be used again
    expect(place('u', 'bid', 1000, 100, { clientOrderId: 'c0' }).order.status).toBe('resting');
    expect(ex.listPositions('u')[0]!.position).toBe(20_000);
  });

  it('is deterministic: the same seed and inputs give the same ids and state', () => {
    const run = () => {
      const { ex, place } = harness();
      place('a', 'ask', 5000, 300);
      place('b', 'bid', 5100, 500);
      return { orders: ex.listOrders('b'), fills: ex.listFills('a'), trades: ex.listTrades() };
    };
    expect(run()).toEqual(run());
    const ids = run().orders[0]!.orderId;
    expect(ids).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
