/**
 * The simulator markets of a scenario: explicit markets converted to the simulator's MarketSpec
 * (durations to ms, dollars to Price), `{ count: N }` entries expanded with the simulator's seeded
 * generator, and `replay: { session }` turned into markets whose fair value follows a recorded
 * session's mid price (sampled at `sample`), so the synthetic makers and takers trade along the
 * recorded path. Part of src/sessions.
 */
import type { Pool } from 'pg';
import { loadRecordedSession, replayBooks } from '../adapters/store/index.ts';
import { generateMarkets } from '../sim/activity/markets.ts';
import type { MarketSpec } from '../sim/activity/markets.ts';
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

/** The simulator's limit on jumps per market. */
const MAX_JUMPS = 1000;
const MIN_FAIR = 0.01;
const MAX_FAIR = 0.99;

/**
 * Markets that follow a recorded session: for each market, the mid price (or the one-sided best
 * price) every `sampleMs` of recorded time becomes a fair-value jump at the same offset from the
 * start. Volatility is small, so between samples the fair value stays near the recording.
 */
export async function replayMarketSpecs(pool: Pool, sessionId: number, options: { tickers?: string[]; sampleMs: number; durationMs: number }): Promise<MarketSpec[]> {
  let loaded;
  try {
    loaded = await loadRecordedSession(pool, sessionId, options.tickers ? { tickers: options.tickers } : {});
  } catch (error) {
    throw new ScenarioError('exchange.replay.session', error instanceof Error ? error.message : String(error));
  }
  const startMs = loaded.session.startedMs;
  const specs: MarketSpec[] = [];
  for (const timeline of loaded.markets) {
    const path: Array<{ atMs: number; to: number }> = [];
    let nextSampleAt = 0;
    let lastFair: number | null = null;
    let first: number | null = null;
    replayBooks(timeline, (step) => {
      if (!step.valid) return;
      const at = (step.event.kind === 'gap' ? step.event.recvMs : (step.event.tsMs ?? step.event.recvMs)) - startMs;
      if (at < nextSampleAt || at >= options.durationMs) return;
      const bid = step.book.bestYesBid();
      const ask = step.book.bestYesAsk();
      const mid = bid !== null && ask !== null ? (bid + ask) / 2 : (bid ?? ask);
      if (mid === null) return;
      const fair = Math.min(MAX_FAIR, Math.max(MIN_FAIR, mid / 10_000));
      nextSampleAt = Math.floor(at / options.sampleMs) * options.sampleMs + options.sampleMs;
      if (first === null) first = fair;
      else if (fair !== lastFair) path.push({ atMs: Math.max(0, at), to: fair });
      lastFair = fair;
    });
    if (first === null) continue; // never had a valid book: nothing to follow
    specs.push({ ticker: timeline.ticker, fair: first, volatility: 0.05, jumps: thin(path, MAX_JUMPS) });
  }
  if (specs.length === 0) throw new ScenarioError('exchange.replay.session', `recorded session ${sessionId} has no market with a valid book`);
  return specs;
}

/** Keeps at most `max` points, evenly spread, always including the last. */
function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  const step = points.length / max;
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * step)]);
  out.push(points[points.length - 1]);
  return out;
}
