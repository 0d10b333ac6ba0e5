/**
 * Targeted coordinator tests on a VirtualClock with test-controlled actors: the startup pipeline,
 * every default timeout at its exact boundary, jittered backoff that grows and is capped, error
 * retries forever, recovery targets, degraded mode, acting, periodic sync that never overlaps,
 * activity-based orderbook health, shutdown, and the status log fed by observeTransitions.
 */
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, setup } from 'xstate';
import { VirtualClock } from '../../src/core/clock.ts';
import { DEFAULT_ERROR_BACKOFF, backoffDelayMs, coordinatorMachine, jitterUnit } from '../../src/machines/coordinator.machine.ts';
import { orderbookActivityWatcher } from '../../src/machines/orderbook-health.machine.ts';
import { coordinatorStatusLabel, currentProblems, describeState, tradingPauseReason } from '../../src/machines/coordinator.status.ts';
import { StatusHistory, observeTransitions } from '../../src/machines/status-history.ts';
import { MARKETS, bringUp, settle, startCoordinator, syncSummary } from './coordinator-harness.ts';

type Run = Awaited<ReturnType<typeof bringUp>>;
const stateOf = (run: { actor: Run['actor'] }) => describeState(run.actor.getSnapshot()).state;
const ctx = (run: { actor: Run['actor'] }) => run.actor.getSnapshot().context;
const pathOf = (run: { actor: Run['actor'] }) => describeState(run.actor.getSnapshot()).path;

/** Advances the virtual clock in small steps until the invoked actor `id` is running. */
async function untilInvoked(run: Run, id: string): Promise<void> {
  for (let i = 0; i < 2_000 && run.control.running(id) === 0; i++) {
    run.clock.advance(50);
    await settle();
  }
  if (run.control.running(id) === 0) throw new Error(`${id} never started`);
}

describe('startup pipeline', () => {
  it('trading configuration: startup → … → ready, with reasons in the status log', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 14, 3, 20));
    const history = new StatusHistory();
    const run = startCoordinator({ tradingEnabled: true }, clock);
    observeTransitions(run.actor, history, clock, { label: coordinatorStatusLabel });
    expect(stateOf(run)).toBe('startup');
    run.actor.send({ type: 'START' });
    await settle();
    clock.advance(1200);
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    clock.advance(800);
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    run.control.resolve('connectTradingClient', { mode: 'paper' });
    await settle();
    run.control.resolve('syncKalshiData', syncSummary('initial', clock.now()));
    await settle();

    expect(stateOf(run)).toBe('ready');
    const c = ctx(run);
    expect(c.markets).toEqual(MARKETS);
    expect(c.syncCount).toBe(1);
    expect(c.lastSyncAtMs).toBe(clock.now());
    expect(c.degraded).toBe(false);
    expect(c.startedAtMs).toBe(Date.UTC(2026, 0, 1, 14, 3, 20));
    expect(c.lastTransition.reason).toBe('System fully operational with 3 markets and trading enabled');
    expect(run.control.started.find((s) => s.id === 'syncKalshiData')?.input).toEqual({ kind: 'initial', markets: MARKETS });

    const log = history.statusLog().split('\n');
    expect(log).toEqual([
      '14:03:22 [kalshi_data_sync → ready] System fully operational with 3 markets and trading enabled (0.0s)',
      '14:03:22 [trading_client_connect → kalshi_data_sync] Trading client connected (0.0s)',
      '14:03:22 [orderbook_connect → trading_client_connect] Connected to 3 markets (0.8s)',
      '14:03:21 [initializing → orderbook_connect] Initialized: 3 markets selected (1.2s)',
      '14:03:20 [startup → initializing] Starting state machine components (0.0s)',
    ]);
  });

  it('read-only configuration skips trading_client_connect and kalshi_data_sync and never syncs', async () => {
    const run = await bringUp({ tradingEnabled: false });
    expect(stateOf(run)).toBe('ready');
    expect(pathOf(run)).toContain('ready.sync.off');
    expect(ctx(run).lastTransition.reason).toBe('Recording 3 markets (read-only, no trading client)');
    run.clock.advance(10 * 60_000);
    await settle();
    const ids = run.control.started.map((s) => s.id);
    expect(ids).not.toContain('connectTradingClient');
    expect(ids).not.toContain('syncKalshiData');
    expect(ids).not.toContain('periodicSync');
    // No trader can act without a trading client.
    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).actingRefused).toBe(1);
  });

  it('a missing actor implementation fails loudly (error with the actor name), not silently', async () => {
    const actor = createActor(coordinatorMachine, { input: { tradingEnabled: true }, clock: new VirtualClock(0) });
    actor.start();
    actor.send({ type: 'START' });
    await settle();
    expect(actor.getSnapshot().value).toBe('error');
    expect(actor.getSnapshot().context.lastError).toMatch(/initializeSystem" not provided/);
    actor.stop();
  });
});

