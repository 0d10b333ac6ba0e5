/**
 * Evaluation a quant can read: baselines run through the same decision ticks and replay venue as
 * the policy (the real spread-quoter and imbalance strategies, buy-and-hold, HOLD), report.json
 * has the fields other tools read (policies[] with per-regime, per-split rows; collapsed,
 * held_out), Sharpe per episode with a seeded (reproducible) bootstrap interval, a policy that
 * chose one action at ≥ 99 % of its steps is flagged collapsed, and equal results say "tie".
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BUY_YES, HOLD } from '../../src/core/features/actions.ts';
import { buildEvalReport, compare } from '../../src/rl/eval-report.ts';
import type { EvalContext } from '../../src/rl/eval-report.ts';
import { evaluatePolicy } from '../../src/rl/evaluate.ts';
import type { PolicyActor } from '../../src/rl/evaluate.ts';
import { bootstrapSharpeCi, isCollapsed, sharpe } from '../../src/rl/statistics.ts';
import { syntheticTimeline } from '../../src/rl/synthetic.ts';

const timelines = [
  syntheticTimeline({ seed: 1, events: 600, sessionId: '1', ticker: 'KX-A', spreadTicks: 4, tradeProbability: 0.15, volatility: 40 }),
  syntheticTimeline({ seed: 2, events: 600, sessionId: '1', ticker: 'KX-B', spreadTicks: 4, tradeProbability: 0.15, volatility: 40 }),
  syntheticTimeline({ seed: 3, events: 600, sessionId: '2', ticker: 'KX-C', spreadTicks: 4, tradeProbability: 0.15, volatility: 40 }),
  syntheticTimeline({ seed: 4, events: 600, sessionId: '3', ticker: 'KX-D', spreadTicks: 4, tradeProbability: 0.15, volatility: 40 }),
];

function context(overrides: Partial<EvalContext> = {}): EvalContext {
  return {
    model: { path: '/m.onnx', version: 'v', sha256: 'x', obsVersion: 'obs-v1', actions: ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'], modelId: null, name: null },
    sessions: [
      { id: 1, regime: 'calm', split: 'in_sample', tickers: ['KX-A', 'KX-B'], events: 1200 },
      { id: 2, regime: 'calm', split: 'out_of_sample', tickers: ['KX-C'], events: 600 },
      { id: 3, regime: 'jumpy', split: 'out_of_sample', tickers: ['KX-D'], events: 600 },
    ],
    overlapWithTraining: [1],
    trainingRegimes: ['calm'],
    env: {},
    stressEnv: {},
    bootstrap: { samples: 500, seed: 7 },
    createdAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

/** The fields the issue lists for report.json, as other tools would read them. */
const reportSchema = z.object({
  collapsed: z.boolean(),
  held_out: z.boolean(),
  policies: z.array(
    z.object({
      name: z.enum(['policy', 'hold', 'buy_and_hold', 'spread-quoter', 'imbalance']),
      regimes: z.array(
        z.object({
          name: z.string(),
          split: z.enum(['in_sample', 'out_of_sample']),
          net_pnl: z.number().int(),
          sharpe_episode: z.number(),
          sharpe_ci95: z.tuple([z.number(), z.number()]),
          max_drawdown: z.number().int().nonnegative(),
          fills: z.number().int().nonnegative(),
          fees: z.number().int().nonnegative(),
        }),
      ),
    }),
  ),
});

let calls = 0;
const alternating: PolicyActor = { name: 'policy', act: (_obs, mask) => (calls++ % 2 === 0 && mask[BUY_YES] ? BUY_YES : HOLD) };
const holdOnly: PolicyActor = { name: 'policy', act: () => HOLD };

