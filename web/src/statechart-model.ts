/**
 * Turns an exported machine definition (`statecharts/*.json`: XState's `machine.toJSON()` or a
 * plain config with `on`/`after`/`always`/`invoke`) into what the dashboard draws: the top-level
 * states as boxes (with their regions / child states listed inside), the transitions between
 * them aggregated per pair with their event names, the "from any state" transitions of the root,
 * and a layered left-to-right layout. Pure; the SVG view is statechart-view.tsx.
 */

export type StateValueLike = string | { [key: string]: StateValueLike };

export interface ChartChild {
  key: string;
  /** Child states of a region (for parallel parents) — empty for a plain child. */
  children: string[];
}

export interface ChartNode {
  key: string;
  type: string;
  description: string | null;
  children: ChartChild[];
  x: number;
  y: number;
  width: number;
  height: number;
  layer: number;
}

export interface ChartEdge {
  from: string;
  to: string;
  events: string[];
  /** Goes to the same or an earlier layer (drawn as a loop below the boxes). */
  back: boolean;
}

export interface ChartModel {
  id: string;
  initial: string | null;
  nodes: ChartNode[];
  edges: ChartEdge[];
  anyState: Array<{ event: string; to: string }>;
  width: number;
  height: number;
}

type Json = Record<string, unknown>;

const BOX_WIDTH = 176;
const MAX_BOX_WIDTH = 340;
/** Average advance of the 11–12 px labels, for sizing boxes without measuring text. */
const CHAR_WIDTH = 6.4;
const ROW_HEIGHT = 17;
const HEADER_HEIGHT = 34;
const GAP_X = 70;
const GAP_Y = 26;
const MARGIN = 20;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "xstate.after.fooTimeout.machine.state" → "after fooTimeout", "xstate.done.actor.x" → "done: x". */
export function eventLabel(eventType: string): string {
  if (eventType === '') return 'always';
  let m = /^xstate\.after\.([^.]+)/.exec(eventType);
  if (m) return `after ${m[1]}`;
  m = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (m) return `done: ${m[1]}`;
  m = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (m) return `error: ${m[1]}`;
  m = /^xstate\.done\.state\.(.+)$/.exec(eventType);
  if (m) return 'done';
  return eventType;
}

interface RawTransition {
  event: string;
  targets: string[];
}

function targetsOf(t: unknown): string[] {
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.flatMap(targetsOf);
  if (isObject(t)) return targetsOf(t.target);
  return [];
}

/** Transitions of one state node, from `transitions` (toJSON) or from the config keys. */
function transitionsOf(node: Json): RawTransition[] {
  if (Array.isArray(node.transitions)) {
    return node.transitions.filter(isObject).map((t) => ({ event: typeof t.eventType === 'string' ? t.eventType : '', targets: targetsOf(t.target) }));
  }
  const out: RawTransition[] = [];
  const add = (event: string, spec: unknown) => {
    const list = Array.isArray(spec) ? spec : [spec];
    for (const item of list) out.push({ event, targets: targetsOf(item) });
  };
  if (isObject(node.on)) for (const [event, spec] of Object.entries(node.on)) add(event, spec);
  if (isObject(node.after)) for (const [delay, spec] of Object.entries(node.after)) add(`xstate.after.${delay}`, spec);
  if (node.always !== undefined) add('', node.always);
  const invokes = Array.isArray(node.invoke) ? node.invoke : node.invoke ? [node.invoke] : [];
  for (const inv of invokes.filter(isObject)) {
    const src = typeof inv.id === 'string' ? inv.id : typeof inv.src === 'string' ? inv.src : 'actor';
    if (inv.onDone !== undefined) add(`xstate.done.actor.${src}`, inv.onDone);
    if (inv.onError !== undefined) add(`xstate.error.actor.${src}`, inv.onError);
  }
  if (node.onDone !== undefined) add('xstate.done.state', node.onDone);
  return out;
}

/** The top-level state a target lands in, seen from a state at `sourcePath`. */
function topLevelOf(target: string, sourcePath: string[], rootId: string, topKeys: Set<string>): string | null {
  if (target.startsWith('#')) {
    const parts = target.slice(1).split('.');
    if (parts[0] === rootId) parts.shift();
    if (parts.length === 0) return null;
    return topKeys.has(parts[0]) ? parts[0] : null;
  }
  if (target.startsWith('.')) return sourcePath[0] ?? null; // a child of the source
  // a sibling of the source
  if (sourcePath.length <= 1) return topKeys.has(target.split('.')[0]) ? target.split('.')[0] : null;
  return sourcePath[0];
}