describe('enforced timeouts (defaults), each a transition with a reason', () => {
  async function toStage(stage: string, tradingEnabled = true) {
    const run = startCoordinator({ tradingEnabled });
    run.actor.send({ type: 'START' });
    await settle();
    if (stage === 'initializing') return run;
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    if (stage === 'orderbook_connect') return run;
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    if (stage === 'trading_client_connect') return run;
    run.control.resolve('connectTradingClient', {});
    await settle();
    return run;
  }

  it.each([
    ['initializing', 60_000, true],
    ['orderbook_connect', 30_000, false],
    ['trading_client_connect', 30_000, true],
    ['kalshi_data_sync', 60_000, true],
  ] as const)('%s times out after %i ms → error', async (stage, ms, trading) => {
    const run = await toStage(stage, trading);
    expect(stateOf(run)).toBe(stage);
    run.clock.advance(ms - 1);
    await settle();
    expect(stateOf(run)).toBe(stage);
    run.clock.advance(1);
    await settle();
    expect(stateOf(run)).toBe('error');
    expect(ctx(run).lastError).toBe(`${stage} timed out after ${ms / 1000}s`);
    expect(ctx(run).lastTransition.metadata).toMatchObject({ timeout: true, resumeAt: stage });
    // The timed-out invocation was stopped, not left running.
    expect(run.control.pending).toHaveLength(0);
  });

  it('orderbook_connect timeout with trading configured continues degraded instead of failing', async () => {
    const run = await toStage('orderbook_connect', true);
    run.clock.advance(30_000);
    await settle();
    expect(stateOf(run)).toBe('trading_client_connect');
    expect(describeState(run.actor.getSnapshot()).degraded).toBe(true);
    expect(ctx(run).lastTransition.reason).toBe(
      'DEGRADED MODE: orderbook_connect timed out after 30s; continuing without orderbook',
    );
    run.control.resolve('connectTradingClient', {});
    await settle();
    run.control.resolve('syncKalshiData', syncSummary('initial', run.clock.now()));
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(pathOf(run)).toContain('ready.orderbook.degraded.waiting');
    expect(ctx(run).lastTransition.reason).toMatch(/^DEGRADED MODE: trading enabled without orderbook/);
  });

  it('acting times out after 30 s back to ready, counted, not an error', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'TRADER_ACTING', traderId: 'rule-1' });
    expect(stateOf(run)).toBe('acting');
    run.clock.advance(29_999);
    await settle();
    expect(stateOf(run)).toBe('acting');
    run.clock.advance(1);
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).actingTimeouts).toBe(1);
    expect(ctx(run).errorCount).toBe(0);
    expect(ctx(run).lastTransition.reason).toBe('acting timed out after 30s (traders: rule-1)');
  });

  it('shutdown times out after 30 s and stops anyway', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'SHUTDOWN', reason: 'SIGTERM' });
    expect(stateOf(run)).toBe('shutdown');
    run.clock.advance(29_999);
    await settle();
    expect(run.actor.getSnapshot().value).toBe('shutdown');
    run.clock.advance(1);
    await settle();
    expect(run.actor.getSnapshot().value).toBe('stopped');
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(ctx(run).lastTransition.reason).toBe('shutdown timed out after 30s; stopping anyway');
  });

  it('timeouts are configurable through input', async () => {
    const run = startCoordinator({ tradingEnabled: true, timeouts: { initializingMs: 5_000 } });
    run.actor.send({ type: 'START' });
    await settle();
    run.clock.advance(5_000);
    await settle();
    expect(ctx(run).lastError).toBe('initializing timed out after 5s');
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped, and jitter only shortens within its fraction', () => {
    const policy = { baseMs: 1_000, maxMs: 60_000, jitter: 0.2 };
    const delays = Array.from({ length: 12 }, (_, n) => backoffDelayMs(n, policy, jitterUnit(42, n)));
    for (let n = 0; n < delays.length; n++) {
      const raw = Math.min(60_000, 1_000 * 2 ** n);
      expect(delays[n]).toBeLessThanOrEqual(raw);
      expect(delays[n]).toBeGreaterThanOrEqual(Math.floor(raw * 0.8));
    }
    // strictly growing until the cap (2 × 0.8 > 1), then held at the cap's band
    for (let n = 1; n <= 6; n++) expect(delays[n]).toBeGreaterThan(delays[n - 1]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(60_000);
    expect(delays.slice(7).every((d) => d >= 48_000)).toBe(true);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const seq = (seed: number) => Array.from({ length: 8 }, (_, n) => jitterUnit(seed, n));
    expect(seq(1)).toEqual(seq(1));
    expect(seq(1)).not.toEqual(seq(2));
    for (const u of [...seq(1), ...seq(99)]) {
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
    }
  });
});

