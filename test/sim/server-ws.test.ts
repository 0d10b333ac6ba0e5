/**
 * The simulator's WebSocket endpoint over loopback: signed upgrade, commands and their replies and
 * error codes, orderbook snapshot → deltas with per-sid seq, the private channels a taker order
 * produces, use_yes_price, lifecycle, heartbeat pings on the clock. Every data frame is checked
 * against the WS client's schemas (src/adapters/kalshi/ws.schemas.ts).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signRequest, WS_SIGN_PATH } from '../../src/adapters/kalshi/auth.ts';
import { isFrameError, parseServerFrame, parseServerFrameWithZod } from '../../src/adapters/kalshi/ws.schemas.ts';
import { DECI, LINEAR, ORDER, startHarness, WsProbe, type Harness } from './server.helpers.ts';

function valid(frame: any): any {
  const parsed = parseServerFrameWithZod(frame);
  if (isFrameError(parsed)) throw new Error(`frame failed the client schema: ${parsed.reason} in ${JSON.stringify(frame)}`);
  const fast = parseServerFrame(JSON.stringify(frame));
  if (isFrameError(fast)) throw new Error(`frame failed the fast parser: ${fast.reason}`);
  return parsed;
}

const ofType = (type: string) => (f: any) => f.type === type;

describe('simulator WebSocket', () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
    const ex = h.sim.exchange;
    for (const [side, price] of [['bid', 4000], ['ask', 6000]] as const) {
      expect(ex.createOrder({ userId: 'maker', ticker: LINEAR, side, price, count: 1000, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' }).ok).toBe(true);
    }
  });
  afterEach(async () => {
    await h.close();
  });

  describe('upgrade', () => {
    it('refuses a missing signature with 401', async () => {
      await expect(h.ws({ headers: {} })).rejects.toMatchObject({ status: 401 });
    });

    it('refuses a signature over the wrong path or a stale timestamp with 401', async () => {
      await expect(h.ws({ headers: signRequest(h.creds, 'GET', '/trade-api/v2/portfolio/balance', h.clock.now()) })).rejects.toMatchObject({ status: 401 });
      await expect(h.ws({ headers: signRequest(h.creds, 'GET', WS_SIGN_PATH, h.clock.now() - 120_000) })).rejects.toMatchObject({ status: 401 });
    });

    it('answers 404 on another path', async () => {
      const headers = signRequest(h.creds, 'GET', WS_SIGN_PATH, h.clock.now());
      await expect(WsProbe.connect(h.sim.wsUrl.replace('/ws/v2', '/ws/v9'), headers)).rejects.toMatchObject({ status: 404 });
    });
  });

  it('sends a snapshot then deltas with seq incrementing per sid; client_order_id only on own changes', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } });
    const subscribed = await ws.next(ofType('subscribed'));
    expect(subscribed).toEqual({ id: 1, type: 'subscribed', msg: { channel: 'orderbook_delta', sid: 1 } });
    valid(subscribed);
    const snap = await ws.next(ofType('orderbook_snapshot'));
    expect(snap).toMatchObject({ sid: 1, seq: 1, msg: { market_ticker: LINEAR, yes_dollars_fp: [['0.4000', '10.00']], no_dollars_fp: [['0.4000', '10.00']] } });
    expect(valid(snap).msg.marketId).toMatch(/^[0-9a-f-]{36}$/);

    expect((await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.4500', count: '3', client_order_id: 'mine-1' }))).status).toBe(201);
    const own = await ws.next(ofType('orderbook_delta'));
    expect(own).toMatchObject({ sid: 1, seq: 2, msg: { market_ticker: LINEAR, price_dollars: '0.4500', delta_fp: '3.00', side: 'yes', client_order_id: 'mine-1' } });
    valid(own);

    h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side: 'ask', price: 5800, count: 200, clientOrderId: 'theirs', timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    const theirs = await ws.next(ofType('orderbook_delta'));
    expect(theirs).toMatchObject({ seq: 3, msg: { side: 'no', price_dollars: '0.4200', delta_fp: '2.00' } });
    expect(theirs.msg.client_order_id).toBeUndefined();

    // a cancel is a negative delta
    const listed = await h.rest('GET', '/portfolio/orders?status=resting');
    await h.rest('DELETE', `/portfolio/events/orders/${listed.json.orders[0].order_id}`);
    expect(await ws.next(ofType('orderbook_delta'))).toMatchObject({ seq: 4, msg: { delta_fp: '-3.00', price_dollars: '0.4500' } });
  });

  it('quotes the NO side on the YES scale with use_yes_price', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_tickers: [LINEAR], use_yes_price: true } });
    const snap = await ws.next(ofType('orderbook_snapshot'));
    expect(snap.msg.no_dollars_fp).toEqual([['0.6000', '10.00']]);
    h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side: 'ask', price: 5800, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    expect(await ws.next(ofType('orderbook_delta'))).toMatchObject({ msg: { side: 'no', price_dollars: '0.5800' } });
  });

  it('omits an empty side from the snapshot', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: DECI } });
    const snap = await ws.next(ofType('orderbook_snapshot'));
    expect(snap.msg).not.toHaveProperty('yes_dollars_fp');
    expect(snap.msg).not.toHaveProperty('no_dollars_fp');
    valid(snap);
  });

  it('a taker order produces trade, fill, user_order, market_position and ticker frames', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['trade', 'fill', 'user_orders', 'market_positions', 'ticker'] } });
    const sids: Record<string, number> = {};
    for (let i = 0; i < 5; i++) {
      const s = await ws.next(ofType('subscribed'));
      sids[s.msg.channel] = s.msg.sid;
    }
    expect(new Set(Object.values(sids)).size).toBe(5);

    const created = await h.rest('POST', '/portfolio/events/orders', ORDER({ price: '0.6000', count: '4', client_order_id: 'take-1', time_in_force: 'immediate_or_cancel' }));
    expect(created.json.fill_count).toBe('4.00');

    // the order of the private frames is the exchange's; find each once the last one (ticker) is in
    const ticker = valid(await ws.next(ofType('ticker')));
    expect(ticker).toMatchObject({ sid: sids.ticker, msg: { ticker: LINEAR, price: 6000, yesBid: 4000 } });
    const find = (match: (f: any) => boolean) => {
      const f = ws.frames.find(match);
      expect(f).toBeDefined();
      return valid(f);
    };
    const trade = find(ofType('trade'));
    expect(trade).toMatchObject({ sid: sids.trade, msg: { ticker: LINEAR, yesPrice: 6000, noPrice: 4000, count: 400, takerBookSide: 'bid', takerOutcomeSide: 'yes' } });
    const fill = find(ofType('fill'));
    expect(fill).toMatchObject({ sid: sids.fill, msg: { orderId: created.json.order_id, isTaker: true, count: 400, yesPrice: 6000, postPosition: 400, clientOrderId: 'take-1', bookSide: 'bid', outcomeSide: 'yes' } });
    expect(fill.msg.fee).toBeGreaterThan(0);
    const order = find((f) => f.type === 'user_order' && f.msg.order_id === created.json.order_id);
    expect(order).toMatchObject({ sid: sids.user_orders, msg: { status: 'executed', fillCount: 400, remainingCount: 0, clientOrderId: 'take-1' } });
    const position = find(ofType('market_position'));
    expect(position).toMatchObject({ sid: sids.market_positions, msg: { ticker: LINEAR, position: 400, volume: 400, userId: 'alice' } });

    // the maker's private frames never reach this user
    await ws.sync();
    const fills = ws.frames.filter((f) => f.type === 'fill');
    expect(fills).toHaveLength(1);
    expect(ws.frames.filter((f) => f.type === 'user_order').every((f) => f.msg.user_id === 'alice')).toBe(true);
  });

  it('replies to bad commands with Kalshi error codes', async () => {
    const ws = await h.ws();
    const expectError = async (command: unknown, code: number, extra: Record<string, unknown> = {}) => {
      ws.send(command as object);
      const f = await ws.next(ofType('error'));
      expect(f.msg).toMatchObject({ code, ...extra });
      valid(f);
    };
    ws.socket.send('not json');
    expect((await ws.next(ofType('error'))).msg.code).toBe(1);
    await expectError({ id: 2, cmd: 'explode' }, 5);
    await expectError({ id: 3, cmd: 'subscribe' }, 2);
    await expectError({ id: 4, cmd: 'subscribe', params: {} }, 3);
    await expectError({ id: 5, cmd: 'subscribe', params: { channels: ['nonsense'] } }, 8);
    await expectError({ id: 6, cmd: 'subscribe', params: { channels: ['orderbook_delta'] } }, 14);
    await expectError({ id: 7, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: 'NOPE-1' } }, 16, { market_ticker: 'NOPE-1' });
    await expectError({ id: 8, cmd: 'subscribe', params: { channels: ['ticker'], market_ticker: LINEAR, market_tickers: [LINEAR] } }, 11);
    await expectError({ id: 9, cmd: 'unsubscribe', params: { sids: [99] } }, 7);
    await expectError({ id: 10, cmd: 'unsubscribe', params: {} }, 4);
    ws.send({ id: 11, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } });
    await ws.next(ofType('subscribed'));
    await expectError({ id: 12, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } }, 6);
    await expectError({ id: 13, cmd: 'update_subscription', params: { sids: [1], market_tickers: [DECI] } }, 15);
    await expectError({ id: 14, cmd: 'update_subscription', params: { sids: [1], market_tickers: [DECI], action: 'explode' } }, 13);
    await expectError({ id: 15, cmd: 'update_subscription', params: { sids: [1, 2], market_tickers: [DECI], action: 'add_markets' } }, 12);
    await expectError({ id: 16, cmd: 'update_subscription', params: { sid: 77, market_tickers: [DECI], action: 'add_markets' } }, 7);
    await expectError({ id: 17, cmd: 'update_subscription', params: { sid: 1, action: 'add_markets' } }, 14);
    // binary frames cannot be commands
    ws.socket.send(Buffer.from([1, 2, 3]));
    expect((await ws.next(ofType('error'))).msg.code).toBe(1);
    // the connection survives all of it
    ws.send({ id: 18, cmd: 'list_subscriptions' });
    expect(await ws.next((f) => f.id === 18)).toEqual({ id: 18, type: 'ok', msg: [{ channel: 'orderbook_delta', sid: 1 }] });
  });

  it('update_subscription adds and deletes markets and re-sends snapshots; unsubscribe reports the seq', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } });
    await ws.next(ofType('subscribed'));
    expect((await ws.next(ofType('orderbook_snapshot'))).seq).toBe(1);

    ws.send({ id: 2, cmd: 'update_subscription', params: { sids: [1], market_tickers: [DECI], action: 'add_markets' } });
    const ok = await ws.next((f) => f.id === 2);
    expect(ok).toMatchObject({ type: 'ok', sid: 1, seq: 1, msg: { market_tickers: [LINEAR, DECI] } });
    valid(ok);
    expect(await ws.next(ofType('orderbook_snapshot'))).toMatchObject({ seq: 2, msg: { market_ticker: DECI } });

    ws.send({ id: 3, cmd: 'update_subscription', params: { sid: 1, market_tickers: [LINEAR], action: 'get_snapshot' } });
    expect(await ws.next((f) => f.id === 3)).toMatchObject({ type: 'ok', seq: 2 });
    expect(await ws.next(ofType('orderbook_snapshot'))).toMatchObject({ seq: 3, msg: { market_ticker: LINEAR } });

    ws.send({ id: 4, cmd: 'update_subscription', params: { sid: 1, market_tickers: [LINEAR], action: 'delete_markets' } });
    expect(await ws.next((f) => f.id === 4)).toMatchObject({ msg: { market_tickers: [DECI] } });
    h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side: 'bid', price: 4100, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    h.sim.exchange.createOrder({ userId: 'maker', ticker: DECI, side: 'bid', price: 4150, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    const delta = await ws.next(ofType('orderbook_delta'));
    expect(delta).toMatchObject({ seq: 4, msg: { market_ticker: DECI, price_dollars: '0.4150' } });

    ws.send({ id: 5, cmd: 'unsubscribe', params: { sids: [1] } });
    const unsub = await ws.next((f) => f.id === 5);
    expect(unsub).toEqual({ id: 5, sid: 1, seq: 4, type: 'unsubscribed' });
    valid(unsub);
    ws.send({ id: 6, cmd: 'list_subscriptions' });
    expect((await ws.next((f) => f.id === 6)).msg).toEqual([]);
  });

  it('sends the initial ticker when asked; lifecycle frames on settlement', async () => {
    const ws = await h.ws();
    ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['ticker'], market_tickers: [LINEAR], send_initial_snapshot: true } });
    await ws.next(ofType('subscribed'));
    const t = await ws.next(ofType('ticker'));
    expect(t.msg).toMatchObject({ market_ticker: LINEAR, yes_bid_dollars: '0.4000', yes_ask_dollars: '0.6000', price_dollars: '' });
    valid(t);

    ws.send({ id: 2, cmd: 'subscribe', params: { channels: ['market_lifecycle_v2'] } });
    await ws.next(ofType('subscribed'));
    h.sim.exchange.settleMarket(LINEAR, 'no');
    const determined = valid(await ws.next((f) => f.type === 'market_lifecycle_v2' && f.msg.event_type === 'determined'));
    expect(determined.msg).toMatchObject({ ticker: LINEAR, result: 'no', settlementValue: 0 });
    const settled = valid(await ws.next((f) => f.type === 'market_lifecycle_v2' && f.msg.event_type === 'settled'));
    expect(settled.msg.settledTs).toBe(Math.floor(h.clock.now() / 1000));
  });

  it('pings every 10 s of exchange-clock time with body "heartbeat"', async () => {
    const ws = await h.ws();
    const payloads: string[] = [];
    ws.socket.on('ping', (data) => payloads.push(data.toString()));
    h.clock.advance(9_999);
    await ws.sync();
    expect(ws.pings).toBe(0);
    h.clock.advance(1);
    await ws.until(() => ws.pings === 1);
    h.clock.advance(20_000);
    await ws.until(() => ws.pings === 3);
    expect(payloads).toEqual(['heartbeat', 'heartbeat', 'heartbeat']);
  });

  it('survives arbitrary commands: the connection stays up and every frame it sends is valid', async () => {
    const ws = await h.ws();
    const params = fc.oneof(
      fc.anything(),
      fc.record(
        {
          channels: fc.oneof(fc.anything(), fc.array(fc.constantFrom('orderbook_delta', 'ticker', 'trade', 'fill', 'bogus'), { maxLength: 3 })),
          market_ticker: fc.oneof(fc.anything(), fc.constantFrom(LINEAR, DECI, 'NOPE')),
          market_tickers: fc.oneof(fc.anything(), fc.array(fc.constantFrom(LINEAR, DECI, 'NOPE'), { maxLength: 3 })),
          sids: fc.oneof(fc.anything(), fc.array(fc.integer({ min: -1, max: 5 }), { maxLength: 3 })),
          sid: fc.oneof(fc.anything(), fc.integer({ min: -1, max: 5 })),
          action: fc.oneof(fc.anything(), fc.constantFrom('add_markets', 'delete_markets', 'get_snapshot')),
        },
        { requiredKeys: [] },
      ),
    );
    const command = fc.record({
      id: fc.integer({ min: 1, max: 1_000_000 }),
      cmd: fc.oneof(fc.string(), fc.constantFrom('subscribe', 'unsubscribe', 'update_subscription', 'list_subscriptions')),
      params,
    });
    const commands = fc.sample(command, { numRuns: 200, seed: 7 });
    for (const c of commands) ws.socket.send(JSON.stringify(c));
    ws.send({ id: 2_000_001, cmd: 'list_subscriptions' });
    await ws.next((f) => f.id === 2_000_001);
    expect(ws.closed).toBe(false);
    for (const f of ws.frames) valid(f);
  });

  it('keeps serving other connections when one disappears mid-stream', async () => {
    const a = await h.ws();
    const b = await h.ws();
    for (const ws of [a, b]) ws.send({ id: 1, cmd: 'subscribe', params: { channels: ['orderbook_delta'], market_ticker: LINEAR } });
    await a.next(ofType('orderbook_snapshot'));
    await b.next(ofType('orderbook_snapshot'));
    a.terminate();
    h.sim.exchange.createOrder({ userId: 'maker', ticker: LINEAR, side: 'bid', price: 4100, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' });
    expect(await b.next(ofType('orderbook_delta'))).toMatchObject({ seq: 2 });
  });
});
