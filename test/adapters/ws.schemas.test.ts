import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  isFrameError,
  listSubscriptionsCommand,
  parseClientCommand,
  parseServerFrame,
  parseServerFrameWithZod,
  subscribeCommand,
  unsubscribeCommand,
  updateSubscriptionCommand,
  type ParsedFrame,
} from '../../src/adapters/kalshi/ws.schemas.ts';

function ok(text: string | object): ParsedFrame {
  const parsed = parseServerFrame(typeof text === 'string' ? text : JSON.stringify(text));
  if (isFrameError(parsed)) throw new Error(`unexpected frame error: ${parsed.reason}`);
  return parsed;
}

function bad(text: string | object): string {
  const parsed = parseServerFrame(typeof text === 'string' ? text : JSON.stringify(text));
  if (!isFrameError(parsed)) throw new Error(`expected a frame error, got ${parsed.type}`);
  return parsed.reason;
}

const DELTA = {
  type: 'orderbook_delta',
  sid: 2,
  seq: 3,
  msg: {
    market_ticker: 'FED-23DEC-T3.00',
    market_id: '9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1',
    price_dollars: '0.960',
    delta_fp: '-54.00',
    side: 'yes',
    ts: '2022-11-22T20:44:01Z',
    ts_ms: 1669149841000,
  },
};