describe('error: retries forever, returns to the stage that failed', () => {
  it('20 trading-client failures, then success → ready; each wait is the jittered, capped backoff', async () => {
    const seed = 1234;
    const run = startCoordinator({ tradingEnabled: true, seed });
    run.actor.send({ type: 'START' });
    await settle();
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    const waits: number[] = [];
    for (let i = 0; i < 20; i++) {
      expect(stateOf(run)).toBe('trading_client_connect');
      run.control.reject('connectTradingClient', new Error('503 Service Unavailable'));
      await settle();
      expect(stateOf(run)).toBe('error');
      const c = ctx(run);
      expect(c.errorCount).toBe(i + 1);
      expect(c.resumeAt).toBe('trading_client_connect');
      expect(c.lastError).toBe('trading_client_connect failed: 503 Service Unavailable');
      expect(c.retryDelayMs).toBe(backoffDelayMs(i, DEFAULT_ERROR_BACKOFF, jitterUnit(seed, i)));
      waits.push(c.retryDelayMs);
      run.clock.advance(c.retryDelayMs - 1);
      await settle();
      expect(stateOf(run)).toBe('error');
      run.clock.advance(1);
      await settle();
    }
    expect(waits.slice(0, 6).every((w, i) => i === 0 || w > waits[i - 1])).toBe(true);
    expect(Math.max(...waits)).toBeLessThanOrEqual(60_000);
    expect(waits.at(-1)).toBeGreaterThanOrEqual(48_000);
    run.control.resolve('connectTradingClient', {});
    await settle();
    run.control.resolve('syncKalshiData', syncSummary('initial', run.clock.now()));
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).retryCount).toBe(0);
    expect(ctx(run).errorCount).toBe(20);
  });

  it('initializing failure resumes at initializing', async () => {
    const run = startCoordinator({ tradingEnabled: true });
    run.actor.send({ type: 'START' });
    await settle();
    run.control.reject('initializeSystem', new Error('database unreachable'));
    await settle();
    expect(ctx(run).resumeAt).toBe('initializing');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('initializing');
    expect(ctx(run).lastTransition.reason).toMatch(/^Retrying initializing \(attempt 1 after /);
  });

  it('read-only: orderbook failure is fatal and resumes at orderbook_connect', async () => {
    const run = startCoordinator({ tradingEnabled: false });
    run.actor.send({ type: 'START' });
    await settle();
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    run.control.reject('connectOrderbook', new Error('HTTP 503'));
    await settle();
    expect(stateOf(run)).toBe('error');
    expect(ctx(run).resumeAt).toBe('orderbook_connect');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('orderbook_connect');
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    expect(stateOf(run)).toBe('ready');
  });

  it('kalshi_data_sync failure resumes at kalshi_data_sync', async () => {
    const run = startCoordinator({ tradingEnabled: true });
    run.actor.send({ type: 'START' });
    await settle();
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    run.control.resolve('connectTradingClient', {});
    await settle();
    run.control.reject('syncKalshiData', new Error('429 Too Many Requests'));
    await settle();
    expect(ctx(run).resumeAt).toBe('kalshi_data_sync');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('kalshi_data_sync');
    expect(run.control.started.filter((s) => s.id === 'connectTradingClient')).toHaveLength(1);
  });

  it('FATAL in ready resumes at ready; a second FATAL while recovering keeps the earlier stage', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'FATAL', reason: 'write queue stalled' });
    expect(stateOf(run)).toBe('error');
    expect(ctx(run).resumeAt).toBe('ready');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).lastTransition.reason).toBe('Recovered from error: System fully operational with 3 markets and trading enabled');
    expect(ctx(run).lastTransition.metadata).toMatchObject({ recovery: true, lastError: 'Fatal: write queue stalled' });

    run.actor.send({ type: 'FATAL', reason: 'store lost' });
    run.actor.send({ type: 'FATAL', reason: 'stream replaced', resumeAt: 'orderbook_connect' });
    expect(ctx(run).resumeAt).toBe('orderbook_connect');
    expect(ctx(run).lastError).toBe('Fatal: stream replaced');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('orderbook_connect');
  });
});

