/**
 * The regime generators do not leak what a policy should not know, and their markets have informed
 * flow: the trending regime's starting price does not tell the drift's direction, every seed's
 * session starts at the same time of day (`time_of_day_norm` does not identify the seed), and an
 * informed taker trades ahead of scheduled jumps and with the drift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRecordedSession, migrate, openDatabase } from '../../src/adapters/store/index.ts';
import type { Database } from '../../src/adapters/store/index.ts';
import { VirtualClock } from '../../src/core/clock.ts';
import { FEATURE_INDEX } from '../../src/core/features.ts';
import { featuresTable } from '../../src/rl/evaluate.ts';
import { fromRecordedTimeline } from '../../src/rl/timeline.ts';
import { REGIMES, recordRegimeSession } from '../../src/sessions/regimes.ts';
import { SyntheticActivity } from '../../src/sim/activity/activity.ts';
import { marketDefinitionFor, marketSpecSchema, type MarketSpec } from '../../src/sim/activity/markets.ts';
import { Exchange } from '../../src/sim/exchange.ts';

describe('trending regime', () => {
  it('draws the starting price apart from the drift direction (no threshold on the price predicts it)', () => {
    const markets = Array.from({ length: 200 }, (_, k) => REGIMES.trending.markets(k + 1, 3, 20 * 60_000)).flat();
    for (const m of markets) expect(marketSpecSchema.safeParse(m).success).toBe(true);
    const up = markets.filter((m) => (m.drift ?? 0) > 0).map((m) => m.fair);
    const down = markets.filter((m) => (m.drift ?? 0) < 0).map((m) => m.fair);
    expect(up.length).toBeGreaterThan(200);
    expect(down.length).toBeGreaterThan(200);
    // the best single threshold on the starting price, either way round
    let best = 0;
    for (const t of [...up, ...down]) {
      const hits = up.filter((f) => f > t).length + down.filter((f) => f <= t).length;
      best = Math.max(best, hits, markets.length - hits);
    }
    // before: up markets started at 0.22–0.37 and down ones at 0.63–0.78 (accuracy 100 %)
    expect(best / markets.length).toBeLessThan(0.6);
  });
});

describe('regime recordings', () => {
  let dir: string;
  let db: Database;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kf-regimes-'));
    db = await openDatabase({ dataDir: join(dir, 'db'), poolSize: 1 });
    await migrate(db.pool);
  });

  afterAll(async () => {
    await db?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('start at the same time of day for every seed: time_of_day_norm does not identify the seed', async () => {
    const firstTimeOfDay: number[] = [];
    for (const seed of [1, 2, 7]) {
      const r = await recordRegimeSession({ pool: db.pool, regime: 'calm', seed, durationMs: 15_000, markets: 1 });
      const loaded = await loadRecordedSession(db.pool, r.sessionId);
      const table = featuresTable(fromRecordedTimeline(loaded.markets[0], r.sessionId));
      const column = 2 + FEATURE_INDEX.time_of_day_norm;
      firstTimeOfDay.push(table.rows[0][column]);
    }
    // before: 09:30 + seed hours (seed 1 → 10:30, seed 2 → 11:30, seed 7 → 16:30)
    // (the first tick may differ by the few virtual ms a connection takes; an hour is ~0.04)
    expect(Math.max(...firstTimeOfDay) - Math.min(...firstTimeOfDay)).toBeLessThan(1e-4);
  }, 60_000);
});

describe('informed flow', () => {
  const T0 = Date.UTC(2026, 0, 5, 14, 30);

  function run(spec: MarketSpec, ms: number) {
    const clock = new VirtualClock(T0);
    const exchange = new Exchange({ clock, seed: 3 });
    exchange.addMarket(marketDefinitionFor(spec, clock.now()));
    const activity = new SyntheticActivity({ exchange, clock, seed: 3, markets: [spec] });
    activity.start();
    clock.advance(ms);
    activity.stop();
    const informed = activity.participants().find((u) => u.startsWith('sim-informed-'));
    const fills = informed ? exchange.listFills(informed, { ticker: spec.ticker }) : [];
    return { trades: exchange.listTrades({ ticker: spec.ticker }), fills, stats: activity.stats()[0] };
  }

  it('trades ahead of a scheduled jump, in its direction, and not before it can see it', () => {
    const spec: MarketSpec = {
      ticker: 'KXINF-T1',
      fair: 0.3,
      volatility: 0.05,
      jumps: [{ atMs: 60_000, to: 0.8 }],
      spread: { min: 100, max: 300 },
      makers: 2,
      takerRate: 0,
      informed: { rate: 2, leadMs: 20_000 },
    };
    const { trades, fills, stats } = run(spec, 59_000);
    // no other taker: every trade before the jump is the informed one's
    expect(trades.length).toBeGreaterThan(5);
    expect(stats.informedOrders).toBeGreaterThan(5);
    for (const t of trades) {
      expect(t.takerSide).toBe('bid');
      expect(t.tsMs - T0).toBeGreaterThanOrEqual(40_000);
    }
    expect(fills.length).toBeGreaterThan(0);
    expect(fills.every((f) => f.isTaker && f.side === 'bid')).toBe(true);

    // the same market without informed flow trades nothing before the jump
    const quiet = run({ ...spec, informed: undefined }, 59_000);
    expect(quiet.trades).toHaveLength(0);
  });

  it('trades with the drift', () => {
    const base: MarketSpec = { ticker: 'KXINF-T2', fair: 0.5, volatility: 0, spread: { min: 100, max: 200 }, makers: 2, takerRate: 0, informed: { rate: 1, leadMs: 60_000 } };
    const up = run({ ...base, drift: 5 }, 5 * 60_000);
    const down = run({ ...base, drift: -5 }, 5 * 60_000);
    expect(up.trades.length).toBeGreaterThan(10);
    expect(down.trades.length).toBeGreaterThan(10);
    expect(up.trades.every((t) => t.takerSide === 'bid')).toBe(true);
    expect(down.trades.every((t) => t.takerSide === 'ask')).toBe(true);
  });
});
