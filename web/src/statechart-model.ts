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
  /** How it is drawn: straight down to the next row, or along a lane left (skips rows) / right (goes back). */
  route: 'down' | 'skip' | 'back';
  /** SVG path, in chart coordinates. */
  d: string;
  /** Where the (shortened) event names go; the full list is `events`. */
  label: { x: number; y: number; anchor: 'start' | 'end' | 'middle'; text: string };
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
const GAP_X = 28;
const GAP_Y = 34;
const LANE_GAP = 9;
const MAX_LANES = 8;
/** Room for lane labels beside the lanes, and how much of a label fits there. */
const LABEL_SPACE = 150;
const LANE_LABEL_CHARS = 24;
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

/** "EVENT +2", cut to `max` characters. */
export function edgeLabel(events: string[], max: number): string {
  const more = events.length > 1 ? ` +${events.length - 1}` : '';
  const first = events[0] ?? '';
  const room = Math.max(4, max - more.length);
  return (first.length > room ? `${first.slice(0, room - 1)}…` : first) + more;
}

const laneLabel = (events: string[]) => edgeLabel(events, LANE_LABEL_CHARS);

/** Events that move a machine forward (as opposed to failures and timeouts), followed first. */
function isProgressEvent(label: string): boolean {
  return !label.startsWith('error:') && !label.startsWith('after ') && label !== 'FATAL';
}

/**
 * Columns for a left-to-right drawing: a depth-first walk from the initial state (progress edges
 * first) drops the edges that close cycles, then each state goes one column right of its furthest
 * predecessor. States reachable only "from any state" (shutdown, closed) go after the main flow.
 * Returns each state's column and its discovery rank (the order within a column).
 */