describe('degraded mode and acting', () => {
  it('ORDERBOOK_DOWN → degraded: entries blocked, reconnect with backoff, back to normal', async () => {
    const run = await bringUp({ tradingEnabled: true, orderbookBackoff: { baseMs: 1_000, maxMs: 8_000, jitter: 0 } });
    run.actor.send({ type: 'ORDERBOOK_DOWN', silentForMs: 30_000 });
    expect(describeState(run.actor.getSnapshot())).toMatchObject({ state: 'ready', degraded: true });
    expect(ctx(run).lastTransition.reason).toBe('Orderbook down: no message for 30s');
    expect(coordinatorStatusLabel(run.actor.getSnapshot())).toBe('ready (degraded)');

    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).actingRefused).toBe(1);

    const attemptsAt: number[] = [];
    const t0 = run.clock.now();
    for (let i = 0; i < 3; i++) {
      const wait = [1_000, 2_000, 4_000][i];
      run.clock.advance(wait - 1);
      await settle();
      expect(run.control.running('reconnectOrderbook')).toBe(0);
      run.clock.advance(1);
      await settle();
      expect(run.control.running('reconnectOrderbook')).toBe(1);
      attemptsAt.push(run.clock.now() - t0);
      run.control.reject('reconnectOrderbook', new Error('503'));
      await settle();
    }
    expect(attemptsAt).toEqual([1_000, 3_000, 7_000]);
    expect(ctx(run).orderbookAttempts).toBe(3);
    run.clock.advance(8_000);
    await settle();
    expect(run.control.started.filter((s) => s.id === 'reconnectOrderbook').at(-1)?.input).toEqual({ markets: MARKETS, attempt: 4 });
    run.control.resolve('reconnectOrderbook', { marketsConnected: 3 });
    await settle();
    expect(describeState(run.actor.getSnapshot())).toMatchObject({ state: 'ready', degraded: false });
    expect(ctx(run).orderbookAttempts).toBe(0);

    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    expect(stateOf(run)).toBe('acting');
  });

  it('ORDERBOOK_UP while degraded restores immediately; a crashed watcher means degraded', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'ORDERBOOK_DOWN' });
    run.actor.send({ type: 'ORDERBOOK_UP', reason: 'stream reconnected by the client' });
    expect(describeState(run.actor.getSnapshot()).degraded).toBe(false);
    expect(ctx(run).lastTransition.reason).toBe('Orderbook restored: stream reconnected by the client');
    const watcher = (run.actor.getSnapshot().children as Record<string, { send(e: { type: string }): void }>).watchOrderbookHealth;
    watcher.send({ type: 'FAIL' });
    await settle();
    expect(describeState(run.actor.getSnapshot()).degraded).toBe(true);
    expect(ctx(run).lastTransition.reason).toBe('Orderbook down: health watcher failed (watcher crashed)');
  });

  it('several traders: acting until the last one is idle', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'TRADER_ACTING', traderId: 'a' });
    run.actor.send({ type: 'TRADER_ACTING', traderId: 'b' });
    run.actor.send({ type: 'TRADER_IDLE', traderId: 'a' });
    expect(stateOf(run)).toBe('acting');
    run.actor.send({ type: 'TRADER_IDLE', traderId: 'b' });
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).lastTransition.reason).toBe('Decision cycle complete');
  });

  it('ORDERBOOK_DOWN while acting: the cycle finishes, status says acting (degraded)', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'TRADER_ACTING' });
    run.actor.send({ type: 'ORDERBOOK_DOWN' });
    expect(coordinatorStatusLabel(run.actor.getSnapshot())).toBe('acting (degraded)');
    run.actor.send({ type: 'TRADER_IDLE' });
    expect(coordinatorStatusLabel(run.actor.getSnapshot())).toBe('ready (degraded)');
  });
});

