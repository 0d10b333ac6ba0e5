/**
 * The simulator markets of a scenario: explicit markets converted to the simulator's MarketSpec
 * (durations to ms, dollars to Price), `{ count: N }` entries expanded with the simulator's seeded
 * generator, and `replay: { session }` turned into the simulator's replay mode: the recorded
 * books themselves, replayed exactly, with the trader's orders filled by the replay venue
 * (src/sim/replay). Part of src/sessions.
 */
import type { Pool } from 'pg';
import { loadRecordedSession, replayBooks } from '../adapters/store/index.ts';
import { fromRecordedTimeline } from '../rl/timeline.ts';
import { generateMarkets } from '../sim/activity/markets.ts';
import type { MarketSpec } from '../sim/activity/markets.ts';
import type { ReplayMarket } from '../sim/replay/recorded-replay.ts';
import type { Scenario } from './scenario.ts';
import { ScenarioError } from './scenario.ts';

/** Markets of the scenario's `exchange.markets` list, in order (generated ones last). */
export function marketSpecsFor(scenario: Scenario): MarketSpec[] {
  const entries = scenario.exchange.markets ?? [];
  const specs: MarketSpec[] = [];
  let generated = 0;
  for (const entry of entries) {
    if ('count' in entry) {
      generated += entry.count;
      continue;
    }
    const spec: MarketSpec = {
      ticker: entry.ticker,
      fair: entry.fair,
      volatility: entry.volatility,
      ...(entry.drift !== undefined ? { drift: entry.drift } : {}),
      ...(entry.jumps ? { jumps: entry.jumps.map((j) => ({ atMs: j.at, to: j.to })) } : {}),
      ...(entry.settle ? { settle: { atMs: entry.settle.at, ...(entry.settle.result ? { result: entry.settle.result } : {}) } } : {}),
      ...(entry.tick ? { priceLevelStructure: entry.tick } : {}),
      ...(entry.spread ? { spread: { min: entry.spread.min, max: entry.spread.max } } : {}),
      ...(entry.makers !== undefined ? { makers: entry.makers } : {}),
      ...(entry.taker_rate !== undefined ? { takerRate: entry.taker_rate } : {}),
      ...(entry.title ? { title: entry.title } : {}),
    };
    specs.push(spec);
  }
  if (generated > 0) {
    const taken = new Set(specs.map((s) => s.ticker));
    for (const spec of generateMarkets(generated, scenario.seed)) {
      if (taken.has(spec.ticker)) throw new ScenarioError('exchange.markets', `generated market ${spec.ticker} clashes with an explicit one`);
      specs.push(spec);
    }
  }
  return specs;
}

/**
 * The markets of a recorded session for the simulator's replay mode: one spec per market with a
 * valid book (fair value = its first mid, no synthetic participants trade it) and its recorded
 * events, exchange timestamps where recorded.
 */
export async function replayMarkets(pool: Pool, sessionId: number, options: { tickers?: string[] } = {}): Promise<{ specs: MarketSpec[]; replay: ReplayMarket[] }> {
  let loaded;
  try {
    loaded = await loadRecordedSession(pool, sessionId, options.tickers ? { tickers: options.tickers } : {});
  } catch (error) {
    throw new ScenarioError('exchange.replay.session', error instanceof Error ? error.message : String(error));
  }
  const specs: MarketSpec[] = [];
  const replay: ReplayMarket[] = [];
  for (const recorded of loaded.markets) {
    const timeline = fromRecordedTimeline(recorded, sessionId);
    // the first two-sided mid names the market's fair value (only descriptive: nothing synthetic trades it)
    let fair: number | null = null;
    let snapshot = false;
    replayBooks(recorded, (step) => {
      if (step.event.kind === 'snapshot') snapshot = true;
      if (fair !== null || !step.valid) return;
      const bid = step.book.bestYesBid();
      const ask = step.book.bestYesAsk();
      if (bid !== null && ask !== null) fair = Math.min(0.99, Math.max(0.01, (bid + ask) / 20_000));
    });
    if (!snapshot) continue; // never had a book: nothing to replay
    specs.push({ ticker: timeline.ticker, fair: fair ?? 0.5, volatility: 0 });
    replay.push({ ticker: timeline.ticker, events: timeline.events });
  }
  if (specs.length === 0) throw new ScenarioError('exchange.replay.session', `recorded session ${sessionId} has no market with a valid book`);
  return { specs, replay };
}