function initialKey(node: Json): string | null {
  if (typeof node.initial === 'string') return node.initial;
  if (isObject(node.initial)) {
    const t = targetsOf(node.initial)[0];
    if (t) return t.replace(/^#/, '').split('.').pop() ?? null;
  }
  return null;
}

function walk(node: Json, path: string[], visit: (node: Json, path: string[]) => void): void {
  visit(node, path);
  if (isObject(node.states)) for (const [key, child] of Object.entries(node.states)) if (isObject(child)) walk(child, [...path, key], visit);
}

export function chartModel(definition: unknown): ChartModel {
  const root = isObject(definition) ? definition : {};
  const id = typeof root.id === 'string' ? root.id : typeof root.key === 'string' ? root.key : 'machine';
  const states = isObject(root.states) ? root.states : {};
  const topKeys = new Set(Object.keys(states));
  const initial = initialKey(root);

  const nodes: ChartNode[] = Object.entries(states).map(([key, raw]) => {
    const s = isObject(raw) ? raw : {};
    const type = typeof s.type === 'string' ? s.type : isObject(s.states) && Object.keys(s.states).length > 0 ? 'compound' : 'atomic';
    const children: ChartChild[] = isObject(s.states)
      ? Object.entries(s.states).map(([childKey, child]) => ({
          key: childKey,
          children: type === 'parallel' && isObject(child) && isObject(child.states) ? Object.keys(child.states) : [],
        }))
      : [];
    const rows = type === 'parallel' ? children.length : children.length > 0 ? 1 : 0;
    const rowTexts =
      type === 'parallel' ? children.map((c) => `${c.key}: ${c.children.join(' · ')}`) : children.length > 0 ? [children.map((c) => c.key).join(' · ')] : [];
    const longest = Math.max(key.length * 1.15, ...rowTexts.map((t) => t.length));
    return {
      key,
      type,
      description: typeof s.description === 'string' ? s.description : null,
      children,
      x: 0,
      y: 0,
      width: Math.min(MAX_BOX_WIDTH, Math.max(BOX_WIDTH, Math.ceil(24 + longest * CHAR_WIDTH))),
      height: HEADER_HEIGHT + rows * ROW_HEIGHT + (rows > 0 ? 6 : 0),
      layer: 0,
    };
  });

  const edgeMap = new Map<string, { from: string; to: string; events: Set<string> }>();
  const anyState: Array<{ event: string; to: string }> = [];
  for (const t of transitionsOf(root)) {
    for (const target of t.targets) {
      const to = topLevelOf(target, [], id, topKeys);
      if (to) anyState.push({ event: eventLabel(t.event), to });
    }
  }
  for (const [key, raw] of Object.entries(states)) {
    if (!isObject(raw)) continue;
    walk(raw, [key], (node, path) => {
      for (const t of transitionsOf(node)) {
        for (const target of t.targets) {
          const to = topLevelOf(target, path, id, topKeys);
          if (!to || to === key) continue;
          const edgeKey = `${key}→${to}`;
          const entry = edgeMap.get(edgeKey) ?? { from: key, to, events: new Set<string>() };
          entry.events.add(eventLabel(t.event));
          edgeMap.set(edgeKey, entry);
        }
      }
    });
  }

  // layers: longest distance from the initial state along forward edges (BFS order)
  const layerOf = new Map<string, number>();
  const start = initial && topKeys.has(initial) ? initial : nodes[0]?.key;
  if (start) {
    layerOf.set(start, 0);
    const queue = [start];
    while (queue.length > 0) {
      const current = queue.shift()!;
      const layer = layerOf.get(current)!;
      for (const e of edgeMap.values()) {
        if (e.from !== current || layerOf.has(e.to)) continue;
        layerOf.set(e.to, layer + 1);
        queue.push(e.to);
      }
    }
  }
  const maxLayer = Math.max(0, ...layerOf.values());
  for (const n of nodes) n.layer = layerOf.get(n.key) ?? maxLayer + 1;

  const layers = new Map<number, ChartNode[]>();
  for (const n of nodes) layers.set(n.layer, [...(layers.get(n.layer) ?? []), n]);
  let width = 0;
  let height = 0;
  const layerIndexes = [...layers.keys()].sort((a, b) => a - b);
  let x = MARGIN;
  for (const layer of layerIndexes) {
    let y = MARGIN;
    const column = layers.get(layer)!;
    const columnWidth = Math.max(...column.map((n) => n.width));
    for (const n of column) {
      n.x = x;
      n.y = y;
      y += n.height + GAP_Y;
      width = Math.max(width, n.x + n.width + MARGIN);
      height = Math.max(height, y);
    }
    x += columnWidth + GAP_X;
  }

  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const edges: ChartEdge[] = [...edgeMap.values()].map((e) => ({
    from: e.from,
    to: e.to,
    events: [...e.events],
    back: (byKey.get(e.to)?.layer ?? 0) <= (byKey.get(e.from)?.layer ?? 0),
  }));
  const backEdges = edges.filter((e) => e.back).length;
  return { id, initial: start ?? null, nodes, edges, anyState, width: Math.max(width, 200), height: height + MARGIN + Math.min(backEdges, 6) * 14 };
}

/** Every path to an active leaf: {ready: {activity: 'idle'}} → ["ready", "ready.activity", "ready.activity.idle"]. */
export function activePaths(value: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown, prefix: string) => {
    if (typeof v === 'string') {
      out.add(prefix ? `${prefix}.${v}` : v);
      if (prefix) out.add(prefix);
      return;
    }
    if (isObject(v)) {
      if (prefix) out.add(prefix);
      for (const [key, child] of Object.entries(v)) visit(child, prefix ? `${prefix}.${key}` : key);
    }
  };
  visit(value, '');
  return out;
}

/** A state value from what `/v3/machines` holds for an actor: a value, or a snapshot with `value`. */
export function stateValueOf(entry: unknown): StateValueLike | null {
  if (typeof entry === 'string') return entry;
  if (isObject(entry)) {
    if ('value' in entry) return stateValueOf(entry.value);
    const values = Object.values(entry);
    if (values.length > 0 && values.every((v) => typeof v === 'string' || isObject(v))) return entry as StateValueLike;
  }
  return null;
}