describe('periodic sync', () => {
  it('runs every syncIntervalMs, one at a time; SYNC_NOW during a sync is queued once', async () => {
    const run = await bringUp({ tradingEnabled: true });
    const syncs = () => run.control.started.filter((s) => s.id === 'periodicSync').length;
    run.clock.advance(29_999);
    await settle();
    expect(syncs()).toBe(0);
    run.clock.advance(1);
    await settle();
    expect(syncs()).toBe(1);
    expect(run.control.started.at(-1)?.input).toEqual({ kind: 'periodic', markets: MARKETS });
    // The sync hangs; requests and time pile up, but never a second concurrent sync.
    for (let i = 0; i < 5; i++) run.actor.send({ type: 'SYNC_NOW' });
    run.clock.advance(25_000);
    await settle();
    expect(run.control.running('periodicSync')).toBe(1);
    expect(syncs()).toBe(1);
    run.control.resolve('periodicSync', syncSummary('periodic', run.clock.now()));
    await settle();
    // the queued request runs once, right away
    expect(syncs()).toBe(2);
    run.control.resolve('periodicSync', syncSummary('periodic', run.clock.now()));
    await settle();
    expect(syncs()).toBe(2);
    expect(ctx(run).syncCount).toBe(3);
    expect(ctx(run).syncQueued).toBe(false);
    run.clock.advance(30_000);
    await settle();
    expect(syncs()).toBe(3);
    expect(run.control.maxConcurrentSyncs).toBe(1);
    // periodic syncs do not overwrite the transition reason shown for ready
    expect(ctx(run).lastTransition.reason).toBe('System fully operational with 3 markets and trading enabled');
  });

  it('a due sync waits while a trader is acting and runs when it is idle', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.clock.advance(10_000);
    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    run.clock.advance(20_000);
    await settle();
    expect(pathOf(run)).toEqual(['ready.activity.acting', 'ready.journal.healthy', 'ready.orderbook.normal', 'ready.sync.due', 'ready.tradingApi.healthy']);
    expect(run.control.running('periodicSync')).toBe(0);
    run.actor.send({ type: 'TRADER_IDLE', traderId: 't1' });
    await settle();
    expect(run.control.running('periodicSync')).toBe(1);
  });

  it('a failed sync is reported and retried; maxSyncFailures in a row → error → kalshi_data_sync → ready', async () => {
    const run = await bringUp({ tradingEnabled: true, maxSyncFailures: 3, syncRetryMs: 5_000 });
    run.clock.advance(30_000);
    await settle();
    run.control.reject('periodicSync', new Error('HTTP 500'));
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).lastSyncError).toBe('HTTP 500');
    expect(ctx(run).consecutiveSyncFailures).toBe(1);
    run.clock.advance(5_000);
    await settle();
    run.clock.advance(60_000); // the second attempt times out
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).lastSyncError).toBe('timed out after 60s');
    run.clock.advance(5_000);
    await settle();
    run.control.reject('periodicSync', new Error('HTTP 500'));
    await settle();
    expect(stateOf(run)).toBe('error');
    expect(ctx(run).resumeAt).toBe('kalshi_data_sync');
    expect(ctx(run).lastError).toBe('periodic sync failed 3 times in a row: HTTP 500');
    run.clock.advance(ctx(run).retryDelayMs);
    await settle();
    expect(stateOf(run)).toBe('kalshi_data_sync');
    run.control.resolve('syncKalshiData', syncSummary('initial', run.clock.now()));
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).consecutiveSyncFailures).toBe(0);
  });
});

