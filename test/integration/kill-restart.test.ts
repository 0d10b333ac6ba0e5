/**
 * kill -9 loses nothing and leaves nothing behind, with real processes: the exchange is
 * `kalshiflow sim` (a child process), the trader `kalshiflow start --strategy spread-quoter` (a child
 * process) on one database. The trader is SIGKILLed at random moments while quoting, restarted each
 * time on the same database, then run once more and stopped with SIGTERM. Throughout, the test
 * samples the exchange (as the trader's user) and the trader's /v3/status. Then the account is
 * frozen (its resting orders cancelled at the exchange), one more start reconciles it, and the
 * exchange is compared with the journal. It asserts:
 *
 * - no order placed twice, and no exchange order missing from the journal;
 * - no fill lost or doubled: the journal's fills are exactly the exchange's;
 * - in every quiet sample (no fill for a while, none still being journaled, the trader reconciled)
 *   the trader's positions equal the exchange's;
 * - the exchange never holds more resting orders for the account than the open-order limit, in any
 *   sample — a limit that binds: the traders run with `--max-open-orders 5` while the spread-quoter
 *   would rest a bid and an ask in each of the 4 markets, so the limit is reached and intents are
 *   denied by it;
 * - once a restarted trader has reconciled, every order resting at the exchange is one it manages
 *   (an earlier run's orders are adopted, never left "external");
 * - after the reconciling start, no journal order is in a state the exchange contradicts (open while
 *   executed or cancelled there), no sync run is left `running`, its positions are the exchange's,
 *   and the trader's decisions are in `trader_decisions`.
 *
 * Both databases: the embedded PGlite (a data folder) and, when TEST_DATABASE_URL is set, a
 * throwaway database on that PostgreSQL server. Kill moments come from a seeded generator; the
 * assertions are invariants, not timings. Prints one JSON line of figures per database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, query } from '../../src/adapters/store/database.ts';
import { listFills, listRecentOrders } from '../../src/adapters/store/journal.ts';
import { Rng } from '../../src/core/random.ts';
import { createServerDatabase } from '../helpers/databases.ts';
import { killAllCli, pollUntil } from '../helpers/processes.ts';
import {
  collect,
  journalAgainstExchange,
  operational,
  positionMap,
  readTraderStatus,
  startExchange,
  startTrader,
  traderEnvironment,
  traderPositions,
  type TraderStatus,
} from '../helpers/trading-processes.ts';

const KILLS = 4;
/** Below the 8 quotes (a bid and an ask in each of the 4 markets) the spread-quoter would rest. */
const OPEN_ORDER_LIMIT = 5;
const LIMIT_ARGS = ['--max-open-orders', String(OPEN_ORDER_LIMIT)];
/** No exchange fill for this long before a sample: every fill has reached the trader by then. */
const QUIET_MS = 1_500;

