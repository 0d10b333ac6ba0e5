/**
 * Kalshi WS frame parsing: frames parsed and validated (JSON.parse + schema + conversion to integer
 * units) per second on one core, for a realistic mix — mostly orderbook_delta, some ticker and
 * trade, an occasional snapshot. Goal ≥ 200,000 frames/s. Also prints the zod-only path, which is
 * what the hand-written validators for the hot types are there to beat.
 */
import { opsPerSecond, report } from './harness.ts';
import { isFrameError, parseServerFrame, parseServerFrameWithZod } from '../src/adapters/kalshi/ws.schemas.ts';

const FRAMES = 20_000;

/** Deterministic PRNG so every run parses the same frames. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = mulberry32(42);
const int = (n: number) => Math.floor(rnd() * n);
const tickers = Array.from({ length: 50 }, (_, i) => `KXHIGHNY-26NOV23-B${50 + i}.5`.replace('.', '-'));
const money = (cents: number) => (cents / 100).toFixed(4);
const fp = (n: number) => n.toFixed(2);

function deltaFrame(seq: number): string {
  return JSON.stringify({
    type: 'orderbook_delta',
    sid: 2,
    seq,
    msg: {
      market_ticker: tickers[int(tickers.length)],
      market_id: '9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1',
      price_dollars: money(1 + int(99)),
      delta_fp: fp((int(2) === 0 ? -1 : 1) * (1 + int(500))),
      side: int(2) === 0 ? 'yes' : 'no',
      ts: '2026-11-23T20:44:01Z',
      ts_ms: 1_795_000_000_000 + seq,
    },
  });
}

function tickerFrame(): string {
  const bid = 1 + int(90);
  return JSON.stringify({
    type: 'ticker',
    sid: 11,
    msg: {
      market_ticker: tickers[int(tickers.length)],
      market_id: '9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1',
      price_dollars: money(bid + 1),
      yes_bid_dollars: money(bid),
      yes_ask_dollars: money(bid + 2),
      volume_fp: fp(int(100_000)),
      open_interest_fp: fp(int(50_000)),
      dollar_volume: int(50_000),
      dollar_open_interest: int(25_000),
      yes_bid_size_fp: fp(int(1000)),
      yes_ask_size_fp: fp(int(1000)),
      last_trade_size_fp: fp(1 + int(100)),
      ts: 1_795_000_000,
      ts_ms: 1_795_000_000_000,
      time: '2026-11-23T20:44:01Z',
    },
  });
}

function tradeFrame(i: number): string {
  const yes = 1 + int(98);
  return JSON.stringify({
    type: 'trade',
    sid: 12,
    msg: {
      trade_id: `d91bc706-ee58-4a1c-9b3e-${String(i).padStart(12, '0')}`,
      market_ticker: tickers[int(tickers.length)],
      yes_price_dollars: money(yes),
      no_price_dollars: money(100 - yes),
      count_fp: fp(1 + int(200)),
      taker_side: 'yes',
      taker_outcome_side: 'yes',
      taker_book_side: 'bid',
      ts: 1_795_000_000,
      ts_ms: 1_795_000_000_000 + i,
    },
  });
}

function snapshotFrame(seq: number): string {
  const levels = (n: number) => Array.from({ length: n }, (_, k) => [money(1 + k * 3), fp(1 + int(500))]);
  return JSON.stringify({
    type: 'orderbook_snapshot',
    sid: 2,
    seq,
    msg: { market_ticker: tickers[int(tickers.length)], market_id: 'x', yes_dollars_fp: levels(15), no_dollars_fp: levels(15) },
  });
}

const frames: string[] = [];
let seq = 1;
const counts = { orderbook_delta: 0, ticker: 0, trade: 0, orderbook_snapshot: 0 };
for (let i = 0; i < FRAMES; i++) {
  const r = rnd();
  if (r < 0.85) {
    frames.push(deltaFrame(seq++));
    counts.orderbook_delta++;
  } else if (r < 0.93) {
    frames.push(tickerFrame());
    counts.ticker++;
  } else if (r < 0.995) {
    frames.push(tradeFrame(i));
    counts.trade++;
  } else {
    frames.push(snapshotFrame(seq++));
    counts.orderbook_snapshot++;
  }
}
const meanBytes = Math.round(frames.reduce((s, f) => s + f.length, 0) / frames.length);

// Every frame of the mix must be valid, or the figure would measure the error path.
for (const f of frames) {
  const parsed = parseServerFrame(f);
  if (isFrameError(parsed)) throw new Error(`bench frame rejected: ${parsed.reason}`);
}

let cursor = 0;
const BATCH = 1000;
let sink = 0;
function parseBatch(parse: (text: string) => { type: string }): number {
  for (let i = 0; i < BATCH; i++) {
    const parsed = parse(frames[cursor]);
    sink += parsed.type.length;
    cursor = cursor + 1 === frames.length ? 0 : cursor + 1;
  }
  return BATCH;
}

const mix = { ...counts, meanBytes };
const fast = opsPerSecond(() => parseBatch(parseServerFrame), 2000);
report({ bench: 'ws-parse', metric: 'frames_per_second', value: Math.round(fast), unit: 'frames/s', goal: '>= 200000', path: 'parseServerFrame', mix });

const zodOnly = opsPerSecond(() => parseBatch((t) => parseServerFrameWithZod(JSON.parse(t))), 2000);
report({ bench: 'ws-parse', metric: 'frames_per_second_zod_only', value: Math.round(zodOnly), unit: 'frames/s', path: 'JSON.parse + zod', mix });

const jsonOnly = opsPerSecond(() => parseBatch((t) => JSON.parse(t) as { type: string }), 2000);
report({ bench: 'ws-parse', metric: 'frames_per_second_json_parse_only', value: Math.round(jsonOnly), unit: 'frames/s', path: 'JSON.parse (floor)', mix });

if (sink === 0) console.error('unreachable');