describe('orderbook health is message activity, never snapshot age', () => {
  function withWatcher(activity: { last: number | null }, clock: VirtualClock) {
    let connects = 0;
    const machine = coordinatorMachine.provide({
      actors: {
        initializeSystem: fromPromise(async () => ({ markets: MARKETS })),
        // Connects once; afterwards the stream stays dead (reconnect attempts hang).
        connectOrderbook: fromPromise(() => (connects++ === 0 ? Promise.resolve({ marketsConnected: 3 }) : new Promise<never>(() => {}))),
        connectTradingClient: fromPromise(async () => ({})),
        syncKalshiData: fromPromise(async ({ input }) => syncSummary(input.kind, clock.now())),
        shutdownSystem: fromPromise(async (): Promise<void> => {}),
        watchOrderbookHealth: orderbookActivityWatcher({ clock, lastActivityAtMs: () => activity.last }),
      },
    });
    const actor = createActor(machine, { input: { tradingEnabled: true, syncIntervalMs: 3_600_000 }, clock });
    actor.start();
    actor.send({ type: 'START' });
    return actor;
  }

  it('heartbeats every 10 s keep ready normal for an hour without any snapshot; silence → degraded', async () => {
    const clock = new VirtualClock(0);
    const activity = { last: null as number | null };
    const actor = withWatcher(activity, clock);
    for (let i = 0; i < 6; i++) await settle();
    expect(describeState(actor.getSnapshot())).toMatchObject({ state: 'ready', degraded: false });
    for (let t = 0; t < 3_600_000; t += 10_000) {
      activity.last = clock.now(); // a ping/heartbeat or any delta, never a snapshot
      clock.advance(10_000);
    }
    await settle();
    expect(describeState(actor.getSnapshot()).degraded).toBe(false);
    clock.advance(36_000); // silent beyond the 30 s window (checked every 6 s)
    await settle();
    expect(describeState(actor.getSnapshot()).degraded).toBe(true);
    expect(actor.getSnapshot().context.lastTransition.reason).toMatch(/^Orderbook down: no message for 3\ds$/);
    actor.stop();
  });

  it('the watcher sends ORDERBOOK_UP when activity resumes', () => {
    const clock = new VirtualClock(0);
    const activity = { last: 0 };
    const received: string[] = [];
    const host = setup({
      actors: { watcher: orderbookActivityWatcher({ clock, lastActivityAtMs: () => activity.last }) },
    }).createMachine({
      invoke: { src: 'watcher', input: { silenceMs: 10_000 } },
      on: { '*': { actions: ({ event }) => received.push(event.type) } },
    });
    const actor = createActor(host, { clock });
    actor.start();
    clock.advance(9_000);
    expect(received).toEqual([]);
    clock.advance(3_000);
    activity.last = clock.now();
    clock.advance(2_000);
    expect(received).toEqual(['ORDERBOOK_DOWN', 'ORDERBOOK_UP']);
    actor.stop();
    expect(clock.pending).toBe(0);
  });
});

describe('shutdown', () => {
  it('SHUTDOWN mid-sync stops the sync, runs shutdownSystem with the configured cancel flag, ends done', async () => {
    const run = startCoordinator({ tradingEnabled: true, cancelOrdersOnShutdown: true });
    run.actor.send({ type: 'START' });
    await settle();
    run.control.resolve('initializeSystem', { markets: MARKETS });
    await settle();
    run.control.resolve('connectOrderbook', { marketsConnected: 3 });
    await settle();
    run.control.resolve('connectTradingClient', {});
    await settle();
    expect(run.control.running('syncKalshiData')).toBe(1);
    run.actor.send({ type: 'SHUTDOWN', reason: 'SIGINT' });
    await settle();
    expect(run.control.running('syncKalshiData')).toBe(0);
    expect(run.control.started.at(-1)).toMatchObject({ id: 'shutdownSystem', input: { reason: 'SIGINT', cancelOrders: true } });
    run.actor.send({ type: 'SHUTDOWN' }); // a second request does not restart the shutdown
    expect(run.control.started.filter((s) => s.id === 'shutdownSystem')).toHaveLength(1);
    run.control.resolve('shutdownSystem', undefined);
    await settle();
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(describeState(run.actor.getSnapshot()).state).toBe('shutdown');
    expect(ctx(run).lastTransition.reason).toBe('Shutdown complete');
  });

  it('cancels resting orders on shutdown unless configured not to', async () => {
    const byDefault = await bringUp({ tradingEnabled: true });
    byDefault.actor.send({ type: 'SHUTDOWN' });
    await settle();
    expect(byDefault.control.started.at(-1)).toMatchObject({ id: 'shutdownSystem', input: { cancelOrders: true } });
    const keeping = await bringUp({ tradingEnabled: true, cancelOrdersOnShutdown: false });
    keeping.actor.send({ type: 'SHUTDOWN' });
    await settle();
    expect(keeping.control.started.at(-1)).toMatchObject({ id: 'shutdownSystem', input: { cancelOrders: false } });
  });

  it('SHUTDOWN_NOW during the shutdown stops at once, abandoning shutdownSystem, and says so', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'SHUTDOWN', reason: 'SIGTERM' });
    await settle();
    expect(run.control.running('shutdownSystem')).toBe(1);
    run.actor.send({ type: 'SHUTDOWN_NOW', reason: 'second signal' });
    await settle();
    expect(run.control.running('shutdownSystem')).toBe(0);
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(ctx(run).lastTransition.reason).toBe('Stopped at once, resting orders not cancelled: second signal');
  });

  it('a failing shutdownSystem still ends stopped, with the error in the reason', async () => {
    const run = await bringUp({ tradingEnabled: true });
    run.actor.send({ type: 'SHUTDOWN' });
    await settle();
    run.control.reject('shutdownSystem', new Error('flush failed'));
    await settle();
    expect(run.actor.getSnapshot().status).toBe('done');
    expect(ctx(run).lastTransition.reason).toBe('Shutdown finished with an error: flush failed');
  });
});