export function layerStates(
  keys: string[],
  edges: Array<{ from: string; to: string; success: boolean }>,
  initial: string | null,
  anyStateTargets: string[],
): { layer: Map<string, number>; discovery: Map<string, number> } {
  const outgoing = new Map<string, Array<{ to: string; success: boolean; index: number }>>();
  const incoming = new Map<string, number>();
  edges.forEach((e, index) => {
    outgoing.set(e.from, [...(outgoing.get(e.from) ?? []), { to: e.to, success: e.success, index }]);
    incoming.set(e.to, (incoming.get(e.to) ?? 0) + 1);
  });
  for (const list of outgoing.values()) list.sort((a, b) => Number(b.success) - Number(a.success) || a.index - b.index);

  const visited = new Set<string>();
  const onStack = new Set<string>();
  const discovery = new Map<string, number>();
  const dag: Array<[string, string]> = [];
  const visit = (key: string) => {
    visited.add(key);
    onStack.add(key);
    discovery.set(key, discovery.size);
    for (const { to } of outgoing.get(key) ?? []) {
      if (onStack.has(to)) continue; // closes a cycle: drawn as a back edge
      dag.push([key, to]);
      if (!visited.has(to)) visit(to);
    }
    onStack.delete(key);
  };
  if (initial) visit(initial);
  const main = new Set(visited);
  for (const target of anyStateTargets) if (!visited.has(target) && keys.includes(target)) visit(target);
  for (;;) {
    const rest = keys.filter((k) => !visited.has(k));
    if (rest.length === 0) break;
    rest.sort((a, b) => (incoming.get(a) ?? 0) - (incoming.get(b) ?? 0));
    visit(rest[0]);
  }

  const layer = new Map<string, number>(keys.map((k) => [k, 0]));
  const relax = () => {
    for (let round = 0; round < keys.length; round++) {
      let changed = false;
      for (const [from, to] of dag) {
        const want = (layer.get(from) ?? 0) + 1;
        if ((layer.get(to) ?? 0) < want) {
          layer.set(to, want);
          changed = true;
        }
      }
      if (!changed) break;
    }
  };
  relax();
  const mainMax = Math.max(0, ...[...main].map((k) => layer.get(k) ?? 0));
  for (const target of anyStateTargets) if (!main.has(target) && (layer.get(target) ?? 0) <= mainMax) layer.set(target, mainMax + 1);
  relax();
  return { layer, discovery };
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

  const start = initial && topKeys.has(initial) ? initial : nodes[0]?.key;
  const layout = layerStates(
    nodes.map((n) => n.key),
    [...edgeMap.values()].map((e) => ({ from: e.from, to: e.to, success: [...e.events].some(isProgressEvent) })),
    start ?? null,
    anyState.map((t) => t.to),
  );
  for (const n of nodes) n.layer = layout.layer.get(n.key) ?? 0;
  nodes.sort((a, b) => (layout.discovery.get(a.key) ?? 0) - (layout.discovery.get(b.key) ?? 0));

  // rows top to bottom, one per layer; lanes beside the boxes carry the edges that skip rows
  // (left) and the ones that go back up (right), so no edge crosses a box
  const rows = new Map<number, ChartNode[]>();
  for (const n of nodes) rows.set(n.layer, [...(rows.get(n.layer) ?? []), n]);
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const raw = [...edgeMap.values()].map((e) => {
    const from = byKey.get(e.from)!;
    const to = byKey.get(e.to)!;
    const route: ChartEdge['route'] = to.layer <= from.layer ? 'back' : to.layer === from.layer + 1 ? 'down' : 'skip';
    return { from, to, events: [...e.events], route };
  });
  const skipLanes = Math.min(MAX_LANES, raw.filter((e) => e.route === 'skip').length);
  const backLanes = Math.min(MAX_LANES, raw.filter((e) => e.route === 'back').length);
  const left = MARGIN + (skipLanes > 0 ? LABEL_SPACE + skipLanes * LANE_GAP + 10 : 0);

  let y = MARGIN;
  let right = left;
  for (const layer of [...rows.keys()].sort((a, b) => a - b)) {
    let x = left;
    const row = rows.get(layer)!;
    for (const n of row) {
      n.x = x;
      n.y = y;
      x += n.width + GAP_X;
      right = Math.max(right, n.x + n.width);
    }
    y += Math.max(...row.map((n) => n.height)) + GAP_Y;
  }
  const height = y - GAP_Y + MARGIN;

  let skipIndex = 0;
  let backIndex = 0;
  const edges: ChartEdge[] = raw.map(({ from, to, events, route }) => {
    const base = { from: from.key, to: to.key, events, route };
    if (route === 'down') {
      const x1 = from.x + from.width / 2;
      const y1 = from.y + from.height;
      const x2 = to.x + to.width / 2;
      const y2 = to.y;
      const my = (y1 + y2) / 2;
      return {
        ...base,
        d: `M${x1},${y1} C${x1},${my} ${x2},${my} ${x2},${y2 - 2}`,
        label: { x: (x1 + x2) / 2 + 6, y: my + 3, anchor: 'start' as const, text: edgeLabel(events, 40) },
      };
    }
    if (route === 'skip') {
      const lane = left - 10 - (skipIndex++ % MAX_LANES) * LANE_GAP;
      const y1 = from.y + 12;
      const y2 = to.y + 12;
      return {
        ...base,
        d: `M${from.x},${y1} L${lane},${y1} L${lane},${y2} L${to.x - 2},${y2}`,
        label: { x: lane - 4, y: (y1 + y2) / 2, anchor: 'end' as const, text: laneLabel(events) },
      };
    }
    const lane = right + 10 + (backIndex++ % MAX_LANES) * LANE_GAP;
    const y1 = from.y + from.height - 10;
    const y2 = to.y + 22;
    return {
      ...base,
      d: `M${from.x + from.width},${y1} L${lane},${y1} L${lane},${y2} L${to.x + to.width + 2},${y2}`,
      label: { x: lane + 4, y: (y1 + y2) / 2, anchor: 'start' as const, text: laneLabel(events) },
    };
  });
  const width = right + (backLanes > 0 ? 10 + backLanes * LANE_GAP + LABEL_SPACE : 0) + MARGIN;
  return { id, initial: start ?? null, nodes, edges, anyState, width: Math.max(width, 200), height };
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
