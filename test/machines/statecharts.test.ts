/**
 * The exported statecharts (statecharts/*.json) must match the machines in src/machines: the
 * definitions are regenerated in memory and compared with the files on disk.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STATECHARTS_DIR, renderStatecharts } from '../../scripts/export-statecharts.ts';

describe('statecharts/*.json', () => {
  it('are up to date with src/machines (otherwise: run npm run statecharts)', async () => {
    const charts = await renderStatecharts();
    expect([...charts.keys()]).toEqual(expect.arrayContaining(['coordinator.json', 'market.json']));
    const onDisk = existsSync(STATECHARTS_DIR) ? readdirSync(STATECHARTS_DIR).filter((f) => f.endsWith('.json')) : [];
    const stale: string[] = [];
    for (const [name, text] of charts) {
      const path = join(STATECHARTS_DIR, name);
      if (!existsSync(path)) stale.push(`${name} is missing`);
      else if (readFileSync(path, 'utf8') !== text) stale.push(`${name} differs from its machine`);
    }
    for (const f of onDisk) if (!charts.has(f)) stale.push(`${f} has no machine any more`);
    if (stale.length > 0) throw new Error(`statecharts are stale (${stale.join('; ')}): run npm run statecharts`);
  });

  it('carry states, transitions with guards and targets, invoke ids and named delays', async () => {
    const charts = await renderStatecharts();
    const coordinator = JSON.parse(charts.get('coordinator.json')!);
    expect(Object.keys(coordinator.states)).toEqual(
      expect.arrayContaining(['startup', 'initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync', 'ready', 'error', 'shutdown', 'stopped']),
    );
    const orderbookConnect = coordinator.states.orderbook_connect;
    expect(orderbookConnect.invoke.map((i: { id: string }) => i.id)).toEqual(['connectOrderbook']);
    const timeout = orderbookConnect.on['xstate.after.orderbookConnectTimeout.coordinator.orderbook_connect'];
    expect(timeout.map((t: { delay: string; guard?: string; target: string[] }) => [t.delay, t.guard ?? null, t.target])).toEqual([
      ['orderbookConnectTimeout', 'tradingEnabled', ['#coordinator.trading_client_connect']],
      ['orderbookConnectTimeout', null, ['#coordinator.error']],
    ]);
    // rendering is deterministic
    expect((await renderStatecharts()).get('coordinator.json')).toBe(charts.get('coordinator.json'));
  });
});