describe('journal (database) outage', () => {
  it('a journal failure → outage: no entries, sync held, paused for database_outage; probes back off until the database answers, then a sync runs at once', async () => {
    const run = await bringUp({ tradingEnabled: true, seed: 3 });
    const t0 = run.clock.now();
    run.actor.send({ type: 'JOURNAL_FAILED', reason: 'connect ECONNREFUSED 127.0.0.1:5433', atMs: t0 });
    await settle();
    const snap = () => run.actor.getSnapshot();
    expect(pathOf(run)).toContain('ready.journal.outage.waiting');
    expect(describeState(snap())).toMatchObject({ state: 'ready', degraded: true, degradedComponents: ['journal'] });
    expect(coordinatorStatusLabel(snap())).toBe('ready (degraded: journal)');
    expect(tradingPauseReason(snap())).toBe('database_outage');
    expect(currentProblems(snap())).toEqual([
      { component: 'journal', message: 'database unavailable: connect ECONNREFUSED 127.0.0.1:5433; trading paused', sinceMs: t0 },
    ]);
    // entries are refused while the journal is down
    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    expect(stateOf(run)).toBe('ready');
    expect(ctx(run).actingRefused).toBe(1);
    // the periodic sync is held, not failed (no count toward error)
    run.clock.advance(30_000);
    await settle();
    expect(pathOf(run)).toContain('ready.sync.held');
    expect(run.control.running('periodicSync')).toBe(0);
    // probes: a hanging one timed out meanwhile; failed ones back off, the waits growing
    expect(ctx(run).journal.lastError).toBe('probe failed: timed out after 10s');
    const probesBefore = ctx(run).journal.probes;
    const probeTimes: number[] = [];
    for (let i = 0; i < 4; i++) {
      await untilInvoked(run, 'probeJournal');
      probeTimes.push(run.clock.now());
      run.control.reject('probeJournal', new Error('connect ECONNREFUSED'));
      await settle();
    }
    const gaps = probeTimes.slice(1).map((t, i) => t - probeTimes[i]);
    expect(gaps[1]).toBeGreaterThan(gaps[0]);
    expect(gaps[2]).toBeGreaterThan(gaps[1]);
    expect(ctx(run).journal.probes).toBe(probesBefore + 4);
    expect(currentProblems(snap())[0].message).toContain('probe failed: connect ECONNREFUSED');
    // the database answers: healthy, the held sync runs at once, trading may resume
    await untilInvoked(run, 'probeJournal');
    run.control.resolve('probeJournal', undefined);
    await settle();
    expect(pathOf(run)).toContain('ready.journal.healthy');
    expect(run.control.running('periodicSync')).toBe(1);
    expect(tradingPauseReason(snap())).toBeNull();
    expect(currentProblems(snap())).toEqual([]);
    expect(ctx(run).journal).toMatchObject({ downSinceMs: null, outages: 1, lastError: 'probe failed: connect ECONNREFUSED' });
    expect(ctx(run).consecutiveSyncFailures).toBe(0);
    run.actor.send({ type: 'TRADER_ACTING', traderId: 't1' });
    expect(stateOf(run)).toBe('acting');
  });

  it('a sync that fails because the journal went down is held, not counted toward error', async () => {
    const run = await bringUp({ tradingEnabled: true, maxSyncFailures: 1 });
    run.clock.advance(30_000);
    await settle();
    expect(run.control.running('periodicSync')).toBe(1);
    run.actor.send({ type: 'JOURNAL_FAILED', reason: 'Connection terminated unexpectedly', atMs: run.clock.now() });
    run.control.reject('periodicSync', new Error('Connection terminated unexpectedly'));
    await settle();
    expect(stateOf(run)).toBe('ready');
    expect(pathOf(run)).toContain('ready.sync.held');
    expect(ctx(run).consecutiveSyncFailures).toBe(0);
  });

  it('a probe that hangs times out and the next one is scheduled', async () => {
    const run = await bringUp({ tradingEnabled: true, timeouts: { probeMs: 2_000 } });
    run.actor.send({ type: 'JOURNAL_FAILED', reason: 'timeout exceeded when trying to connect', atMs: run.clock.now() });
    await settle();
    await untilInvoked(run, 'probeJournal');
    run.clock.advance(2_000);
    await settle();
    expect(pathOf(run)).toContain('ready.journal.outage.waiting');
    expect(ctx(run).journal.lastError).toBe('probe failed: timed out after 2s');
  });
});