describe('server frames (kalshi-api.md §5 examples)', () => {
  it('parses control replies', () => {
    expect(ok('{"id":1,"type":"subscribed","msg":{"channel":"orderbook_delta","sid":1}}')).toEqual({
      type: 'subscribed',
      id: 1,
      channel: 'orderbook_delta',
      sid: 1,
    });
    expect(ok('{"id":102,"sid":2,"seq":7,"type":"unsubscribed"}')).toEqual({ type: 'unsubscribed', id: 102, sid: 2, seq: 7 });
    expect(ok('{"id":123,"sid":456,"seq":222,"type":"ok","msg":{"market_tickers":["MARKET-1","MARKET-2"]}}')).toEqual({
      type: 'ok',
      id: 123,
      sid: 456,
      seq: 222,
      marketTickers: ['MARKET-1', 'MARKET-2'],
      subscriptions: undefined,
    });
    expect(ok('{"id":3,"type":"ok","msg":[{"channel":"orderbook_delta","sid":1},{"channel":"ticker","sid":2}]}')).toMatchObject({
      type: 'ok',
      subscriptions: [
        { channel: 'orderbook_delta', sid: 1 },
        { channel: 'ticker', sid: 2 },
      ],
    });
    expect(ok('{"id":127,"type":"error","msg":{"code":16,"msg":"Market not found","market_ticker":"INVALID-MARKET"}}')).toEqual({
      type: 'error',
      id: 127,
      code: 16,
      message: 'Market not found',
      marketTicker: 'INVALID-MARKET',
    });
  });

  it('parses a snapshot into integer levels, an omitted side being empty', () => {
    const frame = ok({
      type: 'orderbook_snapshot',
      sid: 2,
      seq: 2,
      msg: { market_ticker: 'FED-23DEC-T3.00', yes_dollars_fp: [['0.0800', '300.00'], ['0.2200', '333.00']] },
    });
    expect(frame).toEqual({
      type: 'orderbook_snapshot',
      sid: 2,
      seq: 2,
      msg: { ticker: 'FED-23DEC-T3.00', marketId: undefined, yes: [[800, 30000], [2200, 33300]], no: [] },
    });
  });

  it('parses a delta with a signed count and sub-cent price', () => {
    expect(ok(DELTA)).toEqual({
      type: 'orderbook_delta',
      sid: 2,
      seq: 3,
      msg: {
        ticker: 'FED-23DEC-T3.00',
        marketId: '9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1',
        side: 'yes',
        price: 9600,
        delta: -5400,
        clientOrderId: undefined,
        subaccount: undefined,
        tsMs: 1669149841000,
      },
    });
    const own = ok({ ...DELTA, msg: { ...DELTA.msg, price_dollars: '0.0015', client_order_id: 'c-1', subaccount: 3 } });
    expect(own).toMatchObject({ msg: { price: 15, clientOrderId: 'c-1', subaccount: 3 } });
  });

  it('parses ticker (empty last price = none) and trade (no price derived when absent)', () => {
    expect(
      ok({
        type: 'ticker',
        sid: 11,
        msg: {
          market_ticker: 'FED-23DEC-T3.00',
          price_dollars: '',
          yes_bid_dollars: '0.450',
          yes_ask_dollars: '0.530',
          volume_fp: '33896.00',
          open_interest_fp: '20422.00',
          dollar_volume: 16948,
          yes_bid_size_fp: '300.00',
          ts_ms: 1669149841000,
          Clock: 123,
        },
      }),
    ).toMatchObject({
      type: 'ticker',
      sid: 11,
      seq: undefined,
      msg: { price: undefined, yesBid: 4500, yesAsk: 5300, volume: 3389600, openInterest: 2042200, yesBidSize: 30000, tsMs: 1669149841000 },
    });
    expect(
      ok({
        type: 'trade',
        sid: 5,
        seq: 9,
        msg: {
          trade_id: 't-1',
          market_ticker: 'X-1',
          yes_price_dollars: '0.3600',
          count_fp: '25.00',
          taker_side: 'no',
          taker_outcome_side: 'no',
          taker_book_side: 'ask',
          ts_ms: 5,
        },
      }),
    ).toEqual({
      type: 'trade',
      sid: 5,
      seq: 9,
      msg: {
        tradeId: 't-1',
        ticker: 'X-1',
        yesPrice: 3600,
        noPrice: 6400,
        count: 2500,
        takerOutcomeSide: 'no',
        takerBookSide: 'ask',
        takerSide: 'no',
        tsMs: 5,
      },
    });
  });

  it('parses private channels: fill, market_position, user_order', () => {
    expect(
      ok({
        type: 'fill',
        sid: 13,
        msg: {
          trade_id: 'd91bc706',
          order_id: 'ee587a1c',
          market_ticker: 'HIGHNY-22DEC23-B53.5'.replace('.', '-'),
          is_taker: true,
          side: 'yes',
          yes_price_dollars: '0.750',
          count_fp: '278.00',
          action: 'buy',
          ts: 1671899397,
          ts_ms: 1671899397000,
          post_position_fp: '-500.00',
          purchased_side: 'yes',
          fee_cost: '0.123456',
          subaccount: 3,
        },
      }),
    ).toMatchObject({
      type: 'fill',
      msg: { yesPrice: 7500, count: 27800, postPosition: -50000, fee: 123456, isTaker: true, action: 'buy', subaccount: 3 },
    });
    expect(
      ok({
        type: 'market_position',
        sid: 4,
        msg: {
          user_id: 'u',
          market_ticker: 'M-1',
          position_fp: '-10.00',
          position_cost_dollars: '4.2000',
          realized_pnl_dollars: '-0.18',
          fees_paid_dollars: '0.07',
          volume_fp: '30.00',
        },
      }),
    ).toMatchObject({ msg: { position: -1000, positionCost: 4_200_000, realizedPnl: -180_000, feesPaid: 70_000, volume: 3000 } });
    expect(
      ok({
        type: 'user_order',
        sid: 6,
        msg: {
          order_id: 'o-1',
          ticker: 'M-1',
          status: 'resting',
          yes_price_dollars: '0.4200',
          remaining_count_fp: '5.00',
          client_order_id: 'c-9',
          created_ts_ms: 10,
        },
      }),
    ).toMatchObject({ msg: { orderId: 'o-1', ticker: 'M-1', status: 'resting', yesPrice: 4200, remainingCount: 500, clientOrderId: 'c-9' } });
  });

  it('parses lifecycle frames and passes unknown types through as unknown', () => {
    expect(
      ok({
        type: 'market_lifecycle_v2',
        sid: 7,
        msg: { event_type: 'settled', market_ticker: 'M-1', result: 'yes', settlement_value: '1.0000', settled_ts: 99 },
      }),
    ).toMatchObject({ type: 'market_lifecycle_v2', msg: { eventType: 'settled', ticker: 'M-1', settlementValue: 10_000, settledTs: 99 } });
    expect(ok({ type: 'event_lifecycle', sid: 7, msg: { event_ticker: 'EV-1', title: 'T' } })).toMatchObject({
      msg: { eventTicker: 'EV-1', title: 'T' },
    });
    expect(ok({ type: 'rfq_created', sid: 8, seq: 4, msg: {} })).toEqual({
      type: 'unknown',
      frameType: 'rfq_created',
      sid: 8,
      seq: 4,
    });
    expect(ok({ type: 'order_group_updates', sid: 8, seq: 5, msg: { event_type: 'created', order_group_id: 'g-1', contracts_limit_fp: '10.00' } })).toEqual({
      type: 'order_group_updates',
      sid: 8,
      seq: 5,
      msg: { eventType: 'created', orderGroupId: 'g-1', contractsLimit: 1000 },
    });
  });

  it('treats null optional fields as absent', () => {
    expect(ok({ ...DELTA, msg: { ...DELTA.msg, client_order_id: null, ts_ms: null } })).toMatchObject({
      msg: { clientOrderId: undefined, tsMs: undefined },
    });
  });

  it('rejects bad JSON and schema violations with a reason, never throwing', () => {
    expect(bad('{"type":')).toMatch(/invalid JSON/);
    expect(bad('[1,2]')).toMatch(/not a JSON object/);
    expect(bad({ sid: 1 })).toMatch(/type/);
    expect(bad({ ...DELTA, seq: 0 })).toMatch(/seq/);
    expect(bad({ ...DELTA, sid: '2' })).toMatch(/sid/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, price_dollars: '1.5' } })).toMatch(/price_dollars.*outside/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, price_dollars: '0.12345' } })).toMatch(/price_dollars/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, price_dollars: 0.96 } })).toMatch(/price_dollars/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, delta_fp: '1.001' } })).toMatch(/delta_fp/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, side: 'maybe' } })).toMatch(/side/);
    expect(bad({ ...DELTA, msg: { ...DELTA.msg, market_ticker: '' } })).toMatch(/market_ticker/);
    expect(bad({ type: 'orderbook_snapshot', sid: 1, seq: 1, msg: { market_ticker: 'A', yes_dollars_fp: [['0.5', '-1.00']] } })).toMatch(
      /negative/,
    );
    expect(bad({ type: 'subscribed', msg: { channel: 'ticker' } })).toMatch(/subscribed: msg.sid/);
    expect(bad({ type: 'error', msg: { msg: 'x' } })).toMatch(/code/);
    expect(bad({ type: 'order_group_updates', sid: -1 })).toMatch(/sid/);
  });
});