/** Reconciled and trading: from here on it must manage everything the venue holds for it. */
const trading = (s: TraderStatus | null): s is TraderStatus => s !== null && operational(s) && s.sync.syncCount >= 1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const databases = [{ name: 'pglite' as const }, ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres' as const }] : [])];

describe.each(databases)('kill -9 while quoting, restarts on the same database ($name)', ({ name }) => {
  // made when the test runs (a filtered-out block runs no afterAll to remove it)
  let dir = '';
  let dataDir = '';
  let serverDb: { url: string; drop: () => Promise<void> } | null = null;

  afterAll(async () => {
    await killAllCli();
    await serverDb?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${KILLS} SIGKILLs and a clean run: nothing lost, doubled, orphaned or left stale`, async () => {
    dir = mkdtempSync(join(tmpdir(), `kalshiflow-kill-${name}-`));
    dataDir = join(dir, 'data');
    const venue = await startExchange(dataDir, 11);
    const { sim, exchange } = venue;
    if (name === 'postgres') serverDb = await createServerDatabase(process.env.TEST_DATABASE_URL!, 'kf_kill');
    const databaseUrl = serverDb?.url ?? '';
    const traderEnv = await traderEnvironment(venue, dataDir, databaseUrl);

    const figures = {
      database: name,
      kills: 0,
      samples: 0,
      quietSamples: 0,
      maxRestingAtExchange: 0,
      openOrderLimit: OPEN_ORDER_LIMIT,
      samplesAtLimit: 0,
      samplesOverLimit: [] as string[],
      unmanagedResting: [] as string[],
      positionMismatches: [] as string[],
    };

    /** status → exchange → status: an order resting at the exchange must be managed in one of the two views. */
    const sample = async (url: string): Promise<TraderStatus | null> => {
      const before = await readTraderStatus(url).catch(() => null);
      const fillsBefore = await collect(exchange.iterateFills({}));
      const resting = await collect(exchange.iterateOrders({ status: 'resting' }));
      const positions = (await exchange.getAllPositions()).marketPositions;
      const after = await readTraderStatus(url).catch(() => null);
      const fillsAfter = await collect(exchange.iterateFills({}));
      figures.samples++;
      figures.maxRestingAtExchange = Math.max(figures.maxRestingAtExchange, resting.length);
      if (resting.length === OPEN_ORDER_LIMIT) figures.samplesAtLimit++;
      if (resting.length > OPEN_ORDER_LIMIT) {
        figures.samplesOverLimit.push(`run ${figures.kills + 1}: ${resting.length} resting (${resting.map((o) => `${o.clientOrderId} ${o.ticker} ${o.side}`).join(', ')})`);
      }
      if (!trading(before) || !trading(after)) return after;
      const managed = new Set([...before.trading.openOrders, ...after.trading.openOrders].filter((o) => !o.external).map((o) => o.clientOrderId));
      for (const o of resting) {
        if (!managed.has(o.clientOrderId)) figures.unmanagedResting.push(`${o.clientOrderId} (${o.ticker} ${o.side} @${o.yesPrice})`);
      }
      const newest = fillsAfter.reduce((max, f) => Math.max(max, f.createdTimeMs ?? 0), 0);
      // quiet: no fill for a while, none while sampling, and none inside the trader still being
      // journaled (a fill counts once durable) — and the trader holds agreed positions
      const settled = (s: TraderStatus) =>
        (s.trader.state === 'ready' || s.trader.state === 'acting') &&
        s.counters.fills_received === (s.counters.fills_applied ?? 0) + (s.counters.duplicate_fills ?? 0);
      if (fillsAfter.length === fillsBefore.length && Date.now() - newest >= QUIET_MS && settled(before) && settled(after)) {
        figures.quietSamples++;
        const mine = traderPositions(after);
        const theirs = positionMap(positions);
        if (JSON.stringify(mine) !== JSON.stringify(theirs)) figures.positionMismatches.push(`trader ${JSON.stringify(mine)} vs exchange ${JSON.stringify(theirs)}`);
      }
      return after;
    };
    const sampleUntil = async (url: string, what: string, done: (s: TraderStatus | null) => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await sample(url).catch(() => null);
        if (done(s)) return;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status ${JSON.stringify(s)?.slice(0, 400)}`);
        await sleep(150);
      }
    };

    // ---- killed runs ------------------------------------------------------------------------
    const random = new Rng(20_261_204);
    for (let k = 0; k < KILLS; k++) {
      const run = await startTrader(traderEnv, 'spread-quoter', LIMIT_ARGS);
      await sampleUntil(run.url, `run ${k + 1} to quote`, (s) => trading(s) && s.trader.ordersPlaced >= 2, 45_000);
      const killAt = Date.now() + 200 + Math.floor(random.next() * 2_000);
      while (Date.now() < killAt) {
        await sample(run.url).catch(() => null);
        await sleep(100);
      }
      run.proc.kill('SIGKILL');
      expect(await run.proc.exited).toBe('SIGKILL');
      figures.kills++;
    }

    // ---- the clean run -----------------------------------------------------------------------
    const last = await startTrader(traderEnv, 'spread-quoter', LIMIT_ARGS);
    await sampleUntil(last.url, 'the last run to reconcile and quote', (s) => trading(s), 45_000);
    const quietUntil = Date.now() + 4_000;
    while (Date.now() < quietUntil) {
      await sample(last.url);
      await sleep(150);
    }
    last.proc.kill('SIGTERM');
    expect(await last.proc.exited, last.proc.output()).toBe(0);

    // ---- freeze the account, and let one more start reconcile it -----------------------------
    // `start` leaves its quotes resting at a graceful stop, and takers keep filling them: cancel
    // them at the exchange, then a `hold` run (it places nothing) reconciles the journal with the
    // frozen account — the fills and cancels that happened with no trader running included.
    for (const order of await collect(exchange.iterateOrders({ status: 'resting' }))) {
      await exchange.cancelOrder(order.orderId, { ticker: order.ticker }).catch(() => undefined);
    }
    expect(await collect(exchange.iterateOrders({ status: 'resting' }))).toEqual([]);
    const frozen = await startTrader(traderEnv, 'hold');
    const reconciled = await pollUntil('the reconciling run to finish its initial sync', () => readTraderStatus(frozen.url), (s) => trading(s), { timeoutMs: 45_000 });
    const frozenPositions = traderPositions(reconciled);
    frozen.proc.kill('SIGTERM');
    expect(await frozen.proc.exited, frozen.proc.output()).toBe(0);

    // ---- the exchange against the journal ----------------------------------------------------
    const venueOrders = await collect(exchange.iterateOrders({}));
    const venueFills = await collect(exchange.iterateFills({}));
    const venuePositions = positionMap((await exchange.getAllPositions()).marketPositions);
    sim.kill('SIGTERM');
    const db = databaseUrl ? await openDatabase({ databaseUrl, poolSize: 1 }) : await openDatabase({ dataDir: join(dataDir, 'db'), poolSize: 1 });
    try {
      const journalOrders = await listRecentOrders(db.pool, { limit: 1_000_000 });
      // stale: open in the journal, or a journal state the exchange contradicts
      const { duplicates, unjournaled, stale } = journalAgainstExchange(journalOrders, venueOrders);

      const journalFills = await listFills(db.pool, { limit: 1_000_000 });
      const venueFillIds = new Set(venueFills.map((f) => f.tradeId));
      const journalFillIds = journalFills.map((f) => f.fillId);
      const lostFills = [...venueFillIds].filter((id) => !journalFillIds.includes(id));
      const doubledFills = journalFillIds.length - new Set(journalFillIds).size + journalFillIds.filter((id) => !venueFillIds.has(id)).length;

      const runningSyncs = await query<{ id: number }>(db.pool, "SELECT id FROM sync_runs WHERE status = 'running'");
      const decisions = (await query<{ n: string }>(db.pool, "SELECT count(*) AS n FROM trader_decisions WHERE outcome = 'submitted'"))[0].n;
      const openOrderDenials = Number(
        (await query<{ n: string }>(db.pool, "SELECT count(*) AS n FROM trader_decisions WHERE outcome = 'denied' AND reason LIKE '%orders already open (limit %'"))[0].n,
      );

      console.log(
        JSON.stringify({
          bench: 'kill-restart',
          ...figures,
          samplesOverLimit: figures.samplesOverLimit.length,
          openOrderDenials,
          unmanagedResting: figures.unmanagedResting.length,
          positionMismatches: figures.positionMismatches.length,
          examples: [...figures.samplesOverLimit.slice(0, 3), ...figures.unmanagedResting.slice(0, 3), ...figures.positionMismatches.slice(0, 3)],
          ordersAtExchange: venueOrders.length,
          duplicates,
          unjournaled: unjournaled.length,
          fillsAtExchange: venueFills.length,
          lostFills: lostFills.length,
          doubledFills,
          staleJournalOrders: stale.length,
          staleExamples: stale.slice(0, 5),
          runningSyncRuns: runningSyncs.length,
          decisionsJournaled: Number(decisions),
        }),
      );

      expect(figures.kills).toBe(KILLS);
      expect(venueOrders.length).toBeGreaterThanOrEqual(2 * (KILLS + 1));
      expect(duplicates).toBe(0);
      expect(unjournaled).toEqual([]);
      expect(lostFills).toEqual([]);
      expect(doubledFills).toBe(0);
      // never over the limit in any sample, and the limit did bind: reached, and intents denied by it
      expect(figures.samplesOverLimit).toEqual([]);
      expect(figures.maxRestingAtExchange).toBeLessThanOrEqual(OPEN_ORDER_LIMIT);
      expect(figures.samplesAtLimit).toBeGreaterThan(0);
      expect(openOrderDenials).toBeGreaterThan(0);
      expect(figures.unmanagedResting).toEqual([]);
      expect(figures.quietSamples).toBeGreaterThan(0);
      expect(figures.positionMismatches).toEqual([]);
      expect(frozenPositions).toEqual(venuePositions);
      expect(stale).toEqual([]);
      expect(runningSyncs).toEqual([]);
      // every order placed is a journaled decision too (some were placed by runs killed before their write)
      expect(Number(decisions)).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
    expect(await sim.exited).toBe(0);
  }, 170_000);
});
