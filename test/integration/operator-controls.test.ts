/**
 * The operator's controls over the real trading system (embedded simulator, embedded database),
 * through the operator API: pause holds the trader (reason `operator`) and leaves nothing resting
 * at the exchange, resume trades again, cancel-all and flatten answer with what they did, each is
 * in the status log and journaled in `operator_actions`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/app/runtime.ts';
import { recentOperatorActions } from '../../src/adapters/store/journal.ts';
import { createServerApp } from '../../src/server/app.ts';
import { eventually as waitFor } from './harness.ts';

const json = (res: Response): Promise<any> => res.json() as Promise<any>;

describe('operator controls on the real trading system', () => {
  let dir: string;
  let runtime: Runtime;
  let app: ReturnType<typeof createServerApp>;
  const control = (action: string, body: unknown = {}) =>
    app.request(`http://127.0.0.1:8005/v3/control/${action}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const resting = async () => {
    const out = [];
    for await (const o of runtime.rest.iterateOrders({ status: 'resting' })) out.push(o);
    return out;
  };
  const trader = () => runtime.system.trader!.getSnapshot();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kf-controls-'));
    runtime = await createRuntime({ environment: 'sim', selection: { mode: 'discovery', limit: 2 }, strategy: 'spread-quoter', dataDir: join(dir, 'data'), sim: { seed: 7 } });
    // before trading starts, so its histograms see every sample
    app = createServerApp(runtime.system);
    await runtime.system.waitForState('ready', 30_000);
    await waitFor(async () => (await resting()).length > 0, 'the spread-quoter quotes', 20_000);
  }, 60_000);

  afterAll(async () => {
    await runtime?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('pause: paused with reason operator, nothing resting at the exchange, in the status log, journaled', async () => {
    const res = await control('pause');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({ applied: true, action: 'pause', trader: { state: 'paused', reason: 'operator' }, journaled: true });
    expect(body.cancelsSent).toBeGreaterThan(0);
    await waitFor(async () => (await resting()).length === 0, 'every resting order cancelled at the exchange', 15_000);
    expect(runtime.system.machineStates().trader).toBe('paused');
    expect(runtime.system.status().statusLog.split('\n')[0]).toMatch(/\[ready → ready\] operator pause: trader paused \(operator\); \d+ cancels? sent/);
    // a second pause is refused with the reason
    const again = await control('pause');
    expect(again.status).toBe(409);
    expect((await json(again)).message).toBe('pause refused: already paused by the operator');
    const rows = await recentOperatorActions(runtime.database.pool);
    expect(rows.map((r) => [r.action, r.outcome])).toEqual([
      ['pause', 'refused'],
      ['pause', 'applied'],
    ]);
    // nothing quotes while held, even as books move
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await resting()).toEqual([]);
  }, 40_000);

  it('resume trades again; cancel-all answers with its cancels; flatten holds the trader again', async () => {
    const res = await control('resume');
    expect(res.status).toBe(200);
    expect((await json(res)).trader.state).toMatch(/^(ready|acting)$/);
    await waitFor(async () => (await resting()).length > 0, 'quotes again after resume', 20_000);
    const cancel = await json(await control('cancel-all'));
    expect(cancel).toMatchObject({ applied: true, action: 'cancel-all' });
    expect(cancel.message).toMatch(/cancels? sent; the strategy may quote again/);
    await waitFor(() => Object.keys(trader().context.orders).length > 0, 'quotes again after cancel-all', 20_000);
    const flatten = await json(await control('flatten'));
    expect(flatten).toMatchObject({ applied: true, action: 'flatten', trader: { state: 'paused', reason: 'operator' } });
    await waitFor(async () => (await resting()).length === 0, 'nothing resting after flatten', 15_000);
    const unknown = await control('flatten', { ticker: 'NOT-A-MARKET' });
    expect(unknown.status).toBe(409);
    expect((await json(unknown)).message).toBe("NOT-A-MARKET is not one of this trader's markets");
    const rows = await recentOperatorActions(runtime.database.pool);
    expect(rows.slice(0, 4).map((r) => r.action)).toEqual(['flatten', 'flatten', 'cancel-all', 'resume']);
  }, 60_000);

  it('/metrics: histograms of tick-to-order, REST latency by endpoint and journal writes saw the trading', async () => {
    const text = await (await app.request('http://127.0.0.1:8005/metrics')).text();
    const count = (name: string) => Number(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('kalshiflow_tick_to_order_seconds')).toBeGreaterThan(0);
    expect(count('kalshiflow_journal_write_duration_seconds')).toBeGreaterThan(0);
    expect(text).toMatch(/^kalshiflow_rest_request_duration_seconds_count\{method="POST",endpoint="\/portfolio\/events\/orders"\} [1-9]/m);
    expect(text).toMatch(/^kalshiflow_rest_request_duration_seconds_count\{method="GET",endpoint="\/portfolio\/balance"\} [1-9]/m);
    expect(text).toContain('# TYPE kalshiflow_tick_to_order_seconds histogram');
  });
});