describe('trading API faults', () => {
  it('failures below the threshold are forgiven by a success; the threshold faults the API and pauses trading', async () => {
    const run = await bringUp({ tradingEnabled: true, tradingApiFaultThreshold: 3 });
    const fail = () => run.actor.send({ type: 'TRADING_API_FAILED', reason: '503 on GET /portfolio/balance', atMs: run.clock.now() });
    fail();
    fail();
    expect(pathOf(run)).toContain('ready.tradingApi.healthy');
    run.actor.send({ type: 'TRADING_API_OK' });
    expect(ctx(run).tradingApi.failures).toBe(0);
    fail();
    fail();
    expect(pathOf(run)).toContain('ready.tradingApi.healthy');
    fail();
    await settle();
    expect(pathOf(run)).toContain('ready.tradingApi.faulted.waiting');
    expect(describeState(run.actor.getSnapshot()).degradedComponents).toEqual(['trading_api']);
    expect(tradingPauseReason(run.actor.getSnapshot())).toBe('trading_api_unavailable');
    expect(currentProblems(run.actor.getSnapshot()).map((p) => p.component)).toEqual(['trading_api']);
    await untilInvoked(run, 'probeTradingApi');
    run.control.resolve('probeTradingApi', undefined);
    await settle();
    expect(pathOf(run)).toContain('ready.tradingApi.healthy');
    expect(currentProblems(run.actor.getSnapshot())).toEqual([]);
    expect(tradingPauseReason(run.actor.getSnapshot())).toBeNull();
  });

  it('a journal outage outranks a trading-API fault as the pause reason; the held sync runs when the journal is back, API faulted or not', async () => {
    const run = await bringUp({ tradingEnabled: true, tradingApiFaultThreshold: 1 });
    run.actor.send({ type: 'TRADING_API_FAILED', reason: '429 on POST /portfolio/events/orders', atMs: run.clock.now() });
    run.actor.send({ type: 'JOURNAL_FAILED', reason: 'connect ECONNREFUSED', atMs: run.clock.now() });
    await settle();
    expect(describeState(run.actor.getSnapshot()).degradedComponents).toEqual(['journal', 'trading_api']);
    expect(tradingPauseReason(run.actor.getSnapshot())).toBe('database_outage');
    run.actor.send({ type: 'SYNC_NOW' });
    expect(pathOf(run)).toContain('ready.sync.held');
    await untilInvoked(run, 'probeJournal');
    run.control.resolve('probeJournal', undefined);
    await settle();
    expect(run.control.running('periodicSync')).toBe(1);
    expect(tradingPauseReason(run.actor.getSnapshot())).toBe('trading_api_unavailable');
  });

  it('periodic syncs keep running while the API is faulted: a sustained outage ends in error, a burst does not', async () => {
    const run = await bringUp({ tradingEnabled: true, tradingApiFaultThreshold: 1, maxSyncFailures: 3, syncRetryMs: 5_000 });
    run.actor.send({ type: 'TRADING_API_FAILED', reason: 'HTTP 503 on GET /portfolio/balance', atMs: run.clock.now() });
    await settle();
    expect(pathOf(run)).toContain('ready.tradingApi.faulted.waiting');
    for (let i = 0; i < 3; i++) {
      await untilInvoked(run, 'periodicSync');
      run.control.reject('periodicSync', new Error('503 service_unavailable'));
      await settle();
    }
    expect(stateOf(run)).toBe('error');
    expect(ctx(run).lastError).toMatch(/periodic sync failed 3 times in a row/);
  });
});

describe('describeState', () => {
  it('reports the operators vocabulary, degraded and every active leaf', async () => {
    const run = await bringUp({ tradingEnabled: true });
    expect(describeState(run.actor.getSnapshot())).toEqual({
      state: 'ready',
      degraded: false,
      degradedComponents: [],
      path: ['ready.activity.idle', 'ready.journal.healthy', 'ready.orderbook.normal', 'ready.sync.waiting', 'ready.tradingApi.healthy'],
    });
    run.actor.send({ type: 'TRADER_ACTING' });
    expect(describeState(run.actor.getSnapshot()).state).toBe('acting');
    run.actor.send({ type: 'FATAL', reason: 'x' });
    expect(describeState(run.actor.getSnapshot())).toEqual({ state: 'error', degraded: false, degradedComponents: [], path: ['error'] });
  });
});