// The hot types have hand-written validators; they must agree with their zod schemas on every
// input, valid or not.
describe('fast validators agree with the zod schemas', () => {
  // mostly valid values, so a good share of whole frames is valid too
  const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
    fc.oneof({ arbitrary: valid, weight: 20 }, { arbitrary: invalid, weight: 1 });
  const priceStr = mostly(
    fc.integer({ min: 0, max: 10_000 }).map((p) => (p / 10_000).toFixed(4)),
    fc.constantFrom('', '1.5', '-0.10', '0.12345', 'abc', '0.5000000', '1', '0', 0.5, null),
  );
  const countStr = mostly(
    fc.integer({ min: -100_000, max: 100_000 }).map((c) => (c / 100).toFixed(2)),
    fc.constantFrom('1.001', 'x', '12', '-0.00', 7, null),
  );
  const sizeStr = mostly(
    fc.integer({ min: 0, max: 100_000 }).map((c) => (c / 100).toFixed(2)),
    fc.constantFrom('-1.00', '1.001', 'x', 7, null),
  );
  const optInt = mostly(fc.oneof(fc.constant(undefined), fc.integer({ min: 0 })), fc.constantFrom(null, 1.5, '9', -3));
  const side = mostly(fc.constantFrom('yes', 'no'), fc.constantFrom('bid', '', undefined, null));
  const sid = mostly(fc.integer({ min: 0, max: 50 }), fc.constantFrom(-1, '1', undefined, 2.5));
  const seq = mostly(fc.integer({ min: 1, max: 50 }), fc.constantFrom(0, -1, undefined, null));
  const ticker = mostly(fc.constant('A-1'), fc.constantFrom('', undefined, 5));
  const optStr = mostly(fc.oneof(fc.constant(undefined), fc.string({ maxLength: 4 })), fc.constantFrom(null, 3));

  const strip = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

  const tradeId = mostly(fc.string({ minLength: 1, maxLength: 4 }), fc.constantFrom('', undefined, 3));
  const delta = fc.record({ sid, seq, msg: mostly(
    fc.record({ market_ticker: ticker, market_id: optStr, price_dollars: priceStr, delta_fp: countStr, side, client_order_id: optStr, subaccount: optInt, ts_ms: optInt }).map(strip),
    fc.constantFrom(null, [], 'm'),
  ) }).map((f) => ({ type: 'orderbook_delta', ...strip(f) }));
  const ticker_ = fc.record({ sid, seq, msg: fc.record({
    market_ticker: ticker, market_id: optStr, price_dollars: priceStr, yes_bid_dollars: priceStr, yes_ask_dollars: priceStr,
    yes_bid_size_fp: sizeStr, yes_ask_size_fp: sizeStr, last_trade_size_fp: sizeStr, volume_fp: sizeStr, open_interest_fp: sizeStr, ts_ms: optInt,
  }).map(strip) }).map((f) => ({ type: 'ticker', ...strip(f) }));
  const trade = fc.record({ sid, seq, msg: fc.record({
    trade_id: tradeId, market_ticker: ticker, yes_price_dollars: priceStr, no_price_dollars: priceStr, count_fp: sizeStr,
    taker_outcome_side: side, taker_book_side: mostly(fc.constantFrom('bid', 'ask', undefined), fc.constantFrom('yes', null)), taker_side: side, ts_ms: optInt,
  }).map(strip) }).map((f) => ({ type: 'trade', ...strip(f) }));

  it('accepts and rejects the same frames and produces the same values', () => {
    fc.assert(
      fc.property(fc.oneof(delta, ticker_, trade), (frame) => {
        const fast = parseServerFrame(JSON.stringify(frame));
        const reference = parseServerFrameWithZod(JSON.parse(JSON.stringify(frame)));
        expect(isFrameError(fast)).toBe(isFrameError(reference));
        if (!isFrameError(fast)) expect(fast).toEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });

  it('the generators reach valid frames of every hot type', () => {
    // guards the property above against only ever comparing two rejections
    const valid = { orderbook_delta: 0, ticker: 0, trade: 0 };
    fc.assert(
      fc.property(fc.oneof(delta, ticker_, trade), (frame) => {
        const parsed = parseServerFrame(JSON.stringify(frame));
        if (!isFrameError(parsed)) valid[parsed.type as keyof typeof valid] += 1;
      }),
      { numRuns: 3000, seed: 7 },
    );
    expect(valid.orderbook_delta).toBeGreaterThan(100);
    expect(valid.ticker).toBeGreaterThan(100);
    expect(valid.trade).toBeGreaterThan(100);
  });
});

describe('commands', () => {
  it('builds the documented command shapes', () => {
    expect(subscribeCommand(1, ['orderbook_delta'], { marketTickers: ['A-1', 'B-2'], useYesPrice: false })).toEqual({
      id: 1,
      cmd: 'subscribe',
      params: { channels: ['orderbook_delta'], market_tickers: ['A-1', 'B-2'], use_yes_price: false },
    });
    expect(subscribeCommand(3, ['fill'])).toEqual({ id: 3, cmd: 'subscribe', params: { channels: ['fill'] } });
    expect(unsubscribeCommand(124, [1, 2])).toEqual({ id: 124, cmd: 'unsubscribe', params: { sids: [1, 2] } });
    expect(updateSubscriptionCommand(127, 456, 'get_snapshot', ['M-1'])).toEqual({
      id: 127,
      cmd: 'update_subscription',
      params: { sids: [456], market_tickers: ['M-1'], action: 'get_snapshot' },
    });
    expect(listSubscriptionsCommand(3)).toEqual({ id: 3, cmd: 'list_subscriptions' });
  });

  it('parses what the builders produce, server side', () => {
    const sub = parseClientCommand(JSON.stringify(subscribeCommand(1, ['orderbook_delta', 'ticker'], { marketTickers: ['A-1'], useYesPrice: true })));
    expect(sub).toEqual({
      ok: true,
      command: {
        id: 1,
        cmd: 'subscribe',
        channels: ['orderbook_delta', 'ticker'],
        marketTickers: ['A-1'],
        sendInitialSnapshot: false,
        skipTickerAck: false,
        useYesPrice: true,
      },
    });
    expect(parseClientCommand(JSON.stringify(updateSubscriptionCommand(2, 9, 'add_markets', ['B-1'])))).toEqual({
      ok: true,
      command: { id: 2, cmd: 'update_subscription', sid: 9, marketTickers: ['B-1'], action: 'add_markets' },
    });
    // the single-sid form from the spec examples
    expect(
      parseClientCommand('{"id":126,"cmd":"update_subscription","params":{"sid":456,"market_tickers":["NEW-3"],"action":"add_markets"}}'),
    ).toMatchObject({ ok: true, command: { sid: 456 } });
    expect(parseClientCommand('{"id":5,"cmd":"subscribe","params":{"channels":["orderbook_delta"],"market_ticker":"CPI-22DEC-TN0-1"}}')).toMatchObject({
      ok: true,
      command: { marketTickers: ['CPI-22DEC-TN0-1'] },
    });
  });

  it('answers bad commands with Kalshi error codes', () => {
    const code = (text: string) => {
      const r = parseClientCommand(text);
      return r.ok ? 'ok' : r.rejection.code;
    };
    expect(code('nope')).toBe(1);
    expect(code('{"id":1,"cmd":"dance"}')).toBe(5);
    expect(code('{"id":1,"cmd":"subscribe"}')).toBe(2);
    expect(code('{"id":1,"cmd":"subscribe","params":{"channels":[]}}')).toBe(3);
    expect(code('{"id":1,"cmd":"subscribe","params":{"channels":["weather"]}}')).toBe(8);
    expect(code('{"id":1,"cmd":"subscribe","params":{"channels":["orderbook_delta"]}}')).toBe(14);
    expect(code('{"id":1,"cmd":"subscribe","params":{"channels":["ticker"],"market_tickers":["lower-case"]}}')).toBe(11);
    expect(code('{"id":1,"cmd":"unsubscribe","params":{}}')).toBe(4);
    expect(code('{"id":1,"cmd":"update_subscription","params":{"sids":[1,2],"market_tickers":["A"],"action":"add_markets"}}')).toBe(12);
    expect(code('{"id":1,"cmd":"update_subscription","params":{"sids":[1],"market_tickers":["A"]}}')).toBe(15);
    expect(code('{"id":1,"cmd":"update_subscription","params":{"sids":[1],"market_tickers":["A"],"action":"jump"}}')).toBe(13);
    expect(code('{"id":3,"cmd":"list_subscriptions"}')).toBe('ok');
    const rejected = parseClientCommand('{"id":42,"cmd":"dance"}');
    expect(rejected).toEqual({ ok: false, rejection: { id: 42, code: 5, message: 'Unknown command: dance' } });
  });
});
