import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STATECHARTS_DIR } from '../../src/server/web-assets.ts';
import { activePaths, chartModel, edgeLabel, eventLabel, layerStates, stateValueOf } from '../../web/src/statechart-model.ts';

const load = (name: string): unknown => JSON.parse(readFileSync(join(DEFAULT_STATECHARTS_DIR, `${name}.json`), 'utf8'));

describe('chartModel on the exported coordinator', () => {
  const model = chartModel(load('coordinator'));

  it('lays the startup sequence out top to bottom, failures and shutdown after it', () => {
    expect(model.id).toBe('coordinator');
    expect(model.initial).toBe('startup');
    const order = [...model.nodes].sort((a, b) => a.y - b.y).map((n) => n.key);
    expect(order.slice(0, 6)).toEqual(['startup', 'initializing', 'orderbook_connect', 'trading_client_connect', 'kalshi_data_sync', 'ready']);
    expect(order.indexOf('error')).toBeGreaterThan(order.indexOf('ready'));
    expect(order.indexOf('stopped')).toBeGreaterThan(order.indexOf('shutdown'));
  });

  it('lists the regions of the parallel ready state with their children', () => {
    const ready = model.nodes.find((n) => n.key === 'ready')!;
    expect(ready.type).toBe('parallel');
    expect(ready.children.map((c) => c.key).sort()).toEqual(['activity', 'journal', 'orderbook', 'sync', 'tradingApi']);
    expect(ready.children.find((c) => c.key === 'orderbook')!.children.sort()).toEqual(['degraded', 'normal']);
    expect(ready.children.find((c) => c.key === 'journal')!.children.sort()).toEqual(['healthy', 'outage']);
    expect(ready.children.find((c) => c.key === 'tradingApi')!.children.sort()).toEqual(['faulted', 'healthy']);
  });

  it('aggregates transitions per pair of states, with readable event names and routes', () => {
    const edge = (from: string, to: string) => model.edges.find((e) => e.from === from && e.to === to);
    expect(edge('startup', 'initializing')).toMatchObject({ events: ['START'], route: 'down' });
    expect(edge('initializing', 'orderbook_connect')!.events).toEqual(['done: initializeSystem']);
    expect(edge('orderbook_connect', 'ready')!.route).toBe('skip');
    expect(edge('error', 'orderbook_connect')).toMatchObject({ route: 'back', events: ['after errorBackoff'] });
    expect(model.anyState).toEqual(expect.arrayContaining([{ event: 'SHUTDOWN', to: 'shutdown' }, { event: 'FATAL', to: 'error' }]));
    // no box overlaps another
    for (const a of model.nodes) {
      for (const b of model.nodes) {
        if (a === b) continue;
        const overlap = a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
        expect(overlap, `${a.key} overlaps ${b.key}`).toBe(false);
      }
      expect(a.x + a.width).toBeLessThanOrEqual(model.width);
      expect(a.y + a.height).toBeLessThanOrEqual(model.height);
    }
  });
});

describe('chartModel on plain configs', () => {
  it('reads on / after / always / invoke and relative targets', () => {
    const model = chartModel({
      id: 'm',
      initial: 'a',
      states: {
        a: { on: { GO: 'b' }, after: { 500: 'c' } },
        b: { always: [{ target: 'c' }], invoke: { src: 'work', onDone: 'd', onError: '#m.a' } },
        c: { on: { NEXT: { target: 'd' } } },
        d: { type: 'final' },
      },
    });
    const pairs = model.edges.map((e) => `${e.from}>${e.to}:${e.events.join('|')}`).sort();
    expect(pairs).toEqual(['a>b:GO', 'a>c:after 500', 'b>a:error: work', 'b>c:always', 'b>d:done: work', 'c>d:NEXT']);
  });

  it('survives junk', () => {
    expect(chartModel(null).nodes).toEqual([]);
    expect(chartModel({ states: { x: 3 } }).nodes.map((n) => n.key)).toEqual(['x']);
  });
});

describe('helpers', () => {
  it('names XState internal events for people', () => {
    expect(eventLabel('xstate.after.orderbookConnectTimeout.coordinator.orderbook_connect')).toBe('after orderbookConnectTimeout');
    expect(eventLabel('xstate.done.actor.syncKalshiData')).toBe('done: syncKalshiData');
    expect(eventLabel('xstate.error.actor.connectOrderbook')).toBe('error: connectOrderbook');
    expect(eventLabel('')).toBe('always');
    expect(edgeLabel(['after tradingClientConnectTimeout', 'x', 'y'], 24)).toBe('after tradingClientC… +2');
  });

  it('finds the active paths of a state value', () => {
    expect([...activePaths({ ready: { activity: 'idle', sync: 'waiting' } })].sort()).toEqual([
      'ready',
      'ready.activity',
      'ready.activity.idle',
      'ready.sync',
      'ready.sync.waiting',
    ]);
    expect([...activePaths('live')]).toEqual(['live']);
    expect(stateValueOf({ value: 'live', context: {} })).toBe('live');
    expect(stateValueOf({ ready: { activity: 'idle' } })).toEqual({ ready: { activity: 'idle' } });
    expect(stateValueOf(3)).toBeNull();
  });

  it('layers cycles by breaking the edge that closes them, progress first', () => {
    const { layer } = layerStates(
      ['a', 'b', 'c', 'err'],
      [
        { from: 'a', to: 'err', success: false },
        { from: 'a', to: 'b', success: true },
        { from: 'b', to: 'c', success: true },
        { from: 'c', to: 'err', success: false },
        { from: 'err', to: 'a', success: false },
      ],
      'a',
      [],
    );
    expect(Object.fromEntries(layer)).toEqual({ a: 0, b: 1, c: 2, err: 3 });
  });
});