describe('statistics', () => {
  it('Sharpe per episode and its bootstrap interval: reproducible with a seed, different with another', () => {
    const pnl = [1.2, -0.4, 0.8, 2.1, -1.5, 0.3, 0.9, 1.1];
    const a = bootstrapSharpeCi(pnl, { samples: 1_000, seed: 42 });
    const b = bootstrapSharpeCi(pnl, { samples: 1_000, seed: 42 });
    const c = bootstrapSharpeCi(pnl, { samples: 1_000, seed: 43 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    expect(a[0]).toBeLessThan(sharpe(pnl));
    expect(a[1]).toBeGreaterThan(sharpe(pnl));
    expect(bootstrapSharpeCi([3], { seed: 1 })).toEqual([0, 0]);
    expect(sharpe([0, 0, 0])).toBe(0);
  });

  it('calls a distribution with one action at ≥ 99 % of the steps collapsed', () => {
    expect(isCollapsed([99, 1, 0])).toBe(true);
    expect(isCollapsed([0, 100])).toBe(true);
    expect(isCollapsed([98, 2])).toBe(false);
    expect(isCollapsed([0, 0])).toBe(false);
  });
});

describe('evaluation report', () => {
  it('runs the baselines through the same venue: the spread-quoter rests maker orders, buy-and-hold takes once', async () => {
    const result = await evaluatePolicy(alternating, timelines, {}, { stress: false });
    expect(result.policies.map((p) => p.name)).toEqual(['policy', 'hold', 'buy_and_hold', 'spread-quoter', 'imbalance']);
    const quoter = result.baselines['spread-quoter'];
    const quoterFills = quoter.episodes.flatMap((e) => e.executions);
    expect(quoterFills.length).toBeGreaterThan(0);
    expect(quoterFills.every((f) => !f.taker)).toBe(true);
    // one clip of the policy's size (5 contracts), improved one tick inside the spread
    expect(quoterFills.every((f) => f.count <= 500)).toBe(true);
    for (const e of result.baselines.buy_and_hold.episodes) {
      expect(e.executions.every((f) => f.taker && f.side === 'bid')).toBe(true);
      expect(e.executions.reduce((s, f) => s + f.count, 0)).toBe(500);
      expect(e.endPosition).toBe(500);
    }
    expect(result.baselines.hold.trades).toBe(0);
    expect(result.stress).toBeNull();
  });

  it('has the report.json fields: policies[] with per-regime, per-split rows; collapsed and held_out', async () => {
    const report = buildEvalReport(await evaluatePolicy(alternating, timelines), context());
    expect(reportSchema.safeParse(report).success).toBe(true);
    const policy = report.policies[0];
    expect(policy.regimes.map((r) => `${r.name}/${r.split}`)).toEqual(['calm/in_sample', 'all/in_sample', 'calm/out_of_sample', 'jumpy/out_of_sample', 'all/out_of_sample']);
    const inSample = policy.regimes.find((r) => r.name === 'calm' && r.split === 'in_sample')!;
    expect(inSample.episodes).toBe(2);
    expect(inSample.net_pnl).toBe(policy.episodes[0].netPnl + policy.episodes[1].netPnl);
    expect(inSample.sharpe_episode).toBeCloseTo(sharpe(policy.episodes.slice(0, 2).map((e) => e.netPnl / 1e6)), 9);
    expect(policy.regimes.find((r) => r.name === 'jumpy')!.regime_held_out).toBe(true);
    expect(policy.regimes.find((r) => r.name === 'calm' && r.split === 'out_of_sample')!.regime_held_out).toBe(false);
    expect(report.held_out).toBe(true);
    expect(report.collapsed).toBe(false);
    expect(report.stress!.policies).toHaveLength(5);
    // the same seed gives the same intervals
    const again = buildEvalReport(await evaluatePolicy(alternating, timelines), context());
    expect(again.policies.map((p) => p.regimes.map((r) => r.sharpe_ci95))).toEqual(report.policies.map((p) => p.regimes.map((r) => r.sharpe_ci95)));
    // training sessions unknown: nothing is held out
    expect(buildEvalReport(await evaluatePolicy(alternating, timelines, {}, { stress: false }), context({ overlapWithTraining: null, stressEnv: null })).held_out).toBe(false);
  });

  it('flags a policy that always holds as collapsed', async () => {
    const report = buildEvalReport(await evaluatePolicy(holdOnly, timelines, {}, { stress: false }), context({ stressEnv: null }));
    expect(report.collapsed).toBe(true);
    expect(report.dominant_action).toEqual({ name: 'HOLD', share: 1 });
    expect(report.policies[0].net_pnl).toBe(0);
    expect(report.stress).toBeNull();
  });

  it('says "tie" when the best are within a cent, never "best: policy" for a $0.00 tie', () => {
    const row = (net: number) => ({ name: 'calm', split: 'out_of_sample' as const, net_pnl: net });
    const entry = (name: string, net: number) => ({ name, net_pnl: net, regimes: [row(net)] }) as unknown as Parameters<typeof compare>[0][number];
    const tie = compare([entry('policy', 0), entry('hold', 0), entry('spread-quoter', -2_000_000)]);
    expect(tie.best).toBe('tie');
    expect(tie.tie).toBe(true);
    expect(tie.leaders).toEqual(['policy', 'hold']);
    expect(tie.summary).toBe('best net P&L: tie (policy, hold at $0.00)');
    expect(tie.by_regime[0]).toMatchObject({ best: 'tie', policy_beats: ['spread-quoter'] });
    const win = compare([entry('policy', 1_250_000), entry('hold', 0), entry('spread-quoter', 1_245_000)]);
    expect(win.best).toBe('tie');
    const clear = compare([entry('policy', 1_250_000), entry('hold', 0), entry('spread-quoter', 1_000_000)]);
    expect(clear).toMatchObject({ best: 'policy', tie: false, summary: 'best net P&L: policy ($1.25)' });
  });
});
