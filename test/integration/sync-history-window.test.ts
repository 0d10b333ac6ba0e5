/**
 * The trader's sync against a simulator that keeps a bounded history (src/sim/matching/history.ts):
 * the journal holds every fill of a long run, the venue lists only its newest ones, and the sync
 * (src/actors/sync.ts, real REST client over loopback, real journal on PGlite) still agrees —
 * no "unconfirmed" warnings for fills that aged out at the venue, no venue fill taken for
 * missing, no finding rows piling up per sync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredentials, generateKeyPair, loadPrivateKey } from '../../src/adapters/kalshi/auth.ts';
import { endpointsFor } from '../../src/adapters/kalshi/environments.ts';
import { KalshiRestClient } from '../../src/adapters/kalshi/rest.ts';
import { recordFill } from '../../src/adapters/store/index.ts';
import { syncWithVenue } from '../../src/actors/sync.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { MarketSpec } from '../../src/sim/activity/markets.ts';
import { startSimulator } from '../../src/sim/simulator.ts';
import type { RunningSimulator } from '../../src/sim/simulator.ts';
import { testDatabases, type OpenTestDatabase } from '../helpers/databases.ts';

const T1 = 'KXSYNCWIN-26JAN01-A';

describe('sync with a venue that keeps a window of its history', () => {
  let sim: RunningSimulator;
  let rest: KalshiRestClient;
  let db: OpenTestDatabase;

  beforeAll(async () => {
    const key = generateKeyPair();
    const markets: MarketSpec[] = [{ ticker: T1, fair: 0.5, volatility: 0 }];
    sim = await startSimulator({ markets, activity: false, seed: 11, history: { maxCount: 30 }, keys: [{ keyId: 'k-trader', publicKeyPem: key.publicKeyPem, userId: 'trader' }] });
    rest = new KalshiRestClient({
      endpoints: endpointsFor('sim', { restBaseUrl: sim.restUrl, wsUrl: sim.wsUrl }),
      credentials: createCredentials('k-trader', loadPrivateKey({ pem: key.privateKeyPem })),
    });
    db = await (await testDatabases())[0]!.open();
  }, 60_000);

  afterAll(async () => {
    await sim?.close();
    await db?.close();
  });

  it('agrees without findings about fills the venue no longer lists', async () => {
    // 200 fills of the trader, each journaled as it happens (as the WS fill frames would be)
    for (let i = 0; i < 200; i++) {
      expect(sim.exchange.createOrder({ userId: 'maker', ticker: T1, side: 'ask', price: 5000, count: 100, timeInForce: 'good_till_canceled', selfTradePrevention: 'taker_at_cross' }).ok).toBe(true);
      const taken = sim.exchange.createOrder({ userId: 'trader', clientOrderId: `c-${i}`, ticker: T1, side: 'bid', price: 5000, count: 100, timeInForce: 'immediate_or_cancel', selfTradePrevention: 'taker_at_cross' });
      if (!taken.ok) throw new Error(taken.error.message);
      for (const f of taken.value.fills) {
        await recordFill(db.pool, {
          fillId: f.tradeId,
          venueOrderId: f.orderId,
          clientOrderId: f.clientOrderId,
          env: 'sim',
          ticker: f.ticker,
          side: f.side,
          yesPrice: f.price,
          count: f.count,
          fee: f.fee,
          isTaker: f.isTaker,
          // as a WS fill frame carries it: Unix seconds
          tsMs: Math.floor(f.tsMs / 1000) * 1000,
          recordedMs: f.tsMs,
          source: 'ws',
        });
      }
    }
    expect(sim.exchange.listFills('trader').length).toBeLessThan(200);

    const outcome = await syncWithVenue(
      {
        rest,
        pool: db.pool,
        env: 'sim',
        clock: systemClock,
        traderId: 'trader',
        localView: () => ({ orders: [], positions: [] }),
      },
      'periodic',
    );
    const kinds = outcome.result.findings.map((f) => f.kind);
    expect(kinds.filter((k) => k === 'local_fill_unconfirmed')).toEqual([]);
    expect(outcome.result.missingFills).toEqual([]);
    expect(outcome.result.agreed).toBe(true);
    expect(outcome.summary.newFills).toBe(0);
    // the venue's position report is the trader's: 200 contracts
    expect(outcome.result.positions.find((p) => p.ticker === T1)?.position).toBe(20_000);
    const findingRows = Number((await db.pool.query('SELECT count(*) AS n FROM sync_findings')).rows[0].n);
    expect(findingRows).toBe(kinds.length);
    expect(findingRows).toBeLessThanOrEqual(1); // at most the adopted position
  });
});
